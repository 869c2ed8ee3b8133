// HTTP and WebSocket clients speaking the public API, for tests and benchmarks.
import WebSocket from 'ws';
import { randomUUID } from 'node:crypto';

export class Api {
  constructor(baseUrl, token) {
    this.baseUrl = baseUrl;
    this.token = token;
  }

  /** Returns { status, headers, json, text }. */
  async request(method, path, { body, token = this.token, headers = {}, raw } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + path, { method, headers: h, body: payload });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, json, text };
  }

  get(path, opts) { return this.request('GET', path, opts); }
  post(path, body, opts = {}) { return this.request('POST', path, { ...opts, body }); }
  put(path, body, opts = {}) { return this.request('PUT', path, { ...opts, body }); }
  patch(path, body, opts = {}) { return this.request('PATCH', path, { ...opts, body }); }
  del(path, opts) { return this.request('DELETE', path, opts); }
}

/**
 * Polls `read` until `ok(value)` holds and returns the value; after `ms` returns the last value
 * so the caller's assertion reports what was actually there. For views that trail the writer
 * (the D1 projection follows the tenant object by a debounce).
 */
export async function eventually(read, ok, ms = 3000) {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

let snowflakeCounter = 0n;
/**
 * A unique, realistic snowflake (> 2^53) for tests, encoding `atMs` as its creation time (ingest
 * takes a message's creation time from its id).
 */
export function snowflake(atMs = Date.now()) {
  snowflakeCounter += 1n;
  return String((BigInt(Math.floor(atMs) - 1420070400000) << 22n) + (snowflakeCounter % 4194304n));
}

/** Creates a tenant and a connector; returns ids and the connector's API client. */
export async function provision(server, { tenant = `t-${randomUUID().slice(0, 8)}`, connector = 'conn_01' } = {}) {
  const admin = new Api(server.baseUrl, server.adminToken);
  let r = await admin.post('/v1/admin/tenants', { tenant_key: tenant, name: tenant });
  if (r.status !== 201) throw new Error(`tenant: ${r.status} ${r.text}`);
  r = await admin.post(`/v1/admin/tenants/${tenant}/connectors`, { connector_id: connector });
  if (r.status !== 201) throw new Error(`connector: ${r.status} ${r.text}`);
  return { tenant, connector, token: r.json.token, admin, api: new Api(server.baseUrl, r.json.token) };
}

export function message(ctx, overrides = {}) {
  // As on Discord, a message's id encodes its creation time.
  const created = Date.parse(overrides.created_at ?? '');
  const id = overrides.discord_message_id ?? snowflake(Number.isFinite(created) ? created : Date.now());
  const type = overrides.event_type ?? 'create';
  return {
    idempotency_key: `${ctx.tenant}:${ctx.connector}:message:${id}:${type}`,
    event_type: type,
    discord_message_id: id,
    discord_guild_id: '1300000000000000000',
    discord_channel_id: '1300000000000000100',
    discord_thread_id: null,
    discord_author_id: '1300000000000000999',
    author_username: 'analyst',
    author_global_name: 'The Analyst',
    content_raw: `signal ${id}`,
    content_clean: `signal ${id}`,
    created_at: new Date().toISOString(),
    edited_at: null,
    deleted_at: null,
    attachments: [],
    embeds: [],
    mentioned_role_ids: [],
    mentioned_user_ids: [],
    ...overrides,
  };
}

export function batch(ctx, messages, extra = {}) {
  return {
    connector_id: ctx.connector,
    tenant_key: ctx.tenant,
    sent_at: new Date().toISOString(),
    batch_id: randomUUID(),
    messages,
    ...extra,
  };
}

export async function ingest(ctx, messages) {
  const r = await ctx.api.post('/ingest/message-batch', batch(ctx, messages));
  if (r.status !== 200) throw new Error(`ingest: ${r.status} ${r.text}`);
  return r.json;
}

export async function ticket(server, tenant, extra = {}) {
  const admin = new Api(server.baseUrl, server.adminToken);
  const r = await admin.post('/v1/feed-tickets', { tenant_key: tenant, ...extra });
  if (r.status !== 201) throw new Error(`ticket: ${r.status} ${r.text}`);
  return r.json;
}

/** Flattens batch frames into their events. */
export function flatten(frame) {
  return frame.type === 'batch' ? frame.events : [frame];
}

/**
 * A feed subscriber that records every frame (batches flattened) and lets tests await
 * conditions on what arrived.
 */
export class Feed {
  static async open(server, tenant, { since, channels, ticketOpts } = {}) {
    const t = await ticket(server, tenant, { ...(channels ? { channels } : {}), ...(ticketOpts ?? {}) });
    const url = since === undefined ? t.url : `${t.url}&since=${since}`;
    const feed = new Feed(url);
    await feed.opened;
    return feed;
  }

  constructor(url) {
    this.frames = [];
    this.raw = [];
    this.waiters = [];
    this.closed = null;
    this.ws = new WebSocket(url);
    this.opened = new Promise((res, rej) => {
      this.ws.once('open', res);
      this.ws.once('unexpected-response', (_req, resp) => {
        let body = '';
        resp.on('data', (c) => { body += c; });
        resp.on('end', () => rej(Object.assign(new Error(`handshake ${resp.statusCode}: ${body}`), { status: resp.statusCode, body })));
      });
      this.ws.once('error', rej);
    });
    this.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      this.raw.push(frame);
      for (const f of flatten(frame)) this.frames.push(f);
      this.check();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.check();
    });
  }

  check() {
    this.waiters = this.waiters.filter((w) => {
      if (w.pred(this)) { clearTimeout(w.timer); w.res(); return false; }
      return true;
    });
  }

  /** Resolves when pred(feed) holds; rejects after `ms`. */
  until(pred, ms = 10_000, what = 'condition') {
    if (pred(this)) return Promise.resolve();
    return new Promise((res, rej) => {
      const w = { pred, res };
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        rej(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => [f.type, f.seq]))}`));
      }, ms);
      this.waiters.push(w);
    });
  }

  /**
   * The close code the server sent, once its close frame arrived. The `close` event itself can
   * lag: the local runtime keeps TCP open after a close sent from an alarm, so `ws` waits for
   * its 30 s close timeout. `_closeFrameReceived`/`_closeCode` are ws internals, read-only here.
   */
  serverCloseCode() {
    if (this.closed) return this.closed.code;
    return this.ws._closeFrameReceived ? this.ws._closeCode : null;
  }

  signals() { return this.frames.filter((f) => f.type.startsWith('signal.')); }
  lastSeq() { return this.frames.reduce((m, f) => Math.max(m, f.seq ?? 0), 0); }

  close() {
    if (this.closed) return Promise.resolve();
    if (this.ws._closeFrameReceived) {
      this.ws.terminate();
      return Promise.resolve();
    }
    this.ws.close();
    return new Promise((r) => (this.closed ? r() : this.ws.once('close', r)));
  }
}
