// Live feed: tickets, handshake errors, snapshot, live frames, narrowing, resume (also across a
// Durable Object restart) and expired cursors.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { startServer } from '../../harness/worker.mjs';
import { Api, provision, message, ingest, Feed, ticket } from '../../harness/client.mjs';

const LOG_MAX = 10;
let server;
before(async () => { server = await startServer({ vars: { FEED_EVENT_LOG_MAX: String(LOG_MAX) } }); });
after(async () => { await server?.close(); });

const CH_A = '1300000000000000100';
const CH_B = '1300000000000000101';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const b64 = (buf) => Buffer.from(buf).toString('base64url');

function craftTicket(secret, claims) {
  const payload = b64(JSON.stringify({ v: 1, n: 'abcd', s: 'test', c: null, ...claims }));
  return `${payload}.${b64(createHmac('sha256', secret).update(payload).digest())}`;
}

async function handshake(url) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => { ws.close(); resolve({ status: 101 }); });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(body) }));
    });
    ws.once('error', () => {});
  });
}

/** Re-reads the ctx API clients after a restart (the port changes). */
function rebind(ctx) {
  ctx.api = new Api(server.baseUrl, ctx.token);
  ctx.admin = new Api(server.baseUrl, server.adminToken);
}

function ids(frames) {
  return frames.map((f) => f.signal?.discord_message_id);
}

describe('tickets', () => {
  test('issued to operators for existing tenants', async () => {
    const ctx = await provision(server);
    const anon = new Api(server.baseUrl, null);
    let r = await anon.post('/v1/feed-tickets', { tenant_key: ctx.tenant });
    assert.equal(r.status, 401);
    r = await ctx.admin.post('/v1/feed-tickets', { tenant_key: 'no-such-tenant' });
    assert.deepEqual([r.status, r.json.error_code], [404, 'tenant_not_found']);
    r = await ctx.admin.post('/v1/feed-tickets', { tenant_key: ctx.tenant, channels: ['x'] });
    assert.deepEqual([r.status, r.json.details[0].field], [400, 'channels[0]']);
    r = await ctx.admin.post('/v1/feed-tickets', { tenant_key: ctx.tenant });
    assert.equal(r.status, 201);
    assert.match(r.json.url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/feed\?ticket=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const expires = Date.parse(r.json.expires_at);
    assert.ok(expires > Date.now() + 30_000 && expires < Date.now() + 120_000, r.json.expires_at);
  });

  test('handshake refusals', async () => {
    const ctx = await provision(server);
    const base = server.baseUrl.replace('http', 'ws');
    const good = (await ticket(server, ctx.tenant)).ticket;
    // Plain HTTP on the feed endpoint.
    const plain = await new Api(server.baseUrl, null).get(`/v1/feed?ticket=${good}`);
    assert.deepEqual([plain.status, plain.json.error_code], [426, 'upgrade_required']);
    let r = await handshake(`${base}/v1/feed`);
    assert.deepEqual([r.status, r.json.error_code], [401, 'ticket_invalid']);
    r = await handshake(`${base}/v1/feed?ticket=${good.slice(0, -3)}abc`);
    assert.deepEqual([r.status, r.json.error_code], [401, 'ticket_invalid']);
    const forged = craftTicket('not-the-secret', { t: ctx.tenant, e: Date.now() + 60_000 });
    r = await handshake(`${base}/v1/feed?ticket=${forged}`);
    assert.deepEqual([r.status, r.json.error_code], [401, 'ticket_invalid']);
    const expired = craftTicket(server.ticketSecret, { t: ctx.tenant, e: Date.now() - 1 });
    r = await handshake(`${base}/v1/feed?ticket=${expired}`);
    assert.deepEqual([r.status, r.json.error_code], [401, 'ticket_expired']);
    r = await handshake(`${base}/v1/feed?ticket=${good}&since=-4`);
    assert.deepEqual([r.status, r.json.error_code, r.json.details[0].field], [400, 'bad_request', 'since']);
    const valid = craftTicket(server.ticketSecret, { t: ctx.tenant, e: Date.now() + 60_000 });
    r = await handshake(`${base}/v1/feed?ticket=${valid}`);
    assert.equal(r.status, 101);
  });
});

describe('snapshot and live frames', () => {
  test('snapshot of current state, then every change live and in order', async () => {
    const ctx = await provision(server);
    const [m1, m2, m3] = [message(ctx), message(ctx), message(ctx)];
    await ingest(ctx, [m1]);
    await ingest(ctx, [m2]);
    await ingest(ctx, [m3]);
    await ingest(ctx, [message(ctx, { discord_message_id: m2.discord_message_id, event_type: 'delete', deleted_at: new Date().toISOString() })]);

    const feed = await Feed.open(server, ctx.tenant);
    await feed.until((f) => f.frames.length >= 1, 5000, 'snapshot');
    const snap = feed.frames[0];
    assert.equal(snap.type, 'snapshot');
    assert.equal(snap.reason, 'initial');
    assert.equal(snap.seq, 4);
    assert.deepEqual(ids(snap.signals.map((s) => ({ signal: s }))).sort(), [m1, m3].map((m) => m.discord_message_id).sort());
    assert.ok(snap.signals.every((s) => s.deleted === false));

    // create → update → delete, each a frame with the next seq.
    const m4 = message(ctx, { content_raw: 'ETH short', content_clean: 'ETH short' });
    await ingest(ctx, [m4]);
    const edit = message(ctx, {
      discord_message_id: m4.discord_message_id, event_type: 'update',
      content_raw: 'ETH short (TP hit)', content_clean: 'ETH short (TP hit)', edited_at: new Date(Date.now() + 1000).toISOString(),
    });
    await ingest(ctx, [edit]);
    await ingest(ctx, [message(ctx, { discord_message_id: m4.discord_message_id, event_type: 'delete' })]);
    await feed.until((f) => f.signals().length >= 3, 5000, 'three live frames');
    const live = feed.signals();
    assert.deepEqual(live.map((f) => [f.type, f.seq]), [['signal.created', 5], ['signal.updated', 6], ['signal.deleted', 7]]);
    assert.equal(live[0].signal.content, 'ETH short');
    assert.equal(live[1].signal.content, 'ETH short (TP hit)');
    assert.equal(live[1].signal.edited_at, new Date(Date.parse(edit.edited_at)).toISOString());
    assert.equal(live[2].signal.deleted, true);
    for (const f of live) {
      for (const k of ['discord_message_id', 'channel_id', 'content', 'attachments', 'embeds', 'author', 'created_at', 'edited_at', 'deleted']) {
        assert.ok(k in f.signal, `frame lacks ${k}`);
      }
    }
    // A duplicate of an old event changes nothing and sends nothing.
    await ingest(ctx, [m1]);
    await sleep(300);
    assert.equal(feed.signals().length, 3);
    await feed.close();
  });

  test('several events in one request may travel as a batch frame', async () => {
    const ctx = await provision(server);
    const feed = await Feed.open(server, ctx.tenant);
    await feed.until((f) => f.frames.length >= 1, 5000, 'snapshot');
    const msgs = [message(ctx), message(ctx), message(ctx)];
    await ingest(ctx, msgs);
    await feed.until((f) => f.signals().length >= 3, 5000, 'three signals');
    assert.deepEqual(feed.signals().map((f) => f.seq), [1, 2, 3]);
    const batchFrame = feed.raw.find((r) => r.type === 'batch');
    assert.ok(batchFrame, 'expected a batch frame');
    assert.equal(batchFrame.seq, 3);
    await feed.close();
  });

  test('a subscription narrowed to channels sees only those channels', async () => {
    const ctx = await provision(server);
    await ingest(ctx, [message(ctx, { discord_channel_id: CH_A }), message(ctx, { discord_channel_id: CH_B })]);
    const narrow = await Feed.open(server, ctx.tenant, { channels: [CH_A] });
    const wide = await Feed.open(server, ctx.tenant);
    await narrow.until((f) => f.frames.length >= 1, 5000, 'snapshot');
    await wide.until((f) => f.frames.length >= 1, 5000, 'snapshot');
    assert.deepEqual(narrow.frames[0].signals.map((s) => s.channel_id), [CH_A]);
    assert.equal(wide.frames[0].signals.length, 2);
    const a = message(ctx, { discord_channel_id: CH_A });
    const b = message(ctx, { discord_channel_id: CH_B });
    await ingest(ctx, [b]);
    await ingest(ctx, [a]);
    await wide.until((f) => f.signals().length >= 2, 5000, 'wide frames');
    await narrow.until((f) => f.signals().length >= 1, 5000, 'narrow frame');
    await sleep(200);
    assert.deepEqual(ids(narrow.signals()), [a.discord_message_id]);
    assert.deepEqual(ids(wide.signals()), [b.discord_message_id, a.discord_message_id]);
    await narrow.close();
    await wide.close();
  });
});

describe('resume', () => {
  test('after a disconnect: exactly the missed events, in order, then live', async () => {
    const ctx = await provision(server);
    await ingest(ctx, [message(ctx)]);
    const first = await Feed.open(server, ctx.tenant);
    await first.until((f) => f.frames.length >= 1, 5000, 'snapshot');
    await ingest(ctx, [message(ctx)]);
    await first.until((f) => f.signals().length >= 1, 5000, 'live');
    const cursor = first.lastSeq();
    assert.equal(cursor, 2);
    await first.close();

    const missed = [message(ctx), message(ctx), message(ctx)];
    for (const m of missed) await ingest(ctx, [m]);
    const edit = message(ctx, { discord_message_id: missed[0].discord_message_id, event_type: 'update', content_raw: 'edited', content_clean: 'edited', edited_at: new Date(Date.now() + 5000).toISOString() });
    await ingest(ctx, [edit]);

    const again = await Feed.open(server, ctx.tenant, { since: cursor });
    await again.until((f) => f.frames.length >= 4, 5000, 'replay');
    assert.deepEqual(again.frames.map((f) => [f.type, f.seq]), [
      ['signal.created', 3], ['signal.created', 4], ['signal.created', 5], ['signal.updated', 6],
    ]);
    assert.deepEqual(ids(again.frames.slice(0, 3)), missed.map((m) => m.discord_message_id));
    const live = message(ctx);
    await ingest(ctx, [live]);
    await again.until((f) => f.frames.length >= 5, 5000, 'live after replay');
    assert.deepEqual([again.frames[4].seq, again.frames[4].signal.discord_message_id], [7, live.discord_message_id]);
    await sleep(200);
    assert.equal(again.frames.length, 5, 'no duplicates');

    // A cursor that is current replays nothing; one from the future gets a snapshot.
    const current = await Feed.open(server, ctx.tenant, { since: 7 });
    await sleep(300);
    assert.equal(current.frames.length, 0);
    const ahead = await Feed.open(server, ctx.tenant, { since: 999 });
    await ahead.until((f) => f.frames.length >= 1, 5000, 'snapshot');
    assert.deepEqual([ahead.frames[0].type, ahead.frames[0].reason, ahead.frames[0].seq], ['snapshot', 'cursor_ahead', 7]);
    await Promise.all([again.close(), current.close(), ahead.close()]);
  });

  test('a cursor older than the retained log gets a snapshot saying so', async () => {
    const ctx = await provision(server);
    const msgs = Array.from({ length: 3 * LOG_MAX }, () => message(ctx));
    for (let i = 0; i < msgs.length; i += 5) await ingest(ctx, msgs.slice(i, i + 5));
    const feed = await Feed.open(server, ctx.tenant, { since: 1 });
    await feed.until((f) => f.frames.length >= 1, 5000, 'snapshot');
    assert.deepEqual([feed.frames[0].type, feed.frames[0].reason, feed.frames[0].seq], ['snapshot', 'cursor_expired', 3 * LOG_MAX]);
    assert.equal(feed.frames[0].signals.length, 3 * LOG_MAX);
    // A cursor inside the retained window still replays exactly.
    const recent = await Feed.open(server, ctx.tenant, { since: 3 * LOG_MAX - 3 });
    await recent.until((f) => f.frames.length >= 3, 5000, 'replay');
    assert.deepEqual(recent.frames.map((f) => f.seq), [3 * LOG_MAX - 2, 3 * LOG_MAX - 1, 3 * LOG_MAX]);
    await Promise.all([feed.close(), recent.close()]);
  });

  test('across a Durable Object restart (process restart, durable state only)', async () => {
    const ctx = await provision(server);
    await ingest(ctx, [message(ctx), message(ctx)]);
    const feed = await Feed.open(server, ctx.tenant);
    await feed.until((f) => f.frames.length >= 1, 5000, 'snapshot');
    const cursor = feed.lastSeq();
    assert.equal(cursor, 2);
    await feed.close();
    const missed = [message(ctx), message(ctx)];
    await ingest(ctx, [missed[0]]);
    await ingest(ctx, [missed[1]]);

    await server.restart();
    rebind(ctx);

    const resumed = await Feed.open(server, ctx.tenant, { since: cursor });
    await resumed.until((f) => f.frames.length >= 2, 10_000, 'replay after restart');
    assert.deepEqual(resumed.frames.map((f) => [f.type, f.seq, f.signal.discord_message_id]), [
      ['signal.created', 3, missed[0].discord_message_id],
      ['signal.created', 4, missed[1].discord_message_id],
    ]);
    // The sequence continues where it was; retries of pre-restart events are still deduplicated.
    const r = await ctx.api.post('/ingest/message-batch', { connector_id: ctx.connector, tenant_key: ctx.tenant, messages: [missed[1]] });
    assert.deepEqual([r.json.accepted, r.json.deduped], [0, 1]);
    const next = message(ctx);
    const out = await ingest(ctx, [next]);
    assert.equal(out.seq, 5);
    await resumed.until((f) => f.frames.length >= 3, 5000, 'live after restart');
    assert.deepEqual([resumed.frames[2].seq, resumed.frames[2].signal.discord_message_id], [5, next.discord_message_id]);
    await resumed.close();
  });
});

describe('isolation', () => {
  test('a tenant token cannot reach another tenant; feeds are separate', async () => {
    const a = await provision(server);
    const b = await provision(server);
    const fa = await Feed.open(server, a.tenant);
    const fb = await Feed.open(server, b.tenant);
    await fa.until((f) => f.frames.length >= 1, 5000, 'snapshot a');
    await fb.until((f) => f.frames.length >= 1, 5000, 'snapshot b');

    // A's token, B's scope: refused, nothing written to B.
    const intoB = { connector_id: b.connector, tenant_key: b.tenant, messages: [message(b)] };
    let r = await a.api.post('/ingest/message-batch', intoB);
    assert.deepEqual([r.status, r.json.error_code], [403, 'forbidden']);
    r = await a.api.get(`/connectors/${b.connector}/runtime-config?tenant_key=${b.tenant}`);
    assert.equal(r.status, 403);
    r = await a.api.post('/ingest/thread', { connector_id: b.connector, tenant_key: b.tenant, idempotency_key: 'k', event_type: 'create', thread: { discord_thread_id: '1', parent_channel_id: '2', guild_id: '3' } });
    assert.equal(r.status, 403);
    r = await a.api.post('/ingest/channel-guild-sync', { connector_id: b.connector, tenant_key: b.tenant, guilds: [{ discord_guild_id: '9', name: 'evil' }] });
    assert.equal(r.status, 403);
    // Connector tokens are not admin tokens.
    r = await a.api.get('/v1/admin/tenants');
    assert.equal(r.status, 401);
    r = await a.api.post('/v1/feed-tickets', { tenant_key: b.tenant });
    assert.equal(r.status, 401);

    // Same connector id and message id in both tenants stay separate.
    const shared = '1300000000000000777';
    await ingest(a, [message(a, { discord_message_id: shared, content_raw: 'from A', content_clean: 'from A' })]);
    await ingest(b, [message(b, { discord_message_id: shared, content_raw: 'from B', content_clean: 'from B' })]);
    await fa.until((f) => f.signals().length >= 1, 5000, 'a live');
    await fb.until((f) => f.signals().length >= 1, 5000, 'b live');
    await sleep(200);
    assert.deepEqual(fa.signals().map((f) => f.signal.content), ['from A']);
    assert.deepEqual(fb.signals().map((f) => f.signal.content), ['from B']);
    assert.deepEqual(fb.frames[0].signals, [], 'B saw nothing of A');
    const guildsB = await b.admin.get(`/v1/admin/tenants/${b.tenant}/connectors/${b.connector}/guilds`);
    assert.deepEqual(guildsB.json.guilds, []);
    await Promise.all([fa.close(), fb.close()]);
  });
});
