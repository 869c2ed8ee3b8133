//! `sellapp_secrets`: each tenant's Sell.app webhook signing key. Only `get` reads the key
//! (for verification); everything shown to operators is the hint and when it was set.

use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::bind::{n, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct SecretInfo {
    pub secret_hint: String,
    pub set_at: i64,
    pub set_by: String,
}

impl SecretInfo {
    pub fn to_json(&self) -> Value {
        json!({
            "configured": true,
            "hint": format!("…{}", self.secret_hint),
            "set_at": relay_core::time::Timestamp::from_ms(self.set_at).to_rfc3339(),
            "set_at_ms": self.set_at,
            "set_by": self.set_by,
        })
    }
}

#[derive(Deserialize)]
struct SecretOnly {
    secret: String,
}

pub struct SellappSecrets<'a> {
    pub(super) db: &'a Db,
}

impl SellappSecrets<'_> {
    pub async fn get(&self, tenant: &str) -> Result<Option<String>> {
        let row: Option<SecretOnly> = self
            .db
            .stmt(
                "SELECT secret FROM sellapp_secrets WHERE tenant_key = ?1",
                &[s(tenant)],
            )?
            .first(None)
            .await?;
        Ok(row.map(|r| r.secret))
    }

    pub async fn info(&self, tenant: &str) -> Result<Option<SecretInfo>> {
        self.db
            .stmt(
                "SELECT secret_hint, set_at, set_by FROM sellapp_secrets WHERE tenant_key = ?1",
                &[s(tenant)],
            )?
            .first(None)
            .await
    }

    /// Sets or rotates: the previous key stops verifying at once.
    pub fn set(
        &self,
        tenant: &str,
        secret: &str,
        by: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        let hint: String = secret
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        self.db.stmt(
            "INSERT INTO sellapp_secrets (tenant_key, secret, secret_hint, set_at, set_by) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (tenant_key) DO UPDATE SET secret = excluded.secret, secret_hint = excluded.secret_hint, \
             set_at = excluded.set_at, set_by = excluded.set_by",
            &[s(tenant), s(secret), s(&hint), n(now), s(by)],
        )
    }
}
