//! `payment_policies`: which Sell.app variant or product grants which tier for how many days.
//! Written as a whole set (validated by `relay_payments::policy::PolicySet` first).

use relay_payments::ids::{ProductId, TierKey, VariantId};
use relay_payments::policy::Policy;
use serde::Deserialize;
use worker::{D1PreparedStatement, Result};

use super::bind::{b, n, opt, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
struct PolicyRow {
    policy_id: String,
    product_id: String,
    variant_id: Option<String>,
    tier_key: String,
    duration_days: i64,
    enabled: i64,
    trial: i64,
}

impl PolicyRow {
    fn domain(&self) -> Option<Policy> {
        Some(Policy {
            id: self.policy_id.clone(),
            product_id: ProductId::new(&self.product_id)?,
            variant_id: match &self.variant_id {
                Some(v) => Some(VariantId::new(v)?),
                None => None,
            },
            tier: TierKey::new(&self.tier_key)?,
            duration_days: u32::try_from(self.duration_days).ok()?,
            enabled: self.enabled != 0,
            trial: self.trial != 0,
        })
    }
}

pub struct Policies<'a> {
    pub(super) db: &'a Db,
}

impl Policies<'_> {
    pub async fn list(&self, tenant: &str) -> Result<Vec<Policy>> {
        let rows: Vec<PolicyRow> = self
            .db
            .stmt(
                "SELECT policy_id, product_id, variant_id, tier_key, duration_days, enabled, trial \
                 FROM payment_policies WHERE tenant_key = ?1 ORDER BY policy_id",
                &[s(tenant)],
            )?
            .all()
            .await?
            .results()?;
        // Rows were validated on write; one that no longer parses is skipped rather than
        // blocking every other policy.
        Ok(rows.iter().filter_map(PolicyRow::domain).collect())
    }

    pub fn upsert(&self, tenant: &str, p: &Policy, now: i64) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO payment_policies (tenant_key, policy_id, product_id, variant_id, tier_key, duration_days, enabled, trial, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) ON CONFLICT (tenant_key, policy_id) DO UPDATE SET \
             product_id = excluded.product_id, variant_id = excluded.variant_id, tier_key = excluded.tier_key, \
             duration_days = excluded.duration_days, enabled = excluded.enabled, trial = excluded.trial, updated_at = excluded.updated_at",
            &[
                s(tenant), s(&p.id), s(p.product_id.as_str()), opt(p.variant_id.as_ref().map(|v| v.as_str())),
                s(p.tier.as_str()), n(i64::from(p.duration_days)), b(p.enabled), b(p.trial), n(now),
            ],
        )
    }

    pub fn delete(&self, tenant: &str, id: &str) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "DELETE FROM payment_policies WHERE tenant_key = ?1 AND policy_id = ?2",
            &[s(tenant), s(id)],
        )
    }
}
