//! The persistent source → mirror map of one target: for every source message, the Discord
//! message id of each part posted and the files uploaded with it, so an edit patches the same
//! messages in place and re-sends only files it did not upload before, and a delete removes
//! every part.
//!
//! Retention: [`MirrorMap::retain`] drops a record only when the caller says its signal is no
//! longer kept and no job (queued or dead) still refers to it. A live signal's map is never
//! dropped by age: an edit of a months-old signal must patch, not post anew.

use std::collections::{BTreeMap, BTreeSet};

use relay_core::ids::{AttachmentId, MessageId};
use serde::{Deserialize, Serialize};

use crate::render::Skip;

/// A file we uploaded with a part: the source attachment and the attachment Discord created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedFile {
    pub source: AttachmentId,
    pub mirrored: AttachmentId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    pub message_id: MessageId,
    /// [`crate::render::Part::digest`] of what this message shows now.
    pub digest: String,
    #[serde(default)]
    pub files: Vec<UploadedFile>,
    pub posted_at_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorRecord {
    /// A create reached this target: only then may later changes post anything (an edit of a
    /// message this target never received is not a new message).
    pub admitted: bool,
    /// The parts posted, in order; always a prefix of what was rendered.
    #[serde(default)]
    pub parts: Vec<PartRecord>,
    /// Why the current version is not shown, when filters emptied it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skip>,
    #[serde(default)]
    pub source_deleted: bool,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorMap {
    #[serde(default)]
    pub records: BTreeMap<MessageId, MirrorRecord>,
}

impl MirrorMap {
    pub fn get(&self, m: &MessageId) -> Option<&MirrorRecord> {
        self.records.get(m)
    }

    pub(crate) fn entry(&mut self, m: &MessageId, now_ms: i64) -> &mut MirrorRecord {
        let r = self
            .records
            .entry(m.clone())
            .or_insert_with(|| MirrorRecord {
                updated_at_ms: now_ms,
                ..MirrorRecord::default()
            });
        r.updated_at_ms = now_ms;
        r
    }

    /// Every Discord message id this target's map accounts for (a recovery lookup must not
    /// claim one of them for another part).
    pub fn known_ids(&self) -> BTreeSet<&MessageId> {
        self.records
            .values()
            .flat_map(|r| r.parts.iter().map(|p| &p.message_id))
            .collect()
    }

    /// Which mirrored message shows part `part` of source message `m`.
    pub fn mirrored(&self, m: &MessageId, part: usize) -> Option<&MessageId> {
        self.records
            .get(m)
            .and_then(|r| r.parts.get(part))
            .map(|p| &p.message_id)
    }

    /// Drops the records of signals that are no longer kept (`kept` says false) and that no
    /// job refers to (`busy` says false). Returns how many were dropped.
    pub fn retain(
        &mut self,
        kept: impl Fn(&MessageId) -> bool,
        busy: impl Fn(&MessageId) -> bool,
    ) -> usize {
        let before = self.records.len();
        self.records.retain(|m, _| kept(m) || busy(m));
        before - self.records.len()
    }
}
