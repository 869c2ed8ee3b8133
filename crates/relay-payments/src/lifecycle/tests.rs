//! The lifecycle table: each row is a short story of deliveries to one tenant, with the
//! outcome expected at every step and the customer's windows at the end.

use super::*;
use crate::envelope::Money;
use crate::ids::{ProductId, VariantId};
use crate::policy::{policy, Policy};
use std::collections::BTreeMap;

const D: i64 = DAY_MS;

fn policies() -> Vec<Policy> {
    let mut trial = policy("trial3", "400", Some("401"), "premium", 3);
    trial.trial = true;
    let mut off = policy("off", "500", Some("501"), "premium", 30);
    off.enabled = false;
    vec![
        policy("p30", "200", Some("201"), "premium", 30),
        policy("p90", "200", Some("202"), "premium", 90),
        policy("vip30", "300", Some("301"), "vip", 30),
        trial,
        off,
    ]
}

/// A step: one event, or a change of the world.
#[derive(Clone)]
enum Step {
    /// (trigger, order, variant, status, total in cents, email, day). `status` "" = absent.
    Event(
        Trigger,
        &'static str,
        &'static str,
        &'static str,
        i64,
        &'static str,
        i64,
    ),
    /// `data` held only the order id and no re-read was possible.
    IdOnly(Trigger, &'static str, i64),
    /// The account for an email appears (held orders are decided again).
    Signup(&'static str, &'static str, i64),
    LinkDiscord(&'static str, &'static str),
    AddPolicy(Policy),
    Sweep(i64),
}
use Step::*;

const ALICE: &str = "alice@example.com";

fn completed(order: &'static str, variant: &'static str, day: i64) -> Step {
    Event(
        Trigger::Webhook(EventName::OrderCompleted),
        order,
        variant,
        "COMPLETED",
        2900,
        ALICE,
        day,
    )
}
fn created(order: &'static str, variant: &'static str, status: &'static str, day: i64) -> Step {
    Event(
        Trigger::Webhook(EventName::OrderCreated),
        order,
        variant,
        status,
        2900,
        ALICE,
        day,
    )
}
fn free(order: &'static str, email: &'static str, day: i64) -> Step {
    // A zero-total order of a variant whose policy is not marked trial: the total alone decides.
    Event(
        Trigger::Webhook(EventName::OrderCompleted),
        order,
        "201",
        "COMPLETED",
        0,
        email,
        day,
    )
}
fn reconcile(order: &'static str, status: &'static str, day: i64) -> Step {
    Event(
        Trigger::Reconciliation,
        order,
        "201",
        status,
        2900,
        ALICE,
        day,
    )
}
fn disputed(order: &'static str, day: i64) -> Step {
    IdOnly(Trigger::Webhook(EventName::OrderDisputed), order, day)
}

#[derive(Default)]
struct World {
    policies: Vec<Policy>,
    accounts: BTreeMap<String, AccountId>,
    discord: BTreeMap<String, String>,
    ents: BTreeMap<String, Vec<Entitlement>>,
    claims: Vec<TrialClaim>,
    held: Vec<(OrderId, Invoice)>,
    flags: Vec<OrderId>,
    next: u32,
}

impl World {
    fn run(&mut self, step: &Step) -> Vec<String> {
        match step {
            Event(trigger, order, variant, status, total, email, day) => {
                let inv = Invoice {
                    id: OrderId::new(order).unwrap(),
                    email: NormalizedEmail::parse(email),
                    sellapp_customer_id: None,
                    status: (!status.is_empty()).then(|| InvoiceStatus::parse(status)),
                    product_id: ProductId::new(&format!("{}00", &variant[..1])),
                    variant_id: VariantId::new(variant),
                    multiple_lines: false,
                    total: Some(Money {
                        minor: *total,
                        currency: "USD".into(),
                    }),
                    store_id: None,
                    created_at: None,
                };
                vec![self.deliver(trigger, &inv.id.clone(), Some(inv), email, day * D)]
            }
            IdOnly(trigger, order, day) => {
                let id = OrderId::new(order).unwrap();
                vec![self.deliver(trigger, &id, None, ALICE, day * D)]
            }
            Signup(email, account, day) => {
                self.accounts
                    .insert(email.to_string(), AccountId::new(account).unwrap());
                let held: Vec<_> = self.held.clone();
                held.into_iter()
                    .filter(|(_, inv)| inv.email.as_ref().map(|e| e.as_str()) == Some(*email))
                    .map(|(id, inv)| {
                        self.deliver(&Trigger::AccountCreated, &id, Some(inv), email, day * D)
                    })
                    .collect()
            }
            LinkDiscord(email, discord) => {
                self.discord.insert(email.to_string(), discord.to_string());
                vec![]
            }
            AddPolicy(p) => {
                self.policies.push(p.clone());
                vec![]
            }
            Sweep(day) => {
                for ents in self.ents.values_mut() {
                    let changes = sweep_expired(ents, day * D);
                    apply(ents, &changes, || unreachable!());
                }
                vec![]
            }
        }
    }

    fn deliver(
        &mut self,
        trigger: &Trigger,
        order: &OrderId,
        inv: Option<Invoice>,
        email: &str,
        now: i64,
    ) -> String {
        let set = PolicySet::new(self.policies.clone()).unwrap();
        let account = self.accounts.get(email).cloned();
        let empty = Vec::new();
        let ents = account
            .as_ref()
            .and_then(|a| self.ents.get(a.as_str()))
            .unwrap_or(&empty)
            .clone();
        let held: Vec<OrderId> = self.held.iter().map(|(o, _)| o.clone()).collect();
        let discord = self.discord.get(email).cloned();
        let customer = Customer {
            account: account.as_ref(),
            discord_id: discord.as_deref(),
            entitlements: &ents,
            trial_claims: &self.claims,
            held_orders: &held,
        };
        let d = decide(trigger, order, inv.as_ref(), &customer, &set, now);
        for c in &d.changes {
            match c {
                Change::ClaimTrial(claim) => self.claims.push(claim.clone()),
                Change::HoldPending { order_id, .. } => {
                    assert!(!self.held.iter().any(|(o, _)| o == order_id));
                    self.held.push((order_id.clone(), inv.clone().unwrap()));
                }
                Change::ReleasePending { order_id } => self.held.retain(|(o, _)| o != order_id),
                Change::FlagCustomer { order_id, .. } => self.flags.push(order_id.clone()),
                _ => {}
            }
        }
        if let Some(a) = account {
            let list = self.ents.entry(a.as_str().to_string()).or_default();
            let next = &mut self.next;
            apply(list, &d.changes, || {
                *next += 1;
                format!("e{next}")
            });
        }
        match d.outcome.reason_code() {
            None => d.outcome.as_str().to_string(),
            Some(r) => format!("{}:{r}", d.outcome.as_str()),
        }
    }

    fn windows(&self, account: &str) -> Vec<(String, i64, i64, EntitlementState)> {
        self.ents
            .get(account)
            .map(|v| {
                v.iter()
                    .map(|e| {
                        (
                            e.tier.to_string(),
                            e.window.starts_at / D,
                            e.window.ends_at / D,
                            e.state,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

struct Row {
    name: &'static str,
    steps: Vec<Step>,
    outcomes: Vec<&'static str>,
    /// Alice's windows at the end: (tier, start day, end day, state).
    windows: Vec<(&'static str, i64, i64, EntitlementState)>,
}

use EntitlementState::{Closed, Open, Revoked};

fn table() -> Vec<Row> {
    let alice = || Signup(ALICE, "acc-alice", 0);
    vec![
        Row {
            name: "grant",
            steps: vec![alice(), completed("o1", "201", 0)],
            outcomes: vec!["applied"],
            windows: vec![("premium", 0, 30, Open)],
        },
        Row {
            name: "renew extends from the current end",
            steps: vec![alice(), completed("o1", "201", 0), completed("o2", "202", 10)],
            outcomes: vec!["applied", "applied"],
            windows: vec![("premium", 0, 30, Open), ("premium", 30, 120, Open)],
        },
        Row {
            name: "renew after expiry starts now",
            steps: vec![alice(), completed("o1", "201", 0), completed("o2", "201", 40)],
            outcomes: vec!["applied", "applied"],
            windows: vec![("premium", 0, 30, Open), ("premium", 40, 70, Open)],
        },
        Row {
            name: "upgrade starts now, the lower tier keeps its window",
            steps: vec![alice(), completed("o1", "201", 0), completed("o2", "301", 10)],
            outcomes: vec!["applied", "applied"],
            windows: vec![("premium", 0, 30, Open), ("vip", 10, 40, Open)],
        },
        Row {
            name: "trial once (policy marked trial)",
            steps: vec![
                alice(),
                Event(Trigger::Webhook(EventName::OrderCompleted), "o1", "401", "COMPLETED", 0, ALICE, 0),
                Event(Trigger::Webhook(EventName::OrderCompleted), "o2", "401", "COMPLETED", 0, ALICE, 10),
            ],
            outcomes: vec!["applied", "ignored:trial_already_used"],
            windows: vec![("premium", 0, 3, Open)],
        },
        Row {
            name: "trial once: a zero total is a trial, and a paid order still chains after it",
            steps: vec![alice(), free("o1", ALICE, 0), free("o2", ALICE, 1), completed("o3", "201", 1)],
            outcomes: vec!["applied", "ignored:trial_already_used", "applied"],
            windows: vec![("premium", 0, 30, Open), ("premium", 30, 60, Open)],
        },
        Row {
            name: "trial once per Discord id: a second account linked to the same Discord user",
            steps: vec![
                alice(),
                LinkDiscord(ALICE, "111"),
                free("o1", ALICE, 0),
                Signup("alias@example.com", "acc-alias", 1),
                LinkDiscord("alias@example.com", "111"),
                free("o2", "alias@example.com", 2),
            ],
            outcomes: vec!["applied", "ignored:trial_already_used"],
            windows: vec![("premium", 0, 30, Open)],
        },
        Row {
            name: "trials of different customers are independent (never keyed by the sender)",
            steps: vec![
                alice(),
                Signup("bob@example.com", "acc-bob", 0),
                Signup("carol@example.com", "acc-carol", 0),
                free("o1", ALICE, 0),
                free("o2", "bob@example.com", 0),
                free("o3", "carol@example.com", 0),
            ],
            outcomes: vec!["applied", "applied", "applied"],
            windows: vec![("premium", 0, 30, Open)],
        },
        Row {
            name: "dispute revokes at once and flags",
            steps: vec![alice(), completed("o1", "201", 0), disputed("o1", 5)],
            outcomes: vec!["applied", "applied"],
            windows: vec![("premium", 0, 5, Revoked)],
        },
        Row {
            name: "dispute of one order moves the chained window up",
            steps: vec![alice(), completed("o1", "201", 0), completed("o2", "201", 1), disputed("o1", 10)],
            outcomes: vec!["applied", "applied", "applied"],
            windows: vec![("premium", 0, 10, Revoked), ("premium", 10, 40, Open)],
        },
        Row {
            name: "refund by reconciliation revokes, once",
            steps: vec![alice(), completed("o1", "201", 0), reconcile("o1", "REFUNDED", 3), reconcile("o1", "REFUNDED", 4)],
            outcomes: vec!["applied", "applied", "ignored:nothing_to_revoke"],
            windows: vec![("premium", 0, 3, Revoked)],
        },
        Row {
            name: "cancellation by reconciliation revokes; pending and unknown statuses change nothing",
            steps: vec![
                alice(),
                completed("o1", "201", 0),
                completed("o2", "301", 0),
                reconcile("o1", "PENDING", 1),
                reconcile("o1", "INACTIVE", 2),
                reconcile("o2", "VOIDED", 3),
            ],
            outcomes: vec!["applied", "applied", "ignored:already_applied", "ignored:unknown_status", "applied"],
            windows: vec![("premium", 0, 30, Open), ("vip", 0, 3, Revoked)],
        },
        Row {
            name: "reconciliation finds a completed order whose webhook never came",
            steps: vec![alice(), reconcile("o1", "COMPLETED", 2)],
            outcomes: vec!["applied"],
            windows: vec![("premium", 2, 32, Open)],
        },
        Row {
            name: "expiry at the boundary",
            steps: vec![alice(), completed("o1", "201", 0), Sweep(29), completed("o2", "301", 29), Sweep(30)],
            outcomes: vec!["applied", "applied"],
            windows: vec![("premium", 0, 30, Closed), ("vip", 29, 59, Open)],
        },
        Row {
            name: "replay of a duplicate applies once",
            steps: vec![alice(), completed("o1", "201", 0), completed("o1", "201", 0), completed("o1", "201", 7)],
            outcomes: vec!["applied", "ignored:already_applied", "ignored:already_applied"],
            windows: vec![("premium", 0, 30, Open)],
        },
        Row {
            name: "order.completed before order.created",
            steps: vec![alice(), completed("o1", "201", 0), created("o1", "201", "PENDING", 0)],
            outcomes: vec!["applied", "ignored:already_applied"],
            windows: vec![("premium", 0, 30, Open)],
        },
        Row {
            name: "order.created (unpaid) then order.completed",
            steps: vec![alice(), created("o1", "201", "PENDING", 0), IdOnly(Trigger::Webhook(EventName::OrderCreated), "o1", 0), completed("o1", "201", 0)],
            outcomes: vec!["ignored:unpaid_order_created", "ignored:unpaid_order_created", "applied"],
            windows: vec![("premium", 0, 30, Open)],
        },
        Row {
            name: "an order.created that is already paid grants; its completed is a no-op",
            steps: vec![alice(), created("o1", "201", "COMPLETED", 0), completed("o1", "201", 0)],
            outcomes: vec!["applied", "ignored:already_applied"],
            windows: vec![("premium", 0, 30, Open)],
        },
        Row {
            name: "an order before signup is held and applied at signup",
            steps: vec![completed("o1", "201", 0), completed("o1", "201", 1), Signup(ALICE, "acc-alice", 5), completed("o1", "201", 6)],
            outcomes: vec!["unmatched:no_account_yet", "unmatched:no_account_yet", "applied", "ignored:already_applied"],
            windows: vec![("premium", 5, 35, Open)],
        },
        Row {
            name: "a dispute of a held order drops it",
            steps: vec![completed("o1", "201", 0), disputed("o1", 1), Signup(ALICE, "acc-alice", 5)],
            outcomes: vec!["unmatched:no_account_yet", "applied"],
            windows: vec![],
        },
        Row {
            name: "unknown variant is unmatched; a fixed policy and a replay apply it",
            steps: vec![
                alice(),
                completed("o1", "601", 0),
                AddPolicy(policy("p601", "600", Some("601"), "vip", 7)),
                completed("o1", "601", 1),
            ],
            outcomes: vec!["unmatched:no_policy", "applied"],
            windows: vec![("vip", 1, 8, Open)],
        },
        Row {
            name: "a disabled policy, id-only data and unknown events change nothing",
            steps: vec![
                alice(),
                completed("o1", "501", 0),
                IdOnly(Trigger::Webhook(EventName::OrderCompleted), "o2", 0),
                IdOnly(Trigger::Webhook(EventName::parse("product.updated")), "o3", 0),
                IdOnly(Trigger::Webhook(EventName::parse("order.paid")), "o4", 0),
                Event(Trigger::Webhook(EventName::OrderCompleted), "o5", "201", "COMPLETED", 2900, "not-an-email", 0),
            ],
            outcomes: vec![
                "unmatched:policy_disabled",
                "unmatched:invoice_details_missing",
                "ignored:event_not_acted_on",
                "ignored:unknown_event",
                "unmatched:no_email",
            ],
            windows: vec![],
        },
    ]
}

#[test]
fn lifecycle_table() {
    // Also keeps the "AccountCreated" replay of the "duplicate" held order honest: the world
    // asserts an order is never held twice.
    let hold_once = |w: &World| w.held.len() <= 1;
    for row in table() {
        let mut w = World {
            policies: policies(),
            ..World::default()
        };
        let mut got = Vec::new();
        for step in &row.steps {
            got.extend(w.run(step));
            assert!(hold_once(&w), "{}", row.name);
        }
        assert_eq!(got, row.outcomes, "outcomes of: {}", row.name);
        let want: Vec<_> = row
            .windows
            .iter()
            .map(|(t, s, e, st)| (t.to_string(), *s, *e, *st))
            .collect();
        assert_eq!(w.windows("acc-alice"), want, "windows of: {}", row.name);
        if row.name.starts_with("dispute") {
            assert_eq!(w.flags, [OrderId::new("o1").unwrap()], "{}", row.name);
        }
    }
}

#[test]
fn access_ends_at_the_window_end_exactly() {
    let e = Entitlement {
        id: "e1".into(),
        tier: TierKey::new("premium").unwrap(),
        window: Window {
            starts_at: 10,
            ends_at: 20,
        },
        source: Source::Sellapp {
            order_id: OrderId::new("o1").unwrap(),
        },
        state: EntitlementState::Open,
    };
    assert!(!e.is_active(9));
    assert!(e.is_active(10));
    assert!(e.is_active(19));
    assert!(!e.is_active(20));
    assert!(sweep_expired(std::slice::from_ref(&e), 19).is_empty());
    assert_eq!(sweep_expired(std::slice::from_ref(&e), 20).len(), 1);
    let mut revoked = e.clone();
    revoked.state = EntitlementState::Revoked;
    assert!(!revoked.is_active(15));
    assert_eq!(
        active_tiers(&[e.clone(), e], 15),
        [TierKey::new("premium").unwrap()]
    );
}

#[test]
fn manual_grants_are_extended_but_never_revoked_or_moved() {
    let manual = Entitlement {
        id: "m1".into(),
        tier: TierKey::new("premium").unwrap(),
        window: Window {
            starts_at: 0,
            ends_at: 10 * D,
        },
        source: Source::Other {
            kind: "manual".into(),
            reference: "op".into(),
        },
        state: EntitlementState::Open,
    };
    let set = PolicySet::new(policies()).unwrap();
    let acc = AccountId::new("a").unwrap();
    let ents = vec![manual];
    let customer = Customer {
        account: Some(&acc),
        entitlements: &ents,
        ..Customer::default()
    };
    let inv = Invoice {
        id: OrderId::new("o1").unwrap(),
        email: NormalizedEmail::parse(ALICE),
        sellapp_customer_id: None,
        status: Some(InvoiceStatus::Completed),
        product_id: None,
        variant_id: VariantId::new("201"),
        multiple_lines: false,
        total: None,
        store_id: None,
        created_at: None,
    };
    let d = decide(
        &Trigger::Webhook(EventName::OrderCompleted),
        &inv.id,
        Some(&inv),
        &customer,
        &set,
        D,
    );
    assert!(
        matches!(&d.changes[0], Change::Grant { window, trial: false, .. } if window.starts_at == 10 * D)
    );
    let d = decide(
        &Trigger::Webhook(EventName::OrderDisputed),
        &OrderId::new("m1").unwrap(),
        None,
        &customer,
        &set,
        D,
    );
    assert!(!d
        .changes
        .iter()
        .any(|c| matches!(c, Change::Revoke { .. } | Change::Reschedule { .. })));
}

#[test]
fn trial_claims_match_on_any_key_and_only_on_present_ones() {
    let claim = |a: Option<&str>, e: Option<&str>, d: Option<&str>| TrialClaim {
        order_id: OrderId::new("o").unwrap(),
        account: a.map(|a| AccountId::new(a).unwrap()),
        email: e.and_then(NormalizedEmail::parse),
        discord_id: d.map(str::to_string),
    };
    let used = [claim(Some("acc1"), Some("a@x.io"), None)];
    assert!(trial_used(&used, &claim(Some("acc1"), None, None)).is_some());
    assert!(trial_used(&used, &claim(None, Some("A@X.io "), None)).is_some());
    assert!(trial_used(&used, &claim(Some("acc2"), Some("b@x.io"), Some("9"))).is_none());
    // Two missing keys are not a match: customers without Discord are not all one person.
    let no_discord = [claim(Some("acc1"), None, None)];
    assert!(trial_used(&no_discord, &claim(Some("acc2"), None, None)).is_none());
    let linked = [claim(None, None, Some("9"))];
    assert!(trial_used(&linked, &claim(Some("acc3"), Some("c@x.io"), Some("9"))).is_some());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const ORDERS: [&str; 4] = ["o1", "o2", "o3", "o4"];
    const VARIANTS: [&str; 5] = ["201", "202", "301", "401", "601"];
    const STATUSES: [&str; 5] = ["COMPLETED", "REFUNDED", "PENDING", "VOIDED", "INACTIVE"];

    fn step() -> impl Strategy<Value = (u8, usize, usize, usize, i64)> {
        (
            0u8..6,
            0..ORDERS.len(),
            0..VARIANTS.len(),
            0..STATUSES.len(),
            0i64..120,
        )
    }

    fn to_step((kind, o, v, s, day): (u8, usize, usize, usize, i64)) -> Step {
        let (o, v) = (ORDERS[o], VARIANTS[v]);
        match kind {
            0 | 1 => completed(o, v, day),
            2 => created(o, v, if s == 0 { "COMPLETED" } else { "PENDING" }, day),
            3 => disputed(o, day),
            4 => Event(Trigger::Reconciliation, o, v, STATUSES[s], 2900, ALICE, day),
            _ => Sweep(day),
        }
    }

    proptest! {
        // Whatever arrives, in whatever order, duplicated or not: one order grants at most once,
        // the open windows of one tier never overlap, a trial is claimed at most once, and an
        // order is never held twice.
        #[test]
        fn any_event_sequence_keeps_the_invariants(
            mut steps in proptest::collection::vec(step(), 1..40),
            signup_day in 0i64..60,
        ) {
            steps.sort_by_key(|s| s.4);
            let mut w = World { policies: policies(), ..World::default() };
            let mut signed_up = false;
            for s in steps {
                if !signed_up && s.4 >= signup_day {
                    w.run(&Signup(ALICE, "acc-alice", signup_day));
                    signed_up = true;
                }
                w.run(&to_step(s));
                prop_assert!(w.held.len() <= ORDERS.len());
                let mut held: Vec<_> = w.held.iter().map(|(o, _)| o.clone()).collect();
                held.dedup();
                prop_assert_eq!(held.len(), w.held.len());
            }
            let ents = w.ents.get("acc-alice").cloned().unwrap_or_default();
            for o in ORDERS {
                let n = ents.iter().filter(|e| e.is_order(&OrderId::new(o).unwrap())).count();
                prop_assert!(n <= 1, "order {} granted {} times", o, n);
            }
            let open: Vec<&Entitlement> = ents.iter().filter(|e| e.state == EntitlementState::Open).collect();
            for (i, a) in open.iter().enumerate() {
                prop_assert!(a.window.starts_at < a.window.ends_at);
                for b in &open[i + 1..] {
                    if a.tier == b.tier {
                        let disjoint = a.window.ends_at <= b.window.starts_at || b.window.ends_at <= a.window.starts_at;
                        prop_assert!(disjoint, "{:?} overlaps {:?}", a.window, b.window);
                    }
                }
            }
            prop_assert!(w.claims.len() <= 1, "one customer, one trial: {:?}", w.claims);
        }
    }
}

#[test]
fn a_refund_or_cancellation_found_by_reconciliation_flags_only_when_it_took_access() {
    let set = PolicySet::new(policies()).unwrap();
    let acc = AccountId::new("a").unwrap();
    let ent = Entitlement {
        id: "e1".into(),
        tier: TierKey::new("premium").unwrap(),
        window: Window {
            starts_at: 0,
            ends_at: 30 * D,
        },
        source: Source::Sellapp {
            order_id: OrderId::new("o1").unwrap(),
        },
        state: EntitlementState::Open,
    };
    let inv = |status: &str| Invoice {
        id: OrderId::new("o1").unwrap(),
        email: NormalizedEmail::parse(ALICE),
        sellapp_customer_id: None,
        status: Some(InvoiceStatus::parse(status)),
        product_id: None,
        variant_id: VariantId::new("201"),
        multiple_lines: false,
        total: None,
        store_id: None,
        created_at: None,
    };
    let flags = |d: &Decision| -> Vec<FlagReason> {
        d.changes
            .iter()
            .filter_map(|c| match c {
                Change::FlagCustomer { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect()
    };
    for (status, reason, code) in [
        ("REFUNDED", FlagReason::Refund, "refund"),
        ("CANCELLED", FlagReason::Cancellation, "cancellation"),
        ("DISPUTED", FlagReason::Dispute, "dispute"),
    ] {
        let ents = vec![ent.clone()];
        let customer = Customer {
            account: Some(&acc),
            entitlements: &ents,
            ..Customer::default()
        };
        let i = inv(status);
        let d = decide(
            &Trigger::Reconciliation,
            &i.id,
            Some(&i),
            &customer,
            &set,
            5 * D,
        );
        assert_eq!(d.outcome, Outcome::Applied, "{status}");
        assert_eq!(flags(&d), [reason], "{status}");
        assert_eq!(reason.as_str(), code);
        // Already revoked: a refund or cancellation takes nothing away and flags nothing; a
        // dispute still flags (the operator must answer it).
        let mut gone = ent.clone();
        gone.state = EntitlementState::Revoked;
        let ents = vec![gone];
        let customer = Customer {
            account: Some(&acc),
            entitlements: &ents,
            ..Customer::default()
        };
        let again = decide(
            &Trigger::Reconciliation,
            &i.id,
            Some(&i),
            &customer,
            &set,
            6 * D,
        );
        if reason == FlagReason::Dispute {
            assert_eq!(flags(&again), [FlagReason::Dispute]);
        } else {
            assert!(flags(&again).is_empty(), "{status}");
            assert_eq!(again.outcome.reason_code(), Some("nothing_to_revoke"));
        }
    }
}
