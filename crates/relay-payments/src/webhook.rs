//! The first two steps of `POST /webhooks/sellapp/{tenant_key}`, before anything is stored:
//! verify, then parse. What the runtime does around them is in the crate docs.

use crate::envelope::{parse_envelope, Envelope, EnvelopeError, EventKey};
use crate::signature::{verify, SignatureError};

/// A verified delivery: its key (for the dedup record) and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub key: EventKey,
    /// `Err` is recorded as `ignored` (`malformed_envelope`) and answered 200.
    pub envelope: Result<Envelope, EnvelopeError>,
}

/// `Err` answers the sender with [`SignatureError::to_api_error`] (401/413/503) and records
/// nothing. `Ok` is a delivery that must be answered 2xx (or 5xx for our own faults).
pub fn receive(
    secret: Option<&[u8]>,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Received, SignatureError> {
    verify(secret, signature_header, body)?;
    let envelope = parse_envelope(body);
    let key = match &envelope {
        Ok(e) => e.key(),
        Err(_) => EventKey::unparsed(body),
    };
    Ok(Received { key, envelope })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;
    use crate::signature::sign;
    use proptest::prelude::*;

    proptest! {
        // Whatever a holder of the secret sends is accepted for recording: never a 4xx.
        #[test]
        fn a_well_signed_body_is_never_refused(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let sig = sign(b"secret", &body);
            let r = receive(Some(b"secret"), Some(&sig), &body).unwrap();
            if let Err(e) = &r.envelope {
                prop_assert_eq!(Outcome::malformed(e).http_status(), 200);
                prop_assert_eq!(r.key, EventKey::unparsed(&body));
            }
        }

        #[test]
        fn a_body_signed_otherwise_is_always_refused(body in proptest::collection::vec(any::<u8>(), 0..512), other in "[a-z]{1,12}") {
            prop_assume!(other != "secret");
            let sig = sign(other.as_bytes(), &body);
            prop_assert_eq!(receive(Some(b"secret"), Some(&sig), &body), Err(SignatureError::Mismatch));
            prop_assert_eq!(receive(None, Some(&sig), &body), Err(SignatureError::NoSecret));
        }
    }

    #[test]
    fn a_signed_envelope_is_keyed() {
        let body = br#"{"event":"order.completed","data":{"id":5},"store":3}"#;
        let r = receive(Some(b"k"), Some(&sign(b"k", body)), body).unwrap();
        assert_eq!(r.key.as_str(), "order.completed|store:3|id:5");
        assert!(r.envelope.is_ok());
    }
}
