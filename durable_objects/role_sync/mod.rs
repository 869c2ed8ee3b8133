//! RoleSync: one Durable Object per tenant (`roles:<tenant>`), the single writer of every
//! member's role ledger (which roles *we* granted, per guild and Discord user) in its SQLite,
//! so a grant and a revoke of one role never race.
//!
//! Work arrives as Discord users to reconcile (link, unlink, relink, an entitlement change,
//! "resync now") and as drift passes over a guild's member list (its alarm, every
//! `drift_interval`, or "resync now" for a guild). Everything runs from the alarm, one Discord
//! call at a time through the platform facade: a "not before T" (a bucket, a 429, the ban
//! pause) stores the place and sets the alarm to T, so no request sleeps and no avoidable 429
//! is sent. Each user's desired roles are recomputed from D1 (link, entitlements, mappings,
//! settings) every time — sync is convergence (`relay_guild::roles::converge`), not a queue of
//! actions. The outcome is projected to D1 (`role_states`, `role_changes`) for the console
//! and the customer's dashboard.
//!
//! `api` is the protocol, `client` the typed caller, `run` the stepping.

use crate::durable_objects::no_sockets;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

pub mod api;
pub mod client;
mod run;

#[durable_object]
pub struct RoleSync {
    state: State,
    env: Env,
}

impl DurableObject for RoleSync {
    fn new(state: State, env: Env) -> Self {
        RoleSync { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let store = run::Store::open(&self.state)?;
        let now = run::clock(&self.env);
        let path = req.path();
        let wake = match (req.method(), path.as_str()) {
            (Method::Get, api::STATUS) => return Response::from_json(&store.status(now)?),
            (Method::Post, api::SYNC) => {
                let body: api::SyncBody = req.json().await?;
                store.set_tenant(&body.tenant)?;
                for (i, u) in body.users.iter().enumerate() {
                    store.enqueue(u, now + i as i64, &body.reason)?;
                }
                true
            }
            (Method::Post, api::PASS) => {
                let body: api::PassBody = req.json().await?;
                store.set_tenant(&body.tenant)?;
                store.request_pass(body.guild_id.as_deref(), now)?;
                true
            }
            (Method::Post, api::RECONFIGURED) => {
                let body: api::TenantBody = req.json().await?;
                store.set_tenant(&body.tenant)?;
                run::reconfigured(&store, &self.env, &body.tenant, now).await?;
                true
            }
            _ => return Response::error("unknown role sync route", 404),
        };
        if wake {
            self.state.storage().set_alarm(0).await?;
        }
        Response::from_json(&store.status(now)?)
    }

    async fn alarm(&self) -> Result<Response> {
        let store = run::Store::open(&self.state)?;
        let next = match run::step(&store, &self.env).await {
            Ok(next) => next,
            Err(e) => {
                // D1 or our storage failed: keep every place and try again shortly.
                crate::runtime::log(
                    "error",
                    "role sync step failed",
                    serde_json::json!({"error": e.to_string()}),
                );
                let _ = store.set_error(&e.to_string());
                Some(run::clock(&self.env) + run::STORAGE_RETRY_MS)
            }
        };
        if let Some(at) = next {
            let delay = (at - run::clock(&self.env)).max(0);
            self.state.storage().set_alarm(delay).await?;
        }
        Response::ok("ok")
    }

    // The object accepts no WebSockets; should one ever reach it, it is closed.
    no_sockets::refuse_sockets!("role sync", "the role sync object accepts no sockets");
}
