//! `tenants`: the signals businesses. The only module that reads or writes the table.

use serde::{Deserialize, Serialize};
use worker::Result;

use super::bind::{n, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TenantRow {
    pub tenant_key: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct Tenants<'a> {
    pub(super) db: &'a Db,
}

impl Tenants<'_> {
    pub async fn list(&self) -> Result<Vec<TenantRow>> {
        self.db
            .d1
            .prepare(
                "SELECT tenant_key, name, created_at, updated_at FROM tenants ORDER BY tenant_key",
            )
            .all()
            .await?
            .results()
    }

    pub async fn get(&self, key: &str) -> Result<Option<TenantRow>> {
        self.db.stmt(
            "SELECT tenant_key, name, created_at, updated_at FROM tenants WHERE tenant_key = ?1",
            &[s(key)],
        )?
        .first(None)
        .await
    }

    /// Returns false when the tenant already exists.
    pub async fn insert(&self, key: &str, name: &str, now: i64) -> Result<bool> {
        let changed = self
            .db
            .changes(
                "INSERT INTO tenants (tenant_key, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) \
                 ON CONFLICT (tenant_key) DO NOTHING",
                &[s(key), s(name), n(now)],
            )
            .await?;
        Ok(changed > 0)
    }
}
