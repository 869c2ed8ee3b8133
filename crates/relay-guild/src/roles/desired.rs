//! Which roles a customer should hold in a guild. Mappings are keyed by tenant, guild *and*
//! tier, and there is no lookup by tier alone: the predecessor resolved roles globally and
//! granted every configured guild's role to every paying user.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use twilight_model::id::marker::{GuildMarker, RoleMarker};
use twilight_model::id::Id;

use super::lapse::{LapseAction, Standing};

/// A tier's identifier as the tenant's catalog names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TierId(pub String);

impl TierId {
    pub fn new(s: impl Into<String>) -> Self {
        TierId(s.into())
    }
}

/// Tier → roles, per tenant and guild (built from the mapping rows; not a storage format).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TierRoleMap {
    entries: BTreeMap<(String, Id<GuildMarker>, TierId), BTreeSet<Id<RoleMarker>>>,
}

impl TierRoleMap {
    pub fn set(
        &mut self,
        tenant: &str,
        guild: Id<GuildMarker>,
        tier: TierId,
        roles: impl IntoIterator<Item = Id<RoleMarker>>,
    ) {
        self.entries.insert(
            (tenant.to_string(), guild, tier),
            roles.into_iter().collect(),
        );
    }

    /// The roles of `tier` in this tenant's `guild`; none when the tier is not mapped there.
    pub fn roles(
        &self,
        tenant: &str,
        guild: Id<GuildMarker>,
        tier: &TierId,
    ) -> BTreeSet<Id<RoleMarker>> {
        self.entries
            .get(&(tenant.to_string(), guild, tier.clone()))
            .cloned()
            .unwrap_or_default()
    }

    /// Every role this tenant maps in `guild` (what a tier change may have to take away).
    pub fn all_roles(&self, tenant: &str, guild: Id<GuildMarker>) -> BTreeSet<Id<RoleMarker>> {
        self.entries
            .iter()
            .filter(|((t, g, _), _)| t == tenant && *g == guild)
            .flat_map(|(_, roles)| roles.iter().copied())
            .collect()
    }
}

/// What convergence aims at for one linked member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Desired {
    /// Hold exactly these of the roles we manage (others are not ours to touch).
    Roles { roles: BTreeSet<Id<RoleMarker>> },
    /// Lapse action `kick`: remove the member once for the lapse that began at `lapse_at_ms`.
    Kick { lapse_at_ms: i64 },
    /// Lapse action `nothing`: leave the member as they are.
    Untouched,
}

impl Desired {
    pub fn none() -> Self {
        Desired::Roles {
            roles: BTreeSet::new(),
        }
    }
}

/// Desired state from a customer's standing (see [`super::lapse::evaluate`]).
pub fn desired_for(
    standing: &Standing,
    action: LapseAction,
    map: &TierRoleMap,
    tenant: &str,
    guild: Id<GuildMarker>,
) -> Desired {
    match standing {
        Standing::Entitled { tier, .. } => Desired::Roles {
            roles: map.roles(tenant, guild, tier),
        },
        Standing::Never => Desired::none(),
        Standing::Lapsed { since_ms, .. } => match action {
            LapseAction::RemoveRoles => Desired::none(),
            LapseAction::Kick => Desired::Kick {
                lapse_at_ms: *since_ms,
            },
            LapseAction::Nothing => Desired::Untouched,
        },
    }
}
