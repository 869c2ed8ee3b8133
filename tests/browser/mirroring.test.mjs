// The connector page's Mirroring panel against the real worker and the fake Discord: a signal
// ingested shows up in recent jobs with its latency; a target where the bot lacks Manage
// Webhooks dead-letters with its reason and Discord code; once the permission is granted the
// per-job Requeue delivers it; a filtered message shows as skipped with its rule; Requeue all
// delivers a refused post; a target's own requeue button requeues that target; a target
// paused by the seat gate shows it with its held jobs; the forwarding switch turns the
// connector's forwarding off; without
// Discord configured the panel says discord_not_configured.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { ingest, message, provision } from '../../harness/client.mjs';
import { startServer } from '../../harness/worker.mjs';
import { control, refreshed } from '../../harness/discord.mjs';
import { ensureUiBuilt, launch, poll, screenshot, unlabelled } from '../../harness/browser.mjs';

const SOURCE = '1300000000000000100'; // the channel harness message() posts in
let stack, chrome, page, fake, guild, good, denied, ctx;

before(async () => {
  ensureUiBuilt();
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
  fake = stack.services['fake-discord'].url;
  guild = (await control(fake, 'GET', '/state')).guilds[0].id;
  good = (await control(fake, 'POST', '/channels', { name: 'mirror-good', type: 0 })).id;
  denied = (await control(fake, 'POST', '/channels', { name: 'mirror-denied', type: 0 })).id;
  ctx = await provision(stack.server, { tenant: 'acme' });
  await refreshed(ctx.admin);
  let r = await ctx.admin.put(`/v1/admin/catalog/guilds/${guild}/tenant`, { tenant_key: 'acme' });
  assert.equal(r.status, 200, r.text);
  const c = `/v1/admin/tenants/acme/connectors/${ctx.connector}`;
  r = await ctx.admin.put(`${c}/sources/${SOURCE}`, { guild_id: '1300000000000000000', is_source: true, is_target: false });
  assert.equal(r.status, 200, r.text);
  r = await ctx.admin.put(`${c}/mappings/${SOURCE}/${good}`, { filters_json: { blocked_keywords: ['pump'], mode: 'skip' } });
  assert.equal(r.status, 200, r.text);
  r = await ctx.admin.put(`${c}/mappings/${SOURCE}/${denied}`, {});
  assert.equal(r.status, 200, r.text);
  // The bot cannot create the webhook it posts through: a permanent failure (403, 50013).
  await control(fake, 'POST', '/permissions', { permission: 'MANAGE_WEBHOOKS', channel_id: denied, grant: false });
  chrome = await launch();
  page = await chrome.newPage();
  page.on('dialog', (d) => d.accept());
});

after(async () => {
  await chrome?.close();
  await stack?.stop();
});

const text = (sel) => page.textContent(sel).then((t) => t.trim());
const loads = async () => Number(await page.getAttribute('#mirroring', 'data-loads') ?? 0);
/** Clicks the panel's Refresh until `ok()` holds (the mirror works asynchronously). */
async function refreshUntil(ok, what) {
  await poll(async () => {
    const n = await loads();
    await page.click('#mirroring-refresh');
    await poll(async () => (await loads()) > n, { what: 'the refresh' });
    return ok();
  }, { timeout: 60_000, interval: 300, what });
}
const mirrored = async (channel, content) => (await control(fake, 'GET', `/messages?channel_id=${channel}`)).filter((m) => m.content === content);

let signalId;

test('a signal shows in recent jobs with its latency; the denied target dead-letters with reason and code', async () => {
  await page.goto(`${stack.server.baseUrl}/admin/`);
  await page.fill('input[name="admin-token"]', stack.server.adminToken);
  await page.click('form.signin button[type="submit"]');
  await page.waitForSelector('[data-view="tenants"] table');
  await page.goto(`${stack.server.baseUrl}/admin/#/t/acme/c/${ctx.connector}`);
  await page.waitForSelector('[data-view="connector"][data-loaded="true"]').catch(async (e) => {
    await screenshot(page, 'admin-mirroring-load-failed');
    throw new Error(`${e.message}; page errors: ${JSON.stringify(page.errors)}`);
  });
  await poll(async () => (await loads()) > 0, { what: 'the mirroring panel' });
  assert.equal(await page.isChecked('#mirroring-forward'), true);
  // Targets are named from the bot's catalog.
  await poll(async () => /#mirror-good/.test(await text(`#mirroring tr[data-target="${good}"]`)), { what: 'the catalog name' });
  assert.match(await text(`#mirroring tr[data-target="${denied}"]`), /#mirror-denied/);

  const m = message(ctx, { content_raw: 'BTC long 42000', content_clean: 'BTC long 42000' });
  signalId = m.discord_message_id;
  await ingest(ctx, [m]);
  const job = (t) => `#mirroring tr[data-message="${signalId}"][data-target="${t}"]`;
  await refreshUntil(async () => (await page.$(`${job(good)}[data-outcome="synced"]`)) !== null
    && (await page.$(`#mirroring tr[data-job][data-target="${denied}"]`)) !== null, 'the synced job and the dead letter');
  assert.equal((await mirrored(good, 'BTC long 42000')).length, 1);
  assert.match(await text(`${job(good)} .job-dispatch`), /^\d+ ms$/);
  assert.match(await text(`${job(good)} .job-answer`), /^\d+ ms$/);
  assert.match(await text('#mirroring tr[data-stage="discord_answer"][data-event="create"] .lat-p95'), /^\d+ ms$/);
  assert.ok(Number(await text('#mirroring tr[data-stage="dispatch"][data-event="create"] .lat-count')) >= 1);

  const deadRow = `#mirroring tr[data-job][data-target="${denied}"]`;
  assert.match(await text(`${deadRow} .dead-reason code.error-code`), /^discord_/);
  assert.equal(await text(`${deadRow} .dead-discord-code`), '50013');
  assert.equal(await page.getAttribute('#mirroring-dead', 'data-count'), '1');
  assert.equal(await page.isEnabled('#mirroring-requeue-all'), true);
  assert.equal((await mirrored(denied, 'BTC long 42000')).length, 0);
  assert.deepEqual(await unlabelled(page), []);
  await page.$eval('#mirroring', (el) => el.scrollIntoView());
  await screenshot(page, 'admin-mirroring-dead-letter');
  assert.deepEqual(page.errors ?? [], []);
});

test('after the permission is granted, Requeue on the dead letter delivers it', async () => {
  await control(fake, 'POST', '/permissions', { permission: 'MANAGE_WEBHOOKS', channel_id: denied, grant: true });
  const deadRow = `#mirroring tr[data-job][data-target="${denied}"]`;
  const n = await loads();
  await page.click(`${deadRow} button[data-action="requeue"]`);
  await poll(async () => (await loads()) > n, { what: 'the reload after requeue' });
  await refreshUntil(async () => (await page.$(`#mirroring tr[data-message="${signalId}"][data-target="${denied}"][data-outcome="synced"]`)) !== null,
    'the requeued job delivered');
  assert.equal((await mirrored(denied, 'BTC long 42000')).length, 1, 'delivered once');
  assert.equal((await mirrored(good, 'BTC long 42000')).length, 1, 'the other target was not posted again');
  // The requeued job's latency is measured from its requeue.
  const requeued = `#mirroring tr[data-message="${signalId}"][data-target="${denied}"][data-outcome="synced"]`;
  assert.match(await text(`${requeued} .job-dispatch`), /^\d+ ms$/);
  assert.match(await text(`${requeued} .job-answer`), /^\d+ ms$/);
  assert.equal(await page.$(deadRow), null);
  assert.equal(await page.getAttribute('#mirroring-dead', 'data-count'), '0');
  assert.equal(await page.isEnabled('#mirroring-requeue-all'), false);
  await page.$eval('#mirroring', (el) => el.scrollIntoView());
  await screenshot(page, 'admin-mirroring-requeued');
  assert.deepEqual(page.errors ?? [], []);
});

test('a skipped message shows its rule; Requeue all delivers a refused post once Discord takes it', async () => {
  const st = (await ctx.admin.get(`/v1/admin/tenants/acme/connectors/${ctx.connector}/mirroring`)).json.mirroring;
  const hook = st.targets.find((t) => t.target_channel_id === denied).webhook_id;
  assert.ok(hook, 'the denied target has its webhook now');
  // The next post through that webhook is refused as Discord refuses a missing permission.
  await control(fake, 'POST', '/faults', {
    kind: 'status', status: 403, body: JSON.stringify({ code: 50013, message: 'Missing Permissions' }),
    method: 'POST', path: `/webhooks/${hook}`, count: 1,
  });
  const m = message(ctx, { content_raw: 'pump it now', content_clean: 'pump it now' });
  await ingest(ctx, [m]);
  await refreshUntil(async () => (await page.$(`#mirroring tr[data-job][data-target="${denied}"]`)) !== null
    && (await page.$(`#mirroring tr[data-message="${m.discord_message_id}"] .skip-rule`)) !== null,
  'the skip and the dead letter');
  const skip = `#mirroring tr[data-message="${m.discord_message_id}"] .skip-rule`;
  assert.match(await text(skip), /blocked_keywords/, 'the rule is named');
  assert.match(await text(`#mirroring tr[data-message="${m.discord_message_id}"] .skip-detail`), /blocked/);
  assert.equal(await text(`#mirroring tr[data-job][data-target="${denied}"] .dead-discord-code`), '50013');
  await page.$eval('#mirroring', (el) => el.scrollIntoView());
  await screenshot(page, 'admin-mirroring-skipped');
  const n = await loads();
  await page.click('#mirroring-requeue-all');
  await poll(async () => (await loads()) > n, { what: 'the reload after requeue all' });
  await refreshUntil(async () => (await mirrored(denied, 'pump it now')).length === 1
    && (await page.getAttribute('#mirroring-dead', 'data-count')) === '0', 'the requeued post delivered');
  assert.equal((await mirrored(good, 'pump it now')).length, 0, 'skipped in the filtered target');
  assert.deepEqual(page.errors ?? [], []);
});

test('a target\'s own "Requeue all dead letters" requeues that target only', async () => {
  const st = (await ctx.admin.get(`/v1/admin/tenants/acme/connectors/${ctx.connector}/mirroring`)).json.mirroring;
  const hook = st.targets.find((t) => t.target_channel_id === denied).webhook_id;
  await control(fake, 'POST', '/faults', {
    kind: 'status', status: 403, body: JSON.stringify({ code: 50013, message: 'Missing Permissions' }),
    method: 'POST', path: `/webhooks/${hook}`, count: 2,
  });
  const msgs = ['ETH short 3100', 'ETH short 3100, SL 3200'].map((x) => message(ctx, { content_raw: x, content_clean: x }));
  for (const m of msgs) await ingest(ctx, [m]);
  const deniedBtn = `#mirroring tr[data-target="${denied}"] button[data-action="requeue-target"]`;
  const goodBtn = `#mirroring tr[data-target="${good}"] button[data-action="requeue-target"]`;
  await refreshUntil(async () => (await page.getAttribute('#mirroring-dead', 'data-count')) === '2', 'two dead letters in the denied target');
  assert.equal(await page.isEnabled(deniedBtn), true);
  assert.equal(await text(deniedBtn), 'Requeue all dead letters (2)');
  assert.match(await page.getAttribute(deniedBtn, 'aria-label'), /#mirror-denied/);
  assert.equal(await page.isEnabled(goodBtn), false, 'nothing to requeue in the good target');
  assert.equal((await mirrored(good, 'ETH short 3100')).length, 1);
  assert.deepEqual(await unlabelled(page), []);
  await page.$eval('#mirroring', (el) => el.scrollIntoView());
  await screenshot(page, 'admin-mirroring-target-requeue');
  const bodies = [];
  const listen = (r) => { if (r.method() === 'POST' && r.url().endsWith('/mirroring/requeue')) bodies.push(r.postDataJSON()); };
  page.on('request', listen);
  const n = await loads();
  await page.click(deniedBtn);
  await poll(async () => (await loads()) > n, { what: 'the reload after the target requeue' });
  page.off('request', listen);
  assert.deepEqual(bodies, [{ target_channel_id: denied }]);
  await refreshUntil(async () => (await mirrored(denied, 'ETH short 3100')).length === 1
    && (await mirrored(denied, 'ETH short 3100, SL 3200')).length === 1
    && (await page.getAttribute('#mirroring-dead', 'data-count')) === '0', 'both requeued posts delivered');
  assert.equal(await page.isEnabled(deniedBtn), false);
  assert.equal(await text(deniedBtn), 'Requeue all dead letters');
  assert.deepEqual(page.errors ?? [], []);
});

test('a target paused by the seat gate says so, with its held jobs; back under the limit they go out', async () => {
  // The demo guild has ~50 members: a limit of 10 in enforce holds its targets.
  let r = await ctx.admin.put(`/v1/admin/tenants/acme/seats/${guild}`, { limit: 10, mode: 'enforce' });
  assert.equal(r.status, 200, r.text);
  // As tests/e2e/seats-gate.test.mjs: the audit has ended over the limit and noticed both
  // targets, so the mirror has the guild's new view.
  await poll(async () => {
    const g = await ctx.admin.get(`/v1/admin/tenants/acme/seats/${guild}`);
    const x = g.json?.seat?.snapshot;
    return g.status === 200 && x?.state === 'idle' && x.over_limit === true && x.notices_posted === 2;
  }, { timeout: 120_000, interval: 300, what: 'the audit that puts the guild over its limit' });
  const held = ['SOL long 150', 'SOL long 150, TP 170'].map((x) => message(ctx, { content_raw: x, content_clean: x }));
  for (const m of held) await ingest(ctx, [m]);
  const seats = (t) => `#mirroring tr[data-target="${t}"] .target-seats`;
  await refreshUntil(async () => (await page.getAttribute(seats(denied), 'data-held')) === '2'
    && (await page.getAttribute(seats(good), 'data-held')) === '2', 'both targets paused with their held jobs');
  assert.equal(await page.getAttribute(seats(good), 'data-seats'), 'paused');
  assert.equal(await text(`${seats(denied)} .seats-state`), 'paused: over seat limit — 2 held');
  assert.equal((await mirrored(good, 'SOL long 150')).length, 0, 'held, not posted');
  assert.deepEqual(await unlabelled(page), []);
  await page.$eval('#mirroring', (el) => el.scrollIntoView());
  await screenshot(page, 'admin-mirroring-seats-paused');

  r = await ctx.admin.put(`/v1/admin/tenants/acme/seats/${guild}`, { limit: 100000, mode: 'enforce' });
  assert.equal(r.status, 200, r.text);
  await refreshUntil(async () => (await mirrored(good, 'SOL long 150')).length === 1
    && (await mirrored(denied, 'SOL long 150')).length === 1
    && (await page.getAttribute(seats(good), 'data-seats')) === 'open'
    && (await page.getAttribute(seats(denied), 'data-seats')) === 'open', 'the held jobs delivered');
  assert.equal(await text(`${seats(good)} .seats-state`), 'sending');
  assert.equal(await page.getAttribute(seats(good), 'data-held'), '0');
  assert.deepEqual(page.errors ?? [], []);
});

test('the forwarding switch turns the connector\'s forwarding off', async () => {
  await page.click('#mirroring-forward');
  await page.waitForSelector('#mirroring-forward-off');
  assert.equal(await page.isChecked('#mirroring-forward'), false);
  assert.equal(await page.isChecked('input[name="forward_enabled"]'), false, 'the Settings switch follows');
  const r = await ctx.admin.get(`/v1/admin/tenants/acme/connectors/${ctx.connector}`);
  assert.equal(r.status, 200, r.text);
  assert.ok(!r.json.connector.forward_enabled, `forward_enabled is ${r.json.connector.forward_enabled}`);
  const s = await ctx.admin.get(`/v1/admin/tenants/acme/connectors/${ctx.connector}/mirroring`);
  assert.equal(s.json.mirroring.forward_enabled, false);
  await screenshot(page, 'admin-mirroring-forward-off');
  assert.deepEqual(page.errors ?? [], []);
});

test('without Discord configured the panel says discord_not_configured', async () => {
  const bare = await startServer({ vars: { ACCESS_LOG: 'errors' } });
  try {
    const c = await provision(bare, { tenant: 'bare' });
    await page.goto(`${bare.baseUrl}/admin/`);
    await page.fill('input[name="admin-token"]', bare.adminToken);
    await page.click('form.signin button[type="submit"]');
    await page.waitForSelector('[data-view="tenants"] table');
    await page.goto(`${bare.baseUrl}/admin/#/t/bare/c/${c.connector}`);
    await page.waitForSelector('[data-view="connector"][data-loaded="true"]');
    await page.waitForSelector('#mirroring-discord');
    assert.equal(await page.getAttribute('#mirroring-discord', 'data-error-code'), 'discord_not_configured');
    assert.match(await text('#mirroring-discord'), /DISCORD_BOT_TOKEN/);
    await page.$eval('#mirroring', (el) => el.scrollIntoView());
    await screenshot(page, 'admin-mirroring-discord-not-configured');
    assert.deepEqual(page.errors ?? [], []);
  } finally {
    await bare.close();
  }
});
