//! `entitlements`: a customer's right to a tier over a window. Rows are never deleted: a
//! revocation sets `status`, an extension moves `ends_at`, so the history stays readable.

use relay_accounts::entitlement::{Entitlement, Status};
use relay_core::time::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::bind::{n, opt, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct EntitlementRow {
    pub entitlement_id: String,
    /// Selected by the queries that span customers (the sweep).
    #[serde(default)]
    pub customer_id: String,
    pub tier_key: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub source: String,
    pub reference: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set by the expiry sweep once the window ended (migration 0010).
    #[serde(default)]
    pub closed_at: Option<i64>,
    /// Joined from `tiers` by the query (a tier is never deleted while referenced).
    pub rank: i64,
}

impl EntitlementRow {
    pub fn domain(&self) -> Entitlement {
        Entitlement {
            id: self.entitlement_id.clone(),
            tier: self.tier_key.clone(),
            rank: self.rank,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            status: Status::parse(&self.status).unwrap_or(Status::Revoked),
        }
    }

    /// The payments crate's view: only `sellapp` rows carry an order it may revoke or move.
    pub fn payments(&self) -> relay_payments::lifecycle::Entitlement {
        use relay_payments::lifecycle::{EntitlementState, Source, Window};
        let order = (self.source == "sellapp")
            .then(|| {
                self.reference
                    .as_deref()
                    .and_then(relay_payments::ids::OrderId::new)
            })
            .flatten();
        relay_payments::lifecycle::Entitlement {
            id: self.entitlement_id.clone(),
            tier: relay_payments::ids::TierKey::new(&self.tier_key).unwrap_or_else(|| {
                relay_payments::ids::TierKey::new("unknown").expect("static key")
            }),
            window: Window {
                starts_at: self.starts_at,
                ends_at: self.ends_at,
            },
            source: match order {
                Some(order_id) => Source::Sellapp { order_id },
                None => Source::Other {
                    kind: self.source.clone(),
                    reference: self.reference.clone().unwrap_or_default(),
                },
            },
            state: if self.status == "revoked" {
                EntitlementState::Revoked
            } else if self.closed_at.is_some() {
                EntitlementState::Closed
            } else {
                EntitlementState::Open
            },
        }
    }

    pub fn to_json(&self, now: i64) -> Value {
        json!({
            "entitlement_id": self.entitlement_id,
            "tier": self.tier_key,
            "source": self.source,
            "reference": self.reference,
            "starts_at": Timestamp::from_ms(self.starts_at).to_rfc3339(),
            "starts_at_ms": self.starts_at,
            "ends_at": Timestamp::from_ms(self.ends_at).to_rfc3339(),
            "ends_at_ms": self.ends_at,
            "status": self.domain().state_at(now),
            "created_at_ms": self.created_at,
            "updated_at_ms": self.updated_at,
            "closed_at_ms": self.closed_at,
        })
    }
}

pub struct NewEntitlement<'a> {
    pub tenant_key: &'a str,
    pub entitlement_id: &'a str,
    pub customer_id: &'a str,
    pub tier_key: &'a str,
    pub starts_at: i64,
    pub ends_at: i64,
    pub source: &'a str,
    pub reference: Option<&'a str>,
    pub now: i64,
}

pub struct Entitlements<'a> {
    pub(super) db: &'a Db,
}

impl Entitlements<'_> {
    pub async fn for_customer(&self, tenant: &str, customer: &str) -> Result<Vec<EntitlementRow>> {
        self.db
            .stmt(
                "SELECT e.entitlement_id, e.customer_id, e.tier_key, e.starts_at, e.ends_at, e.source, e.reference, \
                 e.status, e.created_at, e.updated_at, e.closed_at, t.rank AS rank \
                 FROM entitlements e JOIN tiers t ON t.tenant_key = e.tenant_key AND t.tier_key = e.tier_key \
                 WHERE e.tenant_key = ?1 AND e.customer_id = ?2 ORDER BY e.starts_at DESC, e.entitlement_id",
                &[s(tenant), s(customer)],
            )?
            .all()
            .await?
            .results()
    }

    pub fn insert(&self, e: &NewEntitlement) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO entitlements (tenant_key, entitlement_id, customer_id, tier_key, starts_at, ends_at, source, reference, status, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active', ?9, ?9)",
            &[
                s(e.tenant_key), s(e.entitlement_id), s(e.customer_id), s(e.tier_key),
                n(e.starts_at), n(e.ends_at), s(e.source), opt(e.reference), n(e.now),
            ],
        )
    }

    pub fn extend(
        &self,
        tenant: &str,
        id: &str,
        ends_at: i64,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            // A window extended past now is open again (the sweep may have closed it).
            "UPDATE entitlements SET ends_at = ?3, updated_at = ?4, closed_at = CASE WHEN ?3 > ?4 THEN NULL ELSE closed_at END \
             WHERE tenant_key = ?1 AND entitlement_id = ?2 AND status = 'active'",
            &[s(tenant), s(id), n(ends_at), n(now)],
        )
    }

    pub fn revoke(
        &self,
        tenant: &str,
        customer: &str,
        id: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE entitlements SET status = 'revoked', updated_at = ?4 \
             WHERE tenant_key = ?1 AND customer_id = ?2 AND entitlement_id = ?3",
            &[s(tenant), s(customer), s(id), n(now)],
        )
    }

    /// Moves a window (a not-yet-started one chained after a revoked one).
    pub fn reschedule(
        &self,
        tenant: &str,
        id: &str,
        starts_at: i64,
        ends_at: i64,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE entitlements SET starts_at = ?3, ends_at = ?4, updated_at = ?5 WHERE tenant_key = ?1 AND entitlement_id = ?2",
            &[s(tenant), s(id), n(starts_at), n(ends_at), n(now)],
        )
    }

    pub async fn uses_tier(&self, tenant: &str, tier: &str) -> Result<bool> {
        let row: Option<Value> = self
            .db
            .stmt(
                "SELECT 1 AS one FROM entitlements WHERE tenant_key = ?1 AND tier_key = ?2 LIMIT 1",
                &[s(tenant), s(tier)],
            )?
            .first(None)
            .await?;
        Ok(row.is_some())
    }

    /// Active rows whose window ended and that the sweep has not closed yet, oldest end first.
    pub async fn ended_unclosed(
        &self,
        tenant: &str,
        now: i64,
        limit: usize,
    ) -> Result<Vec<EntitlementRow>> {
        self
            .db
            .stmt(
                "SELECT e.entitlement_id, e.customer_id, e.tier_key, e.starts_at, e.ends_at, e.source, e.reference, \
                 e.status, e.created_at, e.updated_at, e.closed_at, t.rank AS rank \
                 FROM entitlements e JOIN tiers t ON t.tenant_key = e.tenant_key AND t.tier_key = e.tier_key \
                 WHERE e.tenant_key = ?1 AND e.status = 'active' AND e.closed_at IS NULL AND e.ends_at <= ?2 \
                 ORDER BY e.ends_at, e.entitlement_id LIMIT ?3",
                &[s(tenant), n(now), n(limit as i64)],
            )?
            .all()
            .await?
            .results()
    }

    /// The sweep's mark; guarded so a window extended meanwhile is not closed.
    pub fn close(&self, tenant: &str, id: &str, now: i64) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE entitlements SET closed_at = ?3, updated_at = ?3 \
             WHERE tenant_key = ?1 AND entitlement_id = ?2 AND status = 'active' AND closed_at IS NULL AND ends_at <= ?3",
            &[s(tenant), s(id), n(now)],
        )
    }
}
