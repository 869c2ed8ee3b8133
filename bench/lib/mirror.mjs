// Scenario 4 (issue 11): ingest → fake-Discord receipt. The real worker under the same harness
// as the other scenarios, pointed at the fake Discord (crates/fake-discord, with Discord's own
// default buckets); each scenario gets a fresh tenant, a fresh source → target mapping and fresh
// target channels, so no bucket or queue carries over from the one before.
//
// Stamps: our send stamp is the wall clock (`performance.timeOrigin + performance.now()`) just
// before each ingest request; the receipt stamp is the fake's own `at_ms` on the webhook
// execution it logged (wall clock, whole milliseconds, taken when it starts handling the
// request) — one machine, one clock, so the two compare directly (±1 ms).
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { control } from '../../harness/discord.mjs';
import { message, batch } from '../../harness/client.mjs';
import { http, provisionTenant, feedUrls, mapLimit, retrying } from './targets.mjs';
import { cpuWindow } from './procstat.mjs';
import { summary, round } from './stats.mjs';
import { webhookReceipts, pairReceipts, bucketWaits, frameLatency } from './mirror-stats.mjs';

export const epochNow = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const SOURCE_GUILD = '1300000000000000000';
const SOURCE_CHANNEL = '1300000000000000100';

/** One fresh tenant whose source channel is mapped to `n` fresh channels of the fake's guild. */
async function mappedTenant(server, fake, label, n) {
  const guild = (await control(fake.url, 'GET', '/state')).guilds[0].id;
  const channels = await mapLimit(Array.from({ length: n }, (_, k) => k), 8, async (k) =>
    (await control(fake.url, 'POST', '/channels', { name: `${label}-${k}`, type: 0 })).id);
  const ctx = await provisionTenant(server.baseUrl, server.adminToken, label);
  const base = `${server.baseUrl}/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
  const put = (path, body) => retrying('mapping', async () => {
    const r = await http('PUT', `${base}${path}`, { token: server.adminToken, body });
    if (r.status !== 200) throw new Error(`PUT ${path}: ${r.status} ${r.text.slice(0, 200)}`);
  });
  await put(`/sources/${SOURCE_CHANNEL}`, { guild_id: SOURCE_GUILD, is_source: true });
  await mapLimit(channels, 8, async (t) => {
    await put(`/sources/${t}`, { guild_id: guild, is_source: false, is_target: true });
    await put(`/mappings/${SOURCE_CHANNEL}/${t}`, {});
  });
  return { ctx, channels, statusUrl: `${base}/mirroring` };
}

async function ingest(server, ctx, ids) {
  const body = batch(ctx, ids.map((id) => message(ctx, { discord_message_id: id })));
  const r = await http('POST', `${server.baseUrl}/ingest/message-batch`, { token: ctx.token, body });
  return { ok: r.status === 200, error: r.status === 200 ? null : `${r.status} ${r.text.slice(0, 200)}` };
}

async function webhookChannels(fake) {
  return new Map((await control(fake.url, 'GET', '/webhooks')).map((w) => [w.id, w.channel_id]));
}

/** The fake's log after `since` (webhook executions only, unless `all`), and the webhook map. */
async function logSince(fake, since, { all = false } = {}) {
  const q = all ? '' : '&path=/webhooks/';
  return (await control(fake.url, 'GET', `/requests?since=${since}${q}`)).requests;
}
async function nextSeq(fake) {
  return (await control(fake.url, 'GET', '/state')).next_request_seq - 1;
}

/** Polls the fake until every (signal, channel) pair has an accepted post, or the deadline. */
async function waitReceipts(fake, since, sentAt, channels, deadline) {
  let hooks = await webhookChannels(fake);
  for (;;) {
    const reqs = await logSince(fake, since);
    if (reqs.some((r) => /\/webhooks\/(\d+)\//.test(r.path) && !hooks.has(/\/webhooks\/(\d+)\//.exec(r.path)[1]))) hooks = await webhookChannels(fake);
    const rec = webhookReceipts(reqs, hooks);
    const p = pairReceipts(sentAt, channels, rec, epochNow());
    if (p.delivered === p.expected || epochNow() > deadline) return { receipts: rec, givenUpAt: epochNow() };
    await sleep(250);
  }
}

/** A dashboard socket on the tenant's feed, stamping each signal's first frame (wall clock). */
async function dashboard(server, ctx) {
  const [url] = await feedUrls(server.baseUrl, server.adminToken, ctx.tenant, 1);
  const frameAt = new Map();
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('dashboard socket: no snapshot in 15 s')), 15_000);
    ws.on('error', (e) => { clearTimeout(timer); rej(e); });
    ws.on('message', (data) => {
      const t = epochNow();
      const s = data.toString();
      if (s.includes('"snapshot"')) { clearTimeout(timer); res(); }
      for (const m of s.matchAll(/"discord_message_id":"(\d+)"/g)) if (!frameAt.has(m[1])) frameAt.set(m[1], t);
    });
  });
  return { frameAt, close: () => ws.terminate() };
}

async function stageFigures(server, statusUrl) {
  const r = await http('GET', statusUrl, { token: server.adminToken });
  if (r.status !== 200) return { error: `${r.status} ${r.text.slice(0, 200)}` };
  const m = r.json.mirroring;
  return {
    dispatch: m.latency?.dispatch?.create ?? null,
    discord_answer: m.latency?.discord_answer?.create ?? null,
    queue_depth: m.queue_depth, retrying: m.retrying, dead_lettered: m.dead_lettered,
    targets: m.targets,
  };
}

/** Warm-up: one signal to every target (creates each target's webhook, fetches the avatar). */
async function warmUp(server, fake, ctx, channels, idOf) {
  const since = await nextSeq(fake);
  const id = idOf(0);
  const r = await ingest(server, ctx, [id]);
  if (!r.ok) throw new Error(`warm-up ingest: ${r.error}`);
  const sentAt = new Map([[id, epochNow()]]);
  const { receipts, givenUpAt } = await waitReceipts(fake, since, sentAt, channels, epochNow() + 60_000);
  const p = pairReceipts(sentAt, channels, receipts, givenUpAt);
  if (p.delivered < p.expected) throw new Error(`warm-up: ${p.delivered}/${p.expected} posts arrived in 60 s`);
}

function count429(reqs) {
  return reqs.filter((r) => r.status === 429).length;
}

/**
 * Steady rate: `rate` signals/s, one per ingest request, open loop, for `seconds`, to `targets`
 * channels; a dashboard socket on the same tenant measures ingest → frame for the same signals.
 */
/** Error lines the worker logged since `mark` (a position in its log tail). */
function workerErrors(server, mark) {
  const text = server.logs.join('').slice(mark);
  const lines = text.split('\n').filter((l) => /"level":"error"|\bmirror: /.test(l));
  return { count: lines.length, first: lines[0]?.slice(0, 300) ?? null };
}
const logMark = (server) => server.logs.join('').length;

export async function steadyRun(stack, sc, { seconds, drainMs, idPrefix, idOf, pgids }) {
  const { server } = stack;
  const mark = logMark(server);
  const fake = stack.services['fake-discord'];
  const { ctx, channels, statusUrl } = await mappedTenant(server, fake, `mir${sc.targets}`, sc.targets);
  const warmPrefix = idPrefix();
  await warmUp(server, fake, ctx, channels, (i) => idOf(warmPrefix, i));
  const dash = await dashboard(server, ctx);
  try {
    await sleep(2_100); // the warm-up's webhook window has closed: every run starts on fresh buckets
    const since = await nextSeq(fake);
    const prefix = idPrefix();
    const n = Math.round(sc.rate * seconds);
    const sentAt = new Map();
    const reqMs = [];
    const errors = [];
    const inflight = new Set();
    const cpuEnd = cpuWindow(pgids);
    const t0 = epochNow() + 20;
    for (let i = 0; i < n; i++) {
      await sleep(t0 + (i * 1000) / sc.rate - epochNow());
      const id = idOf(prefix, i);
      const ts = epochNow();
      sentAt.set(id, ts);
      const p = ingest(server, ctx, [id])
        .then((r) => { reqMs.push(epochNow() - ts); if (!r.ok) errors.push(r.error); }, (e) => errors.push(String(e?.message ?? e)))
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.allSettled([...inflight]);
    const { receipts, givenUpAt } = await waitReceipts(fake, since, sentAt, channels, epochNow() + drainMs);
    const cpu = cpuEnd();
    const pair = pairReceipts(sentAt, channels, receipts, givenUpAt);
    const all = await logSince(fake, since, { all: true });
    const stages = await stageFigures(server, statusUrl);
    const frames = frameLatency(sentAt, dash.frameAt, givenUpAt);
    const req = summary(reqMs);
    const { latencies, ...row } = pair;
    // Per signal (send order): the slowest and fastest of its targets — a stall shows as a run
    // of high maxima, fan-out cost as a wide min..max.
    const bySignal = [];
    for (let i = 0; i < n; i++) {
      const l = latencies.slice(i * channels.length, (i + 1) * channels.length);
      bySignal.push([round(Math.min(...l), 0), round(Math.max(...l), 0)]);
    }
    // The slowest target's own story, for a stall: every request the fake saw for its webhook
    // or channel (ms after the first send), and what the status API says of its queue.
    let slowest = null;
    for (let k = 0; k < channels.length; k++) {
      let worst = -Infinity;
      for (let i = 0; i < n; i++) worst = Math.max(worst, latencies[i * channels.length + k]);
      if (!slowest || worst > slowest.worst_ms) slowest = { channel: channels[k], worst_ms: round(worst, 0) };
    }
    if (slowest && slowest.worst_ms > 1000) {
      const hook = [...(await webhookChannels(fake))].find(([, c]) => c === slowest.channel)?.[0];
      const firstSend = Math.min(...sentAt.values());
      slowest.requests = all.filter((x) => x.path.includes(slowest.channel) || (hook && x.path.includes(hook)))
        .map((x) => `${round(x.at_ms - firstSend, 0)} ${x.method} ${x.path.replace(/\/[\w-]{30,}/g, '/…')} ${x.status}`);
      slowest.target_status = stages.targets?.find((t) => t.target_channel_id === slowest.channel) ?? null;
    }
    return {
      name: sc.name, targets: sc.targets, rate_per_s: sc.rate, duration_s: seconds, signals: n,
      by_signal_min_max_ms: bySignal, slowest_target: slowest,
      ...row, http_429: count429(all), ingest_errors: errors.length, first_error: errors[0] ?? null,
      ingest_request_ms: { p50: round(req.p50), p99: round(req.p99), max: round(req.max) },
      dashboard: frames, stages, cpu, worker_errors: workerErrors(server, mark),
    };
  } finally {
    dash.close();
  }
}

/**
 * Burst: `burst` signals in one ingest batch to `targets` fresh channels, so each target's
 * webhook bucket (Discord's 5 per 2 s) is exhausted: posts must wait exactly for its reset,
 * none may be lost, and none may draw a 429 (the bucket is advertised in every answer).
 */
export async function burstRun(stack, sc, { drainMs, idPrefix, idOf, pgids }) {
  const { server } = stack;
  const mark = logMark(server);
  const fake = stack.services['fake-discord'];
  const limits = await control(fake.url, 'GET', '/limits');
  const { limit, window_ms: windowMs } = limits.webhook;
  const { ctx, channels, statusUrl } = await mappedTenant(server, fake, `burst${sc.targets}`, sc.targets);
  const warmPrefix = idPrefix();
  await warmUp(server, fake, ctx, channels, (i) => idOf(warmPrefix, i));
  await sleep(windowMs + 200);
  const since = await nextSeq(fake);
  const prefix = idPrefix();
  const ids = Array.from({ length: sc.burst }, (_, i) => idOf(prefix, i));
  const cpuEnd = cpuWindow(pgids);
  const ts = epochNow();
  const r = await ingest(server, ctx, ids);
  const reqMs = epochNow() - ts;
  if (!r.ok) throw new Error(`burst ingest: ${r.error}`);
  const sentAt = new Map(ids.map((id) => [id, ts]));
  const ideal = (Math.ceil(sc.burst / limit) - 1) * windowMs;
  const { receipts, givenUpAt } = await waitReceipts(fake, since, sentAt, channels, epochNow() + ideal + drainMs);
  const cpu = cpuEnd();
  const pair = pairReceipts(sentAt, channels, receipts, givenUpAt);
  const all = await logSince(fake, since, { all: true });
  const stages = await stageFigures(server, statusUrl);
  const waits = [];
  let overLimit = 0;
  let windows = 0;
  for (const c of channels) {
    const times = receipts.filter((x) => x.channel === c && x.status >= 200 && x.status < 300).map((x) => x.at_ms).sort((a, b) => a - b);
    const b = bucketWaits(times, limit, windowMs);
    waits.push(...b.waits_ms);
    overLimit += b.over_limit;
    windows += b.windows;
  }
  const w = summary(waits);
  const { latencies, ...row } = pair;
  return {
    name: sc.name, targets: sc.targets, burst: sc.burst, signals: sc.burst,
    ...row, http_429: count429(all), ingest_request_ms: round(reqMs),
    bucket: { limit, window_ms: windowMs, ideal_last_ms: ideal, windows, over_limit: overLimit,
      wait_beyond_reset_ms: { n: w.n, p50: round(w.p50), p95: round(w.p95), max: round(w.max) } },
    stages, cpu, worker_errors: workerErrors(server, mark),
  };
}

/**
 * The in-run reference: the fake's own webhook round trip from Node, on a channel and webhook
 * of its own, `n` posts at 2/s (inside its 5-per-2 s bucket): what Discord's answer costs on
 * this machine with no worker in the way. `one_way_ms` is send stamp → the fake's `at_ms`,
 * the same pairing as the mirrored posts.
 */
export async function fakeRoundTrip(fake, n) {
  const ch = (await control(fake.url, 'POST', '/channels', { name: 'bench-reference', type: 0 })).id;
  const res = await fetch(`${fake.seed.api_base}/channels/${ch}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bot ${fake.seed.bot_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench reference' }),
  });
  const hook = { status: res.status, json: await res.json().catch(() => null) };
  if (hook.status !== 200) throw new Error(`reference webhook: ${hook.status} ${JSON.stringify(hook.json)}`);
  const url = `${fake.seed.api_base}/webhooks/${hook.json.id}/${hook.json.token}?wait=true`;
  const since = await nextSeq(fake);
  const rtt = [];
  const sentAt = new Map();
  for (let i = 0; i < n; i++) {
    const id = String(1_300_000_000_000_000_000n + BigInt(Date.now()) * 1000n + BigInt(i));
    const t = epochNow();
    sentAt.set(id, t);
    const r = await http('POST', url, { body: { content: `signal ${id}`, allowed_mentions: { parse: [] } } });
    rtt.push(epochNow() - t);
    if (r.status !== 200) throw new Error(`reference post: ${r.status} ${r.text.slice(0, 200)}`);
    await sleep(500 - (epochNow() - t));
  }
  const rec = webhookReceipts(await logSince(fake, since), new Map([[hook.json.id, ch]]));
  const p = pairReceipts(sentAt, [ch], rec, epochNow());
  const s = summary(rtt);
  return { posts: n, round_trip_ms: { p50: round(s.p50), p95: round(s.p95), p99: round(s.p99), max: round(s.max) }, one_way_ms: { p50: p.p50_ms, p95: p.p95_ms, max: p.max_ms } };
}
