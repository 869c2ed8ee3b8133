// script/seed-demo.mjs against the real worker, and against what an operator can leave behind
// in the console: `script/server` runs it on every start and must not fail because of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api } from '../../harness/client.mjs';
import { Customer } from '../../harness/customer.mjs';
import { freePort, ROOT } from '../../harness/process.mjs';
import { startServer } from '../../harness/worker.mjs';

const SEED = join(ROOT, 'script/seed-demo.mjs');
const C = '/v1/admin/tenants/demo/connectors/demo-connector';
const SOURCE = '1300000000000000100';
const TARGET = '1300000000000000200';
const DISCORD_EPOCH = 1420070400000n;

let server;
let admin;
let cwd; // the seed writes .dev/credentials.json here, not into the checkout

before(async () => {
  server = await startServer();
  admin = new Api(server.baseUrl, server.adminToken);
  cwd = mkdtempSync(join(tmpdir(), 'signal-relay-seed-'));
});
after(async () => {
  await server?.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

/** Runs the seed; resolves to { code, out } (stdout and stderr together) whatever the exit code. */
function seed(baseUrl = server.baseUrl, token = server.adminToken) {
  return new Promise((resolve) => {
    execFile(process.execPath, [SEED, baseUrl, token], { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

const credentials = () => JSON.parse(readFileSync(join(cwd, '.dev/credentials.json'), 'utf8'));
const runtimeConfig = (token) => new Api(server.baseUrl, token).get('/connectors/demo-connector/runtime-config?tenant_key=demo');
const notes = (out) => out.split('\n').filter((l) => l.startsWith('seed:'));

/** The JSON body of the printed curl, which a reader pastes as is. */
function printedCurlBody(out) {
  const m = out.match(/-d '([\s\S]*?)'\n/);
  assert.ok(m, `a curl with a body is printed:\n${out}`);
  return JSON.parse(m[1]);
}

/** Sends the printed curl's request with the token it prints; returns the API's answer. */
async function sendPrintedCurl(out) {
  const token = out.match(/authorization: Bearer ([^']+)'/)?.[1];
  assert.ok(token, 'the curl carries the connector token');
  return new Api(server.baseUrl, token).post('/ingest/message-batch', printedCurlBody(out));
}

test('a first run creates the demo and prints a curl that works, with an id that encodes now', async () => {
  const r = await seed();
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(notes(r.out), [], 'nothing skipped on a fresh server');
  const c = credentials();
  assert.equal(c.tenant_key, 'demo');
  assert.equal((await runtimeConfig(c.connector_token)).status, 200, 'the written token authenticates the connector');

  const { json } = await admin.get(C);
  assert.deepEqual(json.sources.map((s) => s.channel_id).sort(), [SOURCE, TARGET]);
  assert.equal(json.mappings.length, 1);
  const guilds = await admin.get(`${C}/guilds`);
  assert.deepEqual(guilds.json.guilds.map((g) => g.name), ['Demo Signals HQ'], 'the discovery sync ran');

  const body = printedCurlBody(r.out);
  const m = body.messages[0];
  const encodedMs = Number((BigInt(m.discord_message_id) >> 22n) + DISCORD_EPOCH);
  assert.ok(Math.abs(encodedMs - Date.now()) < 60_000, `the id ${m.discord_message_id} encodes the current time (${new Date(encodedMs).toISOString()})`);
  assert.ok(Math.abs(encodedMs - Date.parse(m.created_at)) < 1000, 'created_at agrees with the id');
  const sent = await sendPrintedCurl(r.out);
  assert.equal(sent.status, 200, sent.text);
  assert.equal(sent.json.accepted, 1);
});

test('a paused connector with a rotated token and edited channels: exit 0, every skip explained', async () => {
  const before = credentials().connector_token;
  assert.equal((await admin.post(`${C}/pause`)).status, 200);
  const rotated = await admin.post(`${C}/rotate-token`);
  assert.equal(rotated.status, 200);
  // The operator disabled the source and removed the mapping.
  assert.equal((await admin.put(`${C}/sources/${SOURCE}`, { guild_id: '1300000000000000000', is_source: true, is_enabled: false })).status, 200);
  assert.equal((await admin.del(`${C}/mappings/${SOURCE}/${TARGET}`)).status, 200);

  const r = await seed();
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /seed failed/);
  assert.match(r.out, /demo connector is paused: skipped the discovery sync; resume it in the console/);
  assert.match(r.out, /connector token in \.dev\/credentials\.json was refused/);
  assert.match(r.out, /kept the console's edits to #btc-signals/);
  assert.match(r.out, /skipped the demo mapping .*source_channel_unavailable/);
  assert.match(r.out, /paused: this answers 403 connector_paused/, 'the printed curl warns that it will be refused');

  const { json } = await admin.get(C);
  assert.equal(json.connector.status, 'paused', 'the seed does not resume what an operator paused');
  assert.equal(json.sources.find((s) => s.channel_id === SOURCE).is_enabled, false, 'nor undo their edits');
  const token = credentials().connector_token;
  assert.notEqual(token, before);
  assert.notEqual(token, rotated.json.token);
  assert.equal((await runtimeConfig(token)).status, 200, 'the credentials file holds a working token again');
});

test('a missing or unreadable credentials file is replaced', async () => {
  unlinkSync(join(cwd, '.dev/credentials.json'));
  let r = await seed();
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /no connector token in \.dev\/credentials\.json to reuse/);
  assert.equal((await runtimeConfig(credentials().connector_token)).status, 200);

  writeFileSync(join(cwd, '.dev/credentials.json'), '{"connector_token": ');
  r = await seed();
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /credentials\.json is not valid JSON/);
  assert.equal((await runtimeConfig(credentials().connector_token)).status, 200);
});

test('after the operator resumes and re-enables, a run does everything again', async () => {
  assert.equal((await admin.post(`${C}/resume`)).status, 200);
  assert.equal((await admin.put(`${C}/sources/${SOURCE}`, { guild_id: '1300000000000000000', is_source: true, is_enabled: true })).status, 200);
  const token = credentials().connector_token;

  const r = await seed();
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(notes(r.out), [], 'nothing skipped');
  assert.equal(credentials().connector_token, token, 'a working token is kept, not rotated');
  const { json } = await admin.get(C);
  assert.deepEqual(json.mappings.map((m) => [m.source_channel_id, m.target_channel_id]), [[SOURCE, TARGET]], 'the mapping is back');
  const sent = await sendPrintedCurl(r.out);
  assert.equal(sent.status, 200, sent.text);
  assert.equal(sent.json.accepted, 1);
});

test('a refused admin token is reported and exits 0; an unreachable server exits 1', async () => {
  let r = await seed(server.baseUrl, 'not-the-admin-token');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /the admin token was refused \(401\): skipped seeding/);

  r = await seed(`http://127.0.0.1:${await freePort()}`);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /seed failed: .* is not reachable/);
});

test('the demo customer signs in and holds Basic; a password changed since gets a reset link, not a silent reset', async () => {
  let r = await seed();
  assert.equal(r.code, 0, r.out);
  const c = credentials();
  assert.equal(c.customer_url, `${server.baseUrl}/t/demo/`);
  assert.ok(r.out.includes(`/t/demo/`) && r.out.includes(c.customer_email));
  const customer = new Customer(server.baseUrl, 'demo');
  await customer.login(c.customer_email, c.customer_password);
  const me = await customer.get('me');
  assert.equal(me.json.access.tier.key, 'basic');
  assert.deepEqual(me.json.channels.available.map((x) => x.channel_id), [SOURCE]);

  const changed = await customer.post('password', { current_password: c.customer_password, new_password: 'the customer chose this' });
  assert.equal(changed.status, 200, changed.text);
  r = await seed();
  assert.equal(r.code, 0, r.out);
  assert.ok(notes(r.out).some((n) => /stored password was refused/.test(n)), r.out);
  assert.match(credentials().customer_reset_url, /\/t\/demo\/reset\/#token=/);
  await new Customer(server.baseUrl, 'demo').login(c.customer_email, 'the customer chose this');
});
