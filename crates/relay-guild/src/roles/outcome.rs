//! What Discord's answer to one change means for the ledger. Only an accepted change moves the
//! ledger, so a change that failed is diffed again on the next pass (with backoff from the
//! platform layer) — there is no queue of actions to lose or duplicate.

use relay_discord::{DiscordError, ErrorKind as DiscordKind};
use twilight_model::id::marker::RoleMarker;
use twilight_model::id::Id;

use super::diff::{Ledger, RoleChange};
use crate::error::{ErrorCode, GuildError};

/// Discord's "Unknown Member" and "Unknown Role" codes.
const UNKNOWN_MEMBER: u32 = 10007;
const UNKNOWN_ROLE: u32 = 10011;

/// The call that was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    Role(Id<RoleMarker>, RoleChange),
    /// A kick for the lapse that began at this time.
    Kick(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeResult {
    /// Recorded in the ledger.
    Done,
    /// Rate limited or a transient fault: nothing recorded; the next pass (at `at_ms` if
    /// given) diffs again.
    Retry { at_ms: Option<i64> },
    /// The member left meanwhile: nothing to change; a rejoin is caught by the drift pass.
    MemberGone,
    /// Shown on the member's role state; the member's other changes go on.
    Failed(GuildError),
}

pub fn record_outcome(
    ledger: &mut Ledger,
    made: Made,
    result: Result<(), &DiscordError>,
) -> ChangeResult {
    let err = match result {
        Ok(()) => {
            match made {
                Made::Role(role, change) => ledger.record(role, change),
                Made::Kick(lapse) => ledger.record_kick(lapse),
            }
            return ChangeResult::Done;
        }
        Err(e) => e,
    };
    if matches!(
        err.kind,
        DiscordKind::RateLimited | DiscordKind::Transient | DiscordKind::Banned
    ) {
        return ChangeResult::Retry {
            at_ms: err.retry_at_ms,
        };
    }
    match (err.discord_code, made) {
        (Some(UNKNOWN_MEMBER), Made::Kick(lapse)) => {
            // Gone already: the kick's purpose is met.
            ledger.record_kick(lapse);
            ChangeResult::Done
        }
        (Some(UNKNOWN_MEMBER), Made::Role(..)) => ChangeResult::MemberGone,
        (Some(UNKNOWN_ROLE), Made::Role(role, _)) => ChangeResult::Failed(GuildError::role(
            ErrorCode::RoleUnknown,
            role,
            "Discord no longer has this role",
        )),
        (_, Made::Role(role, change)) => ChangeResult::Failed(GuildError::role(
            ErrorCode::RoleChangeRefused,
            role,
            &format!(
                "Discord refused the {}: {}",
                match change {
                    RoleChange::Grant => "grant",
                    RoleChange::Revoke => "removal",
                },
                err
            ),
        )),
        (_, Made::Kick(_)) => ChangeResult::Failed(GuildError::new(
            ErrorCode::KickForbidden,
            format!("Discord refused the kick: {err}"),
        )),
    }
}
