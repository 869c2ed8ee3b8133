//! The connector wire protocol (`shared/connector-protocol.md`): parsing and validation of the
//! three ingest payloads into typed events.
//!
//! Validation is all-or-nothing per request: a batch with one bad message is rejected whole,
//! naming every bad field, so nothing is partially written. Limits are generous on purpose: a
//! rejected batch is dropped by the connector (4xx is terminal), so a limit that a real Discord
//! message can exceed would lose data.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::encoding::hex;
use crate::error::ApiError;
use crate::ids::{check_slug, Snowflake};
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
    pub discord_attachment_id: Snowflake,
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
    pub discord_message_id: Snowflake,
    pub discord_guild_id: Snowflake,
    pub discord_channel_id: Snowflake,
    pub discord_thread_id: Option<Snowflake>,
    pub discord_author_id: Option<Snowflake>,
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
    pub mentioned_role_ids: Option<Vec<Snowflake>>,
    pub mentioned_user_ids: Option<Vec<Snowflake>>,
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
    pub messages: Vec<MessageEvent>,
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

pub fn parse_message_batch(body: &Value, limits: &Limits) -> Result<MessageBatch, Vec<FieldError>> {
    let mut problems = Problems::new();
    let Some(mut o) = Obj::new(body, "", &mut problems) else {
        return Err(problems.into_vec());
    };
    let (tenant_key, connector_id) = scope_fields(&mut o);
    let batch_id = o
        .optional_str("batch_id", MAX_KEY_CHARS)
        .map(str::to_string);
    let sent_at = o.optional_timestamp("sent_at");
    let mut messages = Vec::new();
    if let Some(items) = o.required_array("messages", usize::MAX) {
        if items.len() > limits.max_batch {
            o.problem(
                "messages",
                format!(
                    "has {} events; at most {} per batch",
                    items.len(),
                    limits.max_batch
                ),
            );
        } else {
            messages.reserve(items.len());
            for (i, item) in items.iter().enumerate() {
                if let Some(ev) =
                    parse_message_event(item, &index("messages", i), limits, o.problems)
                {
                    messages.push(ev);
                }
            }
        }
    }
    match (tenant_key, connector_id) {
        (Some(tenant_key), Some(connector_id)) if problems.is_empty() => Ok(MessageBatch {
            tenant_key,
            connector_id,
            batch_id,
            sent_at,
            messages,
        }),
        _ => Err(problems.into_vec()),
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
    pub discord_thread_id: Option<Snowflake>,
    pub parent_channel_id: Option<Snowflake>,
    pub guild_id: Option<Snowflake>,
    pub name: Option<String>,
    pub archived: Option<bool>,
    pub locked: Option<bool>,
    pub auto_archive_duration: Option<i64>,
    pub archive_timestamp: Option<Timestamp>,
    pub message_count: Option<i64>,
    pub member_count: Option<i64>,
    pub rate_limit_per_user: Option<i64>,
    pub owner_id: Option<Snowflake>,
    pub owner_username: Option<String>,
    pub owner_global_name: Option<String>,
    pub last_message_id: Option<Snowflake>,
    pub last_message_at: Option<Timestamp>,
    pub created_timestamp: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberDelta {
    pub added: Vec<Snowflake>,
    pub removed: Vec<Snowflake>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadEvent {
    pub idempotency_key: String,
    pub event_type: ThreadEventType,
    pub thread: ThreadPatch,
    pub member_delta: Option<MemberDelta>,
}

impl ThreadEvent {
    pub fn thread_id(&self) -> &Snowflake {
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
    let member_delta = match o.child("member_delta") {
        Some(mut d) => {
            let added = d.optional_snowflakes("added", limits.max_member_delta);
            let removed = d.optional_snowflakes("removed", limits.max_member_delta);
            Some(MemberDelta {
                added: added.unwrap_or_default(),
                removed: removed.unwrap_or_default(),
            })
        }
        None => None,
    };
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
            });
        }
    }
    Err(problems.into_vec())
}

// ---------------------------------------------------------------------------------------------
// Discovery snapshots

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveredGuild {
    pub discord_guild_id: Snowflake,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveredChannel {
    pub discord_channel_id: Snowflake,
    pub guild_id: Snowflake,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<i64>,
    pub parent_id: Option<Snowflake>,
    pub position: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiscoverySync {
    pub tenant_key: String,
    pub connector_id: String,
    pub idempotency_key: Option<String>,
    pub guilds: Vec<DiscoveredGuild>,
    pub channels: Vec<DiscoveredChannel>,
}

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
    let mut guilds = Vec::new();
    if let Some(items) = o.optional_array("guilds", limits.max_sync_guilds) {
        for (i, item) in items.iter().enumerate() {
            let Some(mut g) = Obj::new(item, &index("guilds", i), o.problems) else {
                continue;
            };
            let id = g.required_snowflake("discord_guild_id");
            let name = g.optional_str("name", MAX_NAME_CHARS).unwrap_or("");
            if let Some(id) = id {
                guilds.push(DiscoveredGuild {
                    discord_guild_id: id,
                    name: name.to_string(),
                });
            }
        }
    }
    let mut channels = Vec::new();
    if let Some(items) = o.optional_array("channels", limits.max_sync_channels) {
        for (i, item) in items.iter().enumerate() {
            let Some(mut c) = Obj::new(item, &index("channels", i), o.problems) else {
                continue;
            };
            let id = c.required_snowflake("discord_channel_id");
            let guild_id = c.required_snowflake("guild_id");
            let name = c.optional_str("name", MAX_NAME_CHARS).unwrap_or("");
            let kind = c.optional_int("type", 0, 1_000);
            let parent_id = c.optional_snowflake("parent_id");
            let position = c.optional_int("position", -1_000_000, 1_000_000);
            if let (Some(id), Some(guild_id)) = (id, guild_id) {
                channels.push(DiscoveredChannel {
                    discord_channel_id: id,
                    guild_id,
                    name: name.to_string(),
                    kind,
                    parent_id,
                    position,
                });
            }
        }
    }
    match (tenant_key, connector_id) {
        (Some(tenant_key), Some(connector_id)) if problems.is_empty() => Ok(DiscoverySync {
            tenant_key,
            connector_id,
            idempotency_key,
            guilds,
            channels,
        }),
        _ => Err(problems.into_vec()),
    }
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

    pub(crate) fn msg(id: &str, ty: &str) -> Value {
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
        let b = parse_message_batch(&batch(vec![msg("1", "create")]), &Limits::default()).unwrap();
        assert_eq!(b.tenant_key, "t1");
        assert_eq!(b.messages.len(), 1);
        let m = &b.messages[0];
        assert_eq!(m.event_type, MessageEventType::Create);
        assert_eq!(m.attachments.as_ref().unwrap()[0].size, 1234);
        assert_eq!(m.embeds.as_ref().unwrap()[0].raw_json["title"], "T");
        assert_eq!(m.mentioned_user_ids.as_deref(), Some(&[][..]));
    }

    #[test]
    fn names_every_bad_field() {
        let mut bad = msg("1", "create");
        bad["discord_channel_id"] = json!(222222222222222222u64);
        bad["created_at"] = json!("yesterday");
        bad["attachments"][0]["size"] = json!(-1);
        bad["event_type"] = json!("upsert");
        let mut also_bad = msg("2", "update");
        also_bad.as_object_mut().unwrap().remove("content_raw");
        let errs = parse_message_batch(
            &batch(vec![bad, msg("3", "create"), also_bad]),
            &Limits::default(),
        )
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "messages[0].event_type",
                "messages[0].discord_channel_id",
                "messages[0].created_at",
                "messages[0].attachments[0].size",
                "messages[2].content_raw",
            ]
        );
    }

    #[test]
    fn sparse_update_keeps_absent_collections_unmentioned() {
        let mut up = msg("1", "update");
        let o = up.as_object_mut().unwrap();
        o.remove("attachments");
        o.insert("embeds".into(), Value::Null);
        let b = parse_message_batch(&batch(vec![up]), &Limits::default()).unwrap();
        assert!(b.messages[0].attachments.is_none());
        assert!(b.messages[0].embeds.is_none());
    }

    #[test]
    fn delete_needs_only_ids() {
        let del = json!({"idempotency_key": "k", "event_type": "delete", "discord_message_id": "1",
                         "discord_guild_id": "2", "discord_channel_id": "3"});
        let b = parse_message_batch(&batch(vec![del]), &Limits::default()).unwrap();
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
        )
        .unwrap_err();
        assert_eq!(errs[0].field, "messages");
        let errs = parse_message_batch(&json!({"messages": "x"}), &limits).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["tenant_key", "connector_id", "messages"]);
        assert!(parse_message_batch(&json!([]), &limits).is_err());
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
        let b1 = parse_message_batch(&batch(vec![msg("1", "update")]), &Limits::default()).unwrap();
        let mut second = msg("1", "update");
        second["content_raw"] = json!("edited");
        let b2 = parse_message_batch(&batch(vec![second]), &Limits::default()).unwrap();
        assert_eq!(
            b1.messages[0].idempotency_key,
            b2.messages[0].idempotency_key
        );
        assert_ne!(b1.messages[0].fingerprint(), b2.messages[0].fingerprint());
        let again =
            parse_message_batch(&batch(vec![msg("1", "update")]), &Limits::default()).unwrap();
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
        assert_eq!(r.event.member_delta.unwrap().added[0].as_str(), "9");
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
        let bad = json!({"connector_id": "c", "tenant_key": "t", "channels": [{"guild_id": "x"}]});
        let fields: Vec<_> = parse_discovery_sync(&bad, &Limits::default())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec!["channels[0].discord_channel_id", "channels[0].guild_id"]
        );
    }

    #[test]
    fn json_errors_are_400s() {
        assert_eq!(parse_json(b"{").unwrap_err().status(), 400);
        assert_eq!(parse_json(b"  ").unwrap_err().status(), 400);
        assert!(parse_json(b"{}").is_ok());
    }
}
