// The operator console's Discord page against the real worker and the fake Discord: the gate's
// state, a probe, a 401 stop shown with its alert, and the operator's reset.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api } from '../../harness/client.mjs';
import { ensureUiBuilt, launch, poll, screenshot, unlabelled } from '../../harness/browser.mjs';

let stack, chrome, page, fake, seed;

before(async () => {
  ensureUiBuilt();
  stack = await startStack({ services: ['fake-discord'], vars: { ACCESS_LOG: 'errors' } });
  fake = new Api(stack.services['fake-discord'].url, null);
  seed = stack.services['fake-discord'].seed;
  chrome = await launch();
  page = await chrome.newPage();
});

after(async () => {
  await chrome?.close();
  await stack?.stop();
});

const text = (sel) => page.textContent(sel).then((t) => t.trim());
const statValue = (key) => page.textContent(`[data-stat="${key}"] dd`).then((t) => t.trim());

test('the Discord page shows the gate, probes through it, and resets a 401 stop', async () => {
  await page.goto(`${stack.server.baseUrl}/admin/`);
  await page.fill('input[name="admin-token"]', stack.server.adminToken);
  await page.click('form.signin button[type="submit"]');
  await page.waitForSelector('[data-view="tenants"] table');
  await page.click('#discord-link');
  await page.waitForSelector('[data-view="discord"] [data-stat="requests_sent"]');
  assert.equal(await text('#discord-state'), 'sending');
  assert.equal(await statValue('requests_sent'), '0');
  assert.deepEqual(await unlabelled(page), []);

  await page.click('#discord-probe');
  await poll(async () => (await text('#discord-result')).includes('Probe succeeded'), { what: 'the probe' });
  assert.match(await text('#discord-result'), /signed in as Signal Relay/);
  assert.equal(await text('#discord-api-base'), seed.api_base);
  assert.equal(await statValue('requests_sent'), '1');
  assert.equal(await statValue('responses_2xx'), '1');

  // Discord refuses the token: the page shows the stop and its alert.
  assert.equal((await fake.post('/_control/bot-token', { token: 'revoked' })).status, 200);
  await page.click('#discord-probe');
  await poll(async () => (await text('#discord-result')).includes('discord_bot_token_stopped'), { what: 'the refused probe' });
  assert.equal(await text('#discord-state'), 'stopped');
  assert.equal(await page.getAttribute('#discord-alert', 'data-kind'), 'unauthorized');
  await screenshot(page, 'admin-discord-stopped');

  // The token is fixed; the operator resets and sending resumes.
  assert.equal((await fake.post('/_control/bot-token', { token: seed.bot_token })).status, 200);
  await page.click('#discord-reset');
  await poll(async () => (await text('#discord-result')).includes('Cleared'), { what: 'the reset' });
  assert.equal(await text('#discord-result'), 'Cleared the 401 stop, the alert.');
  assert.equal(await text('#discord-state'), 'sending');
  assert.equal(await page.$('#discord-alert'), null);
  await page.click('#discord-probe');
  await poll(async () => (await text('#discord-result')).includes('Probe succeeded'), { what: 'the probe after the reset' });
  assert.deepEqual(page.errors ?? [], []);
});
