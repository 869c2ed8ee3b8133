// Starting and stopping the three systems under test, all through the shared harness
// (harness/), so every child runs in its own process group (stopped as a whole, its CPU sampled
// from /proc) and is registered for the last-resort SIGKILL (`killAllSync`) when the benchmark
// exits, however it exits.
import { mkdtempSync, rmSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, killAllSync } from '../../harness/process.mjs';
import { runWorker, startServer } from '../../harness/worker.mjs';
import { processService } from '../../harness/services.mjs';

export { killAllSync };

/**
 * The product, exactly as the tests start it (harness/worker.mjs): under `wrangler dev`
 * (harness `wrangler`, the default) or under Miniflare's API (harness `miniflare`).
 */
export async function startOurs(vars = {}, { harness = 'wrangler' } = {}) {
  const server = await startServer({ vars, runtime: harness });
  return {
    name: 'ours',
    server,
    baseUrl: server.baseUrl,
    pgid: () => server.proc?.pid,
    stop: () => server.close().catch(() => {}),
  };
}

/** Baseline: bench/baseline/server.mjs, a Node `ws` broadcaster, started like any fake service. */
const baseline = processService({
  command: () => [process.execPath, [join(ROOT, 'bench/baseline/server.mjs'), '--port', '0']],
  health: '/health',
  startTimeoutMs: 15_000,
});

export async function startBaseline() {
  const s = await baseline.start({ name: 'baseline' });
  return { name: 'baseline', baseUrl: s.url, pgid: s.pgid, stop: s.stop };
}

/**
 * Reference: bench/reference/worker.js on the same runtime as ours, its own port, inspector
 * port and persistence directory. Not through startServer(): that applies the product's D1
 * migrations and passes the product's vars, which mean nothing here.
 */
export async function startReference({ harness = 'wrangler' } = {}) {
  const persistDir = mkdtempSync(join(tmpdir(), 'signal-relay-bench-ref-'));
  const remove = () => rmSync(persistDir, { recursive: true, force: true });
  let w;
  try {
    w = await runWorker({
      runtime: harness, config: join(ROOT, 'bench/reference/wrangler.toml'), persistDir, keepChunks: 500, what: 'reference',
    });
  } catch (e) {
    remove();
    throw e;
  }
  return {
    name: 'reference',
    baseUrl: w.baseUrl,
    pgid: () => w.proc.pid,
    logs: w.logs,
    async stop() {
      await w.stop();
      remove();
    },
  };
}

/**
 * The runtime workerd's own HTTP port, behind wrangler's ProxyWorker (see procstat.mjs): the
 * listening socket of the group's `workerd --inspector-addr…` process that answers /health.
 * Used by --direct to measure the worker without the dev proxy's relaying.
 */
export async function directUrl(pgid) {
  let pids = [];
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return null; }
  for (const pid of pids) {
    let stat;
    let cmd;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    } catch { continue; }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) !== pgid || !cmd.includes('workerd') || !cmd.includes('--inspector-addr')) continue;
    const inodes = new Set();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const l = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (l.startsWith('socket:[')) inodes.add(l.slice(8, -1));
      } catch { /* closed */ }
    }
    const ports = [];
    for (const file of ['tcp', 'tcp6']) {
      let text = '';
      try { text = readFileSync(`/proc/${pid}/net/${file}`, 'latin1'); } catch { continue; }
      for (const line of text.split('\n').slice(1)) {
        const c = line.trim().split(/\s+/);
        if (c[3] === '0A' && inodes.has(c[9])) ports.push(parseInt(c[1].split(':')[1], 16));
      }
    }
    for (const port of ports) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
        await r.text();
        if (r.status === 200) return `http://127.0.0.1:${port}`;
      } catch { /* inspector or debug port */ }
    }
  }
  return null;
}
