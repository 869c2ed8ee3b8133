// The operator console's catalog page and the connector page's target picker, against the real
// worker and the fake Discord: a refresh from the page, the guild's warnings, assigning it to a
// tenant, and picking a mapping target from the bot's channels (with what the bot lacks there
// said before saving).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { provision, snowflake } from '../../harness/client.mjs';
import { control } from '../../harness/discord.mjs';
import { ensureUiBuilt, launch, optionLabels, poll, screenshot, texts, unlabelled } from '../../harness/browser.mjs';

let stack, chrome, page, world, ctx;

before(async () => {
  ensureUiBuilt();
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
  const fake = stack.services['fake-discord'].url;
  const g = (await control(fake, 'GET', '/state')).guilds[0];
  world = { guild: g, channel: (n) => g.channels.find((c) => c.name === n) };
  ctx = await provision(stack.server, { tenant: 'acme' });
  const source = snowflake();
  const r = await ctx.admin.put(`/v1/admin/tenants/acme/connectors/${ctx.connector}/sources/${source}`,
    { guild_id: snowflake(), is_source: true, is_target: false });
  assert.equal(r.status, 200, r.text);
  ctx.source = source;
  chrome = await launch();
  page = await chrome.newPage();
});

after(async () => {
  await chrome?.close();
  await stack?.stop();
});

const text = (sel) => page.textContent(sel).then((t) => t.trim());

test('the catalog page refreshes, shows warnings, and assigns a guild to a tenant', async () => {
  await page.goto(`${stack.server.baseUrl}/admin/`);
  await page.fill('input[name="admin-token"]', stack.server.adminToken);
  await page.click('form.signin button[type="submit"]');
  await page.waitForSelector('[data-view="tenants"] table');
  await page.click('#catalog-link');
  await page.waitForSelector('[data-view="catalog"][data-loaded="true"]');
  assert.match(await text('#catalog-guilds tbody'), /No guilds yet/);
  assert.equal(await text('#catalog-gate-state'), 'sending');

  await page.click('#catalog-refresh');
  await poll(async () => (await page.$$('#catalog-guilds tr[data-guild]')).length === 1, { timeout: 60_000, what: 'the guild after a refresh' });
  await poll(async () => (await text('#catalog-refresh-badge')) === 'idle', { timeout: 60_000, what: 'the refresh to end' });
  assert.match(await text('#catalog-refresh-detail'), /completed, 1 guild/);
  const row = `#catalog-guilds tr[data-guild="${world.guild.id}"]`;
  assert.match(await text(row), /Demo Trading Community/);
  assert.match(await text(row), /unassigned/);
  assert.deepEqual(await unlabelled(page), []);

  await page.selectOption(`${row} select.assign-tenant`, 'acme');
  await page.click(`${row} button:has-text("Assign")`);
  await poll(async () => (await text(row)).includes('acme') && !(await text(row)).includes('unassigned'), { what: 'the assignment' });
  await screenshot(page, 'admin-catalog-guilds');

  await page.click(`${row} a.guild-link`);
  await page.waitForSelector('#catalog-channels tbody tr[data-channel]');
  const modLog = `#catalog-channels tr[data-channel="${world.channel('mod-log').id}"]`;
  assert.deepEqual(await texts(page, `${modLog} li.warning .badge`), ['bot cannot view']);
  const general = `#catalog-channels tr[data-channel="${world.channel('general').id}"]`;
  assert.match(await text(general), /ok/);
  const roleCodes = await page.$$eval('#catalog-roles tr[data-role]', (rows) => Object.fromEntries(rows.map((r) => [
    r.querySelector('td').childNodes[0].textContent, [...r.querySelectorAll('li.warning')].map((li) => li.dataset.code)])));
  assert.deepEqual(roleCodes.Moderators, ['role_above_bot']);
  assert.deepEqual(roleCodes['Server Booster'], ['role_managed']);
  assert.deepEqual(roleCodes.Premium, []);
  await screenshot(page, 'admin-catalog-guild');
  assert.deepEqual(page.errors ?? [], []);
});

test('the mappings panel picks targets from the bot\'s channels and says what the bot lacks', async () => {
  await page.goto(`${stack.server.baseUrl}/admin/#/t/acme/c/${ctx.connector}`);
  await page.waitForSelector('[data-view="connector"][data-loaded="true"]');
  await poll(async () => (await optionLabels(page, '#mapping-target')).length > 3, { what: 'the catalog targets' });
  const labels = await optionLabels(page, '#mapping-target');
  assert.ok(labels.includes('Signals › #signals-premium'), labels.join(' | '));
  assert.ok(labels.some((l) => l.startsWith('#mod-log — ⚠ bot cannot view')), labels.join(' | '));
  assert.ok(!labels.some((l) => l.includes('Signals —') || l === '#Signals'), 'categories are not offered');
  const group = await page.$eval('#mapping-target optgroup', (g) => g.label);
  assert.equal(group, 'Bot in Demo Trading Community');

  await page.selectOption('#mapping-source', ctx.source);
  await page.selectOption('#mapping-target', world.channel('mod-log').id);
  await page.waitForSelector('#mapping-target-warnings li[data-code="bot_cannot_view"]');
  await screenshot(page, 'admin-mapping-target-warning');

  await page.selectOption('#mapping-target', world.channel('signals-premium').id);
  assert.equal(await page.$('#mapping-target-warnings li'), null);
  await page.click('#add-mapping');
  const mapped = `#mappings tr[data-target="${world.channel('signals-premium').id}"]`;
  await page.waitForSelector(mapped);
  assert.match(await text(mapped), /#signals-premium/);
  assert.match(await text(mapped), /bot in Demo Trading Community/);
  assert.match(await text(mapped), /active/);
  assert.deepEqual(await unlabelled(page), []);
  await screenshot(page, 'admin-mapping-catalog-target');
  assert.deepEqual(page.errors ?? [], []);
});
