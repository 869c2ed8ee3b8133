// A worker thread holding a share of the benchmark's subscriber WebSockets (the `ws` package by
// default, or the minimal client in rawws.mjs).
//
// The hot path is the `message` handler: stamp the receipt time first, then find every
// `"discord_message_id":"…"` in the raw bytes (a signal frame carries one, a `batch` frame
// several) with Buffer.indexOf, without decoding or JSON-parsing the frame. Ids of the current
// run share a 12-digit prefix and end in a 7-digit signal index, so a receipt is one store into
// a Float64Array (socket-major: socket k, signal i at k * n + i). Snapshot frames are skipped:
// they repeat old signals and are not deliveries.
//
// Protocol (parent → thread, each with an `id` echoed in the reply):
//   open     {urls, expectInitial, concurrency, timeoutMs, arm?}  replaces the socket set
//   arm      {prefix, n}                                           starts recording a run
//   count    {}                                                    receipts so far in this run
//   collect  {}                                                    returns and ends the run
//   closeAll {timeoutMs}
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { makeClock } from './clock.mjs';
import { connectRaw, OPEN } from './rawws.mjs';

const now = makeClock(workerData.hrBase);
const PING_MS = workerData.pingMs ?? 20_000;
const CLIENT = workerData.client ?? 'ws'; // 'ws' (the ws package) or 'raw' (bench/lib/rawws.mjs)
const KEY = Buffer.from('"discord_message_id":"');
const SNAPSHOT = Buffer.from('{"type":"snapshot"');
const ID_LEN = 19;
const PREFIX_LEN = 12;
const PING = '{"type":"ping"}';

/** @type {{ws: WebSocket, k: number, open: boolean, first: boolean, closed: boolean, timers: any[]}[]} */
let sockets = [];
let run = null; // { prefix: Buffer, n, recv: Float64Array, count, dupes, foreign, elu0 }
let unexpectedCloses = 0;
let closing = false;
const firstWaiters = new Set();

function arm(prefix, n) {
  const recv = new Float64Array(Math.max(1, sockets.length * n));
  recv.fill(NaN);
  run = { prefix: Buffer.from(prefix, 'latin1'), n, recv, count: 0, dupes: 0, foreign: 0, frames: 0, elu0: performance.eventLoopUtilization() };
}

function onMessage(s, data, t = now()) {
  if (!s.first) {
    s.first = true;
    if (firstWaiters.size) for (const w of firstWaiters) w();
  }
  const r = run;
  if (r === null) return;
  const buf = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
  if (buf.length >= SNAPSHOT.length && buf.compare(SNAPSHOT, 0, SNAPSHOT.length, 0, SNAPSHOT.length) === 0) return;
  r.frames++;
  const base = s.k * r.n;
  let p = 0;
  while ((p = buf.indexOf(KEY, p)) !== -1) {
    const start = p + KEY.length;
    p = start + ID_LEN;
    if (buf[p] !== 34 /* " */) { p = start; continue; }
    if (buf.compare(r.prefix, 0, PREFIX_LEN, start, start + PREFIX_LEN) !== 0) { r.foreign++; continue; }
    let idx = 0;
    for (let j = start + PREFIX_LEN; j < p; j++) idx = idx * 10 + (buf[j] - 48);
    if (idx >= r.n) { r.foreign++; continue; }
    const slot = base + idx;
    if (r.recv[slot] !== r.recv[slot]) { // NaN: first receipt
      r.recv[slot] = t;
      r.count++;
    } else {
      r.dupes++;
    }
  }
}

function startPings(s) {
  // Staggered so a thousand sockets do not ping in the same millisecond.
  const ping = () => { if (s.ws.readyState === OPEN) s.ws.send(PING); };
  const first = setTimeout(() => {
    ping();
    s.timers.push(setInterval(ping, PING_MS));
  }, Math.random() * PING_MS);
  s.timers.push(first);
}

function stopTimers(s) {
  for (const t of s.timers) { clearTimeout(t); clearInterval(t); }
  s.timers = [];
}

function onClosed(s) {
  stopTimers(s);
  if (s.open && !closing) unexpectedCloses++;
  s.open = false;
  s.closed = true;
}

function connectWithRaw(s, url, timeoutMs) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      resolve(err ?? null);
    };
    s.ws = connectRaw(url, {
      now,
      timeoutMs,
      onOpen: () => { s.open = true; startPings(s); finish(); },
      onMessage: (payload, t) => onMessage(s, payload, t),
      onError: (msg) => finish(msg),
      onClose: () => { onClosed(s); finish('closed during handshake'); },
    });
  });
}

function connect(s, url, timeoutMs) {
  if (CLIENT === 'raw') return connectWithRaw(s, url, timeoutMs);
  return new Promise((resolve) => {
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(err ?? null);
    };
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    s.ws = ws;
    const timer = setTimeout(() => { finish('handshake timeout'); try { ws.terminate(); } catch { /* gone */ } }, timeoutMs + 1000);
    ws.on('message', (data) => onMessage(s, data));
    ws.once('open', () => { s.open = true; startPings(s); finish(); });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => { if (body.length < 300) body += c; });
      res.on('end', () => finish(`handshake ${res.statusCode}: ${body.slice(0, 200)}`));
      res.on('error', () => finish(`handshake ${res.statusCode}`));
    });
    ws.on('error', (e) => finish(`error: ${e.message}`));
    ws.on('close', () => {
      onClosed(s);
      finish('closed during handshake');
    });
  });
}

async function open({ urls, expectInitial, concurrency = 50, timeoutMs = 15_000, arm: armWith }) {
  sockets = urls.map((_, k) => ({ ws: null, k, open: false, first: false, closed: false, timers: [] }));
  closing = false;
  unexpectedCloses = 0;
  if (armWith) arm(armWith.prefix, armWith.n);
  const errors = [];
  let next = 0;
  const lane = async () => {
    while (next < urls.length) {
      const k = next++;
      const err = await connect(sockets[k], urls[k], timeoutMs);
      if (err) errors.push(err);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, lane));
  let missingInitial = 0;
  if (expectInitial) {
    const deadline = Date.now() + timeoutMs;
    const pending = () => sockets.filter((s) => s.open && !s.first).length;
    while (pending() > 0 && Date.now() < deadline) {
      await new Promise((r) => {
        const w = () => { firstWaiters.delete(w); clearTimeout(t); r(); };
        const t = setTimeout(w, 100);
        firstWaiters.add(w);
      });
    }
    missingInitial = pending();
  }
  return { ok: sockets.filter((s) => s.open).length, failed: errors.length, errors: errors.slice(0, 5), missingInitial };
}

function collect() {
  const r = run;
  run = null;
  if (!r) return { n: 0, sockets: sockets.length, recv: new Float64Array(0), count: 0, dupes: 0, foreign: 0, frames: 0, elu: 0 };
  const elu = performance.eventLoopUtilization(r.elu0).utilization;
  return { n: r.n, sockets: sockets.length, recv: r.recv, count: r.count, dupes: r.dupes, foreign: r.foreign, frames: r.frames, elu, unexpectedCloses };
}

async function closeAll({ timeoutMs = 5000 } = {}) {
  closing = true;
  const waits = [];
  for (const s of sockets) {
    stopTimers(s);
    const ws = s.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) continue;
    if (CLIENT !== 'raw') waits.push(new Promise((r) => { ws.once('close', r); }));
    try { ws.close(1000, 'bench done'); } catch { /* already closing */ }
  }
  const deadline = Date.now() + timeoutMs;
  if (CLIENT === 'raw') {
    while (Date.now() < deadline && sockets.some((s) => s.ws && s.ws.readyState !== WebSocket.CLOSED)) {
      await new Promise((r) => setTimeout(r, 20));
    }
  } else {
    await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, timeoutMs))]);
  }
  let forced = 0;
  for (const s of sockets) {
    if (s.ws && s.ws.readyState !== WebSocket.CLOSED) { forced++; try { s.ws.terminate(); } catch { /* gone */ } }
  }
  sockets = [];
  return { forced };
}

parentPort.on('message', async (msg) => {
  const { id, cmd } = msg;
  try {
    let out;
    if (cmd === 'open') out = await open(msg);
    else if (cmd === 'arm') { arm(msg.prefix, msg.n); out = { ok: true }; }
    else if (cmd === 'count') out = { count: run ? run.count : 0, open: sockets.filter((s) => s.open).length, unexpectedCloses };
    else if (cmd === 'collect') {
      out = collect();
      parentPort.postMessage({ id, ok: true, out }, [out.recv.buffer]);
      return;
    } else if (cmd === 'closeAll') out = await closeAll(msg);
    else throw new Error(`unknown command ${cmd}`);
    parentPort.postMessage({ id, ok: true, out });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: String(e?.stack ?? e) });
  }
});
