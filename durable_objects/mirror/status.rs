//! The operators' view of a connector's mirroring (queues, dead letters, skips, recent jobs,
//! latency over the last hour), requeue, and retention of views and map records.

use std::collections::BTreeMap;
use std::rc::Rc;

use relay_core::ids::MessageId;
use worker::{Response, Result};

use super::api::{self, Latency, Percentiles};
use super::dispatch::{self, with_queue};
use super::Shared;

const HOUR_MS: i64 = 3_600_000;
const RECENT: i64 = 50;

fn percentiles(mut v: Vec<i64>) -> Percentiles {
    v.sort_unstable();
    let at = |p: f64| -> Option<i64> {
        if v.is_empty() {
            return None;
        }
        let i = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        Some(v[i])
    };
    Percentiles {
        count: v.len(),
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
    }
}

pub async fn status(sh: &Rc<Shared>, connector: &str) -> Result<Response> {
    let routes = dispatch::routes(sh, &[]).await?;
    dispatch::ensure_loaded(sh)?;
    let targets = routes.targets(connector);
    let mut out = Vec::new();
    for t in &targets {
        let (depth, retrying, next, dead) = with_queue(sh, t, |q| {
            (q.depth(), q.retrying(), q.next_wake_ms(), q.dead.clone())
        })?;
        let guild = routes
            .mappings
            .iter()
            .find(|m| m.target.as_str() == t)
            .and_then(|m| m.target_guild.clone());
        let seats = super::gate::target_seats(sh, t, guild.as_ref(), depth)?;
        out.push(api::TargetStatus {
            target_channel_id: t.clone(),
            depth,
            retrying,
            next_wake_ms: next,
            webhook_id: sh.store().webhook(t)?.map(|(id, _)| id),
            dead,
            seats,
        });
    }
    let now = crate::runtime::now_ms();
    let timed = sh.store().timed_since(&targets, now - HOUR_MS)?;
    let mut dispatch: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut answer: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for e in &timed {
        if let Some(d) = e.dispatch_ms {
            dispatch.entry(e.kind.clone()).or_default().push(d);
        }
        if let Some(a) = e.answer_ms {
            answer.entry(e.kind.clone()).or_default().push(a);
        }
    }
    let status = api::Status {
        applied_through: sh.store().applied_through()?,
        targets: out,
        recent: sh.store().history(&targets, false, RECENT)?,
        skipped: sh.store().history(&targets, true, RECENT)?,
        latency: Latency {
            dispatch: dispatch
                .into_iter()
                .map(|(k, v)| (k, percentiles(v)))
                .collect(),
            discord_answer: answer
                .into_iter()
                .map(|(k, v)| (k, percentiles(v)))
                .collect(),
        },
    };
    Response::from_json(&status)
}

pub async fn requeue(sh: &Rc<Shared>, body: api::Requeue) -> Result<Response> {
    let routes = dispatch::routes(sh, &[]).await?;
    let own = routes.targets(&body.connector_id);
    let targets: Vec<String> = match &body.target_channel_id {
        // Only a target of this connector: another connector's queue is not this panel's,
        // and an unknown id must not leave an empty queue behind.
        Some(t) if !own.iter().any(|o| o == t.as_str()) => {
            return Ok(Response::from_json(&serde_json::json!({
                "ok": false, "error_code": "mirror_target_not_found",
                "message": format!("{} is not a target of this connector", t.as_str()),
            }))?
            .with_status(404));
        }
        Some(t) => vec![t.as_str().to_string()],
        None => own,
    };
    let now = crate::runtime::now_ms();
    let mut requeued = 0;
    for t in &targets {
        let n = with_queue(sh, t, |q| match body.job_id {
            Some(id) => q.requeue(id, now).map(|_| vec![id]),
            None => {
                let ids: Vec<_> = q.dead.iter().map(|d| d.job.id).collect();
                q.requeue_all(now);
                Ok(ids)
            }
        })?;
        match n {
            Ok(ids) => {
                // A requeued job's latency is measured from its requeue: its commit is long
                // past (that is what the dead letter already recorded), and an operator wants
                // to see how fast the retry went through.
                for id in &ids {
                    sh.store().job_requeued(t, *id, now)?;
                }
                requeued += ids.len();
            }
            Err(e) if body.target_channel_id.is_some() => {
                return Ok(Response::from_json(&serde_json::json!({
                    "ok": false, "error_code": e.error_code(), "message": e.to_string(),
                }))?
                .with_status(404));
            }
            Err(_) => {}
        }
        let qs = sh.queues.borrow();
        if let Some(q) = qs.as_ref().and_then(|m| m.get(t)) {
            sh.store().save_queue(t, q, &[])?;
        }
    }
    if requeued > 0 {
        let sh = sh.clone();
        wasm_bindgen_futures::spawn_local(dispatch::run_all(sh));
    }
    Response::from_json(&api::Requeued { requeued })
}

/// The same rule as the tenant object's retention (signals age by their Discord creation
/// time): a map record goes only when its signal is no longer kept and no job refers to it, so
/// an edit of any signal still kept patches in place.
pub fn retention(sh: &Rc<Shared>, body: api::Maintenance) -> Result<Response> {
    dispatch::ensure_loaded(sh)?;
    let cutoff = relay_core::time::days_before(crate::runtime::now_ms(), body.retention_days);
    let kept = |m: &MessageId| m.timestamp_ms() >= cutoff;
    let mut dropped = 0;
    let targets: Vec<String> = sh
        .queues
        .borrow()
        .as_ref()
        .map(|q| q.keys().cloned().collect())
        .unwrap_or_default();
    for t in &targets {
        let gone = with_queue(sh, t, |q| {
            let before: Vec<MessageId> = q.map.records.keys().cloned().collect();
            q.retain(kept);
            before
                .into_iter()
                .filter(|m| !q.map.records.contains_key(m))
                .collect::<Vec<_>>()
        })?;
        dropped += gone.len();
        sh.store().drop_map_records(t, &gone)?;
    }
    let busy = |m: &str| {
        let Ok(m) = MessageId::parse(m) else {
            return false;
        };
        sh.queues
            .borrow()
            .as_ref()
            .is_some_and(|qs| qs.values().any(|q| q.busy(&m) || q.map.get(&m).is_some()))
    };
    let views_dropped = sh.store().drop_views_before(cutoff, &busy)?;
    Response::from_json(&api::Retained {
        map_records_dropped: dropped,
        views_dropped,
    })
}
