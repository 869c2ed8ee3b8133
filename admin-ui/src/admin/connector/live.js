// The live feed, filtered to this connector's signals: a feed ticket for the tenant, then the
// same client the dashboard uses.
import { h } from '../../shared/dom.js';
import { LiveFeed, SignalStore } from '../../shared/feed.js';
import { compareSignalsDesc, renderSignal } from '../../shared/signal-card.js';
import { statusIndicator } from '../../shared/status.js';
import { panel } from '../../shared/widgets/index.js';

const SHOWN = 25;

export function livePanel({ api, st }) {
  const live = statusIndicator('idle');
  const seq = h('span', { class: 'muted small', id: 'live-seq' });
  const list = h('ol', { class: 'signal-list', id: 'live-signals', attrs: { 'aria-label': 'Live signals from this connector' } });
  const toggle = h('button', { type: 'button', class: 'btn primary', id: 'live-toggle' }, 'Connect');
  const store = new SignalStore({ keepDeleted: true });
  let feed = null;

  function render() {
    const items = [...store.signals.values()].filter((s) => s.connector_id === st.connectorId).sort(compareSignalsDesc).slice(0, SHOWN);
    list.replaceChildren(...(items.length
      ? items.map((s) => h('li', {}, renderSignal(s, {
        channelName: st.channelName,
        threadName: (id) => store.threads.get(id)?.name ?? null,
      })))
      : [h('li', { class: 'empty' }, feed ? 'Waiting for signals…' : 'Connect to watch signals arrive.')]));
  }

  toggle.addEventListener('click', () => {
    if (feed) {
      feed.stop();
      feed = null;
      toggle.textContent = 'Connect';
      toggle.className = 'btn primary';
      render();
      return;
    }
    feed = new LiveFeed({
      connectUrl: async () => (await api.post('/v1/feed-tickets', { tenant_key: st.tenantKey })).url,
      onFrame: (frame) => {
        const change = store.apply(frame);
        seq.textContent = `seq ${feed?.seq ?? '—'}`;
        if (change && !change.thread) render();
      },
      onStatus: (s) => live.set(s),
    });
    // A handle for debugging from the console (and for the browser tests).
    window.__signalRelay = { feed };
    toggle.textContent = 'Disconnect';
    toggle.className = 'btn';
    feed.start();
    render();
  });

  const el = panel({ titleId: 'live-title', title: 'Live feed', head: [live.el, h('span', { class: 'spacer' }), seq, toggle] }, list);
  render();
  return { el, dispose: () => feed?.stop() };
}
