//! Correlation ids: echoed from `X-Correlation-Id` when sane, otherwise a fresh UUID v4.

/// Accepts what a client sent if it is short and printable ASCII, so it is safe to echo into
/// JSON bodies and log lines.
pub fn accept(header: Option<&str>) -> Option<String> {
    let v = header?.trim();
    if v.is_empty() || v.len() > 128 {
        return None;
    }
    v.bytes()
        .all(|b| b.is_ascii_graphic())
        .then(|| v.to_string())
}

/// Formats 16 random bytes as an RFC 4122 version 4 UUID.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = crate::encoding::hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sane_ids_only() {
        assert_eq!(
            accept(Some("3b2c1f0e-aaaa-4bbb-8ccc-123456789abc")).as_deref(),
            Some("3b2c1f0e-aaaa-4bbb-8ccc-123456789abc")
        );
        assert_eq!(accept(Some("  ")), None);
        assert_eq!(accept(Some("has space")), None);
        assert_eq!(accept(Some("quote\"")).as_deref(), Some("quote\""));
        assert_eq!(accept(Some(&"x".repeat(129))), None);
        assert_eq!(accept(Some("ünicode")), None);
        assert_eq!(accept(None), None);
    }

    #[test]
    fn uuid_shape() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }
}
