// The Discord client's gate through the admin API: not configured, then against the fake
// Discord — a healthy gate, a probe through it, the 401 stop and the operator's reset, a ban
// page's pause and alert, a 5xx and a 429 classified, the gate refusing locally instead of
// sending, and its state surviving a restart.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../harness/worker.mjs';
import { startStack } from '../../harness/services.mjs';
import { Api } from '../../harness/client.mjs';

describe('without Discord configured', () => {
  let server;
  before(async () => { server = await startServer({ vars: { ACCESS_LOG: 'errors' } }); });
  after(async () => { await server?.close(); });

  test('the status says discord_not_configured and names what is missing', async () => {
    const admin = new Api(server.baseUrl, server.adminToken);
    const r = await admin.get('/v1/admin/discord');
    assert.equal(r.status, 200);
    assert.equal(r.json.configured, false);
    assert.equal(r.json.error_code, 'discord_not_configured');
    assert.deepEqual(r.json.missing, ['DISCORD_BOT_TOKEN', 'DISCORD_CLIENT_ID', 'DISCORD_CLIENT_SECRET']);
    assert.equal(r.json.api_base, 'https://discord.com/api/v10');
    assert.equal(r.json.gate, undefined);
  });

  test('reset and probe refuse with discord_not_configured', async () => {
    const admin = new Api(server.baseUrl, server.adminToken);
    for (const path of ['/v1/admin/discord/reset', '/v1/admin/discord/probe']) {
      const r = await admin.post(path, {});
      assert.equal(r.status, 409, path);
      assert.equal(r.json.error_code, 'discord_not_configured', path);
    }
  });

  test('the area is the operator\'s', async () => {
    const anon = new Api(server.baseUrl, null);
    assert.equal((await anon.get('/v1/admin/discord')).status, 401);
    assert.equal((await new Api(server.baseUrl, 'wrong').post('/v1/admin/discord/reset', {})).status, 401);
  });
});

describe('with the fake Discord', () => {
  let stack, admin, fake, seed;
  before(async () => {
    stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
    admin = new Api(stack.server.baseUrl, stack.server.adminToken);
    fake = new Api(stack.services['fake-discord'].url, null);
    seed = stack.services['fake-discord'].seed;
  });
  after(async () => { await stack?.stop(); });

  const status = async () => {
    const r = await admin.get('/v1/admin/discord');
    assert.equal(r.status, 200);
    return r.json;
  };
  const probe = async () => {
    const r = await admin.post('/v1/admin/discord/probe', {});
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  /** Requests the fake received after `since`, to `/users/@me`. */
  const received = async (since) => {
    const r = await fake.get(`/_control/requests?since=${since}&path=/users/@me`);
    assert.equal(r.status, 200);
    return r.json;
  };
  const lastSeq = async () => (await fake.get('/_control/requests?since=0')).json.next ?? 0;

  test('a fresh gate is healthy and names no secret', async () => {
    const s = await status();
    assert.equal(s.configured, true);
    assert.equal(s.api_base, seed.api_base);
    assert.equal(s.oauth_configured, true);
    assert.deepEqual(s.missing, []);
    assert.match(s.gate_name, /^bot:[0-9a-f]{32}$/);
    assert.equal(s.gate.state, 'sending');
    assert.equal(s.gate.paused_until_ms, undefined);
    assert.equal(s.gate.alert, undefined);
    assert.equal(s.gate.stopped, undefined);
    assert.equal(s.gate.invalid_budget, 1000);
    assert.equal(s.gate.counters.requests_sent, 0);
    const text = JSON.stringify(s);
    assert.ok(!text.includes(seed.bot_token), 'the bot token is not shown');
    assert.ok(!text.includes(seed.client_secret), 'the client secret is not shown');
  });

  test('a probe goes through the gate, is authenticated as the bot, and is counted', async () => {
    const since = await lastSeq();
    const p = await probe();
    assert.equal(p.probe.ok, true, JSON.stringify(p.probe));
    assert.equal(p.probe.user.username, 'Signal Relay');
    assert.equal(p.probe.user.id, seed.client_id);
    const got = await received(since);
    assert.equal(got.requests.length, 1);
    const headers = Object.fromEntries(Object.entries(got.requests[0].headers).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(headers.authorization, `Bot ${seed.bot_token}`);
    assert.match(headers['user-agent'], /^DiscordBot \(/);
    const g = p.gate;
    assert.equal(g.state, 'sending');
    assert.equal(g.counters.requests_sent, 1);
    assert.equal(g.counters.responses_2xx, 1);
    assert.equal(g.in_flight, 0);
    assert.ok(g.routes >= 1, 'the route is known now');
    assert.equal(g.global_requests_last_window <= 1, true);
  });

  test('a 401 stops the bot token until the operator resets', async () => {
    const before = (await status()).gate;
    let r = await fake.post('/_control/bot-token', { token: `rotated-${Date.now()}` });
    assert.equal(r.status, 200, r.text);
    let p = await probe();
    assert.equal(p.probe.ok, false);
    assert.equal(p.probe.error_code, 'discord_bot_token_stopped');
    assert.equal(p.gate.state, 'stopped');
    assert.ok(p.gate.stopped, 'the stop is shown');
    assert.equal(p.gate.alert.kind, 'unauthorized');
    assert.equal(p.gate.counters.unauthorized_401, before.counters.unauthorized_401 + 1);
    assert.equal(p.gate.invalid_requests, before.invalid_requests + 1, 'a 401 is an invalid request');

    // Stopped: nothing more is sent with the token, whatever the route.
    let since = await lastSeq();
    p = await probe();
    assert.equal(p.probe.error_code, 'discord_bot_token_stopped');
    assert.equal((await received(since)).requests.length, 0, 'nothing sent while stopped');
    assert.equal(p.gate.counters.refused_stopped, before.counters.refused_stopped + 1);
    assert.equal(p.gate.counters.requests_sent, before.counters.requests_sent + 1);

    // The token is fixed; only an operator resumes.
    r = await fake.post('/_control/bot-token', { token: seed.bot_token });
    assert.equal(r.status, 200, r.text);
    assert.equal((await new Api(stack.server.baseUrl, null).post('/v1/admin/discord/reset', {})).status, 401);
    assert.equal((await new Api(stack.server.baseUrl, 'not-the-admin-token').post('/v1/admin/discord/reset', {})).status, 401);
    assert.equal((await status()).gate.state, 'stopped', 'a refused reset changes nothing');
    r = await admin.post('/v1/admin/discord/reset', {});
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.reset, { stop_cleared: true, alert_cleared: true, pause_lifted: false });
    assert.equal(r.json.gate.state, 'sending');
    assert.equal(r.json.gate.alert, undefined);
    since = await lastSeq();
    p = await probe();
    assert.equal(p.probe.ok, true, JSON.stringify(p.probe));
    assert.equal((await received(since)).requests.length, 1);
  });

  test("a ban page pauses all traffic with an alert; the operator's reset ends the pause", async () => {
    const before = (await status()).gate;
    const page = '<!DOCTYPE html><html><head><title>Access denied | discord.com used Cloudflare to restrict access</title></head><body>Error 1015</body></html>';
    let r = await fake.post('/_control/faults', { kind: 'status', status: 429, body: page, content_type: 'text/html', path: '/users/@me', count: 1 });
    assert.equal(r.status, 200, r.text);
    const t0 = Date.now();
    let p = await probe();
    assert.equal(p.probe.ok, false);
    assert.equal(p.probe.error_code, 'discord_banned');
    assert.ok(p.probe.retry_at_ms >= t0 + 59_000, `paused for the ban backoff: ${p.probe.retry_at_ms - t0} ms`);
    assert.equal(p.gate.state, 'paused');
    assert.equal(p.gate.pause_reason, 'banned');
    assert.equal(p.gate.paused_until_ms, p.probe.retry_at_ms);
    assert.equal(p.gate.alert.kind, 'banned');
    assert.equal(p.gate.ban_strikes, before.ban_strikes + 1);
    assert.equal(p.gate.counters.ban_pages, before.counters.ban_pages + 1);
    assert.equal(p.gate.counters.rate_limited_429, before.counters.rate_limited_429, 'a ban page is not counted as a 429');
    // Paused: nothing is sent, on any route.
    const since = await lastSeq();
    p = await probe();
    assert.equal(p.probe.error_code, 'discord_banned');
    assert.equal((await received(since)).requests.length, 0, 'nothing sent while banned');
    // The operator put a proxy in front (here: nothing to do) and resets.
    r = await admin.post('/v1/admin/discord/reset', {});
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.reset, { stop_cleared: false, alert_cleared: true, pause_lifted: true });
    assert.equal(r.json.gate.state, 'sending');
    assert.equal(r.json.gate.ban_strikes, before.ban_strikes + 1, 'the strike stays for the next backoff');
    p = await probe();
    assert.equal(p.probe.ok, true, JSON.stringify(p.probe));
    await fake.del('/_control/faults');
  });

  test('a 5xx is transient with a retry time; a 429 makes the gate refuse locally until its Retry-After', async () => {
    const before = (await status()).gate;
    let r = await fake.post('/_control/faults', { kind: 'status', status: 503, path: '/users/@me', count: 1 });
    assert.equal(r.status, 200, r.text);
    const before5xx = Date.now();
    let p = await probe();
    assert.equal(p.probe.ok, false);
    assert.equal(p.probe.error_code, 'discord_unavailable');
    assert.ok(p.probe.retry_at_ms > before5xx, 'a retry time in the future');
    assert.equal(p.gate.counters.responses_5xx, before.counters.responses_5xx + 1);
    // A 5xx without rate-limit headers frees its slot: the next probe goes straight through.
    p = await probe();
    assert.equal(p.probe.ok, true, JSON.stringify(p.probe));

    r = await fake.post('/_control/faults', { kind: '429', retry_after_ms: 120_000, scope: 'user', path: '/users/@me', count: 1 });
    assert.equal(r.status, 200, r.text);
    const before429 = Date.now();
    p = await probe();
    assert.equal(p.probe.ok, false);
    assert.equal(p.probe.error_code, 'discord_rate_limited');
    assert.ok(p.probe.retry_at_ms >= before429 + 119_000, `not before its Retry-After: ${p.probe.retry_at_ms - before429} ms`);
    assert.equal(p.gate.counters.rate_limited_429, before.counters.rate_limited_429 + 1);
    assert.equal(p.gate.invalid_requests, before.invalid_requests + 1, 'a user-scope 429 is an invalid request');
    // The bucket is held: the gate answers without sending.
    const since = await lastSeq();
    p = await probe();
    assert.equal(p.probe.ok, false);
    assert.equal(p.probe.error_code, 'discord_rate_limited');
    assert.ok(p.probe.retry_at_ms >= before429 + 119_000);
    assert.equal((await received(since)).requests.length, 0, 'nothing sent while the bucket waits');
    assert.equal(p.gate.counters.refused_locally, before.counters.refused_locally + 1);
    assert.equal(p.gate.state, 'sending', 'one bucket waiting is not a pause of the token');
    await fake.del('/_control/faults');
  });

  test('the gate keeps what it learned across a restart of its object', async () => {
    const before = (await status()).gate;
    // Refusals are written before the gate answers; routine grants and counts within 100 ms
    // (an eviction only follows an idle object). The last call here was a refusal counted
    // locally: routine, so the restart comes after that interval, as an eviction would.
    await new Promise((r) => setTimeout(r, 300));
    await stack.server.restart();
    admin = new Api(stack.server.baseUrl, stack.server.adminToken);
    const after = (await status()).gate;
    assert.deepEqual(after.counters, before.counters);
    assert.equal(after.routes, before.routes);
    assert.equal(after.invalid_requests, before.invalid_requests);
    // The 429's Retry-After (120 s) still holds the probe's bucket: refused without sending.
    const since = await lastSeq();
    const p = await probe();
    assert.equal(p.probe.error_code, 'discord_rate_limited');
    assert.equal((await received(since)).requests.length, 0);
  });
});
