//! `webhook_events`: every verified Sell.app delivery, recorded before it is decided (the
//! unique key is the idempotency record), with its outcome. Rows are never deleted.

use relay_core::time::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::bind::{n, opt, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct EventRow {
    pub event_id: String,
    pub event_key: String,
    pub event_name: Option<String>,
    pub order_id: Option<String>,
    pub store_id: Option<String>,
    pub raw_body: Option<String>,
    pub outcome: String,
    pub reason_code: Option<String>,
    pub reason_json: Option<String>,
    pub error: Option<String>,
    pub attempts: i64,
    pub received_at: i64,
    pub applied_at: Option<i64>,
}

impl EventRow {
    pub fn to_json(&self) -> Value {
        json!({
            "event_id": self.event_id,
            "event_key": self.event_key,
            "event": self.event_name,
            "order_id": self.order_id,
            "store_id": self.store_id,
            "outcome": self.outcome,
            "reason": self.reason_code,
            "detail": self.reason_json.as_deref().and_then(|j| serde_json::from_str::<Value>(j).ok()),
            "error": self.error,
            "attempts": self.attempts,
            "received_at": Timestamp::from_ms(self.received_at).to_rfc3339(),
            "received_at_ms": self.received_at,
            "decided_at_ms": self.applied_at,
        })
    }
}

pub struct NewEvent<'a> {
    pub tenant_key: &'a str,
    pub event_id: &'a str,
    pub event_key: &'a str,
    pub event_name: Option<&'a str>,
    pub order_id: Option<&'a str>,
    pub store_id: Option<&'a str>,
    pub raw_body: &'a str,
    pub now: i64,
}

/// The decision recorded on an event row.
pub struct Decided<'a> {
    pub outcome: &'a str,
    pub reason_code: Option<&'a str>,
    pub reason_json: Option<&'a str>,
    pub error: Option<&'a str>,
    pub now: i64,
}

const COLS: &str =
    "event_id, event_key, event_name, order_id, store_id, raw_body, outcome, reason_code, \
                    reason_json, error, attempts, received_at, applied_at";

pub struct WebhookEvents<'a> {
    pub(super) db: &'a Db,
}

impl WebhookEvents<'_> {
    /// `false`: the key was already recorded (a repeat delivery).
    pub async fn record(&self, e: &NewEvent<'_>) -> Result<bool> {
        let changed = self
            .db
            .changes(
                "INSERT INTO webhook_events (tenant_key, event_id, event_key, event_name, order_id, store_id, raw_body, received_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (tenant_key, event_key) DO NOTHING",
                &[
                    s(e.tenant_key), s(e.event_id), s(e.event_key), opt(e.event_name),
                    opt(e.order_id), opt(e.store_id), s(e.raw_body), n(e.now),
                ],
            )
            .await?;
        Ok(changed > 0)
    }

    /// Claims a failed event of this key for another attempt: `Some(event_id)` for exactly one
    /// caller, `None` when the event is not (or no longer) failed.
    pub async fn reclaim_failed(&self, tenant: &str, key: &str) -> Result<Option<String>> {
        #[derive(Deserialize)]
        struct Id {
            event_id: String,
        }
        let changed = self
            .db
            .changes(
                "UPDATE webhook_events SET outcome = 'received' WHERE tenant_key = ?1 AND event_key = ?2 AND outcome = 'failed'",
                &[s(tenant), s(key)],
            )
            .await?;
        if changed == 0 {
            return Ok(None);
        }
        let row: Option<Id> = self
            .db
            .stmt(
                "SELECT event_id FROM webhook_events WHERE tenant_key = ?1 AND event_key = ?2",
                &[s(tenant), s(key)],
            )?
            .first(None)
            .await?;
        Ok(row.map(|r| r.event_id))
    }

    /// Claims one stored event for a replay (same guard: one replay at a time).
    pub async fn reclaim(&self, tenant: &str, event_id: &str, from: &str) -> Result<bool> {
        let changed = self
            .db
            .changes(
                "UPDATE webhook_events SET outcome = 'received' WHERE tenant_key = ?1 AND event_id = ?2 AND outcome = ?3",
                &[s(tenant), s(event_id), s(from)],
            )
            .await?;
        Ok(changed > 0)
    }

    pub fn decide(&self, tenant: &str, event_id: &str, d: &Decided) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "UPDATE webhook_events SET outcome = ?3, reason_code = ?4, reason_json = ?5, error = ?6, \
             attempts = attempts + 1, applied_at = ?7 WHERE tenant_key = ?1 AND event_id = ?2",
            &[
                s(tenant), s(event_id), s(d.outcome), opt(d.reason_code), opt(d.reason_json),
                opt(d.error), n(d.now),
            ],
        )
    }

    pub async fn get(&self, tenant: &str, event_id: &str) -> Result<Option<EventRow>> {
        self.db
            .stmt(
                &format!(
                    "SELECT {COLS} FROM webhook_events WHERE tenant_key = ?1 AND event_id = ?2"
                ),
                &[s(tenant), s(event_id)],
            )?
            .first(None)
            .await
    }

    /// Newest first; `outcomes` empty = every outcome.
    pub async fn list(
        &self,
        tenant: &str,
        outcomes: &[&str],
        limit: usize,
    ) -> Result<Vec<EventRow>> {
        let mut args = vec![s(tenant), n(limit as i64)];
        let filter = if outcomes.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (0..outcomes.len()).map(|i| format!("?{}", i + 3)).collect();
            args.extend(outcomes.iter().map(|o| s(o)));
            format!(" AND outcome IN ({})", marks.join(", "))
        };
        self.db
            .stmt(
                &format!(
                    "SELECT {COLS} FROM webhook_events WHERE tenant_key = ?1{filter} \
                     ORDER BY received_at DESC, event_id DESC LIMIT ?2"
                ),
                &args,
            )?
            .all()
            .await?
            .results()
    }

    /// The events of one order, oldest first (the checkout-return page's state).
    pub async fn for_order(&self, tenant: &str, order: &str) -> Result<Vec<EventRow>> {
        self.db
            .stmt(
                &format!(
                    "SELECT {COLS} FROM webhook_events WHERE tenant_key = ?1 AND order_id = ?2 \
                     ORDER BY received_at, event_id LIMIT 50"
                ),
                &[s(tenant), s(order)],
            )?
            .all()
            .await?
            .results()
    }

    /// Orders the tenant's events named since `since` (reconciliation's scope without a store).
    pub async fn orders_since(&self, tenant: &str, since: i64) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct O {
            order_id: String,
        }
        let rows: Vec<O> = self
            .db
            .stmt(
                "SELECT DISTINCT order_id FROM webhook_events WHERE tenant_key = ?1 AND order_id IS NOT NULL \
                 AND received_at >= ?2 LIMIT 5000",
                &[s(tenant), n(since)],
            )?
            .all()
            .await?
            .results()?;
        Ok(rows.into_iter().map(|o| o.order_id).collect())
    }

    /// The reconciliation keys (`reconcile:…`) recorded since `since`.
    pub async fn reconcile_keys_since(&self, tenant: &str, since: i64) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct K {
            event_key: String,
        }
        let rows: Vec<K> = self
            .db
            .stmt(
                "SELECT event_key FROM webhook_events WHERE tenant_key = ?1 AND event_key LIKE 'reconcile:%' \
                 AND received_at >= ?2",
                &[s(tenant), n(since)],
            )?
            .all()
            .await?
            .results()?;
        Ok(rows.into_iter().map(|k| k.event_key).collect())
    }
}
