// Fake external services (Discord's API, Sell.app, a mail sink) started beside the worker, and
// `startStack`, which starts the requested fakes, then the worker pointed at them, and stops
// everything in reverse order.
//
// A service definition is
//
//   { start(): Promise<{ url, stop(), ...extra }>, vars(running): Record<string, string> }
//
// `start` brings the fake up on a port of its own; `vars` turns the running fake into the
// worker `[vars]` that point the worker at it (e.g. `{ DISCORD_API_BASE: running.url }`). An
// in-process fake (a node:http server in the test process) writes `start` itself; a fake that
// is a program (a Rust binary built in the workspace, a Node script) is `processService(...)`:
// a child in its own process group, stopped with SIGTERM to the group, that announces itself
// with a ready line on stdout (by default `{"port":N}` or `{"url":"…"}`; `ready` parses any
// other). Adding a fake is one `defineService` call in the "Registry" section below, e.g.
//
//   defineService('fake-discord', processService({
//     command: () => [join(ROOT, 'target/debug/fake-discord'), ['--port', '0']],
//     ready: (line) => {
//       const m = /^fake-discord seed (\{.*\})$/.exec(line);
//       return m && { url: JSON.parse(m[1]).base_url, seed: JSON.parse(m[1]) };
//     },
//     vars: ({ seed }) => ({ DISCORD_API_BASE: seed.api_base }),
//   }));
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { childEnv, jsonReady, readyLine, ROOT, spawnGroup, stopGroup, waitHealthy } from './process.mjs';
import { startServer } from './worker.mjs';

const registry = new Map();

/** Registers a named service definition; names are unique. */
export function defineService(name, def) {
  if (registry.has(name)) throw new Error(`service ${name} is already defined`);
  if (typeof def?.start !== 'function') throw new Error(`service ${name}: a definition needs start()`);
  registry.set(name, def);
}

export function serviceNames() {
  return [...registry.keys()];
}

function lookup(name) {
  const def = registry.get(name);
  if (!def) throw new Error(`unknown service ${name}; defined: ${serviceNames().join(', ') || 'none'}`);
  return def;
}

/**
 * A service that is a program. `command()` returns `[cmd, args]` (run from the repository root);
 * `ready(line)` recognises its ready line and returns `{ url, ...extra }` (default: the JSON
 * convention, `{"port":N}` or `{"url":"…"}`), `extra` landing on the running service; `health`,
 * if given, is a path polled for a 200 after it. The running service also carries `proc`,
 * `pgid()` (for /proc CPU sampling) and `logs` (the tail of its output).
 */
export function processService({ command, vars = () => ({}), ready = jsonReady, health = null, startTimeoutMs = 30_000, graceMs = 3000 }) {
  return {
    vars,
    async start({ name = 'service' } = {}) {
      const [cmd, args] = command();
      const { proc, logs } = spawnGroup(cmd, args, { stdin: 'pipe' });
      let announced;
      try {
        announced = await readyLine(proc, logs, name, startTimeoutMs, ready);
        if (health) await waitHealthy(`${announced.url}${health}`, proc, logs, 10_000);
      } catch (e) {
        await stopGroup(proc);
        throw e;
      }
      return { ...announced, proc, logs, pgid: () => proc.pid, stop: () => stopGroup(proc, graceMs) };
    },
  };
}

/** Starts one service, by name or as an inline `{ name, start, vars }`. */
export async function startService(spec) {
  const { name, def } = typeof spec === 'string' ? { name: spec, def: lookup(spec) } : { name: spec.name, def: spec };
  if (!name) throw new Error('an inline service needs a name');
  const running = await def.start({ name });
  let vars;
  try {
    vars = def.vars ? def.vars(running) : {};
  } catch (e) {
    await running.stop();
    throw e;
  }
  return { name, ...running, vars };
}

/**
 * Starts `services` in order, then the worker with their vars (and `vars`, which win over
 * theirs) plus `worker` as startServer options. `stop()` stops the worker, then the services in
 * reverse order; a failure while starting stops whatever had started before rethrowing.
 *
 * @returns {Promise<{ server, services: Record<string, object>, vars: Record<string,string>, stop(): Promise<void> }>}
 */
export async function startStack({ services = [], vars = {}, worker = {} } = {}) {
  const started = [];
  const stopAll = async () => {
    const errors = [];
    for (const s of started.reverse()) {
      try { await s.stop(); } catch (e) { errors.push(e); }
    }
    started.length = 0;
    if (errors.length) throw new AggregateError(errors, `stopping the stack: ${errors.map((e) => e.message).join('; ')}`);
  };
  try {
    const running = {};
    const merged = {};
    for (const spec of services) {
      const s = await startService(spec);
      if (running[s.name]) throw new Error(`service ${s.name} requested twice`);
      started.push(s);
      running[s.name] = s;
      for (const [k, v] of Object.entries(s.vars)) {
        if (k in merged) throw new Error(`services set ${k} twice (the second: ${s.name})`);
        merged[k] = v;
      }
    }
    Object.assign(merged, worker.vars, vars);
    const server = await startServer({ ...worker, vars: merged });
    started.push({ name: 'worker', stop: () => server.close() });
    return { server, services: running, vars: merged, stop: stopAll };
  } catch (e) {
    await stopAll().catch(() => {});
    throw e;
  }
}

// -------------------------------------------------------------------------------------------
// Registry: the fakes every caller can ask for by name, each one defineService(...) here, as in
// the header (ROOT from ./process.mjs is where their programs live).

// The fake mail sink (harness/mail-sink.mjs): the email API password-reset mail goes through.
// `running.url` + '/messages' lists what was sent; '/' shows it as a page.
export const MAIL_SINK_TOKEN = 'test-mail-token';
defineService('mail-sink', processService({
  command: () => [process.execPath, [join(ROOT, 'harness/mail-sink.mjs'), '--port', '0', '--token', MAIL_SINK_TOKEN, '--stdin-lifeline']],
  health: '/health',
  vars: ({ url }) => ({ MAIL_API_BASE: url, MAIL_API_TOKEN: MAIL_SINK_TOKEN, MAIL_FROM: 'Signal Relay <no-reply@example.test>' }),
}));

/**
 * Builds a workspace binary unless SIGNAL_RELAY_SKIP_BUILD=1 and it exists. Cargo is a no-op
 * when it is up to date; the shared build lock (when `flock` is there) keeps a test from
 * building beside another build on a small machine.
 */
export function cargoBinary(name) {
  const bin = join(ROOT, 'target/debug', name);
  if (process.env.SIGNAL_RELAY_SKIP_BUILD === '1' && existsSync(bin)) return bin;
  const cargo = ['cargo', 'build', '--quiet', '-p', name, '--bin', name];
  const [cmd, args] = hasFlock() ? ['flock', ['/tmp/signal-relay-build.lock', ...cargo]] : [cargo[0], cargo.slice(1)];
  execFileSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: childEnv() });
  return bin;
}

function hasFlock() {
  try {
    execFileSync('flock', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Parses fake-discord's second stdout line, `fake-discord seed {...}`. */
export function fakeDiscordReady(line) {
  const m = /^fake-discord seed (\{.*\})$/.exec(line);
  if (!m) return null;
  const seed = JSON.parse(m[1]);
  return { url: seed.base_url, seed };
}

// The fake Discord (crates/fake-discord): REST v10, OAuth2, CDN, rate limits, a control API
// at `<url>/_control` and a live page at `<url>/`. `args` adds flags (e.g. `--limit-global`).
export function fakeDiscord({ args = [] } = {}) {
  return processService({
    command: () => [cargoBinary('fake-discord'), ['--port', '0', ...args]],
    ready: fakeDiscordReady,
    vars: ({ seed }) => ({
      DISCORD_API_BASE: seed.api_base,
      // Avatar URLs of mirrored posts point at the fake's CDN, which serves them.
      DISCORD_CDN_BASE: seed.cdn_base,
      DISCORD_BOT_TOKEN: seed.bot_token,
      DISCORD_CLIENT_ID: seed.client_id,
      DISCORD_CLIENT_SECRET: seed.client_secret,
      // Attachments in tests live on the fake's CDN: the media store may fetch from it.
      MEDIA_SOURCE_ORIGINS: seed.base_url,
      DISCORD_AUTHORIZE_URL: `${seed.base_url}/oauth2/authorize`,
    }),
  });
}

defineService('fake-discord', fakeDiscord());

// crates/fake-sellapp: Sell.app's webhooks, invoices API and checkout. Its webhook target is
// the worker, which starts after it: set it once the worker is up, e.g.
//   await stack.services['fake-sellapp'].control('config', { target_url: `${stack.server.baseUrl}/webhooks/sellapp/demo` });
// `control(path, body)` POSTs to /_control/<path> and returns the JSON answer (throws on non-2xx).
defineService('fake-sellapp', processService({
  command: () => [cargoBinary('fake-sellapp'), ['--port', '0']],
  ready: (line) => {
    const m = /^fake-sellapp seed (\{.*\})$/.exec(line);
    if (!m) return null;
    const seed = JSON.parse(m[1]);
    const control = async (path, body = {}) => {
      const res = await fetch(`${seed.base_url}/_control/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = await res.json();
      if (!res.ok) throw new Error(`fake-sellapp ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    return { url: seed.base_url, seed, control };
  },
  // The fake's checkout pages are http on 127.0.0.1: the shop catalog accepts them only here.
  vars: ({ seed }) => ({ SELLAPP_API_BASE: seed.api_base, SELLAPP_API_TOKEN: seed.api_token, SHOP_ALLOW_LOOPBACK_CHECKOUT: 'true' }),
}));
