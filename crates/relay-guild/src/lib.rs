//! Customer guilds (placeholder docs; replaced below).

pub mod access;
pub mod error;
pub mod paging;
pub mod roles;
pub mod seats;

pub use error::{classify_call, Call, CallFailure, ErrorCode, GuildError};
