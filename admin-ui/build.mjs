// Builds the static pages the worker serves from admin-ui/dist:
//   /            landing page linking to the two apps
//   /admin/      operator console
//   /dashboard/  live signal dashboard (operators)
//   /account/    the customer pages; the worker serves them under each tenant's prefix,
//                /t/{tenant}/ → account/, /t/{tenant}/login/ → account/login/, … so they refer
//                to their bundle by a relative URL and read the tenant from the path
// Each app is one bundled, minified JS file and one CSS file (esbuild), referenced from its HTML
// with a content hash in the query string so a rebuilt bundle is never served stale.
//
//   node admin-ui/build.mjs            build once
//   node admin-ui/build.mjs --watch    rebuild on change (pages are copied on every build)
import { build, context } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = join(HERE, 'src');
const DIST = join(HERE, 'dist');
const watch = process.argv.includes('--watch');

const apps = ['admin', 'dashboard', 'landing', 'account'];
// Each app's pages (all copies of its index.html; the app routes by path).
const ACCOUNT_PAGES = ['', 'login/', 'signup/', 'forgot/', 'reset/', 'logout/', 'shop/', 'shop/return/'];
const PAGES = {
  landing: ['index.html'],
  admin: ['admin/index.html'],
  dashboard: ['dashboard/index.html'],
  account: ACCOUNT_PAGES.map((p) => `account/${p}index.html`),
};
const OUT_DIR = { landing: '', admin: 'admin', dashboard: 'dashboard', account: 'account' };
// Apps whose asset URLs are relative (served under more than one prefix).
const RELATIVE = new Set(['account']);

const options = {
  entryPoints: apps.flatMap((app) => [
    { in: join(SRC, app, 'main.js'), out: join(OUT_DIR[app], 'app') },
    { in: join(SRC, app, 'style.css'), out: join(OUT_DIR[app], 'app') },
  ]),
  outdir: DIST, // a temporary sibling for one-off builds (see below)
  bundle: true,
  minify: !watch,
  sourcemap: watch ? 'inline' : false,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  write: true,
};

function hashOf(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 10);
}

// Security headers for every page and asset (Workers Static Assets reads `_headers`). The pages
// load only their own bundle and stylesheet and talk only to this origin (HTTP and WebSocket);
// message data is never markup, and this policy backs that up. Images may come from any https
// origin: the customer dashboard shows attachments and embed images inline from their source
// (and custom emoji from Discord's CDN); an <img> runs no script.
const HEADERS = `/*
  Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'
  X-Content-Type-Options: nosniff
  X-Frame-Options: DENY
  Referrer-Policy: no-referrer
  Permissions-Policy: camera=(), microphone=(), geolocation=(), payment=()
`;

/** Copies each app's HTML, stamping asset URLs with their content hash. */
function writePages(out = DIST) {
  for (const app of apps) {
    const html = readFileSync(join(SRC, app, 'index.html'), 'utf8');
    const dir = join(out, OUT_DIR[app]);
    const js = `app.js?v=${hashOf(join(dir, 'app.js'))}`;
    const css = `app.css?v=${hashOf(join(dir, 'app.css'))}`;
    for (const page of PAGES[app]) {
      const depth = page.split('/').length - 1 - OUT_DIR[app].split('/').filter(Boolean).length;
      // The other apps spell their own absolute prefix in their HTML.
      const base = RELATIVE.has(app) ? (depth === 0 ? './' : '../'.repeat(depth)) : '';
      const stamped = html.replaceAll('{{js}}', `${base}${js}`).replaceAll('{{css}}', `${base}${css}`);
      mkdirSync(dirname(join(out, page)), { recursive: true });
      writeFileSync(join(out, page), stamped);
    }
  }
  writeFileSync(join(out, 'favicon.svg'), readFileSync(join(SRC, 'shared', 'favicon.svg')));
  writeFileSync(join(out, '_headers'), HEADERS);
}

if (watch) {
  const ctx = await context({
    ...options,
    plugins: [{
      name: 'pages',
      setup(b) {
        b.onEnd((result) => {
          if (result.errors.length === 0) {
            writePages();
            console.log(`admin-ui: rebuilt ${new Date().toLocaleTimeString()}`);
          }
        });
      },
    }],
  });
  await ctx.watch();
  console.log('admin-ui: watching for changes');
} else {
  // Build elsewhere on the same filesystem (git-ignored) and swap it in, so a server or test
  // copying dist meanwhile never sees a half-written tree.
  const scratch = join(HERE, '..', 'node_modules', '.cache', 'admin-ui');
  mkdirSync(scratch, { recursive: true });
  const tmp = join(scratch, `dist-${process.pid}`);
  const old = join(scratch, `old-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  let result;
  try {
    result = await build({ ...options, outdir: tmp });
    writePages(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (existsSync(DIST)) renameSync(DIST, old);
  renameSync(tmp, DIST);
  rmSync(old, { recursive: true, force: true });
  const outputs = Object.entries(result.metafile.outputs)
    .map(([file, o]) => `${file.replace(/^.*\/dist-\d+\//, '')} ${(o.bytes / 1024).toFixed(1)} KiB`);
  console.log(`admin-ui: built ${Object.values(PAGES).flat().length} pages; ${outputs.join(', ')}`);
}
