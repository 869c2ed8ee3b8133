//! Durable Objects. One class today: the tenant object, the single writer for a tenant.

pub mod js;
pub mod tenant;
