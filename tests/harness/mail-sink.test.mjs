// The fake mail sink: what the worker's email client sends lands in /messages, the page shows it
// escaped, a wrong token is refused, and the service's vars point the worker at it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startService, MAIL_SINK_TOKEN } from '../../harness/services.mjs';

test('mail-sink stores authorised mail, lists it by recipient and shows it escaped', async (t) => {
  const sink = await startService('mail-sink');
  t.after(() => sink.stop());
  assert.deepEqual(sink.vars.MAIL_API_BASE, sink.url);
  assert.equal(sink.vars.MAIL_API_TOKEN, MAIL_SINK_TOKEN);
  const send = (body, token = MAIL_SINK_TOKEN) => fetch(`${sink.url}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const mail = { from: 'a@x.test', to: 'b@x.test', subject: 'Hi <script>', text: 'link <b>x</b>' };
  assert.equal((await send(mail, 'wrong')).status, 401);
  assert.equal((await send({ ...mail, to: '' })).status, 400);
  assert.equal((await send(mail)).status, 202);
  assert.equal((await send({ ...mail, to: 'c@x.test' })).status, 202);
  const forB = await (await fetch(`${sink.url}/messages?to=b@x.test`)).json();
  assert.equal(forB.length, 1);
  assert.equal(forB[0].subject, 'Hi <script>');
  const page = await (await fetch(`${sink.url}/`)).text();
  assert.ok(page.includes('Hi &lt;script&gt;') && !page.includes('<script>'));
  assert.equal((await fetch(`${sink.url}/messages`, { method: 'DELETE' })).status, 204);
  assert.deepEqual(await (await fetch(`${sink.url}/messages`)).json(), []);
});
