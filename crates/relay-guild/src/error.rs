//! One error vocabulary for seat audits and role sync. Each code is stable (stored on
//! snapshots and role states, shown in the console, matched by tests), the message is for
//! people.

use std::fmt;

use relay_discord::{DiscordError, ErrorKind as DiscordKind};
use serde::{Deserialize, Serialize};
use twilight_model::id::marker::{ChannelMarker, RoleMarker, UserMarker};
use twilight_model::id::Id;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The member list was refused: the GUILD_MEMBERS privileged intent is off for the
    /// application, or the bot lost access to the guild. Seats are unknown — never zero.
    MemberListForbidden,
    /// A mapped target channel no longer exists (or is not in this guild).
    TargetChannelUnknown,
    /// The bot cannot read a target channel's overwrites.
    TargetChannelForbidden,
    /// A thread target whose parent channel is unknown: its access cannot be judged.
    ThreadParentUnknown,
    /// The guild itself was refused or is gone (bot removed, guild deleted).
    GuildUnavailable,
    /// A full page of members brought no id above the cursor: paging would never end.
    MemberPagingStalled,
    /// Discord answered something we cannot use (a body that did not decode, a bug of ours).
    AuditFailed,
    /// The bot lacks MANAGE_ROLES in the guild.
    RoleMissingManageRoles,
    /// The role is at or above the bot's highest role.
    RoleAboveBot,
    /// The role belongs to an integration or a bot; nobody can assign it.
    RoleManaged,
    /// @everyone cannot be granted or removed.
    RoleEveryone,
    /// The role is not in the guild (deleted since it was mapped).
    RoleUnknown,
    /// The bot cannot kick this member (no KICK_MEMBERS, the owner, or a member ranked at or
    /// above the bot).
    KickForbidden,
    /// Discord refused a role change or kick (403/404 ...) when it was tried.
    RoleChangeRefused,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MemberListForbidden => "member_list_forbidden",
            ErrorCode::TargetChannelUnknown => "target_channel_unknown",
            ErrorCode::TargetChannelForbidden => "target_channel_forbidden",
            ErrorCode::ThreadParentUnknown => "thread_parent_unknown",
            ErrorCode::GuildUnavailable => "guild_unavailable",
            ErrorCode::MemberPagingStalled => "member_paging_stalled",
            ErrorCode::AuditFailed => "audit_failed",
            ErrorCode::RoleMissingManageRoles => "role_missing_manage_roles",
            ErrorCode::RoleAboveBot => "role_above_bot",
            ErrorCode::RoleManaged => "role_managed",
            ErrorCode::RoleEveryone => "role_everyone",
            ErrorCode::RoleUnknown => "role_unknown",
            ErrorCode::KickForbidden => "kick_forbidden",
            ErrorCode::RoleChangeRefused => "role_change_refused",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildError {
    pub code: ErrorCode,
    pub message: String,
}

impl GuildError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        GuildError {
            code,
            message: message.into(),
        }
    }

    pub fn error_code(&self) -> &'static str {
        self.code.as_str()
    }

    pub(crate) fn target_channel_unknown(id: Id<ChannelMarker>) -> Self {
        Self::new(
            ErrorCode::TargetChannelUnknown,
            format!("target channel {id} is not in the guild"),
        )
    }

    pub(crate) fn thread_parent_unknown(id: Id<ChannelMarker>) -> Self {
        Self::new(
            ErrorCode::ThreadParentUnknown,
            format!("thread {id}: its parent channel is unknown, so its access cannot be judged"),
        )
    }

    pub(crate) fn role(code: ErrorCode, role: Id<RoleMarker>, detail: &str) -> Self {
        Self::new(code, format!("role {role}: {detail}"))
    }

    pub(crate) fn kick(user: Id<UserMarker>, detail: &str) -> Self {
        Self::new(
            ErrorCode::KickForbidden,
            format!("cannot kick {user}: {detail}"),
        )
    }
}

impl fmt::Display for GuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for GuildError {}

/// What a failed Discord call means for an audit or a reconciliation pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// Rate limited, 5xx, network, ban page: the pass keeps its place and resumes at `at_ms`
    /// (or with backoff when `None`). Nothing is recorded as an error.
    Retry { at_ms: Option<i64> },
    /// The pass cannot go on: recorded on the snapshot / role state.
    Fail(GuildError),
}

/// Which call failed, for [`classify_call`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `GET /guilds/{id}`.
    Guild,
    /// `GET /guilds/{id}/members`.
    MemberList,
    /// `GET /channels/{id}` or `GET /guilds/{id}/channels`.
    Channel(Id<ChannelMarker>),
}

/// Maps a platform-layer error to what the pass does. A 403 on the member list is
/// `member_list_forbidden` whatever Discord's code (50001 when the intent is off, 50013 when a
/// permission is missing): both mean the count cannot be taken.
pub fn classify_call(call: Call, err: &DiscordError) -> CallFailure {
    match err.kind {
        DiscordKind::RateLimited | DiscordKind::Transient | DiscordKind::Banned => {
            return CallFailure::Retry {
                at_ms: err.retry_at_ms,
            }
        }
        DiscordKind::Permanent => {}
        // A refused bot token stops every call (the platform layer halts on 401); it says
        // nothing about this guild's member list.
        DiscordKind::Unauthorized
        | DiscordKind::Invalid
        | DiscordKind::Decode
        | DiscordKind::Internal => {
            return CallFailure::Fail(GuildError::new(
                ErrorCode::AuditFailed,
                format!("{}: {}", err.error_code, err.message),
            ))
        }
    }
    let forbidden = err.status == Some(403);
    let detail = format!(
        "{} (HTTP {:?}, Discord code {:?})",
        err.message, err.status, err.discord_code
    );
    let (code, what) = match (call, forbidden) {
        (Call::MemberList, true) => (
            ErrorCode::MemberListForbidden,
            "the member list was refused: enable the Server Members (GUILD_MEMBERS) privileged intent for the bot and check it is still in the guild".to_string(),
        ),
        (Call::MemberList, false) | (Call::Guild, _) => (
            ErrorCode::GuildUnavailable,
            "the guild is not reachable by the bot (removed or deleted)".to_string(),
        ),
        (Call::Channel(id), true) => (
            ErrorCode::TargetChannelForbidden,
            format!("the bot cannot read target channel {id} (grant it View Channel there)"),
        ),
        (Call::Channel(id), false) => (
            ErrorCode::TargetChannelUnknown,
            format!("target channel {id} no longer exists"),
        ),
    };
    CallFailure::Fail(GuildError::new(code, format!("{what}; {detail}")))
}
