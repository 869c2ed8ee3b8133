//! From an order to access: a pure function over (the customer's entitlements, the event, now)
//! that returns the changes to make. The runtime loads the inputs, calls [`decide`], writes the
//! changes in one transaction, and records the outcome.
//!
//! Rules (each is a row of the lifecycle table in the tests):
//! - A paid order with an enabled policy grants one entitlement, source `sellapp`, reference =
//!   the order id. One order grants at most once, whatever arrives twice or out of order.
//! - The same tier again extends from the current end of that tier (the new window starts where
//!   the last open one ends). A different tier starts now; the other tier keeps its own window
//!   underneath (which tier wins at read time is the customers issue's rule: the highest).
//! - A zero-total order, or one whose policy is marked `trial`, is a trial: at most one per
//!   customer of a tenant, matched by account, normalised email or Discord id — any one of
//!   them. The webhook sender's IP is not an input at all.
//! - `order.disputed` (or an invoice re-read as disputed) revokes the order's entitlement at
//!   once and flags the customer. A re-read invoice that is refunded or cancelled revokes it and,
//!   when it took access away, flags the customer too. Windows of the same tier chained after a revoked one move up into the freed time, so the
//!   customer keeps exactly what their other orders paid for, without a gap.
//! - Pending and unknown statuses change nothing: there is no status-driven revocation besides
//!   refunded/disputed/cancelled, hence no grace period to get wrong either. Access ends at a
//!   window's end, exactly: active means `starts_at <= now < ends_at`.
//! - A revoked order stays revoked: a later `COMPLETED` for it (a dispute the seller won) is
//!   `already_applied`, and re-granting is an operator's decision.
//! - A paid order for an email without an account is held ([`Change::HoldPending`]) and decided
//!   again with [`Trigger::AccountCreated`] when the account appears; its window starts then.

use crate::email::NormalizedEmail;
use crate::envelope::{EventName, Invoice, InvoiceStatus};
use crate::ids::{AccountId, OrderId, TierKey};
use crate::outcome::{IgnoreReason, Outcome, UnmatchedReason};
use crate::policy::{PolicySet, Resolution};
use relay_core::time::DAY_MS;
use serde::{Deserialize, Serialize};

/// An entitlement window in Unix milliseconds: active iff `starts_at <= now < ends_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub starts_at: i64,
    pub ends_at: i64,
}

impl Window {
    pub fn contains(&self, now: i64) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}

/// Where an entitlement came from. Only `Sellapp` ones are ever revoked or moved here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    Sellapp {
        order_id: OrderId,
    },
    /// Manual grants and anything else of the customers issue.
    Other {
        kind: String,
        reference: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntitlementState {
    Open,
    /// Ended and swept by the scheduled handler.
    Closed,
    Revoked,
}

/// An entitlement as the customers issue stores it (the fields this crate needs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    pub id: String,
    pub tier: TierKey,
    pub window: Window,
    pub source: Source,
    pub state: EntitlementState,
}

impl Entitlement {
    pub fn is_active(&self, now: i64) -> bool {
        self.state == EntitlementState::Open && self.window.contains(now)
    }

    fn is_order(&self, order: &OrderId) -> bool {
        matches!(&self.source, Source::Sellapp { order_id } if order_id == order)
    }
}

/// A used trial. Any one matching key means the customer had theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialClaim {
    pub order_id: OrderId,
    pub account: Option<AccountId>,
    pub email: Option<NormalizedEmail>,
    pub discord_id: Option<String>,
}

impl TrialClaim {
    pub fn matches(&self, other: &TrialClaim) -> bool {
        fn same<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
            matches!((a, b), (Some(x), Some(y)) if x == y)
        }
        same(&self.account, &other.account)
            || same(&self.email, &other.email)
            || same(&self.discord_id, &other.discord_id)
    }
}

/// What the runtime loads for the customer the order's email names (all empty when no account
/// has that email yet).
#[derive(Debug, Clone, Copy, Default)]
pub struct Customer<'a> {
    pub account: Option<&'a AccountId>,
    /// The Discord user id once the account linked Discord.
    pub discord_id: Option<&'a str>,
    pub entitlements: &'a [Entitlement],
    /// The tenant's trial claims matching this account, email or Discord id (passing more is
    /// harmless: matching is done here).
    pub trial_claims: &'a [TrialClaim],
    /// Orders of this email currently held for want of an account.
    pub held_orders: &'a [OrderId],
}

/// Why we are deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Webhook(EventName),
    /// The scheduled handler (or a webhook) re-read the invoice from Sell.app's API.
    Reconciliation,
    /// A held order, decided again now that its email has an account.
    AccountCreated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagReason {
    Dispute,
    /// Found refunded by reconciliation (Sell.app announces no refund).
    Refund,
    /// Found cancelled by reconciliation.
    Cancellation,
}

impl FlagReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            FlagReason::Dispute => "dispute",
            FlagReason::Refund => "refund",
            FlagReason::Cancellation => "cancellation",
        }
    }
}

/// One write for the runtime. Entitlements are named by the runtime's `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Grant {
        tier: TierKey,
        window: Window,
        order_id: OrderId,
        policy_id: String,
        trial: bool,
    },
    /// Move a not-yet-started window (same tier, chained after a revoked one).
    Reschedule {
        entitlement_id: String,
        window: Window,
    },
    Revoke {
        entitlement_id: String,
        order_id: OrderId,
        at: i64,
    },
    ClaimTrial(TrialClaim),
    /// Keep the order (and its invoice) for the email's future account.
    HoldPending {
        order_id: OrderId,
        email: NormalizedEmail,
    },
    /// The held order is decided: forget it.
    ReleasePending {
        order_id: OrderId,
    },
    FlagCustomer {
        order_id: OrderId,
        reason: FlagReason,
    },
    /// The scheduled sweep: an ended window, shown as closed (access already stopped).
    Close {
        entitlement_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub outcome: Outcome,
    pub changes: Vec<Change>,
}

impl Decision {
    fn none(outcome: Outcome) -> Decision {
        Decision {
            outcome,
            changes: Vec::new(),
        }
    }
}

/// Decides what one order event means for one customer.
///
/// `invoice` is the freshest invoice known: the webhook's `data` or, better, a re-read from the
/// API. `None` when `data` held only the id and no re-read was possible.
pub fn decide(
    trigger: &Trigger,
    order_id: &OrderId,
    invoice: Option<&Invoice>,
    customer: &Customer<'_>,
    policies: &PolicySet,
    now: i64,
) -> Decision {
    if let Trigger::Webhook(ev) = trigger {
        if let Some(o) = Outcome::for_event(ev) {
            return Decision::none(o);
        }
    }
    let status = invoice.and_then(|i| i.status.as_ref());
    if *trigger == Trigger::Webhook(EventName::OrderDisputed)
        || status == Some(&InvoiceStatus::Disputed)
    {
        return revoke(order_id, customer, now, Flag::Always(FlagReason::Dispute));
    }
    if let Some(s) = status.filter(|s| s.revokes()) {
        let reason = match s {
            InvoiceStatus::Cancelled => FlagReason::Cancellation,
            _ => FlagReason::Refund,
        };
        return revoke(order_id, customer, now, Flag::IfRevoked(reason));
    }
    let created = *trigger == Trigger::Webhook(EventName::OrderCreated);
    let paid = match status {
        Some(InvoiceStatus::Completed) => true,
        Some(InvoiceStatus::Unknown(raw)) => {
            return Decision::none(Outcome::ignored(IgnoreReason::UnknownStatus {
                status: raw.clone(),
            }))
        }
        Some(_) => false,
        // No status: only the event itself says whether the order is paid.
        None => matches!(
            trigger,
            Trigger::Webhook(EventName::OrderCompleted) | Trigger::AccountCreated
        ),
    };
    if customer.entitlements.iter().any(|e| e.is_order(order_id)) {
        return Decision::none(Outcome::ignored(IgnoreReason::AlreadyApplied {
            order_id: order_id.clone(),
        }));
    }
    if !paid {
        return Decision::none(match (created, status) {
            (true, _) => Outcome::ignored(IgnoreReason::UnpaidOrderCreated),
            (false, Some(s)) => Outcome::for_status(s),
            (false, None) => Outcome::ignored(IgnoreReason::UnknownStatus {
                status: String::new(),
            }),
        });
    }
    let Some(inv) = invoice else {
        return Decision::none(Outcome::unmatched(UnmatchedReason::InvoiceDetailsMissing));
    };
    if inv.multiple_lines {
        return Decision::none(Outcome::unmatched(UnmatchedReason::MultipleLines));
    }
    let Some(email) = inv.email.clone() else {
        return Decision::none(Outcome::unmatched(UnmatchedReason::NoEmail));
    };
    let policy = match policies.resolve(inv.product_id.as_ref(), inv.variant_id.as_ref()) {
        Resolution::Matched(p) => p,
        Resolution::Disabled(p) => {
            return Decision::none(Outcome::unmatched(UnmatchedReason::PolicyDisabled {
                policy_id: p.id.clone(),
            }))
        }
        Resolution::NoPolicy => {
            return Decision::none(Outcome::unmatched(UnmatchedReason::NoPolicy {
                product_id: inv.product_id.clone(),
                variant_id: inv.variant_id.clone(),
            }))
        }
    };
    let Some(account) = customer.account else {
        let outcome = Outcome::unmatched(UnmatchedReason::NoAccountYet {
            email: email.as_str().to_string(),
        });
        // Held once: a second event of a held order (its order.created, a redelivery) only
        // reports the same state.
        let changes = if customer.held_orders.contains(order_id) {
            Vec::new()
        } else {
            vec![Change::HoldPending {
                order_id: order_id.clone(),
                email,
            }]
        };
        return Decision { outcome, changes };
    };
    let mut changes = Vec::new();
    if customer.held_orders.contains(order_id) {
        changes.push(Change::ReleasePending {
            order_id: order_id.clone(),
        });
    }
    let trial = policy.trial || inv.total.as_ref().is_some_and(|m| m.minor == 0);
    if trial {
        let claim = TrialClaim {
            order_id: order_id.clone(),
            account: Some(account.clone()),
            email: Some(email),
            discord_id: customer.discord_id.map(str::to_string),
        };
        if let Some(previous) = trial_used(customer.trial_claims, &claim) {
            return Decision {
                outcome: Outcome::ignored(IgnoreReason::TrialAlreadyUsed {
                    previous_order: previous.order_id.clone(),
                }),
                changes,
            };
        }
        changes.push(Change::ClaimTrial(claim));
    }
    let starts_at = customer
        .entitlements
        .iter()
        .filter(|e| {
            e.tier == policy.tier && e.state == EntitlementState::Open && e.window.ends_at > now
        })
        .map(|e| e.window.ends_at)
        .max()
        .unwrap_or(now)
        .max(now);
    let window = Window {
        starts_at,
        ends_at: starts_at + i64::from(policy.duration_days) * DAY_MS,
    };
    changes.insert(
        0,
        Change::Grant {
            tier: policy.tier.clone(),
            window,
            order_id: order_id.clone(),
            policy_id: policy.id.clone(),
            trial,
        },
    );
    Decision {
        outcome: Outcome::Applied,
        changes,
    }
}

/// When a revocation flags the customer: a dispute always (the operator must answer it even
/// when it took nothing away), a refund or cancellation only when it took access away.
enum Flag {
    Always(FlagReason),
    IfRevoked(FlagReason),
}

fn revoke(order_id: &OrderId, customer: &Customer<'_>, now: i64, flag: Flag) -> Decision {
    let mut changes = Vec::new();
    for target in customer
        .entitlements
        .iter()
        .filter(|e| e.is_order(order_id) && e.state == EntitlementState::Open)
    {
        changes.push(Change::Revoke {
            entitlement_id: target.id.clone(),
            order_id: order_id.clone(),
            at: now,
        });
        let freed_from = now.max(target.window.starts_at);
        let freed = target.window.ends_at - freed_from;
        if freed <= 0 {
            continue;
        }
        for later in customer.entitlements.iter().filter(|e| {
            e.id != target.id
                && e.tier == target.tier
                && e.state == EntitlementState::Open
                && matches!(e.source, Source::Sellapp { .. })
                && e.window.starts_at >= target.window.ends_at
        }) {
            changes.push(Change::Reschedule {
                entitlement_id: later.id.clone(),
                window: Window {
                    starts_at: later.window.starts_at - freed,
                    ends_at: later.window.ends_at - freed,
                },
            });
        }
    }
    let held = customer.held_orders.contains(order_id);
    if held {
        changes.push(Change::ReleasePending {
            order_id: order_id.clone(),
        });
    }
    let revoked = changes.iter().any(|c| matches!(c, Change::Revoke { .. }));
    let reason = match flag {
        Flag::Always(r) => Some(r),
        Flag::IfRevoked(r) => revoked.then_some(r),
    };
    if let Some(reason) = reason {
        changes.push(Change::FlagCustomer {
            order_id: order_id.clone(),
            reason,
        });
    }
    let outcome = if changes.is_empty() {
        Outcome::ignored(IgnoreReason::NothingToRevoke {
            order_id: order_id.clone(),
        })
    } else {
        Outcome::Applied
    };
    Decision { outcome, changes }
}

/// The claim that already used the trial of `who` (any of its keys matching), if any. The shop
/// hides trial options when this is `Some` for the signed-in customer.
pub fn trial_used<'a>(claims: &'a [TrialClaim], who: &TrialClaim) -> Option<&'a TrialClaim> {
    claims.iter().find(|c| c.matches(who))
}

/// The scheduled sweep: every open window that has ended (at `ends_at` exactly, too).
pub fn sweep_expired(entitlements: &[Entitlement], now: i64) -> Vec<Change> {
    entitlements
        .iter()
        .filter(|e| e.state == EntitlementState::Open && e.window.ends_at <= now)
        .map(|e| Change::Close {
            entitlement_id: e.id.clone(),
        })
        .collect()
}

/// The tiers a customer has access to at `now`, each once, in key order.
pub fn active_tiers(entitlements: &[Entitlement], now: i64) -> Vec<TierKey> {
    let mut tiers: Vec<TierKey> = entitlements
        .iter()
        .filter(|e| e.is_active(now))
        .map(|e| e.tier.clone())
        .collect();
    tiers.sort();
    tiers.dedup();
    tiers
}

/// Applies changes to an in-memory list, as the runtime would to its tables; `new_id` names
/// granted entitlements. For tests and for previews ("what would a replay do").
pub fn apply(
    entitlements: &mut Vec<Entitlement>,
    changes: &[Change],
    mut new_id: impl FnMut() -> String,
) {
    for c in changes {
        match c {
            Change::Grant {
                tier,
                window,
                order_id,
                ..
            } => entitlements.push(Entitlement {
                id: new_id(),
                tier: tier.clone(),
                window: *window,
                source: Source::Sellapp {
                    order_id: order_id.clone(),
                },
                state: EntitlementState::Open,
            }),
            Change::Reschedule {
                entitlement_id,
                window,
            } => {
                if let Some(e) = entitlements.iter_mut().find(|e| &e.id == entitlement_id) {
                    e.window = *window;
                }
            }
            Change::Revoke {
                entitlement_id, at, ..
            } => {
                if let Some(e) = entitlements.iter_mut().find(|e| &e.id == entitlement_id) {
                    e.state = EntitlementState::Revoked;
                    e.window.ends_at = e.window.ends_at.min(*at).max(e.window.starts_at);
                }
            }
            Change::Close { entitlement_id } => {
                if let Some(e) = entitlements.iter_mut().find(|e| &e.id == entitlement_id) {
                    e.state = EntitlementState::Closed;
                }
            }
            Change::ClaimTrial(_)
            | Change::HoldPending { .. }
            | Change::ReleasePending { .. }
            | Change::FlagCustomer { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests;
