// Discord linking and role sync in the browser, against the real worker and the fake Discord:
// a customer connects Discord through the fake's authorize page and sees the linked account
// and their role state on the dashboard; the console's tier-role picker marks a role the bot
// cannot manage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { provision } from '../../harness/client.mjs';
import { control, refreshed } from '../../harness/discord.mjs';
import { ensureUiBuilt, launch, poll, screenshot, unlabelled } from '../../harness/browser.mjs';

const PASSWORD = 'correct horse battery';
let stack, chrome, page, ctx, fake, guild, roles, user;

before(async () => {
  ensureUiBuilt();
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
  fake = stack.services['fake-discord'].url;
  ctx = await provision(stack.server, { tenant: 'rolesb' });
  const base = '/v1/admin/tenants/rolesb';
  assert.equal((await ctx.admin.post(`${base}/tiers`, { key: 'basic', name: 'Basic', rank: 1 })).status, 201);
  await refreshed(ctx.admin);
  const st = await control(fake, 'GET', '/state');
  guild = st.guild_id;
  roles = Object.fromEntries(st.guilds[0].roles.map((r) => [r.name, r.id]));
  assert.equal((await ctx.admin.put(`/v1/admin/catalog/guilds/${guild}/tenant`, { tenant_key: 'rolesb' })).status, 200);
  assert.equal((await ctx.admin.put(`${base}/role-sync/mappings/${guild}/basic`, { role_ids: [roles.Basic] })).status, 200);
  user = (await control(fake, 'POST', '/users', { username: 'browserpat', global_name: 'Pat' })).id;
  await control(fake, 'POST', '/members', { user_id: user, roles: [] });
  chrome = await launch();
  page = await chrome.newPage();
});

after(async () => {
  await chrome?.close();
  await stack?.stop();
});

test('connect Discord through the authorize page; the dashboard shows the account and its roles', async () => {
  const email = `pat-${process.pid}@example.test`;
  await page.goto(`${stack.server.baseUrl}/t/rolesb/signup/`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('#discord-connect');
  await page.click('#discord-connect');
  await page.waitForSelector(`button[name="user_id"][value="${user}"]`);
  await page.click(`button[name="user_id"][value="${user}"]`);
  await page.waitForSelector('#discord-account');
  assert.match(await page.textContent('#discord-account'), /browserpat/);
  assert.match(await page.textContent('#discord-account'), new RegExp(user));
  assert.match(await page.textContent('#discord'), /connected/i);
  assert.ok(!new URL(page.url()).search.includes('discord='), 'the outcome is shown once, not kept in the address');

  const { customers } = (await ctx.admin.get(`/v1/admin/tenants/rolesb/customers?q=${encodeURIComponent(email)}`)).json;
  const id = customers.find((c) => c.email === email).customer_id;
  const g = await ctx.admin.post(`/v1/admin/tenants/rolesb/customers/${id}/grants`, { tier: 'basic', days: 30, reason: 'browser test' });
  assert.equal(g.status, 201, g.text);
  await poll(async () => /Up to date/.test(await page.textContent('#discord-roles'))
    && /Has: Basic/.test(await page.textContent('#discord-roles')), { timeout: 60_000, what: 'the Basic role on the dashboard' });
  assert.match(await page.textContent('#discord-roles'), /Demo Trading Community/);
  assert.deepEqual(await unlabelled(page), []);
  await screenshot(page, 'customer-discord-linked');
  // The fake Discord's page shows the member with the role, as Discord would.
  const discord = await chrome.newPage();
  await discord.goto(`${fake}/`);
  await discord.waitForSelector(`#members .mem[data-user="${user}"] .role[data-role="${roles.Basic}"]`);
  assert.match(await discord.textContent(`#members .mem[data-user="${user}"]`), /Basic/);
  await screenshot(discord, 'fake-discord-member-roles');
  await discord.close();
});

test("the console's tier-role picker warns about a role the bot cannot manage", async () => {
  const admin = await chrome.newPage();
  await admin.goto(`${stack.server.baseUrl}/admin/`);
  await admin.fill('input[name="admin-token"]', stack.server.adminToken);
  await admin.click('form.signin button[type="submit"]');
  await admin.waitForSelector('[data-view="tenants"] table');
  await admin.goto(`${stack.server.baseUrl}/admin/#/t/rolesb/roles`);
  await admin.waitForSelector('[data-view="roles"][data-loaded="true"]');
  const picker = `fieldset.tier-roles[data-guild="${guild}"][data-tier="basic"]`;
  const mods = `${picker} li[data-role="${roles.Moderators}"]`;
  assert.equal(await admin.$eval(mods, (li) => li.dataset.assignable), 'false');
  assert.deepEqual(await admin.$$eval(`${mods} .role-warning`, (w) => w.map((x) => x.dataset.code)), ['role_above_bot']);
  assert.equal(await admin.$$eval(`${picker} li[data-role="${roles.Basic}"] .role-warning`, (w) => w.length), 0);
  assert.equal(await admin.$eval(`${picker} li[data-role="${roles.Basic}"] input`, (i) => i.checked), true);
  // The linked account and its state are listed.
  await poll(async () => /browserpat/.test(await admin.textContent('[data-view="roles"]')), { what: 'the linked account' });
  assert.deepEqual(await unlabelled(admin), []);
  await screenshot(admin, 'admin-tier-role-picker');
  await admin.close();
});
