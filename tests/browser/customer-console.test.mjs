// The operator console's customer side against the real worker: plans and channel visibility,
// the customer list with search, one customer's grant / revoke / reset link / disable, each with
// a recorded reason shown in the history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../harness/worker.mjs';
import { Api, provision, snowflake } from '../../harness/client.mjs';
import { ensureUiBuilt, launch, poll, screenshot, texts, unlabelled } from '../../harness/browser.mjs';

const GUILD = '1300000000000000000';
const CH = snowflake();

let server;
let ctx;
let chrome;
let page;
const emails = [`dora-${Date.now()}@example.com`, `eve-${Date.now()}@example.com`];

before(async () => {
  ensureUiBuilt();
  server = await startServer();
  ctx = await provision(server, { tenant: 'cons', connector: 'conn_cons' });
  const sync = await ctx.api.post('/ingest/channel-guild-sync', {
    connector_id: ctx.connector,
    tenant_key: ctx.tenant,
    guilds: [{ discord_guild_id: GUILD, name: 'Desk' }],
    channels: [{ discord_channel_id: CH, guild_id: GUILD, name: 'btc-calls', type: 0, position: 1 }],
  });
  assert.equal(sync.status, 200, sync.text);
  const r = await ctx.admin.put(`/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}/sources/${CH}`, { guild_id: GUILD, is_source: true });
  assert.equal(r.status, 200, r.text);
  const anon = new Api(server.baseUrl);
  for (const email of emails) {
    const s = await anon.post(`/v1/account/${ctx.tenant}/signup`, { email, password: 'correct horse battery staple' }, { headers: { origin: server.baseUrl } });
    assert.equal(s.status, 202, s.text);
  }
  chrome = await launch();
  page = await chrome.newPage();
  await page.goto(`${server.baseUrl}/admin/`);
  await page.fill('input[type="password"]', server.adminToken);
  await page.click('button[type="submit"]');
  await page.waitForSelector('[data-view="tenants"]');
});

after(async () => {
  await chrome?.close();
  await server?.close();
});

test('plans: add, rename; a channel opens to a plan and above', async () => {
  await page.goto(`${server.baseUrl}/admin/#/t/${ctx.tenant}`);
  await page.click('a:has-text("Plans and visibility")');
  await page.waitForSelector('[data-view="plans"][data-loaded]');
  for (const [key, name, rank] of [['basic', 'Basic', '1'], ['pro', 'Pro', '3']]) {
    await page.fill('input[name="key"]', key);
    await page.fill('input[name="name"]', name);
    await page.fill('input[name="rank"]', rank);
    await page.click('button:has-text("Add plan")');
    await page.waitForSelector(`tr[data-tier="${key}"]`);
  }
  await page.fill('tr[data-tier="pro"] input[type="text"]', 'Pro Trader');
  const loads = Number(await page.getAttribute('[data-view="plans"]', 'data-loads'));
  await page.click('tr[data-tier="pro"] button:has-text("Save")');
  await page.waitForSelector(`[data-view="plans"][data-loads="${loads + 1}"]`);
  const tiers = await poll(async () => {
    const t = (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/tiers`)).json.tiers;
    return t.some((x) => x.name === 'Pro Trader') && t;
  }, { what: 'the rename saved' });
  assert.equal(await page.inputValue('tr[data-tier="pro"] input[type="text"]'), 'Pro Trader');
  assert.deepEqual(tiers.map((t) => [t.key, t.name, t.rank]), [['basic', 'Basic', 1], ['pro', 'Pro Trader', 3]]);

  const select = `tr[data-channel="${CH}"] select`;
  assert.equal(await page.inputValue(select), '', 'hidden by default');
  await page.selectOption(select, 'basic');
  await page.waitForSelector(`tr[data-channel="${CH}"] :text("saved")`);
  const vis = (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/channel-visibility`)).json.channels;
  assert.equal(vis.find((c) => c.channel_id === CH).min_tier, 'basic');
  assert.deepEqual(await unlabelled(page), []);
  await screenshot(page, 'console-plans');
});

test('customers: every account listed, searchable by email', async () => {
  await page.goto(`${server.baseUrl}/admin/#/t/${ctx.tenant}/customers`);
  await page.waitForSelector('[data-view="customers"][data-loaded]');
  assert.deepEqual((await texts(page, 'tbody tr td:first-child a')).sort(), [...emails].sort(), 'unpaid accounts too');
  await page.fill('input[name="q"]', 'dora');
  await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-customer]').length === 1);
  assert.deepEqual(await texts(page, 'tbody tr td:first-child a'), [emails[0]]);
  assert.deepEqual(await unlabelled(page), []);
});

test('a customer: grant, revoke, reset link and disable, each recorded with its reason', async () => {
  await page.click(`a:has-text("${emails[0]}")`);
  await page.waitForSelector('[data-view="customer"][data-loaded]');
  assert.equal(await page.textContent('#customer-title'), emails[0]);

  await page.click('button:has-text("Grant")');
  await page.waitForSelector('.error-box[data-error-code="reason_required"]');

  await page.fill('input[name="reason"]', 'welcome trial');
  await page.selectOption('select[name="tier"]', 'basic');
  await page.fill('input[name="days"]', '7');
  await page.click('button:has-text("Grant")');
  await page.waitForSelector('tr[data-status="active"]');
  assert.match(await page.textContent('#summary-title + *, .details'), /Basic/);

  await page.fill('input[name="reason"]', 'refund');
  await page.click('tr[data-status="active"] button:has-text("Revoke")');
  await page.waitForSelector('tr[data-status="revoked"]');

  await page.fill('input[name="reason"]', 'asked by email');
  await page.click('button:has-text("Issue reset link")');
  await page.waitForSelector('#reset-link');
  const url = await page.inputValue('#reset-link input');
  assert.match(url, new RegExp(`/t/${ctx.tenant}/reset/#token=`));

  await page.fill('input[name="reason"]', 'chargeback');
  await page.click('button:has-text("Disable account")');
  await page.waitForSelector('[data-status="disabled"]');

  const history = await texts(page, '#hist-title ~ * tbody tr, table[aria-labelledby="hist-title"] tbody tr');
  const joined = history.join('\n');
  for (const why of ['welcome trial', 'refund', 'asked by email', 'chargeback']) assert.match(joined, new RegExp(why), `history shows "${why}"`);
  assert.match(joined, /admin:[0-9a-f]{12}/, 'and which operator credential');
  assert.deepEqual(await unlabelled(page), []);
  await screenshot(page, 'console-customer');
  assert.deepEqual(page.errors, []);
});
