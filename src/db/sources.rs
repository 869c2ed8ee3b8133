//! `connector_sources`: the channels a connector reads (sources) or writes (targets).

use relay_core::admin::SourceUpsert;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::Result;

use super::bind::{b, n, s};
use super::handle::Db;

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

pub struct Sources<'a> {
    pub(super) db: &'a Db,
}

impl Sources<'_> {
    pub async fn list(&self, tenant: &str, connector: &str) -> Result<Vec<SourceRow>> {
        self.db.stmt(
            "SELECT guild_id, channel_id, is_source, is_target, thread_mode, is_enabled, updated_at \
             FROM connector_sources WHERE tenant_key = ?1 AND connector_id = ?2 \
             ORDER BY guild_id, channel_id",
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
        channel: &str,
        src: &SourceUpsert,
        now: i64,
    ) -> Result<()> {
        let upsert = self.db.stmt(
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

    /// Removes a source and every mapping that reads from or writes to it. Returns
    /// `(source_removed, mappings_removed)`; nothing is bumped when nothing was removed.
    pub async fn delete(
        &self,
        tenant: &str,
        connector: &str,
        channel: &str,
        now: i64,
    ) -> Result<(bool, usize)> {
        let del_maps = self
            .db
            .mappings()
            .delete_touching_stmt(tenant, connector, channel)?;
        let del_src = self.db.stmt(
            "DELETE FROM connector_sources WHERE tenant_key = ?1 AND connector_id = ?2 AND channel_id = ?3",
            &[s(tenant), s(connector), s(channel)],
        )?;
        // The bump only applies when the source existed.
        let bump = self
            .db
            .connectors()
            .bump_config_if_changed_stmt(tenant, connector, now)?;
        let changed = self.db.batch_changes(vec![del_maps, del_src, bump]).await?;
        let at = |i: usize| changed.get(i).copied().unwrap_or(0);
        Ok((at(1) > 0, at(0)))
    }
}
