//! A catalog refresh as a resumable cursor.
//!
//! Discord may answer "not before T" at any call, and a request must never sleep, so the
//! refresh is a sequence of single calls: the owner (a Durable Object) asks [`Cursor::next`]
//! for the next call, makes it, feeds the answer back, saves the cursor, and either goes on or
//! stops and sets an alarm. Every state between two calls is a value that serialises, so a
//! run survives an eviction, a restart or an hour-long ban without starting over.
//!
//! The order per guild: the guild (name, owner, roles), the bot's member (its roles), the
//! channels (the snapshot is built as they arrive, so the cursor stores catalog rows, never
//! Discord's full objects), the webhooks of each channel where the bot may list them, then
//! the commit to D1. After the last guild, guilds the listing no longer shows are made
//! inactive.

use relay_core::ids::{ChannelId, GuildId, RoleId, UserId};
use serde::{Deserialize, Serialize};
use twilight_model::channel::Channel;
use twilight_model::guild::{Guild, Member, Role};
use twilight_model::user::CurrentUserGuild;

use crate::snapshot::GuildSnapshot;

/// `GET /users/@me/guilds` page size (Discord's maximum).
pub const GUILD_PAGE: u16 = 200;

/// One Discord call (or D1 write) the owner makes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `GET /users/@me`: the bot's user id.
    CurrentUser,
    /// `GET /users/@me/guilds?limit=200[&after=]`.
    ListGuilds { after: Option<GuildId> },
    /// `GET /guilds/{g}`.
    GetGuild { guild_id: GuildId },
    /// `GET /guilds/{g}/members/{bot}`.
    GetBotMember { guild_id: GuildId, user_id: UserId },
    /// `GET /guilds/{g}/channels`.
    GetChannels { guild_id: GuildId },
    /// `GET /channels/{c}/webhooks`.
    ListWebhooks { channel_id: ChannelId },
    /// Write this guild's snapshot to D1 (diffed against the stored rows there).
    Commit { snapshot: Box<GuildSnapshot> },
    /// Mark every catalog guild not in `listed` inactive.
    Finish { listed: Vec<ListedGuild> },
    /// Nothing left.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedGuild {
    pub guild_id: GuildId,
    pub name: String,
}

/// Where the current guild stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
enum Stage {
    Guild,
    Member {
        name: String,
        owner_id: Option<UserId>,
        roles: Vec<Role>,
    },
    Channels {
        name: String,
        owner_id: Option<UserId>,
        roles: Vec<Role>,
        bot_roles: Vec<RoleId>,
    },
    Webhooks {
        snapshot: Box<GuildSnapshot>,
        pending: Vec<ChannelId>,
    },
}

/// How far a run got, for the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub guilds_listed: usize,
    pub guilds_done: usize,
    pub guilds_failed: usize,
    pub calls: u32,
    pub listing_done: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildFailure {
    pub guild_id: GuildId,
    /// The stable error code (`discord_missing_access`, ...), kept for the operator.
    pub error_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub started_at_ms: i64,
    bot_id: Option<UserId>,
    listed: Vec<ListedGuild>,
    listing_done: bool,
    /// Index into `listed` of the guild being read.
    index: usize,
    stage: Stage,
    pub failed: Vec<GuildFailure>,
    pub calls: u32,
    finished: bool,
}

impl Cursor {
    pub fn new(started_at_ms: i64) -> Cursor {
        Cursor {
            started_at_ms,
            bot_id: None,
            listed: Vec::new(),
            listing_done: false,
            index: 0,
            stage: Stage::Guild,
            failed: Vec::new(),
            calls: 0,
            finished: false,
        }
    }

    pub fn progress(&self) -> Progress {
        Progress {
            guilds_listed: self.listed.len(),
            guilds_done: self.index.min(self.listed.len()),
            guilds_failed: self.failed.len(),
            calls: self.calls,
            listing_done: self.listing_done,
        }
    }

    pub fn is_done(&self) -> bool {
        self.finished
    }

    /// The guild the next call is about, if any (a permanent failure of a guild-scoped call
    /// skips that guild, not the run).
    pub fn current_guild(&self) -> Option<&GuildId> {
        match self.next() {
            Call::GetGuild { .. }
            | Call::GetBotMember { .. }
            | Call::GetChannels { .. }
            | Call::ListWebhooks { .. }
            | Call::Commit { .. } => self.listed.get(self.index).map(|g| &g.guild_id),
            _ => None,
        }
    }

    pub fn next(&self) -> Call {
        if self.finished {
            return Call::Done;
        }
        let Some(bot) = &self.bot_id else {
            return Call::CurrentUser;
        };
        if !self.listing_done {
            return Call::ListGuilds {
                after: self.listed.last().map(|g| g.guild_id.clone()),
            };
        }
        let Some(g) = self.listed.get(self.index) else {
            return Call::Finish {
                listed: self.listed.clone(),
            };
        };
        let guild_id = g.guild_id.clone();
        match &self.stage {
            Stage::Guild => Call::GetGuild { guild_id },
            Stage::Member { .. } => Call::GetBotMember {
                guild_id,
                user_id: bot.clone(),
            },
            Stage::Channels { .. } => Call::GetChannels { guild_id },
            Stage::Webhooks { pending, snapshot } => match pending.first() {
                Some(c) => Call::ListWebhooks {
                    channel_id: c.clone(),
                },
                None => Call::Commit {
                    snapshot: snapshot.clone(),
                },
            },
        }
    }

    fn counted(&mut self) {
        self.calls = self.calls.saturating_add(1);
    }

    pub fn on_current_user(&mut self, id: UserId) {
        self.counted();
        self.bot_id = Some(id);
    }

    /// A page of the bot's guilds; a short page ends the listing.
    pub fn on_guild_page(&mut self, page: &[CurrentUserGuild]) {
        self.counted();
        let before = self.listed.len();
        for g in page {
            let id = GuildId::from(g.id);
            if !self.listed.iter().any(|l| l.guild_id == id) {
                self.listed.push(ListedGuild {
                    guild_id: id,
                    name: g.name.clone(),
                });
            }
        }
        // A full page that added nothing new would page for ever; treat it as the end.
        if page.len() < usize::from(GUILD_PAGE) || self.listed.len() == before {
            self.listing_done = true;
        }
    }

    pub fn on_guild(&mut self, guild: &Guild) {
        self.on_guild_parts(&guild.name, Some(guild.owner_id.into()), &guild.roles);
    }

    /// [`Cursor::on_guild`] from the parts the catalog uses.
    pub fn on_guild_parts(&mut self, name: &str, owner_id: Option<UserId>, roles: &[Role]) {
        self.counted();
        self.stage = Stage::Member {
            name: name.to_string(),
            owner_id,
            roles: roles.to_vec(),
        };
    }

    pub fn on_bot_member(&mut self, member: &Member) {
        let roles: Vec<RoleId> = member.roles.iter().map(|r| RoleId::from(*r)).collect();
        self.on_bot_roles(&roles);
    }

    /// [`Cursor::on_bot_member`] from the member's role ids.
    pub fn on_bot_roles(&mut self, bot_roles: &[RoleId]) {
        self.counted();
        if let Stage::Member {
            name,
            owner_id,
            roles,
        } = &self.stage
        {
            self.stage = Stage::Channels {
                name: name.clone(),
                owner_id: owner_id.clone(),
                roles: roles.clone(),
                bot_roles: bot_roles.to_vec(),
            };
        }
    }

    pub fn on_channels(&mut self, channels: &[Channel]) {
        self.counted();
        let (
            Stage::Channels {
                name,
                owner_id,
                roles,
                bot_roles,
            },
            Some(bot),
            Some(g),
        ) = (&self.stage, &self.bot_id, self.listed.get(self.index))
        else {
            return;
        };
        let snapshot = GuildSnapshot::build(
            g.guild_id.clone(),
            name,
            owner_id.clone(),
            roles,
            channels,
            bot,
            bot_roles,
        );
        let pending = snapshot.webhook_listable();
        self.stage = Stage::Webhooks {
            snapshot: Box::new(snapshot),
            pending,
        };
    }

    /// The webhook list of the first pending channel (`None`: it could not be read, the
    /// count stays unknown).
    pub fn on_webhooks(&mut self, count: Option<u32>) {
        self.counted();
        if let Stage::Webhooks { snapshot, pending } = &mut self.stage {
            if !pending.is_empty() {
                let c = pending.remove(0);
                if let Some(n) = count {
                    snapshot.set_webhook_count(&c, n);
                }
            }
        }
    }

    pub fn on_committed(&mut self) {
        self.index += 1;
        self.stage = Stage::Guild;
    }

    /// A guild-scoped call failed for good (missing access, unknown guild): record it, keep
    /// the guild's stored rows as they are, and go on with the next guild.
    pub fn on_guild_failed(&mut self, error_code: &str) {
        self.counted();
        if let Some(g) = self.listed.get(self.index) {
            self.failed.push(GuildFailure {
                guild_id: g.guild_id.clone(),
                error_code: error_code.to_string(),
            });
        }
        self.index += 1;
        self.stage = Stage::Guild;
    }

    pub fn on_finished(&mut self) {
        self.finished = true;
    }

    /// Guilds listed so far (ids and names).
    pub fn listed(&self) -> &[ListedGuild] {
        &self.listed
    }
}
