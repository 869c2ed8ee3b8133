// What a person running the demo sees in the fake Discord's web page after mirroring: a
// webhook post with the author's avatar (the worker's avatar_url points at the fake's CDN,
// DISCORD_CDN_BASE, which serves the image) and an embed-style card opening a forum post.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api, ingest, message, provision } from '../../harness/client.mjs';
import { control, refreshed } from '../../harness/discord.mjs';
import { launch, poll, screenshot } from '../../harness/browser.mjs';

const SRC = '1300000000000000301';
const SRC_CARDS = '1300000000000000302';
const AUTHOR = '1300000000000000911';
let stack, chrome, page, fake, seed, ctx, channel, forum;

before(async () => {
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
  fake = stack.services['fake-discord'].url;
  seed = stack.services['fake-discord'].seed;
  const admin = new Api(stack.server.baseUrl, stack.server.adminToken);
  const guild = (await control(fake, 'GET', '/state')).guilds[0].id;
  channel = (await control(fake, 'POST', '/channels', { name: 'vip-signals', type: 0 })).id;
  forum = (await control(fake, 'POST', '/channels', { name: 'vip-cards', type: 15 })).id;
  await control(fake, 'POST', '/users', { user_id: AUTHOR, username: 'analyst', global_name: 'The Analyst', avatar: true });
  await refreshed(admin);
  ctx = await provision(stack.server);
  let r = await admin.put(`/v1/admin/catalog/guilds/${guild}/tenant`, { tenant_key: ctx.tenant });
  assert.equal(r.status, 200, r.text);
  const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
  for (const s of [SRC, SRC_CARDS]) {
    r = await admin.put(`${c}/sources/${s}`, { guild_id: '1300000000000000000', is_source: true });
    assert.equal(r.status, 200, r.text);
  }
  for (const [s, t, body] of [[SRC, channel, {}], [SRC_CARDS, forum, { transform_json: { style: 'embed', embed: { title: 'VIP', color: '#5865F2' } } }]]) {
    r = await admin.put(`${c}/sources/${t}`, { guild_id: guild, is_source: false, is_target: true });
    assert.equal(r.status, 200, r.text);
    r = await admin.put(`${c}/mappings/${s}/${t}`, body);
    assert.equal(r.status, 200, r.text);
  }
  chrome = await launch();
  page = await chrome.newPage();
});

after(async () => {
  await chrome?.close();
  await stack?.stop();
});

/** Selects a channel in the page's sidebar. */
async function open(id) {
  await page.waitForSelector(`#chans [data-id="${id}"]`);
  await page.click(`#chans [data-id="${id}"]`);
}

test('a mirrored webhook post shows the author\'s avatar, served by the fake CDN', async () => {
  const text = 'BTC long 65000, SL 63000';
  await ingest(ctx, [message(ctx, { discord_channel_id: SRC, discord_author_id: AUTHOR, content_raw: text, content_clean: text })]);
  await page.goto(`${fake}/`);
  await open(channel);
  const img = '#msgs .msg .avatar img';
  await page.waitForSelector(img, { timeout: 60_000 });
  const src = await page.getAttribute(img, 'src');
  assert.ok(src.startsWith(`${seed.cdn_base}/avatars/${AUTHOR}/`), src);
  // Loaded: a broken image removes itself (onerror), and a loaded one has its pixels.
  await poll(async () => (await page.$eval(img, (el) => el.complete && el.naturalWidth)) === 64, { what: 'the avatar image loaded' });
  assert.match(await page.textContent('#msgs .msg'), /The Analyst/);
  assert.match(await page.textContent('#msgs .msg'), /BTC long 65000/);
  await screenshot(page, 'fake-discord-mirrored-avatar');
});

test('an embed-style card opens a forum post, shown under the forum with the bot\'s avatar', async () => {
  const text = 'SOL long 150';
  await ingest(ctx, [message(ctx, { discord_channel_id: SRC_CARDS, discord_author_id: AUTHOR, content_raw: text, content_clean: text })]);
  let thread;
  await poll(async () => {
    thread = (await control(fake, 'GET', '/state')).guilds[0].channels.find((c) => c.parent_id === forum);
    return !!thread;
  }, { timeout: 60_000, what: 'the forum post' });
  assert.equal(thread.name, 'SOL long 150');
  await open(thread.id);
  await page.waitForSelector('#msgs .msg .embed');
  assert.match(await page.textContent('#msgs .msg .embed'), /VIP/);
  assert.match(await page.textContent('#msgs .msg .embed'), /SOL long 150/);
  assert.match(await page.textContent('#msgs .msg'), /BOT/);
  const img = '#msgs .msg .avatar img';
  await poll(async () => (await page.$(img)) !== null && (await page.$eval(img, (el) => el.complete && el.naturalWidth)) === 64, { what: 'the bot avatar loaded' });
  // The card's author line carries the analyst's avatar too.
  await poll(async () => (await page.$eval('#msgs .embed .ea img', (el) => el.complete && el.naturalWidth).catch(() => 0)) === 64, { what: 'the card author icon loaded' });
  await screenshot(page, 'fake-discord-forum-card');
  assert.deepEqual(page.errors ?? [], []);
});
