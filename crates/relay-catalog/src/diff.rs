//! A fresh snapshot against the stored rows. Rows that went away become inactive and stay:
//! mappings, tier settings and history still name them, and a channel restored from Discord's
//! trash (or a role re-created with the bot's help) comes back active under the same id.

use std::collections::BTreeMap;

use relay_core::ids::{ChannelId, GuildId, RoleId};

use crate::snapshot::{ChannelRow, RoleRow};

/// A catalog row with the id it is stored under.
pub trait Keyed {
    type Key: Ord + Clone;
    fn key(&self) -> Self::Key;
}

impl Keyed for ChannelRow {
    type Key = ChannelId;
    fn key(&self) -> ChannelId {
        self.channel_id.clone()
    }
}

impl Keyed for RoleRow {
    type Key = RoleId;
    fn key(&self) -> RoleId {
        self.role_id.clone()
    }
}

/// Guilds are diffed by id only: their details come with their own snapshot.
impl Keyed for GuildId {
    type Key = GuildId;
    fn key(&self) -> GuildId {
        self.clone()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff<T: Keyed> {
    /// New rows, changed rows, and inactive rows seen again (to be made active).
    pub upserts: Vec<T>,
    /// Active rows Discord no longer shows.
    pub deactivate: Vec<T::Key>,
    /// Active rows seen again unchanged (only their last-seen time moves).
    pub unchanged: Vec<T::Key>,
}

impl<T: Keyed> Diff<T> {
    pub fn is_quiet(&self) -> bool {
        self.upserts.is_empty() && self.deactivate.is_empty()
    }
}

/// `stored` is every row of the scope (a guild's channels, or roles) with its `active` flag;
/// `fresh` is what Discord shows now. A key repeated in `fresh` counts once (the last).
pub fn diff<T: Keyed + PartialEq + Clone>(stored: &[(T, bool)], fresh: &[T]) -> Diff<T> {
    let fresh: BTreeMap<T::Key, &T> = fresh.iter().map(|r| (r.key(), r)).collect();
    let stored_by: BTreeMap<T::Key, (&T, bool)> =
        stored.iter().map(|(r, a)| (r.key(), (r, *a))).collect();
    let mut out = Diff {
        upserts: Vec::new(),
        deactivate: Vec::new(),
        unchanged: Vec::new(),
    };
    for (k, row) in &fresh {
        match stored_by.get(k) {
            Some((old, true)) if *old == *row => out.unchanged.push(k.clone()),
            _ => out.upserts.push((*row).clone()),
        }
    }
    for (k, (_, active)) in &stored_by {
        if *active && !fresh.contains_key(k) {
            out.deactivate.push(k.clone());
        }
    }
    out
}
