//! Sell.app's signature: lowercase hex HMAC-SHA256 of the raw body with the webhook secret.
//! Implemented with the `hmac` crate, independently of relay-core's HMAC, so that a test of the
//! worker against this fake cross-checks the two.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_openssl() {
        // `printf '%s' '{"event":"order.completed","data":{"id":1},"store":1}' |
        //  openssl dgst -sha256 -hmac whsec_test_123`
        assert_eq!(
            sign(
                "whsec_test_123",
                br#"{"event":"order.completed","data":{"id":1},"store":1}"#
            ),
            "78d5e2af1368cc275cb04e9c83bcec0cb82c6db26cb4ab96fb8f1d3b99b91d92"
        );
        assert_eq!(
            sign("s3cr3t", b""),
            "3c81cc9496e1c25250f6ccb85f697c1bb623e3480d6538ad8cb6a6648142777d"
        );
    }
}
