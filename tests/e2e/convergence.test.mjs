// Convergence through the public API: permutations and duplicates of one message's events,
// spread over separate requests, reach the same final state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../harness/worker.mjs';
import { provision, message, batch, snowflake, Feed, eventually } from '../../harness/client.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.close(); });

// Deterministic shuffles so a failure reproduces.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function shuffle(items, rand) {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function events(ctx, id, t0) {
  const attach = [{ discord_attachment_id: '1300000000000000042', filename: 'chart.png', source_url: 'https://cdn.example/chart.png', size: 2048, content_type: 'image/png' }];
  const embeds = [{ embed_index: 0, embed_type: 'rich', title: 'Setup', raw_json: { title: 'Setup' } }];
  const create = message(ctx, { discord_message_id: id, content_raw: 'v0', content_clean: 'v0', created_at: new Date(t0).toISOString(), attachments: attach, embeds });
  const edit = (n, secs) => {
    const m = message(ctx, {
      discord_message_id: id, event_type: 'update', content_raw: `v${n}`, content_clean: `v${n}`,
      created_at: new Date(t0).toISOString(), edited_at: new Date(t0 + secs * 1000).toISOString(),
    });
    // Sparse: the edit does not mention attachments or embeds.
    delete m.attachments;
    delete m.embeds;
    return m;
  };
  const del = message(ctx, { discord_message_id: id, event_type: 'delete', deleted_at: new Date(t0 + 60_000).toISOString() });
  return { create, edit1: edit(1, 10), edit2: edit(2, 20), del };
}

async function send(ctx, msgs) {
  const r = await ctx.api.post('/ingest/message-batch', batch(ctx, msgs));
  assert.equal(r.status, 200, r.text);
}

async function finalState(ctx, ids) {
  const feed = await Feed.open(server, ctx.tenant);
  await feed.until((f) => f.frames.length >= 1, 5000, 'snapshot');
  await feed.close();
  const byId = new Map(feed.frames[0].signals.map((s) => [s.discord_message_id, s]));
  return ids.map((id) => byId.get(id) ?? null);
}

test('edits in any order, with duplicates: newest edit wins, sparse edits keep attachments', async () => {
  const ctx = await provision(server);
  const rand = rng(42);
  const t0 = Date.now() - 3_600_000;
  const ids = [];
  for (let round = 0; round < 12; round++) {
    const id = snowflake(t0);
    ids.push(id);
    const e = events(ctx, id, t0);
    const all = [e.create, e.edit1, e.edit2, e.edit1, e.create, e.edit2];
    const order = shuffle(all, rand);
    // Random grouping into requests of 1–3 events.
    for (let i = 0; i < order.length;) {
      const n = 1 + Math.floor(rand() * 3);
      await send(ctx, order.slice(i, i + n));
      i += n;
    }
  }
  const states = await finalState(ctx, ids);
  for (const s of states) {
    assert.ok(s, 'visible');
    assert.equal(s.content, 'v2');
    assert.equal(s.edited_at, new Date(t0 + 20_000).toISOString());
    assert.deepEqual(s.attachments.map((a) => a.filename), ['chart.png']);
    assert.deepEqual(s.embeds.map((x) => x.title), ['Setup']);
  }
});

test('a delete wins in any position, including before the create', async () => {
  const ctx = await provision(server);
  const rand = rng(7);
  const t0 = Date.now() - 3_600_000;
  const ids = [];
  for (let round = 0; round < 10; round++) {
    const id = snowflake(t0);
    ids.push(id);
    const e = events(ctx, id, t0);
    const order = round === 0 ? [e.del, e.create, e.edit2, e.edit1] : shuffle([e.create, e.edit1, e.edit2, e.del, e.del], rand);
    for (const ev of order) await send(ctx, [ev]);
  }
  const states = await finalState(ctx, ids);
  assert.deepEqual(states, ids.map(() => null), 'deleted messages are not in the snapshot');
  // The projection trails the object; wait until it shows every final tombstone.
  const isFinal = (s) => s.deleted && s.content === 'v2' && s.deleted_at === new Date(t0 + 60_000).toISOString();
  const rows = await eventually(
    async () => (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/signals?include_deleted=true&limit=200`)).json.signals,
    (rows) => rows.filter((s) => ids.includes(s.discord_message_id) && isFinal(s)).length === 10,
  );
  const deleted = rows.filter((s) => ids.includes(s.discord_message_id));
  assert.equal(deleted.length, 10);
  assert.ok(deleted.every(isFinal), JSON.stringify(deleted));
});
