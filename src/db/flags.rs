//! `customer_flags`: what a customer did that an operator must look at (a dispute).

use worker::{D1PreparedStatement, Result};

use super::bind::{n, s};
use super::handle::Db;

pub struct Flags<'a> {
    pub(super) db: &'a Db,
}

impl Flags<'_> {
    pub fn raise(
        &self,
        tenant: &str,
        customer: &str,
        reason: &str,
        order: &str,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO customer_flags (tenant_key, customer_id, reason, order_id, flagged_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (tenant_key, customer_id, order_id) DO NOTHING",
            &[s(tenant), s(customer), s(reason), s(order), n(now)],
        )
    }
}
