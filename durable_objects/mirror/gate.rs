//! The seat gate at dispatch (issue 15). A target in a customer guild with a seat config is
//! gated by that guild's [`GateView`]: this object keeps a copy per guild (fetched from the
//! seat object on first need, replaced by its `POST /seats/changed` pushes, kept in storage so
//! a restart does not need the seat object) and decides each job locally, never waiting for an
//! audit.
//!
//! Held jobs are not moved anywhere: the target's own [`relay_mirror::jobs::TargetQueue`] is
//! paused — its head is not claimed while the gate holds. That keeps every property the queue
//! already has (source order, coalescing of pending edits, a delete cancelling an unposted
//! create, exactly once across restarts) without a second copy of a job that could be
//! delivered twice or lost between two structures (what `HeldQueue` would have meant here).
//! While paused, jobs older than the hold age are dropped from the head as
//! `expired_while_paused` and counted, and the alarm is set at the next expiry.

use std::collections::BTreeMap;
use std::rc::Rc;

use relay_core::ids::GuildId;
use relay_guild::seats::{GateDecision, GateView, EXPIRED_WHILE_PAUSED};
use relay_mirror::jobs::TargetQueue;
use serde::{Deserialize, Serialize};
use worker::{Response, Result, SqlStorageValue};

use super::api::HistoryEntry;
use super::Shared;
use crate::durable_objects::seats::client::SeatClient;
use crate::durable_objects::seats::mirror_link::SeatChange;

/// A paused target asks the seat object again this often, should a push have been lost.
pub const PAUSED_RECHECK_MS: i64 = 60_000;
/// "Audit now" is asked at most this often per guild (the seat object dedupes too).
const AUDIT_ASK_MS: i64 = 10_000;

/// The cached view of one guild and when it was had.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cached {
    pub view: GateView,
    pub at_ms: i64,
}

/// What the dispatcher does with a target's head job now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No seat config for the guild (or no guild known): send, nothing recorded.
    Ungated,
    Send {
        would_hold: bool,
    },
    Hold,
}

fn view_key(guild: &str) -> String {
    format!("seat_view:{guild}")
}

fn counter_key(what: &str, target: &str) -> String {
    format!("{what}:{target}")
}

pub fn counter(sh: &Shared, what: &str, target: &str) -> Result<u64> {
    Ok(sh
        .store()
        .meta_get(&counter_key(what, target))?
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0)
        .max(0) as u64)
}

fn bump(sh: &Shared, what: &str, target: &str, by: u64) -> Result<()> {
    let n = counter(sh, what, target)? + by;
    sh.store().meta_set(
        &counter_key(what, target),
        SqlStorageValue::Integer(n as i64),
    )
}

/// The guild's cached view: memory, then storage, then (first need, or a paused target's
/// periodic recheck) the seat object.
pub async fn view(sh: &Shared, guild: &GuildId, refetch_older_than: Option<i64>) -> Result<Cached> {
    let now = crate::runtime::now_ms();
    let mut cached = sh.gates.borrow().get(guild.as_str()).cloned();
    if cached.is_none() {
        cached = sh
            .store()
            .meta_get(&view_key(guild.as_str()))?
            .and_then(|v| v.as_str().and_then(|s| serde_json::from_str(s).ok()));
    }
    let stale = |c: &Cached| refetch_older_than.is_some_and(|age| now - c.at_ms >= age);
    if let Some(c) = cached.as_ref().filter(|c| !stale(c)) {
        sh.gates
            .borrow_mut()
            .insert(guild.as_str().to_string(), c.clone());
        return Ok(c.clone());
    }
    let tenant = sh.tenant_key.borrow().clone().unwrap_or_default();
    let fetched = SeatClient::new(&sh.env, &tenant)?.gate_view(guild).await;
    match fetched {
        Ok(v) => remember(sh, v, now),
        // A recheck that fails keeps the copy it has (the gate never waits on the seat
        // object) and tries again a recheck later, not at once; with no copy at all the
        // failure is the caller's.
        Err(e) => match cached {
            Some(mut c) => {
                c.at_ms = now;
                sh.gates
                    .borrow_mut()
                    .insert(guild.as_str().to_string(), c.clone());
                Ok(c)
            }
            None => Err(e),
        },
    }
}

fn remember(sh: &Shared, view: GateView, now: i64) -> Result<Cached> {
    let guild = view.guild_id.to_string();
    let c = Cached { view, at_ms: now };
    sh.store().meta_set(
        &view_key(&guild),
        SqlStorageValue::String(serde_json::to_string(&c)?),
    )?;
    sh.gates.borrow_mut().insert(guild, c.clone());
    Ok(c)
}

/// The gate for `target` (in `guild`) now; asks for an audit when the table says so.
pub async fn check(sh: &Shared, guild: Option<&GuildId>, target: &str) -> Result<Verdict> {
    let Some(guild) = guild else {
        return Ok(Verdict::Ungated);
    };
    let paused = sh.paused.borrow().contains_key(target);
    let cached = view(sh, guild, paused.then_some(PAUSED_RECHECK_MS)).await?;
    if !cached.view.configured {
        sh.paused.borrow_mut().remove(target);
        return Ok(Verdict::Ungated);
    }
    let now = crate::runtime::now_ms();
    let GateDecision {
        deliver,
        audit_now,
        would_hold,
    } = cached.view.decide(now);
    if audit_now {
        ask_audit(sh, guild, now);
    }
    if deliver {
        sh.paused.borrow_mut().remove(target);
        Ok(Verdict::Send { would_hold })
    } else {
        sh.paused.borrow_mut().insert(
            target.to_string(),
            (guild.clone(), cached.view.policy.hold.max_age_ms),
        );
        Ok(Verdict::Hold)
    }
}

/// Fire and forget: the dispatcher never waits for the auditor.
fn ask_audit(sh: &Shared, guild: &GuildId, now: i64) {
    {
        let mut asked = sh.audit_asked.borrow_mut();
        if asked
            .get(guild.as_str())
            .is_some_and(|at| now - at < AUDIT_ASK_MS)
        {
            return;
        }
        asked.insert(guild.as_str().to_string(), now);
    }
    let tenant = sh.tenant_key.borrow().clone().unwrap_or_default();
    let client = SeatClient::new(&sh.env, &tenant);
    let guild = guild.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let result = match client {
            Ok(c) => c.audit_now(&guild).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            crate::runtime::log(
                "warn",
                "mirror: audit request to the seat object failed",
                serde_json::json!({"guild_id": guild.as_str(), "error": e.to_string()}),
            );
        }
    });
}

/// A shadow-mode job enforce would have held, counted once however often it is claimed (a
/// rate limit or a retry claims it again): job ids only grow within a target's queue.
pub fn record_would_hold(sh: &Shared, target: &str, job_id: u64) -> Result<()> {
    if job_id <= counter(sh, "would_hold_last", target)? {
        return Ok(());
    }
    sh.store().meta_set(
        &counter_key("would_hold_last", target),
        SqlStorageValue::Integer(job_id as i64),
    )?;
    bump(sh, "would_hold", target, 1)
}

/// Drops the paused queue's head jobs older than `max_age_ms`, counted and recorded; returns
/// how many. A leased head (a job already running) is never dropped.
pub fn expire(sh: &Shared, target: &str, q: &mut TargetQueue, max_age_ms: i64) -> Result<u64> {
    let now = crate::runtime::now_ms();
    let mut n = 0u64;
    for job in q.expire_held(now - max_age_ms) {
        let _ = sh.store().take_job_times(target, job.id)?;
        sh.store().record(&HistoryEntry {
            at_ms: now,
            target_channel_id: target.to_string(),
            message_id: job.message_id.as_str().to_string(),
            kind: super::dispatch::kind_str(job.kind).into(),
            outcome: "dropped".into(),
            rule: Some(EXPIRED_WHILE_PAUSED.into()),
            detail: Some(format!(
                "held while the guild was over its seat limit for more than {} h",
                max_age_ms / 3_600_000
            )),
            error_code: Some(EXPIRED_WHILE_PAUSED.into()),
            discord_code: None,
            dispatch_ms: None,
            answer_ms: None,
        })?;
        n += 1;
    }
    if n > 0 {
        bump(sh, EXPIRED_WHILE_PAUSED, target, n)?;
    }
    Ok(n)
}

/// When a paused queue next needs the object: its head's expiry, or the recheck.
pub fn paused_wake(sh: &Shared, target: &str, q: &TargetQueue) -> Option<i64> {
    let paused = sh.paused.borrow();
    let (guild, max_age) = paused.get(target)?;
    let head = q.jobs.front()?;
    let recheck = sh
        .gates
        .borrow()
        .get(guild.as_str())
        .map(|c| c.at_ms + PAUSED_RECHECK_MS);
    let expiry = head.enqueued_at_ms + max_age;
    Some(recheck.map_or(expiry, |r| r.min(expiry)))
}

/// `POST /seats/changed`: the seat object's push. The copy is replaced and every paused
/// target of the guild runs again (the gate decides: back under, or the kill switch, lets
/// its held jobs out in order).
pub async fn changed(sh: &Rc<Shared>, change: SeatChange) -> Result<Response> {
    let guild = change.view.guild_id.to_string();
    remember(sh, change.view, crate::runtime::now_ms())?;
    let targets: Vec<String> = sh
        .paused
        .borrow()
        .iter()
        .filter(|(_, (g, _))| g.as_str() == guild)
        .map(|(t, _)| t.clone())
        .collect();
    let released = targets.len();
    if !targets.is_empty() {
        let sh = sh.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let runs = targets
                .into_iter()
                .map(|t| super::dispatch::run_target(sh.clone(), t));
            futures_util::future::join_all(runs).await;
        });
    }
    Response::from_json(&serde_json::json!({
        "ok": true, "guild_id": guild, "back_under": change.back_under, "targets_woken": released,
    }))
}

/// Per target: held (queued behind a closed gate), expired and would-hold counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TargetSeats {
    pub guild_id: Option<String>,
    pub paused: bool,
    pub held: usize,
    pub expired_while_paused_total: u64,
    pub would_hold_total: u64,
}

pub fn target_seats(
    sh: &Shared,
    target: &str,
    guild: Option<&GuildId>,
    depth: usize,
) -> Result<TargetSeats> {
    let paused = sh.paused.borrow().contains_key(target);
    Ok(TargetSeats {
        guild_id: guild.map(|g| g.as_str().to_string()),
        paused,
        held: if paused { depth } else { 0 },
        expired_while_paused_total: counter(sh, EXPIRED_WHILE_PAUSED, target)?,
        would_hold_total: counter(sh, "would_hold", target)?,
    })
}

/// `GET /seats/held`: every target of a guild this tenant mirrors into, by guild.
pub async fn held(sh: &Rc<Shared>) -> Result<Response> {
    let routes = super::dispatch::routes(sh, &[]).await?;
    super::dispatch::ensure_loaded(sh)?;
    let mut by_guild: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for m in &routes.mappings {
        let Some(g) = m.target_guild.as_ref() else {
            continue;
        };
        let t = m.target.as_str().to_string();
        if !seen.insert(t.clone()) {
            continue;
        }
        let depth = super::dispatch::with_queue(sh, &t, |q| q.depth())?;
        let s = target_seats(sh, &t, Some(g), depth)?;
        by_guild
            .entry(g.as_str().to_string())
            .or_default()
            .push(serde_json::json!({
                "target_channel_id": t,
                "paused": s.paused,
                "held": s.held,
                "expired_while_paused_total": s.expired_while_paused_total,
                "would_hold_total": s.would_hold_total,
            }));
    }
    let guilds: Vec<serde_json::Value> = by_guild
        .into_iter()
        .map(|(g, targets)| {
            let sum = |k: &str| -> u64 { targets.iter().filter_map(|t| t[k].as_u64()).sum() };
            serde_json::json!({
                "guild_id": g,
                "held": sum("held"),
                "expired_while_paused_total": sum("expired_while_paused_total"),
                "would_hold_total": sum("would_hold_total"),
                "targets": targets,
            })
        })
        .collect();
    Response::from_json(&serde_json::json!({ "guilds": guilds }))
}
