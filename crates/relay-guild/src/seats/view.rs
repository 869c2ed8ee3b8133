//! What the mirror dispatcher reads for one guild to run [`gate()`](super::gate()): the
//! configured mode, the kill switch, the limit and the snapshot, with the windows that judge
//! it. The seat object hands this out (and pushes it on changes); the dispatcher keeps its
//! copy and decides locally, never waiting for an audit.

use serde::{Deserialize, Serialize};
use twilight_model::id::marker::GuildMarker;
use twilight_model::id::Id;

use super::gate::{gate, GateDecision, GateInput, GateState, Mode};
use super::held::HoldPolicy;
use super::snapshot::{FreshnessPolicy, Snapshot, SnapshotView};

/// The deployment's seat windows (configurable in `[vars]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatPolicy {
    pub freshness: FreshnessPolicy,
    pub hold: HoldPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateView {
    pub guild_id: Id<GuildMarker>,
    /// `false`: the tenant has no seat config for this guild (mode `off`: the gate sends).
    pub configured: bool,
    /// The configured mode; [`effective_mode`](Self::effective_mode) applies the kill switch.
    pub mode: Mode,
    pub kill_switch: bool,
    pub limit: u64,
    pub snapshot: Option<Snapshot>,
    pub policy: SeatPolicy,
}

impl GateView {
    /// A guild with no seat config.
    pub fn unconfigured(guild_id: Id<GuildMarker>, kill_switch: bool, policy: SeatPolicy) -> Self {
        GateView {
            guild_id,
            configured: false,
            mode: Mode::Off,
            kill_switch,
            limit: 0,
            snapshot: None,
            policy,
        }
    }

    pub fn effective_mode(&self) -> Mode {
        self.mode.effective(self.kill_switch)
    }

    /// The gate's input, for [`gate()`](super::gate()).
    pub fn input(&self, now_ms: i64) -> GateInput<'_> {
        GateInput {
            mode: self.mode,
            kill_switch: self.kill_switch,
            limit: self.limit,
            snapshot: self.snapshot.as_ref(),
            now_ms,
            policy: self.policy.freshness,
        }
    }

    /// The gate's decision now.
    pub fn decide(&self, now_ms: i64) -> GateDecision {
        gate(self.input(now_ms))
    }

    /// The row of the gate's table the guild is in now.
    pub fn state(&self, now_ms: i64) -> GateState {
        super::gate::gate_state(
            self.effective_mode(),
            self.snapshot.as_ref(),
            self.limit,
            now_ms,
            &self.policy.freshness,
        )
    }

    /// The snapshot as operators read it.
    pub fn snapshot_view(&self, now_ms: i64) -> SnapshotView {
        self.snapshot
            .clone()
            .unwrap_or_default()
            .view(self.limit, now_ms, &self.policy.freshness)
    }
}
