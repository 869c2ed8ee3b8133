//! The seat object → mirror dispatcher link: when a guild's snapshot changes (an audit
//! finished, a config or the kill switch changed), the dispatcher must learn of it — above
//! all when the guild comes back under its limit, so its held jobs are released in order
//! without waiting for the next signal.
//!
//! The contract (for the mirror object, binding `MIRROR`): `POST /seats/changed` with a
//! [`SeatChange`] body on the tenant's mirror object; it replaces its copy of the guild's
//! [`GateView`] and runs the guild's paused targets again, so held jobs go out in order.

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
    /// The tenant's mirror object has the new view.
    Delivered,
    /// No tenant key yet (a seat object that was never configured): nobody to tell.
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
pub async fn snapshot_changed(env: &Env, change: &SeatChange) -> worker::Result<MirrorLink> {
    if change.tenant_key.is_empty() {
        return Ok(MirrorLink::NotWired);
    }
    crate::durable_objects::mirror::client::MirrorClient::new(env, &change.tenant_key)?
        .seats_changed(change)
        .await?;
    Ok(MirrorLink::Delivered)
}
