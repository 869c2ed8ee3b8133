//! The mirror object's protocol: its paths and the types both sides decode. The tenant object
//! (handoff) and the edge (admin API, maintenance) reach it only through
//! [`super::client::MirrorClient`].

use relay_core::convergence::SignalView;
use relay_core::ids::{ChannelId, MessageId};
use relay_mirror::jobs::{ChangeKind, DeadJob, JobId};
use serde::{Deserialize, Serialize};

/// `POST` [`Deliver`] → [`Delivered`]: changes committed by the tenant object.
pub const DELIVER: &str = "/deliver";
/// `GET ?connector_id=` → [`Status`].
pub const STATUS: &str = "/status";
/// `POST` [`Requeue`] → [`Requeued`].
pub const REQUEUE: &str = "/requeue";
/// `POST` (no body): mappings or connector flags changed; reload them before the next job.
pub const INVALIDATE: &str = "/invalidate";
/// `POST` a seat change (`seats::mirror_link::SeatChange`) from the tenant's seat object.
pub const SEATS_CHANGED: &str = crate::durable_objects::seats::mirror_link::SEATS_CHANGED_PATH;
/// `GET`: held, expired and would-hold counts per customer guild and target.
pub const SEATS_HELD: &str = "/seats/held";
/// `POST` [`Maintenance`] → [`Retained`].
pub const MAINTENANCE: &str = "/maintenance";

/// One committed change of a signal, as the tenant object recorded it in its outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeIn {
    /// The tenant's `seq` of this change: strictly increasing, so a redelivery is recognised.
    pub seq: u64,
    pub connector_id: String,
    pub message_id: MessageId,
    pub kind: ChangeKind,
    pub committed_at_ms: i64,
    /// The converged view when delivered (`None`: the signal is gone from the tenant object).
    pub view: Option<SignalView>,
    /// The source thread's name, when the message is in a thread.
    #[serde(default)]
    pub thread_name: Option<String>,
    /// The connector's runtime-config version the tenant object saw (mappings changed when
    /// it moves).
    pub config_version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deliver {
    /// In `seq` order.
    pub changes: Vec<ChangeIn>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Delivered {
    /// Every change up to this `seq` is on record here.
    pub applied_through: u64,
    /// Jobs created or merged by this delivery.
    pub jobs: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Requeue {
    /// One target, or every target of the connector when `None`.
    #[serde(default)]
    pub target_channel_id: Option<ChannelId>,
    /// One dead-lettered job, or all of them when `None`.
    #[serde(default)]
    pub job_id: Option<JobId>,
    pub connector_id: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Requeued {
    pub requeued: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Maintenance {
    pub retention_days: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Retained {
    pub map_records_dropped: usize,
    pub views_dropped: usize,
}

/// A recent job or skip, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at_ms: i64,
    pub target_channel_id: String,
    pub message_id: String,
    /// `create`, `edit`, `delete`.
    pub kind: String,
    /// `synced`, `removed`, `skipped`, `not_mirrored`, `dead_lettered`, `dropped`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discord_code: Option<u32>,
    /// commit → first claim, and commit → Discord's last answer, when the job sent anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatch_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetStatus {
    pub target_channel_id: String,
    pub depth: usize,
    pub retrying: usize,
    pub next_wake_ms: Option<i64>,
    pub webhook_id: Option<String>,
    pub dead: Vec<DeadJob>,
    /// The seat gate on this target (issue 15): paused, held, expired and would-hold counts.
    #[serde(default)]
    pub seats: super::gate::TargetSeats,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50: Option<i64>,
    pub p95: Option<i64>,
    pub p99: Option<i64>,
}

/// Latency over the last hour, per event type, in two stages measured from the commit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    /// commit → the job's first claim (the handoff and the queue).
    pub dispatch: std::collections::BTreeMap<String, Percentiles>,
    /// commit → Discord's answer to the job's last call.
    pub discord_answer: std::collections::BTreeMap<String, Percentiles>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub applied_through: u64,
    pub targets: Vec<TargetStatus>,
    pub recent: Vec<HistoryEntry>,
    pub skipped: Vec<HistoryEntry>,
    pub latency: Latency,
}
