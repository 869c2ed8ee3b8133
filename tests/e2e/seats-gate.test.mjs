// The seat gate at mirror dispatch (issues 15 and 11), through the real worker and the fake
// Discord: the tenant's mirror object keeps each customer guild's gate view (pushed by the
// seat object), pauses a held target's queue in order and lets it out when the guild is back
// under its limit or the kill switch turns enforce into shadow.
//
// Two targets in the fake's guild (seat-configured during the tests) and one target declared
// in another guild (never configured): that one is the witness that a paused guild delays no
// other guild — once it has a signal, the paused guild's dispatch of the same signal has been
// decided too (both targets' jobs come from one handoff).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api, eventually, ingest, message, provision, snowflake } from '../../harness/client.mjs';
import { control, refreshed } from '../../harness/discord.mjs';

const AUDIT_MS = 120_000;
const SRC = '1300000000000000100';
const NOTICE = 'Mirroring paused: seat limit exceeded';

let stack, admin, fake, guild, t, paused, other;
let clock = Date.now() - 60_000;
let n = 0;

function nextId() {
  clock += 1;
  return ((BigInt(clock) - 1420070400000n) << 22n).toString();
}

const seatPath = () => `/v1/admin/tenants/${t.tenant}/seats/${guild}`;

async function seat() {
  const r = await admin.get(seatPath());
  assert.equal(r.status, 200, r.text);
  return r.json.seat;
}

async function audited(beforeSeat, ok = () => true) {
  const count = beforeSeat?.snapshot.audits ?? 0;
  const at = beforeSeat?.snapshot.last_attempt_at ?? 0;
  return eventually(seat, (x) => (x.snapshot.audits > count || (x.snapshot.last_attempt_at ?? 0) > at)
    && x.snapshot.state === 'idle' && ok(x), AUDIT_MS);
}

async function refreshNow() {
  const r = await admin.post(`${seatPath()}/refresh`, {});
  assert.equal(r.status, 202, r.text);
}

async function posted(channel) {
  const all = await control(fake, 'GET', `/messages?channel_id=${channel}`);
  return all.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}

async function signals(channel) {
  return (await posted(channel)).map((m) => m.content).filter((c) => c.startsWith('gated #'));
}

async function notices(channel) {
  return (await posted(channel)).filter((m) => (m.content ?? '').includes(NOTICE));
}

/** Ingests `count` signals; returns their texts in source order. */
async function send(count) {
  const texts = [];
  const msgs = [];
  for (let i = 0; i < count; i++) {
    n += 1;
    const text = `gated #${n}`;
    texts.push(text);
    msgs.push(message(t, { discord_message_id: nextId(), content_raw: text, content_clean: text, created_at: new Date(clock).toISOString() }));
  }
  for (const m of msgs) await ingest(t, [m]);
  return texts;
}

async function mirroring() {
  const r = await admin.get(`/v1/admin/tenants/${t.tenant}/connectors/${t.connector}/mirroring`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

function targetSeats(status, id) {
  const target = (status.targets ?? status.mirroring?.targets).find((x) => x.target_channel_id === id);
  assert.ok(target, JSON.stringify(status));
  return target.seats;
}

async function seatsList() {
  const r = await admin.get(`/v1/admin/tenants/${t.tenant}/seats`);
  assert.equal(r.status, 200, r.text);
  return r.json.seats.find((s) => s.guild_id === guild);
}

/** The other guild's target has `texts`: the same handoff's jobs for the paused guild were decided. */
async function witnessed(texts) {
  await eventually(() => signals(other), (l) => texts.every((x) => l.includes(x)), 60_000);
}

before(async () => {
  stack = await startStack({
    services: ['fake-discord'],
    vars: { ACCESS_LOG: 'errors', SEAT_AUDIT_SECONDS: '3600', SEAT_AUDIT_OVER_SECONDS: '3600' },
  });
  admin = new Api(stack.server.baseUrl, stack.server.adminToken);
  fake = stack.services['fake-discord'].url;
  guild = (await control(fake, 'GET', '/state')).guilds[0].id;
  paused = [];
  for (const name of ['gate-a', 'gate-b']) paused.push((await control(fake, 'POST', '/channels', { name, type: 0 })).id);
  await control(fake, 'POST', '/members/generated', { count: 1500 });
  await refreshed(admin);
  // Created after the catalog refresh: the mappings know it only by its declared guild.
  other = (await control(fake, 'POST', '/channels', { name: 'gate-other', type: 0 })).id;
  t = await provision(stack.server);
  let r = await admin.put(`/v1/admin/catalog/guilds/${guild}/tenant`, { tenant_key: t.tenant });
  assert.equal(r.status, 200, r.text);
  const c = `/v1/admin/tenants/${t.tenant}/connectors/${t.connector}`;
  r = await admin.put(`${c}/sources/${SRC}`, { guild_id: '1300000000000000000', is_source: true });
  assert.equal(r.status, 200, r.text);
  for (const [target, g] of [[paused[0], guild], [paused[1], guild], [other, snowflake()]]) {
    r = await admin.put(`${c}/sources/${target}`, { guild_id: g, is_source: false, is_target: true });
    assert.equal(r.status, 200, r.text);
    r = await admin.put(`${c}/mappings/${SRC}/${target}`, {});
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => {
  await stack?.stop();
});

describe('the seat gate at mirror dispatch', () => {
  test('a guild with no seat config is not gated', async () => {
    const texts = await send(2);
    for (const ch of [...paused, other]) {
      const l = await eventually(() => signals(ch), (x) => x.length >= 2, 60_000);
      assert.deepEqual(l, texts, `#${ch}`);
    }
    const s = targetSeats(await mirroring(), paused[0]);
    assert.equal(s.paused, false);
    assert.equal(s.held, 0);
  });

  test('enforce over the limit pauses the guild in order; back under delivers the held signals once, in order; another guild is never delayed', async () => {
    const before0 = await signals(paused[0]);
    let s = null;
    let r = await admin.put(seatPath(), { limit: 1000, mode: 'enforce' });
    assert.equal(r.status, 200, r.text);
    s = await audited(s, (x) => x.snapshot.over_limit === true && x.snapshot.notices_posted === paused.length);
    const held = await send(5);
    await witnessed(held);
    for (const ch of paused) {
      assert.deepEqual(await signals(ch), before0, `nothing new posted in #${ch}`);
      assert.equal((await notices(ch)).length, 1, `one notice in #${ch}`);
    }
    let st = await eventually(mirroring, (x) => paused.every((p) => targetSeats(x, p).held === held.length), 30_000);
    for (const p of paused) assert.equal(targetSeats(st, p).paused, true);
    assert.equal(targetSeats(st, other).held, 0);
    assert.equal(targetSeats(st, other).paused, false);
    const listed = await seatsList();
    assert.equal(listed.mirror.available, true);
    assert.equal(listed.mirror.held, held.length * paused.length);
    assert.equal(listed.mirror.targets.length, paused.length);

    // Remove members (down to 100 bulk members), then "refresh now": back under.
    await control(fake, 'POST', '/members/generated', { count: 100 });
    await refreshNow();
    s = await audited(s, (x) => x.snapshot.over_limit === false);
    for (const ch of paused) {
      const l = await eventually(() => signals(ch), (x) => x.length >= before0.length + held.length, 60_000);
      assert.deepEqual(l, [...before0, ...held], `#${ch}: in source order, exactly once`);
    }
    st = await mirroring();
    for (const p of paused) {
      assert.equal(targetSeats(st, p).paused, false);
      assert.equal(targetSeats(st, p).held, 0);
      assert.equal(targetSeats(st, p).expired_while_paused_total, 0);
    }
    const checks = await control(fake, 'GET', '/checks');
    assert.equal(checks.ok, true, JSON.stringify(checks));
  });

  test('shadow over the limit sends and reports would-hold', async () => {
    let s = await seat();
    await control(fake, 'POST', '/members/generated', { count: 1500 });
    const r = await admin.put(seatPath(), { limit: 1000, mode: 'shadow' });
    assert.equal(r.status, 200, r.text);
    s = await audited(s, (x) => x.snapshot.over_limit === true);
    const wouldBefore = targetSeats(await mirroring(), paused[0]).would_hold_total;
    const texts = await send(2);
    for (const ch of paused) {
      await eventually(() => signals(ch), (l) => texts.every((x) => l.includes(x)), 60_000);
    }
    const st = await mirroring();
    for (const p of paused) {
      assert.equal(targetSeats(st, p).would_hold_total, wouldBefore + texts.length);
      assert.equal(targetSeats(st, p).held, 0);
    }
    assert.equal(targetSeats(st, other).would_hold_total, 0);
    const listed = await seatsList();
    assert.ok(listed.mirror.would_hold_total >= texts.length * paused.length);
  });

  test('the kill switch turns enforce into shadow and the held signals go out', async () => {
    let s = await seat();
    let r = await admin.put(seatPath(), { limit: 1000, mode: 'enforce' });
    assert.equal(r.status, 200, r.text);
    s = await audited(s, (x) => x.snapshot.over_limit === true);
    const before0 = await signals(paused[0]);
    const held = await send(3);
    await witnessed(held);
    for (const ch of paused) assert.deepEqual(await signals(ch), before0, `held in #${ch}`);
    r = await admin.put('/v1/admin/seats/kill-switch', { engaged: true });
    assert.equal(r.status, 200, r.text);
    try {
      for (const ch of paused) {
        const l = await eventually(() => signals(ch), (x) => x.length >= before0.length + held.length, 60_000);
        assert.deepEqual(l, [...before0, ...held], `#${ch}`);
      }
    } finally {
      r = await admin.put('/v1/admin/seats/kill-switch', { engaged: false });
      assert.equal(r.status, 200, r.text);
    }
  });
});
