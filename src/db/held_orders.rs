//! `held_orders`: paid orders whose email has no account yet, with the invoice they were
//! decided on, applied when that account signs up.

use relay_payments::envelope::{parse_invoice, Invoice};
use relay_payments::ids::OrderId;
use serde::Deserialize;
use worker::{D1PreparedStatement, Result};

use super::bind::{n, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
struct HeldRow {
    order_id: String,
    invoice_json: String,
}

pub struct Held {
    pub order_id: OrderId,
    pub invoice: Option<Invoice>,
}

pub struct HeldOrders<'a> {
    pub(super) db: &'a Db,
}

impl HeldOrders<'_> {
    pub async fn for_email(&self, tenant: &str, email: &str) -> Result<Vec<Held>> {
        let rows: Vec<HeldRow> = self
            .db
            .stmt(
                "SELECT order_id, invoice_json FROM held_orders WHERE tenant_key = ?1 AND email = ?2 ORDER BY held_at, order_id",
                &[s(tenant), s(email)],
            )?
            .all()
            .await?
            .results()?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(Held {
                    order_id: OrderId::new(&r.order_id)?,
                    invoice: serde_json::from_str(&r.invoice_json)
                        .ok()
                        .and_then(|v| parse_invoice(&v)),
                })
            })
            .collect())
    }

    pub fn hold(
        &self,
        tenant: &str,
        order: &str,
        email: &str,
        invoice_json: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO held_orders (tenant_key, order_id, email, invoice_json, held_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (tenant_key, order_id) DO UPDATE SET email = excluded.email, invoice_json = excluded.invoice_json",
            &[s(tenant), s(order), s(email), s(invoice_json), n(now)],
        )
    }

    pub fn release(&self, tenant: &str, order: &str) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "DELETE FROM held_orders WHERE tenant_key = ?1 AND order_id = ?2",
            &[s(tenant), s(order)],
        )
    }
}
