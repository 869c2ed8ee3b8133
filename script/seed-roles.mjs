// Seeds the local demo's role sync: the demo tenant's tiers mapped to the fake guild's roles
// (Basic → Basic, Advanced and Pro → Premium), auto-join on and a one-minute drift pass, then
// prints how to link a Discord account and watch the roles arrive. Idempotent: mappings or
// settings an operator changed are left alone.
//
//   node script/seed-roles.mjs <base_url> <admin_token> <fake_discord_base_url>
const [baseUrl, adminToken, fakeUrl] = process.argv.slice(2);
if (!baseUrl || !adminToken || !fakeUrl) {
  console.error('usage: node script/seed-roles.mjs <base_url> <admin_token> <fake_discord_base_url>');
  process.exit(2);
}
const TENANT = 'demo';
const base = `/v1/admin/tenants/${TENANT}/role-sync`;

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
const describe = (r) => `${r.status}${r.json?.error_code ? ` ${r.json.error_code}` : ''}`;

async function main() {
  const state = await (await fetch(`${fakeUrl}/_control/state`)).json();
  const guild = state.guilds[0];
  const role = (name) => guild.roles.find((r) => r.name === name)?.id;
  const existing = await call('GET', `${base}/mappings`);
  if (existing.status !== 200) {
    console.log(`roles: skipped (${describe(existing)})`);
    return;
  }
  if (existing.json.mappings.length === 0) {
    for (const [tier, name] of [['basic', 'Basic'], ['advanced', 'Premium'], ['pro', 'Premium']]) {
      const r = await call('PUT', `${base}/mappings/${guild.id}/${tier}`, { role_ids: [role(name)] });
      if (r.status !== 200) console.log(`roles: could not map ${tier} → ${name}: ${describe(r)}`);
    }
    const s = await call('PUT', `${base}/settings`, { lapse_action: 'remove_roles', grace_days: 0, auto_join: true, drift_interval_seconds: 60 });
    if (s.status !== 200) console.log(`roles: settings not saved: ${describe(s)}`);
    console.log(`roles: mapped basic → Basic, advanced/pro → Premium in "${guild.name}"; auto-join on`);
  } else {
    console.log('roles: kept the existing tier-role mappings');
  }
  console.log(`
Discord linking and role sync:
  Customer page → "Connect Discord":      ${baseUrl}/t/${TENANT}/
    sign in as the demo customer, press Connect Discord and pick a person on the fake's
    authorize page (e.g. Carol, not yet in the guild: auto-join adds her). Her Basic role
    appears on the dashboard and on the fake Discord's member list: ${fakeUrl}/
  Console → tenant → Discord roles:        ${baseUrl}/admin/#/t/${TENANT}/roles
    tier-role pickers (Moderators is marked: above the bot's role), linked accounts with
    desired vs actual roles, "Resync now", the history of changes.
  Take a role away behind our back, then wait for the drift pass (1 min) or press Resync:
    curl -X DELETE ${fakeUrl}/_control/members/<discord user id>/roles/${role('Basic')}`);
}

main().catch((e) => {
  console.log(`roles: skipped (${e.cause?.code ?? e.message})`);
});
