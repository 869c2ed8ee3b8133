// Starting and stopping the three systems under test. Every child runs in its own process
// group (detached) so it can be stopped as a whole and its CPU sampled from /proc; every
// group is also registered for a last-resort SIGKILL when the benchmark exits, however it exits.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, freePort, ROOT, testConfig, applyMigrations } from '../../tests/support/server.mjs';

const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');
const live = new Set(); // process-group ids still to kill

export function killAllSync() {
  for (const pgid of live) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
  }
  live.clear();
}

async function stopGroup(proc, graceMs = 5000) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) { live.delete(proc?.pid); return; }
  const exited = new Promise((r) => proc.once('exit', r));
  try { process.kill(-proc.pid, 'SIGTERM'); } catch { /* gone */ }
  const timer = setTimeout(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs + 2000))]);
  clearTimeout(timer);
  live.delete(proc.pid);
}

async function waitHealthy(url, proc, logs, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not become healthy\n${logs.join('').slice(-3000)}`);
}

/**
 * Spawns a server in its own process group (so it can be stopped and its CPU sampled as a
 * whole), registered for the last-resort kill; keeps the tail of its output for error messages.
 */
function spawnServer(cmd, args, { stdin = 'ignore' } = {}) {
  const proc = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1' },
    stdio: [stdin, 'pipe', 'pipe'],
    detached: true,
  });
  live.add(proc.pid);
  const logs = [];
  const keep = (c) => { logs.push(c.toString()); if (logs.length > 500) logs.splice(0, 250); };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  return { proc, logs };
}

/** Waits for the child's ready line on stdout (a JSON object matching `re`); returns the match. */
function readyLine(proc, logs, re, what, timeoutMs) {
  return new Promise((res, rej) => {
    let buf = '';
    const done = () => {
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      proc.off('exit', onExit);
    };
    const onData = (c) => {
      buf += c;
      const m = buf.match(re);
      if (m) { done(); res(m); }
    };
    const onExit = (code) => { done(); rej(new Error(`${what} exited (${code})\n${logs.join('').slice(-3000)}`)); };
    const timer = setTimeout(() => { done(); rej(new Error(`${what} did not start\n${logs.join('').slice(-3000)}`)); }, timeoutMs);
    proc.stdout.on('data', onData);
    proc.once('exit', onExit);
  });
}

/**
 * A worker under Miniflare's API (bench/lib/miniflare-host.mjs): the same build, bindings and
 * local storage as `wrangler dev`, without its ProxyWorker and inspector. Its own process group,
 * like every other server here.
 */
async function startMiniflare(name, config, { vars = {}, persistDir, cleanup = [] } = {}) {
  const port = await freePort();
  // stdin stays open: the host exits when it closes, i.e. when we die.
  const { proc, logs } = spawnServer(process.execPath, [
    join(ROOT, 'bench/lib/miniflare-host.mjs'), '--config', config, '--persist', persistDir,
    '--port', String(port), '--vars', JSON.stringify(vars),
  ], { stdin: 'pipe' });
  const removeAll = () => { for (const d of cleanup) rmSync(d, { recursive: true, force: true }); };
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await readyLine(proc, logs, /\{"url":/, `${name} (miniflare)`, 90_000);
    await waitHealthy(`${baseUrl}/health`, proc, logs, 30_000);
  } catch (e) {
    await stopGroup(proc);
    removeAll();
    throw e;
  }
  return {
    proc,
    baseUrl,
    logs,
    async stop() {
      try { proc.stdin.end(); } catch { /* gone */ }
      await stopGroup(proc);
      removeAll();
    },
  };
}

/**
 * The product. Harness `wrangler` (default): exactly as the tests start it, under `wrangler
 * dev`. Harness `miniflare`: the same build and config (the tests' private copy, migrations
 * applied by wrangler the same way) under bench/lib/miniflare-host.mjs.
 */
export async function startOurs(vars = {}, { harness = 'wrangler' } = {}) {
  if (harness === 'miniflare') {
    const persistDir = mkdtempSync(join(tmpdir(), 'signal-relay-bench-mf-'));
    const appDir = mkdtempSync(join(tmpdir(), 'signal-relay-bench-app-'));
    const config = testConfig(appDir);
    const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
    const ticketSecret = randomBytes(24).toString('hex');
    await applyMigrations(persistDir, config);
    const mf = await startMiniflare('ours', config, {
      vars: { ADMIN_TOKEN: adminToken, FEED_TICKET_SECRET: ticketSecret, ...vars },
      persistDir,
      cleanup: [persistDir, appDir],
    });
    return {
      name: 'ours',
      server: { adminToken, ticketSecret },
      baseUrl: mf.baseUrl,
      pgid: () => mf.proc.pid,
      stop: () => mf.stop(),
    };
  }
  const server = await startServer(Object.keys(vars).length ? { vars } : {});
  live.add(server.proc.pid);
  return {
    name: 'ours',
    server,
    baseUrl: server.baseUrl,
    pgid: () => server.proc?.pid,
    async stop() {
      const pid = server.proc?.pid;
      await server.close().catch(() => {});
      live.delete(pid);
    },
  };
}

/** Baseline: bench/baseline/server.mjs, a Node `ws` broadcaster. */
export async function startBaseline() {
  const { proc, logs } = spawnServer(process.execPath, [join(ROOT, 'bench/baseline/server.mjs'), '--port', '0'], { stdin: 'pipe' });
  const port = Number((await readyLine(proc, logs, /\{"port":(\d+)\}/, 'baseline', 15_000))[1]);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitHealthy(`${baseUrl}/health`, proc, logs, 10_000);
  return {
    name: 'baseline',
    baseUrl,
    pgid: () => proc.pid,
    async stop() {
      try { proc.stdin.end(); } catch { /* gone */ }
      await stopGroup(proc, 3000);
    },
  };
}

/**
 * Reference: bench/reference/worker.js under the project's wrangler, its own port, inspector
 * port and persistence directory. Not through startServer(): that applies the product's D1
 * migrations and passes the product's vars, which mean nothing here.
 */
export async function startReference({ harness = 'wrangler' } = {}) {
  if (harness === 'miniflare') {
    const persistDir = mkdtempSync(join(tmpdir(), 'signal-relay-bench-ref-'));
    const mf = await startMiniflare('reference', join(ROOT, 'bench/reference/wrangler.toml'), { persistDir, cleanup: [persistDir] });
    return { name: 'reference', baseUrl: mf.baseUrl, pgid: () => mf.proc.pid, logs: mf.logs, stop: () => mf.stop() };
  }
  const port = await freePort();
  const inspector = await freePort();
  const persistDir = mkdtempSync(join(tmpdir(), 'signal-relay-bench-ref-'));
  const args = [
    'dev', '--config', join(ROOT, 'bench/reference/wrangler.toml'),
    '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--persist-to', persistDir, '--show-interactive-dev-session=false', '--log-level', 'warn',
  ];
  const { proc, logs } = spawnServer(WRANGLER, args);
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(`${baseUrl}/health`, proc, logs, 90_000);
  } catch (e) {
    await stopGroup(proc);
    rmSync(persistDir, { recursive: true, force: true });
    throw e;
  }
  return {
    name: 'reference',
    baseUrl,
    pgid: () => proc.pid,
    logs,
    async stop() {
      await stopGroup(proc);
      rmSync(persistDir, { recursive: true, force: true });
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
