import { showError } from '../shared/api.js';
import { busy, field, h, link } from '../shared/dom.js';
import { timeEl } from '../shared/signal-card.js';

export const SLUG_HINT = 'Lowercase letters, digits, “-” and “_”; starts with a letter or digit.';
export const SLUG_PATTERN = '[a-z0-9][a-z0-9_\\-]{0,63}';

export async function renderTenants(root, { api, navigate, setCrumbs }) {
  setCrumbs([['Tenants', '#/']]);
  document.title = 'Tenants · Signal Relay';
  const listErrors = h('div');
  const tbody = h('tbody');
  const count = h('span', { class: 'badge' });

  const keyInput = h('input', { type: 'text', name: 'tenant_key', required: true, pattern: SLUG_PATTERN, maxLength: 64, autocomplete: 'off', spellcheck: false });
  const nameInput = h('input', { type: 'text', name: 'name', maxLength: 200, autocomplete: 'off' });
  const createErrors = h('div', { attrs: { 'aria-live': 'assertive' } });
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
        navigate(`#/t/${encodeURIComponent(r.tenant.tenant_key)}`);
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
    h('section', { class: 'panel', attrs: { 'aria-labelledby': 'tenants-title' } },
      h('div', { class: 'panel-head' }, h('h1', { id: 'tenants-title' }, 'Tenants'), count),
      listErrors,
      h('div', { class: 'table-wrap' },
        h('table', { attrs: { 'aria-labelledby': 'tenants-title' } },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Tenant'), h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Created'))),
          tbody))),
    h('section', { class: 'panel', attrs: { 'aria-labelledby': 'new-tenant-title' } },
      h('h2', { id: 'new-tenant-title' }, 'New tenant'),
      form));

  try {
    const { tenants } = await api.get('/v1/admin/tenants');
    count.textContent = String(tenants.length);
    tbody.replaceChildren(...(tenants.length
      ? tenants.map((t) => h('tr', { dataset: { tenant: t.tenant_key } },
        h('td', {}, link(`#/t/${encodeURIComponent(t.tenant_key)}`, t.name || t.tenant_key)),
        h('td', {}, h('code', {}, t.tenant_key)),
        h('td', {}, timeEl(t.created_at))))
      : [h('tr', { class: 'empty-row' }, h('td', { colSpan: 3 }, 'No tenants yet. Create the first one below.'))]));
  } catch (err) {
    showError(listErrors, err, { title: 'Could not load tenants' });
  }
  return () => {};
}
