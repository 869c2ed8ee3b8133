//! What an operator must fix before a target channel or a tier role works. Each warning has a
//! stable code (the console and the admin API show it) and a sentence saying what to do.

use serde::Serialize;
use twilight_model::guild::Permissions;

use crate::snapshot::{ChannelRow, GuildFacts, RoleRow};
use crate::{is_target_type, WEBHOOKS_PER_CHANNEL};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// The bot cannot see the channel: nothing can be posted there.
    BotCannotView,
    /// Mirroring posts through a webhook the bot creates, which needs MANAGE_WEBHOOKS.
    BotLacksManageWebhooks,
    /// The channel already holds Discord's maximum of webhooks: creating ours fails (30007).
    WebhookSlotsFull,
    /// Role sync needs MANAGE_ROLES in the guild.
    BotLacksManageRoles,
    /// Managed roles (bots, boosters, integrations) cannot be given or taken by anyone.
    RoleManaged,
    /// Discord lets the bot manage only roles strictly below its own highest role.
    RoleAboveBot,
    /// @everyone is every member's: it is not a tier.
    RoleIsEveryone,
}

impl Warning {
    pub fn code(self) -> &'static str {
        match self {
            Warning::BotCannotView => "bot_cannot_view",
            Warning::BotLacksManageWebhooks => "bot_lacks_manage_webhooks",
            Warning::WebhookSlotsFull => "webhook_slots_full",
            Warning::BotLacksManageRoles => "bot_lacks_manage_roles",
            Warning::RoleManaged => "role_managed",
            Warning::RoleAboveBot => "role_above_bot",
            Warning::RoleIsEveryone => "role_is_everyone",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Warning::BotCannotView => {
                "The bot cannot view this channel: allow View Channel for the bot's role."
            }
            Warning::BotLacksManageWebhooks => {
                "The bot lacks Manage Webhooks here: grant it to the bot's role (in the server or this channel)."
            }
            Warning::WebhookSlotsFull => {
                "This channel already has 15 webhooks, Discord's maximum: delete one so the bot can create its own."
            }
            Warning::BotLacksManageRoles => {
                "The bot lacks Manage Roles in this server: it cannot give or take any role."
            }
            Warning::RoleManaged => {
                "This role is managed by an integration (a bot, boosts, a subscription): nobody can assign it."
            }
            Warning::RoleAboveBot => {
                "This role sits at or above the bot's highest role: move the bot's role above it in Server Settings → Roles."
            }
            Warning::RoleIsEveryone => "@everyone belongs to every member and cannot be a tier role.",
        }
    }
}

/// Warnings for a channel as a mirroring target (none for categories, which are not targets).
pub fn channel_warnings(c: &ChannelRow) -> Vec<Warning> {
    if !is_target_type(c.kind) {
        return Vec::new();
    }
    let p = Permissions::from_bits_truncate(c.bot_permissions);
    if !p.contains(Permissions::VIEW_CHANNEL) {
        return vec![Warning::BotCannotView];
    }
    let mut w = Vec::new();
    if !p.contains(Permissions::MANAGE_WEBHOOKS) {
        w.push(Warning::BotLacksManageWebhooks);
    }
    if c.webhook_count.is_some_and(|n| n >= WEBHOOKS_PER_CHANNEL) {
        w.push(Warning::WebhookSlotsFull);
    }
    w
}

/// Warnings for a role as a tier role the bot would give and take.
pub fn role_warnings(r: &RoleRow, g: &GuildFacts) -> Vec<Warning> {
    if r.is_everyone(&g.guild_id) {
        return vec![Warning::RoleIsEveryone];
    }
    let mut w = Vec::new();
    if !g.bot_has(Permissions::MANAGE_ROLES) {
        w.push(Warning::BotLacksManageRoles);
    }
    if r.managed {
        w.push(Warning::RoleManaged);
    }
    // The owner is above every role; otherwise ties count as above (Discord breaks ties by id,
    // which an operator cannot see in the role list).
    if !g.bot_is_owner && r.position >= g.bot_top_position {
        w.push(Warning::RoleAboveBot);
    }
    w
}

/// Whether the bot can give and take this role now.
pub fn role_assignable(r: &RoleRow, g: &GuildFacts) -> bool {
    role_warnings(r, g).is_empty()
}

/// Whether the bot can post into this channel through its own webhook now.
pub fn channel_usable(c: &ChannelRow) -> bool {
    is_target_type(c.kind) && channel_warnings(c).is_empty()
}
