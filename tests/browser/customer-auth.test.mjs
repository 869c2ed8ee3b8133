// The customer account pages against the real worker and the fake mail sink: login errors that
// reveal nothing, logout, "forgot password" through the mail sink, the reset page (single use),
// an operator's reset link, and the pages staying inside their tenant.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { Api, provision } from '../../harness/client.mjs';
import { ensureUiBuilt, launch, poll, screenshot, unlabelled } from '../../harness/browser.mjs';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase';

let stack;
let server;
let ctx;
let chrome;
let page;
const email = `carol-${Date.now()}@example.com`;
const prefix = () => `${server.baseUrl}/t/${ctx.tenant}`;

async function mail() {
  const r = await fetch(`${stack.services['mail-sink'].url}/messages`);
  assert.equal(r.status, 200);
  return r.json();
}

/** The reset link in the newest mail to `to`. */
async function resetLinkFor(to, after = 0) {
  const messages = await poll(async () => {
    const all = (await mail()).filter((m) => m.to === to || (Array.isArray(m.to) && m.to.includes(to)));
    return all.length > after ? all : null;
  }, { what: `a mail to ${to}` });
  const text = messages[messages.length - 1].text;
  const m = /(https?:\/\/\S+\/reset\/#token=[^\s"<>]+)/.exec(text);
  assert.ok(m, `a reset link in the mail: ${text}`);
  return { url: m[1], count: messages.length };
}

async function login(p, address, password) {
  await p.goto(`${prefix()}/login/`);
  await p.fill('input[name="email"]', address);
  await p.fill('input[name="password"]', password);
  await p.click('button[type="submit"]');
}

before(async () => {
  ensureUiBuilt();
  stack = await startStack({ services: ['mail-sink'] });
  server = stack.server;
  ctx = await provision(server, { tenant: 'acct', connector: 'conn_acct' });
  // A second tenant with the same email: accounts belong to one tenant.
  await provision(server, { tenant: 'other', connector: 'conn_other' });
  const r = await new Api(server.baseUrl).post(`/v1/account/${ctx.tenant}/signup`, { email, password: PASSWORD }, { headers: { origin: server.baseUrl } });
  assert.equal(r.status, 202, r.text);
  chrome = await launch();
  page = await chrome.newPage();
});

after(async () => {
  await chrome?.close();
  await stack?.stop();
});

test('a wrong password and an unknown email get the same answer', async () => {
  await login(page, email, 'not the password at all');
  await page.waitForSelector('.error-box[data-error-code="invalid_credentials"]');
  const wrong = await page.textContent('.error-box');
  assert.equal(await page.inputValue('input[name="password"]'), '', 'the password field is cleared');
  await login(page, `nobody-${Date.now()}@example.com`, 'not the password at all');
  await page.waitForSelector('.error-box[data-error-code="invalid_credentials"]');
  assert.equal(await page.textContent('.error-box'), wrong);
  assert.deepEqual(await unlabelled(page), []);
  await screenshot(page, 'customer-login-error');
});

test('logs in, and logs out from the top bar', async () => {
  await login(page, email, PASSWORD);
  await page.waitForSelector('#subscription');
  assert.equal(new URL(page.url()).pathname, `/t/${ctx.tenant}/`);
  assert.equal(await page.textContent('.whoami'), email);
  await page.click('text=Sign out');
  await page.waitForSelector('.notice:has-text("signed out")');
  assert.equal(new URL(page.url()).pathname, `/t/${ctx.tenant}/login/`);
  // The session is gone on the server, not just forgotten by the page.
  await page.goto(`${prefix()}/`);
  await page.waitForSelector('form input[name="email"]');
  assert.equal(new URL(page.url()).pathname, `/t/${ctx.tenant}/login/`);
});

test('a session of one tenant is not a session of another', async () => {
  await login(page, email, PASSWORD);
  await page.waitForSelector('#subscription');
  await page.goto(`${server.baseUrl}/t/other/`);
  await page.waitForSelector('form input[name="email"]');
  assert.equal(new URL(page.url()).pathname, '/t/other/login/');
  await page.goto(`${prefix()}/logout/`);
  await page.waitForSelector('.notice:has-text("signed out")');
});

test('forgot password: the mailed link resets it once; the old password stops working', async () => {
  const before = (await mail()).length;
  await page.goto(`${prefix()}/login/`);
  await page.click('text=Forgot your password?');
  // The login form has an email field too: wait for the page to change first.
  await page.waitForSelector('#auth-title:has-text("Reset your password")');
  await page.fill('input[name="email"]', email);
  await page.click('button[type="submit"]');
  await page.waitForSelector('#reset-sent');
  assert.match(await page.textContent('#reset-sent'), /If an account exists/);

  // An unknown address gets the same page, and no mail.
  await page.goto(`${prefix()}/forgot/`);
  await page.fill('input[name="email"]', `nobody-${Date.now()}@example.com`);
  await page.click('button[type="submit"]');
  await page.waitForSelector('#reset-sent');

  const { url } = await resetLinkFor(email, 0);
  assert.ok((await mail()).length === before + 1, 'one mail: none for the unknown address');
  assert.ok(url.startsWith(`${prefix()}/reset/#token=`), url);
  await page.goto(url);
  await page.waitForSelector('input[name="new_password"]');
  assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');
  assert.deepEqual(await unlabelled(page), []);
  await page.fill('input[name="new_password"]', NEW_PASSWORD);
  await page.fill('input[name="confirm_password"]', 'something else entirely');
  await page.click('button[type="submit"]');
  await page.waitForSelector('.field-error:has-text("does not match")');
  await page.fill('input[name="confirm_password"]', NEW_PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('.notice:has-text("password has been changed")');
  assert.equal(new URL(page.url()).pathname, `/t/${ctx.tenant}/login/`);

  // Single use.
  await page.goto(url);
  await page.fill('input[name="new_password"]', 'yet another passphrase');
  await page.fill('input[name="confirm_password"]', 'yet another passphrase');
  await page.click('button[type="submit"]');
  await page.waitForSelector('.error-box[data-error-code="reset_token_invalid"]');
  assert.ok(await page.$('text=Request a new link'));

  await login(page, email, PASSWORD);
  await page.waitForSelector('.error-box[data-error-code="invalid_credentials"]');
  await login(page, email, NEW_PASSWORD);
  await page.waitForSelector('#subscription');
});

test('an operator’s reset link opens the same reset page', async () => {
  const { customers } = (await ctx.admin.get(`/v1/admin/tenants/${ctx.tenant}/customers?q=${encodeURIComponent(email)}`)).json;
  const r = await ctx.admin.post(`/v1/admin/tenants/${ctx.tenant}/customers/${customers[0].customer_id}/reset-link`, { reason: 'browser test' });
  assert.equal(r.status, 201, r.text);
  const p = await chrome.newPage({ viewport: { width: 390, height: 844 } });
  await p.goto(new URL(r.json.url, server.baseUrl).href);
  await p.waitForSelector('input[name="new_password"]');
  await screenshot(p, 'customer-reset-phone');
  await p.fill('input[name="new_password"]', PASSWORD);
  await p.fill('input[name="confirm_password"]', PASSWORD);
  await p.click('button[type="submit"]');
  await p.waitForSelector('.notice:has-text("password has been changed")');
  // Every session was revoked by the reset: the first page is signed out too.
  await page.reload();
  await page.waitForSelector('form input[name="email"]');
  assert.deepEqual(p.errors, []);
  await p.close();
});

test('changing the password on the dashboard keeps this session and ends the others', async () => {
  const other = await launch();
  try {
    const elsewhere = await other.newPage();
    await login(elsewhere, email, PASSWORD);
    await elsewhere.waitForSelector('#subscription');
    await login(page, email, PASSWORD);
    await page.waitForSelector('#subscription');
    await page.click('#account-settings summary');
    await page.fill('#account-settings input[name="current_password"]', 'wrong current password');
    await page.fill('#account-settings input[name="new_password"]', NEW_PASSWORD);
    await page.click('#account-settings button[type="submit"]');
    await page.waitForSelector('#account-settings .error-box[data-error-code="invalid_credentials"]');
    await page.fill('#account-settings input[name="current_password"]', PASSWORD);
    await page.fill('#account-settings input[name="new_password"]', NEW_PASSWORD);
    await page.click('#account-settings button[type="submit"]');
    await page.waitForSelector('#account-settings .notice.ok');
    await elsewhere.reload();
    await elsewhere.waitForSelector('form input[name="email"]');
    // This page kept a working session: its new CSRF token signs it out (a CSRF-checked POST)…
    const csrfRefused = [];
    page.on('response', (res) => { if (res.url().endsWith('/logout') && res.status() === 403) csrfRefused.push(res.url()); });
    await page.click('text=Sign out');
    await page.waitForSelector('.notice:has-text("signed out")');
    assert.deepEqual(csrfRefused, [], 'the token from the password change was used');
    // …for real.
    await page.goto(`${prefix()}/`);
    await page.waitForSelector('form input[name="email"]');
    assert.deepEqual(elsewhere.errors, []);
  } finally {
    await other.close();
  }
});

test('the account pages raised no page errors', () => {
  assert.deepEqual(page.errors, []);
});
