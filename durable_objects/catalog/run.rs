//! The refresh job as the object stores it, and the stepping: one call per step through the
//! Discord facade, the cursor saved after each.

use std::cell::{Cell, RefCell};

use relay_catalog::refresh::{Call, Cursor, ListedGuild, GUILD_PAGE};
use relay_catalog::twilight_model::channel::Channel;
use relay_catalog::twilight_model::guild::{Guild, Member};
use relay_catalog::twilight_model::user::CurrentUserGuild;
use relay_core::ids::UserId;
use relay_discord::requests::{
    GetCurrentUser, GetCurrentUserGuilds, GetGuild, GetGuildChannels, GetMember,
    ListChannelWebhooks,
};
use serde::{Deserialize, Serialize};
use worker::{Env, State};

use super::api::{RunError, RunSummary, Status, Written};
use crate::db::catalog::CommitSummary;
use crate::db::Db;
use crate::discord::{Discord, SendError};
use crate::runtime::{log, now_ms};

/// Calls per alarm invocation: each is three subrequests (gate, Discord, gate), well inside
/// the platform's per-invocation limit; the next alarm goes on at once.
const MAX_STEPS_PER_ALARM: u32 = 40;
/// Transient failures of one step before the run gives up (the next cron run starts afresh).
const MAX_ATTEMPTS: u32 = 8;
/// When the object's own storage failed.
pub const STORAGE_RETRY_MS: i64 = 5_000;
const KEY: &str = "job";
const LONG_WAIT_MS: i64 = 10_000;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Job {
    cursor: Option<Cursor>,
    reason: Option<String>,
    /// A refresh asked for while this one runs (its reason).
    again: Option<String>,
    next_at_ms: Option<i64>,
    wait_reason: Option<String>,
    /// The bot token was refused: nothing runs until someone asks again.
    paused: bool,
    attempt: u32,
    last_error: Option<RunError>,
    last_run: Option<RunSummary>,
    runs_completed: u64,
    written: Written,
    #[serde(default)]
    waits: u32,
    #[serde(default)]
    waited_ms: i64,
    #[serde(default)]
    retries: u32,
}

impl Job {
    async fn load(state: &State) -> worker::Result<Job> {
        // Stored as JSON text: permission bitfields are u64 and must not pass through a JS
        // number on the way into storage.
        let text: Option<String> = state.storage().get(KEY).await?;
        Ok(text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default())
    }

    /// A refresh is asked for. True when the alarm must fire now (a new run, a paused or
    /// waiting one resumed); a fresh run is queued behind one already going.
    pub fn request(&mut self, reason: &str, now: i64) -> bool {
        if self.cursor.is_none() {
            self.begin(reason, now);
            return true;
        }
        if self.paused {
            self.paused = false;
            self.next_at_ms = None;
            self.wait_reason = None;
            self.attempt = 0;
            return true;
        }
        self.again = Some(reason.to_string());
        // A waiting run is woken: if its wait still holds, the gate says so again without a
        // request reaching Discord; if an operator lifted it (a ban reset), it goes on now.
        self.next_at_ms.is_some()
    }

    fn begin(&mut self, reason: &str, now: i64) {
        self.cursor = Some(Cursor::new(now));
        self.reason = Some(reason.to_string());
        self.next_at_ms = None;
        self.wait_reason = None;
        self.paused = false;
        self.attempt = 0;
        self.written = Written::default();
        self.waits = 0;
        self.waited_ms = 0;
        self.retries = 0;
    }

    pub fn status(&self) -> Status {
        let state = match (&self.cursor, self.paused, self.next_at_ms) {
            (None, _, _) => "idle",
            (Some(_), true, _) => "paused",
            (Some(_), false, Some(_)) => "waiting",
            (Some(_), false, None) => "running",
        };
        Status {
            state: state.into(),
            reason: self.reason.clone(),
            next_at_ms: self.next_at_ms,
            wait_reason: self.wait_reason.clone(),
            again: self.again.is_some(),
            progress: self.cursor.as_ref().map(|c| c.progress()),
            attempt: self.attempt,
            last_error: self.last_error.clone(),
            last_run: self.last_run.clone(),
            runs_completed: self.runs_completed,
        }
    }

    /// Ends the run; starts the queued one, if any. True when a new run began.
    fn end(&mut self, outcome: &str, now: i64) -> bool {
        if let Some(c) = self.cursor.take() {
            let summary = RunSummary {
                reason: self.reason.clone().unwrap_or_default(),
                started_at_ms: c.started_at_ms,
                finished_at_ms: now,
                outcome: outcome.into(),
                guilds: c.progress().guilds_listed,
                guilds_failed: c.failed.clone(),
                calls: c.calls,
                waits: self.waits,
                waited_ms: self.waited_ms,
                retries: self.retries,
                written: self.written.clone(),
            };
            log(
                if outcome == "completed" {
                    "info"
                } else {
                    "error"
                },
                "catalog refresh finished",
                serde_json::to_value(&summary).unwrap_or_default(),
            );
            self.last_run = Some(summary);
        }
        if outcome == "completed" {
            self.runs_completed += 1;
            self.last_error = None;
        }
        self.next_at_ms = None;
        self.wait_reason = None;
        self.attempt = 0;
        match self.again.take() {
            Some(reason) => {
                self.begin(&reason, now);
                true
            }
            None => {
                self.reason = None;
                false
            }
        }
    }
}

/// What one step came to.
enum Step {
    Advanced,
    /// Not before `at` (rate limit, ban): not a failure, no attempt counted.
    Wait {
        at: i64,
        reason: String,
    },
    /// A fault of ours or Discord's 5xx: retry the same step at `at`.
    Retry {
        at: i64,
        error: RunError,
    },
    /// The bot token was refused.
    Stopped(RunError),
    /// The run cannot go on (the bot's own user or guild list refused).
    Fatal(RunError),
    Finished,
}

fn call_name(call: &Call) -> &'static str {
    match call {
        Call::CurrentUser => "GET /users/@me",
        Call::ListGuilds { .. } => "GET /users/@me/guilds",
        Call::GetGuild { .. } => "GET /guilds/{guild_id}",
        Call::GetBotMember { .. } => "GET /guilds/{guild_id}/members/{user_id}",
        Call::GetChannels { .. } => "GET /guilds/{guild_id}/channels",
        Call::ListWebhooks { .. } => "GET /channels/{channel_id}/webhooks",
        Call::Commit { .. } => "D1 catalog commit",
        Call::Finish { .. } => "D1 catalog finish",
        Call::Done => "done",
    }
}

fn run_error(call: &Call, code: &str, message: String, now: i64) -> RunError {
    RunError {
        error_code: code.to_string(),
        message,
        at_ms: now,
        call: call_name(call).to_string(),
    }
}

/// The object's job, loaded once and shared by its fetches and its alarm: a start that lands
/// while the alarm is between two steps changes the same value the alarm saves next.
#[derive(Default)]
pub struct Slot {
    job: RefCell<Option<Job>>,
    busy: Cell<bool>,
}

impl Slot {
    pub async fn with<T>(&self, state: &State, f: impl FnOnce(&mut Job) -> T) -> worker::Result<T> {
        if self.job.borrow().is_none() {
            let loaded = Job::load(state).await?;
            let mut slot = self.job.borrow_mut();
            if slot.is_none() {
                *slot = Some(loaded);
            }
        }
        let mut slot = self.job.borrow_mut();
        let job = slot.get_or_insert_with(Job::default);
        Ok(f(job))
    }

    pub async fn save(&self, state: &State) -> worker::Result<()> {
        let text = match self.job.borrow().as_ref() {
            Some(job) => serde_json::to_string(job)?,
            None => return Ok(()),
        };
        state.storage().put(KEY, text).await
    }

    /// Runs steps until the job must wait (returns when the alarm should fire next) or has
    /// nothing left (`None`). A second call while one runs returns at once (`None`): the
    /// running one reschedules itself.
    pub async fn step_until_blocked(
        &self,
        state: &State,
        env: &Env,
    ) -> worker::Result<Option<i64>> {
        if self.busy.replace(true) {
            return Ok(None);
        }
        let out = self.steps(state, env).await;
        self.busy.set(false);
        out
    }

    async fn steps(&self, state: &State, env: &Env) -> worker::Result<Option<i64>> {
        let idle = self.with(state, |j| j.cursor.is_none() || j.paused).await?;
        if idle {
            return Ok(None);
        }
        let Some(discord) = Discord::from_env(env) else {
            let now = now_ms();
            self.with(state, |job| {
                job.last_error = Some(RunError {
                    error_code: "discord_not_configured".into(),
                    message: "DISCORD_BOT_TOKEN is not set: the catalog cannot be read".into(),
                    at_ms: now,
                    call: "configuration".into(),
                });
                job.again = None;
                job.end("failed", now);
            })
            .await?;
            self.save(state).await?;
            return Ok(None);
        };
        let db = Db::new(env)?;
        for _ in 0..MAX_STEPS_PER_ALARM {
            let now = now_ms();
            let next = self
                .with(state, |job| {
                    let attempt = job.attempt;
                    job.cursor.as_ref().map(|c| {
                        let current = c
                            .current_guild()
                            .and_then(|g| c.listed().iter().find(|l| &l.guild_id == g))
                            .cloned();
                        (c.next(), current, attempt)
                    })
                })
                .await?;
            let Some((call, current, attempt)) = next else {
                return Ok(None);
            };
            let answer = perform(&discord, &db, &call, current.as_ref(), attempt, now).await;
            if let Answer::Step(Step::Wait { at, reason }) = &answer {
                // Waits beyond a bucket's usual seconds are worth an operator's eye.
                if at - now > LONG_WAIT_MS {
                    log(
                        "warn",
                        "catalog refresh: long wait",
                        serde_json::json!({"call": call_name(&call), "reason": reason, "wait_ms": at - now}),
                    );
                }
            }
            let wake = self.with(state, |job| apply(job, answer, now)).await?;
            self.save(state).await?;
            match wake {
                Wake::Continue => {}
                Wake::At(at) => return Ok(Some(at)),
                Wake::Never => return Ok(None),
            }
        }
        // More to do: go on in a fresh invocation.
        Ok(Some(now_ms()))
    }
}

/// What the loop does after a step.
enum Wake {
    Continue,
    At(i64),
    Never,
}

/// What one call came back with.
enum Answer {
    Me(UserId),
    Guilds(Vec<CurrentUserGuild>),
    Guild(Box<Guild>),
    Member(Box<Member>),
    Channels(Vec<Channel>),
    Webhooks(Option<u32>),
    Committed(CommitSummary),
    Finished(usize),
    /// A guild-scoped call refused for good: the guild is skipped (already recorded in D1).
    GuildFailed(String),
    Step(Step),
}

/// Applies an answer to the job; says what the loop does next.
fn apply(job: &mut Job, answer: Answer, now: i64) -> Wake {
    let Some(cursor) = job.cursor.as_mut() else {
        return Wake::Never;
    };
    let step = match answer {
        Answer::Me(id) => {
            cursor.on_current_user(id);
            Step::Advanced
        }
        Answer::Guilds(page) => {
            cursor.on_guild_page(&page);
            Step::Advanced
        }
        Answer::Guild(g) => {
            cursor.on_guild(&g);
            Step::Advanced
        }
        Answer::Member(m) => {
            cursor.on_bot_member(&m);
            Step::Advanced
        }
        Answer::Channels(cs) => {
            cursor.on_channels(&cs);
            Step::Advanced
        }
        Answer::Webhooks(n) => {
            cursor.on_webhooks(n);
            Step::Advanced
        }
        Answer::Committed(sum) => {
            job.written.channels_written += sum.channels_written;
            job.written.channels_deactivated += sum.channels_deactivated;
            job.written.roles_written += sum.roles_written;
            job.written.roles_deactivated += sum.roles_deactivated;
            cursor.on_committed();
            Step::Advanced
        }
        Answer::Finished(gone) => {
            job.written.guilds_deactivated += gone;
            cursor.on_finished();
            Step::Finished
        }
        Answer::GuildFailed(code) => {
            cursor.on_guild_failed(&code);
            Step::Advanced
        }
        Answer::Step(step) => step,
    };
    match step {
        Step::Advanced => {
            job.attempt = 0;
            job.next_at_ms = None;
            job.wait_reason = None;
            Wake::Continue
        }
        Step::Wait { at, reason } => {
            job.waits += 1;
            job.waited_ms += (at - now).max(0);
            job.next_at_ms = Some(at);
            job.wait_reason = Some(reason);
            Wake::At(at)
        }
        Step::Retry { at, error } => {
            job.attempt += 1;
            job.retries += 1;
            job.last_error = Some(error);
            if job.attempt > MAX_ATTEMPTS {
                return if job.end("failed", now) {
                    Wake::Continue
                } else {
                    Wake::Never
                };
            }
            job.next_at_ms = Some(at);
            job.wait_reason = Some("retry".into());
            Wake::At(at)
        }
        Step::Stopped(error) => {
            job.paused = true;
            job.last_error = Some(error);
            job.next_at_ms = None;
            job.wait_reason = Some("bot_token_stopped".into());
            Wake::Never
        }
        Step::Fatal(error) => {
            job.last_error = Some(error);
            if job.end("failed", now) {
                Wake::Continue
            } else {
                Wake::Never
            }
        }
        Step::Finished => {
            if job.end("completed", now) {
                Wake::Continue
            } else {
                Wake::Never
            }
        }
    }
}

fn refused(call: &Call, e: &SendError, now: i64) -> RunError {
    run_error(call, e.error_code(), e.to_string(), now)
}

fn from_send(call: &Call, e: SendError, now: i64) -> Step {
    match e {
        SendError::NotBefore { at_ms, reason } => Step::Wait {
            at: at_ms,
            reason: serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "rate_limited".into()),
        },
        SendError::Transient { retry_at_ms, .. } => Step::Retry {
            at: retry_at_ms,
            error: refused(call, &e, now),
        },
        SendError::Stopped => Step::Stopped(refused(call, &e, now)),
        // Of the bot's own user or guild list: the run cannot go on.
        SendError::Permanent(_) => Step::Fatal(refused(call, &e, now)),
    }
}

fn d1_retry(call: &Call, e: worker::Error, attempt: u32, now: i64) -> Answer {
    let delay = (1_000i64 << attempt.min(6)).min(60_000);
    Answer::Step(Step::Retry {
        at: now + delay,
        error: run_error(call, "storage_unavailable", e.to_string(), now),
    })
}

/// A Discord refusal of a call about one guild skips that guild (kept with its error).
async fn guild_refused(
    db: &Db,
    current: Option<&ListedGuild>,
    call: &Call,
    e: SendError,
    now: i64,
) -> Answer {
    let SendError::Permanent(_) = &e else {
        return Answer::Step(from_send(call, e, now));
    };
    let code = e.error_code().to_string();
    if let Some(g) = current {
        if let Err(err) = db.catalog().record_failure(g, &code, now).await {
            return d1_retry(call, err, 0, now);
        }
    }
    log(
        "warn",
        "catalog: guild skipped",
        serde_json::json!({"guild_id": current.map(|g| g.guild_id.to_string()), "error_code": code, "call": call_name(call)}),
    );
    Answer::GuildFailed(code)
}

async fn perform(
    discord: &Discord,
    db: &Db,
    call: &Call,
    current: Option<&ListedGuild>,
    attempt: u32,
    now: i64,
) -> Answer {
    let bad_id = || {
        Answer::Step(Step::Fatal(run_error(
            call,
            "invalid_id",
            "an id of 0".into(),
            now,
        )))
    };
    match call {
        Call::CurrentUser => match discord.send(&GetCurrentUser::bot(), attempt).await {
            Ok(me) => Answer::Me(me.id.into()),
            Err(e) => Answer::Step(from_send(call, e, now)),
        },
        Call::ListGuilds { after } => {
            let req = GetCurrentUserGuilds {
                limit: Some(GUILD_PAGE),
                after: after.as_ref().and_then(|a| a.id()),
                with_counts: false,
            };
            match discord.send(&req, attempt).await {
                Ok(page) => Answer::Guilds(page),
                Err(e) => Answer::Step(from_send(call, e, now)),
            }
        }
        Call::GetGuild { guild_id } => {
            let Some(id) = guild_id.id() else {
                return bad_id();
            };
            let req = GetGuild {
                guild_id: id,
                with_counts: false,
            };
            match discord.send(&req, attempt).await {
                Ok(g) => Answer::Guild(Box::new(g)),
                Err(e) => guild_refused(db, current, call, e, now).await,
            }
        }
        Call::GetBotMember { guild_id, user_id } => {
            let (Some(g), Some(u)) = (guild_id.id(), user_id.id()) else {
                return bad_id();
            };
            let req = GetMember {
                guild_id: g,
                user_id: u,
            };
            match discord.send(&req, attempt).await {
                Ok(m) => Answer::Member(Box::new(m)),
                Err(e) => guild_refused(db, current, call, e, now).await,
            }
        }
        Call::GetChannels { guild_id } => {
            let Some(id) = guild_id.id() else {
                return bad_id();
            };
            match discord
                .send(&GetGuildChannels { guild_id: id }, attempt)
                .await
            {
                Ok(channels) => Answer::Channels(channels),
                Err(e) => guild_refused(db, current, call, e, now).await,
            }
        }
        Call::ListWebhooks { channel_id } => {
            let Some(id) = channel_id.id() else {
                return bad_id();
            };
            match discord
                .send(&ListChannelWebhooks { channel_id: id }, attempt)
                .await
            {
                Ok(hooks) => Answer::Webhooks(Some(u32::try_from(hooks.len()).unwrap_or(u32::MAX))),
                // The count is a hint: a refusal leaves it unknown and the guild goes on.
                Err(SendError::Permanent(_)) => Answer::Webhooks(None),
                Err(e) => Answer::Step(from_send(call, e, now)),
            }
        }
        Call::Commit { snapshot } => match db.catalog().commit(snapshot, now).await {
            Ok(sum) => Answer::Committed(sum),
            Err(e) => d1_retry(call, e, attempt, now),
        },
        Call::Finish { listed } => match db.catalog().finish(listed, now).await {
            Ok(gone) => Answer::Finished(gone),
            Err(e) => d1_retry(call, e, attempt, now),
        },
        Call::Done => Answer::Step(Step::Finished),
    }
}
