// The shop end to end in a browser, against the real worker and the fake Sell.app: a customer
// opens the tenant's shop, picks a plan, pays on the (fake) Sell.app checkout with their email
// prefilled, comes back to the checkout-return page, which shows "pending" until the webhook
// lands and then "active", and lands on the dashboard showing the tier's signals. Also the
// trial label hidden once used, and the operator's payments console. Screenshots in
// test-results/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { ingest, message, provision, snowflake } from '../../harness/client.mjs';
import { ensureUiBuilt, launch, poll, screenshot, unlabelled } from '../../harness/browser.mjs';

const GUILD = '1300000000000000000';
const CH_BASIC = snowflake();
const PASSWORD = 'correct horse battery staple';
let stack;
let server;
let sellapp;
let ctx;
let chrome;
let page;
const email = `shopper-${Date.now()}@example.com`;
const prefix = () => `${server.baseUrl}/t/${ctx.tenant}`;

async function admin(method, path, body) {
  const r = await ctx.admin.request(method, `/v1/admin/tenants/${ctx.tenant}${path}`, { body });
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

before(async () => {
  ensureUiBuilt();
  stack = await startStack({ services: ['fake-sellapp'] });
  server = stack.server;
  sellapp = stack.services['fake-sellapp'];
  ctx = await provision(server, { tenant: 'shopdesk', connector: 'conn_shop' });
  const sync = await ctx.api.post('/ingest/channel-guild-sync', {
    connector_id: ctx.connector,
    tenant_key: ctx.tenant,
    guilds: [{ discord_guild_id: GUILD, name: 'Trading Desk' }],
    channels: [{ discord_channel_id: CH_BASIC, guild_id: GUILD, name: 'btc-calls', type: 0, position: 1 }],
  });
  assert.equal(sync.status, 200, sync.text);
  await admin('PUT', `/connectors/${ctx.connector}/sources/${CH_BASIC}`, { guild_id: GUILD, is_source: true });
  await admin('POST', '/tiers', { key: 'basic', name: 'Basic', rank: 1 });
  await admin('POST', '/tiers', { key: 'pro', name: 'Pro', rank: 3 });
  await admin('PUT', `/channel-visibility/${CH_BASIC}`, { min_tier: 'basic' });
  await admin('PUT', '/payments/webhook-secret', { secret: sellapp.seed.webhook_secret });
  await admin('PUT', '/payments/store', { store_id: sellapp.seed.store_id });
  await admin('PUT', '/payments/policies/basic-30', { product_id: 1001, variant_id: 2001, tier: 'basic', duration_days: 30 });
  await admin('PUT', '/payments/policies/basic-90', { product_id: 1001, variant_id: 2002, tier: 'basic', duration_days: 90 });
  await admin('PUT', '/payments/policies/pro-30', { product_id: 1002, variant_id: 2003, tier: 'pro', duration_days: 30 });
  await admin('PUT', '/payments/policies/trial-3', { product_id: 1003, variant_id: 2004, tier: 'basic', duration_days: 3, trial: true });
  const co = (v) => `${sellapp.seed.checkout_url}/${v}`;
  await admin('PUT', '/payments/catalog', {
    cards: [
      { tier: 'basic', title: 'Basic', subtitle: 'Every crypto call', badge: 'Most popular', description: 'Entries, stops and targets from the desk, live.', order: 1, active: true },
      { tier: 'pro', title: 'Pro', subtitle: 'Basic plus the scalps', description: 'Short-term setups and the desk’s private notes.', order: 2, active: true },
    ],
    options: [
      { id: 'basic-trial', tier: 'basic', policy_id: 'trial-3', duration_days: 3, display_price: 'Free', highlights: ['No card needed'], checkout_url: co(2004), active: true },
      { id: 'basic-30', tier: 'basic', policy_id: 'basic-30', duration_days: 30, display_price: '$29', highlights: ['All basic channels'], checkout_url: co(2001), active: true },
      { id: 'basic-90', tier: 'basic', policy_id: 'basic-90', duration_days: 90, display_price: '$79', highlights: ['Save 10%'], featured: true, checkout_url: co(2002), active: true },
      { id: 'pro-30', tier: 'pro', policy_id: 'pro-30', duration_days: 30, display_price: '$99', highlights: ['Everything in Basic', 'Scalps'], checkout_url: co(2003), active: true },
    ],
  });
  await sellapp.control('reset');
  const text = '**BTCUSDT** long 64,200 · SL 63,100 · TP 66,000';
  await ingest(ctx, [message(ctx, { discord_guild_id: GUILD, discord_channel_id: CH_BASIC, content_raw: text, content_clean: text })]);
  chrome = await launch();
  page = await chrome.newPage();
});

after(async () => {
  await chrome?.close();
  await stack?.stop();
});

test('a visitor sees the plans and is asked to log in to buy', async () => {
  await page.goto(`${prefix()}/shop/`);
  await page.waitForSelector('#shop');
  assert.deepEqual(await page.$$eval('.shop-card', (c) => c.map((x) => x.dataset.tier)), ['basic', 'pro']);
  assert.ok(await page.isVisible('#shop-signin'));
  assert.deepEqual(await page.$$eval('.shop-card[data-tier="basic"] .buy', (b) => b.map((x) => x.textContent)), ['Log in to buy', 'Log in to buy', 'Log in to buy']);
  await screenshot(page, 'shop-visitor');
});

test('a customer buys on the shop; the return page turns active as the webhook lands; the dashboard shows the signals', async () => {
  await page.goto(`${prefix()}/signup/`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button[type="submit"]');
  // The card is in the page before the account's access has loaded into it.
  await page.waitForSelector('#subscription .sub-status[data-status="none"]');
  assert.match(await page.textContent('#subscription'), /No active subscription/);

  await page.click('#subscription a:has-text("See plans")');
  await page.waitForSelector('#shop-who');
  assert.match(await page.textContent('#shop-who'), new RegExp(email.replace(/[.+]/g, '\\$&')));
  assert.equal(await page.isVisible('.shop-option[data-option="basic-trial"] .trial-label'), true, 'trial labelled before it is used');
  assert.deepEqual(await unlabelled(page), []);
  await screenshot(page, 'shop-signed-in');

  // Sell.app's webhook is held back (the target is unreachable) so the return page is seen
  // waiting; the redelivery below is what turns it active.
  await sellapp.control('config', { target_url: 'http://127.0.0.1:9/unreachable' });
  await page.click('.shop-option[data-option="basic-30"] .buy');
  await page.waitForSelector('input[name="email"]');
  assert.equal(new URL(page.url()).origin, new URL(sellapp.seed.base_url).origin, 'checkout opens on Sell.app');
  assert.equal(await page.inputValue('input[name="email"]'), email, 'the email is prefilled');
  await page.click('button[type="submit"]');
  await page.waitForSelector('.checkout-return[data-state="pending"]');
  assert.match(new URL(page.url()).pathname, /\/t\/shopdesk\/shop\/return\/$/);
  const invoice = new URL(page.url()).searchParams.get('invoice');
  assert.ok(invoice);
  assert.match(await page.textContent('#return-title'), /Waiting for the payment/);
  await screenshot(page, 'shop-return-pending');

  // The page leaves for the dashboard shortly after it turns active: record every state it
  // shows rather than racing to see one.
  await page.evaluate(() => {
    window.__states = [];
    const box = document.querySelector('.checkout-return');
    new MutationObserver(() => window.__states.push(box.dataset.state)).observe(box, { attributes: true, attributeFilter: ['data-state'] });
  });
  await sellapp.control('config', { target_url: `${server.baseUrl}/webhooks/sellapp/${ctx.tenant}` });
  const sent = await sellapp.control(`invoices/${invoice}/send`, { event: 'order.completed' });
  assert.deepEqual(sent.deliveries.map((d) => [d.status, JSON.parse(d.response).result]), [[200, 'applied']]);
  try {
    await page.waitForSelector('.checkout-return[data-state="active"]', { timeout: 5000 });
    await screenshot(page, 'shop-return-active');
  } catch { /* already on the dashboard: the recorded states below say what it showed */ }

  await page.waitForSelector('#signals li', { timeout: 20_000 });
  await page.waitForSelector('#subscription .tier[data-tier="basic"]');
  assert.equal(new URL(page.url()).pathname, '/t/shopdesk/');
  assert.deepEqual(await page.evaluate(() => window.__states), ['active'], 'pending, then active, then the dashboard');
  assert.match(await page.textContent('#subscription'), /Basic/);
  assert.match(await page.textContent('#signals'), /BTCUSDT/);
  await screenshot(page, 'shop-dashboard-after-purchase');
  assert.deepEqual(page.errors, []);
});

test('a used trial is no longer offered, and a failed payment says so', async () => {
  await sellapp.control('config', { target_url: `${server.baseUrl}/webhooks/sellapp/${ctx.tenant}` });
  const trial = await sellapp.control('purchase', { email, variant_id: 2004 });
  assert.ok(trial.deliveries.some((d) => JSON.parse(d.response).result === 'applied'));
  await page.goto(`${prefix()}/shop/`);
  await page.waitForSelector('#shop-who');
  assert.equal(await page.$$eval('.shop-option[data-option="basic-trial"]', (x) => x.length), 0);
  assert.equal(await page.$$eval('.trial-label', (x) => x.length), 0);

  const refunded = await sellapp.control('purchase', { email, variant_id: 2003 });
  await sellapp.control(`invoices/${refunded.invoice.id}/status`, { status: 'REFUNDED' });
  const cron = await fetch(`${server.baseUrl}/__scheduled?cron=17+*+*+*+*`);
  assert.equal(cron.status, 200);
  await page.goto(`${prefix()}/shop/return/?invoice=${refunded.invoice.id}`);
  await page.waitForSelector('.checkout-return[data-state="failed"]');
  assert.match(await page.textContent('#return-title'), /did not go through/);
  await screenshot(page, 'shop-return-failed');
});

test('the operator sees events, flags, reconciliation and sales in the payments console', async () => {
  const op = await chrome.newPage();
  await op.goto(`${server.baseUrl}/admin/`);
  await op.fill('input[name="admin-token"]', server.adminToken);
  await op.click('form.signin button[type="submit"]');
  await op.waitForSelector('[data-view="tenants"]');
  await op.goto(`${server.baseUrl}/admin/#/t/${ctx.tenant}/payments`);
  await op.waitForSelector('[data-view="payments"][data-loaded="true"]');
  assert.equal(await op.getAttribute('#reconciliation-status', 'data-state'), 'on');
  await poll(async () => (await op.$$eval('[data-flag]', (r) => r.length)) === 1, { what: 'the refund flag' });
  assert.ok((await op.$$eval('tr[data-outcome="applied"]', (r) => r.length)) >= 2);
  assert.equal(await op.textContent('tr[data-days="7"] [data-k="sales"]'), '2');
  assert.equal(await op.textContent('tr[data-days="7"] [data-k="trials"]'), '1');
  assert.equal(await op.$$eval('[data-option]', (r) => r.length), 4);
  // An option linked to a disabled policy is refused with the field marked.
  await admin('PUT', '/payments/policies/pro-30', { product_id: 1002, variant_id: 2003, tier: 'pro', duration_days: 30, enabled: false });
  await op.reload();
  await op.waitForSelector('[data-view="payments"][data-loaded="true"]');
  await op.click('#save-catalog');
  await op.waitForSelector('[data-error-code="option_not_publishable"]');
  assert.equal(await op.getAttribute('[data-option="3"] [name="policy_id"]', 'aria-invalid'), 'true');
  await screenshot(op, 'admin-payments');
  assert.deepEqual(op.errors, []);
  await op.close();
});
