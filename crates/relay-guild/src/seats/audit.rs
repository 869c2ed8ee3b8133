//! Counting seats: unique non-bot members who can VIEW at least one mapped target channel.

use serde::{Deserialize, Serialize};
use twilight_model::guild::Member;

use relay_discord::requests::GetGuildMembers;

use crate::access::{ChannelAccess, GuildFacts, MemberFacts};
use crate::error::GuildError;
use crate::paging::MemberCursor;

/// A count of seats. `exact == false` is an upper bound (the approximate member count, bots
/// included): it proves "within the limit" and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatCount {
    pub value: u64,
    pub exact: bool,
}

impl SeatCount {
    pub fn exact(value: u64) -> Self {
        SeatCount { value, exact: true }
    }

    pub fn at_most(value: u64) -> Self {
        SeatCount {
            value,
            exact: false,
        }
    }
}

/// What an audit should do before paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditPlan {
    /// The guild has no more members than the limit (bots included), so it cannot be over:
    /// record the upper bound and skip the member list.
    WithinLimit(SeatCount),
    /// Page through the member list.
    Full,
}

/// The approximate-member-count short cut (`GET /guilds/{id}?with_counts=true`). Members are a
/// superset of seats, so `approximate_member_count ≤ limit` proves the guild is within its
/// limit. The snapshot then says "at most N" rather than an exact count; the number can lag
/// joins by a little (it is approximate), which the next audit (≤ 60 s) catches.
pub fn plan_audit(approximate_member_count: Option<u64>, limit: u64, shortcut: bool) -> AuditPlan {
    match approximate_member_count {
        Some(n) if shortcut && n <= limit => AuditPlan::WithinLimit(SeatCount::at_most(n)),
        _ => AuditPlan::Full,
    }
}

/// An audit in progress, serialisable between requests or alarms: the guild's roles and the
/// targets' overwrites as they were when it started (every page is judged by the same rules),
/// the member cursor and the running count. Holds no member list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatAudit {
    pub guild: GuildFacts,
    pub targets: Vec<ChannelAccess>,
    pub cursor: MemberCursor,
    pub seats: u64,
    pub bots: u64,
    /// The snapshot's `checked_at`: a count is as old as its first page.
    pub started_at_ms: i64,
}

/// Where the audit is after a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Ask for [`SeatAudit::next_request`] next.
    More,
    Done(SeatCount),
}

impl SeatAudit {
    pub fn start(guild: GuildFacts, targets: Vec<ChannelAccess>, started_at_ms: i64) -> Self {
        Self::with_cursor(
            MemberCursor::new(guild.guild_id),
            guild,
            targets,
            started_at_ms,
        )
    }

    /// As [`start`](Self::start) with a custom page size (tests, small guilds).
    pub fn with_cursor(
        cursor: MemberCursor,
        guild: GuildFacts,
        targets: Vec<ChannelAccess>,
        started_at_ms: i64,
    ) -> Self {
        let mut audit = SeatAudit {
            guild,
            targets,
            cursor,
            seats: 0,
            bots: 0,
            started_at_ms,
        };
        // Nobody can see a channel that is not mapped: no member list needed.
        if audit.targets.is_empty() {
            audit.cursor.done = true;
        }
        audit
    }

    pub fn next_request(&self) -> Option<GetGuildMembers> {
        self.cursor.next_request()
    }

    pub fn progress(&self) -> Progress {
        if self.cursor.done {
            Progress::Done(SeatCount::exact(self.seats))
        } else {
            Progress::More
        }
    }

    pub fn is_seat(&self, m: &MemberFacts) -> bool {
        !m.bot && self.targets.iter().any(|t| self.guild.can_view(m, t))
    }

    /// Counts one page (the answer to [`next_request`](Self::next_request)).
    pub fn feed(&mut self, page: &[Member]) -> Result<Progress, GuildError> {
        let page = self.cursor.advance(page)?;
        for m in page.fresh {
            let facts = MemberFacts::from(m);
            if facts.bot {
                self.bots += 1;
            } else if self.is_seat(&facts) {
                self.seats += 1;
            }
        }
        Ok(self.progress())
    }
}
