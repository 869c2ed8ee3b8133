-- Signal Relay: system of record.
--
-- Conventions: Discord ids (snowflakes) are TEXT, never INTEGER: they exceed 2^53 and the D1
-- binding passes numbers through JavaScript doubles. Times are Unix milliseconds (INTEGER);
-- booleans are 0/1.

CREATE TABLE tenants (
  tenant_key  TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE connectors (
  tenant_key              TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  connector_id            TEXT NOT NULL,
  name                    TEXT NOT NULL DEFAULT '',
  -- SHA-256 (hex) of the bearer token; the plaintext is never stored.
  token_hash              TEXT NOT NULL UNIQUE,
  token_hint              TEXT NOT NULL DEFAULT '',
  token_rotated_at        INTEGER NOT NULL,
  status                  TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
  ingest_enabled          INTEGER NOT NULL DEFAULT 1,
  forward_enabled         INTEGER NOT NULL DEFAULT 1,
  -- Bumped by every change visible in the runtime config (sources, mappings, flags, status).
  config_version          INTEGER NOT NULL DEFAULT 1,
  -- Bumped only by discovery requests ("fetch guilds" / "fetch channels of guild X").
  discovery_version       INTEGER NOT NULL DEFAULT 0,
  discovery_guild_id      TEXT,
  discovery_requested_at  INTEGER,
  last_seen_at            INTEGER,
  created_at              INTEGER NOT NULL,
  updated_at              INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, connector_id)
);

CREATE TABLE connector_sources (
  tenant_key    TEXT NOT NULL,
  connector_id  TEXT NOT NULL,
  channel_id    TEXT NOT NULL,
  guild_id      TEXT NOT NULL,
  is_source     INTEGER NOT NULL DEFAULT 1,
  is_target     INTEGER NOT NULL DEFAULT 0,
  thread_mode   TEXT NOT NULL DEFAULT 'include' CHECK (thread_mode IN ('include', 'exclude', 'only')),
  is_enabled    INTEGER NOT NULL DEFAULT 1,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, connector_id, channel_id),
  FOREIGN KEY (tenant_key, connector_id) REFERENCES connectors(tenant_key, connector_id) ON DELETE CASCADE
);

CREATE TABLE connector_mappings (
  tenant_key         TEXT NOT NULL,
  connector_id       TEXT NOT NULL,
  source_channel_id  TEXT NOT NULL,
  target_channel_id  TEXT NOT NULL,
  filters_json       TEXT NOT NULL DEFAULT '{}',
  transform_json     TEXT NOT NULL DEFAULT '{}',
  priority           INTEGER NOT NULL DEFAULT 0,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, connector_id, source_channel_id, target_channel_id),
  FOREIGN KEY (tenant_key, connector_id) REFERENCES connectors(tenant_key, connector_id) ON DELETE CASCADE
);

-- Discovery snapshots: guild and channel names for the admin pickers.
CREATE TABLE discovered_guilds (
  tenant_key    TEXT NOT NULL,
  connector_id  TEXT NOT NULL,
  guild_id      TEXT NOT NULL,
  name          TEXT NOT NULL,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, connector_id, guild_id),
  FOREIGN KEY (tenant_key, connector_id) REFERENCES connectors(tenant_key, connector_id) ON DELETE CASCADE
);

CREATE TABLE discovered_channels (
  tenant_key    TEXT NOT NULL,
  connector_id  TEXT NOT NULL,
  channel_id    TEXT NOT NULL,
  guild_id      TEXT NOT NULL,
  name          TEXT NOT NULL,
  type          INTEGER,
  parent_id     TEXT,
  position      INTEGER,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, connector_id, channel_id),
  FOREIGN KEY (tenant_key, connector_id) REFERENCES connectors(tenant_key, connector_id) ON DELETE CASCADE
);
CREATE INDEX discovered_channels_by_guild ON discovered_channels (tenant_key, connector_id, guild_id);

-- Signals as converged by each tenant's Durable Object (the single writer), projected here for
-- queries across connectors and for retention. `rev` orders projections: an older write never
-- overwrites a newer one.
CREATE TABLE signals (
  tenant_key     TEXT NOT NULL,
  connector_id   TEXT NOT NULL,
  message_id     TEXT NOT NULL,
  guild_id       TEXT,
  channel_id     TEXT,
  thread_id      TEXT,
  author_id      TEXT,
  created_at     INTEGER,
  edited_at      INTEGER,
  deleted        INTEGER NOT NULL DEFAULT 0,
  deleted_at     INTEGER,
  seq            INTEGER NOT NULL DEFAULT 0,
  rev            INTEGER NOT NULL,
  view_json      TEXT,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, connector_id, message_id)
);
CREATE INDEX signals_recent ON signals (tenant_key, created_at DESC);
CREATE INDEX signals_by_channel ON signals (tenant_key, channel_id, created_at DESC);
CREATE INDEX signals_by_age ON signals (created_at);

CREATE TABLE threads (
  tenant_key         TEXT NOT NULL,
  connector_id       TEXT NOT NULL,
  thread_id          TEXT NOT NULL,
  parent_channel_id  TEXT,
  guild_id           TEXT,
  name               TEXT,
  deleted            INTEGER NOT NULL DEFAULT 0,
  seq                INTEGER NOT NULL DEFAULT 0,
  rev                INTEGER NOT NULL,
  view_json          TEXT NOT NULL,
  updated_at         INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, connector_id, thread_id)
);
CREATE INDEX threads_recent ON threads (tenant_key, updated_at DESC);
