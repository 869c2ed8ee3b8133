//! Message convergence: the state of one message after any permutation, with any duplication,
//! of its create/update/delete events.
//!
//! The state is a join-semilattice: every part is merged with an operation that is commutative,
//! associative and idempotent, so the order in which events arrive cannot matter.
//!
//! - Each group of fields (location, content, author, attachments, embeds, mentions) is a
//!   last-writer-wins register ordered by a [`VersionKey`]: the newest `edited_at` wins, an
//!   update beats a create at the same edit time, and the event fingerprint breaks exact ties.
//!   Only events that *mention* a group compete for it ([`Groups`]), which is how a sparse
//!   update (an embed unfurl) keeps the text and files it does not carry.
//! - `deleted` is an OR: a delete is final, and a delete that arrives first leaves a tombstone
//!   that a late create cannot lift.

use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, GuildId, MessageId, RoleId, UserId};
use crate::protocol::{Attachment, Embed, MessageEvent, MessageEventType};
use crate::time::Timestamp;

/// Orders competing values for one field group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VersionKey {
    /// `edited_at` in ms, or `i64::MIN` when the event carries none (an original create, or an
    /// update such as an embed unfurl that Discord does not stamp).
    pub ts: i64,
    /// delete < create < update at equal `ts`.
    pub rank: i8,
    /// Event fingerprint: a deterministic tie-break between different events.
    pub fp: String,
}

impl VersionKey {
    pub fn of(event: &MessageEvent, fingerprint: &str) -> Self {
        let rank = match event.event_type {
            MessageEventType::Delete => -1,
            MessageEventType::Create => 0,
            MessageEventType::Update => 1,
        };
        let ts = match event.event_type {
            // A delete's own timestamp says nothing about content versions.
            MessageEventType::Delete => i64::MIN,
            _ => event.edited_at.map(Timestamp::ms).unwrap_or(i64::MIN),
        };
        VersionKey {
            ts,
            rank,
            fp: fingerprint.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned<T> {
    pub key: VersionKey,
    pub value: T,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub guild_id: GuildId,
    pub channel_id: ChannelId,
    pub thread_id: Option<ChannelId>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub content_raw: String,
    pub content_clean: String,
    pub edited_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Author {
    pub id: Option<UserId>,
    pub username: Option<String>,
    pub global_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Versioned<Location>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Versioned<Content>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Versioned<Author>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Versioned<Vec<Attachment>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeds: Option<Versioned<Vec<Embed>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentioned_role_ids: Option<Versioned<Vec<RoleId>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentioned_user_ids: Option<Versioned<Vec<UserId>>>,
    #[serde(default)]
    pub deleted: bool,
    /// The earliest deletion time any delete event reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
}

fn merge<T: PartialEq>(
    slot: &mut Option<Versioned<T>>,
    key: &VersionKey,
    value: Option<T>,
) -> bool {
    let Some(value) = value else {
        return false;
    };
    let wins = match slot {
        None => true,
        Some(current) => *key > current.key,
    };
    if wins {
        *slot = Some(Versioned {
            key: key.clone(),
            value,
        });
    }
    wins
}

/// The field groups one event competes for. It depends on the event alone (never on what is
/// stored), which keeps the merge a semilattice: order and duplication cannot matter.
///
/// Discord's partial `MESSAGE_UPDATE`s (link unfurls, client refreshes) reach us as updates
/// with empty content, no attachments and no `edited_at`, although the message still has its
/// text and files. So an update never erases: empty content or an empty attachment list on an
/// update does not compete, and an update without `edited_at` (not a person's edit) may only
/// set embeds. A person's edit (`edited_at` set) replaces the embeds even with an empty list:
/// they removed the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Groups {
    pub location: bool,
    pub author: bool,
    pub content: bool,
    pub attachments: bool,
    pub embeds: bool,
    /// Mention lists describe the content, so they follow it.
    pub mentions: bool,
}

impl Groups {
    pub fn of(event: &MessageEvent) -> Self {
        let has_content = matches!(
            (&event.content_raw, &event.content_clean),
            (Some(raw), Some(clean)) if !(raw.is_empty() && clean.is_empty())
        );
        let has_attachments = event.attachments.as_ref().is_some_and(|a| !a.is_empty());
        let has_embeds = event.embeds.as_ref().is_some_and(|e| !e.is_empty());
        match event.event_type {
            MessageEventType::Delete => Groups {
                location: true,
                author: true,
                content: false,
                attachments: false,
                embeds: false,
                mentions: false,
            },
            MessageEventType::Create => {
                // An embed-only or attachment-only message has empty content: still content.
                let content = event.content_raw.is_some() && event.content_clean.is_some();
                Groups {
                    location: true,
                    author: true,
                    content,
                    attachments: event.attachments.is_some(),
                    embeds: event.embeds.is_some(),
                    mentions: content,
                }
            }
            MessageEventType::Update if event.edited_at.is_none() => Groups {
                location: false,
                author: false,
                content: false,
                attachments: false,
                embeds: has_embeds,
                mentions: false,
            },
            MessageEventType::Update => Groups {
                location: true,
                author: true,
                content: has_content,
                attachments: has_attachments,
                embeds: event.embeds.is_some(),
                mentions: has_content,
            },
        }
    }
}

impl MessageState {
    /// Folds one event into the state; returns whether anything stored changed.
    pub fn apply(&mut self, event: &MessageEvent, fingerprint: &str) -> bool {
        let key = VersionKey::of(event, fingerprint);
        let groups = Groups::of(event);
        let mut changed = false;

        let created_at = event
            .created_at
            .unwrap_or_else(|| Timestamp::from_ms(event.discord_message_id.timestamp_ms()));
        changed |= merge(
            &mut self.location,
            &key,
            groups.location.then(|| Location {
                guild_id: event.discord_guild_id.clone(),
                channel_id: event.discord_channel_id.clone(),
                thread_id: event.discord_thread_id.clone(),
                created_at,
            }),
        );

        if groups.content {
            if let (Some(raw), Some(clean)) = (&event.content_raw, &event.content_clean) {
                changed |= merge(
                    &mut self.content,
                    &key,
                    Some(Content {
                        content_raw: raw.clone(),
                        content_clean: clean.clone(),
                        edited_at: event.edited_at,
                    }),
                );
            }
        }
        if groups.attachments {
            changed |= merge(&mut self.attachments, &key, event.attachments.clone());
        }
        if groups.embeds {
            changed |= merge(&mut self.embeds, &key, event.embeds.clone());
        }
        if groups.mentions {
            changed |= merge(
                &mut self.mentioned_role_ids,
                &key,
                event.mentioned_role_ids.clone(),
            );
            changed |= merge(
                &mut self.mentioned_user_ids,
                &key,
                event.mentioned_user_ids.clone(),
            );
        }

        let author = (groups.author
            && (event.discord_author_id.is_some()
                || event.author_username.is_some()
                || event.author_global_name.is_some()))
        .then(|| Author {
            id: event.discord_author_id.clone(),
            username: event.author_username.clone(),
            global_name: event.author_global_name.clone(),
        });
        changed |= merge(&mut self.author, &key, author);

        if event.event_type == MessageEventType::Delete {
            if !self.deleted {
                self.deleted = true;
                changed = true;
            }
            if let Some(at) = event.deleted_at {
                if self.deleted_at.is_none_or(|cur| at < cur) {
                    self.deleted_at = Some(at);
                    changed = true;
                }
            }
        }
        changed
    }

    /// Visible to subscribers: we know its content and it is not deleted.
    pub fn is_visible(&self) -> bool {
        self.content.is_some() && !self.deleted
    }

    /// The signal as subscribers see it. `None` until a content version has arrived (a lone
    /// delete is a tombstone, not a signal).
    pub fn view(&self, connector_id: &str, message_id: &MessageId) -> Option<SignalView> {
        let content = self.content.as_ref()?;
        let loc = self.location.as_ref()?;
        let author = self
            .author
            .as_ref()
            .map(|a| a.value.clone())
            .unwrap_or_default();
        Some(SignalView {
            connector_id: connector_id.to_string(),
            discord_message_id: message_id.clone(),
            guild_id: loc.value.guild_id.clone(),
            channel_id: loc.value.channel_id.clone(),
            thread_id: loc.value.thread_id.clone(),
            content: content.value.content_raw.clone(),
            content_clean: content.value.content_clean.clone(),
            attachments: self
                .attachments
                .as_ref()
                .map(|a| a.value.clone())
                .unwrap_or_default(),
            embeds: self
                .embeds
                .as_ref()
                .map(|e| e.value.clone())
                .unwrap_or_default(),
            author,
            mentioned_role_ids: self
                .mentioned_role_ids
                .as_ref()
                .map(|m| m.value.clone())
                .unwrap_or_default(),
            mentioned_user_ids: self
                .mentioned_user_ids
                .as_ref()
                .map(|m| m.value.clone())
                .unwrap_or_default(),
            created_at: loc.value.created_at,
            edited_at: content.value.edited_at,
            deleted: self.deleted,
            deleted_at: self.deleted_at,
        })
    }

    pub fn channel_id(&self) -> Option<&ChannelId> {
        self.location.as_ref().map(|l| &l.value.channel_id)
    }

    pub fn created_at(&self) -> Option<Timestamp> {
        self.location.as_ref().map(|l| l.value.created_at)
    }
}

/// A signal as it appears in feed frames, snapshots and the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalView {
    pub connector_id: String,
    pub discord_message_id: MessageId,
    pub guild_id: GuildId,
    pub channel_id: ChannelId,
    pub thread_id: Option<ChannelId>,
    /// The raw Discord content (mention syntax intact).
    pub content: String,
    /// Mentions resolved to names, for display.
    pub content_clean: String,
    pub attachments: Vec<Attachment>,
    pub embeds: Vec<Embed>,
    pub author: Author,
    pub mentioned_role_ids: Vec<RoleId>,
    pub mentioned_user_ids: Vec<UserId>,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted: bool,
    pub deleted_at: Option<Timestamp>,
}

/// What subscribers must be told about a state transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    Created,
    Updated,
    Deleted,
}

impl Change {
    pub fn frame_type(self) -> Option<&'static str> {
        match self {
            Change::None => None,
            Change::Created => Some("signal.created"),
            Change::Updated => Some("signal.updated"),
            Change::Deleted => Some("signal.deleted"),
        }
    }
}

/// Classifies a transition by what a subscriber can see, so invisible bookkeeping (a late create
/// on a tombstone, an older edit that loses) produces no frame and no sequence number.
pub fn classify(
    before: &MessageState,
    after: &MessageState,
    connector_id: &str,
    message_id: &MessageId,
) -> Change {
    match (before.is_visible(), after.is_visible()) {
        (false, true) => Change::Created,
        (true, false) => Change::Deleted,
        (true, true) => {
            if before.view(connector_id, message_id) != after.view(connector_id, message_id) {
                Change::Updated
            } else {
                Change::None
            }
        }
        (false, false) => Change::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{parse_message_event, Limits};
    use crate::validate::Problems;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    const MID: &str = "1300000000000000000";

    fn event(v: Value) -> MessageEvent {
        let mut p = Problems::new();
        let ev = parse_message_event(&v, "m", &Limits::default(), &mut p);
        assert!(p.is_empty(), "{:?}", p.into_vec());
        ev.unwrap()
    }

    fn base(ty: &str) -> serde_json::Map<String, Value> {
        json!({
            "idempotency_key": format!("t1:c1:message:{MID}:{ty}"),
            "event_type": ty,
            "discord_message_id": MID,
            "discord_guild_id": "10",
            "discord_channel_id": "20",
            "discord_author_id": "30",
            "author_username": "analyst",
            "author_global_name": null,
            "content_raw": "v0",
            "content_clean": "v0",
            "created_at": "2025-01-31T12:00:00.000Z",
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn create() -> MessageEvent {
        let mut m = base("create");
        m.insert(
            "attachments".into(),
            json!([{"discord_attachment_id": "1", "filename": "a.png",
                     "source_url": "https://cdn/a.png", "size": 1}]),
        );
        m.insert(
            "embeds".into(),
            json!([{"embed_index": 0, "raw_json": {"title": "e"}}]),
        );
        event(Value::Object(m))
    }

    fn update(content: &str, edited: &str, sparse: bool) -> MessageEvent {
        let mut m = base("update");
        m.insert("content_raw".into(), json!(content));
        m.insert("content_clean".into(), json!(content));
        m.insert("edited_at".into(), json!(edited));
        if !sparse {
            m.insert("attachments".into(), json!([]));
        }
        event(Value::Object(m))
    }

    /// A partial update as Discord sends it for a link unfurl.
    fn unfurl(title: &str) -> MessageEvent {
        let mut m = base("update");
        m.insert("content_raw".into(), json!(""));
        m.insert("content_clean".into(), json!(""));
        m.insert("attachments".into(), json!([]));
        m.insert("edited_at".into(), Value::Null);
        m.insert(
            "embeds".into(),
            json!([{"embed_index": 0, "embed_type": "link", "raw_json": {"title": title}}]),
        );
        event(Value::Object(m))
    }

    fn edit_with_embeds(content: &str, edited: &str, embeds: Value) -> MessageEvent {
        let mut m = base("update");
        m.insert("content_raw".into(), json!(content));
        m.insert("content_clean".into(), json!(content));
        m.insert("edited_at".into(), json!(edited));
        m.insert("attachments".into(), json!([]));
        m.insert("embeds".into(), embeds);
        event(Value::Object(m))
    }

    /// A delete as the connector sends it without a cached message: every field, all empty.
    fn delete_empty_body() -> MessageEvent {
        let mut m = base("delete");
        m.insert("content_raw".into(), json!(""));
        m.insert("content_clean".into(), json!(""));
        m.insert("attachments".into(), json!([]));
        m.insert("embeds".into(), json!([]));
        m.insert("deleted_at".into(), json!("2025-01-31T13:05:00.000Z"));
        event(Value::Object(m))
    }

    fn delete() -> MessageEvent {
        event(
            json!({"idempotency_key": format!("t1:c1:message:{MID}:delete"),
                     "event_type": "delete", "discord_message_id": MID,
                     "discord_guild_id": "10", "discord_channel_id": "20",
                     "deleted_at": "2025-01-31T13:00:00.000Z"}),
        )
    }

    fn fold(events: &[MessageEvent]) -> MessageState {
        let mut s = MessageState::default();
        for e in events {
            s.apply(e, &e.fingerprint());
        }
        s
    }

    fn mid() -> MessageId {
        MessageId::parse(MID).unwrap()
    }

    #[test]
    fn newest_edit_wins_regardless_of_order() {
        let a = update("v1", "2025-01-31T12:01:00Z", true);
        let b = update("v2", "2025-01-31T12:02:00Z", true);
        let s1 = fold(&[create(), a.clone(), b.clone()]);
        let s2 = fold(&[b, a, create()]);
        assert_eq!(s1, s2);
        assert_eq!(s1.view("c1", &mid()).unwrap().content, "v2");
    }

    #[test]
    fn sparse_update_keeps_attachments_and_embeds() {
        let s = fold(&[create(), update("v1", "2025-01-31T12:01:00Z", true)]);
        let v = s.view("c1", &mid()).unwrap();
        assert_eq!(v.content, "v1");
        assert_eq!(v.attachments.len(), 1);
        assert_eq!(v.embeds.len(), 1);
        // The connector sends every field, so "no attachments" on an edit arrives as `[]`:
        // it must not erase the stored files.
        let s = fold(&[create(), update("v1", "2025-01-31T12:01:00Z", false)]);
        let v = s.view("c1", &mid()).unwrap();
        assert_eq!(v.content, "v1");
        assert_eq!(v.attachments.len(), 1);
    }

    /// The field scenario: Discord unfurls a link and the connector forwards the partial
    /// update as empty content, no attachments, no edit time, and the new embeds.
    #[test]
    fn unfurl_adds_embeds_and_keeps_text_and_files() {
        let s = fold(&[create(), unfurl("chart")]);
        let v = s.view("c1", &mid()).unwrap();
        assert_eq!(v.content, "v0");
        assert_eq!(v.content_clean, "v0");
        assert_eq!(v.attachments.len(), 1);
        assert_eq!(v.embeds.len(), 1);
        assert_eq!(v.embeds[0].raw_json["title"], "chart");
        assert_eq!(v.author.username.as_deref(), Some("analyst"));
        assert_eq!(v.edited_at, None);
        assert_eq!(fold(&[unfurl("chart"), create()]), s);
        // The unfurl changes what a subscriber sees (the card gains an embed), nothing else.
        let created = fold(&[create()]);
        assert_eq!(classify(&created, &s, "c1", &mid()), Change::Updated);
        // An unfurl with no embeds at all (a client refresh) changes nothing.
        let mut refresh = unfurl("x");
        refresh.embeds = Some(vec![]);
        let mut after = created.clone();
        assert!(!after.apply(&refresh, &refresh.fingerprint()));
        assert_eq!(after, created);
    }

    #[test]
    fn a_real_edit_replaces_embeds_even_with_none_left() {
        let edit = edit_with_embeds("v1", "2025-01-31T12:01:00Z", json!([]));
        let s = fold(&[create(), unfurl("chart"), edit.clone()]);
        let v = s.view("c1", &mid()).unwrap();
        assert_eq!(v.content, "v1");
        assert!(v.embeds.is_empty(), "the person removed the link");
        assert_eq!(v.attachments.len(), 1);
        assert_eq!(fold(&[edit, unfurl("chart"), create()]), s);
    }

    #[test]
    fn an_edit_with_empty_content_keeps_the_text() {
        let s = fold(&[create(), update("", "2025-01-31T12:01:00Z", false)]);
        let v = s.view("c1", &mid()).unwrap();
        assert_eq!(v.content, "v0");
        assert_eq!(v.attachments.len(), 1);
    }

    #[test]
    fn an_attachment_only_create_is_a_signal() {
        let mut m = base("create");
        m.insert("content_raw".into(), json!(""));
        m.insert("content_clean".into(), json!(""));
        m.insert(
            "attachments".into(),
            json!([{"discord_attachment_id": "1", "filename": "a.png",
                     "source_url": "https://cdn/a.png", "size": 1}]),
        );
        let s = fold(&[event(Value::Object(m))]);
        assert!(s.is_visible());
        assert_eq!(s.view("c1", &mid()).unwrap().attachments.len(), 1);
    }

    #[test]
    fn delete_first_is_remembered() {
        let s = fold(&[delete(), create()]);
        assert!(s.deleted);
        assert!(!s.is_visible());
        assert_eq!(fold(&[create(), delete()]), s);
    }

    #[test]
    fn classification() {
        let empty = MessageState::default();
        let created = fold(&[create()]);
        assert_eq!(classify(&empty, &created, "c1", &mid()), Change::Created);
        let edited = fold(&[create(), update("v1", "2025-01-31T12:01:00Z", true)]);
        assert_eq!(classify(&created, &edited, "c1", &mid()), Change::Updated);
        assert_eq!(classify(&edited, &edited, "c1", &mid()), Change::None);
        let deleted = fold(&[create(), delete()]);
        assert_eq!(classify(&created, &deleted, "c1", &mid()), Change::Deleted);
        // A lone delete: nothing a subscriber ever saw.
        let tomb = fold(&[delete()]);
        assert_eq!(classify(&empty, &tomb, "c1", &mid()), Change::None);
        // An older edit arriving late changes nothing visible.
        let late = fold(&[
            create(),
            update("v2", "2025-01-31T12:02:00Z", true),
            update("v1", "2025-01-31T12:01:00Z", true),
        ]);
        let current = fold(&[create(), update("v2", "2025-01-31T12:02:00Z", true)]);
        assert_eq!(classify(&current, &late, "c1", &mid()), Change::None);
    }

    #[test]
    fn state_round_trips_through_json() {
        let s = fold(&[create(), update("v1", "2025-01-31T12:01:00Z", true)]);
        let back: MessageState = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    fn pool() -> Vec<MessageEvent> {
        vec![
            create(),
            update("v1", "2025-01-31T12:01:00Z", true),
            update("v2", "2025-01-31T12:02:00Z", false),
            // Same edit time as v2, different content: the fingerprint decides, deterministically.
            update("v2b", "2025-01-31T12:02:00Z", true),
            delete(),
            // 5: an unfurl; 6: a second unfurl of another link (fingerprint decides between them)
            unfurl("u1"),
            unfurl("u2"),
            // 7: a person's edit with empty content and no attachments listed
            update("", "2025-01-31T12:03:00Z", false),
            // 8: a delete carrying empty bodies
            delete_empty_body(),
        ]
    }

    const POOL: usize = 9;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]

        /// Any permutation of any multiset drawn from the event pool (each event at least once
        /// or not at all, duplicates allowed) converges to the state of the canonical order.
        #[test]
        fn converges_under_permutation_and_duplication(
            picks in proptest::collection::vec((0usize..POOL, 1usize..4), 1..16),
            seed in any::<u64>(),
        ) {
            let pool = pool();
            let mut chosen: Vec<usize> = picks.iter().map(|(i, _)| *i).collect();
            chosen.sort_unstable();
            chosen.dedup();
            let canonical: Vec<MessageEvent> = chosen.iter().map(|i| pool[*i].clone()).collect();
            let expected = fold(&canonical);

            // Duplicate each chosen event per its count, then shuffle deterministically.
            let mut events: Vec<MessageEvent> = Vec::new();
            for (i, n) in &picks {
                for _ in 0..*n {
                    events.push(pool[*i].clone());
                }
            }
            let mut rng = seed;
            for i in (1..events.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let j = (rng >> 33) as usize % (i + 1);
                events.swap(i, j);
            }
            let got = fold(&events);
            prop_assert_eq!(&got, &expected);

            // And the semantic rules hold for the converged state.
            let has = |i: usize| chosen.contains(&i);
            let deleted = has(4) || has(8);
            if deleted {
                prop_assert!(got.deleted);
                prop_assert!(!got.is_visible());
            }
            // Events that carry text; 7 (an edit with empty content) does not.
            let texts = [0, 1, 2, 3];
            if !deleted && texts.iter().any(|i| has(*i)) {
                let v = got.view("c1", &mid()).unwrap();
                // Sparse events never blank the text: the newest non-empty version shows.
                if has(2) || has(3) {
                    prop_assert!(v.content == "v2" || v.content == "v2b");
                } else if has(1) {
                    prop_assert_eq!(v.content.as_str(), "v1");
                } else {
                    prop_assert_eq!(v.content.as_str(), "v0");
                }
                // Attachments come only from the create; no update here erases them.
                prop_assert_eq!(v.attachments.len(), usize::from(has(0)));
                // Embeds: the create's, replaced by an unfurl's; no edit here lists embeds.
                prop_assert_eq!(v.embeds.len(), usize::from(has(0) || has(5) || has(6)));
                if has(5) || has(6) {
                    let title = v.embeds[0].raw_json["title"].as_str().unwrap_or("");
                    prop_assert!(title == "u1" || title == "u2");
                }
            }
            // Unfurls and empty edits alone never make a signal visible.
            if texts.iter().all(|i| !has(*i)) {
                prop_assert!(!got.is_visible());
            }
        }
    }
}
