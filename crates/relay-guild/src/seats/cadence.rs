//! When the next audit runs. The auditor sets its alarm to the earliest answer over its guilds;
//! a guild in mode `off` or removed has none, so nothing re-queues itself for ever.

use serde::{Deserialize, Serialize};

use super::gate::Mode;
use super::snapshot::{verdict, Snapshot, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadencePolicy {
    pub interval_ms: i64,
    /// While over the limit, so a guild that fixed itself resumes quickly.
    pub over_interval_ms: i64,
    /// Failed audits back off (doubling) up to this, so a guild whose member list is refused
    /// does not spend the invalid-request budget every minute.
    pub max_backoff_ms: i64,
}

impl Default for CadencePolicy {
    fn default() -> Self {
        CadencePolicy {
            interval_ms: 60_000,
            over_interval_ms: 30_000,
            max_backoff_ms: 600_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct CadenceInput<'a> {
    /// The configured mode (the kill switch keeps audits running: shadow still audits).
    pub mode: Mode,
    /// The guild's config (or the bot's membership) is gone.
    pub removed: bool,
    pub limit: u64,
    pub snapshot: Option<&'a Snapshot>,
    /// A config change, an operator's "refresh now" or the gate's "audit now" not yet served.
    pub triggered: bool,
    /// An audit is part-way through the member list.
    pub in_progress: bool,
    pub now_ms: i64,
}

/// `None`: no audit is due, ever, until something triggers one.
pub fn next_audit(input: CadenceInput<'_>, policy: &CadencePolicy) -> Option<i64> {
    if input.removed || input.mode == Mode::Off {
        return None;
    }
    if input.triggered || input.in_progress {
        return Some(input.now_ms);
    }
    let Some(snapshot) = input.snapshot else {
        return Some(input.now_ms);
    };
    let Some(last) = snapshot.last_attempt_at_ms else {
        return Some(input.now_ms);
    };
    let over = snapshot
        .count
        .is_some_and(|c| verdict(c, input.limit) != Verdict::Under);
    let base = if over {
        policy.over_interval_ms
    } else {
        policy.interval_ms
    };
    let interval = match snapshot.consecutive_failures {
        0 => base,
        n => base
            .saturating_mul(1_i64 << (n - 1).min(20))
            .min(policy.max_backoff_ms.max(base)),
    };
    Some(last.saturating_add(interval))
}
