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

/**
 * A customer guild's seat status (GET /v1/admin/tenants/{t}/seats), as a badge with
 * data-seat-gate (the gate's row) and data-seat-holding: paused, shadow "would pause",
 * unknown (an error and no count — never shown as zero), checking, or within the limit.
 */
export function seatBadge(seat) {
  if (!seat) return null;
  const s = seat.snapshot;
  const used = s.seats_used === null ? '?' : `${s.seats_exact === false ? '≤ ' : ''}${s.seats_used}`;
  const count = `${used}/${seat.limit}`;
  let kind = 'ok';
  let text = `seats ${count}`;
  if (seat.effective_mode === 'off') {
    kind = '';
    text = 'seats off';
  } else if (seat.holding && seat.gate === 'over') {
    kind = 'danger';
    text = `paused: seats ${count}`;
  } else if (seat.holding) {
    kind = 'danger';
    text = s.last_error ? `paused: ${s.last_error.code.replaceAll('_', ' ')}` : 'paused: seats not counted yet';
  } else if (seat.would_hold) {
    kind = 'warn';
    text = `shadow: would pause (${count})`;
  } else if (s.last_error && s.seats_used === null) {
    kind = 'warn';
    text = `seats unknown: ${s.last_error.code.replaceAll('_', ' ')}`;
  } else if (seat.gate === 'no_snapshot') {
    kind = 'warn';
    text = 'seats: checking';
  }
  const title = [
    `mode ${seat.mode}${seat.kill_switch && seat.mode === 'enforce' ? ' (kill switch: shadow)' : ''}`,
    s.status ? `count ${s.status}` : 'no count yet',
    s.last_error ? `${s.last_error.code}: ${s.last_error.message ?? ''}` : null,
  ].filter(Boolean).join(' · ');
  return h('span', {
    class: `badge seat-badge ${kind}`,
    title,
    dataset: { seatGate: seat.gate, seatHolding: String(seat.holding), guild: seat.guild_id },
  }, text);
}
