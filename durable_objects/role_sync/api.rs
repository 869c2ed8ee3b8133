//! The RoleSync object's protocol: paths and bodies both sides decode. Callers reach it only
//! through [`super::client::RoleSyncClient`].

use serde::{Deserialize, Serialize};

/// `POST` [`SyncBody`]: reconcile these Discord users now (link, unlink, relink, an
/// entitlement change, an operator's "resync now").
pub const SYNC: &str = "/sync";
/// `POST` [`PassBody`]: start a drift pass over a guild's member list now (`guild_id: None`:
/// every mapped guild).
pub const PASS: &str = "/pass";
/// `POST` [`TenantBody`]: the settings or mappings changed: every linked user is queued and
/// the drift cadence re-read.
pub const RECONFIGURED: &str = "/reconfigured";
/// `GET`: [`Status`].
pub const STATUS: &str = "/status";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncBody {
    pub tenant: String,
    /// Discord user ids; earlier ones are reconciled first (a relink lists the new account
    /// before the old one, so the customer is never left with neither).
    pub users: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PassBody {
    pub tenant: String,
    pub guild_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantBody {
    pub tenant: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    /// Users waiting to be reconciled now (due), and later (a grace period or an
    /// entitlement's end).
    pub queued_due: i64,
    pub queued_later: i64,
    pub next_due_at_ms: Option<i64>,
    /// Guilds whose member list is being walked.
    pub passes_running: Vec<String>,
    pub next_pass_at_ms: Option<i64>,
    pub last_pass_finished_at_ms: Option<i64>,
    pub last_error: Option<String>,
}
