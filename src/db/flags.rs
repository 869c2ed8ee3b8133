//! `customer_flags`: what a customer did that an operator must look at (a dispute, a refund or
//! cancellation found by reconciliation).

#[derive(Debug, Clone, Deserialize)]
pub struct FlagRow {
    pub customer_id: String,
    pub email: Option<String>,
    pub reason: String,
    pub order_id: String,
    pub flagged_at: i64,
}

impl FlagRow {
    pub fn to_json(&self) -> Value {
        json!({
            "customer_id": self.customer_id,
            "email": self.email,
            "reason": self.reason,
            "order_id": self.order_id,
            "flagged_at": Timestamp::from_ms(self.flagged_at).to_rfc3339(),
            "flagged_at_ms": self.flagged_at,
        })
    }
}

use relay_core::time::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::bind::{n, s};
use super::handle::Db;

pub struct Flags<'a> {
    pub(super) db: &'a Db,
}

impl Flags<'_> {
    pub fn raise(
        &self,
        tenant: &str,
        customer: &str,
        reason: &str,
        order: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO customer_flags (tenant_key, customer_id, reason, order_id, flagged_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (tenant_key, customer_id, order_id) DO NOTHING",
            &[s(tenant), s(customer), s(reason), s(order), n(now)],
        )
    }

    /// Newest first, with the customer's email (the customers table is read, not written).
    pub async fn list(&self, tenant: &str, limit: usize) -> Result<Vec<FlagRow>> {
        self.db
            .stmt(
                "SELECT f.customer_id, c.email AS email, f.reason, f.order_id, f.flagged_at FROM customer_flags f \
                 LEFT JOIN customers c ON c.tenant_key = f.tenant_key AND c.customer_id = f.customer_id \
                 WHERE f.tenant_key = ?1 ORDER BY f.flagged_at DESC, f.order_id LIMIT ?2",
                &[s(tenant), n(limit as i64)],
            )?
            .all()
            .await?
            .results()
    }
}
