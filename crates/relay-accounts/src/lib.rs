//! The customer side of Signal Relay, as plain Rust: every rule a customer's request passes
//! through, with the clock and the randomness passed in so each is tested natively.
//!
//! - [`password`]: argon2id hashing with its parameters stored in the PHC string;
//! - [`session`]: session tokens, absolute and idle expiry, the cookie, CSRF and Origin rules;
//! - [`throttle`]: fixed-window attempt counting per account and per IP;
//! - [`reset`]: single-use expiring password-reset tokens;
//! - [`entitlement`]: which tier a customer holds now, and how a grant lands;
//! - [`identity`]: email normalisation, password policy, the operator credential fingerprint;
//! - [`cursor`]: the history cursor.

pub mod cursor;
pub mod entitlement;
pub mod identity;
pub mod password;
pub mod reset;
pub mod session;
pub mod throttle;
