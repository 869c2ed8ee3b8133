-- Customers (issue 12): accounts, sessions, tiers, channel visibility, entitlements, password
-- resets, login/signup throttling and the audit trail of operator changes. Every table is
-- scoped by tenant_key: a customer, a session or an entitlement belongs to exactly one tenant,
-- and the same email may exist in two tenants.

CREATE TABLE tiers (
  tenant_key  TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  tier_key    TEXT NOT NULL,
  name        TEXT NOT NULL,
  rank        INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, tier_key),
  UNIQUE (tenant_key, rank)
);

-- A source channel's dashboard visibility: absent or min_tier NULL = hidden (the default);
-- otherwise customers holding min_tier or a higher-ranked tier see it.
CREATE TABLE channel_visibility (
  tenant_key  TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  channel_id  TEXT NOT NULL,
  min_tier    TEXT,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, channel_id),
  FOREIGN KEY (tenant_key, min_tier) REFERENCES tiers(tenant_key, tier_key)
);

CREATE TABLE customers (
  tenant_key     TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  customer_id    TEXT NOT NULL,
  -- Normalised (trimmed, lower-case).
  email          TEXT NOT NULL,
  -- argon2id PHC string; parameters travel with it.
  password_hash  TEXT NOT NULL,
  status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, customer_id),
  UNIQUE (tenant_key, email)
);

CREATE TABLE customer_sessions (
  -- SHA-256 (hex) of the cookie token; the token itself is never stored.
  token_hash    TEXT PRIMARY KEY,
  tenant_key    TEXT NOT NULL,
  customer_id   TEXT NOT NULL,
  csrf_token    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL,
  revoked_at    INTEGER,
  FOREIGN KEY (tenant_key, customer_id) REFERENCES customers(tenant_key, customer_id) ON DELETE CASCADE
);
CREATE INDEX customer_sessions_by_customer ON customer_sessions (tenant_key, customer_id);

CREATE TABLE entitlements (
  tenant_key      TEXT NOT NULL,
  entitlement_id  TEXT NOT NULL,
  customer_id     TEXT NOT NULL,
  tier_key        TEXT NOT NULL,
  starts_at       INTEGER NOT NULL,
  ends_at         INTEGER NOT NULL,
  source          TEXT NOT NULL CHECK (source IN ('manual', 'sellapp', 'trial')),
  reference       TEXT,
  status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, entitlement_id),
  CHECK (ends_at > starts_at),
  FOREIGN KEY (tenant_key, customer_id) REFERENCES customers(tenant_key, customer_id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_key, tier_key) REFERENCES tiers(tenant_key, tier_key)
);
CREATE INDEX entitlements_by_customer ON entitlements (tenant_key, customer_id);

CREATE TABLE password_resets (
  token_hash   TEXT PRIMARY KEY,
  tenant_key   TEXT NOT NULL,
  customer_id  TEXT NOT NULL,
  expires_at   INTEGER NOT NULL,
  used_at      INTEGER,
  created_at   INTEGER NOT NULL,
  -- 'customer' (forgot password) or the operator fingerprint.
  created_by   TEXT NOT NULL,
  FOREIGN KEY (tenant_key, customer_id) REFERENCES customers(tenant_key, customer_id) ON DELETE CASCADE
);

-- Fixed-window attempt counters (relay_accounts::throttle); bucket = kind:tenant:subject.
CREATE TABLE auth_throttle (
  bucket        TEXT PRIMARY KEY,
  window_start  INTEGER NOT NULL,
  count         INTEGER NOT NULL
);

-- Every change to a customer, a tier or a channel's visibility: when, what, why, by whom.
CREATE TABLE account_audit (
  audit_id     INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_key   TEXT NOT NULL,
  customer_id  TEXT,
  at           INTEGER NOT NULL,
  action       TEXT NOT NULL,
  detail_json  TEXT NOT NULL DEFAULT '{}',
  reason       TEXT,
  -- The operator credential's fingerprint, or 'customer' / 'system'.
  actor        TEXT NOT NULL
);
CREATE INDEX account_audit_by_customer ON account_audit (tenant_key, customer_id, audit_id);
