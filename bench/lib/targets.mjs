// The three systems under test behind one interface, so the same driver and the same
// subscriber threads measure all of them:
//
//   room(label)               a fresh broadcast scope (ours: a provisioned tenant)
//   urls(room, n, {since})    n subscriber WebSocket URLs (ours: one fresh feed ticket each)
//   publish(room, id, i)      deliver signal i with this discord_message_id → {ok, status, seq}
//   expectInitial             whether a new socket first receives an initial frame (snapshot)
import { randomUUID } from 'node:crypto';
import { message, batch } from '../../harness/client.mjs';

/** A network-level failure (no HTTP answer), with undici's cause spelled out. */
function describe(e) {
  const c = e?.cause;
  return `${e?.message ?? e}${c ? ` (${c.code ?? ''} ${c.message ?? c})` : ''}`;
}

/**
 * A measured publish: on a network-level failure (typically a keep-alive connection the server
 * closed just as we reused it) it is sent once more, as a connector would — ingest is
 * idempotent. The latency still counts from the first attempt.
 */
async function publishOnce(fn) {
  try {
    return await fn();
  } catch (e) {
    const first = describe(e);
    try {
      const r = await fn();
      return { ...r, retried: first };
    } catch (e2) {
      return { ok: false, status: 0, error: `${describe(e2)}; first attempt: ${first}` };
    }
  }
}

export async function http(method, url, { token, body, raw, timeoutMs = 30_000 } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, text, json };
}

/** Runs `fn` over `items` with at most `limit` at a time; results in order. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k], k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

const slugId = () => randomUUID().replace(/-/g, '').slice(0, 10);

/**
 * Retries `fn` on 5xx answers and network errors: `wrangler dev` answers 503 "worker restarted
 * mid-request" while it reloads a rebuilt worker. Only for setup calls, never for measured ones.
 */
export async function retrying(what, fn, tries = 4) {
  let last;
  for (let k = 0; k < tries; k++) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      if (!/\b5\d\d\b|fetch failed|ECONNRE|timeout|aborted/i.test(String(e?.message ?? e))) throw e;
      await new Promise((r) => setTimeout(r, 500 * (k + 1)));
    }
  }
  throw new Error(`${what}: ${last?.message ?? last} (after ${tries} tries)`);
}

/** Creates a tenant with one connector through the admin API (a fresh name on each try). */
export function provisionTenant(baseUrl, adminToken, label) {
  return retrying('provision', () => provisionOnce(baseUrl, adminToken, label));
}

async function provisionOnce(baseUrl, adminToken, label) {
  const tenant = `bench-${label}-${slugId()}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-').slice(0, 64);
  const connector = 'bench_conn';
  let r = await http('POST', `${baseUrl}/v1/admin/tenants`, { token: adminToken, body: { tenant_key: tenant, name: tenant } });
  if (r.status !== 201) throw new Error(`create tenant: ${r.status} ${r.text.slice(0, 300)}`);
  r = await http('POST', `${baseUrl}/v1/admin/tenants/${tenant}/connectors`, { token: adminToken, body: { connector_id: connector } });
  if (r.status !== 201) throw new Error(`create connector: ${r.status} ${r.text.slice(0, 300)}`);
  return { tenant, connector, token: r.json.token };
}

/** POST /ingest/message-batch with the connector's token. */
export async function ingestBatch(baseUrl, ctx, ids, timeoutMs = 30_000) {
  const body = batch(ctx, ids.map((id) => message(ctx, { discord_message_id: id })));
  const r = await http('POST', `${baseUrl}/ingest/message-batch`, { token: ctx.token, body, timeoutMs });
  return { ok: r.status === 200, status: r.status, accepted: r.json?.accepted ?? 0, seq: r.json?.seq ?? null, error: r.status === 200 ? null : `${r.status} ${r.text.slice(0, 200)}` };
}

/** Feed tickets through the admin API, a few at a time; returns WebSocket URLs. */
export async function feedUrls(baseUrl, adminToken, tenant, n, { since, concurrency = 32 } = {}) {
  return mapLimit(Array.from({ length: n }), concurrency, () => retrying('ticket', async () => {
    const r = await http('POST', `${baseUrl}/v1/feed-tickets`, { token: adminToken, body: { tenant_key: tenant, ttl_seconds: 600 } });
    if (r.status !== 201) throw new Error(`ticket: ${r.status} ${r.text.slice(0, 300)}`);
    return since === undefined ? r.json.url : `${r.json.url}&since=${since}`;
  }));
}

export function oursTarget(ours) {
  const { baseUrl } = ours;
  const admin = ours.server.adminToken;
  return {
    name: 'ours',
    expectInitial: true,
    pgid: ours.pgid,
    room: (label) => provisionTenant(baseUrl, admin, label),
    urls: (ctx, n, opts) => feedUrls(baseUrl, admin, ctx.tenant, n, opts),
    publish: (ctx, id) => publishOnce(() => ingestBatch(baseUrl, ctx, [id])),
  };
}

/**
 * A frame factory for the references: the product's own `signal.created` frame, captured once
 * from the running worker, with the id and seq substituted, so every system carries the same
 * bytes per signal.
 */
export function frameFactory(template) {
  return (id, seq) => {
    const f = structuredClone(template);
    f.seq = seq;
    f.signal.discord_message_id = id;
    if (typeof f.signal.content === 'string') f.signal.content = `signal ${id}`;
    if (typeof f.signal.content_clean === 'string') f.signal.content_clean = `signal ${id}`;
    return JSON.stringify(f);
  };
}

export function baselineTarget(baseline, makeFrame) {
  const { baseUrl } = baseline;
  const wsUrl = baseUrl.replace(/^http/, 'ws');
  return {
    name: 'baseline',
    expectInitial: false,
    pgid: baseline.pgid,
    room: async () => null,
    urls: async (_room, n) => Array.from({ length: n }, () => `${wsUrl}/ws`),
    publish: (_room, id, i) => publishOnce(async () => {
      const r = await http('POST', `${baseUrl}/publish`, { raw: makeFrame(id, i + 1) });
      return { ok: r.status === 200, status: r.status, error: r.status === 200 ? null : `${r.status} ${r.text.slice(0, 200)}` };
    }),
  };
}

/**
 * The reference, on one server or sharded over several (`--reference-shards`): subscribers are
 * spread round-robin over the shards, each a separate workerd process and so its own thread, as
 * separate objects would be in production; a publish goes to every shard at once and counts
 * from the moment the first request leaves.
 */
export function referenceTarget(reference, makeFrame) {
  const shards = [reference].flat();
  return {
    name: 'reference',
    expectInitial: false,
    pgid: () => shards.map((s) => s.pgid()),
    room: async (label) => `${label}-${slugId()}`,
    urls: async (room, n) => Array.from({ length: n }, (_, k) => `${shards[k % shards.length].baseUrl.replace(/^http/, 'ws')}/ws?room=${room}`),
    publish: (room, id, i) => publishOnce(async () => {
      const raw = makeFrame(id, i + 1);
      const rs = await Promise.all(shards.map((s) => http('POST', `${s.baseUrl}/publish?room=${room}`, { raw })));
      const bad = rs.find((r) => r.status !== 200);
      return { ok: !bad, status: bad?.status ?? 200, error: bad ? `${bad.status} ${bad.text.slice(0, 200)}` : null };
    }),
  };
}
