-- The bot's catalog: the guilds our one bot is in, their text-capable channels (and the
-- categories that parent them) and their roles, as the catalog refresh last read them from
-- Discord. Rows that go away are marked inactive, never deleted: mappings, tier settings and
-- history keep naming them, and a restored channel comes back under the same id.
--
-- Tenancy: one bot serves every tenant, so a guild belongs to no tenant until an operator
-- assigns it (`tenant_key`), and to at most one. A tenant's pickers and mappings see only the
-- guilds assigned to it; the refresh never changes an assignment. Unassigning a guild that a
-- tenant's mappings still target is refused (the mapping would otherwise cross tenants once
-- the guild is assigned elsewhere).
--
-- Permissions are Discord's u64 bitfields as decimal TEXT (they exceed 2^53, and D1 passes
-- numbers through JavaScript doubles); snowflakes are TEXT; times are Unix ms.

CREATE TABLE catalog_guilds (
  guild_id             TEXT PRIMARY KEY,
  name                 TEXT NOT NULL,
  owner_id             TEXT,
  tenant_key           TEXT REFERENCES tenants(tenant_key) ON DELETE SET NULL,
  assigned_at          INTEGER,
  active               INTEGER NOT NULL DEFAULT 1,
  -- The bot's guild-level permissions and the position of its highest role, as last read.
  bot_permissions      TEXT NOT NULL DEFAULT '0',
  bot_top_position     INTEGER NOT NULL DEFAULT 0,
  bot_is_owner         INTEGER NOT NULL DEFAULT 0,
  -- When the last refresh read this guild's channels and roles (NULL: listed, never read).
  synced_at            INTEGER,
  -- The stable error code of the last refresh's failure to read it (NULL: read fine).
  sync_error           TEXT,
  first_seen_at        INTEGER NOT NULL,
  last_seen_at         INTEGER NOT NULL,
  inactive_since       INTEGER,
  updated_at           INTEGER NOT NULL
);
CREATE INDEX catalog_guilds_by_tenant ON catalog_guilds (tenant_key, active);

CREATE TABLE catalog_channels (
  channel_id       TEXT PRIMARY KEY,
  guild_id         TEXT NOT NULL REFERENCES catalog_guilds(guild_id),
  name             TEXT NOT NULL,
  -- Discord's channel type: 0 text, 4 category, 5 announcement, 15 forum, 16 media.
  type             INTEGER NOT NULL,
  parent_id        TEXT,
  position         INTEGER NOT NULL DEFAULT 0,
  -- The bot's effective permissions in the channel (overwrites applied).
  bot_permissions  TEXT NOT NULL DEFAULT '0',
  -- Webhooks in the channel when last listed (NULL: the bot could not list them).
  webhook_count    INTEGER,
  active           INTEGER NOT NULL DEFAULT 1,
  first_seen_at    INTEGER NOT NULL,
  last_seen_at     INTEGER NOT NULL,
  inactive_since   INTEGER,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX catalog_channels_by_guild ON catalog_channels (guild_id, active);

CREATE TABLE catalog_roles (
  role_id          TEXT PRIMARY KEY,
  guild_id         TEXT NOT NULL REFERENCES catalog_guilds(guild_id),
  name             TEXT NOT NULL,
  position         INTEGER NOT NULL,
  managed          INTEGER NOT NULL DEFAULT 0,
  permissions      TEXT NOT NULL DEFAULT '0',
  color            INTEGER NOT NULL DEFAULT 0,
  active           INTEGER NOT NULL DEFAULT 1,
  first_seen_at    INTEGER NOT NULL,
  last_seen_at     INTEGER NOT NULL,
  inactive_since   INTEGER,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX catalog_roles_by_guild ON catalog_roles (guild_id, active);
