//! `X-Audit-Log-Reason` for every change: which customer, and why. Discord caps the header at
//! 512 characters and it travels percent-encoded, so the reason is cut until its *encoded* form
//! fits (an emoji in a display name is 12 encoded characters); the customer's name is cut
//! before the reason, the customer id never.

use relay_discord::requests::{percent_encode, AuditReason};

use super::desired::TierId;
use super::lapse::EndCause;

/// Why a change is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeReason {
    /// Granting a tier's role (purchase, upgrade, re-grant after drift or a rejoin).
    Entitled { tier: TierId },
    /// Removing a role of a tier the customer no longer has (upgrade or downgrade).
    TierChanged { tier: TierId },
    /// The entitlement lapsed (grace over, dispute, revocation).
    Lapsed { cause: EndCause },
    /// No entitlement at all.
    NotEntitled,
    /// The customer unlinked this Discord account.
    Unlinked,
    /// The customer linked another Discord account; roles move there.
    Relinked,
}

impl ChangeReason {
    pub fn describe(&self) -> String {
        match self {
            ChangeReason::Entitled { tier } => format!("entitled to tier {}", tier.0),
            ChangeReason::TierChanged { tier } => format!("tier changed to {}", tier.0),
            ChangeReason::Lapsed { cause } => format!("entitlement ended ({})", cause.as_str()),
            ChangeReason::NotEntitled => "no active entitlement".to_string(),
            ChangeReason::Unlinked => "Discord account unlinked".to_string(),
            ChangeReason::Relinked => "another Discord account was linked".to_string(),
        }
    }
}

/// Encoded length budget.
const MAX_ENCODED: usize = AuditReason::MAX_CHARS;

fn encoded_len(s: &str) -> usize {
    percent_encode(s).len()
}

fn cut_to(s: &str, budget: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for ch in s.chars() {
        let mut buf = [0u8; 4];
        let n = encoded_len(ch.encode_utf8(&mut buf));
        if used + n > budget {
            break;
        }
        used += n;
        out.push(ch);
    }
    out
}

/// `Signal Relay: customer <name> (<id>): <why>`, fitted to 512 encoded characters.
pub fn audit_reason(customer_name: &str, customer_id: &str, why: &ChangeReason) -> AuditReason {
    let why = why.describe();
    let name: String = customer_name.chars().filter(|c| !c.is_control()).collect();
    let head = "Signal Relay: customer ";
    let id_part = format!(" ({customer_id}): ");
    let fixed = encoded_len(head) + encoded_len(&id_part);
    let why_len = encoded_len(&why);
    let name_budget = MAX_ENCODED.saturating_sub(fixed + why_len.min(MAX_ENCODED / 2));
    let name = cut_to(&name, name_budget);
    let why = cut_to(&why, MAX_ENCODED.saturating_sub(fixed + encoded_len(&name)));
    let mut text = format!("{head}{name}{id_part}{why}");
    if encoded_len(&text) > MAX_ENCODED {
        // Only an absurd customer id gets here; the id is then cut too.
        text = cut_to(&text, MAX_ENCODED);
    }
    AuditReason::new(text.trim_end().to_string()).unwrap_or_else(|_| {
        AuditReason::new("Signal Relay role sync").expect("static reason is valid")
    })
}
