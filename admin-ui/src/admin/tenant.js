import { seg, showError } from '../shared/api.js';
import { busy, field, h, link } from '../shared/dom.js';
import { formatBytes } from '../shared/format.js';
import { hashFor } from '../shared/router.js';
import {
  dataTable, emptyRow, errorSlot, flag, inlineError, lastSeen, panel, SLUG_HINT, SLUG_PATTERN, statusBadge, tokenReveal,
} from '../shared/widgets/index.js';

const STAT_LABELS = [
  ['seq', 'Feed sequence'],
  ['sockets', 'Live sockets'],
  ['visible_signals', 'Visible signals'],
  ['signals', 'Stored signals'],
  ['threads', 'Threads'],
  ['events', 'Replay log events'],
  ['outbox', 'Projection outbox'],
  ['storage_bytes', 'Object storage'],
];

export async function renderTenant(root, { api, setCrumbs }, tenantKey) {
  const base = `/v1/admin/tenants/${seg(tenantKey)}`;
  setCrumbs([['Tenants', '#/'], [tenantKey, hashFor('t/:tenant', { tenant: tenantKey })]]);
  document.title = `${tenantKey} · Signal Relay`;

  const title = h('h1', { id: 'tenant-title' }, tenantKey);
  const loadErrors = h('div');
  const tbody = h('tbody');
  const revealSlot = h('div');
  const statsBody = h('dl', { class: 'stats' });
  const statsErrors = h('div');

  const idInput = h('input', { type: 'text', name: 'connector_id', required: true, pattern: SLUG_PATTERN, maxLength: 64, autocomplete: 'off', spellcheck: false });
  const nameInput = h('input', { type: 'text', name: 'name', maxLength: 200, autocomplete: 'off' });
  const createErrors = errorSlot();
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Create connector');

  async function loadConnectors() {
    const r = await api.get(base);
    title.textContent = r.tenant.name || r.tenant.tenant_key;
    document.title = `${r.tenant.name || tenantKey} · Signal Relay`;
    tbody.replaceChildren(...(r.connectors.length
      ? r.connectors.map((c) => {
        const path = hashFor('t/:tenant/c/:connector', { tenant: tenantKey, connector: c.connector_id });
        return h('tr', { dataset: { connector: c.connector_id } },
          h('td', {}, link(path, c.name || c.connector_id), h('span', { class: 'sub' }, c.connector_id)),
          h('td', {}, statusBadge(c.status)),
          h('td', {}, flag(c.ingest_enabled, 'ingest')),
          h('td', {}, flag(c.forward_enabled, 'forward')),
          h('td', { class: 'config-version' }, `v${c.config_version}`),
          h('td', {}, lastSeen(c.last_seen_at)),
          h('td', {}, link(path, 'Manage', { class: 'btn small' })));
      })
      : [emptyRow(7, 'No connectors yet. Create one below, then configure the connector with its token.')]));
  }

  async function loadStats() {
    showError(statsErrors, null);
    try {
      const { stats } = await api.get(`${base}/feed-stats`);
      statsBody.replaceChildren(...STAT_LABELS.filter(([k]) => stats?.[k] !== undefined && stats?.[k] !== null).map(([k, label]) =>
        h('div', { class: 'stat' },
          h('dt', {}, label),
          h('dd', {}, k === 'storage_bytes' ? formatBytes(stats[k]) : String(stats[k])))));
    } catch (err) {
      showError(statsErrors, err, { title: 'Feed stats unavailable' });
    }
  }

  const form = h('form', {
    attrs: { 'aria-labelledby': 'new-connector-title' },
    onsubmit: async (e) => {
      e.preventDefault();
      showError(createErrors, null);
      const body = { connector_id: idInput.value.trim() };
      if (nameInput.value.trim()) body.name = nameInput.value.trim();
      try {
        const r = await busy(submit, () => api.post(`${base}/connectors`, body));
        form.reset();
        revealSlot.replaceChildren(tokenReveal({
          token: r.token,
          connectorId: r.connector.connector_id,
        }));
        revealSlot.scrollIntoView({ block: 'nearest' });
        await loadConnectors();
      } catch (err) {
        showError(createErrors, err, { title: 'Could not create the connector' });
      }
    },
  },
  h('div', { class: 'form-row' },
    field('Connector id', idInput, SLUG_HINT).wrap,
    field('Name', nameInput, 'Optional, for operators.').wrap,
    submit),
  createErrors);

  root.append(
    h('div', { class: 'page-head' },
      h('div', {}, title, h('p', { class: 'muted' }, 'Tenant ', h('code', {}, tenantKey))),
      h('span', { class: 'spacer' }),
      h('div', { class: 'actions' },
        link(hashFor('t/:tenant/customers', { tenant: tenantKey }), 'Customers', { class: 'btn' }),
        link(hashFor('t/:tenant/plans', { tenant: tenantKey }), 'Plans and visibility', { class: 'btn' }),
        link(hashFor('t/:tenant/seats', { tenant: tenantKey }), 'Seats', { class: 'btn', id: 'seats-link' }),
        link(hashFor('t/:tenant/payments', { tenant: tenantKey }), 'Payments and shop', { class: 'btn' }),
        link(hashFor('t/:tenant/roles', { tenant: tenantKey }), 'Discord roles', { class: 'btn' }),
        link(`/t/${encodeURIComponent(tenantKey)}/`, 'Customer pages', { class: 'btn' }),
        link(`/dashboard/?tenant=${encodeURIComponent(tenantKey)}`, 'Open live dashboard', { class: 'btn' }))),
    loadErrors,
    revealSlot,
    panel({ titleId: 'connectors-title', title: 'Connectors' },
      dataTable('connectors-title', ['Connector', 'Status', 'Ingest', 'Forward', 'Config', 'Last seen', ''], tbody)),
    h('div', { class: 'grid-2' },
      panel({ titleId: 'new-connector-title', title: 'New connector', bare: true }, form),
      panel({
        titleId: 'stats-title',
        title: 'Live feed',
        head: [h('span', { class: 'spacer' }), h('button', { type: 'button', class: 'btn small', onclick: loadStats }, 'Refresh')],
      },
      statsErrors,
      statsBody)));

  try {
    await loadConnectors();
  } catch (err) {
    if (err.code === 'tenant_not_found') {
      root.replaceChildren(h('section', { class: 'panel' },
        h('h1', {}, 'Tenant not found'),
        inlineError(err),
        link('#/', 'Back to tenants', { class: 'btn' })));
      return () => {};
    }
    showError(loadErrors, err, { title: 'Could not load the tenant' });
  }
  loadStats();
  root.dataset.loaded = 'true';
  return () => {};
}
