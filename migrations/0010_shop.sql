-- Shop and reconciliation (issue 13, second part): the tenant's Sell.app store, the shop
-- catalog, the sales ledger the console's figures come from, the last reconciliation run per
-- tenant, and the expiry sweep's mark on entitlements.

-- The Sell.app store a tenant sells from: webhooks of another store are ignored (recorded with
-- reason `other_store`), and reconciliation keeps to this store's invoices.
CREATE TABLE payment_settings (
  tenant_key  TEXT PRIMARY KEY REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  store_id    TEXT,
  updated_at  INTEGER NOT NULL,
  updated_by  TEXT NOT NULL
);

-- The shop's tier cards; one per tier. Written as a whole with the options (validated by
-- relay_payments::catalog first).
CREATE TABLE shop_cards (
  tenant_key   TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  tier_key     TEXT NOT NULL,
  title        TEXT NOT NULL,
  subtitle     TEXT,
  badge        TEXT,
  description  TEXT NOT NULL DEFAULT '',
  sort_order   INTEGER NOT NULL DEFAULT 0,
  active       INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, tier_key),
  FOREIGN KEY (tenant_key, tier_key) REFERENCES tiers(tenant_key, tier_key)
);

-- A card's purchase options. `policy_id` is not a foreign key: a draft may name a policy that
-- does not exist yet; publishing (active = 1) requires an enabled one.
CREATE TABLE shop_options (
  tenant_key       TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  option_id        TEXT NOT NULL,
  tier_key         TEXT NOT NULL,
  policy_id        TEXT NOT NULL,
  duration_days    INTEGER NOT NULL CHECK (duration_days BETWEEN 1 AND 3650),
  display_price    TEXT NOT NULL,
  highlights_json  TEXT NOT NULL DEFAULT '[]',
  featured         INTEGER NOT NULL DEFAULT 0 CHECK (featured IN (0, 1)),
  checkout_url     TEXT NOT NULL,
  active           INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
  position         INTEGER NOT NULL DEFAULT 0,
  updated_at       INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, option_id)
);

-- One row per applied order, written in the same batch as its grant; `revoked_at` set in the
-- batch that revokes it. The console's sales figures are computed from this log, not from
-- Sell.app's dashboard.
CREATE TABLE payment_sales (
  tenant_key   TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  order_id     TEXT NOT NULL,
  customer_id  TEXT NOT NULL,
  email        TEXT NOT NULL,
  tier_key     TEXT NOT NULL,
  policy_id    TEXT NOT NULL,
  option_key   TEXT NOT NULL,
  total_minor  INTEGER NOT NULL,
  currency     TEXT NOT NULL,
  trial        INTEGER NOT NULL CHECK (trial IN (0, 1)),
  sold_at      INTEGER NOT NULL,
  revoked_at   INTEGER,
  PRIMARY KEY (tenant_key, order_id)
);
CREATE INDEX payment_sales_by_time ON payment_sales (tenant_key, sold_at);

-- The last scheduled reconciliation of each tenant, for the console.
CREATE TABLE reconciliation_runs (
  tenant_key     TEXT PRIMARY KEY REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  started_at     INTEGER NOT NULL,
  finished_at    INTEGER NOT NULL,
  invoices_seen  INTEGER NOT NULL,
  decided        INTEGER NOT NULL,
  revoked        INTEGER NOT NULL,
  error          TEXT,
  correlation_id TEXT NOT NULL
);

-- The expiry sweep's mark: an ended window the scheduled handler has closed (access already
-- stopped at `ends_at`; this makes it visible and lets role sync follow).
ALTER TABLE entitlements ADD COLUMN closed_at INTEGER;
CREATE INDEX entitlements_to_close ON entitlements (tenant_key, status, closed_at, ends_at);
