//! The catalog refresh: one Durable Object for the deployment (one bot, one catalog) that
//! reads the bot's guilds, channels and roles from Discord into D1.
//!
//! Discord may answer "not before T" (a bucket, a 429, a ban) at any call and a request must
//! never sleep, so the refresh runs from this object's alarm, one call at a time through the
//! Discord facade, with its cursor ([`relay_catalog::Cursor`]) saved after every step. When
//! the gate says "not before T" or a call fails transiently, the object saves, sets its alarm
//! to T and returns; the next alarm continues where it stopped. A refresh asked for while one
//! runs is remembered and starts when the running one ends (never two at once).
//!
//! `api` is the protocol, `client` the typed caller, `run` the stepping.

use crate::durable_objects::no_sockets;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

pub mod api;
pub mod client;
mod run;

use run::Slot;

#[durable_object]
pub struct CatalogObject {
    state: State,
    env: Env,
    job: Slot,
}

impl DurableObject for CatalogObject {
    fn new(state: State, env: Env) -> Self {
        CatalogObject {
            state,
            env,
            job: Slot::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        match (req.method(), path.as_str()) {
            (Method::Get, api::STATUS) => {
                let status = self.job.with(&self.state, |j| j.status()).await?;
                Response::from_json(&status)
            }
            (Method::Post, api::START) => {
                let body: api::StartBody = req.json().await?;
                let now = crate::runtime::now_ms();
                let (wake_now, status) = self
                    .job
                    .with(&self.state, |j| (j.request(&body.reason, now), j.status()))
                    .await?;
                self.job.save(&self.state).await?;
                if wake_now {
                    self.state.storage().set_alarm(0).await?;
                }
                Response::from_json(&status)
            }
            _ => Response::error("unknown catalog route", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        match self.job.step_until_blocked(&self.state, &self.env).await {
            Ok(Some(at)) => {
                let now = crate::runtime::now_ms();
                self.state.storage().set_alarm((at - now).max(0)).await?;
            }
            Ok(None) => {}
            Err(e) => {
                // Storage itself failed: try again shortly rather than lose the run.
                crate::runtime::log(
                    "error",
                    "catalog refresh step failed",
                    serde_json::json!({"error": e.to_string()}),
                );
                self.state
                    .storage()
                    .set_alarm(run::STORAGE_RETRY_MS)
                    .await?;
            }
        }
        Response::ok("ok")
    }

    // The catalog accepts no WebSockets; should one ever reach it, it is closed.
    no_sockets::refuse_sockets!("catalog", "the catalog object accepts no sockets");
}
