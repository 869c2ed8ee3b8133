//! Typed identifiers.
//!
//! Discord ids are snowflakes above 2^53: they travel and are stored as decimal strings, and the
//! `Snowflake` type keeps the validated string form so it is never squeezed through an f64 (D1 and
//! JavaScript numbers would silently round it).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Milliseconds between the Unix epoch and the Discord epoch (2015-01-01T00:00:00Z).
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Snowflake(String);

impl Snowflake {
    /// Accepts 1–20 ASCII digits whose value fits in a u64, without a leading zero.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() {
            return Err("must not be empty");
        }
        if s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a decimal string of up to 20 digits");
        }
        if s.len() > 1 && s.starts_with('0') {
            return Err("must not have leading zeros");
        }
        if s.parse::<u64>().is_err() {
            return Err("is larger than a 64-bit id");
        }
        Ok(Snowflake(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn value(&self) -> u64 {
        // Validated at construction.
        self.0.parse().unwrap_or(0)
    }

    /// The creation time encoded in the id, in Unix milliseconds.
    pub fn timestamp_ms(&self) -> i64 {
        ((self.value() >> 22) + DISCORD_EPOCH_MS) as i64
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Snowflake {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Snowflake::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Tenant keys and connector ids are operator-chosen slugs: they appear in URLs, Durable Object
/// names and idempotency keys, so keep them to a safe alphabet.
pub fn check_slug(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("must not be empty");
    }
    if s.len() > 64 {
        return Err("must be at most 64 characters");
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err("may contain only a-z, 0-9, '_' and '-'");
    }
    if !s.as_bytes()[0].is_ascii_alphanumeric() {
        return Err("must start with a letter or digit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_beyond_f64_precision_survive() {
        let id = Snowflake::parse("1234567890123456789").unwrap();
        assert_eq!(id.as_str(), "1234567890123456789");
        assert_eq!(id.value(), 1_234_567_890_123_456_789);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"1234567890123456789\"");
    }

    #[test]
    fn rejects_malformed_snowflakes() {
        for bad in [
            "",
            "abc",
            "-1",
            "1.5",
            "012",
            "99999999999999999999",
            "123456789012345678901",
        ] {
            assert!(Snowflake::parse(bad).is_err(), "{bad}");
        }
        assert!(Snowflake::parse("0").is_ok());
        assert!(Snowflake::parse("18446744073709551615").is_ok());
    }

    #[test]
    fn snowflake_timestamp() {
        // Discord's documented example id.
        let id = Snowflake::parse("175928847299117063").unwrap();
        assert_eq!(id.timestamp_ms(), 1_462_015_105_796);
    }

    #[test]
    fn slugs() {
        assert!(check_slug("t1").is_ok());
        assert!(check_slug("conn_01").is_ok());
        assert!(check_slug("demo-tenant").is_ok());
        for bad in ["", "_x", "UPPER", "a b", "a/b", &"x".repeat(65)] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
    }
}
