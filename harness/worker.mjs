// The real worker, from build/, with state of its own: a private copy of the build and pages, a
// fresh persistence directory with the D1 migrations applied, its own admin token and ticket
// secret, a free port. Under `wrangler dev` (the default, as `script/server` runs it) or under
// Miniflare's API (harness/miniflare-host.mjs: the same build and bindings without wrangler's
// proxy and inspector). Used by the end-to-end, browser and benchmark runs alike.
import { execFile } from 'node:child_process';
import {
  mkdtempSync, existsSync, rmSync, readFileSync, writeFileSync, mkdirSync, readdirSync, statSync,
  copyFileSync, cpSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ROOT, childEnv, freePort, readyLine, spawnGroup, stopGroup, waitHealthy } from './process.mjs';

const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');
const MINIFLARE_HOST = join(ROOT, 'harness/miniflare-host.mjs');
const run = promisify(execFile);

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

export async function applyMigrations(persistDir, config) {
  await run(WRANGLER, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persistDir, '--config', config], {
    cwd: ROOT,
    env: childEnv(),
  });
}

/** The command line that runs `config` on `port`: the one place the runtime flags are spelled. */
export function workerCommand({ runtime = 'wrangler', config, persistDir, port, inspectorPort, vars = {}, logLevel = 'warn', testScheduled = false }) {
  if (runtime === 'wrangler') {
    return [WRANGLER, [
      'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
      '--persist-to', persistDir, ...(testScheduled ? ['--test-scheduled'] : []),
      '--show-interactive-dev-session=false', '--log-level', logLevel, '--config', config,
      ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
    ]];
  }
  if (runtime === 'miniflare') {
    return [process.execPath, [
      MINIFLARE_HOST, '--config', config, '--persist', persistDir, '--port', String(port), '--vars', JSON.stringify(vars),
    ]];
  }
  throw new Error(`unknown runtime ${JSON.stringify(runtime)}: wrangler or miniflare`);
}

/**
 * Runs a worker config once on a free port (its own process group) and waits until /health
 * answers. Returns { proc, port, baseUrl, logs, stop }. The benchmark's reference runs through
 * this too, with its own config.
 */
export async function runWorker({ runtime = 'wrangler', config, persistDir, vars, logLevel, testScheduled, logs = [], keepChunks = 2000, what = 'worker' }) {
  const port = await freePort();
  const inspectorPort = runtime === 'wrangler' ? await freePort() : undefined;
  const [cmd, args] = workerCommand({ runtime, config, persistDir, port, inspectorPort, vars, logLevel, testScheduled });
  // Miniflare's host keeps stdin open: it exits when stdin closes, i.e. when we die.
  const { proc } = spawnGroup(cmd, args, { stdin: runtime === 'miniflare' ? 'pipe' : 'ignore', logs, keepChunks });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    if (runtime === 'miniflare') await readyLine(proc, logs, `${what} (miniflare)`, 90_000);
    await waitHealthy(`${baseUrl}/health`, proc, logs, runtime === 'miniflare' ? 30_000 : 90_000);
  } catch (e) {
    await stopGroup(proc);
    throw new Error(`${what} under ${runtime}: ${e.message}`);
  }
  return { proc, port, baseUrl, logs, stop: () => stopGroup(proc) };
}

/**
 * @param {object} [opts]
 * @param {Record<string,string>} [opts.vars] extra `[vars]` overrides
 * @param {'wrangler'|'miniflare'} [opts.runtime] `wrangler dev` (default) or Miniflare's API
 * @param {string} [opts.persistDir] reuse a persistence directory (for restarts)
 * @param {string} [opts.config] wrangler config file (default: a private copy of the project's)
 * @param {string} [opts.logLevel] wrangler's --log-level (default warn)
 * @param {string|true} [opts.mediaKey] MEDIA_SIGNING_KEY (true: a random one), kept as `server.mediaKey`
 */
export async function startServer(opts = {}) {
  if (!existsSync(join(ROOT, 'build/index.js'))) {
    throw new Error('no build: run script/build-worker first');
  }
  const runtime = opts.runtime ?? 'wrangler';
  const ownsDir = !opts.persistDir;
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), 'signal-relay-'));
  const adminToken = opts.adminToken ?? `test-admin-${randomBytes(12).toString('hex')}`;
  const ticketSecret = opts.ticketSecret ?? randomBytes(24).toString('hex');
  // MEDIA_SIGNING_KEY (≥ 32 bytes) turns the media store's links on; tests that use them pass
  // one (`mediaKey: true` for a random one) and sign with it to forge and verify.
  const mediaKey = opts.mediaKey === true ? randomBytes(24).toString('hex') : (opts.mediaKey ?? null);
  const appDir = opts.config ? null : mkdtempSync(join(tmpdir(), 'signal-relay-app-'));
  let config = opts.config;
  const server = {
    runtime,
    persistDir,
    adminToken,
    ticketSecret,
    mediaKey,
    vars: {
      ADMIN_TOKEN: adminToken, FEED_TICKET_SECRET: ticketSecret,
      ...(mediaKey ? { MEDIA_SIGNING_KEY: mediaKey } : {}), ...(opts.vars ?? {}),
    },
    port: 0,
    baseUrl: '',
    logs: [],
    proc: null,
    async start() {
      const w = await runWorker({
        runtime, config, persistDir, vars: this.vars, logLevel: opts.logLevel ?? 'warn', testScheduled: true,
        logs: this.logs, what: 'the worker',
      });
      this.proc = w.proc;
      this.port = w.port;
      this.baseUrl = w.baseUrl;
      return this;
    },
    async stop() {
      await stopGroup(this.proc);
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
  try {
    config ??= testConfig(appDir);
    if (!opts.skipMigrations) await applyMigrations(persistDir, config);
    await server.start();
  } catch (e) {
    await server.close();
    throw e;
  }
  return server;
}
