//! Thread state. Thread events carry no edit version, so fields merge by arrival: a present
//! field overwrites, an absent one (sparse event) leaves the stored value alone. A delete is
//! final, and membership is a set maintained from deltas.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::ids::UserId;
use crate::protocol::{MemberDelta, ThreadEvent, ThreadEventType, ThreadPatch};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadState {
    pub fields: ThreadPatch,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub members: BTreeSet<UserId>,
}

macro_rules! overwrite {
    ($changed:ident, $dst:expr, $src:expr, $($f:ident),+) => {
        $(
            if let Some(v) = &$src.$f {
                if $dst.$f.as_ref() != Some(v) {
                    $dst.$f = Some(v.clone());
                    $changed = true;
                }
            }
        )+
    };
}

impl ThreadState {
    /// Applies one event; returns whether anything visible changed.
    pub fn apply(&mut self, event: &ThreadEvent) -> bool {
        if self.deleted {
            return false;
        }
        let mut changed = false;
        let src = &event.thread;
        let dst = &mut self.fields;
        overwrite!(
            changed,
            dst,
            src,
            discord_thread_id,
            parent_channel_id,
            guild_id,
            name,
            archived,
            locked,
            auto_archive_duration,
            archive_timestamp,
            message_count,
            member_count,
            rate_limit_per_user,
            owner_id,
            owner_username,
            owner_global_name,
            last_message_id,
            last_message_at,
            created_timestamp
        );
        if let Some(delta) = &event.member_delta {
            for id in &delta.added {
                changed |= self.members.insert(id.clone());
            }
            for id in &delta.removed {
                changed |= self.members.remove(id);
            }
        }
        if event.event_type == ThreadEventType::Delete {
            self.deleted = true;
            changed = true;
        }
        changed
    }

    pub fn view(&self) -> ThreadView<'_> {
        ThreadView {
            fields: &self.fields,
            deleted: self.deleted,
            member_ids: &self.members,
        }
    }
}

/// A thread as subscribers see it: its fields flattened, plus `deleted` and the member ids.
#[derive(Serialize)]
pub struct ThreadView<'a> {
    #[serde(flatten)]
    pub fields: &'a ThreadPatch,
    pub deleted: bool,
    pub member_ids: &'a BTreeSet<UserId>,
}

pub fn frame_type(event_type: ThreadEventType) -> &'static str {
    match event_type {
        ThreadEventType::Create => "thread.created",
        ThreadEventType::Update => "thread.updated",
        ThreadEventType::Delete => "thread.deleted",
        ThreadEventType::MembersUpdate => "thread.members_updated",
    }
}

/// The delta as frames carry it (only for members updates).
pub fn frame_delta(event: &ThreadEvent) -> Option<&MemberDelta> {
    (event.event_type == ThreadEventType::MembersUpdate)
        .then_some(event.member_delta.as_ref())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(
        ty: ThreadEventType,
        name: Option<&str>,
        added: &[&str],
        removed: &[&str],
    ) -> ThreadEvent {
        fn sf<M>(s: &str) -> crate::ids::Snowflake<M> {
            crate::ids::Snowflake::parse(s).unwrap()
        }
        ThreadEvent {
            idempotency_key: "k".into(),
            event_type: ty,
            thread: ThreadPatch {
                discord_thread_id: Some(sf("1")),
                parent_channel_id: Some(sf("2")),
                guild_id: Some(sf("3")),
                name: name.map(str::to_string),
                ..ThreadPatch::default()
            },
            member_delta: Some(MemberDelta {
                added: added.iter().map(|s| sf(s)).collect(),
                removed: removed.iter().map(|s| sf(s)).collect(),
            }),
        }
    }

    #[test]
    fn sparse_updates_keep_fields() {
        let mut s = ThreadState::default();
        assert!(s.apply(&ev(ThreadEventType::Create, Some("BTC"), &[], &[])));
        assert!(!s.apply(&ev(ThreadEventType::Update, None, &[], &[])));
        assert_eq!(s.fields.name.as_deref(), Some("BTC"));
        assert!(s.apply(&ev(ThreadEventType::Update, Some("ETH"), &[], &[])));
        assert_eq!(s.fields.name.as_deref(), Some("ETH"));
    }

    #[test]
    fn members_and_delete_is_final() {
        let mut s = ThreadState::default();
        assert!(s.apply(&ev(ThreadEventType::MembersUpdate, None, &["7", "8"], &[])));
        assert!(s.apply(&ev(ThreadEventType::MembersUpdate, None, &[], &["7"])));
        assert_eq!(s.members.len(), 1);
        assert!(s.apply(&ev(ThreadEventType::Delete, None, &[], &[])));
        assert!(!s.apply(&ev(ThreadEventType::Update, Some("back"), &[], &[])));
        assert!(s.deleted);
        let json = serde_json::to_value(s.view()).unwrap();
        assert_eq!(json["discord_thread_id"], "1");
        assert_eq!(json["deleted"], true);
        assert_eq!(json["member_ids"][0], "8");
    }
}
