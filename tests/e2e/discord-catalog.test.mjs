// The bot's catalog against the fake Discord, driven by the real refresh (the catalog Durable
// Object stepping through the Discord facade and gate): what it reads, the warnings, a channel
// added and a role removed behind its back (inactive, not deleted), and tenancy — a guild
// serves one tenant, and another tenant can neither see it in its pickers nor map into it.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api, eventually, provision, snowflake } from '../../harness/client.mjs';
import { control, refreshed } from '../../harness/discord.mjs';

let stack;
let admin;
let fake;
let world;

function expectError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.ok, false);
  assert.equal(r.json.error_code, code, r.text);
}

const codes = (x) => x.warnings.map((w) => w.code);

before(async () => {
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
  admin = new Api(stack.server.baseUrl, stack.server.adminToken);
  fake = stack.services['fake-discord'].url;
  const state = await control(fake, 'GET', '/state');
  const g = state.guilds[0];
  world = {
    guild: g.id,
    channel: (name) => g.channels.find((c) => c.name === name),
    role: (name) => g.roles.find((r) => r.name === name),
  };
});

after(async () => { await stack?.stop(); });

describe('the catalog refresh', () => {
  test('reads the bot\'s guild, its text-capable channels and roles, with warnings', async () => {
    const run = await refreshed(admin);
    assert.equal(run.last_run.guilds, 1);
    assert.deepEqual(run.last_run.guilds_failed, []);

    const list = await admin.get('/v1/admin/catalog/guilds');
    assert.equal(list.status, 200);
    assert.equal(list.json.guilds.length, 1);
    const [g] = list.json.guilds;
    assert.equal(g.guild_id, world.guild);
    assert.equal(g.name, 'Demo Trading Community');
    assert.equal(g.active, true);
    assert.equal(g.tenant_key, null, 'a guild serves no tenant until an operator assigns it');

    const one = await admin.get(`/v1/admin/catalog/guilds/${world.guild}`);
    assert.equal(one.status, 200, one.text);
    const ch = (name) => one.json.channels.find((c) => c.name === name);
    const role = (name) => one.json.roles.find((r) => r.name === name);
    assert.equal(ch('Lounge'), undefined, 'voice channels are not targets');
    assert.equal(ch('general').type, 0);
    assert.deepEqual(codes(ch('general')), []);
    assert.equal(ch('general').targetable, true);
    assert.equal(ch('Signals').type, 4);
    assert.equal(ch('Signals').targetable, false);
    assert.equal(ch('signals-premium').parent_id, world.channel('Signals').id);
    assert.equal(ch('signals-premium').parent_name, 'Signals');
    assert.deepEqual(codes(ch('signals-premium')), [], 'the bot role is allowed back in');
    assert.deepEqual(codes(ch('mod-log')), ['bot_cannot_view']);
    assert.equal(ch('trade-ideas').type, 15);
    assert.equal(typeof ch('general').webhook_count, 'number');
    assert.equal(ch('mod-log').webhook_count, null, 'never listed where the bot would get a 403');
    // Permissions are exact u64 bitfields, as text.
    assert.match(ch('general').bot_permissions, /^\d+$/);
    assert.equal(BigInt(ch('general').bot_permissions) & (1n << 29n), 1n << 29n);

    assert.deepEqual(codes(role('Basic')), []);
    assert.equal(role('Basic').assignable, true);
    assert.deepEqual(codes(role('Premium')), []);
    assert.deepEqual(codes(role('Moderators')), ['role_above_bot']);
    assert.deepEqual(codes(role('Admin')), ['role_above_bot']);
    assert.deepEqual(codes(role('Server Booster')), ['role_managed']);
    assert.deepEqual(codes(role('Signal Relay')), ['role_managed', 'role_above_bot']);
    assert.deepEqual(codes(role('@everyone')), ['role_is_everyone']);
    assert.equal(role('Basic').permissions, world.role('Basic').permissions);
  });

  test('sees a channel added and a role removed: the role stays, inactive', async () => {
    const added = await control(fake, 'POST', '/channels', {
      name: 'signals-vip', type: 0, parent_id: world.channel('Signals').id,
    });
    const basic = world.role('Basic');
    await control(fake, 'DELETE', `/roles/${basic.id}`);
    // The bot loses MANAGE_WEBHOOKS in #general behind our back.
    await control(fake, 'POST', '/permissions', {
      permission: 'MANAGE_WEBHOOKS', grant: false, channel_id: world.channel('general').id,
    });

    const run = await refreshed(admin);
    assert.ok(run.last_run.written.channels_written >= 2, JSON.stringify(run.last_run));
    assert.equal(run.last_run.written.roles_deactivated, 1);

    const one = (await admin.get(`/v1/admin/catalog/guilds/${world.guild}`)).json;
    const vip = one.channels.find((c) => c.channel_id === added.id);
    assert.ok(vip, 'the new channel is in the catalog');
    assert.equal(vip.active, true);
    assert.equal(vip.parent_name, 'Signals');
    const gone = one.roles.find((r) => r.role_id === basic.id);
    assert.ok(gone, 'a removed role is kept');
    assert.equal(gone.active, false);
    assert.equal(typeof gone.inactive_since, 'number');
    assert.equal(gone.name, 'Basic');
    assert.ok(one.roles.find((r) => r.name === 'Premium').active);
    const general = one.channels.find((c) => c.name === 'general');
    assert.deepEqual(codes(general), ['bot_lacks_manage_webhooks']);

    // The channel goes too: inactive, not deleted; a refresh without change writes nothing.
    await control(fake, 'DELETE', `/channels/${added.id}`);
    let again = await refreshed(admin);
    assert.equal(again.last_run.written.channels_deactivated, 1);
    const after = (await admin.get(`/v1/admin/catalog/guilds/${world.guild}`)).json;
    assert.equal(after.channels.find((c) => c.channel_id === added.id).active, false);
    again = await refreshed(admin);
    assert.deepEqual(
      [again.last_run.written.channels_written, again.last_run.written.roles_written,
        again.last_run.written.channels_deactivated, again.last_run.written.roles_deactivated],
      [0, 0, 0, 0],
    );
  });

  test('a refresh asked for while one runs is queued, not run beside it', async () => {
    const first = await admin.post('/v1/admin/catalog/refresh', {});
    assert.equal(first.status, 202);
    const second = await admin.post('/v1/admin/catalog/refresh', {});
    assert.equal(second.status, 202);
    const before = first.json.refresh.runs_completed;
    if (second.json.refresh.state !== 'idle') assert.equal(second.json.refresh.again, true);
    const done = await eventually(
      async () => (await admin.get('/v1/admin/catalog/refresh')).json.refresh,
      (s) => s.state === 'idle' && s.runs_completed >= before + 1,
      60_000,
    );
    assert.equal(done.state, 'idle');
    assert.equal(done.again, false);
  });
});

describe('tenancy', () => {
  test('a guild serves one tenant; another can neither pick nor map into it', async () => {
    const a = await provision(stack.server);
    const b = await provision(stack.server);
    const general = world.channel('general').id;
    const signals = world.channel('signals-premium').id;
    const category = world.channel('Signals').id;
    for (const t of [a, b]) {
      const src = snowflake();
      const r = await admin.put(`/v1/admin/tenants/${t.tenant}/connectors/${t.connector}/sources/${src}`,
        { guild_id: snowflake(), is_source: true, is_target: false });
      assert.equal(r.status, 200, r.text);
      t.source = src;
    }
    const map = (t, target) => admin.put(
      `/v1/admin/tenants/${t.tenant}/connectors/${t.connector}/mappings/${t.source}/${target}`, {});

    // Unassigned: nobody's.
    expectError(await map(a, general), 409, 'target_guild_not_assigned');
    let r = await admin.get(`/v1/admin/tenants/${a.tenant}/catalog/channels`);
    assert.deepEqual(r.json.channels, []);

    r = await admin.put(`/v1/admin/catalog/guilds/${world.guild}/tenant`, { tenant_key: b.tenant });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.guild.tenant_key, b.tenant);

    // B sees it and maps into it; A sees nothing and is refused.
    r = await admin.get(`/v1/admin/tenants/${b.tenant}/catalog/channels`);
    const names = r.json.channels.map((c) => c.name);
    assert.ok(names.includes('general') && names.includes('signals-premium'), names.join());
    assert.ok(!names.includes('Signals'), 'categories are not targets');
    assert.ok(r.json.channels.every((c) => c.guild_id === world.guild && c.active));
    r = await admin.get(`/v1/admin/tenants/${b.tenant}/catalog/roles`);
    assert.ok(r.json.roles.some((x) => x.name === 'Premium' && x.assignable));
    r = await admin.get(`/v1/admin/tenants/${b.tenant}/catalog/guilds`);
    assert.deepEqual(r.json.guilds.map((g) => g.guild_id), [world.guild]);

    for (const path of ['channels', 'roles', 'guilds']) {
      r = await admin.get(`/v1/admin/tenants/${a.tenant}/catalog/${path}`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json[path], [], `${path} of tenant A`);
    }
    expectError(await map(a, signals), 409, 'target_guild_not_assigned');
    r = await map(b, signals);
    assert.equal(r.status, 200, r.text);
    expectError(await map(b, category), 409, 'target_channel_not_postable');

    // Moving the guild needs an unassign first, and an unassign waits for B's mappings to go.
    expectError(await admin.put(`/v1/admin/catalog/guilds/${world.guild}/tenant`, { tenant_key: a.tenant }),
      409, 'guild_assigned_elsewhere');
    expectError(await admin.del(`/v1/admin/catalog/guilds/${world.guild}/tenant`), 409, 'guild_in_use');
    r = await admin.del(`/v1/admin/tenants/${b.tenant}/connectors/${b.connector}/mappings/${b.source}/${signals}`);
    assert.equal(r.status, 200, r.text);
    r = await admin.del(`/v1/admin/catalog/guilds/${world.guild}/tenant`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.guild.tenant_key, null);
    expectError(await admin.del(`/v1/admin/catalog/guilds/${world.guild}/tenant`), 409, 'guild_not_assigned');

    // Bad input is refused before anything is written.
    expectError(await admin.put(`/v1/admin/catalog/guilds/${world.guild}/tenant`, { tenant_key: 'no-such' }),
      404, 'tenant_not_found');
    expectError(await admin.put(`/v1/admin/catalog/guilds/${world.guild}/tenant`, { tenant_key: 7 }),
      400, 'bad_request');
    expectError(await admin.put(`/v1/admin/catalog/guilds/12345/tenant`, { tenant_key: a.tenant }),
      404, 'catalog_guild_not_found');
    expectError(await admin.get('/v1/admin/catalog/guilds/not-an-id'), 400, 'bad_request');
    r = await admin.get(`/v1/admin/catalog/guilds/${world.guild}`);
    assert.equal(r.json.guild.tenant_key, null);
  });

  test('the catalog is operator-only', async () => {
    const anon = new Api(stack.server.baseUrl, null);
    for (const [m, p] of [['GET', '/v1/admin/catalog/guilds'], ['POST', '/v1/admin/catalog/refresh'],
      ['GET', '/v1/admin/catalog/refresh'], ['PUT', `/v1/admin/catalog/guilds/${world.guild}/tenant`]]) {
      const r = await anon.request(m, p, m === 'GET' ? {} : { body: {} });
      assert.equal(r.status, 401, `${m} ${p}`);
    }
  });
});
