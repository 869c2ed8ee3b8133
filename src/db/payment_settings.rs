//! `payment_settings`: the tenant's Sell.app store (webhooks of another store are ignored,
//! reconciliation keeps to its invoices).

use serde::Deserialize;
use worker::{D1PreparedStatement, Result};

use super::bind::{n, opt, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct SettingsRow {
    pub store_id: Option<String>,
    pub updated_at: i64,
    pub updated_by: String,
}

pub struct PaymentSettings<'a> {
    pub(super) db: &'a Db,
}

impl PaymentSettings<'_> {
    pub async fn get(&self, tenant: &str) -> Result<Option<SettingsRow>> {
        self.db
            .stmt(
                "SELECT store_id, updated_at, updated_by FROM payment_settings WHERE tenant_key = ?1",
                &[s(tenant)],
            )?
            .first(None)
            .await
    }

    pub async fn store_id(&self, tenant: &str) -> Result<Option<String>> {
        Ok(self.get(tenant).await?.and_then(|r| r.store_id))
    }

    pub fn set_store(
        &self,
        tenant: &str,
        store: Option<&str>,
        by: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO payment_settings (tenant_key, store_id, updated_at, updated_by) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (tenant_key) DO UPDATE SET store_id = excluded.store_id, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            &[s(tenant), opt(store), n(now), s(by)],
        )
    }
}
