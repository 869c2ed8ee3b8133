//! Connector and admin bearer tokens.
//!
//! A connector token is 256 random bits, shown to the operator once and stored only as its
//! SHA-256. Lookups go by hash, and the final comparison is constant-time so a partial match
//! is not observable.

use sha2::{Digest, Sha256};

use crate::encoding::{base64url, hex};
use crate::hmac::constant_time_eq;

/// Prefix that makes a leaked token recognisable (secret scanners, logs).
pub const CONNECTOR_TOKEN_PREFIX: &str = "srct_";
pub const TOKEN_RANDOM_BYTES: usize = 32;

/// Builds a token from fresh random bytes (the caller owns the entropy source, so this stays
/// testable and runtime-free).
pub fn connector_token(random: &[u8; TOKEN_RANDOM_BYTES]) -> String {
    format!("{CONNECTOR_TOKEN_PREFIX}{}", base64url(random))
}

/// Hex SHA-256 of the token, the only form we store.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A short, non-secret hint shown in listings so operators can tell tokens apart.
pub fn token_hint(token: &str) -> String {
    let tail: String = token
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{CONNECTOR_TOKEN_PREFIX}…{tail}")
}

/// Compares a presented token with a stored hash in constant time.
pub fn verify_token(presented: &str, stored_hash: &str) -> bool {
    constant_time_eq(hash_token(presented).as_bytes(), stored_hash.as_bytes())
}

/// Compares two secrets of possibly different lengths without leaking where they differ:
/// both sides are hashed first, so the comparison always runs over 32 bytes.
pub fn secrets_equal(presented: &str, expected: &str) -> bool {
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    constant_time_eq(&a, &b)
}

/// Extracts the token from an `Authorization: Bearer …` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_format_and_hash() {
        let t = connector_token(&[7u8; 32]);
        assert!(t.starts_with(CONNECTOR_TOKEN_PREFIX));
        // 32 bytes of base64url without padding = 43 characters.
        assert_eq!(t.len(), CONNECTOR_TOKEN_PREFIX.len() + 43);
        let h = hash_token(&t);
        assert_eq!(h.len(), 64);
        assert!(verify_token(&t, &h));
        assert!(!verify_token(&connector_token(&[8u8; 32]), &h));
        assert!(!token_hint(&t).contains(&t[..10]));
    }

    #[test]
    fn sha256_known_vector() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer   abc  ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(Some("Bearer")), None);
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn secrets_equal_handles_lengths() {
        assert!(secrets_equal("admin-secret", "admin-secret"));
        assert!(!secrets_equal("admin", "admin-secret"));
        assert!(!secrets_equal("", "admin-secret"));
    }
}
