//! Sessions: an opaque random token in an `HttpOnly; Secure; SameSite=Lax` cookie, stored
//! server-side only as its SHA-256, with an absolute and an idle expiry; and the CSRF rules every
//! state-changing request passes (an `Origin` check, then a per-session token).

use relay_core::encoding::{base64url, hex};
use relay_core::hmac::constant_time_eq;
use sha2::{Digest, Sha256};

pub const COOKIE_NAME: &str = "sr_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const TOKEN_BYTES: usize = 32;

/// How long a session may live, and how long it may sit unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub absolute_ms: i64,
    pub idle_ms: i64,
    /// `last_seen_at` is written back at most this often, so a page polling every second does
    /// not turn every read into a write. Idle expiry is therefore exact to within this much.
    pub touch_every_ms: i64,
}

impl Policy {
    pub const DEFAULT: Policy = Policy {
        absolute_ms: 7 * 24 * 3_600_000,
        idle_ms: 12 * 3_600_000,
        touch_every_ms: 60_000,
    };
}

/// The stored facts about one session that decide whether it still admits its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub created_at: i64,
    pub last_seen_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Revoked,
    Expired,
    Idle,
}

impl Lifetime {
    pub fn absolute_expiry(&self, p: &Policy) -> i64 {
        self.created_at.saturating_add(p.absolute_ms)
    }

    pub fn idle_expiry(&self, p: &Policy) -> i64 {
        self.last_seen_at
            .saturating_add(p.idle_ms)
            .min(self.absolute_expiry(p))
    }

    /// Expiry instants are exclusive: at `created_at + absolute_ms` the session is over.
    pub fn check(&self, p: &Policy, now: i64) -> Result<(), Invalid> {
        if self.revoked_at.is_some() {
            return Err(Invalid::Revoked);
        }
        if now >= self.absolute_expiry(p) {
            return Err(Invalid::Expired);
        }
        if now >= self.last_seen_at.saturating_add(p.idle_ms) {
            return Err(Invalid::Idle);
        }
        Ok(())
    }

    /// Whether this use should be written back as the new `last_seen_at`.
    pub fn should_touch(&self, p: &Policy, now: i64) -> bool {
        now - self.last_seen_at >= p.touch_every_ms
    }
}

/// A new session token (for the cookie) from fresh random bytes.
pub fn new_token(random: &[u8; TOKEN_BYTES]) -> String {
    base64url(random)
}

/// What the database keeps: the token itself never reaches storage or logs.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// `Set-Cookie` for a session. `Secure` is always set: browsers honour it on
/// `http://localhost` and `http://127.0.0.1`, and everywhere else the site is HTTPS.
pub fn set_cookie(token: &str, max_age_s: i64) -> String {
    format!(
        "{COOKIE_NAME}={token}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Lax",
        max_age_s.max(0)
    )
}

pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
}

/// The session token from a `Cookie` header, if one is there and looks like ours.
pub fn token_from_cookie_header(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, v)| v.trim())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfError {
    /// No `Origin`, or one that is neither ours nor allowed.
    Origin,
    /// Missing or wrong `X-CSRF-Token`.
    Token,
}

impl CsrfError {
    pub fn code(self) -> &'static str {
        match self {
            CsrfError::Origin => "csrf_origin",
            CsrfError::Token => "csrf_token",
        }
    }
}

/// State-changing requests must say where they come from, and it must be this site (or an
/// origin the operator allowed). A missing `Origin` is refused: every browser sends one on a
/// cross-site POST, and so do ours on same-origin POSTs; a client without one is not a page.
pub fn check_origin(origin: Option<&str>, own: &str, allowed: &[String]) -> Result<(), CsrfError> {
    let origin = origin
        .map(|o| o.trim().trim_end_matches('/'))
        .ok_or(CsrfError::Origin)?;
    let own = own.trim_end_matches('/');
    if origin.eq_ignore_ascii_case(own) || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        Ok(())
    } else {
        Err(CsrfError::Origin)
    }
}

/// The session's CSRF token, compared in constant time.
pub fn check_csrf_token(presented: Option<&str>, expected: &str) -> Result<(), CsrfError> {
    match presented {
        Some(p)
            if !expected.is_empty()
                && constant_time_eq(p.trim().as_bytes(), expected.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(CsrfError::Token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: Policy = Policy {
        absolute_ms: 1_000,
        idle_ms: 300,
        touch_every_ms: 50,
    };

    fn life(created: i64, seen: i64) -> Lifetime {
        Lifetime {
            created_at: created,
            last_seen_at: seen,
            revoked_at: None,
        }
    }

    #[test]
    fn absolute_expiry_is_exclusive_and_beats_activity() {
        let l = life(0, 900);
        assert_eq!(l.check(&P, 999), Ok(()));
        assert_eq!(l.check(&P, 1_000), Err(Invalid::Expired));
        assert_eq!(l.idle_expiry(&P), 1_000);
    }

    #[test]
    fn idle_expiry_is_exclusive() {
        let l = life(0, 100);
        assert_eq!(l.check(&P, 399), Ok(()));
        assert_eq!(l.check(&P, 400), Err(Invalid::Idle));
    }

    #[test]
    fn revocation_wins_over_everything() {
        let l = Lifetime {
            revoked_at: Some(5),
            ..life(0, 0)
        };
        assert_eq!(l.check(&P, 1), Err(Invalid::Revoked));
    }

    #[test]
    fn touches_are_rate_limited() {
        let l = life(0, 100);
        assert!(!l.should_touch(&P, 149));
        assert!(l.should_touch(&P, 150));
    }

    proptest! {
        /// Valid exactly when not revoked, before the absolute end and before the idle end.
        #[test]
        fn validity_is_the_conjunction_of_both_windows(created in 0i64..10_000, idle_gap in 0i64..2_000, age in 0i64..3_000) {
            let seen = created + idle_gap.min(1_000);
            let now = seen + age;
            let ok = now < created + P.absolute_ms && now < seen + P.idle_ms;
            prop_assert_eq!(life(created, seen).check(&P, now).is_ok(), ok);
        }
    }

    #[test]
    fn tokens_are_url_safe_and_stored_hashed() {
        let t = new_token(&[0xfb; TOKEN_BYTES]);
        assert_eq!(t.len(), 43);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let h = token_hash(&t);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&t));
        assert_ne!(token_hash(&new_token(&[0xfa; TOKEN_BYTES])), h);
    }

    #[test]
    fn the_cookie_is_httponly_secure_lax() {
        let c = set_cookie("abc", 60);
        assert!(c.starts_with("sr_session=abc;"));
        for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=60"] {
            assert!(c.split("; ").any(|a| a == attr), "{attr} in {c}");
        }
        assert!(clear_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn cookie_parsing_finds_only_our_well_formed_token() {
        assert_eq!(
            token_from_cookie_header("a=1; sr_session=tok_EN-9; b=2"),
            Some("tok_EN-9")
        );
        assert_eq!(token_from_cookie_header("sr_session_x=1"), None);
        assert_eq!(token_from_cookie_header("sr_session="), None);
        assert_eq!(token_from_cookie_header("sr_session=a\"b"), None);
        assert_eq!(token_from_cookie_header("other=1"), None);
    }

    #[test]
    fn origin_rules() {
        let own = "http://127.0.0.1:8787";
        let allowed = vec!["https://shop.example".to_string()];
        assert_eq!(check_origin(Some(own), own, &[]), Ok(()));
        assert_eq!(
            check_origin(Some("http://127.0.0.1:8787/"), own, &[]),
            Ok(())
        );
        assert_eq!(
            check_origin(Some("https://shop.example"), own, &allowed),
            Ok(())
        );
        assert_eq!(check_origin(None, own, &allowed), Err(CsrfError::Origin));
        assert_eq!(
            check_origin(Some("null"), own, &allowed),
            Err(CsrfError::Origin)
        );
        assert_eq!(
            check_origin(Some("http://127.0.0.1:8788"), own, &[]),
            Err(CsrfError::Origin)
        );
        assert_eq!(
            check_origin(Some("http://evil.example"), own, &allowed),
            Err(CsrfError::Origin)
        );
    }

    #[test]
    fn csrf_token_rules() {
        assert_eq!(check_csrf_token(Some("tok"), "tok"), Ok(()));
        assert_eq!(check_csrf_token(Some("tok2"), "tok"), Err(CsrfError::Token));
        assert_eq!(check_csrf_token(None, "tok"), Err(CsrfError::Token));
        assert_eq!(check_csrf_token(Some(""), ""), Err(CsrfError::Token));
        assert_eq!(CsrfError::Origin.code(), "csrf_origin");
        assert_eq!(CsrfError::Token.code(), "csrf_token");
    }
}
