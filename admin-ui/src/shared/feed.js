// Live-feed client: one WebSocket to /v1/feed with heartbeats, resume and reconnect.
//
// - Sends {"type":"ping"} every 20 s (the server drops sockets silent for 90 s) and treats a
//   socket that has received nothing for 75 s as dead (the server pings every 30 s).
// - Tracks the highest `seq` seen on any frame (pings and batches included). After a drop it
//   asks `connectUrl()` for a fresh URL (a new ticket) and reconnects with `&since=<seq>`, so the
//   server replays exactly what was missed (or sends a snapshot when it no longer can).
// - Reconnects with capped, jittered exponential backoff; immediately when the browser comes
//   back online. Stops retrying on errors a retry cannot fix (rejected credentials, unknown
//   tenant) or, with a fixed ticket URL, when the ticket keeps being refused.

const PING_MS = 20_000;
const STALE_MS = 75_000;
const BACKOFF_MS = [500, 1_000, 2_000, 4_000, 8_000, 15_000];

export class LiveFeed {
  /**
   * @param {object} opts
   * @param {() => Promise<string>} opts.connectUrl a ws(s):// URL without `since`; may throw
   *   an error with `fatal: true` (or an ApiError with status 401/403/404) to stop retrying.
   * @param {(frame: object) => void} opts.onFrame called for every frame, batches flattened
   * @param {(s: {state: string, detail?: string, retryInMs?: number, error?: Error}) => void} [opts.onStatus]
   * @param {boolean} [opts.fixedUrl] the URL cannot be renewed (a ticket from the page URL)
   * @param {(ev: CloseEvent) => ('stop'|'soon'|undefined)} [opts.onClose] decides what a close
   *   from the server means: 'stop' (no retry; state `stopped` with the close reason), 'soon'
   *   (reconnect after a short jitter, not the backoff: the server asked for it), or the
   *   default (retry with backoff)
   */
  constructor({ connectUrl, onFrame, onStatus = () => {}, fixedUrl = false, onClose }) {
    this.connectUrl = connectUrl;
    this.onClose = onClose;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.fixedUrl = fixedUrl;
    this.seq = null;
    this.ws = null;
    this.state = 'idle';
    this.attempt = 0;
    this.failedOpens = 0;
    this.stopped = true;
    this.timers = { retry: null, ping: null };
    this.lastMessageAt = 0;
    this.connections = 0;
    this.onOnline = () => {
      if (this.stopped) return;
      if (this.state === 'reconnecting') this.connectNow();
      // The old socket may be silently dead after a network change: check it now.
      else if (this.ws?.readyState === WebSocket.OPEN) this.ws.send('{"type":"ping"}');
    };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    this.connectNow();
  }

  stop(detail = 'disconnected') {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.timers.retry);
    clearInterval(this.timers.ping);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'client stopped');
    this.setState('stopped', { detail });
  }

  setState(state, extra = {}) {
    this.state = state;
    this.onStatus({ state, ...extra });
  }

  connectNow() {
    clearTimeout(this.timers.retry);
    this.open().catch((err) => this.fail(err));
  }

  async open() {
    this.setState(this.connections === 0 ? 'connecting' : 'reconnecting', { detail: 'connecting…' });
    const base = await this.connectUrl();
    if (this.stopped) return;
    const url = this.seq === null ? base : `${base}${base.includes('?') ? '&' : '?'}since=${this.seq}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      opened = true;
      this.connections += 1;
      this.failedOpens = 0;
      this.lastMessageAt = Date.now();
      this.setState('live');
      clearInterval(this.timers.ping);
      this.timers.ping = setInterval(() => this.heartbeat(ws), PING_MS);
    });
    ws.addEventListener('message', (ev) => {
      if (this.ws !== ws) return;
      this.lastMessageAt = Date.now();
      this.attempt = 0;
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      this.receive(frame);
    });
    ws.addEventListener('close', (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.timers.ping);
      if (this.stopped) return;
      const verdict = opened ? this.onClose?.(ev) : undefined;
      if (verdict === 'stop') {
        this.stop(ev.reason || `closed (${ev.code})`);
        return;
      }
      if (verdict === 'soon') {
        // Every subscriber of a changed scope is told at once: spread their reconnections.
        this.attempt = 0;
        const delay = 100 + Math.round(Math.random() * 400);
        this.setState('reconnecting', { detail: ev.reason || 'scope changed', retryInMs: delay });
        clearTimeout(this.timers.retry);
        this.timers.retry = setTimeout(() => this.connectNow(), delay);
        return;
      }
      if (!opened) this.failedOpens += 1;
      if (this.fixedUrl && this.failedOpens >= 3) {
        this.stopped = true;
        this.setState('offline', {
          detail: 'the feed link was refused (it may have expired); open a fresh link',
        });
        return;
      }
      this.scheduleRetry(`connection closed${ev.code ? ` (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})` : ''}`);
    });
  }

  receive(frame) {
    if (!frame || typeof frame !== 'object') return;
    if (typeof frame.seq === 'number' && (this.seq === null || frame.seq > this.seq)) this.seq = frame.seq;
    if (frame.type === 'batch' && Array.isArray(frame.events)) {
      for (const ev of frame.events) {
        if (ev && typeof ev.seq === 'number' && ev.seq > this.seq) this.seq = ev.seq;
        this.onFrame(ev);
      }
      return;
    }
    this.onFrame(frame);
  }

  heartbeat(ws) {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.lastMessageAt > STALE_MS) {
      this.abandon(ws, 'no data for too long');
      return;
    }
    ws.send('{"type":"ping"}');
  }

  /**
   * Gives up on a socket without waiting for its closing handshake (a dead peer never answers
   * it) and reconnects. Its late events are ignored: it is no longer `this.ws`.
   */
  abandon(ws = this.ws, reason = 'reconnecting') {
    if (!ws || this.ws !== ws) return;
    this.ws = null;
    clearInterval(this.timers.ping);
    try { ws.close(4002, reason.slice(0, 100)); } catch { /* already closed */ }
    if (!this.stopped) this.scheduleRetry(reason);
  }

  fail(err) {
    if (this.stopped) return;
    const status = err?.status;
    if (err?.fatal || status === 401 || status === 403 || status === 404 || status === 400) {
      this.stopped = true;
      this.setState('offline', { detail: err.message, error: err });
      return;
    }
    this.scheduleRetry(err?.message ?? 'connection failed', err);
  }

  scheduleRetry(detail, error) {
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (1 + Math.random() * 0.3));
    this.attempt += 1;
    this.setState('reconnecting', { detail, retryInMs: delay, error });
    clearTimeout(this.timers.retry);
    this.timers.retry = setTimeout(() => this.connectNow(), delay);
  }

  /** Forgets the resume cursor: the next connection starts with a fresh snapshot. */
  reset() {
    this.seq = null;
  }
}

/** The ws(s):// feed URL for a ticket, on this page's origin. */
export function feedUrlForTicket(ticket) {
  const u = new URL('/v1/feed', window.location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.searchParams.set('ticket', ticket);
  return u.href;
}

/**
 * Keeps the current signals by discord_message_id and applies frames idempotently. `apply`
 * returns what changed: { reset: true } after a snapshot, { upsert: signal },
 * { remove: id }, { thread } or null.
 */
export class SignalStore {
  constructor({ keepDeleted = false, max = 300 } = {}) {
    this.signals = new Map();
    this.threads = new Map();
    this.keepDeleted = keepDeleted;
    this.max = max;
  }

  apply(frame) {
    switch (frame.type) {
      case 'snapshot': {
        this.signals.clear();
        for (const s of frame.signals ?? []) if (s?.discord_message_id) this.signals.set(s.discord_message_id, s);
        this.threads.clear();
        for (const t of frame.threads ?? []) if (t?.discord_thread_id) this.threads.set(t.discord_thread_id, t);
        return { reset: true, reason: frame.reason };
      }
      case 'signal.created':
      case 'signal.updated': {
        const s = frame.signal;
        if (!s?.discord_message_id) return null;
        if (s.deleted && !this.keepDeleted) return this.remove(s.discord_message_id);
        this.signals.set(s.discord_message_id, s);
        return { upsert: s, created: frame.type === 'signal.created' };
      }
      case 'signal.deleted': {
        const s = frame.signal;
        if (!s?.discord_message_id) return null;
        if (this.keepDeleted) {
          const merged = { ...(this.signals.get(s.discord_message_id) ?? {}), ...s, deleted: true };
          this.signals.set(s.discord_message_id, merged);
          return { upsert: merged };
        }
        return this.remove(s.discord_message_id);
      }
      default:
        if (frame.type?.startsWith('thread.') && frame.thread?.discord_thread_id) {
          const id = frame.thread.discord_thread_id;
          this.threads.set(id, { ...(this.threads.get(id) ?? {}), ...frame.thread });
          return { thread: this.threads.get(id) };
        }
        return null;
    }
  }

  remove(id) {
    if (!this.signals.has(id)) return null;
    this.signals.delete(id);
    return { remove: id };
  }
}
