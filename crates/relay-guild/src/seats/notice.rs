//! The over-limit notice: posted once per target channel when an enforcing guild goes over
//! its limit, remembered in storage (the predecessor kept the flag in memory and re-posted after
//! every restart), and posted again only after a count showed the guild back under.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use twilight_model::id::marker::ChannelMarker;
use twilight_model::id::Id;

use super::snapshot::Verdict;

/// Serialisable: store it with the guild's seat state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeState {
    /// Target channels that have the notice for the current over-limit episode.
    pub posted: BTreeSet<Id<ChannelMarker>>,
}

impl NoticeState {
    /// The channels that need the notice now. Only a count under the limit ends an episode:
    /// a stale snapshot, a failed audit or a switch to shadow does not, so none of them causes
    /// a second notice. Shadow mode posts nothing (nothing is paused).
    pub fn due(
        &mut self,
        enforcing: bool,
        verdict: Option<Verdict>,
        targets: &[Id<ChannelMarker>],
    ) -> Vec<Id<ChannelMarker>> {
        match verdict {
            Some(Verdict::Under) => {
                self.posted.clear();
                Vec::new()
            }
            Some(Verdict::Over) if enforcing => {
                let mut seen = BTreeSet::new();
                targets
                    .iter()
                    .filter(|c| !self.posted.contains(c) && seen.insert(**c))
                    .copied()
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// Call once Discord accepted the notice in `channel` (a failed post stays due).
    pub fn record_posted(&mut self, channel: Id<ChannelMarker>) {
        self.posted.insert(channel);
    }
}

/// The notice's text (well under Discord's 2,000 characters).
pub fn notice_text(seats_used: u64, limit: u64, max_hold_hours: u64) -> String {
    let excess = seats_used.saturating_sub(limit);
    let plural = if excess == 1 { "" } else { "s" };
    format!(
        "**Mirroring paused: seat limit exceeded**\n\
         {seats_used} members can see the signal channels of this server; its plan allows {limit}.\n\
         To resume, remove access to these channels for at least {excess} member{plural} \
         (or ask the seller for a larger plan). Mirroring resumes by itself within a minute of the \
         next check, and signals held meanwhile are delivered in order; those older than \
         {max_hold_hours} h are dropped."
    )
}
