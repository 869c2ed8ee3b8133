// Live dashboard: a tenant's signals as they happen.
//
// Authorisation, for now: `?ticket=<feed ticket>` in the URL (a one-off link; the ticket is
// removed from the address bar once read), or an admin token + tenant key entered in the form,
// which mints fresh tickets for every (re)connection. This is the operators' view of a whole
// tenant; customers follow their tier's channels on the tenant's own pages (/t/{tenant}/).
//
// The list is driven only by feed frames: a snapshot, then signal.created/updated/deleted
// applied idempotently by discord_message_id. After a drop the feed resumes with `since`.
import { createApi, seg, showError } from '../shared/api.js';
import { busy, field, h, option } from '../shared/dom.js';
import { feedUrlForTicket, LiveFeed, SignalStore } from '../shared/feed.js';
import { compareSignalsDesc, renderSignal, startClock } from '../shared/signal-card.js';
import { adminToken, dashboardTenant } from '../shared/session.js';
import { statusIndicator } from '../shared/status.js';
import { inlineError } from '../shared/widgets/index.js';

const MAX_SIGNALS = 300;

const main = document.getElementById('main');
const toolbar = document.getElementById('toolbar');
const tenantNameEl = document.getElementById('tenant-name');
const filterSelect = document.getElementById('channel-filter');
const leaveBtn = document.getElementById('leave');
const status = statusIndicator('idle');
document.getElementById('connection').append(status.el);

/** Reads a ticket's claims for display only (the server verifies them). */
function ticketClaims(ticket) {
  try {
    const payload = ticket.split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    const json = atob(payload + '='.repeat((4 - (payload.length % 4)) % 4));
    const claims = JSON.parse(json);
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Session

const params = new URLSearchParams(window.location.search);
const urlTicket = params.get('ticket');
if (urlTicket) {
  // Keep the credential out of history, bookmarks and referrers.
  params.delete('ticket');
  const rest = params.toString();
  window.history.replaceState(null, '', `${window.location.pathname}${rest ? `?${rest}` : ''}${window.location.hash}`);
}

let session = null; // { mode: 'ticket' | 'token', tenant, token?, ticket? }
let feed = null;
let store = null;
let channelFilter = '';
const channelNames = new Map();
const knownChannels = new Set();

// ---------------------------------------------------------------------------------------------
// Sign-in form

function renderForm(notice, error) {
  toolbar.hidden = true;
  tenantNameEl.hidden = true;
  const tenantInput = h('input', {
    type: 'text', name: 'tenant_key', required: true, autocomplete: 'off', spellcheck: false,
    value: params.get('tenant') ?? dashboardTenant.get() ?? '',
  });
  const tokenInput = h('input', {
    type: 'password', name: 'admin_token', required: true, autocomplete: 'current-password',
    value: adminToken.get() ?? '',
  });
  const errors = h('div', { attrs: { 'aria-live': 'assertive' } });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Open live signals');
  const form = h('form', {
    class: 'panel connect-form',
    attrs: { 'aria-labelledby': 'connect-title' },
    onsubmit: async (e) => {
      e.preventDefault();
      showError(errors, null);
      const tenant = tenantInput.value.trim();
      const token = tokenInput.value.trim();
      try {
        // Validate both before switching views: a ticket for the tenant proves them.
        await busy(submit, () => createApi({ token }).post('/v1/feed-tickets', { tenant_key: tenant, ttl_seconds: 30 }));
      } catch (err) {
        showError(errors, err, { title: 'Could not open the feed' });
        return;
      }
      adminToken.set(token);
      dashboardTenant.set(tenant);
      const q = new URLSearchParams(window.location.search);
      q.set('tenant', tenant);
      window.history.replaceState(null, '', `${window.location.pathname}?${q}`);
      begin({ mode: 'token', tenant, token });
    },
  },
  h('h1', { id: 'connect-title' }, 'Live signals'),
  h('p', { class: 'muted' }, 'Signals appear here the moment they are posted, with edits and deletions applied live.'),
  notice ? h('p', { class: 'notice', attrs: { role: 'status' } }, notice) : null,
  error ? inlineError(error) : null,
  field('Tenant key', tenantInput).wrap,
  field('Access token', tokenInput, 'The operator (admin) token. Kept in this tab only. Customers sign in on their tenant’s page, /t/<tenant>/.').wrap,
  errors,
  h('div', { class: 'form-actions' }, submit));
  main.replaceChildren(form);
  (tenantInput.value ? tokenInput : tenantInput).focus();
}

// ---------------------------------------------------------------------------------------------
// Signals view

const list = h('ol', { class: 'signal-list', id: 'signals', attrs: { 'aria-label': 'Signals', 'aria-live': 'off' } });
const emptyState = h('div', { class: 'empty-state', id: 'empty-state' },
  h('p', { class: 'empty-title' }, 'No signals yet'),
  h('p', { class: 'muted' }, 'New signals appear here as soon as they are posted.'));
const countEl = h('span', { class: 'muted', id: 'signal-count', attrs: { 'aria-live': 'polite' } });
const bannerSlot = h('div');
const newPill = h('button', { type: 'button', class: 'new-pill', hidden: true }, '↑ New signals');
const cards = new Map(); // discord_message_id -> <li>

newPill.addEventListener('click', () => {
  window.scrollTo({ top: 0, behavior: 'smooth' });
  newPill.hidden = true;
});
window.addEventListener('scroll', () => {
  if (window.scrollY < 80) newPill.hidden = true;
}, { passive: true });

const channelLabel = (id) => channelNames.get(id) ?? null;
const threadLabel = (id) => store?.threads.get(id)?.name ?? null;

function cardFor(signal, { fresh = false } = {}) {
  const article = renderSignal(signal, { channelName: channelLabel, threadName: threadLabel });
  if (fresh) article.classList.add('arrived');
  let li = cards.get(signal.discord_message_id);
  if (li) {
    li.replaceChildren(article);
  } else {
    li = h('li', { dataset: { messageId: signal.discord_message_id } }, article);
    cards.set(signal.discord_message_id, li);
  }
  li.dataset.channelId = signal.channel_id;
  return li;
}

/** Puts the cards in newest-first order, reusing elements; hides filtered-out ones. */
function layout() {
  if (!store) return;
  const ordered = [...store.signals.values()].sort(compareSignalsDesc);
  for (const s of ordered.slice(MAX_SIGNALS)) {
    store.signals.delete(s.discord_message_id);
    cards.get(s.discord_message_id)?.remove();
    cards.delete(s.discord_message_id);
  }
  let prev = null;
  let visible = 0;
  for (const s of ordered.slice(0, MAX_SIGNALS)) {
    const li = cards.get(s.discord_message_id);
    if (!li) continue;
    const shown = !channelFilter || session.mode === 'token' || s.channel_id === channelFilter;
    li.hidden = !shown;
    if (shown) visible += 1;
    const want = prev ? prev.nextSibling : list.firstChild;
    if (want !== li) list.insertBefore(li, want);
    prev = li;
  }
  emptyState.hidden = visible > 0;
  countEl.textContent = `${visible} signal${visible === 1 ? '' : 's'}`;
}

function noteChannel(id) {
  if (!id || knownChannels.has(id)) return;
  knownChannels.add(id);
  renderFilterOptions();
}

function renderFilterOptions() {
  const keep = channelFilter;
  const ids = [...knownChannels].sort((a, b) => (channelNames.get(a) ?? `~${a}`).localeCompare(channelNames.get(b) ?? `~${b}`));
  filterSelect.replaceChildren(option('', 'All channels'),
    ...ids.map((id) => option(id, channelNames.has(id) ? `#${channelNames.get(id)}` : `#${id}`)));
  filterSelect.value = keep;
}

function onFrame(frame) {
  const change = store.apply(frame);
  if (!change) return;
  if (change.reset) {
    const keep = new Set(store.signals.keys());
    for (const [id, li] of cards) {
      if (!keep.has(id)) { li.remove(); cards.delete(id); }
    }
    for (const s of store.signals.values()) { cardFor(s); noteChannel(s.channel_id); }
    layout();
    return;
  }
  if (change.upsert) {
    const s = change.upsert;
    noteChannel(s.channel_id);
    cardFor(s, { fresh: true });
    layout();
    if (change.created && window.scrollY > 200) newPill.hidden = false;
    return;
  }
  if (change.remove) {
    cards.get(change.remove)?.remove();
    cards.delete(change.remove);
    layout();
    return;
  }
  if (change.thread) {
    // Re-label the thread chips of the signals in this thread.
    for (const s of store.signals.values()) {
      if (s.thread_id === change.thread.discord_thread_id) cardFor(s);
    }
  }
}

/** Channel names for the filter and chips (admin API; best effort). */
async function loadChannelNames(api, tenant) {
  try {
    const { connectors } = await api.get(`/v1/admin/tenants/${seg(tenant)}`);
    await Promise.all(connectors.map(async (c) => {
      const base = `/v1/admin/tenants/${seg(tenant)}/connectors/${seg(c.connector_id)}`;
      const [{ channels }, { sources }] = await Promise.all([api.get(`${base}/channels`), api.get(`${base}/sources`)]);
      for (const ch of channels) if (ch.name) channelNames.set(ch.channel_id, ch.name);
      for (const s of sources) if (s.is_source) knownChannels.add(s.channel_id);
    }));
    renderFilterOptions();
    for (const s of store?.signals.values() ?? []) cardFor(s);
  } catch { /* names are a nicety; ids still work */ }
}

function startFeed() {
  feed?.stop();
  store = new SignalStore({ max: MAX_SIGNALS });
  const s = session;
  const connectUrl = s.mode === 'ticket'
    ? async () => feedUrlForTicket(s.ticket)
    : async () => {
      const body = { tenant_key: s.tenant };
      if (channelFilter) body.channels = [channelFilter];
      const r = await createApi({ token: s.token }).post('/v1/feed-tickets', body);
      return r.url;
    };
  feed = new LiveFeed({
    connectUrl,
    fixedUrl: s.mode === 'ticket',
    onFrame,
    onStatus: (st) => {
      status.set(st);
      if (st.state === 'offline') {
        showError(bannerSlot, st.error ?? { code: 'feed_offline', message: st.detail ?? 'the live feed stopped' }, { title: 'Live feed stopped' });
        bannerSlot.append(h('button', { type: 'button', class: 'btn small', onclick: () => { showError(bannerSlot, null); startFeed(); } }, 'Try again'));
      } else if (st.state === 'live') {
        showError(bannerSlot, null);
      }
    },
  });
  // A handle for debugging from the console (and for the browser tests).
  window.__signalRelay = { feed, store: () => store };
  feed.start();
}

function begin(s) {
  session = s;
  knownChannels.clear();
  channelFilter = '';
  cards.clear();
  list.replaceChildren();
  toolbar.hidden = false;
  tenantNameEl.hidden = false;
  tenantNameEl.textContent = s.tenant ?? 'Live feed';
  document.title = `${s.tenant ? `${s.tenant} · ` : ''}Live signals · Signal Relay`;
  leaveBtn.textContent = s.mode === 'ticket' ? 'Close' : 'Sign out';
  main.replaceChildren(
    h('div', { class: 'list-head' },
      h('h1', { class: 'sr-only' }, 'Live signals'),
      countEl),
    bannerSlot,
    emptyState,
    list,
    newPill);
  renderFilterOptions();
  startFeed();
  layout();
  if (s.mode === 'token') loadChannelNames(createApi({ token: s.token }), s.tenant);
}

filterSelect.addEventListener('change', () => {
  channelFilter = filterSelect.value;
  if (!session) return;
  if (session.mode === 'token') {
    // Narrow the subscription on the server: a fresh ticket scoped to the channel, a fresh
    // snapshot of that channel (the tenant-wide snapshot may hold few of its signals).
    for (const li of cards.values()) li.remove();
    cards.clear();
    startFeed();
    layout();
  } else {
    layout();
  }
});

leaveBtn.addEventListener('click', () => {
  feed?.stop();
  feed = null;
  const wasTicket = session?.mode === 'ticket';
  session = null;
  if (!wasTicket) adminToken.set(null);
  status.set({ state: 'idle' });
  renderForm(wasTicket ? 'The shared link was closed.' : 'Signed out.');
});

startClock();
if (urlTicket) {
  const claims = ticketClaims(urlTicket);
  if (claims?.e && claims.e <= Date.now()) {
    renderForm(null, { code: 'ticket_expired', message: 'this dashboard link has expired; ask for a new one or sign in' });
  } else {
    begin({ mode: 'ticket', ticket: urlTicket, tenant: claims?.t ?? null });
  }
} else if (adminToken.get() && (params.get('tenant') || dashboardTenant.get()) && params.get('tenant') !== '') {
  const tenant = params.get('tenant') || dashboardTenant.get();
  begin({ mode: 'token', tenant, token: adminToken.get() });
} else {
  renderForm();
}
