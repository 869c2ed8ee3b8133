// CPU profiles of our worker's isolate (edge worker and tenant Durable Object share it), taken
// through the DevTools inspector that `wrangler dev` exposes on its --inspector-port
// (`script/bench --profile`). Sampling costs the isolate a little CPU, so a profiled run's
// latency figures are not comparable with an unprofiled one: the profile answers "where does
// the time go", the plain run answers "how fast".
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

function inspectorPort(pgid) {
  try {
    const args = readFileSync(`/proc/${pgid}/cmdline`, 'latin1').split('\0');
    const i = args.indexOf('--inspector-port');
    return i >= 0 ? Number(args[i + 1]) : null;
  } catch {
    return null;
  }
}

/** Starts sampling; resolves to `stop()` which resolves to the raw profile (or null). */
export async function startProfile(pgid, { intervalUs = 500, timeoutMs = 10_000 } = {}) {
  const port = inspectorPort(pgid);
  if (!port) throw new Error('no --inspector-port on the wrangler process');
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(timeoutMs) })).json();
  const url = list[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error('inspector lists no worker');
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 512 * 1024 * 1024 });
  await new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('inspector connect timeout')), timeoutMs);
    ws.once('open', () => { clearTimeout(t); res(); });
    ws.once('error', (e) => { clearTimeout(t); rej(e); });
  });
  let id = 0;
  const waits = new Map();
  ws.on('message', (d) => {
    let m;
    try { m = JSON.parse(d.toString()); } catch { return; }
    const w = m.id !== undefined && waits.get(m.id);
    // wrangler's inspector proxy answers with the request's method and params merged in, and
    // drops an empty `result`: the first message carrying our id is the answer.
    if (w) { waits.delete(m.id); w(m); }
  });
  ws.on('error', () => {});
  const call = (method, params = {}, ms = timeoutMs) => new Promise((res, rej) => {
    const i = ++id;
    const t = setTimeout(() => { waits.delete(i); rej(new Error(`inspector ${method} timed out`)); }, ms);
    waits.set(i, (m) => { clearTimeout(t); if (m.error) rej(new Error(`${method}: ${JSON.stringify(m.error)}`)); else res(m.result); });
    ws.send(JSON.stringify({ id: i, method, params }));
  });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: intervalUs });
  await call('Profiler.start');
  return async () => {
    try {
      const r = await call('Profiler.stop', {}, 60_000);
      return r?.profile ?? null;
    } finally {
      ws.close();
    }
  };
}

const fname = (n) => n.callFrame.functionName || '(anonymous)';

function category(n) {
  const u = n.callFrame.url;
  const f = fname(n);
  if (f === '(idle)') return 'idle';
  if (f === '(garbage collector)') return 'garbage collector';
  if (f === '(program)') return 'runtime (program)';
  if (u.includes('d1-api')) return 'D1 client (runtime JS)';
  if (u.includes('.wasm')) return 'wasm (our Rust)';
  if (u.endsWith('index.js')) return 'wasm-bindgen JS glue';
  if (f === 'exec') return 'DO SQLite exec';
  if (f === 'send') return 'WebSocket send';
  return `runtime: ${f || u || 'native'}`;
}

/**
 * Self time by category and inclusive time of our Rust functions (hash suffixes stripped), in
 * ms, plus per-unit figures when `units` (e.g. signals) is given.
 */
export function summarize(profile, { top = 20 } = {}) {
  if (!profile?.nodes) return null;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cats = new Map();
  const incl = new Map();
  let total = 0;
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < profile.samples.length; i++) {
    const d = (deltas[i + 1] ?? 0) / 1000;
    total += d;
    const leaf = byId.get(profile.samples[i]);
    if (!leaf) continue;
    const c = category(leaf);
    cats.set(c, (cats.get(c) ?? 0) + d);
    const seen = new Set();
    for (let id = leaf.id; id; id = parent.get(id)) {
      const f = fname(byId.get(id));
      if (!/^(signal_relay|relay_core|worker)::/.test(f)) continue;
      const short = f.replace(/::h[0-9a-f]{16}.*$/, '').replace(/::\{\{closure\}\}/g, '');
      if (seen.has(short)) continue;
      seen.add(short);
      incl.set(short, (incl.get(short) ?? 0) + d);
    }
  }
  const r2 = (x) => Math.round(x * 10) / 10;
  const idle = cats.get('idle') ?? 0;
  return {
    sampled_ms: r2(total),
    busy_ms: r2(total - idle),
    self_by_category_ms: Object.fromEntries([...cats].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, r2(v)])),
    inclusive_rust_ms: Object.fromEntries([...incl].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, r2(v)])),
  };
}
