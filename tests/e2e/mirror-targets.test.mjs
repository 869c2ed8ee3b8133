// Mirroring details per target, through the real worker and the fake Discord: the author's
// avatar on webhook posts points at the configured CDN (DISCORD_CDN_BASE, here the fake's) and
// the CDN serves it; the `embed` style into a forum channel opens a forum post (thread +
// starter card) and follows its edits and deletes there; a requeued dead letter reports its
// latency measured from the requeue (and a requeue names only the connector's own targets). Each scenario has its own source channel, so the targets
// of one never see the others' signals.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api, eventually, ingest, message, provision } from '../../harness/client.mjs';
import { control, refreshed } from '../../harness/discord.mjs';

const SRC_AVATAR = '1300000000000000201';
const SRC_FORUM = '1300000000000000202';
const SRC_REQUEUE = '1300000000000000203';
const STATIC_AUTHOR = '1300000000000000901';
const ANIMATED_AUTHOR = '1300000000000000902';
const ANIMATED_HASH = 'a_1269e74af4df7417b13759eae50c83dc';

let stack, admin, fake, seed, guild, ctx, base;
let avatars, avatars2, forum, requeue;
let clock = Date.now() - 60_000;
function nextId() {
  clock += 1;
  return ((BigInt(clock) - 1420070400000n) << 22n).toString();
}
const sent = (source, id, text, extra = {}) => message(ctx, {
  discord_message_id: id, discord_channel_id: source, content_raw: text, content_clean: text,
  created_at: new Date(clock).toISOString(), ...extra,
});
const edited = (source, id, text) => sent(source, id, text, {
  event_type: 'update', edited_at: new Date(clock + 5_000).toISOString(), attachments: undefined, embeds: undefined,
});
const deleted = (source, id) => message(ctx, {
  discord_message_id: id, discord_channel_id: source, event_type: 'delete', deleted_at: new Date(clock + 9_000).toISOString(),
});
const messages = async (channel) => (await control(fake, 'GET', channel ? `/messages?channel_id=${channel}` : '/messages'))
  .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
const panel = async () => {
  const r = await admin.get(`${base}/mirroring`);
  assert.equal(r.status, 200, r.text);
  return r.json.mirroring;
};

before(async () => {
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
  admin = new Api(stack.server.baseUrl, stack.server.adminToken);
  fake = stack.services['fake-discord'].url;
  seed = stack.services['fake-discord'].seed;
  guild = (await control(fake, 'GET', '/state')).guilds[0].id;
  avatars = (await control(fake, 'POST', '/channels', { name: 'mirror-avatars', type: 0 })).id;
  avatars2 = (await control(fake, 'POST', '/channels', { name: 'mirror-avatars-2', type: 0 })).id;
  forum = (await control(fake, 'POST', '/channels', { name: 'signal-cards', type: 15 })).id;
  requeue = (await control(fake, 'POST', '/channels', { name: 'mirror-requeue', type: 0 })).id;
  // The authors exist on Discord with avatars (one animated); the worker asks for them once.
  await control(fake, 'POST', '/users', { user_id: STATIC_AUTHOR, username: 'static_analyst', avatar: true });
  await control(fake, 'POST', '/users', { user_id: ANIMATED_AUTHOR, username: 'animated_analyst', avatar: ANIMATED_HASH });
  // The mirror knows a forum from the bot's catalog.
  await refreshed(admin);
  ctx = await provision(stack.server);
  let r = await admin.put(`/v1/admin/catalog/guilds/${guild}/tenant`, { tenant_key: ctx.tenant });
  assert.equal(r.status, 200, r.text);
  base = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
  for (const s of [SRC_AVATAR, SRC_FORUM, SRC_REQUEUE]) {
    r = await admin.put(`${base}/sources/${s}`, { guild_id: '1300000000000000000', is_source: true });
    assert.equal(r.status, 200, r.text);
  }
  for (const [s, t, body] of [
    [SRC_AVATAR, avatars, {}],
    [SRC_AVATAR, avatars2, {}],
    [SRC_FORUM, forum, { transform_json: { style: 'embed', embed: { title: 'VIP', color: '#5865F2' }, footer: 'Signal Relay' } }],
    [SRC_REQUEUE, requeue, {}],
  ]) {
    r = await admin.put(`${base}/sources/${t}`, { guild_id: guild, is_source: false, is_target: true });
    assert.equal(r.status, 200, r.text);
    r = await admin.put(`${base}/mappings/${s}/${t}`, body);
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => { await stack?.stop(); });

describe('mirroring per target', () => {
  test('a webhook post carries the author\'s avatar from the configured CDN, which serves it', async () => {
    assert.ok(seed.cdn_base, 'the fake announces its CDN');
    const a = nextId(), b = nextId();
    // One batch: both targets start at once, and each first job needs an author's avatar.
    await ingest(ctx, [
      sent(SRC_AVATAR, a, 'avatar static', { discord_author_id: STATIC_AUTHOR }),
      sent(SRC_AVATAR, b, 'avatar animated', { discord_author_id: ANIMATED_AUTHOR }),
    ]);
    const l = await eventually(() => messages(avatars), (x) => x.some((m) => m.content === 'avatar animated'), 60_000);
    const users = (await control(fake, 'GET', '/state')).users;
    const hash = users.find((u) => u.id === STATIC_AUTHOR).avatar;
    assert.match(hash, /^[0-9a-f]{32}$/);

    const stat = l.find((m) => m.content === 'avatar static');
    assert.equal(stat.avatar_url, `${seed.cdn_base}/avatars/${STATIC_AUTHOR}/${hash}.png`);
    assert.ok(stat.avatar_url.startsWith(seed.cdn_base));
    let res = await fetch(stat.avatar_url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    const png = Buffer.from(await res.arrayBuffer());
    assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'a PNG');

    // An animated hash links the GIF, as Discord's clients do; its PNG exists too.
    const anim = l.find((m) => m.content === 'avatar animated');
    assert.equal(anim.avatar_url, `${seed.cdn_base}/avatars/${ANIMATED_AUTHOR}/${ANIMATED_HASH}.gif`);
    res = await fetch(anim.avatar_url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/gif');
    assert.equal(Buffer.from(await res.arrayBuffer()).subarray(0, 6).toString(), 'GIF89a');
    assert.equal((await fetch(anim.avatar_url.replace(/\.gif$/, '.png'))).status, 200);

    // As Discord's CDN: an unknown user or hash, or a GIF of a static avatar, is a 404.
    assert.equal((await fetch(`${seed.cdn_base}/avatars/${STATIC_AUTHOR}/${'0'.repeat(32)}.png`)).status, 404);
    assert.equal((await fetch(`${seed.cdn_base}/avatars/1300000000000000999/${hash}.png`)).status, 404);
    assert.equal((await fetch(stat.avatar_url.replace(/\.png$/, '.gif'))).status, 404);

    // The other target's posts carry them too: its jobs waited for the lookup in flight
    // rather than being refused a second one (every GET /users/{id} shares one bucket).
    const other = await eventually(() => messages(avatars2), (x) => x.some((m) => m.content === 'avatar animated'), 60_000);
    assert.equal(other.find((m) => m.content === 'avatar static').avatar_url, stat.avatar_url);
    assert.equal(other.find((m) => m.content === 'avatar animated').avatar_url, anim.avatar_url);
    for (const u of [STATIC_AUTHOR, ANIMATED_AUTHOR]) {
      const lookups = (await control(fake, 'GET', `/requests?since=0&path=/users/${u}`)).requests;
      assert.equal(lookups.length, 1, `asked of Discord once for ${u}`);
    }

    // The fake's web page draws the post with that avatar.
    const view = await control(fake, 'GET', '/view');
    assert.ok(JSON.stringify(view).includes(stat.avatar_url), 'the web page shows the avatar URL');
  });

  test('the embed style into a forum opens a post with the card; edits and deletes follow it there', async () => {
    const since = (await control(fake, 'GET', '/state')).next_request_seq - 1;
    const id = nextId();
    const long = `SOL long 150\n${Array.from({ length: 1500 }, (_, i) => `w${i}`).join(' ')}`;
    await ingest(ctx, [sent(SRC_FORUM, id, 'SOL long 150, SL 140')]);
    const inThread = async () => {
      const st = await control(fake, 'GET', '/state');
      const threads = st.guilds[0].channels.filter((c) => c.parent_id === forum);
      const all = await messages();
      return { threads, msgs: all.filter((m) => threads.some((t) => t.id === m.channel_id)) };
    };
    let seen = await eventually(inThread, (x) => x.msgs.length === 1, 60_000);
    assert.equal(seen.threads.length, 1, 'one forum post');
    const thread = seen.threads[0];
    assert.equal(thread.name, 'SOL long 150, SL 140', 'named after the signal');
    const card = seen.msgs[0];
    assert.equal(card.id, thread.id, 'the starter message shares the thread\'s id');
    assert.equal(card.webhook_id ?? null, null, 'posted by the bot');
    assert.equal(card.embeds[0].title, 'VIP');
    assert.equal(card.embeds[0].color, 0x5865f2);
    assert.ok(card.embeds[0].description.includes('SOL long 150, SL 140'));
    assert.deepEqual(card.allowed_mentions, { parse: [] });
    const reqs = (await control(fake, 'GET', `/requests?since=${since}`)).requests;
    const open = reqs.filter((q) => q.method === 'POST' && q.path.endsWith(`/channels/${forum}/threads`));
    assert.equal(open.length, 1, JSON.stringify(reqs.map((q) => [q.method, q.path, q.status])));
    const body = typeof open[0].body === 'string' ? JSON.parse(open[0].body) : open[0].body;
    assert.equal(body.name, 'SOL long 150, SL 140');
    assert.equal(body.message.embeds[0].title, 'VIP');
    assert.ok(!reqs.some((q) => q.path.includes(`/channels/${forum}/messages`)), 'nothing posted to the forum itself');

    // An edit patches the card in the thread.
    await ingest(ctx, [edited(SRC_FORUM, id, 'SOL long 150, SL 140, TP 170')]);
    seen = await eventually(inThread, (x) => x.msgs.length === 1 && x.msgs[0].embeds[0].description.includes('TP 170'), 60_000);
    assert.equal(seen.msgs[0].id, card.id, 'edited in place');
    assert.deepEqual(seen.msgs[0].allowed_mentions, { parse: [] });

    // A long signal: the first card opens its own post, the next part follows in that thread.
    const second = nextId();
    await ingest(ctx, [sent(SRC_FORUM, second, long)]);
    seen = await eventually(inThread, (x) => x.threads.length === 2 && x.msgs.length >= 3, 60_000);
    const post = seen.threads.find((t) => t.id !== thread.id);
    const parts = seen.msgs.filter((m) => m.channel_id === post.id);
    assert.ok(parts.length >= 2, JSON.stringify(parts.map((m) => m.id)));
    assert.equal(parts[0].id, post.id);

    // Deletes remove the cards from their threads.
    await ingest(ctx, [deleted(SRC_FORUM, id)]);
    await ingest(ctx, [deleted(SRC_FORUM, second)]);
    await eventually(inThread, (x) => x.msgs.length === 0, 60_000);
    const m = await panel();
    const jobs = m.recent_jobs.filter((j) => j.target_channel_id === forum);
    assert.ok(!jobs.some((j) => j.outcome === 'dead_lettered'), JSON.stringify(jobs));
    assert.equal(m.targets.find((t) => t.target_channel_id === forum).dead_letters.length, 0);
    const checks = await control(fake, 'GET', '/checks');
    assert.equal(checks.ok, true, JSON.stringify(checks));
  });

  test('a requeued dead letter is delivered and its latency is measured from the requeue', async () => {
    await control(fake, 'POST', '/permissions', { permission: 'MANAGE_WEBHOOKS', channel_id: requeue, grant: false });
    const id = nextId();
    await ingest(ctx, [sent(SRC_REQUEUE, id, 'requeue me')]);
    let m = await eventually(panel, (x) => x.targets.find((t) => t.target_channel_id === requeue).dead_letters.length === 1, 60_000);
    const dead = m.recent_jobs.find((j) => j.message_id === id && j.outcome === 'dead_lettered');
    assert.ok(dead, JSON.stringify(m.recent_jobs));
    await control(fake, 'POST', '/permissions', { permission: 'MANAGE_WEBHOOKS', channel_id: requeue, grant: true });
    const r = await admin.post(`${base}/mirroring/requeue`, { target_channel_id: requeue });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.requeued, 1);
    await eventually(() => messages(requeue), (x) => x.some((y) => y.content === 'requeue me'), 60_000);
    m = await eventually(panel, (x) => x.recent_jobs.some((j) => j.message_id === id && j.outcome === 'synced'), 30_000);
    const done = m.recent_jobs.find((j) => j.message_id === id && j.outcome === 'synced');
    assert.equal(typeof done.dispatch_ms, 'number', JSON.stringify(done));
    assert.equal(typeof done.answer_ms, 'number', JSON.stringify(done));
    assert.ok(done.answer_ms >= done.dispatch_ms, JSON.stringify(done));
    // From the requeue (after the dead letter), not from the signal's commit (before it).
    assert.ok(done.answer_ms <= done.at_ms - dead.at_ms, JSON.stringify({ done, dead }));
    assert.ok(m.latency.discord_answer.create.count >= 1);
    assert.equal((await messages(requeue)).filter((y) => y.content === 'requeue me').length, 1);

    // Only this connector's targets: a source channel is none, and leaves no queue behind.
    const none = await admin.post(`${base}/mirroring/requeue`, { target_channel_id: SRC_REQUEUE });
    assert.equal(none.status, 404, none.text);
    assert.equal(none.json.error_code, 'mirror_target_not_found');
    const one = await admin.post(`${base}/mirroring/targets/${SRC_REQUEUE}/dead/1/requeue`, {});
    assert.equal(one.status, 404, one.text);
    assert.equal(one.json.error_code, 'mirror_target_not_found');
    const bad = await admin.post(`${base}/mirroring/requeue`, { target_channel_id: 'nope' });
    assert.equal(bad.status, 400, bad.text);
    assert.equal((await panel()).targets.length, 4);
  });
});
