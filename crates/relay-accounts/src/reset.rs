//! Password-reset tokens: random, stored only as a hash, single-use, and expiring. The same
//! answer for unknown, used and expired tokens, so a probe learns nothing.

use relay_core::encoding::{base64url, hex};
use sha2::{Digest, Sha256};

pub const TOKEN_BYTES: usize = 32;
pub const DEFAULT_TTL_MS: i64 = 3_600_000;

pub fn new_token(random: &[u8; TOKEN_BYTES]) -> String {
    base64url(random)
}

pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(format!("reset\n{token}").as_bytes()))
}

/// A stored token's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Used,
    Expired,
}

impl Refused {
    pub fn code(self) -> &'static str {
        "reset_token_invalid"
    }
}

/// Whether a token found (or not) in storage may reset a password at `now`; `expires_at` is
/// exclusive. The caller marks it used in the same statement that checks `used_at IS NULL`, so
/// two concurrent uses cannot both succeed.
pub fn redeemable(stored: Option<Stored>, now: i64) -> Result<(), Refused> {
    let s = stored.ok_or(Refused::Unknown)?;
    if s.used_at.is_some() {
        return Err(Refused::Used);
    }
    if now >= s.expires_at {
        return Err(Refused::Expired);
    }
    Ok(())
}

/// The link a customer follows; the token is in the fragment so it never reaches a server log
/// or a `Referer`.
pub fn link(origin: &str, tenant_key: &str, token: &str) -> String {
    format!(
        "{}/t/{tenant_key}/reset/#token={token}",
        origin.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use_and_expiring() {
        let s = Stored {
            expires_at: 1_000,
            used_at: None,
        };
        assert_eq!(redeemable(Some(s), 999), Ok(()));
        assert_eq!(redeemable(Some(s), 1_000), Err(Refused::Expired));
        let used = Stored {
            used_at: Some(10),
            ..s
        };
        assert_eq!(redeemable(Some(used), 11), Err(Refused::Used));
        assert_eq!(redeemable(None, 0), Err(Refused::Unknown));
        for r in [Refused::Unknown, Refused::Used, Refused::Expired] {
            assert_eq!(r.code(), "reset_token_invalid");
        }
    }

    #[test]
    fn tokens_hash_apart_from_session_tokens_and_links_keep_them_in_the_fragment() {
        let t = new_token(&[9; TOKEN_BYTES]);
        assert_ne!(token_hash(&t), crate::session::token_hash(&t));
        assert_eq!(
            link("http://127.0.0.1:8787/", "demo", &t),
            format!("http://127.0.0.1:8787/t/demo/reset/#token={t}")
        );
    }
}
