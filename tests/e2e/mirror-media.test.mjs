// Attachments in mirroring come from our media store, not from Discord's expiring CDN links
// (issue 11), through the real worker and the fake Discord. To have the mirror's upload
// happen provably after the CDN link died, the target's guild is paused by the seat gate
// (enforce, over its limit) while the signal lands; the CDN link is then expired, and the
// kill switch lets the held job out: the file arrives with identical bytes, the CDN having
// been fetched once in all (by the landing fetch). An edit that keeps the file does not
// upload it again.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startStack } from '../../harness/services.mjs';
import { Api, eventually, ingest, message, provision } from '../../harness/client.mjs';
import { control, refreshed } from '../../harness/discord.mjs';

const SRC = '1300000000000000100';
// A real 1×1 PNG, declared by the CDN as something else: the upload says what the bytes are.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

let stack, admin, fake, guild, target, t, kill = false;
let clock = Date.now() - 60_000;

function nextId() {
  clock += 1;
  return ((BigInt(clock) - 1420070400000n) << 22n).toString();
}

const seatPath = () => `/v1/admin/tenants/${t.tenant}/seats/${guild}`;

async function posted() {
  const all = await control(fake, 'GET', `/messages?channel_id=${target}`);
  return all.filter((m) => (m.content ?? '').startsWith('chart'));
}

async function held() {
  const r = await admin.get(`/v1/admin/tenants/${t.tenant}/connectors/${t.connector}/mirroring`);
  assert.equal(r.status, 200, r.text);
  return r.json.mirroring.targets.find((x) => x.target_channel_id === target).seats.held;
}

async function setKill(engaged) {
  const r = await admin.put('/v1/admin/seats/kill-switch', { engaged });
  assert.equal(r.status, 200, r.text);
  kill = engaged;
}

before(async () => {
  stack = await startStack({
    services: ['fake-discord'],
    vars: { ACCESS_LOG: 'errors', SEAT_AUDIT_SECONDS: '3600', SEAT_AUDIT_OVER_SECONDS: '3600' },
    worker: { mediaKey: true },
  });
  admin = new Api(stack.server.baseUrl, stack.server.adminToken);
  fake = stack.services['fake-discord'].url;
  guild = (await control(fake, 'GET', '/state')).guilds[0].id;
  target = (await control(fake, 'POST', '/channels', { name: 'media-mirror', type: 0 })).id;
  await control(fake, 'POST', '/members/generated', { count: 1500 });
  await refreshed(admin);
  t = await provision(stack.server);
  let r = await admin.put(`/v1/admin/catalog/guilds/${guild}/tenant`, { tenant_key: t.tenant });
  assert.equal(r.status, 200, r.text);
  const c = `/v1/admin/tenants/${t.tenant}/connectors/${t.connector}`;
  r = await admin.put(`${c}/sources/${SRC}`, { guild_id: '1300000000000000000', is_source: true });
  assert.equal(r.status, 200, r.text);
  r = await admin.put(`${c}/sources/${target}`, { guild_id: guild, is_source: false, is_target: true });
  assert.equal(r.status, 200, r.text);
  r = await admin.put(`${c}/mappings/${SRC}/${target}`, {});
  assert.equal(r.status, 200, r.text);
  r = await admin.put(seatPath(), { limit: 1000, mode: 'enforce' });
  assert.equal(r.status, 200, r.text);
  await eventually(async () => (await admin.get(seatPath())).json.seat,
    (s) => s.snapshot.over_limit === true && s.snapshot.state === 'idle', 120_000);
});

after(async () => {
  if (kill) await setKill(false).catch(() => {});
  await stack?.stop();
});

describe('attachments in mirroring', () => {
  const id = nextId();
  let file;
  let first;

  test('arrive with identical bytes after the CDN link expired, the CDN fetched once', async () => {
    file = await control(fake, 'POST', '/attachments', { filename: 'chart.png', content_type: 'application/octet-stream', data_base64: PNG.toString('base64') });
    const attachments = [{ discord_attachment_id: file.id, filename: 'chart.png', source_url: file.url, size: PNG.length, content_type: 'application/octet-stream' }];
    await ingest(t, [message(t, { discord_message_id: id, content_raw: 'chart BTC', content_clean: 'chart BTC', created_at: new Date(clock).toISOString(), attachments })]);
    // Landed in the store, and the mirror's job is held behind the seat gate.
    await eventually(async () => (await admin.get(`/v1/admin/tenants/${t.tenant}/media`)).json.attachments,
      (rows) => rows.some((r) => r.attachment_id === file.id && r.status === 'stored'), 30_000);
    await eventually(held, (n) => n === 1, 30_000);
    assert.deepEqual(await posted(), []);
    await control(fake, 'POST', `/attachments/${file.id}/expire`);
    assert.equal((await fetch(file.url)).status, 404, 'the CDN link is dead');

    await setKill(true);
    const msgs = await eventually(posted, (l) => l.length === 1, 60_000);
    first = msgs[0];
    assert.equal(first.attachments.length, 1, JSON.stringify(first));
    assert.equal(first.attachments[0].filename, 'chart.png');
    assert.equal(first.attachments[0].content_type, 'image/png', 'the type sniffed from the bytes');
    const got = Buffer.from(await (await fetch(first.attachments[0].url)).arrayBuffer());
    assert.equal(sha256(got), sha256(PNG), 'identical bytes');
    assert.equal((await control(fake, 'GET', `/attachments/${file.id}`)).fetches, 1, 'the CDN was fetched once');
  });

  test('an edit that keeps the file does not upload it again', async () => {
    const attachments = [{ discord_attachment_id: file.id, filename: 'chart.png', source_url: file.url, size: PNG.length, content_type: 'application/octet-stream' }];
    await ingest(t, [message(t, { discord_message_id: id, event_type: 'update', content_raw: 'chart BTC, TP 45000', content_clean: 'chart BTC, TP 45000', created_at: new Date(clock).toISOString(), edited_at: new Date(clock + 5000).toISOString(), attachments })]);
    const msgs = await eventually(posted, (l) => l.length === 1 && l[0].content === 'chart BTC, TP 45000', 60_000);
    assert.equal(msgs[0].id, first.id, 'edited in place');
    assert.deepEqual(msgs[0].attachments.map((a) => a.id), first.attachments.map((a) => a.id), 'the same uploaded file, not a new one');
    assert.equal((await control(fake, 'GET', `/attachments/${file.id}`)).fetches, 1);
  });
});
