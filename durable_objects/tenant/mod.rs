//! The tenant Durable Object: the single writer for one tenant.
//!
//! It owns the converged state of every message and thread, assigns the tenant's monotonic
//! `seq` to each visible change, keeps the ordered event log that lets subscribers resume, and
//! fans frames out to hibernatable WebSockets. D1 receives a projection of the same state
//! through an outbox, so a D1 hiccup never blocks ingest or the live feed.
//!
//! Nothing needed for correctness lives only in memory: after hibernation or eviction the object
//! rebuilds its caches from its SQLite storage and its sockets' tags and attachments.
//!
//! This file is the entry point and only routes: `api` is the protocol (paths and types) and
//! `client` the edge's typed caller; `routes` answers each path; `state` holds the object's
//! state split by concern; `ingest`, `feed`, `projection` and `diagnostics` own their tables.

use std::rc::Rc;

use relay_core::ApiError;
use serde_json::json;
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, State, WebSocket,
    WebSocketIncomingMessage,
};

pub mod api;
pub mod client;
mod diagnostics;
mod feed;
mod handoff;
mod ingest;
mod projection;
mod routes;
mod schema;
mod single_run;
mod sql;
mod state;

use state::Shared;

#[durable_object]
pub struct TenantObject {
    shared: Rc<Shared>,
}

impl DurableObject for TenantObject {
    fn new(state: State, env: Env) -> Self {
        // Clients keep the socket alive with {"type":"ping"}; the runtime answers without waking us.
        if let Ok(pair) = worker::WebSocketRequestResponsePair::new(
            relay_core::frames::CLIENT_PING,
            relay_core::frames::CLIENT_PONG,
        ) {
            state.set_websocket_auto_response(&pair);
        }
        let shared = Rc::new(Shared::open(state, env));
        // A projection that was waiting out its debounce when the object was evicted resumes
        // the moment the object wakes, rather than at the next alarm or maintenance run.
        if shared.init_error.is_none() && projection::pending(&shared).unwrap_or(0) > 0 {
            projection::kick(shared.clone());
        }
        // Likewise a handoff to the mirror object that had not been acknowledged.
        if shared.init_error.is_none() && handoff::pending(&shared).unwrap_or(0) > 0 {
            handoff::kick(shared.clone());
        }
        TenantObject { shared }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let cid = req
            .headers()
            .get("x-correlation-id")?
            .unwrap_or_else(|| "internal".into());
        if let Some(e) = &self.shared.init_error {
            let err = ApiError::unavailable(format!("tenant storage failed to open: {e}"));
            return routes::error_response(&err, &cid);
        }
        self.shared.remember_tenant(&req)?;
        let sh = &self.shared;
        let path = req.path();
        let result = match (req.method(), path.as_str()) {
            (Method::Post, api::INGEST_MESSAGES) => routes::ingest_messages(sh, &mut req).await,
            (Method::Post, api::INGEST_THREAD) => routes::ingest_thread(sh, &mut req).await,
            (Method::Post, api::REJECTIONS) => routes::record_rejections(sh, &mut req).await,
            (Method::Get, api::REJECTIONS) => routes::rejections(sh, &req),
            (Method::Get, api::FEED) => feed::accept(sh, &req).map_err(routes::internal),
            (Method::Get, api::STATS) => routes::stats(sh),
            (Method::Post, api::MAINTENANCE) => routes::maintenance(sh, &mut req).await,
            (Method::Post, api::ENFORCE_ACCESS) => routes::enforce_access(sh, &mut req).await,
            (Method::Post, api::ROUTING_CHANGED) => routes::routing_changed(sh, &mut req).await,
            _ => Err(ApiError::not_found("unknown tenant object route")),
        };
        match result {
            Ok(resp) => Ok(resp),
            Err(err) => routes::error_response(&err, &cid),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        routes::alarm(&self.shared).await
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        feed::on_message(&self.shared, &ws, message);
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> Result<()> {
        feed::on_close(&ws, code);
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, error: worker::Error) -> Result<()> {
        crate::runtime::log(
            "warn",
            "feed socket error",
            json!({"tenant_key": self.shared.tenant_key(), "error": error.to_string()}),
        );
        feed::on_close(&ws, 1011);
        Ok(())
    }
}
