// Discord linking and role sync (issue 14) against the real worker and the fake Discord: the
// OAuth2 link (state mismatch, reuse, a forged identity), grants on purchase and upgrade, the
// lapse actions and grace period, dispute and revocation, unlink and relink, drift (rejoin, a
// role removed by hand, a hand-given role), a role above the bot, and rate limits.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api, eventually, provision } from '../../harness/client.mjs';
import { Customer } from '../../harness/customer.mjs';
import { control, refreshed, requestsSince } from '../../harness/discord.mjs';

const PASSWORD = 'correct horse battery';
const DAY = 86_400_000;
let stack;
let admin;
let fake;
let sellapp;
let tenant;
let base;
let guild;
let roles;
let n = 0;

function expectError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.error_code, code, r.text);
}

async function fakeState() { return control(fake, 'GET', '/state'); }

async function memberRoles(userId) {
  const st = await fakeState();
  const m = st.guilds[0].named_members.find((x) => (x.user?.id ?? x.user_id) === userId);
  return m ? [...m.roles].sort() : null;
}

async function newUser(tag, { member = true, roles: r = [] } = {}) {
  const u = await control(fake, 'POST', '/users', { username: `${tag}${++n}${process.pid % 1000}` });
  if (member) await control(fake, 'POST', '/members', { user_id: u.id, roles: r });
  return u.id;
}

async function customer() {
  const c = new Customer(stack.server.baseUrl, tenant);
  const e = `rs-${++n}-${process.pid}@example.test`;
  // Each customer is its own client: the per-IP signup limit (20 an hour) is not under test.
  c.ip = `198.51.100.${n % 250}`;
  assert.equal((await c.signup(e, PASSWORD)).status, 202);
  const l = await c.login(e, PASSWORD);
  c.id = l.json.customer.customer_id;
  c.email = e;
  return c;
}

/** Runs the OAuth2 flow: start, the fake's authorize page as `userId`, then the callback. */
async function authorize(c, userId) {
  const start = await c.post('discord/link-requests', {});
  assert.equal(start.status, 201, start.text);
  const url = new URL(start.json.authorize_url);
  const form = new URLSearchParams(url.searchParams);
  form.set('user_id', userId);
  const res = await fetch(`${url.origin}${url.pathname}`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(),
  });
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get('location'));
  loc.scope = url.searchParams.get('scope');
  return loc;
}

async function callback(c, loc, { cookie = c.cookie } = {}) {
  const res = await fetch(loc.toString(), { redirect: 'manual', headers: cookie ? { cookie } : {} });
  assert.equal(res.status, 303);
  return new URL(res.headers.get('location'), stack.server.baseUrl).searchParams;
}

async function link(c, userId) {
  const q = await callback(c, await authorize(c, userId));
  assert.ok(['linked', 'relinked'].includes(q.get('discord')), q.toString());
}

async function state(c) {
  const r = await admin.get(`${base}/role-sync/members/${c.id}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** Polls until the fake shows exactly `want` roles on the user and the projection agrees. */
async function rolesBecome(c, userId, want, ms = 90_000) {
  const sorted = [...want].sort();
  const got = await eventually(async () => ({ fake: await memberRoles(userId), st: await state(c) }),
    (v) => JSON.stringify(v.fake) === JSON.stringify(sorted)
      && v.st.roles.some((s) => s.discord_user_id === userId && s.status !== 'pending'), ms);
  assert.deepEqual(got.fake, sorted, JSON.stringify(got.st));
  return got.st;
}

const grant = (c, tier, days = 30) =>
  admin.post(`${base}/customers/${c.id}/grants`, { tier, days, reason: 'test grant' });

async function settings(s) {
  const r = await admin.put(`${base}/role-sync/settings`, { drift_interval_seconds: 3600, ...s });
  assert.equal(r.status, 200, r.text);
}

before(async () => {
  stack = await startStack({ services: ['fake-discord', 'fake-sellapp'], vars: { ACCESS_LOG: 'errors' } });
  sellapp = stack.services['fake-sellapp'];
  fake = stack.services['fake-discord'].url;
  const ctx = await provision(stack.server);
  admin = ctx.admin;
  tenant = ctx.tenant;
  base = `/v1/admin/tenants/${tenant}`;
  for (const [key, name, rank] of [['basic', 'Basic', 1], ['pro', 'Pro', 2], ['vip', 'VIP', 3], ['burst', 'Burst', 4]]) {
    assert.equal((await admin.post(`${base}/tiers`, { key, name, rank })).status, 201);
  }
  await refreshed(admin);
  const st = await fakeState();
  guild = st.guild_id;
  roles = Object.fromEntries(st.guilds[0].roles.map((r) => [r.name, r.id]));
  assert.equal((await admin.put(`/v1/admin/catalog/guilds/${guild}/tenant`, { tenant_key: tenant })).status, 200);
  for (const [tier, rs] of [['basic', ['Basic']], ['pro', ['Premium']], ['vip', ['Premium', 'Moderators']], ['burst', ['Basic', 'Premium']]]) {
    const r = await admin.put(`${base}/role-sync/mappings/${guild}/${tier}`, { role_ids: rs.map((x) => roles[x]) });
    assert.equal(r.status, 200, r.text);
  }
  await settings({ lapse_action: 'remove_roles', grace_days: 0 });
  assert.equal((await admin.put(`${base}/payments/webhook-secret`, { secret: sellapp.seed.webhook_secret, reason: 'setup' })).status, 200);
  const p = await admin.put(`${base}/payments/policies/basic-30`, { product_id: 1001, variant_id: 2001, tier: 'basic', duration_days: 30 });
  assert.equal(p.status, 201, p.text);
  await sellapp.control('config', { target_url: `${stack.server.baseUrl}/webhooks/sellapp/${tenant}` });
});

after(async () => { await stack?.stop(); });

describe('linking', () => {
  test('a state from another session, a reused state and a forged identity are refused', async () => {
    const a = await customer();
    const b = await customer();
    const user = await newUser('linkee');
    const loc = await authorize(a, user);
    // b's browser brings a's state and code back: refused, and the code is not spent on b.
    assert.equal((await callback(b, loc)).get('discord_error'), 'discord_state_mismatch');
    assert.equal((await b.get('discord')).json.link, null);
    // No session at all.
    assert.equal((await callback(a, loc, { cookie: null })).get('discord_error'), 'not_signed_in');
    assert.equal((await callback(a, loc)).get('discord'), 'linked');
    assert.equal((await callback(a, loc)).get('discord_error'), 'discord_state_used');
    const me = await a.get('discord');
    assert.equal(me.json.link.discord_user_id, user);

    // A forged identity: a made-up code with a valid state, and an id in the query, do not link.
    const c = await customer();
    const other = await newUser('forged');
    const start = await c.post('discord/link-requests', {});
    const st = new URL(start.json.authorize_url).searchParams.get('state');
    const forged = new URL(`${stack.server.baseUrl}/v1/account/${tenant}/discord/callback`);
    forged.search = new URLSearchParams({ code: 'made-up-code', state: st, discord_user_id: other }).toString();
    assert.equal((await callback(c, forged)).get('discord_error'), 'discord_code_invalid');
    assert.equal((await c.get('discord')).json.link, null);
    // An unknown state.
    forged.search = new URLSearchParams({ code: 'x', state: 'f'.repeat(48) }).toString();
    assert.equal((await callback(c, forged)).get('discord_error'), 'discord_state_invalid');

    // One customer per Discord account: c cannot claim a's account.
    assert.equal((await callback(c, await authorize(c, user))).get('discord_error'), 'discord_account_taken');
    assert.equal((await c.get('discord')).json.link, null);
    // CSRF: starting a link needs the session's token.
    expectError(await c.post('discord/link-requests', {}, { csrf: 'nope' }), 403, 'csrf_token');
  });
});

describe('role sync', () => {
  test('grant on purchase, upgrade swaps roles, X-Audit-Log-Reason names the customer', async () => {
    const c = await customer();
    const user = await newUser('buyer');
    await link(c, user);
    assert.equal((await grant(c, 'basic')).status, 201);
    await rolesBecome(c, user, [roles.Basic]);
    assert.equal((await grant(c, 'pro')).status, 201);
    const st = await rolesBecome(c, user, [roles.Premium]);
    const s = st.roles.find((x) => x.guild_id === guild);
    assert.equal(s.status, 'in_sync');
    assert.deepEqual(s.desired.roles, [roles.Premium]);
    assert.deepEqual(s.granted_by_us, [roles.Premium]);
    const reqs = (await requestsSince(fake, 0)).filter((r) => /\/members\/\d+\/roles\//.test(r.path) && r.path.includes(user));
    assert.ok(reqs.length >= 3);
    for (const r of reqs) {
      const h = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
      const reason = decodeURIComponent(h['x-audit-log-reason'] ?? '');
      assert.match(reason, new RegExp(`Signal Relay: customer .*\\(${c.id}\\)`), JSON.stringify(r.headers));
    }
    const me = await c.get('discord');
    assert.equal(me.json.roles[0].role_names[roles.Premium], 'Premium');
    assert.ok(st.changes.some((x) => x.action === 'revoke' && x.role_id === roles.Basic && x.outcome === 'done'));
  });

  test('a Sell.app purchase grants the role; a dispute takes it back at once', async () => {
    const c = await customer();
    const user = await newUser('shopper');
    await link(c, user);
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2001 });
    await rolesBecome(c, user, [roles.Basic]);
    const d = await sellapp.control(`invoices/${r.invoice.id}/status`, { status: 'DISPUTED' });
    assert.equal(d.deliveries.at(-1).status, 200, JSON.stringify(d.deliveries));
    await rolesBecome(c, user, []);
    const st = await state(c);
    const revoke = st.changes.find((x) => x.action === 'revoke');
    assert.match(revoke.reason, /entitlement ended \(dispute\)/);
  });

  test('a trial is one per Discord account: another account linking the same user gets none', async () => {
    const t = await admin.put(`${base}/payments/policies/trial-3`, { product_id: 1003, variant_id: 2004, tier: 'basic', duration_days: 3, trial: true });
    assert.ok([200, 201].includes(t.status), t.text);
    const outcomes = (deliveries) => deliveries.map((d) => JSON.parse(d.response || '{}').result).sort();
    const user = await newUser('trial');
    const a = await customer();
    await link(a, user);
    assert.deepEqual(outcomes((await sellapp.control('purchase', { email: a.email, variant_id: 2004 })).deliveries), ['applied', 'ignored']);
    assert.equal((await a.request('DELETE', 'discord')).status, 200);
    // A second account (another email) links the same Discord user: the trial is used.
    const b = await customer();
    await link(b, user);
    const second = await sellapp.control('purchase', { email: b.email, variant_id: 2004 });
    assert.deepEqual(outcomes(second.deliveries), ['ignored', 'ignored']);
    const ev = await admin.get(`${base}/payments/events?outcome=ignored`);
    const reasons = ev.json.events.filter((e) => e.order_id === String(second.invoice.id)).map((e) => e.reason);
    assert.deepEqual(reasons, ['trial_already_used', 'trial_already_used']);
  });

  test('a role above the bot reports an error and the rest continues', async () => {
    const c = await customer();
    const user = await newUser('vip');
    await link(c, user);
    await grant(c, 'vip');
    const st = await rolesBecome(c, user, [roles.Premium]);
    const s = st.roles.find((x) => x.guild_id === guild);
    assert.equal(s.status, 'errors');
    assert.deepEqual(s.errors.map((e) => e.error_code), ['role_above_bot']);
  });

  test('operator revocation removes at once; a hand-given role survives', async () => {
    const c = await customer();
    const user = await newUser('hand', { roles: [] });
    await link(c, user);
    const g = await grant(c, 'basic');
    await rolesBecome(c, user, [roles.Basic]);
    await control(fake, 'PUT', `/members/${user}/roles/${roles.Premium}`);
    const r = await admin.post(`${base}/customers/${c.id}/entitlements/${g.json.entitlement.entitlement_id}/revoke`, { reason: 'chargeback' });
    assert.equal(r.status, 200, r.text);
    await rolesBecome(c, user, [roles.Premium]);
  });

  test('unlink takes our roles back; relink moves them to the new account', async () => {
    const c = await customer();
    const first = await newUser('first');
    const second = await newUser('second');
    await link(c, first);
    await grant(c, 'basic');
    await rolesBecome(c, first, [roles.Basic]);
    await link(c, second);
    await rolesBecome(c, second, [roles.Basic]);
    assert.deepEqual(await eventually(() => memberRoles(first), (x) => x?.length === 0, 60_000), []);
    const un = await c.request('DELETE', 'discord');
    assert.equal(un.status, 200, un.text);
    assert.deepEqual(await eventually(() => memberRoles(second), (x) => x?.length === 0, 60_000), []);
    expectError(await c.request('DELETE', 'discord'), 404, 'discord_not_linked');
  });

  test('rejoin after leaving, and a role removed by an admin, are put back by one pass', async () => {
    const c = await customer();
    const user = await newUser('rejoin');
    await link(c, user);
    await grant(c, 'basic');
    await rolesBecome(c, user, [roles.Basic]);
    await control(fake, 'DELETE', `/members/${user}`);
    await control(fake, 'POST', '/members', { user_id: user, roles: [] });
    const r = await admin.post(`${base}/role-sync/resync`, { guild_id: guild });
    assert.equal(r.status, 202, r.text);
    await rolesBecome(c, user, [roles.Basic]);
    await control(fake, 'DELETE', `/members/${user}/roles/${roles.Basic}`);
    await admin.post(`${base}/role-sync/resync`, { guild_id: guild });
    await rolesBecome(c, user, [roles.Basic]);
  });

  test('kick mode removes the member on revocation', async () => {
    await settings({ lapse_action: 'kick', grace_days: 0 });
    try {
      const c = await customer();
      const user = await newUser('kick');
      await link(c, user);
      const g = await grant(c, 'basic');
      await rolesBecome(c, user, [roles.Basic]);
      await admin.post(`${base}/customers/${c.id}/entitlements/${g.json.entitlement.entitlement_id}/revoke`, { reason: 'abuse' });
      const gone = await eventually(() => memberRoles(user), (x) => x === null, 60_000);
      assert.equal(gone, null);
      const st = await eventually(() => state(c), (s) => s.roles[0]?.status === 'kicked', 30_000);
      assert.equal(st.roles[0].status, 'kicked');
      assert.ok(st.changes.some((x) => x.action === 'kick' && x.outcome === 'done'));
    } finally {
      await settings({ lapse_action: 'remove_roles', grace_days: 0 });
    }
  });

  test('rate limits are respected: no 429 on the role routes', async () => {
    const log = await requestsSince(fake, 0);
    const limited = log.filter((r) => r.status === 429 && r.path.includes('/members'));
    assert.deepEqual(limited.map((r) => `${r.method} ${r.path}`), []);
  });

  test('a burst of grants under a tight route limit is spread without an avoidable 429', async () => {
    const people = [];
    for (let i = 0; i < 6; i++) {
      const c = await customer();
      const user = await newUser('burst');
      await link(c, user);
      people.push([c, user]);
    }
    const saved = await control(fake, 'GET', '/limits');
    const since = (await fakeState()).next_request_seq - 1;
    await control(fake, 'POST', '/limits', { route: { limit: 2, window_ms: 1000 } });
    try {
      await Promise.all(people.map(([c]) => grant(c, 'burst')));
      for (const [c, user] of people) await rolesBecome(c, user, [roles.Basic, roles.Premium], 120_000);
    } finally {
      await control(fake, 'POST', '/limits', { route: saved.route });
    }
    const log = (await requestsSince(fake, since)).filter((r) => r.path.includes('/guilds/'));
    const limited = log.filter((r) => r.status === 429);
    // At most the one answer per route that teaches the gate the tightened bucket.
    const perRoute = new Map();
    for (const r of limited) {
      const key = `${r.method} ${r.path.replace(/\d{15,}/g, '{id}').split('?')[0]}`;
      perRoute.set(key, (perRoute.get(key) ?? 0) + 1);
    }
    assert.ok([...perRoute.values()].every((n) => n <= 1), JSON.stringify([...perRoute]));
    assert.ok(log.filter((r) => r.method === 'PUT' && r.path.includes('/roles/')).length >= 12);
  });

  test('with auto-join on, linking adds the customer to the server (guilds.join)', async () => {
    await settings({ lapse_action: 'remove_roles', grace_days: 0, auto_join: true });
    try {
      const c = await customer();
      const user = await newUser('joiner', { member: false });
      assert.equal(await memberRoles(user), null);
      const loc = await authorize(c, user);
      assert.equal(loc.scope, 'identify guilds.join');
      assert.equal((await callback(c, loc)).get('discord'), 'linked');
      assert.deepEqual(await memberRoles(user), [], 'added by PUT /guilds/{g}/members/{u} with the user token');
      assert.equal((await grant(c, 'basic')).status, 201);
      const st = await rolesBecome(c, user, [roles.Basic]);
      assert.ok(st.changes.some((x) => x.action === 'join' && x.outcome === 'done'));
      const put = (await requestsSince(fake, 0)).filter((r) => r.method === 'PUT' && r.path.endsWith(`/members/${user}`));
      assert.equal(put.length, 1);
      assert.equal(put[0].status, 201);
    } finally {
      await settings({ lapse_action: 'remove_roles', grace_days: 0, auto_join: false });
    }
    // Off again: the authorize URL asks for identify only.
    const c = await customer();
    const loc = await authorize(c, await newUser('plain'));
    assert.equal(loc.scope, 'identify');
  });

  test('expiry keeps roles through the grace period, then removes them', async () => {
    await settings({ lapse_action: 'remove_roles', grace_days: 2 });
    const c = await customer();
    const user = await newUser('lapse');
    await link(c, user);
    await grant(c, 'basic', 1);
    await rolesBecome(c, user, [roles.Basic]);
    // Role sync's clock moves 2 days ahead: the day's entitlement ended, the grace holds.
    stack.server.vars.ROLE_SYNC_CLOCK_OFFSET_MS = String(2 * DAY);
    await stack.server.restart();
    admin = new Api(stack.server.baseUrl, stack.server.adminToken);
    assert.equal((await admin.post(`${base}/role-sync/resync`, { customer_id: c.id })).status, 202);
    const held = await eventually(() => state(c), (s) => s.roles[0]?.last_sync_at_ms > Date.now() - 5_000, 30_000);
    assert.deepEqual(await memberRoles(user), [roles.Basic], JSON.stringify(held));
    stack.server.vars.ROLE_SYNC_CLOCK_OFFSET_MS = String(4 * DAY);
    await stack.server.restart();
    admin = new Api(stack.server.baseUrl, stack.server.adminToken);
    assert.equal((await admin.post(`${base}/role-sync/resync`, { customer_id: c.id })).status, 202);
    await rolesBecome(c, user, []);
  });
});
