//! Projection of converged signals and threads into D1, the system of record for queries across
//! connectors and for operators.
//!
//! Ingest commits to the object's SQLite and marks rows in an outbox; this module copies marked
//! rows to D1 (through `crate::db::signals`, the tables' one owner) after the response, in batches, and clears each mark only if the row was not
//! changed again meanwhile (`rev`). D1 rows only move forward (`WHERE excluded.rev > rev`), so
//! retries and overlapping flushes are harmless. A failed flush leaves the marks and an alarm
//! retries.

use std::cell::RefMut;
use std::rc::Rc;

use serde::Deserialize;
use serde_json::{json, Value};
use worker::Result;

use super::single_run::{self, SingleRun};
use super::sql::{si, sv};
use super::state::Shared;
use crate::db::signals::{SignalProjection, ThreadProjection};
use crate::db::Db;

pub const RETRY_MS: i64 = 5_000;
const BATCH: i64 = 100;

/// Whether a flush is waiting out its debounce, running, or owed another pass.
#[derive(Default)]
pub struct ProjectionState {
    pub scheduled: bool,
    run: SingleRun,
}

#[derive(Deserialize)]
struct Mark {
    kind: String,
    connector_id: String,
    item_id: String,
    rev: i64,
}

#[derive(Deserialize)]
struct SignalRow {
    channel_id: Option<String>,
    created_at_ms: Option<i64>,
    deleted: i64,
    seq: i64,
    rev: i64,
    view_json: Option<String>,
    updated_at_ms: i64,
}

#[derive(Deserialize)]
struct ThreadRow {
    parent_channel_id: Option<String>,
    deleted: i64,
    seq: i64,
    rev: i64,
    view_json: String,
    updated_at_ms: i64,
}

pub fn pending(sh: &Shared) -> Result<i64> {
    #[derive(Deserialize)]
    struct N {
        n: i64,
    }
    let rows: Vec<N> = sh
        .sql
        .exec("SELECT COUNT(*) AS n FROM outbox", None)?
        .to_array()?;
    Ok(rows.first().map(|r| r.n).unwrap_or(0))
}

/// Schedules a flush shortly after a commit. Commits within the delay share one D1 round
/// trip: the projection runs a few times a second however many batches arrive, and stays off
/// the ingest path entirely.
pub fn kick(sh: Rc<Shared>) {
    {
        let mut inner = sh.projection.borrow_mut();
        if inner.scheduled {
            return;
        }
        inner.scheduled = true;
    }
    let delay = sh.settings.projection_debounce_ms as u64;
    wasm_bindgen_futures::spawn_local(async move {
        worker::Delay::from(std::time::Duration::from_millis(delay)).await;
        sh.projection.borrow_mut().scheduled = false;
        flush(sh).await;
    });
}

pub async fn flush(sh: Rc<Shared>) {
    let flags = || RefMut::map(sh.projection.borrow_mut(), |p| &mut p.run);
    let Some(result) = single_run::run(flags, || flush_batch(&sh)).await else {
        return;
    };
    if let Err(e) = result {
        crate::runtime::log(
            "warn",
            "projection to D1 failed; will retry",
            json!({"tenant_key": sh.tenant_key(), "error": e.to_string()}),
        );
        let _ = sh.alarm_by(crate::runtime::now_ms() + RETRY_MS).await;
    }
}

/// Copies one batch of marked rows. Returns whether more marks remain.
async fn flush_batch(sh: &Rc<Shared>) -> Result<bool> {
    let Some(tenant) = sh.tenant_key() else {
        return Ok(false);
    };
    let marks: Vec<Mark> = sh
        .sql
        .exec(
            "SELECT kind, connector_id, item_id, rev FROM outbox LIMIT ?",
            vec![si(BATCH)],
        )?
        .to_array()?;
    if marks.is_empty() {
        return Ok(false);
    }
    let db = Db::new(&sh.env)?;
    let signals = db.signals();
    let mut stmts = Vec::with_capacity(marks.len());
    for m in &marks {
        match m.kind.as_str() {
            "signal" => {
                let rows: Vec<SignalRow> = sh
                    .sql
                    .exec(
                        "SELECT channel_id, created_at_ms, deleted, seq, rev, view_json, updated_at_ms \
                         FROM signals WHERE connector_id = ? AND message_id = ?",
                        vec![sv(&m.connector_id), sv(&m.item_id)],
                    )?
                    .to_array()?;
                let Some(r) = rows.into_iter().next() else {
                    // Purged since it was marked: nothing to copy (retention handles D1 itself).
                    continue;
                };
                let view: Value = r
                    .view_json
                    .as_deref()
                    .and_then(|v| serde_json::from_str(v).ok())
                    .unwrap_or(Value::Null);
                let ms = |field: &str| {
                    view[field]
                        .as_str()
                        .and_then(relay_core::time::Timestamp::parse)
                        .map(|t| t.ms())
                };
                stmts.push(signals.project_signal(&SignalProjection {
                    tenant_key: &tenant,
                    connector_id: &m.connector_id,
                    message_id: &m.item_id,
                    guild_id: view["guild_id"].as_str(),
                    channel_id: r.channel_id.as_deref(),
                    thread_id: view["thread_id"].as_str(),
                    author_id: view["author"]["id"].as_str(),
                    created_at: r.created_at_ms,
                    edited_at: ms("edited_at"),
                    deleted: r.deleted,
                    deleted_at: ms("deleted_at"),
                    seq: r.seq,
                    rev: r.rev,
                    view_json: r.view_json.as_deref(),
                    updated_at: r.updated_at_ms,
                })?);
            }
            "thread" => {
                let rows: Vec<ThreadRow> = sh
                    .sql
                    .exec(
                        "SELECT parent_channel_id, deleted, seq, rev, view_json, updated_at_ms \
                         FROM threads WHERE connector_id = ? AND thread_id = ?",
                        vec![sv(&m.connector_id), sv(&m.item_id)],
                    )?
                    .to_array()?;
                let Some(r) = rows.into_iter().next() else {
                    continue;
                };
                let view: Value = serde_json::from_str(&r.view_json).unwrap_or(Value::Null);
                stmts.push(signals.project_thread(&ThreadProjection {
                    tenant_key: &tenant,
                    connector_id: &m.connector_id,
                    thread_id: &m.item_id,
                    parent_channel_id: r.parent_channel_id.as_deref(),
                    guild_id: view["guild_id"].as_str(),
                    name: view["name"].as_str(),
                    deleted: r.deleted,
                    seq: r.seq,
                    rev: r.rev,
                    view_json: &r.view_json,
                    updated_at: r.updated_at_ms,
                })?);
            }
            _ => {}
        }
    }
    if !stmts.is_empty() {
        db.batch(stmts).await?;
    }
    // Clear only marks that still carry the revision we copied.
    for m in &marks {
        sh.sql.exec(
            "DELETE FROM outbox WHERE kind = ? AND connector_id = ? AND item_id = ? AND rev = ?",
            vec![sv(&m.kind), sv(&m.connector_id), sv(&m.item_id), si(m.rev)],
        )?;
    }
    Ok(marks.len() as i64 == BATCH)
}
