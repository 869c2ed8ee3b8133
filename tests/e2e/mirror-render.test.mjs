// What a target receives, end to end through the worker and the fake Discord: filters skip
// (and the panel says by which rule), long text is split with every part tracked, mentions are
// rewritten for the target guild, and the role ping is allowed on the first post only.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api, eventually, ingest, message, provision } from '../../harness/client.mjs';
import { control } from '../../harness/discord.mjs';

const SRC = '1300000000000000100';
let stack, admin, fake, ctx, target, role, base;
let clock = Date.now() - 60_000;
function nextId() {
  clock += 1;
  return ((BigInt(clock) - 1420070400000n) << 22n).toString();
}
const sent = (id, text, extra = {}) => message(ctx, { discord_message_id: id, content_raw: text, content_clean: text, created_at: new Date(clock).toISOString(), ...extra });
const inTarget = async () => (await control(fake, 'GET', `/messages?channel_id=${target}`))
  .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));

before(async () => {
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
  admin = new Api(stack.server.baseUrl, stack.server.adminToken);
  fake = stack.services['fake-discord'].url;
  const g = (await control(fake, 'GET', '/state')).guilds[0];
  role = g.roles.find((r) => r.name === 'Basic').id;
  target = (await control(fake, 'POST', '/channels', { name: 'mirror-render', type: 0 })).id;
  ctx = await provision(stack.server);
  base = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
  let r = await admin.put(`${base}/sources/${SRC}`, { guild_id: '1300000000000000000', is_source: true });
  assert.equal(r.status, 200, r.text);
  r = await admin.put(`${base}/sources/${target}`, { guild_id: g.id, is_source: false, is_target: true });
  assert.equal(r.status, 200, r.text);
  r = await admin.put(`${base}/mappings/${SRC}/${target}`, {
    filters_json: { blocked_keywords: ['pump'], mode: 'skip' },
    transform_json: { role_ping_id: role },
  });
  assert.equal(r.status, 200, r.text);
});

after(async () => { await stack?.stop(); });

describe('rendered for the target', () => {
  test('mentions rewritten, role ping on the first post only, long text split, a blocked keyword skipped', async () => {
    const a = nextId();
    await ingest(ctx, [sent(a, `BTC long <@&1300000000000000777> see <#${SRC}>`, { mentioned_role_ids: ['1300000000000000777'] })]);
    const long = Array.from({ length: 700 }, (_, i) => `w${i}`).join(' ');
    const b = nextId();
    await ingest(ctx, [sent(b, long)]);
    const c = nextId();
    await ingest(ctx, [sent(c, 'pump it now')]);
    const d = nextId();
    await ingest(ctx, [sent(d, 'after the skip')]);
    const msgs = await eventually(inTarget, (l) => l.some((m) => m.content.includes('after the skip')), 60_000);
    const first = msgs.find((m) => m.content.includes('BTC long'));
    assert.ok(first.content.startsWith(`<@&${role}>`), first.content);
    assert.ok(!first.content.includes('1300000000000000777'), 'a source role mention means nothing in the target');
    assert.ok(first.content.includes(`<#${target}>`), 'a mapped channel mention points at its mirror');
    assert.deepEqual(first.allowed_mentions, { parse: [], roles: [role] });
    const parts = msgs.filter((m) => /\bw\d+\b/.test(m.content));
    assert.equal(parts.length, 2, 'split in two');
    assert.ok(parts.every((p) => [...p.content].length <= 2000));
    const words = parts.map((p) => p.content.replace(`<@&${role}>`, '')).join(' ').split(/\s+/).filter((w) => /^w\d+$/.test(w));
    assert.equal(words.length, 700, 'nothing lost at the split');
    assert.deepEqual(parts[1].allowed_mentions, { parse: [] }, 'a later part pings nobody');
    assert.equal(msgs.filter((m) => m.content.includes('pump')).length, 0, 'skipped');

    // An edit re-sends allowed_mentions without the role: it does not ping again.
    await ingest(ctx, [message(ctx, { discord_message_id: a, event_type: 'update', content_raw: 'BTC long, edited', content_clean: 'BTC long, edited', created_at: new Date(clock).toISOString(), edited_at: new Date(clock + 5000).toISOString(), attachments: undefined, embeds: undefined })]);
    const edited = await eventually(inTarget, (l) => l.some((m) => m.content.includes('BTC long, edited')), 60_000);
    assert.deepEqual(edited.find((m) => m.content.includes('BTC long, edited')).allowed_mentions, { parse: [] });

    const panel = await admin.get(`${base}/mirroring`);
    assert.equal(panel.status, 200, panel.text);
    const skip = panel.json.mirroring.skipped.find((s) => s.message_id === c);
    assert.ok(skip, JSON.stringify(panel.json.mirroring.skipped));
    assert.equal(skip.rule, 'filters_json.blocked_keywords');
    const checks = await control(fake, 'GET', '/checks');
    assert.equal(checks.ok, true, JSON.stringify(checks));
  });

  test('a source thread\'s messages go to a thread of the same name under the target, created once', async () => {
    const thread = nextId();
    const r = await ctx.api.post('/ingest/thread', {
      connector_id: ctx.connector, tenant_key: ctx.tenant, event_type: 'create',
      idempotency_key: `${ctx.tenant}:${ctx.connector}:thread:${thread}:create`,
      thread: { discord_thread_id: thread, parent_channel_id: SRC, guild_id: '1300000000000000000', name: 'BTC swing', archived: false, locked: false },
    });
    assert.equal(r.status, 200, r.text);
    const one = nextId(), two = nextId();
    await ingest(ctx, [sent(one, 'thread entry 1', { discord_thread_id: thread })]);
    await ingest(ctx, [sent(two, 'thread entry 2', { discord_thread_id: thread })]);
    const all = await eventually(async () => control(fake, 'GET', '/messages'), (l) => l.some((m) => m.content.includes('thread entry 2')), 60_000);
    const posted = all.filter((m) => m.content.includes('thread entry'));
    assert.equal(posted.length, 2);
    assert.equal(posted[0].channel_id, posted[1].channel_id, 'one thread for both');
    assert.notEqual(posted[0].channel_id, target);
    const state = await control(fake, 'GET', '/state');
    const ch = state.guilds[0].channels.find((c) => c.id === posted[0].channel_id);
    assert.ok(ch, JSON.stringify(posted[0]));
    assert.equal(ch.parent_id, target);
    assert.equal(ch.name, 'BTC swing');
  });

  test('an attachment is fetched through the media seam and uploaded with identical bytes', async () => {
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    const file = await control(fake, 'POST', '/attachments', { data_base64: bytes.toString('base64'), filename: 'chart.png', content_type: 'image/png' });
    const id = nextId();
    await ingest(ctx, [sent(id, 'with a chart', {
      attachments: [{ discord_attachment_id: file.id, filename: 'chart.png', source_url: file.url, size: file.size, content_type: 'image/png' }],
    })]);
    const msgs = await eventually(inTarget, (l) => l.some((m) => m.content.includes('with a chart')), 60_000);
    const m = msgs.find((x) => x.content.includes('with a chart'));
    assert.equal(m.attachments.length, 1, JSON.stringify(m));
    assert.equal(m.attachments[0].filename, 'chart.png');
    const got = Buffer.from(await (await fetch(m.attachments[0].url)).arrayBuffer());
    assert.ok(got.equals(bytes), 'identical bytes');
  });

  test('the embed style: the bot posts a card with a nonce, edits and deletes it', async () => {
    const g = (await control(fake, 'GET', '/state')).guilds[0];
    const card = (await control(fake, 'POST', '/channels', { name: 'mirror-cards', type: 0 })).id;
    let r = await admin.put(`${base}/sources/${card}`, { guild_id: g.id, is_source: false, is_target: true });
    assert.equal(r.status, 200, r.text);
    r = await admin.put(`${base}/mappings/${SRC}/${card}`, { transform_json: { style: 'embed', embed: { title: 'VIP', color: '#5865F2' } } });
    assert.equal(r.status, 200, r.text);
    const since = (await control(fake, 'GET', '/state')).next_request_seq - 1;
    const id = nextId();
    await ingest(ctx, [sent(id, 'SOL long 150')]);
    const inCard = async () => control(fake, 'GET', `/messages?channel_id=${card}`);
    let l = await eventually(inCard, (x) => x.length === 1, 60_000);
    assert.equal(l[0].webhook_id ?? null, null, 'posted by the bot');
    assert.equal(l[0].embeds[0].title, 'VIP');
    assert.ok(l[0].embeds[0].description.includes('SOL long 150'));
    const post = (await control(fake, 'GET', `/requests?since=${since}`)).requests
      .find((q) => q.method === 'POST' && q.path.includes(`/channels/${card}/messages`));
    const body = typeof post.body === 'string' ? JSON.parse(post.body) : post.body;
    assert.equal(body.enforce_nonce, true);
    assert.equal(typeof body.nonce, 'string');
    await ingest(ctx, [message(ctx, { discord_message_id: id, event_type: 'update', content_raw: 'SOL long 150, TP 170', content_clean: 'SOL long 150, TP 170', created_at: new Date(clock).toISOString(), edited_at: new Date(clock + 5000).toISOString(), attachments: undefined, embeds: undefined })]);
    l = await eventually(inCard, (x) => x.length === 1 && x[0].embeds[0].description.includes('TP 170'), 60_000);
    assert.deepEqual(l[0].allowed_mentions, { parse: [] });
    await ingest(ctx, [message(ctx, { discord_message_id: id, event_type: 'delete', deleted_at: new Date(clock + 9000).toISOString() })]);
    await eventually(inCard, (x) => x.length === 0, 60_000);
  });
});
