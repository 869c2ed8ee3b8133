//! What connectors sent wrong: refused items (the latest of each connector, deduplicated by
//! fingerprint so a resent batch counts once) and per-connector counters. Owns the
//! `rejections` and `ingest_counts` tables. Writes run inside the commit's transaction, so a
//! batch and the record of its refused items land together or not at all.

use relay_core::rejection::RejectedItem;
use serde::Deserialize;
use worker::{Result, SqlStorage, SqlStorageValue};

use super::api::{RecordedRejection, RejectionReport};
use super::sql::{si, so, sv};

/// Recent rejections shown per connector; more are kept so a resend of one of them is still
/// recognised as already counted.
pub const SHOWN: usize = 50;
const KEPT: i64 = 500;

/// Records refused items not seen before; returns how many were new.
pub fn record(sql: &SqlStorage, connector: &str, items: &[RejectedItem], now: i64) -> Result<u64> {
    let mut recorded = 0u64;
    for item in items {
        let r = &item.rejection;
        let fields = serde_json::to_string(&r.fields).unwrap_or_else(|_| "[]".into());
        let route = serde_json::to_value(item.route)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let inserted = sql
            .exec(
                "INSERT INTO rejections (connector_id, fingerprint, at_ms, route, item_index, \
                 idempotency_key, error_code, message, fields_json) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1 AS one",
                vec![
                    sv(connector),
                    sv(&item.fingerprint),
                    si(now),
                    sv(&route),
                    si(r.index as i64),
                    so(r.idempotency_key.as_deref()),
                    sv(&r.error_code),
                    sv(&r.message),
                    sv(&fields),
                ],
            )?
            .to_array::<serde_json::Value>()?;
        recorded += inserted.len() as u64;
    }
    if recorded > 0 {
        bump(sql, connector, recorded, 0, Some(now))?;
        sql.exec(
            "DELETE FROM rejections WHERE connector_id = ? AND id <= \
             (SELECT id FROM rejections WHERE connector_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            vec![sv(connector), sv(connector), si(KEPT)],
        )?;
    }
    Ok(recorded)
}

/// Counts accepted messages whose `created_at` was replaced by their id's time.
pub fn count_corrected(sql: &SqlStorage, connector: &str, n: u64) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    bump(sql, connector, 0, n, None)
}

fn bump(
    sql: &SqlStorage,
    connector: &str,
    rejected: u64,
    corrected: u64,
    at: Option<i64>,
) -> Result<()> {
    sql.exec(
        "INSERT INTO ingest_counts (connector_id, rejected, created_at_corrected, last_rejected_at_ms) \
         VALUES (?, ?, ?, ?) ON CONFLICT (connector_id) DO UPDATE SET \
         rejected = rejected + excluded.rejected, \
         created_at_corrected = created_at_corrected + excluded.created_at_corrected, \
         last_rejected_at_ms = COALESCE(excluded.last_rejected_at_ms, last_rejected_at_ms)",
        vec![
            sv(connector),
            si(rejected as i64),
            si(corrected as i64),
            at.map(si).unwrap_or(SqlStorageValue::Null),
        ],
    )?;
    Ok(())
}

#[derive(Deserialize)]
struct CountsRow {
    rejected: i64,
    created_at_corrected: i64,
    last_rejected_at_ms: Option<i64>,
}

#[derive(Deserialize)]
struct RejectionRow {
    at_ms: i64,
    route: String,
    item_index: i64,
    idempotency_key: Option<String>,
    error_code: String,
    message: String,
    fields_json: String,
}

pub fn report(sql: &SqlStorage, connector: &str) -> Result<RejectionReport> {
    let counts: Vec<CountsRow> = sql
        .exec(
            "SELECT rejected, created_at_corrected, last_rejected_at_ms FROM ingest_counts \
             WHERE connector_id = ?",
            vec![sv(connector)],
        )?
        .to_array()?;
    let rows: Vec<RejectionRow> = sql
        .exec(
            "SELECT at_ms, route, item_index, idempotency_key, error_code, message, fields_json \
             FROM rejections WHERE connector_id = ? ORDER BY id DESC LIMIT ?",
            vec![sv(connector), si(SHOWN as i64)],
        )?
        .to_array()?;
    let recent = rows
        .into_iter()
        .filter_map(|r| {
            Some(RecordedRejection {
                at: r.at_ms,
                route: serde_json::from_value(serde_json::Value::String(r.route)).ok()?,
                index: r.item_index.max(0) as usize,
                idempotency_key: r.idempotency_key,
                error_code: r.error_code,
                message: r.message,
                fields: serde_json::from_str(&r.fields_json).unwrap_or_default(),
            })
        })
        .collect();
    let c = counts.into_iter().next();
    Ok(RejectionReport {
        total: c.as_ref().map(|c| c.rejected.max(0) as u64).unwrap_or(0),
        last_at: c.as_ref().and_then(|c| c.last_rejected_at_ms),
        created_at_corrected: c
            .as_ref()
            .map(|c| c.created_at_corrected.max(0) as u64)
            .unwrap_or(0),
        recent,
    })
}
