//! Channels, threads and bot-posted messages.

use serde::Serialize;
use twilight_model::channel::message::{AllowedMentions, Embed, MessageFlags};
use twilight_model::channel::thread::AutoArchiveDuration;
use twilight_model::channel::{Channel, ChannelType, Message};
use twilight_model::id::marker::{ChannelMarker, MessageMarker};
use twilight_model::id::Id;

use super::base::{with_reason, AuditReason, Auth, Endpoint, Method, Query, Request, Resource};
use super::validate;
use super::webhook::{message_body, no_mentions};
use crate::error::DiscordError;
use crate::multipart::File;

const CHANNEL: &str = "/channels/{channel_id}";
const THREADS: &str = "/channels/{channel_id}/threads";
const MESSAGES: &str = "/channels/{channel_id}/messages";

fn channel_request(
    method: Method,
    channel_id: Id<ChannelMarker>,
    rest: &str,
    template: &'static str,
) -> Request {
    Request::new(
        method,
        format!("/channels/{channel_id}{rest}"),
        template,
        Resource::Channel(channel_id.get()),
        Auth::Bot,
    )
}

/// `GET /channels/{channel_id}`: type, parent and `permission_overwrites`.
#[derive(Debug, Clone)]
pub struct GetChannel {
    pub channel_id: Id<ChannelMarker>,
}

impl Endpoint for GetChannel {
    type Output = Channel;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(channel_request(Method::Get, self.channel_id, "", CHANNEL))
    }
}

/// `POST /channels/{channel_id}/threads`: a thread without a starter message.
#[derive(Debug, Clone)]
pub struct CreateThread {
    pub channel_id: Id<ChannelMarker>,
    pub name: String,
    /// PublicThread (the default) or PrivateThread.
    pub kind: ChannelType,
    pub auto_archive_duration: Option<AutoArchiveDuration>,
    pub reason: Option<AuditReason>,
}

#[derive(Serialize)]
struct CreateThreadBody<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: ChannelType,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_archive_duration: Option<AutoArchiveDuration>,
}

impl Endpoint for CreateThread {
    type Output = Channel;

    fn request(&self) -> Result<Request, DiscordError> {
        validate::thread_name(&self.name)?;
        if !matches!(
            self.kind,
            ChannelType::PublicThread
                | ChannelType::PrivateThread
                | ChannelType::AnnouncementThread
        ) {
            return Err(DiscordError::invalid(
                "thread_type_invalid",
                "type",
                "a thread is a public, private or announcement thread",
            ));
        }
        let req = channel_request(Method::Post, self.channel_id, "/threads", THREADS).json(
            &CreateThreadBody {
                name: &self.name,
                kind: self.kind,
                auto_archive_duration: self.auto_archive_duration,
            },
        )?;
        Ok(with_reason(req, self.reason.as_ref()))
    }
}

/// `POST /channels/{channel_id}/threads` on a forum (or media) channel: a new post, i.e. a
/// thread and its starter message at once (a forum takes no message outside a thread). The
/// answer is the thread; its starter message shares the thread's id. There is no nonce here:
/// a post in doubt is looked for in the thread before it is made again.
#[derive(Debug, Clone)]
pub struct CreateForumThread {
    pub channel_id: Id<ChannelMarker>,
    /// 1–100 characters.
    pub name: String,
    pub auto_archive_duration: Option<AutoArchiveDuration>,
    pub content: Option<String>,
    pub embeds: Vec<Embed>,
    pub allowed_mentions: AllowedMentions,
    pub files: Vec<File>,
    pub max_file_bytes: usize,
}

impl CreateForumThread {
    pub fn new(channel_id: Id<ChannelMarker>, name: impl Into<String>) -> Self {
        CreateForumThread {
            channel_id,
            name: name.into(),
            auto_archive_duration: None,
            content: None,
            embeds: Vec::new(),
            allowed_mentions: no_mentions(),
            files: Vec::new(),
            max_file_bytes: validate::DEFAULT_FILE_BYTES_MAX,
        }
    }
}

#[derive(Serialize)]
struct CreateForumThreadBody<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_archive_duration: Option<AutoArchiveDuration>,
    message: CreateMessageBody<'a>,
}

impl Endpoint for CreateForumThread {
    type Output = Channel;

    fn request(&self) -> Result<Request, DiscordError> {
        validate::thread_name(&self.name)?;
        let content = self.content.as_deref().filter(|c| !c.is_empty());
        if let Some(c) = content {
            validate::content(c)?;
        }
        validate::embeds(&self.embeds)?;
        validate::files(&self.files, self.max_file_bytes)?;
        if content.is_none() && self.embeds.is_empty() && self.files.is_empty() {
            return Err(DiscordError::invalid(
                "message_empty",
                "message.content",
                "a forum post needs content, an embed or a file",
            ));
        }
        let req = channel_request(Method::Post, self.channel_id, "/threads", THREADS);
        let body = CreateForumThreadBody {
            name: &self.name,
            auto_archive_duration: self.auto_archive_duration,
            message: CreateMessageBody {
                content,
                embeds: &self.embeds,
                allowed_mentions: &self.allowed_mentions,
                flags: None,
                nonce: None,
                enforce_nonce: false,
                attachments: new_attachments(&self.files),
            },
        };
        message_body(req, &body, &self.files)
    }
}

/// A message nonce: an integer or a string of at most 25 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum MessageNonce {
    Int(i64),
    Str(String),
}

/// `POST /channels/{channel_id}/messages` as the bot. With a nonce and `enforce_nonce`,
/// Discord returns the message already created with that nonce (within a few minutes) rather
/// than posting it twice, so a retried post after a lost response is not duplicated.
#[derive(Debug, Clone)]
pub struct CreateMessage {
    pub channel_id: Id<ChannelMarker>,
    pub content: Option<String>,
    pub embeds: Vec<Embed>,
    pub allowed_mentions: AllowedMentions,
    pub flags: Option<MessageFlags>,
    pub nonce: Option<MessageNonce>,
    pub enforce_nonce: bool,
    pub files: Vec<File>,
    pub max_file_bytes: usize,
}

impl CreateMessage {
    pub fn new(channel_id: Id<ChannelMarker>) -> Self {
        CreateMessage {
            channel_id,
            content: None,
            embeds: Vec::new(),
            allowed_mentions: no_mentions(),
            flags: None,
            nonce: None,
            enforce_nonce: false,
            files: Vec::new(),
            max_file_bytes: validate::DEFAULT_FILE_BYTES_MAX,
        }
    }
}

#[derive(Serialize)]
struct NewAttachment<'a> {
    id: String,
    filename: &'a str,
}

fn new_attachments(files: &[File]) -> Vec<NewAttachment<'_>> {
    files
        .iter()
        .enumerate()
        .map(|(n, f)| NewAttachment {
            id: n.to_string(),
            filename: &f.filename,
        })
        .collect()
}

#[derive(Serialize)]
struct CreateMessageBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "<[Embed]>::is_empty")]
    embeds: &'a [Embed],
    allowed_mentions: &'a AllowedMentions,
    #[serde(skip_serializing_if = "Option::is_none")]
    flags: Option<MessageFlags>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a MessageNonce>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    enforce_nonce: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<NewAttachment<'a>>,
}

impl Endpoint for CreateMessage {
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
        if let Some(flags) = self.flags {
            validate::webhook_flags(flags)?;
        }
        if let Some(MessageNonce::Str(n)) = &self.nonce {
            validate::nonce(n)?;
        }
        if self.enforce_nonce && self.nonce.is_none() {
            return Err(DiscordError::invalid(
                "nonce_invalid",
                "nonce",
                "enforce_nonce needs a nonce",
            ));
        }
        let req = channel_request(Method::Post, self.channel_id, "/messages", MESSAGES);
        let body = CreateMessageBody {
            content,
            embeds: &self.embeds,
            allowed_mentions: &self.allowed_mentions,
            flags: self.flags,
            nonce: self.nonce.as_ref(),
            enforce_nonce: self.enforce_nonce,
            attachments: new_attachments(&self.files),
        };
        message_body(req, &body, &self.files)
    }
}

/// `GET /channels/{channel_id}/messages?limit=`: the most recent messages (newest first),
/// optionally before or after a message.
#[derive(Debug, Clone)]
pub struct GetChannelMessages {
    pub channel_id: Id<ChannelMarker>,
    /// 1–100.
    pub limit: u16,
    pub before: Option<Id<MessageMarker>>,
    pub after: Option<Id<MessageMarker>>,
}

impl Endpoint for GetChannelMessages {
    type Output = Vec<Message>;

    fn request(&self) -> Result<Request, DiscordError> {
        validate::range("limit", self.limit, 1, 100)?;
        if self.before.is_some() && self.after.is_some() {
            return Err(DiscordError::invalid(
                "pagination_ambiguous",
                "before",
                "page with before or after, not both",
            ));
        }
        let mut query = Query::new();
        query
            .push("limit", self.limit)
            .push_opt("before", self.before)
            .push_opt("after", self.after);
        Ok(channel_request(
            Method::Get,
            self.channel_id,
            &format!("/messages{}", query.finish()),
            MESSAGES,
        ))
    }
}

const MESSAGE: &str = "/channels/{channel_id}/messages/{message_id}";

/// `GET /channels/{channel_id}/messages/{message_id}`: one message, with its
/// `message_reference` and (one level deep) `referenced_message` when it is a reply. Needs
/// VIEW_CHANNEL and READ_MESSAGE_HISTORY in that channel.
#[derive(Debug, Clone)]
pub struct GetMessage {
    pub channel_id: Id<ChannelMarker>,
    pub message_id: Id<MessageMarker>,
}

impl Endpoint for GetMessage {
    type Output = Message;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(channel_request(
            Method::Get,
            self.channel_id,
            &format!("/messages/{}", self.message_id),
            MESSAGE,
        ))
    }
}

/// `PATCH /channels/{channel_id}/messages/{message_id}`: a message the bot posted (the
/// `embed` style's card). Like webhook edits, `allowed_mentions` is always sent because
/// Discord parses mentions again on every edit, and `attachments` lists every file kept.
#[derive(Debug, Clone)]
pub struct UpdateMessage {
    pub channel_id: Id<ChannelMarker>,
    pub message_id: Id<MessageMarker>,
    /// `Some("")` clears the content.
    pub content: Option<String>,
    pub embeds: Option<Vec<Embed>>,
    pub allowed_mentions: AllowedMentions,
    pub keep_attachments: Option<Vec<Id<twilight_model::id::marker::AttachmentMarker>>>,
    pub files: Vec<File>,
    pub max_file_bytes: usize,
}

impl UpdateMessage {
    pub fn new(channel_id: Id<ChannelMarker>, message_id: Id<MessageMarker>) -> Self {
        UpdateMessage {
            channel_id,
            message_id,
            content: None,
            embeds: None,
            allowed_mentions: no_mentions(),
            keep_attachments: None,
            files: Vec::new(),
            max_file_bytes: validate::DEFAULT_FILE_BYTES_MAX,
        }
    }
}

#[derive(Serialize)]
struct KeptAttachment<'a> {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    filename: Option<&'a str>,
}

#[derive(Serialize)]
struct UpdateMessageBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    embeds: Option<&'a [Embed]>,
    allowed_mentions: &'a AllowedMentions,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<KeptAttachment<'a>>>,
}

impl Endpoint for UpdateMessage {
    type Output = Message;

    fn request(&self) -> Result<Request, DiscordError> {
        if let Some(c) = &self.content {
            validate::content(c)?;
        }
        if let Some(e) = &self.embeds {
            validate::embeds(e)?;
        }
        validate::files(&self.files, self.max_file_bytes)?;
        if !self.files.is_empty() && self.keep_attachments.is_none() {
            return Err(DiscordError::invalid(
                "attachments_unspecified",
                "keep_attachments",
                "adding files to an edit replaces the attachment list: say which to keep",
            ));
        }
        let req = channel_request(
            Method::Patch,
            self.channel_id,
            &format!("/messages/{}", self.message_id),
            MESSAGE,
        );
        let body = UpdateMessageBody {
            content: self.content.as_deref(),
            embeds: self.embeds.as_deref(),
            allowed_mentions: &self.allowed_mentions,
            attachments: self.keep_attachments.as_ref().map(|keep| {
                keep.iter()
                    .map(|id| KeptAttachment {
                        id: id.to_string(),
                        filename: None,
                    })
                    .chain(self.files.iter().enumerate().map(|(n, f)| KeptAttachment {
                        id: n.to_string(),
                        filename: Some(&f.filename),
                    }))
                    .collect()
            }),
        };
        message_body(req, &body, &self.files)
    }
}

/// `DELETE /channels/{channel_id}/messages/{message_id}`.
#[derive(Debug, Clone)]
pub struct DeleteMessage {
    pub channel_id: Id<ChannelMarker>,
    pub message_id: Id<MessageMarker>,
}

impl Endpoint for DeleteMessage {
    type Output = super::base::NoContent;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(channel_request(
            Method::Delete,
            self.channel_id,
            &format!("/messages/{}", self.message_id),
            MESSAGE,
        ))
    }
}
