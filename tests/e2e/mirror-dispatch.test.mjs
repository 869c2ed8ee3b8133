// Mirroring against the fake Discord, through the real worker: the tenant object hands each
// committed change of a mapped source channel to the tenant's mirror object, which posts,
// edits and deletes through one webhook per target channel. What arrives is read from the
// fake's control API (every message it holds, with the allowed_mentions it was sent with).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api, eventually, ingest, message, provision } from '../../harness/client.mjs';
import { control } from '../../harness/discord.mjs';

const SRC = '1300000000000000100';
let stack, admin, fake, guild, ctx, targets;
let clock = Date.now() - 60_000;
/** Strictly increasing message ids (a message's id encodes its creation time). */
function nextId() {
  clock += 1;
  return ((BigInt(clock) - 1420070400000n) << 22n).toString();
}

async function mirrored(channel) {
  const all = await control(fake, 'GET', `/messages?channel_id=${channel}`);
  return all.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}

/** Restarts the worker on the same storage; it comes back on another port. */
async function restart() {
  await stack.server.restart();
  admin = new Api(stack.server.baseUrl, stack.server.adminToken);
  ctx.api = new Api(stack.server.baseUrl, ctx.token);
}

async function settle(pred, ms = 60_000) {
  return eventually(async () => Promise.all(targets.map(mirrored)), pred, ms);
}

before(async () => {
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
  admin = new Api(stack.server.baseUrl, stack.server.adminToken);
  fake = stack.services['fake-discord'].url;
  guild = (await control(fake, 'GET', '/state')).guilds[0].id;
  // Discord's unadvertised per-channel webhook limit (30/min, no headers until the first 429)
  // is off here: 200 posts per channel would take minutes, and its first 429 is unavoidable.
  // The advertised per-webhook bucket stays, and the test requires that it is never hit.
  await control(fake, 'POST', '/limits', { webhook: { limit: 10, window_ms: 1000 }, channel_webhooks: { limit: 0, window_ms: 1 } });
  targets = [];
  for (const name of ['mirror-a', 'mirror-b', 'mirror-c']) {
    targets.push((await control(fake, 'POST', '/channels', { name, type: 0 })).id);
  }
  ctx = await provision(stack.server);
  const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
  let r = await admin.put(`${c}/sources/${SRC}`, { guild_id: '1300000000000000000', is_source: true });
  assert.equal(r.status, 200, r.text);
  for (const t of targets) {
    r = await admin.put(`${c}/sources/${t}`, { guild_id: guild, is_source: false, is_target: true });
    assert.equal(r.status, 200, r.text);
    r = await admin.put(`${c}/mappings/${SRC}/${t}`, {});
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => { await stack?.stop(); });

describe('mirroring', () => {
  test('200 signals over 3 targets arrive complete, in source order, exactly once, with no 429', async () => {
    const since = (await control(fake, 'GET', '/state')).next_request_seq - 1;
    const ids = [];
    for (let b = 0; b < 10; b++) {
      const msgs = [];
      for (let i = 0; i < 20; i++) {
        const id = nextId();
        ids.push(id);
        msgs.push(message(ctx, { discord_message_id: id, content_raw: `signal #${ids.length}`, content_clean: `signal #${ids.length}`, created_at: new Date(clock).toISOString() }));
      }
      await ingest(ctx, msgs);
    }
    const lists = await settle((ls) => ls.every((l) => l.length >= 200), 180_000);
    for (const l of lists) {
      assert.equal(l.length, 200, 'exactly once');
      assert.deepEqual(l.map((m) => m.content), ids.map((_, i) => `signal #${i + 1}`), 'in source order');
      for (const m of l) {
        assert.deepEqual(m.allowed_mentions, { parse: [] });
        assert.equal(m.author.username, 'The Analyst');
        assert.ok(m.webhook_id, 'posted through the target\'s webhook');
      }
    }
    const reqs = (await control(fake, 'GET', `/requests?since=${since}`)).requests;
    assert.equal(reqs.filter((r) => r.status === 429).length, 0, 'no 429');
    assert.equal(reqs.filter((r) => r.method === 'POST' && r.path.includes('/webhooks/') ).length, 600, 'one post per signal and target');
    const checks = await control(fake, 'GET', '/checks');
    assert.equal(checks.ok, true, JSON.stringify(checks));
  });

  test('edits patch in place, deletes remove, a delete before its create posts nothing, an edit before its create posts the edit', async () => {
    const t0 = clock;
    const a = nextId(), b = nextId(), c = nextId();
    const create = (id, text) => message(ctx, { discord_message_id: id, content_raw: text, content_clean: text, created_at: new Date(t0).toISOString() });
    const edit = (id, text) => {
      const m = message(ctx, { discord_message_id: id, event_type: 'update', content_raw: text, content_clean: text, created_at: new Date(t0).toISOString(), edited_at: new Date(t0 + 5_000).toISOString() });
      delete m.attachments; delete m.embeds;
      return m;
    };
    const del = (id) => message(ctx, { discord_message_id: id, event_type: 'delete', deleted_at: new Date(t0 + 10_000).toISOString() });
    await ingest(ctx, [create(a, 'BTC long 42000')]);
    await settle((ls) => ls.every((l) => l.some((m) => m.content === 'BTC long 42000')));
    await ingest(ctx, [edit(a, 'BTC long 42000, TP 45000')]);
    await ingest(ctx, [del(b)]);
    await ingest(ctx, [create(b, 'never shown')]);
    await ingest(ctx, [edit(c, 'ETH short, edited')]);
    await ingest(ctx, [create(c, 'ETH short')]);
    const lists = await settle((ls) => ls.every((l) => l.some((m) => m.content === 'BTC long 42000, TP 45000') && l.some((m) => m.content === 'ETH short, edited')));
    for (const l of lists) {
      assert.equal(l.filter((m) => m.content.startsWith('BTC long 42000')).length, 1, 'the edit patched the same message');
      assert.equal(l.filter((m) => m.content === 'never shown').length, 0, 'a delete before the create posts nothing');
      assert.equal(l.filter((m) => m.content.startsWith('ETH short')).length, 1);
      assert.deepEqual(l.find((m) => m.content.startsWith('BTC')).allowed_mentions, { parse: [] }, 'edits carry allowed_mentions');
    }
    await ingest(ctx, [del(a)]);
    await settle((ls) => ls.every((l) => !l.some((m) => m.content.startsWith('BTC long 42000'))));
    const checks = await control(fake, 'GET', '/checks');
    assert.equal(checks.ok, true, JSON.stringify(checks));
  });

  test('a deleted webhook (10015) is re-created and the post goes through', async () => {
    const hooks = await control(fake, 'GET', '/webhooks');
    const hook = hooks.find((h) => h.channel_id === targets[0]);
    assert.ok(hook, JSON.stringify(hooks));
    await control(fake, 'DELETE', `/webhooks/${hook.id}`);
    const id = nextId();
    await ingest(ctx, [message(ctx, { discord_message_id: id, content_raw: 'after 10015', content_clean: 'after 10015', created_at: new Date(clock).toISOString() })]);
    const lists = await settle((ls) => ls.every((l) => l.some((m) => m.content === 'after 10015')));
    assert.equal(lists[0].filter((m) => m.content === 'after 10015').length, 1);
    const again = (await control(fake, 'GET', '/webhooks')).filter((h) => h.channel_id === targets[0]);
    assert.equal(again.length, 1);
    assert.notEqual(again[0].id, hook.id, 'a new webhook');
  });

  test('a 5xx burst loses nothing and duplicates nothing', async () => {
    await control(fake, 'POST', '/faults', { kind: 'status', status: 502, path: '/webhooks/', count: 6 });
    const ids = [nextId(), nextId(), nextId()];
    await ingest(ctx, ids.map((id, i) => message(ctx, { discord_message_id: id, content_raw: `burst ${i}`, content_clean: `burst ${i}`, created_at: new Date(clock).toISOString() })));
    const lists = await settle((ls) => ls.every((l) => [0, 1, 2].every((i) => l.some((m) => m.content === `burst ${i}`))), 120_000);
    for (const l of lists) {
      const burst = l.filter((m) => m.content.startsWith('burst '));
      assert.deepEqual(burst.map((m) => m.content), ['burst 0', 'burst 1', 'burst 2']);
    }
  });

  test('a 429 storm loses nothing and keeps the order', async () => {
    await control(fake, 'POST', '/faults', { kind: '429', retry_after_ms: 700, path: '/webhooks/', count: 6 });
    const ids = [nextId(), nextId(), nextId(), nextId()];
    await ingest(ctx, ids.map((id, i) => message(ctx, { discord_message_id: id, content_raw: `storm ${i}`, content_clean: `storm ${i}`, created_at: new Date(clock).toISOString() })));
    const lists = await settle((ls) => ls.every((l) => ids.every((_, i) => l.some((m) => m.content === `storm ${i}`))), 120_000);
    for (const l of lists) {
      assert.deepEqual(l.filter((m) => m.content.startsWith('storm ')).map((m) => m.content), ids.map((_, i) => `storm ${i}`));
    }
  });

  test('the panel shows targets, recent jobs and latency per stage', async () => {
    const r = await admin.get(`/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}/mirroring`);
    assert.equal(r.status, 200, r.text);
    const m = r.json.mirroring;
    assert.equal(m.forward_enabled, true);
    assert.equal(m.targets.length, 3);
    assert.ok(m.recent_jobs.length > 0);
    assert.ok(m.latency.dispatch.create.count > 0);
    assert.ok(m.latency.discord_answer.create.p95 >= m.latency.discord_answer.create.p50);
    const none = await new Api(stack.server.baseUrl, 'wrong').get(`/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}/mirroring`);
    assert.equal(none.status, 401);
    const bad = await admin.post(`/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}/mirroring/targets/${targets[0]}/dead/999/requeue`, {});
    assert.equal(bad.status, 404, bad.text);
    assert.equal(bad.json.error_code, 'mirror_job_not_found');
  });

  test('the crash-after-send window does not double-post: the post in doubt is looked up', async () => {
    // Discord takes the post but its answer is held; the worker dies before it arrives.
    await control(fake, 'POST', '/faults', { kind: 'hold', ms: 8000, method: 'POST', path: `/webhooks/`, count: 1 });
    const since = (await control(fake, 'GET', '/state')).next_request_seq - 1;
    const id = nextId();
    await ingest(ctx, [message(ctx, { discord_message_id: id, content_raw: 'in doubt', content_clean: 'in doubt', created_at: new Date(clock).toISOString() })]);
    await settle((ls) => ls.some((l) => l.some((m) => m.content === 'in doubt')));
    await restart();
    const lists = await settle((ls) => ls.every((l) => l.some((m) => m.content === 'in doubt')), 150_000);
    // Everything after it still flows, and the doubtful one was never posted twice.
    const after = nextId();
    await ingest(ctx, [message(ctx, { discord_message_id: after, content_raw: 'after the doubt', content_clean: 'after the doubt', created_at: new Date(clock).toISOString() })]);
    const final = await settle((ls) => ls.every((l) => l.some((m) => m.content === 'after the doubt')), 150_000);
    for (const l of final) assert.equal(l.filter((m) => m.content === 'in doubt').length, 1, 'exactly once');
    assert.ok(lists.length === 3);
    const reqs = (await control(fake, 'GET', `/requests?since=${since}`)).requests;
    assert.ok(reqs.some((r) => r.method === 'GET' && /\/channels\/\d+\/messages/.test(r.path)), 'the recovery listed the channel');
  });

  test('a worker restart mid-queue loses and duplicates nothing', async () => {
    await control(fake, 'POST', '/faults', { kind: 'latency', ms: 300, path: '/webhooks/', count: 30 });
    const ids = Array.from({ length: 10 }, nextId);
    await ingest(ctx, ids.map((id, i) => message(ctx, { discord_message_id: id, content_raw: `restart ${i}`, content_clean: `restart ${i}`, created_at: new Date(clock).toISOString() })));
    await new Promise((r) => setTimeout(r, 500));
    await restart();
    const lists = await settle((ls) => ls.every((l) => ids.every((_, i) => l.some((m) => m.content === `restart ${i}`))), 120_000);
    for (const l of lists) {
      assert.deepEqual(l.filter((m) => m.content.startsWith('restart ')).map((m) => m.content), ids.map((_, i) => `restart ${i}`));
    }
  });
});
