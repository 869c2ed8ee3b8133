// The benchmark's own machinery: the statistics every reported figure goes through, and the
// Miniflare harness (`script/bench --harness miniflare`), which must run the real product — a
// harness that silently served something else would make its figures meaningless.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pct, summary, latencyStats } from '../../bench/lib/stats.mjs';
import { startOurs, startReference, killAllSync } from '../../bench/lib/servers.mjs';
import { groupCpu } from '../../bench/lib/procstat.mjs';
import { referenceTarget } from '../../bench/lib/targets.mjs';
import { webhookReceipts, pairReceipts, bucketWaits, frameLatency } from '../../bench/lib/mirror-stats.mjs';
import { provision, message, ingest, Feed } from '../../harness/client.mjs';
import WebSocket from 'ws';

test('percentiles are nearest-rank', () => {
  const s = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(pct(s, 0.5), 5);
  assert.equal(pct(s, 0.95), 10);
  assert.equal(pct(s, 0.1), 1);
  assert.equal(pct(new Float64Array(0), 0.5), null);
  const sum = summary([10, 1, 5]);
  assert.deepEqual(sum, { n: 3, p50: 5, p95: 10, p99: 10, max: 10 });
});

test('a frame that never arrives counts until we gave up, and never disappears', () => {
  // Three signals to two sockets; signal 1 never reaches socket 1; signal 2 was never sent
  // but was due (its scheduled time stands in as its send time).
  const sendAt = Float64Array.from([0, 100, 200]);
  const recv = Float64Array.from([
    10, 120, 230, // socket 0: signals 0, 1, 2
    15, NaN, 240, // socket 1: signal 1 lost
  ]);
  const st = latencyStats(sendAt, [{ n: 3, sockets: 2, recv }], 1000, 150);
  assert.equal(st.expected, 6);
  assert.equal(st.delivered, 5);
  assert.equal(st.censored, 1);
  assert.equal(st.max, 900); // 1000 − 100: the lost frame, a lower bound
  assert.equal(st.p50, 20); // 10 15 20 30 40 900
  // Windows by send time: [0,150) holds signals 0 and 1, [150,300) signal 2.
  assert.deepEqual(st.timeline.map((w) => [w.t_s, w.n, w.max_ms]), [[0, 4, 900], [0.15, 2, 40]]);
});

test('a signal never sent (no stamp) is not expected of anyone', () => {
  const st = latencyStats(Float64Array.from([0, NaN]), [{ n: 2, sockets: 1, recv: Float64Array.from([5, NaN]) }], 100);
  assert.equal(st.sent, 1);
  assert.equal(st.expected, 1);
  assert.equal(st.delivered, 1);
  assert.equal(st.censored, 0);
});

test('webhook executions in the fake Discord\'s log become receipts; everything else is left out', () => {
  const hooks = new Map([['111', 'c1'], ['222', 'c2']]);
  const log = [
    { seq: 1, at_ms: 1000, method: 'POST', path: '/api/v10/channels/c1/webhooks', body: { name: 'x' }, status: 200 },
    { seq: 2, at_ms: 1010, method: 'POST', path: '/api/v10/webhooks/111/tok?wait=true', body: { content: 'signal 1300000000000000001' }, status: 200 },
    { seq: 3, at_ms: 1020, method: 'POST', path: '/api/v10/webhooks/222/tok', body: [{ name: 'payload_json', json: { content: 'signal 1300000000000000001' } }, { name: 'files[0]', size: 3 }], status: 429 },
    { seq: 4, at_ms: 1030, method: 'PATCH', path: '/api/v10/webhooks/111/tok/messages/9', body: { content: 'signal 1300000000000000001' }, status: 200 },
    { seq: 5, at_ms: 1040, method: 'POST', path: '/api/v10/webhooks/333/tok', body: { content: 'no id here' }, status: 200 },
  ];
  assert.deepEqual(webhookReceipts(log, hooks), [
    { seq: 2, at_ms: 1010, channel: 'c1', webhook: '111', id: '1300000000000000001', status: 200 },
    { seq: 3, at_ms: 1020, channel: 'c2', webhook: '222', id: '1300000000000000001', status: 429 },
    { seq: 5, at_ms: 1040, channel: null, webhook: '333', id: null, status: 200 },
  ]);
});

test('ingest stamps pair with the first accepted post per target; a lost post counts until we gave up', () => {
  const sent = new Map([['1300000000000000001', 1000], ['1300000000000000002', 2000]]);
  const r = (id, channel, at_ms, status = 200) => ({ id, channel, at_ms, status });
  const receipts = [
    r('1300000000000000001', 'a', 1020),
    r('1300000000000000001', 'b', 1030, 429), // rejected, then accepted later
    r('1300000000000000001', 'b', 1500),
    r('1300000000000000001', 'a', 1600), // a second post of the same signal: a duplicate
    r('1300000000000000002', 'a', 2040),
    r('1300000000000000009', 'a', 2050), // not ours
    r('1300000000000000002', 'z', 2060), // not a target of this run
  ];
  const p = pairReceipts(sent, ['a', 'b'], receipts, 5000);
  assert.equal(p.expected, 4);
  assert.equal(p.delivered, 3);
  assert.equal(p.censored, 1); // signal 2 never reached b: 5000 − 2000
  assert.equal(p.duplicates, 1);
  assert.equal(p.rejected, 1);
  assert.deepEqual([...p.latencies].sort((x, y) => x - y), [20, 40, 500, 3000]);
  assert.equal(p.p50_ms, 40);
  assert.equal(p.max_ms, 3000);
  // 3 posts between the first send (1000) and the last accepted receipt (2040)
  assert.equal(p.jobs_per_s, Math.round((3 * 1000 * 10) / 1040) / 10);
});

test('a fixed-window bucket replayed over arrivals: waits beyond each reset, posts over the limit', () => {
  // 5 per 2000 ms: 5 at once, the next 5 just after the reset (+3 ms), then one 400 ms late.
  const t = [0, 1, 2, 3, 4, 2003, 2004, 2005, 2006, 2007, 4403];
  assert.deepEqual(bucketWaits(t, 5, 2000), { windows: 3, waits_ms: [3, 400], over_limit: 0 });
  // A sixth post inside the first window would have been a 429 on Discord.
  assert.deepEqual(bucketWaits([0, 10, 20, 30, 40, 50], 5, 2000), { windows: 1, waits_ms: [], over_limit: 1 });
  assert.deepEqual(bucketWaits([], 5, 2000), { windows: 0, waits_ms: [], over_limit: 0 });
});

test('dashboard frames pair with the same ingest stamps', () => {
  const sent = new Map([['1', 100], ['2', 200]]);
  const f = frameLatency(sent, new Map([['1', 110]]), 1000);
  assert.deepEqual(f, { expected: 2, delivered: 1, p50_ms: 10, p95_ms: 800, p99_ms: 800, max_ms: 800 });
});

test('the Miniflare harness runs the real product and the reference, and reports their CPU', { timeout: 120_000 }, async (t) => {
  const ours = await startOurs({ ACCESS_LOG: 'errors' }, { harness: 'miniflare' });
  const reference = await startReference({ harness: 'miniflare' });
  const second = await startReference({ harness: 'miniflare' });
  t.after(async () => {
    await ours.stop();
    await reference.stop();
    await second.stop();
    killAllSync();
  });
  const server = { baseUrl: ours.baseUrl, adminToken: ours.server.adminToken };
  const health = await fetch(`${ours.baseUrl}/health`);
  assert.equal(health.status, 200);
  assert.equal((await health.json()).ok, true);

  // The whole path: provisioning (local D1 with migrations), ingest, the tenant object, a feed.
  const ctx = await provision(server);
  const feed = await Feed.open(server, ctx.tenant);
  const m = message(ctx);
  const r = await ingest(ctx, [m]);
  assert.equal(r.accepted, 1);
  await feed.until((f) => f.signals().some((s) => s.signal.discord_message_id === m.discord_message_id), 10_000, 'the signal frame');
  await feed.close();

  const refHealth = await fetch(`${reference.baseUrl}/health`);
  assert.equal(refHealth.status, 200);

  // One workerd per group, attributed to the runtime (the part that exists in production).
  const cpu = groupCpu(ours.pgid());
  assert.ok((cpu['workerd:runtime'] ?? 0) > 0, JSON.stringify(cpu));
  assert.equal(cpu['workerd:proxy'], undefined, JSON.stringify(cpu));

  // A sharded reference (--reference-shards): subscribers alternate between the servers, one
  // publish reaches every subscriber, and the CPU of both processes is the runtime's.
  const sharded = referenceTarget([reference, second], (id, seq) => JSON.stringify({ type: 'signal.created', seq, id }));
  const room = await sharded.room('shard-test');
  const urls = await sharded.urls(room, 4);
  assert.deepEqual(urls.map((u) => new URL(u).port), [reference, second, reference, second].map((s) => new URL(s.baseUrl).port));
  const sockets = await Promise.all(urls.map((u) => new Promise((resolve, reject) => {
    const ws = new WebSocket(u);
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  })));
  const got = sockets.map((ws, k) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`subscriber ${k} got nothing`)), 5_000);
    ws.once('message', (d) => { clearTimeout(timer); resolve(JSON.parse(String(d))); });
  }));
  const pub = await sharded.publish(room, '42', 0);
  assert.equal(pub.ok, true, pub.error);
  for (const f of await Promise.all(got)) assert.deepEqual(f, { type: 'signal.created', seq: 1, id: '42' });
  for (const ws of sockets) ws.close();
  const both = groupCpu(sharded.pgid());
  const one = groupCpu(reference.pgid());
  assert.ok(both['workerd:runtime'] > one['workerd:runtime'], JSON.stringify({ both, one }));
  assert.equal(both['workerd:proxy'], undefined, JSON.stringify(both));
});
