//! `connectors`: each connector, its token hash, status, flags and the two versions the
//! runtime-config ETag is made of. The only module that reads or writes the table; other
//! owners put its version bumps into their own batches through the `*_stmt` builders.

use relay_core::admin::ConnectorPatch;
use serde::Deserialize;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::{D1PreparedStatement, Result};

use super::bind::{b, n, opt, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct ConnectorRow {
    pub tenant_key: String,
    pub connector_id: String,
    pub name: String,
    pub token_hash: String,
    pub token_hint: String,
    pub token_rotated_at: i64,
    pub status: String,
    pub ingest_enabled: i64,
    pub forward_enabled: i64,
    pub config_version: i64,
    pub discovery_version: i64,
    pub discovery_guild_id: Option<String>,
    pub discovery_requested_at: Option<i64>,
    pub discovery_synced_at: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ConnectorRow {
    pub fn is_paused(&self) -> bool {
        self.status == "paused"
    }

    /// The admin view: everything but the token hash.
    pub fn to_json(&self) -> Value {
        json!({
            "tenant_key": self.tenant_key,
            "connector_id": self.connector_id,
            "name": self.name,
            "status": self.status,
            "ingest_enabled": self.ingest_enabled != 0,
            "forward_enabled": self.forward_enabled != 0,
            "config_version": self.config_version,
            "discovery_request": self.discovery_status_json(),
            "token_hint": self.token_hint,
            "token_rotated_at": self.token_rotated_at,
            "last_seen_at": self.last_seen_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }

    pub fn discovery_request_json(&self) -> Value {
        json!({
            "version": self.discovery_version,
            "guild_id": self.discovery_guild_id,
            "requested_at": self.discovery_requested_at,
        })
    }

    /// The discovery request plus when the connector last answered one (admin view only: the
    /// runtime config keeps the protocol's exact shape).
    pub fn discovery_status_json(&self) -> Value {
        let mut v = self.discovery_request_json();
        v["synced_at"] = json!(self.discovery_synced_at);
        v
    }
}

const CONNECTOR_COLUMNS: &str = "tenant_key, connector_id, name, token_hash, token_hint, \
    token_rotated_at, status, ingest_enabled, forward_enabled, config_version, discovery_version, \
    discovery_guild_id, discovery_requested_at, discovery_synced_at, last_seen_at, created_at, updated_at";

/// How stale `last_seen_at` may get: one write a minute per connector, not one per request.
pub const LAST_SEEN_EVERY_MS: i64 = 60_000;

pub struct Connectors<'a> {
    pub(super) db: &'a Db,
}

impl Connectors<'_> {
    pub async fn by_token_hash(&self, hash: &str) -> Result<Option<ConnectorRow>> {
        self.db
            .stmt(
                &format!("SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE token_hash = ?1"),
                &[s(hash)],
            )?
            .first(None)
            .await
    }

    pub async fn get(&self, tenant: &str, connector: &str) -> Result<Option<ConnectorRow>> {
        self.db.stmt(
            &format!(
                "SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE tenant_key = ?1 AND connector_id = ?2"
            ),
            &[s(tenant), s(connector)],
        )?
        .first(None)
        .await
    }

    pub async fn list(&self, tenant: &str) -> Result<Vec<ConnectorRow>> {
        self.db.stmt(
            &format!(
                "SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE tenant_key = ?1 ORDER BY connector_id"
            ),
            &[s(tenant)],
        )?
        .all()
        .await?
        .results()
    }

    /// Returns false when the connector id is taken within the tenant.
    pub async fn insert(
        &self,
        tenant: &str,
        connector: &str,
        name: &str,
        token_hash: &str,
        token_hint: &str,
        now: i64,
    ) -> Result<bool> {
        let changed = self
            .db
            .changes(
                "INSERT INTO connectors (tenant_key, connector_id, name, token_hash, token_hint, \
                 token_rotated_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6) \
                 ON CONFLICT (tenant_key, connector_id) DO NOTHING",
                &[
                    s(tenant),
                    s(connector),
                    s(name),
                    s(token_hash),
                    s(token_hint),
                    n(now),
                ],
            )
            .await?;
        Ok(changed > 0)
    }

    pub async fn set_token(
        &self,
        tenant: &str,
        connector: &str,
        token_hash: &str,
        token_hint: &str,
        now: i64,
    ) -> Result<bool> {
        let changed = self
            .db
            .changes(
                "UPDATE connectors SET token_hash = ?3, token_hint = ?4, token_rotated_at = ?5, \
                 updated_at = ?5 WHERE tenant_key = ?1 AND connector_id = ?2",
                &[
                    s(tenant),
                    s(connector),
                    s(token_hash),
                    s(token_hint),
                    n(now),
                ],
            )
            .await?;
        Ok(changed > 0)
    }

    /// Pausing or resuming is visible in the runtime config, so it bumps `config_version` —
    /// but only when the status actually changes, so repeated clicks do not churn the ETag.
    pub async fn set_status(
        &self,
        tenant: &str,
        connector: &str,
        status: &str,
        now: i64,
    ) -> Result<()> {
        self.db.changes(
            "UPDATE connectors SET status = ?3, config_version = config_version + 1, updated_at = ?4 \
             WHERE tenant_key = ?1 AND connector_id = ?2 AND status <> ?3",
            &[s(tenant), s(connector), s(status), n(now)],
        )
        .await?;
        Ok(())
    }

    pub async fn patch(
        &self,
        tenant: &str,
        connector: &str,
        patch: &ConnectorPatch,
        now: i64,
    ) -> Result<()> {
        let bump = if patch.touches_runtime_config() { 1 } else { 0 };
        self.db
            .changes(
                "UPDATE connectors SET name = COALESCE(?3, name), \
             ingest_enabled = COALESCE(?4, ingest_enabled), \
             forward_enabled = COALESCE(?5, forward_enabled), \
             config_version = config_version + ?6, updated_at = ?7 \
             WHERE tenant_key = ?1 AND connector_id = ?2",
                &[
                    s(tenant),
                    s(connector),
                    opt(patch.name.as_deref()),
                    patch.ingest_enabled.map(b).unwrap_or(JsValue::NULL),
                    patch.forward_enabled.map(b).unwrap_or(JsValue::NULL),
                    n(bump),
                    n(now),
                ],
            )
            .await?;
        Ok(())
    }

    /// Records contact from a connector at most once per [`LAST_SEEN_EVERY_MS`]: a write on
    /// every ingest request would cost more than the information is worth.
    pub async fn touch_last_seen(&self, tenant: &str, connector: &str, now: i64) -> Result<()> {
        self.db.changes(
            "UPDATE connectors SET last_seen_at = ?3 WHERE tenant_key = ?1 AND connector_id = ?2 \
             AND (last_seen_at IS NULL OR last_seen_at < ?3 - ?4)",
            &[s(tenant), s(connector), n(now), n(LAST_SEEN_EVERY_MS)],
        )
        .await?;
        Ok(())
    }

    /// Asks the connector for a discovery sync. Bumps only the discovery version.
    pub async fn request_discovery(
        &self,
        tenant: &str,
        connector: &str,
        guild: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.db.changes(
            "UPDATE connectors SET discovery_version = discovery_version + 1, discovery_guild_id = ?3, \
             discovery_requested_at = ?4, updated_at = ?4 WHERE tenant_key = ?1 AND connector_id = ?2",
            &[s(tenant), s(connector), opt(guild), n(now)],
        )
        .await?;
        Ok(())
    }

    /// Bumps `config_version` (inside another owner's batch: a config edit and its bump land
    /// together).
    pub(super) fn bump_config_stmt(
        &self,
        tenant: &str,
        connector: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE connectors SET config_version = config_version + 1, updated_at = ?3 \
             WHERE tenant_key = ?1 AND connector_id = ?2",
            &[s(tenant), s(connector), n(now)],
        )
    }

    /// The same bump, applied only when the statement before it in the batch changed a row:
    /// `changes()` of that statement is what SQLite sees, while the batch's own results are not
    /// visible inside it.
    pub(super) fn bump_config_if_changed_stmt(
        &self,
        tenant: &str,
        connector: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE connectors SET config_version = config_version + 1, updated_at = ?3 \
             WHERE tenant_key = ?1 AND connector_id = ?2 AND changes() > 0",
            &[s(tenant), s(connector), n(now)],
        )
    }

    /// Records that the connector answered a discovery request.
    pub(super) fn mark_discovery_synced_stmt(
        &self,
        tenant: &str,
        connector: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE connectors SET discovery_synced_at = ?3 WHERE tenant_key = ?1 AND connector_id = ?2",
            &[s(tenant), s(connector), n(now)],
        )
    }
}
