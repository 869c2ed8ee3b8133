#!/usr/bin/env node
// Per-request and per-connect CPU of ours and the reference: the probes behind the tables in
// docs/benchmarks.md ("The dev harness", "What limits us" 5). Run through script/bench --costs.
//
//   node bench/costs.mjs [--harness wrangler|miniflare] [--requests N] [--sockets N] [--rounds N] [--state-dir DIR]
//
// For each kind of request it sends N requests (8 in flight) and reports the runtime workerd's
// CPU per request, read from /proc before and after (so only the process that exists in
// production is counted). For connects it opens N sockets at once and reports the wall time
// until every handshake (and, for the replay case, every replayed byte) arrived, and the
// runtime's CPU for the storm. After one unreported warm-up round, each measurement is repeated
// --rounds times, interleaved, so a noisy neighbour shows up as spread rather than as a
// difference between systems.
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import WebSocket from 'ws';
import { startOurs, startReference, killAllSync } from './lib/servers.mjs';
import { provisionTenant, ingestBatch, feedUrls, mapLimit } from './lib/targets.mjs';
import { message, batch, snowflake } from '../harness/client.mjs';
import { groupCpu, diffCpu } from './lib/procstat.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const HARNESS = opt('--harness', 'wrangler');
const REQUESTS = Number(opt('--requests', '2000'));
const SOCKETS = Number(opt('--sockets', '1000'));
const ROUNDS = Number(opt('--rounds', '3'));
// As in run.mjs: persistence directories are made under the temp dir.
const STATE_DIR = opt('--state-dir', null);
const badStateDir = STATE_DIR !== null && !(existsSync(STATE_DIR) && statSync(STATE_DIR).isDirectory());
if (STATE_DIR !== null && !badStateDir) process.env.TMPDIR = STATE_DIR;
if (!['wrangler', 'miniflare'].includes(HARNESS) || !(REQUESTS > 0) || !(SOCKETS > 0) || !(ROUNDS > 0) || badStateDir) {
  console.error('usage: node bench/costs.mjs [--harness wrangler|miniflare] [--requests N] [--sockets N] [--rounds N] [--state-dir DIR]');
  process.exit(2);
}

// One message every tenant here has seen (an id from 2022: past, as every id must be).
const SEEN_ID = '1000000000000000001';

const measured = (pgid, f) => async () => {
  const c0 = groupCpu(pgid);
  const t0 = performance.now();
  const { sockets, ...extra } = await f();
  const out = { wallMs: performance.now() - t0, cpuMs: diffCpu(c0, groupCpu(pgid))['workerd:runtime'] ?? 0, ...extra };
  // Closing is not part of the measurement; let the server finish it before the next one.
  if (sockets) {
    for (const ws of sockets) ws.close();
    await new Promise((r) => setTimeout(r, 2000));
  }
  return out;
};

function requests(url, init) {
  return async () => {
    await mapLimit(Array.from({ length: REQUESTS }), 8, async () => {
      const r = await fetch(url, init);
      await r.arrayBuffer();
    });
    return {};
  };
}

/**
 * REQUESTS one-message ingests, each a new signal (or all the same one, `duplicate`). New ids
 * encode the present: ingest refuses an id whose creation time lies in the future, and a probe
 * of refusals would not measure a commit.
 */
function ingests(baseUrl, ctx, { duplicate = false } = {}) {
  return async () => {
    await mapLimit(Array.from({ length: REQUESTS }), 8, async () => {
      const id = duplicate ? SEEN_ID : snowflake();
      const r = await fetch(`${baseUrl}/ingest/message-batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(batch(ctx, [message(ctx, { discord_message_id: id })])),
      });
      const out = await r.json().catch(() => null);
      if (r.status !== 200 || (!duplicate && out?.accepted !== 1)) throw new Error(`ingest: ${r.status} ${JSON.stringify(out)}`);
    });
    return {};
  };
}

/** REQUESTS publishes to a reference room with no subscribers, with a frame of our size. */
function publishes(baseUrl, frame) {
  return requests(`${baseUrl}/publish?room=costs-empty`, { method: 'POST', body: frame });
}

/**
 * Opens SOCKETS sockets to a fresh reference room, then publishes `frames` frames of `size`
 * bytes one after another and waits until every socket has every frame: the runtime's CPU per
 * delivered message, as a function of the frame's size (what a cheaper serialisation could save).
 */
function broadcast(baseUrl, pgid, size, frames = 100) {
  return async () => {
    const room = `size-${size}-${Math.random().toString(36).slice(2)}`;
    const url = `${baseUrl.replace(/^http/, 'ws')}/ws?room=${room}`;
    const { sockets } = await storm(Array.from({ length: SOCKETS }, () => url))();
    let received = 0;
    for (const ws of sockets) ws.on('message', () => { received++; });
    const body = JSON.stringify({ type: 'signal.created', seq: 1, pad: 'x'.repeat(Math.max(0, size - 40)) });
    const c0 = groupCpu(pgid);
    const t0 = performance.now();
    for (let i = 0; i < frames; i++) {
      const r = await fetch(`${baseUrl}/publish?room=${room}`, { method: 'POST', body });
      await r.arrayBuffer();
    }
    while (received < frames * SOCKETS && performance.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 5));
    const cpuMs = diffCpu(c0, groupCpu(pgid))['workerd:runtime'] ?? 0;
    return { sockets, usPerMessage: (cpuMs * 1000) / (frames * SOCKETS), bytes: body.length, complete: received === frames * SOCKETS };
  };
}

/** Opens every url at once; resolves when all are open and each has received `bytesEach`. */
function storm(urls, bytesEach = 0) {
  return async () => {
    const sockets = [];
    let bytes = 0;
    await new Promise((resolve, reject) => {
      let open = 0;
      let full = 0;
      const check = () => { if (open === urls.length && (bytesEach === 0 || full === urls.length)) resolve(); };
      for (const u of urls) {
        const ws = new WebSocket(u, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
        sockets.push(ws);
        let mine = 0;
        ws.on('open', () => { open++; check(); });
        ws.on('message', (d) => {
          bytes += d.length;
          const before = mine;
          mine += d.length;
          if (bytesEach && before < bytesEach && mine >= bytesEach) { full++; check(); }
        });
        ws.on('error', reject);
      }
    });
    return { mb: bytes / 1e6, sockets };
  };
}

const ours = await startOurs({ ACCESS_LOG: 'errors', ALLOWED_ORIGINS: 'http://probe.example' }, { harness: HARNESS });
const reference = await startReference({ harness: HARNESS });
try {
  const admin = ours.server.adminToken;
  const ctx = await provisionTenant(ours.baseUrl, admin, 'costs');
  // One signal everybody has seen, then 1,000 missed ones, for the replay storm.
  const seen = await ingestBatch(ours.baseUrl, ctx, [SEEN_ID]);
  if (seen.accepted !== 1) throw new Error(`seed ingest: ${seen.error ?? 'not accepted'}`);
  let head = seen.seq;
  for (let i = 0; i < 1000; i += 100) {
    const ids = Array.from({ length: 100 }, () => snowflake());
    const r = await ingestBatch(ours.baseUrl, ctx, ids);
    // Refused messages would shrink the replay the storm waits for, and it would wait forever.
    if (r.accepted !== ids.length) throw new Error(`replay seed: ${r.accepted}/${ids.length} accepted ${r.error ?? ''}`);
    head = r.seq;
  }
  // Ingest cases write to a tenant of their own, so the connect cases' cursors stay valid.
  const ingestCtx = await provisionTenant(ours.baseUrl, admin, 'costs-ingest');
  await ingestBatch(ours.baseUrl, ingestCtx, [SEEN_ID]);
  // What the reference publishes: about the size of the frame ours sends for one signal.
  const frame = JSON.stringify({ type: 'signal.created', seq: 1, signal: message(ingestCtx, { discord_message_id: '1' }) });
  const preflight = { method: 'OPTIONS', headers: { origin: 'http://probe.example', 'access-control-request-method': 'POST' } };
  const refWs = reference.baseUrl.replace(/^http/, 'ws');
  const cases = [
    ['reference GET /health (no object)', 'request', () => measured(reference.pgid(), requests(`${reference.baseUrl}/health`))],
    ['ours OPTIONS preflight (no storage)', 'request', () => measured(ours.pgid(), requests(`${ours.baseUrl}/ingest/message-batch`, preflight))],
    ['ours GET /health (D1 + object)', 'request', () => measured(ours.pgid(), requests(`${ours.baseUrl}/health`))],
    ['reference POST /publish (no subscriber)', 'request', () => measured(reference.pgid(), publishes(reference.baseUrl, frame))],
    ['ours ingest, 1 new message (no subscriber)', 'request', () => measured(ours.pgid(), ingests(ours.baseUrl, ingestCtx))],
    ['ours ingest, 1 duplicate message', 'request', () => measured(ours.pgid(), ingests(ours.baseUrl, ingestCtx, { duplicate: true }))],
    ...[96, 540, 4096].map((size) => [`reference broadcast, ${size}-byte frames`, 'broadcast', () => measured(reference.pgid(), broadcast(reference.baseUrl, reference.pgid(), size))]),
    [`reference ${SOCKETS} connects`, 'connect', () => measured(reference.pgid(), storm(Array.from({ length: SOCKETS }, () => `${refWs}/ws?room=costs`)))],
    [`ours ${SOCKETS} connects, nothing to replay`, 'connect', async () => measured(ours.pgid(), storm(await feedUrls(ours.baseUrl, admin, ctx.tenant, SOCKETS, { since: head })))],
    [`ours ${SOCKETS} connects + 1,000-event replay`, 'connect', async () => measured(ours.pgid(), storm(await feedUrls(ours.baseUrl, admin, ctx.tenant, SOCKETS, { since: seen.seq }), 500_000))],
  ];
  const results = new Map(cases.map(([name]) => [name, []]));
  // Round -1 warms up both workers (first connects, JIT) and is not reported.
  for (let round = -1; round < ROUNDS; round++) {
    for (const [name, , make] of cases) {
      const r = await (await make())();
      if (round >= 0) results.get(name).push(r);
    }
  }
  console.log(`\nharness ${HARNESS}; state under ${tmpdir()}; ${REQUESTS} requests (8 in flight) or ${SOCKETS} sockets at once; ${ROUNDS} rounds; runtime workerd CPU from /proc\n`);
  for (const [name, kind] of cases) {
    const rs = results.get(name);
    const fmt = (xs, d = 0) => xs.map((x) => x.toFixed(d)).join(' ');
    if (kind === 'broadcast') {
      const note = rs.every((r) => r.complete) ? '' : '  (incomplete!)';
      console.log(`${name.padEnd(44)} runtime µs/message ${fmt(rs.map((r) => r.usPerMessage), 1)}  (${SOCKETS} sockets × 100 frames)${note}`);
    } else if (kind === 'request') {
      console.log(`${name.padEnd(44)} runtime µs/request ${fmt(rs.map((r) => (r.cpuMs * 1000) / REQUESTS))}`);
    } else {
      const mb = rs[0].mb ? `  (${rs[0].mb.toFixed(0)} MB received)` : '';
      console.log(`${name.padEnd(44)} wall ms ${fmt(rs.map((r) => r.wallMs))}  runtime CPU ms ${fmt(rs.map((r) => r.cpuMs))}${mb}`);
    }
  }
} finally {
  await ours.stop();
  await reference.stop();
  killAllSync();
}
