//! `payment_sales`: the ledger of applied orders the console's sales figures are computed
//! from (`relay_payments::sales`). Written in the batch that grants, marked in the one that
//! revokes.

use relay_payments::email::NormalizedEmail;
use relay_payments::ids::{OrderId, TierKey};
use relay_payments::sales::SaleEvent;
use serde::Deserialize;
use worker::{D1PreparedStatement, Result};

use super::bind::{b, n, s};
use super::handle::Db;

pub struct NewSale<'a> {
    pub tenant_key: &'a str,
    pub order_id: &'a str,
    pub customer_id: &'a str,
    pub email: &'a str,
    pub tier_key: &'a str,
    pub policy_id: &'a str,
    pub option_key: &'a str,
    pub total_minor: i64,
    pub currency: &'a str,
    pub trial: bool,
    pub now: i64,
}

#[derive(Debug, Clone, Deserialize)]
struct SaleRow {
    order_id: String,
    email: String,
    tier_key: String,
    option_key: String,
    total_minor: i64,
    currency: String,
    trial: i64,
    sold_at: i64,
    revoked_at: Option<i64>,
}

pub struct Sales<'a> {
    pub(super) db: &'a Db,
}

impl Sales<'_> {
    pub fn record(&self, e: &NewSale) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO payment_sales (tenant_key, order_id, customer_id, email, tier_key, policy_id, option_key, \
             total_minor, currency, trial, sold_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (tenant_key, order_id) DO NOTHING",
            &[
                s(e.tenant_key), s(e.order_id), s(e.customer_id), s(e.email), s(e.tier_key), s(e.policy_id),
                s(e.option_key), n(e.total_minor), s(e.currency), b(e.trial), n(e.now),
            ],
        )
    }

    pub fn revoke(&self, tenant: &str, order: &str, now: i64) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE payment_sales SET revoked_at = ?3 WHERE tenant_key = ?1 AND order_id = ?2 AND revoked_at IS NULL",
            &[s(tenant), s(order), n(now)],
        )
    }

    /// Every sale of the tenant (renewals and new customers look before the window).
    pub async fn all(&self, tenant: &str) -> Result<Vec<SaleEvent>> {
        let rows: Vec<SaleRow> = self
            .db
            .stmt(
                "SELECT order_id, email, tier_key, option_key, total_minor, currency, trial, sold_at, revoked_at \
                 FROM payment_sales WHERE tenant_key = ?1 ORDER BY sold_at",
                &[s(tenant)],
            )?
            .all()
            .await?
            .results()?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(SaleEvent {
                    at: r.sold_at,
                    order_id: OrderId::new(&r.order_id)?,
                    customer: NormalizedEmail::parse(&r.email)?,
                    tier: TierKey::new(&r.tier_key)?,
                    option: r.option_key,
                    total_minor: r.total_minor,
                    currency: r.currency,
                    trial: r.trial != 0,
                    revoked: r.revoked_at.is_some(),
                })
            })
            .collect())
    }
}
