//! Channel webhooks: how mirrored messages are posted, edited and deleted.

use serde::Serialize;
use twilight_model::channel::message::{AllowedMentions, Embed, MessageFlags};
use twilight_model::channel::{Message, Webhook};
use twilight_model::id::marker::{AttachmentMarker, ChannelMarker, MessageMarker, WebhookMarker};
use twilight_model::id::Id;

use super::base::{
    with_reason, AuditReason, Auth, Body, Endpoint, Method, NoContent, Query, Request, Resource,
};
use super::validate;
use crate::error::DiscordError;
use crate::multipart::{File, Form};

const CHANNEL_WEBHOOKS: &str = "/channels/{channel_id}/webhooks";
const WEBHOOK: &str = "/webhooks/{webhook_id}/{webhook_token}";
const WEBHOOK_MESSAGE: &str = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}";

/// Mentions nothing. Sent on every post and every edit: without it Discord parses `@everyone`,
/// role and user mentions in mirrored text and pings people.
pub fn no_mentions() -> AllowedMentions {
    AllowedMentions::default()
}

/// `POST /channels/{channel_id}/webhooks` (needs MANAGE_WEBHOOKS).
#[derive(Debug, Clone)]
pub struct CreateWebhook {
    pub channel_id: Id<ChannelMarker>,
    pub name: String,
    /// Image data URI (`data:image/png;base64,...`).
    pub avatar: Option<String>,
    pub reason: Option<AuditReason>,
}

#[derive(Serialize)]
struct CreateWebhookBody<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar: Option<&'a str>,
}

impl Endpoint for CreateWebhook {
    type Output = Webhook;

    fn request(&self) -> Result<Request, DiscordError> {
        validate::webhook_name("name", &self.name)?;
        let req = Request::new(
            Method::Post,
            format!("/channels/{}/webhooks", self.channel_id),
            CHANNEL_WEBHOOKS,
            Resource::Channel(self.channel_id.get()),
            Auth::Bot,
        )
        .json(&CreateWebhookBody {
            name: &self.name,
            avatar: self.avatar.as_deref(),
        })?;
        Ok(with_reason(req, self.reason.as_ref()))
    }
}

/// `GET /channels/{channel_id}/webhooks`: incoming webhooks come back with their tokens.
#[derive(Debug, Clone)]
pub struct ListChannelWebhooks {
    pub channel_id: Id<ChannelMarker>,
}

impl Endpoint for ListChannelWebhooks {
    type Output = Vec<Webhook>;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(Request::new(
            Method::Get,
            format!("/channels/{}/webhooks", self.channel_id),
            CHANNEL_WEBHOOKS,
            Resource::Channel(self.channel_id.get()),
            Auth::Bot,
        ))
    }
}

fn token_segment(token: &str) -> Result<&str, DiscordError> {
    // Tokens are URL-safe base64-ish; anything else could smuggle path segments or a query.
    let ok = !token.is_empty()
        && token.len() <= 256
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(token)
    } else {
        Err(DiscordError::invalid(
            "webhook_token_invalid",
            "webhook_token",
            "a webhook token is 1-256 characters of letters, digits, '-', '_' and '.'",
        ))
    }
}

fn webhook_request(
    method: Method,
    webhook_id: Id<WebhookMarker>,
    token: &str,
    rest: &str,
    template: &'static str,
) -> Result<Request, DiscordError> {
    let token = token_segment(token)?;
    Ok(Request::new(
        method,
        format!("/webhooks/{webhook_id}/{token}{rest}"),
        template,
        Resource::Webhook {
            id: webhook_id.get(),
            token: token.to_string(),
        },
        Auth::None,
    ))
}

/// An entry of a message's `attachments`: a new file by its `files[n]` index, or an existing
/// attachment to keep by its id. Ids are snowflake strings, as the API describes them.
#[derive(Serialize)]
struct AttachmentRef<'a> {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    filename: Option<&'a str>,
}

fn attachment_refs<'a>(keep: &[Id<AttachmentMarker>], files: &'a [File]) -> Vec<AttachmentRef<'a>> {
    keep.iter()
        .map(|id| AttachmentRef {
            id: id.to_string(),
            filename: None,
        })
        .chain(files.iter().enumerate().map(|(n, f)| AttachmentRef {
            id: n.to_string(),
            filename: Some(&f.filename),
        }))
        .collect()
}

/// JSON alone, or `payload_json` + `files[n]` when there are files.
pub(crate) fn message_body<T: Serialize>(
    request: Request,
    payload: &T,
    files: &[File],
) -> Result<Request, DiscordError> {
    let mut request = request.json(payload)?;
    if !files.is_empty() {
        if let Body::Json(json) = std::mem::replace(&mut request.body, Body::None) {
            request.body = Body::Multipart(Form::new(json, files.to_vec()));
        }
    }
    Ok(request)
}

/// `POST /webhooks/{webhook_id}/{webhook_token}?wait=true`: posts a message and returns it
/// (its id is what later edits and deletes need, so `wait` is always on).
#[derive(Debug, Clone)]
pub struct ExecuteWebhook {
    pub webhook_id: Id<WebhookMarker>,
    pub token: String,
    pub content: Option<String>,
    pub username: Option<String>,
    pub avatar_url: Option<String>,
    pub embeds: Vec<Embed>,
    /// Defaults to mentioning nothing ([`no_mentions`]).
    pub allowed_mentions: AllowedMentions,
    /// Only SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS.
    pub flags: Option<MessageFlags>,
    /// Post into this existing thread.
    pub thread_id: Option<Id<ChannelMarker>>,
    /// Create a forum/media post with this name (forum channels need a thread).
    pub thread_name: Option<String>,
    pub files: Vec<File>,
    /// The upload limit per file in the target guild.
    pub max_file_bytes: usize,
}

impl ExecuteWebhook {
    pub fn new(webhook_id: Id<WebhookMarker>, token: impl Into<String>) -> Self {
        ExecuteWebhook {
            webhook_id,
            token: token.into(),
            content: None,
            username: None,
            avatar_url: None,
            embeds: Vec::new(),
            allowed_mentions: no_mentions(),
            flags: None,
            thread_id: None,
            thread_name: None,
            files: Vec::new(),
            max_file_bytes: validate::DEFAULT_FILE_BYTES_MAX,
        }
    }
}

#[derive(Serialize)]
struct ExecuteBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar_url: Option<&'a str>,
    #[serde(skip_serializing_if = "<[Embed]>::is_empty")]
    embeds: &'a [Embed],
    allowed_mentions: &'a AllowedMentions,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<AttachmentRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flags: Option<MessageFlags>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_name: Option<&'a str>,
}

impl Endpoint for ExecuteWebhook {
    type Output = Message;

    fn request(&self) -> Result<Request, DiscordError> {
        let content = self.content.as_deref().filter(|c| !c.is_empty());
        if let Some(c) = content {
            validate::content(c)?;
        }
        validate::embeds(&self.embeds)?;
        validate::files(&self.files, self.max_file_bytes)?;
        if content.is_none() && self.embeds.is_empty() && self.files.is_empty() {
            return Err(DiscordError::invalid(
                "message_empty",
                "content",
                "a message needs content, an embed or a file",
            ));
        }
        if let Some(u) = &self.username {
            validate::webhook_name("username", u)?;
        }
        if let Some(url) = &self.avatar_url {
            validate::avatar_url(url)?;
        }
        if let Some(flags) = self.flags {
            validate::webhook_flags(flags)?;
        }
        if let Some(name) = &self.thread_name {
            validate::thread_name(name)?;
            if self.thread_id.is_some() {
                return Err(DiscordError::invalid(
                    "thread_target_ambiguous",
                    "thread_name",
                    "thread_id posts into a thread, thread_name creates one: not both",
                ));
            }
        }
        let mut query = Query::new();
        query
            .push("wait", true)
            .push_opt("thread_id", self.thread_id);
        let req = webhook_request(
            Method::Post,
            self.webhook_id,
            &self.token,
            query.finish(),
            WEBHOOK,
        )?;
        let body = ExecuteBody {
            content,
            username: self.username.as_deref(),
            avatar_url: self.avatar_url.as_deref(),
            embeds: &self.embeds,
            allowed_mentions: &self.allowed_mentions,
            attachments: attachment_refs(&[], &self.files),
            flags: self.flags,
            thread_name: self.thread_name.as_deref(),
        };
        message_body(req, &body, &self.files)
    }
}

/// `PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}`: only messages sent
/// with this webhook. Fields left `None` are not changed, except `allowed_mentions`, which is
/// always sent because Discord re-parses mentions on every edit.
#[derive(Debug, Clone)]
pub struct UpdateWebhookMessage {
    pub webhook_id: Id<WebhookMarker>,
    pub token: String,
    pub message_id: Id<MessageMarker>,
    pub thread_id: Option<Id<ChannelMarker>>,
    /// `Some("")` clears the content.
    pub content: Option<String>,
    /// `Some(vec![])` removes every embed.
    pub embeds: Option<Vec<Embed>>,
    pub allowed_mentions: AllowedMentions,
    pub flags: Option<MessageFlags>,
    /// Every existing attachment to keep; attachments not listed are removed. Must be set when
    /// `files` adds new ones (otherwise the existing ones would silently go).
    pub keep_attachments: Option<Vec<Id<AttachmentMarker>>>,
    pub files: Vec<File>,
    pub max_file_bytes: usize,
}

impl UpdateWebhookMessage {
    pub fn new(
        webhook_id: Id<WebhookMarker>,
        token: impl Into<String>,
        message_id: Id<MessageMarker>,
    ) -> Self {
        UpdateWebhookMessage {
            webhook_id,
            token: token.into(),
            message_id,
            thread_id: None,
            content: None,
            embeds: None,
            allowed_mentions: no_mentions(),
            flags: None,
            keep_attachments: None,
            files: Vec::new(),
            max_file_bytes: validate::DEFAULT_FILE_BYTES_MAX,
        }
    }
}

#[derive(Serialize)]
struct UpdateBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    embeds: Option<&'a [Embed]>,
    allowed_mentions: &'a AllowedMentions,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<AttachmentRef<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flags: Option<MessageFlags>,
}

impl Endpoint for UpdateWebhookMessage {
    type Output = Message;

    fn request(&self) -> Result<Request, DiscordError> {
        if let Some(c) = &self.content {
            validate::content(c)?;
        }
        if let Some(e) = &self.embeds {
            validate::embeds(e)?;
        }
        validate::files(&self.files, self.max_file_bytes)?;
        if let Some(flags) = self.flags {
            validate::webhook_flags(flags)?;
        }
        if !self.files.is_empty() && self.keep_attachments.is_none() {
            return Err(DiscordError::invalid(
                "attachments_unspecified",
                "keep_attachments",
                "adding files to an edit replaces the attachment list: say which to keep",
            ));
        }
        let mut query = Query::new();
        query.push_opt("thread_id", self.thread_id);
        let req = webhook_request(
            Method::Patch,
            self.webhook_id,
            &self.token,
            &format!("/messages/{}{}", self.message_id, query.finish()),
            WEBHOOK_MESSAGE,
        )?;
        let body = UpdateBody {
            content: self.content.as_deref(),
            embeds: self.embeds.as_deref(),
            allowed_mentions: &self.allowed_mentions,
            attachments: self
                .keep_attachments
                .as_ref()
                .map(|keep| attachment_refs(keep, &self.files)),
            flags: self.flags,
        };
        message_body(req, &body, &self.files)
    }
}

/// `DELETE /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}`.
#[derive(Debug, Clone)]
pub struct DeleteWebhookMessage {
    pub webhook_id: Id<WebhookMarker>,
    pub token: String,
    pub message_id: Id<MessageMarker>,
    pub thread_id: Option<Id<ChannelMarker>>,
}

impl Endpoint for DeleteWebhookMessage {
    type Output = NoContent;

    fn request(&self) -> Result<Request, DiscordError> {
        let mut query = Query::new();
        query.push_opt("thread_id", self.thread_id);
        webhook_request(
            Method::Delete,
            self.webhook_id,
            &self.token,
            &format!("/messages/{}{}", self.message_id, query.finish()),
            WEBHOOK_MESSAGE,
        )
    }
}
