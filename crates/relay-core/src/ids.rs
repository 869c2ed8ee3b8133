//! Typed identifiers.
//!
//! Discord ids are snowflakes above 2^53: they travel and are stored as decimal strings, and the
//! `Snowflake` type keeps the validated string form so it is never squeezed through an f64 (D1 and
//! JavaScript numbers would silently round it).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

pub use twilight_model::id::marker::{
    AttachmentMarker, ChannelMarker, GuildMarker, MessageMarker, RoleMarker, UserMarker,
};
use twilight_model::id::Id;

/// Milliseconds between the Unix epoch and the Discord epoch (2015-01-01T00:00:00Z).
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A Discord id of one kind (`M` is a twilight-model marker: guild, channel, message, user,
/// role, attachment), so a channel id cannot be passed where a guild id is expected. The
/// validated decimal string is kept as is and stored as TEXT; [`Snowflake::id`] converts to
/// twilight-model's `Id<M>` where Discord objects flow.
pub struct Snowflake<M = AnyMarker> {
    raw: String,
    kind: PhantomData<fn() -> M>,
}

/// The marker of an id whose kind the context does not fix (a JSON walker's raw value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AnyMarker;

pub type GuildId = Snowflake<GuildMarker>;
/// Channels and threads (a thread is a channel on Discord).
pub type ChannelId = Snowflake<ChannelMarker>;
pub type MessageId = Snowflake<MessageMarker>;
pub type UserId = Snowflake<UserMarker>;
pub type RoleId = Snowflake<RoleMarker>;
pub type AttachmentId = Snowflake<AttachmentMarker>;

impl<M> Snowflake<M> {
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
        Ok(Snowflake {
            raw: s.to_string(),
            kind: PhantomData,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn value(&self) -> u64 {
        // Validated at construction.
        self.raw.parse().unwrap_or(0)
    }

    /// The creation time encoded in the id, in Unix milliseconds.
    pub fn timestamp_ms(&self) -> i64 {
        ((self.value() >> 22) + DISCORD_EPOCH_MS) as i64
    }

    /// twilight-model's id of the same kind; `None` for `0`, which Discord never issues.
    pub fn id(&self) -> Option<Id<M>> {
        Id::new_checked(self.value())
    }

    /// The same digits as an id of another kind, where Discord itself equates them (the
    /// @everyone role's id is its guild's id).
    pub fn cast<N>(&self) -> Snowflake<N> {
        Snowflake {
            raw: self.raw.clone(),
            kind: PhantomData,
        }
    }
}

impl<M> From<Id<M>> for Snowflake<M> {
    fn from(id: Id<M>) -> Self {
        Snowflake {
            raw: id.get().to_string(),
            kind: PhantomData,
        }
    }
}

// The traits are written out because derives would demand them of the marker too.
impl<M> Clone for Snowflake<M> {
    fn clone(&self) -> Self {
        Snowflake {
            raw: self.raw.clone(),
            kind: PhantomData,
        }
    }
}

impl<M> PartialEq for Snowflake<M> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl<M> Eq for Snowflake<M> {}

impl<M> std::hash::Hash for Snowflake<M> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.raw.hash(state)
    }
}

impl<M> PartialOrd for Snowflake<M> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Orders as the strings do (the order the stored TEXT sorts in), as before kinds existed.
impl<M> Ord for Snowflake<M> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.raw.cmp(&other.raw)
    }
}

impl<M> fmt::Debug for Snowflake<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Snowflake({})", self.raw)
    }
}

impl<M> fmt::Display for Snowflake<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl<M> Serialize for Snowflake<M> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de, M> Deserialize<'de> for Snowflake<M> {
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
        let id: Snowflake = Snowflake::parse("1234567890123456789").unwrap();
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
            assert!(Snowflake::<AnyMarker>::parse(bad).is_err(), "{bad}");
        }
        assert!(Snowflake::<AnyMarker>::parse("0").is_ok());
        assert!(Snowflake::<AnyMarker>::parse("18446744073709551615").is_ok());
    }

    #[test]
    fn kinds_share_the_wire_form_and_convert_to_twilight_ids() {
        let g = GuildId::parse("1300000000000000000").unwrap();
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            "\"1300000000000000000\""
        );
        let id = g.id().unwrap();
        assert_eq!(id.get(), 1_300_000_000_000_000_000);
        assert_eq!(GuildId::from(id), g);
        let everyone: RoleId = g.cast();
        assert_eq!(everyone.as_str(), g.as_str());
        assert!(ChannelId::parse("0").unwrap().id().is_none());
        // A JSON number is refused: it may already have lost digits.
        assert!(serde_json::from_str::<UserId>("1300000000000000000").is_err());
    }

    #[test]
    fn snowflake_timestamp() {
        // Discord's documented example id.
        let id = MessageId::parse("175928847299117063").unwrap();
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
