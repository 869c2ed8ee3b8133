//! `account_audit`: what changed about a customer, a tier or a channel's visibility, when, why
//! and by which credential. Append-only.

use relay_core::time::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::bind::{n, opt, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct AuditRow {
    pub customer_id: Option<String>,
    pub at: i64,
    pub action: String,
    pub detail_json: String,
    pub reason: Option<String>,
    pub actor: String,
}

impl AuditRow {
    pub fn to_json(&self) -> Value {
        json!({
            "at": Timestamp::from_ms(self.at).to_rfc3339(),
            "at_ms": self.at,
            "action": self.action,
            "detail": serde_json::from_str::<Value>(&self.detail_json).unwrap_or(Value::Null),
            "reason": self.reason,
            "operator": self.actor,
            "customer_id": self.customer_id,
        })
    }
}

pub struct Entry<'a> {
    pub tenant_key: &'a str,
    pub customer_id: Option<&'a str>,
    pub at: i64,
    pub action: &'a str,
    pub detail: Value,
    pub reason: Option<&'a str>,
    pub actor: &'a str,
}

pub struct Audit<'a> {
    pub(super) db: &'a Db,
}

impl Audit<'_> {
    pub fn record(&self, e: &Entry) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO account_audit (tenant_key, customer_id, at, action, detail_json, reason, actor) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                s(e.tenant_key), opt(e.customer_id), n(e.at), s(e.action),
                s(&e.detail.to_string()), opt(e.reason), s(e.actor),
            ],
        )
    }

    pub async fn for_customer(
        &self,
        tenant: &str,
        customer: &str,
        limit: usize,
    ) -> Result<Vec<AuditRow>> {
        self.db
            .stmt(
                "SELECT audit_id, customer_id, at, action, detail_json, reason, actor FROM account_audit \
                 WHERE tenant_key = ?1 AND customer_id = ?2 ORDER BY audit_id DESC LIMIT ?3",
                &[s(tenant), s(customer), n(limit as i64)],
            )?
            .all()
            .await?
            .results()
    }
}
