// The customer dashboard shows attachment images from our media store, not from Discord's CDN:
// after the CDN link has expired the image still loads, from a signed `/media/` link, and the
// browser never asks the CDN. An attachment that could not be stored says so plainly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { eventually, ingest, message, provision, snowflake, ticket } from '../../harness/client.mjs';
import { control } from '../../harness/discord.mjs';
import { ensureUiBuilt, launch, poll, screenshot } from '../../harness/browser.mjs';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const GUILD = '1300000000000000000';
const CH = snowflake();
const PASSWORD = 'correct horse battery staple';

let stack;
let server;
let fake;
let ctx;
let chrome;
let page;
const cdnRequests = [];
const stored = {};

const card = (id) => `#signals li[data-message-id="${id}"]`;

async function admin(method, path, body) {
  const r = await ctx.admin.request(method, `/v1/admin/tenants/${ctx.tenant}${path}`, { body });
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

async function cdnFile(filename, contentType) {
  return control(fake, 'POST', '/attachments', { filename, content_type: contentType, data_base64: PNG.toString('base64') });
}

async function status(id) {
  const rows = await eventually(
    async () => (await admin('GET', '/media')).attachments,
    (rs) => rs.some((r) => r.attachment_id === id && r.status !== 'pending' && r.status !== 'fetching'),
    15_000,
  );
  return rows.find((r) => r.attachment_id === id)?.status;
}

before(async () => {
  ensureUiBuilt();
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' }, worker: { mediaKey: true } });
  server = stack.server;
  fake = stack.services['fake-discord'].url;
  ctx = await provision(server, { tenant: 'media-desk', connector: 'conn_media' });
  const sync = await ctx.api.post('/ingest/channel-guild-sync', {
    connector_id: ctx.connector,
    tenant_key: ctx.tenant,
    guilds: [{ discord_guild_id: GUILD, name: 'Trading Desk' }],
    channels: [{ discord_channel_id: CH, guild_id: GUILD, name: 'btc-calls', type: 0, position: 1 }],
  });
  assert.equal(sync.status, 200, sync.text);
  const src = await ctx.admin.put(`/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}/sources/${CH}`, { guild_id: GUILD, is_source: true });
  assert.equal(src.status, 200, src.text);
  await admin('POST', '/tiers', { key: 'basic', name: 'Basic', rank: 1 });
  await admin('PUT', `/channel-visibility/${CH}`, { min_tier: 'basic' });

  chrome = await launch();
  page = await chrome.newPage();
  page.on('request', (r) => { if (r.url().startsWith(fake)) cdnRequests.push(r.url()); });
});

after(async () => {
  await chrome?.close();
  await stack?.stop();
});

test('the image comes from our store after the CDN link expired', async () => {
  // The CDN claims octet-stream; the bytes are a PNG.
  const file = await cdnFile('chart.png', 'application/octet-stream');
  const sig = message(ctx, {
    discord_guild_id: GUILD, discord_channel_id: CH,
    content_raw: 'BTC long 64k, chart attached', content_clean: 'BTC long 64k, chart attached',
    attachments: [{ discord_attachment_id: file.id, filename: 'chart.png', source_url: file.url, size: PNG.length, content_type: 'image/png' }],
  });
  await ingest(ctx, [sig]);
  assert.equal(await status(file.id), 'stored');
  await control(fake, 'POST', `/attachments/${file.id}/expire`);
  assert.equal((await fetch(file.url)).status, 404, 'the CDN link is dead');

  await page.goto(`${server.baseUrl}/t/${ctx.tenant}/signup/`);
  const email = `media-${Date.now()}@example.com`;
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('#subscription');
  const { customers } = await admin('GET', `/customers?q=${encodeURIComponent(email)}`);
  await admin('POST', `/customers/${customers[0].customer_id}/grants`, { tier: 'basic', days: 30, reason: 'browser test' });

  const img = `${card(sig.discord_message_id)} img.attachment-image`;
  await page.waitForSelector(img);
  await poll(() => page.$eval(img, (i) => i.complete && i.naturalWidth > 0), { what: 'the image loaded' });
  const src = await page.getAttribute(img, 'src');
  assert.match(src, new RegExp(`^/media/${ctx.tenant}/${file.id}\\?exp=\\d+&sig=`), 'our signed link');
  const href = await page.$eval(`${card(sig.discord_message_id)} a.image-link`, (a) => a.href);
  assert.ok(href.startsWith(`${server.baseUrl}/media/${ctx.tenant}/${file.id}?`), href);
  assert.deepEqual(cdnRequests, [], 'the browser never asked the CDN');
  assert.doesNotMatch(await page.content(), new RegExp(file.url.replace(/[?.]/g, '\\$&')));
  await screenshot(page, 'media-image-from-store');
  Object.assign(stored, { sig, file });
});

test('an attachment that could not be stored falls back to its name, never the CDN link', async () => {
  const file = await cdnFile('gone.png', 'image/png');
  await control(fake, 'POST', `/attachments/${file.id}/expire`);
  const sig = message(ctx, {
    discord_guild_id: GUILD, discord_channel_id: CH,
    content_raw: 'ETH short, chart lost', content_clean: 'ETH short, chart lost',
    attachments: [{ discord_attachment_id: file.id, filename: 'gone.png', source_url: file.url, size: PNG.length, content_type: 'image/png' }],
  });
  await ingest(ctx, [sig]);
  await page.waitForSelector(card(sig.discord_message_id));
  assert.equal(await status(file.id), 'failed');
  const fallback = `${card(sig.discord_message_id)} .attachment.unavailable`;
  await page.waitForSelector(fallback, { timeout: 30_000 });
  assert.match(await page.textContent(fallback), /gone\.png\s*not available yet/);
  assert.equal(await page.$(`${card(sig.discord_message_id)} img`), null, 'no broken image left');
  assert.deepEqual(cdnRequests, [], 'the browser never asked the CDN');
  assert.deepEqual(page.errors.filter((e) => !/404/.test(e)), []);
});

test('the operators\' dashboard links the file to our store too', async () => {
  const { sig, file } = stored;
  assert.ok(sig, 'the first test stored a file');
  const t = await ticket(server, ctx.tenant);
  const p = await chrome.newPage();
  p.on('request', (r) => { if (r.url().startsWith(fake)) cdnRequests.push(r.url()); });
  try {
    await p.goto(`${server.baseUrl}/dashboard/?ticket=${encodeURIComponent(t.ticket)}`);
    const a = `#signals li[data-message-id="${sig.discord_message_id}"] a.attachment`;
    await p.waitForSelector(a);
    const href = await p.$eval(a, (el) => el.href);
    assert.ok(href.startsWith(`${server.baseUrl}/media/${ctx.tenant}/${file.id}?exp=`), href);
    const r = await fetch(href);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), PNG);
    assert.deepEqual(cdnRequests, []);
  } finally {
    await p.close();
  }
});
