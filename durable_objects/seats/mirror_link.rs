//! The seat object → mirror dispatcher link: when a guild's snapshot changes (an audit
//! finished, a config or the kill switch changed), the dispatcher must learn of it — above
//! all when the guild comes back under its limit, so its held jobs are released in order
//! without waiting for the next signal.
//!
//! The contract (for the mirror object, binding `MIRROR`): `POST /seats/changed` with a
//! [`SeatChange`] body on the tenant's mirror object; it replaces its copy of the guild's
//! [`GateView`] and, when `back_under`, runs `HeldQueue::release`. The mirror runtime is built
//! in another branch, so here the link reports [`MirrorLink::NotWired`] — the lead wires
//! [`snapshot_changed`] at merge (the only function to change) and nothing pretends a
//! delivery happened.

use relay_guild::seats::GateView;
use serde::{Deserialize, Serialize};
use worker::Env;

/// The mirror object's path for seat changes.
pub const SEATS_CHANGED_PATH: &str = "/seats/changed";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeatChange {
    pub tenant_key: String,
    pub view: GateView,
    /// The guild went from over (or no usable count) to under on this audit.
    pub back_under: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorLink {
    #[allow(dead_code)] // What `snapshot_changed` answers once the mirror hookup is wired.
    Delivered,
    /// The mirror dispatcher is not in this build: nothing was delivered.
    NotWired,
}

impl MirrorLink {
    pub fn as_str(self) -> &'static str {
        match self {
            MirrorLink::Delivered => "delivered",
            MirrorLink::NotWired => "not_wired",
        }
    }
}

/// Tells the tenant's mirror dispatcher that a guild's seat state changed.
pub async fn snapshot_changed(_env: &Env, change: &SeatChange) -> worker::Result<MirrorLink> {
    crate::runtime::log(
        "info",
        "seats: mirror link not wired",
        serde_json::json!({
            "tenant_key": change.tenant_key,
            "guild_id": change.view.guild_id.to_string(),
            "back_under": change.back_under,
            "path": SEATS_CHANGED_PATH,
        }),
    );
    Ok(MirrorLink::NotWired)
}
