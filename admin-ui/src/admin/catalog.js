// The bot's catalog: the guilds our bot is in, which tenant each serves, their channels and
// roles with what the bot may do there (warnings say what to fix in Discord), and the refresh
// that reads them. The gate's own page (#/discord) has the rate-limit details; a summary of it
// sits here because a paused gate is why a refresh waits.
import { seg, showError } from '../shared/api.js';
import { busy, h, link, option, replace } from '../shared/dom.js';
import { hashFor } from '../shared/router.js';
import { timeEl } from '../shared/signal-card.js';
import { dataTable, emptyRow, errorSlot, inlineError, panel } from '../shared/widgets/index.js';

const TYPE_NAMES = { 0: 'text', 4: 'category', 5: 'announcement', 15: 'forum', 16: 'media' };
const STATE_CLASS = { idle: 'ok', running: 'ok', waiting: 'warn', paused: 'danger' };
const POLL_MS = 1500;

function warningList(warnings, id) {
  if (!warnings?.length) return h('span', { class: 'badge ok' }, 'ok');
  return h('ul', { class: 'warnings', id },
    warnings.map((w) => h('li', { class: 'warning', dataset: { code: w.code } },
      h('span', { class: 'badge warn' }, w.code.replaceAll('_', ' ')), ' ', h('span', { class: 'sub' }, w.message))));
}

function when(ms, fallback = '—') {
  return typeof ms === 'number' ? timeEl(ms) : h('span', { class: 'muted' }, fallback);
}

/** The refresh's state in words, for the status line. */
function describeRefresh(r) {
  if (!r) return 'unknown';
  if (r.state === 'idle') return r.last_run ? `last run ${r.last_run.outcome}` : 'never run';
  const p = r.progress;
  const done = p ? ` (${p.guilds_done}/${p.guilds_listed} guilds, ${p.calls} calls)` : '';
  if (r.state === 'waiting') return `waiting (${(r.wait_reason ?? '').replaceAll('_', ' ')})${done}`;
  if (r.state === 'paused') return `paused: ${r.wait_reason?.replaceAll('_', ' ') ?? 'stopped'}${done}`;
  return `running${done}`;
}

export async function renderCatalog(root, { api, setCrumbs }, guildId = null) {
  setCrumbs([['Tenants', '#/'], ['Catalog', '#/catalog'], ...(guildId ? [[guildId, hashFor('catalog/:guild', { guild: guildId })]] : [])]);
  document.title = 'Catalog · Signal Relay';

  const gateLine = h('p', { id: 'catalog-gate' });
  const refreshLine = h('p', { id: 'catalog-refresh-state' });
  const refreshDetail = h('div', { id: 'catalog-refresh-detail' });
  const refreshErrors = errorSlot();
  const refreshBtn = h('button', { type: 'button', class: 'btn primary', id: 'catalog-refresh' }, 'Refresh now');
  const guildsBody = h('tbody');
  const guildErrors = errorSlot();
  const detail = h('div', { id: 'catalog-guild' });
  let tenants = [];
  let timer = null;
  let disposed = false;

  function showGate(d) {
    if (!d.configured) {
      refreshBtn.disabled = true;
      replace(gateLine, h('span', { class: 'badge' }, 'not configured'), ' ',
        `Discord is not configured: set ${(d.missing ?? ['DISCORD_BOT_TOKEN']).join(', ')} with wrangler secret put.`);
      return;
    }
    const g = d.gate ?? {};
    const cls = { sending: 'ok', paused: 'warn', stopped: 'danger' }[g.state] ?? '';
    replace(gateLine, 'Bot: ', h('span', { class: `badge ${cls}`, id: 'catalog-gate-state' }, g.state ?? 'unknown'),
      g.pause_reason ? [' ', h('span', { class: 'sub' }, `${g.pause_reason.replaceAll('_', ' ')} until `), when(g.paused_until_ms)] : null,
      g.alert ? [' ', h('span', { class: 'badge danger', id: 'catalog-gate-alert' }, `alert: ${g.alert.kind}`)] : null,
      ' ', link('#/discord', 'Gate details'));
  }

  function showRefresh(r) {
    const s = r.refresh;
    replace(refreshLine, 'Refresh: ', h('span', { class: `badge ${STATE_CLASS[s.state] ?? ''}`, id: 'catalog-refresh-badge' }, s.state),
      ' ', describeRefresh(s),
      s.next_at_ms ? [' — next step ', when(s.next_at_ms)] : null,
      s.again ? ' — another run queued' : null);
    const last = s.last_run;
    replace(refreshDetail,
      last ? h('p', { class: 'sub' }, `Last run (${last.reason}): ${last.outcome}, ${last.guilds} guild(s), ${last.calls} calls, `,
        `${last.written.channels_written} channel and ${last.written.roles_written} role rows written, `,
        `${last.written.channels_deactivated + last.written.roles_deactivated} made inactive; finished `, when(last.finished_at_ms),
        last.guilds_failed.length ? ` — skipped: ${last.guilds_failed.map((f) => `${f.guild_id} (${f.error_code})`).join(', ')}` : '') : null,
      s.last_error ? h('p', { class: 'notice warn', id: 'catalog-last-error' },
        `Last error: ${s.last_error.error_code} on ${s.last_error.call}: ${s.last_error.message}`) : null);
    refreshBtn.disabled = !r.configured;
    return s.state;
  }

  async function loadStatus() {
    const [d, r] = await Promise.all([api.get('/v1/admin/discord'), api.get('/v1/admin/catalog/refresh')]);
    showGate(d);
    return showRefresh(r);
  }

  /** Polls while a run is going; reloads the lists when it ends. */
  function poll() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (disposed) return;
      try {
        const state = await loadStatus();
        if (state === 'idle') await loadGuilds();
        else poll();
      } catch (err) {
        showError(refreshErrors, err, { title: 'Could not read the refresh state' });
        poll();
      }
    }, POLL_MS);
  }

  function tenantCell(g) {
    const errors = errorSlot();
    if (g.tenant_key) {
      const btn = h('button', { type: 'button', class: 'btn small', attrs: { 'aria-label': `Unassign ${g.name} from ${g.tenant_key}` } }, 'Unassign');
      btn.addEventListener('click', async () => {
        showError(errors, null);
        if (!window.confirm(`Unassign ${g.name} from tenant ${g.tenant_key}?`)) return;
        try {
          await busy(btn, () => api.del(`/v1/admin/catalog/guilds/${seg(g.guild_id)}/tenant`));
          await loadGuilds();
        } catch (err) {
          showError(errors, err, { title: 'Could not unassign the guild' });
        }
      });
      return [link(hashFor('t/:tenant', { tenant: g.tenant_key }), g.tenant_key, { class: 'tenant-link' }), ' ', btn, errors];
    }
    const select = h('select', { attrs: { 'aria-label': `Tenant for ${g.name}` }, class: 'assign-tenant' },
      option('', tenants.length ? 'Assign to a tenant…' : 'No tenants'),
      tenants.map((t) => option(t.tenant_key, t.name && t.name !== t.tenant_key ? `${t.name} (${t.tenant_key})` : t.tenant_key)));
    const btn = h('button', { type: 'button', class: 'btn small primary', attrs: { 'aria-label': `Assign ${g.name}` } }, 'Assign');
    btn.addEventListener('click', async () => {
      showError(errors, null);
      if (!select.value) return;
      try {
        await busy(btn, () => api.put(`/v1/admin/catalog/guilds/${seg(g.guild_id)}/tenant`, { tenant_key: select.value }));
        await loadGuilds();
      } catch (err) {
        showError(errors, err, { title: 'Could not assign the guild' });
      }
    });
    return [h('span', { class: 'muted' }, 'unassigned'), h('div', { class: 'inline-form' }, select, btn), errors];
  }

  function guildRow(g) {
    return h('tr', { dataset: { guild: g.guild_id }, class: g.active ? '' : 'is-disabled' },
      h('td', {}, link(hashFor('catalog/:guild', { guild: g.guild_id }), g.name, { class: 'guild-link' }), h('span', { class: 'sub' }, g.guild_id)),
      h('td', {}, g.active ? h('span', { class: 'badge ok' }, 'active') : [h('span', { class: 'badge' }, 'inactive'), h('span', { class: 'sub' }, 'the bot left; since '), when(g.inactive_since)]),
      h('td', {}, tenantCell(g)),
      h('td', {}, `${g.active_channels ?? 0} channels, ${g.active_roles ?? 0} roles`),
      h('td', {}, when(g.synced_at, 'never read'), g.sync_error ? h('span', { class: 'badge warn' }, g.sync_error) : null),
      h('td', {}, warningList(g.warnings)));
  }

  async function loadGuilds() {
    const [gs, ts] = await Promise.all([api.get('/v1/admin/catalog/guilds'), api.get('/v1/admin/tenants')]);
    tenants = ts.tenants ?? [];
    replace(guildsBody, gs.guilds.length ? gs.guilds.map(guildRow) : emptyRow(6, 'No guilds yet: invite the bot to a server, then refresh.'));
    if (guildId) await loadGuild(guildId);
  }

  function channelRows(channels) {
    const byId = new Map(channels.map((c) => [c.channel_id, c]));
    const order = (c) => {
      const parent = c.parent_id ? byId.get(c.parent_id) : null;
      return [c.active ? 0 : 1, parent ? parent.position : (c.type === 4 ? c.position : -1), c.type === 4 ? -1 : c.position];
    };
    const sorted = [...channels].sort((a, b) => {
      const x = order(a); const y = order(b);
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    });
    return sorted.map((c) => h('tr', { dataset: { channel: c.channel_id }, class: c.active ? '' : 'is-disabled' },
      h('td', {}, c.type === 4 ? h('strong', {}, c.name) : [c.parent_name ? h('span', { class: 'muted' }, `${c.parent_name} › `) : null, `#${c.name}`],
        h('span', { class: 'sub' }, c.channel_id)),
      h('td', {}, TYPE_NAMES[c.type] ?? String(c.type)),
      h('td', {}, c.active ? h('span', { class: 'badge ok' }, 'active') : [h('span', { class: 'badge' }, 'gone'), ' ', when(c.inactive_since)]),
      h('td', {}, c.webhook_count === null ? h('span', { class: 'muted' }, '—') : `${c.webhook_count}/15`),
      h('td', {}, c.targetable ? warningList(c.warnings) : h('span', { class: 'muted' }, 'not a target'))));
  }

  function roleRows(roles) {
    return roles.map((r) => h('tr', { dataset: { role: r.role_id }, class: r.active ? '' : 'is-disabled' },
      h('td', {}, r.name, h('span', { class: 'sub' }, r.role_id)),
      h('td', {}, String(r.position)),
      h('td', {}, r.managed ? 'managed' : ''),
      h('td', {}, r.active ? h('span', { class: 'badge ok' }, 'active') : [h('span', { class: 'badge' }, 'gone'), ' ', when(r.inactive_since)]),
      h('td', {}, warningList(r.warnings))));
  }

  async function loadGuild(id) {
    try {
      const r = await api.get(`/v1/admin/catalog/guilds/${seg(id)}`);
      const g = r.guild;
      const chBody = h('tbody', {}, r.channels.length ? channelRows(r.channels) : emptyRow(5, 'No channels read yet.'));
      const roleBody = h('tbody', {}, r.roles.length ? roleRows(r.roles) : emptyRow(5, 'No roles read yet.'));
      replace(detail,
        panel({ id: 'catalog-channels', titleId: 'catalog-channels-title', title: `Channels of ${g.name}`, head: [h('span', { class: 'badge' }, String(r.channels.filter((c) => c.active).length))] },
          h('p', { class: 'hint' }, 'Targets are posted through a webhook the bot creates: it needs View Channel and Manage Webhooks there. Gone channels stay listed, marked inactive.'),
          dataTable('catalog-channels-title', ['Channel', 'Type', 'State', 'Webhooks', 'Warnings'], chBody)),
        panel({ id: 'catalog-roles', titleId: 'catalog-roles-title', title: `Roles of ${g.name}`, head: [h('span', { class: 'badge' }, String(r.roles.filter((x) => x.active).length))] },
          h('p', { class: 'hint' }, 'A tier role must sit below the bot\'s highest role, not be managed, and the bot needs Manage Roles.'),
          dataTable('catalog-roles-title', ['Role', 'Position', '', 'State', 'Warnings'], roleBody)));
    } catch (err) {
      replace(detail, inlineError(err, { title: 'Could not load the guild' }));
    }
  }

  refreshBtn.addEventListener('click', () => busy(refreshBtn, async () => {
    showError(refreshErrors, null);
    try {
      const r = await api.post('/v1/admin/catalog/refresh', {});
      showRefresh(r);
      poll();
    } catch (err) {
      showError(refreshErrors, err, { title: 'Could not start a refresh' });
    }
  }));

  root.append(
    panel({ id: 'catalog-status', titleId: 'catalog-title', title: 'Bot catalog', heading: 'h1', head: [refreshBtn] },
      h('p', { class: 'hint' }, 'The guilds the bot is in, read from Discord every hour and on demand. A guild serves one tenant: assign it, and that tenant\'s mappings can target its channels.'),
      gateLine, refreshLine, refreshDetail, refreshErrors),
    panel({ id: 'catalog-guilds', titleId: 'catalog-guilds-title', title: 'Guilds' },
      guildErrors,
      dataTable('catalog-guilds-title', ['Guild', 'State', 'Tenant', 'Catalog', 'Read', 'Warnings'], guildsBody)),
    detail);

  try {
    const state = await loadStatus();
    await loadGuilds();
    if (state !== 'idle') poll();
  } catch (err) {
    showError(guildErrors, err, { title: 'Could not load the catalog' });
  }
  root.dataset.loaded = 'true';
  return () => {
    disposed = true;
    clearTimeout(timer);
  };
}
