//! A throttle's limit.

/// At most `limit` attempts per `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub limit: u32,
    pub window_ms: i64,
}

impl Rule {
    pub const fn per(limit: u32, window_ms: i64) -> Rule {
        Rule { limit, window_ms }
    }
}
