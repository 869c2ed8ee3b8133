// The operator console's seats page against the real worker and the fake Discord: a seat
// limit set from the page, the audit's snapshot shown (used/limit, status, checked, next
// check), "refresh now", the kill switch, a missing intent shown as an error (never a zero),
// and the seat badge beside a mapping into the guild.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { provision, snowflake } from '../../harness/client.mjs';
import { control, refreshed } from '../../harness/discord.mjs';
import { ensureUiBuilt, launch, poll, screenshot, unlabelled } from '../../harness/browser.mjs';

let stack, chrome, page, fake, guild, target, ctx;

before(async () => {
  ensureUiBuilt();
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
  fake = stack.services['fake-discord'].url;
  guild = (await control(fake, 'GET', '/state')).guilds[0].id;
  target = (await control(fake, 'POST', '/channels', { name: 'seat-signals', type: 0 })).id;
  ctx = await provision(stack.server, { tenant: 'acme' });
  await refreshed(ctx.admin);
  let r = await ctx.admin.put(`/v1/admin/catalog/guilds/${guild}/tenant`, { tenant_key: 'acme' });
  assert.equal(r.status, 200, r.text);
  const source = snowflake();
  r = await ctx.admin.put(`/v1/admin/tenants/acme/connectors/${ctx.connector}/sources/${source}`,
    { guild_id: snowflake(), is_source: true, is_target: false });
  assert.equal(r.status, 200, r.text);
  r = await ctx.admin.put(`/v1/admin/tenants/acme/connectors/${ctx.connector}/mappings/${source}/${target}`, {});
  assert.equal(r.status, 200, r.text);
  chrome = await launch();
  page = await chrome.newPage();
  page.on('dialog', (d) => d.accept());
});

after(async () => {
  await chrome?.close();
  await stack?.stop();
});

const text = (sel) => page.textContent(sel).then((t) => t.trim());
const row = () => `tr[data-guild="${guild}"]`;

test('the seats page sets a limit, shows the audit, refreshes and flips the kill switch', async () => {
  await page.goto(`${stack.server.baseUrl}/admin/`);
  await page.fill('input[name="admin-token"]', stack.server.adminToken);
  await page.click('form.signin button[type="submit"]');
  await page.waitForSelector('[data-view="tenants"] table');
  await page.goto(`${stack.server.baseUrl}/admin/#/t/acme`);
  await page.click('#seats-link');
  await page.waitForSelector('[data-view="seats"][data-loads]');
  assert.match(await text('[data-view="seats"] tbody'), /No seat limits yet/);
  assert.equal(await text('#kill-switch-state'), 'off');

  await page.selectOption('#seat-guild', guild);
  await page.fill('#seat-limit', '5');
  await page.selectOption('#seat-mode', 'enforce');
  await page.click('#seat-add');
  await page.waitForSelector(row());
  // The audit counts the demo guild's members (more than 5): paused, with a fresh count.
  await poll(async () => (await page.getAttribute(`${row()} .seat-badge`, 'data-seat-gate')) === 'over', { timeout: 60_000, what: 'the first audit' });
  assert.equal(await page.getAttribute(`${row()} .seat-badge`, 'data-seat-holding'), 'true');
  assert.match(await text(`${row()} .seat-badge`), /^paused: seats \d+\/5$/);
  const used = Number(await page.getAttribute(`${row()} .seat-used`, 'data-used'));
  assert.ok(used > 5, `${used}`);
  assert.equal(await page.getAttribute(`${row()} .seat-status`, 'data-status'), 'fresh');
  assert.ok(await page.$(`${row()} .seat-next time`), 'the next check is shown');
  // Held jobs come from the tenant's mirror object: none are queued for this guild.
  assert.equal(await page.getAttribute(`${row()} .seat-held`, 'data-held'), '0');
  assert.deepEqual(await unlabelled(page), []);
  await screenshot(page, 'admin-seats-paused');

  // Refresh now: another audit runs (the page reloads and shows the new check).
  const before = Number(await page.getAttribute('[data-view="seats"]', 'data-loads'));
  await page.click(`${row()} button[data-action="refresh"]`);
  await poll(async () => Number(await page.getAttribute('[data-view="seats"]', 'data-loads')) > before, { what: 'the reload' });

  // The kill switch: enforce runs as shadow, the badge says what enforce would do.
  await page.click('#kill-switch-toggle');
  await poll(async () => (await page.getAttribute('#kill-switch-state', 'data-engaged')) === 'true', { what: 'the kill switch' });
  await poll(async () => (await text(`${row()} .seat-badge`)).startsWith('shadow: would pause'), { what: 'the shadow badge' });
  assert.match(await text(row()), /effective: shadow \(kill switch\)/);
  await screenshot(page, 'admin-seats-kill-switch');
  await page.click('#kill-switch-toggle');
  await poll(async () => (await page.getAttribute('#kill-switch-state', 'data-engaged')) === 'false', { what: 'the release' });
  await poll(async () => (await text(`${row()} .seat-badge`)).startsWith('paused'), { what: 'enforce again' });
  assert.deepEqual(page.errors ?? [], []);
});

test('a refused member list is shown as its error, and the mapping carries the seat badge', async () => {
  await control(fake, 'POST', '/intents', { guild_members: false });
  try {
    // Start the guild afresh from the page: remove, then set again.
    await page.goto(`${stack.server.baseUrl}/admin/#/t/acme/seats`);
    await page.waitForSelector(row());
    await page.click(`${row()} button:has-text("Remove")`);
    await poll(async () => (await page.$(row())) === null, { what: 'the removal' });
    await page.selectOption('#seat-guild', guild);
    await page.fill('#seat-limit', '5');
    await page.selectOption('#seat-mode', 'enforce');
    await page.click('#seat-add');
    await poll(async () => (await page.$(`${row()} .seat-error code`)) !== null, { timeout: 60_000, what: 'the refused audit' });
    assert.equal(await text(`${row()} .seat-error code`), 'member_list_forbidden');
    assert.match(await text(`${row()} .seat-used`), /^— \/ 5$/);
    assert.match(await text(`${row()} .seat-badge`), /paused: member list forbidden/);
    await screenshot(page, 'admin-seats-forbidden');
  } finally {
    await control(fake, 'POST', '/intents', { guild_members: true });
  }

  await page.goto(`${stack.server.baseUrl}/admin/#/t/acme/c/${ctx.connector}`);
  await page.waitForSelector('[data-view="connector"][data-loaded="true"]');
  const mapped = `#mappings tr[data-target="${target}"] .seat-badge`;
  await page.waitForSelector(mapped);
  assert.equal(await page.getAttribute(mapped, 'data-guild'), guild);
  assert.match(await text(mapped), /^paused/);
  assert.deepEqual(page.errors ?? [], []);
});
