// CPU time of server processes, read from /proc (Linux only; elsewhere everything reads 0).
//
// Each server runs in its own process group (spawned detached). Sampling utime+stime before and
// after a run gives the CPU the server spent on it, which divided by frames delivered is a
// per-socket-send cost comparable across designs.
//
// `wrangler dev` runs two workerd processes and a node process per server:
//   workerd:runtime  the user's worker and its Durable Objects (started with --inspector-addr)
//   workerd:proxy    wrangler's ProxyWorker, which owns the public port and relays every request
//                    and every WebSocket message to the runtime, plus the InspectorProxyWorker
//   node             wrangler itself, which receives a debug-log HTTP request from the
//                    InspectorProxyWorker for each DevTools event, e.g. four per subrequest
// Only the first exists in production; the split shows what the dev harness adds. Under
// `--harness miniflare` a group is `node` (Miniflare's host) plus one workerd, the runtime.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on every Linux we run on

function readStat(pid) {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const close = raw.lastIndexOf(')');
    let comm = raw.slice(raw.indexOf('(') + 1, close);
    if (comm === 'workerd') {
      let args = '';
      try { args = readFileSync(`/proc/${pid}/cmdline`, 'latin1'); } catch { /* gone */ }
      comm = args.includes('--inspector-addr') ? 'workerd:runtime' : 'workerd:proxy';
    }
    const f = raw.slice(close + 2).split(' ');
    // f[0] = state (field 3), f[2] = pgrp (5), f[11] = utime (14), f[12] = stime (15)
    return { pid, comm, pgrp: Number(f[2]), cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS };
  } catch {
    return null;
  }
}

/**
 * CPU ms per command name (workerd split as above) for every process in group `pgid` — or in
 * any of several groups, given an array (a sharded reference runs one server per shard).
 */
export function groupCpu(pgid) {
  const out = {};
  const groups = new Set([pgid].flat().filter(Boolean));
  if (!groups.size) return out;
  let pids;
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return out; }
  const workerds = new Map(); // pgrp → workerd processes
  for (const pid of pids) {
    const s = readStat(pid);
    if (!s || !groups.has(s.pgrp)) continue;
    if (s.comm.startsWith('workerd')) workerds.set(s.pgrp, [...(workerds.get(s.pgrp) ?? []), s]);
    out[s.comm] = (out[s.comm] ?? 0) + s.cpuMs;
  }
  // Under `--harness miniflare` a group has one workerd and no inspector flag: it is the runtime.
  for (const ws of workerds.values()) {
    if (ws.length === 1 && ws[0].comm === 'workerd:proxy') {
      out['workerd:proxy'] -= ws[0].cpuMs;
      out['workerd:runtime'] = (out['workerd:runtime'] ?? 0) + ws[0].cpuMs;
    }
  }
  if (out['workerd:proxy'] === 0) delete out['workerd:proxy'];
  return out;
}

export function diffCpu(a, b) {
  const out = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) out[k] = (b[k] ?? 0) - (a[k] ?? 0);
  return out;
}

/** Whole-machine busy time (all cores), ms: other load on a shared box shows up here. */
export function machineBusyMs() {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] || 0);
    const total = v.reduce((a, x) => a + x, 0);
    return { busy: (total - idle) * TICK_MS, total: total * TICK_MS };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/**
 * Starts measuring; the returned function ends the window and reports the server group's CPU by
 * process, the benchmark process's own CPU (driver + subscriber threads), how busy the whole
 * machine was, and how much of that was neither (other people's work on a shared box).
 */
export function cpuWindow(pgid) {
  const s0 = groupCpu(pgid);
  const c0 = process.cpuUsage();
  const m0 = machineBusyMs();
  const t0 = Date.now();
  return () => {
    const server = diffCpu(s0, groupCpu(pgid));
    const c = process.cpuUsage(c0);
    const m1 = machineBusyMs();
    const serverMs = Object.values(server).reduce((a, x) => a + x, 0);
    const clientMs = Math.round((c.user + c.system) / 1000);
    const busy = m1.busy - m0.busy;
    const total = m1.total - m0.total;
    return {
      wall_ms: Date.now() - t0,
      server_ms: server,
      server_total_ms: serverMs,
      client_ms: clientMs,
      machine_busy_pct: total > 0 ? Math.round((1000 * busy) / total) / 10 : null,
      other_ms: total > 0 ? Math.max(0, busy - serverMs - clientMs) : null,
    };
  };
}
