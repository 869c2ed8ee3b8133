// The customer dashboard: what the subscription gives (subscription and visibility cards) and
// the live feed of exactly the channels the tier sees.
//
// - `GET me` drives the cards and which state the feed is in: no access, tier-locked (the tier
//   sees no channel), or live. While there is no feed it is re-read every few seconds (a grant
//   shows up without a reload); with a feed, the server closes the socket when access changes
//   (4403: gone; 4409: changed, reconnect) and `me` is re-read then, and when the entitlement's
//   end passes.
// - The feed: feed tickets from the session, one kept in hand and renewed before it expires so
//   a reconnection needs no extra round trip; reconnects resume with `since` (shared/feed.js:
//   jittered backoff, visible state). Frames are applied idempotently by message id; history is
//   paged in with the API's cursor and never overwrites what the live feed delivered.
import { pagePath } from './client.js';
import { changePasswordPanel, friendly } from './auth.js';
import { createAlerts } from './alerts.js';
import { discordPanel } from './discord.js';
import { h, icon, link, replace, safeLink, safeUrl } from '../shared/dom.js';
import { LiveFeed, SignalStore } from '../shared/feed.js';
import { absoluteTime } from '../shared/format.js';
import { parseMarkdown, plainText } from '../shared/markdown.js';
import { compareSignalsDesc, renderSignal, startClock } from '../shared/signal-card.js';
import { statusIndicator } from '../shared/status.js';

const MAX_SIGNALS = 1000;
const HISTORY_PAGE = 30;
const NO_FEED_POLL_MS = 5_000;
const TICKET_MARGIN_MS = 15_000;
const DAY_MS = 86_400_000;

const SOURCE_LABEL = { manual: 'Granted by the team', sellapp: 'Purchase', trial: 'Trial' };

/** "2 d 03 h 04 m 05 s" (or less, as it gets closer). */
export function countdown(ms) {
  if (ms <= 0) return 'ended';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const p = (n) => String(n).padStart(2, '0');
  if (d > 0) return `${d} d ${p(hh)} h ${p(mm)} m`;
  if (hh > 0) return `${hh} h ${p(mm)} m ${p(ss)} s`;
  return `${mm} m ${p(ss)} s`;
}

function channelLabel(c) {
  return `#${c.name || c.channel_id}`;
}

export async function renderDashboard(ctx) {
  const { account, tenant, main } = ctx;
  const alerts = createAlerts(document.getElementById('toasts'));
  const status = statusIndicator('idle');
  const timers = new Set();
  const every = (fn, ms) => { const t = setInterval(fn, ms); timers.add(t); return t; };

  let me = null;
  let feed = null;
  let feedKey = null; // the channel set the running feed was started for
  let ticket = null; // { url, expires_at_ms } kept for the next connection
  let renewTimer = null;
  let store = new SignalStore({ max: MAX_SIGNALS });
  const deleted = new Set();
  const cards = new Map();
  let filter = '';
  const history = new Map(); // filter ('' = all) -> { cursor, done, loading }
  let disposed = false;

  const shopHref = () => {
    const url = me?.shop_url;
    return (url && safeUrl(url)) || pagePath(tenant, 'shop');
  };
  const shopLink = (text, props = {}) => {
    const href = shopHref();
    if (href.startsWith('/')) return link(href, text, props);
    const a = safeLink(href, text, props);
    a.removeAttribute('target'); // the shop is part of this journey, not a side trip
    return a;
  };
  const names = () => new Map((me?.channels?.available ?? []).map((c) => [c.channel_id, c.name]));
  let channelNames = new Map();
  const channelName = (id) => channelNames.get(id) ?? null;
  const threadName = (id) => store.threads.get(id)?.name ?? null;

  // -- layout -------------------------------------------------------------------------------

  const flash = ctx.notice?.text ? h('p', { class: ['notice', ctx.notice.kind], attrs: { role: 'status' } }, ctx.notice.text) : null;
  const subCard = h('section', { class: 'panel sub-card', id: 'subscription', attrs: { 'aria-labelledby': 'sub-title' } });
  const visCard = h('section', { class: 'panel vis-card', id: 'visibility', attrs: { 'aria-labelledby': 'vis-title' } });
  const chips = h('div', { class: 'chips', id: 'channel-chips', attrs: { role: 'group', 'aria-label': 'Show signals from' } });
  const banner = h('div', { attrs: { 'aria-live': 'assertive' } });
  const empty = h('div', { class: 'empty-state', id: 'empty-state', hidden: true });
  const list = h('ol', { class: 'signal-list', id: 'signals', attrs: { 'aria-label': 'Signals, newest first' } });
  const olderBtn = h('button', { type: 'button', class: 'btn', id: 'load-older' }, 'Load older signals');
  const olderNote = h('p', { class: 'muted history-end', hidden: true }, 'No older signals.');
  const historyFoot = h('div', { class: 'history-foot', hidden: true }, olderBtn, olderNote);
  const newPill = h('button', { type: 'button', class: 'new-pill', hidden: true }, '↑ New signals');
  const feedPanel = h('section', { class: 'panel feed-panel', attrs: { 'aria-labelledby': 'feed-title' } },
    h('div', { class: 'panel-head' },
      h('h2', { id: 'feed-title' }, 'Signals'),
      h('span', { id: 'connection' }, status.el),
      h('span', { class: 'spacer' }),
      alerts.settings),
    chips,
    banner,
    empty,
    list,
    historyFoot);

  const discord = discordPanel(ctx);
  replace(main,
    h('h1', { class: 'sr-only' }, `Your dashboard · ${tenant}`),
    flash,
    h('div', { class: 'cards' }, subCard, visCard),
    discord.el,
    feedPanel,
    changePasswordPanel(ctx),
    newPill);

  newPill.addEventListener('click', () => {
    window.scrollTo({ top: 0, behavior: 'smooth' });
    newPill.hidden = true;
    list.querySelector('li:not([hidden]) article')?.focus({ preventScroll: true });
  });
  const onScroll = () => { if (window.scrollY < 80) newPill.hidden = true; };
  window.addEventListener('scroll', onScroll, { passive: true });
  olderBtn.addEventListener('click', () => loadOlder());

  // -- cards --------------------------------------------------------------------------------

  function renderSubscription() {
    const access = me?.access ?? null;
    const e = access?.entitlement ?? null;
    // `until`: when the tier lapses, following back-to-back windows (a renewal that has
    // already been bought counts); else the entitlement's own end.
    const endsMs = access?.until_ms ?? (access?.until ? Date.parse(access.until) : null)
      ?? e?.ends_at_ms ?? (e?.ends_at ? Date.parse(e.ends_at) : null);
    const head = h('div', { class: 'panel-head' }, h('h2', { id: 'sub-title' }, 'Subscription'));
    if (!access) {
      replace(subCard, head,
        h('p', { class: 'sub-status', dataset: { status: 'none' } }, h('span', { class: 'badge' }, 'No active subscription')),
        h('p', { class: 'muted' }, 'Subscribe to follow the signals live here.'),
        shopLink('See plans', { class: 'btn primary' }));
      return;
    }
    const cd = h('span', { class: 'countdown', id: 'countdown', dataset: { endsAt: String(endsMs ?? '') } });
    const reminder = h('p', { class: 'notice warn renew', id: 'renewal-reminder', hidden: true, attrs: { role: 'status' } },
      h('strong', {}, 'Your subscription ends within 24 hours. '),
      shopLink('Renew now', { class: 'renew-link' }),
      ' to keep your signals.');
    replace(subCard, head,
      h('p', { class: 'sub-tier' },
        h('span', { class: 'badge accent tier', dataset: { tier: access.tier.key } }, access.tier.name),
        ' ',
        h('span', { class: 'badge ok sub-status', dataset: { status: e?.status ?? 'active' } }, e?.status === 'active' || !e?.status ? 'Active' : e.status)),
      h('dl', { class: 'facts' },
        endsMs ? [h('dt', {}, 'Ends'), h('dd', {}, h('time', { dateTime: new Date(endsMs).toISOString(), id: 'ends-at' }, absoluteTime(endsMs)))] : null,
        endsMs ? [h('dt', {}, 'Time left'), h('dd', {}, cd)] : null,
        e?.source ? [h('dt', {}, 'Source'), h('dd', {}, SOURCE_LABEL[e.source] ?? e.source)] : null),
      reminder);
    tick();
  }

  function renderVisibility() {
    const available = me?.channels?.available ?? [];
    const locked = me?.channels?.locked ?? [];
    const item = (c, lockedTier) => h('li', { dataset: { channelId: c.channel_id } },
      h('span', { class: 'ch-name' }, channelLabel(c)),
      c.guild_name ? h('span', { class: 'muted ch-guild' }, c.guild_name) : null,
      lockedTier ? h('span', { class: 'badge lock', title: `Included from the ${lockedTier.name} plan` }, icon('lock', 11), `${lockedTier.name}+`) : null);
    replace(visCard,
      h('div', { class: 'panel-head' }, h('h2', { id: 'vis-title' }, 'Your channels')),
      h('h3', { class: 'vis-sub', id: 'vis-available' }, 'Included'),
      available.length
        ? h('ul', { class: 'ch-list available', attrs: { 'aria-labelledby': 'vis-available' } }, available.map((c) => item(c, null)))
        : h('p', { class: 'muted', id: 'no-available' }, me?.access ? 'Your plan does not include any channel yet.' : 'Subscribe to unlock channels.'),
      locked.length
        ? [h('h3', { class: 'vis-sub', id: 'vis-locked' }, 'Locked — upgrade to see'),
          h('ul', { class: 'ch-list locked', attrs: { 'aria-labelledby': 'vis-locked' } }, locked.map((c) => item(c, c.min_tier)))]
        : null);
  }

  function renderChips() {
    const available = me?.channels?.available ?? [];
    if (filter && !available.some((c) => c.channel_id === filter)) filter = '';
    const chip = (id, text) => h('button', {
      type: 'button',
      class: 'chip-btn',
      dataset: { channel: id },
      attrs: { 'aria-pressed': String(filter === id) },
      onclick: () => setFilter(id),
    }, text);
    chips.replaceChildren(...(available.length > 1 ? [chip('', 'All channels'), ...available.map((c) => chip(c.channel_id, channelLabel(c)))] : []));
    chips.hidden = available.length <= 1;
  }

  function setFilter(id) {
    filter = id;
    for (const b of chips.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.channel === id));
    layout();
    // The snapshot holds the newest signals of all channels; a quiet channel needs its own page.
    if (visibleCount() < 10 && !(history.get(filter)?.done)) loadOlder();
  }

  // -- feed state ---------------------------------------------------------------------------

  /** What the list shows when it is empty, by state. */
  function emptyFor(state) {
    const access = me?.access;
    const locked = me?.channels?.locked ?? [];
    switch (state) {
      case 'no-access':
        return [h('p', { class: 'empty-title' }, 'No active subscription'),
          h('p', { class: 'muted' }, 'Signals appear here live once you subscribe.'),
          shopLink('See plans', { class: 'btn primary' })];
      case 'tier-locked': {
        const next = [...locked].sort((a, b) => (a.min_tier?.rank ?? 0) - (b.min_tier?.rank ?? 0))[0];
        return [h('p', { class: 'empty-title' }, `Your ${access?.tier?.name ?? ''} plan does not include any channel yet`),
          next
            ? h('p', { class: 'muted' }, `Upgrade to ${next.min_tier?.name ?? 'a higher plan'} to see ${channelLabel(next)}.`)
            : h('p', { class: 'muted' }, 'Channels appear here as soon as they are opened to your plan.'),
          next ? shopLink('Upgrade', { class: 'btn primary' }) : null];
      }
      case 'filtered':
        return [h('p', { class: 'empty-title' }, `No signals in #${channelName(filter) ?? filter} yet`),
          h('p', { class: 'muted' }, 'They appear here the moment they are posted.')];
      default:
        return [h('p', { class: 'empty-title' }, 'No signals yet'),
          h('p', { class: 'muted' }, 'New signals appear here the moment they are posted.')];
    }
  }

  let feedState = 'loading';
  let synced = false; // the running feed has delivered its first snapshot or replay
  function setFeedState(state) {
    feedState = state;
    feedPanel.dataset.state = state;
    // No feed, no connection to report (the empty state says why).
    status.el.hidden = state === 'no-access' || state === 'tier-locked';
    layout();
  }

  function visibleCount() {
    let n = 0;
    for (const s of store.signals.values()) if (!filter || s.channel_id === filter) n += 1;
    return n;
  }

  // -- cards in the list --------------------------------------------------------------------

  function cardFor(signal, { fresh = false } = {}) {
    const article = renderSignal(signal, { rich: true, channelName, threadName });
    article.tabIndex = -1;
    if (fresh) article.classList.add('arrived');
    let li = cards.get(signal.discord_message_id);
    if (li) li.replaceChildren(article);
    else {
      li = h('li', { dataset: { messageId: signal.discord_message_id } }, article);
      cards.set(signal.discord_message_id, li);
    }
    li.dataset.channelId = signal.channel_id;
    return li;
  }

  function dropCard(id) {
    cards.get(id)?.remove();
    cards.delete(id);
  }

  function layout() {
    const live = feedState === 'live';
    const ordered = live ? [...store.signals.values()].sort(compareSignalsDesc) : [];
    for (const s of ordered.slice(MAX_SIGNALS)) {
      store.signals.delete(s.discord_message_id);
      dropCard(s.discord_message_id);
    }
    let prev = null;
    let visible = 0;
    for (const s of ordered.slice(0, MAX_SIGNALS)) {
      const li = cards.get(s.discord_message_id) ?? cardFor(s);
      const shown = !filter || s.channel_id === filter;
      li.hidden = !shown;
      if (shown) visible += 1;
      const want = prev ? prev.nextSibling : list.firstChild;
      if (want !== li) list.insertBefore(li, want);
      prev = li;
    }
    if (!live) { list.replaceChildren(); cards.clear(); }
    const state = !live ? feedState : visible === 0 ? (!synced ? 'loading' : filter ? 'filtered' : 'nothing-yet') : null;
    empty.hidden = state === null || state === 'loading';
    if (state && state !== 'loading') {
      empty.dataset.state = state;
      replace(empty, emptyFor(state));
    }
    list.hidden = !live;
    chips.hidden = !live || (me?.channels?.available?.length ?? 0) <= 1;
    const h0 = history.get(filter);
    historyFoot.hidden = !live;
    olderBtn.hidden = !!h0?.done;
    olderNote.hidden = !h0?.done || visible === 0;
  }

  // -- alerts -------------------------------------------------------------------------------

  // A background tab counts what arrived in its title: "(3) Live signals · acme".
  const baseTitle = document.title;
  let unseen = 0;
  const onTitleVisible = () => {
    if (document.visibilityState !== 'visible') return;
    unseen = 0;
    document.title = baseTitle;
  };
  document.addEventListener('visibilitychange', onTitleVisible);

  let pendingNew = [];
  function announce(signal) {
    if (document.visibilityState !== 'visible') {
      unseen += 1;
      document.title = `(${unseen}) ${baseTitle}`;
    }
    pendingNew.push(signal);
    if (pendingNew.length > 1) return;
    // Frames of one batch (a reconnection's replay) make one alert.
    queueMicrotask(() => {
      const batch = pendingNew;
      pendingNew = [];
      const first = batch[0];
      const where = channelName(first.channel_id);
      const open = () => {
        const li = cards.get(first.discord_message_id);
        if (!li) return;
        if (filter && li.hidden) setFilter('');
        li.scrollIntoView({ block: 'center', behavior: 'smooth' });
        li.querySelector('article')?.focus({ preventScroll: true });
      };
      if (batch.length === 1) {
        const text = plainText(parseMarkdown(first.content_clean || first.content || ''))
          || (first.attachments?.length ? 'Attachment' : first.embeds?.length ? (first.embeds[0].title || 'Embed') : '');
        alerts.alert({ title: `New signal${where ? ` in #${where}` : ''}`, body: text.slice(0, 140), tag: first.discord_message_id, onOpen: open });
      } else {
        alerts.alert({ title: `${batch.length} new signals`, body: 'Open the dashboard to read them.', tag: 'batch', onOpen: open });
      }
    });
  }

  // -- frames -------------------------------------------------------------------------------

  function onFrame(frame) {
    const change = store.apply(frame);
    if (!change) return;
    if (change.reset) {
      const keep = new Set(store.signals.keys());
      for (const id of [...cards.keys()]) if (!keep.has(id)) dropCard(id);
      for (const s of store.signals.values()) cardFor(s);
      // A snapshot replaces what was known: history paging starts over from the top.
      history.clear();
      synced = true;
      layout();
      return;
    }
    if (change.upsert) {
      const s = change.upsert;
      deleted.delete(s.discord_message_id);
      cardFor(s, { fresh: true });
      layout();
      if (change.created) {
        if (window.scrollY > 200) newPill.hidden = false;
        announce(s);
      }
      return;
    }
    if (change.remove) {
      deleted.add(change.remove);
      dropCard(change.remove);
      layout();
      return;
    }
    if (frame.type?.startsWith('signal.') && frame.signal?.deleted) deleted.add(frame.signal.discord_message_id);
    if (change.thread) {
      for (const s of store.signals.values()) if (s.thread_id === change.thread.discord_thread_id) cardFor(s);
    }
  }

  async function loadOlder() {
    const key = filter;
    const st = history.get(key) ?? { cursor: null, done: false, loading: false };
    history.set(key, st);
    if (st.loading || st.done) return;
    st.loading = true;
    olderBtn.disabled = true;
    olderBtn.setAttribute('aria-busy', 'true');
    try {
      const q = new URLSearchParams({ limit: String(HISTORY_PAGE) });
      if (st.cursor) q.set('before', st.cursor);
      if (key) q.set('channel', key);
      const r = await account.api.get(`/signals?${q}`);
      if (disposed || history.get(key) !== st) return;
      for (const s of r.signals ?? []) {
        const id = s?.discord_message_id;
        // Live frames are newer than any page: never let a page overwrite or resurrect.
        if (!id || s.deleted || deleted.has(id) || store.signals.has(id)) continue;
        store.signals.set(id, s);
        cardFor(s);
      }
      st.cursor = r.next_cursor ?? null;
      st.done = !r.next_cursor;
      showBanner(null);
    } catch (err) {
      if (err.code === 'no_access') refreshMe();
      else showBanner(err, 'Could not load older signals');
    } finally {
      st.loading = false;
      olderBtn.disabled = false;
      olderBtn.removeAttribute('aria-busy');
      layout();
    }
  }

  function showBanner(err, title) {
    banner.replaceChildren();
    if (!err) return;
    banner.append(h('div', { class: 'error-box', attrs: { role: 'alert' }, dataset: { errorCode: err.code ?? 'error' } },
      h('p', {}, title ? h('strong', {}, `${title}. `) : null, friendly(err))));
  }

  // -- tickets and the socket ---------------------------------------------------------------

  async function mintTicket() {
    const t = await account.api.post('/feed-tickets', {});
    return { url: t.url, expiresAt: t.expires_at_ms ?? Date.parse(t.expires_at) };
  }

  /** Keeps a valid ticket in hand: renewed TICKET_MARGIN_MS before it expires. */
  function scheduleRenewal() {
    clearTimeout(renewTimer);
    if (!ticket || disposed) return;
    const wait = Math.max(1_000, ticket.expiresAt - Date.now() - TICKET_MARGIN_MS);
    renewTimer = setTimeout(async () => {
      try {
        ticket = await mintTicket();
        scheduleRenewal();
      } catch (err) {
        ticket = null;
        if (err.code === 'no_access') refreshMe();
        // Other failures: the next connection mints its own.
      }
    }, wait);
  }

  async function connectUrl() {
    let t = ticket;
    if (!t || t.expiresAt - Date.now() < 5_000) t = await mintTicket();
    ticket = t;
    scheduleRenewal();
    return t.url;
  }

  function startFeed() {
    stopFeed();
    store = new SignalStore({ max: MAX_SIGNALS });
    history.clear();
    cards.clear();
    list.replaceChildren();
    feedKey = channelKey();
    synced = false;
    feed = new LiveFeed({
      connectUrl,
      onFrame,
      onClose: (ev) => {
        if (ev.code === 4403) {
          // Access is gone (revoked, expired, account disabled): find out which.
          ticket = null;
          refreshMe();
          return 'stop';
        }
        if (ev.code === 4409) {
          // Access changed (a grant, a tier change, a window opening or closing): a new ticket
          // has the new scope, or is refused (no_access) when nothing is left.
          ticket = null;
          refreshMe();
          return 'soon';
        }
        if (ev.code === 4401) {
          // Sessions were revoked (a password change or reset, or an operator). If this page's
          // session survived (it made the change), the next ticket works; if not, minting it
          // answers 401 and the page goes to the login form.
          ticket = null;
          return 'soon';
        }
        return undefined;
      },
      onStatus: (st) => {
        status.set(st);
        if (st.state === 'offline' && st.error?.code === 'no_access') {
          refreshMe();
        } else if (st.state === 'offline') {
          showBanner(st.error ?? { code: 'feed_offline', message: st.detail ?? 'the live feed stopped' }, 'The live feed stopped');
          banner.append(h('button', { type: 'button', class: 'btn small', onclick: () => { showBanner(null); startFeed(); } }, 'Try again'));
        } else if (st.state === 'live') {
          showBanner(null);
        }
      },
    });
    window.__signalRelay = { feed, store: () => store, me: () => me };
    feed.start();
    setFeedState('live');
  }

  function stopFeed() {
    feed?.stop();
    feed = null;
    feedKey = null;
    clearTimeout(renewTimer);
    ticket = null;
  }

  const channelKey = () => (me?.channels?.available ?? []).map((c) => c.channel_id).sort().join(',');

  // -- me -----------------------------------------------------------------------------------

  let refreshing = null;
  let lastAccessKey = null;
  function refreshMe() {
    refreshing ??= (async () => {
      try {
        me = await account.api.get('/me');
      } catch (err) {
        if (err.status !== 401) showBanner(err, 'Could not load your subscription');
        return;
      } finally {
        refreshing = null;
      }
      if (disposed) return;
      // Access changed (a purchase, a grant, a revocation): the Discord roles follow it.
      const accessKey = `${me.access?.tier?.key ?? '-'}:${me.access?.until_ms ?? ''}`;
      if (lastAccessKey !== null && accessKey !== lastAccessKey) discord.refresh();
      lastAccessKey = accessKey;
      channelNames = names();
      renderSubscription();
      renderVisibility();
      renderChips();
      const hasChannels = (me.channels?.available?.length ?? 0) > 0;
      if (!me.access) {
        stopFeed();
        status.set({ state: 'idle' });
        setFeedState('no-access');
      } else if (!hasChannels) {
        stopFeed();
        status.set({ state: 'idle' });
        setFeedState('tier-locked');
      } else if (!feed || feed.state === 'stopped' || feed.state === 'offline') {
        startFeed();
      } else if (feedKey !== channelKey()) {
        // The server closes a socket whose scope changed (4409); names may change too.
        feedKey = channelKey();
        for (const s of store.signals.values()) cardFor(s);
        layout();
      } else {
        layout();
      }
    })();
    return refreshing;
  }

  // -- clocks -------------------------------------------------------------------------------

  let endHandled = false;
  function tick() {
    const cd = document.getElementById('countdown');
    const endsAt = Number(cd?.dataset.endsAt);
    if (!cd || !Number.isFinite(endsAt) || endsAt <= 0) return;
    const left = endsAt - Date.now();
    const text = countdown(left);
    if (cd.textContent !== text) cd.textContent = text;
    cd.classList.toggle('soon', left < DAY_MS);
    const reminder = document.getElementById('renewal-reminder');
    if (reminder) reminder.hidden = !(left > 0 && left < DAY_MS);
    if (left <= 0 && !endHandled) {
      endHandled = true;
      refreshMe().finally(() => { endHandled = false; });
    }
  }
  every(tick, 1000);
  every(() => {
    if (!feed && document.visibilityState === 'visible') refreshMe();
  }, NO_FEED_POLL_MS);
  const onVisible = () => { if (document.visibilityState === 'visible') refreshMe(); };
  document.addEventListener('visibilitychange', onVisible);
  startClock();

  await refreshMe();

  return () => {
    disposed = true;
    discord.stop();
    stopFeed();
    for (const t of timers) clearInterval(t);
    window.removeEventListener('scroll', onScroll);
    document.removeEventListener('visibilitychange', onVisible);
    document.removeEventListener('visibilitychange', onTitleVisible);
  };
}
