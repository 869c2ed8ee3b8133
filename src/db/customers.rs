//! `customers`: accounts, one tenant each. The only module that reads or writes the table.

use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::bind::{n, s};
use super::handle::Db;
use relay_core::time::Timestamp;

#[derive(Debug, Clone, Deserialize)]
pub struct CustomerRow {
    pub customer_id: String,
    pub email: String,
    pub password_hash: String,
    pub status: String,
    pub created_at: i64,
}

impl CustomerRow {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    /// What a customer and an operator see; never the hash.
    pub fn to_json(&self) -> Value {
        json!({
            "customer_id": self.customer_id,
            "email": self.email,
            "status": self.status,
            "created_at": Timestamp::from_ms(self.created_at).to_rfc3339(),
            "created_at_ms": self.created_at,
        })
    }
}

const COLS: &str = "tenant_key, customer_id, email, password_hash, status, created_at, updated_at";

pub struct Customers<'a> {
    pub(super) db: &'a Db,
}

impl Customers<'_> {
    pub async fn by_email(&self, tenant: &str, email: &str) -> Result<Option<CustomerRow>> {
        self.db
            .stmt(
                &format!("SELECT {COLS} FROM customers WHERE tenant_key = ?1 AND email = ?2"),
                &[s(tenant), s(email)],
            )?
            .first(None)
            .await
    }

    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<CustomerRow>> {
        self.db
            .stmt(
                &format!("SELECT {COLS} FROM customers WHERE tenant_key = ?1 AND customer_id = ?2"),
                &[s(tenant), s(id)],
            )?
            .first(None)
            .await
    }

    /// False when the email is already taken in this tenant.
    pub async fn insert(
        &self,
        tenant: &str,
        id: &str,
        email: &str,
        hash: &str,
        now: i64,
    ) -> Result<bool> {
        let changed = self
            .db
            .changes(
                "INSERT INTO customers (tenant_key, customer_id, email, password_hash, status, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?5) ON CONFLICT (tenant_key, email) DO NOTHING",
                &[s(tenant), s(id), s(email), s(hash), n(now)],
            )
            .await?;
        Ok(changed > 0)
    }

    pub fn set_password(
        &self,
        tenant: &str,
        id: &str,
        hash: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE customers SET password_hash = ?3, updated_at = ?4 WHERE tenant_key = ?1 AND customer_id = ?2",
            &[s(tenant), s(id), s(hash), n(now)],
        )
    }

    pub fn set_status(
        &self,
        tenant: &str,
        id: &str,
        status: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE customers SET status = ?3, updated_at = ?4 WHERE tenant_key = ?1 AND customer_id = ?2",
            &[s(tenant), s(id), s(status), n(now)],
        )
    }

    /// Newest first; `q` matches a substring of the email; `before` is the `created_at|id`
    /// position of the last row of the previous page.
    pub async fn search(
        &self,
        tenant: &str,
        q: Option<&str>,
        before: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<CustomerRow>> {
        let pattern = q.map(|q| {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{}%", escaped.to_lowercase())
        });
        let (b_at, b_id) = match before {
            Some((at, id)) => (Some(at), id),
            None => (None, ""),
        };
        self.db
            .stmt(
                &format!(
                    "SELECT {COLS} FROM customers WHERE tenant_key = ?1 \
                     AND (?2 IS NULL OR email LIKE ?2 ESCAPE '\\') \
                     AND (?3 IS NULL OR created_at < ?3 OR (created_at = ?3 AND customer_id < ?4)) \
                     ORDER BY created_at DESC, customer_id DESC LIMIT ?5"
                ),
                &[
                    s(tenant),
                    super::bind::opt(pattern.as_deref()),
                    super::bind::opt_n(b_at),
                    s(b_id),
                    n(limit as i64),
                ],
            )?
            .all()
            .await?
            .results()
    }
}
