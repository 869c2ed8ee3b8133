// The customer dashboard against the real worker: a customer signs up under the tenant's
// prefix, sees nothing until an operator grants a tier, then watches exactly that tier's
// channels live (create, edit, delete), pages in history, filters by channel, resumes after a
// drop, renders hostile messages inert, and loses the feed the moment access is revoked. Also:
// a customer without access and one whose tier sees no channel, and the phone screenshot in
// docs/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../../harness/worker.mjs';
import { ingest, message, provision, snowflake } from '../../harness/client.mjs';
import { ensureUiBuilt, launch, poll, screenshot, texts, unlabelled } from '../../harness/browser.mjs';
import { ROOT } from '../../harness/process.mjs';

const GUILD = '1300000000000000000';
const CH_BTC = snowflake();
const CH_ALT = snowflake();
const CH_PRO = snowflake();
const PASSWORD = 'correct horse battery staple';
const SNAPSHOT = 6; // FEED_SNAPSHOT_LIMIT for this server: history has something to page in
const OLD = 40; // older signals: more than one history page (30)
// What the older signals say (every one names a USDT pair: a page that must show none of them
// is checked for "USDT").
const CALLS = [
  '**BTCUSDT** long 64,200 · SL 63,100 · TP 66,000',
  '**ETHUSDT** short 3,420 — SL 3,480, TP 3,300',
  'SOLUSDT scalp long 182.4 · 15m · risk `0.5R`',
  '**LINKUSDT** swing entry 14.20, targets 15.10 / 16.40',
  'TP1 hit on BTCUSDT — move the stop to entry',
  '> AVAXUSDT long 38.90\nSL 37.60 · TP 41.00',
];

let server;
let ctx;
let chrome;
let page;
const sockets = [];
const seeded = { old: [] };
const email = `ana-${Date.now()}@example.com`;

const card = (id) => `#signals li[data-message-id="${id}"]`;
const cardIds = (p = page) => p.$$eval('#signals > li:not([hidden])', (lis) => lis.map((li) => li.dataset.messageId));
const msg = (overrides) => message(ctx, { discord_guild_id: GUILD, discord_channel_id: CH_BTC, ...overrides });
const prefix = (tenant = ctx.tenant) => `${server.baseUrl}/t/${tenant}`;

// A chart for image attachments: the test serves the "CDN" itself, so the page renders a real
// image with no network.
const CHART_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="300" viewBox="0 0 640 300">
<rect width="640" height="300" fill="#0f172a"/>
<g stroke="#1e293b">${Array.from({ length: 9 }, (_, i) => `<line x1="0" x2="640" y1="${i * 35 + 10}" y2="${i * 35 + 10}"/>`).join('')}</g>
${Array.from({ length: 28 }, (_, i) => {
    const x = 14 + i * 22;
    const o = 200 - i * 4 + ((i * 37) % 23) - 11;
    const c = o - 14 + ((i * 53) % 29);
    const up = c < o;
    const top = Math.min(o, c);
    return `<line x1="${x + 5}" x2="${x + 5}" y1="${top - 12}" y2="${Math.max(o, c) + 12}" stroke="${up ? '#22c55e' : '#ef4444'}"/><rect x="${x}" y="${top}" width="10" height="${Math.max(3, Math.abs(o - c))}" fill="${up ? '#22c55e' : '#ef4444'}"/>`;
  }).join('')}
<text x="16" y="28" fill="#e2e8f0" font-family="sans-serif" font-size="18">BTCUSD · 4h</text>
</svg>`;

async function admin(method, path, body) {
  const r = await ctx.admin.request(method, `/v1/admin/tenants/${ctx.tenant}${path}`, { body });
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

async function customerId(address) {
  const { customers } = await admin('GET', `/customers?q=${encodeURIComponent(address)}`);
  const c = customers.find((x) => x.email === address);
  assert.ok(c, `customer ${address} listed`);
  return c.customer_id;
}

async function signUp(p, address) {
  await p.goto(`${prefix()}/signup/`);
  await p.fill('input[name="email"]', address);
  await p.fill('input[name="password"]', PASSWORD);
  await p.click('button[type="submit"]');
  await p.waitForSelector('#subscription');
}

function recordSockets(p, into) {
  return p.routeWebSocket(/\/v1\/feed\?/, (ws) => {
    const rec = { url: ws.url(), frames: [], closed: null, page: ws };
    const upstream = ws.connectToServer();
    rec.upstream = upstream;
    upstream.onMessage((m) => {
      try { rec.frames.push(JSON.parse(m)); } catch { /* not JSON */ }
      ws.send(m);
    });
    ws.onMessage((m) => upstream.send(m));
    ws.onClose(() => { rec.closed ??= { by: 'page' }; upstream.close(); });
    upstream.onClose((code, reason) => { rec.closed ??= { by: 'server', code, reason }; ws.close({ code, reason }); });
    into.push(rec);
  });
}

before(async () => {
  ensureUiBuilt();
  server = await startServer({ vars: { FEED_SNAPSHOT_LIMIT: String(SNAPSHOT) } });
  ctx = await provision(server, { tenant: 'desk', connector: 'conn_cust' });
  const sync = await ctx.api.post('/ingest/channel-guild-sync', {
    connector_id: ctx.connector,
    tenant_key: ctx.tenant,
    guilds: [{ discord_guild_id: GUILD, name: 'Trading Desk' }],
    channels: [
      { discord_channel_id: CH_BTC, guild_id: GUILD, name: 'btc-calls', type: 0, position: 1 },
      { discord_channel_id: CH_ALT, guild_id: GUILD, name: 'alt-calls', type: 0, position: 2 },
      { discord_channel_id: CH_PRO, guild_id: GUILD, name: 'pro-scalps', type: 0, position: 3 },
    ],
  });
  assert.equal(sync.status, 200, sync.text);
  for (const ch of [CH_BTC, CH_ALT, CH_PRO]) {
    const r = await ctx.admin.put(`/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}/sources/${ch}`, { guild_id: GUILD, is_source: true });
    assert.equal(r.status, 200, r.text);
  }
  await admin('POST', '/tiers', { key: 'free', name: 'Free', rank: 0 });
  await admin('POST', '/tiers', { key: 'basic', name: 'Basic', rank: 1 });
  await admin('POST', '/tiers', { key: 'pro', name: 'Pro', rank: 3 });
  await admin('PUT', `/channel-visibility/${CH_BTC}`, { min_tier: 'basic' });
  await admin('PUT', `/channel-visibility/${CH_ALT}`, { min_tier: 'basic' });
  await admin('PUT', `/channel-visibility/${CH_PRO}`, { min_tier: 'pro' });

  // History: more signals than one snapshot holds, oldest first, an hour ago.
  const t0 = Date.now() - 3_600_000;
  for (let i = 0; i < OLD; i += 1) {
    const text = CALLS[i % CALLS.length];
    seeded.old.push(msg({
      discord_channel_id: i % 3 === 0 ? CH_ALT : CH_BTC,
      content_raw: text, content_clean: text,
      author_global_name: i % 2 ? 'Marco Trades' : 'Ana Lyst', author_username: i % 2 ? 'marco' : 'analyst',
      created_at: new Date(t0 + i * 60_000).toISOString(),
    }));
  }
  seeded.pro = msg({ discord_channel_id: CH_PRO, content_raw: 'PRO ONLY scalp', content_clean: 'PRO ONLY scalp', created_at: new Date(t0 + 30 * 60_000).toISOString() });
  await ingest(ctx, [...seeded.old, seeded.pro]);

  chrome = await launch();
  await chrome.context.grantPermissions(['notifications'], { origin: server.baseUrl });
  await chrome.context.route('https://cdn.example.com/**', (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: CHART_SVG }));
  page = await chrome.newPage();
  await recordSockets(page, sockets);
});

after(async () => {
  await chrome?.close();
  await server?.close();
});

test('signs up under the tenant prefix and sees the no-access state, with no signal anywhere', async () => {
  // From the landing page's "Customer pages" box to the tenant's prefix.
  await page.goto(`${server.baseUrl}/`);
  await page.fill('#customer-tenant', ctx.tenant);
  await page.click('#customer-go button[type="submit"]');
  await page.waitForSelector('form input[name="email"]');
  assert.match(new URL(page.url()).pathname, /\/t\/desk\/login\/$/, 'signed out: the dashboard sends to login');
  await page.click('text=Create an account');
  await page.waitForSelector('text=Create your account');
  assert.deepEqual(await unlabelled(page), []);

  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', 'short');
  await page.click('button[type="submit"]');
  assert.equal(await page.$eval('input[name="password"]', (i) => i.validity.tooShort), true, 'the browser holds a short password back');

  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('#empty-state[data-state="no-access"]');
  assert.equal(new URL(page.url()).pathname, '/t/desk/');
  assert.match(await page.textContent('#subscription'), /No active subscription/);
  assert.deepEqual(await page.$$eval('#visibility .locked li', (lis) => lis.map((li) => li.dataset.channelId).sort()), [CH_BTC, CH_ALT, CH_PRO].sort());
  assert.equal(await page.$$eval('#signals li', (l) => l.length), 0);
  assert.equal(sockets.length, 0, 'no feed socket without access');
  assert.doesNotMatch(await page.textContent('body'), /USDT|PRO ONLY/);
  const shop = await page.$eval('#empty-state a', (a) => a.getAttribute('href'));
  assert.equal(shop, '/t/desk/shop/');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is HttpOnly');
  assert.deepEqual(await unlabelled(page), []);
});

test('an operator grants a tier: the page goes live with that tier’s channels, no reload', async () => {
  await page.evaluate(() => { window.__noReload = true; });
  await admin('POST', `/customers/${await customerId(email)}/grants`, { tier: 'basic', days: 30, reason: 'browser test' });
  await page.waitForSelector('#connection .status[data-state="live"]');
  await poll(async () => (await cardIds()).length === SNAPSHOT, { what: 'the snapshot' });
  const newest = seeded.old.slice(-SNAPSHOT).map((s) => s.discord_message_id).reverse();
  assert.deepEqual(await cardIds(), newest, 'newest first, the tier’s channels only');
  assert.equal(await page.$(card(seeded.pro.discord_message_id)), null, 'a Pro channel stays out');
  assert.equal(await page.evaluate(() => window.__noReload), true);

  assert.equal(await page.textContent('#subscription .tier'), 'Basic');
  assert.match(await page.textContent('#countdown'), /^29 d 23 h \d\d m$|^30 d 00 h 00 m$/);
  assert.equal(await page.isHidden('#renewal-reminder'), true, 'no reminder a month out');
  assert.deepEqual((await texts(page, '#visibility .available .ch-name')).sort(), ['#alt-calls', '#btc-calls']);
  assert.deepEqual(await texts(page, '#visibility .locked .ch-name'), ['#pro-scalps']);
  assert.match(await page.textContent('#visibility .locked'), /Pro\+/);
  const chips = await texts(page, '#channel-chips button');
  assert.deepEqual([chips[0], ...chips.slice(1).sort()], ['All channels', '#alt-calls', '#btc-calls'], 'chips named from discovery');
  const first = sockets[0];
  assert.ok(first, 'a feed socket');
  assert.ok(!new URL(first.url).searchParams.has('since'));
  assert.equal(first.frames[0]?.type, 'snapshot');
});

test('a signal ingested through the connector API appears live; its edit and delete show live', async () => {
  const connections = sockets.length;
  const fresh = msg({ content_raw: 'ETH **long** 3100', content_clean: 'ETH **long** 3100' });
  await ingest(ctx, [fresh]);
  await page.waitForSelector(card(fresh.discord_message_id));
  assert.equal((await cardIds())[0], fresh.discord_message_id, 'on top');
  assert.equal(await page.textContent(`${card(fresh.discord_message_id)} .signal-content strong`), 'long', 'markdown rendered');
  await page.waitForSelector('.toast:has-text("New signal in #btc-calls")');
  assert.match(await page.textContent('.toast'), /ETH long 3100/, 'the toast shows the text without markup');

  await ingest(ctx, [msg({
    discord_message_id: fresh.discord_message_id, event_type: 'update', created_at: fresh.created_at,
    content_raw: 'ETH **long** 3100 — TP1 hit', content_clean: 'ETH **long** 3100 — TP1 hit', edited_at: new Date().toISOString(),
  })]);
  await page.waitForSelector(`${card(fresh.discord_message_id)} .signal-content:has-text("TP1 hit")`);
  assert.ok(await page.$(`${card(fresh.discord_message_id)} .badge.edited`), 'marked as edited');
  assert.equal((await page.$$(card(fresh.discord_message_id))).length, 1, 'in place');

  await ingest(ctx, [msg({ discord_message_id: fresh.discord_message_id, event_type: 'delete', created_at: fresh.created_at, deleted_at: new Date().toISOString() })]);
  await page.waitForSelector(card(fresh.discord_message_id), { state: 'detached' });

  // Live traffic in a channel above the tier never reaches the page.
  const pro = msg({ discord_channel_id: CH_PRO, content_raw: 'PRO live', content_clean: 'PRO live' });
  const basic = msg({ content_raw: 'BTC add 64k', content_clean: 'BTC add 64k' });
  await ingest(ctx, [pro]);
  await ingest(ctx, [basic]);
  await page.waitForSelector(card(basic.discord_message_id));
  assert.equal(await page.$(card(pro.discord_message_id)), null);
  assert.ok(!sockets.some((s) => s.frames.some((f) => JSON.stringify(f).includes(pro.discord_message_id))), 'not even as a frame');
  assert.equal(sockets.length, connections, 'all on one connection');
  seeded.basic = basic;
});

test('a hostile signal renders inert: no script runs, links are not javascript:', async () => {
  const evil = msg({
    content_raw: 'x',
    content_clean: '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> [claim](javascript:window.pwned=3) <javascript:window.pwned=4> **<svg onload="window.pwned=5">**',
    author_global_name: '<img src=y onerror="window.pwned=6">',
    attachments: [
      // (Ingest itself refuses a non-http(s) source_url; the page must not depend on that.)
      { discord_attachment_id: snowflake(), filename: '<svg onload="window.pwned=7">.png', source_url: 'https://cdn.example.com/file.bin', size: 10, content_type: 'application/octet-stream' },
      { discord_attachment_id: snowflake(), filename: 'ok.png', source_url: 'http://cdn.example.com/plain-http.png', size: 10, content_type: 'image/png' },
    ],
    embeds: [{ embed_index: 0, title: 'Embed', url: 'javascript:window.pwned=9', description: '[more](javascript:window.pwned=10)', raw_json: { image: { url: 'javascript:window.pwned=11' }, fields: [{ name: '<b>f</b>', value: '[v](data:text/html,<script>window.pwned=12</script>)' }] } }],
  });
  await ingest(ctx, [evil]);
  const sel = card(evil.discord_message_id);
  await page.waitForSelector(sel);
  const el = await page.$(sel);
  assert.match(await el.$eval('.signal-content', (e) => e.textContent), /^<img src=x onerror="window.pwned=1"><script>window.pwned=2<\/script> claim/);
  assert.equal(await el.$eval('.author', (e) => e.textContent), '<img src=y onerror="window.pwned=6">');
  assert.equal(await el.$$eval('script, svg:not(.icon), iframe, [onerror], [onload], b', (n) => n.length), 0, 'no elements from data');
  assert.equal(await el.$$eval('img', (n) => n.length), 0, 'no image from a javascript: or plain-http URL');
  const hrefs = await el.$$eval('a', (as) => as.map((a) => a.getAttribute('href')));
  for (const href of hrefs) assert.match(href, /^https?:/, `href ${href}`);
  assert.ok(!hrefs.some((x) => /^javascript:|^data:/i.test(x)));
  assert.equal(await el.$eval('.unsafe-link', (e) => e.textContent), 'claim', 'the javascript: link is inert text');
  for (const target of await el.$$('.unsafe-link, .signal-content')) {
    await target.hover();
    await target.click();
  }
  await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
  assert.equal(await page.evaluate(() => window.pwned), undefined, 'no script ran');
  await ingest(ctx, [msg({ discord_message_id: evil.discord_message_id, event_type: 'delete', created_at: evil.created_at, deleted_at: new Date().toISOString() })]);
  await page.waitForSelector(sel, { state: 'detached' });
});

test('images render inline, other files as links, embeds with their fields', async () => {
  const rich = msg({
    content_raw: 'x',
    content_clean: '# BTC long 65,000\n> SL 63,000 · TP 68,500\nRisk `1R` — size ||2%||',
    author_global_name: 'Ana Lyst',
    attachments: [
      { discord_attachment_id: snowflake(), filename: 'chart.png', source_url: 'https://cdn.example.com/chart.png', size: 48213, content_type: 'image/png' },
      { discord_attachment_id: snowflake(), filename: 'plan.pdf', source_url: 'https://cdn.example.com/plan.pdf', size: 120_000, content_type: 'application/pdf' },
    ],
    embeds: [{ embed_index: 0, title: 'BTCUSD 4h', url: 'https://www.tradingview.com/x/abc', description: 'Breakout **above** the range.', raw_json: { color: 0x2f9e44, fields: [{ name: 'Entry', value: '65,000', inline: true }, { name: 'Stop', value: '63,000', inline: true }], footer: { text: 'TradingView' } } }],
  });
  await ingest(ctx, [rich]);
  const sel = card(rich.discord_message_id);
  await page.waitForSelector(`${sel} img.attachment-image`);
  await poll(() => page.$eval(`${sel} img.attachment-image`, (i) => i.complete && i.naturalWidth > 0), { what: 'the image loaded' });
  assert.equal(await page.getAttribute(`${sel} img.attachment-image`, 'src'), 'https://cdn.example.com/chart.png');
  assert.equal(await page.textContent(`${sel} a.attachment`), 'plan.pdf');
  assert.equal(await page.getAttribute(`${sel} a.attachment`, 'href'), 'https://cdn.example.com/plan.pdf');
  assert.deepEqual(await texts(page, `${sel} .embed-field dt`), ['Entry', 'Stop']);
  assert.equal(await page.textContent(`${sel} .embed-description strong`), 'above');
  assert.equal(await page.textContent(`${sel} .md-h1`), 'BTC long 65,000');
  seeded.rich = rich;
});

// test-results/customer-dashboard-phone.png; SIGNAL_RELAY_UPDATE_DOCS=1 also refreshes docs/.
test('phone-sized screenshot of the dashboard (docs/customer-dashboard-phone.png)', async () => {
  const p = await chrome.newPage({ viewport: { width: 390, height: 844 } });
  await p.goto(`${prefix()}/`);
  await p.waitForSelector('#connection .status[data-state="live"]');
  await p.waitForSelector(`${card(seeded.rich.discord_message_id)} img.attachment-image`);
  await poll(() => p.$eval(`${card(seeded.rich.discord_message_id)} img.attachment-image`, (i) => i.complete && i.naturalWidth > 0), { what: 'the chart' });
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow}px too wide)`);
  assert.deepEqual(await unlabelled(p), []);
  // Keyboard: the skip link comes first and lands on the content; every stop is visible.
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement?.className), 'skip-link');
  const stops = [];
  for (let i = 0; i < 8; i += 1) {
    await p.keyboard.press('Tab');
    stops.push(await p.evaluate(() => {
      const el = document.activeElement;
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      return { tag: el.tagName, text: (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30), visible: r.width > 0 && r.height > 0, outline: style.outlineStyle !== 'none' || style.boxShadow !== 'none' };
    }));
  }
  for (const s of stops) assert.ok(s.visible && s.outline, `focus visible on ${s.tag} ${s.text}`);
  await p.evaluate(() => document.activeElement?.blur());
  const path = await screenshot(p, 'customer-dashboard-phone');
  // The copy in docs/ is refreshed on request, so a test run leaves the tree clean.
  if (process.env.SIGNAL_RELAY_UPDATE_DOCS === '1') copyFileSync(path, join(ROOT, 'docs/customer-dashboard-phone.png'));
  assert.deepEqual(p.errors, []);
  await p.close();
});

test('history pages in older signals with the cursor, newest first, until there are none', async () => {
  const before = await cardIds();
  assert.ok(!before.includes(seeded.old[0].discord_message_id), 'the oldest is not in the snapshot');
  const pages = [];
  page.on('request', (r) => { if (/\/v1\/account\/[^/]+\/signals\?/.test(r.url())) pages.push(new URL(r.url())); });
  const idle = () => page.waitForFunction(() => !document.querySelector('#load-older')?.hasAttribute('aria-busy'));
  while (await page.isVisible('#load-older')) {
    await page.click('#load-older');
    await idle();
  }
  assert.ok(pages.length >= 2, `more than one page (${pages.length})`);
  assert.ok(!pages[0].searchParams.has('before'), 'the first page starts at the top');
  assert.ok(pages.slice(1).every((u) => u.searchParams.get('before')), 'the next ones pass the cursor');
  await page.waitForSelector('.history-end:not([hidden])');
  const ids = await cardIds();
  seeded.old.forEach((s, i) => assert.ok(ids.includes(s.discord_message_id), `older signal ${i} paged in`));
  assert.ok(!ids.includes(seeded.pro.discord_message_id), 'history is scoped to the tier too');
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  const times = await page.$$eval('#signals > li:not([hidden]) time.signal-time', (ts) => ts.map((t) => Date.parse(t.dateTime)));
  assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
});

test('channel chips filter the feed', async () => {
  await page.click('#channel-chips button:has-text("#alt-calls")');
  assert.equal(await page.getAttribute('#channel-chips button:has-text("#alt-calls")', 'aria-pressed'), 'true');
  const ids = await cardIds();
  const alt = seeded.old.filter((s) => s.discord_channel_id === CH_ALT).map((s) => s.discord_message_id);
  assert.deepEqual([...ids].sort(), [...alt].sort());
  const live = msg({ discord_channel_id: CH_ALT, content_raw: 'ALT live', content_clean: 'ALT live' });
  const other = msg({ content_raw: 'BTC other', content_clean: 'BTC other' });
  await ingest(ctx, [other, live]);
  await page.waitForSelector(card(live.discord_message_id));
  await page.waitForSelector(`${card(other.discord_message_id)}[hidden]`, { state: 'attached' });
  await page.click('#channel-chips button[data-channel=""]');
  await page.waitForSelector(`${card(other.discord_message_id)}:not([hidden])`);
});

test('opt-in alerts: a chime, and a browser notification and a title count while in the background', async () => {
  // Record what the page asks of the Notification and Web Audio APIs.
  await page.evaluate(() => {
    window.notes = [];
    window.chimes = 0;
    window.Notification = class {
      constructor(title, opts) { window.notes.push({ title, body: opts?.body }); }
      close() {}
      static get permission() { return 'granted'; }
      static requestPermission() { return Promise.resolve('granted'); }
    };
    const Real = window.AudioContext;
    window.AudioContext = class extends Real {
      createOscillator() { window.chimes += 1; return super.createOscillator(); }
    };
  });
  assert.equal(await page.isChecked('#alert-sound'), false, 'off until chosen');
  await page.check('#alert-sound');
  await poll(() => page.evaluate(() => window.chimes > 0), { what: 'a preview chime' });
  await page.check('#alert-notify');
  const chimes = await page.evaluate(() => window.chimes);

  // In the foreground: a toast and a chime, no notification.
  const seen = msg({ content_raw: 'DOT long 7.1', content_clean: 'DOT long 7.1' });
  await ingest(ctx, [seen]);
  await page.waitForSelector(card(seen.discord_message_id));
  await poll(() => page.evaluate((n) => window.chimes > n, chimes), { what: 'a chime' });
  assert.deepEqual(await page.evaluate(() => window.notes), []);

  // In the background: a notification with the text, and the count in the title.
  const title = await page.title();
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  const away = msg({ content_raw: '**ADA** short 0.61', content_clean: '**ADA** short 0.61' });
  await ingest(ctx, [away]);
  await page.waitForSelector(card(away.discord_message_id));
  await poll(() => page.evaluate(() => window.notes.length === 1), { what: 'a notification' });
  assert.deepEqual(await page.evaluate(() => window.notes), [{ title: 'New signal in #btc-calls', body: 'ADA short 0.61' }]);
  assert.equal(await page.title(), `(1) ${title}`);
  await page.evaluate(() => {
    delete document.visibilityState;
    document.dispatchEvent(new Event('visibilitychange'));
  });
  assert.equal(await page.title(), title, 'back in front: the count goes');
  await page.uncheck('#alert-sound');
  await page.uncheck('#alert-notify');
});

test('after a drop it reconnects with a fresh ticket and resumes from the last seq', async () => {
  const first = sockets[sockets.length - 1];
  const seqBefore = await page.evaluate(() => window.__signalRelay.feed.seq);
  await first.page.close({ code: 4001, reason: 'test drop' });
  await first.upstream.close();
  await page.waitForSelector('#connection .status[data-state="reconnecting"]');
  const missed = msg({ content_raw: 'missed while offline', content_clean: 'missed while offline' });
  await ingest(ctx, [missed]);
  await page.waitForSelector(card(missed.discord_message_id));
  await page.waitForSelector('#connection .status[data-state="live"]');
  const second = sockets[sockets.length - 1];
  assert.notEqual(second, first);
  assert.ok(Number(new URL(second.url).searchParams.get('since')) >= seqBefore, 'resumes with since');
  assert.ok(!second.frames.some((f) => f.type === 'snapshot'), 'replayed, not re-snapshotted');
});

test('revoking the entitlement closes the feed at once and shows the no-access state', async () => {
  const id = await customerId(email);
  const { entitlements } = await admin('GET', `/customers/${id}`);
  const active = entitlements.find((e) => e.status === 'active');
  await admin('POST', `/customers/${id}/entitlements/${active.entitlement_id}/revoke`, { reason: 'browser test' });
  await page.waitForSelector('#empty-state[data-state="no-access"]');
  assert.equal(await page.$$eval('#signals li', (l) => l.length), 0, 'signals removed from the page');
  const last = sockets[sockets.length - 1];
  await poll(() => last.closed, { what: 'the socket closed' });
  assert.equal(last.closed.by, 'server');
  assert.equal(last.closed.code, 4403);
});

test('a customer without access sees no signals; one whose tier sees no channel is told so', async () => {
  const other = await launch();
  await other.context.route('https://cdn.example.com/**', (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: CHART_SVG }));
  try {
    const p = await other.newPage({ viewport: { width: 390, height: 844 } });
    const own = [];
    await recordSockets(p, own);
    const bob = `bob-${Date.now()}@example.com`;
    await signUp(p, bob);
    await p.waitForSelector('#empty-state[data-state="no-access"]');
    assert.equal(await p.$$eval('#signals li', (l) => l.length), 0);
    const probe = await p.evaluate(async (tenant) => {
      const s = await (await fetch(`/v1/account/${tenant}/session`)).json();
      const r = await fetch(`/v1/account/${tenant}/signals`);
      const t = await fetch(`/v1/account/${tenant}/feed-tickets`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf_token }, body: '{}' });
      return { signals: r.status, code: (await r.json()).error_code, ticket: t.status };
    }, ctx.tenant);
    assert.deepEqual(probe, { signals: 403, code: 'no_access', ticket: 403 });
    await screenshot(p, 'customer-no-access-phone');

    await admin('POST', `/customers/${await customerId(bob)}/grants`, { tier: 'free', days: 7, reason: 'browser test' });
    await p.waitForSelector('#empty-state[data-state="tier-locked"]');
    assert.match(await p.textContent('#empty-state'), /Free plan does not include any channel/);
    assert.match(await p.textContent('#empty-state'), /Upgrade to Basic/);
    assert.equal(own.length, 0, 'never a feed socket');
    assert.doesNotMatch(await p.textContent('body'), /USDT|PRO ONLY|BTC add/);

    // A day's access: live at once, with the renewal reminder linking to the shop.
    await admin('POST', `/customers/${await customerId(bob)}/grants`, { tier: 'basic', days: 1, reason: 'browser test' });
    await p.waitForSelector('#connection .status[data-state="live"]');
    await p.waitForSelector('#renewal-reminder:not([hidden])');
    assert.equal(await p.getAttribute('#renewal-reminder a', 'href'), '/t/desk/shop/');
    assert.match(await p.textContent('#countdown'), /^2[0-3] h \d\d m \d\d s$/);
    await p.waitForSelector('#signals li');
    await screenshot(p, 'customer-renewal-phone');
    assert.deepEqual(p.errors, []);
  } finally {
    await other.close();
  }
});

test('an operator revoking the customer’s sessions closes the feed and signs the page out', async () => {
  const id = await customerId(email);
  await admin('POST', `/customers/${id}/grants`, { tier: 'basic', days: 3, reason: 'browser test' });
  await page.waitForSelector('#connection .status[data-state="live"]');
  const live = sockets[sockets.length - 1];
  await admin('POST', `/customers/${id}/revoke-sessions`, { reason: 'browser test' });
  await page.waitForSelector('form input[name="email"]');
  assert.match(await page.textContent('.notice'), /session has ended/);
  await poll(() => live.closed, { what: 'the socket closed' });
  assert.deepEqual([live.closed.by, live.closed.code], ['server', 4401]);
});

test('the dashboard raised no page errors', () => {
  assert.deepEqual(page.errors, []);
});
