// Child processes for everything the harness starts: the worker (wrangler dev or Miniflare), the
// benchmark's baseline and reference, and the fake services. Each child runs in its own process
// group (detached), so it can be stopped as a whole (wrangler forks workerd) and its CPU sampled
// from /proc; every group is also registered for a last-resort SIGKILL (`killAllSync`, for an
// `exit` handler), however the parent exits.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const live = new Set(); // process-group ids still to kill

export function killAllSync() {
  for (const pgid of live) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
  }
  live.clear();
}

/** The environment every child gets: no telemetry, no colour, no rebuild by wrangler. */
export const childEnv = () => ({
  ...process.env,
  SIGNAL_RELAY_SKIP_BUILD: '1',
  WRANGLER_SEND_METRICS: 'false',
  CI: '1',
  NO_COLOR: '1',
});

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/**
 * Spawns `cmd` in its own process group, registered for the last-resort kill. Its output is
 * appended to `logs` (kept to the last `keepChunks` chunks) for error messages and for tests
 * that read the worker's log lines; pass the same array again to keep one log across restarts.
 * With `stdin: 'pipe'` the child can watch its stdin and exit when it closes, i.e. when we die.
 */
export function spawnGroup(cmd, args, { stdin = 'ignore', logs = [], keepChunks = 500 } = {}) {
  const proc = spawn(cmd, args, { cwd: ROOT, env: childEnv(), stdio: [stdin, 'pipe', 'pipe'], detached: true });
  live.add(proc.pid);
  const keep = (c) => {
    logs.push(c.toString());
    if (logs.length > keepChunks) logs.splice(0, keepChunks / 2);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  return { proc, logs };
}

const tail = (logs) => logs.join('').slice(-3000);
const exited = (proc) => proc.exitCode !== null || proc.signalCode !== null;

/** SIGTERM to the group, SIGKILL after `graceMs`; resolves once it exited (or gave up waiting). */
export async function stopGroup(proc, graceMs = 5000) {
  if (!proc) return;
  if (exited(proc)) { live.delete(proc.pid); return; }
  try { proc.stdin?.end(); } catch { /* gone */ }
  const gone = new Promise((r) => proc.once('exit', r));
  try { process.kill(-proc.pid, 'SIGTERM'); } catch { /* gone */ }
  const timer = setTimeout(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
  await Promise.race([gone, new Promise((r) => setTimeout(r, graceMs + 2000))]);
  clearTimeout(timer);
  live.delete(proc.pid);
}

/** Polls `url` until it answers 200; throws (with the child's output) if it exits or times out. */
export async function waitHealthy(url, proc, logs, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited(proc)) break;
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not become healthy\n${tail(logs)}`);
}

/** The ready-line convention: a JSON object carrying `url` (an origin) or `port` (on 127.0.0.1). */
export function jsonReady(line) {
  let ready;
  try { ready = JSON.parse(line); } catch { return null; }
  if (typeof ready?.url === 'string') return { url: ready.url };
  if (Number.isInteger(ready?.port)) return { url: `http://127.0.0.1:${ready.port}` };
  return null;
}

/**
 * Waits for the child's ready line on stdout: the first complete line for which `parse(line)`
 * returns an object (`{ url, ...whatever else the line announces }`); resolves to it.
 */
export function readyLine(proc, logs, what, timeoutMs, parse = jsonReady) {
  return new Promise((res, rej) => {
    let buf = '';
    const done = () => {
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      proc.off('exit', onExit);
    };
    const onData = (c) => {
      buf += c;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) {
        const ready = parse(line.trim());
        if (ready) { done(); res(ready); return; }
      }
    };
    const onExit = (code) => { done(); rej(new Error(`${what} exited (${code})\n${tail(logs)}`)); };
    const timer = setTimeout(() => { done(); rej(new Error(`${what} did not start\n${tail(logs)}`)); }, timeoutMs);
    proc.stdout.on('data', onData);
    proc.once('exit', onExit);
  });
}
