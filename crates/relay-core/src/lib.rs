//! Signal Relay domain logic.
//!
//! Everything here is plain Rust with no knowledge of the Workers runtime: payload validation,
//! message convergence, feed frames, token and ticket handling, runtime-config ETags and the
//! error vocabulary of the HTTP API. The worker crate is glue around these pieces, so the rules
//! that matter are unit-tested natively with `cargo test`.

pub mod admin;
pub mod convergence;
pub mod correlation;
pub mod encoding;
pub mod error;
pub mod etag;
pub mod fanout;
pub mod frames;
pub mod hmac;
pub mod ids;
pub mod protocol;
pub mod rejection;
pub mod routes;
pub mod thread;
pub mod ticket;
pub mod time;
pub mod token;
pub mod validate;

pub use error::{ApiError, ErrorKind};
