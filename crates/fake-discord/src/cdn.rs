//! Signed, expiring CDN URLs like Discord's: `?ex=<hex expiry>&is=<hex issue>&hm=<hex HMAC>`.

use crate::util::hex;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], path: &str, ex: &str, is: &str) -> Vec<u8> {
    // Any key length is valid for HMAC, so construction cannot fail.
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    m.update(path.as_bytes());
    m.update(b"\n");
    m.update(ex.as_bytes());
    m.update(b"\n");
    m.update(is.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// The query string that makes `path` fetchable from `issued_s` until `expires_s` (Unix seconds).
pub fn sign(secret: &[u8], path: &str, issued_s: u64, expires_s: u64) -> String {
    let ex = format!("{expires_s:08x}");
    let is = format!("{issued_s:08x}");
    let hm = hex(&mac(secret, path, &ex, &is));
    format!("ex={ex}&is={is}&hm={hm}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdnError {
    Missing,
    Tampered,
    Expired,
}

/// Checks the signature first, so a forged `ex` cannot extend a link's life.
pub fn verify(
    secret: &[u8],
    path: &str,
    ex: Option<&str>,
    is: Option<&str>,
    hm: Option<&str>,
    now_s: u64,
) -> Result<(), CdnError> {
    let (Some(ex), Some(is), Some(hm)) = (ex, is, hm) else {
        return Err(CdnError::Missing);
    };
    let Some(given) = unhex(hm) else {
        return Err(CdnError::Tampered);
    };
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    m.update(path.as_bytes());
    m.update(b"\n");
    m.update(ex.as_bytes());
    m.update(b"\n");
    m.update(is.as_bytes());
    m.verify_slice(&given).map_err(|_| CdnError::Tampered)?;
    let expires = u64::from_str_radix(ex, 16).map_err(|_| CdnError::Tampered)?;
    if now_s >= expires {
        return Err(CdnError::Expired);
    }
    Ok(())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(query: &str, key: &str) -> Option<String> {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    }

    fn check(secret: &[u8], path: &str, query: &str, now: u64) -> Result<(), CdnError> {
        verify(
            secret,
            path,
            q(query, "ex").as_deref(),
            q(query, "is").as_deref(),
            q(query, "hm").as_deref(),
            now,
        )
    }

    #[test]
    fn signed_url_is_valid_until_it_expires() {
        let p = "/cdn/attachments/1/2/a.png";
        let s = sign(b"k", p, 1_700_000_000, 1_700_086_400);
        assert!(s.starts_with("ex=65554280&is=6553f100&hm="));
        assert_eq!(check(b"k", p, &s, 1_700_000_001), Ok(()));
        assert_eq!(check(b"k", p, &s, 1_700_086_400), Err(CdnError::Expired));
    }

    #[test]
    fn tampering_with_any_part_is_refused() {
        let p = "/cdn/attachments/1/2/a.png";
        let s = sign(b"k", p, 100, 200);
        assert_eq!(
            check(b"k", "/cdn/attachments/1/3/a.png", &s, 150),
            Err(CdnError::Tampered)
        );
        let longer = s.replace("ex=000000c8", "ex=ffffffff");
        assert_eq!(check(b"k", p, &longer, 150), Err(CdnError::Tampered));
        assert_eq!(check(b"other", p, &s, 150), Err(CdnError::Tampered));
        assert_eq!(
            check(b"k", p, "ex=1&is=1&hm=zz", 0),
            Err(CdnError::Tampered)
        );
        assert_eq!(check(b"k", p, "ex=1", 0), Err(CdnError::Missing));
    }
}
