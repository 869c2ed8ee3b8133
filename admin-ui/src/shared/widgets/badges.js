// Small status marks shared by the tables and detail lists.
import { h } from '../dom.js';
import { timeEl } from '../signal-card.js';

/** A connector's status (active, paused, …) as a coloured badge with data-status. */
export function statusBadge(status) {
  return h('span', { class: `badge ${status === 'active' ? 'active' : status === 'paused' ? 'paused' : ''}`, dataset: { status } }, status);
}

/** An on/off flag for a table cell. */
export function flag(on, label) {
  return h('span', { class: `badge ${on ? 'ok' : ''}`, title: `${label} ${on ? 'enabled' : 'disabled'}` }, on ? 'on' : 'off');
}

/** When something was last seen: a live relative time, or "never". */
export function lastSeen(ms) {
  return ms ? timeEl(ms, { class: 'last-seen' }) : h('span', { class: 'muted last-seen' }, 'never');
}
