//! The seat object's protocol: its paths and the types both sides decode. Callers reach it
//! only through [`super::client::SeatClient`]. Every request names its tenant in
//! [`TENANT_HEADER`] (the object keeps it for its alarms).

use relay_guild::seats::{GateState, Mode, SeatConfig, SnapshotView};
use serde::{Deserialize, Serialize};

pub const TENANT_HEADER: &str = "x-seat-tenant";

/// `POST` [`ConfigureBody`]: a guild's config changed (or was removed). Answers
/// [`GuildStatus`] (or `null` for a removed guild).
pub const CONFIGURE: &str = "/configure";
/// `POST` [`KillSwitchBody`]: the global kill switch changed. Answers [`TenantStatus`].
pub const KILL_SWITCH: &str = "/kill-switch";
/// `POST` [`RefreshBody`]: audit a guild now. Answers [`RefreshAnswer`].
pub const REFRESH: &str = "/refresh";
/// `GET ?guild_id=`: [`GateView`], what the mirror dispatcher's gate reads.
pub const GATE_VIEW: &str = "/gate-view";
/// `GET`: [`TenantStatus`].
pub const STATUS: &str = "/status";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigureBody {
    pub guild_id: String,
    /// `None`: the config was removed (the guild is forgotten and never audited again).
    pub config: Option<SeatConfig>,
    /// The kill switch as D1 has it, so a fresh object starts with the right value.
    pub kill_switch: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KillSwitchBody {
    pub engaged: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshBody {
    pub guild_id: String,
    /// `admin` (refresh now) or `gate` (the dispatcher's "audit now").
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshAnswer {
    /// `false`: nothing was scheduled (the guild is in mode `off` or not configured).
    pub scheduled: bool,
    pub guild: Option<GuildStatus>,
}

/// One guild as operators see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GuildStatus {
    pub guild_id: String,
    pub limit: u64,
    pub mode: Mode,
    /// With the kill switch applied.
    pub effective_mode: Mode,
    pub config: SeatConfig,
    pub snapshot: SnapshotView,
    /// The gate's row now (`off`, `no_snapshot`, `over`, `stale_under`, `fresh_under`).
    pub gate: GateState,
    /// Shadow mode over the limit: enforce would hold this guild's jobs.
    pub would_hold: bool,
    /// When the next audit is planned; `None`: never (mode off).
    pub next_check_at_ms: Option<i64>,
    /// `idle`, `auditing` or `waiting` (a rate limit or retry until `next_check_at_ms`).
    pub state: String,
    pub last_attempt_at_ms: Option<i64>,
    pub consecutive_failures: u32,
    /// Target channels holding the notice of the current over-limit episode.
    pub notice_channels: Vec<String>,
    pub notices_posted_total: u64,
    pub audits: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantStatus {
    pub tenant_key: Option<String>,
    pub kill_switch: bool,
    /// The object's alarm; `None` when nothing is planned.
    pub alarm_at_ms: Option<i64>,
    pub guilds: Vec<GuildStatus>,
    /// What the last "tell the mirror dispatcher" attempt came to (`delivered`, `not_wired`
    /// without a tenant key, `failed: …`; see `mirror_link`).
    pub mirror_link: Option<String>,
}
