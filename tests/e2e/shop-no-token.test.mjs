// Without SELLAPP_API_TOKEN, reconciliation is off and says so: the admin API reports it, the
// scheduled handler changes nothing on a refunded invoice, and webhooks still apply from their
// own copy of the invoice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../harness/services.mjs';
import { provision } from '../../harness/client.mjs';
import { Customer } from '../../harness/customer.mjs';

let stack;
let server;
let sellapp;

before(async () => {
  stack = await startStack({ services: ['fake-sellapp'], vars: { SELLAPP_API_TOKEN: '' } });
  server = stack.server;
  sellapp = stack.services['fake-sellapp'];
});
after(async () => { await stack?.stop(); });

test('no token: reconciliation off, and a refund is not applied by the cron', async () => {
  const ctx = await provision(server);
  const base = `/v1/admin/tenants/${ctx.tenant}`;
  assert.equal((await ctx.admin.post(`${base}/tiers`, { key: 'basic', name: 'Basic', rank: 1 })).status, 201);
  assert.equal((await ctx.admin.put(`${base}/payments/webhook-secret`, { secret: sellapp.seed.webhook_secret })).status, 200);
  assert.equal((await ctx.admin.put(`${base}/payments/policies/basic-30`, { product_id: 1001, variant_id: 2001, tier: 'basic', duration_days: 30 })).status, 201);
  await sellapp.control('reset');
  await sellapp.control('config', { target_url: `${server.baseUrl}/webhooks/sellapp/${ctx.tenant}` });

  const status = (await ctx.admin.get(`${base}/payments/reconciliation`)).json.reconciliation;
  assert.equal(status.enabled, false);
  assert.equal(status.state, 'off');
  assert.match(status.message, /reconciliation off/);
  assert.equal(status.last_run, null);

  const c = new Customer(server.baseUrl, ctx.tenant);
  const e = `nt-${process.pid}@example.test`;
  assert.equal((await c.signup(e, 'correct horse battery')).status, 202);
  const l = await c.login(e, 'correct horse battery');
  const id = l.json.customer.customer_id;
  const r = await sellapp.control('purchase', { email: e, variant_id: 2001 });
  assert.ok(r.deliveries.some((d) => JSON.parse(d.response).result === 'applied'));
  await sellapp.control(`invoices/${r.invoice.id}/status`, { status: 'REFUNDED' });
  const cron = await fetch(`${server.baseUrl}/__scheduled?cron=17+*+*+*+*`);
  assert.equal(cron.status, 200);
  const d = (await ctx.admin.get(`${base}/customers/${id}`)).json;
  assert.equal(d.access?.tier.key, 'basic', 'nothing re-read without a token');
  assert.equal((await ctx.admin.get(`${base}/payments/reconciliation`)).json.reconciliation.last_run, null);
  // The fake saw no API call from the worker.
  const state = await fetch(`${sellapp.seed.base_url}/_control/state`).then((x) => x.json());
  assert.equal(state.api_requests, 0, JSON.stringify(state.api_requests));
});
