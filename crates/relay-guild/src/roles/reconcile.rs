//! The periodic pass over a guild's member list that catches drift the platform never tells us
//! about (we hold no gateway connection): a member who left and rejoined has lost their roles,
//! an admin removed a role we granted, a role was given to someone whose entitlement ended.
//! Each page is diffed with the same [`converge`] as an immediate sync, so the pass and an
//! event-driven sync can never disagree.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use twilight_model::guild::Member;
use twilight_model::id::marker::{GuildMarker, RoleMarker, UserMarker};
use twilight_model::id::Id;

use relay_discord::requests::{AddMemberRole, GetGuildMembers, RemoveMember, RemoveMemberRole};

use super::desired::Desired;
use super::diff::{converge, Ledger, Plan, RoleChange};
use crate::error::GuildError;
use crate::paging::MemberCursor;

/// What the pass needs to know about a linked Discord account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub desired: Desired,
    pub ledger: Ledger,
}

/// One member's changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPlan {
    pub user_id: Id<UserMarker>,
    pub actual: BTreeSet<Id<RoleMarker>>,
    pub plan: Plan,
}

/// A pass in progress; serialisable between alarms (only the cursor and counters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    pub cursor: MemberCursor,
    pub started_at_ms: i64,
    /// Linked members seen in the guild so far.
    pub linked_seen: u64,
    /// Members with at least one change planned.
    pub members_changed: u64,
}

impl Reconciliation {
    pub fn start(guild_id: Id<GuildMarker>, started_at_ms: i64) -> Self {
        Self::with_cursor(MemberCursor::new(guild_id), started_at_ms)
    }

    pub fn with_cursor(cursor: MemberCursor, started_at_ms: i64) -> Self {
        Reconciliation {
            cursor,
            started_at_ms,
            linked_seen: 0,
            members_changed: 0,
        }
    }

    pub fn next_request(&self) -> Option<GetGuildMembers> {
        self.cursor.next_request()
    }

    pub fn is_done(&self) -> bool {
        self.cursor.done
    }

    /// Diffs one page. `linked` answers for a Discord user linked to a customer of this tenant
    /// (with the desired state for this guild and the ledger); members nobody linked are not
    /// ours and get no plan.
    pub fn feed(
        &mut self,
        page: &[Member],
        mut linked: impl FnMut(Id<UserMarker>) -> Option<Linked>,
    ) -> Result<Vec<MemberPlan>, GuildError> {
        let page = self.cursor.advance(page)?;
        let mut out = Vec::new();
        for m in page.fresh {
            if m.user.bot {
                continue;
            }
            let Some(l) = linked(m.user.id) else {
                continue;
            };
            self.linked_seen += 1;
            let actual: BTreeSet<_> = m.roles.iter().copied().collect();
            let plan = converge(&l.desired, Some(&actual), &l.ledger);
            if !plan.is_empty() {
                if plan.has_calls() {
                    self.members_changed += 1;
                }
                out.push(MemberPlan {
                    user_id: m.user.id,
                    actual,
                    plan,
                });
            }
        }
        Ok(out)
    }
}

/// One Discord call of a plan.
#[derive(Debug, Clone)]
pub enum RoleCall {
    Grant(AddMemberRole),
    Revoke(RemoveMemberRole),
    Kick(RemoveMember),
}

/// The calls for a (screened) plan, each with its audit reason. Grants go before revokes, so
/// a tier swap never leaves the member with neither role for longer than one call.
pub fn calls(
    guild_id: Id<GuildMarker>,
    user_id: Id<UserMarker>,
    plan: &Plan,
    mut reason: impl FnMut(Option<(Id<RoleMarker>, RoleChange)>) -> relay_discord::requests::AuditReason,
) -> Vec<RoleCall> {
    if let Some(_lapse) = plan.kick {
        return vec![RoleCall::Kick(RemoveMember {
            guild_id,
            user_id,
            reason: Some(reason(None)),
        })];
    }
    let mut out = Vec::new();
    for role_id in plan.grants() {
        out.push(RoleCall::Grant(AddMemberRole {
            guild_id,
            user_id,
            role_id,
            reason: Some(reason(Some((role_id, RoleChange::Grant)))),
        }));
    }
    for role_id in plan.revokes() {
        out.push(RoleCall::Revoke(RemoveMemberRole {
            guild_id,
            user_id,
            role_id,
            reason: Some(reason(Some((role_id, RoleChange::Revoke)))),
        }));
    }
    out
}
