-- Payments (issue 13): Sell.app webhook deliveries, purchase policies, orders held for an
-- email with no account yet, used trials and each tenant's webhook secret. Entitlements
-- themselves stay in `entitlements` (source 'sellapp', reference = order id).

-- The signing key of a tenant's Sell.app webhooks. HMAC verification needs the key itself, so
-- it cannot be hashed: it lives in its own table that no listing joins, and the API only ever
-- shows `secret_hint` (its last four characters) and when it was set.
CREATE TABLE sellapp_secrets (
  tenant_key   TEXT PRIMARY KEY REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  secret       TEXT NOT NULL,
  secret_hint  TEXT NOT NULL,
  set_at       INTEGER NOT NULL,
  set_by       TEXT NOT NULL
);

-- Every verified delivery, recorded before it is decided. Kept for as long as the orders it
-- names can matter: the key is the idempotency record and is never pruned.
CREATE TABLE webhook_events (
  tenant_key   TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  event_id     TEXT NOT NULL,
  event_key    TEXT NOT NULL,
  event_name   TEXT,
  order_id     TEXT,
  store_id     TEXT,
  raw_body     TEXT,
  outcome      TEXT NOT NULL DEFAULT 'received'
               CHECK (outcome IN ('received', 'applied', 'ignored', 'unmatched', 'failed')),
  reason_code  TEXT,
  reason_json  TEXT,
  error        TEXT,
  attempts     INTEGER NOT NULL DEFAULT 0,
  received_at  INTEGER NOT NULL,
  applied_at   INTEGER,
  PRIMARY KEY (tenant_key, event_id),
  UNIQUE (tenant_key, event_key)
);
CREATE INDEX webhook_events_by_outcome ON webhook_events (tenant_key, outcome, received_at);
CREATE INDEX webhook_events_by_order ON webhook_events (tenant_key, order_id);

-- Variant (preferred) or product -> tier + days. Validated as a set by relay_payments::policy.
CREATE TABLE payment_policies (
  tenant_key     TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  policy_id      TEXT NOT NULL,
  product_id     TEXT NOT NULL,
  variant_id     TEXT,
  tier_key       TEXT NOT NULL,
  duration_days  INTEGER NOT NULL CHECK (duration_days BETWEEN 1 AND 3650),
  enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  trial          INTEGER NOT NULL DEFAULT 0 CHECK (trial IN (0, 1)),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, policy_id),
  FOREIGN KEY (tenant_key, tier_key) REFERENCES tiers(tenant_key, tier_key)
);

-- A paid order whose email has no account yet; applied when that account signs up.
CREATE TABLE held_orders (
  tenant_key    TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  order_id      TEXT NOT NULL,
  email         TEXT NOT NULL,
  invoice_json  TEXT NOT NULL,
  held_at       INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, order_id)
);
CREATE INDEX held_orders_by_email ON held_orders (tenant_key, email);

-- A used trial. One per customer of a tenant on each key it has (SQLite's UNIQUE ignores
-- NULLs, so a claim without a Discord id never blocks another without one).
CREATE TABLE trial_claims (
  tenant_key   TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  order_id     TEXT NOT NULL,
  customer_id  TEXT,
  email        TEXT,
  discord_id   TEXT,
  claimed_at   INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, order_id),
  UNIQUE (tenant_key, customer_id),
  UNIQUE (tenant_key, email),
  UNIQUE (tenant_key, discord_id)
);

-- A race of two deliveries of one order cannot grant twice. Manual grants have no reference
-- (NULLs are distinct), so they are unaffected.
CREATE UNIQUE INDEX entitlements_by_reference ON entitlements (tenant_key, source, reference);

-- The operator flag a dispute raises on a customer.
CREATE TABLE customer_flags (
  tenant_key   TEXT NOT NULL,
  customer_id  TEXT NOT NULL,
  reason       TEXT NOT NULL,
  order_id     TEXT NOT NULL,
  flagged_at   INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, customer_id, order_id),
  FOREIGN KEY (tenant_key, customer_id) REFERENCES customers(tenant_key, customer_id) ON DELETE CASCADE
);
