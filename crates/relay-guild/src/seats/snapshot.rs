//! The per-guild seat snapshot the gate reads: the last good count, when it was taken, and the
//! last error. A failed audit never overwrites a good count with zero — it records the error
//! beside the count it could not refresh, and the count ages to "expired" on its own.

use serde::{Deserialize, Serialize};

use super::audit::SeatCount;
use crate::error::GuildError;

/// How old a count may be and still decide. Defaults: fresh ≤ 90 s, stale ≤ 5 min.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshnessPolicy {
    pub fresh_ms: i64,
    pub stale_ms: i64,
}

impl Default for FreshnessPolicy {
    fn default() -> Self {
        FreshnessPolicy {
            fresh_ms: 90_000,
            stale_ms: 300_000,
        }
    }
}

impl FreshnessPolicy {
    /// Refuses a window that is negative or a stale window shorter than the fresh one.
    pub fn new(fresh_ms: i64, stale_ms: i64) -> Result<Self, &'static str> {
        if fresh_ms < 0 || stale_ms < 0 {
            return Err("freshness windows must not be negative");
        }
        if stale_ms < fresh_ms {
            return Err("the stale window must be at least the fresh window");
        }
        Ok(FreshnessPolicy { fresh_ms, stale_ms })
    }

    pub fn classify(&self, checked_at_ms: i64, now_ms: i64) -> Freshness {
        // A clock that went backwards makes a count look young; it is still the newest we have.
        let age = now_ms.saturating_sub(checked_at_ms).max(0);
        if age <= self.fresh_ms {
            Freshness::Fresh
        } else if age <= self.stale_ms {
            Freshness::Stale
        } else {
            Freshness::Expired
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    Fresh,
    Stale,
    Expired,
}

/// A count compared with a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Under,
    Over,
    /// An upper bound above the limit (the limit was lowered after a short-cut audit): only a
    /// full count can tell.
    Unknown,
}

/// Over the limit means more seats than the limit: a guild at exactly its limit is fine.
pub fn verdict(count: SeatCount, limit: u64) -> Verdict {
    match (count.exact, count.value <= limit) {
        (_, true) => Verdict::Under,
        (true, false) => Verdict::Over,
        (false, false) => Verdict::Unknown,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last successful count.
    pub count: Option<SeatCount>,
    /// The limit when that count was taken (the gate compares with the current limit).
    pub limit_at_count: Option<u64>,
    /// When the last successful count started.
    pub checked_at_ms: Option<i64>,
    /// When the last audit (successful or not) finished.
    pub last_attempt_at_ms: Option<i64>,
    /// Why the last audit failed; cleared by a success.
    pub last_error: Option<GuildError>,
    pub consecutive_failures: u32,
}

impl Snapshot {
    pub fn record_count(&mut self, count: SeatCount, limit: u64, started_at_ms: i64, now_ms: i64) {
        self.count = Some(count);
        self.limit_at_count = Some(limit);
        self.checked_at_ms = Some(started_at_ms);
        self.last_attempt_at_ms = Some(now_ms);
        self.last_error = None;
        self.consecutive_failures = 0;
    }

    pub fn record_error(&mut self, error: GuildError, now_ms: i64) {
        self.last_attempt_at_ms = Some(now_ms);
        self.last_error = Some(error);
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
    }

    /// The count and its age, when there is one that may still decide.
    pub fn usable(
        &self,
        limit: u64,
        now_ms: i64,
        policy: &FreshnessPolicy,
    ) -> Option<(Verdict, Freshness)> {
        let count = self.count?;
        let freshness = policy.classify(self.checked_at_ms?, now_ms);
        Some((verdict(count, limit), freshness))
    }

    /// What the console shows.
    pub fn view(&self, limit: u64, now_ms: i64, policy: &FreshnessPolicy) -> SnapshotView {
        let status = match self.checked_at_ms {
            Some(at) if self.count.is_some() => Some(policy.classify(at, now_ms)),
            _ => None,
        };
        SnapshotView {
            seats_used: self.count.map(|c| c.value),
            seats_exact: self.count.map(|c| c.exact),
            limit,
            over_limit: self.count.map(|c| verdict(c, limit) == Verdict::Over),
            checked_at_ms: self.checked_at_ms,
            status,
            last_error: self.last_error.clone(),
        }
    }
}

/// The snapshot as operators read it. `status: None` means no count yet; `over_limit: None`
/// means unknown — neither is ever shown as zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotView {
    pub seats_used: Option<u64>,
    /// `false`: `seats_used` is an upper bound (approximate member count).
    pub seats_exact: Option<bool>,
    pub limit: u64,
    pub over_limit: Option<bool>,
    pub checked_at_ms: Option<i64>,
    pub status: Option<Freshness>,
    pub last_error: Option<GuildError>,
}
