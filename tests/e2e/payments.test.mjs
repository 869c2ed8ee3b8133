// Payments (issue 13): Sell.app webhooks through the fake Sell.app into the worker. Refused
// deliveries (forged, unsigned, stale secret) change nothing; repeats answer `deduped`; order
// of events does not matter; unmatched events are replayed once fixed; an order before signup
// applies at signup; a dispute revokes; a paying customer's ticket widens to the tier.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { pointSellapp, signedUp as signedUpAs, tenantWithTiers } from '../../harness/sellapp.mjs';

const CH_BASIC = '1300000000000000200';
const CH_PRO = '1300000000000000201';
const PASSWORD = 'correct horse battery';
let stack;
let server;
let sellapp;
let n = 0;
const email = (tag = 'buyer') => `${tag}-${++n}-${process.pid}@example.test`;

before(async () => {
  stack = await startStack({ services: ['fake-sellapp'] });
  server = stack.server;
  sellapp = stack.services['fake-sellapp'];
});
after(async () => { await stack?.stop(); });

/** A tenant selling basic (variant 2001, 30 days) and pro (variant 2003, 30 days, no policy
 * unless `vip`), with the fake Sell.app pointed at its webhook. */
async function store({ vip = true, secret = sellapp.seed.webhook_secret } = {}) {
  const ctx = await tenantWithTiers(server);
  const { admin, base } = ctx;
  for (const [ch, tier] of [[CH_BASIC, 'basic'], [CH_PRO, 'pro']]) {
    const r = await admin.put(`${base}/channel-visibility/${ch}`, { min_tier: tier, reason: 'setup' });
    assert.equal(r.status, 200, r.text);
  }
  if (secret) {
    const r = await admin.put(`${base}/payments/webhook-secret`, { secret, reason: 'setup' });
    assert.equal(r.status, 200, r.text);
  }
  const p = await admin.put(`${base}/payments/policies/basic-30`, { product_id: 1001, variant_id: 2001, tier: 'basic', duration_days: 30 });
  assert.equal(p.status, 201, p.text);
  if (vip) {
    const v = await admin.put(`${base}/payments/policies/pro-30`, { product_id: '1002', variant_id: '2003', tier: 'pro', duration_days: 30 });
    assert.equal(v.status, 201, v.text);
  }
  return pointSellapp(ctx, server, sellapp);
}

const signedUp = (ctx, e = email()) => signedUpAs(server, ctx, e, PASSWORD);

/** With SELLAPP_API_TOKEN set the worker re-reads the invoice, which is already paid when
 * order.created lands: whichever of the two events is decided first applies the order and the
 * other finds it applied. What must hold is one `applied` per order, never two. */
const results = (deliveries) => deliveries.map((d) => JSON.parse(d.response || '{}').result).sort();

const answers = (deliveries) => deliveries.map((d) => [d.event, d.status, JSON.parse(d.response || '{}').result ?? JSON.parse(d.response || '{}').error_code]);

describe('deliveries that must change nothing', () => {
  test('forged, unsigned and stale-secret deliveries are refused and record nothing', async () => {
    const ctx = await store();
    const c = await signedUp(ctx);
    for (const signing of ['forged', 'unsigned', 'stale']) {
      const r = await sellapp.control('purchase', { email: c.email, variant_id: 2001, signing });
      assert.deepEqual(answers(r.deliveries).map((a) => a[1]), [401, 401], signing);
    }
    assert.deepEqual(await ctx.events(), []);
    const d = await ctx.customer(c.id);
    assert.deepEqual(d.entitlements, []);
    assert.equal(d.access, null);
  });

  test('a tenant without a webhook secret refuses every delivery (fail closed)', async () => {
    const ctx = await store({ secret: null });
    const c = await signedUp(ctx);
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2001 });
    assert.deepEqual(answers(r.deliveries), [
      ['order.created', 503, 'webhook_secret_missing'],
      ['order.completed', 503, 'webhook_secret_missing'],
    ]);
    assert.deepEqual((await ctx.customer(c.id)).entitlements, []);
    const info = await ctx.admin.get(`${ctx.base}/payments/webhook-secret`);
    assert.deepEqual(info.json.webhook_secret, { configured: false });
  });

  test('a replayed delivery answers deduped and grants once; the secret is never shown', async () => {
    const ctx = await store();
    const c = await signedUp(ctx);
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2001 });
    assert.deepEqual(results(r.deliveries), ['applied', 'ignored']);
    const again = await sellapp.control(`invoices/${r.invoice.id}/send`, { event: 'order.completed' });
    assert.deepEqual(answers(again.deliveries), [['order.completed', 200, 'deduped']]);
    const d = await ctx.customer(c.id);
    assert.equal(d.entitlements.length, 1);
    assert.equal(d.entitlements[0].source, 'sellapp');
    assert.equal(d.entitlements[0].reference, String(r.invoice.id));
    assert.equal(d.access.tier.key, 'basic');
    const info = await ctx.admin.get(`${ctx.base}/payments/webhook-secret`);
    assert.equal(info.json.webhook_secret.configured, true);
    assert.ok(!info.text.includes(sellapp.seed.webhook_secret));
  });
});

describe('from an order to access', () => {
  test('order.completed before order.created works', async () => {
    const ctx = await store();
    const c = await signedUp(ctx);
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2001, reorder: true });
    assert.deepEqual(answers(r.deliveries), [['order.completed', 200, 'applied'], ['order.created', 200, 'ignored']]);
    const d = await ctx.customer(c.id);
    assert.equal(d.access.tier.key, 'basic');
    assert.equal(d.entitlements.length, 1);
  });

  test('duplicate deliveries apply once', async () => {
    const ctx = await store();
    const c = await signedUp(ctx);
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2001, duplicate: 3 });
    assert.equal(r.deliveries.length, 6);
    assert.ok(r.deliveries.every((d) => d.status === 200));
    assert.deepEqual(results(r.deliveries), ['applied', 'deduped', 'deduped', 'deduped', 'deduped', 'ignored']);
    const d = await ctx.customer(c.id);
    assert.equal(d.entitlements.length, 1);
    assert.equal(d.entitlements[0].ends_at_ms - d.entitlements[0].starts_at_ms, 30 * 86_400_000);
    const events = await ctx.events();
    assert.equal(events.length, 2);
  });

  test('an unknown product is unmatched; a policy and a replay apply it', async () => {
    const ctx = await store({ vip: false });
    const c = await signedUp(ctx);
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2003 });
    assert.deepEqual(answers(r.deliveries).map((a) => a[2]), ['unmatched', 'unmatched']);
    const unmatched = await ctx.events('?outcome=unmatched');
    assert.deepEqual(unmatched.map((e) => e.reason), ['no_policy', 'no_policy']);
    assert.equal((await ctx.customer(c.id)).access, null);
    // A bad policy is refused with the field named, and nothing is written.
    const bad = await ctx.admin.put(`${ctx.base}/payments/policies/pro-30`, { product_id: 1002, variant_id: 2003, tier: 'pro', duration_days: 0 });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.details.map((x) => x.field), ['duration_days']);
    const dup = await ctx.admin.put(`${ctx.base}/payments/policies/other`, { product_id: 1001, variant_id: 2001, tier: 'pro', duration_days: 5 });
    assert.equal(dup.status, 400, dup.text);
    assert.equal((await ctx.admin.get(`${ctx.base}/payments/policies`)).json.policies.length, 1);
    const p = await ctx.admin.put(`${ctx.base}/payments/policies/pro-30`, { product_id: 1002, variant_id: 2003, tier: 'pro', duration_days: 30 });
    assert.equal(p.status, 201, p.text);
    const replay = await ctx.admin.post(`${ctx.base}/payments/events/replay`, { reason: 'policy added' });
    assert.equal(replay.status, 200, replay.text);
    assert.deepEqual(replay.json.replayed.map((x) => x.before), ['unmatched', 'unmatched']);
    assert.deepEqual(replay.json.replayed.map((x) => x.outcome).sort(), ['applied', 'ignored']);
    const ev = replay.json.replayed.find((x) => x.outcome === 'applied');
    assert.equal((await ctx.customer(c.id)).entitlements.length, 1);
    assert.equal((await ctx.customer(c.id)).access.tier.key, 'pro');
    // Applied now: a second replay is refused rather than re-deciding it.
    const again = await ctx.admin.post(`${ctx.base}/payments/events/${ev.event_id}/replay`, {});
    assert.equal(again.json.error_code, 'event_not_replayable');
    assert.deepEqual(await ctx.events('?outcome=unmatched,failed'), []);
    assert.equal((await ctx.admin.get(`${ctx.base}/payments/events?outcome=nope`)).status, 400);
  });

  test('an order before signup is applied at signup', async () => {
    const ctx = await store();
    const e = email('early');
    const r = await sellapp.control('purchase', { email: e.toUpperCase(), variant_id: 2001 });
    assert.deepEqual(answers(r.deliveries).map((a) => a[2]), ['unmatched', 'unmatched']);
    const held = await ctx.events('?outcome=unmatched');
    assert.deepEqual(held.map((e) => e.reason), ['no_account_yet', 'no_account_yet']);
    const c = await signedUp(ctx, e);
    const d = await ctx.customer(c.id);
    assert.equal(d.access?.tier.key, 'basic');
    assert.equal(d.entitlements[0].reference, String(r.invoice.id));
    // Applied once: a late redelivery of that order changes nothing.
    const late = await sellapp.control(`invoices/${r.invoice.id}/send`, { event: 'order.completed' });
    assert.deepEqual(answers(late.deliveries), [['order.completed', 200, 'deduped']]);
    assert.equal((await ctx.customer(c.id)).entitlements.length, 1);
  });

  test('a dispute revokes the order at once and flags the customer', async () => {
    const ctx = await store();
    const c = await signedUp(ctx);
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2001 });
    assert.equal((await ctx.customer(c.id)).access.tier.key, 'basic');
    const dispute = await sellapp.control(`invoices/${r.invoice.id}/status`, { status: 'DISPUTED' });
    assert.deepEqual(answers(dispute.deliveries), [['order.disputed', 200, 'applied']]);
    const d = await ctx.customer(c.id);
    assert.equal(d.access, null);
    assert.equal(d.entitlements[0].status, 'revoked');
    const actions = d.history.map((h) => h.action);
    assert.ok(actions.includes('entitlement_revoked') && actions.includes('customer_flagged'), actions.join());
  });

  test("a paying customer's feed ticket widens to the tier's channels", async () => {
    const ctx = await store();
    const c = await signedUp(ctx);
    assert.equal((await c.ticket()).json.error_code, 'no_access');
    await sellapp.control('purchase', { email: c.email, variant_id: 2001 });
    assert.deepEqual((await c.ticket()).json.channels, [CH_BASIC]);
    await sellapp.control('purchase', { email: c.email, variant_id: 2003 });
    assert.deepEqual((await c.ticket()).json.channels.sort(), [CH_BASIC, CH_PRO].sort());
  });

  test('a trial applies once per customer', async () => {
    const ctx = await store();
    const t = await ctx.admin.put(`${ctx.base}/payments/policies/trial-3`, { product_id: 1003, variant_id: 2004, tier: 'basic', duration_days: 3, trial: true });
    assert.equal(t.status, 201, t.text);
    const c = await signedUp(ctx);
    const first = await sellapp.control('purchase', { email: c.email, variant_id: 2004 });
    assert.deepEqual(results(first.deliveries), ['applied', 'ignored']);
    const second = await sellapp.control('purchase', { email: c.email, variant_id: 2004 });
    assert.deepEqual(results(second.deliveries), ['ignored', 'ignored']);
    const reasons = (await ctx.events('?outcome=ignored')).filter((e) => e.order_id === String(second.invoice.id)).map((e) => e.reason);
    assert.deepEqual(reasons, ['trial_already_used', 'trial_already_used']);
    const d = await ctx.customer(c.id);
    assert.equal(d.entitlements.length, 1);
    assert.equal(d.entitlements[0].ends_at_ms - d.entitlements[0].starts_at_ms, 3 * 86_400_000);
  });

  test('our fault answers 503 and is kept as failed; the redelivery applies it', async () => {
    const ctx = await store();
    const c = await signedUp(ctx);
    // The worker's API token no longer works: the invoice re-read fails (our side).
    await sellapp.control('config', { api_token: 'rotated-elsewhere' });
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2001 });
    assert.deepEqual(answers(r.deliveries).map((a) => [a[1], a[2]]), [[503, 'failed'], [503, 'failed']]);
    const failed = await ctx.events('?outcome=failed');
    assert.equal(failed.length, 2);
    assert.ok(failed.every((e) => /invoice re-read/.test(e.error)), JSON.stringify(failed));
    assert.deepEqual((await ctx.customer(c.id)).entitlements, []);
    await sellapp.control('config', { api_token: sellapp.seed.api_token });
    const again = await sellapp.control(`invoices/${r.invoice.id}/send`, { event: 'order.completed' });
    assert.deepEqual(answers(again.deliveries), [['order.completed', 200, 'applied']]);
    const [ev] = (await ctx.events()).filter((e) => e.event === 'order.completed');
    assert.equal(ev.attempts, 2);
    assert.equal((await ctx.customer(c.id)).access.tier.key, 'basic');
  });
});
