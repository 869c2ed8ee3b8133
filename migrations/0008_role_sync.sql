-- Discord linking and role sync (issue 14). Snowflakes are TEXT; times are Unix ms.
--
-- Owners: the customer API writes discord_links and discord_link_states; the operator API
-- writes role_sync_settings and role_mappings; the RoleSync Durable Object (one per tenant,
-- the single writer of each member's ledger) projects role_states and role_changes here for
-- the console and the dashboard.

-- One Discord account per customer per tenant, and one customer per Discord account per
-- tenant (the two keys).
CREATE TABLE discord_links (
  tenant_key       TEXT NOT NULL,
  customer_id      TEXT NOT NULL,
  discord_user_id  TEXT NOT NULL,
  username         TEXT NOT NULL,
  global_name      TEXT,
  linked_at        INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, customer_id),
  UNIQUE (tenant_key, discord_user_id),
  FOREIGN KEY (tenant_key, customer_id) REFERENCES customers(tenant_key, customer_id) ON DELETE CASCADE
);

-- OAuth2 `state`: its SHA-256 only, bound to the session that asked; single use, 10 minutes.
CREATE TABLE discord_link_states (
  state_hash    TEXT PRIMARY KEY,
  tenant_key    TEXT NOT NULL,
  customer_id   TEXT NOT NULL,
  session_hash  TEXT NOT NULL,
  expires_at    INTEGER NOT NULL,
  used_at       INTEGER,
  created_at    INTEGER NOT NULL
);
CREATE INDEX discord_link_states_by_expiry ON discord_link_states (expires_at);

CREATE TABLE role_sync_settings (
  tenant_key        TEXT PRIMARY KEY REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  lapse_action      TEXT NOT NULL DEFAULT 'remove_roles' CHECK (lapse_action IN ('remove_roles', 'kick', 'nothing')),
  grace_ms          INTEGER NOT NULL DEFAULT 0,
  auto_join         INTEGER NOT NULL DEFAULT 0,
  drift_interval_ms INTEGER NOT NULL DEFAULT 600000,
  updated_at        INTEGER NOT NULL
);

-- Tier -> role(s) per tenant and guild (the guild must be assigned to the tenant).
CREATE TABLE role_mappings (
  tenant_key  TEXT NOT NULL,
  guild_id    TEXT NOT NULL,
  tier_key    TEXT NOT NULL,
  role_id     TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, guild_id, tier_key, role_id),
  FOREIGN KEY (tenant_key, tier_key) REFERENCES tiers(tenant_key, tier_key) ON DELETE CASCADE
);

-- Projection of the RoleSync object's view, per (customer's Discord account, guild).
CREATE TABLE role_states (
  tenant_key       TEXT NOT NULL,
  guild_id         TEXT NOT NULL,
  discord_user_id  TEXT NOT NULL,
  customer_id      TEXT,
  -- JSON arrays of role ids (TEXT), or null actual when the user is not in the guild.
  desired_json     TEXT NOT NULL DEFAULT '[]',
  actual_json      TEXT,
  granted_json     TEXT NOT NULL DEFAULT '[]',
  -- 'in_sync', 'pending' (waiting for a retry), 'errors', 'not_member', 'kicked', 'untouched'.
  status           TEXT NOT NULL,
  errors_json      TEXT NOT NULL DEFAULT '[]',
  last_sync_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, guild_id, discord_user_id)
);
CREATE INDEX role_states_by_customer ON role_states (tenant_key, customer_id);

-- Every role change we made or tried: grant, revoke, kick, join.
CREATE TABLE role_changes (
  change_id        INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_key       TEXT NOT NULL,
  guild_id         TEXT NOT NULL,
  discord_user_id  TEXT NOT NULL,
  customer_id      TEXT,
  action           TEXT NOT NULL,
  role_id          TEXT,
  reason           TEXT NOT NULL,
  outcome          TEXT NOT NULL,
  error_code       TEXT,
  at               INTEGER NOT NULL
);
CREATE INDEX role_changes_by_tenant ON role_changes (tenant_key, change_id);
CREATE INDEX role_changes_by_customer ON role_changes (tenant_key, customer_id, change_id);
