// A tenant's customers: every account (paid or not) with search, and one customer's access,
// entitlements and history, with the operator actions (grant N days, revoke, reset link,
// disable / enable, revoke sessions). Every change asks for a reason; the server records it with
// the operator credential and it shows in the history.
import { seg, showError } from '../shared/api.js';
import { busy, field, h, link, option, safeLink } from '../shared/dom.js';
import { absoluteTime } from '../shared/format.js';
import { hashFor } from '../shared/router.js';
import { timeEl } from '../shared/signal-card.js';
import { dataTable, emptyRow, errorSlot, panel } from '../shared/widgets/index.js';

function accessText(access) {
  if (!access) return h('span', { class: 'muted' }, 'none');
  const ends = access.until ?? access.entitlement?.ends_at;
  return h('span', {}, h('span', { class: 'badge accent' }, access.tier?.name ?? access.tier?.key ?? '?'),
    ends ? h('span', { class: 'sub' }, `until ${absoluteTime(ends)}`) : null);
}

/** A history entry's detail as "key: value" pairs (times as dates), not raw JSON. */
function detailText(d) {
  if (d === null || d === undefined) return '';
  if (typeof d !== 'object') return String(d);
  return Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => {
      const time = /_ms$/.test(k) && typeof v === 'number';
      const value = time ? absoluteTime(v) : typeof v === 'object' ? JSON.stringify(v) : String(v);
      return `${(time ? k.replace(/_ms$/, '') : k).replace(/_/g, ' ')}: ${value}`;
    })
    .join(' · ');
}

function statusOf(status) {
  return h('span', { class: `badge ${status === 'active' ? 'active' : 'danger'}`, dataset: { status } }, status);
}

export async function renderCustomers(root, { api, setCrumbs }, tenantKey) {
  const base = `/v1/admin/tenants/${seg(tenantKey)}`;
  setCrumbs([['Tenants', '#/'], [tenantKey, hashFor('t/:tenant', { tenant: tenantKey })], ['Customers', hashFor('t/:tenant/customers', { tenant: tenantKey })]]);
  document.title = `Customers · ${tenantKey} · Signal Relay`;
  const tbody = h('tbody');
  const errors = errorSlot();
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'More');
  const q = h('input', { type: 'search', name: 'q', autocomplete: 'off', spellcheck: false, placeholder: 'part of an email' });
  let cursor = null;
  let timer = null;

  const row = (c) => {
    const path = hashFor('t/:tenant/customers/:id', { tenant: tenantKey, id: c.customer_id });
    return h('tr', { dataset: { customer: c.customer_id } },
      h('td', {}, link(path, c.email)),
      h('td', {}, statusOf(c.status)),
      h('td', {}, accessText(c.access)),
      h('td', {}, timeEl(c.created_at)));
  };

  async function load(append = false) {
    showError(errors, null);
    const params = new URLSearchParams({ limit: '50' });
    if (q.value.trim()) params.set('q', q.value.trim());
    if (append && cursor) params.set('cursor', cursor);
    try {
      const r = await api.get(`${base}/customers?${params}`);
      const rows = (r.customers ?? []).map(row);
      if (append) tbody.append(...rows);
      else tbody.replaceChildren(...(rows.length ? rows : [emptyRow(4, q.value.trim() ? 'No customer matches.' : 'No customers yet.')]));
      cursor = r.next_cursor ?? null;
      more.hidden = !cursor;
    } catch (err) {
      showError(errors, err, { title: 'Could not load customers' });
    }
  }

  q.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => load(), 250); });
  more.addEventListener('click', () => busy(more, () => load(true)));
  const search = h('form', {
    class: 'form-row',
    attrs: { role: 'search' },
    onsubmit: (e) => { e.preventDefault(); load(); },
  }, field('Search by email', q).wrap);

  root.append(
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', { id: 'customers-title' }, 'Customers'), h('p', { class: 'muted' }, 'Every account of tenant ', h('code', {}, tenantKey), ', paid or not.')),
      h('span', { class: 'spacer' }),
      link(hashFor('t/:tenant/plans', { tenant: tenantKey }), 'Plans and visibility', { class: 'btn' })),
    panel({ titleId: 'customer-list-title', title: 'Accounts' },
      search,
      errors,
      dataTable('customer-list-title', ['Email', 'Status', 'Access', 'Signed up'], tbody),
      h('div', { class: 'form-actions' }, more)));
  await load();
  root.dataset.loaded = 'true';
  return () => clearTimeout(timer);
}

export async function renderCustomer(root, { api, setCrumbs }, tenantKey, customerId) {
  const base = `/v1/admin/tenants/${seg(tenantKey)}`;
  const cbase = `${base}/customers/${seg(customerId)}`;
  setCrumbs([
    ['Tenants', '#/'],
    [tenantKey, hashFor('t/:tenant', { tenant: tenantKey })],
    ['Customers', hashFor('t/:tenant/customers', { tenant: tenantKey })],
    [customerId, hashFor('t/:tenant/customers/:id', { tenant: tenantKey, id: customerId })],
  ]);
  const title = h('h1', { id: 'customer-title' }, customerId);
  const statusSlot = h('span');
  const summary = h('dl', { class: 'details' });
  const entBody = h('tbody');
  const histBody = h('tbody');
  const errors = errorSlot();
  const actionErrors = errorSlot();
  const result = h('div', { attrs: { 'aria-live': 'polite' } });
  const reason = h('input', { type: 'text', name: 'reason', required: true, maxLength: 500, autocomplete: 'off' });
  const tierSelect = h('select', { name: 'tier', required: true });
  const days = h('input', { type: 'number', name: 'days', required: true, min: 1, max: 3650, step: 1, value: '30' });
  const grantBtn = h('button', { type: 'submit', class: 'btn primary' }, 'Grant');
  const resetBtn = h('button', { type: 'button', class: 'btn' }, 'Issue reset link');
  const sessionsBtn = h('button', { type: 'button', class: 'btn' }, 'Revoke sessions');
  const disableBtn = h('button', { type: 'button', class: 'btn danger' }, 'Disable account');
  let customer = null;
  let tierNames = new Map();

  /** The reason every change needs; focuses the field when it is empty. */
  function needReason() {
    const text = reason.value.trim();
    if (!text) {
      reason.setAttribute('aria-invalid', 'true');
      reason.focus();
      showError(actionErrors, { code: 'reason_required', message: 'say why (it is recorded in the history)' });
      return null;
    }
    reason.removeAttribute('aria-invalid');
    return text;
  }

  async function act(button, fn, label) {
    showError(actionErrors, null);
    result.replaceChildren();
    const why = needReason();
    if (!why) return;
    try {
      const r = await busy(button, () => fn(why));
      reason.value = '';
      await load();
      return r;
    } catch (err) {
      showError(actionErrors, err, { title: `Could not ${label}` });
      return undefined;
    }
  }

  const grant = h('form', {
    attrs: { 'aria-labelledby': 'grant-title' },
    onsubmit: async (e) => {
      e.preventDefault();
      const r = await act(grantBtn, (why) => api.post(`${cbase}/grants`, { tier: tierSelect.value, days: Number(days.value), reason: why }), 'grant the plan');
      if (r) result.replaceChildren(h('p', { class: 'notice ok' }, `Granted ${tierSelect.selectedOptions[0]?.textContent ?? ''} until ${absoluteTime(r.entitlement?.ends_at)}.`));
    },
  },
  h('h3', { id: 'grant-title', class: 'form-title' }, 'Grant a plan'),
  h('div', { class: 'form-row' },
    field('Plan', tierSelect).wrap,
    field('Days', days, 'Extends an active grant of the same plan.').wrap,
    grantBtn));

  resetBtn.addEventListener('click', async () => {
    const r = await act(resetBtn, (why) => api.post(`${cbase}/reset-link`, { reason: why }), 'issue a reset link');
    if (r?.url) {
      const url = new URL(r.url, window.location.href).href;
      result.replaceChildren(h('div', { class: 'notice warn', id: 'reset-link' },
        h('p', {}, h('strong', {}, 'One-time reset link'), ` (expires ${absoluteTime(r.expires_at)}). Send it to the customer; it is not shown again.`),
        h('input', { type: 'text', readOnly: true, value: url, class: 'mono token-value', attrs: { 'aria-label': 'Reset link' } }),
        h('p', {}, safeLink(url, 'Open'))));
    }
  });
  sessionsBtn.addEventListener('click', async () => {
    const r = await act(sessionsBtn, (why) => api.post(`${cbase}/revoke-sessions`, { reason: why }), 'revoke sessions');
    if (r) result.replaceChildren(h('p', { class: 'notice ok' }, `Revoked ${r.revoked ?? 0} session(s); open dashboards were closed.`));
  });
  disableBtn.addEventListener('click', async () => {
    const enabling = customer?.status === 'disabled';
    await act(disableBtn, (why) => api.post(`${cbase}/${enabling ? 'enable' : 'disable'}`, { reason: why }), enabling ? 'enable the account' : 'disable the account');
  });

  function entRow(e) {
    const revoke = e.status === 'active' || e.status === 'scheduled'
      ? h('button', {
        type: 'button',
        class: 'btn small danger',
        onclick: (ev) => act(ev.currentTarget, (why) => api.post(`${cbase}/entitlements/${seg(e.entitlement_id)}/revoke`, { reason: why }), 'revoke the entitlement'),
      }, 'Revoke')
      : null;
    return h('tr', { dataset: { entitlement: e.entitlement_id, status: e.status } },
      h('td', {}, h('span', { class: 'badge accent' }, e.tier?.name ?? tierNames.get(e.tier?.key ?? e.tier) ?? e.tier?.key ?? e.tier)),
      // `closed`: the hourly expiry sweep marked the ended window (access stopped at its end).
      h('td', {}, e.status, e.closed_at_ms ? h('span', { class: 'sub', dataset: { closed: 'true' } }, `closed ${absoluteTime(e.closed_at_ms)}`) : null),
      h('td', {}, e.source, e.reference ? h('span', { class: 'sub' }, e.reference) : null),
      h('td', {}, absoluteTime(e.starts_at)),
      h('td', {}, absoluteTime(e.ends_at)),
      h('td', { class: 'actions' }, revoke));
  }

  async function load() {
    const r = await api.get(cbase);
    customer = r.customer;
    title.textContent = customer.email;
    document.title = `${customer.email} · Signal Relay`;
    statusSlot.replaceChildren(statusOf(customer.status));
    disableBtn.textContent = customer.status === 'disabled' ? 'Enable account' : 'Disable account';
    summary.replaceChildren(
      h('div', {}, h('dt', {}, 'Access'), h('dd', {}, accessText(r.access))),
      h('div', {}, h('dt', {}, 'Signed up'), h('dd', {}, absoluteTime(customer.created_at))),
      h('div', {}, h('dt', {}, 'Customer id'), h('dd', {}, h('code', {}, customer.customer_id))));
    const ents = r.entitlements ?? [];
    entBody.replaceChildren(...(ents.length ? ents.map(entRow) : [emptyRow(6, 'No entitlements.')]));
    const hist = r.history ?? [];
    histBody.replaceChildren(...(hist.length
      ? hist.map((x) => h('tr', {},
        h('td', { class: 'nowrap' }, timeEl(x.at)),
        h('td', {}, h('code', {}, x.action)),
        h('td', { class: 'detail' }, detailText(x.detail)),
        h('td', {}, x.reason ?? ''),
        h('td', {}, h('code', {}, x.operator ?? ''))))
      : [emptyRow(5, 'Nothing recorded yet.')]));
  }

  root.append(
    h('div', { class: 'page-head' }, h('div', { class: 'title-row' }, title, statusSlot)),
    errors,
    panel({ titleId: 'summary-title', title: 'Account' }, summary),
    panel({ titleId: 'actions-title', title: 'Change access' },
      field('Reason', reason, 'Required for every change; recorded with your operator credential.').wrap,
      grant,
      h('div', { class: 'form-actions' }, resetBtn, sessionsBtn, disableBtn),
      actionErrors,
      result),
    panel({ titleId: 'ent-title', title: 'Entitlements' },
      dataTable('ent-title', ['Plan', 'Status', 'Source', 'Starts', 'Ends', ''], entBody)),
    panel({ titleId: 'hist-title', title: 'History' },
      dataTable('hist-title', ['When', 'What', 'Detail', 'Why', 'Operator'], histBody)));
  try {
    const { tiers } = await api.get(`${base}/tiers`);
    tierNames = new Map((tiers ?? []).map((t) => [t.key, t.name]));
    tierSelect.replaceChildren(...(tiers ?? []).map((t) => option(t.key, t.name)));
    await load();
  } catch (err) {
    showError(errors, err, { title: 'Could not load the customer' });
  }
  root.dataset.loaded = 'true';
  return () => {};
}
