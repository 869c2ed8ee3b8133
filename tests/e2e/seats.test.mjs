// Seat enforcement (issue 15) against the fake Discord, driven by the real worker: the admin
// API writes a guild's seat config, the tenant's seat object audits from its alarm (the guild
// with counts, each mapped target's overwrites, member pages through the Discord facade and
// gate), projects its snapshot to D1 and posts the over-limit notice through the bot.
//
// The demo guild gets two fresh target channels everyone can view, so a seat is exactly a
// non-bot member; the expected count is taken independently by paging the fake's member list
// here. Waits are for conditions (an audit counted after a given one), never for time.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api, eventually, provision, snowflake } from '../../harness/client.mjs';
import { control, refreshed, requestsSince, nextSeq } from '../../harness/discord.mjs';

const AUDIT_MS = 120_000;
const NOTICE = 'Mirroring paused: seat limit exceeded';

let stack;
let admin;
let fake;
let seed;
let guild;
let targets;
let t;

function expectError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.ok, false);
  assert.equal(r.json.error_code, code, r.text);
}

const seatPath = () => `/v1/admin/tenants/${t.tenant}/seats/${guild}`;

async function seat() {
  const r = await admin.get(seatPath());
  assert.equal(r.status, 200, r.text);
  return r.json.seat;
}

/** Waits for an audit after `before` (a seat) to have finished, and returns the seat then. */
async function audited(beforeSeat, ok = () => true) {
  const n = beforeSeat?.snapshot.audits ?? 0;
  const at = beforeSeat?.snapshot.last_attempt_at ?? 0;
  const s = await eventually(seat, (x) => (x.snapshot.audits > n || (x.snapshot.last_attempt_at ?? 0) > at)
    && x.snapshot.state === 'idle' && ok(x), AUDIT_MS);
  return s;
}

async function refreshNow() {
  const r = await admin.post(`${seatPath()}/refresh`, {});
  assert.equal(r.status, 202, r.text);
  return r.json;
}

async function notices(channel) {
  const list = await control(fake, 'GET', `/messages?channel_id=${channel}`);
  return list.filter((m) => (m.content ?? '').includes(NOTICE));
}

/** Seats counted here, independently: non-bot members (both targets are open to everyone). */
async function expectedSeats() {
  let after = '0';
  let seats = 0;
  for (;;) {
    const res = await fetch(`${seed.api_base}/guilds/${guild}/members?limit=1000&after=${after}`, {
      headers: { authorization: `Bot ${seed.bot.token}` },
    });
    assert.equal(res.status, 200);
    const page = await res.json();
    seats += page.filter((m) => !m.user.bot).length;
    if (page.length < 1000) return seats;
    after = page.map((m) => BigInt(m.user.id)).reduce((a, b) => (a > b ? a : b)).toString();
  }
}

before(async () => {
  // An hour between scheduled audits: every audit in these tests is one they asked for (a
  // config change or "refresh now"), so "refresh now triggers an audit" is what is measured.
  stack = await startStack({
    services: ['fake-discord'],
    vars: { ACCESS_LOG: 'errors', SEAT_AUDIT_SECONDS: '3600', SEAT_AUDIT_OVER_SECONDS: '3600' },
  });
  admin = new Api(stack.server.baseUrl, stack.server.adminToken);
  fake = stack.services['fake-discord'].url;
  seed = await control(fake, 'GET', '/state');
  guild = seed.guilds[0].id;
  const everyone = seed.guilds[0].roles.find((r) => r.id === guild);
  assert.equal(BigInt(everyone.permissions) & (1n << 10n), 1n << 10n, '@everyone can view by default');
  targets = [];
  for (const name of ['seats-a', 'seats-b']) {
    targets.push((await control(fake, 'POST', '/channels', { name, type: 0 })).id);
  }
  await control(fake, 'POST', '/members/generated', { count: 2500 });
  await refreshed(admin);
  t = await provision(stack.server);
  let r = await admin.put(`/v1/admin/catalog/guilds/${guild}/tenant`, { tenant_key: t.tenant });
  assert.equal(r.status, 200, r.text);
  const src = snowflake();
  r = await admin.put(`/v1/admin/tenants/${t.tenant}/connectors/${t.connector}/sources/${src}`,
    { guild_id: snowflake(), is_source: true, is_target: false });
  assert.equal(r.status, 200, r.text);
  for (const target of targets) {
    r = await admin.put(`/v1/admin/tenants/${t.tenant}/connectors/${t.connector}/mappings/${src}/${target}`, {});
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => { await stack?.stop(); });

describe('seat enforcement', () => {
  test('a guild starts off; bad input is refused and writes nothing', async () => {
    expectError(await admin.get(seatPath()), 404, 'seat_config_not_found');
    let r = await admin.put(seatPath(), { limit: -3, mode: 'on' });
    expectError(r, 400, 'bad_request');
    assert.deepEqual(r.json.details.map((d) => d.field).sort(), ['limit', 'mode']);
    expectError(await admin.put(seatPath(), { limit: 1.5, mode: 'shadow' }), 400, 'bad_request');
    expectError(await admin.get(seatPath()), 404, 'seat_config_not_found');
    expectError(await admin.post(`${seatPath()}/refresh`, {}), 404, 'seat_config_not_found');
    expectError(await admin.put(`/v1/admin/tenants/${t.tenant}/seats/12345`, { limit: 1, mode: 'shadow' }),
      404, 'catalog_guild_not_found');
    const other = await provision(stack.server);
    expectError(await admin.put(`/v1/admin/tenants/${other.tenant}/seats/${guild}`, { limit: 1, mode: 'shadow' }),
      409, 'guild_not_assigned');
    expectError(await admin.put(`/v1/admin/tenants/${t.tenant}/seats/not-an-id`, { limit: 1, mode: 'shadow' }),
      400, 'bad_request');
    expectError(await admin.put('/v1/admin/seats/kill-switch', { engaged: 'yes' }), 400, 'bad_request');
    r = await admin.get(`/v1/admin/tenants/${t.tenant}/seats`);
    assert.deepEqual(r.json.seats, []);
    const anon = new Api(stack.server.baseUrl, null);
    for (const [m, p] of [['GET', seatPath()], ['PUT', seatPath()], ['POST', `${seatPath()}/refresh`],
      ['GET', '/v1/admin/seats/kill-switch'], ['PUT', '/v1/admin/seats/kill-switch']]) {
      assert.equal((await anon.request(m, p, m === 'GET' ? {} : { body: {} })).status, 401, `${m} ${p}`);
    }
  });

  test('shadow: 2,500 members are counted exactly over three pages, and it reports would-hold', async () => {
    const expected = await expectedSeats();
    assert.ok(expected > 2000, `${expected}`);
    const since = await nextSeq(fake);
    const r = await admin.put(seatPath(), { limit: 1000, mode: 'shadow' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.seat.mode, 'shadow');
    const s = await audited(null, (x) => x.snapshot.seats_used !== null);
    assert.equal(s.snapshot.seats_used, expected);
    assert.equal(s.snapshot.seats_exact, true);
    assert.equal(s.snapshot.over_limit, true);
    assert.equal(s.snapshot.status, 'fresh');
    assert.equal(typeof s.snapshot.checked_at, 'number');
    assert.ok(s.snapshot.next_check_at > s.snapshot.last_attempt_at, 'the next audit is planned');
    assert.equal(s.gate, 'over');
    assert.equal(s.would_hold, true);
    assert.equal(s.holding, false, 'shadow holds nothing');
    const pages = (await requestsSince(fake, since)).filter((q) => /\/guilds\/\d+\/members\?/.test(q.path));
    assert.equal(pages.length, 3, pages.map((q) => q.path).join('\n'));
    assert.ok(pages.every((q) => q.path.includes('limit=1000')));
    for (const c of targets) assert.equal((await notices(c)).length, 0, 'shadow posts no notice');
    const gate = (await admin.get(`${seatPath()}/gate`)).json;
    assert.equal(gate.decision.deliver, true);
    assert.equal(gate.decision.would_hold, true);
    assert.equal(gate.effective_mode, 'shadow');
  });

  test('enforce over the limit: one notice per target channel, exactly once, also after a restart', async () => {
    let s = await seat();
    const r = await admin.put(seatPath(), { limit: 1000, mode: 'enforce' });
    assert.equal(r.status, 200, r.text);
    s = await audited(s, (x) => x.snapshot.notices_posted === targets.length);
    assert.equal(s.snapshot.over_limit, true);
    assert.equal(s.holding, true);
    for (const c of targets) {
      const n = await notices(c);
      assert.equal(n.length, 1, `#${c}`);
      assert.match(n[0].content, new RegExp(`${s.snapshot.seats_used} members`));
      assert.match(n[0].content, /allows 1000/);
    }
    const gate = (await admin.get(`${seatPath()}/gate`)).json;
    assert.equal(gate.decision.deliver, false);

    // Refresh now: an audit runs, still over, no second notice.
    await refreshNow();
    s = await audited(s);
    for (const c of targets) assert.equal((await notices(c)).length, 1);

    await stack.server.restart();
    admin = new Api(stack.server.baseUrl, stack.server.adminToken);
    await refreshNow();
    s = await audited(s);
    assert.equal(s.snapshot.over_limit, true);
    for (const c of targets) assert.equal((await notices(c)).length, 1, 'the notice state survived the restart');
  });

  test('refresh now triggers an audit; the next scheduled one follows the cadence', async () => {
    const s = await seat();
    assert.ok(s.snapshot.next_check_at - s.snapshot.last_attempt_at >= 3_600_000,
      'with SEAT_AUDIT_OVER_SECONDS=3600 nothing else audits during the test');
    const since = await nextSeq(fake);
    const r = await refreshNow();
    assert.equal(r.audit.guild_id, guild);
    const after = await audited(s);
    assert.equal(after.snapshot.audits, s.snapshot.audits + 1);
    assert.ok(after.snapshot.checked_at > s.snapshot.checked_at);
    const calls = (await requestsSince(fake, since)).map((q) => q.path);
    assert.ok(calls.some((p) => p.includes(`/guilds/${guild}?with_counts=true`)), calls.join('\n'));
  });

  test('the kill switch turns enforce into shadow at once', async () => {
    let r = await admin.put('/v1/admin/seats/kill-switch', { engaged: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.kill_switch.engaged, true);
    assert.ok(r.json.tenants_notified >= 1);
    let s = await seat();
    assert.equal(s.mode, 'enforce');
    assert.equal(s.effective_mode, 'shadow');
    assert.equal(s.holding, false);
    assert.equal(s.would_hold, true);
    let gate = (await admin.get(`${seatPath()}/gate`)).json;
    assert.equal(gate.view.kill_switch, true);
    assert.equal(gate.decision.deliver, true);
    assert.equal((await admin.get('/v1/admin/seats/kill-switch')).json.kill_switch.engaged, true);

    r = await admin.put('/v1/admin/seats/kill-switch', { engaged: false });
    assert.equal(r.status, 200, r.text);
    s = await seat();
    assert.equal(s.effective_mode, 'enforce');
    gate = (await admin.get(`${seatPath()}/gate`)).json;
    assert.equal(gate.decision.deliver, false);
  });

  test('removing members: back under on the next audit, the notice state resets', async () => {
    let s = await seat();
    await control(fake, 'POST', '/members/generated', { count: 100 });
    await refreshNow();
    s = await audited(s, (x) => x.snapshot.over_limit === false);
    assert.equal(s.snapshot.over_limit, false);
    assert.equal(s.snapshot.notices_posted, 0, 'the episode ended');
    assert.equal(s.holding, false);
    assert.equal((await admin.get(`${seatPath()}/gate`)).json.decision.deliver, true);

    // Over again: a new episode, a new notice in each channel.
    await control(fake, 'POST', '/members/generated', { count: 2500 });
    await refreshNow();
    s = await audited(s, (x) => x.snapshot.over_limit === true && x.snapshot.notices_posted === targets.length);
    for (const c of targets) assert.equal((await notices(c)).length, 2, `#${c}`);
  });

  test('a missing GUILD_MEMBERS intent is member_list_forbidden on the snapshot, never a zero', async () => {
    // Start the guild afresh so it has no count to fall back on.
    let r = await admin.del(seatPath());
    assert.equal(r.status, 200, r.text);
    expectError(await admin.get(seatPath()), 404, 'seat_config_not_found');
    await control(fake, 'POST', '/intents', { guild_members: false });
    try {
      r = await admin.put(seatPath(), { limit: 1000, mode: 'enforce' });
      assert.equal(r.status, 200, r.text);
      const s = await audited(null, (x) => x.snapshot.last_error !== null);
      assert.equal(s.snapshot.last_error.code, 'member_list_forbidden');
      assert.match(s.snapshot.last_error.message, /GUILD_MEMBERS/);
      assert.equal(s.snapshot.seats_used, null);
      assert.equal(s.snapshot.status, null);
      assert.equal(s.gate, 'no_snapshot');
      assert.equal(s.holding, true, 'enforce holds without a count');
    } finally {
      await control(fake, 'POST', '/intents', { guild_members: true });
    }
    // With the intent back, refresh now counts again.
    let s = await seat();
    await refreshNow();
    s = await audited(s, (x) => x.snapshot.last_error === null);
    assert.equal(s.snapshot.over_limit, true);
    assert.ok(s.snapshot.seats_used > 2000);
  });

  test('mode off schedules nothing', async () => {
    const r = await admin.put(seatPath(), { limit: 1000, mode: 'off' });
    assert.equal(r.status, 200, r.text);
    const s = await eventually(seat, (x) => x.snapshot.next_check_at === null && x.snapshot.state === 'idle', AUDIT_MS);
    assert.equal(s.snapshot.next_check_at, null);
    assert.equal(s.gate, 'off');
    assert.equal(s.holding, false);
    const list = (await admin.get(`/v1/admin/tenants/${t.tenant}/seats`)).json;
    assert.equal(list.object.alarm_at, null, 'no alarm is set for the tenant');
    assert.equal(list.object.guilds[0].next_check_at, null);
    expectError(await admin.post(`${seatPath()}/refresh`, {}), 409, 'seat_enforcement_off');
    const since = await nextSeq(fake);
    const after = await seat();
    assert.equal(after.snapshot.audits, s.snapshot.audits);
    const calls = (await requestsSince(fake, since)).filter((q) => q.path.includes(`/guilds/${guild}`));
    assert.deepEqual(calls, []);
  });

  test('a guild that no longer serves the tenant is not audited again', async () => {
    let r = await admin.put(seatPath(), { limit: 1000, mode: 'enforce' });
    assert.equal(r.status, 200, r.text);
    let s = await audited(null, (x) => x.snapshot.seats_used !== null && x.effective_mode === 'enforce');
    const conn = (await admin.get(`/v1/admin/tenants/${t.tenant}/connectors/${t.connector}`)).json;
    for (const m of conn.mappings) {
      r = await admin.del(`/v1/admin/tenants/${t.tenant}/connectors/${t.connector}/mappings/${m.source_channel_id}/${m.target_channel_id}`);
      assert.equal(r.status, 200, r.text);
    }
    r = await admin.del(`/v1/admin/catalog/guilds/${guild}/tenant`);
    assert.equal(r.status, 200, r.text);
    await refreshNow();
    s = await audited(s, (x) => x.snapshot.last_error !== null);
    assert.equal(s.snapshot.last_error.code, 'guild_unavailable');
    assert.match(s.snapshot.last_error.message, /no longer assigned/);
    assert.equal(s.snapshot.next_check_at, null, 'nothing re-queues');
    const list = (await admin.get(`/v1/admin/tenants/${t.tenant}/seats`)).json;
    assert.equal(list.object.alarm_at, null);
  });
});
