// The customer session cookie in a real browser: Chromium accepts `Secure` on
// http://127.0.0.1 (what script/server and the tests use), sends it back on same-origin
// requests, and keeps it away from page scripts (HttpOnly). A page without the CSRF token
// cannot log the customer out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { provision } from '../../harness/client.mjs';
import { launch } from '../../harness/browser.mjs';

let stack;
let browser;
before(async () => {
  stack = await startStack({ services: ['mail-sink'] });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('Chromium keeps the Secure HttpOnly Lax session cookie on http://127.0.0.1 and sends it back', async () => {
  const server = stack.server;
  const ctx = await provision(server);
  const page = await browser.newPage();
  await page.goto(`${server.baseUrl}/t/${ctx.tenant}/`);
  const api = `/v1/account/${ctx.tenant}`;
  const result = await page.evaluate(async (base) => {
    const post = (leaf, body, headers = {}) => fetch(`${base}/${leaf}`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
    });
    const creds = { email: 'browser@example.test', password: 'correct horse battery' };
    await post('signup', creds);
    const login = await (await post('login', creds)).json();
    const session = await fetch(`${base}/session`);
    const noToken = await post('logout', {});
    const logout = await post('logout', {}, { 'x-csrf-token': login.csrf_token });
    const after = await fetch(`${base}/session`);
    return {
      loginOk: login.ok, sessionStatus: session.status, docCookie: document.cookie,
      noTokenStatus: noToken.status, logoutStatus: logout.status, afterStatus: after.status,
    };
  }, api);
  assert.equal(result.loginOk, true);
  assert.equal(result.sessionStatus, 200, 'the browser sent the Secure cookie back over http://127.0.0.1');
  assert.ok(!result.docCookie.includes('sr_session'), 'HttpOnly: page scripts cannot read it');
  assert.equal(result.noTokenStatus, 403);
  assert.equal(result.logoutStatus, 204);
  assert.equal(result.afterStatus, 401);
  assert.deepEqual(page.errors.filter((e) => !/401|403/.test(e)), []);
});

test('the stored cookie carries exactly the attributes the server set', async () => {
  const server = stack.server;
  const ctx = await provision(server);
  const page = await browser.newPage();
  await page.goto(`${server.baseUrl}/t/${ctx.tenant}/`);
  await page.evaluate(async (base) => {
    const post = (leaf, body) => fetch(`${base}/${leaf}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const creds = { email: 'attrs@example.test', password: 'correct horse battery' };
    await post('signup', creds);
    await post('login', creds);
  }, `/v1/account/${ctx.tenant}`);
  const cookie = (await browser.context.cookies(server.baseUrl)).find((c) => c.name === 'sr_session');
  assert.ok(cookie, 'the browser stored the session cookie');
  assert.equal(cookie.secure, true);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.path, '/');
});
