//! `tiers`: each tenant's ranked tiers (basic < advanced < pro).

use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::bind::{n, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct TierRow {
    pub tier_key: String,
    pub name: String,
    pub rank: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TierRow {
    pub fn to_json(&self) -> Value {
        json!({"key": self.tier_key, "name": self.name, "rank": self.rank})
    }

    pub fn to_admin_json(&self) -> Value {
        json!({
            "key": self.tier_key, "name": self.name, "rank": self.rank,
            "created_at": self.created_at, "updated_at": self.updated_at,
        })
    }
}

pub struct Tiers<'a> {
    pub(super) db: &'a Db,
}

impl Tiers<'_> {
    pub async fn list(&self, tenant: &str) -> Result<Vec<TierRow>> {
        self.db
            .stmt(
                "SELECT tier_key, name, rank, created_at, updated_at FROM tiers WHERE tenant_key = ?1 ORDER BY rank",
                &[s(tenant)],
            )?
            .all()
            .await?
            .results()
    }

    pub fn insert(
        &self,
        tenant: &str,
        key: &str,
        name: &str,
        rank: i64,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO tiers (tenant_key, tier_key, name, rank, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            &[s(tenant), s(key), s(name), n(rank), n(now)],
        )
    }

    pub fn update(
        &self,
        tenant: &str,
        key: &str,
        name: &str,
        rank: i64,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE tiers SET name = ?3, rank = ?4, updated_at = ?5 WHERE tenant_key = ?1 AND tier_key = ?2",
            &[s(tenant), s(key), s(name), n(rank), n(now)],
        )
    }

    pub fn delete(&self, tenant: &str, key: &str) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "DELETE FROM tiers WHERE tenant_key = ?1 AND tier_key = ?2",
            &[s(tenant), s(key)],
        )
    }
}
