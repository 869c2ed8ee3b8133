//! Customer emails as we match them.
//!
//! Normalisation is trim + lowercase, nothing more. Dots and `+tags` in the local part are kept:
//! at most providers `a.b@x` and `ab@x`, or `a+shop@x` and `a@x`, are different mailboxes that
//! may belong to different people, and merging them would hand one person's purchase (or trial
//! lock) to another. Lowercasing the local part is technically lossy (RFC 5321 lets it be
//! case-sensitive) but no provider a customer uses treats it so, and shop forms capitalise freely.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest address SMTP can carry (RFC 5321 path limit minus the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NormalizedEmail(String);

impl NormalizedEmail {
    /// `None` for anything that is not one plausible address: exactly one `@`, something on
    /// both sides, a dot-free-or-not domain without empty labels, no whitespace or controls.
    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() || s.len() > MAX_EMAIL_LEN {
            return None;
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = s.split_once('@')?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return None;
        }
        if domain.split('.').any(str::is_empty) {
            return None;
        }
        Some(NormalizedEmail(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NormalizedEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        NormalizedEmail::parse(s).unwrap().as_str().to_string()
    }

    #[test]
    fn trims_and_lowercases() {
        assert_eq!(n("  Alice@Example.COM \n"), "alice@example.com");
        assert_eq!(n("ÉLODIE@exemple.fr"), "élodie@exemple.fr");
    }

    #[test]
    fn keeps_dots_and_plus_tags_distinct() {
        assert_eq!(n("a.b+shop@gmail.com"), "a.b+shop@gmail.com");
        assert_ne!(n("a.b@gmail.com"), n("ab@gmail.com"));
        assert_ne!(n("a+x@gmail.com"), n("a@gmail.com"));
    }

    #[test]
    fn rejects_non_addresses() {
        for bad in [
            "",
            "   ",
            "alice",
            "@example.com",
            "alice@",
            "a@b@c",
            "a b@c.com",
            "a@c..com",
            "a@.com",
            "a@c.com.",
            &format!("{}@x.com", "a".repeat(260)),
        ] {
            assert!(NormalizedEmail::parse(bad).is_none(), "{bad}");
        }
    }
}
