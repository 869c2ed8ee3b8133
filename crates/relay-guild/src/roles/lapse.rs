//! A customer's standing at a moment, from their entitlement history: entitled to a tier (maybe
//! in grace), lapsed (since when, why), or never entitled. A pure function of (history, now,
//! settings), so the reconciler can run it at any time and also learn when it next changes.
//!
//! An entitlement that ended by non-payment (not renewed, a failed renewal) keeps counting for
//! `grace_days` after its end — the predecessor revoked on any non-active status at once. A
//! dispute or an operator's revocation ends it at its end time, with no grace.

use serde::{Deserialize, Serialize};

use relay_core::time::DAY_MS;

use super::desired::TierId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndCause {
    /// The paid period ran out or a renewal failed. Grace applies.
    NonPayment,
    /// A chargeback / dispute. Immediate.
    Dispute,
    /// An operator revoked it. Immediate.
    OperatorRevoked,
}

impl EndCause {
    pub fn as_str(self) -> &'static str {
        match self {
            EndCause::NonPayment => "non-payment",
            EndCause::Dispute => "dispute",
            EndCause::OperatorRevoked => "revoked by an operator",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    pub tier: TierId,
    pub starts_at_ms: i64,
    /// `None`: open-ended (lifetime, or a subscription with no end known yet).
    pub ends_at_ms: Option<i64>,
    /// Why it ends at `ends_at_ms`; `None` with an end means the period simply ran out, which
    /// is non-payment.
    pub end_cause: Option<EndCause>,
}

impl Entitlement {
    /// From a stored record: a window, and — when it was revoked — when and why. A revocation
    /// ends it at that moment (never later than its window's end) with no grace; a window that
    /// simply runs out is non-payment.
    pub fn from_record(
        tier: TierId,
        starts_at_ms: i64,
        ends_at_ms: i64,
        revoked: Option<(i64, EndCause)>,
    ) -> Self {
        match revoked {
            Some((at, cause)) => Entitlement {
                tier,
                starts_at_ms,
                ends_at_ms: Some(ends_at_ms.min(at)),
                end_cause: Some(cause),
            },
            None => Entitlement {
                tier,
                starts_at_ms,
                ends_at_ms: Some(ends_at_ms),
                end_cause: None,
            },
        }
    }

    fn cause(&self) -> EndCause {
        self.end_cause.unwrap_or(EndCause::NonPayment)
    }

    /// When it stops counting: its end, plus the grace period for non-payment.
    fn effective_end(&self, grace_ms: i64) -> Option<i64> {
        let end = self.ends_at_ms?;
        Some(match self.cause() {
            EndCause::NonPayment => end.saturating_add(grace_ms),
            EndCause::Dispute | EndCause::OperatorRevoked => end,
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LapseAction {
    #[default]
    RemoveRoles,
    Kick,
    Nothing,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LapseSettings {
    pub action: LapseAction,
    pub grace_days: u32,
}

impl LapseSettings {
    pub fn grace_ms(&self) -> i64 {
        i64::from(self.grace_days) * DAY_MS
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Standing {
    Entitled {
        tier: TierId,
        /// Set while the entitlement that decides is past its end, in grace until then.
        grace_until_ms: Option<i64>,
    },
    Lapsed {
        since_ms: i64,
        cause: EndCause,
    },
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub standing: Standing,
    /// The next time the standing can change without new input (a start, an end, a grace
    /// running out): the reconciler re-evaluates then.
    pub next_change_at_ms: Option<i64>,
}

/// `rank` orders tiers (higher wins when several entitlements are active at once: an upgrade
/// bought before the old tier ran out swaps roles instead of adding them). Ties go to the
/// entitlement that started last.
pub fn evaluate(
    history: &[Entitlement],
    now_ms: i64,
    settings: &LapseSettings,
    rank: impl Fn(&TierId) -> i64,
) -> Evaluation {
    let grace = settings.grace_ms();
    let active = history
        .iter()
        .filter(|e| {
            e.starts_at_ms <= now_ms && e.effective_end(grace).is_none_or(|end| now_ms < end)
        })
        .max_by_key(|e| (rank(&e.tier), e.starts_at_ms));

    let next_change_at_ms = history
        .iter()
        .flat_map(|e| [Some(e.starts_at_ms), e.effective_end(grace)])
        .flatten()
        .filter(|t| *t > now_ms)
        .min();

    let standing = if let Some(e) = active {
        Standing::Entitled {
            tier: e.tier.clone(),
            grace_until_ms: e
                .ends_at_ms
                .filter(|end| *end <= now_ms)
                .and_then(|_| e.effective_end(grace)),
        }
    } else {
        // The lapse began when the last entitlement stopped counting.
        let ended = history
            .iter()
            .filter(|e| e.starts_at_ms <= now_ms)
            .filter_map(|e| e.effective_end(grace).map(|end| (end, e.cause())))
            .max_by_key(|(end, _)| *end);
        match ended {
            Some((since_ms, cause)) => Standing::Lapsed { since_ms, cause },
            None => Standing::Never,
        }
    };
    Evaluation {
        standing,
        next_change_at_ms,
    }
}

#[cfg(test)]
mod record_tests {
    use super::*;

    const DAY: i64 = DAY_MS;

    fn settings(grace_days: u32) -> LapseSettings {
        LapseSettings {
            action: LapseAction::RemoveRoles,
            grace_days,
        }
    }

    #[test]
    fn a_revoked_record_lapses_at_the_revocation_without_grace_and_an_expired_one_after_grace() {
        let tier = TierId::new("basic");
        let revoked = Entitlement::from_record(
            tier.clone(),
            0,
            30 * DAY,
            Some((5 * DAY, EndCause::Dispute)),
        );
        let ev = evaluate(&[revoked], 5 * DAY + 1, &settings(3), |_| 1);
        assert_eq!(
            ev.standing,
            Standing::Lapsed {
                since_ms: 5 * DAY,
                cause: EndCause::Dispute
            }
        );
        let expired = Entitlement::from_record(tier.clone(), 0, 30 * DAY, None);
        let in_grace = evaluate(
            std::slice::from_ref(&expired),
            31 * DAY,
            &settings(3),
            |_| 1,
        );
        assert_eq!(
            in_grace.standing,
            Standing::Entitled {
                tier: tier.clone(),
                grace_until_ms: Some(33 * DAY)
            }
        );
        assert_eq!(in_grace.next_change_at_ms, Some(33 * DAY));
        let after = evaluate(&[expired], 33 * DAY, &settings(3), |_| 1);
        assert!(matches!(
            after.standing,
            Standing::Lapsed {
                cause: EndCause::NonPayment,
                ..
            }
        ));
        // A revocation after the window's end changes nothing about when it ended.
        let late =
            Entitlement::from_record(tier, 0, DAY, Some((9 * DAY, EndCause::OperatorRevoked)));
        assert_eq!(late.ends_at_ms, Some(DAY));
    }
}
