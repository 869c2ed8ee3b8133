//! Durable Objects: the tenant object, the single writer for a tenant, and the Discord gate,
//! the rate-limit state of a bot token.

pub mod catalog;
pub mod discord_gate;
pub mod js;
pub mod mirror;
pub mod no_sockets;
pub mod role_sync;
pub mod rpc;
pub mod seats;
pub mod tenant;
