// Seeds the local demo's seat enforcement: maps the demo connector's first source channel into
// the fake demo guild's #signals-premium (a target the seat audit judges access to) and gives
// the guild a seat limit in shadow mode below its seats (the fake's demo members who can view
// that channel), so the console's Seats page shows an audit at once and "would pause".
// Idempotent: a mapping or a seat config that exists (an operator's choice) is left alone.
//
//   node script/seed-seats.mjs <base_url> <admin_token> <fake_discord_base_url>
const [baseUrl, adminToken, fakeUrl] = process.argv.slice(2);
if (!baseUrl || !adminToken || !fakeUrl) {
  console.error('usage: node script/seed-seats.mjs <base_url> <admin_token> <fake_discord_base_url>');
  process.exit(2);
}
const TENANT = 'demo';
const CONNECTOR = 'demo-connector';
const LIMIT = 10;

async function call(method, path, body) {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

const describe = (r) => `${r.status}${r.json?.error_code ? ` ${r.json.error_code}` : ''}${r.json?.message ? ` (${r.json.message})` : ''}`;

async function main() {
  const state = await (await fetch(`${fakeUrl}/_control/state`)).json();
  const guild = state.guilds[0];
  const target = guild.channels.find((c) => c.name === 'signals-premium');
  const conn = await call('GET', `/v1/admin/tenants/${TENANT}/connectors/${CONNECTOR}`);
  if (conn.status !== 200) {
    console.log(`seats: skipped, the demo connector is not readable: ${describe(conn)}`);
    return;
  }
  const { sources = [], mappings = [] } = conn.json;
  const source = sources.find((s) => s.is_source && s.is_enabled);
  if (target && source && !mappings.some((m) => m.target_channel_id === target.id)) {
    const m = await call('PUT', `/v1/admin/tenants/${TENANT}/connectors/${CONNECTOR}/mappings/${source.channel_id}/${target.id}`, {});
    console.log(m.status === 200 ? `seats: mapped a demo source into ${guild.name} #signals-premium` : `seats: mapping skipped: ${describe(m)}`);
  }
  const existing = await call('GET', `/v1/admin/tenants/${TENANT}/seats/${guild.id}`);
  if (existing.status === 200) {
    console.log(`seats: "${guild.name}" already has a seat config (${existing.json.seat.mode}, limit ${existing.json.seat.limit})`);
  } else {
    const put = await call('PUT', `/v1/admin/tenants/${TENANT}/seats/${guild.id}`, { limit: LIMIT, mode: 'shadow' });
    console.log(put.status === 200 ? `seats: "${guild.name}" has a seat limit of ${LIMIT} in shadow mode` : `seats: config skipped: ${describe(put)}`);
  }
  console.log(`
  Console → tenant demo → Seats:         ${baseUrl}/admin/#/t/${TENANT}/seats
    the audit's count of who can view #signals-premium against the limit; switch the mode to
    Enforce (over the limit: the notice appears in #signals-premium on the fake's page), or
    engage the kill switch (every enforcing guild back to shadow).
  Add 2,500 members to the fake guild (then "Refresh now"):
    curl -X POST ${fakeUrl}/_control/members/generated -H 'content-type: application/json' -d '{"count":2500}'`);
}

main().catch((e) => {
  console.log(`seats: skipped (${e.cause?.code ?? e.message})`);
});
