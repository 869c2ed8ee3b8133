import { showError } from '../shared/api.js';
import { busy, field, h, link } from '../shared/dom.js';
import { hashFor } from '../shared/router.js';
import { timeEl } from '../shared/signal-card.js';
import { dataTable, emptyRow, errorSlot, panel, SLUG_HINT, SLUG_PATTERN } from '../shared/widgets/index.js';

export async function renderTenants(root, { api, navigate, setCrumbs }) {
  setCrumbs([['Tenants', '#/']]);
  document.title = 'Tenants · Signal Relay';
  const listErrors = h('div');
  const tbody = h('tbody');
  const count = h('span', { class: 'badge' });

  const keyInput = h('input', { type: 'text', name: 'tenant_key', required: true, pattern: SLUG_PATTERN, maxLength: 64, autocomplete: 'off', spellcheck: false });
  const nameInput = h('input', { type: 'text', name: 'name', maxLength: 200, autocomplete: 'off' });
  const createErrors = errorSlot();
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Create tenant');
  const form = h('form', {
    attrs: { 'aria-labelledby': 'new-tenant-title' },
    onsubmit: async (e) => {
      e.preventDefault();
      showError(createErrors, null);
      const body = { tenant_key: keyInput.value.trim() };
      if (nameInput.value.trim()) body.name = nameInput.value.trim();
      try {
        const r = await busy(submit, () => api.post('/v1/admin/tenants', body));
        navigate(hashFor('t/:tenant', { tenant: r.tenant.tenant_key }));
      } catch (err) {
        showError(createErrors, err, { title: 'Could not create the tenant' });
      }
    },
  },
  h('div', { class: 'form-row' },
    field('Tenant key', keyInput, SLUG_HINT).wrap,
    field('Display name', nameInput, 'Optional; defaults to the key.').wrap,
    submit),
  createErrors);

  root.append(
    panel({ titleId: 'tenants-title', title: 'Tenants', heading: 'h1', head: [count] },
      listErrors,
      dataTable('tenants-title', ['Tenant', 'Key', 'Created'], tbody)),
    panel({ titleId: 'new-tenant-title', title: 'New tenant', bare: true }, form));

  try {
    const { tenants } = await api.get('/v1/admin/tenants');
    count.textContent = String(tenants.length);
    tbody.replaceChildren(...(tenants.length
      ? tenants.map((t) => h('tr', { dataset: { tenant: t.tenant_key } },
        h('td', {}, link(hashFor('t/:tenant', { tenant: t.tenant_key }), t.name || t.tenant_key)),
        h('td', {}, h('code', {}, t.tenant_key)),
        h('td', {}, timeEl(t.created_at))))
      : [emptyRow(3, 'No tenants yet. Create the first one below.')]));
  } catch (err) {
    showError(listErrors, err, { title: 'Could not load tenants' });
  }
  return () => {};
}
