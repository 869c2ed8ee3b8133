// The connector wire protocol (shared/connector-protocol.md) against the real worker.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../harness/worker.mjs';
import { Api, provision, message, batch, ingest, snowflake } from '../../harness/client.mjs';

let server;
before(async () => { server = await startServer({ vars: { MAX_BODY_BYTES: '65536', MAX_BATCH_MESSAGES: '5' } }); });
after(async () => { await server?.close(); });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function assertError(r, status, code) {
  assert.equal(r.status, status, `${r.status} ${r.text}`);
  assert.equal(r.json.ok, false);
  assert.equal(r.json.error_code, code);
  assert.equal(typeof r.json.message, 'string');
  assert.ok(r.json.message.length > 0);
  assert.equal(typeof r.json.correlation_id, 'string');
}

async function signals(ctx, query = '') {
  // The D1 projection follows the object's commit within milliseconds; poll briefly.
  const deadline = Date.now() + 5000;
  let last;
  while (Date.now() < deadline) {
    last = await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/signals?limit=200${query}`);
    assert.equal(last.status, 200);
    const stats = await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/feed-stats`);
    if (stats.json.stats.outbox === 0) {
      last = await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/signals?limit=200${query}`);
      return last.json.signals;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return last.json.signals;
}

describe('correlation ids', () => {
  test('echoed in body and header when sent, generated when absent', async () => {
    const ctx = await provision(server);
    const path = `/connectors/${ctx.connector}/runtime-config?tenant_key=${ctx.tenant}`;
    let r = await ctx.api.get(path, { headers: { 'x-correlation-id': 'corr-123' } });
    assert.equal(r.json.correlation_id, 'corr-123');
    assert.equal(r.headers.get('x-correlation-id'), 'corr-123');
    r = await ctx.api.get(path);
    assert.match(r.json.correlation_id, UUID);
    // Errors carry it too.
    r = await ctx.api.get(path, { token: 'nope', headers: { 'x-correlation-id': 'corr-err' } });
    assertError(r, 401, 'unauthorized');
    assert.equal(r.json.correlation_id, 'corr-err');
  });
});

describe('runtime config', () => {
  test('auth, scope, ETag and 304', async () => {
    const ctx = await provision(server);
    const path = `/connectors/${ctx.connector}/runtime-config?tenant_key=${ctx.tenant}`;
    assertError(await ctx.api.get(path, { token: null }), 401, 'unauthorized');
    assertError(await ctx.api.get(path, { token: 'srct_unknown' }), 401, 'unauthorized');
    assertError(await ctx.api.get(`/connectors/other/runtime-config?tenant_key=${ctx.tenant}`), 403, 'forbidden');
    assertError(await ctx.api.get(`/connectors/${ctx.connector}/runtime-config?tenant_key=someone-else`), 403, 'forbidden');
    const missing = await ctx.api.get(`/connectors/${ctx.connector}/runtime-config`);
    assertError(missing, 400, 'bad_request');
    assert.match(missing.json.message, /tenant_key/);

    const r = await ctx.api.get(path);
    assert.equal(r.status, 200);
    assert.equal(r.json.ok, true);
    const etag = r.headers.get('etag');
    assert.ok(etag);
    const cfg = r.json.config;
    assert.equal(cfg.connector_id, ctx.connector);
    assert.equal(cfg.tenant_key, ctx.tenant);
    assert.equal(cfg.status, 'active');
    assert.equal(cfg.ingest_enabled, true);
    assert.equal(cfg.forward_enabled, true);
    assert.deepEqual(cfg.sources, []);
    assert.deepEqual(cfg.mappings, []);
    assert.deepEqual(cfg.discovery_request, { version: 0, guild_id: null, requested_at: null });

    const same = await ctx.api.get(path, { headers: { 'if-none-match': etag } });
    assert.equal(same.status, 304);
    assert.equal(same.text, '');
    assert.equal(same.headers.get('etag'), etag);
  });

  test('the tag changes with config or discovery versions, and only then', async () => {
    const ctx = await provision(server);
    const path = `/connectors/${ctx.connector}/runtime-config?tenant_key=${ctx.tenant}`;
    const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
    const tag = async () => (await ctx.api.get(path)).headers.get('etag');
    const t0 = await tag();

    // Ingest, discovery snapshots and a rename do not touch the runtime config.
    await ingest(ctx, [message(ctx)]);
    await ctx.api.post('/ingest/channel-guild-sync', { connector_id: ctx.connector, tenant_key: ctx.tenant, guilds: [], channels: [] });
    assert.equal((await ctx.admin.patch(c, { name: 'renamed' })).status, 200);
    assert.equal(await tag(), t0);

    // A source edit bumps config_version.
    const put = await ctx.admin.put(`${c}/sources/1300000000000000100`, { guild_id: '1300000000000000000', is_source: true });
    assert.equal(put.status, 200);
    const r1 = await ctx.api.get(path);
    assert.notEqual(r1.headers.get('etag'), t0);
    assert.equal(r1.json.config.config_version, 2);
    assert.deepEqual(r1.json.config.sources, [{
      guild_id: '1300000000000000000', channel_id: '1300000000000000100', is_source: true,
      is_target: false, thread_mode: 'include', is_enabled: true,
    }]);

    // A discovery request bumps only the discovery version.
    const d = await ctx.admin.post(`${c}/discovery-requests`, { guild_id: '1300000000000000000' });
    assert.equal(d.status, 202);
    const r2 = await ctx.api.get(path, { headers: { 'if-none-match': r1.headers.get('etag') } });
    assert.equal(r2.status, 200);
    assert.equal(r2.json.config.config_version, 2);
    assert.equal(r2.json.config.discovery_request.version, 1);
    assert.equal(r2.json.config.discovery_request.guild_id, '1300000000000000000');
    assert.equal(typeof r2.json.config.discovery_request.requested_at, 'number');
    const all = await ctx.admin.post(`${c}/discovery-requests`, {});
    assert.equal(all.json.discovery_request.guild_id, null);
    assert.equal(all.json.discovery_request.version, 2);
  });

  test('a paused connector still reads its config and sees the pause', async () => {
    const ctx = await provision(server);
    const path = `/connectors/${ctx.connector}/runtime-config?tenant_key=${ctx.tenant}`;
    const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
    const before = await ctx.api.get(path);
    assert.equal((await ctx.admin.post(`${c}/pause`)).status, 200);
    const r = await ctx.api.get(path, { headers: { 'if-none-match': before.headers.get('etag') } });
    assert.equal(r.status, 200);
    assert.equal(r.json.config.status, 'paused');
    assertError(await ctx.api.post('/ingest/message-batch', batch(ctx, [message(ctx)])), 403, 'connector_paused');
    assertError(await ctx.api.post('/ingest/thread', { connector_id: ctx.connector, tenant_key: ctx.tenant }), 403, 'connector_paused');
    assert.equal((await ctx.admin.post(`${c}/resume`)).json.connector.status, 'active');
    assert.equal((await ctx.api.post('/ingest/message-batch', batch(ctx, [message(ctx)]))).status, 200);
  });

  test('last_seen_at is recorded', async () => {
    const ctx = await provision(server);
    const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
    assert.equal((await ctx.admin.get(c)).json.connector.last_seen_at, null);
    const t0 = Date.now();
    await ctx.api.get(`/connectors/${ctx.connector}/runtime-config?tenant_key=${ctx.tenant}`);
    let seen = null;
    for (let i = 0; i < 50 && !seen; i++) {
      seen = (await ctx.admin.get(c)).json.connector.last_seen_at;
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(seen >= t0 - 1000, `last_seen_at ${seen}`);
  });
});

describe('message batches', () => {
  test('accepted, deduplicated on resend, visible in the projection', async () => {
    const ctx = await provision(server);
    const msgs = [message(ctx), message(ctx)];
    const body = batch(ctx, msgs);
    let r = await ctx.api.post('/ingest/message-batch', body, { headers: { 'x-correlation-id': 'b-1' } });
    assert.equal(r.status, 200);
    assert.deepEqual([r.json.ok, r.json.accepted, r.json.deduped, r.json.correlation_id], [true, 2, 0, 'b-1']);
    r = await ctx.api.post('/ingest/message-batch', body);
    assert.deepEqual([r.json.accepted, r.json.deduped], [0, 2]);
    const list = await signals(ctx);
    assert.deepEqual(list.map((s) => s.discord_message_id).sort(), msgs.map((m) => m.discord_message_id).sort());
    const s = list.find((x) => x.discord_message_id === msgs[0].discord_message_id);
    assert.equal(s.content, msgs[0].content_raw);
    assert.equal(s.author.username, 'analyst');
    // Snowflakes beyond 2^53 survive exactly.
    assert.equal(typeof s.discord_message_id, 'string');
    assert.ok(BigInt(s.discord_message_id) > 2n ** 53n);
  });

  test('an empty batch is fine', async () => {
    const ctx = await provision(server);
    const r = await ctx.api.post('/ingest/message-batch', batch(ctx, []));
    assert.deepEqual([r.status, r.json.accepted, r.json.deduped], [200, 0, 0]);
  });

  test('auth and scope', async () => {
    const ctx = await provision(server);
    const other = await provision(server);
    assertError(await ctx.api.post('/ingest/message-batch', batch(ctx, []), { token: null }), 401, 'unauthorized');
    assertError(await ctx.api.post('/ingest/message-batch', batch(ctx, []), { token: 'Bearer-less' }), 401, 'unauthorized');
    const wrongTenant = batch(ctx, [message(ctx)], { tenant_key: other.tenant });
    assertError(await ctx.api.post('/ingest/message-batch', wrongTenant), 403, 'forbidden');
    const wrongConnector = batch(ctx, [message(ctx)], { connector_id: 'conn_02' });
    assertError(await ctx.api.post('/ingest/message-batch', wrongConnector), 403, 'forbidden');
  });

  test('malformed input: a bad envelope fails whole; a bad message is refused alone, every bad field named', async () => {
    const ctx = await provision(server);
    let r = await ctx.api.request('POST', '/ingest/message-batch', { raw: '{"connector_id": ', headers: { 'content-type': 'application/json' } });
    assertError(r, 400, 'bad_request');
    assert.match(r.json.message, /invalid JSON/);

    r = await ctx.api.request('POST', '/ingest/message-batch', { raw: '{}', headers: { 'content-type': 'text/plain' } });
    assertError(r, 415, 'unsupported_media_type');

    const good = message(ctx);
    const bad = message(ctx, { discord_channel_id: 12345, created_at: 'yesterday' });
    delete bad.content_raw;
    const bad2 = message(ctx, { event_type: 'upsert' });
    r = await ctx.api.post('/ingest/message-batch', batch(ctx, [good, bad, bad2]));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.json.ok, r.json.accepted, r.json.deduped], [true, 1, 0]);
    assert.deepEqual(r.json.rejected.map((x) => [x.index, x.idempotency_key, x.error_code]), [
      [1, bad.idempotency_key, 'bad_request'],
      [2, bad2.idempotency_key, 'bad_request'],
    ]);
    assert.deepEqual(r.json.rejected[0].fields.map((d) => d.field), [
      'messages[1].discord_channel_id',
      'messages[1].content_raw',
      'messages[1].created_at',
    ]);
    assert.deepEqual(r.json.rejected[1].fields.map((d) => d.field), ['messages[2].event_type']);
    assert.match(r.json.rejected[0].message, /messages\[1\]\.discord_channel_id/);
    // The good message was stored, and only it.
    const stats = await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/feed-stats`);
    assert.equal(stats.json.stats.signals, 1);
    assert.equal(stats.json.stats.receipts, 1);

    // The envelope is still all or nothing, and writes nothing.
    r = await ctx.api.post('/ingest/message-batch', { connector_id: ctx.connector, tenant_key: ctx.tenant, messages: 'x' });
    assertError(r, 400, 'bad_request');
    assert.deepEqual(r.json.details.map((d) => d.field), ['messages']);
    r = await ctx.api.post('/ingest/message-batch', { tenant_key: ctx.tenant, messages: [message(ctx)] });
    assertError(r, 400, 'bad_request');
    assert.deepEqual(r.json.details.map((d) => d.field), ['connector_id']);
    const after = await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/feed-stats`);
    assert.equal(after.json.stats.receipts, 1);
  });

  test('batch and body limits', async () => {
    const ctx = await provision(server);
    const six = Array.from({ length: 6 }, () => message(ctx));
    let r = await ctx.api.post('/ingest/message-batch', batch(ctx, six));
    assertError(r, 400, 'bad_request');
    assert.match(r.json.details[0].problem, /at most 5/);

    const huge = message(ctx, { content_raw: 'x'.repeat(70_000) });
    r = await ctx.api.post('/ingest/message-batch', batch(ctx, [huge]));
    assertError(r, 413, 'payload_too_large');

    // Without Content-Length (chunked upload) the limit still holds.
    const body = JSON.stringify(batch(ctx, [huge]));
    const stream = new ReadableStream({
      start(controller) {
        const bytes = new TextEncoder().encode(body);
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192));
        controller.close();
      },
    });
    const res = await fetch(`${server.baseUrl}/ingest/message-batch`, {
      method: 'POST', body: stream, duplex: 'half',
      headers: { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' },
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error_code, 'payload_too_large');
  });

  test('token rotation: the old token stops working at once', async () => {
    const ctx = await provision(server);
    const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
    const r = await ctx.admin.post(`${c}/rotate-token`);
    assert.equal(r.status, 200);
    assert.match(r.json.token, /^srct_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(r.json.token, ctx.token);
    assertError(await ctx.api.post('/ingest/message-batch', batch(ctx, [])), 401, 'unauthorized');
    const fresh = new Api(server.baseUrl, r.json.token);
    assert.equal((await fresh.post('/ingest/message-batch', batch(ctx, []))).status, 200);
    // The listing never shows the token or its hash.
    const listing = await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/connectors`);
    assert.ok(!listing.text.includes(r.json.token));
    assert.ok(!listing.text.includes('token_hash'));
  });
});

describe('threads', () => {
  test('create, sparse update, members update and delete', async () => {
    const ctx = await provision(server);
    const tid = snowflake();
    const base = { discord_thread_id: tid, parent_channel_id: '1300000000000000100', guild_id: '1300000000000000000' };
    const send = (event_type, thread, extra = {}) => ctx.api.post('/ingest/thread', {
      connector_id: ctx.connector, tenant_key: ctx.tenant, idempotency_key: `${ctx.tenant}:${ctx.connector}:thread:${tid}:${event_type}:${Math.random()}`,
      event_type, thread: { ...base, ...thread }, ...extra,
    });
    let r = await send('create', { name: 'BTC breakout', archived: false, locked: false, auto_archive_duration: 1440, message_count: 0, member_count: 1, owner_id: null });
    assert.deepEqual([r.status, r.json.accepted], [200, 1]);
    r = await send('update', {});
    assert.equal(r.status, 200);
    r = await send('members_update', {}, { member_delta: { added: ['1300000000000000555'], removed: [] } });
    assert.equal(r.status, 200);
    let threads;
    for (let i = 0; i < 50; i++) {
      threads = (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/threads`)).json.threads;
      if (threads.length && threads[0].member_ids?.length) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(threads[0].name, 'BTC breakout', 'a sparse update keeps the name');
    assert.deepEqual(threads[0].member_ids, ['1300000000000000555']);
    r = await send('delete', {});
    assert.equal(r.status, 200);
    r = await send('update', { name: 'resurrected?' });
    assert.equal(r.status, 200);
    for (let i = 0; i < 50; i++) {
      threads = (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/threads`)).json.threads;
      if (threads[0].deleted) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(threads[0].deleted, true);
    assert.equal(threads[0].name, 'BTC breakout', 'a delete is final');
  });

  test('invalid thread events name their fields', async () => {
    const ctx = await provision(server);
    const r = await ctx.api.post('/ingest/thread', {
      connector_id: ctx.connector, tenant_key: ctx.tenant, idempotency_key: 'k', event_type: 'rename',
      thread: { discord_thread_id: 42, parent_channel_id: '1' },
    });
    assertError(r, 400, 'bad_request');
    assert.deepEqual(r.json.details.map((d) => d.field), ['event_type', 'thread.discord_thread_id', 'thread.guild_id']);
  });
});

describe('discovery snapshots', () => {
  test('stored for the admin pickers; re-sync updates names', async () => {
    const ctx = await provision(server);
    const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
    assert.equal((await ctx.admin.get(c)).json.connector.discovery_request.synced_at, null);
    const sync = (name) => ctx.api.post('/ingest/channel-guild-sync', {
      connector_id: ctx.connector, tenant_key: ctx.tenant, idempotency_key: 'sync-1',
      guilds: [{ discord_guild_id: '1300000000000000000', name: 'HQ' }, { discord_guild_id: '1300000000000000001', name: 'Other' }],
      channels: [
        { discord_channel_id: '1300000000000000100', guild_id: '1300000000000000000', name, type: 0, parent_id: null, position: 1 },
        { discord_channel_id: '1300000000000000101', guild_id: '1300000000000000001', name: 'general', type: 0, parent_id: null, position: 0 },
      ],
    });
    const before = Date.now();
    let r = await sync('btc');
    assert.deepEqual([r.status, r.json.guilds, r.json.channels], [200, 2, 2]);
    const synced = (await ctx.admin.get(c)).json.connector.discovery_request.synced_at;
    assert.ok(synced >= before - 1000, `synced_at ${synced}`);
    r = await sync('btc-signals');
    const guilds = (await ctx.admin.get(`${c}/guilds`)).json.guilds;
    assert.deepEqual(guilds.map((g) => [g.guild_id, g.name]), [['1300000000000000000', 'HQ'], ['1300000000000000001', 'Other']]);
    const chans = (await ctx.admin.get(`${c}/channels?guild_id=1300000000000000000`)).json.channels;
    assert.deepEqual(chans.map((x) => [x.channel_id, x.name]), [['1300000000000000100', 'btc-signals']]);
    assert.equal((await ctx.admin.get(`${c}/channels`)).json.channels.length, 2);
    // A bad entry is refused alone; the good one beside it is stored.
    r = await ctx.api.post('/ingest/channel-guild-sync', {
      connector_id: ctx.connector, tenant_key: ctx.tenant,
      channels: [{ guild_id: 'x' }, { discord_channel_id: '1300000000000000102', guild_id: '1300000000000000001', name: 'alts' }],
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.json.channels, r.json.rejected.length, r.json.rejected[0].index], [1, 1, 0]);
    assert.deepEqual(r.json.rejected[0].fields.map((d) => d.field), ['channels[0].discord_channel_id', 'channels[0].guild_id']);
    assert.equal((await ctx.admin.get(`${c}/channels`)).json.channels.length, 3);
    // The envelope still fails whole.
    r = await ctx.api.post('/ingest/channel-guild-sync', { connector_id: ctx.connector, tenant_key: ctx.tenant, channels: {} });
    assertError(r, 400, 'bad_request');
    assert.deepEqual(r.json.details.map((d) => d.field), ['channels']);
  });
});

describe('routing', () => {
  test('unknown routes are JSON 404s; wrong methods are 405 with Allow', async () => {
    const api = new Api(server.baseUrl, null);
    let r = await api.get('/no/such/route');
    assertError(r, 404, 'not_found');
    r = await api.get('/ingest/message-batch');
    assertError(r, 405, 'method_not_allowed');
    assert.equal(r.headers.get('allow'), 'POST');
    r = await api.request('DELETE', '/v1/admin/tenants');
    assertError(r, 405, 'method_not_allowed');
    assert.equal(r.headers.get('allow'), 'GET, POST');
  });
});
