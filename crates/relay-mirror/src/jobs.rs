//! The per-target job model: one [`TargetQueue`] per target channel, a FIFO of jobs (one per
//! signal change that reached the target), their leases, retries and dead letters, and the
//! exactly-once bookkeeping around each Discord call.
//!
//! # Order
//!
//! Jobs of one target channel run one at a time in arrival order, so mirrored messages appear
//! in source order and an edit or delete never overtakes its create. A change for a message
//! that already has a job waiting (not leased) merges into it: edits coalesce into the newest
//! (a job always renders the latest converged view, so it carries no text of its own), a
//! delete turns a waiting edit into a delete, and a delete of a create never attempted cancels
//! it: nothing is posted. A job whose message is deleted while it runs stops posting parts and
//! removes what it posted.
//!
//! # Leases
//!
//! [`TargetQueue::claim`] leases the head job only when it can run now (due, not leased), so
//! nothing waiting is ever "processing"; a lease that expires (a crash, an eviction) is
//! reclaimed by the next claim. Reports under a lost lease are refused.
//!
//! # Exactly once
//!
//! [`TargetQueue::plan`] records the attempt (step, marker, digest) in the job before it
//! returns [`Action::Send`]: the caller persists the queue, then sends. When a post's outcome
//! is unknown (the process died between Discord's answer and our commit, or the call timed
//! out), the next plan of that job returns [`Action::Lookup`] instead of posting: the caller
//! lists the channel's messages after the attempt's start and reports them with
//! [`TargetQueue::report_lookup`], which adopts our message if one matches the [`Marker`]
//! (our webhook or bot, the same text) and is not already mapped, and otherwise lets the next
//! plan post again. Edits and deletes are idempotent and simply run again.

use std::collections::VecDeque;

use relay_core::convergence::Change;
use relay_core::ids::{AttachmentId, MessageId, Snowflake, UserId, DISCORD_EPOCH_MS};
use relay_core::{ApiError, ErrorKind};
use serde::{Deserialize, Serialize};
use twilight_model::id::marker::WebhookMarker;

use crate::map::{MirrorMap, PartRecord, UploadedFile};
use crate::render::{AllowedMentions, Part, Rendered, SendKind, Skip};

pub type JobId = u64;
pub type WebhookId = Snowflake<WebhookMarker>;

/// Must exceed the platform layer's per-call deadline several times over, so a lease never
/// expires while its call may still land.
pub const LEASE_MS: i64 = 30_000;
/// Transient failures of one job before it is dead-lettered.
pub const MAX_FAILURES: u32 = 8;
pub const BACKOFF_BASE_MS: i64 = 1_000;
pub const BACKOFF_MAX_MS: i64 = 5 * 60_000;
/// After the platform layer stopped all traffic (a 401, a ban): look again this much later.
pub const STOPPED_RECHECK_MS: i64 = 60_000;
/// Clock skew allowed between our attempt time and Discord's message timestamp.
pub const LOOKUP_SKEW_MS: i64 = 5_000;
/// Discord's JSON codes with a meaning here.
pub const UNKNOWN_MESSAGE: u32 = 10_008;
pub const UNKNOWN_WEBHOOK: u32 = 10_015;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Create,
    Edit,
    Delete,
}

impl ChangeKind {
    /// The tenant object's classification of a commit; `None` changes nothing visible.
    pub fn from_change(c: Change) -> Option<Self> {
        match c {
            Change::None => None,
            Change::Created => Some(ChangeKind::Create),
            Change::Updated => Some(ChangeKind::Edit),
            Change::Deleted => Some(ChangeKind::Delete),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub id: u64,
    pub until_ms: i64,
}

/// Who posts into the target, as far as recognising our own messages goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PosterId {
    Webhook(WebhookId),
    Bot(UserId),
}

/// What identifies a post of ours among the channel's recent messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub poster: PosterId,
    /// Sent with `enforce_nonce` on bot posts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub content: String,
    /// The first embed's description (the card of the embed style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_text: Option<String>,
    /// The name a webhook post was made under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// A message from `GET /channels/{id}/messages`, reduced to what a lookup compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: MessageId,
    pub webhook_id: Option<WebhookId>,
    pub author_id: Option<UserId>,
    pub author_username: Option<String>,
    pub content: String,
    pub card_text: Option<String>,
    /// Its attachments' ids, in order.
    pub attachment_ids: Vec<AttachmentId>,
}

impl Marker {
    pub fn matches(&self, c: &Candidate) -> bool {
        let same_poster = match &self.poster {
            PosterId::Webhook(w) => {
                c.webhook_id.as_ref() == Some(w)
                    && (self.username.is_none() || c.author_username == self.username)
            }
            PosterId::Bot(b) => c.webhook_id.is_none() && c.author_id.as_ref() == Some(b),
        };
        let trim = |s: &Option<String>| s.as_deref().map(str::trim).map(str::to_string);
        same_poster
            && c.content.trim() == self.content.trim()
            && trim(&c.card_text) == trim(&self.card_text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Step {
    Post {
        part: usize,
        /// Source attachments to upload, in order.
        upload: Vec<AttachmentId>,
    },
    Edit {
        part: usize,
        message_id: MessageId,
        /// Mirrored attachments to keep (an edit must list every one it keeps).
        keep: Vec<AttachmentId>,
        upload: Vec<AttachmentId>,
    },
    Delete {
        part: usize,
        message_id: MessageId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub step: Step,
    pub started_at_ms: i64,
    /// For posts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<Marker>,
    /// What the part shows once the step succeeds.
    pub digest: String,
    /// A lookup that has listed messages up to this id without finding ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_after: Option<MessageId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Stable snake_case code (the platform layer's `discord_*` codes, or ours).
    pub error_code: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord_code: Option<u32>,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub message_id: MessageId,
    pub kind: ChangeKind,
    pub enqueued_at_ms: i64,
    /// Changes merged into this job after it was queued.
    #[serde(default)]
    pub coalesced: u32,
    pub not_before_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Transient failures since the last success (rate limits do not count).
    #[serde(default)]
    pub failures: u32,
    /// Leases that expired under this job.
    #[serde(default)]
    pub reclaims: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<Attempt>,
    #[serde(default)]
    pub webhook_recreated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<Failure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadJob {
    pub job: Job,
    pub failure: Failure,
}

/// What the source says the target should show, from the latest converged view.
#[derive(Debug, Clone, Copy)]
pub enum Desired<'a> {
    /// Deleted (or never visible): nothing.
    Absent,
    /// Visible, but the rules leave nothing to post.
    Skipped(&'a Skip),
    Parts(&'a Rendered),
}

/// The runtime's answer to one step, mapped from the Discord facade's
/// `Result<Output, SendError{NotBefore, Stopped, Permanent, Transient}>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    Posted {
        message_id: MessageId,
        /// The created attachments, in the order of the step's `upload`.
        uploaded: Vec<AttachmentId>,
    },
    Edited {
        uploaded: Vec<AttachmentId>,
    },
    Deleted,
    /// Nothing was sent (our limiter, or Discord's 429): run again at `at_ms`.
    NotBefore {
        at_ms: i64,
    },
    /// The platform layer stopped all traffic; nothing was sent.
    Stopped {
        reason: String,
    },
    /// A 5xx, a timeout, a network failure: the call may or may not have taken effect.
    Transient {
        reason: String,
    },
    /// Discord refused; repeating it unchanged will not help.
    Permanent {
        error_code: String,
        reason: String,
        discord_code: Option<u32>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub job_id: JobId,
    pub lease_id: u64,
    pub message_id: MessageId,
    pub kind: ChangeKind,
    pub lease_until_ms: i64,
}

/// One call to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendStep {
    pub step: Step,
    pub kind: Option<SendKind>,
    /// For bot posts: sent with `enforce_nonce: true`.
    pub nonce: Option<String>,
    /// For posts and edits.
    pub allowed_mentions: Option<AllowedMentions>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// List the channel's messages created after this time (`after` = [`snowflake_at`]).
    pub after_ms: i64,
    /// Or, when continuing a lookup, after this message.
    pub after_id: Option<MessageId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// The target shows the source's current state.
    Synced,
    /// The rules leave nothing to post (and nothing posted remains).
    Skipped(Skip),
    /// The message is gone from the target (or never reached it).
    Removed,
    /// An edit of a message this target never received.
    NotMirrored,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Persist the queue (the attempt is recorded), then make the call and [`TargetQueue::report`].
    Send(SendStep),
    /// Persist, list recent messages, then [`TargetQueue::report_lookup`].
    Lookup(Lookup),
    /// The job is done and gone from the queue.
    Finished(Finished),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Plan again under the same claim.
    Continue,
    /// The job waits until then (the lease is released).
    RetryAt(i64),
    /// Re-create the channel's webhook, then claim again (the job is due now).
    RecreateWebhook,
    DeadLettered(Failure),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    New(JobId),
    /// Merged into a waiting (or dead-lettered) job of the same message.
    Coalesced(JobId),
    /// A delete cancelled a create never attempted: nothing will be posted.
    Cancelled(JobId),
    /// Nothing to do for this target (an edit or delete of a message it never received).
    Ignored,
}

/// The crate's error vocabulary: misuse of the job model by its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorError {
    /// The claim's lease expired or the job moved on; the report was not applied.
    LeaseLost,
    JobNotFound(JobId),
    /// A report that does not answer the step in flight.
    UnexpectedReport(&'static str),
}

impl MirrorError {
    pub fn error_code(&self) -> &'static str {
        match self {
            MirrorError::LeaseLost => "mirror_lease_lost",
            MirrorError::JobNotFound(_) => "mirror_job_not_found",
            MirrorError::UnexpectedReport(_) => "mirror_unexpected_report",
        }
    }

    pub fn to_api(&self) -> ApiError {
        match self {
            MirrorError::JobNotFound(id) => {
                ApiError::new(ErrorKind::NotFound, format!("no dead-lettered job {id}"))
                    .with_code("mirror_job_not_found")
            }
            other => ApiError::new(ErrorKind::Internal, format!("{other:?}"))
                .with_code(other.error_code()),
        }
    }
}

impl std::fmt::Display for MirrorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {self:?}", self.error_code())
    }
}

impl std::error::Error for MirrorError {}

/// The smallest message id created at or after `ms` minus one: `?after=` of a lookup.
pub fn snowflake_at(ms: i64) -> MessageId {
    let since = (ms.max(DISCORD_EPOCH_MS as i64) as u64).saturating_sub(DISCORD_EPOCH_MS);
    let id = (since << 22).saturating_sub(1);
    MessageId::parse(&id.to_string()).expect("a u64 is a snowflake")
}

/// Exponential backoff with "equal jitter": half fixed, half random (`jitter` in [0, 1)).
pub fn backoff_ms(failures: u32, jitter: f64) -> i64 {
    let exp = BACKOFF_BASE_MS.saturating_mul(1i64 << failures.saturating_sub(1).min(20));
    let d = exp.min(BACKOFF_MAX_MS);
    let j = jitter.clamp(0.0, 1.0);
    d / 2 + ((d / 2) as f64 * j) as i64
}

/// One target channel's queue, dead letters and map. Owned by one object (single writer);
/// every method takes the time and, where random, the randomness.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetQueue {
    #[serde(default)]
    next_job_id: JobId,
    #[serde(default)]
    next_lease_id: u64,
    #[serde(default)]
    pub jobs: VecDeque<Job>,
    #[serde(default)]
    pub dead: Vec<DeadJob>,
    #[serde(default)]
    pub map: MirrorMap,
}

impl TargetQueue {
    pub fn new() -> Self {
        Self::default()
    }

    fn waiting_job(&mut self, m: &MessageId) -> Option<&mut Job> {
        self.jobs
            .iter_mut()
            .rev()
            .find(|j| &j.message_id == m && j.lease.is_none())
    }

    fn has_leased_job(&self, m: &MessageId) -> bool {
        self.jobs
            .iter()
            .any(|j| &j.message_id == m && j.lease.is_some())
    }

    fn push(&mut self, m: &MessageId, kind: ChangeKind, now_ms: i64) -> JobId {
        self.next_job_id += 1;
        let id = self.next_job_id;
        self.jobs.push_back(Job {
            id,
            message_id: m.clone(),
            kind,
            enqueued_at_ms: now_ms,
            coalesced: 0,
            not_before_ms: now_ms,
            lease: None,
            failures: 0,
            reclaims: 0,
            in_flight: None,
            webhook_recreated: false,
            last_error: None,
        });
        id
    }

    /// Whether any job (queued or dead) refers to `m`.
    pub fn busy(&self, m: &MessageId) -> bool {
        self.jobs.iter().any(|j| &j.message_id == m)
            || self.dead.iter().any(|d| &d.job.message_id == m)
    }

    /// Records one change of source message `m` for this target.
    pub fn enqueue(&mut self, m: &MessageId, kind: ChangeKind, now_ms: i64) -> Enqueued {
        let admitted = self.map.get(m).is_some_and(|r| r.admitted);
        let deleted = self.map.get(m).is_some_and(|r| r.source_deleted);
        match kind {
            // A delete is final (the convergence never lifts a tombstone).
            ChangeKind::Edit | ChangeKind::Create if deleted => return Enqueued::Ignored,
            ChangeKind::Create => {
                let rec = self.map.entry(m, now_ms);
                rec.admitted = true;
            }
            ChangeKind::Edit | ChangeKind::Delete if !admitted => return Enqueued::Ignored,
            ChangeKind::Edit => {}
            ChangeKind::Delete => self.map.entry(m, now_ms).source_deleted = true,
        }
        let nothing_posted = self.map.get(m).is_none_or(|r| r.parts.is_empty());
        let leased = self.has_leased_job(m);
        if let Some(job) = self.waiting_job(m) {
            let id = job.id;
            if kind == ChangeKind::Delete {
                if job.kind == ChangeKind::Create
                    && job.in_flight.is_none()
                    && nothing_posted
                    && !leased
                {
                    self.jobs.retain(|j| j.id != id);
                    return Enqueued::Cancelled(id);
                }
                job.kind = ChangeKind::Delete;
            }
            job.coalesced += 1;
            return Enqueued::Coalesced(id);
        }
        if let Some(pos) = self.dead.iter().position(|d| &d.job.message_id == m) {
            let id = self.dead[pos].job.id;
            if kind != ChangeKind::Delete {
                self.dead[pos].job.coalesced += 1;
                return Enqueued::Coalesced(id);
            }
            // Its requeue would only remove what it posted: do that now, or nothing at all.
            let in_doubt = self.dead[pos].job.in_flight.is_some();
            self.dead.remove(pos);
            if nothing_posted && !in_doubt && !leased {
                return Enqueued::Cancelled(id);
            }
            return Enqueued::New(self.push(m, ChangeKind::Delete, now_ms));
        }
        if kind == ChangeKind::Delete && nothing_posted && !leased {
            // Skipped by the filters, or already removed: nothing is left to delete.
            return Enqueued::Ignored;
        }
        Enqueued::New(self.push(m, kind, now_ms))
    }

    /// Removes, from the head of a queue whose claims are paused (the seat gate holds it),
    /// the jobs enqueued at or before `cutoff_ms`, in order; a leased head (a job already
    /// running) and everything behind the first younger job stay, so order is never broken.
    pub fn expire_held(&mut self, cutoff_ms: i64) -> Vec<Job> {
        let mut out = Vec::new();
        while self
            .jobs
            .front()
            .is_some_and(|h| h.lease.is_none() && h.enqueued_at_ms <= cutoff_ms)
        {
            out.extend(self.jobs.pop_front());
        }
        out
    }

    /// When the queue next needs a claim: the head's due time or its lease's expiry.
    pub fn next_wake_ms(&self) -> Option<i64> {
        let head = self.jobs.front()?;
        Some(match &head.lease {
            Some(l) => l.until_ms,
            None => head.not_before_ms,
        })
    }

    /// Leases the head job when it can run now, reclaiming an expired lease. Jobs behind the
    /// head, or not yet due, are never leased.
    pub fn claim(&mut self, now_ms: i64, lease_ms: i64) -> Option<Claim> {
        let head = self.jobs.front_mut()?;
        if let Some(l) = &head.lease {
            if l.until_ms > now_ms {
                return None;
            }
            head.lease = None;
            head.reclaims += 1;
        }
        if head.not_before_ms > now_ms {
            return None;
        }
        self.next_lease_id += 1;
        let lease = Lease {
            id: self.next_lease_id,
            until_ms: now_ms.saturating_add(lease_ms),
        };
        let head = self.jobs.front_mut()?;
        head.lease = Some(lease.clone());
        Some(Claim {
            job_id: head.id,
            lease_id: lease.id,
            message_id: head.message_id.clone(),
            kind: head.kind,
            lease_until_ms: lease.until_ms,
        })
    }

    fn head_for(&mut self, claim: &Claim, now_ms: i64) -> Result<&mut Job, MirrorError> {
        match self.jobs.front_mut() {
            Some(j)
                if j.id == claim.job_id
                    && j.lease
                        .as_ref()
                        .is_some_and(|l| l.id == claim.lease_id && l.until_ms > now_ms) =>
            {
                Ok(j)
            }
            _ => Err(MirrorError::LeaseLost),
        }
    }

    fn finish(&mut self, f: Finished) -> Action {
        self.jobs.pop_front();
        Action::Finished(f)
    }

    /// Decides the next call of the claimed job from what the target shows (the map) and what
    /// it should show (`desired`, rendered from the latest view). A returned send is already
    /// recorded as in flight.
    pub fn plan(
        &mut self,
        claim: &Claim,
        desired: Desired<'_>,
        poster: &PosterId,
        now_ms: i64,
    ) -> Result<Action, MirrorError> {
        let job = self.head_for(claim, now_ms)?;
        let job_id = job.id;
        if let Some(att) = &job.in_flight {
            if let Step::Post { .. } = att.step {
                return Ok(Action::Lookup(Lookup {
                    after_ms: att.started_at_ms - LOOKUP_SKEW_MS,
                    after_id: att.lookup_after.clone(),
                }));
            }
            // Editing or deleting twice is harmless: run it again.
            let att = job.in_flight.take().expect("checked");
            let m = job.message_id.clone();
            self.settle_in_doubt(&m, &att, now_ms);
        }
        let m = claim.message_id.clone();
        let rec = self.map.entry(&m, now_ms);
        let (want, rendered): (&[Part], Option<&Rendered>) = match desired {
            Desired::Absent => {
                rec.source_deleted = true;
                (&[], None)
            }
            Desired::Skipped(s) => {
                rec.skipped = Some(s.clone());
                (&[], None)
            }
            Desired::Parts(r) => {
                rec.skipped = None;
                (&r.parts, Some(r))
            }
        };
        if !rec.admitted {
            return Ok(self.finish(Finished::NotMirrored));
        }
        let step = {
            let have = &rec.parts;
            let mut step = None;
            for (i, (h, w)) in have.iter().zip(want).enumerate() {
                if h.digest != w.digest() {
                    let keep: Vec<AttachmentId> = h
                        .files
                        .iter()
                        .filter(|f| w.attachments.contains(&f.source))
                        .map(|f| f.mirrored.clone())
                        .collect();
                    let upload = w
                        .attachments
                        .iter()
                        .filter(|a| !h.files.iter().any(|f| &f.source == *a))
                        .cloned()
                        .collect();
                    step = Some((
                        Step::Edit {
                            part: i,
                            message_id: h.message_id.clone(),
                            keep,
                            upload,
                        },
                        w.digest(),
                    ));
                    break;
                }
            }
            if step.is_none() && want.len() > have.len() {
                let w = &want[have.len()];
                step = Some((
                    Step::Post {
                        part: have.len(),
                        upload: w.attachments.clone(),
                    },
                    w.digest(),
                ));
            }
            if step.is_none() && have.len() > want.len() {
                let last = have.len() - 1;
                step = Some((
                    Step::Delete {
                        part: last,
                        message_id: have[last].message_id.clone(),
                    },
                    String::new(),
                ));
            }
            step
        };
        let Some((step, digest)) = step else {
            let done = match desired {
                Desired::Absent => Finished::Removed,
                Desired::Skipped(s) => Finished::Skipped(s.clone()),
                Desired::Parts(_) => Finished::Synced,
            };
            return Ok(self.finish(done));
        };
        let (kind, part_index) = match &step {
            Step::Post { part, .. } => (Some(SendKind::Post), *part),
            Step::Edit { part, .. } => (Some(SendKind::Edit), *part),
            Step::Delete { part, .. } => (None, *part),
        };
        let nonce = match (&step, poster) {
            (Step::Post { part, .. }, PosterId::Bot(_)) => Some(nonce(&m, *part, job_id)),
            _ => None,
        };
        let marker = match (&step, rendered) {
            (Step::Post { part, .. }, Some(r)) => Some(Marker {
                poster: poster.clone(),
                nonce: nonce.clone(),
                content: r.parts[*part].content.clone(),
                card_text: r.parts[*part]
                    .embeds
                    .first()
                    .and_then(|e| e.description.clone()),
                username: matches!(poster, PosterId::Webhook(_)).then(|| r.username.clone()),
            }),
            _ => None,
        };
        let allowed_mentions = match (kind, rendered) {
            (Some(k), Some(r)) => Some(r.allowed_mentions(part_index, k)),
            _ => None,
        };
        let job = self.jobs.front_mut().expect("the claimed head");
        job.in_flight = Some(Attempt {
            step: step.clone(),
            started_at_ms: now_ms,
            marker,
            digest,
            lookup_after: None,
        });
        Ok(Action::Send(SendStep {
            step,
            kind,
            nonce,
            allowed_mentions,
        }))
    }

    fn release(&mut self, at_ms: i64) {
        if let Some(job) = self.jobs.front_mut() {
            job.lease = None;
            job.not_before_ms = at_ms;
        }
    }

    fn dead_letter(&mut self, failure: Failure) -> Next {
        if let Some(mut job) = self.jobs.pop_front() {
            job.lease = None;
            job.last_error = Some(failure.clone());
            self.dead.push(DeadJob {
                job,
                failure: failure.clone(),
            });
        }
        Next::DeadLettered(failure)
    }

    /// Applies the answer to the step in flight.
    pub fn report(
        &mut self,
        claim: &Claim,
        result: SendResult,
        now_ms: i64,
        jitter: f64,
    ) -> Result<Next, MirrorError> {
        let job = self.head_for(claim, now_ms)?;
        let Some(att) = job.in_flight.clone() else {
            return Err(MirrorError::UnexpectedReport("no call in flight"));
        };
        let m = job.message_id.clone();
        let failure = |code: &str, reason: &str, discord_code: Option<u32>| Failure {
            error_code: code.to_string(),
            reason: reason.to_string(),
            discord_code,
            at_ms: now_ms,
        };
        match (&att.step, result) {
            (
                Step::Post { part, upload },
                SendResult::Posted {
                    message_id,
                    uploaded,
                },
            ) => {
                let rec = self.map.entry(&m, now_ms);
                if rec.parts.len() != *part {
                    return Err(MirrorError::UnexpectedReport("post of a part out of order"));
                }
                rec.parts.push(PartRecord {
                    message_id,
                    digest: att.digest.clone(),
                    files: pair(upload, &uploaded),
                    posted_at_ms: now_ms,
                });
                self.succeeded();
                Ok(Next::Continue)
            }
            (
                Step::Edit {
                    part, keep, upload, ..
                },
                SendResult::Edited { uploaded },
            ) => {
                let rec = self.map.entry(&m, now_ms);
                let Some(p) = rec.parts.get_mut(*part) else {
                    return Err(MirrorError::UnexpectedReport("edit of an unknown part"));
                };
                p.digest = att.digest.clone();
                p.files.retain(|f| keep.contains(&f.mirrored));
                p.files.extend(pair(upload, &uploaded));
                self.succeeded();
                Ok(Next::Continue)
            }
            (Step::Delete { part, .. }, SendResult::Deleted) => {
                self.map.entry(&m, now_ms).parts.truncate(*part);
                self.succeeded();
                Ok(Next::Continue)
            }
            (
                Step::Delete { part, .. },
                SendResult::Permanent {
                    discord_code: Some(UNKNOWN_MESSAGE),
                    ..
                },
            ) => {
                // Someone deleted the mirror already: what we wanted.
                self.map.entry(&m, now_ms).parts.truncate(*part);
                self.succeeded();
                Ok(Next::Continue)
            }
            (_, SendResult::Posted { .. } | SendResult::Edited { .. } | SendResult::Deleted) => {
                Err(MirrorError::UnexpectedReport(
                    "the answer is for another kind of call",
                ))
            }
            (_, SendResult::NotBefore { at_ms }) => {
                let job = self.jobs.front_mut().expect("head");
                job.in_flight = None;
                self.release(at_ms.max(now_ms));
                Ok(Next::RetryAt(at_ms.max(now_ms)))
            }
            (_, SendResult::Stopped { reason }) => {
                let job = self.jobs.front_mut().expect("head");
                job.in_flight = None;
                job.last_error = Some(failure("discord_stopped", &reason, None));
                let at = now_ms + STOPPED_RECHECK_MS;
                self.release(at);
                Ok(Next::RetryAt(at))
            }
            (step, SendResult::Transient { reason }) => {
                if !matches!(step, Step::Post { .. }) {
                    self.jobs.front_mut().expect("head").in_flight = None;
                    self.settle_in_doubt(&m, &att, now_ms);
                }
                let job = self.jobs.front_mut().expect("head");
                // A post stays in flight: it may have landed, and the retry looks first.
                job.failures += 1;
                job.last_error = Some(failure("discord_transient", &reason, None));
                if job.failures >= MAX_FAILURES {
                    let f = failure(
                        "retries_exhausted",
                        &format!("{} transient failures; last: {reason}", job.failures),
                        None,
                    );
                    return Ok(self.dead_letter(f));
                }
                let at = now_ms + backoff_ms(job.failures, jitter);
                self.release(at);
                Ok(Next::RetryAt(at))
            }
            (
                _,
                SendResult::Permanent {
                    error_code,
                    reason,
                    discord_code,
                },
            ) => {
                let job = self.jobs.front_mut().expect("head");
                // Discord refused: nothing was created.
                job.in_flight = None;
                if discord_code == Some(UNKNOWN_WEBHOOK) && !job.webhook_recreated {
                    job.webhook_recreated = true;
                    job.last_error = Some(failure(&error_code, &reason, discord_code));
                    self.release(now_ms);
                    return Ok(Next::RecreateWebhook);
                }
                Ok(self.dead_letter(failure(&error_code, &reason, discord_code)))
            }
        }
    }

    /// Applies the failure of a call the runtime had to make *before* the job's own step (the
    /// target's webhook, the bot's identity): nothing of the job was sent, so an attempt
    /// already in doubt stays in doubt. Successes are not reported here.
    pub fn report_unsent(
        &mut self,
        claim: &Claim,
        result: SendResult,
        now_ms: i64,
        jitter: f64,
    ) -> Result<Next, MirrorError> {
        self.head_for(claim, now_ms)?;
        let failure = |code: &str, reason: &str, discord_code: Option<u32>| Failure {
            error_code: code.to_string(),
            reason: reason.to_string(),
            discord_code,
            at_ms: now_ms,
        };
        match result {
            SendResult::NotBefore { at_ms } => {
                self.release(at_ms.max(now_ms));
                Ok(Next::RetryAt(at_ms.max(now_ms)))
            }
            SendResult::Stopped { reason } => {
                let job = self.jobs.front_mut().expect("head");
                job.last_error = Some(failure("discord_stopped", &reason, None));
                let at = now_ms + STOPPED_RECHECK_MS;
                self.release(at);
                Ok(Next::RetryAt(at))
            }
            SendResult::Transient { reason } => {
                let job = self.jobs.front_mut().expect("head");
                job.failures += 1;
                job.last_error = Some(failure("discord_transient", &reason, None));
                if job.failures >= MAX_FAILURES {
                    let f = failure(
                        "retries_exhausted",
                        &format!("{} transient failures; last: {reason}", job.failures),
                        None,
                    );
                    return Ok(self.dead_letter(f));
                }
                let at = now_ms + backoff_ms(job.failures, jitter);
                self.release(at);
                Ok(Next::RetryAt(at))
            }
            SendResult::Permanent {
                error_code,
                reason,
                discord_code,
            } => Ok(self.dead_letter(failure(&error_code, &reason, discord_code))),
            SendResult::Posted { .. } | SendResult::Edited { .. } | SendResult::Deleted => Err(
                MirrorError::UnexpectedReport("a success is not reported as unsent"),
            ),
        }
    }

    /// An edit whose outcome is unknown may or may not have replaced the part's files: only
    /// those both versions keep are certainly there, and the part must be edited again.
    fn settle_in_doubt(&mut self, m: &MessageId, att: &Attempt, now_ms: i64) {
        if let Step::Edit { part, keep, .. } = &att.step {
            if let Some(p) = self.map.entry(m, now_ms).parts.get_mut(*part) {
                p.files.retain(|f| keep.contains(&f.mirrored));
                p.digest.clear();
            }
        }
    }

    fn succeeded(&mut self) {
        if let Some(job) = self.jobs.front_mut() {
            job.in_flight = None;
            job.failures = 0;
            job.last_error = None;
        }
    }

    /// Applies a recovery lookup: `messages` were listed after the [`Lookup`]'s point;
    /// `complete` says the listing reached the channel's newest message. Adopts our message
    /// when one matches, or clears the attempt so the next plan posts again.
    pub fn report_lookup(
        &mut self,
        claim: &Claim,
        messages: &[Candidate],
        complete: bool,
        now_ms: i64,
    ) -> Result<Next, MirrorError> {
        self.head_for(claim, now_ms)?;
        let known: Vec<MessageId> = self.map.known_ids().into_iter().cloned().collect();
        let job = self.jobs.front_mut().expect("head");
        let Some(att) = job.in_flight.as_mut() else {
            return Err(MirrorError::UnexpectedReport("no post in doubt"));
        };
        let (Step::Post { part, upload }, Some(marker)) = (&att.step, &att.marker) else {
            return Err(MirrorError::UnexpectedReport("no post in doubt"));
        };
        let found = messages
            .iter()
            .filter(|c| !known.contains(&c.id) && marker.matches(c))
            .min_by(|a, b| a.id.value().cmp(&b.id.value()));
        if let Some(c) = found {
            let record = PartRecord {
                message_id: c.id.clone(),
                digest: att.digest.clone(),
                files: pair(upload, &c.attachment_ids),
                posted_at_ms: now_ms,
            };
            let part = *part;
            let m = job.message_id.clone();
            let rec = self.map.entry(&m, now_ms);
            if rec.parts.len() != part {
                return Err(MirrorError::UnexpectedReport("post of a part out of order"));
            }
            rec.parts.push(record);
            self.succeeded();
            return Ok(Next::Continue);
        }
        if !complete {
            att.lookup_after = messages
                .iter()
                .map(|c| c.id.clone())
                .max_by_key(|id| id.value());
            return Ok(Next::Continue);
        }
        job.in_flight = None;
        Ok(Next::Continue)
    }

    /// Puts a dead-lettered job back at the end of the queue, due now.
    pub fn requeue(&mut self, job_id: JobId, now_ms: i64) -> Result<(), MirrorError> {
        let pos = self
            .dead
            .iter()
            .position(|d| d.job.id == job_id)
            .ok_or(MirrorError::JobNotFound(job_id))?;
        let mut job = self.dead.remove(pos).job;
        job.failures = 0;
        job.webhook_recreated = false;
        job.not_before_ms = now_ms;
        job.lease = None;
        self.jobs.push_back(job);
        Ok(())
    }

    pub fn requeue_all(&mut self, now_ms: i64) -> usize {
        let ids: Vec<JobId> = self.dead.iter().map(|d| d.job.id).collect();
        for id in &ids {
            let _ = self.requeue(*id, now_ms);
        }
        ids.len()
    }

    /// Drops map records of signals no longer kept, unless a job still refers to them.
    pub fn retain(&mut self, kept: impl Fn(&MessageId) -> bool) -> usize {
        let busy: Vec<MessageId> = self
            .jobs
            .iter()
            .map(|j| j.message_id.clone())
            .chain(self.dead.iter().map(|d| d.job.message_id.clone()))
            .collect();
        self.map.retain(kept, |m| busy.contains(m))
    }

    /// Jobs waiting or running.
    pub fn depth(&self) -> usize {
        self.jobs.len()
    }

    /// Jobs waiting out a failure (backoff, a rate limit after a failure, a stop).
    pub fn retrying(&self) -> usize {
        self.jobs.iter().filter(|j| j.last_error.is_some()).count()
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A bot post's nonce (at most 25 characters): the source message, the part and the job, so
/// Discord's `enforce_nonce` can only ever return this same post.
pub fn nonce(message: &MessageId, part: usize, job: JobId) -> String {
    let s = format!("{}.{}.{}", base36(message.value()), part, base36(job));
    s.chars().take(25).collect()
}

fn pair(sources: &[AttachmentId], mirrored: &[AttachmentId]) -> Vec<UploadedFile> {
    sources
        .iter()
        .zip(mirrored)
        .map(|(s, m)| UploadedFile {
            source: s.clone(),
            mirrored: m.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
