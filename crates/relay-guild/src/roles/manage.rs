//! Whether the bot can make a change, decided before asking Discord: a role mapped above the
//! bot is a configuration problem to show (in the console picker and on the member's role
//! state), not a 403 to retry, and it must not stop the member's other changes.

use std::collections::BTreeSet;

use twilight_model::guild::Permissions;
use twilight_model::id::marker::RoleMarker;
use twilight_model::id::Id;

use super::diff::Plan;
use crate::access::{rank, GuildFacts, MemberFacts};
use crate::error::{ErrorCode, GuildError};

/// Why the bot (as the guild sees it) cannot assign or remove `role`; `None` if it can.
pub fn role_problem(
    guild: &GuildFacts,
    bot: &MemberFacts,
    role: Id<RoleMarker>,
) -> Option<GuildError> {
    if role == guild.everyone_role_id() {
        return Some(GuildError::role(
            ErrorCode::RoleEveryone,
            role,
            "@everyone cannot be assigned",
        ));
    }
    let Some(facts) = guild.roles.get(&role) else {
        return Some(GuildError::role(
            ErrorCode::RoleUnknown,
            role,
            "the role is not in the guild (deleted?)",
        ));
    };
    if facts.managed {
        return Some(GuildError::role(
            ErrorCode::RoleManaged,
            role,
            &format!(
                "'{}' is managed by an integration and cannot be assigned",
                facts.name
            ),
        ));
    }
    if !guild
        .guild_permissions(bot)
        .contains(Permissions::MANAGE_ROLES)
    {
        return Some(GuildError::role(
            ErrorCode::RoleMissingManageRoles,
            role,
            "the bot lacks the Manage Roles permission",
        ));
    }
    if bot.user_id == guild.owner_id {
        return None;
    }
    let above = match guild.highest_role(bot) {
        Some(top) => rank(facts) >= rank(top),
        None => true,
    };
    if above {
        return Some(GuildError::role(
            ErrorCode::RoleAboveBot,
            role,
            &format!(
                "'{}' is at or above the bot's highest role; move the bot's role above it",
                facts.name
            ),
        ));
    }
    None
}

/// Why the bot cannot kick `member`; `None` if it can.
pub fn kick_problem(
    guild: &GuildFacts,
    bot: &MemberFacts,
    member: &MemberFacts,
) -> Option<GuildError> {
    if member.user_id == guild.owner_id {
        return Some(GuildError::kick(
            member.user_id,
            "the guild owner cannot be kicked",
        ));
    }
    if !guild
        .guild_permissions(bot)
        .contains(Permissions::KICK_MEMBERS)
    {
        return Some(GuildError::kick(
            member.user_id,
            "the bot lacks the Kick Members permission",
        ));
    }
    if bot.user_id == guild.owner_id {
        return None;
    }
    let outranked = match (guild.highest_role(bot), guild.highest_role(member)) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(b), Some(m)) => rank(m) >= rank(b),
    };
    outranked.then(|| {
        GuildError::kick(
            member.user_id,
            "the member's highest role is at or above the bot's",
        )
    })
}

/// A plan split into what can be sent and what cannot (with the reason). Blocked roles stay
/// out of the ledger; the rest of the plan goes on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Screened {
    pub plan: Plan,
    pub blocked: Vec<GuildError>,
}

pub fn screen(plan: Plan, guild: &GuildFacts, bot: &MemberFacts, member: &MemberFacts) -> Screened {
    let mut out = Screened::default();
    let mut blocked_roles = BTreeSet::new();
    for (role, change) in plan.changes {
        match role_problem(guild, bot, role) {
            Some(e) => {
                blocked_roles.insert(role);
                out.blocked.push(e);
            }
            None => {
                out.plan.changes.insert(role, change);
            }
        }
    }
    out.plan.forget = plan.forget;
    out.plan.kick = match plan.kick {
        Some(lapse) => match kick_problem(guild, bot, member) {
            Some(e) => {
                out.blocked.push(e);
                None
            }
            None => Some(lapse),
        },
        None => None,
    };
    out
}

/// A role as the console's picker offers it: every role of the guild but @everyone, highest
/// first, each with the reason the bot could not manage it (shown as a warning next to it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoleOption {
    pub id: Id<RoleMarker>,
    pub name: String,
    pub position: i64,
    pub problem: Option<GuildError>,
}

pub fn role_options(guild: &GuildFacts, bot: &MemberFacts) -> Vec<RoleOption> {
    let mut roles: Vec<_> = guild
        .roles
        .values()
        .filter(|r| r.id != guild.everyone_role_id())
        .collect();
    roles.sort_by_key(|r| std::cmp::Reverse(rank(r)));
    roles
        .into_iter()
        .map(|r| RoleOption {
            id: r.id,
            name: r.name.clone(),
            position: r.position,
            problem: role_problem(guild, bot, r.id),
        })
        .collect()
}
