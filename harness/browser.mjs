// Headless Chromium for the browser tests (playwright-core driving the system chromium), plus
// helpers: page error collection, polling, screenshots into test-results/.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './process.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const RESULTS = join(ROOT, 'test-results');

/** Builds admin-ui/dist unless it exists (script/test-browser always rebuilds first). */
export function ensureUiBuilt() {
  if (!existsSync(join(ROOT, 'admin-ui/dist/admin/index.html')) || !existsSync(join(ROOT, 'admin-ui/dist/dashboard/index.html'))) {
    execFileSync(process.execPath, [join(ROOT, 'admin-ui/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  }
}

/**
 * Launches Chromium with a fresh profile directory (a persistent context on a new temporary
 * --user-data-dir). Returns { context, newPage, close }. Each page has its own sessionStorage;
 * its console errors and uncaught exceptions are collected in page.errors (tests assert it
 * stays empty).
 */
export async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run script/test-browser (it installs chromium)`);
  const profile = mkdtempSync(join(tmpdir(), 'signal-relay-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    colorScheme: 'light',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']).catch(() => {});
  for (const p of context.pages()) await p.close();
  return {
    context,
    async newPage({ viewport, colorScheme } = {}) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      if (colorScheme) await page.emulateMedia({ colorScheme });
      // Generous: the suite shares the machine with builds and other wrangler instances.
      page.setDefaultTimeout(15_000);
      page.errors = [];
      page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() !== 'error') return;
        const text = m.text();
        // Expected failures the tests provoke (401 probes, refused handshakes) are logged by
        // Chromium as resource errors; anything else is a real error.
        if (/Failed to load resource|WebSocket connection to .* failed/.test(text)) return;
        page.errors.push(`console: ${text}`);
      });
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a truthy value; returns it. */
export async function poll(fn, { timeout = 10_000, interval = 150, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

export async function screenshot(page, name) {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, `${name}.png`);
  // Sticky headers land mid-page in full-page captures unless the page is at the top.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The trimmed text of every element matching `selector`. */
export function texts(page, selector) {
  return page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()));
}

/** The option labels of a <select>. */
export function optionLabels(page, selector) {
  return page.$$eval(`${selector} option`, (opts) => opts.filter((o) => o.value !== '').map((o) => o.textContent));
}

/** Visible form controls and buttons without an accessible name (label, aria-label(ledby), text). */
export function unlabelled(page) {
  return page.$$eval('input:not([type="hidden"]), select, textarea, button', (els) => els
    .filter((el) => el.offsetParent !== null)
    .filter((el) => {
      if (el.getAttribute('aria-label')?.trim()) return false;
      const by = el.getAttribute('aria-labelledby');
      if (by && by.split(/\s+/).some((id) => document.getElementById(id)?.textContent.trim())) return false;
      if (el.labels && [...el.labels].some((l) => l.textContent.trim())) return false;
      if (el.tagName === 'BUTTON' && el.textContent.trim()) return false;
      return true;
    })
    .map((el) => el.outerHTML.slice(0, 120)));
}
