//! One guild as Discord shows it now, reduced to what the catalog stores.

use relay_core::ids::{ChannelId, GuildId, RoleId, UserId};
use serde::{Deserialize, Serialize};
use twilight_model::channel::permission_overwrite::PermissionOverwrite;
use twilight_model::channel::{Channel, ChannelType};
use twilight_model::guild::{Permissions, Role};
use twilight_model::id::marker::RoleMarker;
use twilight_model::id::Id;
use twilight_util::permission_calculator::PermissionCalculator;

use crate::{is_target_type, CATEGORY};

/// Guild-level facts the warnings need: what the bot may do in the guild and where its
/// highest role sits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildFacts {
    pub guild_id: GuildId,
    pub name: String,
    pub owner_id: Option<UserId>,
    /// The bot's guild-level permissions (owner → all, ADMINISTRATOR → all).
    pub bot_permissions: u64,
    /// Position of the bot's highest role (0: only @everyone).
    pub bot_top_position: i64,
    pub bot_is_owner: bool,
}

impl GuildFacts {
    pub fn bot_has(&self, p: Permissions) -> bool {
        Permissions::from_bits_truncate(self.bot_permissions).contains(p)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRow {
    pub channel_id: ChannelId,
    pub name: String,
    /// Discord's channel type number (0 text, 4 category, 5 announcement, 15 forum, 16 media).
    pub kind: u8,
    pub parent_id: Option<ChannelId>,
    pub position: i64,
    /// The bot's effective permissions in this channel.
    pub bot_permissions: u64,
    /// Webhooks in the channel when last listed; `None` when the bot could not list them.
    pub webhook_count: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRow {
    pub role_id: RoleId,
    pub name: String,
    pub position: i64,
    pub managed: bool,
    pub permissions: u64,
    pub color: u32,
}

impl RoleRow {
    pub fn is_everyone(&self, guild: &GuildId) -> bool {
        self.role_id.as_str() == guild.as_str()
    }
}

/// A guild's channels and roles as read in one refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildSnapshot {
    pub facts: GuildFacts,
    pub channels: Vec<ChannelRow>,
    pub roles: Vec<RoleRow>,
}

impl GuildSnapshot {
    /// Builds the snapshot from Discord's guild roles, guild channels (any types: the ones the
    /// catalog does not keep are dropped here) and the bot's member roles.
    pub fn build(
        guild_id: GuildId,
        name: &str,
        owner_id: Option<UserId>,
        roles: &[Role],
        channels: &[Channel],
        bot_id: &UserId,
        bot_roles: &[RoleId],
    ) -> GuildSnapshot {
        let everyone = roles
            .iter()
            .find(|r| r.id.get() == guild_id.value())
            .map(|r| r.permissions)
            .unwrap_or_else(Permissions::empty);
        let member_roles: Vec<(Id<RoleMarker>, Permissions)> = roles
            .iter()
            .filter(|r| r.id.get() != guild_id.value())
            .filter(|r| bot_roles.iter().any(|b| b.value() == r.id.get()))
            .map(|r| (r.id, r.permissions))
            .collect();
        let (Some(gid), Some(uid)) = (guild_id.id(), bot_id.id()) else {
            // Ids of 0 never come from Discord; a snapshot with no permissions is the safe side.
            return GuildSnapshot::empty(guild_id, name, owner_id);
        };
        let mut calc = PermissionCalculator::new(gid, uid, everyone, &member_roles);
        if let Some(owner) = owner_id.as_ref().and_then(|o| o.id()) {
            calc = calc.owner_id(owner);
        }
        let bot_is_owner = owner_id.as_ref() == Some(bot_id);
        let facts = GuildFacts {
            guild_id: guild_id.clone(),
            name: name.to_string(),
            owner_id: owner_id.clone(),
            bot_permissions: calc.root().bits(),
            bot_top_position: member_roles
                .iter()
                .filter_map(|(id, _)| roles.iter().find(|r| r.id == *id))
                .map(|r| r.position)
                .max()
                .unwrap_or(0),
            bot_is_owner,
        };
        let channels = channels
            .iter()
            .filter(|c| {
                let k = u8::from(c.kind);
                is_target_type(k) || k == CATEGORY
            })
            .map(|c| channel_row(&calc, c))
            .collect();
        let roles = roles
            .iter()
            .map(|r| RoleRow {
                role_id: r.id.into(),
                name: r.name.clone(),
                position: r.position,
                managed: r.managed,
                permissions: r.permissions.bits(),
                color: r.color,
            })
            .collect();
        GuildSnapshot {
            facts,
            channels,
            roles,
        }
    }

    fn empty(guild_id: GuildId, name: &str, owner_id: Option<UserId>) -> GuildSnapshot {
        GuildSnapshot {
            facts: GuildFacts {
                guild_id,
                name: name.to_string(),
                owner_id,
                bot_permissions: 0,
                bot_top_position: 0,
                bot_is_owner: false,
            },
            channels: Vec::new(),
            roles: Vec::new(),
        }
    }

    /// Channels whose webhooks the bot may list: listing elsewhere answers 403, which Discord
    /// counts against the invalid-request budget, so those are never asked.
    pub fn webhook_listable(&self) -> Vec<ChannelId> {
        let need = Permissions::VIEW_CHANNEL | Permissions::MANAGE_WEBHOOKS;
        self.channels
            .iter()
            .filter(|c| is_target_type(c.kind))
            .filter(|c| Permissions::from_bits_truncate(c.bot_permissions).contains(need))
            .map(|c| c.channel_id.clone())
            .collect()
    }

    pub fn set_webhook_count(&mut self, channel: &ChannelId, count: u32) {
        if let Some(c) = self.channels.iter_mut().find(|c| &c.channel_id == channel) {
            c.webhook_count = Some(count);
        }
    }
}

fn channel_row(calc: &PermissionCalculator<'_>, c: &Channel) -> ChannelRow {
    let overwrites: &[PermissionOverwrite] = c.permission_overwrites.as_deref().unwrap_or(&[]);
    let mut perms = calc.clone().in_channel(c.kind, overwrites);
    // Discord's implicit rule, which the calculator leaves to its caller: without
    // VIEW_CHANNEL a member has no permission in the channel at all.
    if !perms.contains(Permissions::VIEW_CHANNEL) {
        perms = Permissions::empty();
    }
    ChannelRow {
        channel_id: c.id.into(),
        name: c.name.clone().unwrap_or_default(),
        kind: u8::from(c.kind),
        parent_id: c.parent_id.map(ChannelId::from),
        position: i64::from(c.position.unwrap_or(0)),
        bot_permissions: perms.bits(),
        webhook_count: None,
    }
}

/// The channel type twilight uses for a stored type number (for display and tests).
pub fn channel_type(kind: u8) -> ChannelType {
    ChannelType::from(kind)
}
