//! One customer guild's seat state as the tenant's seat object stores it, and the audit as a
//! step machine: [`GuildSeats::next_call`] names the one Discord call to make, the `on_*`
//! methods take its answer. The object performs calls and stores this value between alarms;
//! every decision (what to call, when the next audit is due, which notices to post, what the
//! gate reads) is made here, natively testable.
//!
//! An audit: `GET /guilds/{id}?with_counts=true` → (short cut, or) `GET /channels/{target}`
//! for each mapped target and each thread's parent → member pages → the count → the notices
//! due. A call that must wait (`NotBefore`) or be retried keeps the stage and sets
//! `not_before`; a refusal ends the audit with the error on the snapshot.

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use twilight_model::channel::Channel;
use twilight_model::guild::{Guild, Member};
use twilight_model::id::marker::{ChannelMarker, GuildMarker};
use twilight_model::id::Id;

use relay_discord::requests::GetGuildMembers;

use super::audit::{plan_audit, AuditPlan, Progress, SeatAudit};
use super::cadence::{next_audit, CadenceInput, CadencePolicy};
use super::gate::Mode;
use super::notice::{notice_text, NoticeState};
use super::snapshot::{verdict, Snapshot, Verdict};
use super::view::{GateView, SeatPolicy};
use crate::access::{ChannelAccess, GuildFacts};
use crate::error::{ErrorCode, GuildError};
use relay_core::validate::FieldError;

/// A guild's seat configuration (per tenant and guild).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatConfig {
    pub limit: u64,
    pub mode: Mode,
}

/// The largest limit accepted (far above any guild's member count).
pub const MAX_SEAT_LIMIT: u64 = 1_000_000_000;

impl SeatConfig {
    /// The admin API's `{"limit": integer ≥ 0, "mode": "off" | "shadow" | "enforce"}`; every
    /// bad field is named, nothing is defaulted.
    pub fn from_json(body: &serde_json::Value) -> Result<SeatConfig, Vec<FieldError>> {
        let mut problems = Vec::new();
        let Some(obj) = body.as_object() else {
            return Err(vec![FieldError::new("body", "must be a JSON object")]);
        };
        let limit = match obj.get("limit") {
            Some(v) => match v.as_u64() {
                Some(n) if n <= MAX_SEAT_LIMIT => Some(n),
                _ => {
                    problems.push(FieldError::new(
                        "limit",
                        format!("must be an integer from 0 to {MAX_SEAT_LIMIT}"),
                    ));
                    None
                }
            },
            None => {
                problems.push(FieldError::new("limit", "is required"));
                None
            }
        };
        let mode = match obj.get("mode").map(|v| v.as_str()) {
            Some(Some("off")) => Some(Mode::Off),
            Some(Some("shadow")) => Some(Mode::Shadow),
            Some(Some("enforce")) => Some(Mode::Enforce),
            Some(_) => {
                problems.push(FieldError::new(
                    "mode",
                    "must be one of \"off\", \"shadow\", \"enforce\"",
                ));
                None
            }
            None => {
                problems.push(FieldError::new("mode", "is required"));
                None
            }
        };
        for key in obj.keys() {
            if key != "limit" && key != "mode" {
                problems.push(FieldError::new(key.clone(), "is not a seat setting"));
            }
        }
        match (limit, mode, problems.is_empty()) {
            (Some(limit), Some(mode), true) => Ok(SeatConfig { limit, mode }),
            _ => Err(problems),
        }
    }
}

/// Where an audit is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// `GET /guilds/{id}?with_counts=true` next.
    Guild {
        targets: Vec<Id<ChannelMarker>>,
        started_at_ms: i64,
    },
    /// `GET /channels/{pending[0]}` next.
    Channels {
        facts: GuildFacts,
        targets: Vec<Id<ChannelMarker>>,
        pending: VecDeque<Id<ChannelMarker>>,
        fetched: Vec<Channel>,
        started_at_ms: i64,
    },
    /// A member page next.
    Members {
        audit: SeatAudit,
        targets: Vec<Id<ChannelMarker>>,
    },
    /// The count is recorded; post the notice in `pending[0]` next.
    Notices {
        pending: VecDeque<Id<ChannelMarker>>,
        seats_used: u64,
        limit: u64,
    },
}

/// The one call to make next.
#[derive(Debug, Clone)]
pub enum Call {
    Guild {
        guild_id: Id<GuildMarker>,
    },
    Channel {
        channel_id: Id<ChannelMarker>,
    },
    Members(GetGuildMembers),
    Notice {
        channel_id: Id<ChannelMarker>,
        text: String,
        /// A nonce Discord deduplicates on, so a post in doubt is not made twice.
        nonce: String,
    },
}

/// A failed call, as the object classified it (see [`crate::classify_call`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Not before `at_ms` (a bucket, a 429, a ban): not a fault; the stage is kept.
    Wait { at_ms: i64 },
    /// A transient fault (5xx, timeout, the gate unreachable): the stage is kept and retried
    /// at `at_ms`, up to a bound.
    Retry { at_ms: i64 },
    /// The audit cannot go on: recorded on the snapshot.
    Fail(GuildError),
}

/// What a finished audit did, for logs and the mirror link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    pub verdict: Verdict,
    /// The guild went from over (or no verdict) to under: held jobs may go.
    pub back_under: bool,
}

/// What every answer is applied with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepCx {
    pub now_ms: i64,
    /// The global kill switch (enforce → shadow): no notices while it is on.
    pub kill_switch: bool,
    /// Use the approximate-member-count short cut.
    pub shortcut: bool,
}

/// Transient failures of one step before the audit gives up and records `audit_failed`.
const MAX_RETRIES: u32 = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuildSeats {
    pub guild_id: Id<GuildMarker>,
    pub config: SeatConfig,
    pub snapshot: Snapshot,
    pub notice: NoticeState,
    #[serde(default)]
    pub stage: Option<Stage>,
    /// A config change, "refresh now" or the gate's "audit now" not yet served.
    #[serde(default)]
    pub triggered: bool,
    /// The stage may not go on before this (a wait or a retry).
    #[serde(default)]
    pub not_before_ms: Option<i64>,
    #[serde(default)]
    pub retries: u32,
    /// Notices posted, ever (each once per over-limit episode and channel).
    #[serde(default)]
    pub notices_posted: u64,
    /// Audits completed, ever.
    #[serde(default)]
    pub audits: u64,
    /// The verdict of the last count, to see a guild come back under.
    #[serde(default)]
    pub last_verdict: Option<Verdict>,
    /// The bot is no longer in the guild, or the guild no longer serves this tenant: no audit
    /// is planned until the config changes or an operator asks for one.
    #[serde(default)]
    pub detached: bool,
}

impl GuildSeats {
    pub fn new(guild_id: Id<GuildMarker>, config: SeatConfig) -> Self {
        GuildSeats {
            guild_id,
            config,
            snapshot: Snapshot::default(),
            notice: NoticeState::default(),
            stage: None,
            triggered: config.mode != Mode::Off,
            not_before_ms: None,
            retries: 0,
            notices_posted: 0,
            audits: 0,
            last_verdict: None,
            detached: false,
        }
    }

    /// A new config: an audit at once (unless `off`, which also drops an audit in progress).
    pub fn configure(&mut self, config: SeatConfig) {
        self.config = config;
        self.detached = false;
        if config.mode == Mode::Off {
            self.stage = None;
            self.triggered = false;
            self.not_before_ms = None;
        } else {
            self.triggered = true;
        }
    }

    /// "Refresh now" or the gate's "audit now". `false` (nothing scheduled) in mode `off`.
    pub fn trigger(&mut self) -> bool {
        if self.config.mode == Mode::Off {
            return false;
        }
        self.detached = false;
        self.triggered = true;
        true
    }

    /// The guild is gone for this tenant (the catalog says the bot left it, or it serves
    /// another tenant now): the audit stops with `guild_unavailable` and none is planned, so
    /// it does not re-queue for ever.
    pub fn detach(&mut self, why: &str, now_ms: i64) {
        self.stage = None;
        self.triggered = false;
        self.not_before_ms = None;
        self.retries = 0;
        self.detached = true;
        self.snapshot
            .record_error(GuildError::new(ErrorCode::GuildUnavailable, why), now_ms);
    }

    /// When this guild next needs the object's alarm; `None`: never, until triggered.
    pub fn due_at(&self, now_ms: i64, cadence: &CadencePolicy) -> Option<i64> {
        let at = next_audit(
            CadenceInput {
                mode: self.config.mode,
                removed: self.detached,
                limit: self.config.limit,
                snapshot: Some(&self.snapshot),
                triggered: self.triggered,
                in_progress: self.stage.is_some(),
                now_ms,
            },
            cadence,
        )?;
        Some(match (self.stage.is_some(), self.not_before_ms) {
            (true, Some(nb)) => nb.max(at),
            _ => at,
        })
    }

    pub fn is_due(&self, now_ms: i64, cadence: &CadencePolicy) -> bool {
        self.due_at(now_ms, cadence).is_some_and(|at| at <= now_ms)
    }

    /// Starts an audit with the guild's mapped target channels (from the tenant's mappings).
    pub fn begin(&mut self, targets: Vec<Id<ChannelMarker>>, now_ms: i64) {
        let mut seen = BTreeSet::new();
        let targets = targets.into_iter().filter(|t| seen.insert(*t)).collect();
        self.stage = Some(Stage::Guild {
            targets,
            started_at_ms: now_ms,
        });
        self.triggered = false;
        self.not_before_ms = None;
        self.retries = 0;
    }

    /// The call to make, `None` when no audit is in progress.
    pub fn next_call(&self) -> Option<Call> {
        match self.stage.as_ref()? {
            Stage::Guild { .. } => Some(Call::Guild {
                guild_id: self.guild_id,
            }),
            Stage::Channels { pending, .. } => {
                pending.front().map(|c| Call::Channel { channel_id: *c })
            }
            Stage::Members { audit, .. } => audit.next_request().map(Call::Members),
            Stage::Notices {
                pending,
                seats_used,
                limit,
            } => pending.front().map(|c| Call::Notice {
                channel_id: *c,
                text: notice_text(*seats_used, *limit, 24),
                nonce: notice_nonce(self.guild_id, *c, self.audits),
            }),
        }
    }

    fn advanced(&mut self) {
        self.not_before_ms = None;
        self.retries = 0;
    }

    /// The guild (with counts).
    pub fn on_guild(&mut self, guild: &Guild, cx: StepCx) -> Option<Finished> {
        let Some(Stage::Guild {
            targets,
            started_at_ms,
        }) = self.stage.take()
        else {
            return None;
        };
        self.advanced();
        let facts = GuildFacts::from_guild(guild);
        match plan_audit(
            guild.approximate_member_count,
            self.config.limit,
            cx.shortcut,
        ) {
            AuditPlan::WithinLimit(count) => {
                self.snapshot
                    .record_count(count, self.config.limit, started_at_ms, cx.now_ms);
                Some(self.counted(&targets, cx))
            }
            AuditPlan::Full => {
                self.stage = Some(Stage::Channels {
                    facts,
                    pending: targets.iter().copied().collect(),
                    targets,
                    fetched: Vec::new(),
                    started_at_ms,
                });
                self.after_channel(cx)
            }
        }
    }

    /// One target (or a thread's parent).
    pub fn on_channel(&mut self, channel: Channel, cx: StepCx) -> Option<Finished> {
        let Some(Stage::Channels {
            pending, fetched, ..
        }) = self.stage.as_mut()
        else {
            return None;
        };
        pending.pop_front();
        if channel.kind.is_thread() {
            if let Some(parent) = channel.parent_id {
                let known = fetched.iter().any(|c| c.id == parent) || pending.contains(&parent);
                if !known {
                    pending.push_front(parent);
                }
            }
        }
        if !fetched.iter().any(|c| c.id == channel.id) {
            fetched.push(channel);
        }
        self.advanced();
        self.after_channel(cx)
    }

    /// All channels in: resolve the targets and start paging (or finish when there are none).
    fn after_channel(&mut self, cx: StepCx) -> Option<Finished> {
        let Some(Stage::Channels {
            facts,
            targets,
            pending,
            fetched,
            started_at_ms,
        }) = self.stage.as_ref()
        else {
            return None;
        };
        if !pending.is_empty() {
            return None;
        }
        let resolved: Result<Vec<ChannelAccess>, GuildError> = targets
            .iter()
            .map(|t| ChannelAccess::resolve(*t, fetched))
            .collect();
        let access = match resolved {
            Ok(a) => a,
            Err(e) => return self.fail(e, cx.now_ms),
        };
        let audit = SeatAudit::start(facts.clone(), access, *started_at_ms);
        let targets = targets.clone();
        self.stage = Some(Stage::Members { audit, targets });
        self.after_page(cx)
    }

    /// One member page.
    pub fn on_members(&mut self, page: &[Member], cx: StepCx) -> Option<Finished> {
        let Some(Stage::Members { audit, .. }) = self.stage.as_mut() else {
            return None;
        };
        if let Err(e) = audit.feed(page) {
            return self.fail(e, cx.now_ms);
        }
        self.advanced();
        self.after_page(cx)
    }

    fn after_page(&mut self, cx: StepCx) -> Option<Finished> {
        let Some(Stage::Members { audit, targets }) = self.stage.as_ref() else {
            return None;
        };
        let Progress::Done(count) = audit.progress() else {
            return None;
        };
        let started = audit.started_at_ms;
        let targets = targets.clone();
        self.stage = None;
        self.snapshot
            .record_count(count, self.config.limit, started, cx.now_ms);
        Some(self.counted(&targets, cx))
    }

    /// A count was recorded: the notices due, the episode's end.
    fn counted(&mut self, targets: &[Id<ChannelMarker>], cx: StepCx) -> Finished {
        self.audits += 1;
        let v = self
            .snapshot
            .count
            .map(|c| verdict(c, self.config.limit))
            .unwrap_or(Verdict::Unknown);
        let back_under = v == Verdict::Under && self.last_verdict != Some(Verdict::Under);
        self.last_verdict = Some(v);
        self.stage = None;
        // Only an enforcing guild is paused, so only it gets the notice (shadow and the kill
        // switch post nothing).
        let enforcing = self.config.mode.effective(cx.kill_switch) == Mode::Enforce;
        let due = self.notice.due(enforcing, Some(v), targets);
        if !due.is_empty() {
            self.stage = Some(Stage::Notices {
                pending: due.into_iter().collect(),
                seats_used: self.snapshot.count.map(|c| c.value).unwrap_or(0),
                limit: self.config.limit,
            });
        }
        Finished {
            verdict: v,
            back_under,
        }
    }

    /// Discord accepted the notice in the head channel.
    pub fn on_notice_posted(&mut self) {
        if let Some(Stage::Notices { pending, .. }) = self.stage.as_mut() {
            if let Some(c) = pending.pop_front() {
                self.notice.record_posted(c);
                self.notices_posted += 1;
            }
            if pending.is_empty() {
                self.stage = None;
            }
        }
        self.advanced();
    }

    /// A call failed. A refused notice is skipped (it stays due: the next audit over the
    /// limit posts it); a refused audit call ends the audit with the error.
    pub fn on_failure(&mut self, failure: Failure, now_ms: i64) -> Option<Finished> {
        match failure {
            Failure::Wait { at_ms } => {
                self.not_before_ms = Some(at_ms);
                None
            }
            Failure::Retry { at_ms } => {
                self.retries += 1;
                if self.retries > MAX_RETRIES && !matches!(self.stage, Some(Stage::Notices { .. }))
                {
                    return self.fail(
                        GuildError::new(
                            ErrorCode::AuditFailed,
                            format!("Discord kept failing; gave up after {MAX_RETRIES} retries"),
                        ),
                        now_ms,
                    );
                }
                self.not_before_ms = Some(at_ms);
                None
            }
            Failure::Fail(e) => {
                if let Some(Stage::Notices { pending, .. }) = self.stage.as_mut() {
                    pending.pop_front();
                    if pending.is_empty() {
                        self.stage = None;
                    }
                    self.advanced();
                    return None;
                }
                self.fail(e, now_ms)
            }
        }
    }

    fn fail(&mut self, e: GuildError, now_ms: i64) -> Option<Finished> {
        self.stage = None;
        self.advanced();
        self.snapshot.record_error(e, now_ms);
        None
    }

    /// What the gate reads.
    pub fn gate_view(&self, kill_switch: bool, policy: SeatPolicy) -> GateView {
        GateView {
            guild_id: self.guild_id,
            configured: true,
            mode: self.config.mode,
            kill_switch,
            limit: self.config.limit,
            snapshot: Some(self.snapshot.clone()),
            policy,
        }
    }
}

/// The notice's nonce: per guild, channel and episode (the audit number that found it over),
/// at most 25 characters as Discord requires.
fn notice_nonce(guild: Id<GuildMarker>, channel: Id<ChannelMarker>, audits: u64) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in guild
        .get()
        .to_le_bytes()
        .iter()
        .chain(channel.get().to_le_bytes().iter())
        .chain(audits.to_le_bytes().iter())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("seat{h:x}")
}
