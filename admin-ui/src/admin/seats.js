// A tenant's seat enforcement: per customer guild the seat limit and mode (off, shadow,
// enforce), the last audit's snapshot (seats used of the limit, fresh/stale/expired, checked
// at, next check, last error), "refresh now"; and the deployment-wide kill switch that turns
// every enforcing guild to shadow at once.
import { seg, showError } from '../shared/api.js';
import { busy, field, h, option } from '../shared/dom.js';
import { hashFor } from '../shared/router.js';
import { timeEl } from '../shared/signal-card.js';
import { dataTable, emptyRow, errorSlot, panel, seatBadge } from '../shared/widgets/index.js';

const MODES = [['off', 'Off — no audits'], ['shadow', 'Shadow — report only'], ['enforce', 'Enforce — pause when over']];

function when(ms, none) {
  return ms ? timeEl(ms) : h('span', { class: 'muted' }, none);
}

/** Jobs the mirror holds for the guild (per target in the tooltip), expired and would-hold. */
function heldCell(s) {
  const m = s.mirror;
  if (!m || m.available === false) return h('span', { class: 'muted' }, 'mirror did not answer');
  const per = (m.targets ?? []).filter((t) => t.held > 0).map((t) => `#${t.target_channel_id}: ${t.held}`).join(', ');
  return [
    h('span', { attrs: per ? { title: per } : {} }, String(m.held)),
    m.expired_while_paused_total ? h('span', { class: 'sub seat-expired' }, `${m.expired_while_paused_total} expired while paused`) : null,
    m.would_hold_total ? h('span', { class: 'sub seat-would-hold' }, `${m.would_hold_total} would hold (shadow)`) : null,
  ];
}

export async function renderSeats(root, { api, setCrumbs }, tenantKey) {
  const base = `/v1/admin/tenants/${seg(tenantKey)}/seats`;
  setCrumbs([['Tenants', '#/'], [tenantKey, hashFor('t/:tenant', { tenant: tenantKey })], ['Seats', hashFor('t/:tenant/seats', { tenant: tenantKey })]]);
  document.title = `Seats · ${tenantKey} · Signal Relay`;

  const errors = errorSlot();
  const killErrors = errorSlot();
  const tbody = h('tbody');
  const killState = h('strong', { id: 'kill-switch-state' });
  const killBtn = h('button', { type: 'button', class: 'btn', id: 'kill-switch-toggle' });
  let kill = false;
  let seats = [];
  let guilds = [];

  const guildSelect = h('select', { name: 'guild_id', id: 'seat-guild', required: true });
  const limitInput = h('input', { type: 'number', name: 'limit', id: 'seat-limit', min: 0, step: 1, required: true, value: '100' });
  const modeSelect = h('select', { name: 'mode', id: 'seat-mode' }, MODES.map(([v, t]) => option(v, t, v === 'shadow')));
  const addBtn = h('button', { type: 'submit', class: 'btn primary', id: 'seat-add' }, 'Save seat limit');
  const addErrors = errorSlot();

  function row(s) {
    const name = s.guild_name || s.guild_id;
    const limit = h('input', { type: 'number', min: 0, step: 1, value: String(s.limit), class: 'narrow-input', attrs: { 'aria-label': `Seat limit of ${name}` } });
    const mode = h('select', { attrs: { 'aria-label': `Mode of ${name}` } }, MODES.map(([v, t]) => option(v, t.split(' — ')[0], v === s.mode)));
    const save = h('button', { type: 'button', class: 'btn small' }, 'Save');
    const refresh = h('button', { type: 'button', class: 'btn small', disabled: s.mode === 'off', dataset: { action: 'refresh' } }, 'Refresh now');
    const remove = h('button', { type: 'button', class: 'btn small danger' }, 'Remove');
    save.addEventListener('click', async () => {
      showError(errors, null);
      try {
        await busy(save, () => api.put(`${base}/${seg(s.guild_id)}`, { limit: Number(limit.value), mode: mode.value }));
        await load();
      } catch (err) {
        showError(errors, err, { title: `Could not save ${name}` });
      }
    });
    refresh.addEventListener('click', async () => {
      showError(errors, null);
      try {
        await busy(refresh, () => api.post(`${base}/${seg(s.guild_id)}/refresh`, {}));
        await load();
      } catch (err) {
        showError(errors, err, { title: `Could not refresh ${name}` });
      }
    });
    remove.addEventListener('click', async () => {
      if (!window.confirm(`Remove the seat limit of ${name}? It goes back to off.`)) return;
      showError(errors, null);
      try {
        await busy(remove, () => api.del(`${base}/${seg(s.guild_id)}`));
        await load();
      } catch (err) {
        showError(errors, err, { title: `Could not remove ${name}` });
      }
    });
    const snap = s.snapshot;
    const used = snap.seats_used === null ? '—' : `${snap.seats_exact === false ? '≤ ' : ''}${snap.seats_used}`;
    return h('tr', { dataset: { guild: s.guild_id } },
      h('td', {}, h('span', { class: 'channel-name' }, name), h('span', { class: 'sub' }, s.guild_id)),
      h('td', {}, limit),
      h('td', {}, mode, s.effective_mode !== s.mode ? h('span', { class: 'sub' }, `effective: ${s.effective_mode} (kill switch)`) : null),
      h('td', { class: 'seat-used', dataset: { used: String(snap.seats_used ?? '') } }, `${used} / ${s.limit}`),
      h('td', {}, seatBadge(s), snap.status ? h('span', { class: 'sub seat-status', dataset: { status: snap.status } }, snap.status) : h('span', { class: 'sub seat-status' }, 'no count yet')),
      h('td', { class: 'seat-held', dataset: { held: String(s.mirror?.held ?? '') } }, heldCell(s)),
      h('td', {}, when(snap.checked_at, 'never')),
      h('td', { class: 'seat-next' }, when(snap.next_check_at, 'none planned')),
      h('td', { class: 'seat-error' }, snap.last_error
        ? [h('code', {}, snap.last_error.code), h('span', { class: 'sub' }, snap.last_error.message ?? '')]
        : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'actions' }, save, ' ', refresh, ' ', remove));
  }

  let loads = 0;
  async function load() {
    const [r, g] = await Promise.all([api.get(base), api.get(`/v1/admin/tenants/${seg(tenantKey)}/catalog/guilds`)]);
    seats = r.seats ?? [];
    guilds = g.guilds ?? [];
    kill = r.kill_switch?.engaged === true;
    killState.textContent = kill ? 'engaged: every enforcing guild runs in shadow' : 'off';
    killState.dataset.engaged = String(kill);
    killBtn.textContent = kill ? 'Release kill switch' : 'Engage kill switch';
    killBtn.className = kill ? 'btn' : 'btn danger';
    tbody.replaceChildren(...(seats.length ? seats.map(row)
      : [emptyRow(10, 'No seat limits yet: every guild is off. Add one below.')]));
    const keep = guildSelect.value;
    guildSelect.replaceChildren(option('', guilds.length ? 'Select a guild…' : 'No guilds assigned to this tenant (see Catalog)'),
      ...guilds.map((x) => option(x.guild_id, `${x.name} (${x.guild_id})${seats.some((s) => s.guild_id === x.guild_id) ? ' — configured' : ''}`)));
    if (guilds.some((x) => x.guild_id === keep)) guildSelect.value = keep;
    loads += 1;
    root.dataset.loads = String(loads);
  }

  killBtn.addEventListener('click', async () => {
    showError(killErrors, null);
    const next = !kill;
    if (next && !window.confirm('Engage the kill switch? Every enforcing guild of every tenant runs in shadow until it is released.')) return;
    try {
      await busy(killBtn, () => api.put('/v1/admin/seats/kill-switch', { engaged: next }));
      await load();
    } catch (err) {
      showError(killErrors, err, { title: 'Could not change the kill switch' });
    }
  });

  const form = h('form', {
    attrs: { 'aria-labelledby': 'seat-new-title' },
    onsubmit: async (e) => {
      e.preventDefault();
      showError(addErrors, null);
      try {
        await busy(addBtn, () => api.put(`${base}/${seg(guildSelect.value)}`, { limit: Number(limitInput.value), mode: modeSelect.value }));
        await load();
      } catch (err) {
        showError(addErrors, err, { title: 'Could not save the seat limit' });
      }
    },
  },
  h('div', { class: 'form-row' },
    field('Guild', guildSelect).wrap,
    field('Seat limit', limitInput, 'Members (not bots) who can view a mapped channel.').wrap,
    field('Mode', modeSelect).wrap,
    addBtn),
  addErrors);

  root.append(
    h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Seats'), h('p', { class: 'muted' }, 'Tenant ', h('code', {}, tenantKey)))),
    panel({ titleId: 'kill-title', title: 'Kill switch (every tenant)' },
      killErrors,
      h('p', {}, 'State: ', killState),
      h('p', { class: 'hint' }, 'Turns every enforcing guild to shadow at once: audits and notices go on being reported, nothing is paused.'),
      killBtn),
    panel({ titleId: 'seats-title', title: 'Customer guilds' },
      errors,
      dataTable('seats-title', ['Guild', 'Limit', 'Mode', 'Seats used', 'Status', 'Held', 'Checked', 'Next check', 'Last error', ''], tbody)),
    panel({ titleId: 'seat-new-title', title: 'Set a seat limit', bare: true }, form));

  try {
    await load();
  } catch (err) {
    showError(errors, err, { title: 'Could not load the seats' });
  }
  // The snapshot changes with every audit: reload while the page is open.
  const timer = setInterval(() => { load().catch(() => {}); }, 5_000);
  return () => clearInterval(timer);
}
