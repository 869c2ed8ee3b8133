//! Seat enforcement (issue 15): counting seats, the snapshot, the gate at mirror dispatch, the
//! audit cadence, held jobs and the over-limit notice. See the crate docs for how the runtime
//! drives these.

pub mod audit;
pub mod cadence;
pub mod gate;
pub mod held;
pub mod notice;
pub mod run;
pub mod snapshot;
pub mod view;

pub use audit::{plan_audit, AuditPlan, Progress, SeatAudit, SeatCount};
pub use cadence::{next_audit, CadenceInput, CadencePolicy};
pub use gate::{decide, gate, gate_state, GateDecision, GateInput, GateState, Mode};
pub use held::{Held, HeldQueue, HoldPolicy, Released, EXPIRED_WHILE_PAUSED};
pub use notice::{notice_text, NoticeState};
pub use run::{Call, Failure, Finished, GuildSeats, SeatConfig, Stage, StepCx};
pub use snapshot::{verdict, Freshness, FreshnessPolicy, Snapshot, SnapshotView, Verdict};
pub use view::{GateView, SeatPolicy};
