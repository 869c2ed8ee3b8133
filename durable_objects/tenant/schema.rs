//! The tenant object's own SQLite schema: converged message state, the ordered event log that
//! feeds subscribers, idempotency receipts, the projection outbox towards D1, and the live-feed
//! filters, and the record of what connectors sent wrong. Applied idempotently each time the
//! object starts.

pub const SCHEMA_VERSION: i64 = 3;

pub const DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v)",
    // One row per (connector, message): the full convergence state plus what queries need.
    "CREATE TABLE IF NOT EXISTS signals (
        connector_id  TEXT NOT NULL,
        message_id    TEXT NOT NULL,
        channel_id    TEXT,
        created_at_ms INTEGER,
        visible       INTEGER NOT NULL DEFAULT 0,
        deleted       INTEGER NOT NULL DEFAULT 0,
        seq           INTEGER NOT NULL DEFAULT 0,
        rev           INTEGER NOT NULL DEFAULT 0,
        state_json    TEXT NOT NULL,
        view_json     TEXT,
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (connector_id, message_id)
    ) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS signals_visible_recent ON signals (visible, created_at_ms DESC)",
    "CREATE INDEX IF NOT EXISTS signals_by_age ON signals (created_at_ms)",
    "CREATE TABLE IF NOT EXISTS threads (
        connector_id      TEXT NOT NULL,
        thread_id         TEXT NOT NULL,
        parent_channel_id TEXT,
        deleted           INTEGER NOT NULL DEFAULT 0,
        seq               INTEGER NOT NULL DEFAULT 0,
        rev               INTEGER NOT NULL DEFAULT 0,
        state_json        TEXT NOT NULL,
        view_json         TEXT NOT NULL,
        updated_at_ms     INTEGER NOT NULL,
        PRIMARY KEY (connector_id, thread_id)
    ) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS threads_recent ON threads (deleted, updated_at_ms DESC)",
    // The ordered log of visible changes; `frame` is the exact JSON sent to subscribers.
    "CREATE TABLE IF NOT EXISTS events (
        seq           INTEGER PRIMARY KEY,
        channel_id    TEXT,
        frame         TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS receipts (
        connector_id    TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        fingerprint     TEXT NOT NULL,
        received_at_ms  INTEGER NOT NULL,
        PRIMARY KEY (connector_id, idempotency_key, fingerprint)
    ) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS receipts_by_age ON receipts (received_at_ms)",
    // Rows whose latest revision is not yet in D1.
    "CREATE TABLE IF NOT EXISTS outbox (
        kind         TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        item_id      TEXT NOT NULL,
        rev          INTEGER NOT NULL,
        PRIMARY KEY (kind, connector_id, item_id)
    ) WITHOUT ROWID",
    // Items the connector sent that validation refused (owned by `diagnostics`).
    "CREATE TABLE IF NOT EXISTS rejections (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        connector_id    TEXT NOT NULL,
        fingerprint     TEXT NOT NULL,
        at_ms           INTEGER NOT NULL,
        route           TEXT NOT NULL,
        item_index      INTEGER NOT NULL,
        idempotency_key TEXT,
        error_code      TEXT NOT NULL,
        message         TEXT NOT NULL,
        fields_json     TEXT NOT NULL,
        UNIQUE (connector_id, fingerprint)
    )",
    "CREATE INDEX IF NOT EXISTS rejections_recent ON rejections (connector_id, id DESC)",
    "CREATE TABLE IF NOT EXISTS ingest_counts (
        connector_id          TEXT PRIMARY KEY,
        rejected              INTEGER NOT NULL DEFAULT 0,
        created_at_corrected  INTEGER NOT NULL DEFAULT 0,
        last_rejected_at_ms   INTEGER
    ) WITHOUT ROWID",
    // Changes of mapped source channels not yet acknowledged by the mirror object, written
    // in the commit's transaction (owned by `handoff`).
    "CREATE TABLE IF NOT EXISTS mirror_outbox (
        seq             INTEGER PRIMARY KEY,
        connector_id    TEXT NOT NULL,
        message_id      TEXT NOT NULL,
        kind            TEXT NOT NULL,
        config_version  INTEGER NOT NULL,
        committed_at_ms INTEGER NOT NULL
    )",
    // Channel filters of connected subscribers, by the tag their sockets carry.
    "CREATE TABLE IF NOT EXISTS feed_filters (
        filter_id     TEXT PRIMARY KEY,
        channels_json TEXT,
        created_at_ms INTEGER NOT NULL
    )",
];
