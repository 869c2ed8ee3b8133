//! The limiter's tunables and the reasons a caller waits, shared by the limiter and its buckets.

use serde::{Deserialize, Serialize};

use crate::error::Backoff;

/// Tunables. The defaults follow Discord's documented limits with margins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Requests per `global_window_ms` on the bot token.
    pub global_limit: u32,
    pub global_window_ms: i64,
    /// Invalid requests tolerated per `invalid_window_ms` before pausing.
    pub invalid_budget: u32,
    pub invalid_window_ms: i64,
    /// A permit's deadline: the caller aborts its request by then.
    pub in_flight_timeout_ms: i64,
    /// How long a timed-out request may still count in a window: above the longest window of
    /// the routes we use (about 60 s per channel, observed). A timed-out request to a bucket
    /// not yet learned holds the next one back that long.
    pub ghost_ttl_ms: i64,
    /// How soon to ask again when waiting for another request's headers.
    pub poll_ms: i64,
    /// Pause after a ban page: doubles with each ban in a row.
    pub ban_backoff: Backoff,
    /// Size bounds of the persisted state.
    pub max_buckets: usize,
    pub max_routes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            global_limit: 50,
            global_window_ms: 1_000,
            invalid_budget: 1_000,
            invalid_window_ms: 10 * 60_000,
            in_flight_timeout_ms: 30_000,
            ghost_ttl_ms: 65_000,
            poll_ms: 250,
            ban_backoff: Backoff {
                base_ms: 60_000,
                cap_ms: 60 * 60_000,
            },
            max_buckets: 512,
            max_routes: 1_024,
        }
    }
}

/// Why a caller must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// The bucket's window is used up.
    Bucket,
    /// The bucket is unknown and one request is out learning it.
    Learning,
    /// A 429 on this bucket.
    RetryAfter,
    /// The bot token's 50/s.
    Global,
    /// A global 429.
    GlobalRetryAfter,
    /// Too many invalid requests lately.
    InvalidBudget,
    /// A Cloudflare ban page.
    Banned,
    /// The state is at its size bound and nothing is idle yet.
    Capacity,
}
