//! Feed tickets: short-lived, HMAC-signed capabilities to open one live-feed WebSocket.
//!
//! Browsers cannot set headers on a WebSocket handshake, so the credential travels in the query
//! string. A ticket therefore lives seconds, names its tenant and channel scope, and carries a
//! nonce; it is signed with a server secret and verified without any storage lookup.

use serde::{Deserialize, Serialize};

use crate::encoding::{base64url, unbase64url};
use crate::hmac::{constant_time_eq, hmac_sha256};
use crate::ids::ChannelId;

pub const TICKET_VERSION: u8 = 1;
pub const DEFAULT_TICKET_TTL_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketClaims {
    pub v: u8,
    /// Tenant key.
    pub t: String,
    /// Channel scope; `None` means every channel of the tenant.
    #[serde(default)]
    pub c: Option<Vec<ChannelId>>,
    /// Expiry, Unix milliseconds.
    pub e: i64,
    /// Nonce (hex), so two tickets issued in the same millisecond differ.
    pub n: String,
    /// Who asked for it: `admin`, or `customer:<id>` (the tenant object tags the socket with
    /// the customer so an entitlement change reaches it at once).
    #[serde(default)]
    pub s: Option<String>,
    /// For a customer: when the access the scope reflects may change by itself (an entitlement
    /// ending or starting), Unix ms; the object closes the socket then so it re-tickets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<i64>,
}

impl TicketClaims {
    /// The customer a ticket was issued to, if any.
    pub fn customer(&self) -> Option<&str> {
        self.s.as_deref().and_then(|s| s.strip_prefix("customer:"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketError {
    Malformed,
    BadSignature,
    Expired,
}

impl TicketError {
    pub fn code(self) -> &'static str {
        match self {
            TicketError::Malformed => "ticket_invalid",
            TicketError::BadSignature => "ticket_invalid",
            TicketError::Expired => "ticket_expired",
        }
    }
}

pub fn sign(claims: &TicketClaims, secret: &[u8]) -> String {
    let payload = base64url(&serde_json::to_vec(claims).unwrap_or_default());
    let mac = hmac_sha256(secret, payload.as_bytes());
    format!("{payload}.{}", base64url(&mac))
}

pub fn verify(ticket: &str, secret: &[u8], now_ms: i64) -> Result<TicketClaims, TicketError> {
    let (payload, mac) = ticket.split_once('.').ok_or(TicketError::Malformed)?;
    let mac = unbase64url(mac).ok_or(TicketError::Malformed)?;
    let expected = hmac_sha256(secret, payload.as_bytes());
    if !constant_time_eq(&mac, &expected) {
        return Err(TicketError::BadSignature);
    }
    let raw = unbase64url(payload).ok_or(TicketError::Malformed)?;
    let claims: TicketClaims = serde_json::from_slice(&raw).map_err(|_| TicketError::Malformed)?;
    if claims.v != TICKET_VERSION {
        return Err(TicketError::Malformed);
    }
    if claims.e <= now_ms {
        return Err(TicketError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> TicketClaims {
        TicketClaims {
            v: 1,
            t: "demo".into(),
            c: Some(vec![ChannelId::parse("123").unwrap()]),
            e: exp,
            n: "ab12".into(),
            s: Some("admin".into()),
            u: None,
        }
    }

    #[test]
    fn round_trip() {
        let t = sign(&claims(2_000), b"secret");
        assert_eq!(verify(&t, b"secret", 1_000).unwrap(), claims(2_000));
    }

    #[test]
    fn rejects_tampering_wrong_key_and_expiry() {
        let t = sign(&claims(2_000), b"secret");
        assert_eq!(verify(&t, b"other", 1_000), Err(TicketError::BadSignature));
        assert_eq!(verify(&t, b"secret", 2_000), Err(TicketError::Expired));
        // Swap in a payload for another tenant, keeping the old MAC.
        let forged_payload = base64url(
            &serde_json::to_vec(&TicketClaims {
                t: "victim".into(),
                ..claims(2_000)
            })
            .unwrap(),
        );
        let mac = t.split_once('.').unwrap().1;
        assert_eq!(
            verify(&format!("{forged_payload}.{mac}"), b"secret", 1_000),
            Err(TicketError::BadSignature)
        );
        assert_eq!(verify("garbage", b"secret", 0), Err(TicketError::Malformed));
        assert_eq!(verify("a.b!", b"secret", 0), Err(TicketError::Malformed));
    }
}
