// One monotonic clock for the whole benchmark process, main thread and worker threads alike.
//
// `performance.now()` is cheap but each thread has its own time origin; `process.hrtime.bigint()`
// reads the process-wide monotonic clock (libuv's uv_hrtime, CLOCK_MONOTONIC) but allocates a
// BigInt. Each thread measures the offset between the two once, against a base instant chosen
// by the main thread, and from then on stamps with `performance.now() + offset`: a send stamp
// taken in the main thread and a receipt stamp taken in a subscriber thread are directly
// comparable (same clock, same zero), to well under a microsecond.
import { performance } from 'node:perf_hooks';

/** @param {bigint} base the main thread's `process.hrtime.bigint()` at start. */
export function makeClock(base) {
  let best = Infinity;
  let offset = 0;
  for (let k = 0; k < 9; k++) {
    const a = performance.now();
    const h = process.hrtime.bigint();
    const b = performance.now();
    if (b - a < best) {
      best = b - a;
      offset = Number(h - base) / 1e6 - (a + b) / 2;
    }
  }
  /** Milliseconds since `base`, fractional. */
  return () => performance.now() + offset;
}
