// The operator API: auth, tenants, connectors, sources, mappings, discovery, listings.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../harness/worker.mjs';
import { Api, provision, message, ingest } from '../../harness/client.mjs';

let server;
let admin;
before(async () => {
  server = await startServer();
  admin = new Api(server.baseUrl, server.adminToken);
});
after(async () => { await server?.close(); });

const GUILD = '1300000000000000000';
const SRC = '1300000000000000100';
const DST = '1300000000000000200';

function expectError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.ok, false);
  assert.equal(r.json.error_code, code);
}

describe('auth', () => {
  test('admin routes need the admin token', async () => {
    expectError(await new Api(server.baseUrl, null).get('/v1/admin/tenants'), 401, 'unauthorized');
    expectError(await new Api(server.baseUrl, 'wrong').get('/v1/admin/tenants'), 401, 'unauthorized');
    const r = await new Api(server.baseUrl, 'wrong').get('/v1/admin/tenants');
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await admin.get('/v1/admin/tenants')).status, 200);
  });
});

describe('tenants and connectors', () => {
  test('create, conflict, read, validation', async () => {
    let r = await admin.post('/v1/admin/tenants', { tenant_key: 'acme', name: 'Acme Signals' });
    assert.equal(r.status, 201);
    assert.deepEqual([r.json.tenant.tenant_key, r.json.tenant.name], ['acme', 'Acme Signals']);
    expectError(await admin.post('/v1/admin/tenants', { tenant_key: 'acme' }), 409, 'tenant_exists');
    r = await admin.post('/v1/admin/tenants', { tenant_key: 'Not Valid!' });
    expectError(r, 400, 'bad_request');
    assert.equal(r.json.details[0].field, 'tenant_key');
    expectError(await admin.get('/v1/admin/tenants/nope'), 404, 'tenant_not_found');
    assert.ok((await admin.get('/v1/admin/tenants')).json.tenants.some((t) => t.tenant_key === 'acme'));

    r = await admin.post('/v1/admin/tenants/acme/connectors', { connector_id: 'conn_01', name: 'Main' });
    assert.equal(r.status, 201);
    assert.match(r.json.token, /^srct_/);
    assert.equal(r.json.connector.status, 'active');
    assert.equal(r.json.connector.config_version, 1);
    assert.ok(!('token_hash' in r.json.connector));
    expectError(await admin.post('/v1/admin/tenants/acme/connectors', { connector_id: 'conn_01' }), 409, 'connector_exists');
    expectError(await admin.post('/v1/admin/tenants/nope/connectors', { connector_id: 'c' }), 404, 'tenant_not_found');
    expectError(await admin.get('/v1/admin/tenants/acme/connectors/ghost'), 404, 'connector_not_found');
    // The same connector id may exist in another tenant.
    await admin.post('/v1/admin/tenants', { tenant_key: 'beta' });
    assert.equal((await admin.post('/v1/admin/tenants/beta/connectors', { connector_id: 'conn_01' })).status, 201);

    const t = await admin.get('/v1/admin/tenants/acme');
    assert.deepEqual(t.json.connectors.map((c) => c.connector_id), ['conn_01']);
    const list = await admin.get('/v1/admin/tenants/acme/connectors');
    assert.equal(list.json.connectors[0].name, 'Main');
  });

  test('patch flags bump config_version; a rename does not', async () => {
    const ctx = await provision(server);
    const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
    let r = await admin.patch(c, { name: 'renamed' });
    assert.deepEqual([r.json.connector.name, r.json.connector.config_version], ['renamed', 1]);
    r = await admin.patch(c, { ingest_enabled: false, forward_enabled: false });
    assert.deepEqual([r.json.connector.ingest_enabled, r.json.connector.forward_enabled, r.json.connector.config_version], [false, false, 2]);
    expectError(await admin.patch(c, {}), 400, 'bad_request');
    expectError(await admin.patch(c, { ingest_enabled: 'yes' }), 400, 'bad_request');
    // Pausing twice bumps once.
    await admin.post(`${c}/pause`);
    r = await admin.post(`${c}/pause`);
    assert.deepEqual([r.json.connector.status, r.json.connector.config_version], ['paused', 3]);
  });
});

describe('sources and mappings', () => {
  test('mappings connect enabled sources to enabled targets; removing a source removes its mappings', async () => {
    const ctx = await provision(server);
    const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
    expectError(await admin.put(`${c}/sources/not-a-snowflake`, { guild_id: GUILD }), 400, 'bad_request');
    let r = await admin.put(`${c}/sources/${SRC}`, { guild_id: GUILD, is_source: true, is_target: false, thread_mode: 'exclude' });
    assert.deepEqual([r.status, r.json.source.thread_mode, r.json.config_version], [200, 'exclude', 2]);
    r = await admin.put(`${c}/sources/${SRC}`, { guild_id: GUILD, thread_mode: 'sometimes' });
    expectError(r, 400, 'bad_request');
    assert.equal(r.json.details[0].field, 'thread_mode');

    // Target not available yet.
    expectError(await admin.put(`${c}/mappings/${SRC}/${DST}`, {}), 409, 'target_channel_unavailable');
    await admin.put(`${c}/sources/${DST}`, { guild_id: GUILD, is_source: false, is_target: true });
    // Source used as target is refused too.
    expectError(await admin.put(`${c}/mappings/${DST}/${SRC}`, {}), 409, 'source_channel_unavailable');
    r = await admin.put(`${c}/mappings/${SRC}/${DST}`, { filters_json: { allowed_keywords: ['btc'] }, transform_json: { footer: '[VIP]' }, priority: 5 });
    assert.equal(r.status, 200);
    const { updated_at: mappedAt, ...mapping } = r.json.mapping;
    assert.equal(typeof mappedAt, 'number');
    assert.deepEqual(mapping, {
      source_channel_id: SRC, target_channel_id: DST, filters_json: { allowed_keywords: ['btc'] },
      transform_json: { footer: '[VIP]' }, priority: 5,
    });
    assert.equal(r.json.config_version, 4);
    expectError(await admin.put(`${c}/mappings/${SRC}/${DST}`, { filters_json: [] }), 400, 'bad_request');

    // The connector sees it all in its runtime config.
    const cfg = (await ctx.api.get(`/connectors/${ctx.connector}/runtime-config?tenant_key=${ctx.tenant}`)).json.config;
    assert.equal(cfg.config_version, 4);
    assert.equal(cfg.sources.length, 2);
    assert.deepEqual(cfg.mappings[0].filters_json, { allowed_keywords: ['btc'] });

    // Disabling the target makes new mappings to it unavailable.
    await admin.put(`${c}/sources/${DST}`, { guild_id: GUILD, is_source: false, is_target: true, is_enabled: false });
    expectError(await admin.put(`${c}/mappings/${SRC}/${DST}`, {}), 409, 'target_channel_unavailable');

    // Delete: the mapping goes with the source; config_version bumps once.
    r = await admin.del(`${c}/sources/${SRC}`);
    assert.deepEqual([r.status, r.json.mappings_removed, r.json.config_version], [200, 1, 6]);
    expectError(await admin.del(`${c}/sources/${SRC}`), 404, 'source_not_found');
    assert.deepEqual((await admin.get(`${c}/mappings`)).json.mappings, []);
    expectError(await admin.del(`${c}/mappings/${SRC}/${DST}`), 404, 'mapping_not_found');
    assert.equal((await admin.get(c)).json.connector.config_version, 6, 'failed deletes bump nothing');
  });

  test('mapping delete bumps the version', async () => {
    const ctx = await provision(server);
    const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
    await admin.put(`${c}/sources/${SRC}`, { guild_id: GUILD, is_source: true });
    await admin.put(`${c}/sources/${DST}`, { guild_id: GUILD, is_source: false, is_target: true });
    await admin.put(`${c}/mappings/${SRC}/${DST}`, {});
    const before = (await admin.get(c)).json.connector.config_version;
    const r = await admin.del(`${c}/mappings/${SRC}/${DST}`);
    assert.deepEqual([r.status, r.json.config_version], [200, before + 1]);
  });
});

describe('discovery and listings', () => {
  test('discovery requests and validation', async () => {
    const ctx = await provision(server);
    const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
    expectError(await admin.post(`${c}/discovery-requests`, { guild_id: 123 }), 400, 'bad_request');
    const r = await admin.post(`${c}/discovery-requests`, { guild_id: GUILD });
    assert.deepEqual([r.status, r.json.discovery_request.version, r.json.discovery_request.guild_id, r.json.config_version], [202, 1, GUILD, 1]);
    expectError(await admin.get(`${c}/channels?guild_id=abc`), 400, 'bad_request');
  });

  test('recent signals: newest first, filters, pagination, deleted hidden by default', async () => {
    const ctx = await provision(server);
    const t0 = Date.now() - 60_000;
    const msgs = Array.from({ length: 5 }, (_, i) => message(ctx, {
      created_at: new Date(t0 + i * 1000).toISOString(),
      discord_channel_id: i % 2 ? DST : SRC,
    }));
    await ingest(ctx, msgs);
    await ingest(ctx, [message(ctx, { discord_message_id: msgs[4].discord_message_id, event_type: 'delete' })]);
    const base = `/v1/admin/tenants/${ctx.tenant}/signals`;
    let list;
    for (let i = 0; i < 50; i++) {
      list = (await admin.get(`${base}?include_deleted=true`)).json.signals;
      if (list.length === 5 && list[0].deleted) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(list.map((s) => s.discord_message_id), msgs.map((m) => m.discord_message_id).reverse());
    const visible = (await admin.get(base)).json.signals;
    assert.deepEqual(visible.map((s) => s.discord_message_id), msgs.slice(0, 4).map((m) => m.discord_message_id).reverse());
    const chan = (await admin.get(`${base}?channel_id=${SRC}`)).json.signals;
    assert.deepEqual(chan.map((s) => s.discord_message_id), [msgs[2], msgs[0]].map((m) => m.discord_message_id));
    const page1 = await admin.get(`${base}?limit=2`);
    assert.equal(page1.json.signals.length, 2);
    assert.equal(typeof page1.json.next_before, 'number');
    const page2 = await admin.get(`${base}?limit=2&before=${page1.json.next_before}`);
    assert.deepEqual(page2.json.signals.map((s) => s.discord_message_id), [msgs[1], msgs[0]].map((m) => m.discord_message_id));
    expectError(await admin.get(`${base}?limit=0`), 400, 'bad_request');
    expectError(await admin.get(`${base}?limit=abc`), 400, 'bad_request');
    expectError(await admin.get(`${base}?before=yesterday`), 400, 'bad_request');
    expectError(await admin.get('/v1/admin/tenants/nope/signals'), 404, 'tenant_not_found');
  });

  test('feed stats come from the tenant object', async () => {
    const ctx = await provision(server);
    await ingest(ctx, [message(ctx), message(ctx)]);
    const r = await admin.get(`/v1/admin/tenants/${ctx.tenant}/feed-stats`);
    assert.equal(r.status, 200);
    assert.equal(r.json.stats.seq, 2);
    assert.equal(r.json.stats.visible_signals, 2);
    assert.equal(r.json.stats.tenant_key, ctx.tenant);
  });
});
