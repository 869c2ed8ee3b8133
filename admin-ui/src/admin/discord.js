// The Discord client's gate: configured or not, sending / paused / stopped, the alert, the
// invalid-request budget and the counters; Probe sends one request through the gate, Reset is
// what an operator does after fixing a 401 stop or a ban (docs/operations.md, "Discord").
import { showError } from '../shared/api.js';
import { busy, h, replace } from '../shared/dom.js';
import { timeEl } from '../shared/signal-card.js';
import { errorSlot, panel } from '../shared/widgets/index.js';

const STATE_CLASS = { sending: 'ok', paused: 'warn', stopped: 'danger' };
const COUNTERS = [
  ['requests_sent', 'Requests sent'],
  ['responses_2xx', '2xx'],
  ['rate_limited_429', '429s'],
  ['responses_4xx', 'Other 4xx'],
  ['responses_5xx', '5xx'],
  ['unauthorized_401', '401s'],
  ['ban_pages', 'Ban pages'],
  ['no_response', 'No answer'],
  ['refused_locally', 'Held back'],
  ['refused_stopped', 'Refused (stopped)'],
];

function stat(label, value, key) {
  return h('div', { class: 'stat', dataset: key ? { stat: key } : {} }, h('dt', {}, label), h('dd', {}, value));
}

export async function renderDiscord(root, { api, setCrumbs }) {
  setCrumbs([['Tenants', '#/'], ['Discord', '#/discord']]);
  document.title = 'Discord · Signal Relay';
  const stateBadge = h('span', { class: 'badge', id: 'discord-state' });
  const summary = h('div');
  const counters = h('dl', { class: 'stats' });
  const errors = errorSlot();
  const result = h('div', { attrs: { 'aria-live': 'polite' }, id: 'discord-result' });
  const probeBtn = h('button', { type: 'button', class: 'btn', id: 'discord-probe' }, 'Probe');
  const resetBtn = h('button', { type: 'button', class: 'btn', id: 'discord-reset' }, 'Reset stop and alert');

  function show(r) {
    if (!r.configured) {
      stateBadge.className = 'badge';
      stateBadge.textContent = 'not configured';
      probeBtn.disabled = true;
      resetBtn.disabled = true;
      replace(summary, h('p', { class: 'notice warn', id: 'discord-not-configured' },
        `Discord is not configured (${r.error_code}): set ${r.missing.join(', ')} with wrangler secret put. Ingest and the feed are unaffected.`));
      counters.replaceChildren();
      return;
    }
    const g = r.gate;
    stateBadge.className = `badge ${STATE_CLASS[g.state] ?? ''}`;
    stateBadge.textContent = g.state;
    probeBtn.disabled = false;
    resetBtn.disabled = false;
    const lines = [];
    if (g.alert) {
      lines.push(h('p', { class: 'notice warn', id: 'discord-alert', dataset: { kind: g.alert.kind } },
        h('strong', {}, g.alert.kind === 'banned' ? 'Ban page: ' : 'Bot token refused: '), g.alert.message,
        ' (since ', timeEl(g.alert.since_ms), g.alert.count > 1 ? `, ${g.alert.count} times` : '', ')'));
    }
    if (g.paused_until_ms) {
      lines.push(h('p', { class: 'notice', id: 'discord-paused' },
        `Paused (${g.pause_reason}) until `, timeEl(g.paused_until_ms), '.'));
    }
    replace(summary, lines,
      h('p', { class: 'muted', style: { overflowWrap: 'anywhere' } },
        'API base ', h('code', { id: 'discord-api-base' }, r.api_base), ' · gate ', h('code', {}, r.gate_name)),
      h('dl', { class: 'stats' },
        stat('Invalid requests (10 min)', `${g.invalid_requests} / ${g.invalid_budget}`, 'invalid'),
        stat('Buckets', String(g.buckets), 'buckets'),
        stat('In flight', String(g.in_flight), 'in_flight'),
        stat('Ban strikes', String(g.ban_strikes), 'ban_strikes')));
    counters.replaceChildren(...COUNTERS.map(([k, label]) => stat(label, String(g.counters[k] ?? 0), k)));
  }

  async function load() {
    showError(errors, null);
    try {
      show(await api.get('/v1/admin/discord'));
    } catch (err) {
      showError(errors, err, { title: 'Discord status unavailable' });
    }
  }

  probeBtn.addEventListener('click', async () => {
    showError(errors, null);
    try {
      const r = await busy(probeBtn, () => api.post('/v1/admin/discord/probe', {}));
      const p = r.probe;
      replace(result, p.ok
        ? h('p', { class: 'notice ok' }, `Probe succeeded: signed in as ${p.user.username} (${p.user.id}).`)
        // The message starts with the error code already.
        : h('p', { class: 'notice warn' }, 'Probe failed: ', p.message, p.discord_code ? ` (Discord code ${p.discord_code})` : ''));
      show(r);
    } catch (err) {
      showError(errors, err, { title: 'Probe failed' });
    }
  });
  resetBtn.addEventListener('click', async () => {
    showError(errors, null);
    try {
      const r = await busy(resetBtn, () => api.post('/v1/admin/discord/reset', {}));
      const done = [r.reset.stop_cleared && 'the 401 stop', r.reset.alert_cleared && 'the alert', r.reset.pause_lifted && 'the ban pause'].filter(Boolean);
      replace(result, h('p', { class: 'notice ok' }, done.length ? `Cleared ${done.join(', ')}.` : 'Nothing to clear.'));
      show(r);
    } catch (err) {
      showError(errors, err, { title: 'Reset failed' });
    }
  });

  root.append(
    panel({ titleId: 'discord-title', title: 'Discord', heading: 'h1', head: [stateBadge, probeBtn, resetBtn] },
      errors, result, summary),
    panel({ titleId: 'discord-counters-title', title: 'Requests' }, counters));
  await load();
  return () => {};
}
