//! The job loop, per relay-mirror's guide (`crates/relay-mirror/src/lib.rs`): claim → load
//! the view and the mapping → render → plan → persist → send through the Discord facade →
//! report → act on `Next`. The same code runs from a delivery (at once, after the answer) and
//! from the alarm. Queues of different targets run concurrently and never wait for each
//! other; one target runs one loop at a time (a second wake-up only marks it "again").

use std::collections::BTreeSet;
use std::rc::Rc;

use futures_util::future::FutureExt;

use relay_core::convergence::SignalView;
use relay_core::ids::{ChannelId, MessageId, UserId};
use relay_discord::multipart::File;
use relay_discord::requests::{
    CreateForumThread, CreateMessage, CreateThread, CreateWebhook, DeleteMessage,
    DeleteWebhookMessage, ExecuteWebhook, GetChannelMessages, GetCurrentUser, GetUser,
    MessageNonce, UpdateMessage, UpdateWebhookMessage,
};
use relay_mirror::jobs::{
    snowflake_at, Action, Candidate, Claim, Enqueued, Finished, MirrorError, Next, PosterId,
    SendResult, SendStep, Step, TargetQueue, WebhookId, LEASE_MS,
};
use relay_mirror::render::{self, Poster, RenderOutcome, Rendered, Skip, TargetContext};
use relay_mirror::rules::Style;
use serde_json::json;
use twilight_model::channel::message::AllowedMentions;
use twilight_model::channel::{ChannelType, Message};
use twilight_model::id::Id;
use wasm_bindgen::JsValue;
use worker::{Response, Result};

use super::api::{self, HistoryEntry};
use super::routing::{self, Mapping, Routes, ThreadMode};
use super::{gate, lookups, media, replies, Shared};
use crate::discord::{Discord, SendError};
use crate::durable_objects::js;

const WEBHOOK_NAME: &str = "Signal Relay";
/// Messages listed per recovery lookup (Discord's maximum).
const LOOKUP_LIMIT: u16 = 100;

fn now() -> i64 {
    crate::runtime::now_ms()
}

fn jitter() -> f64 {
    u32::from_le_bytes(crate::runtime::random_bytes::<4>()) as f64 / (u32::MAX as f64 + 1.0)
}

fn io(e: MirrorError) -> worker::Error {
    worker::Error::RustError(e.to_string())
}

/// Runs `f` on the queue of `target` (created empty when new), loading every queue first
/// when this instance has not yet. Leases found at load belong to a previous instance of this
/// object (there is never more than one alive): they are expired, so a restart resumes at once
/// instead of after [`LEASE_MS`]; a post they left in flight is looked for before it is made
/// again, exactly as after a lease expiry.
pub fn with_queue<R>(
    sh: &Shared,
    target: &str,
    f: impl FnOnce(&mut TargetQueue) -> R,
) -> Result<R> {
    ensure_loaded(sh)?;
    let mut qs = sh.queues.borrow_mut();
    let q = qs
        .as_mut()
        .expect("loaded")
        .entry(target.to_string())
        .or_default();
    Ok(f(q))
}

pub fn ensure_loaded(sh: &Shared) -> Result<()> {
    if sh.queues.borrow().is_some() {
        return Ok(());
    }
    let mut loaded = sh.store().load_queues()?;
    for q in loaded.values_mut() {
        for j in q.jobs.iter_mut() {
            if let Some(l) = j.lease.as_mut() {
                l.until_ms = 0;
            }
        }
    }
    *sh.queues.borrow_mut() = Some(loaded);
    Ok(())
}

fn save(sh: &Shared, target: &str, touched: &[&MessageId]) -> Result<()> {
    let qs = sh.queues.borrow();
    if let Some(q) = qs.as_ref().and_then(|m| m.get(target)) {
        sh.store().save_queue(target, q, touched)?;
    }
    Ok(())
}

/// The mappings, reloaded when a delivery names a newer config version of a connector, when
/// they are older than [`routing::MAX_AGE_MS`], or after an invalidation.
pub async fn routes(sh: &Shared, versions: &[(String, i64)]) -> Result<Rc<Routes>> {
    let t = now();
    let fresh =
        sh.routes.borrow().as_ref().is_some_and(|r| {
            !r.stale(t) && versions.iter().all(|(c, v)| !r.version_differs(c, *v))
        });
    if !fresh {
        let tenant = sh.tenant_key.borrow().clone().unwrap_or_default();
        let db = crate::db::Db::new(&sh.env)?;
        let loaded = Rc::new(routing::load(&db, &tenant, t).await?);
        *sh.routes.borrow_mut() = Some(loaded);
    }
    Ok(sh.routes.borrow().clone().expect("loaded"))
}

/// Stores the delivered changes and enqueues their jobs, all in one transaction with the
/// high-water mark, then answers and dispatches the touched targets at once.
pub async fn deliver(sh: &Rc<Shared>, body: api::Deliver) -> Result<Response> {
    let versions: Vec<(String, i64)> = body
        .changes
        .iter()
        .map(|c| (c.connector_id.clone(), c.config_version))
        .collect();
    let routes = routes(sh, &versions).await?;
    ensure_loaded(sh)?;
    let ahead = ask_ahead(&routes, &body);
    let t = now();
    let tx = sh.clone();
    let outcome = js::transaction(&sh.state, move || {
        let sh = tx;
        let mut applied = sh.store().applied_through()?;
        let mut jobs = 0usize;
        let mut touched = BTreeSet::new();
        for ch in &body.changes {
            if ch.seq <= applied {
                continue;
            }
            applied = ch.seq;
            sh.store().put_view(
                &ch.message_id,
                &ch.connector_id,
                ch.seq,
                ch.thread_name.as_deref(),
                ch.view.as_ref(),
            )?;
            let Some(view) = ch.view.as_ref() else {
                continue;
            };
            if !routes.forwarding(&ch.connector_id) {
                continue;
            }
            let mode = routes.thread_mode(&ch.connector_id, &view.channel_id);
            let in_thread = view.thread_id.is_some();
            if (in_thread && mode == ThreadMode::Exclude)
                || (!in_thread && mode == ThreadMode::Only)
            {
                continue;
            }
            for m in routes.targets_of(&ch.connector_id, &view.channel_id) {
                let target = m.target.as_str().to_string();
                let e = with_queue(&sh, &target, |q| q.enqueue(&ch.message_id, ch.kind, t))?;
                match e {
                    Enqueued::New(id) | Enqueued::Coalesced(id) => {
                        sh.store().job_committed(&target, id, ch.committed_at_ms)?;
                        jobs += 1;
                    }
                    Enqueued::Cancelled(_) => {
                        sh.store().record(&HistoryEntry {
                            at_ms: t,
                            target_channel_id: target.clone(),
                            message_id: ch.message_id.as_str().to_string(),
                            kind: "delete".into(),
                            outcome: "cancelled".into(),
                            rule: None,
                            detail: Some(
                                "deleted before its create was posted: nothing was posted".into(),
                            ),
                            error_code: None,
                            discord_code: None,
                            dispatch_ms: None,
                            answer_ms: None,
                        })?;
                    }
                    Enqueued::Ignored => {}
                }
                save(&sh, &target, &[&ch.message_id])?;
                touched.insert(target);
            }
        }
        sh.store().set_applied_through(applied)?;
        Ok((applied, jobs, touched))
    });
    let (applied, jobs, touched) = match outcome {
        Ok(o) => o,
        Err(e) => {
            // Memory may hold enqueues the rollback undid: reload from storage next time.
            *sh.queues.borrow_mut() = None;
            return Err(e);
        }
    };
    if !touched.is_empty() {
        let sh = sh.clone();
        wasm_bindgen_futures::spawn_local(async move {
            prefetch(&sh, ahead).await;
            let runs = touched.into_iter().map(|t| run_target(sh.clone(), t));
            futures_util::future::join_all(runs).await;
        });
    }
    Response::from_json(&api::Delivered {
        applied_through: applied,
        jobs,
    })
}

/// What the delivered changes' jobs will ask Discord, whatever their target: each author's
/// avatar and, in a source the bot can read, what each message replies to.
struct Ahead {
    authors: BTreeSet<UserId>,
    replies: Vec<SignalView>,
}

fn ask_ahead(routes: &Routes, body: &api::Deliver) -> Ahead {
    let mut ahead = Ahead {
        authors: BTreeSet::new(),
        replies: Vec::new(),
    };
    for ch in &body.changes {
        let Some(v) = ch.view.as_ref().filter(|v| !v.deleted) else {
            continue;
        };
        if !routes.forwarding(&ch.connector_id) {
            continue;
        }
        let mut targets = routes
            .targets_of(&ch.connector_id, &v.channel_id)
            .peekable();
        if targets.peek().is_none() {
            continue;
        }
        if targets.any(|m| m.source_readable) {
            ahead.replies.push(v.clone());
        }
        if let Some(a) = &v.author.id {
            ahead.authors.insert(a.clone());
        }
    }
    ahead
}

/// Asks once, before the targets' loops start, what every one of them would otherwise ask at
/// the same moment: fifty targets of one new author are one user lookup, not fifty. A failure
/// here is not an error; each job asks again for what is still unknown.
async fn prefetch(sh: &Rc<Shared>, ahead: Ahead) {
    if ahead.authors.is_empty() && ahead.replies.is_empty() {
        return;
    }
    let t = now();
    let avatars = ahead.authors.iter().map(|a| avatar(sh, Some(a)));
    let replies = ahead
        .replies
        .iter()
        .map(|v| replies::original_of(sh, v, true, t));
    futures_util::future::join(
        futures_util::future::join_all(avatars),
        futures_util::future::join_all(replies),
    )
    .await;
}

/// The alarm: every queue whose head is due (or whose lease expired).
pub async fn run_all(sh: Rc<Shared>) {
    if let Err(e) = ensure_loaded(&sh) {
        log_error("mirror: queues failed to load", &e);
        let _ = set_alarm(&sh, now() + 5_000).await;
        return;
    }
    let t = now();
    let due: Vec<String> = sh
        .queues
        .borrow()
        .as_ref()
        .map(|qs| {
            qs.iter()
                .filter(|(k, q)| wake(&sh, k, q).is_some_and(|w| w <= t))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    let runs = due.into_iter().map(|t| run_target(sh.clone(), t));
    futures_util::future::join_all(runs).await;
    schedule(&sh).await;
}

pub(super) async fn run_target(sh: Rc<Shared>, target: String) {
    if !sh.running.borrow_mut().insert(target.clone()) {
        sh.again.borrow_mut().insert(target);
        return;
    }
    loop {
        sh.again.borrow_mut().remove(&target);
        if let Err(e) = drain(&sh, &target).await {
            log_error("mirror: dispatch failed", &e);
            *sh.queues.borrow_mut() = None;
        }
        if !sh.again.borrow().contains(&target) {
            break;
        }
    }
    sh.running.borrow_mut().remove(&target);
    schedule(&sh).await;
}

fn log_error(msg: &str, e: &worker::Error) {
    crate::runtime::log("error", msg, json!({"error": e.to_string()}));
}

async fn set_alarm(sh: &Shared, at: i64) -> Result<()> {
    *sh.alarm_at.borrow_mut() = Some(at);
    sh.state
        .storage()
        .set_alarm(worker::ScheduledTime::new(js_sys::Date::new(
            &JsValue::from_f64(at as f64),
        )))
        .await
}

/// When a queue needs the object: a paused one (the seat gate holds it) at its next expiry or
/// recheck, any other at its head's retry time or lease expiry.
fn wake(sh: &Shared, target: &str, q: &TargetQueue) -> Option<i64> {
    if sh.paused.borrow().contains_key(target) {
        return gate::paused_wake(sh, target, q);
    }
    q.next_wake_ms()
}

/// The alarm is the earliest wake of any queue: a retry time, or a lease's expiry (a crashed
/// loop's job is reclaimed then, without any sweep).
async fn schedule(sh: &Shared) {
    let next = sh
        .queues
        .borrow()
        .as_ref()
        .and_then(|qs| qs.iter().filter_map(|(k, q)| wake(sh, k, q)).min());
    let result = match next {
        Some(at) => set_alarm(sh, at.max(now())).await,
        None => Ok(()),
    };
    if let Err(e) = result {
        log_error("mirror: alarm could not be set", &e);
    }
}

enum Flow {
    NextJob,
    Blocked,
}

async fn drain(sh: &Rc<Shared>, target: &str) -> Result<()> {
    let discord = Discord::from_env(&sh.env);
    loop {
        let t = now();
        let due = with_queue(sh, target, |q| {
            q.jobs.front().is_some_and(|h| match &h.lease {
                Some(l) => l.until_ms <= t,
                None => h.not_before_ms <= t,
            })
        })?;
        if !due {
            return Ok(());
        }
        // The seat gate decides on this object's copy of the guild's view, before any call
        // for the job: a hold leaves the head unclaimed (the queue is paused, in order).
        let verdict = seat_gate(sh, target).await?;
        if verdict == gate::Verdict::Hold {
            let max_age = sh
                .paused
                .borrow()
                .get(target)
                .map(|(_, a)| *a)
                .unwrap_or(i64::MAX / 2);
            let expired = with_queue(sh, target, |q| gate::expire(sh, target, q, max_age))??;
            if expired > 0 {
                save(sh, target, &[])?;
            }
            return Ok(());
        }
        let Some(claim) = with_queue(sh, target, |q| q.claim(t, LEASE_MS))? else {
            return Ok(());
        };
        save(sh, target, &[&claim.message_id])?;
        if verdict == (gate::Verdict::Send { would_hold: true }) {
            gate::record_would_hold(sh, target, claim.job_id)?;
        }
        sh.store().job_claimed(target, claim.job_id, t)?;
        // Should this instance die while the job runs, the alarm at its lease's expiry is what
        // wakes the object again to reclaim it.
        let armed = sh
            .alarm_at
            .borrow()
            .is_some_and(|a| a <= claim.lease_until_ms);
        if !armed {
            set_alarm(sh, claim.lease_until_ms).await?;
        }
        let Some(discord) = discord.as_ref() else {
            let r = SendResult::Stopped {
                reason: "discord_not_configured: DISCORD_BOT_TOKEN is not set".into(),
            };
            let next =
                with_queue(sh, target, |q| q.report_unsent(&claim, r, t, jitter()))?.map_err(io)?;
            save(sh, target, &[&claim.message_id])?;
            let _ = next;
            return Ok(());
        };
        match run_job(sh, discord, target, &claim).await? {
            Flow::NextJob => continue,
            Flow::Blocked => return Ok(()),
        }
    }
}

/// The seat gate for `target`: its guild from the mappings. Should the seat object be
/// unreachable before this object has any copy of the guild's view, the job is sent: a
/// guild with a seat config has a copy from its first job on, and a failure of ours must not
/// stop every unconfigured guild's mirroring.
async fn seat_gate(sh: &Rc<Shared>, target: &str) -> Result<gate::Verdict> {
    let routes = routes(sh, &[]).await?;
    let guild = routes
        .mappings
        .iter()
        .find(|m| m.target.as_str() == target)
        .and_then(|m| m.target_guild.clone());
    match gate::check(sh, guild.as_ref(), target).await {
        Ok(v) => Ok(v),
        Err(e) => {
            log_error("mirror: seat gate view unavailable; sending", &e);
            Ok(gate::Verdict::Ungated)
        }
    }
}

fn cx_tenant(sh: &Shared) -> String {
    sh.tenant_key.borrow().clone().unwrap_or_default()
}

/// What a job renders to, owned.
enum Want {
    Absent,
    Skipped(Skip),
    Parts(Rendered),
}

impl Want {
    fn desired(&self) -> relay_mirror::jobs::Desired<'_> {
        use relay_mirror::jobs::Desired;
        match self {
            Want::Absent => Desired::Absent,
            Want::Skipped(s) => Desired::Skipped(s),
            Want::Parts(r) => Desired::Parts(r),
        }
    }
}

/// Everything a job's calls need.
struct JobCx {
    target: ChannelId,
    mapping: Mapping,
    view: Option<SignalView>,
    thread_name: Option<String>,
    want: Want,
    webhook: Option<(WebhookId, String)>,
    tenant: String,
}

pub(super) fn kind_str(k: relay_mirror::jobs::ChangeKind) -> &'static str {
    match k {
        relay_mirror::jobs::ChangeKind::Create => "create",
        relay_mirror::jobs::ChangeKind::Edit => "edit",
        relay_mirror::jobs::ChangeKind::Delete => "delete",
    }
}

fn entry(target: &str, claim: &Claim, outcome: &str) -> HistoryEntry {
    HistoryEntry {
        at_ms: now(),
        target_channel_id: target.to_string(),
        message_id: claim.message_id.as_str().to_string(),
        kind: kind_str(claim.kind).into(),
        outcome: outcome.into(),
        rule: None,
        detail: None,
        error_code: None,
        discord_code: None,
        dispatch_ms: None,
        answer_ms: None,
    }
}

fn finish_entry(
    sh: &Shared,
    target: &str,
    claim: &Claim,
    mut e: HistoryEntry,
    answered: Option<i64>,
) -> Result<()> {
    if let Some((committed, claimed)) = sh.store().take_job_times(target, claim.job_id)? {
        e.dispatch_ms = claimed.map(|c| (c - committed).max(0));
        e.answer_ms = answered.map(|a| (a - committed).max(0));
    }
    sh.store().record(&e)
}

async fn run_job(sh: &Rc<Shared>, discord: &Discord, target: &str, claim: &Claim) -> Result<Flow> {
    let routes = routes(sh, &[]).await?;
    let stored = sh.store().view(&claim.message_id)?;
    let mapping = stored.as_ref().and_then(|s| {
        s.view
            .as_ref()
            .and_then(|v| routes.mapping(&s.connector_id, &v.channel_id, target))
            .cloned()
    });
    let Some(mapping) = mapping else {
        // The mapping went away: this target no longer mirrors the message; what it posted
        // stays (removing a mapping is not deleting signals).
        let dropped = with_queue(sh, target, |q| {
            if q.jobs.front().is_some_and(|j| j.id == claim.job_id) {
                q.jobs.pop_front();
                true
            } else {
                false
            }
        })?;
        save(sh, target, &[&claim.message_id])?;
        if dropped {
            let mut e = entry(target, claim, "dropped");
            e.rule = Some("mapping_removed".into());
            e.detail = Some("the mapping to this target was removed".into());
            finish_entry(sh, target, claim, e, None)?;
        }
        return Ok(Flow::NextJob);
    };
    let (view, thread_name, connector) = match stored {
        Some(s) => (s.view, s.thread_name, s.connector_id),
        None => (None, None, String::new()),
    };
    let want = match view.as_ref() {
        None => Want::Absent,
        Some(v) if v.deleted => Want::Absent,
        Some(v) => {
            let t = now();
            let original = match replies::original_of(sh, v, mapping.source_readable, t).await {
                Ok(o) => o,
                Err(wait) => return unsent(sh, target, claim, to_result(wait), t),
            };
            let avatar_url = avatar(sh, v.author.id.as_ref()).await;
            let mut ctx = TargetContext {
                target_guild_id: mapping.target_guild.clone(),
                channel_map: routes.channel_map(&connector, mapping.target_guild.as_ref()),
                avatar_url,
                reply: None,
                upload_limit: None,
                media_links: media::links(&sh.env, &cx_tenant(sh), v),
            };
            if let Some(o) = original {
                let stored = sh.store().view(&o)?.and_then(|s| s.view);
                if let Some(ov) = stored {
                    let at = mirrored_at(sh, &mapping, v, &o)?;
                    ctx.reply = replies::quote(&ov, &mapping, &ctx, at);
                }
            }
            match render::render(v, &mapping.rules, &ctx) {
                RenderOutcome::Post(r) => Want::Parts(r),
                RenderOutcome::Skipped(s) => Want::Skipped(s),
            }
        }
    };
    let style_bot = match &want {
        Want::Parts(r) => r.poster == Poster::Bot,
        _ => matches!(mapping.rules.transform.style, Style::Embed(_)),
    };
    let t = now();
    let (poster, webhook) = match poster(sh, discord, target, style_bot).await {
        Ok(p) => p,
        Err(failed) => return unsent(sh, target, claim, failed, t),
    };
    let cx = JobCx {
        target: mapping.target.clone(),
        mapping,
        view,
        thread_name,
        want,
        webhook,
        tenant: sh.tenant_key.borrow().clone().unwrap_or_default(),
    };
    let mut answered: Option<i64> = None;
    loop {
        let t = now();
        let action = match with_queue(sh, target, |q| q.plan(claim, cx.want.desired(), &poster, t))?
        {
            Ok(a) => a,
            Err(MirrorError::LeaseLost) => return Ok(Flow::Blocked),
            Err(e) => return Err(io(e)),
        };
        save(sh, target, &[&claim.message_id])?;
        match action {
            Action::Finished(f) => {
                let (outcome, skip) = match f {
                    Finished::Synced => ("synced", None),
                    Finished::Skipped(s) => ("skipped", Some(s)),
                    Finished::Removed => ("removed", None),
                    Finished::NotMirrored => ("not_mirrored", None),
                };
                let mut e = entry(target, claim, outcome);
                if let Some(s) = skip {
                    e.rule = Some(s.rule);
                    e.detail = Some(s.detail);
                }
                finish_entry(sh, target, claim, e, answered)?;
                return Ok(Flow::NextJob);
            }
            Action::Lookup(l) => {
                let after = l
                    .after_id
                    .clone()
                    .unwrap_or_else(|| snowflake_at(l.after_ms));
                let Some(channel) = location(sh, &cx, claim)? else {
                    // Where the post would be is unknown (a forum post whose thread was never
                    // recorded): nothing can be found, so it is posted again.
                    let next = with_queue(sh, target, |q| q.report_lookup(claim, &[], true, t))?
                        .map_err(io)?;
                    save(sh, target, &[&claim.message_id])?;
                    if next != Next::Continue {
                        return on_next(sh, target, claim, next, answered);
                    }
                    continue;
                };
                let ep = GetChannelMessages {
                    channel_id: channel,
                    limit: LOOKUP_LIMIT,
                    before: None,
                    after: after.id(),
                };
                let attempt = failures(sh, target)?;
                let res = discord.send(&ep, attempt).await;
                let t = now();
                let next = match res {
                    Ok(msgs) => {
                        let complete = msgs.len() < LOOKUP_LIMIT as usize;
                        let cands: Vec<Candidate> = msgs.iter().map(candidate).collect();
                        with_queue(sh, target, |q| q.report_lookup(claim, &cands, complete, t))?
                    }
                    Err(e) => with_queue(sh, target, |q| {
                        q.report_unsent(claim, to_result(e), t, jitter())
                    })?,
                }
                .map_err(io)?;
                save(sh, target, &[&claim.message_id])?;
                if next != Next::Continue {
                    return on_next(sh, target, claim, next, answered);
                }
            }
            Action::Send(step) => {
                let attempt = failures(sh, target)?;
                let result = send(sh, discord, &cx, claim, &step, attempt).await?;
                let t = now();
                answered = Some(t);
                let next = match with_queue(sh, target, |q| q.report(claim, result, t, jitter()))? {
                    Ok(n) => n,
                    Err(MirrorError::LeaseLost) => return Ok(Flow::Blocked),
                    Err(e) => return Err(io(e)),
                };
                save(sh, target, &[&claim.message_id])?;
                if next != Next::Continue {
                    return on_next(sh, target, claim, next, answered);
                }
            }
        }
    }
}

/// The job's call could not be made (`result` says why): the queue decides when it runs again.
fn unsent(sh: &Shared, target: &str, claim: &Claim, result: SendResult, t: i64) -> Result<Flow> {
    let next =
        with_queue(sh, target, |q| q.report_unsent(claim, result, t, jitter()))?.map_err(io)?;
    save(sh, target, &[&claim.message_id])?;
    on_next(sh, target, claim, next, None)
}

fn on_next(
    sh: &Shared,
    target: &str,
    claim: &Claim,
    next: Next,
    answered: Option<i64>,
) -> Result<Flow> {
    match next {
        Next::Continue => Ok(Flow::NextJob),
        Next::RetryAt(_) => Ok(Flow::Blocked),
        Next::RecreateWebhook => {
            // 10015: the cached webhook was deleted; the next claim creates a new one.
            sh.store().forget_webhook(target)?;
            Ok(Flow::NextJob)
        }
        Next::DeadLettered(f) => {
            let mut e = entry(target, claim, "dead_lettered");
            e.error_code = Some(f.error_code);
            e.detail = Some(f.reason);
            e.discord_code = f.discord_code;
            finish_entry(sh, target, claim, e, answered)?;
            Ok(Flow::NextJob)
        }
    }
}

fn failures(sh: &Shared, target: &str) -> Result<u32> {
    with_queue(sh, target, |q| {
        q.jobs.front().map(|j| j.failures).unwrap_or(0)
    })
}

fn to_result(e: SendError) -> SendResult {
    match e {
        SendError::NotBefore { at_ms, .. } => SendResult::NotBefore { at_ms },
        SendError::Stopped => SendResult::Stopped {
            reason: "the bot token was refused (401); an operator must reset the Discord gate"
                .into(),
        },
        SendError::Permanent(d) => SendResult::Permanent {
            error_code: d.error_code.to_string(),
            reason: d.message,
            discord_code: d.discord_code,
        },
        SendError::Transient { error, .. } => SendResult::Transient {
            reason: format!("{}: {}", error.error_code, error.message),
        },
    }
}

fn candidate(m: &Message) -> Candidate {
    Candidate {
        id: m.id.into(),
        webhook_id: m.webhook_id.map(Into::into),
        author_id: Some(m.author.id.into()),
        author_username: Some(m.author.name.clone()),
        content: m.content.clone(),
        card_text: m.embeds.first().and_then(|e| e.description.clone()),
        attachment_ids: m.attachments.iter().map(|a| a.id.into()).collect(),
    }
}

/// The target's webhook (created through the bot on first use, cached, re-created after a
/// 10015), or the bot's own identity for the `embed` style.
async fn poster(
    sh: &Shared,
    discord: &Discord,
    target: &str,
    bot: bool,
) -> std::result::Result<(PosterId, Option<(WebhookId, String)>), SendResult> {
    let storage = |e: worker::Error| SendResult::Transient {
        reason: format!("storage: {e}"),
    };
    if bot {
        if let Some(u) = sh.bot_user.borrow().clone() {
            return Ok((PosterId::Bot(u), None));
        }
        if let Some(u) = sh
            .store()
            .meta_get("bot_user_id")
            .map_err(storage)?
            .and_then(|v| v.as_str().and_then(|s| UserId::parse(s).ok()))
        {
            *sh.bot_user.borrow_mut() = Some(u.clone());
            return Ok((PosterId::Bot(u), None));
        }
        let me = discord
            .send(&GetCurrentUser::bot(), 0)
            .await
            .map_err(to_result)?;
        let u: UserId = me.id.into();
        sh.store()
            .meta_set(
                "bot_user_id",
                worker::SqlStorageValue::String(u.as_str().to_string()),
            )
            .map_err(storage)?;
        *sh.bot_user.borrow_mut() = Some(u.clone());
        return Ok((PosterId::Bot(u), None));
    }
    if let Some((id, token)) = sh.store().webhook(target).map_err(storage)? {
        if let Ok(w) = WebhookId::parse(&id) {
            return Ok((PosterId::Webhook(w.clone()), Some((w, token))));
        }
    }
    let channel = ChannelId::parse(target)
        .ok()
        .and_then(|c| c.id())
        .ok_or_else(|| SendResult::Permanent {
            error_code: "mirror_target_invalid".into(),
            reason: format!("{target} is not a channel id"),
            discord_code: None,
        })?;
    let hook = discord
        .send(
            &CreateWebhook {
                channel_id: channel,
                name: WEBHOOK_NAME.into(),
                avatar: None,
                reason: None,
            },
            0,
        )
        .await
        .map_err(to_result)?;
    let Some(token) = hook.token.clone() else {
        return Err(SendResult::Permanent {
            error_code: "discord_webhook_without_token".into(),
            reason: "Discord returned a webhook without a token".into(),
            discord_code: None,
        });
    };
    let id: WebhookId = hook.id.into();
    sh.store()
        .put_webhook(target, id.as_str(), &token, now())
        .map_err(storage)?;
    Ok((PosterId::Webhook(id.clone()), Some((id, token))))
}

/// How long a job waits for another job's avatar lookup before it posts without.
const AVATAR_WAIT_MS: i64 = 3_000;
const AVATAR_POLL_MS: u64 = 20;

/// Clears the "lookup in flight" mark however the lookup ends (also when it is dropped).
struct LookupMark<'a>(&'a std::cell::Cell<bool>);

impl Drop for LookupMark<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// The author's avatar, asked of Discord once per author (also when they have none). A
/// failure to ask is not a reason to hold the post: it goes without, and the next one asks.
///
/// One author's lookup is shared by every target that needs it (`lookups`). Lookups of
/// different authors run one at a time per object: every `GET /users/{id}` shares one
/// rate-limit bucket, so a second lookup in flight would be refused (`NotBefore`) and its post
/// would go without the picture. Those wait (briefly) for the one in flight, then ask.
async fn avatar(sh: &Rc<Shared>, user: Option<&UserId>) -> Option<String> {
    let user = user?.clone();
    let cdn = Discord::from_env(&sh.env)?.cdn_base().to_string();
    let key = format!("avatar:{}", user.as_str());
    let give_up = now() + AVATAR_WAIT_MS;
    loop {
        // A URL cached under another CDN base (the setting changed) is asked for again.
        match sh.store().avatar(user.as_str()) {
            Ok(Some(Some(url))) if url.starts_with(&cdn) => return Some(url),
            Ok(Some(None)) => return None,
            _ => {}
        }
        if !sh.avatar_lookup.get() || sh.lookups.borrow().contains_key(&key) {
            break;
        }
        if now() >= give_up {
            return None;
        }
        worker::Delay::from(std::time::Duration::from_millis(AVATAR_POLL_MS)).await;
    }
    lookups::single_flight(sh, key, move |sh| {
        async move { Ok(ask_avatar(&sh, &user).await) }.boxed_local()
    })
    .await
    .ok()
    .flatten()
}

async fn ask_avatar(sh: &Shared, user: &UserId) -> Option<String> {
    let discord = Discord::from_env(&sh.env)?;
    let id = user.id()?;
    sh.avatar_lookup.set(true);
    let _mark = LookupMark(&sh.avatar_lookup);
    match discord.send(&GetUser { user_id: id }, 0).await {
        Ok(u) => {
            let url = u.avatar.map(|h| {
                relay_discord::cdn::avatar_url(discord.cdn_base(), user.as_str(), &h.to_string())
            });
            let _ = sh.store().put_avatar(user.as_str(), url.as_deref(), now());
            url
        }
        Err(SendError::Permanent(_)) => {
            let _ = sh.store().put_avatar(user.as_str(), None, now());
            None
        }
        Err(_) => None,
    }
}

/// The key under which the mirrored thread of a message is remembered: its source thread, or
/// (a forum target of a message outside threads) the message itself, whose first part opens
/// a post the other parts follow.
fn thread_key(cx: &JobCx, claim: &Claim) -> Option<String> {
    let thread = cx.view.as_ref().and_then(|v| v.thread_id.as_ref());
    thread_key_of(thread, cx.mapping.target_is_forum, &claim.message_id)
}

fn thread_key_of(thread: Option<&ChannelId>, forum: bool, message: &MessageId) -> Option<String> {
    match thread {
        Some(t) => Some(t.as_str().to_string()),
        None if forum => Some(format!("m:{}", message.as_str())),
        None => None,
    }
}

/// The mirrored thread remembered under `key` in `target`, or the target itself without one.
fn thread_at(sh: &Shared, target: &ChannelId, key: Option<String>) -> Result<Option<ChannelId>> {
    match key {
        Some(k) => Ok(sh
            .store()
            .thread(target.as_str(), &k)?
            .and_then(|t| ChannelId::parse(&t).ok())),
        None => Ok(Some(target.clone())),
    }
}

/// Where a reply's original shows in this target: the channel (or mirrored thread) its first
/// part is in, and that part's id. A reply and its original share a source channel or thread,
/// so they share the mirrored thread too, except in a forum target, where each message outside
/// threads opened its own post.
fn mirrored_at(
    sh: &Shared,
    mapping: &Mapping,
    reply: &SignalView,
    original: &MessageId,
) -> Result<Option<(ChannelId, MessageId)>> {
    let target = mapping.target.as_str();
    let Some(first) = with_queue(sh, target, |q| q.map.mirrored(original, 0).cloned())? else {
        return Ok(None);
    };
    let key = thread_key_of(reply.thread_id.as_ref(), mapping.target_is_forum, original);
    Ok(thread_at(sh, &mapping.target, key)?.map(|c| (c, first)))
}

/// Where the message's parts are: the mirrored thread, or the target channel itself.
fn location(
    sh: &Shared,
    cx: &JobCx,
    claim: &Claim,
) -> Result<Option<Id<twilight_model::id::marker::ChannelMarker>>> {
    Ok(thread_at(sh, &cx.target, thread_key(cx, claim))?.and_then(|c| c.id()))
}

fn mentions(am: Option<&render::AllowedMentions>) -> AllowedMentions {
    let mut out = AllowedMentions::default();
    if let Some(am) = am {
        out.roles = am.roles.iter().filter_map(|r| r.id()).collect();
    }
    out
}

/// The step's uploads, fetched through the media seam.
struct Uploads {
    files: Vec<File>,
    /// Files the store will never have (too large, given up): their names are posted
    /// instead, so the post is never empty and never silently short.
    missing: Vec<String>,
    /// Files before the first missing one: Discord's answer pairs with the step's `upload`
    /// only that far (the rest are uploaded again by a later edit, never misattributed).
    paired: usize,
}

impl Uploads {
    fn content(&self, content: &str) -> String {
        if self.missing.is_empty() {
            return content.to_string();
        }
        let names: Vec<String> = self
            .missing
            .iter()
            .map(|n| format!("📎 {n} (file unavailable)"))
            .collect();
        if content.trim().is_empty() {
            names.join("\n")
        } else {
            format!("{content}\n{}", names.join("\n"))
        }
    }

    fn pair(
        &self,
        mut uploaded: Vec<relay_core::ids::AttachmentId>,
    ) -> Vec<relay_core::ids::AttachmentId> {
        uploaded.truncate(self.paired);
        uploaded
    }
}

async fn files(
    sh: &Shared,
    cx: &JobCx,
    upload: &[relay_core::ids::AttachmentId],
) -> std::result::Result<Uploads, SendResult> {
    let mut out = Uploads {
        files: Vec::new(),
        missing: Vec::new(),
        paired: upload.len(),
    };
    for (i, a) in upload.iter().enumerate() {
        let Some(att) = cx
            .view
            .as_ref()
            .and_then(|v| v.attachments.iter().find(|x| &x.discord_attachment_id == a))
        else {
            return Err(SendResult::Permanent {
                error_code: "attachment_unavailable".into(),
                reason: format!("attachment {a} is not in the signal any more"),
                discord_code: None,
            });
        };
        match media::fetch(&sh.env, &cx.tenant, att).await {
            Ok(Some(f)) => out
                .files
                .push(File::new(f.filename, f.content_type, f.bytes)),
            Ok(None) => {
                out.paired = out.paired.min(i);
                out.missing.push(att.filename.clone());
            }
            Err(e) => return Err(media::retry(e, now())),
        }
    }
    Ok(out)
}

/// Makes one step's call and maps the answer for `report`.
async fn send(
    sh: &Shared,
    discord: &Discord,
    cx: &JobCx,
    claim: &Claim,
    step: &SendStep,
    attempt: u32,
) -> Result<SendResult> {
    let rendered = match &cx.want {
        Want::Parts(r) => Some(r),
        _ => None,
    };
    let part = |i: usize| rendered.and_then(|r| r.parts.get(i));
    let am = mentions(step.allowed_mentions.as_ref());
    let target = cx.target.as_str();
    let key = thread_key(cx, claim);
    let mut thread = match &key {
        Some(k) => sh
            .store()
            .thread(target, k)?
            .and_then(|t| ChannelId::parse(&t).ok()),
        None => None,
    };
    let Some(target_id) = cx.target.id() else {
        return Ok(SendResult::Permanent {
            error_code: "mirror_target_invalid".into(),
            reason: format!("{target} is not a channel id"),
            discord_code: None,
        });
    };
    // A source thread under a text channel: its mirror is created on first use.
    let mut thread_name = None;
    if let (Some(k), None, Step::Post { .. }) = (&key, &thread, &step.step) {
        let name = cx
            .thread_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| thread_title(cx));
        if cx.mapping.target_is_forum {
            thread_name = Some(name);
        } else if !k.starts_with("m:") {
            let created = discord
                .send(
                    &CreateThread {
                        channel_id: target_id,
                        name: name.chars().take(100).collect(),
                        kind: ChannelType::PublicThread,
                        auto_archive_duration: None,
                        reason: None,
                    },
                    attempt,
                )
                .await;
            match created {
                Ok(ch) => {
                    let id: ChannelId = ch.id.into();
                    sh.store().put_thread(target, k, id.as_str())?;
                    thread = Some(id);
                }
                Err(e) => return Ok(to_result(e)),
            }
        }
    }
    let thread_id = thread.as_ref().and_then(|t| t.id());
    let channel = thread_id.unwrap_or(target_id);
    let result = match (&step.step, &cx.webhook) {
        (Step::Post { part: i, upload }, Some((wid, token))) => {
            let Some(p) = part(*i) else {
                return Ok(nothing_to_send());
            };
            let up = match files(sh, cx, upload).await {
                Ok(f) => f,
                Err(r) => return Ok(r),
            };
            let mut ep = ExecuteWebhook::new(wid.id().expect("a webhook id"), token.clone());
            ep.content = Some(up.content(&p.content));
            ep.embeds = p.embeds.clone();
            ep.username = rendered.map(|r| r.username.clone());
            ep.avatar_url = rendered.and_then(|r| r.avatar_url.clone());
            ep.allowed_mentions = am;
            ep.files = up.files.clone();
            ep.thread_id = thread_id;
            ep.thread_name = thread_name.map(|n| n.chars().take(100).collect());
            match discord.send(&ep, attempt).await {
                Ok(m) => {
                    if let (Some(k), None) = (&key, &thread) {
                        let ch: ChannelId = m.channel_id.into();
                        sh.store().put_thread(target, k, ch.as_str())?;
                    }
                    SendResult::Posted {
                        message_id: m.id.into(),
                        uploaded: up.pair(m.attachments.iter().map(|a| a.id.into()).collect()),
                    }
                }
                Err(e) => to_result(e),
            }
        }
        (Step::Post { part: i, upload }, None) => {
            let Some(p) = part(*i) else {
                return Ok(nothing_to_send());
            };
            let up = match files(sh, cx, upload).await {
                Ok(f) => f,
                Err(r) => return Ok(r),
            };
            // A forum takes no message outside a post: the bot's first part opens the post
            // (the thread and its starter message, which shares the thread's id), and the
            // other parts, edits and deletes go to that thread.
            if let (Some(k), Some(name)) = (&key, thread_name) {
                let mut ep =
                    CreateForumThread::new(target_id, name.chars().take(100).collect::<String>());
                ep.content = Some(up.content(&p.content));
                ep.embeds = p.embeds.clone();
                ep.allowed_mentions = am;
                ep.files = up.files.clone();
                return Ok(match discord.send(&ep, attempt).await {
                    Ok(ch) => {
                        let id: ChannelId = ch.id.into();
                        sh.store().put_thread(target, k, id.as_str())?;
                        SendResult::Posted {
                            message_id: MessageId::parse(id.as_str()).map_err(|e| {
                                worker::Error::RustError(format!("forum post id: {e}"))
                            })?,
                            // The answer is the thread, not its message: the uploaded ids
                            // are unknown, so a later edit uploads the files again.
                            uploaded: Vec::new(),
                        }
                    }
                    Err(e) => to_result(e),
                });
            }
            let mut ep = CreateMessage::new(channel);
            ep.content = Some(up.content(&p.content));
            ep.embeds = p.embeds.clone();
            ep.allowed_mentions = am;
            ep.nonce = step.nonce.clone().map(MessageNonce::Str);
            ep.enforce_nonce = ep.nonce.is_some();
            ep.files = up.files.clone();
            match discord.send(&ep, attempt).await {
                Ok(m) => SendResult::Posted {
                    message_id: m.id.into(),
                    uploaded: up.pair(m.attachments.iter().map(|a| a.id.into()).collect()),
                },
                Err(e) => to_result(e),
            }
        }
        (
            Step::Edit {
                part: i,
                message_id,
                keep,
                upload,
            },
            hook,
        ) => {
            let Some(p) = part(*i) else {
                return Ok(nothing_to_send());
            };
            let up = match files(sh, cx, upload).await {
                Ok(f) => f,
                Err(r) => return Ok(r),
            };
            let Some(mid) = message_id.id() else {
                return Ok(nothing_to_send());
            };
            let keep_ids: Vec<_> = keep.iter().filter_map(|a| a.id()).collect();
            let answer = match hook {
                Some((wid, token)) => {
                    let mut ep = UpdateWebhookMessage::new(
                        wid.id().expect("a webhook id"),
                        token.clone(),
                        mid,
                    );
                    ep.thread_id = thread_id;
                    ep.content = Some(up.content(&p.content));
                    ep.embeds = Some(p.embeds.clone());
                    ep.allowed_mentions = am;
                    ep.keep_attachments = Some(keep_ids.clone());
                    ep.files = up.files.clone();
                    discord.send(&ep, attempt).await
                }
                None => {
                    let mut ep = UpdateMessage::new(channel, mid);
                    ep.content = Some(up.content(&p.content));
                    ep.embeds = Some(p.embeds.clone());
                    ep.allowed_mentions = am;
                    ep.keep_attachments = Some(keep_ids.clone());
                    ep.files = up.files.clone();
                    discord.send(&ep, attempt).await
                }
            };
            match answer {
                Ok(m) => SendResult::Edited {
                    uploaded: up.pair(
                        m.attachments
                            .iter()
                            .filter(|a| !keep_ids.contains(&a.id))
                            .map(|a| a.id.into())
                            .collect(),
                    ),
                },
                Err(e) => to_result(e),
            }
        }
        (Step::Delete { message_id, .. }, hook) => {
            let Some(mid) = message_id.id() else {
                return Ok(nothing_to_send());
            };
            let answer = match hook {
                Some((wid, token)) => {
                    discord
                        .send(
                            &DeleteWebhookMessage {
                                webhook_id: wid.id().expect("a webhook id"),
                                token: token.clone(),
                                message_id: mid,
                                thread_id,
                            },
                            attempt,
                        )
                        .await
                }
                None => {
                    discord
                        .send(
                            &DeleteMessage {
                                channel_id: channel,
                                message_id: mid,
                            },
                            attempt,
                        )
                        .await
                }
            };
            match answer {
                Ok(_) => SendResult::Deleted,
                Err(e) => to_result(e),
            }
        }
    };
    Ok(result)
}

fn nothing_to_send() -> SendResult {
    SendResult::Permanent {
        error_code: "mirror_unexpected_step".into(),
        reason: "the step names a part the rendering does not have".into(),
        discord_code: None,
    }
}

/// A forum post's title for a message outside threads: the start of its text.
fn thread_title(cx: &JobCx) -> String {
    let text = cx
        .view
        .as_ref()
        .map(|v| v.content_clean.trim().to_string())
        .unwrap_or_default();
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "Signal".into()
    } else {
        line.chars().take(100).collect()
    }
}
