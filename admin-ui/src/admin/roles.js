// A tenant's role sync: lapse settings, the tier → role pickers per guild (the bot's catalog,
// with a warning beside every role the bot cannot manage), linked accounts with their role
// state per guild (desired vs actual, last sync, errors) and "resync now", and the history of
// role changes.
import { seg, showError } from '../shared/api.js';
import { busy, checkbox, field, h, option } from '../shared/dom.js';
import { absoluteTime } from '../shared/format.js';
import { hashFor } from '../shared/router.js';
import { dataTable, emptyRow, errorSlot, panel } from '../shared/widgets/index.js';

const ACTIONS = [['remove_roles', 'Remove the tier\'s roles'], ['kick', 'Kick from the server'], ['nothing', 'Do nothing']];

export async function renderRoles(root, { api, setCrumbs }, tenantKey) {
  const base = `/v1/admin/tenants/${seg(tenantKey)}`;
  setCrumbs([['Tenants', '#/'], [tenantKey, hashFor('t/:tenant', { tenant: tenantKey })], ['Discord roles', null]]);
  document.title = `Discord roles · ${tenantKey} · Signal Relay`;

  const errors = errorSlot();
  const settingsErrors = errorSlot();
  const action = h('select', { name: 'lapse_action' }, ACTIONS.map(([v, t]) => option(v, t)));
  const grace = h('input', { type: 'number', name: 'grace_days', min: 0, max: 365, step: 1, value: 0 });
  const autoJoin = checkbox('Add the customer to the server when they link (guilds.join)', false);
  const drift = h('input', { type: 'number', name: 'drift_interval_seconds', min: 10, max: 86400, step: 1, value: 600 });
  const saveSettings = h('button', { type: 'submit', class: 'btn primary' }, 'Save settings');
  const settingsForm = h('form', {
    id: 'lapse-settings',
    onsubmit: async (e) => {
      e.preventDefault();
      showError(settingsErrors, null);
      try {
        await busy(saveSettings, () => api.put(`${base}/role-sync/settings`, {
          lapse_action: action.value, grace_days: Number(grace.value), auto_join: autoJoin.input.checked,
          drift_interval_seconds: Number(drift.value),
        }));
      } catch (err) {
        showError(settingsErrors, err, { title: 'Could not save the settings' });
      }
    },
  },
  h('div', { class: 'form-row' },
    field('When access ends', action).wrap,
    field('Grace period (days)', grace, 'Before acting on an entitlement that ended by non-payment. Disputes and revocations act at once.').wrap,
    field('Drift check every (seconds)', drift, 'How often the member list is compared; drift lasts at most about this long.').wrap),
  autoJoin.wrap,
  saveSettings,
  settingsErrors);

  const pickers = h('div', { id: 'tier-role-pickers' });
  const membersBody = h('tbody');
  const changesBody = h('tbody');

  function picker(guild, roles, tier, mapped) {
    const saveErr = errorSlot();
    const boxes = roles.map((r) => {
      const cb = checkbox(r.name, mapped.has(r.role_id), { value: r.role_id });
      const warn = (r.warnings ?? []).map((w) => h('span', {
        class: 'warning role-warning', dataset: { code: w.code }, attrs: { role: 'note' },
      }, `⚠ ${w.message}`));
      return { cb, el: h('li', { dataset: { role: r.role_id, assignable: String(r.assignable) } }, cb.wrap, ...warn) };
    });
    const save = h('button', { type: 'button', class: 'btn small' }, 'Save');
    save.addEventListener('click', async () => {
      showError(saveErr, null);
      const role_ids = boxes.filter((b) => b.cb.input.checked).map((b) => b.cb.input.value);
      try {
        await busy(save, () => api.put(`${base}/role-sync/mappings/${seg(guild.guild_id)}/${seg(tier.key)}`, { role_ids }));
      } catch (err) {
        showError(saveErr, err, { title: 'Could not save the tier roles' });
      }
    });
    return h('fieldset', { class: 'tier-roles', dataset: { guild: guild.guild_id, tier: tier.key } },
      h('legend', {}, `${tier.name} (${tier.key})`),
      h('ul', { class: 'role-options' }, boxes.map((b) => b.el)),
      save, saveErr);
  }

  function stateCell(s, names) {
    const n = (ids) => (ids ?? []).map((id) => names?.[id] ?? id).join(', ') || '—';
    return h('div', { class: 'role-state', dataset: { status: s.status } },
      h('strong', {}, s.guild_name ?? s.guild_id), ` · ${s.status}`,
      h('div', {}, `desired: ${n(s.desired?.roles)}`),
      h('div', {}, `actual: ${s.actual === null ? 'not a member' : n(s.actual)}`),
      h('div', { class: 'muted' }, `last sync ${absoluteTime(s.last_sync_at_ms)}`),
      ...(s.errors ?? []).map((e) => h('div', { class: 'error-text' }, `${e.error_code}: ${e.message}`)));
  }

  async function load() {
    showError(errors, null);
    const [st, tiers, catalog, guilds, mappings, members, changes] = await Promise.all([
      api.get(`${base}/role-sync/settings`),
      api.get(`${base}/tiers`),
      api.get(`${base}/catalog/roles`),
      api.get(`${base}/catalog/guilds`),
      api.get(`${base}/role-sync/mappings`),
      api.get(`${base}/role-sync/members`),
      api.get(`${base}/role-sync/changes?limit=50`),
    ]);
    action.value = st.settings.lapse_action;
    grace.value = String(Math.round(st.settings.grace_days));
    autoJoin.input.checked = st.settings.auto_join;
    drift.value = String(st.settings.drift_interval_seconds);
    const byGuild = new Map();
    for (const r of catalog.roles ?? []) {
      if (r.role_id === r.guild_id) continue;
      if (!byGuild.has(r.guild_id)) byGuild.set(r.guild_id, []);
      byGuild.get(r.guild_id).push(r);
    }
    const guildList = guilds.guilds ?? [];
    if (guildList.length === 0) {
      pickers.replaceChildren(h('p', { class: 'muted' }, 'No guild of the bot\'s catalog is assigned to this tenant yet (Catalog page).'));
    } else {
      pickers.replaceChildren(...guildList.map((g) => {
        const roles = (byGuild.get(g.guild_id) ?? []).sort((a, b) => b.position - a.position);
        const resync = h('button', { type: 'button', class: 'btn small', dataset: { resyncGuild: g.guild_id } }, 'Resync guild now');
        resync.addEventListener('click', () => busy(resync, () => api.post(`${base}/role-sync/resync`, { guild_id: g.guild_id })).catch((err) => showError(errors, err)));
        return h('section', { class: 'guild-roles', dataset: { guild: g.guild_id } },
          h('h3', {}, g.name ?? g.guild_id, ' ', resync),
          ...(g.warnings ?? []).map((w) => h('p', { class: 'warning', dataset: { code: w.code } }, `⚠ ${w.message}`)),
          ...(tiers.tiers ?? []).map((t) => picker(g, roles, t,
            new Set((mappings.mappings ?? []).filter((m) => m.guild_id === g.guild_id && m.tier === t.key).map((m) => m.role_id)))));
      }));
    }
    membersBody.replaceChildren(...((members.members ?? []).length ? members.members.map((m) => {
      const resync = h('button', { type: 'button', class: 'btn small' }, 'Resync now');
      resync.addEventListener('click', () => busy(resync, () => api.post(`${base}/role-sync/resync`, { customer_id: m.customer_id })).then(load).catch((err) => showError(errors, err)));
      return h('tr', { dataset: { customer: m.customer_id } },
        h('td', {}, m.email ?? m.customer_id),
        h('td', {}, m.link.username, h('span', { class: 'sub' }, m.link.discord_user_id)),
        h('td', {}, absoluteTime(m.link.linked_at_ms)),
        h('td', {}, m.roles.map((s) => stateCell(s, s.role_names))),
        h('td', {}, resync));
    }) : [emptyRow(5, 'No customer has linked Discord yet.')]));
    changesBody.replaceChildren(...((changes.changes ?? []).length ? changes.changes.map((c) => h('tr', {},
      h('td', {}, absoluteTime(c.at_ms)),
      h('td', {}, c.discord_user_id),
      h('td', {}, c.action),
      h('td', {}, c.role_id ?? '—'),
      h('td', {}, c.outcome, c.error_code ? ` (${c.error_code})` : ''),
      h('td', { class: 'sub' }, c.reason))) : [emptyRow(6, 'No role changes yet.')]));
  }

  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Discord roles'), h('p', { class: 'muted' }, 'Tenant ', h('code', {}, tenantKey))),
    errors,
    panel({ titleId: 'lapse-title', title: 'When access ends' }, settingsForm),
    panel({ titleId: 'pickers-title', title: 'Tier roles' },
      h('p', { class: 'muted' }, 'Pick each tier\'s roles in each server. A role the bot cannot manage is marked; fix it in Discord (move the bot\'s role above it, or grant Manage Roles).'),
      pickers),
    panel({ titleId: 'linked-title', title: 'Linked accounts' },
      dataTable('linked-title', ['Customer', 'Discord', 'Linked', 'Role state per server', ''], membersBody)),
    panel({ titleId: 'changes-title', title: 'Role changes' },
      dataTable('changes-title', ['When', 'Discord user', 'Change', 'Role', 'Outcome', 'Reason'], changesBody)));
  try {
    await load();
  } catch (err) {
    showError(errors, err, { title: 'Could not load role sync' });
  }
  root.dataset.loaded = 'true';
  return () => {};
}
