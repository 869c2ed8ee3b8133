#!/usr/bin/env node
// CPU time and memory of one argon2id password check (m=19 MiB, t=2, p=1) inside workerd: N
// logins (each verifies one hash) against N session reads (the same request path without
// hashing), the difference per request being the hash. Memory: the runtime process's peak RSS
// (VmHWM) and the wasm linear memory growth the first hash causes.
//   node bench/argon2.mjs [--n 40] [--harness miniflare|wrangler]
import { readdirSync, readFileSync } from 'node:fs';
import { startOurs, killAllSync } from './lib/servers.mjs';
import { groupCpu, diffCpu } from './lib/procstat.mjs';
import { provision } from '../harness/client.mjs';
import { Customer } from '../harness/customer.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const N = Number(arg('n', '40'));
const harness = arg('harness', 'miniflare');

/** The workerd processes of the server's group (under Miniflare, the runtime alone). */
function runtimePids(pgid) {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(f[2]) === pgid && stat.includes('(workerd)');
    } catch { return false; }
  });
}

function memKb(pids) {
  let rss = 0;
  let hwm = 0;
  for (const p of pids) {
    try {
      const s = readFileSync(`/proc/${p}/status`, 'latin1');
      rss += Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0);
      hwm += Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0);
    } catch { /* gone */ }
  }
  return { rss, hwm };
}

const ours = await startOurs({ ACCESS_LOG: 'errors' }, { harness });
try {
  const server = { baseUrl: ours.baseUrl, adminToken: ours.server.adminToken };
  const ctx = await provision(server);
  const c = new Customer(ours.baseUrl, ctx.tenant);
  const email = 'bench@example.test';
  const password = 'correct horse battery';
  const pids = runtimePids(ours.pgid());
  // Warm the request path (D1, the isolate) before the first hash.
  for (let i = 0; i < 5; i++) await c.get('session');
  const before = memKb(pids);
  const t0 = Date.now();
  const r = await c.signup(email, password);
  if (r.status !== 202) throw new Error(`signup: ${r.status} ${r.text}`);
  const firstHashMs = Date.now() - t0;
  const afterFirst = memKb(pids);
  await c.login(email, password);

  const measure = async (fn) => {
    const a = groupCpu(ours.pgid());
    const t = Date.now();
    for (let i = 0; i < N; i++) await fn(i);
    const wall = Date.now() - t;
    const d = diffCpu(a, groupCpu(ours.pgid()));
    return { cpuMs: d['workerd:runtime'] ?? 0, wallMs: wall };
  };
  // Different IPs so the per-IP login throttle never engages.
  const logins = await measure((i) => new Customer(ours.baseUrl, ctx.tenant, { ip: `10.0.${i >> 8}.${i & 255}` }).login(email, password));
  const reads = await measure(() => c.get('session'));
  const end = memKb(pids);
  const perLogin = logins.cpuMs / N;
  const perRead = reads.cpuMs / N;
  const result = {
    harness,
    n: N,
    params: 'argon2id m=19456 KiB, t=2, p=1',
    login_cpu_ms: +perLogin.toFixed(1),
    session_read_cpu_ms: +perRead.toFixed(1),
    hash_cpu_ms: +(perLogin - perRead).toFixed(1),
    login_wall_ms: +(logins.wallMs / N).toFixed(1),
    first_signup_wall_ms: firstHashMs,
    rss_kib_before_first_hash: before.rss,
    rss_kib_after_first_hash: afterFirst.rss,
    rss_growth_kib: afterFirst.rss - before.rss,
    peak_rss_kib: end.hwm,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await ours.stop();
  killAllSync();
}
