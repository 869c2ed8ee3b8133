// "Connect Discord" on the customer dashboard: the linked account and, per guild, the roles it
// should hold and holds, with what could not be done. Linking is the OAuth2 flow: the server
// gives the authorize URL (with a state bound to this session) and the browser goes there;
// Discord sends it back to the server, which redirects here with ?discord=… or ?discord_error=….
import { h, replace } from '../shared/dom.js';
import { absoluteTime } from '../shared/format.js';

// Polled only while something is on its way (a link just made, a change pending), then
// slowly; a customer who never linked is not polled at all.
const POLL_MS = 4_000;
const IDLE_POLL_MS = 60_000;
const ACTIVE_FOR_MS = 120_000;

const OUTCOME = {
  linked: 'Your Discord account is connected. Your roles follow in a moment.',
  relinked: 'Your new Discord account is connected; your roles move to it.',
};
const REFUSAL = {
  discord_account_taken: 'That Discord account is already connected to another account here.',
  discord_state_used: 'That link was used already. Start again.',
  discord_state_expired: 'That link expired. Start again.',
  discord_state_mismatch: 'That link was started in another session. Start again here.',
  discord_state_invalid: 'That link is unknown. Start again.',
  discord_code_invalid: 'Discord did not confirm the connection. Start again.',
  discord_authorization_denied: 'You cancelled on Discord. Nothing was connected.',
};

const STATUS = {
  in_sync: 'Up to date',
  pending: 'Updating…',
  errors: 'Some roles could not be set',
  not_member: 'Not in this server',
  kicked: 'Removed from the server',
  untouched: 'Left as it is',
};

function roleList(ids, names) {
  if (!ids || ids.length === 0) return h('span', { class: 'muted' }, 'none');
  return h('span', {}, ids.map((id) => names?.[id] ?? id).join(', '));
}

/** The panel; polls while it is on the page. Returns { el, stop }. */
export function discordPanel(ctx) {
  const { account } = ctx;
  const el = h('section', { class: 'panel discord-card', id: 'discord', hidden: true, attrs: { 'aria-labelledby': 'discord-title' } });
  const params = new URLSearchParams(window.location.search);
  let notice = null;
  if (params.get('discord')) notice = { kind: 'ok', text: OUTCOME[params.get('discord')] ?? 'Discord updated.' };
  const refusal = params.get('discord_error');
  if (refusal) notice = { kind: 'error', text: REFUSAL[refusal] ?? `Discord could not be connected (${refusal}).` };
  if (notice) {
    // The outcome is shown once; a reload does not repeat it.
    const clean = new URL(window.location.href);
    clean.searchParams.delete('discord');
    clean.searchParams.delete('discord_error');
    window.history.replaceState(null, '', clean.pathname + clean.search + clean.hash);
  }
  let busy = false;
  let timer = null;
  let stopped = false;
  // Until when to poll quickly: after an outcome was shown, or a change the dashboard saw.
  let activeUntil = notice ? Date.now() + ACTIVE_FOR_MS : 0;

  async function connect() {
    busy = true;
    try {
      const r = await account.api.post('/discord/link-requests', {});
      window.location.assign(r.authorize_url);
    } catch (err) {
      notice = { kind: 'error', text: err.message };
      busy = false;
      load();
    }
  }

  async function disconnect() {
    busy = true;
    try {
      await account.api.del('/discord');
      notice = { kind: 'ok', text: 'Discord disconnected. The roles we gave are taken back.' };
    } catch (err) {
      notice = { kind: 'error', text: err.message };
    }
    busy = false;
    load();
  }

  function render(d) {
    const head = h('div', { class: 'panel-head' }, h('h2', { id: 'discord-title' }, 'Discord'));
    const flash = notice ? h('p', { class: ['notice', notice.kind], attrs: { role: 'status' } }, notice.text) : null;
    // A deployment without Discord shows no Discord panel at all.
    el.hidden = !d.configured && !notice;
    if (!d.configured) {
      replace(el, head, flash, h('p', { class: 'muted' }, 'Discord is not set up for this service yet.'));
      return;
    }
    if (!d.link) {
      const btn = h('button', { type: 'button', class: 'btn primary', id: 'discord-connect' }, 'Connect Discord');
      btn.addEventListener('click', () => connect());
      btn.disabled = busy;
      replace(el, head, flash,
        h('p', {}, 'Connect your Discord account to get your roles in the community server.'), btn);
      return;
    }
    const l = d.link;
    const acct = h('p', { id: 'discord-account' },
      'Connected as ', h('strong', {}, l.global_name || l.username),
      h('span', { class: 'muted' }, ` (id ${l.discord_user_id}), since ${absoluteTime(l.linked_at_ms)}`));
    const rows = (d.roles ?? []).map((s) => h('li', { class: 'discord-guild', dataset: { status: s.status } },
      h('strong', {}, s.guild_name ?? s.guild_id), ' — ',
      h('span', { class: 'role-status' }, STATUS[s.status] ?? s.status),
      h('div', {}, 'Should have: ', roleList(s.desired?.roles, s.role_names)),
      h('div', {}, 'Has: ', s.actual === null ? h('span', { class: 'muted' }, 'not in the server') : roleList(s.actual, s.role_names)),
      ...(s.errors ?? []).map((e) => h('div', { class: 'error-text' }, e.message)),
      h('div', { class: 'muted' }, `Checked ${absoluteTime(s.last_sync_at_ms)}`)));
    const off = h('button', { type: 'button', class: 'btn', id: 'discord-disconnect' }, 'Disconnect');
    off.addEventListener('click', () => disconnect());
    off.disabled = busy;
    replace(el, head, flash, acct,
      rows.length ? h('ul', { class: 'discord-roles', id: 'discord-roles' }, rows) : h('p', { class: 'muted', id: 'discord-roles' }, 'Setting up your roles…'),
      off);
  }

  function schedule(d) {
    clearTimeout(timer);
    if (stopped || !d?.configured || !d.link) return;
    const pending = (d.roles ?? []).length === 0 || d.roles.some((s) => s.status === 'pending');
    const ms = pending || Date.now() < activeUntil ? POLL_MS : IDLE_POLL_MS;
    timer = setTimeout(() => { if (!busy) load(); else schedule(d); }, ms);
  }

  async function load() {
    let d = null;
    try {
      d = await account.api.get('/discord');
      render(d);
    } catch (err) {
      el.hidden = false;
      replace(el, h('div', { class: 'panel-head' }, h('h2', { id: 'discord-title' }, 'Discord')),
        h('p', { class: 'notice error' }, err.message));
    }
    schedule(d);
  }

  load();
  return {
    el,
    // The dashboard saw the customer's access change: roles follow within seconds.
    refresh: () => { activeUntil = Date.now() + ACTIVE_FOR_MS; load(); },
    stop: () => { stopped = true; clearTimeout(timer); },
  };
}
