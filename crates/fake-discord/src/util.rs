//! Time, ids and small encoders shared by every module.

use fake_http::time::civil_from_days;
use sha2::{Digest, Sha256};

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds: snowflakes count from here.
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

pub use fake_http::time::now_ms;

/// The id Discord would give an object created at `ms` with per-millisecond increment `inc`.
pub fn snowflake(ms: u64, inc: u64) -> u64 {
    (ms.saturating_sub(DISCORD_EPOCH_MS) << 22) | (inc & 0xfff)
}

pub fn snowflake_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// Hands out increasing snowflakes, so ids sort in creation order as Discord's do.
#[derive(Debug, Default)]
pub struct IdGen {
    last: u64,
}

impl IdGen {
    pub fn next(&mut self, now_ms: u64) -> u64 {
        let candidate = snowflake(now_ms, 0);
        self.last = if candidate > self.last {
            candidate
        } else {
            self.last + 1
        };
        self.last
    }
}

/// ISO 8601 with microseconds and an explicit offset, the way Discord writes timestamps.
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let micros = (ms % 1000) * 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// First `n` hex characters of SHA-256: stable, opaque-looking identifiers (bucket ids, hashes).
pub fn short_hash(input: &str, n: usize) -> String {
    let digest = Sha256::digest(input.as_bytes());
    let mut h = hex(&digest);
    h.truncate(n);
    h
}

/// Seconds with three decimals, as Discord writes `X-RateLimit-Reset` and `-Reset-After`.
pub fn secs3(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000+00:00");
        assert_eq!(
            iso8601(1_420_070_400_123),
            "2015-01-01T00:00:00.123000+00:00"
        );
        assert_eq!(
            iso8601(1_709_210_096_000),
            "2024-02-29T12:34:56.000000+00:00"
        );
    }

    #[test]
    fn snowflakes_round_trip_and_increase() {
        let id = snowflake(1_700_000_000_000, 5);
        assert_eq!(snowflake_ms(id), 1_700_000_000_000);
        let mut ids = IdGen::default();
        let a = ids.next(1_700_000_000_000);
        let b = ids.next(1_700_000_000_000);
        let c = ids.next(1_600_000_000_000);
        assert!(a < b && b < c);
    }

    #[test]
    fn secs3_keeps_millisecond_precision() {
        assert_eq!(secs3(1_234), "1.234");
        assert_eq!(secs3(60_005), "60.005");
    }
}
