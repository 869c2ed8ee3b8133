-- Seat enforcement (issue 15). A seat is a unique non-bot member who can view at least one
-- mapped target channel of a customer guild.
--
-- seat_configs (owner: src/db/seats.rs, written by the admin API): per tenant and customer
-- guild, the limit and the mode. A guild without a row is `off` (the default for existing
-- guilds). The tenant's seat object (SeatObject, `seats:<tenant>`) holds a copy, pushed on
-- every change and reloaded from here when its storage is empty.
--
-- seat_settings (owner: src/db/seats.rs): deployment-wide switches; `kill_switch` = '1'
-- turns every enforcing guild to shadow at once.
--
-- seat_snapshots (owner: src/db/seat_snapshots.rs, written only by the seat object's
-- projection): the last audit's outcome as the console reads it. Freshness (fresh, stale,
-- expired) is computed when read, from checked_at. seats_used NULL means no count yet — never
-- shown as zero. Snowflakes are TEXT; times are Unix ms.

CREATE TABLE seat_configs (
  tenant_key  TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  guild_id    TEXT NOT NULL,
  seat_limit  INTEGER NOT NULL CHECK (seat_limit >= 0),
  mode        TEXT NOT NULL CHECK (mode IN ('off', 'shadow', 'enforce')),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, guild_id)
);

CREATE TABLE seat_settings (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE seat_snapshots (
  tenant_key          TEXT NOT NULL,
  guild_id            TEXT NOT NULL,
  seats_used          INTEGER,
  -- 0: seats_used is an upper bound (the approximate member count proved "within the limit").
  seats_exact         INTEGER,
  -- The limit the count was compared with.
  seat_limit          INTEGER NOT NULL,
  over_limit          INTEGER,
  checked_at          INTEGER,
  last_attempt_at     INTEGER,
  -- When the seat object plans the next audit (NULL: none — mode off).
  next_check_at       INTEGER,
  -- `idle`, `auditing` (part-way through), `waiting` (a rate limit or retry until next_check_at)
  state               TEXT NOT NULL,
  last_error_code     TEXT,
  last_error_message  TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  -- Target channels holding the over-limit notice of the current episode.
  notices_posted      INTEGER NOT NULL DEFAULT 0,
  audits              INTEGER NOT NULL DEFAULT 0,
  updated_at          INTEGER NOT NULL,
  PRIMARY KEY (tenant_key, guild_id)
);
