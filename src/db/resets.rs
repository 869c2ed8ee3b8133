//! `password_resets`: single-use reset tokens, stored as hashes.

use serde::Deserialize;
use worker::{D1PreparedStatement, Result};

use super::bind::{n, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct ResetRow {
    pub customer_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub struct Resets<'a> {
    pub(super) db: &'a Db,
}

impl Resets<'_> {
    pub fn insert(
        &self,
        hash: &str,
        tenant: &str,
        customer: &str,
        expires_at: i64,
        by: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO password_resets (token_hash, tenant_key, customer_id, expires_at, created_at, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[s(hash), s(tenant), s(customer), n(expires_at), n(now), s(by)],
        )
    }

    pub async fn get(&self, tenant: &str, hash: &str) -> Result<Option<ResetRow>> {
        self.db
            .stmt(
                "SELECT tenant_key, customer_id, expires_at, used_at FROM password_resets \
                 WHERE token_hash = ?1 AND tenant_key = ?2",
                &[s(hash), s(tenant)],
            )?
            .first(None)
            .await
    }

    /// Marks the token used if it still is redeemable; the caller checks the change count, so
    /// of two concurrent redemptions only one wins.
    pub async fn consume(&self, tenant: &str, hash: &str, now: i64) -> Result<usize> {
        self.db
            .changes(
                "UPDATE password_resets SET used_at = ?3 \
                 WHERE token_hash = ?1 AND tenant_key = ?2 AND used_at IS NULL AND expires_at > ?3",
                &[s(hash), s(tenant), n(now)],
            )
            .await
    }

    /// Other outstanding tokens of the customer stop working once one is used.
    pub fn retire_others(
        &self,
        tenant: &str,
        customer: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE password_resets SET used_at = ?3 WHERE tenant_key = ?1 AND customer_id = ?2 AND used_at IS NULL",
            &[s(tenant), s(customer), n(now)],
        )
    }
}
