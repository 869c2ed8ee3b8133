//! The catalog object's protocol: its paths and the types both sides decode. Callers reach it
//! only through [`super::client::CatalogClient`].

use relay_catalog::refresh::GuildFailure;
use relay_catalog::Progress;
use serde::{Deserialize, Serialize};

/// `POST` [`StartBody`]: start a refresh now, or once more after the running one. Answers
/// [`Status`].
pub const START: &str = "/start";
/// `GET`: [`Status`].
pub const STATUS: &str = "/status";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartBody {
    /// Who asked: `cron` or `admin`.
    pub reason: String,
}

/// What went wrong last, with the call it happened on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunError {
    pub error_code: String,
    pub message: String,
    pub at_ms: i64,
    /// The step, e.g. `GET /guilds/{guild_id}/channels`.
    pub call: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub channels_written: usize,
    pub channels_deactivated: usize,
    pub roles_written: usize,
    pub roles_deactivated: usize,
    pub guilds_deactivated: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub reason: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    /// `completed`, or `failed` (see `last_error`).
    pub outcome: String,
    pub guilds: usize,
    pub guilds_failed: Vec<GuildFailure>,
    /// Discord calls made (retries included).
    pub calls: u32,
    /// Times the run waited for the gate ("not before"), and for how long in all.
    #[serde(default)]
    pub waits: u32,
    #[serde(default)]
    pub waited_ms: i64,
    /// Steps retried after a transient failure (5xx, timeout, storage).
    #[serde(default)]
    pub retries: u32,
    pub written: Written,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// `idle`, `running` (working through calls), `waiting` (until `next_at_ms`: a rate
    /// limit, a retry after a fault, a ban) or `paused` (the bot token was refused: an
    /// operator must act, then ask for a refresh).
    pub state: String,
    pub reason: Option<String>,
    pub next_at_ms: Option<i64>,
    pub wait_reason: Option<String>,
    /// Another refresh was asked for while this one runs; it starts when this one ends.
    pub again: bool,
    pub progress: Option<Progress>,
    /// Retries of the current step so far.
    pub attempt: u32,
    pub last_error: Option<RunError>,
    pub last_run: Option<RunSummary>,
    pub runs_completed: u64,
}
