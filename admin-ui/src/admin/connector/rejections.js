// Items of the connector's batches that failed validation. Ingest stores the valid items of a
// list and answers 200 with the others in `rejected`; a field connector treats that as done, so
// this panel is where an operator sees what the connector sent wrong.
import { showError } from '../../shared/api.js';
import { h, replace } from '../../shared/dom.js';
import { timeEl } from '../../shared/signal-card.js';
import { dataTable, emptyRow, panel } from '../../shared/widgets/index.js';

const ROUTES = {
  'message-batch': 'Message batch',
  thread: 'Thread',
  'channel-guild-sync': 'Discovery sync',
};

function reason(r) {
  return [
    h('code', { class: 'error-code' }, r.error_code),
    ' ',
    h('span', { class: 'rejection-message' }, r.message),
    r.fields?.length
      ? h('ul', { class: 'rejection-fields' },
        r.fields.map((f) => h('li', {}, h('code', {}, f.field ?? '$'), ` ${f.problem ?? ''}`)))
      : null,
  ];
}

function row(r) {
  return h('tr', { dataset: { key: r.idempotency_key ?? '', route: r.route } },
    h('td', { class: 'rejection-time' }, timeEl(r.at)),
    h('td', {}, ROUTES[r.route] ?? r.route, h('span', { class: 'sub' }, `${r.route} · item ${r.index}`)),
    h('td', { class: 'rejection-key' }, r.idempotency_key ? h('code', {}, r.idempotency_key) : h('span', { class: 'muted' }, 'no key')),
    h('td', { class: 'rejection-reason' }, reason(r)));
}

export function rejectionsPanel({ api, st }) {
  const total = h('span', { class: 'badge', id: 'rejections-total', title: 'Items rejected in total' }, '—');
  const errors = h('div');
  const summary = h('p', { class: 'muted', id: 'rejections-summary' });
  const tbody = h('tbody');
  const content = h('div', {}, summary, dataTable('rejections-title', ['Time', 'Route', 'Idempotency key', 'Reason'], tbody));

  function render({ total: n = 0, last_at: lastAt = null, recent = [] }) {
    total.textContent = String(n);
    total.className = n ? 'badge warn' : 'badge';
    if (!n) {
      replace(summary, 'Nothing rejected: every item this connector sent passed validation.');
    } else {
      replace(summary,
        `${n} item${n === 1 ? '' : 's'} rejected in total`,
        lastAt ? [', the last one ', timeEl(lastAt)] : null,
        recent.length < n ? `. The latest ${recent.length} are listed.` : '.');
    }
    tbody.replaceChildren(...(recent.length ? recent.map(row) : [emptyRow(4, 'No rejected items.')]));
  }

  async function refresh() {
    try {
      const r = await api.get(`${st.base}/rejections`);
      showError(errors, null);
      render(r.rejections ?? {});
      content.hidden = false;
    } catch (err) {
      // The rest of the page does not depend on this list: say why it is missing and go on.
      showError(errors, err, { title: 'Could not load the rejected items' });
      total.textContent = '—';
      total.className = 'badge';
      content.hidden = true;
    }
  }

  const el = panel({ id: 'rejections', titleId: 'rejections-title', title: 'Rejected by validation', head: [total] },
    h('p', { class: 'muted' }, 'Items of this connector’s requests that failed validation, newest first: the other items of each request were stored, these were not.'),
    errors,
    content);
  return { el, refresh };
}
