// Percentiles and per-window latency from receipt stamps.

/** Nearest-rank percentile of an ascending typed array. */
export function pct(sorted, q) {
  if (sorted.length === 0) return null;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[k];
}

export function summary(values) {
  const s = Float64Array.from(values).sort();
  return {
    n: s.length,
    p50: pct(s, 0.5),
    p95: pct(s, 0.95),
    p99: pct(s, 0.99),
    max: s.length ? s[s.length - 1] : null,
  };
}

/**
 * Latencies from a latency run.
 *
 * @param {Float64Array} sendAt send stamp per signal index (NaN if never sent)
 * @param {{n:number, sockets:number, recv:Float64Array}[]} parts per-thread receipts
 * @param {number} givenUpAt clock time at which we stopped waiting: an undelivered frame counts
 *   as `givenUpAt - sendAt` (a lower bound), so losses and stalls push percentiles up instead
 *   of silently vanishing from them
 * @param {number} windowMs width of the over-time windows (by send time)
 */
export function latencyStats(sendAt, parts, givenUpAt, windowMs = 2000) {
  const n = sendAt.length;
  let sent = 0;
  let first = Infinity;
  for (let i = 0; i < n; i++) if (sendAt[i] === sendAt[i]) { sent++; first = Math.min(first, sendAt[i]); }
  const subs = parts.reduce((a, p) => a + p.sockets, 0);
  const all = new Float64Array(sent * subs);
  const nWin = Math.max(1, Math.ceil(((givenUpAt - first) || 1) / windowMs));
  const windows = Array.from({ length: nWin }, () => []);
  let k = 0;
  let delivered = 0;
  let censored = 0;
  for (const p of parts) {
    for (let s = 0; s < p.sockets; s++) {
      const base = s * p.n;
      for (let i = 0; i < n; i++) {
        const t0 = sendAt[i];
        if (t0 !== t0) continue;
        const t1 = p.recv[base + i];
        let lat;
        if (t1 === t1) { lat = t1 - t0; delivered++; } else { lat = givenUpAt - t0; censored++; }
        all[k++] = lat;
        const w = Math.min(nWin - 1, Math.floor((t0 - first) / windowMs));
        windows[w].push(lat);
      }
    }
  }
  const sum = summary(all.subarray(0, k));
  const timeline = windows
    .map((w, j) => ({ t_s: (j * windowMs) / 1000, n: w.length, ...summary(w) }))
    .filter((w) => w.n > 0)
    .map(({ t_s, n: cnt, p50, p99, max }) => ({ t_s, n: cnt, p50_ms: round(p50), p99_ms: round(p99), max_ms: round(max) }));
  return { sent, subs, delivered, expected: sent * subs, censored, ...sum, timeline };
}

export function round(x, d = 2) {
  if (x === null || x === undefined || Number.isNaN(x)) return null;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
