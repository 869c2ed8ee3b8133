// Operations: health, CORS, structured logs, heartbeats, scheduled retention.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer } from '../../harness/worker.mjs';
import { Api, provision, message, ingest, Feed, ticket, eventually } from '../../harness/client.mjs';

const ORIGIN = 'https://app.example.com';
// 0.00003 days ≈ 2.6 s: short enough to watch retention work in a test.
const RETENTION_DAYS = 0.00003;
let server;
before(async () => {
  server = await startServer({
    logLevel: 'log',
    vars: { ALLOWED_ORIGINS: `${ORIGIN}, https://other.example.com`, HEARTBEAT_SECONDS: '1', RETENTION_DAYS: String(RETENTION_DAYS) },
  });
});
after(async () => { await server?.close(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('health', () => {
  test('reports version and storage', async () => {
    const r = await new Api(server.baseUrl, null).get('/health');
    assert.equal(r.status, 200);
    assert.equal(r.json.ok, true);
    assert.match(r.json.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(r.json.storage, { d1: 'ok' });
    assert.equal(r.headers.get('cache-control'), 'no-store');
  });
});

describe('CORS', () => {
  test('preflight answered for configured origins only', async () => {
    const pre = (origin) => fetch(`${server.baseUrl}/v1/admin/tenants`, {
      method: 'OPTIONS',
      headers: { ...(origin ? { origin } : {}), 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    let r = await pre(ORIGIN);
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(r.headers.get('access-control-allow-methods'), /POST/);
    assert.match(r.headers.get('access-control-allow-headers'), /authorization/);
    assert.match(r.headers.get('vary'), /Origin/);
    r = await pre('https://evil.example.com');
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error_code, 'cors_origin_not_allowed');
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    r = await pre(null);
    assert.equal(r.status, 204);
    assert.match(r.headers.get('allow'), /GET/);
  });

  test('responses carry the grant for allowed origins only', async () => {
    let r = await fetch(`${server.baseUrl}/health`, { headers: { origin: 'https://other.example.com' } });
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://other.example.com');
    assert.match(r.headers.get('access-control-expose-headers'), /x-correlation-id/);
    r = await fetch(`${server.baseUrl}/health`, { headers: { origin: 'https://evil.example.com' } });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    // Errors too, so browser clients can read them.
    r = await fetch(`${server.baseUrl}/nope`, { headers: { origin: ORIGIN } });
    assert.equal(r.status, 404);
    assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN);
  });
});

describe('logs', () => {
  test('one JSON line per request carrying the correlation id', async () => {
    await new Api(server.baseUrl, null).get('/no/such/thing', { headers: { 'x-correlation-id': 'log-probe-7f3a' } });
    let line;
    for (let i = 0; i < 40 && !line; i++) {
      line = server.logs.join('').split('\n').find((l) => l.includes('"log-probe-7f3a"') && l.trim().startsWith('{'));
      if (!line) await sleep(50);
    }
    assert.ok(line, 'no log line with the correlation id');
    const entry = JSON.parse(line.trim());
    assert.deepEqual(
      [entry.msg, entry.correlation_id, entry.path, entry.status, entry.method],
      ['request', 'log-probe-7f3a', '/no/such/thing', 404, 'GET'],
    );
    assert.equal(typeof entry.ms, 'number');
    assert.equal(typeof entry.ts, 'number');
  });

  test('ACCESS_LOG=errors logs failed requests only', async () => {
    const quiet = await startServer({ logLevel: 'log', vars: { ACCESS_LOG: 'errors' } });
    try {
      const api = new Api(quiet.baseUrl, null);
      assert.equal((await api.get('/health', { headers: { 'x-correlation-id': 'ok-probe-51c2' } })).status, 200);
      await api.get('/no/such/thing', { headers: { 'x-correlation-id': 'fail-probe-51c2' } });
      const lines = () => quiet.logs.join('').split('\n').filter((l) => l.trim().startsWith('{'));
      // The failure is logged after the success would have been: once it shows, the other is settled.
      const all = await eventually(async () => lines(), (ls) => ls.some((l) => l.includes('"fail-probe-51c2"')));
      assert.ok(all.some((l) => l.includes('"fail-probe-51c2"')), 'the 404 is logged');
      assert.ok(!all.some((l) => l.includes('"ok-probe-51c2"')), 'the 200 is not');
    } finally {
      await quiet.close();
    }
  });
});

describe('heartbeats', () => {
  test('pings carry the cursor; a silent socket is dropped, a pinging one stays', async () => {
    const ctx = await provision(server);
    await ingest(ctx, [message(ctx)]);
    const silent = await Feed.open(server, ctx.tenant);
    const t = await ticket(server, ctx.tenant);
    const chatty = new WebSocket(t.url);
    const chattyFrames = [];
    let chattyClosed = null;
    chatty.on('message', (d) => chattyFrames.push(JSON.parse(d.toString())));
    chatty.on('close', (code) => { chattyClosed = code; });
    await new Promise((r) => chatty.once('open', r));
    const pinger = setInterval(() => chatty.send('{"type":"ping"}'), 400);
    try {
      await silent.until((f) => f.frames.some((x) => x.type === 'ping'), 5000, 'a ping');
      const ping = silent.frames.find((x) => x.type === 'ping');
      assert.equal(ping.seq, 1);
      assert.equal(typeof ping.ts, 'number');
      // Dead after 3 missed intervals: the server closes it with 4000 and forgets it.
      const deadline = Date.now() + 10_000;
      while (silent.serverCloseCode() === null && Date.now() < deadline) await sleep(100);
      assert.equal(silent.serverCloseCode(), 4000);
      const stats = (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/feed-stats`)).json.stats;
      assert.equal(stats.sockets, 1, 'only the pinging socket remains');
      assert.equal(chattyClosed, null, 'the pinging socket stays open');
      assert.ok(chattyFrames.some((f) => f.type === 'pong'), 'pongs answer pings');
    } finally {
      clearInterval(pinger);
      chatty.close();
      await silent.close();
    }
  });
});

describe('scheduled maintenance', () => {
  test('retention removes old signals and receipts everywhere', async () => {
    const ctx = await provision(server);
    const old = message(ctx, { created_at: new Date(Date.now() - 40 * 86_400_000).toISOString() });
    const aging = message(ctx);
    await ingest(ctx, [old, aging]);
    await sleep(RETENTION_DAYS * 86_400_000 + 500);
    const fresh = message(ctx);
    await ingest(ctx, [fresh]);

    const r = await fetch(`${server.baseUrl}/__scheduled?cron=17+*+*+*+*`);
    assert.equal(r.status, 200);

    const stats = (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/feed-stats`)).json.stats;
    assert.equal(stats.signals, 1, 'only the fresh signal remains in the object');
    assert.equal(stats.receipts, 1, 'receipts older than retention are gone');
    const ids = async () => (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/signals?include_deleted=true`)).json.signals.map((s) => s.discord_message_id);
    const listed = await eventually(ids, (l) => l.length === 1 && l[0] === fresh.discord_message_id);
    assert.deepEqual(listed, [fresh.discord_message_id], 'D1 projection purged');
    const feed = await Feed.open(server, ctx.tenant);
    await feed.until((f) => f.frames.length >= 1, 5000, 'snapshot');
    assert.deepEqual(feed.frames[0].signals.map((s) => s.discord_message_id), [fresh.discord_message_id]);
    await feed.close();
    // With its receipt gone, a resend is treated as new (and stored again).
    const again = await ingest(ctx, [aging]);
    assert.deepEqual([again.accepted, again.deduped], [1, 0]);
  });
});

describe('projection to D1', () => {
  test('a projection cut short by a restart completes when the object wakes', async () => {
    // A long debounce makes "evicted before the projection ran" certain rather than a race.
    const slow = await startServer({ vars: { PROJECTION_DEBOUNCE_MS: '2000' } });
    try {
      const ctx = await provision(slow);
      const msg = message(ctx);
      await ingest(ctx, [msg]);
      const listed = async (api) => (await api.get(`/v1/admin/tenants/${ctx.tenant}/signals`)).json.signals.map((s) => s.discord_message_id);
      assert.deepEqual(await listed(ctx.admin), [], 'still waiting out the debounce');
      await slow.restart();
      const admin = new Api(slow.baseUrl, slow.adminToken);
      // Any request wakes the object; it finds its outbox non-empty and projects.
      const stats = await admin.get(`/v1/admin/tenants/${ctx.tenant}/feed-stats`);
      assert.equal(stats.status, 200);
      assert.deepEqual(await eventually(() => listed(admin), (l) => l.length === 1, 10_000), [msg.discord_message_id]);
    } finally {
      await slow.close();
    }
  });
});
