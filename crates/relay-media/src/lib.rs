//! The media store of issue 11 without a runtime: what the worker needs to keep a copy of every
//! attachment a signal carries, because Discord's CDN URLs expire.
//!
//! - [`sniff`]: the content type from the bytes (the upstream header lies);
//! - [`claim`]: one owner per attachment — a leased claim, its outcomes (stored, too large,
//!   failed with backoff), and when a claim may be taken again; the worker stores each
//!   [`claim::Record`] in D1 and moves it with a compare-and-swap on its `version`;
//! - [`link`]: signed media URLs (HMAC-SHA256 over tenant, attachment and expiry), verified in
//!   constant time, refused without a key;
//! - [`key`]: the R2 object key of a tenant's attachment;
//! - [`decorate`]: adds our signed `media_url` to every attachment of a feed frame or signal view;
//! - [`source`]: the origins the landing fetch may fetch from;
//! - [`error`]: the stable error codes of the media route.
//!
//! Integration (the worker): when a signal lands, `claim::decide` on the stored record; if it
//! says `Claim`, write the claimed record (CAS), fetch with [`Limits::max_bytes`] and a timeout,
//! `sniff` the bytes, put the object under `key::object_key`, then `claim::settle` and write
//! again (CAS on the claimed version). The media route verifies with `link::Signer::verify`
//! before it reads anything.

pub mod claim;
pub mod decorate;
pub mod error;
pub mod key;
pub mod link;
pub mod sniff;
pub mod source;

pub use error::MediaError;

/// Limits of the landing fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes kept per attachment; a larger body is recorded `too_large` and nothing is stored.
    pub max_bytes: u64,
    /// How long one fetch may take before it counts as a transient failure.
    pub timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Discord's own upload limit for boosted servers; a mirror re-uploads up to the
            // target's limit and links the rest.
            max_bytes: 25 * 1024 * 1024,
            timeout_ms: 15_000,
        }
    }
}

/// Whether a body of `declared` bytes (a `Content-Length`) or `received` bytes so far is
/// already over the cap: the fetch stops reading there.
pub fn over_cap(limits: &Limits, bytes: u64) -> bool {
    bytes > limits.max_bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_inclusive() {
        let l = Limits {
            max_bytes: 10,
            timeout_ms: 1,
        };
        assert!(!over_cap(&l, 10));
        assert!(over_cap(&l, 11));
        assert!(!over_cap(&l, 0));
    }
}
