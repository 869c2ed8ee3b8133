//! `channel_visibility`: which tier a source channel's signals need on the dashboard.

use serde::Deserialize;
use worker::{D1PreparedStatement, Result};

use super::bind::{n, opt, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct VisibilityRow {
    pub channel_id: String,
    pub min_tier: Option<String>,
}

pub struct Visibility<'a> {
    pub(super) db: &'a Db,
}

impl Visibility<'_> {
    pub async fn list(&self, tenant: &str) -> Result<Vec<VisibilityRow>> {
        self.db
            .stmt(
                "SELECT channel_id, min_tier, updated_at FROM channel_visibility WHERE tenant_key = ?1 ORDER BY channel_id",
                &[s(tenant)],
            )?
            .all()
            .await?
            .results()
    }

    pub fn set(
        &self,
        tenant: &str,
        channel: &str,
        min_tier: Option<&str>,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO channel_visibility (tenant_key, channel_id, min_tier, updated_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (tenant_key, channel_id) DO UPDATE SET min_tier = excluded.min_tier, updated_at = excluded.updated_at",
            &[s(tenant), s(channel), opt(min_tier), n(now)],
        )
    }

    pub async fn uses_tier(&self, tenant: &str, tier: &str) -> Result<bool> {
        let row: Option<serde_json::Value> = self
            .db
            .stmt(
                "SELECT 1 AS one FROM channel_visibility WHERE tenant_key = ?1 AND min_tier = ?2 LIMIT 1",
                &[s(tenant), s(tier)],
            )?
            .first(None)
            .await?;
        Ok(row.is_some())
    }
}
