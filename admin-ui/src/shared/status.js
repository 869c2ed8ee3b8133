// A connection status indicator (role=status, announced politely).
import { h } from './dom.js';

const LABELS = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  stopped: 'Disconnected',
};

export function statusIndicator(initial = 'idle') {
  const label = h('span', { class: 'label' });
  const detail = h('span', { class: 'detail' });
  const el = h('span', { class: 'status', attrs: { role: 'status', 'aria-live': 'polite' } },
    h('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }), label, detail);
  function set({ state, detail: text, retryInMs }) {
    el.dataset.state = state;
    label.textContent = LABELS[state] ?? state;
    let d = '';
    if (state === 'reconnecting' && retryInMs) d = `retrying in ${Math.max(1, Math.round(retryInMs / 1000))} s`;
    else if ((state === 'offline' || state === 'stopped') && text) d = text;
    detail.textContent = d ? `· ${d}` : '';
    el.title = text ?? '';
  }
  set({ state: initial });
  return { el, set };
}
