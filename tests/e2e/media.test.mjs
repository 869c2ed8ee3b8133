// The media store against the real worker and the fake Discord's CDN: an attachment is fetched
// once when its signal lands, kept in R2 with the type its bytes say (whatever the CDN claimed),
// and served through our signed links after the CDN link has expired; a resend fetches nothing;
// a file over the cap is recorded too_large with nothing stored; forged, expired and
// cross-tenant links are refused.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from '../../harness/services.mjs';
import { Api, Feed, eventually, ingest, message, provision } from '../../harness/client.mjs';
import { control } from '../../harness/discord.mjs';

// A real 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const CAP = 64 * 1024;

let stack;
let server;
let fake;
let ctx;
let other;

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** Signs a link as the worker does (relay_media::link): an independent implementation. */
function sign(key, tenant, attachment, exp) {
  return createHmac('sha256', key).update(`signal-relay/media/v1\n${tenant}\n${attachment}\n${exp}`).digest('base64url');
}
const link = (key, tenant, attachment, exp) => `/media/${tenant}/${attachment}?exp=${exp}&sig=${sign(key, tenant, attachment, exp)}`;
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** Puts bytes on the fake CDN, declared with `contentType` (which may lie). */
async function cdnFile(bytes, filename, contentType) {
  return control(fake, 'POST', '/attachments', { filename, content_type: contentType, data_base64: bytes.toString('base64') });
}
const cdnInfo = (id) => control(fake, 'GET', `/attachments/${id}`);

function attachmentOf(file, bytes, filename, contentType) {
  return { discord_attachment_id: file.id, filename, source_url: file.url, size: bytes.length, content_type: contentType };
}

async function records(c, status) {
  const r = await c.admin.get(`/v1/admin/tenants/${c.tenant}/media${status ? `?status=${status}` : ''}`);
  assert.equal(r.status, 200, r.text);
  return r.json.attachments;
}

async function settled(c, id, status) {
  const rows = await eventually(() => records(c), (rs) => rs.some((r) => r.attachment_id === id && r.status === status), 15_000);
  const row = rows.find((r) => r.attachment_id === id);
  assert.equal(row?.status, status, JSON.stringify(row));
  return row;
}

async function get(path, headers = {}) {
  const res = await fetch(server.baseUrl + path, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  let json = null;
  try { json = JSON.parse(body.toString()); } catch { /* bytes */ }
  return { status: res.status, headers: res.headers, body, json };
}

function refused(r, status, code) {
  assert.equal(r.status, status, r.body.toString());
  assert.equal(r.json?.error_code, code, r.body.toString());
}

before(async () => {
  stack = await startStack({
    services: ['fake-discord'],
    // Retention (about a second) applies only when the last test runs the cron.
    vars: { ACCESS_LOG: 'errors', MEDIA_MAX_BYTES: String(CAP), RETENTION_DAYS: '0.00001' },
    worker: { mediaKey: true },
  });
  server = stack.server;
  fake = stack.services['fake-discord'].url;
  ctx = await provision(server, { tenant: 'media-a' });
  other = await provision(server, { tenant: 'media-b' });
});

after(async () => { await stack?.stop(); });

describe('an image attachment', () => {
  let file;
  let msg;
  let row;

  test('lands once, with the type its bytes say, though the CDN and the connector said text/html', async () => {
    file = await cdnFile(PNG, 'chart.png', 'text/html');
    msg = message(ctx, { attachments: [attachmentOf(file, PNG, 'chart.png', 'text/html')] });
    await ingest(ctx, [msg]);
    row = await settled(ctx, file.id, 'stored');
    assert.equal(row.content_type, 'image/png');
    assert.equal(row.size, PNG.length);
    assert.equal(row.sha256, sha256(PNG));
    assert.equal(row.declared_type, 'text/html');
    assert.equal(row.message_id, msg.discord_message_id);
    assert.equal((await cdnInfo(file.id)).fetches, 1);
  });

  test('is served from our store after the CDN link expired: identical bytes, sniffed type', async () => {
    await control(fake, 'POST', `/attachments/${file.id}/expire`);
    const cdn = await fetch(file.url);
    assert.equal(cdn.status, 404, 'the CDN link is dead');

    // The link a viewer gets: the feed's snapshot, signed when it is sent.
    const feed = await Feed.open(server, ctx.tenant);
    try {
      await feed.until((f) => f.frames.some((fr) => fr.type === 'snapshot'));
      const snap = feed.frames.find((fr) => fr.type === 'snapshot');
      const a = snap.signals.find((s) => s.discord_message_id === msg.discord_message_id).attachments[0];
      assert.match(a.media_url, new RegExp(`^/media/${ctx.tenant}/${file.id}\\?exp=\\d+&sig=[\\w-]+$`));
      const r = await get(a.media_url);
      assert.equal(r.status, 200);
      assert.equal(sha256(r.body), sha256(PNG));
      assert.equal(r.headers.get('content-type'), 'image/png');
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.match(r.headers.get('cache-control'), /^private, max-age=\d+/);
      assert.match(r.headers.get('content-disposition'), /^inline; filename="chart.png"/);
      assert.equal(r.headers.get('etag'), `"${sha256(PNG)}"`);
      const again = await get(a.media_url, { 'if-none-match': r.headers.get('etag') });
      assert.equal(again.status, 304);
    } finally {
      feed.close();
    }

    // The operator's listing carries the same kind of link; the CDN was asked once in all.
    const listed = await eventually(
      () => ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/signals`),
      (r) => r.json?.signals?.some((s) => s.discord_message_id === msg.discord_message_id),
    );
    const s = listed.json.signals.find((x) => x.discord_message_id === msg.discord_message_id);
    const r = await get(s.attachments[0].media_url);
    assert.equal(r.status, 200);
    assert.equal(sha256(r.body), sha256(PNG));
    assert.equal((await cdnInfo(file.id)).fetches, 1);
  });

  test('live frames carry our link too', async () => {
    const feed = await Feed.open(server, ctx.tenant);
    try {
      const f2 = await cdnFile(PNG, 'live.png', 'application/octet-stream');
      const m = message(ctx, { attachments: [attachmentOf(f2, PNG, 'live.png', 'image/png')] });
      await ingest(ctx, [m]);
      await feed.until((f) => f.signals().some((x) => x.signal.discord_message_id === m.discord_message_id));
      const live = feed.signals().find((x) => x.signal.discord_message_id === m.discord_message_id);
      const url = live.signal.attachments[0].media_url;
      assert.match(url, new RegExp(`^/media/${ctx.tenant}/${f2.id}\\?`));
      await settled(ctx, f2.id, 'stored');
      const r = await get(url);
      assert.equal(r.status, 200);
      assert.equal(sha256(r.body), sha256(PNG));
    } finally {
      feed.close();
    }
  });

  test('a resend and a second signal with the same attachment fetch nothing again', async () => {
    // The connector resends the whole batch (deduplicated), then an edit carries the file again
    // with a fresh CDN link, beside a new file: landing goes in order, so once the new file is
    // stored the known one has been looked at.
    await ingest(ctx, [msg]);
    const fresh = await cdnFile(PNG, 'chart.png', 'image/png');
    const extra = await cdnFile(PNG, 'extra.png', 'image/png');
    const edit = message(ctx, {
      discord_message_id: msg.discord_message_id,
      event_type: 'update',
      edited_at: new Date().toISOString(),
      attachments: [
        { ...attachmentOf(file, PNG, 'chart.png', 'image/png'), source_url: fresh.url },
        attachmentOf(extra, PNG, 'extra.png', 'image/png'),
      ],
    });
    await ingest(ctx, [edit]);
    await settled(ctx, extra.id, 'stored');
    assert.equal((await cdnInfo(file.id)).fetches, 1, 'the stored file was not fetched again');
    assert.equal((await cdnInfo(fresh.id)).fetches, 0, 'nor from its fresh link');
    assert.equal((await cdnInfo(extra.id)).fetches, 1);
    const [a] = (await records(ctx)).filter((r) => r.attachment_id === file.id);
    assert.equal(a.attempts, 1);
  });
});

test('a file over the cap is recorded too_large and nothing is stored', async () => {
  const big = Buffer.alloc(CAP + 1, 0x41);
  big.write('%PDF-1.7\n');
  const file = await cdnFile(big, 'huge.pdf', 'application/pdf');
  await ingest(ctx, [message(ctx, { attachments: [attachmentOf(file, big, 'huge.pdf', 'application/pdf')] })]);
  const row = await settled(ctx, file.id, 'too_large');
  assert.equal(row.size, null);
  assert.equal(row.sha256, null);
  refused(await get(link(server.mediaKey, ctx.tenant, file.id, inAnHour())), 404, 'media_not_found');
  // No partial object in the local bucket either: every stored blob is far below the cap.
  const blobs = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.includes('/r2/') && p.includes('/blobs/')) blobs.push(statSync(p).size);
    }
  };
  walk(server.persistDir);
  assert.ok(blobs.length > 0, 'the bucket holds the stored images');
  assert.ok(blobs.every((n) => n < CAP / 2), `a blob near the cap exists: ${blobs}`);
  // A second landing of it fetches nothing: too_large is final.
  const before = (await cdnInfo(file.id)).fetches;
  refused(await get(link(server.mediaKey, ctx.tenant, file.id, inAnHour())), 404, 'media_not_found');
  assert.equal((await cdnInfo(file.id)).fetches, before);
});

test('a CDN link that is already dead is recorded failed; the operator re-fetch takes a fresh one', async () => {
  const dead = await cdnFile(PNG, 'late.png', 'image/png');
  await control(fake, 'POST', `/attachments/${dead.id}/expire`);
  const m = message(ctx, { attachments: [attachmentOf(dead, PNG, 'late.png', 'image/png')] });
  await ingest(ctx, [m]);
  const row = await settled(ctx, dead.id, 'failed');
  assert.match(row.last_error, /404/);
  assert.equal(row.next_attempt_at_ms, null, 'a 404 is not retried on the same link');
  refused(await get(link(server.mediaKey, ctx.tenant, dead.id, inAnHour())), 404, 'media_not_found');
  // The connector sends the message again with a fresh link (as it does after an edit).
  const alive = await cdnFile(PNG, 'late.png', 'image/png');
  const again = message(ctx, {
    discord_message_id: m.discord_message_id, event_type: 'update', edited_at: new Date().toISOString(),
    attachments: [{ ...attachmentOf(dead, PNG, 'late.png', 'image/png'), source_url: alive.url }],
  });
  await ingest(ctx, [again]);
  const stored = await settled(ctx, dead.id, 'stored');
  assert.equal(stored.sha256, sha256(PNG));
  assert.equal((await cdnInfo(alive.id)).fetches, 1);
  // Re-fetching a stored attachment is a no-op.
  const r = await ctx.admin.post(`/v1/admin/tenants/${ctx.tenant}/media/${dead.id}/refetch`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.attachment.status, 'stored');
  assert.equal((await cdnInfo(alive.id)).fetches, 1);
  const missing = await ctx.admin.post(`/v1/admin/tenants/${ctx.tenant}/media/123456789/refetch`, {});
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error_code, 'media_not_found');
});

describe('links', () => {
  let id;
  before(async () => {
    const file = await cdnFile(PNG, 'a.png', 'image/png');
    id = file.id;
    await ingest(ctx, [message(ctx, { attachments: [attachmentOf(file, PNG, 'a.png', 'image/png')] })]);
    await settled(ctx, id, 'stored');
  });

  test('a link we signed serves; a forged one does not', async () => {
    const exp = inAnHour();
    const good = link(server.mediaKey, ctx.tenant, id, exp);
    assert.equal((await get(good)).status, 200);
    const sig = sign(server.mediaKey, ctx.tenant, id, exp);
    refused(await get(`/media/${ctx.tenant}/${id}`), 403, 'media_signature_invalid');
    refused(await get(`/media/${ctx.tenant}/${id}?exp=${exp}`), 403, 'media_signature_invalid');
    refused(await get(`/media/${ctx.tenant}/${id}?exp=${exp}&sig=${sig.slice(0, -2)}AA`), 403, 'media_signature_invalid');
    refused(await get(`/media/${ctx.tenant}/${id}?exp=${exp + 86_400}&sig=${sig}`), 403, 'media_signature_invalid');
    refused(await get(link('another key of thirty-two bytes or more', ctx.tenant, id, exp)), 403, 'media_signature_invalid');
  });

  test('an expired link is gone', async () => {
    const past = Math.floor(Date.now() / 1000) - 1;
    refused(await get(link(server.mediaKey, ctx.tenant, id, past)), 410, 'media_link_expired');
  });

  test('a link never crosses tenants', async () => {
    const exp = inAnHour();
    // Tenant A's link moved under tenant B's path: not signed for B.
    const sig = sign(server.mediaKey, ctx.tenant, id, exp);
    refused(await get(`/media/${other.tenant}/${id}?exp=${exp}&sig=${sig}`), 403, 'media_signature_invalid');
    // A genuine link for tenant B names B's records only: A's attachment is not there.
    refused(await get(link(server.mediaKey, other.tenant, id, exp)), 404, 'media_not_found');
    // B's listing shows nothing of A's.
    assert.deepEqual(await records(other), []);
  });

  test('an unknown attachment is not found, and only GET is served', async () => {
    refused(await get(link(server.mediaKey, ctx.tenant, '1234567890', inAnHour())), 404, 'media_not_found');
    const post = await fetch(`${server.baseUrl}${link(server.mediaKey, ctx.tenant, id, inAnHour())}`, { method: 'POST' });
    assert.equal(post.status, 405);
  });

  test('the operator lists records by status and refuses an unknown status', async () => {
    const stored = await records(ctx, 'stored');
    assert.ok(stored.length >= 3);
    assert.ok(stored.every((r) => r.status === 'stored'));
    const bad = await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/media?status=done`);
    assert.equal(bad.status, 400);
    const anon = await new Api(server.baseUrl, 'nope').get(`/v1/admin/tenants/${ctx.tenant}/media`);
    assert.equal(anon.status, 401);
  });
});

test('retention removes old records and their objects', async () => {
  const [kept] = await records(ctx, 'stored');
  const url = link(server.mediaKey, ctx.tenant, kept.attachment_id, inAnHour());
  assert.equal((await get(url)).status, 200);
  const left = await eventually(async () => {
    const r = await fetch(`${server.baseUrl}/__scheduled?cron=17+*+*+*+*`);
    assert.equal(r.status, 200);
    return records(ctx);
  }, (rows) => rows.length === 0, 15_000);
  assert.deepEqual(left, []);
  refused(await get(url), 404, 'media_not_found');
});
