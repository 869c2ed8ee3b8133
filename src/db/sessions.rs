//! `customer_sessions`: server-side sessions, keyed by the hash of the cookie token.

use serde::Deserialize;
use worker::{D1PreparedStatement, Result};

use super::bind::{n, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct SessionRow {
    pub token_hash: String,
    pub tenant_key: String,
    pub customer_id: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub revoked_at: Option<i64>,
}

impl SessionRow {
    pub fn lifetime(&self) -> relay_accounts::session::Lifetime {
        relay_accounts::session::Lifetime {
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            revoked_at: self.revoked_at,
        }
    }
}

pub struct Sessions<'a> {
    pub(super) db: &'a Db,
}

impl Sessions<'_> {
    pub fn insert(&self, row: &SessionRow) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO customer_sessions (token_hash, tenant_key, customer_id, csrf_token, created_at, last_seen_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            &[s(&row.token_hash), s(&row.tenant_key), s(&row.customer_id), s(&row.csrf_token), n(row.created_at)],
        )
    }

    pub async fn get(&self, token_hash: &str) -> Result<Option<SessionRow>> {
        self.db
            .stmt(
                "SELECT token_hash, tenant_key, customer_id, csrf_token, created_at, last_seen_at, revoked_at \
                 FROM customer_sessions WHERE token_hash = ?1",
                &[s(token_hash)],
            )?
            .first(None)
            .await
    }

    pub async fn touch(&self, token_hash: &str, now: i64) -> Result<usize> {
        self.db
            .changes(
                "UPDATE customer_sessions SET last_seen_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
                &[s(token_hash), n(now)],
            )
            .await
    }

    pub fn revoke(&self, token_hash: &str, now: i64) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE customer_sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
            &[s(token_hash), n(now)],
        )
    }

    /// Every open session of a customer (logout everywhere, password change, operator action).
    pub fn revoke_all(
        &self,
        tenant: &str,
        customer: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE customer_sessions SET revoked_at = ?3 \
             WHERE tenant_key = ?1 AND customer_id = ?2 AND revoked_at IS NULL",
            &[s(tenant), s(customer), n(now)],
        )
    }

    pub async fn count_open(&self, tenant: &str, customer: &str) -> Result<i64> {
        #[derive(Deserialize)]
        struct C {
            c: i64,
        }
        let row: Option<C> = self
            .db
            .stmt(
                "SELECT COUNT(*) AS c FROM customer_sessions \
                 WHERE tenant_key = ?1 AND customer_id = ?2 AND revoked_at IS NULL",
                &[s(tenant), s(customer)],
            )?
            .first(None)
            .await?;
        Ok(row.map(|r| r.c).unwrap_or(0))
    }
}
