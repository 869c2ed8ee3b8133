// A tenant set up to sell through the fake Sell.app (tests/e2e/payments and shop share it):
// its tiers, the fake pointed at its webhook, and a signed-up customer.
import assert from 'node:assert/strict';
import { provision } from './client.mjs';
import { Customer } from './customer.mjs';

/** A provisioned tenant with the tiers basic (rank 1) and pro (rank 3); `ctx.base` is its
 * admin prefix. */
export async function tenantWithTiers(server) {
  const ctx = await provision(server);
  ctx.base = `/v1/admin/tenants/${ctx.tenant}`;
  for (const [key, name, rank] of [['basic', 'Basic', 1], ['pro', 'Pro', 3]]) {
    const r = await ctx.admin.post(`${ctx.base}/tiers`, { key, name, rank });
    assert.equal(r.status, 201, r.text);
  }
  return ctx;
}

/** Resets the fake Sell.app and points it at the tenant's webhook; adds `ctx.events(q)` and
 * `ctx.customer(id)` readers. */
export async function pointSellapp(ctx, server, sellapp) {
  await sellapp.control('reset');
  await sellapp.control('config', { target_url: `${server.baseUrl}/webhooks/sellapp/${ctx.tenant}` });
  ctx.events = async (q = '') => (await ctx.admin.get(`${ctx.base}/payments/events${q}`)).json.events;
  ctx.customer = async (id) => (await ctx.admin.get(`${ctx.base}/customers/${id}`)).json;
  return ctx;
}

/** A customer of the tenant, signed up and logged in (`c.id`, `c.email`). */
export async function signedUp(server, ctx, email, password) {
  const c = new Customer(server.baseUrl, ctx.tenant);
  const r = await c.signup(email, password);
  assert.equal(r.status, 202, r.text);
  const l = await c.login(email, password);
  assert.equal(l.status, 200, l.text);
  c.id = l.json.customer.customer_id;
  c.email = email;
  return c;
}
