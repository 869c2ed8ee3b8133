//! Guilds, their channels, roles and members: the catalog, seat audits and role sync.

use serde::Serialize;
use twilight_model::channel::Channel;
use twilight_model::guild::{Guild, Member, Role};
use twilight_model::id::marker::{GuildMarker, RoleMarker, UserMarker};
use twilight_model::id::Id;

use super::base::{
    decode_json, with_reason, AuditReason, Auth, Decode, Endpoint, Method, NoContent, Query,
    Request, Resource,
};
use super::validate;
use crate::error::DiscordError;

const GUILD: &str = "/guilds/{guild_id}";
const GUILD_CHANNELS: &str = "/guilds/{guild_id}/channels";
const GUILD_ROLES: &str = "/guilds/{guild_id}/roles";
const GUILD_MEMBERS: &str = "/guilds/{guild_id}/members";
const GUILD_MEMBER: &str = "/guilds/{guild_id}/members/{user_id}";
const MEMBER_ROLE: &str = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}";

fn guild_request(
    method: Method,
    guild_id: Id<GuildMarker>,
    rest: &str,
    template: &'static str,
) -> Request {
    Request::new(
        method,
        format!("/guilds/{guild_id}{rest}"),
        template,
        Resource::Guild(guild_id.get()),
        Auth::Bot,
    )
}

/// `GET /guilds/{guild_id}[?with_counts=true]`: owner, roles with permissions and, with
/// counts, `approximate_member_count` (an upper bound that can short-cut a seat audit).
#[derive(Debug, Clone)]
pub struct GetGuild {
    pub guild_id: Id<GuildMarker>,
    pub with_counts: bool,
}

impl Endpoint for GetGuild {
    type Output = Guild;

    fn request(&self) -> Result<Request, DiscordError> {
        let mut query = Query::new();
        if self.with_counts {
            query.push("with_counts", true);
        }
        Ok(guild_request(
            Method::Get,
            self.guild_id,
            query.finish(),
            GUILD,
        ))
    }
}

/// `GET /guilds/{guild_id}/channels` (threads are not included).
#[derive(Debug, Clone)]
pub struct GetGuildChannels {
    pub guild_id: Id<GuildMarker>,
}

impl Endpoint for GetGuildChannels {
    type Output = Vec<Channel>;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(guild_request(
            Method::Get,
            self.guild_id,
            "/channels",
            GUILD_CHANNELS,
        ))
    }
}

/// `GET /guilds/{guild_id}/roles`.
#[derive(Debug, Clone)]
pub struct GetGuildRoles {
    pub guild_id: Id<GuildMarker>,
}

impl Endpoint for GetGuildRoles {
    type Output = Vec<Role>;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(guild_request(
            Method::Get,
            self.guild_id,
            "/roles",
            GUILD_ROLES,
        ))
    }
}

/// `GET /guilds/{guild_id}/members?limit=&after=`: one page, in user id order. Page on with
/// `after` = the highest user id seen. Needs the GUILD_MEMBERS privileged intent, even over
/// REST.
#[derive(Debug, Clone)]
pub struct GetGuildMembers {
    pub guild_id: Id<GuildMarker>,
    /// 1–1000.
    pub limit: u16,
    pub after: Option<Id<UserMarker>>,
}

impl Endpoint for GetGuildMembers {
    type Output = Vec<Member>;

    fn request(&self) -> Result<Request, DiscordError> {
        validate::range("limit", self.limit, 1, 1000)?;
        let mut query = Query::new();
        query
            .push("limit", self.limit)
            .push_opt("after", self.after);
        Ok(guild_request(
            Method::Get,
            self.guild_id,
            &format!("/members{}", query.finish()),
            GUILD_MEMBERS,
        ))
    }
}

/// `GET /guilds/{guild_id}/members/{user_id}`.
#[derive(Debug, Clone)]
pub struct GetMember {
    pub guild_id: Id<GuildMarker>,
    pub user_id: Id<UserMarker>,
}

impl Endpoint for GetMember {
    type Output = Member;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(guild_request(
            Method::Get,
            self.guild_id,
            &format!("/members/{}", self.user_id),
            GUILD_MEMBER,
        ))
    }
}

fn member_role(
    method: Method,
    guild_id: Id<GuildMarker>,
    user_id: Id<UserMarker>,
    role_id: Id<RoleMarker>,
    reason: Option<&AuditReason>,
) -> Request {
    with_reason(
        guild_request(
            method,
            guild_id,
            &format!("/members/{user_id}/roles/{role_id}"),
            MEMBER_ROLE,
        ),
        reason,
    )
}

/// `PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}` → 204. Needs MANAGE_ROLES and
/// the role below the bot's highest role.
#[derive(Debug, Clone)]
pub struct AddMemberRole {
    pub guild_id: Id<GuildMarker>,
    pub user_id: Id<UserMarker>,
    pub role_id: Id<RoleMarker>,
    pub reason: Option<AuditReason>,
}

impl Endpoint for AddMemberRole {
    type Output = NoContent;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(member_role(
            Method::Put,
            self.guild_id,
            self.user_id,
            self.role_id,
            self.reason.as_ref(),
        ))
    }
}

/// `DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}` → 204.
#[derive(Debug, Clone)]
pub struct RemoveMemberRole {
    pub guild_id: Id<GuildMarker>,
    pub user_id: Id<UserMarker>,
    pub role_id: Id<RoleMarker>,
    pub reason: Option<AuditReason>,
}

impl Endpoint for RemoveMemberRole {
    type Output = NoContent;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(member_role(
            Method::Delete,
            self.guild_id,
            self.user_id,
            self.role_id,
            self.reason.as_ref(),
        ))
    }
}

/// `DELETE /guilds/{guild_id}/members/{user_id}` (kick) → 204. Needs KICK_MEMBERS.
#[derive(Debug, Clone)]
pub struct RemoveMember {
    pub guild_id: Id<GuildMarker>,
    pub user_id: Id<UserMarker>,
    pub reason: Option<AuditReason>,
}

impl Endpoint for RemoveMember {
    type Output = NoContent;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(with_reason(
            guild_request(
                Method::Delete,
                self.guild_id,
                &format!("/members/{}", self.user_id),
                GUILD_MEMBER,
            ),
            self.reason.as_ref(),
        ))
    }
}

/// `PUT /guilds/{guild_id}/members/{user_id}` with the user's OAuth access token (scope
/// `guilds.join`), sent by the bot (which must be in the guild with CREATE_INSTANT_INVITE).
#[derive(Clone)]
pub struct AddGuildMember {
    pub guild_id: Id<GuildMarker>,
    pub user_id: Id<UserMarker>,
    pub access_token: String,
    /// Roles to give on joining (needs MANAGE_ROLES).
    pub roles: Vec<Id<RoleMarker>>,
    pub nick: Option<String>,
}

impl std::fmt::Debug for AddGuildMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddGuildMember")
            .field("guild_id", &self.guild_id)
            .field("user_id", &self.user_id)
            .field("access_token", &"<redacted>")
            .field("roles", &self.roles)
            .field("nick", &self.nick)
            .finish()
    }
}

#[derive(Serialize)]
struct AddGuildMemberBody<'a> {
    access_token: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    roles: &'a [Id<RoleMarker>],
    #[serde(skip_serializing_if = "Option::is_none")]
    nick: Option<&'a str>,
}

/// Discord answers 201 with the member when it added them, 204 when they were already in.
#[derive(Debug, Clone, PartialEq)]
pub enum AddedMember {
    Added(Box<Member>),
    AlreadyMember,
}

impl Decode for AddedMember {
    fn decode(status: u16, body: &[u8]) -> Result<Self, DiscordError> {
        if status == 204 || body.iter().all(u8::is_ascii_whitespace) {
            return Ok(AddedMember::AlreadyMember);
        }
        decode_json(body).map(|m| AddedMember::Added(Box::new(m)))
    }
}

impl Endpoint for AddGuildMember {
    type Output = AddedMember;

    fn request(&self) -> Result<Request, DiscordError> {
        if self.access_token.is_empty() || self.access_token.len() > 10_240 {
            return Err(DiscordError::invalid(
                "access_token_invalid",
                "access_token",
                "an access token is 1-10,240 characters",
            ));
        }
        if self.roles.len() > 250 {
            return Err(DiscordError::invalid(
                "too_many_roles",
                "roles",
                "at most 250 roles",
            ));
        }
        if let Some(nick) = &self.nick {
            let n = nick.chars().count();
            if n == 0 || n > 32 {
                return Err(DiscordError::invalid(
                    "nick_invalid",
                    "nick",
                    "a nickname is 1-32 characters",
                ));
            }
        }
        guild_request(
            Method::Put,
            self.guild_id,
            &format!("/members/{}", self.user_id),
            GUILD_MEMBER,
        )
        .json(&AddGuildMemberBody {
            access_token: &self.access_token,
            roles: &self.roles,
            nick: self.nick.as_deref(),
        })
    }
}
