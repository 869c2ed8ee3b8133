// Shop and reconciliation (issue 13, second part), against the real worker and the fake
// Sell.app: refunds and disputes found by the scheduled reconciliation revoke and flag; another
// store's webhooks are ignored and recorded; an option whose policy is disabled or missing is
// not published; the storefront personalises checkout links and hides a used trial; the
// checkout-return state follows the webhook; sales figures come from our own ledger.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { pointSellapp, signedUp as signedUpAs, tenantWithTiers } from '../../harness/sellapp.mjs';

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

/** A tenant selling basic 30 days (variant 2001), basic 90 days (2002), pro 30 days (2003)
 * and a 3-day basic trial (2004), its webhook pointed at by the fake. */
async function store({ storeId = null } = {}) {
  const ctx = await tenantWithTiers(server);
  const { admin, base } = ctx;
  const s = await admin.put(`${base}/payments/webhook-secret`, { secret: sellapp.seed.webhook_secret, reason: 'setup' });
  assert.equal(s.status, 200, s.text);
  for (const [id, product, variant, tier, days, trial] of [
    ['basic-30', 1001, 2001, 'basic', 30, false],
    ['basic-90', 1001, 2002, 'basic', 90, false],
    ['pro-30', 1002, 2003, 'pro', 30, false],
    ['trial-3', 1003, 2004, 'basic', 3, true],
  ]) {
    const p = await admin.put(`${base}/payments/policies/${id}`, { product_id: product, variant_id: variant, tier, duration_days: days, trial });
    assert.equal(p.status, 201, p.text);
  }
  if (storeId !== null) {
    const r = await admin.put(`${base}/payments/store`, { store_id: storeId, reason: 'setup' });
    assert.equal(r.status, 200, r.text);
  }
  return pointSellapp(ctx, server, sellapp);
}

const signedUp = (ctx, e = email()) => signedUpAs(server, ctx, e, PASSWORD);

/** A GET outside the account prefix with the customer's session cookie. */
async function shopGet(c, path) {
  const r = await fetch(`${server.baseUrl}${path}`, { headers: c.cookie ? { cookie: c.cookie } : {} });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

async function cron() {
  const r = await fetch(`${server.baseUrl}/__scheduled?cron=17+*+*+*+*`);
  assert.equal(r.status, 200);
}

const checkout = (variant) => `${sellapp.seed.checkout_url}/${variant}`;

function catalog({ policy = 'basic-30', active = true } = {}) {
  return {
    cards: [
      { tier: 'basic', title: 'Basic signals', subtitle: 'Everything to start', badge: 'Popular', description: 'All basic channels.', order: 1, active: true },
      { tier: 'pro', title: 'Pro signals', description: 'Every channel.', order: 2, active: true },
    ],
    options: [
      { id: 'basic-30', tier: 'basic', policy_id: policy, duration_days: 30, display_price: '$29', highlights: ['All basic channels'], featured: true, checkout_url: checkout(2001), active },
      { id: 'basic-trial', tier: 'basic', policy_id: 'trial-3', duration_days: 3, display_price: 'Free', highlights: [], checkout_url: checkout(2004), active: true },
      { id: 'pro-30', tier: 'pro', policy_id: 'pro-30', duration_days: 30, display_price: '$99', highlights: ['Every channel'], checkout_url: checkout(2003), active: true },
    ],
    reason: 'setup',
  };
}

describe('reconciliation', () => {
  test('a refund found by reconciliation revokes the order and flags the customer', async () => {
    const ctx = await store();
    const c = await signedUp(ctx);
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2001 });
    assert.equal((await ctx.customer(c.id)).access.tier.key, 'basic');
    // Sell.app announces no refund: only its API shows it.
    const refund = await sellapp.control(`invoices/${r.invoice.id}/status`, { status: 'REFUNDED' });
    assert.deepEqual(refund.deliveries, []);
    assert.equal((await ctx.customer(c.id)).access.tier.key, 'basic', 'nothing changed before the cron');
    await cron();
    const d = await ctx.customer(c.id);
    assert.equal(d.access, null);
    assert.equal(d.entitlements[0].status, 'revoked');
    const flags = (await ctx.admin.get(`${ctx.base}/payments/flags`)).json.flags;
    assert.deepEqual(flags.map((f) => [f.email, f.reason, f.order_id]), [[c.email, 'refund', String(r.invoice.id)]]);
    const rec = (await ctx.events()).filter((e) => e.event === 'reconcile:refunded');
    assert.deepEqual(rec.map((e) => [e.order_id, e.outcome]), [[String(r.invoice.id), 'applied']]);
    const status = (await ctx.admin.get(`${ctx.base}/payments/reconciliation`)).json.reconciliation;
    assert.equal(status.state, 'on');
    assert.equal(status.last_run.error, null);
    assert.ok(status.last_run.revoked >= 1, JSON.stringify(status));
    // Decided once: the next run finds the same status and changes nothing.
    await cron();
    assert.equal((await ctx.events()).filter((e) => e.event === 'reconcile:refunded').length, 1);
    assert.equal((await ctx.admin.get(`${ctx.base}/payments/reconciliation`)).json.reconciliation.last_run.decided, 0);
  });

  test('a dispute seen only on the invoice revokes at the next run', async () => {
    const ctx = await store({ storeId: sellapp.seed.store_id });
    const c = await signedUp(ctx);
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2003 });
    assert.equal((await ctx.customer(c.id)).access.tier.key, 'pro');
    const dispute = await sellapp.control(`invoices/${r.invoice.id}/status`, { status: 'DISPUTED', notify: false });
    assert.deepEqual(dispute.deliveries, []);
    await cron();
    const d = await ctx.customer(c.id);
    assert.equal(d.access, null);
    const flags = (await ctx.admin.get(`${ctx.base}/payments/flags`)).json.flags;
    assert.deepEqual(flags.map((f) => f.reason), ['dispute']);
  });

  test('a completed order whose webhook never came is granted through the store', async () => {
    const ctx = await store({ storeId: sellapp.seed.store_id });
    const c = await signedUp(ctx);
    await sellapp.control('config', { target_url: 'http://127.0.0.1:9/nowhere' });
    await sellapp.control('purchase', { email: c.email, variant_id: 2001 });
    assert.equal((await ctx.customer(c.id)).access, null);
    await cron();
    assert.equal((await ctx.customer(c.id)).access?.tier.key, 'basic');
  });
});

describe('webhooks of another store', () => {
  test('are recorded as ignored with the reason, and grant nothing', async () => {
    const ctx = await store({ storeId: '999999' });
    const c = await signedUp(ctx);
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2001 });
    assert.deepEqual(r.deliveries.map((d) => [d.status, JSON.parse(d.response).reason]), [[200, 'other_store'], [200, 'other_store']]);
    const ev = await ctx.events();
    assert.deepEqual(ev.map((e) => [e.outcome, e.reason, e.store_id]), [
      ['ignored', 'other_store', String(sellapp.seed.store_id)],
      ['ignored', 'other_store', String(sellapp.seed.store_id)],
    ]);
    assert.equal(ev[0].detail.reason.expected, '999999');
    assert.deepEqual((await ctx.customer(c.id)).entitlements, []);
    // The right store applies.
    const fix = await ctx.admin.put(`${ctx.base}/payments/store`, { store_id: sellapp.seed.store_id });
    assert.equal(fix.json.store.store_id, String(sellapp.seed.store_id));
    const again = await sellapp.control('purchase', { email: c.email, variant_id: 2001 });
    assert.ok(again.deliveries.some((d) => JSON.parse(d.response).result === 'applied'));
    const bad = await ctx.admin.put(`${ctx.base}/payments/store`, { store_id: { x: 1 } });
    assert.equal(bad.status, 400);
  });
});

describe('the shop catalog', () => {
  test('an option whose policy is disabled or missing cannot be published', async () => {
    const ctx = await store();
    const off = await ctx.admin.put(`${ctx.base}/payments/policies/basic-30`, { product_id: 1001, variant_id: 2001, tier: 'basic', duration_days: 30, enabled: false });
    assert.equal(off.status, 200, off.text);
    const r = await ctx.admin.put(`${ctx.base}/payments/catalog`, catalog());
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error_code, 'option_not_publishable');
    assert.deepEqual(r.json.details.map((d) => d.field), ['options[0].policy_id']);
    const missing = await ctx.admin.put(`${ctx.base}/payments/catalog`, catalog({ policy: 'nope' }));
    assert.equal(missing.json.error_code, 'option_not_publishable');
    assert.match(missing.json.details[0].problem, /no policy nope/);
    // Nothing was written.
    const got = (await ctx.admin.get(`${ctx.base}/payments/catalog`)).json.catalog;
    assert.deepEqual([got.cards.length, got.options.length], [0, 0]);
    // As a draft it is fine; an http checkout URL on a public host never is.
    const draft = await ctx.admin.put(`${ctx.base}/payments/catalog`, catalog({ active: false }));
    assert.equal(draft.status, 200, draft.text);
    const plain = catalog({ active: false });
    plain.options[2].checkout_url = 'http://shop.example.com/pro';
    const insecure = await ctx.admin.put(`${ctx.base}/payments/catalog`, plain);
    assert.equal(insecure.json.error_code, 'catalog_invalid');
    assert.deepEqual(insecure.json.details.map((d) => d.field), ['options[2].checkout_url']);
  });

  test('the storefront shows what is on sale, with the customer’s checkout link; a used trial is hidden', async () => {
    const ctx = await store();
    const put = await ctx.admin.put(`${ctx.base}/payments/catalog`, catalog());
    assert.equal(put.status, 200, put.text);
    const anon = await fetch(`${server.baseUrl}/v1/shop/${ctx.tenant}`).then((r) => r.json());
    assert.deepEqual(anon.cards.map((c) => [c.tier, c.options.map((o) => [o.id, o.trial, o.checkout_url])]), [
      ['basic', [['basic-trial', true, null], ['basic-30', false, null]]],
      ['pro', [['pro-30', false, null]]],
    ]);
    const c = await signedUp(ctx);
    const mine = (await shopGet(c, `/v1/shop/${ctx.tenant}`)).json;
    const link = new URL(mine.cards[0].options[1].checkout_url);
    assert.equal(link.searchParams.get('email'), c.email);
    assert.equal(link.searchParams.get('return_url'), `${server.baseUrl}/t/${ctx.tenant}/shop/return/`);
    assert.equal(mine.customer.trial_used, false);
    await sellapp.control('purchase', { email: c.email, variant_id: 2004 });
    const after = (await shopGet(c, `/v1/shop/${ctx.tenant}`)).json;
    assert.equal(after.customer.trial_used, true);
    assert.deepEqual(after.cards[0].options.map((o) => o.id), ['basic-30']);
    // A policy disabled after publishing hides its option and shows a warning to operators.
    await ctx.admin.put(`${ctx.base}/payments/policies/pro-30`, { product_id: 1002, variant_id: 2003, tier: 'pro', duration_days: 30, enabled: false });
    const later = (await shopGet(c, `/v1/shop/${ctx.tenant}`)).json;
    assert.deepEqual(later.cards.map((x) => x.tier), ['basic']);
    const warn = (await ctx.admin.get(`${ctx.base}/payments/catalog`)).json.warnings;
    assert.deepEqual(warn.map((w) => w.field), ['options[2].policy_id']);
  });

  test('the order state follows the webhook, and another customer cannot read it', async () => {
    const ctx = await store();
    const c = await signedUp(ctx);
    const before = await shopGet(c, `/v1/shop/${ctx.tenant}/orders/123456789`);
    assert.equal(before.json.order.checkout.state, 'pending');
    const r = await sellapp.control('purchase', { email: c.email, variant_id: 2001 });
    const s = await shopGet(c, `/v1/shop/${ctx.tenant}/orders/${r.invoice.id}`);
    assert.equal(s.status, 200, s.text);
    assert.deepEqual([s.json.order.checkout.state, s.json.order.tier], ['active', 'basic']);
    const other = await signedUp(ctx);
    assert.equal((await shopGet(other, `/v1/shop/${ctx.tenant}/orders/${r.invoice.id}`)).json.error_code, 'order_not_found');
    const anon = await fetch(`${server.baseUrl}/v1/shop/${ctx.tenant}/orders/${r.invoice.id}`);
    assert.equal(anon.status, 401);
    await sellapp.control(`invoices/${r.invoice.id}/status`, { status: 'REFUNDED' });
    await cron();
    const refunded = await shopGet(c, `/v1/shop/${ctx.tenant}/orders/${r.invoice.id}`);
    assert.deepEqual(refunded.json.order.checkout, { state: 'failed', reason: 'refunded' });
  });
});

describe('sales figures', () => {
  test('sales, revenue, renewals, new customers, trials and top options from our ledger', async () => {
    const ctx = await store();
    const a = await signedUp(ctx);
    const b = await signedUp(ctx);
    await sellapp.control('purchase', { email: a.email, variant_id: 2001 }); // 29.00, new
    await sellapp.control('purchase', { email: a.email, variant_id: 2001 }); // 29.00, renewal
    await sellapp.control('purchase', { email: b.email, variant_id: 2004 }); // trial, new
    await sellapp.control('purchase', { email: b.email, variant_id: 2003 }); // 99.00
    const refunded = await sellapp.control('purchase', { email: b.email, variant_id: 2002 }); // 79.00, refunded
    await sellapp.control(`invoices/${refunded.invoice.id}/status`, { status: 'REFUNDED' });
    await cron();
    const r = await ctx.admin.get(`${ctx.base}/payments/sales`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.sales.map((w) => w.days), [7, 30, 90]);
    for (const w of r.json.sales) {
      assert.deepEqual(
        [w.sales, w.renewals, w.new_customers, w.trials, w.revoked, w.revenue],
        [4, 1, 2, 1, 1, { USD: 2900 + 2900 + 9900 }],
        JSON.stringify(w),
      );
      assert.deepEqual(w.top_options.map((o) => [o.option, o.sales]), [['2001', 2], ['2003', 1], ['2002', 1]]);
    }
    assert.equal(r.json.option_labels['2001'], 'basic · 30 days');
  });
});
