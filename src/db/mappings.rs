//! `connector_mappings`: source channel → target channel, with per-mapping filters and
//! transforms.

use relay_core::admin::MappingUpsert;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::bind::{n, opt, opt_n, s};
use super::handle::Db;

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

pub struct Mappings<'a> {
    pub(super) db: &'a Db,
}

impl Mappings<'_> {
    pub async fn list(&self, tenant: &str, connector: &str) -> Result<Vec<MappingRow>> {
        self.db.stmt(
            "SELECT source_channel_id, target_channel_id, filters_json, transform_json, priority, updated_at \
             FROM connector_mappings WHERE tenant_key = ?1 AND connector_id = ?2 \
             ORDER BY priority DESC, source_channel_id, target_channel_id",
            &[s(tenant), s(connector)],
        )?
        .all()
        .await?
        .results()
    }

    pub async fn upsert(
        &self,
        tenant: &str,
        connector: &str,
        source: &str,
        target: &str,
        m: &MappingUpsert,
        now: i64,
    ) -> Result<()> {
        // Insert with defaults for what the request leaves out; on update, keep it (NULL
        // parameters fall back to the stored column).
        let filters = m
            .filters_json
            .as_ref()
            .map(|f| Value::Object(f.clone()).to_string());
        let transform = m
            .transform_json
            .as_ref()
            .map(|t| Value::Object(t.clone()).to_string());
        let upsert = self.db.stmt(
            "INSERT INTO connector_mappings (tenant_key, connector_id, source_channel_id, \
             target_channel_id, filters_json, transform_json, priority, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, COALESCE(?5, '{}'), COALESCE(?6, '{}'), COALESCE(?7, 0), ?8, ?8) \
             ON CONFLICT (tenant_key, connector_id, source_channel_id, target_channel_id) DO UPDATE SET \
             filters_json = COALESCE(?5, filters_json), transform_json = COALESCE(?6, transform_json), \
             priority = COALESCE(?7, priority), updated_at = excluded.updated_at",
            &[
                s(tenant),
                s(connector),
                s(source),
                s(target),
                opt(filters.as_deref()),
                opt(transform.as_deref()),
                opt_n(m.priority),
                n(now),
            ],
        )?;
        self.db
            .d1
            .batch(vec![
                upsert,
                self.db
                    .connectors()
                    .bump_config_stmt(tenant, connector, now)?,
            ])
            .await?;
        Ok(())
    }

    pub async fn delete(
        &self,
        tenant: &str,
        connector: &str,
        source: &str,
        target: &str,
        now: i64,
    ) -> Result<bool> {
        let del = self.db.stmt(
            "DELETE FROM connector_mappings WHERE tenant_key = ?1 AND connector_id = ?2 \
             AND source_channel_id = ?3 AND target_channel_id = ?4",
            &[s(tenant), s(connector), s(source), s(target)],
        )?;
        let bump = self
            .db
            .connectors()
            .bump_config_if_changed_stmt(tenant, connector, now)?;
        let changed = self.db.batch_changes(vec![del, bump]).await?;
        Ok(changed.first().is_some_and(|n| *n > 0))
    }

    /// Removes every mapping that reads from or writes to `channel` (inside the source
    /// owner's batch, when the channel goes).
    pub(super) fn delete_touching_stmt(
        &self,
        tenant: &str,
        connector: &str,
        channel: &str,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "DELETE FROM connector_mappings WHERE tenant_key = ?1 AND connector_id = ?2 \
             AND (source_channel_id = ?3 OR target_channel_id = ?3)",
            &[s(tenant), s(connector), s(channel)],
        )
    }
}
