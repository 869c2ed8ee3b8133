#!/usr/bin/env node
// Signal Relay benchmark suite (issue 3). Run through script/bench; see docs/benchmarks.md.
//
//   node bench/run.mjs [--quick] [--only <scenario-substring>] [--harness wrangler|miniflare] [--direct] [--profile] [--client ws|raw]
//                      [--ours-var KEY=VALUE]…
//                      [--client-threads N] [--state-dir DIR] [--reference-shards K] [--out FILE]
//
// Starts the real worker (harness/worker.mjs), a Node `ws` broadcast baseline and the
// reference Durable Object, drives each through its public HTTP API while subscriber WebSockets
// held by worker threads stamp every receipt, and writes bench/results/latest.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, dirname } from 'node:path';
import { ROOT } from '../harness/process.mjs';
import { makeClock } from './lib/clock.mjs';
import { SubscriberPool } from './lib/pool.mjs';
import { latencyStats, summary, round } from './lib/stats.mjs';
import { cpuWindow } from './lib/procstat.mjs';
import { startProfile, summarize } from './lib/profile.mjs';
import { startOurs, startBaseline, startReference, killAllSync, directUrl } from './lib/servers.mjs';
import { startStack } from '../harness/services.mjs';
import { steadyRun, burstRun, fakeRoundTrip } from './lib/mirror.mjs';
import {
  oursTarget, baselineTarget, referenceTarget, frameFactory, provisionTenant, ingestBatch, feedUrls, http,
} from './lib/targets.mjs';

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  if (i + 1 >= argv.length) usage(`${name} needs a value`);
  return argv[i + 1];
};
function usage(err) {
  if (err) console.error(`error: ${err}`);
  console.error('usage: script/bench [--quick] [--only <scenario-substring>] [--harness wrangler|miniflare] [--direct] [--profile] [--client ws|raw] [--client-threads N] [--ours-var KEY=VALUE]… [--state-dir DIR] [--reference-shards K] [--out FILE]');
  console.error('  --harness wrangler (default): ours and the reference under `wrangler dev`, as the run command starts them;');
  console.error('            miniflare: the same builds and configs under Miniflare\'s API — workerd without the dev proxy and inspector');
  console.error('  --warmup N  uncounted signals before each system\'s first latency run per subscriber count (default 10, quick 5)');
  console.error('  --ours-var  override one of our worker\'s [vars] (e.g. PROJECTION_DEBOUNCE_MS=50) to measure a tuning; ACCESS_LOG defaults to errors');
  console.error('  --profile CPU-profile our worker\'s isolate during each of its runs (bench/results/profile-*.json)');
  console.error('  --direct  talk to the runtime workerd port, bypassing wrangler dev\'s proxy (ours and reference)');
  console.error('  --state-dir  where the servers keep local storage (default: the OS temp dir, on disk; e.g. /dev/shm for memory)');
  console.error('  --reference-shards K  run the reference as K servers (K workerd threads), subscribers spread over them (default 1)');
  console.error('  --client  subscriber WebSocket client: ws (the ws package, default) or raw (bench/lib/rawws.mjs)');
  process.exit(err ? 2 : 0);
}
if (flag('--help') || flag('-h')) usage();
const BOOLEAN = new Set(['--quick', '--direct', '--profile']);
const known = new Set([...BOOLEAN, '--harness', '--warmup', '--only', '--client', '--client-threads', '--out', '--ours-var', '--state-dir', '--reference-shards']);
for (let i = 0; i < argv.length; i++) {
  if (!known.has(argv[i])) usage(`unknown argument ${argv[i]}`);
  if (!BOOLEAN.has(argv[i])) i++;
}

const QUICK = flag('--quick');
const DIRECT = flag('--direct');
const PROFILE = flag('--profile');
const HARNESS = opt('--harness', 'wrangler');
if (!['wrangler', 'miniflare'].includes(HARNESS)) usage(`--harness must be wrangler or miniflare, not ${HARNESS}`);
if (HARNESS === 'miniflare' && (DIRECT || PROFILE)) usage('--direct and --profile need the wrangler harness (they use its proxy and inspector)');
const ONLY = opt('--only', null);
// Sharding measured on the obvious design: one workerd runs everything on one thread, so shards
// that get threads of their own (as objects do in production) need processes of their own here.
const REFERENCE_SHARDS = Number(opt('--reference-shards', '1'));
if (!Number.isInteger(REFERENCE_SHARDS) || REFERENCE_SHARDS < 1 || REFERENCE_SHARDS > 8) usage('--reference-shards needs 1..8');
if (REFERENCE_SHARDS > 1 && DIRECT) usage('--reference-shards and --direct do not combine');
// Every server's persistence directory (and wrangler's scratch files) is made under the temp
// dir. Local storage commits wait for the disk; production storage is not a local disk at all,
// so this lets a run separate the two (docs/benchmarks.md, "What limits us" 4).
const STATE_DIR = opt('--state-dir', null);
if (STATE_DIR !== null) {
  if (!existsSync(STATE_DIR) || !statSync(STATE_DIR).isDirectory()) usage(`--state-dir ${STATE_DIR} is not a directory`);
  process.env.TMPDIR = STATE_DIR;
}
const CLIENT_THREADS = Number(opt('--client-threads', String(Math.min(2, Math.max(1, os.availableParallelism?.() ?? os.cpus().length)))));
const OUT = opt('--out', join(ROOT, 'bench/results/latest.json'));
const CLIENT = opt('--client', 'ws');
// The references log nothing. Our per-request access line is cheap in production but, under
// wrangler dev, every console.log crosses the inspector into wrangler's Node process (~1.4 ms of
// its CPU and ~0.9 ms of the runtime's per request, measured on the resume storm), so by default
// ours logs failures only. `--ours-var ACCESS_LOG=all` measures the dev default.
const OURS_VARS = { ACCESS_LOG: 'errors' };
argv.forEach((a, i) => {
  if (a !== '--ours-var') return;
  const m = /^([A-Z0-9_]+)=(.*)$/.exec(argv[i + 1] ?? '');
  if (!m) usage('--ours-var needs KEY=VALUE');
  OURS_VARS[m[1]] = m[2];
});
if (CLIENT !== 'raw' && CLIENT !== 'ws') usage('--client must be raw or ws');
const CFG = QUICK
  ? { latencySeconds: 10, drainMs: 5_000, maxOverrunMs: 3_000, throughputSeconds: 5, warmupSignals: 5, resumeTimeoutMs: 30_000, watchdogMs: 9 * 60_000, mirrorSeconds: 10, mirrorDrainMs: 20_000, mirrorReferencePosts: 10 }
  : { latencySeconds: 20, drainMs: 15_000, maxOverrunMs: 8_000, throughputSeconds: 10, warmupSignals: 10, resumeTimeoutMs: 60_000, watchdogMs: 25 * 60_000, mirrorSeconds: 20, mirrorDrainMs: 30_000, mirrorReferencePosts: 20 };
// Signals sent (and not counted) before each system's first latency run at a subscriber count.
if (opt('--warmup', null) !== null) {
  const w = Number(opt('--warmup'));
  if (!Number.isInteger(w) || w < 1 || w > 10_000) usage('--warmup needs a signal count (1..10000)');
  CFG.warmupSignals = w;
}
const INFLIGHT_CAP = 64;
const WINDOW_MS = 2000;

const hrBase = process.hrtime.bigint();
const now = makeClock(hrBase);
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const log = (...a) => console.log(...a);

// ---------------------------------------------------------------------------------------------
// Scenarios

const LATENCY = [
  { name: 'latency 1 sub @ 20/s', subs: 1, rate: 20 },
  { name: 'latency 100 subs @ 20/s', subs: 100, rate: 20 },
  { name: 'latency 1000 subs @ 20/s', subs: 1000, rate: 20 },
  { name: 'latency 1000 subs @ 50/s', subs: 1000, rate: 50 },
];
const THROUGHPUT = [
  { name: 'throughput 1 tenant, batch 1', tenants: 1, batchSize: 1, concurrency: 8 },
  { name: 'throughput 1 tenant, batch 100', tenants: 1, batchSize: 100, concurrency: 4 },
  { name: 'throughput 8 tenants, batch 100', tenants: 8, batchSize: 100, concurrency: 2 },
];
const RESUME = [{ name: 'resume 1000 subs after 1000 missed', subs: 1000, missed: 1000 }];
// Scenario 4 (issue 11), bench/lib/mirror.mjs. 1 signal/s keeps every bucket of the fake (Discord's
// defaults) unexhausted: per webhook 2 of 5 posts per 2 s window; per channel at most 21 (20 +
// the warm-up) of the unadvertised 30 per minute — a steady run longer than ~29 s at this rate,
// or any rate above 0.5/s sustained past a minute, would exhaust that one. The burst exhausts
// the per-webhook bucket on purpose (one batch of `burst` signals, 5 posts per 2 s window).
const MIRROR = [
  { name: 'mirror 1 target @ 1/s', targets: 1, rate: 1 },
  { name: 'mirror 10 targets @ 1/s', targets: 10, rate: 1 },
  { name: 'mirror 50 targets @ 1/s', targets: 50, rate: 1 },
  { name: 'mirror burst, 10 targets', targets: 10, burst: QUICK ? 10 : 20 },
];
const SKIPPED = [];
const selected = (s) => !ONLY || s.name.toLowerCase().includes(ONLY.toLowerCase());
const latencySel = LATENCY.filter(selected);
const throughputSel = THROUGHPUT.filter(selected);
const resumeSel = RESUME.filter(selected);
const mirrorSel = MIRROR.filter(selected);
if (!latencySel.length && !throughputSel.length && !resumeSel.length && !mirrorSel.length) {
  const all = [...LATENCY, ...THROUGHPUT, ...RESUME, ...MIRROR].map((s) => `  ${s.name}`).join('\n');
  usage(`--only ${JSON.stringify(ONLY)} matches no scenario; scenarios:\n${all}`);
}

// ---------------------------------------------------------------------------------------------
// Cleanup: every child process group is killed however we leave.

const stoppers = [];
let pool = null;
let cleaning = null;
let aborted = null; // set by a signal or the watchdog: stop everything, write nothing
function checkAborted() {
  if (aborted) throw new Error(aborted);
}
async function cleanup() {
  if (cleaning) return cleaning;
  cleaning = (async () => {
    const deadline = sleep(20_000);
    const work = (async () => {
      if (pool) await pool.terminate().catch(() => {});
      await Promise.all(stoppers.map((s) => s().catch(() => {})));
    })();
    await Promise.race([work, deadline]);
    killAllSync();
  })();
  return cleaning;
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    aborted = `interrupted by ${sig}`;
    console.error(`\n${sig}: stopping servers…`);
    cleanup().finally(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  aborted = 'watchdog';
  console.error(`\nwatchdog: the benchmark ran longer than ${CFG.watchdogMs / 60000} min; aborting`);
  cleanup().finally(() => process.exit(3));
}, CFG.watchdogMs);
watchdog.unref();

// ---------------------------------------------------------------------------------------------
// Machine and build facts

function sh(cmd, args) {
  try { return execFileSync(cmd, args, { cwd: ROOT, timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(); } catch { return null; }
}
function pkgVersion(name) {
  try { return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version; } catch { return null; }
}
function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? null,
    cores: cpus.length,
    memory_bytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    workerd: sh(join(ROOT, 'node_modules/.bin/workerd'), ['--version']) ?? pkgVersion('workerd'),
    wrangler: pkgVersion('wrangler'),
    ws: pkgVersion('ws'),
    loadavg_at_start: os.loadavg().map((x) => round(x)),
    client_threads: CLIENT_THREADS,
    ours_vars: OURS_VARS,
    client: CLIENT === "raw" ? "raw WebSocket client (bench/lib/rawws.mjs)" : "ws package",
    harness: HARNESS,
    reference_shards: REFERENCE_SHARDS,
    state_dir: os.tmpdir(),
    path: HARNESS === 'miniflare'
      ? 'Miniflare API: workerd\'s own port, no dev proxy, no inspector'
      : DIRECT ? 'direct to the runtime workerd (wrangler dev proxy bypassed)' : 'through wrangler dev\'s public port (its ProxyWorker relays every request and frame)',
    note: 'shared machine: absolute figures vary with other load; compare the ratios',
  };
}

// ---------------------------------------------------------------------------------------------
// Ids: 12-digit run prefix + 7-digit signal index = a 19-digit snowflake-shaped id.

// A concurrent rebuild of build/ during the run: startServer() runs a private copy of the build
// made at start, so the figures stay with the build measured at start, but wasm_bytes and
// git_sha may no longer describe what build/ holds now. Noted so nobody is misled.
const warnings = [];
function buildStamp() {
  try {
    return ['build/index.js', 'build/index_bg.wasm'].map((f) => statSync(join(ROOT, f)).mtimeMs).join('/');
  } catch {
    return 'missing';
  }
}
let lastBuild = buildStamp();
function noteBuildChange(where) {
  const b = buildStamp();
  if (b === lastBuild) return;
  lastBuild = b;
  const w = `build/ changed during ${where} (a concurrent rebuild); the server runs the copy it started with, wasm_bytes describes the build at start`;
  warnings.push(w);
  log(`    warning: ${w}`);
}

/** With --profile, samples our isolate for one run; the returned function ends it. */
async function maybeProfile(target, label) {
  if (!PROFILE || target.name !== 'ours') return async () => null;
  let stop;
  try {
    stop = await startProfile(target.pgid());
  } catch (e) {
    return async () => ({ error: String(e?.message ?? e) });
  }
  return async (units) => {
    try {
      const prof = await stop();
      if (!prof) return null;
      const file = join(dirname(OUT), `profile-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}.json`);
      writeFileSync(file, JSON.stringify(prof));
      const sum = summarize(prof);
      return { file, units, busy_ms_per_unit: units ? round(sum.busy_ms / units, 3) : null, ...sum };
    } catch (e) {
      return { error: String(e?.message ?? e) };
    }
  };
}

let runCounter = 0;
function idPrefix() {
  const head = (BigInt(Date.now() - 1_420_070_400_000) << 22n) / 10_000_000n;
  return (head + BigInt(++runCounter * 7)).toString().padStart(12, '1').slice(-12);
}
const idOf = (prefix, i) => prefix + String(i).padStart(7, '0');

// ---------------------------------------------------------------------------------------------
// Latency runs

let stragglers = new Set(); // publish requests still in flight from an earlier run

async function settleStragglers(maxMs = 10_000) {
  if (!stragglers.size) return;
  await Promise.race([Promise.allSettled([...stragglers]), sleep(maxMs)]);
}

/**
 * Publishes `rate × seconds` signals at a steady rate (open loop, at most INFLIGHT_CAP requests
 * in flight) to subscribers already open in `pool`, and measures each receipt against its
 * send stamp. If the cap holds a send back, the server is pushing back: that signal's clock
 * starts at its scheduled time, not when we finally sent it (no coordinated omission). Sending
 * stops `maxOverrunMs` after the scheduled end; what was not sent by then counts as undelivered.
 */
async function latencyRun(target, room, rate, seconds, { warmup = false } = {}) {
  checkAborted();
  await settleStragglers();
  const n = warmup ? CFG.warmupSignals : Math.round(rate * seconds);
  const prefix = idPrefix();
  const sendAt = new Float64Array(n).fill(NaN);
  const reqMs = [];
  const errors = [];
  const retried = [];
  let late = 0;
  let unsent = 0;
  await pool.arm(prefix, n);
  const profEnd = warmup ? async () => null : await maybeProfile(target, `${target.name} ${pool.size} subs ${rate}ps`);
  const cpuEnd = cpuWindow(target.pgid());
  const interval = 1000 / rate;
  const t0 = now() + 20;
  const stopAt = t0 + seconds * 1000 + CFG.maxOverrunMs;
  const inflight = new Set();
  for (let i = 0; i < n; i++) {
    const due = t0 + i * interval;
    await sleep(due - now());
    let blocked = false;
    while (inflight.size >= INFLIGHT_CAP && now() < stopAt) {
      blocked = true;
      await Promise.race([...inflight, sleep(stopAt - now())]);
    }
    if (now() >= stopAt) {
      for (let j = i; j < n; j++) sendAt[j] = t0 + j * interval;
      unsent = n - i;
      break;
    }
    const ts = now();
    if (blocked) late++;
    sendAt[i] = blocked ? due : ts;
    const p = target.publish(room, idOf(prefix, i), i)
      .then((r) => { reqMs.push(now() - ts); if (r.retried) retried.push(r.retried); if (!r.ok) errors.push(r.error); }, (e) => errors.push(String(e?.message ?? e)))
      .finally(() => { inflight.delete(p); stragglers.delete(p); });
    inflight.add(p);
    stragglers.add(p);
  }
  const lastSend = now();
  const expected = n * pool.size;
  const deadline = lastSend + (warmup ? 10_000 : CFG.drainMs);
  const c = await pool.waitFor(expected, deadline, now);
  const givenUpAt = now();
  const cpu = cpuEnd();
  const profile = await profEnd(n - unsent);
  const parts = await pool.collect();
  if (warmup) return { delivered: c.count, expected };
  const st = latencyStats(sendAt, parts, givenUpAt, WINDOW_MS);
  let lastRecv = -Infinity;
  for (const p of parts) for (let k = 0; k < p.recv.length; k++) if (p.recv[k] > lastRecv) lastRecv = p.recv[k];
  const firstSend = sendAt[0];
  const serverMs = cpu.server_total_ms;
  const runtimeMs = cpu.server_ms['workerd:runtime'] ?? null;
  const wsMessages = parts.reduce((a, p) => a + p.frames, 0);
  const req = summary(reqMs);
  noteBuildChange(`${target.name}: ${rate}/s × ${pool.size}`);
  return {
    target: target.name,
    subscribers: pool.size,
    rate_per_s: rate,
    duration_s: seconds,
    delivered: st.delivered,
    expected: st.expected,
    p50_ms: round(st.p50), p95_ms: round(st.p95), p99_ms: round(st.p99), max_ms: round(st.max),
    throughput_per_s: Number.isFinite(lastRecv) && lastRecv > firstSend ? round((st.delivered * 1000) / (lastRecv - firstSend), 1) : null,
    censored: st.censored,
    timeline: st.timeline,
    sent: n - unsent,
    unsent,
    late_sends: late,
    publish_errors: errors.length,
    first_error: errors[0] ?? null,
    publish_retries: retried.length,
    first_retry_cause: retried[0] ?? null,
    publish_ms: { p50: round(req.p50), p99: round(req.p99), max: round(req.max) },
    duplicates: parts.reduce((a, p) => a + p.dupes, 0),
    ws_messages: wsMessages,
    events_per_message: wsMessages ? round(st.delivered / wsMessages, 2) : null,
    unexpected_closes: c.unexpectedCloses,
    cpu: {
      ...cpu,
      server_ms_per_signal: round(serverMs / Math.max(1, n - unsent), 3),
      server_us_per_delivery: st.delivered ? round((serverMs * 1000) / st.delivered, 2) : null,
      runtime_us_per_delivery: st.delivered && runtimeMs !== null ? round((runtimeMs * 1000) / st.delivered, 2) : null,
      runtime_us_per_message: wsMessages && runtimeMs !== null ? round((runtimeMs * 1000) / wsMessages, 2) : null,
      client_thread_elu: parts.map((p) => round(p.elu, 3)),
    },
    ...(profile ? { profile } : {}),
  };
}

/** Opens `subs` subscribers (minting their URLs unless given); returns the URLs and timings. */
async function openSubscribers(target, room, subs, urls = null) {
  const t = now();
  urls ??= await target.urls(room, subs);
  const tickets = now() - t;
  const o = await pool.open(urls, { expectInitial: target.expectInitial, concurrency: 100, timeoutMs: 20_000 });
  if (o.ok < subs) throw new Error(`${target.name}: only ${o.ok}/${subs} subscribers connected: ${o.errors.join('; ')}`);
  if (o.missingInitial) log(`    ${target.name}: ${o.missingInitial} sockets did not receive their initial frame`);
  return { urls, urls_ms: round(tickets, 0), open_ms: round(now() - t - tickets, 0) };
}

async function latencyScenarios(targets) {
  const results = new Map(); // scenario name → { ours, baseline, reference }
  const bySubs = new Map();
  for (const s of latencySel) bySubs.set(s.subs, [...(bySubs.get(s.subs) ?? []), s]);
  for (const [subs, scenarios] of bySubs) {
    for (const target of targets) {
      let room = null;
      let urls = null;
      let fresh = true;
      for (const sc of scenarios) {
        checkAborted();
        const entry = results.get(sc.name) ?? {};
        results.set(sc.name, entry);
        try {
          if (fresh) {
            // A backlog from a run that did not drain lives in the server's request queue and in
            // the sockets' buffers: close the sockets, let queued publishes finish (cheap with
            // no sockets), then reconnect (same tickets: they are valid for 10 minutes).
            if (pool.size) await pool.closeAll();
            await settleStragglers(20_000);
            if (room === null) room = await target.room(`lat${subs}`);
            const opened = await openSubscribers(target, room, subs, urls);
            urls = opened.urls;
            log(`  ${target.name}: ${subs} subscriber(s) open (urls ${opened.urls_ms} ms, connect ${opened.open_ms} ms)`);
            const w = await latencyRun(target, room, sc.rate, CFG.warmupSignals / sc.rate, { warmup: true });
            if (w.delivered < w.expected) log(`    ${target.name}: warm-up delivered ${w.delivered}/${w.expected}`);
            fresh = false;
          }
          log(`  ${target.name}: ${sc.name} for ${CFG.latencySeconds} s …`);
          const r = await latencyRun(target, room, sc.rate, CFG.latencySeconds);
          entry[target.name] = r;
          log(`    delivered ${r.delivered}/${r.expected}  p50 ${fmt(r.p50_ms)}  p99 ${fmt(r.p99_ms)}  max ${fmt(r.max_ms)} ms  (publish p50 ${fmt(r.publish_ms.p50)} ms, ${fmt(r.events_per_message, 2)} events/message, server CPU ${fmt(r.cpu.server_us_per_delivery)} µs/delivery${r.publish_errors ? `, ${r.publish_errors} publish errors: ${r.first_error}` : ''})`);
          // A run that did not drain leaves a backlog (or dead sockets): start the next rate clean.
          if (r.delivered < r.expected || r.unexpected_closes > 0) fresh = true;
        } catch (e) {
          checkAborted();
          entry[target.name] = { target: target.name, error: String(e?.message ?? e) };
          log(`    ${target.name}: ${sc.name} failed: ${e?.message ?? e}`);
          fresh = true;
          room = null;
          urls = null;
        }
      }
    }
    if (pool.size) await pool.closeAll();
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Throughput: closed loop, `concurrency` requests in flight per tenant, fresh ids throughout.

async function throughputRun(ours, sc, seconds) {
  const ctxs = [];
  for (let t = 0; t < sc.tenants; t++) ctxs.push(await provisionTenant(ours.baseUrl, ours.server.adminToken, `tp${t}`));
  // Wake each tenant object before the clock starts.
  for (const ctx of ctxs) await ingestBatch(ours.baseUrl, ctx, [idOf(idPrefix(), 0)]);
  const prefix = idPrefix();
  let counter = 0;
  let sent = 0;
  let accepted = 0;
  const errors = [];
  const reqMs = [];
  const profEnd = await maybeProfile({ name: 'ours', pgid: ours.pgid }, sc.name);
  const cpuEnd = cpuWindow(ours.pgid());
  const t0 = now();
  const end = t0 + seconds * 1000;
  let lastDone = t0;
  const lane = async (ctx) => {
    while (now() < end) {
      const ids = Array.from({ length: sc.batchSize }, () => idOf(prefix, counter++));
      const ts = now();
      try {
        const r = await ingestBatch(ours.baseUrl, ctx, ids);
        sent += ids.length;
        if (r.ok) accepted += r.accepted; else errors.push(r.error);
      } catch (e) {
        sent += ids.length;
        errors.push(String(e?.message ?? e));
      }
      lastDone = now();
      reqMs.push(lastDone - ts);
    }
  };
  await Promise.all(ctxs.flatMap((ctx) => Array.from({ length: sc.concurrency }, () => lane(ctx))));
  const elapsed = (lastDone - t0) / 1000;
  const cpu = cpuEnd();
  const profile = await profEnd(accepted);
  const req = summary(reqMs);
  noteBuildChange(sc.name);
  return {
    row: {
      name: sc.name, subscribers: 0, tenants: sc.tenants, rate_per_s: null, duration_s: round(elapsed, 2),
      delivered: accepted, expected: sent,
      p50_ms: round(req.p50), p95_ms: round(req.p95), p99_ms: round(req.p99), max_ms: round(req.max),
      throughput_per_s: round(accepted / elapsed, 1),
      baseline_p99_ms: null, reference_p99_ms: null, ratio_baseline_p99: null, ratio_reference_p99: null,
    },
    detail: {
      what: 'p50..max are HTTP request latencies of POST /ingest/message-batch; delivered/expected = messages accepted/sent',
      batch_size: sc.batchSize, in_flight: sc.concurrency * sc.tenants, requests: reqMs.length,
      ...(profile ? { profile } : {}),
      errors: errors.length, first_error: errors[0] ?? null,
      cpu: {
        ...cpu,
        server_us_per_message: accepted ? round((cpu.server_total_ms * 1000) / accepted, 1) : null,
        runtime_us_per_message: accepted ? round(((cpu.server_ms['workerd:runtime'] ?? 0) * 1000) / accepted, 1) : null,
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Resume: subscribers leave, signals are missed, everyone reconnects with since=<last seq>.

async function resumeRun(ours, sc) {
  const target = oursTarget(ours);
  const ctx = await target.room('resume');
  await openSubscribers(target, ctx, sc.subs);
  // One live signal: everyone is current, and we learn the seq they are current at.
  const wPrefix = idPrefix();
  await pool.arm(wPrefix, 1);
  const w = await ingestBatch(ours.baseUrl, ctx, [idOf(wPrefix, 0)]);
  if (!w.ok) throw new Error(`resume warm-up ingest: ${w.error}`);
  const wc = await pool.waitFor(sc.subs, now() + 15_000, now);
  await pool.collect();
  if (wc.count < sc.subs) throw new Error(`resume: only ${wc.count}/${sc.subs} subscribers saw the live signal`);
  const since = w.seq;
  await pool.closeAll();

  const prefix = idPrefix();
  let lastSeq = since;
  for (let i = 0; i < sc.missed; i += 100) {
    const ids = Array.from({ length: Math.min(100, sc.missed - i) }, (_, j) => idOf(prefix, i + j));
    const r = await ingestBatch(ours.baseUrl, ctx, ids);
    if (!r.ok) throw new Error(`resume ingest: ${r.error}`);
    lastSeq = r.seq;
  }
  const tk = now();
  const urls = await feedUrls(ours.baseUrl, ours.server.adminToken, ctx.tenant, sc.subs, { since });
  const ticketMs = now() - tk;

  const cpuEnd = cpuWindow(ours.pgid());
  const t0 = now();
  const opened = await pool.open(urls, { arm: { prefix, n: sc.missed }, expectInitial: false, concurrency: sc.subs, timeoutMs: 20_000 });
  const handshakesMs = now() - t0;
  const expected = sc.subs * sc.missed;
  const c = await pool.waitFor(expected, t0 + CFG.resumeTimeoutMs, now);
  const givenUpAt = now();
  const cpu = cpuEnd();
  const parts = await pool.collect();
  await pool.closeAll();
  noteBuildChange(sc.name);
  const perSub = [];
  let complete = 0;
  for (const p of parts) {
    for (let s = 0; s < p.sockets; s++) {
      let last = -Infinity;
      let all = true;
      for (let i = 0; i < p.n; i++) {
        const t = p.recv[s * p.n + i];
        if (t !== t) { all = false; break; }
        if (t > last) last = t;
      }
      if (all) complete++;
      perSub.push(all ? last - t0 : givenUpAt - t0);
    }
  }
  const st = summary(perSub);
  const allDone = complete === sc.subs ? st.max : null;
  return {
    row: {
      name: sc.name, subscribers: sc.subs, tenants: 1, rate_per_s: null,
      duration_s: allDone === null ? null : round(allDone / 1000, 3),
      delivered: c.count, expected,
      p50_ms: round(st.p50), p95_ms: round(st.p95), p99_ms: round(st.p99), max_ms: round(st.max),
      throughput_per_s: round((c.count * 1000) / Math.max(1, (allDone ?? givenUpAt - t0)), 1),
      baseline_p99_ms: null, reference_p99_ms: null, ratio_baseline_p99: null, ratio_reference_p99: null,
    },
    detail: {
      what: 'p50..max: per subscriber, time from the start of the reconnect storm until it held every missed signal; duration_s: until all had',
      since, last_seq: lastSeq, caught_up: complete, connected: opened.ok, connect_failed: opened.failed,
      connect_errors: opened.errors, handshakes_ms: round(handshakesMs, 0), ticket_mint_ms: round(ticketMs, 0),
      cpu,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Output

function fmt(x, d = 1) {
  if (x === null || x === undefined) return '—';
  if (typeof x !== 'number') return String(x);
  return x >= 1000 ? x.toFixed(0) : x.toFixed(d);
}
function pad(s, w, left = false) {
  s = String(s);
  return left ? s.padEnd(w) : s.padStart(w);
}

function printProfiles(details) {
  const profiled = [];
  for (const [name, d] of Object.entries(details)) {
    if (d.ours?.profile) profiled.push([name, d.ours.profile]);
    else if (d.profile) profiled.push([name, d.profile]);
  }
  if (!profiled.length) return;
  log('\nCPU profile of our isolate (edge worker + tenant DO; D1 itself runs elsewhere), ms:');
  for (const [name, p] of profiled) {
    if (p.error) { log(`  ${name}: ${p.error}`); continue; }
    log(`  ${name}: busy ${p.busy_ms} of ${p.sampled_ms} ms sampled; ${p.busy_ms_per_unit} ms per ${name.startsWith('throughput') ? 'accepted message' : 'signal'}  (${p.file})`);
    log(`    self: ${Object.entries(p.self_by_category_ms).filter(([k]) => k !== 'idle').slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    log(`    inclusive: ${Object.entries(p.inclusive_rust_ms).slice(0, 10).map(([k, v]) => `${k.replace(/^signal_relay::/, '')} ${v}`).join(', ')}`);
  }
}

function printTable(rows, refs, details) {
  const head = [pad('scenario', 36, true), pad('subs', 5), pad('ten', 3), pad('rate', 5), pad('dur s', 6), pad('delivered/expected', 20),
    pad('p50', 8), pad('p95', 8), pad('p99', 8), pad('max', 8), pad('thru/s', 9), pad('base p99', 9), pad('ref p99', 9), pad('×base', 7), pad('×ref', 6)].join(' ');
  log(`\n${head}\n${'-'.repeat(head.length)}`);
  for (const r of rows) {
    const censored = details[r.name]?.ours?.censored ? '≥' : '';
    log([pad(r.name, 36, true), pad(r.subscribers, 5), pad(r.tenants, 3), pad(r.rate_per_s ?? '—', 5), pad(fmt(r.duration_s), 6),
      pad(`${r.delivered ?? '—'}/${r.expected ?? '—'}`, 20), pad(censored + fmt(r.p50_ms), 8), pad(censored + fmt(r.p95_ms), 8), pad(censored + fmt(r.p99_ms), 8),
      pad(censored + fmt(r.max_ms), 8), pad(fmt(r.throughput_per_s, 0), 9), pad(fmt(r.baseline_p99_ms), 9), pad(fmt(r.reference_p99_ms), 9),
      pad(fmt(r.ratio_baseline_p99, 2), 7), pad(fmt(r.ratio_reference_p99, 2), 6)].join(' '));
  }
  for (const s of SKIPPED) log(`${pad(s.name, 44, true)} skipped: ${s.reason}`);
  log('latency ms (ingest POST → frame at each subscriber); throughput rows: request ms and accepted messages/s;');
  log('resume row: per-subscriber catch-up ms. ≥ = some frames never arrived and count at the time we gave up.');

  if (refs.length) {
    log('\nreferences (same clients, same load):');
    log([pad('scenario', 36, true), pad('target', 10, true), pad('delivered/expected', 20), pad('p50', 8), pad('p99', 8), pad('max', 8), pad('srv µs/deliv', 13), pad('publish p50', 12)].join(' '));
    for (const r of refs) {
      const c = r.censored ? '≥' : '';
      log([pad(r.name, 36, true), pad(r.target, 10, true), pad(`${r.delivered}/${r.expected}`, 20), pad(c + fmt(r.p50_ms), 8), pad(c + fmt(r.p99_ms), 8), pad(c + fmt(r.max_ms), 8),
        pad(fmt(r.server_us_per_delivery, 2), 13), pad(fmt(r.publish_p50_ms), 12)].join(' '));
    }
  }

  const timelines = Object.entries(details).filter(([, d]) => d.subscribers >= 1000);
  if (timelines.length) {
    log(`\np99 per ${WINDOW_MS / 1000}-second window (by send time), ms — queue growth shows as a rising row:`);
    for (const [name, d] of timelines) {
      for (const t of ['ours', 'baseline', 'reference']) {
        const tl = d[t]?.timeline;
        if (!tl) continue;
        log(`  ${pad(name, 26, true)} ${pad(t, 9, true)} ${tl.map((w) => fmt(w.p99_ms, 0)).join(' ')}`);
      }
    }
  }

  const cpuRows = Object.entries(details).filter(([, d]) => d.ours?.cpu);
  if (cpuRows.length) {
    log('\nwhere the time goes (server CPU from /proc; a delivery = one signal reaching one subscriber; client event-loop utilisation per subscriber thread):');
    for (const [name, d] of cpuRows) {
      for (const t of ['ours', 'baseline', 'reference']) {
        const c = d[t]?.cpu;
        if (!c) continue;
        const srv = Object.entries(c.server_ms).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v} ms`).join(', ') || '0 ms';
        log(`  ${pad(name, 26, true)} ${pad(t, 9, true)} ${fmt(c.server_ms_per_signal, 2)} ms/signal, ${fmt(c.server_us_per_delivery, 2)} µs/delivery (runtime ${fmt(c.runtime_us_per_delivery, 2)}, ${fmt(c.runtime_us_per_message, 2)} µs/ws message, ${fmt(d[t].events_per_message, 2)} events/message); server ${srv}; client ${c.client_ms} ms, elu ${c.client_thread_elu.join('/')}; machine ${fmt(c.machine_busy_pct)}% busy, others ${c.other_ms} ms`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const t0 = Date.now();
  const wasm = join(ROOT, 'build/index_bg.wasm');
  const wasmBytes = existsSync(wasm) ? statSync(wasm).size : null;
  const gitSha = sh('git', ['rev-parse', 'HEAD']);
  const gitDirty = (sh('git', ['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
  const machine = machineInfo();
  log(`signal-relay bench ${QUICK ? '(quick)' : '(full)'} · ${gitSha?.slice(0, 12)}${gitDirty ? ' (dirty tree)' : ''} · wasm ${wasmBytes} bytes · harness ${HARNESS}`);
  if (REFERENCE_SHARDS > 1) log(`reference: sharded over ${REFERENCE_SHARDS} servers (one workerd process, so one thread, each)`);
  log(`machine: ${machine.cpu_model}, ${machine.cores} cores, ${(machine.memory_bytes / 2 ** 30).toFixed(1)} GiB, node ${machine.node}, workerd ${machine.workerd}, load ${machine.loadavg_at_start.join(' ')}`);

  const needRefs = latencySel.length > 0;
  const needOurs = latencySel.length + throughputSel.length + resumeSel.length > 0;
  // One server, or one per shard (started one after another, so their free-port searches cannot race).
  const startReferences = async () => {
    const shards = [];
    for (let k = 0; k < REFERENCE_SHARDS; k++) {
      const s = await startReference({ harness: HARNESS });
      stoppers.push(() => s.stop());
      shards.push(s);
    }
    return REFERENCE_SHARDS === 1 ? shards[0] : shards;
  };
  log('starting servers …');
  const [ours, baseline, reference] = await Promise.all([
    needOurs ? startOurs(OURS_VARS, { harness: HARNESS }).then((s) => { stoppers.push(() => s.stop()); return s; }) : null,
    needRefs ? startBaseline().then((s) => { stoppers.push(() => s.stop()); return s; }) : null,
    needRefs ? startReferences() : null,
  ].map((p) => Promise.resolve(p)));
  if (DIRECT) {
    for (const s of [ours, reference]) {
      if (!s) continue;
      const url = await directUrl(s.pgid());
      if (!url) throw new Error(`--direct: could not find the runtime workerd port of ${s.name}`);
      s.baseUrl = url;
    }
  }
  const refUrls = reference ? [reference].flat().map((s) => s.baseUrl).join(' ') : '';
  if (ours) log(`  ours ${ours.baseUrl}${baseline ? `, baseline ${baseline.baseUrl}` : ''}${reference ? `, reference ${refUrls}` : ''}${DIRECT ? ' (direct)' : ''}${HARNESS === 'miniflare' ? ' (miniflare)' : ''}`);

  pool = new SubscriberPool({ threads: CLIENT_THREADS, hrBase, client: CLIENT });
  const rows = [];
  const refs = [];
  const details = {};
  const errors = [];

  if (latencySel.length) {
    log('\n== latency: ingest → dashboard frame');
    const template = await captureTemplate(ours);
    const makeFrame = frameFactory(template);
    const targets = [oursTarget(ours), baselineTarget(baseline, makeFrame), referenceTarget(reference, makeFrame)];
    const results = await latencyScenarios(targets);
    for (const sc of latencySel) {
      const e = results.get(sc.name) ?? {};
      const o = e.ours && !e.ours.error ? e.ours : null;
      const b = e.baseline && !e.baseline.error ? e.baseline : null;
      const r = e.reference && !e.reference.error ? e.reference : null;
      const ratio = (x, y) => (x !== null && y ? round(x / y, 3) : null);
      rows.push({
        name: sc.name, subscribers: sc.subs, tenants: 1, rate_per_s: sc.rate, duration_s: CFG.latencySeconds,
        delivered: o?.delivered ?? null, expected: o?.expected ?? null,
        p50_ms: o?.p50_ms ?? null, p95_ms: o?.p95_ms ?? null, p99_ms: o?.p99_ms ?? null, max_ms: o?.max_ms ?? null,
        throughput_per_s: o?.throughput_per_s ?? null,
        baseline_p99_ms: b?.p99_ms ?? null, reference_p99_ms: r?.p99_ms ?? null,
        ratio_baseline_p99: ratio(o?.p99_ms ?? null, b?.p99_ms), ratio_reference_p99: ratio(o?.p99_ms ?? null, r?.p99_ms),
      });
      details[sc.name] = { subscribers: sc.subs, ours: e.ours, baseline: e.baseline, reference: e.reference };
      for (const x of [b, r]) {
        if (x) refs.push({ name: sc.name, target: x.target, subscribers: x.subscribers, rate_per_s: x.rate_per_s, delivered: x.delivered, expected: x.expected, p50_ms: x.p50_ms, p95_ms: x.p95_ms, p99_ms: x.p99_ms, max_ms: x.max_ms, censored: x.censored, server_us_per_delivery: x.cpu.server_us_per_delivery, publish_p50_ms: x.publish_ms.p50 });
      }
      for (const [t, x] of Object.entries(e)) if (x?.error) errors.push(`${sc.name} [${t}]: ${x.error}`);
    }
  }

  if (throughputSel.length) {
    log('\n== throughput: sustained ingest');
    for (const sc of throughputSel) {
      checkAborted();
      try {
        log(`  ${sc.name}, ${sc.concurrency * sc.tenants} in flight, ${CFG.throughputSeconds} s …`);
        const { row, detail } = await throughputRun(ours, sc, CFG.throughputSeconds);
        rows.push(row);
        details[sc.name] = detail;
        log(`    ${row.delivered}/${row.expected} accepted, ${fmt(row.throughput_per_s, 0)} messages/s, request p50 ${fmt(row.p50_ms)} p99 ${fmt(row.p99_ms)} ms${detail.errors ? `, ${detail.errors} errors (${detail.first_error})` : ''}`);
      } catch (e) {
        checkAborted();
        errors.push(`${sc.name}: ${e?.message ?? e}`);
        log(`    failed: ${e?.message ?? e}`);
      }
    }
  }

  if (resumeSel.length) {
    log('\n== resume: reconnect with since after missed signals');
    for (const sc of resumeSel) {
      checkAborted();
      try {
        const { row, detail } = await resumeRun(ours, sc);
        rows.push(row);
        details[sc.name] = detail;
        log(`    ${detail.caught_up}/${sc.subs} caught up; all by ${fmt(row.duration_s === null ? null : row.duration_s * 1000)} ms (handshakes ${detail.handshakes_ms} ms; minting ${sc.subs} tickets took ${detail.ticket_mint_ms} ms beforehand)`);
      } catch (e) {
        checkAborted();
        errors.push(`${sc.name}: ${e?.message ?? e}`);
        log(`    failed: ${e?.message ?? e}`);
      }
    }
  }
  if (mirrorSel.length) {
    log('\n== mirroring: ingest → fake-Discord receipt');
    try {
      await mirrorScenarios(rows, details, errors);
    } catch (e) {
      checkAborted();
      errors.push(`mirroring: ${e?.message ?? e}`);
      log(`    failed: ${e?.message ?? e}`);
    }
  }
  if (SKIPPED.length) log(`\n== ${SKIPPED.map((s) => `${s.name}: skipped (${s.reason})`).join('\n== ')}`);

  checkAborted();
  const out = {
    machine,
    git_sha: gitSha,
    git_dirty: gitDirty,
    wasm_bytes: wasmBytes,
    mode: QUICK ? 'quick' : 'full',
    warmup_signals: CFG.warmupSignals,
    generated_at: new Date().toISOString(),
    elapsed_s: null,
    scenarios: rows,
    skipped: SKIPPED,
    references: refs,
    details,
    errors,
    warnings,
  };
  if (rows.some((r) => !r.name.startsWith('mirror'))) printTable(rows.filter((r) => !r.name.startsWith('mirror')), refs, details);
  printMirror(rows, details);
  printProfiles(details);
  if (errors.length) log(`\nerrors:\n  ${errors.join('\n  ')}`);
  if (warnings.length) log(`\nwarnings:\n  ${warnings.join('\n  ')}`);
  out.elapsed_s = Math.round((Date.now() - t0) / 1000);
  mkdirSync(join(OUT, '..'), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(out, null, 2)}\n`);
  log(`\nwrote ${OUT} (${out.elapsed_s} s)`);
  return errors.length ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Mirroring (scenario 4): its own stack, the worker pointed at the fake Discord.

async function mirrorScenarios(rows, details, errors) {
  log('  starting the fake Discord and a worker pointed at it …');
  const stack = await startStack({ services: ['fake-discord'], vars: OURS_VARS, worker: { runtime: HARNESS } });
  stoppers.push(() => stack.stop());
  const fake = stack.services['fake-discord'];
  const pgids = [stack.server.proc?.pid, fake.pgid()].filter(Boolean);
  const opts = { seconds: CFG.mirrorSeconds, drainMs: CFG.mirrorDrainMs, idPrefix, idOf, pgids };
  log(`  worker ${stack.server.baseUrl}, fake Discord ${fake.url}`);
  const reference = await fakeRoundTrip(fake, CFG.mirrorReferencePosts);
  details['mirror reference: fake-Discord webhook round trip from Node'] = reference;
  log(`  reference: webhook post round trip from Node p50 ${fmt(reference.round_trip_ms.p50)} p95 ${fmt(reference.round_trip_ms.p95)} ms (send → fake's receipt p50 ${fmt(reference.one_way_ms.p50)} ms), ${reference.posts} posts`);
  for (const sc of mirrorSel) {
    checkAborted();
    try {
      log(`  ${sc.name} …`);
      const r = sc.burst ? await burstRun(stack, sc, opts) : await steadyRun(stack, sc, opts);
      details[sc.name] = { ...r, reference };
      rows.push({
        name: sc.name, subscribers: null, targets: sc.targets, tenants: 1, rate_per_s: sc.rate ?? null,
        duration_s: sc.burst ? null : CFG.mirrorSeconds, delivered: r.delivered, expected: r.expected,
        p50_ms: r.p50_ms, p95_ms: r.p95_ms, p99_ms: r.p99_ms, max_ms: r.max_ms, throughput_per_s: r.jobs_per_s,
        baseline_p99_ms: null, reference_p99_ms: reference.round_trip_ms.p99, ratio_baseline_p99: null,
        ratio_reference_p99: r.p99_ms !== null && reference.round_trip_ms.p99 ? round(r.p99_ms / reference.round_trip_ms.p99, 3) : null,
      });
      const st = r.stages;
      log(`    delivered ${r.delivered}/${r.expected}  p50 ${fmt(r.p50_ms)}  p95 ${fmt(r.p95_ms)}  p99 ${fmt(r.p99_ms)}  max ${fmt(r.max_ms)} ms  ${fmt(r.jobs_per_s)} jobs/s  429s ${r.http_429}  duplicates ${r.duplicates}`
        + `  stages (status API, create): dispatch p95 ${fmt(st.dispatch?.p95)} answer p95 ${fmt(st.discord_answer?.p95)} ms`
        + (r.dashboard ? `  dashboard p95 ${fmt(r.dashboard.p95_ms)} ms` : '')
        + (r.bucket ? `  beyond reset p50 ${fmt(r.bucket.wait_beyond_reset_ms.p50)} max ${fmt(r.bucket.wait_beyond_reset_ms.max)} ms, over limit ${r.bucket.over_limit}` : '')
        + `  machine ${fmt(r.cpu.machine_busy_pct)}% busy, others ${r.cpu.other_ms} ms CPU`
        + (r.worker_errors?.count ? `  worker logged ${r.worker_errors.count} errors: ${r.worker_errors.first}` : ''));
      if (r.delivered < r.expected) errors.push(`${sc.name}: ${r.delivered}/${r.expected} posts arrived`);
    } catch (e) {
      checkAborted();
      errors.push(`${sc.name}: ${e?.message ?? e}`);
      log(`    failed: ${e?.message ?? e}`);
    }
  }
}

function printMirror(rows, details) {
  const mine = rows.filter((r) => r.name.startsWith('mirror'));
  if (!mine.length) return;
  const head = [pad('scenario', 28, true), pad('tgts', 4), pad('rate', 4), pad('posts/expected', 15), pad('p50', 7), pad('p95', 7), pad('p99', 7), pad('max', 7), pad('jobs/s', 7),
    pad('429', 4), pad('dup', 4), pad('disp p95', 9), pad('ans p95', 8), pad('ans p99', 8), pad('dash p95', 9), pad('ref p95', 8), pad('busy%', 6)].join(' ');
  log(`\nmirroring: ingest POST → the fake Discord's receipt of each post, per (signal, target), ms\n${head}\n${'-'.repeat(head.length)}`);
  for (const r of mine) {
    const d = details[r.name];
    const c = d.censored ? '≥' : '';
    log([pad(r.name, 28, true), pad(r.targets, 4), pad(r.rate_per_s ?? '—', 4), pad(`${r.delivered}/${r.expected}`, 15), pad(c + fmt(r.p50_ms), 7), pad(c + fmt(r.p95_ms), 7), pad(c + fmt(r.p99_ms), 7),
      pad(c + fmt(r.max_ms), 7), pad(fmt(r.throughput_per_s), 7), pad(d.http_429, 4), pad(d.duplicates, 4), pad(fmt(d.stages?.dispatch?.p95), 9), pad(fmt(d.stages?.discord_answer?.p95), 8),
      pad(fmt(d.stages?.discord_answer?.p99), 8), pad(fmt(d.dashboard?.p95_ms), 9), pad(fmt(d.reference.round_trip_ms.p95), 8), pad(fmt(d.cpu.machine_busy_pct), 6)].join(' '));
  }
  for (const r of mine) {
    const b = details[r.name].bucket;
    if (b) log(`${r.name}: bucket ${b.limit}/${b.window_ms} ms, ideal last post at ${b.ideal_last_ms} ms; ${b.windows} windows, waits beyond reset p50 ${fmt(b.wait_beyond_reset_ms.p50)} p95 ${fmt(b.wait_beyond_reset_ms.p95)} max ${fmt(b.wait_beyond_reset_ms.max)} ms; posts over the limit ${b.over_limit}`);
  }
  log('disp/ans: the mirroring status API\'s commit → first claim / commit → Discord\'s answer (creates, over the hour, warm-up included); dash: ingest → dashboard frame, same signals; ref: Node → fake webhook round trip.');
}

/** The product's own signal.created frame, for the references to carry the same bytes. */
async function captureTemplate(ours) {
  const target = oursTarget(ours);
  const ctx = await target.room('template');
  const [url] = await target.urls(ctx, 1);
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(url, { perMessageDeflate: false });
  try {
    const frame = await new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error('no signal frame within 15 s')), 15_000);
      ws.on('error', (e) => { clearTimeout(timer); rej(e); });
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        if (f.type === 'snapshot') {
          ingestBatch(ours.baseUrl, ctx, [idOf(idPrefix(), 0)]).then((r) => { if (!r.ok) rej(new Error(r.error)); }, rej);
        } else if (f.type === 'signal.created') { clearTimeout(timer); res(f); }
      });
    });
    log(`  frame template: ${JSON.stringify(frame).length} bytes per signal.created`);
    return frame;
  } finally {
    ws.terminate();
  }
}

let code = 1;
try {
  code = await main();
} catch (e) {
  if (aborted) {
    code = 130;
  } else {
    console.error(`\nbenchmark failed: ${e?.stack ?? e}`);
    code = 1;
  }
} finally {
  await cleanup();
}
process.exit(code);
