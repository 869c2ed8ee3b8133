//! The gate at mirror dispatch. It reads the snapshot and decides at once; the send path never
//! waits for an audit — "audit now" is a request to the auditor, not a wait.
//!
//! | state                            | enforce          | shadow                    |
//! |----------------------------------|------------------|---------------------------|
//! | mode off                         | send             | —                         |
//! | no snapshot yet                  | hold, audit now  | send, audit now           |
//! | over the limit (fresh or stale)  | hold             | send, record "would hold" |
//! | stale and under                  | send, audit now  | send                      |
//! | fresh and under                  | send             | send                      |
//!
//! A count that has expired, or an upper bound above the limit, is not usable: that is "no
//! snapshot yet". A stale count under the limit sends — blocking on staleness is what
//! deadlocked the predecessor.

use serde::{Deserialize, Serialize};

use super::snapshot::{Freshness, FreshnessPolicy, Snapshot, Verdict};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Existing guilds start here: no audits, no gate.
    #[default]
    Off,
    /// Audit and report what would be held; hold nothing.
    Shadow,
    Enforce,
}

impl Mode {
    /// The global kill switch turns every enforcing guild to shadow at once (and leaves `off`
    /// alone: it must not start audits).
    pub fn effective(self, kill_switch: bool) -> Mode {
        match (self, kill_switch) {
            (Mode::Enforce, true) => Mode::Shadow,
            (m, _) => m,
        }
    }
}

/// The rows of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateState {
    Off,
    NoSnapshot,
    Over,
    StaleUnder,
    FreshUnder,
}

pub fn gate_state(
    mode: Mode,
    snapshot: Option<&Snapshot>,
    limit: u64,
    now_ms: i64,
    policy: &FreshnessPolicy,
) -> GateState {
    if mode == Mode::Off {
        return GateState::Off;
    }
    match snapshot.and_then(|s| s.usable(limit, now_ms, policy)) {
        None | Some((_, Freshness::Expired)) | Some((Verdict::Unknown, _)) => GateState::NoSnapshot,
        Some((Verdict::Over, _)) => GateState::Over,
        Some((Verdict::Under, Freshness::Stale)) => GateState::StaleUnder,
        Some((Verdict::Under, Freshness::Fresh)) => GateState::FreshUnder,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateDecision {
    /// Deliver now (`false`: hold).
    pub deliver: bool,
    /// Ask the auditor for an audit now (it dedupes).
    pub audit_now: bool,
    /// Shadow mode: record that enforce would have held this job.
    pub would_hold: bool,
}

const SEND: GateDecision = GateDecision {
    deliver: true,
    audit_now: false,
    would_hold: false,
};

/// The table, for an effective mode (see [`Mode::effective`]).
pub fn decide(mode: Mode, state: GateState) -> GateDecision {
    match (mode, state) {
        (Mode::Off, _) | (_, GateState::Off) => SEND,
        (Mode::Enforce, GateState::NoSnapshot) => GateDecision {
            deliver: false,
            audit_now: true,
            would_hold: false,
        },
        (Mode::Shadow, GateState::NoSnapshot) => GateDecision {
            audit_now: true,
            ..SEND
        },
        (Mode::Enforce, GateState::Over) => GateDecision {
            deliver: false,
            audit_now: false,
            would_hold: false,
        },
        (Mode::Shadow, GateState::Over) => GateDecision {
            would_hold: true,
            ..SEND
        },
        (Mode::Enforce, GateState::StaleUnder) => GateDecision {
            audit_now: true,
            ..SEND
        },
        (Mode::Shadow, GateState::StaleUnder) => SEND,
        (_, GateState::FreshUnder) => SEND,
    }
}

/// Everything the gate reads for one guild.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    pub mode: Mode,
    pub kill_switch: bool,
    pub limit: u64,
    pub snapshot: Option<&'a Snapshot>,
    pub now_ms: i64,
    pub policy: FreshnessPolicy,
}

/// The gate in one call: effective mode, row, decision.
pub fn gate(input: GateInput<'_>) -> GateDecision {
    let mode = input.mode.effective(input.kill_switch);
    decide(
        mode,
        gate_state(
            mode,
            input.snapshot,
            input.limit,
            input.now_ms,
            &input.policy,
        ),
    )
}
