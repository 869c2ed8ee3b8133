//! D1 access: the system of record for tenants, connectors, their configuration, discovery
//! snapshots, and the projection of signals and threads written by tenant objects.
//!
//! Every multi-statement change runs as one `batch` (a transaction), so a config edit and its
//! version bump land together or not at all.

use relay_core::admin::{ConnectorPatch, MappingUpsert, SourceUpsert};
use relay_core::protocol::DiscoverySync;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env, Result};

pub fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

pub fn n(v: i64) -> JsValue {
    JsValue::from_f64(v as f64)
}

pub fn b(v: bool) -> JsValue {
    JsValue::from_f64(if v { 1.0 } else { 0.0 })
}

pub fn opt(v: Option<&str>) -> JsValue {
    v.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

pub fn opt_n(v: Option<i64>) -> JsValue {
    v.map(n).unwrap_or(JsValue::NULL)
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TenantRow {
    pub tenant_key: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

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

#[derive(Debug, Clone, Deserialize)]
pub struct SourceRow {
    pub guild_id: String,
    pub channel_id: String,
    pub is_source: i64,
    pub is_target: i64,
    pub thread_mode: String,
    pub is_enabled: i64,
    pub updated_at: i64,
}

impl SourceRow {
    /// Exactly the runtime-config shape of the connector protocol.
    pub fn to_json(&self) -> Value {
        json!({
            "guild_id": self.guild_id,
            "channel_id": self.channel_id,
            "is_source": self.is_source != 0,
            "is_target": self.is_target != 0,
            "thread_mode": self.thread_mode,
            "is_enabled": self.is_enabled != 0,
        })
    }

    /// The operator view: the protocol fields plus bookkeeping.
    pub fn to_admin_json(&self) -> Value {
        let mut v = self.to_json();
        v["updated_at"] = json!(self.updated_at);
        v
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct MappingRow {
    pub source_channel_id: String,
    pub target_channel_id: String,
    pub filters_json: String,
    pub transform_json: String,
    pub priority: i64,
    pub updated_at: i64,
}

impl MappingRow {
    /// Exactly the runtime-config shape of the connector protocol.
    pub fn to_json(&self) -> Value {
        let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or_else(|_| json!({}));
        json!({
            "source_channel_id": self.source_channel_id,
            "target_channel_id": self.target_channel_id,
            "filters_json": parse(&self.filters_json),
            "transform_json": parse(&self.transform_json),
            "priority": self.priority,
        })
    }

    /// The operator view: the protocol fields plus bookkeeping.
    pub fn to_admin_json(&self) -> Value {
        let mut v = self.to_json();
        v["updated_at"] = json!(self.updated_at);
        v
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GuildRow {
    pub guild_id: String,
    pub name: String,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ChannelRow {
    pub channel_id: String,
    pub guild_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<i64>,
    pub parent_id: Option<String>,
    pub position: Option<i64>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ViewRow {
    pub view_json: Option<String>,
    pub seq: i64,
}

const CONNECTOR_COLUMNS: &str = "tenant_key, connector_id, name, token_hash, token_hint, \
    token_rotated_at, status, ingest_enabled, forward_enabled, config_version, discovery_version, \
    discovery_guild_id, discovery_requested_at, discovery_synced_at, last_seen_at, created_at, updated_at";

pub struct Db {
    db: D1Database,
}

impl Db {
    pub fn new(env: &Env) -> Result<Self> {
        Ok(Db { db: env.d1("DB")? })
    }

    fn stmt(&self, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement> {
        self.db.prepare(sql).bind(args)
    }

    async fn changes(&self, sql: &str, args: &[JsValue]) -> Result<usize> {
        let res = self.stmt(sql, args)?.run().await?;
        Ok(res.meta()?.and_then(|m| m.changes).unwrap_or(0))
    }

    pub async fn ping(&self) -> Result<()> {
        self.db
            .prepare("SELECT 1 AS one")
            .first::<Value>(None)
            .await?;
        Ok(())
    }

    // -- tenants ---------------------------------------------------------------------------

    pub async fn tenants(&self) -> Result<Vec<TenantRow>> {
        self.db
            .prepare(
                "SELECT tenant_key, name, created_at, updated_at FROM tenants ORDER BY tenant_key",
            )
            .all()
            .await?
            .results()
    }

    pub async fn tenant(&self, key: &str) -> Result<Option<TenantRow>> {
        self.stmt(
            "SELECT tenant_key, name, created_at, updated_at FROM tenants WHERE tenant_key = ?1",
            &[s(key)],
        )?
        .first(None)
        .await
    }

    /// Returns false when the tenant already exists.
    pub async fn insert_tenant(&self, key: &str, name: &str, now: i64) -> Result<bool> {
        let changed = self
            .changes(
                "INSERT INTO tenants (tenant_key, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) \
                 ON CONFLICT (tenant_key) DO NOTHING",
                &[s(key), s(name), n(now)],
            )
            .await?;
        Ok(changed > 0)
    }

    // -- connectors ------------------------------------------------------------------------

    pub async fn connector_by_token_hash(&self, hash: &str) -> Result<Option<ConnectorRow>> {
        self.stmt(
            &format!("SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE token_hash = ?1"),
            &[s(hash)],
        )?
        .first(None)
        .await
    }

    pub async fn connector(&self, tenant: &str, connector: &str) -> Result<Option<ConnectorRow>> {
        self.stmt(
            &format!(
                "SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE tenant_key = ?1 AND connector_id = ?2"
            ),
            &[s(tenant), s(connector)],
        )?
        .first(None)
        .await
    }

    pub async fn connectors(&self, tenant: &str) -> Result<Vec<ConnectorRow>> {
        self.stmt(
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
    pub async fn insert_connector(
        &self,
        tenant: &str,
        connector: &str,
        name: &str,
        token_hash: &str,
        token_hint: &str,
        now: i64,
    ) -> Result<bool> {
        let changed = self
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
        self.changes(
            "UPDATE connectors SET status = ?3, config_version = config_version + 1, updated_at = ?4 \
             WHERE tenant_key = ?1 AND connector_id = ?2 AND status <> ?3",
            &[s(tenant), s(connector), s(status), n(now)],
        )
        .await?;
        Ok(())
    }

    pub async fn patch_connector(
        &self,
        tenant: &str,
        connector: &str,
        patch: &ConnectorPatch,
        now: i64,
    ) -> Result<()> {
        let bump = if patch.touches_runtime_config() { 1 } else { 0 };
        self.changes(
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

    /// Records contact from a connector at most once a minute per connector: a write on every
    /// ingest request would cost more than the information is worth.
    pub async fn touch_last_seen(&self, tenant: &str, connector: &str, now: i64) -> Result<()> {
        self.changes(
            "UPDATE connectors SET last_seen_at = ?3 WHERE tenant_key = ?1 AND connector_id = ?2 \
             AND (last_seen_at IS NULL OR last_seen_at < ?3 - 60000)",
            &[s(tenant), s(connector), n(now)],
        )
        .await?;
        Ok(())
    }

    fn bump_config(&self, tenant: &str, connector: &str, now: i64) -> Result<D1PreparedStatement> {
        self.stmt(
            "UPDATE connectors SET config_version = config_version + 1, updated_at = ?3 \
             WHERE tenant_key = ?1 AND connector_id = ?2",
            &[s(tenant), s(connector), n(now)],
        )
    }

    // -- sources and mappings --------------------------------------------------------------

    pub async fn sources(&self, tenant: &str, connector: &str) -> Result<Vec<SourceRow>> {
        self.stmt(
            "SELECT guild_id, channel_id, is_source, is_target, thread_mode, is_enabled, updated_at \
             FROM connector_sources WHERE tenant_key = ?1 AND connector_id = ?2 \
             ORDER BY guild_id, channel_id",
            &[s(tenant), s(connector)],
        )?
        .all()
        .await?
        .results()
    }

    pub async fn upsert_source(
        &self,
        tenant: &str,
        connector: &str,
        channel: &str,
        src: &SourceUpsert,
        now: i64,
    ) -> Result<()> {
        let upsert = self.stmt(
            "INSERT INTO connector_sources (tenant_key, connector_id, channel_id, guild_id, is_source, \
             is_target, thread_mode, is_enabled, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
             ON CONFLICT (tenant_key, connector_id, channel_id) DO UPDATE SET \
             guild_id = excluded.guild_id, is_source = excluded.is_source, \
             is_target = excluded.is_target, thread_mode = excluded.thread_mode, \
             is_enabled = excluded.is_enabled, updated_at = excluded.updated_at",
            &[
                s(tenant),
                s(connector),
                s(channel),
                s(src.guild_id.as_str()),
                b(src.is_source),
                b(src.is_target),
                s(src.thread_mode.as_str()),
                b(src.is_enabled),
                n(now),
            ],
        )?;
        self.db
            .batch(vec![upsert, self.bump_config(tenant, connector, now)?])
            .await?;
        Ok(())
    }

    /// Removes a source and every mapping that reads from or writes to it. Returns
    /// `(source_removed, mappings_removed)`; nothing is bumped when nothing was removed.
    pub async fn delete_source(
        &self,
        tenant: &str,
        connector: &str,
        channel: &str,
        now: i64,
    ) -> Result<(bool, usize)> {
        let del_maps = self.stmt(
            "DELETE FROM connector_mappings WHERE tenant_key = ?1 AND connector_id = ?2 \
             AND (source_channel_id = ?3 OR target_channel_id = ?3)",
            &[s(tenant), s(connector), s(channel)],
        )?;
        let del_src = self.stmt(
            "DELETE FROM connector_sources WHERE tenant_key = ?1 AND connector_id = ?2 AND channel_id = ?3",
            &[s(tenant), s(connector), s(channel)],
        )?;
        // The bump only applies when the source existed: `changes()` of the statement before it
        // is not visible inside a batch, so condition on the row itself.
        let bump = self.stmt(
            "UPDATE connectors SET config_version = config_version + 1, updated_at = ?3 \
             WHERE tenant_key = ?1 AND connector_id = ?2 AND changes() > 0",
            &[s(tenant), s(connector), n(now)],
        )?;
        let results = self.db.batch(vec![del_maps, del_src, bump]).await?;
        let count = |i: usize| {
            results
                .get(i)
                .and_then(|r| r.meta().ok().flatten())
                .and_then(|m| m.changes)
                .unwrap_or(0)
        };
        Ok((count(1) > 0, count(0)))
    }

    pub async fn mappings(&self, tenant: &str, connector: &str) -> Result<Vec<MappingRow>> {
        self.stmt(
            "SELECT source_channel_id, target_channel_id, filters_json, transform_json, priority, updated_at \
             FROM connector_mappings WHERE tenant_key = ?1 AND connector_id = ?2 \
             ORDER BY priority DESC, source_channel_id, target_channel_id",
            &[s(tenant), s(connector)],
        )?
        .all()
        .await?
        .results()
    }

    pub async fn upsert_mapping(
        &self,
        tenant: &str,
        connector: &str,
        source: &str,
        target: &str,
        m: &MappingUpsert,
        now: i64,
    ) -> Result<()> {
        let upsert = self.stmt(
            "INSERT INTO connector_mappings (tenant_key, connector_id, source_channel_id, \
             target_channel_id, filters_json, transform_json, priority, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) \
             ON CONFLICT (tenant_key, connector_id, source_channel_id, target_channel_id) DO UPDATE SET \
             filters_json = excluded.filters_json, transform_json = excluded.transform_json, \
             priority = excluded.priority, updated_at = excluded.updated_at",
            &[
                s(tenant),
                s(connector),
                s(source),
                s(target),
                s(&Value::Object(m.filters_json.clone()).to_string()),
                s(&Value::Object(m.transform_json.clone()).to_string()),
                n(m.priority),
                n(now),
            ],
        )?;
        self.db
            .batch(vec![upsert, self.bump_config(tenant, connector, now)?])
            .await?;
        Ok(())
    }

    pub async fn delete_mapping(
        &self,
        tenant: &str,
        connector: &str,
        source: &str,
        target: &str,
        now: i64,
    ) -> Result<bool> {
        let del = self.stmt(
            "DELETE FROM connector_mappings WHERE tenant_key = ?1 AND connector_id = ?2 \
             AND source_channel_id = ?3 AND target_channel_id = ?4",
            &[s(tenant), s(connector), s(source), s(target)],
        )?;
        let bump = self.stmt(
            "UPDATE connectors SET config_version = config_version + 1, updated_at = ?3 \
             WHERE tenant_key = ?1 AND connector_id = ?2 AND changes() > 0",
            &[s(tenant), s(connector), n(now)],
        )?;
        let results = self.db.batch(vec![del, bump]).await?;
        Ok(results
            .first()
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0)
            > 0)
    }

    // -- discovery -------------------------------------------------------------------------

    /// Asks the connector for a discovery sync. Bumps only the discovery version.
    pub async fn request_discovery(
        &self,
        tenant: &str,
        connector: &str,
        guild: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.changes(
            "UPDATE connectors SET discovery_version = discovery_version + 1, discovery_guild_id = ?3, \
             discovery_requested_at = ?4, updated_at = ?4 WHERE tenant_key = ?1 AND connector_id = ?2",
            &[s(tenant), s(connector), opt(guild), n(now)],
        )
        .await?;
        Ok(())
    }

    pub async fn store_discovery(&self, sync: &DiscoverySync, now: i64) -> Result<(usize, usize)> {
        let (t, c) = (sync.tenant_key.as_str(), sync.connector_id.as_str());
        let mut stmts = Vec::with_capacity(sync.guilds.len() + sync.channels.len());
        for g in &sync.guilds {
            stmts.push(self.stmt(
                "INSERT INTO discovered_guilds (tenant_key, connector_id, guild_id, name, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant_key, connector_id, guild_id) \
                 DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
                &[s(t), s(c), s(g.discord_guild_id.as_str()), s(&g.name), n(now)],
            )?);
        }
        for ch in &sync.channels {
            stmts.push(self.stmt(
                "INSERT INTO discovered_channels (tenant_key, connector_id, channel_id, guild_id, name, \
                 type, parent_id, position, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (tenant_key, connector_id, channel_id) DO UPDATE SET \
                 guild_id = excluded.guild_id, name = excluded.name, type = excluded.type, \
                 parent_id = excluded.parent_id, position = excluded.position, \
                 updated_at = excluded.updated_at",
                &[
                    s(t),
                    s(c),
                    s(ch.discord_channel_id.as_str()),
                    s(ch.guild_id.as_str()),
                    s(&ch.name),
                    opt_n(ch.kind),
                    opt(ch.parent_id.as_ref().map(|p| p.as_str())),
                    opt_n(ch.position),
                    n(now),
                ],
            )?);
        }
        stmts.push(self.stmt(
            "UPDATE connectors SET discovery_synced_at = ?3 WHERE tenant_key = ?1 AND connector_id = ?2",
            &[s(t), s(c), n(now)],
        )?);
        self.db.batch(stmts).await?;
        Ok((sync.guilds.len(), sync.channels.len()))
    }

    pub async fn guilds(&self, tenant: &str, connector: &str) -> Result<Vec<GuildRow>> {
        self.stmt(
            "SELECT guild_id, name, updated_at FROM discovered_guilds \
             WHERE tenant_key = ?1 AND connector_id = ?2 ORDER BY name COLLATE NOCASE, guild_id",
            &[s(tenant), s(connector)],
        )?
        .all()
        .await?
        .results()
    }

    pub async fn channels(
        &self,
        tenant: &str,
        connector: &str,
        guild: Option<&str>,
    ) -> Result<Vec<ChannelRow>> {
        self.stmt(
            "SELECT channel_id, guild_id, name, type, parent_id, position, updated_at \
             FROM discovered_channels WHERE tenant_key = ?1 AND connector_id = ?2 \
             AND (?3 IS NULL OR guild_id = ?3) ORDER BY guild_id, position, name COLLATE NOCASE",
            &[s(tenant), s(connector), opt(guild)],
        )?
        .all()
        .await?
        .results()
    }

    // -- signals and threads (projection) --------------------------------------------------

    pub async fn recent_signals(
        &self,
        tenant: &str,
        channel: Option<&str>,
        connector: Option<&str>,
        before_created_at: Option<i64>,
        include_deleted: bool,
        limit: usize,
    ) -> Result<Vec<ViewRow>> {
        self.stmt(
            "SELECT view_json, seq FROM signals WHERE tenant_key = ?1 \
             AND (?2 IS NULL OR channel_id = ?2) AND (?3 IS NULL OR connector_id = ?3) \
             AND (?4 IS NULL OR created_at < ?4) AND (?5 = 1 OR deleted = 0) \
             AND view_json IS NOT NULL ORDER BY created_at DESC, message_id DESC LIMIT ?6",
            &[
                s(tenant),
                opt(channel),
                opt(connector),
                opt_n(before_created_at),
                b(include_deleted),
                n(limit as i64),
            ],
        )?
        .all()
        .await?
        .results()
    }

    pub async fn recent_threads(&self, tenant: &str, limit: usize) -> Result<Vec<ViewRow>> {
        self.stmt(
            "SELECT view_json, seq FROM threads WHERE tenant_key = ?1 \
             ORDER BY updated_at DESC LIMIT ?2",
            &[s(tenant), n(limit as i64)],
        )?
        .all()
        .await?
        .results()
    }

    /// Applies retention to the projection. Returns rows removed.
    pub async fn purge_before(&self, cutoff_ms: i64) -> Result<usize> {
        let a = self
            .changes("DELETE FROM signals WHERE created_at < ?1", &[n(cutoff_ms)])
            .await?;
        let b = self
            .changes("DELETE FROM threads WHERE updated_at < ?1", &[n(cutoff_ms)])
            .await?;
        Ok(a + b)
    }
}
