// Recent signals of this connector, from the admin API (the D1 projection, which trails the live
// feed by a fraction of a second), newest first, deleted ones included.
import { seg, showError } from '../../shared/api.js';
import { busy, h } from '../../shared/dom.js';
import { renderSignal } from '../../shared/signal-card.js';
import { panel } from '../../shared/widgets/index.js';

export function signalsPanel({ api, st }) {
  const errors = h('div');
  const list = h('ol', { class: 'signal-list', id: 'recent-signals', attrs: { 'aria-label': 'Recent signals' } });
  const moreBtn = h('button', { type: 'button', class: 'btn small', hidden: true }, 'Load older');
  const refreshBtn = h('button', { type: 'button', class: 'btn small', id: 'refresh-signals' }, 'Refresh');
  let nextBefore = null;

  async function load(more = false) {
    showError(errors, null);
    const q = new URLSearchParams({ limit: '20', connector_id: st.connectorId, include_deleted: 'true' });
    if (more && nextBefore) q.set('before', String(nextBefore));
    try {
      const r = await api.get(`/v1/admin/tenants/${seg(st.tenantKey)}/signals?${q}`);
      if (!more) list.replaceChildren();
      for (const s of r.signals) list.append(h('li', {}, renderSignal(s, { channelName: st.channelName })));
      if (!list.children.length) list.append(h('li', { class: 'empty' }, 'No signals from this connector yet.'));
      nextBefore = r.next_before ?? null;
      moreBtn.hidden = !nextBefore;
    } catch (err) {
      showError(errors, err, { title: 'Could not load signals' });
    }
  }
  refreshBtn.addEventListener('click', () => busy(refreshBtn, () => load(false)));
  moreBtn.addEventListener('click', () => busy(moreBtn, () => load(true)));

  const el = panel({ titleId: 'signals-title', title: 'Recent signals', head: [h('span', { class: 'spacer' }), refreshBtn] },
    errors, list, h('div', { class: 'form-actions' }, moreBtn));
  return { el, refresh: () => load(false) };
}
