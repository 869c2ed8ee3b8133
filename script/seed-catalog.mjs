// Seeds the local demo's bot catalog: runs a catalog refresh against the fake Discord that
// script/server started, assigns the fake's demo guild to the demo tenant, and prints where to
// look. Idempotent, like seed-demo.mjs: an assignment an operator changed is left alone.
//
//   node script/seed-catalog.mjs <base_url> <admin_token> <fake_discord_base_url>
import { readFileSync } from 'node:fs';

const [baseUrl, adminToken, fakeUrl] = process.argv.slice(2);
if (!baseUrl || !adminToken || !fakeUrl) {
  console.error('usage: node script/seed-catalog.mjs <base_url> <admin_token> <fake_discord_base_url>');
  process.exit(2);
}
const TENANT = 'demo';

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
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ANALYST = '1300000000000000999';
const DESK = 'analyst-desk';

/** The control API of the fake Discord. */
async function fake(method, path, body) {
  const res = await fetch(`${fakeUrl}/_control${path}`, {
    method, headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}

/**
 * Replies, visible in the demo: a source channel inside the fake's guild (so the bot can read
 * its messages back), mapped to #general, where the analyst posts a call and a reply to it;
 * the connector reports both. The reply arrives in #general quoting the call. Skipped when
 * the channel already has messages (a rerun) or the connector token is unknown.
 */
async function replyDemo(guild, general) {
  const desk = guild.channels.find((c) => c.name === DESK);
  if (!desk || !general) return;
  const conn = `/v1/admin/tenants/${TENANT}/connectors/demo-connector`;
  let r = await call('PUT', `${conn}/sources/${desk.id}`, { guild_id: guild.id, is_source: true });
  if (r.status !== 200) return console.log(`replies: skipped, #${DESK} is not a source: ${describe(r)}`);
  r = await call('PUT', `${conn}/mappings/${desk.id}/${general.id}`, {});
  if (r.status !== 200) return console.log(`replies: skipped, mapping refused: ${describe(r)}`);
  const already = await fake('GET', `/messages?channel_id=${desk.id}`);
  if (already.length) return;
  let token;
  try {
    token = JSON.parse(readFileSync('.dev/credentials.json', 'utf8')).connector_token;
  } catch { /* below */ }
  if (!token) return console.log('replies: skipped, no connector token in .dev/credentials.json');
  const call1 = await fake('POST', '/messages', { channel_id: desk.id, author_id: ANALYST, content: 'ETH long 3,200, SL 3,050' });
  const reply = await fake('POST', '/messages', { channel_id: desk.id, author_id: ANALYST, content: 'TP1 hit, stop to entry', reply_to: call1.id });
  for (const m of [call1, reply]) {
    const res = await fetch(`${baseUrl}/ingest/message-batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        connector_id: 'demo-connector', tenant_key: TENANT, sent_at: new Date().toISOString(), batch_id: `demo-reply-${m.id}`,
        messages: [{
          idempotency_key: `${TENANT}:demo-connector:message:${m.id}:create`, event_type: 'create',
          discord_message_id: m.id, discord_guild_id: guild.id, discord_channel_id: desk.id, discord_thread_id: null,
          discord_author_id: ANALYST, author_username: 'analyst', author_global_name: 'Analyst',
          content_raw: m.content, content_clean: m.content, created_at: m.timestamp,
          edited_at: null, deleted_at: null, attachments: [], embeds: [],
        }],
      }),
    });
    if (res.status !== 200) return console.log(`replies: ingest answered ${res.status}`);
  }
  console.log(`replies: the analyst's call and a reply to it in #${DESK} → #general (the reply quotes the call)`);
}

async function main() {
  let state = await (await fetch(`${fakeUrl}/_control/state`)).json();
  if (!state.guilds[0].channels.some((c) => c.name === DESK)) {
    // Before the refresh, so the catalog knows it: the bot reads replies only where it can.
    await fake('POST', '/channels', { name: DESK, type: 0 });
    state = await (await fetch(`${fakeUrl}/_control/state`)).json();
  }
  const guild = state.guilds[0];
  const before = await call('GET', '/v1/admin/catalog/refresh');
  if (before.status !== 200) {
    console.log(`catalog: skipped, the refresh state is not readable: ${describe(before)}`);
    return;
  }
  const started = await call('POST', '/v1/admin/catalog/refresh', {});
  if (started.status !== 202) {
    console.log(`catalog: refresh not started: ${describe(started)}`);
    return;
  }
  const lastBefore = before.json.refresh.last_run?.finished_at_ms ?? 0;
  let s = started.json.refresh;
  for (let i = 0; i < 120; i++) {
    const r = await call('GET', '/v1/admin/catalog/refresh');
    s = r.json?.refresh ?? s;
    if (s.state === 'idle' && (s.last_run?.finished_at_ms ?? 0) > lastBefore) break;
    await sleep(500);
  }
  if (s.state !== 'idle') console.log(`catalog: the refresh is still ${s.state} (${s.wait_reason ?? ''}); it goes on in the background`);
  else console.log(`catalog: refreshed (${s.last_run.outcome}, ${s.last_run.guilds} guild(s), ${s.last_run.calls} Discord calls)`);

  const g = await call('GET', `/v1/admin/catalog/guilds/${guild.id}`);
  if (g.status !== 200) {
    console.log(`catalog: the demo guild is not in the catalog yet: ${describe(g)}`);
  } else if (g.json.guild.tenant_key === TENANT) {
    console.log(`catalog: "${guild.name}" already serves tenant ${TENANT}`);
  } else if (g.json.guild.tenant_key) {
    console.log(`catalog: "${guild.name}" serves tenant ${g.json.guild.tenant_key} (left as an operator set it)`);
  } else {
    const a = await call('PUT', `/v1/admin/catalog/guilds/${guild.id}/tenant`, { tenant_key: TENANT });
    console.log(a.status === 200 ? `catalog: assigned "${guild.name}" to tenant ${TENANT}` : `catalog: assignment skipped: ${describe(a)}`);
  }

  // Mirroring: the demo connector's source channel goes to the fake guild's #general too, so
  // the printed ingest curl shows up on the fake's page.
  const general = guild.channels.find((c) => c.name === 'general');
  const conn = `/v1/admin/tenants/${TENANT}/connectors/demo-connector`;
  const existing = await call('GET', `${conn}/mappings`);
  const source = existing.json?.mappings?.[0]?.source_channel_id;
  if (general && source && !existing.json.mappings.some((m) => m.target_channel_id === general.id)) {
    const m = await call('PUT', `${conn}/mappings/${source}/${general.id}`, {});
    console.log(m.status === 200 ? `mirroring: ${source} → #general of "${guild.name}"` : `mirroring: mapping skipped: ${describe(m)}`);
  }
  await replyDemo(guild, general);

  console.log(`
Fake Discord (what Discord would show):  ${fakeUrl}/
  Mirrored signals appear in #general there (with a reply quoting its call, from #${DESK});
  the connector's Mirroring status:
    ${baseUrl}/v1/admin/tenants/${TENANT}/connectors/demo-connector/mirroring
  Operator console → Catalog:            ${baseUrl}/admin/#/catalog
    "Refresh now" re-reads the bot's guild; ${guild.name}'s channels and roles show what the
    bot lacks (e.g. #mod-log: bot cannot view; Moderators: above the bot's role).
  Connector page → Mappings:             ${baseUrl}/admin/#/t/${TENANT}/c/demo-connector
    the Target channel picker lists the bot's channels in ${guild.name}.
  Change Discord behind the bot's back (then Refresh now), e.g.:
    curl -X POST ${fakeUrl}/_control/channels -H 'content-type: application/json' -d '{"name":"new-signals"}'`);
}

main().catch((e) => {
  console.log(`catalog: skipped (${e.cause?.code ?? e.message})`);
});
