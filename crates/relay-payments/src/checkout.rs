//! The two ends of a purchase the shop shows: the link that opens Sell.app's checkout for the
//! signed-in customer, and the state the checkout-return page shows while the webhook lands.

use crate::email::NormalizedEmail;
use crate::envelope::InvoiceStatus;
use crate::outcome::{IgnoreReason, Outcome, UnmatchedReason};
use serde::Serialize;

/// The option's checkout URL with the customer's email prefilled (and where to come back).
/// The parameter names are the fake's; Sell.app's own prefill parameter is not confirmed
/// (see the facts file) — this is the one place to change if it differs.
pub fn checkout_link(
    checkout_url: &str,
    email: &NormalizedEmail,
    return_url: Option<&str>,
) -> String {
    let (base, fragment) = match checkout_url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (checkout_url, None),
    };
    let mut out = base.to_string();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (k, v) in [("email", Some(email.as_str())), ("return_url", return_url)] {
        if let Some(v) = v {
            out.push(sep);
            out.push_str(k);
            out.push('=');
            out.push_str(&percent_encode(v));
            sep = '&';
        }
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What the checkout-return page shows for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CheckoutState {
    /// Nothing decided yet (no webhook, or only the unpaid `order.created`, or a fault of ours
    /// that Sell.app's redelivery will retry).
    Pending,
    Active,
    /// Paid with an email that has no account: it applies when that account signs up.
    Held {
        email: String,
    },
    /// Paid, but an operator has to act (no policy, a disabled one, a cart…).
    NeedsOperator {
        reason: &'static str,
    },
    Failed {
        reason: String,
    },
}

/// From what we know of the order: whether its entitlement is active now, the invoice's last
/// known status, and the outcomes of its events in the order they were recorded.
pub fn checkout_state(
    entitlement_active: bool,
    status: Option<&InvoiceStatus>,
    outcomes: &[Outcome],
) -> CheckoutState {
    if entitlement_active {
        return CheckoutState::Active;
    }
    if let Some(s) = status.filter(|s| s.revokes()) {
        return CheckoutState::Failed {
            reason: s.as_str().to_string(),
        };
    }
    // The latest decisive outcome wins: a replay that applied supersedes an earlier unmatched.
    for o in outcomes.iter().rev() {
        match o {
            Outcome::Applied => return CheckoutState::Active,
            Outcome::Ignored {
                reason: IgnoreReason::TrialAlreadyUsed { .. },
            } => {
                return CheckoutState::Failed {
                    reason: "trial_already_used".into(),
                }
            }
            Outcome::Unmatched {
                reason: UnmatchedReason::NoAccountYet { email },
            } => {
                return CheckoutState::Held {
                    email: email.clone(),
                }
            }
            Outcome::Unmatched { .. } => {
                return CheckoutState::NeedsOperator {
                    reason: o.reason_code().unwrap_or("unmatched"),
                }
            }
            Outcome::Ignored { .. } | Outcome::Failed { .. } => continue,
        }
    }
    CheckoutState::Pending
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::OrderId;

    #[test]
    fn links_prefill_the_email() {
        let e = NormalizedEmail::parse("a.b+shop@x.io").unwrap();
        assert_eq!(
            checkout_link("https://shop.sell.app/product/premium", &e, None),
            "https://shop.sell.app/product/premium?email=a.b%2Bshop%40x.io"
        );
        assert_eq!(
            checkout_link("https://s/p?variant=2#buy", &e, Some("https://relay/t/demo/return?o=1")),
            "https://s/p?variant=2&email=a.b%2Bshop%40x.io&return_url=https%3A%2F%2Frelay%2Ft%2Fdemo%2Freturn%3Fo%3D1#buy"
        );
    }

    #[test]
    fn return_page_states() {
        let o = || OrderId::new("1").unwrap();
        let unpaid = Outcome::ignored(IgnoreReason::UnpaidOrderCreated);
        let failed = Outcome::Failed { error: "d1".into() };
        assert_eq!(checkout_state(false, None, &[]), CheckoutState::Pending);
        assert_eq!(
            checkout_state(false, None, &[unpaid.clone(), failed]),
            CheckoutState::Pending
        );
        assert_eq!(
            checkout_state(true, None, std::slice::from_ref(&unpaid)),
            CheckoutState::Active
        );
        assert_eq!(
            checkout_state(
                false,
                None,
                &[
                    unpaid.clone(),
                    Outcome::unmatched(UnmatchedReason::NoPolicy {
                        product_id: None,
                        variant_id: None
                    })
                ]
            ),
            CheckoutState::NeedsOperator {
                reason: "no_policy"
            }
        );
        assert_eq!(
            checkout_state(
                false,
                None,
                &[Outcome::unmatched(UnmatchedReason::NoAccountYet {
                    email: "a@x.io".into()
                })]
            ),
            CheckoutState::Held {
                email: "a@x.io".into()
            }
        );
        assert_eq!(
            checkout_state(
                false,
                None,
                &[Outcome::ignored(IgnoreReason::TrialAlreadyUsed {
                    previous_order: o()
                })]
            ),
            CheckoutState::Failed {
                reason: "trial_already_used".into()
            }
        );
        // Applied, then refunded and revoked: the page no longer says active.
        assert_eq!(
            checkout_state(false, Some(&InvoiceStatus::Refunded), &[Outcome::Applied]),
            CheckoutState::Failed {
                reason: "refunded".into()
            }
        );
        // A replay that applied after an unmatched.
        assert_eq!(
            checkout_state(
                false,
                None,
                &[
                    Outcome::unmatched(UnmatchedReason::NoEmail),
                    Outcome::Applied
                ]
            ),
            CheckoutState::Active
        );
    }
}
