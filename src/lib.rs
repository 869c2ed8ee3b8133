//! Signal Relay edge worker.
//!
//! Thin glue between the Workers runtime and the domain crate (`relay-core`): it authenticates,
//! reads and validates requests, and hands each tenant's writes to that tenant's Durable Object,
//! the single writer. Routing, validation, convergence and error vocabulary live in
//! `relay-core` and are tested natively.

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

mod accounts;
mod auth;
mod config;
mod db;
pub mod discord;
mod entitlement_changes;
mod handlers;
mod http;
mod mail;
mod maintenance;
pub mod media;
mod payments;
mod reconcile;
mod role_sync;
mod runtime;

#[path = "../durable_objects/mod.rs"]
mod durable_objects;

pub use durable_objects::catalog::CatalogObject;
pub use durable_objects::discord_gate::DiscordGate;
pub use durable_objects::mirror::MirrorObject;
pub use durable_objects::role_sync::RoleSync;
pub use durable_objects::seats::SeatObject;
pub use durable_objects::tenant::TenantObject;

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(handlers::dispatch(req, env, ctx).await)
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    maintenance::run(&env, &event.cron()).await;
}
