// Customers (issue 12): signup, login, throttling, CSRF, logout, expiry, password reset through
// the fake mail sink, operator grants and history, tier scoping of tickets / history / live
// frames, live enforcement (a revocation closes the socket), and tenant isolation.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { startServer } from '../../harness/worker.mjs';
import { Api, provision, message, ingest, eventually } from '../../harness/client.mjs';
import { Customer, closeCode } from '../../harness/customer.mjs';

const CH_BASIC = '1300000000000000100';
const CH_PRO = '1300000000000000101';
const CH_HIDDEN = '1300000000000000102';
const PASSWORD = 'correct horse battery';
let stack;
let server;
let mail;
let n = 0;
const email = (tag = 'c') => `${tag}-${++n}-${process.pid}@example.test`;

before(async () => {
  stack = await startStack({ services: ['mail-sink'] });
  server = stack.server;
  mail = stack.services['mail-sink'];
});
after(async () => { await stack?.stop(); });

/** A tenant with tiers basic (1) < pro (3) and three channels: basic, pro and hidden. */
async function shop() {
  const ctx = await provision(server);
  const admin = ctx.admin;
  const base = `/v1/admin/tenants/${ctx.tenant}`;
  for (const [key, name, rank] of [['basic', 'Basic', 1], ['pro', 'Pro', 3]]) {
    const r = await admin.post(`${base}/tiers`, { key, name, rank });
    assert.equal(r.status, 201, r.text);
  }
  for (const [ch, tier] of [[CH_BASIC, 'basic'], [CH_PRO, 'pro'], [CH_HIDDEN, null]]) {
    const r = await admin.put(`${base}/channel-visibility/${ch}`, { min_tier: tier, reason: 'setup' });
    assert.equal(r.status, 200, r.text);
  }
  ctx.base = base;
  ctx.grant = async (customerId, tier, days = 30, reason = 'test grant') =>
    admin.post(`${base}/customers/${customerId}/grants`, { tier, days, reason });
  return ctx;
}

async function signedUp(ctx, opts = {}) {
  const c = new Customer(server.baseUrl, ctx.tenant, opts);
  const e = opts.email ?? email();
  const r = await c.signup(e, opts.password ?? PASSWORD);
  assert.equal(r.status, 202, r.text);
  const l = await c.login(e, opts.password ?? PASSWORD);
  c.id = l.json.customer.customer_id;
  c.email = e;
  return c;
}

describe('accounts and sessions', () => {
  let ctx;
  before(async () => { ctx = await shop(); });

  test('signup answers the same for a new and a taken email; login sets an HttpOnly Secure Lax cookie', async () => {
    const e = email();
    const c = new Customer(server.baseUrl, ctx.tenant);
    const first = await c.signup(e, PASSWORD);
    const again = await c.signup(e, 'another password entirely');
    assert.equal(first.status, 202);
    assert.equal(again.status, 202);
    assert.deepEqual({ ...first.json, correlation_id: null }, { ...again.json, correlation_id: null });
    const l = await c.login(e.toUpperCase(), PASSWORD);
    const cookie = c.setCookies.find((s) => s.startsWith('sr_session='));
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/']) assert.ok(cookie.split('; ').includes(attr), cookie);
    assert.equal(l.json.customer.email, e);
    assert.ok(l.json.csrf_token);
    assert.ok(!l.text.includes(PASSWORD) && !l.text.includes('argon2'));
    const s = await c.get('session');
    assert.equal(s.status, 200);
    assert.equal(s.json.customer.customer_id, l.json.customer.customer_id);
    assert.ok(!s.text.includes('argon2'));
    // The second signup did not change the password.
    const other = new Customer(server.baseUrl, ctx.tenant);
    const bad = await other.post('login', { email: e, password: 'another password entirely' });
    assert.equal(bad.status, 401);
  });

  test('a wrong password and an unknown email get the same answer', async () => {
    const c = await signedUp(ctx);
    const anon = new Customer(server.baseUrl, ctx.tenant);
    const wrong = await anon.post('login', { email: c.email, password: 'wrong password 123' });
    const unknown = await anon.post('login', { email: email('nobody'), password: 'wrong password 123' });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.json.error_code, 'invalid_credentials');
    assert.equal(unknown.json.error_code, wrong.json.error_code);
    assert.equal(unknown.json.message, wrong.json.message);
  });

  test('bad input is a 400 naming the fields, and creates nothing', async () => {
    const c = new Customer(server.baseUrl, ctx.tenant);
    const r = await c.post('signup', { email: 'not-an-email', password: 'short' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json.details.map((d) => d.field).sort(), ['email', 'password']);
  });

  test('CSRF: no Origin, a foreign Origin, or a missing token is refused', async () => {
    const c = await signedUp(ctx);
    const noOrigin = await c.post('logout', {}, { origin: null });
    assert.equal(noOrigin.status, 403);
    assert.equal(noOrigin.json.error_code, 'csrf_origin');
    const foreign = await c.post('logout', {}, { origin: 'https://evil.example' });
    assert.equal(foreign.json.error_code, 'csrf_origin');
    const loginFromElsewhere = await new Customer(server.baseUrl, ctx.tenant, { origin: 'https://evil.example' })
      .post('login', { email: c.email, password: PASSWORD });
    assert.equal(loginFromElsewhere.json.error_code, 'csrf_origin');
    const noToken = await c.post('logout', {}, { csrf: null });
    assert.equal(noToken.status, 403);
    assert.equal(noToken.json.error_code, 'csrf_token');
    const wrongToken = await c.post('feed-tickets', {}, { csrf: 'x'.repeat(43) });
    assert.equal(wrongToken.json.error_code, 'csrf_token');
    // Still signed in: the refused requests changed nothing.
    assert.equal((await c.get('session')).status, 200);
  });

  test('logout revokes the session server-side and clears the cookie', async () => {
    const c = await signedUp(ctx);
    const stolen = c.cookie;
    const r = await c.post('logout');
    assert.equal(r.status, 204);
    assert.ok(c.setCookies.some((s) => s.startsWith('sr_session=;') && s.includes('Max-Age=0')));
    const replay = await c.get('session', { cookie: stolen });
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error_code, 'not_signed_in');
  });

  test('login is throttled per account, identically for unknown emails', async () => {
    const c = await signedUp(ctx);
    const nobody = email('ghost');
    const statuses = async (e, ip) => {
      const out = [];
      const anon = new Customer(server.baseUrl, ctx.tenant, { ip });
      for (let i = 0; i < 11; i++) out.push((await anon.post('login', { email: e, password: 'wrong password 123' })).status);
      return out;
    };
    const known = await statuses(c.email, '198.51.100.1');
    const unknown = await statuses(nobody, '198.51.100.2');
    assert.deepEqual(known, [...Array(10).fill(401), 429]);
    assert.deepEqual(unknown, known);
    // Even the right password waits now, from a fresh address.
    const right = await new Customer(server.baseUrl, ctx.tenant, { ip: '198.51.100.3' }).post('login', { email: c.email, password: PASSWORD });
    assert.equal(right.status, 429);
    assert.equal(right.json.error_code, 'throttled');
  });

  test('login is throttled per IP across accounts', async () => {
    const anon = new Customer(server.baseUrl, ctx.tenant, { ip: '203.0.113.9' });
    const out = [];
    for (let i = 0; i < 51; i++) out.push((await anon.post('login', { email: email('spray'), password: 'wrong password 123' })).status);
    assert.deepEqual(out, [...Array(50).fill(401), 429]);
    const elsewhere = new Customer(server.baseUrl, ctx.tenant, { ip: '203.0.113.10' });
    assert.equal((await elsewhere.post('login', { email: email('spray'), password: 'wrong password 123' })).status, 401);
  });

  test('password change revokes every other session and issues a new one', async () => {
    const c = await signedUp(ctx);
    const other = new Customer(server.baseUrl, ctx.tenant);
    await other.login(c.email, PASSWORD);
    const oldCookie = c.cookie;
    const wrong = await c.post('password', { current_password: 'not it at all', new_password: 'a brand new password' });
    assert.equal(wrong.json.error_code, 'invalid_credentials');
    const r = await c.post('password', { current_password: PASSWORD, new_password: 'a brand new password' });
    assert.equal(r.status, 200, r.text);
    assert.notEqual(c.cookie, oldCookie);
    assert.equal((await c.get('session')).status, 200);
    assert.equal((await other.get('session')).status, 401);
    assert.equal((await c.get('session', { cookie: oldCookie })).status, 401);
    await new Customer(server.baseUrl, ctx.tenant).login(c.email, 'a brand new password');
  });

  test('forgot password mails a single-use link; using it resets the password and revokes sessions', async () => {
    const c = await signedUp(ctx);
    const anon = new Customer(server.baseUrl, ctx.tenant);
    const ghost = email('ghost');
    const r1 = await anon.post('password-reset-requests', { email: c.email });
    const r2 = await anon.post('password-reset-requests', { email: ghost });
    assert.equal(r1.status, 202);
    assert.equal(r2.status, 202);
    assert.equal(r1.json.message, r2.json.message);
    const sent = await eventually(
      async () => (await fetch(`${mail.url}/messages?to=${encodeURIComponent(c.email)}`)).json(),
      (m) => m.length === 1,
    );
    assert.equal(sent.length, 1);
    assert.deepEqual(await (await fetch(`${mail.url}/messages?to=${encodeURIComponent(ghost)}`)).json(), []);
    const link = /(http\S+\/t\/[^/]+\/reset\/#token=(\S+))/.exec(sent[0].text);
    assert.ok(link, sent[0].text);
    assert.ok(link[1].startsWith(`${server.baseUrl}/t/${ctx.tenant}/reset/#token=`));
    const page = await (await fetch(`${mail.url}/`)).text();
    assert.ok(page.includes('Reset your password'));
    const token = link[2];
    const weak = await anon.post('password-reset', { token, new_password: 'short' });
    assert.equal(weak.status, 400);
    const ok = await anon.post('password-reset', { token, new_password: 'reset to this one' });
    assert.equal(ok.status, 204, ok.text);
    const again = await anon.post('password-reset', { token, new_password: 'reset to another' });
    assert.equal(again.status, 400);
    assert.equal(again.json.error_code, 'reset_token_invalid');
    const bogus = await anon.post('password-reset', { token: 'x'.repeat(43), new_password: 'reset to another' });
    assert.equal(bogus.json.error_code, 'reset_token_invalid');
    assert.equal((await c.get('session')).status, 401);
    await new Customer(server.baseUrl, ctx.tenant).login(c.email, 'reset to this one');
  });

  test('an operator reset link works once, and is recorded with the operator and reason', async () => {
    const c = await signedUp(ctx);
    const r = await ctx.admin.post(`${ctx.base}/customers/${c.id}/reset-link`, { reason: 'customer called support' });
    assert.equal(r.status, 201, r.text);
    const token = r.json.url.split('#token=')[1];
    const anon = new Customer(server.baseUrl, ctx.tenant);
    assert.equal((await anon.post('password-reset', { token, new_password: 'support set this' })).status, 204);
    assert.equal((await anon.post('password-reset', { token, new_password: 'support set this' })).status, 400);
    const h = await ctx.admin.get(`${ctx.base}/customers/${c.id}/history`);
    const issued = h.json.history.find((e) => e.action === 'reset_link_issued');
    assert.equal(issued.reason, 'customer called support');
    assert.match(issued.operator, /^admin:[0-9a-f]{12}$/);
    assert.ok(!JSON.stringify(h.json).includes(server.adminToken));
    assert.ok(h.json.history.some((e) => e.action === 'password_reset'));
  });
});

describe('session expiry', () => {
  let short;
  before(async () => {
    // Absolute lifetime ~1.8 s, so the test can outlive it.
    short = await startStack({ services: [], vars: { SESSION_ABSOLUTE_HOURS: '0.0005' } });
  });
  after(async () => { await short?.stop(); });

  test('a session past its absolute expiry is refused', async () => {
    const ctx = await provision(short.server);
    const c = new Customer(short.server.baseUrl, ctx.tenant);
    const e = email();
    await c.signup(e, PASSWORD);
    await c.login(e, PASSWORD);
    assert.equal((await c.get('session')).status, 200);
    const expiry = Date.parse((await c.get('session')).json.session.expires_at);
    while (Date.now() <= expiry + 50) await new Promise((r) => setTimeout(r, 100));
    const r = await c.get('session');
    assert.equal(r.status, 401);
    assert.equal(r.json.error_code, 'not_signed_in');
  });
});

describe('entitlements, tier scoping and live enforcement', () => {
  let ctx;
  before(async () => { ctx = await shop(); });

  test('without an entitlement there are no tickets and no history', async () => {
    const c = await signedUp(ctx);
    const t = await c.ticket();
    assert.equal(t.status, 403);
    assert.equal(t.json.error_code, 'no_access');
    assert.equal((await c.get('signals')).json.error_code, 'no_access');
    const me = await c.get('me');
    assert.equal(me.json.access, null);
    assert.deepEqual(me.json.channels.available, []);
    assert.deepEqual(me.json.channels.locked.map((x) => x.channel_id).sort(), [CH_BASIC, CH_PRO]);
  });

  test('a grant needs a reason, extends the same tier, and is in the history', async () => {
    const c = await signedUp(ctx);
    const noReason = await ctx.admin.post(`${ctx.base}/customers/${c.id}/grants`, { tier: 'basic', days: 3 });
    assert.equal(noReason.status, 400);
    assert.deepEqual(noReason.json.details.map((d) => d.field), ['reason']);
    const g1 = await ctx.grant(c.id, 'basic', 3);
    assert.equal(g1.status, 201, g1.text);
    const g2 = await ctx.grant(c.id, 'basic', 2);
    assert.equal(g2.json.entitlement.entitlement_id, g1.json.entitlement.entitlement_id);
    assert.equal(g2.json.entitlement.ends_at_ms - g1.json.entitlement.ends_at_ms, 2 * 86_400_000);
    const d = await ctx.admin.get(`${ctx.base}/customers/${c.id}`);
    assert.equal(d.json.entitlements.length, 1);
    assert.equal(d.json.access.tier.key, 'basic');
    const grants = d.json.history.filter((e) => e.action === 'entitlement_granted');
    assert.equal(grants.length, 2);
    assert.ok(grants.every((e) => e.reason === 'test grant' && /^admin:/.test(e.operator)));
    const unknownTier = await ctx.grant(c.id, 'platinum', 1);
    assert.equal(unknownTier.json.error_code, 'tier_not_found');
    const list = await ctx.admin.get(`${ctx.base}/customers?q=${encodeURIComponent(c.email.slice(0, 8))}`);
    assert.ok(list.json.customers.some((x) => x.customer_id === c.id));
  });

  test('tickets, history and live frames are narrowed to the tier', async () => {
    const c = await signedUp(ctx);
    await ctx.grant(c.id, 'basic');
    const me = await c.get('me');
    assert.equal(me.json.access.tier.key, 'basic');
    assert.deepEqual(me.json.channels.available.map((x) => x.channel_id), [CH_BASIC]);
    assert.deepEqual(me.json.channels.locked.map((x) => x.channel_id), [CH_PRO]);
    const feed = await c.feed();
    assert.deepEqual(feed.ticket.channels, [CH_BASIC]);
    const [mb, mp, mh] = [CH_BASIC, CH_PRO, CH_HIDDEN].map((ch) => message(ctx, { discord_channel_id: ch }));
    await ingest(ctx, [mb, mp, mh]);
    await feed.until((f) => f.signals().some((s) => s.signal?.message_id === mb.discord_message_id || JSON.stringify(s).includes(mb.discord_message_id)), 10_000, 'basic signal');
    // One more basic signal after the others proves the pro/hidden ones are not just late.
    const mb2 = message(ctx, { discord_channel_id: CH_BASIC });
    await ingest(ctx, [mb2]);
    await feed.until((f) => JSON.stringify(f.signals()).includes(mb2.discord_message_id), 10_000, 'second basic signal');
    const seen = JSON.stringify(feed.frames);
    assert.ok(!seen.includes(mp.discord_message_id), 'a pro signal reached a basic socket');
    assert.ok(!seen.includes(mh.discord_message_id), 'a hidden signal reached a socket');
    feed.close();
    const h = await eventually(() => c.get('signals'), (r) => r.json.signals?.length === 2);
    const ids = JSON.stringify(h.json.signals);
    assert.ok(ids.includes(mb.discord_message_id) && ids.includes(mb2.discord_message_id));
    assert.ok(!ids.includes(mp.discord_message_id) && !ids.includes(mh.discord_message_id));
    const asked = await c.get(`signals?channel=${CH_PRO}`);
    assert.deepEqual(asked.json.signals, []);
    // Paging: one at a time, newest first, then nothing.
    const p1 = await c.get('signals?limit=1');
    assert.equal(p1.json.signals.length, 1);
    assert.ok(JSON.stringify(p1.json.signals).includes(mb2.discord_message_id));
    const p2 = await c.get(`signals?limit=1&before=${p1.json.next_cursor}`);
    assert.ok(JSON.stringify(p2.json.signals).includes(mb.discord_message_id));
    const p3 = await c.get(`signals?limit=1&before=${p2.json.next_cursor}`);
    assert.deepEqual(p3.json.signals, []);
    assert.equal((await c.get('signals?before=garbage')).status, 400);
  });

  test('an upgrade closes the narrow socket at once (4409); the new ticket sees more', async () => {
    const c = await signedUp(ctx);
    await ctx.grant(c.id, 'basic');
    const feed = await c.feed();
    await ctx.grant(c.id, 'pro', 7);
    assert.equal(await closeCode(feed), 4409);
    const wider = await c.feed();
    assert.deepEqual(wider.ticket.channels.sort(), [CH_BASIC, CH_PRO].sort());
    const mp = message(ctx, { discord_channel_id: CH_PRO });
    await ingest(ctx, [mp]);
    await wider.until((f) => JSON.stringify(f.signals()).includes(mp.discord_message_id), 10_000, 'pro signal');
    // Extending the tier held changes no scope: the socket stays open.
    await ctx.grant(c.id, 'pro', 1);
    const mp2 = message(ctx, { discord_channel_id: CH_PRO });
    await ingest(ctx, [mp2]);
    await wider.until((f) => JSON.stringify(f.signals()).includes(mp2.discord_message_id), 10_000, 'pro signal after extension');
    assert.equal(wider.serverCloseCode(), null);
    wider.close();
  });

  test('revoking the entitlement closes the live socket (4403)', async () => {
    const c = await signedUp(ctx);
    const g = await ctx.grant(c.id, 'basic');
    const feed = await c.feed();
    const r = await ctx.admin.post(`${ctx.base}/customers/${c.id}/entitlements/${g.json.entitlement.entitlement_id}/revoke`, { reason: 'chargeback' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.entitlement.status, 'revoked');
    assert.equal(await closeCode(feed), 4403);
    assert.equal((await c.ticket()).json.error_code, 'no_access');
  });

  test('disabling the account and revoking sessions close sockets and sign the customer out', async () => {
    const a = await signedUp(ctx);
    await ctx.grant(a.id, 'basic');
    const fa = await a.feed();
    const r = await ctx.admin.post(`${ctx.base}/customers/${a.id}/revoke-sessions`, { reason: 'shared account' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.revoked, 1);
    assert.equal(await closeCode(fa), 4401);
    assert.equal((await a.get('session')).status, 401);

    const b = await signedUp(ctx);
    await ctx.grant(b.id, 'basic');
    const fb = await b.feed();
    const d = await ctx.admin.post(`${ctx.base}/customers/${b.id}/disable`, { reason: 'abuse' });
    assert.equal(d.json.customer.status, 'disabled');
    assert.equal(await closeCode(fb), 4403);
    const relogin = await new Customer(server.baseUrl, ctx.tenant).post('login', { email: b.email, password: PASSWORD });
    assert.equal(relogin.json.error_code, 'invalid_credentials');
    await ctx.admin.post(`${ctx.base}/customers/${b.id}/enable`, { reason: 'appeal accepted' });
    await new Customer(server.baseUrl, ctx.tenant).login(b.email, PASSWORD);
  });

  test('hiding a channel closes the sockets that saw it', async () => {
    const local = await shop();
    const c = await signedUp(local);
    await local.grant(c.id, 'pro');
    const feed = await c.feed();
    const r = await local.admin.put(`${local.base}/channel-visibility/${CH_PRO}`, { min_tier: null, reason: 'retired' });
    assert.equal(r.status, 200);
    assert.equal(await closeCode(feed), 4409);
    assert.deepEqual((await c.ticket()).json.channels, [CH_BASIC]);
  });
});

describe('tenant isolation', () => {
  let a;
  let b;
  before(async () => { [a, b] = [await shop(), await shop()]; });

  test('the same email is two accounts in two tenants', async () => {
    const e = email('both');
    const ca = await signedUp(a, { email: e });
    const cb = await signedUp(b, { email: e, password: 'the other tenant pw' });
    assert.notEqual(ca.id, cb.id);
    const wrong = await new Customer(server.baseUrl, b.tenant).post('login', { email: e, password: PASSWORD });
    assert.equal(wrong.status, 401);
  });

  test("a customer of A cannot use their session, tickets or ids on B", async () => {
    const ca = await signedUp(a);
    await a.grant(ca.id, 'pro');
    const cb = await signedUp(b);
    await b.grant(cb.id, 'pro');
    const mb = message(b, { discord_channel_id: CH_BASIC });
    await ingest(b, [mb]);
    await eventually(() => cb.get('signals'), (r) => JSON.stringify(r.json.signals ?? []).includes(mb.discord_message_id));

    // A's session on B's routes is no session at all.
    for (const leaf of ['session', 'me', 'signals']) {
      const r = await ca.get(leaf, { tenant: b.tenant });
      assert.equal(r.status, 401, leaf);
      assert.equal(r.json.error_code, 'not_signed_in');
    }
    const t = await ca.request('POST', 'feed-tickets', {}, { tenant: b.tenant });
    assert.equal(t.status, 401);
    const lo = await ca.request('POST', 'logout', {}, { tenant: b.tenant });
    assert.equal(lo.status, 401);
    assert.equal((await ca.get('session')).status, 200, 'A stays signed in at A');

    // A's history and live feed never show B's signal.
    const ha = await ca.get('signals');
    assert.ok(!JSON.stringify(ha.json).includes(mb.discord_message_id));
    const fa = await ca.feed();
    assert.ok(fa.ticket.url.includes('/v1/feed?ticket='));
    const ma = message(a, { discord_channel_id: CH_BASIC });
    await ingest(b, [message(b, { discord_channel_id: CH_BASIC })]);
    await ingest(a, [ma]);
    await fa.until((f) => JSON.stringify(f.signals()).includes(ma.discord_message_id), 10_000, "A's signal");
    assert.ok(!JSON.stringify(fa.frames).includes(mb.discord_message_id));
    fa.close();

    // B's customer id under A's operator routes is unknown.
    const cross = await a.admin.get(`${a.base}/customers/${cb.id}`);
    assert.equal(cross.status, 404);
    assert.equal(cross.json.error_code, 'customer_not_found');
    const grant = await a.grant(cb.id, 'pro');
    assert.equal(grant.json.error_code, 'customer_not_found');
    // And a customer session opens nothing in the operator area.
    const adminAsCustomer = await new Api(server.baseUrl, null).get(`${a.base}/customers`, { headers: { cookie: ca.cookie } });
    assert.equal(adminAsCustomer.status, 401);
  });

  test("B's entitlement ids and reset tokens do not work through A", async () => {
    const cb = await signedUp(b);
    const g = await b.grant(cb.id, 'basic');
    const ca = await signedUp(a);
    const r = await a.admin.post(`${a.base}/customers/${ca.id}/entitlements/${g.json.entitlement.entitlement_id}/revoke`, { reason: 'x' });
    assert.equal(r.json.error_code, 'entitlement_not_found');
    assert.equal((await b.admin.get(`${b.base}/customers/${cb.id}`)).json.access.tier.key, 'basic');
    const link = await b.admin.post(`${b.base}/customers/${cb.id}/reset-link`, { reason: 'test' });
    const token = link.json.url.split('#token=')[1];
    const viaA = await new Customer(server.baseUrl, a.tenant).post('password-reset', { token, new_password: 'hijacked password' });
    assert.equal(viaA.json.error_code, 'reset_token_invalid');
  });

  test('pages exist only under a known tenant', async () => {
    const r = await fetch(`${server.baseUrl}/t/no-such-tenant/`);
    assert.equal(r.status, 404);
    const redirect = await fetch(`${server.baseUrl}/t/${a.tenant}`, { redirect: 'manual' });
    assert.equal(redirect.status, 308);
    assert.equal(new URL(redirect.headers.get('location')).pathname, `/t/${a.tenant}/`);
    // One build serves every tenant, with the static pages' security headers.
    const page = await fetch(`${server.baseUrl}/t/${a.tenant}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /text\/html/);
    assert.match(page.headers.get('content-security-policy'), /script-src 'self'/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    // Without the slash the page is served, or redirected inside the tenant's prefix.
    const login = await fetch(`${server.baseUrl}/t/${a.tenant}/login`, { redirect: 'manual' });
    if (login.status === 200) assert.match(login.headers.get('content-type'), /text\/html/);
    else assert.equal(new URL(login.headers.get('location'), server.baseUrl).pathname, `/t/${a.tenant}/login/`);
    assert.equal((await fetch(`${server.baseUrl}/t/${a.tenant}/login/`)).status, 200);
  });
});
