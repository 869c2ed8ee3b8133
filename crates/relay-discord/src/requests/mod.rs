//! Typed requests for the Discord routes Signal Relay uses.
//!
//! Every request type validates what we control (lengths, counts, names) and turns itself into a
//! transport-neutral [`Request`]: method, path with query, the [`RouteKey`] that rate limits are
//! bucketed by, the body, extra headers and the kind of authentication the transport must add.
//! Nothing here knows how the bytes are sent. The response types are `twilight-model` types, so
//! ids stay typed (`Id<ChannelMarker>` ...) from the wire to our code.

mod base;
mod channel;
mod guild;
mod user;
pub mod validate;
mod webhook;

pub use base::*;

pub use channel::{
    CreateForumThread, CreateMessage, CreateThread, DeleteMessage, GetChannel, GetChannelMessages,
    GetMessage, MessageNonce, UpdateMessage,
};
pub use guild::{
    AddGuildMember, AddMemberRole, AddedMember, GetGuild, GetGuildChannels, GetGuildMembers,
    GetGuildRoles, GetMember, RemoveMember, RemoveMemberRole,
};
pub use user::{GetCurrentUser, GetCurrentUserGuilds, GetUser};
pub use webhook::{
    no_mentions, CreateWebhook, DeleteWebhookMessage, ExecuteWebhook, ListChannelWebhooks,
    UpdateWebhookMessage,
};
