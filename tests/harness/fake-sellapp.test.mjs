// The registered fake-sellapp service: it starts from its ready line, announces its seed, and a
// purchase reaches a local receiver as two webhooks signed with the store's secret (checked
// here with node:crypto, a third HMAC implementation besides relay-core's and the fake's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { startService } from '../../harness/services.mjs';

/** A receiver that records each request's path, signature header and raw body. */
async function receiver() {
  const got = [];
  const srv = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url, signature: req.headers.signature ?? null, body: Buffer.concat(chunks) });
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true,"result":"applied"}');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { got, url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}

const hmac = (secret, body) => createHmac('sha256', secret).update(body).digest('hex');

test('fake-sellapp: a purchase arrives as signed order.created then order.completed', async () => {
  const rx = await receiver();
  const sellapp = await startService('fake-sellapp');
  try {
    const { seed } = sellapp;
    assert.match(sellapp.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(sellapp.vars, { SELLAPP_API_BASE: `${sellapp.url}/api/v2`, SELLAPP_API_TOKEN: seed.api_token, SHOP_ALLOW_LOOPBACK_CHECKOUT: 'true' });
    await sellapp.control('config', { target_url: `${rx.url}/webhooks/sellapp/demo` });
    const bought = await sellapp.control('purchase', { email: 'demo@example.com', variant_id: 2001 });
    // The control call returns once the receiver has answered each delivery.
    assert.deepEqual(bought.deliveries.map((d) => [d.event, d.state, d.status]), [
      ['order.created', 'sent', 200],
      ['order.completed', 'sent', 200],
    ]);
    assert.equal(rx.got.length, 2);
    for (const g of rx.got) {
      assert.equal(g.path, '/webhooks/sellapp/demo');
      assert.equal(g.signature, hmac(seed.webhook_secret, g.body));
    }
    const [created, completed] = rx.got.map((g) => JSON.parse(g.body));
    assert.equal(created.event, 'order.created');
    assert.equal(completed.event, 'order.completed');
    assert.equal(completed.store, seed.store_id);
    assert.equal(completed.data.id, bought.invoice.id);
    assert.equal(created.data.status.status.status, 'PENDING');
    assert.equal(completed.data.status.status.status, 'COMPLETED');
    assert.equal(completed.data.customer_information.email, 'demo@example.com');

    // A forged one carries a signature that matches nothing; the invoices API needs the token.
    await sellapp.control(`invoices/${bought.invoice.id}/send`, { event: 'order.completed', signing: 'forged' });
    const forged = rx.got[2];
    assert.equal(forged.signature.length, 64);
    assert.notEqual(forged.signature, hmac(seed.webhook_secret, forged.body));
    const url = `${seed.api_base}/invoices/${bought.invoice.id}`;
    assert.equal((await fetch(url)).status, 401);
    const inv = await (await fetch(url, { headers: { authorization: `Bearer ${seed.api_token}` } })).json();
    assert.equal(inv.data.status.status.status, 'COMPLETED');
  } finally {
    await sellapp.stop();
    await rx.close();
  }
});
