//! `shop_cards` and `shop_options`: the tenant's shop catalog. Replaced as a whole in one batch
//! after `relay_payments::catalog::validate_catalog_with` accepted it, so the stored catalog is
//! always one that validated.

use relay_payments::catalog::{PurchaseOption, TierCard};
use relay_payments::ids::TierKey;
use serde::Deserialize;
use worker::{D1PreparedStatement, Result};

use super::bind::{b, n, opt, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
struct CardRow {
    tier_key: String,
    title: String,
    subtitle: Option<String>,
    badge: Option<String>,
    description: String,
    sort_order: i64,
    active: i64,
}

#[derive(Debug, Clone, Deserialize)]
struct OptionRow {
    option_id: String,
    tier_key: String,
    policy_id: String,
    duration_days: i64,
    display_price: String,
    highlights_json: String,
    featured: i64,
    checkout_url: String,
    active: i64,
}

pub struct Shop<'a> {
    pub(super) db: &'a Db,
}

impl Shop<'_> {
    pub async fn cards(&self, tenant: &str) -> Result<Vec<TierCard>> {
        let rows: Vec<CardRow> = self
            .db
            .stmt(
                "SELECT tier_key, title, subtitle, badge, description, sort_order, active FROM shop_cards \
                 WHERE tenant_key = ?1 ORDER BY sort_order, tier_key",
                &[s(tenant)],
            )?
            .all()
            .await?
            .results()?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(TierCard {
                    tier: TierKey::new(&r.tier_key)?,
                    title: r.title,
                    subtitle: r.subtitle,
                    badge: r.badge,
                    description: r.description,
                    order: i32::try_from(r.sort_order).unwrap_or(0),
                    active: r.active != 0,
                })
            })
            .collect())
    }

    pub async fn options(&self, tenant: &str) -> Result<Vec<PurchaseOption>> {
        let rows: Vec<OptionRow> = self
            .db
            .stmt(
                "SELECT option_id, tier_key, policy_id, duration_days, display_price, highlights_json, featured, \
                 checkout_url, active FROM shop_options WHERE tenant_key = ?1 ORDER BY position, option_id",
                &[s(tenant)],
            )?
            .all()
            .await?
            .results()?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(PurchaseOption {
                    id: r.option_id,
                    tier: TierKey::new(&r.tier_key)?,
                    policy_id: r.policy_id,
                    duration_days: u32::try_from(r.duration_days).ok()?,
                    display_price: r.display_price,
                    highlights: serde_json::from_str(&r.highlights_json).unwrap_or_default(),
                    featured: r.featured != 0,
                    checkout_url: r.checkout_url,
                    active: r.active != 0,
                })
            })
            .collect())
    }

    /// The statements that replace the whole catalog (for one batch with the audit entry).
    pub fn replace(
        &self,
        tenant: &str,
        cards: &[TierCard],
        options: &[PurchaseOption],
        now: i64,
    ) -> Result<Vec<D1PreparedStatement>> {
        let mut out = vec![
            self.db.stmt(
                "DELETE FROM shop_options WHERE tenant_key = ?1",
                &[s(tenant)],
            )?,
            self.db
                .stmt("DELETE FROM shop_cards WHERE tenant_key = ?1", &[s(tenant)])?,
        ];
        for c in cards {
            out.push(self.db.stmt(
                "INSERT INTO shop_cards (tenant_key, tier_key, title, subtitle, badge, description, sort_order, active, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                &[
                    s(tenant), s(c.tier.as_str()), s(&c.title), opt(c.subtitle.as_deref()),
                    opt(c.badge.as_deref()), s(&c.description), n(i64::from(c.order)), b(c.active), n(now),
                ],
            )?);
        }
        for (i, o) in options.iter().enumerate() {
            let highlights = serde_json::to_string(&o.highlights).unwrap_or_else(|_| "[]".into());
            out.push(self.db.stmt(
                "INSERT INTO shop_options (tenant_key, option_id, tier_key, policy_id, duration_days, display_price, \
                 highlights_json, featured, checkout_url, active, position, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                &[
                    s(tenant), s(&o.id), s(o.tier.as_str()), s(&o.policy_id), n(i64::from(o.duration_days)),
                    s(&o.display_price), s(&highlights), b(o.featured), s(&o.checkout_url), b(o.active),
                    n(i as i64), n(now),
                ],
            )?);
        }
        Ok(out)
    }
}
