//! Walking a guild's member list with `GET /guilds/{id}/members?limit=1000&after=`, one page
//! per request, so a Durable Object can spread a big guild over several requests or alarms and
//! keep only the cursor in storage.
//!
//! Discord returns members in ascending user id order after `after`. The cursor is the highest
//! id seen *as a number* (snowflakes of different lengths sort wrongly as strings), a member at
//! or below it is a repeat and is skipped (membership can change between pages), and the walk
//! ends on a short page. A full page that does not move the cursor would loop for ever: it is
//! an error instead.

use serde::{Deserialize, Serialize};
use twilight_model::guild::Member;
use twilight_model::id::marker::{GuildMarker, UserMarker};
use twilight_model::id::Id;

use relay_discord::requests::GetGuildMembers;

use crate::error::{ErrorCode, GuildError};

/// Discord's maximum page size, and ours.
pub const PAGE_LIMIT: u16 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCursor {
    pub guild_id: Id<GuildMarker>,
    /// 1–1000; smaller in tests.
    pub limit: u16,
    /// The highest user id seen so far.
    pub after: Option<Id<UserMarker>>,
    pub pages: u32,
    /// Distinct members seen (bots included).
    pub members_seen: u64,
    pub done: bool,
}

/// What one page did to the walk.
#[derive(Debug, PartialEq)]
pub struct Page<'a> {
    /// The members of the page not seen before, in id order.
    pub fresh: Vec<&'a Member>,
    /// `true` when this was the last page.
    pub done: bool,
}

impl MemberCursor {
    pub fn new(guild_id: Id<GuildMarker>) -> Self {
        Self::with_limit(guild_id, PAGE_LIMIT)
    }

    pub fn with_limit(guild_id: Id<GuildMarker>, limit: u16) -> Self {
        MemberCursor {
            guild_id,
            limit: limit.clamp(1, PAGE_LIMIT),
            after: None,
            pages: 0,
            members_seen: 0,
            done: false,
        }
    }

    /// The request for the next page; `None` once the walk is done.
    pub fn next_request(&self) -> Option<GetGuildMembers> {
        (!self.done).then_some(GetGuildMembers {
            guild_id: self.guild_id,
            limit: self.limit,
            after: self.after,
        })
    }

    /// Feeds the answer to [`next_request`](Self::next_request).
    pub fn advance<'a>(&mut self, page: &'a [Member]) -> Result<Page<'a>, GuildError> {
        if self.done {
            return Ok(Page {
                fresh: Vec::new(),
                done: true,
            });
        }
        let floor = self.after.map_or(0, |id| id.get());
        let mut fresh: Vec<&Member> = page.iter().filter(|m| m.user.id.get() > floor).collect();
        fresh.sort_by_key(|m| m.user.id.get());
        fresh.dedup_by_key(|m| m.user.id.get());
        let full = page.len() >= usize::from(self.limit);
        if full && fresh.is_empty() {
            return Err(GuildError::new(
                ErrorCode::MemberPagingStalled,
                format!(
                    "a full page of members after {floor} brought no new member; paging stopped"
                ),
            ));
        }
        if let Some(last) = fresh.last() {
            self.after = Some(last.user.id);
        }
        self.pages += 1;
        self.members_seen += fresh.len() as u64;
        self.done = !full;
        Ok(Page {
            fresh,
            done: self.done,
        })
    }
}
