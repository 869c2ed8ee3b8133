//! Sell.app's webhook signature: the `signature` header carries the lowercase hex HMAC-SHA256 of
//! the raw request body, keyed with the store's webhook secret.
//!
//! Every path that is not a verified match refuses: no secret configured, no header, a header
//! that is not 64 hex digits, a mismatch, an oversized body. There is no "skip" branch at all
//! (the predecessor skipped the check when no secret was configured).

use relay_core::encoding::{hex, unhex};
use relay_core::hmac::{constant_time_eq, hmac_sha256};
use relay_core::{ApiError, ErrorKind};

/// The name of the header Sell.app signs with (header names are case-insensitive on the wire).
pub const SIGNATURE_HEADER: &str = "signature";

/// Largest body accepted. Invoices are a few KiB; the cap bounds the HMAC work an anonymous
/// sender can make us do and is checked before anything is hashed or parsed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Why a delivery was refused before its content was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The tenant has no webhook secret: refuse (fail closed). 503 so that Sell.app keeps
    /// redelivering until the operator sets one, instead of dropping the sale.
    NoSecret,
    MissingHeader,
    /// Not exactly 64 hex digits.
    MalformedHeader,
    Mismatch,
    BodyTooLarge,
}

impl SignatureError {
    pub fn error_code(self) -> &'static str {
        match self {
            SignatureError::NoSecret => "webhook_secret_missing",
            SignatureError::MissingHeader => "signature_missing",
            SignatureError::MalformedHeader => "signature_malformed",
            SignatureError::Mismatch => "signature_mismatch",
            SignatureError::BodyTooLarge => "payload_too_large",
        }
    }

    pub fn kind(self) -> ErrorKind {
        match self {
            SignatureError::NoSecret => ErrorKind::Unavailable,
            SignatureError::MissingHeader
            | SignatureError::MalformedHeader
            | SignatureError::Mismatch => ErrorKind::Unauthorized,
            SignatureError::BodyTooLarge => ErrorKind::PayloadTooLarge,
        }
    }

    pub fn to_api_error(self) -> ApiError {
        let message = match self {
            SignatureError::NoSecret => "no Sell.app webhook secret is configured for this tenant",
            SignatureError::MissingHeader => "the signature header is missing",
            SignatureError::MalformedHeader => "the signature header is not 64 hex digits",
            SignatureError::Mismatch => "the signature does not match the body",
            SignatureError::BodyTooLarge => "the body is larger than a Sell.app webhook can be",
        };
        ApiError::new(self.kind(), message).with_code(self.error_code())
    }
}

/// The header value Sell.app would send for `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    hex(&hmac_sha256(secret, body))
}

/// Verifies a delivery. `secret` is `None` (or empty) when the tenant has none configured.
///
/// Hex digits are compared after decoding, so an uppercase spelling of the right MAC passes:
/// case carries no secret, and refusing it would only drop real sales if Sell.app ever changed
/// its spelling.
pub fn verify(
    secret: Option<&[u8]>,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(SignatureError::BodyTooLarge);
    }
    let secret = match secret {
        Some(s) if !s.is_empty() => s,
        _ => return Err(SignatureError::NoSecret),
    };
    let header = header.ok_or(SignatureError::MissingHeader)?.trim();
    if header.is_empty() {
        return Err(SignatureError::MissingHeader);
    }
    if header.len() != 64 {
        return Err(SignatureError::MalformedHeader);
    }
    let given = unhex(header).ok_or(SignatureError::MalformedHeader)?;
    let expected = hmac_sha256(secret, body);
    if constant_time_eq(&given, &expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently with `openssl dgst -sha256 -hmac KEY` and Python's `hmac` module.
    const BODY_1: &[u8] = br#"{"event":"order.completed","data":{"id":1},"store":1}"#;
    const SIG_1: &str = "78d5e2af1368cc275cb04e9c83bcec0cb82c6db26cb4ab96fb8f1d3b99b91d92";
    const SIG_EMPTY: &str = "3c81cc9496e1c25250f6ccb85f697c1bb623e3480d6538ad8cb6a6648142777d";
    const BODY_3: &[u8] = br#"{"event":"order.disputed","data":{"id":"42"},"store":"7"}"#;
    const SIG_3: &str = "3eaac16bd00858ffac0e3f99a710342cdacb96bdff2318593b9afddaa0b8aee4";

    #[test]
    fn signature_vectors() {
        assert_eq!(sign(b"whsec_test_123", BODY_1), SIG_1);
        assert_eq!(sign(b"s3cr3t", b""), SIG_EMPTY);
        // A key longer than the HMAC block (100 bytes) is hashed first.
        assert_eq!(sign(&[b'k'; 100], BODY_3), SIG_3);
        assert_eq!(verify(Some(b"whsec_test_123"), Some(SIG_1), BODY_1), Ok(()));
        assert_eq!(verify(Some(&[b'k'; 100]), Some(SIG_3), BODY_3), Ok(()));
    }

    #[test]
    fn fails_closed_without_a_secret() {
        // Even a correct signature is refused when the tenant has no secret: never skip.
        assert_eq!(
            verify(None, Some(SIG_1), BODY_1),
            Err(SignatureError::NoSecret)
        );
        assert_eq!(
            verify(Some(b""), Some(SIG_1), BODY_1),
            Err(SignatureError::NoSecret)
        );
        assert_eq!(verify(None, None, BODY_1), Err(SignatureError::NoSecret));
        assert!(SignatureError::NoSecret.to_api_error().status() >= 500);
    }

    #[test]
    fn refuses_missing_malformed_forged_and_stale() {
        let s = Some(&b"whsec_test_123"[..]);
        assert_eq!(verify(s, None, BODY_1), Err(SignatureError::MissingHeader));
        assert_eq!(
            verify(s, Some("  "), BODY_1),
            Err(SignatureError::MissingHeader)
        );
        for bad in [
            "abc",
            &SIG_1[..63],
            &format!("{SIG_1}0"),
            &format!("sha256={}", &SIG_1[7..]),
            &SIG_1.replace('7', "g"),
        ] {
            assert_eq!(
                verify(s, Some(bad), BODY_1),
                Err(SignatureError::MalformedHeader),
                "{bad}"
            );
        }
        // Forged: right shape, wrong MAC. Stale: signed with a previous secret.
        let forged = SIG_1.replace('7', "8");
        assert_eq!(
            verify(s, Some(&forged), BODY_1),
            Err(SignatureError::Mismatch)
        );
        let stale = sign(b"whsec_old", BODY_1);
        assert_eq!(
            verify(s, Some(&stale), BODY_1),
            Err(SignatureError::Mismatch)
        );
        // A body altered after signing.
        assert_eq!(
            verify(
                s,
                Some(SIG_1),
                br#"{"event":"order.completed","data":{"id":2},"store":1}"#
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(s, Some(&SIG_1.to_uppercase()), BODY_1), Ok(()));
        for e in [
            SignatureError::MissingHeader,
            SignatureError::MalformedHeader,
            SignatureError::Mismatch,
        ] {
            assert_eq!(e.to_api_error().status(), 401);
        }
    }

    #[test]
    fn body_size_is_capped_before_hashing() {
        let big = vec![b'x'; MAX_BODY_BYTES + 1];
        let sig = sign(b"k", &big);
        assert_eq!(
            verify(Some(b"k"), Some(&sig), &big),
            Err(SignatureError::BodyTooLarge)
        );
        let ok = vec![b'x'; MAX_BODY_BYTES];
        assert_eq!(verify(Some(b"k"), Some(&sign(b"k", &ok)), &ok), Ok(()));
    }
}
