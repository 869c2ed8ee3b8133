//! The connector wire protocol (`shared/connector-protocol.md`): parsing and validation of the
//! three ingest payloads into typed events.
//!
//! A request's envelope is all-or-nothing (a 400 naming every bad field); the items of its lists
//! are validated one by one, and a bad item is refused alone (`crate::rejection`), because the
//! field connector drops a whole request on any 4xx. Limits are generous on purpose: a limit a
//! real Discord message can exceed would lose data.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::encoding::hex;
use crate::error::ApiError;
use crate::ids::{
    check_slug, AttachmentId, ChannelId, GuildId, MessageId, RoleId, Snowflake, UserId,
};
use crate::rejection::{IngestRoute, RejectedItem};
use crate::time::Timestamp;
use crate::validate::{index, FieldError, Obj, Problems};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Messages per `message-batch` request.
    pub max_batch: usize,
    pub max_content_chars: usize,
    pub max_attachments: usize,
    pub max_embeds: usize,
    pub max_mentions: usize,
    pub max_sync_guilds: usize,
    pub max_sync_channels: usize,
    pub max_member_delta: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_batch: 100,
            // Discord allows 4,000 for Nitro users; `content_clean` can grow when mentions are
            // expanded to names, so leave headroom.
            max_content_chars: 16_000,
            max_attachments: 50,
            max_embeds: 50,
            max_mentions: 500,
            max_sync_guilds: 1_000,
            max_sync_channels: 10_000,
            max_member_delta: 1_000,
        }
    }
}

const MAX_KEY_CHARS: usize = 512;
const MAX_NAME_CHARS: usize = 512;
const MAX_URL_CHARS: usize = 4_096;
const MAX_TEXT_CHARS: usize = 8_192;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageEventType {
    Create,
    Update,
    Delete,
}

impl MessageEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageEventType::Create => "create",
            MessageEventType::Update => "update",
            MessageEventType::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub discord_attachment_id: AttachmentId,
    pub filename: String,
    pub source_url: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embed {
    pub embed_index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Discord's embed object as the connector saw it; kept verbatim for rendering.
    #[serde(default)]
    pub raw_json: Value,
}

/// One validated message event. Optional collections distinguish "not mentioned" (`None`, a
/// sparse update) from "explicitly empty" (`Some(vec![])`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageEvent {
    pub idempotency_key: String,
    pub event_type: MessageEventType,
    pub discord_message_id: MessageId,
    pub discord_guild_id: GuildId,
    pub discord_channel_id: ChannelId,
    /// A thread is a channel on Discord.
    pub discord_thread_id: Option<ChannelId>,
    pub discord_author_id: Option<UserId>,
    pub author_username: Option<String>,
    pub author_global_name: Option<String>,
    /// `None` only for delete events, which need not carry content.
    pub content_raw: Option<String>,
    pub content_clean: Option<String>,
    pub created_at: Option<Timestamp>,
    pub edited_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    pub attachments: Option<Vec<Attachment>>,
    pub embeds: Option<Vec<Embed>>,
    pub mentioned_role_ids: Option<Vec<RoleId>>,
    pub mentioned_user_ids: Option<Vec<UserId>>,
}

impl MessageEvent {
    /// A digest of the whole event. Two deliveries of the same event have the same fingerprint;
    /// two different edits (which share an idempotency key) do not.
    pub fn fingerprint(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(&bytes)[..16])
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageBatch {
    pub tenant_key: String,
    pub connector_id: String,
    pub batch_id: Option<String>,
    pub sent_at: Option<Timestamp>,
    /// The valid messages, in request order.
    pub messages: Vec<MessageEvent>,
    /// Positions in `messages` whose `created_at` was replaced by the time their id encodes.
    pub corrected: Vec<usize>,
    /// The items refused, each with the fields that made it invalid.
    pub rejected: Vec<RejectedItem>,
}

/// Parses a body into JSON, turning syntax errors into a 400 that says where.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::bad_request(
            "request body is empty; expected a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "invalid JSON at line {} column {}: {}",
            e.line(),
            e.column(),
            e
        ))
    })
}

/// Compares the body's `tenant_key`/`connector_id` with the authenticated connector. Returns a
/// 403 on mismatch; missing or mistyped fields are left to validation (a 400 that names them).
pub fn check_scope(body: &Value, tenant_key: &str, connector_id: &str) -> Result<(), ApiError> {
    for (field, expected) in [("tenant_key", tenant_key), ("connector_id", connector_id)] {
        if let Some(Value::String(s)) = body.get(field) {
            if s != expected {
                return Err(ApiError::forbidden(format!(
                    "{field} does not match the connector this token belongs to"
                )));
            }
        }
    }
    Ok(())
}

fn scope_fields(o: &mut Obj<'_, '_>) -> (Option<String>, Option<String>) {
    let tenant = o.required_nonempty("tenant_key", 64).map(str::to_string);
    let connector = o.required_nonempty("connector_id", 64).map(str::to_string);
    (tenant, connector)
}

/// Parses a batch. Only the envelope (`tenant_key`, `connector_id`, `messages` and its size,
/// the optional `batch_id` and `sent_at`) can fail the request; each message is validated on its
/// own and refused alone. `now_ms` is the receiving time, against which impossible times are
/// judged.
pub fn parse_message_batch(
    body: &Value,
    limits: &Limits,
    now_ms: i64,
) -> Result<MessageBatch, Vec<FieldError>> {
    let mut problems = Problems::new();
    let Some(mut o) = Obj::new(body, "", &mut problems) else {
        return Err(problems.into_vec());
    };
    let (tenant_key, connector_id) = scope_fields(&mut o);
    let batch_id = o
        .optional_str("batch_id", MAX_KEY_CHARS)
        .map(str::to_string);
    let sent_at = o.optional_timestamp("sent_at");
    let items = o.required_array("messages", usize::MAX);
    if let Some(items) = items {
        if items.len() > limits.max_batch {
            o.problem(
                "messages",
                format!(
                    "has {} events; at most {} per batch",
                    items.len(),
                    limits.max_batch
                ),
            );
        }
    }
    let (Some(tenant_key), Some(connector_id), Some(items), true) =
        (tenant_key, connector_id, items, problems.is_empty())
    else {
        return Err(problems.into_vec());
    };
    let mut batch = MessageBatch {
        tenant_key,
        connector_id,
        batch_id,
        sent_at,
        messages: Vec::with_capacity(items.len()),
        corrected: Vec::new(),
        rejected: Vec::new(),
    };
    for (i, item) in items.iter().enumerate() {
        let path = index("messages", i);
        let mut item_problems = Problems::new();
        let parsed = parse_message_event(item, &path, limits, &mut item_problems);
        let corrected = parsed
            .as_ref()
            .map(|ev| check_times(ev, &path, now_ms, &mut item_problems));
        match (parsed, corrected) {
            (Some(mut ev), Some(corrected)) if item_problems.is_empty() => {
                if let Some(at) = corrected {
                    ev.created_at = Some(at);
                    batch.corrected.push(batch.messages.len());
                }
                batch.messages.push(ev);
            }
            _ => batch.rejected.push(RejectedItem::new(
                IngestRoute::MessageBatch,
                i,
                item,
                item_problems.into_vec(),
            )),
        }
    }
    Ok(batch)
}

/// How far a connector's `created_at` may stray from the time its message id encodes before the
/// id's time replaces it (clocks and rounding differ; a cache-less delete sends "now").
pub const CREATED_AT_TOLERANCE_MS: i64 = 60_000;
/// How far in the future an id, `edited_at` or `deleted_at` may lie: clock skew, not a forgery
/// that would pin a signal on top of every dashboard.
pub const FUTURE_TOLERANCE_MS: i64 = 5 * 60_000;

/// Applies the time rules to one valid event. A Discord id encodes its creation time to the
/// millisecond, so that time is the truth: an id in the future, or an edit or delete time in
/// the future or before the creation, is a problem; a `created_at` that disagrees with the id
/// is replaced, and the replacement is returned.
fn check_times(
    ev: &MessageEvent,
    path: &str,
    now_ms: i64,
    problems: &mut Problems,
) -> Option<Timestamp> {
    let field = |key: &str| crate::validate::join(path, key);
    let created = ev.discord_message_id.timestamp_ms();
    let latest = now_ms.saturating_add(FUTURE_TOLERANCE_MS);
    if created > latest {
        problems.push(
            field("discord_message_id"),
            format!(
                "encodes a creation time {} in the future; a Discord id encodes when its message was created",
                Timestamp::from_ms(created).to_rfc3339()
            ),
        );
        return None;
    }
    for (key, at) in [("edited_at", ev.edited_at), ("deleted_at", ev.deleted_at)] {
        let Some(at) = at else { continue };
        if at.ms() > latest {
            problems.push(field(key), format!("{} is in the future", at.to_rfc3339()));
        } else if at.ms() < created - CREATED_AT_TOLERANCE_MS {
            problems.push(
                field(key),
                format!(
                    "{} is before the message was created ({}, the time its id encodes)",
                    at.to_rfc3339(),
                    Timestamp::from_ms(created).to_rfc3339()
                ),
            );
        }
    }
    match ev.created_at {
        Some(at) if (at.ms() - created).abs() > CREATED_AT_TOLERANCE_MS => {
            Some(Timestamp::from_ms(created))
        }
        _ => None,
    }
}

pub fn parse_message_event(
    value: &Value,
    path: &str,
    limits: &Limits,
    problems: &mut Problems,
) -> Option<MessageEvent> {
    let mut o = Obj::new(value, path, problems)?;
    let idempotency_key = o.required_nonempty("idempotency_key", MAX_KEY_CHARS);
    let event_type = o
        .required_enum("event_type", &["create", "update", "delete"])
        .map(|t| match t {
            "create" => MessageEventType::Create,
            "update" => MessageEventType::Update,
            _ => MessageEventType::Delete,
        });
    let message_id = o.required_snowflake("discord_message_id");
    let guild_id = o.required_snowflake("discord_guild_id");
    let channel_id = o.required_snowflake("discord_channel_id");
    let thread_id = o.optional_snowflake("discord_thread_id");
    let author_id = o.optional_snowflake("discord_author_id");
    let author_username = o.optional_str("author_username", MAX_NAME_CHARS);
    let author_global_name = o.optional_str("author_global_name", MAX_NAME_CHARS);

    // A delete carries ids; everything describing content is optional for it.
    let is_delete = event_type == Some(MessageEventType::Delete);
    let (content_raw, content_clean, created_at) = if is_delete {
        (
            o.optional_str("content_raw", limits.max_content_chars),
            o.optional_str("content_clean", limits.max_content_chars),
            o.optional_timestamp("created_at"),
        )
    } else {
        (
            o.required_str("content_raw", limits.max_content_chars),
            o.required_str("content_clean", limits.max_content_chars),
            o.required_timestamp("created_at"),
        )
    };
    let edited_at = o.optional_timestamp("edited_at");
    let deleted_at = o.optional_timestamp("deleted_at");

    let attachments = o
        .optional_array("attachments", limits.max_attachments)
        .map(|items| {
            let base = crate::validate::join(path, "attachments");
            items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| parse_attachment(v, &index(&base, i), o.problems))
                .collect::<Vec<_>>()
        });
    let embeds = o.optional_array("embeds", limits.max_embeds).map(|items| {
        let base = crate::validate::join(path, "embeds");
        items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| parse_embed(v, &index(&base, i), o.problems))
            .collect::<Vec<_>>()
    });
    let mentioned_role_ids = o.optional_snowflakes("mentioned_role_ids", limits.max_mentions);
    let mentioned_user_ids = o.optional_snowflakes("mentioned_user_ids", limits.max_mentions);

    Some(MessageEvent {
        idempotency_key: idempotency_key?.to_string(),
        event_type: event_type?,
        discord_message_id: message_id?,
        discord_guild_id: guild_id?,
        discord_channel_id: channel_id?,
        discord_thread_id: thread_id,
        discord_author_id: author_id,
        author_username: author_username.map(str::to_string),
        author_global_name: author_global_name.map(str::to_string),
        content_raw: if is_delete {
            content_raw.map(str::to_string)
        } else {
            Some(content_raw?.to_string())
        },
        content_clean: if is_delete {
            content_clean.map(str::to_string)
        } else {
            Some(content_clean?.to_string())
        },
        created_at: if is_delete {
            created_at
        } else {
            Some(created_at?)
        },
        edited_at,
        deleted_at,
        attachments,
        embeds,
        mentioned_role_ids,
        mentioned_user_ids,
    })
}

fn parse_attachment(value: &Value, path: &str, problems: &mut Problems) -> Option<Attachment> {
    let mut o = Obj::new(value, path, problems)?;
    let id = o.required_snowflake("discord_attachment_id");
    let filename = o.required_str("filename", MAX_NAME_CHARS);
    let source_url = o.required_nonempty("source_url", MAX_URL_CHARS);
    if let Some(url) = source_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            o.problem("source_url", "must be an http(s) URL");
        }
    }
    let size = o.required_int("size", 0, i64::MAX);
    let content_type = o.optional_str("content_type", 255);
    let source_url = source_url.filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    Some(Attachment {
        discord_attachment_id: id?,
        filename: filename?.to_string(),
        source_url: source_url?.to_string(),
        size: size? as u64,
        content_type: content_type.map(str::to_string),
    })
}

fn parse_embed(value: &Value, path: &str, problems: &mut Problems) -> Option<Embed> {
    let mut o = Obj::new(value, path, problems)?;
    let embed_index = o.required_int("embed_index", 0, 1_000);
    let embed_type = o.optional_str("embed_type", 64);
    let title = o.optional_str("title", MAX_TEXT_CHARS);
    let description = o.optional_str("description", MAX_TEXT_CHARS);
    let url = o.optional_str("url", MAX_URL_CHARS);
    // Connectors send the embed either as an object or as a JSON-encoded string; both are kept.
    let raw_json = o.get("raw_json").cloned().unwrap_or(Value::Null);
    Some(Embed {
        embed_index: embed_index? as u32,
        embed_type: embed_type.map(str::to_string),
        title: title.map(str::to_string),
        description: description.map(str::to_string),
        url: url.map(str::to_string),
        raw_json,
    })
}

// ---------------------------------------------------------------------------------------------
// Threads

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadEventType {
    Create,
    Update,
    Delete,
    MembersUpdate,
}

/// A thread event's fields. Everything after `guild_id` is optional: sparse events (only the
/// three ids) occur and must be accepted; absent fields leave stored values alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadPatch {
    pub discord_thread_id: Option<ChannelId>,
    pub parent_channel_id: Option<ChannelId>,
    pub guild_id: Option<GuildId>,
    pub name: Option<String>,
    pub archived: Option<bool>,
    pub locked: Option<bool>,
    pub auto_archive_duration: Option<i64>,
    pub archive_timestamp: Option<Timestamp>,
    pub message_count: Option<i64>,
    pub member_count: Option<i64>,
    pub rate_limit_per_user: Option<i64>,
    pub owner_id: Option<UserId>,
    pub owner_username: Option<String>,
    pub owner_global_name: Option<String>,
    pub last_message_id: Option<MessageId>,
    pub last_message_at: Option<Timestamp>,
    pub created_timestamp: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberDelta {
    pub added: Vec<UserId>,
    pub removed: Vec<UserId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadEvent {
    pub idempotency_key: String,
    pub event_type: ThreadEventType,
    pub thread: ThreadPatch,
    pub member_delta: Option<MemberDelta>,
}

impl ThreadEvent {
    pub fn thread_id(&self) -> &ChannelId {
        // Validation guarantees presence.
        self.thread
            .discord_thread_id
            .as_ref()
            .expect("validated thread id")
    }

    pub fn fingerprint(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(&bytes)[..16])
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThreadRequest {
    pub tenant_key: String,
    pub connector_id: String,
    pub event: ThreadEvent,
    /// Entries of `member_delta.added` / `.removed` refused; the rest of the event applies.
    pub rejected: Vec<RejectedItem>,
}

pub fn parse_thread_request(
    body: &Value,
    limits: &Limits,
) -> Result<ThreadRequest, Vec<FieldError>> {
    let mut problems = Problems::new();
    let Some(mut o) = Obj::new(body, "", &mut problems) else {
        return Err(problems.into_vec());
    };
    let (tenant_key, connector_id) = scope_fields(&mut o);
    let idempotency_key = o.required_nonempty("idempotency_key", MAX_KEY_CHARS);
    let event_type = o
        .required_enum(
            "event_type",
            &["create", "update", "delete", "members_update"],
        )
        .map(|t| match t {
            "create" => ThreadEventType::Create,
            "update" => ThreadEventType::Update,
            "delete" => ThreadEventType::Delete,
            _ => ThreadEventType::MembersUpdate,
        });
    let thread = match o.child("thread") {
        Some(mut t) => {
            let patch = ThreadPatch {
                discord_thread_id: t.required_snowflake("discord_thread_id"),
                parent_channel_id: t.required_snowflake("parent_channel_id"),
                guild_id: t.required_snowflake("guild_id"),
                name: t.optional_str("name", MAX_NAME_CHARS).map(str::to_string),
                archived: t.optional_bool("archived"),
                locked: t.optional_bool("locked"),
                auto_archive_duration: t.optional_int("auto_archive_duration", 0, 100_000),
                archive_timestamp: t.optional_timestamp("archive_timestamp"),
                message_count: t.optional_int("message_count", 0, i64::MAX),
                member_count: t.optional_int("member_count", 0, i64::MAX),
                rate_limit_per_user: t.optional_int("rate_limit_per_user", 0, 1_000_000),
                owner_id: t.optional_snowflake("owner_id"),
                owner_username: t
                    .optional_str("owner_username", MAX_NAME_CHARS)
                    .map(str::to_string),
                owner_global_name: t
                    .optional_str("owner_global_name", MAX_NAME_CHARS)
                    .map(str::to_string),
                last_message_id: t.optional_snowflake("last_message_id"),
                last_message_at: t.optional_timestamp("last_message_at"),
                created_timestamp: t.optional_timestamp("created_timestamp"),
            };
            Some(patch)
        }
        None => {
            if !o.has("thread") {
                o.problem("thread", "is required");
            }
            None
        }
    };
    let delta_lists = o.child("member_delta").map(|mut d| {
        (
            d.optional_array("added", limits.max_member_delta),
            d.optional_array("removed", limits.max_member_delta),
        )
    });
    let mut rejected = Vec::new();
    let member_delta = delta_lists.map(|(added, removed)| {
        let key = idempotency_key.unwrap_or("");
        MemberDelta {
            added: member_ids(added, "added", key, &mut rejected),
            removed: member_ids(removed, "removed", key, &mut rejected),
        }
    });
    if problems.is_empty() {
        if let (Some(tenant_key), Some(connector_id), Some(key), Some(event_type), Some(thread)) = (
            tenant_key,
            connector_id,
            idempotency_key,
            event_type,
            thread,
        ) {
            return Ok(ThreadRequest {
                tenant_key,
                connector_id,
                event: ThreadEvent {
                    idempotency_key: key.to_string(),
                    event_type,
                    thread,
                    member_delta,
                },
                rejected,
            });
        }
    }
    Err(problems.into_vec())
}

/// The valid user ids of a member-delta list; each bad entry is refused alone. The thread
/// event's key travels with it (and into its fingerprint), so the operator can find the event.
fn member_ids(
    items: Option<&Vec<Value>>,
    list: &str,
    key: &str,
    rejected: &mut Vec<RejectedItem>,
) -> Vec<UserId> {
    let mut out = Vec::new();
    for (i, item) in items.into_iter().flatten().enumerate() {
        let problem = match item {
            Value::String(s) => match Snowflake::parse(s) {
                Ok(id) => {
                    out.push(id);
                    continue;
                }
                Err(problem) => problem.to_string(),
            },
            other => format!(
                "must be a decimal string, got {}",
                crate::validate::type_name(other)
            ),
        };
        let field = index(&format!("member_delta.{list}"), i);
        let entry = serde_json::json!({"idempotency_key": key, "list": list, "entry": item});
        rejected.push(RejectedItem::new(
            IngestRoute::Thread,
            i,
            &entry,
            vec![FieldError::new(field, problem)],
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Discovery snapshots

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveredGuild {
    pub discord_guild_id: GuildId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveredChannel {
    pub discord_channel_id: ChannelId,
    pub guild_id: GuildId,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<i64>,
    pub parent_id: Option<ChannelId>,
    pub position: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiscoverySync {
    pub tenant_key: String,
    pub connector_id: String,
    pub idempotency_key: Option<String>,
    pub guilds: Vec<DiscoveredGuild>,
    pub channels: Vec<DiscoveredChannel>,
    /// Guild and channel entries refused (`fields` say which list).
    pub rejected: Vec<RejectedItem>,
}

/// Parses a discovery snapshot. The envelope fails the request; a bad guild or channel entry
/// is refused alone and the rest is stored.
pub fn parse_discovery_sync(
    body: &Value,
    limits: &Limits,
) -> Result<DiscoverySync, Vec<FieldError>> {
    let mut problems = Problems::new();
    let Some(mut o) = Obj::new(body, "", &mut problems) else {
        return Err(problems.into_vec());
    };
    let (tenant_key, connector_id) = scope_fields(&mut o);
    let idempotency_key = o
        .optional_str("idempotency_key", MAX_KEY_CHARS)
        .map(str::to_string);
    let guild_items = o.optional_array("guilds", limits.max_sync_guilds);
    let channel_items = o.optional_array("channels", limits.max_sync_channels);
    let (Some(tenant_key), Some(connector_id), true) =
        (tenant_key, connector_id, problems.is_empty())
    else {
        return Err(problems.into_vec());
    };
    let mut rejected = Vec::new();
    let guilds = each_item(guild_items, "guilds", &mut rejected, |g| {
        let id = g.required_snowflake("discord_guild_id");
        let name = g.optional_str("name", MAX_NAME_CHARS).unwrap_or("");
        Some(DiscoveredGuild {
            discord_guild_id: id?,
            name: name.to_string(),
        })
    });
    let channels = each_item(channel_items, "channels", &mut rejected, |c| {
        let id = c.required_snowflake("discord_channel_id");
        let guild_id = c.required_snowflake("guild_id");
        let name = c.optional_str("name", MAX_NAME_CHARS).unwrap_or("");
        let kind = c.optional_int("type", 0, 1_000);
        let parent_id = c.optional_snowflake("parent_id");
        let position = c.optional_int("position", -1_000_000, 1_000_000);
        Some(DiscoveredChannel {
            discord_channel_id: id?,
            guild_id: guild_id?,
            name: name.to_string(),
            kind,
            parent_id,
            position,
        })
    });
    Ok(DiscoverySync {
        tenant_key,
        connector_id,
        idempotency_key,
        guilds,
        channels,
        rejected,
    })
}

/// Parses each object of a list on its own; an entry with any problem becomes a rejection.
fn each_item<T>(
    items: Option<&Vec<Value>>,
    list: &str,
    rejected: &mut Vec<RejectedItem>,
    mut parse: impl FnMut(&mut Obj<'_, '_>) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, item) in items.into_iter().flatten().enumerate() {
        let path = index(list, i);
        let mut p = Problems::new();
        let parsed = Obj::new(item, &path, &mut p).and_then(|mut o| parse(&mut o));
        match parsed {
            Some(v) if p.is_empty() => out.push(v),
            _ => rejected.push(RejectedItem::new(
                IngestRoute::ChannelGuildSync,
                i,
                item,
                p.into_vec(),
            )),
        }
    }
    out
}

/// Validates a tenant key or connector id taken from a URL or query string.
pub fn check_path_slug(field: &str, value: &str) -> Result<(), ApiError> {
    check_slug(value)
        .map_err(|problem| ApiError::invalid_fields(vec![FieldError::new(field, problem)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2025-01-31T12:00:01Z, when the test batches are received.
    const NOW: i64 = 1_738_324_801_000;
    /// 2025-01-31T12:00:00Z, when the test messages were created.
    const CREATED: i64 = 1_738_324_800_000;

    /// A message id encoding `ms` (plus a sequence number to keep ids distinct).
    fn id_at(ms: i64, n: u64) -> String {
        ((((ms as u64) - crate::ids::DISCORD_EPOCH_MS) << 22) + n).to_string()
    }

    /// A message created at `CREATED`; `id` only tells messages apart.
    pub(crate) fn msg(id: &str, ty: &str) -> Value {
        let id = id_at(CREATED, id.parse().unwrap_or(0));
        json!({
            "idempotency_key": format!("t1:conn_01:message:{id}:{ty}"),
            "event_type": ty,
            "discord_message_id": id,
            "discord_guild_id": "111111111111111111",
            "discord_channel_id": "222222222222222222",
            "discord_thread_id": null,
            "discord_author_id": "333333333333333333",
            "author_username": "analyst",
            "author_global_name": "The Analyst",
            "content_raw": "BTC long 65000 <@&444444444444444444>",
            "content_clean": "BTC long 65000 @VIP",
            "created_at": "2025-01-31T12:00:00.000Z",
            "edited_at": null,
            "deleted_at": null,
            "attachments": [{"discord_attachment_id": "555555555555555555", "filename": "chart.png",
                             "source_url": "https://cdn.discordapp.com/a/chart.png", "size": 1234,
                             "content_type": "image/png"}],
            "embeds": [{"embed_index": 0, "embed_type": "rich", "title": "T", "raw_json": {"title": "T"}}],
            "mentioned_role_ids": ["444444444444444444"],
            "mentioned_user_ids": []
        })
    }

    fn batch(messages: Vec<Value>) -> Value {
        json!({"connector_id": "conn_01", "tenant_key": "t1", "sent_at": "2025-01-31T12:00:01Z",
               "batch_id": "b-1", "messages": messages})
    }

    #[test]
    fn parses_a_full_batch() {
        let b =
            parse_message_batch(&batch(vec![msg("1", "create")]), &Limits::default(), NOW).unwrap();
        assert_eq!(b.tenant_key, "t1");
        assert_eq!(b.messages.len(), 1);
        let m = &b.messages[0];
        assert_eq!(m.event_type, MessageEventType::Create);
        assert_eq!(m.attachments.as_ref().unwrap()[0].size, 1234);
        assert_eq!(m.embeds.as_ref().unwrap()[0].raw_json["title"], "T");
        assert_eq!(m.mentioned_user_ids.as_deref(), Some(&[][..]));
    }

    #[test]
    fn a_bad_message_is_refused_alone_naming_every_bad_field() {
        let mut bad = msg("1", "create");
        bad["discord_channel_id"] = json!(222222222222222222u64);
        bad["created_at"] = json!("yesterday");
        bad["attachments"][0]["size"] = json!(-1);
        bad["event_type"] = json!("upsert");
        let mut also_bad = msg("2", "update");
        also_bad.as_object_mut().unwrap().remove("content_raw");
        let good = msg("3", "create");
        let b = parse_message_batch(
            &batch(vec![bad, good.clone(), also_bad, json!("not an object")]),
            &Limits::default(),
            NOW,
        )
        .unwrap();
        assert_eq!(b.messages.len(), 1);
        assert_eq!(
            b.messages[0].discord_message_id.as_str(),
            good["discord_message_id"]
        );
        let r: Vec<_> = b.rejected.iter().map(|r| &r.rejection).collect();
        assert_eq!(r.iter().map(|r| r.index).collect::<Vec<_>>(), vec![0, 2, 3]);
        let fields =
            |i: usize| -> Vec<&str> { r[i].fields.iter().map(|f| f.field.as_str()).collect() };
        assert_eq!(
            fields(0),
            vec![
                "messages[0].event_type",
                "messages[0].discord_channel_id",
                "messages[0].created_at",
                "messages[0].attachments[0].size",
            ]
        );
        assert_eq!(fields(1), vec!["messages[2].content_raw"]);
        assert_eq!(fields(2), vec!["messages[3]"]);
        assert_eq!(
            r[1].idempotency_key.as_deref(),
            Some(format!("t1:conn_01:message:{}:update", id_at(CREATED, 2)).as_str())
        );
        assert_eq!(r[2].idempotency_key, None);
        assert!(r.iter().all(|r| r.error_code == "bad_request"));
    }

    /// The acceptance case: three messages, one with a malformed `edited_at`.
    #[test]
    fn three_messages_one_malformed_edit_time() {
        let mut bad = msg("2", "update");
        bad["edited_at"] = json!("2025-13-45T99:00:00Z");
        let b = parse_message_batch(
            &batch(vec![msg("1", "create"), bad, msg("3", "create")]),
            &Limits::default(),
            NOW,
        )
        .unwrap();
        assert_eq!(b.messages.len(), 2);
        assert_eq!(b.rejected.len(), 1);
        assert_eq!(b.rejected[0].rejection.index, 1);
        assert_eq!(
            b.rejected[0].rejection.fields[0].field,
            "messages[1].edited_at"
        );
    }

    #[test]
    fn created_at_comes_from_the_id() {
        // Year 9999: would sit on top of every dashboard for ever.
        let mut far = msg("1", "create");
        far["created_at"] = json!("9999-12-31T23:59:59Z");
        // A delete without a cached message reports "now" (here: its clock runs minutes ahead).
        let mut del = msg("2", "delete");
        del["created_at"] = json!("2025-01-31T12:05:00Z");
        del["deleted_at"] = json!("2025-01-31T12:05:00Z");
        // Within the tolerance: kept as sent.
        let mut near = msg("3", "create");
        near["created_at"] = json!("2025-01-31T12:00:30Z");
        let mut old = msg("4", "update");
        old["created_at"] = json!("2020-01-01T00:00:00Z");
        let b = parse_message_batch(&batch(vec![far, del, near, old]), &Limits::default(), NOW)
            .unwrap();
        assert!(b.rejected.is_empty(), "{:?}", b.rejected);
        let created: Vec<i64> = b
            .messages
            .iter()
            .map(|m| m.created_at.unwrap().ms())
            .collect();
        assert_eq!(created, vec![CREATED, CREATED, CREATED + 30_000, CREATED]);
        assert_eq!(b.corrected, vec![0, 1, 3]);
        // An edit exactly at the tolerance of a minute stays too.
        let mut edge = msg("5", "create");
        edge["created_at"] = json!("2025-01-31T12:01:00Z");
        let b = parse_message_batch(&batch(vec![edge]), &Limits::default(), NOW).unwrap();
        assert!(b.corrected.is_empty());
    }

    #[test]
    fn impossible_times_are_refused_with_the_field_named() {
        let future_id = {
            let mut m = msg("1", "create");
            let id = id_at(NOW + FUTURE_TOLERANCE_MS + 1_000, 1);
            m["discord_message_id"] = json!(id);
            m
        };
        let mut future_edit = msg("2", "update");
        future_edit["edited_at"] = json!("2025-01-31T12:10:00Z");
        let mut future_delete = msg("3", "delete");
        future_delete["deleted_at"] = json!("2026-01-01T00:00:00Z");
        let mut edit_before_create = msg("4", "update");
        edit_before_create["edited_at"] = json!("2025-01-31T11:58:59Z");
        let mut skewed = msg("5", "update");
        // A few minutes of clock skew are tolerated.
        skewed["edited_at"] = json!("2025-01-31T12:04:00Z");
        let mut near_future_id = msg("6", "create");
        near_future_id["discord_message_id"] = json!(id_at(NOW + 60_000, 6));
        near_future_id["created_at"] = json!("2025-01-31T12:01:01Z");
        let b = parse_message_batch(
            &batch(vec![
                future_id,
                future_edit,
                future_delete,
                edit_before_create,
                skewed,
                near_future_id,
            ]),
            &Limits::default(),
            NOW,
        )
        .unwrap();
        let refused: Vec<(usize, &str)> = b
            .rejected
            .iter()
            .map(|r| (r.rejection.index, r.rejection.fields[0].field.as_str()))
            .collect();
        assert_eq!(
            refused,
            vec![
                (0, "messages[0].discord_message_id"),
                (1, "messages[1].edited_at"),
                (2, "messages[2].deleted_at"),
                (3, "messages[3].edited_at"),
            ]
        );
        assert_eq!(b.messages.len(), 2);
        assert!(b.rejected[3].rejection.fields[0]
            .problem
            .contains("before the message was created"));
    }

    #[test]
    fn sparse_update_keeps_absent_collections_unmentioned() {
        let mut up = msg("1", "update");
        let o = up.as_object_mut().unwrap();
        o.remove("attachments");
        o.insert("embeds".into(), Value::Null);
        let b = parse_message_batch(&batch(vec![up]), &Limits::default(), NOW).unwrap();
        assert!(b.messages[0].attachments.is_none());
        assert!(b.messages[0].embeds.is_none());
    }

    #[test]
    fn delete_needs_only_ids() {
        let del = json!({"idempotency_key": "k", "event_type": "delete", "discord_message_id": "1",
                         "discord_guild_id": "2", "discord_channel_id": "3"});
        let b = parse_message_batch(&batch(vec![del]), &Limits::default(), NOW).unwrap();
        assert_eq!(b.messages[0].content_raw, None);
        assert_eq!(b.messages[0].created_at, None);
    }

    #[test]
    fn batch_limit_and_shape() {
        let limits = Limits {
            max_batch: 2,
            ..Limits::default()
        };
        let errs = parse_message_batch(
            &batch(vec![
                msg("1", "create"),
                msg("2", "create"),
                msg("3", "create"),
            ]),
            &limits,
            NOW,
        )
        .unwrap_err();
        assert_eq!(errs[0].field, "messages");
        let errs = parse_message_batch(&json!({"messages": "x"}), &limits, NOW).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["tenant_key", "connector_id", "messages"]);
        assert!(parse_message_batch(&json!([]), &limits, NOW).is_err());
        // The envelope fails the request even when every message is fine.
        let mut b = batch(vec![msg("1", "create")]);
        b["sent_at"] = json!("soon");
        let errs = parse_message_batch(&b, &limits, NOW).unwrap_err();
        assert_eq!(errs[0].field, "sent_at");
    }

    #[test]
    fn scope_mismatch_is_forbidden_not_bad_request() {
        let body = batch(vec![]);
        assert!(check_scope(&body, "t1", "conn_01").is_ok());
        assert_eq!(
            check_scope(&body, "t2", "conn_01").unwrap_err().status(),
            403
        );
        assert_eq!(
            check_scope(&body, "t1", "conn_02").unwrap_err().status(),
            403
        );
        // Missing fields are a validation matter.
        assert!(check_scope(&json!({}), "t1", "conn_01").is_ok());
    }

    #[test]
    fn fingerprint_separates_edits_sharing_a_key() {
        let b1 =
            parse_message_batch(&batch(vec![msg("1", "update")]), &Limits::default(), NOW).unwrap();
        let mut second = msg("1", "update");
        second["content_raw"] = json!("edited");
        let b2 = parse_message_batch(&batch(vec![second]), &Limits::default(), NOW).unwrap();
        assert_eq!(
            b1.messages[0].idempotency_key,
            b2.messages[0].idempotency_key
        );
        assert_ne!(b1.messages[0].fingerprint(), b2.messages[0].fingerprint());
        let again =
            parse_message_batch(&batch(vec![msg("1", "update")]), &Limits::default(), NOW).unwrap();
        assert_eq!(
            b1.messages[0].fingerprint(),
            again.messages[0].fingerprint()
        );
    }

    #[test]
    fn thread_events_accept_sparse_payloads() {
        let sparse = json!({"connector_id": "c", "tenant_key": "t", "idempotency_key": "k",
            "event_type": "update",
            "thread": {"discord_thread_id": "1", "parent_channel_id": "2", "guild_id": "3"}});
        let r = parse_thread_request(&sparse, &Limits::default()).unwrap();
        assert_eq!(r.event.thread.name, None);
        let full = json!({"connector_id": "c", "tenant_key": "t", "idempotency_key": "k",
            "event_type": "members_update",
            "thread": {"discord_thread_id": "1", "parent_channel_id": "2", "guild_id": "3",
                       "name": "BTC", "archived": false, "locked": false, "auto_archive_duration": 1440,
                       "archive_timestamp": null, "message_count": 4, "member_count": 2,
                       "rate_limit_per_user": 0, "owner_id": null, "owner_username": null,
                       "owner_global_name": null, "last_message_id": null, "last_message_at": null,
                       "created_timestamp": null},
            "member_delta": {"added": ["9"], "removed": []}});
        let r = parse_thread_request(&full, &Limits::default()).unwrap();
        assert!(r.rejected.is_empty());
        assert_eq!(r.event.member_delta.unwrap().added[0].as_str(), "9");
        let partly_bad = json!({"connector_id": "c", "tenant_key": "t", "idempotency_key": "k",
            "event_type": "members_update",
            "thread": {"discord_thread_id": "1", "parent_channel_id": "2", "guild_id": "3"},
            "member_delta": {"added": ["9", 10, "011"], "removed": ["12"]}});
        let r = parse_thread_request(&partly_bad, &Limits::default()).unwrap();
        let delta = r.event.member_delta.as_ref().unwrap();
        assert_eq!(delta.added.len(), 1);
        assert_eq!(delta.removed.len(), 1);
        let fields: Vec<&str> = r
            .rejected
            .iter()
            .map(|x| x.rejection.fields[0].field.as_str())
            .collect();
        assert_eq!(
            fields,
            vec!["member_delta.added[1]", "member_delta.added[2]"]
        );
        assert_eq!(
            r.rejected[0].rejection.idempotency_key.as_deref(),
            Some("k")
        );
        let bad = json!({"connector_id": "c", "tenant_key": "t", "idempotency_key": "k",
            "event_type": "rename", "thread": {"discord_thread_id": 1}});
        let fields: Vec<_> = parse_thread_request(&bad, &Limits::default())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "event_type",
                "thread.discord_thread_id",
                "thread.parent_channel_id",
                "thread.guild_id"
            ]
        );
    }

    #[test]
    fn discovery_sync() {
        let body = json!({"connector_id": "c", "tenant_key": "t", "idempotency_key": "k",
            "guilds": [{"discord_guild_id": "1", "name": "Signals HQ"}],
            "channels": [{"discord_channel_id": "2", "guild_id": "1", "name": "btc", "type": 0,
                          "parent_id": null, "position": 3}]});
        let s = parse_discovery_sync(&body, &Limits::default()).unwrap();
        assert_eq!(s.guilds[0].name, "Signals HQ");
        assert_eq!(s.channels[0].position, Some(3));
        let bad = json!({"connector_id": "c", "tenant_key": "t",
            "guilds": [{"discord_guild_id": "1"}, 7],
            "channels": [{"guild_id": "x"}, {"discord_channel_id": "2", "guild_id": "1"}]});
        let s = parse_discovery_sync(&bad, &Limits::default()).unwrap();
        assert_eq!(s.guilds.len(), 1);
        assert_eq!(s.channels.len(), 1);
        let fields: Vec<Vec<&str>> = s
            .rejected
            .iter()
            .map(|r| {
                r.rejection
                    .fields
                    .iter()
                    .map(|f| f.field.as_str())
                    .collect()
            })
            .collect();
        assert_eq!(
            fields,
            vec![
                vec!["guilds[1]"],
                vec!["channels[0].discord_channel_id", "channels[0].guild_id"]
            ]
        );
        assert_eq!(s.rejected[1].rejection.index, 0);
        // The envelope still fails whole.
        let errs = parse_discovery_sync(
            &json!({"tenant_key": "t", "channels": {}}),
            &Limits::default(),
        )
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["connector_id", "channels"]);
    }

    #[test]
    fn json_errors_are_400s() {
        assert_eq!(parse_json(b"{").unwrap_err().status(), 400);
        assert_eq!(parse_json(b"  ").unwrap_err().status(), 400);
        assert!(parse_json(b"{}").is_ok());
    }
}
