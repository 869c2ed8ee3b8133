//! The one place an entitlement's change of state is announced: granted, revoked, moved or
//! closed, by a webhook, a replay, reconciliation, the expiry sweep or an operator. Whatever
//! must follow an entitlement (live sockets now; Discord roles once role sync lands) hooks in
//! [`entitlement_changed`], and nowhere else.
//!
//! It runs after the change is committed. A follower that fails logs and is retried by its own
//! means (the next change, the sweep); it never undoes the change.

use serde_json::json;
use worker::Env;

use crate::accounts::{self, Cause};
use crate::db::Db;
use crate::handlers::Cx;
use crate::runtime::log;

/// What a request handler and the scheduled handler both have: the environment, the clock and
/// the correlation id the logs carry.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub env: &'a Env,
    pub now: i64,
    pub cid: &'a str,
}

impl<'a> Ctx<'a> {
    pub fn of(cx: &'a Cx) -> Ctx<'a> {
        Ctx {
            env: &cx.env,
            now: cx.now,
            cid: &cx.cid,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Granted,
    Revoked,
    /// Its window moved (a chained window moving up after a revocation).
    Rescheduled,
    /// Ended and closed by the expiry sweep.
    Closed,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Granted => "granted",
            Kind::Revoked => "revoked",
            Kind::Rescheduled => "rescheduled",
            Kind::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementChange {
    pub entitlement_id: String,
    pub tier: String,
    pub kind: Kind,
}

/// Called once per customer after a batch of their entitlement changes was committed. Returns
/// how many of their live sockets were closed (for the operator's answer).
pub async fn entitlement_changed(
    ctx: &Ctx<'_>,
    db: &Db,
    tenant: &str,
    customer: &str,
    changes: &[EntitlementChange],
) -> usize {
    if changes.is_empty() {
        return 0;
    }
    log(
        "info",
        "entitlements changed",
        json!({
            "correlation_id": ctx.cid, "tenant_key": tenant, "customer_id": customer,
            "changes": changes.iter().map(|c| json!({"entitlement_id": c.entitlement_id, "tier": c.tier, "kind": c.kind.as_str()})).collect::<Vec<_>>(),
        }),
    );
    // Live sockets narrow or widen at once and role sync is told (both in `enforce_at`); a
    // failure is logged there, and the ticket scope still bounds the socket.
    let closed = accounts::enforce_at(
        ctx.env,
        ctx.cid,
        ctx.now,
        db,
        tenant,
        customer,
        Cause::Access,
    )
    .await
    .unwrap_or(0);
    closed
}
