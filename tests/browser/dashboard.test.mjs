// The live dashboard against the real worker: snapshot, live create/edit/delete without reload,
// XSS-safe rendering, reconnect with resume, channel filter, ticket links.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../harness/worker.mjs';
import { ingest, message, provision, snowflake, ticket } from '../../harness/client.mjs';
import { ensureUiBuilt, launch, optionLabels, poll, screenshot, unlabelled } from '../../harness/browser.mjs';

const GUILD = '1300000000000000000';
const CH_A = snowflake();
const CH_B = snowflake();

let server;
let chrome;
let page;
let ctx;
const sockets = [];
const seeded = {};

const card = (id) => `#signals li[data-message-id="${id}"]`;
const cardIds = () => page.$$eval('#signals > li:not([hidden])', (lis) => lis.map((li) => li.dataset.messageId));

function msg(overrides) {
  return message(ctx, { discord_guild_id: GUILD, discord_channel_id: CH_A, ...overrides });
}

before(async () => {
  ensureUiBuilt();
  server = await startServer();
  ctx = await provision(server, { tenant: 'desk', connector: 'conn_dash' });
  // Names for the channel filter and chips, as the connector reports them; both are sources.
  const sync = await ctx.api.post('/ingest/channel-guild-sync', {
    connector_id: ctx.connector,
    tenant_key: ctx.tenant,
    guilds: [{ discord_guild_id: GUILD, name: 'Desk' }],
    channels: [
      { discord_channel_id: CH_A, guild_id: GUILD, name: 'btc-calls', type: 0, position: 1 },
      { discord_channel_id: CH_B, guild_id: GUILD, name: 'alt-calls', type: 0, position: 2 },
    ],
  });
  assert.equal(sync.status, 200, sync.text);
  for (const ch of [CH_A, CH_B]) {
    const r = await ctx.admin.put(`/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}/sources/${ch}`, { guild_id: GUILD, is_source: true });
    assert.equal(r.status, 200, r.text);
  }
  const t0 = Date.now() - 120_000;
  seeded.rich = msg({
    content_raw: 'BTC long 65000, SL 63000', content_clean: 'BTC long 65000, SL 63000',
    author_global_name: 'Ana Lyst', author_username: 'analyst',
    created_at: new Date(t0).toISOString(),
    attachments: [{ discord_attachment_id: snowflake(), filename: 'chart.png', source_url: 'https://cdn.example.com/chart.png', size: 48213, content_type: 'image/png' }],
    embeds: [{ embed_index: 0, title: 'BTCUSD 4h', description: 'Breakout above the range.', url: 'https://www.tradingview.com/x/abc', raw_json: { color: 0x2f9e44 } }],
  });
  seeded.alt = msg({
    discord_channel_id: CH_B, content_raw: 'SOL scalp 180', content_clean: 'SOL scalp 180',
    created_at: new Date(t0 + 60_000).toISOString(),
  });
  await ingest(ctx, [seeded.rich, seeded.alt]);

  chrome = await launch();
  page = await chrome.newPage();
  // Every feed socket goes through a pass-through route that records frames and can drop the
  // connection from the "server" side, like a network failure or a deploy would.
  await page.routeWebSocket(/\/v1\/feed\?/, (ws) => {
    const rec = { url: ws.url(), frames: [], closed: false, page: ws };
    const upstream = ws.connectToServer();
    rec.upstream = upstream;
    upstream.onMessage((m) => {
      try { rec.frames.push(JSON.parse(m)); } catch { /* not JSON */ }
      ws.send(m);
    });
    ws.onMessage((m) => upstream.send(m));
    ws.onClose(() => { rec.closed = true; upstream.close(); });
    upstream.onClose((code, reason) => { rec.closed = true; ws.close({ code, reason }); });
    sockets.push(rec);
  });
});

after(async () => {
  await chrome?.close();
  await server?.close();
});

test('signs in with tenant and token, then shows the snapshot', async () => {
  await page.goto(`${server.baseUrl}/dashboard/?tenant=${ctx.tenant}`);
  await page.waitForSelector('form.connect-form');
  assert.equal(await page.inputValue('input[name="tenant_key"]'), ctx.tenant, 'tenant prefilled from the URL');
  assert.deepEqual(await unlabelled(page), []);

  await page.fill('input[name="admin_token"]', 'wrong-token');
  await page.click('text=Open live signals');
  await page.waitForSelector('.connect-form .error-box[data-error-code="unauthorized"]');

  await page.fill('input[name="admin_token"]', server.adminToken);
  await page.click('text=Open live signals');
  await page.waitForSelector('#connection .status[data-state="live"]');
  await page.waitForSelector(card(seeded.rich.discord_message_id));
  assert.deepEqual(await cardIds(), [seeded.alt.discord_message_id, seeded.rich.discord_message_id], 'newest first');
  assert.ok(sockets.length >= 1);
  assert.equal(sockets[sockets.length - 1].frames[0]?.type, 'snapshot', 'the feed starts with a snapshot');

  const rich = await page.$(card(seeded.rich.discord_message_id));
  assert.equal(await rich.$eval('.author', (e) => e.textContent), 'Ana Lyst');
  assert.equal(await rich.$eval('.signal-content', (e) => e.textContent), 'BTC long 65000, SL 63000');
  assert.equal(await rich.$eval('.chip.channel', (e) => e.textContent), '#btc-calls', 'channel names from discovery');
  const att = await rich.$eval('a.attachment', (a) => ({ href: a.href, text: a.textContent, rel: a.rel, target: a.target }));
  assert.deepEqual(att, { href: 'https://cdn.example.com/chart.png', text: 'chart.png', rel: 'noopener noreferrer nofollow', target: '_blank' });
  assert.match(await rich.$eval('.attachments', (e) => e.textContent), /47 KiB/);
  const embed = await rich.$eval('.embed', (e) => ({
    title: e.querySelector('.embed-title a')?.textContent,
    href: e.querySelector('.embed-title a')?.href,
    desc: e.querySelector('.embed-description')?.textContent,
    color: e.style.borderInlineStartColor,
  }));
  assert.deepEqual(embed, { title: 'BTCUSD 4h', href: 'https://www.tradingview.com/x/abc', desc: 'Breakout above the range.', color: 'rgb(47, 158, 68)' });
  assert.match(await page.textContent('#signal-count'), /^2 signals$/);
});

test('signals appear, update and disappear live, without a reload', async () => {
  await page.evaluate(() => { window.__noReload = true; });
  const connections = sockets.length;
  const fresh = msg({ content_raw: 'ETH long 3100', content_clean: 'ETH long 3100' });
  await ingest(ctx, [fresh]);
  await page.waitForSelector(card(fresh.discord_message_id));
  assert.equal((await cardIds())[0], fresh.discord_message_id, 'a new signal goes on top');

  await ingest(ctx, [msg({
    discord_message_id: fresh.discord_message_id, event_type: 'update', created_at: fresh.created_at,
    content_raw: 'ETH long 3100 — TP1 hit', content_clean: 'ETH long 3100 — TP1 hit', edited_at: new Date().toISOString(),
  })]);
  await page.waitForSelector(`${card(fresh.discord_message_id)} .signal-content:has-text("TP1 hit")`);
  assert.ok(await page.$(`${card(fresh.discord_message_id)} .badge.edited`), 'marked as edited');
  assert.equal((await page.$$(card(fresh.discord_message_id))).length, 1, 'updated in place, not duplicated');

  await ingest(ctx, [msg({ discord_message_id: seeded.alt.discord_message_id, discord_channel_id: CH_B, event_type: 'delete', deleted_at: new Date().toISOString() })]);
  await page.waitForSelector(card(seeded.alt.discord_message_id), { state: 'detached' });
  assert.deepEqual(await cardIds(), [fresh.discord_message_id, seeded.rich.discord_message_id]);
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was never reloaded');
  assert.equal(sockets.length, connections, 'all on the same connection');
  seeded.fresh = fresh;
});

test('message text, names and embeds render as text, never as markup', async () => {
  const payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>**bold** &amp;';
  const evil = msg({
    content_raw: payload, content_clean: payload,
    author_global_name: '<b onmouseover="window.__xss=3">Mallory</b>',
    attachments: [{ discord_attachment_id: snowflake(), filename: '<svg onload="window.__xss=4">.png', source_url: 'https://cdn.example.com/a.png', size: 10 }],
    embeds: [{ embed_index: 0, title: '<img src=y onerror="window.__xss=5">', description: '<a href="javascript:window.__xss=6">click</a>', url: 'javascript:window.__xss=7' }],
  });
  await ingest(ctx, [evil]);
  const sel = card(evil.discord_message_id);
  await page.waitForSelector(sel);
  const el = await page.$(sel);
  assert.equal(await el.$eval('.signal-content', (e) => e.textContent), payload);
  assert.equal(await el.$eval('.author', (e) => e.textContent), '<b onmouseover="window.__xss=3">Mallory</b>');
  assert.equal(await el.$eval('a.attachment', (e) => e.textContent), '<svg onload="window.__xss=4">.png');
  assert.equal(await el.$eval('.embed-title', (e) => e.textContent), '<img src=y onerror="window.__xss=5">');
  assert.equal(await el.$eval('.embed-description', (e) => e.textContent), '<a href="javascript:window.__xss=6">click</a>');
  assert.equal(await el.$$eval('img, script, b, svg:not(.icon), [onerror], [onload], [onmouseover]', (n) => n.length), 0, 'no elements from data');
  assert.equal(await el.$$eval('.embed a', (n) => n.length), 0, 'a javascript: URL is not made a link');
  await el.hover();
  await page.click(`${sel} .embed-title`);
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script ran');
  seeded.evil = evil;
});

test('after a drop it reconnects with a fresh ticket and resumes from the last seq', async () => {
  const first = sockets[sockets.length - 1];
  const seqBefore = await page.evaluate(() => window.__signalRelay.feed.seq);
  assert.ok(seqBefore >= 5, `seq tracked (${seqBefore})`);
  // Hold the reconnection's ticket request until a signal has been ingested during the gap.
  let release;
  const gate = new Promise((r) => { release = r; });
  let ticketRequests = 0;
  await page.route('**/v1/feed-tickets', async (route) => {
    ticketRequests += 1;
    await gate;
    await route.continue();
  });
  await first.page.close({ code: 4001, reason: 'test drop' });
  await first.upstream.close();
  await page.waitForSelector('#connection .status[data-state="reconnecting"]');

  const missed = msg({ content_raw: 'missed while offline', content_clean: 'missed while offline' });
  await ingest(ctx, [missed]);
  await poll(() => ticketRequests > 0, { what: 'reconnect asks for a new ticket' });
  release();
  await page.waitForSelector(card(missed.discord_message_id), { timeout: 15_000 });
  await page.waitForSelector('#connection .status[data-state="live"]');
  await page.unroute('**/v1/feed-tickets');

  const second = sockets[sockets.length - 1];
  assert.notEqual(second, first);
  assert.equal(new URL(second.url).searchParams.get('since'), String(seqBefore), 'resumes from the highest seq seen');
  assert.notEqual(new URL(second.url).searchParams.get('ticket'), new URL(first.url).searchParams.get('ticket'), 'with a fresh ticket');
  assert.ok(!second.frames.some((f) => f.type === 'snapshot'), 'replayed, not re-snapshotted');
  assert.ok(second.frames.some((f) => f.signal?.discord_message_id === missed.discord_message_id), 'the missed signal was replayed');
  const ids = await cardIds();
  assert.equal(ids[0], missed.discord_message_id);
  assert.ok(ids.includes(seeded.fresh.discord_message_id) && ids.includes(seeded.rich.discord_message_id), 'earlier signals kept');
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
});

test('the channel filter narrows the feed to one channel', async () => {
  const beta = msg({ discord_channel_id: CH_B, content_raw: 'DOGE breakout', content_clean: 'DOGE breakout' });
  await ingest(ctx, [beta]);
  await page.waitForSelector(card(beta.discord_message_id));
  const labels = await optionLabels(page, '#channel-filter');
  assert.deepEqual([...labels].sort(), ['#alt-calls', '#btc-calls']);

  const before = sockets.length;
  await page.selectOption('#channel-filter', CH_B);
  await poll(() => sockets.length > before, { what: 'a channel-scoped connection' });
  await page.waitForSelector('#connection .status[data-state="live"]');
  await poll(async () => {
    const ids = await cardIds();
    return ids.length === 1 && ids[0] === beta.discord_message_id;
  }, { what: 'only alt-calls signals' });
  await screenshot(page, 'dashboard-filtered');

  // Live traffic on another channel does not arrive; on this channel it does.
  const otherCh = msg({ content_raw: 'BTC add', content_clean: 'BTC add' });
  const thisCh = msg({ discord_channel_id: CH_B, content_raw: 'DOGE TP', content_clean: 'DOGE TP' });
  await ingest(ctx, [otherCh]);
  await ingest(ctx, [thisCh]);
  await page.waitForSelector(card(thisCh.discord_message_id));
  assert.equal(await page.$(card(otherCh.discord_message_id)), null);

  await page.selectOption('#channel-filter', '');
  await page.waitForSelector(card(otherCh.discord_message_id));
  await page.waitForSelector(card(seeded.rich.discord_message_id));
  await screenshot(page, 'dashboard');
  assert.deepEqual(await unlabelled(page), []);
});

test('a ?ticket= link opens the feed directly and leaves the address bar clean', async () => {
  const t = await ticket(server, ctx.tenant, { ttl_seconds: 60 });
  const p2 = await chrome.newPage({ viewport: { width: 390, height: 844 } });
  await p2.goto(`${server.baseUrl}/dashboard/?ticket=${encodeURIComponent(t.ticket)}`);
  await p2.waitForSelector('#connection .status[data-state="live"]');
  await p2.waitForSelector(`#signals li[data-message-id="${seeded.rich.discord_message_id}"]`);
  assert.equal(new URL(p2.url()).searchParams.get('ticket'), null, 'ticket removed from the URL');
  assert.equal(await p2.textContent('#tenant-name'), ctx.tenant);
  await screenshot(p2, 'dashboard-mobile');
  assert.deepEqual(p2.errors, []);

  const p3 = await chrome.newPage();
  await p3.goto(`${server.baseUrl}/dashboard/?ticket=bogus.ticket`);
  await p3.waitForSelector('#connection .status[data-state="offline"]', { timeout: 20_000 });
  assert.match(await p3.textContent('.error-box'), /link was refused/);
  await p2.close();
  await p3.close();
});

test('heartbeats: pings every 20 s, and a silent connection is replaced', async () => {
  const t = await ticket(server, ctx.tenant, { ttl_seconds: 300 });
  const p = await chrome.newPage();
  await p.clock.install();
  const conns = [];
  let silent = false;
  await p.routeWebSocket(/\/v1\/feed\?/, (ws) => {
    const rec = { url: ws.url(), sent: [], received: [] };
    const upstream = ws.connectToServer();
    upstream.onMessage((m) => {
      if (silent) return; // a half-dead connection: nothing gets through any more
      rec.received.push(JSON.parse(m));
      ws.send(m);
    });
    ws.onMessage((m) => { rec.sent.push(m); upstream.send(m); });
    conns.push(rec);
  });
  await p.goto(`${server.baseUrl}/dashboard/?ticket=${encodeURIComponent(t.ticket)}`);
  await p.waitForSelector('#connection .status[data-state="live"]');
  await poll(() => conns[0]?.received.some((f) => f.type === 'snapshot'), { what: 'snapshot' });
  assert.deepEqual(conns[0].sent, []);

  await p.clock.runFor(20_500);
  await poll(() => conns[0].sent.includes('{"type":"ping"}'), { what: 'a client ping' });
  await poll(() => conns[0].received.some((f) => f.type === 'pong'), { what: 'the pong' });
  const seq = await p.evaluate(() => window.__signalRelay.feed.seq);

  silent = true;
  await p.clock.runFor(100_000);
  await poll(() => conns.length === 2, { what: 'a replacement connection' });
  silent = false;
  assert.equal(new URL(conns[1].url).searchParams.get('since'), String(seq), 'the replacement resumes');
  await p.clock.runFor(2_000);
  await p.waitForSelector('#connection .status[data-state="live"]');
  assert.deepEqual(p.errors, []);
  await p.close();
});

test('the dashboard raised no page errors', () => {
  assert.deepEqual(page.errors, []);
});

