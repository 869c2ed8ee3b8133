//! The Discord gate: one Durable Object per bot token (named by a digest of the token,
//! [`relay_discord::gate::gate_name`]) that owns the token's rate-limit state, so every
//! isolate and every feature — the edge, the mirroring, catalog and role-sync objects — shares
//! one picture of Discord's limits, and an eviction loses nothing (the state is in storage).
//!
//! Callers never wait here: they ask for a slot ([`api::ACQUIRE`]) and get a permit or "not
//! before T", send the request themselves, and report the answer's status and rate-limit
//! headers ([`api::OBSERVE`]). The object is never held across a request to Discord.
//!
//! # Webhook buckets live here too
//!
//! Webhook executions carry no bot token and skip its 50/s, but they share the egress IP's
//! ban and invalid-request budget with bot traffic: a ban page seen by a webhook post must
//! pause the bot, and the other way round, and 401s, 403s and 429s of both count against one
//! budget. Those are per IP, so the one object per token that sees all traffic decides them
//! atomically; an object per webhook would need an extra round trip to a shared object on
//! every send to learn of a ban. Webhook buckets are keyed apart (route + webhook id + a token
//! digest) and never wait for bot buckets or the global limit, so a webhook execution waits
//! behind bot traffic only for the bookkeeping of the calls ahead of it in the object's queue
//! — a state update and one storage write each — never for their HTTP exchanges. If one
//! token's traffic outgrows one object, the split is by webhook family with the IP-wide rules
//! forwarded; see docs/architecture.md.
//!
//! This file routes only: `api` is the protocol, `client` the typed caller, `routes` answers
//! each path, `state` loads and saves the gate.

use std::rc::Rc;

use crate::durable_objects::no_sockets;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

pub mod api;
pub mod client;
mod routes;
mod state;

use state::Shared;

#[durable_object]
pub struct DiscordGate {
    shared: Rc<Shared>,
}

impl DurableObject for DiscordGate {
    fn new(state: State, env: Env) -> Self {
        DiscordGate {
            shared: Rc::new(Shared::open(state, &env)),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sh = &self.shared;
        if let Some(e) = &sh.init_error {
            return routes::error_response(503, &format!("gate storage failed to open: {e}"));
        }
        let path = req.path();
        let result = match (req.method(), path.as_str()) {
            (Method::Post, api::ACQUIRE) => routes::acquire(sh, &mut req).await,
            (Method::Post, api::OBSERVE) => routes::observe(sh, &mut req).await,
            (Method::Post, api::ACQUIRE_MANY) => routes::acquire_many(sh, &mut req).await,
            (Method::Post, api::OBSERVE_MANY) => routes::observe_many(sh, &mut req).await,
            (Method::Get, api::STATUS) => routes::status(sh),
            (Method::Post, api::RESET) => routes::reset(sh),
            _ => return routes::error_response(404, "unknown gate route"),
        };
        match result {
            Ok(resp) => Ok(resp),
            Err(message) => {
                crate::runtime::log(
                    "error",
                    "discord gate call failed",
                    serde_json::json!({"path": path, "error": message}),
                );
                routes::error_response(503, &message)
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        routes::alarm(&self.shared).await
    }

    // The gate accepts no WebSockets; should one ever reach it, it is closed rather than kept.
    no_sockets::refuse_sockets!("discord gate", "the Discord gate accepts no sockets");
}
