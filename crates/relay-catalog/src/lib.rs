//! The bot's catalog: which guilds the bot is in, their text-capable channels and their roles,
//! with what the bot may do there. Plain Rust, no runtime: the refresh Durable Object feeds it
//! Discord's answers and writes what it returns to D1.
//!
//! - [`snapshot`]: one guild as Discord shows it now, reduced to catalog rows, with the bot's
//!   effective permissions per channel computed by twilight-util's `PermissionCalculator`
//!   (owner, ADMINISTRATOR, @everyone / role / member overwrites in Discord's order).
//! - [`warnings`]: what an operator must fix before a target or a tier role works (the bot
//!   cannot see a channel, lacks MANAGE_WEBHOOKS there or MANAGE_ROLES in the guild, a role is
//!   managed or sits at or above the bot's highest role, a channel's webhook slots are full).
//! - [`diff`]: a fresh snapshot against the stored rows: what to upsert, what went away (made
//!   inactive, never deleted: mappings and history keep pointing at it).
//! - [`refresh`]: the refresh as a resumable cursor: which Discord call comes next, and what
//!   each answer does to the cursor, so a run can stop at any step (rate limit, fault, restart)
//!   and continue from storage.

pub mod diff;
pub mod refresh;
pub mod snapshot;
pub mod warnings;

pub use diff::{diff, Diff, Keyed};
pub use refresh::{Call, Cursor, Progress};
pub use snapshot::{ChannelRow, GuildFacts, GuildSnapshot, RoleRow};
/// The Discord types the cursor is fed, for callers without their own dependency on them.
pub use twilight_model;
pub use warnings::{channel_warnings, role_warnings, Warning};

/// Channel types the catalog keeps: the ones a webhook can post in, plus categories so a
/// picker can group by parent. Threads are not listed by Discord's guild channel route.
pub const TEXT_CAPABLE: [u8; 4] = [0, 5, 15, 16];
pub const CATEGORY: u8 = 4;

/// Whether a channel of this type can be a mirroring target.
pub fn is_target_type(kind: u8) -> bool {
    TEXT_CAPABLE.contains(&kind)
}

/// Discord's limit of webhooks per channel (error 30007 past it).
pub const WEBHOOKS_PER_CHANNEL: u32 = 15;
