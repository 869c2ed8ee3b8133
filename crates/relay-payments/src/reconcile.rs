//! Scheduled reconciliation: which invoices of Sell.app's API a tenant has to decide again.
//!
//! Sell.app announces no refund or cancellation, so the scheduled handler re-reads recent
//! invoices and compares them with what we decided. The comparison is this module; the fetches,
//! the event rows and the decision ([`crate::lifecycle::decide`] with
//! [`crate::lifecycle::Trigger::Reconciliation`]) are the runtime's.
//!
//! One token sees one Sell.app account, whose invoices may belong to several stores, and so to
//! several tenants. An invoice belongs to a tenant when its `store_id` is the tenant's
//! configured store, or — with no store configured or none on the invoice — when the tenant
//! already knows the order (an event or an entitlement names it). A completed order nobody
//! announced is only picked up through the store: without one we cannot tell whose it is.
//!
//! Each (order, status) is decided once: its [`EventKey::reconciliation`] is recorded like a
//! webhook delivery, so a status seen on every run is skipped after the first, and a new status
//! (completed → refunded) is a new key.

use std::collections::BTreeSet;

use crate::envelope::{EventKey, Invoice, InvoiceStatus};
use crate::ids::{OrderId, StoreId};
use relay_core::time::DAY_MS;

/// How far back the scheduled handler reads unless `SELLAPP_RECONCILE_DAYS` says otherwise.
pub const DEFAULT_HORIZON_DAYS: u32 = 45;
/// Pages read per run at most (×[`crate::api::PAGE_SIZE`] invoices); older ones wait for their
/// webhook or an operator's replay.
pub const MAX_PAGES: u32 = 20;
/// The store named in the key when neither the tenant nor the invoice names one.
const UNKNOWN_STORE: &str = "unknown";

/// What a tenant knows that decides which invoices are its own.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub store: Option<StoreId>,
    /// Orders the tenant's events or entitlements name.
    pub known_orders: BTreeSet<OrderId>,
}

impl Scope {
    pub fn owns(&self, inv: &Invoice) -> bool {
        match (&self.store, &inv.store_id) {
            (Some(mine), Some(theirs)) => mine == theirs,
            _ => self.known_orders.contains(&inv.id),
        }
    }
}

/// One invoice to decide, with the key its decision is recorded under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub order: OrderId,
    pub status: InvoiceStatus,
    pub key: EventKey,
}

/// Statuses that can change access: completed grants an order whose webhook never came,
/// refunded/disputed/cancelled revoke. Pending, voided, unknown: nothing to do.
fn actionable(s: &InvoiceStatus) -> bool {
    *s == InvoiceStatus::Completed || s.revokes()
}

/// The invoices of one page the tenant must decide: its own, with an actionable status, whose
/// (order, status) key `seen` does not know yet. Order is the page's.
pub fn diff(page: &[Invoice], scope: &Scope, seen: impl Fn(&EventKey) -> bool) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for inv in page {
        let Some(status) = inv.status.as_ref().filter(|s| actionable(s)) else {
            continue;
        };
        if !scope.owns(inv) {
            continue;
        }
        let store = inv
            .store_id
            .clone()
            .or_else(|| scope.store.clone())
            .or_else(|| StoreId::new(UNKNOWN_STORE))
            .expect("static store id");
        let key = EventKey::reconciliation(&store, &inv.id, status);
        if seen(&key) || out.iter().any(|c| c.key == key) {
            continue;
        }
        out.push(Candidate {
            order: inv.id.clone(),
            status: status.clone(),
            key,
        });
    }
    out
}

/// Whether to read the next page: there is one, the run is under [`MAX_PAGES`], and this page
/// did not already reach invoices created before the horizon (the API lists newest first).
pub fn read_on(
    page: &[Invoice],
    next_page: Option<u32>,
    pages_read: u32,
    now: i64,
    horizon_days: u32,
) -> bool {
    let from = now - i64::from(horizon_days) * DAY_MS;
    next_page.is_some()
        && pages_read < MAX_PAGES
        && !page.iter().any(|i| i.created_at.is_some_and(|c| c < from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::NormalizedEmail;

    const NOW: i64 = 100 * DAY_MS;

    fn inv(id: &str, status: &str, store: Option<&str>, age_days: i64) -> Invoice {
        Invoice {
            id: OrderId::new(id).unwrap(),
            email: NormalizedEmail::parse("a@x.io"),
            sellapp_customer_id: None,
            status: Some(InvoiceStatus::parse(status)),
            product_id: None,
            variant_id: None,
            multiple_lines: false,
            total: None,
            store_id: store.and_then(StoreId::new),
            created_at: Some(NOW - age_days * DAY_MS),
        }
    }

    fn ids(c: &[Candidate]) -> Vec<(&str, &str)> {
        c.iter()
            .map(|c| (c.order.as_str(), c.status.as_str()))
            .collect()
    }

    #[test]
    fn changed_statuses_of_the_tenants_own_invoices_are_decided_once() {
        let scope = Scope {
            store: StoreId::new("7"),
            known_orders: BTreeSet::new(),
        };
        let page = [
            inv("1", "REFUNDED", Some("7"), 1),
            inv("2", "DISPUTED", Some("7"), 2),
            inv("3", "CANCELLED", Some("7"), 3),
            inv("4", "COMPLETED", Some("7"), 3),
            inv("5", "PENDING", Some("7"), 3),
            inv("6", "AWAITING_CONFIRMATION", Some("7"), 3),
            inv("7", "SOMETHING_NEW", Some("7"), 3),
            inv("8", "REFUNDED", Some("8"), 1), // another store's
        ];
        let got = diff(&page, &scope, |_| false);
        assert_eq!(
            ids(&got),
            [
                ("1", "refunded"),
                ("2", "disputed"),
                ("3", "cancelled"),
                ("4", "completed")
            ]
        );
        assert_eq!(got[0].key.as_str(), "reconcile:refunded|store:7|id:1");
        // The next run has recorded those keys: nothing again, until a status changes.
        let seen: BTreeSet<String> = got.iter().map(|c| c.key.as_str().to_string()).collect();
        assert!(diff(&page, &scope, |k| seen.contains(k.as_str())).is_empty());
        let later = [inv("4", "REFUNDED", Some("7"), 3)];
        assert_eq!(
            ids(&diff(&later, &scope, |k| seen.contains(k.as_str()))),
            [("4", "refunded")]
        );
    }

    #[test]
    fn without_a_store_only_known_orders_are_the_tenants() {
        let scope = Scope {
            store: None,
            known_orders: [OrderId::new("1").unwrap()].into_iter().collect(),
        };
        let page = [
            inv("1", "REFUNDED", Some("7"), 1),
            inv("2", "REFUNDED", Some("7"), 1),
            inv("3", "COMPLETED", None, 1),
        ];
        let got = diff(&page, &scope, |_| false);
        assert_eq!(ids(&got), [("1", "refunded")]);
        // A configured store with an invoice that names none falls back to known orders, and
        // the key names the tenant's store.
        let scoped = Scope {
            store: StoreId::new("7"),
            known_orders: [OrderId::new("3").unwrap()].into_iter().collect(),
        };
        let got = diff(&page[2..], &scoped, |_| false);
        assert_eq!(got[0].key.as_str(), "reconcile:completed|store:7|id:3");
        // A page listing one invoice twice yields it once.
        let twice = [page[0].clone(), page[0].clone()];
        assert_eq!(diff(&twice, &scope, |_| false).len(), 1);
    }

    #[test]
    fn paging_stops_at_the_horizon_the_last_page_or_the_cap() {
        let fresh = [inv("1", "COMPLETED", None, 1)];
        let old = [
            inv("1", "COMPLETED", None, 1),
            inv("2", "COMPLETED", None, 46),
        ];
        assert!(read_on(&fresh, Some(2), 1, NOW, 45));
        assert!(!read_on(&old, Some(2), 1, NOW, 45), "reached the horizon");
        assert!(!read_on(&fresh, None, 1, NOW, 45), "last page");
        assert!(!read_on(&fresh, Some(21), MAX_PAGES, NOW, 45), "cap");
        let undated = [Invoice {
            created_at: None,
            ..inv("1", "COMPLETED", None, 0)
        }];
        assert!(read_on(&undated, Some(2), 1, NOW, 45));
    }
}
