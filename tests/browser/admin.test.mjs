// The operator console against the real worker: sign-in, tenants, connectors and their token,
// available channels picked from discovery, mappings, connector controls, signals, live feed,
// items rejected by validation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../harness/worker.mjs';
import { Api, message, snowflake } from '../../harness/client.mjs';
import { ensureUiBuilt, launch, optionLabels, poll, screenshot, texts, unlabelled } from '../../harness/browser.mjs';

const TENANT = 'acme-ops';
const CONNECTOR = 'discord-main';
const GUILD = snowflake();
const SRC = snowflake();
const TGT = snowflake();
const OTHER = snowflake();
const CATEGORY = snowflake();

let server;
let chrome;
let page;
let admin;
let token;

before(async () => {
  ensureUiBuilt();
  server = await startServer();
  chrome = await launch();
  page = await chrome.newPage();
  admin = new Api(server.baseUrl, server.adminToken);
});

after(async () => {
  await chrome?.close();
  await server?.close();
});

const connectorPath = `/v1/admin/tenants/${TENANT}/connectors/${CONNECTOR}`;
const apiConnector = async () => (await admin.get(connectorPath)).json;
const configVersionShown = async () => Number((await page.textContent('#config-version')).replace(/^v/, ''));
/** The given keys of an object (API views may grow fields the tests do not care about). */
const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, o?.[k]]));
const SOURCE_KEYS = ['guild_id', 'channel_id', 'is_source', 'is_target', 'thread_mode', 'is_enabled'];
const runtimeConfig = (t) => new Api(server.baseUrl, t).get(`/connectors/${CONNECTOR}/runtime-config?tenant_key=${TENANT}`);

test('landing page links to the operator console and the dashboard', async () => {
  const res = await page.goto(`${server.baseUrl}/`);
  assert.match(res.headers()['content-security-policy'] ?? '', /script-src 'self'.*connect-src 'self'/, 'pages carry a strict CSP');
  assert.equal(res.headers()['x-content-type-options'], 'nosniff');
  const hrefs = await page.$$eval('nav a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(hrefs, ['/admin/', '/dashboard/']);
  await page.waitForSelector('#health[data-state="live"]');
  assert.equal(await page.textContent('#health .label'), 'API online');
  await screenshot(page, 'landing');
  await page.click('text=Operator console');
  await page.waitForURL(`${server.baseUrl}/admin/`);
});

test('operator signs in; a wrong token is refused inline', async () => {
  await page.waitForSelector('form.signin');
  assert.deepEqual(await unlabelled(page), []);
  await page.fill('input[name="admin-token"]', 'not-the-token');
  await page.click('form.signin button[type="submit"]');
  const err = await page.waitForSelector('.error-box[data-error-code="unauthorized"]');
  assert.match(await err.textContent(), /invalid admin token/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');

  await page.fill('input[name="admin-token"]', server.adminToken);
  await page.click('form.signin button[type="submit"]');
  await page.waitForSelector('[data-view="tenants"] table');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('signal-relay.admin-token')), server.adminToken);
  assert.ok(await page.isVisible('#signout'));
});

test('operator creates a tenant; a duplicate key shows the API error inline', async () => {
  await page.fill('input[name="tenant_key"]', TENANT);
  await page.fill('input[name="name"]', 'Acme Operations');
  await page.click('text=Create tenant');
  await page.waitForURL(/#\/t\/acme-ops$/);
  await page.waitForSelector('#tenant-title:has-text("Acme Operations")');
  assert.equal((await admin.get(`/v1/admin/tenants/${TENANT}`)).status, 200);

  await page.click('.crumbs a:has-text("Tenants")');
  const row = await page.waitForSelector(`tr[data-tenant="${TENANT}"]`);
  assert.match(await row.textContent(), /Acme Operations/);

  await page.fill('input[name="tenant_key"]', TENANT);
  await page.click('text=Create tenant');
  const err = await page.waitForSelector('.error-box[data-error-code="tenant_exists"]');
  assert.match(await err.textContent(), /a tenant with this key exists/);
  assert.match(page.url(), /#\/$|\/admin\/$/, 'stays on the tenants page');
});

test('creating a connector shows its token once, with a copy button and a warning', async () => {
  await page.click(`tr[data-tenant="${TENANT}"] a`);
  await page.waitForSelector('#connectors-title');
  await page.fill('input[name="connector_id"]', CONNECTOR);
  await page.fill('input[name="name"]', 'Main Discord');
  await page.click('text=Create connector');
  const reveal = await page.waitForSelector('.token-reveal');
  assert.match(await reveal.textContent(), /shown only once/);
  token = await page.inputValue('.token-reveal input.token-value');
  assert.ok(token.length >= 20, `token looks like a token: ${token}`);
  assert.equal((await runtimeConfig(token)).status, 200, 'the shown token authenticates the connector');

  await screenshot(page, 'admin-tenant-token');
  await page.click('.token-reveal >> text=Copy token');
  await page.waitForSelector('.token-reveal .copied:has-text("Copied")');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);

  const row = await page.waitForSelector(`tr[data-connector="${CONNECTOR}"]`);
  const cells = await row.$$eval('td', (tds) => tds.map((td) => td.textContent.trim()));
  assert.match(cells[0], /Main Discord/);
  assert.equal(cells[1], 'active');
  assert.match(cells[4], /^v\d+$/);

  await page.click('text=I have stored the token');
  assert.equal(await page.$('.token-reveal'), null);
  await page.reload();
  await page.waitForSelector(`tr[data-connector="${CONNECTOR}"]`);
  assert.ok(!(await page.content()).includes(token), 'the token is not shown again');
});

test('available channels are picked from discovered guilds and channels', async () => {
  // The connector reports what it can see (names for the pickers).
  const sync = await new Api(server.baseUrl, token).post('/ingest/channel-guild-sync', {
    connector_id: CONNECTOR,
    tenant_key: TENANT,
    idempotency_key: 'browser-discovery-1',
    guilds: [{ discord_guild_id: GUILD, name: 'Trading Desk' }],
    channels: [
      { discord_channel_id: CATEGORY, guild_id: GUILD, name: 'INFO', type: 4, position: 0 },
      { discord_channel_id: SRC, guild_id: GUILD, name: 'btc-signals', type: 0, parent_id: CATEGORY, position: 1 },
      { discord_channel_id: TGT, guild_id: GUILD, name: 'customer-mirror', type: 0, position: 2 },
      { discord_channel_id: OTHER, guild_id: GUILD, name: 'eth-signals', type: 0, position: 3 },
    ],
  });
  assert.equal(sync.status, 200, sync.text);

  await page.click(`tr[data-connector="${CONNECTOR}"] >> text=Manage`);
  await page.waitForSelector('[data-view="connector"][data-loaded]');
  const v0 = await configVersionShown();
  assert.equal(v0, (await apiConnector()).connector.config_version);

  // Fetch guilds: an unfiltered discovery request.
  await page.click('#fetch-guilds');
  await page.waitForSelector('#available-channels .notice:has-text("discovery request #1")');
  let d = (await apiConnector()).connector.discovery_request;
  assert.equal(d.version, 1);
  assert.equal(d.guild_id, null);

  assert.deepEqual(await optionLabels(page, '#guild-select'), [`Trading Desk (${GUILD})`]);
  await page.selectOption('#guild-select', GUILD);
  // Fetch channels: a request for that guild.
  await page.click('#fetch-channels');
  await page.waitForSelector('#available-channels .notice:has-text("discovery request #2")');
  d = (await apiConnector()).connector.discovery_request;
  assert.equal(d.version, 2);
  assert.equal(d.guild_id, GUILD);
  assert.equal((await apiConnector()).connector.config_version, v0, 'discovery requests do not bump config_version');

  assert.deepEqual(await optionLabels(page, '#channel-select'), [
    `#btc-signals (${SRC})`, `#customer-mirror (${TGT})`, `#eth-signals (${OTHER})`,
  ], 'postable channels of the guild, by position, categories left out');

  // btc-signals as a source (the default role).
  await page.selectOption('#channel-select', SRC);
  await page.click('#add-source');
  await page.waitForSelector(`tr[data-channel="${SRC}"]`);
  // customer-mirror as a target only.
  await page.selectOption('#channel-select', TGT);
  await page.uncheck('.add-source input[name="is_source"]');
  await page.check('.add-source input[name="is_target"]');
  await page.click('#add-source');
  await page.waitForSelector(`tr[data-channel="${TGT}"]`);
  // eth-signals as a disabled source.
  await page.selectOption('#channel-select', OTHER);
  await page.uncheck('.add-source input[name="is_enabled"]');
  await page.selectOption('.add-source select[name="thread_mode"]', 'exclude');
  await page.click('#add-source');
  await page.waitForSelector(`tr[data-channel="${OTHER}"]`);

  const { sources, connector } = await apiConnector();
  const byId = Object.fromEntries(sources.map((s) => [s.channel_id, s]));
  assert.deepEqual(pick(byId[SRC], SOURCE_KEYS), { guild_id: GUILD, channel_id: SRC, is_source: true, is_target: false, thread_mode: 'include', is_enabled: true });
  assert.deepEqual(pick(byId[TGT], SOURCE_KEYS), { guild_id: GUILD, channel_id: TGT, is_source: false, is_target: true, thread_mode: 'include', is_enabled: true });
  assert.deepEqual(pick(byId[OTHER], SOURCE_KEYS), { guild_id: GUILD, channel_id: OTHER, is_source: true, is_target: false, thread_mode: 'exclude', is_enabled: false });
  assert.ok(connector.config_version > v0, 'adding channels bumps config_version');
  assert.equal(await configVersionShown(), connector.config_version, 'the page shows the current config_version');

  const names = await texts(page, '#available-channels tbody .channel-name');
  assert.deepEqual(names, ['#btc-signals', '#customer-mirror', '#eth-signals']);
  assert.match(await page.textContent(`tr[data-channel="${SRC}"]`), /Trading Desk/);
});

test('the mapping editor offers only enabled sources and targets, and saves a mapping', async () => {
  assert.deepEqual(await optionLabels(page, '#mapping-source'), [`#btc-signals (${SRC})`],
    'only the enabled source channel (not the target, not the disabled source)');
  assert.deepEqual(await optionLabels(page, '#mapping-target'), [`#customer-mirror (${TGT})`]);

  const before = await configVersionShown();
  await page.selectOption('#mapping-source', SRC);
  await page.selectOption('#mapping-target', TGT);
  await page.fill('.add-mapping input[name="priority"]', '5');
  await page.click('#add-mapping');
  const row = await page.waitForSelector(`#mappings tr[data-source="${SRC}"][data-target="${TGT}"]`);
  assert.match(await row.textContent(), /#btc-signals.*#customer-mirror.*5.*active/s);

  const { mappings, connector } = await apiConnector();
  assert.equal(mappings.length, 1);
  assert.deepEqual(pick(mappings[0], ['source_channel_id', 'target_channel_id', 'filters_json', 'transform_json', 'priority']), { source_channel_id: SRC, target_channel_id: TGT, filters_json: {}, transform_json: {}, priority: 5 });
  assert.ok(connector.config_version > before, 'saving a mapping bumps config_version');
  await poll(async () => (await configVersionShown()) === connector.config_version, { what: 'config_version shown' });

  // Disabling the source channel removes it from the picker and marks the mapping inactive.
  await page.uncheck(`tr[data-channel="${SRC}"] input[name="is_enabled"]`);
  await poll(async () => (await optionLabels(page, '#mapping-source')).length === 0, { what: 'source picker emptied' });
  await page.waitForSelector(`#mappings tr[data-source="${SRC}"] .badge.warn:text-is("inactive")`);
  assert.equal((await apiConnector()).sources.find((s) => s.channel_id === SRC).is_enabled, false);
  await page.check(`tr[data-channel="${SRC}"] input[name="is_enabled"]`);
  await page.waitForSelector(`#mappings tr[data-source="${SRC}"] .badge.ok:text-is("active")`);
  assert.deepEqual(await optionLabels(page, '#mapping-source'), [`#btc-signals (${SRC})`]);
});

test('pause/resume, ingest/forward flags and token rotation', async () => {
  await page.click('#pause-toggle:has-text("Pause")');
  await page.waitForSelector('#connector-status [data-status="paused"]');
  assert.equal((await apiConnector()).connector.status, 'paused');
  await page.click('#pause-toggle:has-text("Resume")');
  await page.waitForSelector('#connector-status [data-status="active"]');
  assert.equal((await apiConnector()).connector.status, 'active');

  const before = await configVersionShown();
  await page.uncheck('input[name="ingest_enabled"]');
  await poll(async () => (await apiConnector()).connector.ingest_enabled === false, { what: 'ingest disabled' });
  await poll(async () => (await configVersionShown()) > before, { what: 'config_version bump shown' });
  await page.check('input[name="ingest_enabled"]');
  await poll(async () => (await apiConnector()).connector.ingest_enabled === true, { what: 'ingest enabled' });
  await page.uncheck('input[name="forward_enabled"]');
  await poll(async () => (await apiConnector()).connector.forward_enabled === false, { what: 'forward disabled' });
  await page.check('input[name="forward_enabled"]');
  await poll(async () => (await apiConnector()).connector.forward_enabled === true, { what: 'forward enabled' });

  page.once('dialog', (dialog) => dialog.accept());
  await page.click('#rotate-token');
  await page.waitForSelector('.token-reveal:has-text("previous token has stopped working")');
  const fresh = await page.inputValue('.token-reveal input.token-value');
  assert.notEqual(fresh, token);
  assert.equal((await runtimeConfig(token)).status, 401, 'the old token stopped working');
  assert.equal((await runtimeConfig(fresh)).status, 200, 'the new token works');
  assert.equal(await page.textContent('#token-hint'), (await apiConnector()).connector.token_hint);
  token = fresh;
  await page.click('text=I have stored the token');
});

test('recent signals and the live feed panel show ingested signals', async () => {
  await page.click('#live-toggle');
  await page.waitForSelector('#live-title ~ .status[data-state="live"]');
  const m = message({ tenant: TENANT, connector: CONNECTOR }, {
    discord_guild_id: GUILD, discord_channel_id: SRC, content_raw: 'ETH short 3200', content_clean: 'ETH short 3200',
  });
  const r = await new Api(server.baseUrl, token).post('/ingest/message-batch', {
    connector_id: CONNECTOR, tenant_key: TENANT, sent_at: new Date().toISOString(), batch_id: 'b1', messages: [m],
  });
  assert.equal(r.status, 200, r.text);
  const live = await page.waitForSelector(`#live-signals article[data-message-id="${m.discord_message_id}"]`);
  assert.match(await live.textContent(), /ETH short 3200/);
  assert.match(await live.textContent(), /#btc-signals/, 'channel names come from discovery');

  // The admin signals API reads the projection, which follows shortly.
  await poll(async () => {
    await page.click('#refresh-signals');
    return page.$(`#recent-signals article[data-message-id="${m.discord_message_id}"]`);
  }, { timeout: 15_000, interval: 500, what: 'signal in recent signals' });
  await screenshot(page, 'admin-connector');
  assert.deepEqual(await unlabelled(page), [], 'every control on the connector page has an accessible name');

  await page.click('#live-toggle');
  await page.waitForSelector('#live-title ~ .status[data-state="stopped"]');
});

test('the rejections panel lists what failed validation, with its key and the field at fault', async () => {
  await page.waitForSelector('#rejections-total:text-is("0")');
  assert.match(await page.textContent('#rejections-summary'), /Nothing rejected/);

  const ctx = { tenant: TENANT, connector: CONNECTOR };
  const good = message(ctx, { discord_guild_id: GUILD, discord_channel_id: SRC, content_raw: 'SOL long 140', content_clean: 'SOL long 140' });
  const bad = message(ctx, { discord_guild_id: GUILD, discord_channel_id: SRC, edited_at: 'not-a-time' });
  const r = await new Api(server.baseUrl, token).post('/ingest/message-batch', {
    connector_id: CONNECTOR, tenant_key: TENANT, sent_at: new Date().toISOString(), batch_id: 'b-rejections', messages: [good, bad],
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.accepted, 1, 'the valid message is stored');
  assert.deepEqual(r.json.rejected.map((x) => [x.index, x.idempotency_key]), [[1, bad.idempotency_key]]);

  await page.click('#refresh-page');
  await page.waitForSelector('#rejections-total:text-is("1")');
  const row = await page.waitForSelector(`#rejections tr[data-key="${bad.idempotency_key}"]`);
  const cells = await row.$$eval('td', (tds) => tds.map((td) => td.textContent.trim()));
  assert.match(cells[1], /message-batch · item 1/);
  assert.equal(cells[2], bad.idempotency_key);
  assert.match(cells[3], /edited_at/, 'the reason names the field');
  assert.match(await page.textContent('#rejections-summary'), /1 item rejected in total, the last/);
  assert.equal(await page.$(`#rejections tr[data-key="${good.idempotency_key}"]`), null, 'the valid message is not listed');
  await screenshot(page, 'admin-connector-rejections');
  assert.deepEqual(await unlabelled(page), []);
});

test('the console raised no page errors', () => {
  assert.deepEqual(page.errors, []);
});
