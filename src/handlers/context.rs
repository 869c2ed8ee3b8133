//! The per-request context every handler receives, in its own module so handlers import it
//! from here rather than from the dispatcher above them.

use worker::{Context, Env};

use crate::config::Config;

/// Per-request context handed to every handler.
pub struct Cx {
    pub env: Env,
    pub ctx: Context,
    pub cfg: Config,
    pub cid: String,
    pub now: i64,
}
