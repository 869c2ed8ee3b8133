//! Builders for Discord objects as the REST API sends them (JSON), so the tests exercise the
//! same twilight-model decoding the runtime uses.
#![allow(dead_code)]

use relay_guild::access::{ChannelAccess, GuildFacts, MemberFacts, RoleFacts};
use serde_json::json;
use twilight_model::channel::Channel;
use twilight_model::guild::{Member, Permissions};
use twilight_model::id::Id;

pub const GUILD: u64 = 1;
pub const OWNER: u64 = 100;
pub const VIEW: u64 = 1 << 10;
pub const ADMIN: u64 = 1 << 3;
pub const MANAGE_ROLES: u64 = 1 << 28;
pub const KICK: u64 = 1 << 1;

pub fn role(id: u64, permissions: u64, position: i64) -> RoleFacts {
    RoleFacts {
        id: Id::new(id),
        name: format!("role-{id}"),
        permissions: Permissions::from_bits_truncate(permissions),
        position,
        managed: false,
    }
}

/// A guild whose @everyone has `everyone` permissions, plus `roles`.
pub fn guild(everyone: u64, roles: Vec<RoleFacts>) -> GuildFacts {
    let mut all = vec![role(GUILD, everyone, 0)];
    all.extend(roles);
    GuildFacts::new(Id::new(GUILD), Id::new(OWNER), all)
}

pub fn facts(user: u64, roles: &[u64]) -> MemberFacts {
    MemberFacts {
        user_id: Id::new(user),
        bot: false,
        roles: roles.iter().map(|r| Id::new(*r)).collect(),
    }
}

pub fn member_json(user: u64, roles: &[u64], bot: bool) -> serde_json::Value {
    json!({
        "user": {
            "id": user.to_string(),
            "username": format!("user{user}"),
            "discriminator": "0",
            "avatar": null,
            "global_name": null,
            "bot": bot,
        },
        "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
    })
}

pub fn member(user: u64, roles: &[u64], bot: bool) -> Member {
    serde_json::from_value(member_json(user, roles, bot)).expect("member decodes")
}

/// `(id, kind 0 = role | 1 = member, allow, deny)`.
pub fn overwrite(id: u64, kind: u8, allow: u64, deny: u64) -> serde_json::Value {
    json!({"id": id.to_string(), "type": kind, "allow": allow.to_string(), "deny": deny.to_string()})
}

pub fn text_channel(id: u64, overwrites: Vec<serde_json::Value>) -> Channel {
    serde_json::from_value(json!({
        "id": id.to_string(),
        "type": 0,
        "guild_id": GUILD.to_string(),
        "name": format!("channel-{id}"),
        "position": 0,
        "permission_overwrites": overwrites,
    }))
    .expect("channel decodes")
}

/// A public thread (type 11) of `parent`: Discord sends no overwrites for threads.
pub fn thread(id: u64, parent: u64) -> Channel {
    serde_json::from_value(json!({
        "id": id.to_string(),
        "type": 11,
        "guild_id": GUILD.to_string(),
        "name": format!("thread-{id}"),
        "parent_id": parent.to_string(),
    }))
    .expect("thread decodes")
}

pub fn access(channels: &[Channel], target: u64) -> ChannelAccess {
    ChannelAccess::resolve(Id::new(target), channels).expect("target resolves")
}
