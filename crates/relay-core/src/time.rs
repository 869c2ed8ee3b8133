//! Timestamps as they arrive (ISO-8601 with an offset) and as we keep them (Unix milliseconds
//! plus a normalised RFC 3339 string in UTC).

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    ms: i64,
}

impl Timestamp {
    pub fn from_ms(ms: i64) -> Self {
        Timestamp { ms }
    }

    /// Accepts RFC 3339 (what Discord and `Date.prototype.toISOString` produce). A timestamp
    /// without an offset is ambiguous and rejected.
    pub fn parse(s: &str) -> Option<Self> {
        let dt = DateTime::parse_from_rfc3339(s.trim()).ok()?;
        let ms = dt.timestamp_millis();
        // Years 1970..=9999 only: keeps arithmetic and formatting trivially safe.
        if !(0..=253_402_300_799_999).contains(&ms) {
            return None;
        }
        Some(Timestamp { ms })
    }

    pub fn ms(self) -> i64 {
        self.ms
    }

    pub fn to_rfc3339(self) -> String {
        match Utc.timestamp_millis_opt(self.ms).single() {
            Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
            None => String::from("1970-01-01T00:00:00.000Z"),
        }
    }
}

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// The cutoff `days` before `now_ms` (fractions allowed: operators test retention in minutes;
/// a negative window counts as none).
pub fn days_before(now_ms: i64, days: f64) -> i64 {
    now_ms - (days.max(0.0) * DAY_MS as f64) as i64
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).ok_or_else(|| serde::de::Error::custom("invalid timestamp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_cutoffs() {
        assert_eq!(days_before(10 * DAY_MS, 2.0), 8 * DAY_MS);
        assert_eq!(days_before(DAY_MS, 0.5), DAY_MS / 2);
        assert_eq!(days_before(DAY_MS, -3.0), DAY_MS);
    }

    #[test]
    fn parses_discord_and_js_formats() {
        let a = Timestamp::parse("2025-01-31T12:00:00.123000+00:00").unwrap();
        let b = Timestamp::parse("2025-01-31T12:00:00.123Z").unwrap();
        let c = Timestamp::parse("2025-01-31T13:00:00.123+01:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.to_rfc3339(), "2025-01-31T12:00:00.123Z");
    }

    #[test]
    fn rejects_ambiguous_or_garbage() {
        for bad in [
            "",
            "yesterday",
            "2025-01-31",
            "2025-01-31T12:00:00",
            "1760000000000",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
    }
}
