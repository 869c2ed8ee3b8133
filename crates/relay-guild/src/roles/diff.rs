//! Convergence: from what a member should hold, what they hold, and what we granted them (the
//! ledger), the changes to make. Sync is this diff recomputed — never a queue of actions — so a
//! retry, a rejoin or an admin's edit all come out right by running it again.
//!
//! Rules, each enforced by the types or the property test:
//! - a role is granted only if it is desired and missing;
//! - a role is revoked only if it is held, **in the ledger**, and not desired — a role an
//!   admin gave by hand is never in the ledger and never removed;
//! - a desired role the member already holds is not adopted into the ledger: we did not grant
//!   it, so we will not take it away later;
//! - a plan maps each role to one change, so a grant and a revoke of the same role cannot both
//!   appear;
//! - applying a plan and diffing again yields an empty plan.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use twilight_model::id::marker::RoleMarker;
use twilight_model::id::Id;

use super::desired::Desired;

/// What we did to one member of one guild, per (tenant, guild, Discord user). Persisted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Roles we granted and have not taken back.
    pub granted: BTreeSet<Id<RoleMarker>>,
    /// The lapse (its start) we last kicked the member for; a kick happens once per lapse.
    pub kicked_for_lapse_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleChange {
    Grant,
    Revoke,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub changes: BTreeMap<Id<RoleMarker>, RoleChange>,
    /// Ledger entries for roles the member no longer holds and should not: someone removed
    /// them; we only stop claiming them.
    pub forget: BTreeSet<Id<RoleMarker>>,
    /// Kick the member, for the lapse that began at this time.
    pub kick: Option<i64>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.forget.is_empty() && self.kick.is_none()
    }

    /// Whether the plan needs Discord at all (a forget-only plan is bookkeeping).
    pub fn has_calls(&self) -> bool {
        !self.changes.is_empty() || self.kick.is_some()
    }

    pub fn grants(&self) -> impl Iterator<Item = Id<RoleMarker>> + '_ {
        self.changes
            .iter()
            .filter(|(_, c)| **c == RoleChange::Grant)
            .map(|(r, _)| *r)
    }

    pub fn revokes(&self) -> impl Iterator<Item = Id<RoleMarker>> + '_ {
        self.changes
            .iter()
            .filter(|(_, c)| **c == RoleChange::Revoke)
            .map(|(r, _)| *r)
    }

    /// Simulates a fully successful run (tests and the fake's bookkeeping); the runtime calls
    /// [`Ledger::record`] per change that Discord accepted instead.
    pub fn apply_to(&self, actual: &mut Option<BTreeSet<Id<RoleMarker>>>, ledger: &mut Ledger) {
        for r in &self.forget {
            ledger.granted.remove(r);
        }
        if let Some(roles) = actual.as_mut() {
            for (r, c) in &self.changes {
                match c {
                    RoleChange::Grant => roles.insert(*r),
                    RoleChange::Revoke => roles.remove(r),
                };
                ledger.record(*r, *c);
            }
        }
        if let Some(lapse) = self.kick {
            *actual = None;
            ledger.record_kick(lapse);
        }
    }
}

impl Ledger {
    /// After Discord accepted a change (204), or answered that it was already so.
    pub fn record(&mut self, role: Id<RoleMarker>, change: RoleChange) {
        match change {
            RoleChange::Grant => self.granted.insert(role),
            RoleChange::Revoke => self.granted.remove(&role),
        };
    }

    /// After a kick: Discord drops a leaving member's roles, so nothing is ours any more.
    pub fn record_kick(&mut self, lapse_at_ms: i64) {
        self.granted.clear();
        self.kicked_for_lapse_at_ms = Some(lapse_at_ms);
    }

    pub fn forget(&mut self, roles: &BTreeSet<Id<RoleMarker>>) {
        for r in roles {
            self.granted.remove(r);
        }
    }
}

/// The diff. `actual` is `None` when the user is not a member of the guild: nothing can be
/// changed then, and the ledger stays as it is (a rejoin starts with no roles and is granted
/// them again by the next pass).
pub fn converge(
    desired: &Desired,
    actual: Option<&BTreeSet<Id<RoleMarker>>>,
    ledger: &Ledger,
) -> Plan {
    let Some(actual) = actual else {
        return Plan::default();
    };
    let empty = BTreeSet::new();
    let target = match desired {
        Desired::Untouched => return Plan::default(),
        Desired::Kick { lapse_at_ms } => {
            if ledger.kicked_for_lapse_at_ms != Some(*lapse_at_ms) {
                return Plan {
                    kick: Some(*lapse_at_ms),
                    ..Plan::default()
                };
            }
            // Kicked for this lapse already and back in the guild: not kicked again (they may
            // be a free member now), but none of our roles.
            &empty
        }
        Desired::Roles { roles } => roles,
    };
    let mut plan = Plan::default();
    for r in target.difference(actual) {
        plan.changes.insert(*r, RoleChange::Grant);
    }
    for r in ledger.granted.difference(target) {
        if actual.contains(r) {
            plan.changes.insert(*r, RoleChange::Revoke);
        } else {
            plan.forget.insert(*r);
        }
    }
    plan
}
