//! The media route's refusals, each with a fixed status and a stable `error_code`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaError {
    /// No `exp`/`sig`, a malformed one, or a signature that is not ours for this tenant and
    /// attachment.
    SignatureInvalid,
    /// A genuine link past its expiry.
    LinkExpired,
    /// Not stored (unknown, not fetched yet, too large, failed).
    NotFound,
    /// No signing key configured: nothing is signed or served (fail closed).
    Unconfigured,
}

impl MediaError {
    pub fn status(self) -> u16 {
        match self {
            MediaError::SignatureInvalid => 403,
            MediaError::LinkExpired => 410,
            MediaError::NotFound => 404,
            MediaError::Unconfigured => 503,
        }
    }

    pub fn error_code(self) -> &'static str {
        match self {
            MediaError::SignatureInvalid => "media_signature_invalid",
            MediaError::LinkExpired => "media_link_expired",
            MediaError::NotFound => "media_not_found",
            MediaError::Unconfigured => "media_unconfigured",
        }
    }
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MediaError::SignatureInvalid => "the media link's signature is not valid",
            MediaError::LinkExpired => "the media link has expired",
            MediaError::NotFound => "no stored media for this link",
            MediaError::Unconfigured => "media signing is not configured",
        })
    }
}

impl std::error::Error for MediaError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let all = [
            (MediaError::SignatureInvalid, 403, "media_signature_invalid"),
            (MediaError::LinkExpired, 410, "media_link_expired"),
            (MediaError::NotFound, 404, "media_not_found"),
            (MediaError::Unconfigured, 503, "media_unconfigured"),
        ];
        for (e, status, code) in all {
            assert_eq!((e.status(), e.error_code()), (status, code));
        }
    }
}
