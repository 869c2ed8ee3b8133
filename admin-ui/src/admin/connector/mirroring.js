// Mirroring: what the tenant's mirror object is doing for this connector's mappings — the
// forwarding switch, each target's queue and seat gate (paused over the seat limit, jobs held),
// dead letters (with requeue, per job or per target), skipped messages with the
// rule that skipped them, the latest jobs and the last hour's latency per stage and event type.
// Targets themselves are edited in the Mappings panel; this one only reads and requeues.
import { seg, showError } from '../../shared/api.js';
import { busy, checkbox, h, replace } from '../../shared/dom.js';
import { timeEl } from '../../shared/signal-card.js';
import { dataTable, emptyRow, errorSlot, panel } from '../../shared/widgets/index.js';

const STAGES = [['dispatch', 'commit → dispatch'], ['discord_answer', 'commit → Discord’s answer']];
const OUTCOME_CLASS = { synced: 'ok', removed: 'ok', cancelled: 'accent', dead_lettered: 'danger', skipped: 'warn', dropped: 'warn', not_mirrored: 'warn' };

const ms = (v) => (typeof v === 'number' ? `${Math.round(v)} ms` : '—');
const outcomeBadge = (o) => h('span', { class: `badge ${OUTCOME_CLASS[o] ?? ''} outcome`, dataset: { outcome: o } }, o.replaceAll('_', ' '));

export function mirroringPanel({ api, st }) {
  const base = `${st.base}/mirroring`;
  const errors = errorSlot();
  const notices = h('div', { id: 'mirroring-notices' });
  const depth = h('span', { class: 'badge', id: 'mirroring-depth', title: 'Jobs waiting or running' }, '—');
  const retrying = h('span', { class: 'badge', id: 'mirroring-retrying', title: 'Jobs waiting out a failure' }, '—');
  const dead = h('span', { class: 'badge', id: 'mirroring-dead', title: 'Dead-lettered jobs' }, '—');
  const forward = checkbox('Forwarding', false, { attrs: { role: 'switch' }, name: 'mirroring_forward', id: 'mirroring-forward' });
  const refreshBtn = h('button', { type: 'button', class: 'btn', id: 'mirroring-refresh' }, 'Refresh');
  const requeueAllBtn = h('button', { type: 'button', class: 'btn', id: 'mirroring-requeue-all', disabled: true }, 'Requeue all');
  const editTargets = h('button', { type: 'button', class: 'btn small', id: 'mirroring-edit-targets' }, 'Edit targets in Mappings');
  // The router owns the hash, so the jump to the Mappings panel is a scroll, not a link.
  editTargets.addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('mappings')?.scrollIntoView({ block: 'start' });
    document.getElementById('mapping-target')?.focus();
  });
  const targetsBody = h('tbody');
  const deadBody = h('tbody');
  const skippedBody = h('tbody');
  const recentBody = h('tbody');
  const latencyBody = h('tbody');
  const content = h('div', { id: 'mirroring-content', hidden: true },
    h('div', { class: 'panel-head' }, h('h3', { id: 'mirroring-targets-title' }, 'Targets'), editTargets),
    dataTable('mirroring-targets-title', ['Target', 'Source', 'Queue', 'Retrying', 'Dead letters', 'Seats', 'Webhook'], targetsBody),
    h('h3', { id: 'mirroring-dead-title' }, 'Dead letters'),
    dataTable('mirroring-dead-title', ['Time', 'Target', 'Message', 'Reason', 'Discord code', ''], deadBody),
    h('h3', { id: 'mirroring-skipped-title' }, 'Skipped'),
    dataTable('mirroring-skipped-title', ['Time', 'Target', 'Message', 'Rule', 'Detail'], skippedBody),
    h('h3', { id: 'mirroring-recent-title' }, 'Recent jobs'),
    dataTable('mirroring-recent-title', ['Time', 'Target', 'Message', 'Kind', 'Outcome', 'Dispatch', 'Discord answer'], recentBody),
    h('h3', { id: 'mirroring-latency-title' }, 'Latency, last hour'),
    dataTable('mirroring-latency-title', ['Stage', 'Event', 'Jobs', 'p50', 'p95', 'p99'], latencyBody));

  const label = (id) => h('span', {}, h('span', { class: 'channel-name' }, st.channelLabel(id)), h('span', { class: 'sub' }, id));

  function count(el, word, n, cls) {
    el.textContent = `${word} ${n}`;
    el.dataset.count = String(n);
    el.className = n ? `badge ${cls}` : 'badge';
  }

  function deadRow(t, d) {
    const btn = h('button', { type: 'button', class: 'btn small', dataset: { action: 'requeue' }, attrs: { 'aria-label': `Requeue job ${d.job_id}` } }, 'Requeue');
    btn.addEventListener('click', () => act(btn, () => api.post(`${base}/targets/${seg(t.target_channel_id)}/dead/${seg(d.job_id)}/requeue`, {})));
    return h('tr', { dataset: { job: String(d.job_id), target: t.target_channel_id } },
      h('td', {}, timeEl(d.at_ms)),
      h('td', {}, label(t.target_channel_id)),
      h('td', {}, h('code', {}, d.message_id), h('span', { class: 'sub' }, `${d.kind} · job ${d.job_id}`)),
      h('td', { class: 'dead-reason' }, h('code', { class: 'error-code' }, d.error_code), ' ', h('span', {}, d.reason)),
      h('td', { class: 'dead-discord-code' }, d.discord_code != null ? h('code', {}, String(d.discord_code)) : '—'),
      h('td', { class: 'actions' }, btn));
  }

  /** The seat gate on a target: paused over the guild's seat limit (its queue held), or not. */
  function seatsCell(t) {
    const s = t.seats ?? {};
    const state = s.paused ? 'paused' : (s.guild_id ? 'open' : 'ungated');
    const main = s.paused
      ? h('span', { class: 'badge warn seats-state' }, `paused: over seat limit — ${s.held ?? 0} held`)
      : h('span', { class: 'muted seats-state' }, s.guild_id ? 'sending' : 'no guild known');
    const extra = [];
    if (s.expired_while_paused_total) extra.push(h('span', { class: 'sub seats-expired' }, `${s.expired_while_paused_total} expired while paused`));
    if (s.would_hold_total) extra.push(h('span', { class: 'sub seats-would-hold' }, `${s.would_hold_total} would have been held (shadow)`));
    return h('td', { class: 'target-seats', dataset: { seats: state, held: String(s.held ?? 0) } }, main, ...extra);
  }

  function requeueTargetBtn(t) {
    const n = t.dead_letters.length;
    const btn = h('button', {
      type: 'button', class: 'btn small', disabled: !n, dataset: { action: 'requeue-target' },
      attrs: { 'aria-label': `Requeue all dead letters of ${st.channelLabel(t.target_channel_id)}` },
    }, n ? `Requeue all dead letters (${n})` : 'Requeue all dead letters');
    btn.addEventListener('click', () => act(btn, () => api.post(`${base}/requeue`, { target_channel_id: t.target_channel_id })));
    return btn;
  }

  let last = null;
  function render(m) {
    last = m;
    count(depth, 'queued', m.queue_depth, 'accent');
    count(retrying, 'retrying', m.retrying, 'warn');
    count(dead, 'dead', m.dead_lettered, 'danger');
    requeueAllBtn.disabled = !m.dead_lettered;
    forward.input.checked = !!m.forward_enabled;
    notices.replaceChildren(m.forward_enabled ? '' : h('div', { class: 'notice warn', id: 'mirroring-forward-off', attrs: { role: 'status' } },
      'Forwarding is off: new signals create no mirroring jobs until it is switched on.'));
    const targets = m.targets ?? [];
    targetsBody.replaceChildren(...(targets.length ? targets.map((t) => h('tr', { dataset: { target: t.target_channel_id } },
      h('td', {}, label(t.target_channel_id)),
      h('td', {}, label(t.source_channel_id)),
      h('td', { class: 'target-depth' }, String(t.depth)),
      h('td', { class: 'target-retrying' }, String(t.retrying), t.retrying && t.next_wake_ms ? [' · next ', timeEl(t.next_wake_ms)] : null),
      h('td', { class: 'target-dead' }, h('span', { class: 'target-dead-count' }, String(t.dead_letters.length)), requeueTargetBtn(t)),
      seatsCell(t),
      h('td', {}, t.webhook_id ? h('code', {}, t.webhook_id) : h('span', { class: 'muted' }, 'none yet'))))
      : [emptyRow(7, 'No targets: add a mapping in the Mappings panel above.')]));
    const deads = targets.flatMap((t) => t.dead_letters.map((d) => deadRow(t, d)));
    deadBody.replaceChildren(...(deads.length ? deads : [emptyRow(6, 'No dead letters.')]));
    const skipped = m.skipped ?? [];
    skippedBody.replaceChildren(...(skipped.length ? skipped.map((s) => h('tr', { dataset: { message: s.message_id } },
      h('td', {}, timeEl(s.at_ms)),
      h('td', {}, label(s.target_channel_id)),
      h('td', {}, h('code', {}, s.message_id), h('span', { class: 'sub' }, s.kind)),
      h('td', { class: 'skip-rule' }, h('code', {}, s.rule ?? '—')),
      h('td', { class: 'skip-detail' }, s.detail ?? '')))
      : [emptyRow(5, 'Nothing skipped.')]));
    const recent = m.recent_jobs ?? [];
    recentBody.replaceChildren(...(recent.length ? recent.map((j) => h('tr', { dataset: { message: j.message_id, target: j.target_channel_id, outcome: j.outcome } },
      h('td', {}, timeEl(j.at_ms)),
      h('td', {}, label(j.target_channel_id)),
      h('td', {}, h('code', {}, j.message_id)),
      h('td', {}, j.kind),
      h('td', {}, outcomeBadge(j.outcome), j.error_code ? h('span', { class: 'sub' }, j.error_code, j.discord_code != null ? ` · ${j.discord_code}` : '') : null,
        j.rule ? h('span', { class: 'sub' }, j.rule) : null),
      h('td', { class: 'job-dispatch' }, ms(j.dispatch_ms)),
      h('td', { class: 'job-answer' }, ms(j.answer_ms))))
      : [emptyRow(7, 'No jobs yet.')]));
    const rows = [];
    for (const [stage, name] of STAGES) {
      for (const [event, q] of Object.entries(m.latency?.[stage] ?? {})) {
        rows.push(h('tr', { dataset: { stage, event } },
          h('td', {}, name), h('td', {}, event), h('td', { class: 'lat-count' }, String(q.count ?? 0)),
          h('td', { class: 'lat-p50' }, ms(q.p50)), h('td', { class: 'lat-p95' }, ms(q.p95)), h('td', { class: 'lat-p99' }, ms(q.p99))));
      }
    }
    latencyBody.replaceChildren(...(rows.length ? rows : [emptyRow(6, 'No jobs in the last hour.')]));
  }

  /** Whether the bot can post at all: without a token every job waits or dead-letters. */
  async function discordState() {
    try {
      const d = await api.get('/v1/admin/discord');
      if (d.configured) return null;
      return h('div', { class: 'notice warn', id: 'mirroring-discord', dataset: { errorCode: d.error_code }, attrs: { role: 'alert' } },
        h('code', { class: 'error-code' }, d.error_code ?? 'discord_not_configured'), ' ',
        'Discord is not configured', d.missing?.length ? [' (missing ', d.missing.map((k, i) => [i ? ', ' : '', h('code', {}, k)]), ')'] : null,
        ': the bot posts nothing, so jobs wait or dead-letter. See the Discord page.');
    } catch {
      return null; // The Discord page says why; this panel still shows the queues.
    }
  }

  let loads = 0;
  async function refresh() {
    const [res, discord] = await Promise.all([
      api.get(base).then((r) => ({ r }), (err) => ({ err })),
      discordState(),
    ]);
    if (res.err) {
      const err = res.err;
      showError(errors, err, {
        title: err.code === 'mirror_unavailable' ? 'The mirror object is unavailable (retry)' : 'Could not load the mirroring status',
      });
      replace(notices, discord);
      for (const b of [depth, retrying, dead]) { b.textContent = '—'; b.className = 'badge'; }
      content.hidden = true;
    } else {
      showError(errors, null);
      render(res.r.mirroring);
      if (discord) notices.prepend(discord);
      content.hidden = false;
    }
    el.dataset.loads = String(++loads);
  }

  async function act(button, fn) {
    showError(errors, null);
    try {
      await busy(button, fn);
    } catch (err) {
      showError(errors, err, { title: 'Could not requeue' });
      return;
    }
    await refresh();
  }

  refreshBtn.addEventListener('click', () => busy(refreshBtn, refresh));
  requeueAllBtn.addEventListener('click', () => act(requeueAllBtn, () => api.post(`${base}/requeue`, {})));
  forward.input.addEventListener('change', async () => {
    showError(errors, null);
    try {
      const r = await busy(forward.input, () => api.patch(st.base, { forward_enabled: forward.input.checked }));
      if (r?.connector) st.update({ connector: r.connector });
    } catch (err) {
      showError(errors, err, { title: 'Could not switch forwarding' });
    }
    await refresh();
  });
  // The Settings switch and this one are the same flag.
  st.subscribe(['connector'], () => {
    if (!st.connector) return;
    forward.input.checked = !!st.connector.forward_enabled;
    if (last && last.forward_enabled !== !!st.connector.forward_enabled) refresh();
  });
  // Channel names arrive with the catalog and discovery after the first render.
  st.subscribe(['catalog', 'discovery'], () => { if (last) render(last); });

  const el = panel({ id: 'mirroring', titleId: 'mirroring-title', title: 'Mirroring', head: [depth, retrying, dead, h('span', { class: 'spacer' }), forward.wrap, requeueAllBtn, refreshBtn] },
    h('p', { class: 'muted' }, 'What the mirror object is doing for this connector’s mappings: queues per target, dead letters (fix the cause, then requeue), messages skipped by a mapping’s rules, the latest jobs and the last hour’s latency.'),
    errors,
    notices,
    content);
  return { el, refresh };
}
