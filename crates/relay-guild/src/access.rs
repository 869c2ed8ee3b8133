//! Who can do what in a guild: the inputs of Discord's permission algorithm, kept small and
//! serialisable so an audit that spans several alarms counts every page against the same
//! roles and overwrites.
//!
//! The arithmetic itself is `twilight-util`'s [`PermissionCalculator`]: owner → everything;
//! base = @everyone | the member's roles; ADMINISTRATOR → everything, overwrites ignored; then
//! the channel's @everyone overwrite, the member's role overwrites OR-ed together, the member's
//! own overwrite — each deny before allow. Threads have no overwrites of their own: they are
//! judged by their parent channel.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use twilight_model::channel::permission_overwrite::PermissionOverwrite;
use twilight_model::channel::{Channel, ChannelType};
use twilight_model::guild::{Guild, Member, Permissions, Role};
use twilight_model::id::marker::{ChannelMarker, GuildMarker, RoleMarker, UserMarker};
use twilight_model::id::Id;
use twilight_util::permission_calculator::PermissionCalculator;

use crate::error::GuildError;

/// A guild role as far as permissions and hierarchy are concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleFacts {
    pub id: Id<RoleMarker>,
    pub name: String,
    pub permissions: Permissions,
    pub position: i64,
    /// Owned by an integration or a bot (or the booster role): nobody can assign it by hand.
    pub managed: bool,
}

impl From<&Role> for RoleFacts {
    fn from(r: &Role) -> Self {
        RoleFacts {
            id: r.id,
            name: r.name.clone(),
            permissions: r.permissions,
            position: r.position,
            managed: r.managed,
        }
    }
}

/// The guild-level inputs: owner and roles (the @everyone role has the guild's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildFacts {
    pub guild_id: Id<GuildMarker>,
    pub owner_id: Id<UserMarker>,
    pub roles: BTreeMap<Id<RoleMarker>, RoleFacts>,
}

impl GuildFacts {
    pub fn new(
        guild_id: Id<GuildMarker>,
        owner_id: Id<UserMarker>,
        roles: impl IntoIterator<Item = RoleFacts>,
    ) -> Self {
        GuildFacts {
            guild_id,
            owner_id,
            roles: roles.into_iter().map(|r| (r.id, r)).collect(),
        }
    }

    /// From `GET /guilds/{id}` (its `roles` are complete).
    pub fn from_guild(g: &Guild) -> Self {
        Self::new(g.id, g.owner_id, g.roles.iter().map(RoleFacts::from))
    }

    pub fn everyone_role_id(&self) -> Id<RoleMarker> {
        self.guild_id.cast()
    }

    fn everyone_permissions(&self) -> Permissions {
        self.roles
            .get(&self.everyone_role_id())
            .map(|r| r.permissions)
            .unwrap_or_else(Permissions::empty)
    }

    /// The member's roles with their permissions, without @everyone (as the calculator wants
    /// them). A role id the guild no longer has grants nothing.
    fn member_roles(&self, roles: &[Id<RoleMarker>]) -> Vec<(Id<RoleMarker>, Permissions)> {
        let everyone = self.everyone_role_id();
        roles
            .iter()
            .filter(|id| **id != everyone)
            .filter_map(|id| self.roles.get(id).map(|r| (r.id, r.permissions)))
            .collect()
    }

    /// Guild-level permissions of a member (owner and ADMINISTRATOR give everything).
    pub fn guild_permissions(&self, who: &MemberFacts) -> Permissions {
        let roles = self.member_roles(&who.roles);
        PermissionCalculator::new(
            self.guild_id,
            who.user_id,
            self.everyone_permissions(),
            &roles,
        )
        .owner_id(self.owner_id)
        .root()
    }

    /// Permissions of a member in a channel (threads: pass the resolved parent's
    /// [`ChannelAccess`]).
    pub fn channel_permissions(&self, who: &MemberFacts, channel: &ChannelAccess) -> Permissions {
        let roles = self.member_roles(&who.roles);
        PermissionCalculator::new(
            self.guild_id,
            who.user_id,
            self.everyone_permissions(),
            &roles,
        )
        .owner_id(self.owner_id)
        .in_channel(channel.kind, &channel.overwrites)
    }

    pub fn can_view(&self, who: &MemberFacts, channel: &ChannelAccess) -> bool {
        self.channel_permissions(who, channel)
            .contains(Permissions::VIEW_CHANNEL)
    }

    /// The member's highest role as Discord ranks them: by position, and at equal positions the
    /// older role (lower id) ranks higher. `None` when they hold only @everyone.
    pub fn highest_role(&self, who: &MemberFacts) -> Option<&RoleFacts> {
        who.roles
            .iter()
            .filter_map(|id| self.roles.get(id))
            .filter(|r| r.id != self.everyone_role_id())
            .max_by(|a, b| rank(a).cmp(&rank(b)))
    }
}

/// Discord's hierarchy order: higher position first; at equal positions the lower id wins.
pub(crate) fn rank(r: &RoleFacts) -> (i64, std::cmp::Reverse<u64>) {
    (r.position, std::cmp::Reverse(r.id.get()))
}

/// A member as the permission algorithm sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFacts {
    pub user_id: Id<UserMarker>,
    pub bot: bool,
    pub roles: Vec<Id<RoleMarker>>,
}

impl From<&Member> for MemberFacts {
    fn from(m: &Member) -> Self {
        MemberFacts {
            user_id: m.user.id,
            bot: m.user.bot,
            roles: m.roles.clone(),
        }
    }
}

/// The overwrites that decide access to a channel. For a thread this is its parent's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelAccess {
    /// The channel (or thread) asked about.
    pub channel_id: Id<ChannelMarker>,
    /// The channel whose overwrites apply: itself, or a thread's parent.
    pub source_id: Id<ChannelMarker>,
    pub kind: ChannelType,
    pub overwrites: Vec<PermissionOverwrite>,
}

impl ChannelAccess {
    /// Resolves `target` against the guild's channels: a thread takes its parent's type and
    /// overwrites (a thread's own `permission_overwrites` is always empty), a channel its own.
    pub fn resolve(
        target: Id<ChannelMarker>,
        channels: &[Channel],
    ) -> Result<ChannelAccess, GuildError> {
        let find = |id: Id<ChannelMarker>| channels.iter().find(|c| c.id == id);
        let channel = find(target).ok_or_else(|| GuildError::target_channel_unknown(target))?;
        let source = if channel.kind.is_thread() {
            let parent = channel
                .parent_id
                .ok_or_else(|| GuildError::thread_parent_unknown(target))?;
            find(parent).ok_or_else(|| GuildError::thread_parent_unknown(target))?
        } else {
            channel
        };
        Ok(ChannelAccess {
            channel_id: target,
            source_id: source.id,
            kind: source.kind,
            overwrites: source.permission_overwrites.clone().unwrap_or_default(),
        })
    }
}
