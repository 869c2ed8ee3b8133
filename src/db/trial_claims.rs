//! `trial_claims`: used trials, unique per tenant on each non-null key (account, email,
//! Discord id), so two racing trial orders cannot both claim.

use relay_payments::email::NormalizedEmail;
use relay_payments::ids::{AccountId, OrderId};
use relay_payments::lifecycle::TrialClaim;
use serde::Deserialize;
use worker::{D1PreparedStatement, Result};

use super::bind::{n, opt, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
struct ClaimRow {
    order_id: String,
    customer_id: Option<String>,
    email: Option<String>,
    discord_id: Option<String>,
}

pub struct TrialClaims<'a> {
    pub(super) db: &'a Db,
}

impl TrialClaims<'_> {
    pub async fn matching(
        &self,
        tenant: &str,
        customer: Option<&str>,
        email: Option<&str>,
        discord_id: Option<&str>,
    ) -> Result<Vec<TrialClaim>> {
        let rows: Vec<ClaimRow> = self
            .db
            .stmt(
                "SELECT order_id, customer_id, email, discord_id FROM trial_claims \
                 WHERE tenant_key = ?1 AND (customer_id = ?2 OR email = ?3 OR discord_id = ?4)",
                &[s(tenant), opt(customer), opt(email), opt(discord_id)],
            )?
            .all()
            .await?
            .results()?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(TrialClaim {
                    order_id: OrderId::new(&r.order_id)?,
                    account: r.customer_id.as_deref().and_then(AccountId::new),
                    email: r.email.as_deref().and_then(NormalizedEmail::parse),
                    discord_id: r.discord_id,
                })
            })
            .collect())
    }

    /// Stamps the Discord id a customer just linked on the trials they claimed before, so a
    /// second account linking the same Discord user cannot take another trial.
    pub fn stamp_discord(
        &self,
        tenant: &str,
        customer: &str,
        discord_id: &str,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE trial_claims SET discord_id = ?3 \
             WHERE tenant_key = ?1 AND customer_id = ?2 AND discord_id IS NULL",
            &[s(tenant), s(customer), s(discord_id)],
        )
    }

    pub fn claim(&self, tenant: &str, c: &TrialClaim, now: i64) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO trial_claims (tenant_key, order_id, customer_id, email, discord_id, claimed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                s(tenant),
                s(c.order_id.as_str()),
                opt(c.account.as_ref().map(|a| a.as_str())),
                opt(c.email.as_ref().map(|e| e.as_str())),
                opt(c.discord_id.as_deref()),
                n(now),
            ],
        )
    }
}
