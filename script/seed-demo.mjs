// Seeds the local demo through the public admin and connector APIs (idempotent), writes
// .dev/credentials.json and prints how to use it.
//
//   node script/seed-demo.mjs <base_url> <admin_token>
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';

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

async function call(method, path, body, token = adminToken) {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* empty body */ }
  return { status: res.status, json };
}

function must(res, ...ok) {
  if (!ok.includes(res.status)) {
    console.error('seed failed:', res.status, JSON.stringify(res.json));
    process.exit(1);
  }
  return res;
}

must(await call('POST', '/v1/admin/tenants', { tenant_key: TENANT, name: 'Demo signals' }), 201, 409);

// Reuse the token from an earlier run when it still works; otherwise create or rotate.
let token = null;
if (existsSync(CREDENTIALS)) {
  try {
    const old = JSON.parse(readFileSync(CREDENTIALS, 'utf8'));
    const probe = await call('GET', `/connectors/${CONNECTOR}/runtime-config?tenant_key=${TENANT}`, undefined, old.connector_token);
    if (probe.status === 200) token = old.connector_token;
  } catch { /* unreadable: mint a new token */ }
}
if (!token) {
  const created = must(await call('POST', `/v1/admin/tenants/${TENANT}/connectors`,
    { connector_id: CONNECTOR, name: 'Demo connector' }), 201, 409);
  const res = created.status === 201 ? created
    : must(await call('POST', `/v1/admin/tenants/${TENANT}/connectors/${CONNECTOR}/rotate-token`), 200);
  token = res.json.token;
}

const c = `/v1/admin/tenants/${TENANT}/connectors/${CONNECTOR}`;
must(await call('PUT', `${c}/sources/${SOURCE}`, { guild_id: GUILD, is_source: true, is_target: false }), 200);
must(await call('PUT', `${c}/sources/${TARGET}`, { guild_id: GUILD, is_source: false, is_target: true }), 200);
must(await call('PUT', `${c}/mappings/${SOURCE}/${TARGET}`, { filters_json: {}, transform_json: {}, priority: 0 }), 200);
// Names for the admin pickers, as the connector would report them.
must(await call('POST', '/ingest/channel-guild-sync', {
  connector_id: CONNECTOR, tenant_key: TENANT, idempotency_key: 'seed-discovery',
  guilds: [{ discord_guild_id: GUILD, name: 'Demo Signals HQ' }],
  channels: [
    { discord_channel_id: SOURCE, guild_id: GUILD, name: 'btc-signals', type: 0, parent_id: null, position: 1 },
    { discord_channel_id: TARGET, guild_id: GUILD, name: 'customer-mirror', type: 0, parent_id: null, position: 2 },
  ],
}, token), 200);

const credentials = {
  base_url: baseUrl,
  admin_token: adminToken,
  tenant_key: TENANT,
  connector_id: CONNECTOR,
  connector_token: token,
};
mkdirSync('.dev', { recursive: true });
writeFileSync(CREDENTIALS, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });

const now = new Date().toISOString();
const id = String(1300000000000000000n + BigInt(Date.now()) * 4194304n % 1000000000000000n);
console.log(`
Signal Relay is running.

  API            ${baseUrl}
  Health         ${baseUrl}/health
  Admin UI       ${baseUrl}/admin/
  Dashboard      ${baseUrl}/dashboard/
  Credentials    ${CREDENTIALS}
${JSON.stringify(credentials, null, 2).replace(/^/gm, '    ')}

Send a signal (it appears live on the dashboard):

  curl -s ${baseUrl}/ingest/message-batch \\
    -H 'authorization: Bearer ${token}' -H 'content-type: application/json' \\
    -d '{"connector_id":"${CONNECTOR}","tenant_key":"${TENANT}","sent_at":"${now}","batch_id":"demo-1",
         "messages":[{"idempotency_key":"${TENANT}:${CONNECTOR}:message:${id}:create","event_type":"create",
         "discord_message_id":"${id}","discord_guild_id":"${GUILD}","discord_channel_id":"${SOURCE}",
         "discord_thread_id":null,"discord_author_id":"1300000000000000999","author_username":"analyst",
         "author_global_name":"Analyst","content_raw":"BTC long 65000, SL 63000","content_clean":"BTC long 65000, SL 63000",
         "created_at":"${now}","edited_at":null,"deleted_at":null,"attachments":[],"embeds":[]}]}'
`);
