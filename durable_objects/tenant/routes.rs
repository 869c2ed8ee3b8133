//! The answer to each path of [`super::api`], and the alarm. Each handler decodes its typed
//! body, calls the module that owns the work, and encodes the typed answer.

use std::rc::Rc;

use relay_core::{ApiError, ErrorKind};
use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::JsValue;
use worker::{Request, Response, Result};

use super::state::Shared;
use super::{api, diagnostics, feed, handoff, ingest, projection};
use crate::durable_objects::js;

type Answer = std::result::Result<Response, ApiError>;

pub fn internal(e: worker::Error) -> ApiError {
    ApiError::new(ErrorKind::Unavailable, format!("tenant storage error: {e}"))
        .with_code("storage_unavailable")
}

pub fn error_response(err: &ApiError, cid: &str) -> Result<Response> {
    let body = serde_json::to_vec(&err.body(cid)).unwrap_or_default();
    Ok(Response::from_bytes(body)?.with_status(err.status()))
}

fn answer<T: serde::Serialize>(v: &T) -> Answer {
    Response::from_json(v).map_err(internal)
}

async fn read_body<T: for<'de> Deserialize<'de>>(
    req: &mut Request,
) -> std::result::Result<T, ApiError> {
    let text = req.text().await.map_err(internal)?;
    // The edge validated and re-encoded this payload: failing to decode it is our bug.
    serde_json::from_str(&text)
        .map_err(|e| ApiError::internal(format!("internal payload did not decode: {e}")))
}

pub async fn ingest_messages(sh: &Rc<Shared>, req: &mut Request) -> Answer {
    let body: api::IngestMessages = read_body(req).await?;
    let mirror = handoff::filter(sh, &body.connector_id, body.mirror).await;
    let now = crate::runtime::now_ms();
    let outcome = ingest::commit_messages(sh, body, mirror, now).map_err(internal)?;
    after_commit(sh, &outcome);
    answer(&outcome.answer())
}

pub async fn ingest_thread(sh: &Rc<Shared>, req: &mut Request) -> Answer {
    let body: api::IngestThread = read_body(req).await?;
    let now = crate::runtime::now_ms();
    let outcome = ingest::commit_thread(sh, body, now).map_err(internal)?;
    after_commit(sh, &outcome);
    answer(&outcome.answer())
}

/// After a commit: hand new frames to the fan-out and the projection.
fn after_commit(sh: &Rc<Shared>, outcome: &ingest::Outcome) {
    if !outcome.frames.is_empty() {
        feed::enqueue(sh, outcome.frames.clone());
    }
    if outcome.mirrored > 0 {
        handoff::kick(sh.clone());
    }
    if outcome.projected {
        projection::kick(sh.clone());
    }
    if outcome.trim_due {
        if let Err(e) = ingest::trim_log(sh) {
            crate::runtime::log(
                "warn",
                "event log trim failed",
                json!({"error": e.to_string()}),
            );
        }
    }
}

pub async fn record_rejections(sh: &Rc<Shared>, req: &mut Request) -> Answer {
    let body: api::RecordRejections = read_body(req).await?;
    let now = crate::runtime::now_ms();
    let tx = sh.clone();
    let recorded = js::transaction(&sh.state, move || {
        diagnostics::record(&tx.sql, &body.connector_id, &body.rejected, now)
    })
    .map_err(internal)?;
    answer(&api::Recorded { recorded })
}

pub fn rejections(sh: &Shared, req: &Request) -> Answer {
    let url = req.url().map_err(internal)?;
    let connector = url
        .query_pairs()
        .find(|(k, _)| k == "connector_id")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    answer(&diagnostics::report(&sh.sql, &connector).map_err(internal)?)
}

pub fn stats(sh: &Shared) -> Answer {
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    let count = |sql: &str| -> Result<i64> {
        let rows: Vec<Count> = sh.sql.exec(sql, None)?.to_array()?;
        Ok(rows.first().map(|r| r.n).unwrap_or(0))
    };
    let stats = (|| -> Result<api::Stats> {
        let feed = sh.feed.borrow();
        Ok(api::Stats {
            tenant_key: sh.tenant_key(),
            seq: sh.seq(),
            sockets: sh.state.get_websockets().len(),
            filters: feed.filters.as_ref().map(|f| f.len()),
            ring: feed.ring.len(),
            signals: count("SELECT COUNT(*) AS n FROM signals")?,
            visible_signals: count("SELECT COUNT(*) AS n FROM signals WHERE visible = 1")?,
            threads: count("SELECT COUNT(*) AS n FROM threads")?,
            events: count("SELECT COUNT(*) AS n FROM events")?,
            receipts: count("SELECT COUNT(*) AS n FROM receipts")?,
            outbox: count("SELECT COUNT(*) AS n FROM outbox")?,
            storage_bytes: sh.sql.database_size(),
        })
    })()
    .map_err(internal)?;
    answer(&stats)
}

pub async fn maintenance(sh: &Rc<Shared>, req: &mut Request) -> Answer {
    let body: api::Maintenance = read_body(req).await?;
    let now = crate::runtime::now_ms();
    let removed = ingest::apply_retention(sh, body.retention_days, now).map_err(internal)?;
    // Eviction is covered by the constructor and D1 failures by the retry alarm; this is the
    // hourly last resort should that alarm have failed to be set.
    if projection::pending(sh).unwrap_or(0) > 0 {
        projection::kick(sh.clone());
    }
    answer(&removed)
}

pub async fn enforce_access(sh: &Rc<Shared>, req: &mut Request) -> Answer {
    let body: api::EnforceAccess = read_body(req).await?;
    answer(&feed::enforce_access(sh, &body))
}

pub async fn routing_changed(sh: &Rc<Shared>, req: &mut Request) -> Answer {
    let body: api::RoutingChanged = read_body(req).await?;
    handoff::routing_changed(
        sh,
        &body.connector_id,
        api::MirrorRouting {
            forward_enabled: body.forward_enabled,
            config_version: body.config_version,
        },
    );
    answer(&serde_json::json!({"ok": true}))
}

/// One alarm serves both timers: feed heartbeats while sockets are connected, projection
/// retries while the outbox is not empty.
pub async fn alarm(sh: &Rc<Shared>) -> Result<Response> {
    let now = crate::runtime::now_ms();
    feed::flush(sh);
    let (sockets, access_change) = feed::heartbeat(sh, now);
    let outbox_pending = projection::pending(sh).unwrap_or(0) > 0;
    if outbox_pending {
        projection::flush(sh.clone()).await;
    }
    if handoff::pending(sh).unwrap_or(0) > 0 {
        handoff::deliver(sh.clone()).await;
    }
    let still_pending = projection::pending(sh).unwrap_or(0) > 0;
    let handoff_pending = handoff::pending(sh).unwrap_or(0) > 0;
    let next = match (sockets > 0, still_pending) {
        (true, _) => Some(access_change.map_or(now + sh.settings.heartbeat_ms, |u| {
            u.min(now + sh.settings.heartbeat_ms)
        })),
        (false, true) => Some(now + projection::RETRY_MS),
        (false, false) => None,
    };
    // An unacknowledged handoff is retried soon, whatever else the alarm waits for.
    let next = match (next, handoff_pending) {
        (Some(n), true) => Some(n.min(now + handoff::RETRY_MS)),
        (None, true) => Some(now + handoff::RETRY_MS),
        (n, false) => n,
    };
    sh.feed.borrow_mut().alarm_at = next;
    if let Some(at) = next {
        sh.state
            .storage()
            .set_alarm(worker::ScheduledTime::new(js_sys::Date::new(
                &JsValue::from_f64(at as f64),
            )))
            .await?;
    }
    Response::ok("ok")
}
