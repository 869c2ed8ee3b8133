//! The mirror object: one per tenant (`mirror:<tenant key>`), the single writer of that
//! tenant's mirroring — one [`relay_mirror::jobs::TargetQueue`] per target channel with its
//! dead letters and its source → mirror map, the webhook of each target channel, the authors'
//! avatars, what each message replies to, the mirrored threads, and the history the operators'
//! panel reads.
//!
//! The tenant object hands every committed change of a mapped source channel over
//! ([`api::DELIVER`]) after recording it in its own outbox in the commit's transaction; this
//! object stores the view, enqueues one job per target, answers (the handoff is then
//! acknowledged) and dispatches at once. Its alarm is the earliest `next_wake_ms` over its
//! queues (a retry time or a lease's expiry): nothing polls.
//!
//! `api` is the protocol, `client` the typed caller, `store` the storage, `routing` the
//! mappings, `dispatch` the job loop, `gate` the seat gate and its paused queues, `media` the attachment
//! seam, `replies` what a reply answers and how its quote reads.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::durable_objects::no_sockets;
use relay_core::ids::UserId;
use relay_mirror::jobs::TargetQueue;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

pub mod api;
pub mod client;
mod dispatch;
mod gate;
mod lookups;
pub mod media;
mod replies;
mod routing;
mod status;
mod store;

use routing::Routes;
use store::Store;

pub struct Shared {
    pub state: State,
    pub env: Env,
    pub store: Option<Store>,
    pub init_error: Option<String>,
    pub tenant_key: RefCell<Option<String>>,
    /// Loaded on first use; leases found at load belonged to a previous instance.
    pub queues: RefCell<Option<BTreeMap<String, TargetQueue>>>,
    pub routes: RefCell<Option<Rc<Routes>>>,
    /// Targets a dispatch loop is working on, and those that got work meanwhile.
    pub running: RefCell<BTreeSet<String>>,
    pub again: RefCell<BTreeSet<String>>,
    pub bot_user: RefCell<Option<UserId>>,
    /// The alarm as this instance last set it (saves a storage read per claim).
    pub alarm_at: RefCell<Option<i64>>,
    /// The seat gate's copy of each customer guild's view (`gate`).
    pub gates: RefCell<BTreeMap<String, gate::Cached>>,
    /// Targets whose head the seat gate holds: their guild and the hold age.
    pub paused: RefCell<BTreeMap<String, (relay_core::ids::GuildId, i64)>>,
    /// When "audit now" was last asked per guild.
    pub audit_asked: RefCell<BTreeMap<String, i64>>,
    /// Source channels that refused to let the bot read a message back, until when.
    pub reply_refused: RefCell<BTreeMap<String, i64>>,
    /// Discord reads in flight, shared by the targets that need them (`lookups`).
    pub lookups: RefCell<BTreeMap<String, lookups::Lookup>>,
    /// An author's avatar is being asked of Discord (`dispatch::avatar`, one at a time).
    pub avatar_lookup: std::cell::Cell<bool>,
}

impl Shared {
    pub fn store(&self) -> &Store {
        self.store.as_ref().expect("checked at every entry")
    }
}

#[durable_object]
pub struct MirrorObject {
    shared: Rc<Shared>,
}

fn error(status: u16, code: &str, message: &str) -> Result<Response> {
    Ok(Response::from_json(&serde_json::json!({
        "ok": false, "error_code": code, "message": message,
    }))?
    .with_status(status))
}

impl DurableObject for MirrorObject {
    fn new(state: State, env: Env) -> Self {
        let (store, init_error) = match Store::open(state.storage().sql()) {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let tenant_key = store
            .as_ref()
            .and_then(|s| s.meta_get("tenant_key").ok().flatten())
            .and_then(|v| v.as_str().map(str::to_string));
        MirrorObject {
            shared: Rc::new(Shared {
                state,
                env,
                store,
                init_error,
                tenant_key: RefCell::new(tenant_key),
                queues: RefCell::new(None),
                routes: RefCell::new(None),
                running: RefCell::new(BTreeSet::new()),
                again: RefCell::new(BTreeSet::new()),
                bot_user: RefCell::new(None),
                alarm_at: RefCell::new(None),
                gates: RefCell::new(BTreeMap::new()),
                paused: RefCell::new(BTreeMap::new()),
                audit_asked: RefCell::new(BTreeMap::new()),
                reply_refused: RefCell::new(BTreeMap::new()),
                lookups: RefCell::new(BTreeMap::new()),
                avatar_lookup: std::cell::Cell::new(false),
            }),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sh = &self.shared;
        if let Some(e) = &sh.init_error {
            return error(
                503,
                "storage_unavailable",
                &format!("mirror storage failed to open: {e}"),
            );
        }
        if sh.tenant_key.borrow().is_none() {
            if let Some(t) = req.headers().get("x-tenant-key")? {
                sh.store()
                    .meta_set("tenant_key", worker::SqlStorageValue::String(t.clone()))?;
                *sh.tenant_key.borrow_mut() = Some(t);
            }
        }
        let path = req.path();
        let result = match (req.method(), path.as_str()) {
            (Method::Post, api::DELIVER) => {
                let body: api::Deliver = req.json().await?;
                dispatch::deliver(sh, body).await
            }
            (Method::Get, api::STATUS) => {
                let url = req.url()?;
                let connector = url
                    .query_pairs()
                    .find(|(k, _)| k == "connector_id")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                status::status(sh, &connector).await
            }
            (Method::Post, api::REQUEUE) => {
                let body: api::Requeue = req.json().await?;
                status::requeue(sh, body).await
            }
            (Method::Post, api::INVALIDATE) => {
                *sh.routes.borrow_mut() = None;
                Response::from_json(&serde_json::json!({"invalidated": true}))
            }
            (Method::Post, api::SEATS_CHANGED) => {
                let body: crate::durable_objects::seats::mirror_link::SeatChange =
                    req.json().await?;
                gate::changed(sh, body).await
            }
            (Method::Get, api::SEATS_HELD) => gate::held(sh).await,
            (Method::Post, api::MAINTENANCE) => {
                let body: api::Maintenance = req.json().await?;
                status::retention(sh, body)
            }
            _ => return error(404, "not_found", "unknown mirror object route"),
        };
        match result {
            Ok(r) => Ok(r),
            Err(e) => {
                crate::runtime::log(
                    "error",
                    "mirror object request failed",
                    serde_json::json!({"path": path, "error": e.to_string()}),
                );
                error(503, "storage_unavailable", &e.to_string())
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        if self.shared.init_error.is_some() {
            return Response::ok("storage unavailable");
        }
        *self.shared.alarm_at.borrow_mut() = None;
        dispatch::run_all(self.shared.clone()).await;
        Response::ok("ok")
    }

    // The mirror object accepts no WebSockets; should one ever reach it, it is closed.
    no_sockets::refuse_sockets!("mirror", "the mirror object accepts no sockets");
}
