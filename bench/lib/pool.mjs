// Parent side of the subscriber threads: spreads sockets over N worker threads and gathers
// their receipt stamps. See subscriber-thread.mjs for the thread side.
import { Worker } from 'node:worker_threads';

const THREAD = new URL('./subscriber-thread.mjs', import.meta.url);

class Thread {
  constructor(hrBase, pingMs, client) {
    this.worker = new Worker(THREAD, { workerData: { hrBase, pingMs, client } });
    this.seq = 0;
    this.pending = new Map();
    this.dead = null;
    this.worker.on('message', (m) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.res(m.out);
      else p.rej(new Error(`subscriber thread: ${m.error}`));
    });
    const fail = (e) => {
      this.dead = e;
      for (const p of this.pending.values()) { clearTimeout(p.timer); p.rej(e); }
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`subscriber thread exited (${code})`)));
  }

  call(cmd, args = {}, timeoutMs = 60_000) {
    if (this.dead) return Promise.reject(this.dead);
    const id = ++this.seq;
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        rej(new Error(`subscriber thread: '${cmd}' timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { res, rej, timer });
      this.worker.postMessage({ id, cmd, ...args });
    });
  }
}

export class SubscriberPool {
  /** @param {{threads: number, hrBase: bigint, pingMs?: number, client?: 'raw' | 'ws'}} opts */
  constructor({ threads, hrBase, pingMs, client }) {
    this.threads = Array.from({ length: Math.max(1, threads) }, () => new Thread(hrBase, pingMs, client));
    this.size = 0;
  }

  /** Round-robin: socket j goes to thread j % T. */
  split(urls) {
    const parts = this.threads.map(() => []);
    urls.forEach((u, j) => parts[j % parts.length].push(u));
    return parts;
  }

  /**
   * Opens one socket per url (replacing any previous set). `arm` starts recording before the
   * first connect (for resume, where catch-up frames arrive with the handshake).
   */
  async open(urls, { expectInitial = false, concurrency = 50, timeoutMs = 20_000, arm } = {}) {
    const parts = this.split(urls);
    const outs = await Promise.all(this.threads.map((t, i) => t.call('open', {
      urls: parts[i], expectInitial, concurrency: Math.max(1, Math.ceil(concurrency / this.threads.length)), timeoutMs, arm,
    }, timeoutMs * Math.max(2, Math.ceil(parts[i].length / 50)) + 10_000)));
    this.size = urls.length;
    return {
      ok: outs.reduce((a, o) => a + o.ok, 0),
      failed: outs.reduce((a, o) => a + o.failed, 0),
      missingInitial: outs.reduce((a, o) => a + o.missingInitial, 0),
      errors: outs.flatMap((o) => o.errors).slice(0, 5),
    };
  }

  async arm(prefix, n) {
    await Promise.all(this.threads.map((t) => t.call('arm', { prefix, n }, 10_000)));
  }

  async count() {
    const outs = await Promise.all(this.threads.map((t) => t.call('count', {}, 10_000)));
    return {
      count: outs.reduce((a, o) => a + o.count, 0),
      open: outs.reduce((a, o) => a + o.open, 0),
      unexpectedCloses: outs.reduce((a, o) => a + o.unexpectedCloses, 0),
    };
  }

  /** Waits until `expected` receipts arrived or the deadline passed. Returns the last count. */
  async waitFor(expected, deadlineAt, clockNow) {
    let c = await this.count();
    while (c.count < expected && clockNow() < deadlineAt) {
      await new Promise((r) => setTimeout(r, 50));
      c = await this.count();
    }
    return c;
  }

  /** Ends the run; returns one entry per thread: {n, sockets, recv (socket-major), …}. */
  async collect() {
    return Promise.all(this.threads.map((t) => t.call('collect', {}, 30_000)));
  }

  async closeAll() {
    const outs = await Promise.all(this.threads.map((t) => t.call('closeAll', { timeoutMs: 5000 }, 15_000).catch(() => ({ forced: -1 }))));
    this.size = 0;
    return outs;
  }

  async terminate() {
    await Promise.all(this.threads.map((t) => t.worker.terminate().catch(() => {})));
  }
}
