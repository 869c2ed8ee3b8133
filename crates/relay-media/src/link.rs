//! Signed media URLs: `{base}/media/{tenant}/{attachment}?exp={unix s}&sig={base64url}`, where
//! `sig` = HMAC-SHA256(key, "signal-relay/media/v1\n{tenant}\n{attachment}\n{exp}").
//!
//! The tenant and the attachment are both signed, so a link issued for tenant A never serves
//! tenant B's object (the route looks objects up by the tenant of the path it verified). The
//! signature is checked before the expiry, so a forged `exp` is "invalid", never "expired".

use relay_core::encoding::{base64url, unbase64url};
use relay_core::hmac::{constant_time_eq, hmac_sha256};
use relay_core::ids::AttachmentId;

use crate::MediaError;

/// Shorter keys are refused: the key is the only thing between a guessable URL and the bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// Links expire at whole hours, so one attachment's link is the same string for an hour
/// (browser caches hit) and the frames built within that hour are identical.
pub const EXPIRY_GRANULARITY_S: i64 = 3_600;

#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

fn message(tenant: &str, attachment: &str, exp: i64) -> Vec<u8> {
    format!("signal-relay/media/v1\n{tenant}\n{attachment}\n{exp}").into_bytes()
}

impl Signer {
    /// Fails closed: no key, or one shorter than [`MIN_KEY_BYTES`], signs and serves nothing.
    pub fn new(secret: Option<&str>) -> Result<Signer, MediaError> {
        match secret {
            Some(k) if k.len() >= MIN_KEY_BYTES => Ok(Signer {
                key: k.as_bytes().to_vec(),
            }),
            _ => Err(MediaError::Unconfigured),
        }
    }

    pub fn sign(&self, tenant: &str, attachment: &AttachmentId, exp: i64) -> String {
        base64url(&hmac_sha256(
            &self.key,
            &message(tenant, attachment.as_str(), exp),
        ))
    }

    /// `exp` and `sig` as they came in the query string.
    pub fn verify(
        &self,
        tenant: &str,
        attachment: &str,
        exp: Option<&str>,
        sig: Option<&str>,
        now_s: i64,
    ) -> Result<(), MediaError> {
        let (Some(exp_raw), Some(sig)) = (exp, sig) else {
            return Err(MediaError::SignatureInvalid);
        };
        // Only the canonical decimal form was ever signed.
        let exp: i64 = exp_raw.parse().map_err(|_| MediaError::SignatureInvalid)?;
        if exp.to_string() != exp_raw {
            return Err(MediaError::SignatureInvalid);
        }
        let given = unbase64url(sig).ok_or(MediaError::SignatureInvalid)?;
        let want = hmac_sha256(&self.key, &message(tenant, attachment, exp));
        if !constant_time_eq(&given, &want) {
            return Err(MediaError::SignatureInvalid);
        }
        if now_s >= exp {
            return Err(MediaError::LinkExpired);
        }
        Ok(())
    }
}

/// The expiry of a link issued at `now_s` that must live at least `ttl_s`.
pub fn expiry(now_s: i64, ttl_s: i64) -> i64 {
    let at = now_s + ttl_s.max(1);
    at.div_euclid(EXPIRY_GRANULARITY_S) * EXPIRY_GRANULARITY_S
        + if at.rem_euclid(EXPIRY_GRANULARITY_S) == 0 {
            0
        } else {
            EXPIRY_GRANULARITY_S
        }
}

/// The path and query of a link (what the pages use, same origin).
pub fn path(signer: &Signer, tenant: &str, attachment: &AttachmentId, exp: i64) -> String {
    format!(
        "/media/{tenant}/{}?exp={exp}&sig={}",
        attachment.as_str(),
        signer.sign(tenant, attachment, exp)
    )
}

/// Where links point from outside our pages (a mirrored message's link): the public origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicBase(String);

impl PublicBase {
    /// https, or http only for a loopback host (the local demo and tests): Discord does not
    /// render http images, and a link through plain http would leak the signature.
    pub fn parse(raw: &str) -> Option<PublicBase> {
        let raw = raw.trim_end_matches('/');
        let rest = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://").filter(|r| is_loopback(r)))?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || rest.contains(['?', '#', ' ']) {
            return None;
        }
        Some(PublicBase(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn url(
        &self,
        signer: &Signer,
        tenant: &str,
        attachment: &AttachmentId,
        exp: i64,
    ) -> String {
        format!("{}{}", self.0, path(signer, tenant, attachment, exp))
    }
}

fn is_loopback(rest: &str) -> bool {
    let authority = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn id(s: &str) -> AttachmentId {
        AttachmentId::parse(s).unwrap()
    }

    fn q<'a>(link: &'a str, k: &str) -> Option<&'a str> {
        link.split_once('?')?
            .1
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v)
    }

    #[test]
    fn vector() {
        let s = Signer::new(Some(KEY)).unwrap();
        // HMAC-SHA256(KEY, "signal-relay/media/v1\nacme\n1234\n1700003600"), base64url; an
        // independent implementation reproduces it (tests/e2e/media.test.mjs signs the same way).
        let msg = b"signal-relay/media/v1\nacme\n1234\n1700003600";
        assert_eq!(
            s.sign("acme", &id("1234"), 1_700_003_600),
            base64url(&hmac_sha256(KEY.as_bytes(), msg))
        );
        assert_eq!(
            s.sign("acme", &id("1234"), 1_700_003_600),
            "980huuOwXEdBIoWbQT4A7l66nAf04SiTmg4ponlNlwI"
        );
    }

    #[test]
    fn a_link_is_valid_until_it_expires() {
        let s = Signer::new(Some(KEY)).unwrap();
        let link = path(&s, "acme", &id("99"), 2_000);
        assert!(link.starts_with("/media/acme/99?exp=2000&sig="));
        let check = |now| s.verify("acme", "99", q(&link, "exp"), q(&link, "sig"), now);
        assert_eq!(check(1_999), Ok(()));
        assert_eq!(check(2_000), Err(MediaError::LinkExpired));
    }

    #[test]
    fn forgeries_are_invalid_not_expired() {
        let s = Signer::new(Some(KEY)).unwrap();
        let link = path(&s, "acme", &id("99"), 2_000);
        let (exp, sig) = (q(&link, "exp"), q(&link, "sig"));
        // Another tenant, another attachment, a longer life, another key, nothing at all.
        assert_eq!(
            s.verify("other", "99", exp, sig, 0),
            Err(MediaError::SignatureInvalid)
        );
        assert_eq!(
            s.verify("acme", "98", exp, sig, 0),
            Err(MediaError::SignatureInvalid)
        );
        assert_eq!(
            s.verify("acme", "99", Some("9999"), sig, 0),
            Err(MediaError::SignatureInvalid)
        );
        assert_eq!(
            s.verify("acme", "99", Some("02000"), sig, 0),
            Err(MediaError::SignatureInvalid)
        );
        assert_eq!(
            s.verify("acme", "99", Some("+2000"), sig, 0),
            Err(MediaError::SignatureInvalid)
        );
        let other = Signer::new(Some("another key that is long enough!!")).unwrap();
        assert_eq!(
            other.verify("acme", "99", exp, sig, 0),
            Err(MediaError::SignatureInvalid)
        );
        assert_eq!(
            s.verify("acme", "99", None, sig, 0),
            Err(MediaError::SignatureInvalid)
        );
        assert_eq!(
            s.verify("acme", "99", exp, None, 0),
            Err(MediaError::SignatureInvalid)
        );
        assert_eq!(
            s.verify("acme", "99", exp, Some("!!"), 0),
            Err(MediaError::SignatureInvalid)
        );
        // An expired forgery is still a forgery.
        assert_eq!(
            s.verify("other", "99", exp, sig, 5_000),
            Err(MediaError::SignatureInvalid)
        );
    }

    #[test]
    fn no_key_no_links() {
        assert_eq!(Signer::new(None).unwrap_err(), MediaError::Unconfigured);
        assert_eq!(
            Signer::new(Some("short")).unwrap_err(),
            MediaError::Unconfigured
        );
    }

    #[test]
    fn expiry_rounds_up_to_the_hour() {
        assert_eq!(expiry(0, 1), 3_600);
        assert_eq!(expiry(0, 3_600), 3_600);
        assert_eq!(expiry(10, 3_600), 7_200);
        assert_eq!(expiry(7_000, 86_400), 93_600);
        assert!(expiry(123, 0) > 123);
    }

    #[test]
    fn public_base() {
        assert!(PublicBase::parse("https://relay.example.com").is_some());
        assert_eq!(
            PublicBase::parse("https://relay.example.com/")
                .unwrap()
                .as_str(),
            "https://relay.example.com"
        );
        assert!(PublicBase::parse("http://127.0.0.1:8787").is_some());
        assert!(PublicBase::parse("http://localhost:8787").is_some());
        assert!(PublicBase::parse("http://[::1]:8787").is_some());
        assert!(PublicBase::parse("http://relay.example.com").is_none());
        assert!(PublicBase::parse("http://127.0.0.1.evil.com").is_none());
        assert!(PublicBase::parse("ftp://x").is_none());
        assert!(PublicBase::parse("https://").is_none());
        let s = Signer::new(Some(KEY)).unwrap();
        let b = PublicBase::parse("https://r.example").unwrap();
        assert!(b
            .url(&s, "t", &id("1"), 3_600)
            .starts_with("https://r.example/media/t/1?exp=3600&sig="));
    }
}
