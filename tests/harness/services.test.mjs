// The shared harness's service registry and startStack: fakes start before the worker, the
// worker receives the vars that point it at them, everything stops in reverse order, and a
// failure part-way leaves nothing running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { defineService, processService, serviceNames, startService, startStack } from '../../harness/services.mjs';
import { workerCommand } from '../../harness/worker.mjs';

/** A tiny in-process HTTP service: answers 200 "dummy" to everything. */
function dummy({ onStop = () => {} } = {}) {
  return {
    async start() {
      const srv = createServer((_req, res) => res.end('dummy'));
      await new Promise((r) => srv.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${srv.address().port}`;
      return {
        url,
        async stop() {
          await onStop(url);
          srv.closeAllConnections();
          await new Promise((r) => srv.close(r));
        },
      };
    },
  };
}

const refused = (url) => fetch(url).then(() => false, () => true);

test('each var reaches the worker: --var under wrangler, --vars JSON under Miniflare', () => {
  const vars = { DISCORD_API_BASE: 'http://127.0.0.1:4010', ACCESS_LOG: 'errors' };
  const common = { config: '/x/wrangler.toml', persistDir: '/x/state', port: 8800, inspectorPort: 8801, vars };
  const [, args] = workerCommand({ ...common, runtime: 'wrangler' });
  const passed = args.flatMap((a, i) => (a === '--var' ? [args[i + 1]] : []));
  assert.deepEqual(passed, ['DISCORD_API_BASE:http://127.0.0.1:4010', 'ACCESS_LOG:errors']);
  assert.equal(args[args.indexOf('--port') + 1], '8800');
  const [, mf] = workerCommand({ ...common, runtime: 'miniflare' });
  assert.deepEqual(JSON.parse(mf[mf.indexOf('--vars') + 1]), vars);
  assert.throws(() => workerCommand({ ...common, runtime: 'workerd' }), /unknown runtime/);
});

test('a process service is up once its ready line names the port, and gone after stop', async () => {
  // The shape every program fake follows: listen on an ephemeral port, print {"port":N}, exit
  // on SIGTERM or when stdin closes.
  const script = `
    const srv = require('node:http').createServer((q, s) => s.end(q.url === '/health' ? 'ok' : 'fake'));
    srv.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: srv.address().port })));
    process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;
  const svc = processService({
    command: () => [process.execPath, ['-e', script]],
    health: '/health',
    vars: ({ url }) => ({ FAKE_API_BASE: url }),
  });
  const running = await startService({ name: 'fake', ...svc });
  try {
    assert.match(running.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(running.vars, { FAKE_API_BASE: running.url });
    assert.equal(await (await fetch(`${running.url}/anything`)).text(), 'fake');
    assert.equal(running.pgid(), running.proc.pid);
  } finally {
    await running.stop();
  }
  assert.ok(running.proc.exitCode !== null || running.proc.signalCode !== null, 'the child exited');
  assert.ok(await refused(running.url), 'nothing listens after stop');
});

test('a program with its own ready line gets a parser, and what it announces lands on the service', async () => {
  // Two lines, as crates/fake-discord prints them: a sentence, then a JSON seed after a prefix.
  const script = `
    const srv = require('node:http').createServer((q, s) => s.end('ok'));
    srv.listen(0, '127.0.0.1', () => {
      const base = 'http://127.0.0.1:' + srv.address().port;
      console.log('fake listening on ' + base);
      console.log('fake seed ' + JSON.stringify({ base_url: base, api_base: base + '/api/v10', bot_token: 'tok' }));
    });`;
  const svc = processService({
    command: () => [process.execPath, ['-e', script]],
    ready: (line) => {
      const m = /^fake seed (\{.*\})$/.exec(line);
      return m && { url: JSON.parse(m[1]).base_url, seed: JSON.parse(m[1]) };
    },
    vars: ({ seed }) => ({ FAKE_API_BASE: seed.api_base }),
  });
  const running = await startService({ name: 'seeded', ...svc });
  try {
    assert.equal(running.seed.bot_token, 'tok');
    assert.deepEqual(running.vars, { FAKE_API_BASE: `${running.url}/api/v10` });
    assert.equal(await (await fetch(running.url)).text(), 'ok');
  } finally {
    // No stdin watching in this one: SIGTERM to the group alone must stop it.
    await running.stop();
  }
  assert.ok(await refused(running.url), 'nothing listens after stop');
});

test('a process that exits before its ready line fails with its output', async () => {
  const svc = processService({ command: () => [process.execPath, ['-e', 'console.error("no config"); process.exit(3)']] });
  await assert.rejects(startService({ name: 'broken', ...svc }), /broken exited \(3\)\n[^]*no config/);
});

test('unknown names and duplicate definitions are refused', async () => {
  defineService('registry-probe', dummy());
  assert.ok(serviceNames().includes('registry-probe'));
  assert.throws(() => defineService('registry-probe', dummy()), /already defined/);
  assert.throws(() => defineService('no-start', { vars: () => ({}) }), /needs start\(\)/);
  await assert.rejects(startStack({ services: ['fake-nothing'] }), /unknown service fake-nothing; defined: .*registry-probe/);
});

test('a failure part-way stops what had started, and no worker is started', async () => {
  let firstUrl = null;
  const first = { name: 'first', ...dummy(), vars: ({ url }) => { firstUrl = url; return { FIRST_BASE: url }; } };
  const clash = { name: 'clash', ...dummy(), vars: ({ url }) => ({ FIRST_BASE: url }) };
  await assert.rejects(startStack({ services: [first, clash] }), /services set FIRST_BASE twice \(the second: clash\)/);
  assert.ok(firstUrl && await refused(firstUrl), 'the first service was stopped');

  const failing = { name: 'failing', start: async () => { throw new Error('port in use'); } };
  await assert.rejects(startStack({ services: [first, failing] }), /port in use/);
  assert.ok(await refused(firstUrl), 'the first service was stopped again');
});

test('the worker is pointed at the services and stopped before them', { timeout: 120_000 }, async () => {
  // ALLOWED_ORIGINS is a var the worker already reads: set to the service's URL, a request
  // from that origin gets the CORS grant, which it would not under the default (same origin).
  let workerDownFirst = null;
  let stack;
  defineService('dummy', {
    ...dummy({ onStop: async () => { workerDownFirst = await refused(`${stack.server.baseUrl}/health`); } }),
    vars: ({ url }) => ({ ALLOWED_ORIGINS: url }),
  });
  stack = await startStack({ services: ['dummy'], vars: { ACCESS_LOG: 'errors' } });
  let stopped = false;
  try {
    const { url } = stack.services.dummy;
    assert.deepEqual(stack.vars, { ALLOWED_ORIGINS: url, ACCESS_LOG: 'errors' });
    assert.equal(await (await fetch(url)).text(), 'dummy');
    const granted = await fetch(`${stack.server.baseUrl}/health`, { headers: { origin: url } });
    assert.equal(granted.status, 200);
    assert.equal(granted.headers.get('access-control-allow-origin'), url);
    const other = await fetch(`${stack.server.baseUrl}/health`, { headers: { origin: 'http://127.0.0.1:1' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    await stack.stop();
    stopped = true;
    assert.equal(workerDownFirst, true, 'the worker was down when the service stopped');
    assert.ok(await refused(url), 'the service is down');
  } finally {
    if (!stopped) await stack.stop();
  }
});

test('fake-discord is registered by name: its seed line gives the URL, the seed and the worker vars', async () => {
  const s = await startService('fake-discord');
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(s.seed.base_url, s.url);
    assert.equal(s.seed.cdn_base, `${s.url}/cdn`);
    assert.deepEqual(s.vars, {
      DISCORD_API_BASE: `${s.url}/api/v10`,
      DISCORD_CDN_BASE: `${s.url}/cdn`,
      DISCORD_AUTHORIZE_URL: `${s.url}/oauth2/authorize`,
      DISCORD_BOT_TOKEN: s.seed.bot_token,
      DISCORD_CLIENT_ID: s.seed.client_id,
      DISCORD_CLIENT_SECRET: s.seed.client_secret,
      MEDIA_SOURCE_ORIGINS: s.url,
    });
    const state = await fetch(`${s.url}/_control/state`).then((r) => r.json());
    assert.equal(state.guild_id, s.seed.guild_id);
  } finally {
    await s.stop();
  }
  assert.ok(await refused(s.url), 'stopped with its process group');
});
