// Pure helpers of the mirroring scenario (bench/lib/mirror.mjs): what the fake Discord logged,
// turned into receipts, paired with our ingest stamps, and checked against its buckets.

import { summary, round } from './stats.mjs';

const WEBHOOK_POST = /\/webhooks\/(\d+)\/[^/?]+(?:\?|$)/;
const ID = /\b(\d{17,20})\b/;

/**
 * The webhook executions in the fake's request log (`GET /_control/requests`), as receipts:
 * `{ seq, at_ms, channel, id, status }`, `id` being the source message id found in the posted
 * text (our signals say `signal <id>`), `channel` the webhook's channel. Multipart posts carry
 * their JSON in the `payload_json` part. Everything else (webhook creation, avatars, edits) is
 * left out.
 *
 * @param {object[]} requests the fake's log entries
 * @param {Map<string,string>} webhookChannel webhook id → channel id
 */
export function webhookReceipts(requests, webhookChannel) {
  const out = [];
  for (const r of requests) {
    if (r.method !== 'POST') continue;
    const m = WEBHOOK_POST.exec(r.path);
    if (!m) continue;
    let body = r.body;
    if (Array.isArray(body)) body = body.find((p) => p.name === 'payload_json')?.json ?? null;
    const text = typeof body?.content === 'string' ? body.content : '';
    const id = ID.exec(text)?.[1] ?? null;
    out.push({ seq: r.seq, at_ms: r.at_ms, channel: webhookChannel.get(m[1]) ?? null, webhook: m[1], id, status: r.status });
  }
  return out;
}

/**
 * Pairs each signal's ingest stamp with its first accepted post in each target channel.
 *
 * @param {Map<string, number>} sentAt signal id → send stamp (epoch ms)
 * @param {string[]} channels the target channels every signal must reach
 * @param {object[]} receipts from webhookReceipts
 * @param {number} givenUpAt epoch ms at which we stopped waiting: a post that never came counts
 *   as `givenUpAt - sent` (a lower bound), so a loss pushes the percentiles up, never vanishes
 * @returns latency stats, per-pair latencies, missing/duplicate/rejected counts
 */
export function pairReceipts(sentAt, channels, receipts, givenUpAt) {
  const wanted = new Set(channels);
  const first = new Map(); // `${id}/${channel}` → at_ms of the first 2xx
  let duplicates = 0;
  let rejected = 0;
  let lastAt = -Infinity;
  for (const r of receipts) {
    if (!r.id || !sentAt.has(r.id) || !wanted.has(r.channel)) continue;
    if (r.status < 200 || r.status >= 300) { rejected++; continue; }
    const k = `${r.id}/${r.channel}`;
    if (first.has(k)) { duplicates++; continue; }
    first.set(k, r.at_ms);
    if (r.at_ms > lastAt) lastAt = r.at_ms;
  }
  const lat = [];
  let delivered = 0;
  let censored = 0;
  let firstSend = Infinity;
  for (const [id, t0] of sentAt) {
    if (t0 < firstSend) firstSend = t0;
    for (const c of channels) {
      const t1 = first.get(`${id}/${c}`);
      if (t1 === undefined) { censored++; lat.push(givenUpAt - t0); } else { delivered++; lat.push(t1 - t0); }
    }
  }
  const s = summary(lat);
  const span = lastAt - firstSend;
  return {
    expected: sentAt.size * channels.length, delivered, censored, duplicates, rejected,
    p50_ms: round(s.p50), p95_ms: round(s.p95), p99_ms: round(s.p99), max_ms: round(s.max),
    jobs_per_s: delivered && span > 0 ? round((delivered * 1000) / span, 1) : null,
    latencies: lat,
  };
}

/**
 * Replays a fixed-window bucket (`limit` per `windowMs`, the window opening at its first
 * request, as the fake's buckets do) over one webhook's accepted posts, in arrival order.
 * `waits_ms`: for every window after the first, how long after the previous window's reset its
 * first post arrived — the delay our client added beyond the bucket's own (≈ 0 when it waits
 * exactly for the reset). `over_limit`: posts that arrived in a full window (Discord would
 * have answered 429).
 *
 * @param {number[]} times arrival stamps (ms), ascending
 */
export function bucketWaits(times, limit, windowMs) {
  const waits = [];
  let start = null;
  let count = 0;
  let overLimit = 0;
  for (const t of times) {
    if (start === null) { start = t; count = 1; continue; }
    if (t >= start + windowMs) {
      waits.push(t - (start + windowMs));
      start = t;
      count = 1;
    } else if (++count > limit) {
      overLimit++;
    }
  }
  return { windows: start === null ? 0 : waits.length + 1, waits_ms: waits, over_limit: overLimit };
}

/** Latency of the ingest → dashboard frames seen for `sentAt`'s signals (same pairing rules). */
export function frameLatency(sentAt, frameAt, givenUpAt) {
  const lat = [];
  let delivered = 0;
  for (const [id, t0] of sentAt) {
    const t1 = frameAt.get(id);
    if (t1 === undefined) lat.push(givenUpAt - t0); else { delivered++; lat.push(t1 - t0); }
  }
  const s = summary(lat);
  return { expected: sentAt.size, delivered, p50_ms: round(s.p50), p95_ms: round(s.p95), p99_ms: round(s.p99), max_ms: round(s.max) };
}
