// What a target receives, end to end through the worker and the fake Discord: filters skip
// (and the panel says by which rule), long text is split with every part tracked, mentions are
// rewritten for the target guild, and the role ping is allowed on the first post only.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api, eventually, ingest, message, provision } from '../../harness/client.mjs';
import { control, refreshed } from '../../harness/discord.mjs';

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

  test('a channel mapped right after the connector last sent mirrors its next message (no stale cached config)', async () => {
    // The connector just sent, so its row (with the config version before the mapping) is
    // cached by ingest; the very next message of the newly mapped channel must still mirror.
    await ingest(ctx, [sent(nextId(), 'warm the connector cache')]);
    const g = (await control(fake, 'GET', '/state')).guilds[0];
    const fresh = '1300000000000000123';
    const to = (await control(fake, 'POST', '/channels', { name: 'mapped-just-now', type: 0 })).id;
    let r = await admin.put(`${base}/sources/${fresh}`, { guild_id: '1300000000000000000', is_source: true });
    assert.equal(r.status, 200, r.text);
    r = await admin.put(`${base}/sources/${to}`, { guild_id: g.id, is_source: false, is_target: true });
    assert.equal(r.status, 200, r.text);
    r = await admin.put(`${base}/mappings/${fresh}/${to}`, {});
    assert.equal(r.status, 200, r.text);
    await ingest(ctx, [sent(nextId(), 'first call in the new channel', { discord_channel_id: fresh })]);
    const l = await eventually(async () => control(fake, 'GET', `/messages?channel_id=${to}`),
      (x) => x.some((m) => m.content === 'first call in the new channel'), 30_000);
    assert.ok(l.some((m) => m.content === 'first call in the new channel'), JSON.stringify(l));
  });

  // Last in this file: the catalog refresh below makes every channel here catalog-known, so
  // the guild is assigned to the tenant from then on.
  test('a reply quotes and links its mirrored original where the bot can read the source, asking Discord once for all targets', async () => {
    const st = await control(fake, 'GET', '/state');
    const g = st.guilds[0];
    const analyst = (await control(fake, 'POST', '/users', { username: 'ana' })).id;
    const src = (await control(fake, 'POST', '/channels', { name: 'analyst-calls', type: 0 })).id;
    // The bot sees this one but may not read its history: Discord refuses the read (403).
    const closed = (await control(fake, 'POST', '/channels', {
      name: 'analyst-closed', type: 0,
      overwrites: [{ id: st.bot.id, type: 1, deny: 'READ_MESSAGE_HISTORY' }],
    })).id;
    const t1 = (await control(fake, 'POST', '/channels', { name: 'replies-1', type: 0 })).id;
    const t2 = (await control(fake, 'POST', '/channels', { name: 'replies-2', type: 0 })).id;
    await refreshed(admin);
    let r = await admin.put(`/v1/admin/catalog/guilds/${g.id}/tenant`, { tenant_key: ctx.tenant });
    assert.equal(r.status, 200, r.text);
    for (const s of [src, closed]) {
      r = await admin.put(`${base}/sources/${s}`, { guild_id: g.id, is_source: true });
      assert.equal(r.status, 200, r.text);
    }
    for (const t of [t1, t2]) {
      r = await admin.put(`${base}/mappings/${src}/${t}`, {
        filters_json: { blocked_keywords: ['vip'], mode: 'remove' },
        transform_json: { replacements: [{ pattern: 'Binance', replacement: 'our exchange' }] },
      });
      assert.equal(r.status, 200, r.text);
    }
    r = await admin.put(`${base}/mappings/${closed}/${t1}`, {});
    assert.equal(r.status, 200, r.text);

    // What the analyst posts in the source guild, and what the connector reports of it.
    const say = async (channel, content, replyTo) => control(fake, 'POST', '/messages', {
      channel_id: channel, author_id: analyst, content, ...(replyTo ? { reply_to: replyTo } : {}),
    });
    const report = (m, channel, content) => message(ctx, {
      discord_message_id: m.id, discord_guild_id: g.id, discord_channel_id: channel,
      discord_author_id: analyst, content_raw: content, content_clean: content, created_at: m.timestamp,
    });
    const since = (await control(fake, 'GET', '/state')).next_request_seq - 1;
    const original = await say(src, 'BTC long on Binance vip 64k');
    const reply = await say(src, 'TP1 hit', original.id);
    await ingest(ctx, [report(original, src, 'BTC long on Binance vip 64k')]);
    await ingest(ctx, [report(reply, src, 'TP1 hit')]);

    for (const t of [t1, t2]) {
      const msgs = await eventually(async () => control(fake, 'GET', `/messages?channel_id=${t}`),
        (l) => l.some((m) => m.content.endsWith('TP1 hit')), 60_000);
      const first = msgs.find((m) => m.content.startsWith('BTC long'));
      assert.ok(first, JSON.stringify(msgs.map((m) => m.content)));
      assert.equal(first.content, 'BTC long on our exchange 64k', 'the rules applied to the original');
      const quoted = msgs.find((m) => m.content.endsWith('TP1 hit'));
      assert.equal(quoted.content,
        `> ↪ [BTC long on our exchange 64k](https://discord.com/channels/${g.id}/${t}/${first.id})\nTP1 hit`,
        'the quote shows the original as this target mirrored it, linked to its mirror here');
      assert.deepEqual(quoted.allowed_mentions, { parse: [] });
    }
    const reads = (await control(fake, 'GET', `/requests?since=${since}`)).requests
      .filter((q) => q.method === 'GET' && q.path.includes(`/channels/${src}/messages/`));
    assert.deepEqual(reads.map((q) => q.path.split('/').pop()).sort(), [original.id, reply.id].sort(),
      'each message read back once, whatever the number of targets');

    // An edit keeps the quote, and does not ask again.
    await ingest(ctx, [{ ...report(reply, src, 'TP1 hit, moving stop'), event_type: 'update',
      idempotency_key: `${ctx.tenant}:${ctx.connector}:message:${reply.id}:update`,
      edited_at: new Date(Date.parse(reply.timestamp) + 5000).toISOString() }]);
    const edited = await eventually(async () => control(fake, 'GET', `/messages?channel_id=${t1}`),
      (l) => l.some((m) => m.content.endsWith('moving stop')), 60_000);
    const kept = edited.find((m) => m.content.endsWith('moving stop'));
    assert.ok(kept?.content.startsWith('> ↪ [BTC long'), JSON.stringify(edited.map((m) => m.content)));
    const again = (await control(fake, 'GET', `/requests?since=${since}`)).requests
      .filter((q) => q.method === 'GET' && q.path.endsWith(`/channels/${src}/messages/${reply.id}`));
    assert.equal(again.length, 1, 'the edit used what was learnt');

    // Where the bot may not read, the message is mirrored without a quote, and after the first
    // refusal that channel is not asked again (each 403 counts toward Discord's limit).
    const a = await say(closed, 'ETH short');
    const b = await say(closed, 'ETH stop moved', a.id);
    await ingest(ctx, [report(a, closed, 'ETH short')]);
    let inT1 = await eventually(async () => control(fake, 'GET', `/messages?channel_id=${t1}`),
      (l) => l.some((m) => m.content === 'ETH short'), 60_000);
    assert.ok(inT1.some((m) => m.content === 'ETH short'), JSON.stringify(inT1.map((m) => m.content)));
    await ingest(ctx, [report(b, closed, 'ETH stop moved')]);
    inT1 = await eventually(async () => control(fake, 'GET', `/messages?channel_id=${t1}`),
      (l) => l.some((m) => m.content === 'ETH stop moved'), 60_000);
    assert.ok(inT1.some((m) => m.content === 'ETH stop moved'), 'mirrored without a quote');
    const refused = (await control(fake, 'GET', `/requests?since=${since}`)).requests
      .filter((q) => q.method === 'GET' && q.path.includes(`/channels/${closed}/messages/`));
    assert.equal(refused.length, 1, JSON.stringify(refused.map((q) => [q.path, q.status])));
    assert.equal(refused[0].status, 403);
    const all = await admin.get(`${base}/mirroring`);
    assert.equal(all.status, 200, all.text);
    assert.equal(all.json.mirroring.dead_lettered, 0, JSON.stringify(all.json.mirroring.targets));
  });
});
