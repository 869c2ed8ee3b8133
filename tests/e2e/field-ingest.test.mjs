// What the field connector really sends (issue: sparse updates, per-item rejection, true times),
// through the connector API, the live feed and the admin API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../harness/worker.mjs';
import { provision, message, batch, snowflake, Feed, eventually } from '../../harness/client.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.close(); });

const CHART = {
  discord_attachment_id: '1300000000000000042', filename: 'chart.png',
  source_url: 'https://cdn.example/chart.png', size: 2048, content_type: 'image/png',
};

async function post(ctx, messages) {
  const r = await ctx.api.post('/ingest/message-batch', batch(ctx, messages));
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function listed(ctx, id) {
  const rows = await eventually(
    async () => (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/signals?include_deleted=true&limit=200`)).json.signals,
    (rows) => rows.some((s) => s.discord_message_id === id),
  );
  return rows.find((s) => s.discord_message_id === id);
}

test('an embed unfurl keeps the text and the chart, adds the embed, and never blanks the card', async () => {
  const ctx = await provision(server);
  const feed = await Feed.open(server, ctx.tenant);
  await feed.until((f) => f.frames.length >= 1, 5000, 'snapshot');
  const create = message(ctx, { content_raw: 'BTC long 65000 https://tradingview.com/x/abc', content_clean: 'BTC long 65000 https://tradingview.com/x/abc', attachments: [CHART] });
  await post(ctx, [create]);
  await feed.until((f) => f.signals().some((s) => s.type === 'signal.created'), 5000, 'created');

  // Exactly what the connector forwards for Discord's partial MESSAGE_UPDATE.
  const unfurl = message(ctx, {
    discord_message_id: create.discord_message_id, event_type: 'update',
    content_raw: '', content_clean: '', attachments: [], edited_at: null,
    embeds: [{ embed_index: 0, embed_type: 'link', title: 'BTCUSD chart', url: 'https://tradingview.com/x/abc', raw_json: { type: 'link', title: 'BTCUSD chart' } }],
  });
  const r = await post(ctx, [unfurl]);
  assert.deepEqual([r.accepted, r.deduped, r.rejected], [1, 0, undefined]);
  await feed.until((f) => f.signals().some((s) => s.type === 'signal.updated'), 5000, 'updated');
  const updates = feed.signals().filter((s) => s.type === 'signal.updated');
  assert.equal(updates.length, 1);
  for (const u of updates) {
    assert.equal(u.signal.content, create.content_raw, 'no frame blanks the card');
    assert.deepEqual(u.signal.attachments.map((a) => a.filename), ['chart.png']);
  }
  assert.deepEqual(updates[0].signal.embeds.map((e) => e.title), ['BTCUSD chart']);
  assert.equal(updates[0].signal.edited_at, null, 'an unfurl is not an edit');

  // The listing agrees once the projection catches up.
  const row = await eventually(() => listed(ctx, create.discord_message_id), (s) => s?.embeds?.length === 1);
  assert.equal(row.content, create.content_raw);
  assert.deepEqual(row.attachments.map((a) => a.filename), ['chart.png']);

  // A resent unfurl is a duplicate, and a person's edit that removes the link clears the embed.
  assert.deepEqual((await post(ctx, [unfurl])).deduped, 1);
  const edit = message(ctx, {
    discord_message_id: create.discord_message_id, event_type: 'update',
    content_raw: 'BTC long 65000 (no link)', content_clean: 'BTC long 65000 (no link)',
    attachments: [], embeds: [], edited_at: new Date().toISOString(),
  });
  await post(ctx, [edit]);
  await feed.until((f) => f.signals().filter((s) => s.type === 'signal.updated').length === 2, 5000, 'edit');
  const last = feed.signals().at(-1).signal;
  assert.equal(last.content, 'BTC long 65000 (no link)');
  assert.deepEqual(last.embeds, []);
  assert.deepEqual(last.attachments.map((a) => a.filename), ['chart.png'], 'an edit listing no files keeps them');
  await feed.close();
});

test('a batch of three with one malformed edited_at stores two and reports one, counted once', async () => {
  const ctx = await provision(server);
  const a = message(ctx);
  const bad = message(ctx, { event_type: 'update', edited_at: '2025-13-45T99:00:00Z' });
  const c = message(ctx);
  const body = batch(ctx, [a, bad, c]);
  let r = await ctx.api.post('/ingest/message-batch', body);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.json.accepted, r.json.deduped, r.json.rejected.length], [2, 0, 1]);
  const [rej] = r.json.rejected;
  assert.deepEqual([rej.index, rej.idempotency_key, rej.error_code], [1, bad.idempotency_key, 'bad_request']);
  assert.deepEqual(rej.fields.map((f) => f.field), ['messages[1].edited_at']);
  assert.equal(typeof rej.message, 'string');

  // The connector resends the whole batch (say after a timeout): nothing new is stored or counted.
  r = await ctx.api.post('/ingest/message-batch', body);
  assert.deepEqual([r.json.accepted, r.json.deduped, r.json.rejected.length], [0, 2, 1]);

  for (const m of [a, c]) assert.ok(await listed(ctx, m.discord_message_id));
  const path = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}/rejections`;
  const report = (await ctx.admin.get(path)).json.rejections;
  assert.equal(report.total, 1);
  assert.ok(report.last_at > Date.now() - 60_000);
  assert.equal(report.recent.length, 1);
  assert.deepEqual(
    [report.recent[0].route, report.recent[0].idempotency_key, report.recent[0].index, report.recent[0].fields[0].field],
    ['message-batch', bad.idempotency_key, 1, 'messages[1].edited_at'],
  );

  // Admin auth and tenant scope hold on the new route.
  assert.equal((await ctx.api.get(path)).status, 401);
  const other = await provision(server);
  assert.equal((await ctx.admin.get(`/v1/admin/tenants/${other.tenant}/connectors/${ctx.connector}/rejections`)).json.rejections.total, 0);
  assert.equal((await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/connectors/nope/rejections`)).status, 404);
});

test('a created_at in the year 9999 is stored at the time the id encodes, and counted', async () => {
  const ctx = await provision(server);
  const createdMs = Date.now() - 3_600_000;
  const id = snowflake(createdMs);
  const m = message(ctx, { discord_message_id: id, created_at: '9999-12-31T23:59:59Z' });
  const r = await post(ctx, [m]);
  assert.deepEqual([r.accepted, r.rejected], [1, undefined]);
  const row = await listed(ctx, id);
  const encoded = Number((BigInt(id) >> 22n) + 1420070400000n);
  assert.equal(row.created_at, new Date(encoded).toISOString());
  assert.ok(Math.abs(encoded - createdMs) < 5);
  // A cache-less delete an hour later (created_at = now) does not move it either.
  await post(ctx, [message(ctx, { discord_message_id: id, event_type: 'delete', created_at: new Date().toISOString(), deleted_at: new Date().toISOString() })]);
  const gone = await eventually(() => listed(ctx, id), (s) => s.deleted);
  assert.equal(gone.created_at, new Date(encoded).toISOString());
  const report = (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}/rejections`)).json.rejections;
  assert.equal(report.created_at_corrected, 2);
  assert.equal(report.total, 0);
});

test('impossible times are refused per message with the field named', async () => {
  const ctx = await provision(server);
  const future = Date.now() + 3_600_000;
  const futureId = message(ctx, { discord_message_id: snowflake(future), created_at: new Date(future).toISOString() });
  const futureEdit = message(ctx, { event_type: 'update', edited_at: new Date(future).toISOString() });
  const created = Date.now() - 600_000;
  const beforeCreate = message(ctx, { discord_message_id: snowflake(created), event_type: 'delete', created_at: new Date(created).toISOString(), deleted_at: new Date(created - 3_600_000).toISOString() });
  const fine = message(ctx);
  const r = await post(ctx, [futureId, futureEdit, beforeCreate, fine]);
  assert.equal(r.accepted, 1);
  assert.deepEqual(r.rejected.map((x) => [x.index, x.fields[0].field]), [
    [0, 'messages[0].discord_message_id'],
    [1, 'messages[1].edited_at'],
    [2, 'messages[2].deleted_at'],
  ]);
});

test('threads and discovery refuse bad list entries alone and record them', async () => {
  const ctx = await provision(server);
  const tid = snowflake();
  let r = await ctx.api.post('/ingest/thread', {
    connector_id: ctx.connector, tenant_key: ctx.tenant, idempotency_key: `t:${tid}:members`, event_type: 'members_update',
    thread: { discord_thread_id: tid, parent_channel_id: '1300000000000000100', guild_id: '1300000000000000000', name: 'BTC' },
    member_delta: { added: ['1300000000000000999', 17], removed: [] },
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.json.accepted, r.json.rejected.map((x) => x.fields[0].field)], [1, ['member_delta.added[1]']]);
  r = await ctx.api.post('/ingest/channel-guild-sync', {
    connector_id: ctx.connector, tenant_key: ctx.tenant, idempotency_key: 'sync',
    guilds: [{ discord_guild_id: 'nope' }], channels: [],
  });
  assert.deepEqual([r.status, r.json.guilds, r.json.rejected.length], [200, 0, 1]);
  const report = (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}/rejections`)).json.rejections;
  assert.equal(report.total, 2);
  assert.deepEqual(report.recent.map((x) => x.route), ['channel-guild-sync', 'thread']);
});
