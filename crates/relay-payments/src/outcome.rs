//! The outcome recorded for every event, and what the webhook answers.
//!
//! A delivery that passed the signature check is never answered with a 4xx: the sender holds
//! the secret, so whatever we cannot use is recorded (`ignored`/`unmatched`) and answered 200,
//! and only our own faults (`failed`) answer 5xx so that Sell.app delivers again.

use crate::envelope::{EnvelopeError, EventName, InvoiceStatus};
use crate::ids::{OrderId, ProductId, VariantId};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    Ignored {
        reason: IgnoreReason,
    },
    Unmatched {
        reason: UnmatchedReason,
    },
    /// Our fault (storage, a dependency, a bug), kept with the error for a replay.
    Failed {
        error: String,
    },
}

/// Nothing to do, by design.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum IgnoreReason {
    /// `order.created` of an order that is not paid yet; its `order.completed` grants.
    UnpaidOrderCreated,
    /// A documented Sell.app event that carries no access decision.
    NotActedOn {
        event: String,
    },
    UnknownEvent {
        event: String,
    },
    /// An invoice status outside the table: no change until someone looks.
    UnknownStatus {
        status: String,
    },
    /// A known status that neither grants nor revokes (pending).
    NotPaid {
        status: String,
    },
    /// This order already produced its entitlement (a later duplicate, or `order.created`
    /// after `order.completed`).
    AlreadyApplied {
        order_id: OrderId,
    },
    /// A refund/cancellation of an order that gave no access (or was already revoked).
    NothingToRevoke {
        order_id: OrderId,
    },
    /// A zero-total (trial) order by a customer who already had their trial.
    TrialAlreadyUsed {
        previous_order: OrderId,
    },
    /// A well-signed body that is not an envelope we understand.
    MalformedEnvelope {
        problem: String,
    },
    /// An event of a Sell.app store other than the one the tenant configured (a second store
    /// sharing the secret, or a misdirected webhook URL): recorded, never applied.
    OtherStore {
        store: String,
        expected: String,
    },
}

/// We would act, but something is missing; kept for a replay or the account's signup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum UnmatchedReason {
    NoPolicy {
        product_id: Option<ProductId>,
        variant_id: Option<VariantId>,
    },
    PolicyDisabled {
        policy_id: String,
    },
    /// No account has this email yet: the order is held and applied at signup.
    NoAccountYet {
        email: String,
    },
    /// The invoice names no (valid) email.
    NoEmail,
    /// `data` held only the id and the invoice could not be re-read (no API token, or the
    /// read failed): replay once it can be.
    InvoiceDetailsMissing,
    /// A cart of several products: which one grants is an operator's call.
    MultipleLines,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Ignored { .. } => "ignored",
            Outcome::Unmatched { .. } => "unmatched",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// The stable reason code shown beside the outcome (`None` for applied).
    pub fn reason_code(&self) -> Option<&'static str> {
        Some(match self {
            Outcome::Applied => return None,
            Outcome::Failed { .. } => "internal_error",
            Outcome::Ignored { reason } => match reason {
                IgnoreReason::UnpaidOrderCreated => "unpaid_order_created",
                IgnoreReason::NotActedOn { .. } => "event_not_acted_on",
                IgnoreReason::UnknownEvent { .. } => "unknown_event",
                IgnoreReason::UnknownStatus { .. } => "unknown_status",
                IgnoreReason::NotPaid { .. } => "not_paid",
                IgnoreReason::AlreadyApplied { .. } => "already_applied",
                IgnoreReason::NothingToRevoke { .. } => "nothing_to_revoke",
                IgnoreReason::TrialAlreadyUsed { .. } => "trial_already_used",
                IgnoreReason::MalformedEnvelope { .. } => "malformed_envelope",
                IgnoreReason::OtherStore { .. } => "other_store",
            },
            Outcome::Unmatched { reason } => match reason {
                UnmatchedReason::NoPolicy { .. } => "no_policy",
                UnmatchedReason::PolicyDisabled { .. } => "policy_disabled",
                UnmatchedReason::NoAccountYet { .. } => "no_account_yet",
                UnmatchedReason::NoEmail => "no_email",
                UnmatchedReason::InvoiceDetailsMissing => "invoice_details_missing",
                UnmatchedReason::MultipleLines => "multiple_lines",
            },
        })
    }

    /// Whether an operator's "replay all failed/unmatched" picks this event up.
    pub fn is_replayable(&self) -> bool {
        matches!(self, Outcome::Failed { .. } | Outcome::Unmatched { .. })
    }

    /// The HTTP status the webhook answers for a verified delivery with this outcome.
    pub fn http_status(&self) -> u16 {
        match self {
            Outcome::Failed { .. } => 503,
            _ => 200,
        }
    }

    pub fn ignored(reason: IgnoreReason) -> Outcome {
        Outcome::Ignored { reason }
    }

    pub fn unmatched(reason: UnmatchedReason) -> Outcome {
        Outcome::Unmatched { reason }
    }

    pub fn malformed(e: &EnvelopeError) -> Outcome {
        Outcome::ignored(IgnoreReason::MalformedEnvelope {
            problem: e.code().to_string(),
        })
    }

    pub(crate) fn for_event(e: &EventName) -> Option<Outcome> {
        match e {
            EventName::NotActedOn(s) => Some(Outcome::ignored(IgnoreReason::NotActedOn {
                event: s.clone(),
            })),
            EventName::Unknown(s) => Some(Outcome::ignored(IgnoreReason::UnknownEvent {
                event: s.clone(),
            })),
            _ => None,
        }
    }

    pub(crate) fn for_status(s: &InvoiceStatus) -> Outcome {
        match s {
            InvoiceStatus::Unknown(raw) => Outcome::ignored(IgnoreReason::UnknownStatus {
                status: raw.clone(),
            }),
            other => Outcome::ignored(IgnoreReason::NotPaid {
                status: other.as_str().to_string(),
            }),
        }
    }
}

/// How long an event may stay `received` before it counts as stuck (its processing died
/// between the record and the decision: an isolate killed, a deploy). Younger ones may still
/// be running, and replaying those would race them.
pub const STUCK_AFTER_MS: i64 = 5 * 60 * 1000;

/// Whether a stored event row may be replayed by an operator: failed and unmatched always, a
/// `received` one once it is stuck.
pub fn row_replayable(outcome: &str, received_at: i64, now: i64) -> bool {
    match outcome {
        "failed" | "unmatched" => true,
        "received" => now - received_at >= STUCK_AFTER_MS,
        _ => false,
    }
}

/// The tenant's configured Sell.app store against the envelope's: `Some(ignored)` when they
/// differ. No configured store accepts any (the secret alone authenticates; the console warns).
pub fn check_store(configured: Option<&str>, got: &str) -> Option<Outcome> {
    let expected = configured.map(str::trim).filter(|s| !s.is_empty())?;
    (expected != got.trim()).then(|| {
        Outcome::ignored(IgnoreReason::OtherStore {
            store: got.to_string(),
            expected: expected.to_string(),
        })
    })
}

/// The webhook's answer: a duplicate of an event already recorded is `deduped` (200, no
/// change); otherwise the outcome of the first processing.
pub fn answer_body(outcome: Option<&Outcome>) -> serde_json::Value {
    match outcome {
        None => serde_json::json!({"ok": true, "result": "deduped"}),
        Some(o) => serde_json::json!({
            "ok": !matches!(o, Outcome::Failed { .. }),
            "result": o.as_str(),
            "reason": o.reason_code(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_faults_are_5xx_and_nothing_is_4xx() {
        let all = [
            Outcome::Applied,
            Outcome::ignored(IgnoreReason::UnpaidOrderCreated),
            Outcome::ignored(IgnoreReason::UnknownEvent { event: "x".into() }),
            Outcome::unmatched(UnmatchedReason::NoEmail),
            Outcome::unmatched(UnmatchedReason::NoAccountYet {
                email: "a@b.c".into(),
            }),
            Outcome::Failed {
                error: "d1 down".into(),
            },
        ];
        for o in &all {
            let s = o.http_status();
            assert!(!(400..500).contains(&s), "{o:?}");
            assert_eq!(s >= 500, matches!(o, Outcome::Failed { .. }));
        }
        assert_eq!(answer_body(None)["result"], "deduped");
        let b = answer_body(Some(&all[1]));
        assert_eq!(
            (b["result"].as_str(), b["reason"].as_str()),
            (Some("ignored"), Some("unpaid_order_created"))
        );
        assert!(all[3].is_replayable() && all[5].is_replayable() && !all[0].is_replayable());
    }

    #[test]
    fn a_received_event_is_replayable_only_once_stuck() {
        let t0 = 1_000_000;
        assert!(row_replayable("failed", t0, t0));
        assert!(row_replayable("unmatched", t0, t0));
        assert!(!row_replayable("received", t0, t0 + STUCK_AFTER_MS - 1));
        assert!(row_replayable("received", t0, t0 + STUCK_AFTER_MS));
        assert!(!row_replayable("applied", t0, t0 + STUCK_AFTER_MS * 10));
        assert!(!row_replayable("ignored", t0, t0 + STUCK_AFTER_MS * 10));
    }

    #[test]
    fn another_store_is_ignored_with_the_reason() {
        assert_eq!(check_store(None, "4242"), None);
        assert_eq!(check_store(Some(" "), "4242"), None);
        assert_eq!(check_store(Some("4242"), "4242"), None);
        let o = check_store(Some("4242"), "999").unwrap();
        assert_eq!(o.reason_code(), Some("other_store"));
        assert_eq!(o.http_status(), 200, "well-signed: never a 4xx");
        assert!(!o.is_replayable());
    }
}
