//! The tenant Durable Object: the single writer for one tenant.
//!
//! It owns the converged state of every message and thread, assigns the tenant's monotonic
//! `seq` to each visible change, keeps the ordered event log that lets subscribers resume, and
//! fans frames out to hibernatable WebSockets. D1 receives a projection of the same state
//! through an outbox, so a D1 hiccup never blocks ingest or the live feed.
//!
//! Nothing needed for correctness lives only in memory: after hibernation or eviction the object
//! rebuilds its caches from its SQLite storage and its sockets' tags and attachments.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::rc::Rc;

use relay_core::{ApiError, ErrorKind};
use serde::Deserialize;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, SqlStorage,
    SqlStorageValue, State, WebSocket, WebSocketIncomingMessage,
};

pub mod api;
pub mod client;
mod diagnostics;
mod feed;
mod ingest;
mod projection;
mod schema;
mod sql;

use crate::durable_objects::js;
use sql::{si, sv};

/// Frames kept in memory for fast resume; older cursors are served from SQLite.
const RING_MAX: usize = 8_192;
/// Events kept in the durable log by default (older cursors get a snapshot instead of a
/// replay); `FEED_EVENT_LOG_MAX` overrides it.
const EVENT_LOG_MAX: i64 = 50_000;

/// One visible change, as logged and as sent.
#[derive(Clone)]
pub struct LogEntry {
    pub seq: u64,
    pub channel: Option<String>,
    pub frame: Rc<str>,
}

/// Subscriber channel filter; `None` = every channel.
pub type Filter = Option<HashSet<String>>;

pub struct Inner {
    pub tenant_key: Option<String>,
    /// Last assigned sequence number.
    pub seq: u64,
    /// Last projection revision.
    pub rev: i64,
    /// Frames committed but not yet sent to sockets.
    pub pending: Vec<LogEntry>,
    /// Filter id → channels, loaded lazily from `feed_filters`.
    pub filters: Option<BTreeMap<String, Filter>>,
    /// Recent frames; complete for every seq above `ring_floor`.
    pub ring: VecDeque<LogEntry>,
    pub ring_floor: u64,
    /// Initial frames already built for the current `seq`, by (filter, since).
    pub initial_cache: HashMap<(String, Option<u64>), Rc<Vec<JsValue>>>,
    pub initial_cache_seq: u64,
    /// Coalesces frames while a broadcast round is in flight.
    pub pacer: relay_core::fanout::Pacer,
    pub projection_running: bool,
    pub projection_scheduled: bool,
    pub projection_again: bool,
    pub projection_debounce_ms: i64,
    pub snapshot_limit: usize,
    pub heartbeat_ms: i64,
    pub events_since_trim: u64,
    pub event_log_max: u64,
    /// When the next alarm is known to be due (skips redundant alarm reads on connect).
    pub alarm_at: Option<i64>,
}

pub struct Shared {
    pub state: State,
    pub env: Env,
    pub sql: SqlStorage,
    pub inner: RefCell<Inner>,
    pub init_error: Option<String>,
}

#[durable_object]
pub struct TenantObject {
    shared: Rc<Shared>,
}

fn var_num(env: &Env, name: &str, default: i64) -> i64 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().trim().parse().ok())
        .unwrap_or(default)
}

impl Shared {
    pub fn meta_set(&self, key: &str, value: SqlStorageValue) -> Result<()> {
        self.meta_set_all(vec![(key, value)])
    }

    /// Upserts several `meta` keys in one statement (the commit path writes two per batch).
    pub fn meta_set_all(&self, pairs: Vec<(&str, SqlStorageValue)>) -> Result<()> {
        let rows = vec!["(?, ?)"; pairs.len()].join(", ");
        let binds = pairs
            .into_iter()
            .flat_map(|(k, v)| [sv(k), v])
            .collect::<Vec<_>>();
        self.sql.exec(
            &format!(
                "INSERT INTO meta (k, v) VALUES {rows} ON CONFLICT (k) DO UPDATE SET v = excluded.v"
            ),
            binds,
        )?;
        Ok(())
    }

    pub fn tenant_key(&self) -> Option<String> {
        self.inner.borrow().tenant_key.clone()
    }

    /// Learns the tenant key from the edge worker's header the first time it is seen.
    fn remember_tenant(&self, req: &Request) -> Result<()> {
        if self.inner.borrow().tenant_key.is_some() {
            return Ok(());
        }
        if let Some(key) = req.headers().get("x-tenant-key")? {
            self.meta_set("tenant_key", sv(&key))?;
            self.inner.borrow_mut().tenant_key = Some(key);
        }
        Ok(())
    }
}

fn load(sql: &SqlStorage) -> Result<(u64, i64, Option<String>)> {
    for ddl in schema::DDL {
        sql.exec(ddl, None)?;
    }
    #[derive(Deserialize)]
    struct Row {
        k: String,
        v: Value,
    }
    let rows: Vec<Row> = sql.exec("SELECT k, v FROM meta", None)?.to_array()?;
    let mut seq = 0;
    let mut rev = 0;
    let mut tenant = None;
    for r in rows {
        match r.k.as_str() {
            "seq" => seq = r.v.as_u64().unwrap_or(0),
            "rev" => rev = r.v.as_i64().unwrap_or(0),
            "tenant_key" => tenant = r.v.as_str().map(str::to_string),
            _ => {}
        }
    }
    sql.exec(
        "INSERT INTO meta (k, v) VALUES ('schema_version', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
        vec![si(schema::SCHEMA_VERSION)],
    )?;
    Ok((seq, rev, tenant))
}

fn error_response(err: &ApiError, cid: &str) -> Result<Response> {
    let body = serde_json::to_vec(&err.body(cid)).unwrap_or_default();
    Ok(Response::from_bytes(body)?.with_status(err.status()))
}

fn answer<T: serde::Serialize>(v: &T) -> std::result::Result<Response, ApiError> {
    Response::from_json(v).map_err(internal)
}

impl DurableObject for TenantObject {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        let (loaded, init_error) = match load(&sql) {
            Ok(l) => (l, None),
            Err(e) => ((0, 0, None), Some(e.to_string())),
        };
        let (seq, rev, tenant_key) = loaded;
        // Clients keep the socket alive with {"type":"ping"}; the runtime answers without waking us.
        if let Ok(pair) = worker::WebSocketRequestResponsePair::new(
            relay_core::frames::CLIENT_PING,
            relay_core::frames::CLIENT_PONG,
        ) {
            state.set_websocket_auto_response(&pair);
        }
        let inner = Inner {
            tenant_key,
            seq,
            rev,
            pending: Vec::new(),
            filters: None,
            ring: VecDeque::new(),
            ring_floor: seq,
            initial_cache: HashMap::new(),
            initial_cache_seq: seq,
            pacer: relay_core::fanout::Pacer::default(),
            projection_running: false,
            projection_scheduled: false,
            projection_again: false,
            projection_debounce_ms: var_num(
                &env,
                "PROJECTION_DEBOUNCE_MS",
                projection::DEBOUNCE_MS,
            )
            .clamp(0, 60_000),
            snapshot_limit: var_num(&env, "FEED_SNAPSHOT_LIMIT", 50).clamp(1, 500) as usize,
            heartbeat_ms: var_num(&env, "HEARTBEAT_SECONDS", 30).clamp(1, 3_600) * 1_000,
            events_since_trim: 0,
            event_log_max: var_num(&env, "FEED_EVENT_LOG_MAX", EVENT_LOG_MAX).clamp(10, 10_000_000)
                as u64,
            alarm_at: None,
        };
        let shared = Rc::new(Shared {
            state,
            env,
            sql,
            inner: RefCell::new(inner),
            init_error,
        });
        // A projection that was waiting out its debounce when the object was evicted resumes
        // the moment the object wakes, rather than at the next alarm or maintenance run.
        if shared.init_error.is_none() && projection::pending(&shared).unwrap_or(0) > 0 {
            projection::kick(shared.clone());
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
            return error_response(&err, &cid);
        }
        self.shared.remember_tenant(&req)?;
        let path = req.path();
        let result: std::result::Result<Response, ApiError> = match (req.method(), path.as_str()) {
            (Method::Post, api::INGEST_MESSAGES) => self.ingest_messages(&mut req).await,
            (Method::Post, api::INGEST_THREAD) => self.ingest_thread(&mut req).await,
            (Method::Post, api::REJECTIONS) => self.record_rejections(&mut req).await,
            (Method::Get, api::REJECTIONS) => self.rejections(&req),
            (Method::Get, api::FEED) => feed::accept(&self.shared, &req).map_err(internal),
            (Method::Get, api::STATS) => self.stats().map_err(internal),
            (Method::Post, api::MAINTENANCE) => self.maintenance(&mut req).await,
            _ => Err(ApiError::not_found("unknown tenant object route")),
        };
        match result {
            Ok(resp) => Ok(resp),
            Err(err) => error_response(&err, &cid),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let now = crate::runtime::now_ms();
        feed::flush(&self.shared);
        let sockets = feed::heartbeat(&self.shared, now);
        let outbox_pending = projection::pending(&self.shared).unwrap_or(0) > 0;
        if outbox_pending {
            projection::flush(self.shared.clone()).await;
        }
        let heartbeat_ms = self.shared.inner.borrow().heartbeat_ms;
        let still_pending = projection::pending(&self.shared).unwrap_or(0) > 0;
        let next = match (sockets > 0, still_pending) {
            (true, _) => Some(now + heartbeat_ms),
            (false, true) => Some(now + projection::RETRY_MS),
            (false, false) => None,
        };
        self.shared.inner.borrow_mut().alarm_at = next;
        if let Some(at) = next {
            let storage = self.shared.state.storage();
            storage
                .set_alarm(worker::ScheduledTime::new(js_sys::Date::new(
                    &JsValue::from_f64(at as f64),
                )))
                .await?;
        }
        Response::ok("ok")
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

fn internal(e: worker::Error) -> ApiError {
    ApiError::new(ErrorKind::Unavailable, format!("tenant storage error: {e}"))
        .with_code("storage_unavailable")
}

async fn read_body<T: for<'de> Deserialize<'de>>(
    req: &mut Request,
) -> std::result::Result<T, ApiError> {
    let text = req.text().await.map_err(internal)?;
    // The edge validated and re-encoded this payload: failing to decode it is our bug.
    serde_json::from_str(&text)
        .map_err(|e| ApiError::internal(format!("internal payload did not decode: {e}")))
}

impl TenantObject {
    async fn ingest_messages(&self, req: &mut Request) -> std::result::Result<Response, ApiError> {
        let body: api::IngestMessages = read_body(req).await?;
        let now = crate::runtime::now_ms();
        let outcome = ingest::commit_messages(&self.shared, body, now).map_err(internal)?;
        self.after_commit(&outcome, now);
        answer(&outcome.answer())
    }

    async fn ingest_thread(&self, req: &mut Request) -> std::result::Result<Response, ApiError> {
        let body: api::IngestThread = read_body(req).await?;
        let now = crate::runtime::now_ms();
        let outcome = ingest::commit_thread(&self.shared, body, now).map_err(internal)?;
        self.after_commit(&outcome, now);
        answer(&outcome.answer())
    }

    async fn record_rejections(
        &self,
        req: &mut Request,
    ) -> std::result::Result<Response, ApiError> {
        let body: api::RecordRejections = read_body(req).await?;
        let now = crate::runtime::now_ms();
        let sh = self.shared.clone();
        let recorded = js::transaction(&self.shared.state, move || {
            diagnostics::record(&sh.sql, &body.connector_id, &body.rejected, now)
        })
        .map_err(internal)?;
        answer(&api::Recorded { recorded })
    }

    fn rejections(&self, req: &Request) -> std::result::Result<Response, ApiError> {
        let url = req.url().map_err(internal)?;
        let connector = url
            .query_pairs()
            .find(|(k, _)| k == "connector_id")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        answer(&diagnostics::report(&self.shared.sql, &connector).map_err(internal)?)
    }

    /// After a commit: hand new frames to the fan-out and the projection.
    fn after_commit(&self, outcome: &ingest::Outcome, _now: i64) {
        if !outcome.frames.is_empty() {
            feed::enqueue(&self.shared, outcome.frames.clone());
        }
        if outcome.projected {
            projection::kick(self.shared.clone());
        }
        if outcome.trim_due {
            if let Err(e) = ingest::trim_log(&self.shared) {
                crate::runtime::log(
                    "warn",
                    "event log trim failed",
                    json!({"error": e.to_string()}),
                );
            }
        }
    }

    fn stats(&self) -> Result<Response> {
        #[derive(Deserialize)]
        struct Count {
            n: i64,
        }
        let count = |sql: &str| -> Result<i64> {
            let rows: Vec<Count> = self.shared.sql.exec(sql, None)?.to_array()?;
            Ok(rows.first().map(|r| r.n).unwrap_or(0))
        };
        let sockets = self.shared.state.get_websockets().len();
        let inner = self.shared.inner.borrow();
        Response::from_json(&api::Stats {
            tenant_key: inner.tenant_key.clone(),
            seq: inner.seq,
            sockets,
            filters: inner.filters.as_ref().map(|f| f.len()),
            ring: inner.ring.len(),
            signals: count("SELECT COUNT(*) AS n FROM signals")?,
            visible_signals: count("SELECT COUNT(*) AS n FROM signals WHERE visible = 1")?,
            threads: count("SELECT COUNT(*) AS n FROM threads")?,
            events: count("SELECT COUNT(*) AS n FROM events")?,
            receipts: count("SELECT COUNT(*) AS n FROM receipts")?,
            outbox: count("SELECT COUNT(*) AS n FROM outbox")?,
            storage_bytes: self.shared.sql.database_size(),
        })
    }

    async fn maintenance(&self, req: &mut Request) -> std::result::Result<Response, ApiError> {
        let body: api::Maintenance = read_body(req).await?;
        let now = crate::runtime::now_ms();
        let removed =
            ingest::apply_retention(&self.shared, body.retention_days, now).map_err(internal)?;
        // Eviction is covered by the constructor and D1 failures by the retry alarm; this is the
        // hourly last resort should that alarm have failed to be set.
        if projection::pending(&self.shared).unwrap_or(0) > 0 {
            projection::kick(self.shared.clone());
        }
        answer(&removed)
    }
}
