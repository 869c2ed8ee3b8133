// Seeds the local demo through the public admin and connector APIs, writes
// .dev/credentials.json (relative to the working directory) and prints how to use it.
//
//   node script/seed-demo.mjs <base_url> <admin_token>
//
// `script/server` runs this on every start, against whatever an operator left in the console:
// a paused connector, a rotated token, deleted or edited channels and mappings, a missing or
// stale credentials file. So every step is idempotent, nothing an operator changed on purpose is
// undone, and a step that cannot run is skipped with the reason printed. The exit code is 0
// whenever the server answered; 1 only when it could not be reached at all (2: usage).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const [baseUrl, adminToken] = process.argv.slice(2);
if (!baseUrl || !adminToken) {
  console.error('usage: node script/seed-demo.mjs <base_url> <admin_token>');
  process.exit(2);
}
const TENANT = 'demo';
const CONNECTOR = 'demo-connector';
const GUILD = '1300000000000000000';
const SOURCE = '1300000000000000100';
const TARGET = '1300000000000000200';
const CREDENTIALS = '.dev/credentials.json';
const CUSTOMER_EMAIL = 'customer@example.com';
const TIERS = [['basic', 'Basic', 1], ['advanced', 'Advanced', 2], ['pro', 'Pro', 3]];
const DISCORD_EPOCH = 1420070400000n;

const notes = [];
/** Prints (and counts) a step that was skipped or done differently, and why. */
function note(reason) {
  notes.push(reason);
  console.log(`seed: ${reason}`);
}

class Unreachable extends Error {}

async function call(method, path, body, token = adminToken) {
  let res;
  try {
    res = await fetch(baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new Unreachable(`${baseUrl} is not reachable (${e.cause?.code ?? e.message})`);
  }
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

/** "403 connector_paused (this connector is paused by an operator)" */
function describe(res) {
  const code = res.json?.error_code;
  const message = res.json?.message ?? res.text.slice(0, 200);
  return `${res.status}${code ? ` ${code}` : ''}${message ? ` (${message})` : ''}`;
}

/** A Discord snowflake for the current time: the id's encoded time agrees with created_at. */
let counter = 0;
function snowflakeNow(ms = Date.now()) {
  counter = (counter + 1) % 4096;
  return String(((BigInt(ms) - DISCORD_EPOCH) << 22n) + BigInt(counter));
}

function readCredentials() {
  let text;
  try {
    text = readFileSync(CREDENTIALS, 'utf8');
  } catch {
    return null; // missing: nothing to reuse
  }
  try {
    const c = JSON.parse(text);
    return c && typeof c === 'object' ? c : null;
  } catch {
    note(`${CREDENTIALS} is not valid JSON: replaced it`);
    return null;
  }
}

/**
 * The demo connector and a token that authenticates it: the one from an earlier run when it still
 * works, otherwise a new connector's, otherwise a rotated one.
 */
async function connectorAndToken() {
  const path = `/v1/admin/tenants/${TENANT}/connectors/${CONNECTOR}`;
  const existing = await call('GET', path);
  if (existing.status === 404) {
    const created = await call('POST', `/v1/admin/tenants/${TENANT}/connectors`, { connector_id: CONNECTOR, name: 'Demo connector' });
    if (created.status === 201) return { connector: created.json.connector, token: created.json.token, sources: [], mappings: [] };
    if (created.status !== 409) throw new Error(`could not create the demo connector: ${describe(created)}`);
    return connectorAndToken(); // created meanwhile
  }
  if (existing.status !== 200) throw new Error(`could not read the demo connector: ${describe(existing)}`);
  let { connector, sources, mappings } = existing.json;

  const old = readCredentials();
  if (old?.connector_token) {
    // A paused connector still reads its config, so this tells a working token from a stale one
    // whatever the connector's status.
    const probe = await call('GET', `/connectors/${CONNECTOR}/runtime-config?tenant_key=${TENANT}`, undefined, old.connector_token);
    if (probe.status === 200) return { connector, token: old.connector_token, sources, mappings };
    note(`the connector token in ${CREDENTIALS} was refused (${describe(probe)}; rotated from the console?): rotated it to get a working one`);
  } else {
    note(`no connector token in ${CREDENTIALS} to reuse: rotated the demo connector's token`);
  }
  const rotated = await call('POST', `${path}/rotate-token`);
  if (rotated.status !== 200) throw new Error(`could not rotate the demo connector's token: ${describe(rotated)}`);
  connector = rotated.json.connector;
  return { connector, token: rotated.json.token, sources, mappings };
}

/** The demo's channels and mapping, where they are missing; an operator's edits are kept. */
async function channelsAndMapping({ sources, mappings }) {
  const c = `/v1/admin/tenants/${TENANT}/connectors/${CONNECTOR}`;
  const wanted = [
    { id: SOURCE, name: '#btc-signals', role: 'a source', body: { guild_id: GUILD, is_source: true, is_target: false } },
    { id: TARGET, name: '#customer-mirror', role: 'a target', body: { guild_id: GUILD, is_source: false, is_target: true } },
  ];
  for (const w of wanted) {
    const s = sources.find((x) => x.channel_id === w.id);
    if (!s) {
      const r = await call('PUT', `${c}/sources/${w.id}`, w.body);
      if (r.status === 200) sources.push(r.json.source ?? { channel_id: w.id, ...w.body, is_enabled: true });
      else note(`could not add ${w.name} as ${w.role}: ${describe(r)}`);
    } else if (s.is_source !== w.body.is_source || s.is_target !== w.body.is_target || s.is_enabled === false) {
      note(`kept the console's edits to ${w.name} (the demo has it as ${w.role}, enabled)`);
    }
  }
  if (mappings.some((m) => m.source_channel_id === SOURCE && m.target_channel_id === TARGET)) return;
  const r = await call('PUT', `${c}/mappings/${SOURCE}/${TARGET}`, { filters_json: {}, transform_json: {}, priority: 0 });
  if (r.status !== 200) note(`skipped the demo mapping #btc-signals → #customer-mirror: ${describe(r)}`);
}

/** Names for the admin pickers, as the connector would report them. */
async function discoverySync(connector, token) {
  if (connector.status === 'paused') {
    note('demo connector is paused: skipped the discovery sync; resume it in the console');
    return;
  }
  const r = await call('POST', '/ingest/channel-guild-sync', {
    connector_id: CONNECTOR,
    tenant_key: TENANT,
    idempotency_key: 'seed-discovery',
    guilds: [{ discord_guild_id: GUILD, name: 'Demo Signals HQ' }],
    channels: [
      { discord_channel_id: SOURCE, guild_id: GUILD, name: 'btc-signals', type: 0, parent_id: null, position: 1 },
      { discord_channel_id: TARGET, guild_id: GUILD, name: 'customer-mirror', type: 0, parent_id: null, position: 2 },
    ],
  }, token);
  if (r.status === 403 && r.json?.error_code === 'connector_paused') {
    note('demo connector is paused: skipped the discovery sync; resume it in the console');
  } else if (r.status !== 200) {
    note(`skipped the discovery sync: ${describe(r)}`);
  } else if (r.json?.rejected?.length) {
    note(`the discovery sync stored, but ${r.json.rejected.length} item(s) were rejected: ${JSON.stringify(r.json.rejected)}`);
  }
}

/**
 * Tiers and the source channel's visibility the first time (an operator's later edits are
 * kept), and a demo customer holding Basic: signed up once, its password kept in the
 * credentials file; if that password no longer works, a reset link is printed instead.
 */
async function customerDemo(old) {
  const base = `/v1/admin/tenants/${TENANT}`;
  const tiers = await call('GET', `${base}/tiers`);
  if (tiers.status !== 200) {
    note(`skipped the customer demo: tiers answered ${describe(tiers)}`);
    return {};
  }
  if (tiers.json.tiers.length === 0) {
    for (const [key, name, rank] of TIERS) {
      const r = await call('POST', `${base}/tiers`, { key, name, rank, reason: 'demo seed' });
      if (r.status !== 201) note(`could not create tier ${key}: ${describe(r)}`);
    }
    const v = await call('PUT', `${base}/channel-visibility/${SOURCE}`, { min_tier: 'basic', reason: 'demo seed' });
    if (v.status !== 200) note(`could not make #btc-signals visible to Basic: ${describe(v)}`);
  }
  const stored = old?.customer_password ?? null;
  let password = stored ?? `demo-${Math.random().toString(36).slice(2, 10)}-${Date.now().toString(36)}`;
  const asCustomer = (path, body) => fetch(`${baseUrl}/v1/account/${TENANT}/${path}`, {
    method: 'POST',
    headers: { origin: new URL(baseUrl).origin, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!stored) await asCustomer('signup', { email: CUSTOMER_EMAIL, password });
  const login = await asCustomer('login', { email: CUSTOMER_EMAIL, password });
  const found = await call('GET', `${base}/customers?q=${encodeURIComponent(CUSTOMER_EMAIL)}`);
  const customer = found.json?.customers?.find((c) => c.email === CUSTOMER_EMAIL);
  if (!customer) {
    note(`the demo customer could not be found: ${describe(found)}`);
    return {};
  }
  let resetUrl = null;
  if (login.status !== 200) {
    const link = await call('POST', `${base}/customers/${customer.customer_id}/reset-link`, { reason: 'demo seed: no working demo password' });
    resetUrl = link.json?.url ?? null;
    if (stored || old?.customer_reset_url) {
      // Someone chose another password on purpose: keep it, and say how to set one.
      note(`the demo customer's stored password was refused (${login.status}; changed on purpose?): set a new one at ${resetUrl}`);
    } else if (resetUrl) {
      // The credentials file that held the demo password was lost: nobody knows it, set a new one.
      const token = resetUrl.split('#token=')[1];
      const r = await asCustomer('password-reset', { token, new_password: password });
      if (r.status === 204) {
        resetUrl = null;
        note(`no demo customer password in ${CREDENTIALS} to reuse: set a new one`);
      } else {
        note(`could not set a new demo customer password (${r.status}): set one at ${resetUrl}`);
      }
    }
  }
  if (resetUrl) password = null;
  if (!customer.access && customer.status === 'active') {
    const g = await call('POST', `${base}/customers/${customer.customer_id}/grants`, { tier: 'basic', days: 30, reason: 'demo seed' });
    if (g.status !== 201) note(`could not grant the demo customer Basic: ${describe(g)}`);
  }
  return { customer_email: CUSTOMER_EMAIL, customer_password: password, ...(resetUrl ? { customer_reset_url: resetUrl } : {}) };
}

function writeCredentials(credentials) {
  try {
    mkdirSync('.dev', { recursive: true });
    writeFileSync(CREDENTIALS, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
  } catch (e) {
    note(`could not write ${CREDENTIALS} (${e.code ?? e.message}); the credentials are printed below`);
  }
}

/** With the fake Sell.app running: the demo tenant's webhook secret and a policy per seeded
 * variant, so a simulated purchase grants access. */
async function sellappDemo() {
  const secret = process.env.FAKE_SELLAPP_WEBHOOK_SECRET;
  if (!process.env.FAKE_SELLAPP_URL || !secret) return;
  const base = `/v1/admin/tenants/${TENANT}/payments`;
  const s = await call('PUT', `${base}/webhook-secret`, { secret, reason: 'demo seed: the fake Sell.app' });
  if (s.status !== 200) note(`could not set the demo webhook secret: ${describe(s)}`);
  const policies = [
    ['basic-30', 1001, 2001, 'basic', 30, false],
    ['basic-90', 1001, 2002, 'basic', 90, false],
    ['pro-30', 1002, 2003, 'pro', 30, false],
    ['trial-3', 1003, 2004, 'basic', 3, true],
  ];
  for (const [id, product_id, variant_id, tier, duration_days, trial] of policies) {
    const r = await call('PUT', `${base}/policies/${id}`, { product_id, variant_id, tier, duration_days, trial, reason: 'demo seed' });
    if (r.status !== 200 && r.status !== 201) note(`could not save the demo policy ${id}: ${describe(r)}`);
  }
  const store = await call('PUT', `${base}/store`, { store_id: process.env.FAKE_SELLAPP_STORE_ID ?? '4242', reason: 'demo seed: the fake Sell.app store' });
  if (store.status !== 200) note(`could not set the demo store id: ${describe(store)}`);
  // The demo shop: one card per tier, its options linked to the policies above, checkout on the
  // fake Sell.app (http on loopback: the worker runs with SHOP_ALLOW_LOOPBACK_CHECKOUT).
  const co = (variant) => `${process.env.FAKE_SELLAPP_URL}/checkout/${variant}`;
  const shop = await call('PUT', `${base}/catalog`, {
    cards: [
      { tier: 'basic', title: 'Basic', subtitle: 'Every crypto call, live', badge: 'Most popular', description: 'Entries, stops and targets from the desk as they are posted.', order: 1, active: true },
      { tier: 'pro', title: 'Pro', subtitle: 'Basic plus the scalps', description: 'Short-term setups and the desk’s private notes.', order: 2, active: true },
    ],
    options: [
      { id: 'basic-trial', tier: 'basic', policy_id: 'trial-3', duration_days: 3, display_price: 'Free', highlights: ['Try every basic channel'], checkout_url: co(2004), active: true },
      { id: 'basic-30', tier: 'basic', policy_id: 'basic-30', duration_days: 30, display_price: '$29', highlights: ['All basic channels'], checkout_url: co(2001), active: true },
      { id: 'basic-90', tier: 'basic', policy_id: 'basic-90', duration_days: 90, display_price: '$79', highlights: ['All basic channels', 'Save 10%'], featured: true, checkout_url: co(2002), active: true },
      { id: 'pro-30', tier: 'pro', policy_id: 'pro-30', duration_days: 30, display_price: '$99', highlights: ['Everything in Basic', 'The scalps channel'], checkout_url: co(2003), active: true },
    ],
    reason: 'demo seed: the demo shop',
  });
  if (shop.status !== 200) note(`could not publish the demo shop: ${describe(shop)}`);
}

function sellappUsage(email) {
  const fake = process.env.FAKE_SELLAPP_URL;
  if (!fake) return '';
  return `
Simulate a purchase (the fake Sell.app signs and sends order.created + order.completed to
${baseUrl}/webhooks/sellapp/${TENANT}; variants: 2001 Basic 30 days, 2002 Basic 90 days,
2003 Pro 30 days, 2004 a 3-day trial):

  curl -s ${fake}/_control/purchase -H 'content-type: application/json' \\
    -d '{"email":"${email}","variant_id":2003}'

  or buy in the demo shop: ${baseUrl}/t/${TENANT}/shop/ (signed in as ${email}; checkout opens
  the fake Sell.app with the email filled in and comes back to the checkout-return page)
  or open ${fake}/checkout/2003?email=${encodeURIComponent(email)}
  Webhook outcomes: curl -s -H 'authorization: Bearer ${adminToken}' ${baseUrl}/v1/admin/tenants/${TENANT}/payments/events
`;
}

function printUsage(credentials, connector) {
  const now = new Date();
  const id = snowflakeNow(now.getTime());
  const sentAt = now.toISOString();
  const paused = connector?.status === 'paused'
    ? '\n  (The demo connector is paused: this answers 403 connector_paused until you resume it in the console.)\n'
    : '';
  console.log(`
Signal Relay is running.

  API            ${baseUrl}
  Health         ${baseUrl}/health
  Admin UI       ${baseUrl}/admin/
  Dashboard      ${baseUrl}/dashboard/
  Shop           ${baseUrl}/t/${TENANT}/shop/
  Payments       ${baseUrl}/admin/#/t/${TENANT}/payments
  Customer page  ${baseUrl}/t/${TENANT}/   (sign in as ${credentials.customer_email ?? '—'} / ${credentials.customer_password ?? 'see the reset link above'})${process.env.MAIL_SINK_URL ? `\n  Mail sink      ${process.env.MAIL_SINK_URL}/   (what the email API was asked to send)` : ''}
  Credentials    ${CREDENTIALS}
${JSON.stringify(credentials, null, 2).replace(/^/gm, '    ')}

Send a signal (it appears live on the dashboard):
${paused}
  curl -s ${baseUrl}/ingest/message-batch \\
    -H 'authorization: Bearer ${credentials.connector_token}' -H 'content-type: application/json' \\
    -d '{"connector_id":"${CONNECTOR}","tenant_key":"${TENANT}","sent_at":"${sentAt}","batch_id":"demo-${id}",
         "messages":[{"idempotency_key":"${TENANT}:${CONNECTOR}:message:${id}:create","event_type":"create",
         "discord_message_id":"${id}","discord_guild_id":"${GUILD}","discord_channel_id":"${SOURCE}",
         "discord_thread_id":null,"discord_author_id":"1300000000000000999","author_username":"analyst",
         "author_global_name":"Analyst","content_raw":"BTC long 65000, SL 63000","content_clean":"BTC long 65000, SL 63000",
         "created_at":"${sentAt}","edited_at":null,"deleted_at":null,"attachments":[],"embeds":[]}]}'
${sellappUsage(credentials.customer_email ?? CUSTOMER_EMAIL)}`);
}

async function seed() {
  const health = await call('GET', '/health', undefined, null);
  if (health.status !== 200) note(`/health answered ${describe(health)}; seeding anyway`);

  const tenant = await call('POST', '/v1/admin/tenants', { tenant_key: TENANT, name: 'Demo signals' });
  if (tenant.status === 401) {
    note('the admin token was refused (401): skipped seeding; check ADMIN_TOKEN in .dev.vars');
    return;
  }
  if (tenant.status !== 201 && tenant.status !== 409) {
    note(`could not create the demo tenant: ${describe(tenant)}; skipped seeding`);
    return;
  }

  let state;
  try {
    state = await connectorAndToken();
  } catch (e) {
    if (e instanceof Unreachable) throw e;
    note(`${e.message}: skipped the rest of the seeding`);
    return;
  }
  await channelsAndMapping(state);
  await discoverySync(state.connector, state.token);
  const customer = await customerDemo(readCredentials());
  await sellappDemo();

  const credentials = {
    base_url: baseUrl,
    admin_token: adminToken,
    tenant_key: TENANT,
    connector_id: CONNECTOR,
    connector_token: state.token,
    customer_url: `${baseUrl}/t/${TENANT}/`,
    ...customer,
  };
  writeCredentials(credentials);
  printUsage(credentials, state.connector);
}

try {
  await seed();
  if (notes.length) console.log(`seed: done; ${notes.length} step(s) skipped or done differently, see above`);
} catch (e) {
  if (e instanceof Unreachable) {
    console.error(`seed failed: ${e.message}`);
    process.exit(1);
  }
  // A bug here must not take the server down with it: report it and let the run go on.
  console.error(`seed: unexpected error, seeding stopped: ${e.stack ?? e}`);
}
