// Starts the real worker under `wrangler dev` (workerd with local D1 and Durable Objects) on a
// free port with its own persistence directory, applies migrations, and waits for /health.
// Used by the end-to-end tests, the browser tests and the benchmarks.
import { spawn, execFile } from 'node:child_process';
import {
  mkdtempSync, existsSync, rmSync, readFileSync, writeFileSync, mkdirSync, readdirSync, statSync,
  copyFileSync, cpSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');
const run = promisify(execFile);

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
 * A private copy of the build and the static pages plus a wrangler config pointing at them (the
 * project's wrangler.toml without its [build] section). `wrangler dev` watches its inputs and
 * restarts when they change; a test server must keep running what it started with, whatever
 * else is rebuilt in the tree meanwhile.
 */
export function testConfig(dir) {
  const app = join(dir, 'app');
  mkdirSync(app, { recursive: true });
  for (const f of readdirSync(join(ROOT, 'build'))) {
    const src = join(ROOT, 'build', f);
    if (statSync(src).isFile() && !f.endsWith('.toml')) copyFileSync(src, join(app, f));
  }
  const assets = join(dir, 'assets');
  if (existsSync(join(ROOT, 'admin-ui/dist'))) cpSync(join(ROOT, 'admin-ui/dist'), assets, { recursive: true });
  else mkdirSync(assets, { recursive: true });
  const out = [];
  let skipping = false;
  for (const line of readFileSync(join(ROOT, 'wrangler.toml'), 'utf8').split('\n')) {
    const header = line.match(/^\s*\[+([^\]]+)\]+\s*$/);
    if (header) skipping = header[1].trim() === 'build';
    if (skipping) continue;
    out.push(line
      .replace(/^main\s*=.*$/, `main = ${JSON.stringify(join(app, 'index.js'))}`)
      .replace(/^directory\s*=\s*"\.\/admin-ui\/dist"/, `directory = ${JSON.stringify(assets)}`)
      .replace(/^migrations_dir\s*=.*$/, `migrations_dir = ${JSON.stringify(join(ROOT, 'migrations'))}`));
  }
  const path = join(dir, 'wrangler.toml');
  writeFileSync(path, out.join('\n'));
  return path;
}

const baseEnv = () => ({
  ...process.env,
  SIGNAL_RELAY_SKIP_BUILD: '1',
  WRANGLER_SEND_METRICS: 'false',
  CI: '1',
  NO_COLOR: '1',
});

export async function applyMigrations(persistDir, config) {
  await run(WRANGLER, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persistDir, '--config', config], {
    cwd: ROOT,
    env: baseEnv(),
  });
}

/**
 * @param {object} [opts]
 * @param {Record<string,string>} [opts.vars] extra `[vars]` overrides
 * @param {string} [opts.persistDir] reuse a persistence directory (for restarts)
 * @param {string} [opts.config] wrangler config file (default: a private copy of the project's)
 * @param {boolean} [opts.quiet] do not echo server output on failure
 */
export async function startServer(opts = {}) {
  if (!existsSync(join(ROOT, 'build/index.js'))) {
    throw new Error('no build: run script/build-worker first');
  }
  const ownsDir = !opts.persistDir;
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), 'signal-relay-'));
  const adminToken = opts.adminToken ?? `test-admin-${randomBytes(12).toString('hex')}`;
  const ticketSecret = opts.ticketSecret ?? randomBytes(24).toString('hex');
  const appDir = opts.config ? null : mkdtempSync(join(tmpdir(), 'signal-relay-app-'));
  const config = opts.config ?? testConfig(appDir);
  if (!opts.skipMigrations) await applyMigrations(persistDir, config);

  const server = {
    persistDir,
    adminToken,
    ticketSecret,
    port: 0,
    baseUrl: '',
    logs: [],
    proc: null,
    async start() {
      this.port = await freePort();
      const inspector = await freePort();
      this.baseUrl = `http://127.0.0.1:${this.port}`;
      const vars = { ADMIN_TOKEN: adminToken, FEED_TICKET_SECRET: ticketSecret, ...(opts.vars ?? {}) };
      const args = [
        'dev', '--ip', '127.0.0.1', '--port', String(this.port), '--inspector-port', String(inspector),
        '--persist-to', persistDir, '--test-scheduled', '--show-interactive-dev-session=false',
        '--log-level', opts.logLevel ?? 'warn',
        '--config', config,
        ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
      ];
      const proc = spawn(WRANGLER, args, { cwd: ROOT, env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      this.proc = proc;
      const keep = (chunk) => {
        this.logs.push(chunk.toString());
        if (this.logs.length > 2000) this.logs.splice(0, 1000);
      };
      proc.stdout.on('data', keep);
      proc.stderr.on('data', keep);
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        if (proc.exitCode !== null) break;
        try {
          const r = await fetch(`${this.baseUrl}/health`);
          if (r.status === 200) return this;
        } catch { /* not listening yet */ }
        await new Promise((r) => setTimeout(r, 250));
      }
      const out = this.logs.join('');
      await this.stop();
      throw new Error(`wrangler dev did not become healthy on ${this.baseUrl}\n${out.slice(-4000)}`);
    },
    async stop() {
      const proc = this.proc;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      try { process.kill(-proc.pid, 'SIGTERM'); } catch { /* gone */ }
      const timer = setTimeout(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await exited;
      clearTimeout(timer);
    },
    /** Stops the process and starts it again on the same storage: Durable Objects restart. */
    async restart() {
      await this.stop();
      await this.start();
      return this;
    },
    async close() {
      await this.stop();
      if (ownsDir) rmSync(persistDir, { recursive: true, force: true });
      if (appDir) rmSync(appDir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
