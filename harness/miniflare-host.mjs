// Runs one worker under Miniflare's API — workerd with no wrangler ProxyWorker in front and no
// DevTools inspector attached: harness/worker.mjs's `runtime: 'miniflare'`, which
// `script/bench --harness miniflare` uses.
//
// Why: under `wrangler dev`, every request and every WebSocket frame is relayed by a second
// workerd (the ProxyWorker), and the runtime reports each request and subrequest to wrangler
// through the inspector. Neither exists in production, and together they roughly double the
// runtime's CPU per request (docs/benchmarks.md, "The dev harness"). This host gives the same
// build, the same bindings and the same local storage, minus both.
//
// The worker options come from wrangler itself (`unstable_getMiniflareWorkerOptions`), so the
// bindings, compatibility date, module rules and Durable Object classes are exactly what
// `wrangler dev` would give the same config. Persistence uses wrangler's layout
// (`<persist>/v3/d1`, `<persist>/v3/do`), so `wrangler d1 migrations apply --local
// --persist-to <persist>` prepares the database beforehand.
//
//   node harness/miniflare-host.mjs --config <wrangler.toml> --persist <dir> --port <n> [--vars <json>]
//
// Prints `{"url":"http://127.0.0.1:<port>"}` on stdout once ready; exits on SIGTERM or when
// stdin closes (the parent died).
import { dirname, join } from 'node:path';
import { Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions as workerOptionsOf } from 'wrangler';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const config = arg('--config');
const persist = arg('--persist');
const port = Number(arg('--port', '0'));
const vars = JSON.parse(arg('--vars', '{}'));
if (!config || !persist) {
  console.error('usage: miniflare-host.mjs --config <wrangler.toml> --persist <dir> --port <n> [--vars <json>]');
  process.exit(2);
}

const { workerOptions, main } = workerOptionsOf(config, undefined, {});
const mf = new Miniflare({
  ...workerOptions,
  name: 'bench',
  modules: true,
  scriptPath: main,
  modulesRoot: dirname(main),
  bindings: { ...workerOptions.bindings, ...vars },
  d1Persist: join(persist, 'v3/d1'),
  durableObjectsPersist: join(persist, 'v3/do'),
  host: '127.0.0.1',
  port,
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try { await mf.dispose(); } catch { /* already gone */ }
  process.exit(code);
}
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.resume();

try {
  const url = await mf.ready;
  process.stdout.write(`${JSON.stringify({ url: url.origin })}\n`);
} catch (e) {
  console.error(e?.stack ?? e);
  await stop(1);
}
