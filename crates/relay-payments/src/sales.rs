//! Sales figures from our own event log (not Sell.app's dashboard): what the console shows
//! for the last 7, 30 and 90 days. A pure aggregation over the applied sales.
//!
//! Definitions:
//! - a *sale* is an applied, paid (non-trial) order whose `at` falls in `(now - days, now]`;
//! - *revenue* sums the totals of those sales that were not revoked since, per currency
//!   (currencies are never added together); revoked sales are counted in `revoked`;
//! - a *renewal* is a sale by a customer who had an earlier paid sale of the same tier (at any
//!   time, also before the window);
//! - a *new customer* is one whose first applied order ever (paid or trial) is in the window;
//! - *trials* are applied trial orders in the window;
//! - *top options* rank the purchase options (variant, else product) by sales, then revenue,
//!   then key, at most [`TOP_OPTIONS`].

use crate::email::NormalizedEmail;
use crate::ids::{OrderId, TierKey};
use relay_core::time::DAY_MS;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub const WINDOWS_DAYS: [u32; 3] = [7, 30, 90];
pub const TOP_OPTIONS: usize = 5;

/// One applied order, as the webhook log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleEvent {
    pub at: i64,
    pub order_id: OrderId,
    pub customer: NormalizedEmail,
    pub tier: TierKey,
    /// The variant id, else the product id.
    pub option: String,
    pub total_minor: i64,
    pub currency: String,
    pub trial: bool,
    /// Refunded, disputed or cancelled since.
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionFigures {
    pub option: String,
    pub sales: u32,
    pub revenue: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub days: u32,
    pub sales: u32,
    pub revenue: BTreeMap<String, i64>,
    pub revoked: u32,
    pub renewals: u32,
    pub new_customers: u32,
    pub trials: u32,
    pub top_options: Vec<OptionFigures>,
}

/// Figures for one window ending at `now` (inclusive).
pub fn figures(log: &[SaleEvent], now: i64, days: u32) -> Figures {
    let from = now - i64::from(days) * DAY_MS;
    let in_window = |e: &SaleEvent| e.at > from && e.at <= now;
    let mut sorted: Vec<&SaleEvent> = log.iter().collect();
    // Order ids break ties so that two sales at one instant count the same way on every run.
    sorted.sort_by(|a, b| (a.at, &a.order_id).cmp(&(b.at, &b.order_id)));

    let mut f = Figures {
        days,
        sales: 0,
        revenue: BTreeMap::new(),
        revoked: 0,
        renewals: 0,
        new_customers: 0,
        trials: 0,
        top_options: Vec::new(),
    };
    let mut seen_customers: BTreeSet<&NormalizedEmail> = BTreeSet::new();
    let mut paid_before: BTreeSet<(&NormalizedEmail, &TierKey)> = BTreeSet::new();
    let mut options: BTreeMap<&str, OptionFigures> = BTreeMap::new();
    for e in sorted {
        let first_ever = seen_customers.insert(&e.customer);
        let renewal = !e.trial && !paid_before.insert((&e.customer, &e.tier));
        if !in_window(e) {
            continue;
        }
        if first_ever {
            f.new_customers += 1;
        }
        if e.trial {
            f.trials += 1;
            continue;
        }
        f.sales += 1;
        if renewal {
            f.renewals += 1;
        }
        let o = options.entry(&e.option).or_insert_with(|| OptionFigures {
            option: e.option.clone(),
            sales: 0,
            revenue: BTreeMap::new(),
        });
        o.sales += 1;
        if e.revoked {
            f.revoked += 1;
        } else {
            *f.revenue.entry(e.currency.clone()).or_default() += e.total_minor;
            *o.revenue.entry(e.currency.clone()).or_default() += e.total_minor;
        }
    }
    let mut top: Vec<OptionFigures> = options.into_values().collect();
    let total = |o: &OptionFigures| o.revenue.values().sum::<i64>();
    top.sort_by(|a, b| {
        b.sales
            .cmp(&a.sales)
            .then(total(b).cmp(&total(a)))
            .then(a.option.cmp(&b.option))
    });
    top.truncate(TOP_OPTIONS);
    f.top_options = top;
    f
}

/// The console's three windows.
pub fn report(log: &[SaleEvent], now: i64) -> Vec<Figures> {
    WINDOWS_DAYS.iter().map(|d| figures(log, now, *d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = DAY_MS;
    const NOW: i64 = 1000 * D;

    fn sale(
        days_ago: i64,
        order: &str,
        who: &str,
        tier: &str,
        option: &str,
        cents: i64,
    ) -> SaleEvent {
        SaleEvent {
            at: NOW - days_ago * D,
            order_id: OrderId::new(order).unwrap(),
            customer: NormalizedEmail::parse(who).unwrap(),
            tier: TierKey::new(tier).unwrap(),
            option: option.into(),
            total_minor: cents,
            currency: "USD".into(),
            trial: cents == 0,
            revoked: false,
        }
    }

    #[test]
    fn windows_renewals_new_customers_trials_and_top_options() {
        let mut refunded = sale(3, "o6", "dan@x.io", "vip", "301", 9900);
        refunded.revoked = true;
        let mut eur = sale(2, "o7", "eve@x.io", "premium", "201", 2500);
        eur.currency = "EUR".into();
        let log = vec![
            sale(100, "o0", "alice@x.io", "premium", "201", 2900), // outside every window
            sale(40, "o1", "alice@x.io", "premium", "201", 2900),  // renewal, 90d only
            sale(20, "o2", "bob@x.io", "premium", "202", 7900),    // new, 30d and 90d
            sale(5, "o3", "bob@x.io", "premium", "201", 2900),     // renewal
            sale(4, "o4", "carol@x.io", "premium", "401", 0),      // trial, new
            sale(1, "o5", "carol@x.io", "premium", "201", 2900),   // first paid: not a renewal
            refunded,                                              // new, revoked
            eur,                                                   // new, other currency
            sale(0, "o8", "frank@x.io", "vip", "301", 9900),       // at now exactly: counted
        ];
        let r = report(&log, NOW);
        let w7 = &r[0];
        assert_eq!(
            (
                w7.days,
                w7.sales,
                w7.renewals,
                w7.trials,
                w7.revoked,
                w7.new_customers
            ),
            (7, 5, 1, 1, 1, 4)
        );
        assert_eq!(
            w7.revenue,
            BTreeMap::from([("USD".into(), 2900 + 2900 + 9900), ("EUR".into(), 2500)])
        );
        let top: Vec<(&str, u32)> = w7
            .top_options
            .iter()
            .map(|o| (o.option.as_str(), o.sales))
            .collect();
        assert_eq!(top, [("201", 3), ("301", 2)]);
        let w30 = &r[1];
        assert_eq!((w30.sales, w30.renewals, w30.new_customers), (6, 1, 5));
        let w90 = &r[2];
        assert_eq!((w90.sales, w90.renewals, w90.new_customers), (7, 2, 5));
        assert_eq!(w90.revenue["USD"], 2900 * 3 + 7900 + 9900);
    }

    #[test]
    fn window_edges() {
        let log = vec![
            sale(7, "o1", "a@x.io", "premium", "201", 100),
            sale(0, "o2", "b@x.io", "premium", "201", 100),
        ];
        let f = figures(&log, NOW, 7);
        assert_eq!(
            f.sales, 1,
            "(now - 7d, now]: the sale exactly 7 days ago is out"
        );
        let later = figures(&log, NOW - 1, 7);
        assert_eq!(later.sales, 1, "and a sale after now is not counted");
        assert_eq!(figures(&[], NOW, 30).top_options, []);
    }
}
