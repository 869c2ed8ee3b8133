//! The answer to each path of [`super::api`], and the prune alarm.

use std::rc::Rc;

use relay_discord::gate::{GateStatus, Observed};
use relay_discord::ratelimit::{Acquire, Feedback};
use relay_discord::requests::RateKey;
use serde::Deserialize;
use worker::{Request, Response, Result};

use super::api;
use super::state::Shared;

/// How often idle buckets are forgotten while the gate holds any.
pub const PRUNE_EVERY_MS: i64 = 5 * 60_000;

type Answer = std::result::Result<Response, String>;

pub fn error_response(status: u16, message: &str) -> Result<Response> {
    let body = serde_json::json!({
        "error_code": "discord_gate_unavailable",
        "message": message,
    });
    Ok(Response::from_json(&body)?.with_status(status))
}

fn answer<T: serde::Serialize>(v: &T) -> Answer {
    Response::from_json(v).map_err(|e| e.to_string())
}

async fn read_body<T: for<'de> Deserialize<'de>>(
    req: &mut Request,
) -> std::result::Result<T, String> {
    let text = req.text().await.map_err(|e| e.to_string())?;
    // Only the worker's facade calls the gate, with types from `api`: a body that does not
    // decode is our bug (or a deploy mixing versions), not a client's mistake.
    serde_json::from_str(&text).map_err(|e| format!("gate call did not decode: {e}"))
}

pub async fn acquire(sh: &Rc<Shared>, req: &mut Request) -> Answer {
    let body: api::AcquireBody = read_body(req).await?;
    let mut answers = acquire_all(sh, std::slice::from_ref(&body.key))?;
    answer(&answers.pop())
}

pub async fn observe(sh: &Rc<Shared>, req: &mut Request) -> Answer {
    let body: api::ObserveBody = read_body(req).await?;
    let mut observed = observe_all(sh, std::slice::from_ref(&body)).await?;
    answer(&observed.pop())
}

pub async fn acquire_many(sh: &Rc<Shared>, req: &mut Request) -> Answer {
    let body: api::AcquireMany = read_body(req).await?;
    answer(&acquire_all(sh, &body.keys)?)
}

pub async fn observe_many(sh: &Rc<Shared>, req: &mut Request) -> Answer {
    let body: api::ObserveMany = read_body(req).await?;
    answer(&observe_all(sh, &body.observed).await?)
}

/// Slots for `keys`, in order, as if asked one after another.
fn acquire_all(sh: &Rc<Shared>, keys: &[RateKey]) -> std::result::Result<Vec<Acquire>, String> {
    let now = crate::runtime::now_ms();
    let answers = {
        let mut g = sh.gate.borrow_mut();
        keys.iter().map(|k| g.acquire(k, now)).collect()
    };
    sh.changed(now).map_err(|e| e.to_string())?;
    Ok(answers)
}

/// What happened to each request, in order.
async fn observe_all(
    sh: &Rc<Shared>,
    items: &[api::ObserveBody],
) -> std::result::Result<Vec<Observed>, String> {
    let now = crate::runtime::now_ms();
    let observed = {
        let mut g = sh.gate.borrow_mut();
        items
            .iter()
            .map(|o| g.observe(&o.permit, &o.feedback, now))
            .collect()
    };
    if items.iter().all(|o| routine(&o.feedback)) {
        sh.changed(now)
    } else {
        sh.save_now(now)
    }
    .map_err(|e| e.to_string())?;
    ensure_alarm(sh, now).await;
    Ok(observed)
}

/// A success: written with the next interval's write. What Discord refused (a 429, a 401
/// stop, a ban page, a 5xx, no answer) is written before the gate answers.
fn routine(f: &Feedback) -> bool {
    matches!(f, Feedback::Response(m) if (200..300).contains(&m.status))
}

pub fn status(sh: &Shared) -> Answer {
    let now = crate::runtime::now_ms();
    let s: GateStatus = sh.gate.borrow_mut().status(now);
    answer(&s)
}

pub fn reset(sh: &Shared) -> Answer {
    let now = crate::runtime::now_ms();
    let outcome = sh.gate.borrow_mut().reset(now);
    sh.save_now(now).map_err(|e| e.to_string())?;
    crate::runtime::log(
        "warn",
        "discord gate reset by an operator",
        serde_json::to_value(outcome).unwrap_or_default(),
    );
    let gate = sh.gate.borrow_mut().status(now);
    answer(&api::Reset {
        reset: outcome,
        gate,
    })
}

/// Keeps one prune alarm pending while the gate holds buckets. The first call after a start
/// reads the alarm once; later ones use what they remember.
async fn ensure_alarm(sh: &Shared, now: i64) {
    let storage = sh.state.storage();
    let known = match sh.alarm_at.get() {
        Some(k) => k,
        None => match storage.get_alarm().await {
            Ok(k) => {
                sh.alarm_at.set(Some(k));
                k
            }
            Err(_) => return,
        },
    };
    if known.is_some() {
        return;
    }
    if storage.set_alarm(PRUNE_EVERY_MS).await.is_ok() {
        sh.alarm_at.set(Some(Some(now + PRUNE_EVERY_MS)));
    }
}

/// Forgets idle buckets so the persisted state stays small; re-arms while anything is left.
pub async fn alarm(sh: &Shared) -> Result<Response> {
    let now = crate::runtime::now_ms();
    sh.alarm_at.set(Some(None));
    let more = {
        let mut g = sh.gate.borrow_mut();
        g.prune(now);
        g.has_buckets(now)
    };
    sh.save_now(now)?;
    if more {
        sh.state.storage().set_alarm(PRUNE_EVERY_MS).await?;
        sh.alarm_at.set(Some(Some(now + PRUNE_EVERY_MS)));
    }
    Response::ok("ok")
}
