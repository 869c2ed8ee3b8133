// Discord's limits, end to end: the real catalog refresh (its Durable Object stepping through
// the Discord facade and the gate) against the fake Discord, which enforces real buckets,
// 429s, 5xx and Cloudflare's ban page. What Discord would count is read back from the fake's
// record of every request it received.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api, eventually } from '../../harness/client.mjs';
import { control, nextSeq, refreshed, refreshEnded, refreshState, requestsSince } from '../../harness/discord.mjs';

let stack;
let admin;
let fake;
let seed;
let firstSeq;
const EXTRA_CHANNELS = 70;

before(async () => {
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
  admin = new Api(stack.server.baseUrl, stack.server.adminToken);
  fake = stack.services['fake-discord'].url;
  seed = stack.services['fake-discord'].seed;
  firstSeq = await nextSeq(fake);
});

after(async () => { await stack?.stop(); });

const api = (r) => r.path.startsWith('/api/');
const tooMany = (rs) => rs.filter((r) => r.status === 429);
const webhookLists = (rs) => rs.filter((r) => /^\/api\/v10\/channels\/\d+\/webhooks$/.test(r.path));

describe('rate limits', () => {
  test('a refresh of dozens of calls is spread under the buckets without an avoidable 429', async () => {
    const state = await control(fake, 'GET', '/state');
    const signals = state.guilds[0].channels.find((c) => c.name === 'Signals');
    for (let i = 0; i < EXTRA_CHANNELS; i++) {
      await control(fake, 'POST', '/channels', { name: `burst-${i}`, type: 0, parent_id: signals.id });
    }
    // Every route and resource allows one call per 1.5 s: a second run right behind the first
    // meets every bucket the first one used still closed. The global 50/s stays Discord's, and
    // one run makes over 70 calls as fast as the gate lets it.
    await control(fake, 'POST', '/limits', { route: { limit: 1, window_ms: 1500 } });
    const since = await nextSeq(fake);
    const before = await refreshState(admin);
    let r = await admin.post('/v1/admin/catalog/refresh', {});
    assert.equal(r.status, 202, r.text);
    r = await admin.post('/v1/admin/catalog/refresh', {});
    assert.equal(r.status, 202, r.text);
    const done = await refreshEnded(admin, before, 120_000);
    const gate = JSON.stringify((await admin.get('/v1/admin/discord')).json.gate);
    assert.equal(done.state, 'idle', `${JSON.stringify(done)} ${gate}`);
    assert.equal(done.last_run.outcome, 'completed', JSON.stringify(done));
    assert.ok(done.runs_completed >= before.runs_completed + 2, JSON.stringify(done));

    const rs = (await requestsSince(fake, since)).filter(api);
    const lists = webhookLists(rs);
    // Both runs listed the webhooks of every channel the bot manages (the 70 new ones too).
    assert.ok(lists.length >= 2 * EXTRA_CHANNELS, `${lists.length} webhook lists`);
    assert.ok(rs.length > 2 * EXTRA_CHANNELS, `${rs.length} requests`);
    assert.ok(tooMany(rs).length <= 1, `429s: ${JSON.stringify(tooMany(rs).map((x) => x.path))}`);
    assert.equal(done.last_run.retries, 0, JSON.stringify(done.last_run));
    assert.ok(rs.every((x) => x.status === 200 || x.status === 429), JSON.stringify(rs.filter((x) => x.status !== 200).slice(0, 3)));
    // The second run met the first run's closed buckets and waited for them to reopen.
    const bySamePath = new Map();
    for (const x of rs) bySamePath.set(x.path, [...(bySamePath.get(x.path) ?? []), x.at_ms]);
    const me = bySamePath.get('/api/v10/users/@me');
    assert.equal(me.length, 2);
    assert.ok(me[1] - me[0] >= 1500 - 5, `GET /users/@me twice within ${me[1] - me[0]} ms`);
    const guild = (await admin.get(`/v1/admin/catalog/guilds/${seed.guild_id}`)).json;
    const burst = guild.channels.filter((c) => c.name.startsWith('burst-') && c.active);
    assert.equal(burst.length, EXTRA_CHANNELS);
    assert.ok(burst.every((c) => c.webhook_count === 0));
    await control(fake, 'POST', '/limits', { route: { limit: 50, window_ms: 1000 } });
  });

  test('a 429 storm is waited out and the refresh completes', async () => {
    await control(fake, 'POST', '/faults', { kind: '429', retry_after_ms: 1200, scope: 'user', count: 6, path: '/webhooks' });
    const since = await nextSeq(fake);
    const done = await refreshed(admin);
    const rs = (await requestsSince(fake, since)).filter(api);
    // Each injected 429 was met once, then waited out: the storm's 429s carry the bucket's
    // headers, so no bucket is left to learn, and nothing else is refused.
    assert.equal(tooMany(rs).length, 6, `each injected 429 was met once, then waited out: ${JSON.stringify(tooMany(rs).map((x) => x.path))}`);
    const lists = webhookLists(rs);
    assert.ok(lists.filter((x) => x.status === 200).length >= EXTRA_CHANNELS, `${lists.length}`);
    // After a 429 on a path, the next call on it came no sooner than its Retry-After.
    for (const x of tooMany(rs)) {
      const next = rs.find((y) => y.seq > x.seq && y.path === x.path);
      assert.ok(next, `no retry of ${x.path}`);
      assert.ok(next.at_ms - x.at_ms >= 1200 - 5, `${x.path} retried after ${next.at_ms - x.at_ms} ms`);
    }
    assert.deepEqual(await control(fake, 'GET', '/faults'), []);
    assert.equal(done.last_run.outcome, 'completed');
  });

  test('a 5xx burst is retried with backoff and the refresh completes later', async () => {
    await control(fake, 'POST', '/faults', { kind: 'status', status: 503, count: 3, path: '/channels', method: 'GET' });
    const since = await nextSeq(fake);
    const done = await refreshed(admin);
    const rs = (await requestsSince(fake, since)).filter(api);
    const failed = rs.filter((x) => x.status === 503);
    assert.equal(failed.length, 3);
    const retry = rs.find((y) => y.seq > failed[2].seq && y.path === failed[2].path);
    assert.equal(retry?.status, 200, 'the same call succeeded once the burst was over');
    assert.equal(done.last_run.outcome, 'completed');
    const guild = (await admin.get(`/v1/admin/catalog/guilds/${seed.guild_id}`)).json;
    assert.equal(guild.channels.filter((c) => c.name.startsWith('burst-') && c.active).length, EXTRA_CHANNELS);
  });

  test('every request carried the bot token, and only as the Authorization header', async () => {
    const rs = (await requestsSince(fake, firstSeq)).filter(api);
    assert.ok(rs.length > 0);
    for (const x of rs) {
      const tokenRoute = /^\/api\/v10\/webhooks\/\d+\/[^/]+/.test(x.path) || x.path.startsWith('/api/v10/oauth2/');
      const auth = x.headers.authorization ?? x.headers.Authorization;
      if (tokenRoute) assert.notEqual(auth, `Bot ${seed.bot_token}`, x.path);
      else assert.equal(auth, `Bot ${seed.bot_token}`, `${x.method} ${x.path}`);
      assert.ok(!x.path.includes(seed.bot_token), 'never in a URL');
      assert.ok(!JSON.stringify(x.body ?? null).includes(seed.bot_token), 'never in a body');
      for (const [k, v] of Object.entries(x.headers)) {
        if (k.toLowerCase() !== 'authorization') assert.ok(!String(v).includes(seed.bot_token), `header ${k}`);
      }
    }
  });

  test('the ban page pauses all traffic, the admin API shows it, and the refresh resumes after an operator reset', async () => {
    // The earlier tests' 429s count too: start the fake's invalid-request window afresh.
    await control(fake, 'POST', '/invalid/reset');
    await control(fake, 'POST', '/limits', { invalid_threshold: 3, ban_ms: 600_000 });
    // Four 429s on the bot's first call: past the fake's threshold, Cloudflare's ban page.
    await control(fake, 'POST', '/faults', { kind: '429', retry_after_ms: 200, scope: 'user', count: 4, path: '/users/@me' });
    const since = await nextSeq(fake);
    const before = await refreshState(admin);
    const r = await admin.post('/v1/admin/catalog/refresh', {});
    assert.equal(r.status, 202, r.text);

    const paused = await eventually(
      async () => (await admin.get('/v1/admin/discord')).json,
      (d) => d?.gate?.state === 'paused' && d.gate.pause_reason === 'banned',
      60_000,
    );
    assert.equal(paused.gate.state, 'paused', JSON.stringify(paused));
    assert.equal(paused.gate.pause_reason, 'banned');
    assert.equal(paused.gate.alert?.kind, 'banned');
    assert.ok(paused.gate.counters.ban_pages >= 1);
    const waiting = await refreshState(admin);
    assert.equal(waiting.state, 'waiting', JSON.stringify(waiting));
    assert.equal(waiting.wait_reason, 'banned');

    // Paused means paused: no request reaches the fake while the ban holds.
    const seen = (await requestsSince(fake, since)).filter(api);
    const banPages = seen.filter((x) => x.status === 429 && !x.headers['x-ratelimit-limit']);
    assert.ok(seen.filter((x) => x.status === 429).length >= 4, JSON.stringify(seen.map((x) => [x.seq, x.status, x.path])));
    const settled = await nextSeq(fake);
    await admin.post('/v1/admin/catalog/refresh', {});
    const still = await refreshState(admin);
    assert.notEqual(still.state, 'idle');
    assert.deepEqual((await requestsSince(fake, settled)).filter(api), [], 'the gate held the refresh back');
    assert.ok(banPages.length <= seen.length);

    // The operator lifts it (Discord's ban has ended: here, the fake's is reset).
    await control(fake, 'POST', '/invalid/reset');
    await control(fake, 'POST', '/limits', { invalid_threshold: 10000 });
    const reset = await admin.post('/v1/admin/discord/reset', {});
    assert.equal(reset.status, 200, reset.text);
    assert.equal(reset.json.reset.pause_lifted, true);
    await admin.post('/v1/admin/catalog/refresh', {});
    const done = await refreshEnded(admin, before, 120_000);
    assert.equal(done.state, 'idle', `${JSON.stringify(done)} ${JSON.stringify((await admin.get('/v1/admin/discord')).json.gate)}`);
    assert.equal(done.last_run.outcome, 'completed', JSON.stringify(done));
    const gate = (await admin.get('/v1/admin/discord')).json.gate;
    assert.equal(gate.state, 'sending');
  });
});
