//! The rate-limit state machine: fed the time and response headers, knowing no HTTP client.
//!
//! It is meant to live in a Durable Object (one per bot token, plus one per webhook family),
//! so every isolate and every feature shares one picture of Discord's limits, and to be
//! persisted between requests: the whole state is `serde`, bounded in size (idle buckets are
//! evicted), and every decision takes `now_ms` as an argument.
//!
//! A caller asks [`RateLimiter::acquire`] for a slot. The answer is [`Acquire::Go`] with a
//! [`Permit`] (the slot is reserved, so concurrent callers never oversubscribe a bucket), or
//! [`Acquire::NotBefore`]: reschedule the work to that time (an alarm), never sleep in a
//! request. After sending, the caller reports the answer with [`RateLimiter::observe`]; a
//! request must be abandoned by the permit's `deadline_ms`.
//!
//! Rules, in the order `acquire` applies them:
//! 1. A 401 on the bot token stops every bot-token request until an operator calls
//!    [`RateLimiter::reset_stop`].
//! 2. A Cloudflare ban page (a 403/429 whose body is HTML or JSON `code: 0`) pauses all traffic,
//!    with exponential backoff across repeated bans, and raises an [`Alert`].
//! 3. Invalid requests (401, 403, and 429 except scope `shared`) are counted over a sliding
//!    window (10 minutes); at the budget (default 1,000, far below Discord's 10,000 per IP,
//!    which Workers share) all traffic pauses until the count drops.
//! 4. A global 429 pauses the bot token for its Retry-After. Discord's global limit refuses
//!    it before the route's bucket counts it, so it frees its bucket slot.
//! 5. At most 50 requests per second on the bot token (webhook requests, which carry only the
//!    webhook's token, are not counted, as Discord does not count them). Discord counts a
//!    request when it arrives, somewhere between our grant and its answer, so a request
//!    counts from its grant until a second after its answer.
//! 6. Per bucket: learned from `X-RateLimit-Bucket` / `-Limit` / `-Remaining` /
//!    `-Reset-After`, keyed by the route key until Discord names the bucket, then shared by
//!    every route with that bucket id (and the same top-level resource). While a bucket is
//!    unknown, only one request is in flight: the one that learns it.

mod bucket;
mod config;
mod headers;
mod window;

pub use config::{Config, WaitReason};
pub use headers::{ResponseMeta, Scope};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use bucket::Bucket;
use window::{SlidingLog, SlottedCounter};

use crate::error::is_ban;
use crate::requests::{AuthKind, RateKey, RouteKey};

/// A reserved slot. Hand it back to [`RateLimiter::observe`] with the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permit {
    pub id: u64,
    pub key: RateKey,
    /// The bucket the slot was taken from.
    pub bucket: String,
    pub granted_at_ms: i64,
    /// Abort the request by then; after it the slot counts as a timed-out request.
    pub deadline_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "acquire")]
pub enum Acquire {
    Go(Permit),
    NotBefore {
        at_ms: i64,
        reason: WaitReason,
    },
    /// The bot token was refused (401); nothing is sent with it until an operator resets.
    Stopped,
}

/// What happened to a request sent under a permit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "feedback")]
pub enum Feedback {
    Response(ResponseMeta),
    /// Timed out or failed in transit: it may or may not have reached Discord.
    NoResponse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Discord's edge served a ban page: our egress IP is blocked.
    Banned,
    /// The bot token was refused.
    Unauthorized,
}

/// Something an operator must see, until they clear it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub since_ms: i64,
    pub last_ms: i64,
    pub count: u32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stop {
    pub since_ms: i64,
    pub route: RouteKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    Sending,
    Paused,
    Stopped,
}

/// The limiter as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub state: SendState,
    /// When all traffic may resume, if paused (ban, invalid budget), or bot traffic (global).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_until_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_reason: Option<WaitReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stop>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
    pub ban_strikes: u32,
    pub invalid_requests: u32,
    pub invalid_budget: u32,
    pub invalid_window_ms: i64,
    pub global_requests_last_window: u32,
    pub global_limit: u32,
    pub buckets: usize,
    pub routes: usize,
    pub in_flight: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "bucket")]
enum RouteState {
    /// No answer with bucket headers yet: the route key is the (provisional) bucket.
    Unknown,
    /// Answers carry no bucket headers: only the global limit applies.
    Unlimited,
    /// Discord's bucket id.
    Bucket(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RouteEntry {
    state: RouteState,
    last_used_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Ban {
    strikes: u32,
    until_ms: i64,
}

/// See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimiter {
    config: Config,
    next_id: u64,
    routes: BTreeMap<RouteKey, RouteEntry>,
    buckets: BTreeMap<String, Bucket>,
    global: SlidingLog,
    global_paused_until_ms: i64,
    invalid: SlottedCounter,
    ban: Ban,
    stopped: Option<Stop>,
    alert: Option<Alert>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(Config::default())
    }
}

fn provisional_key(route: &RouteKey) -> String {
    format!("route|{route}")
}

fn bucket_key(bucket: &str, route: &RouteKey) -> String {
    format!("{bucket}|{}", route.resource())
}

impl RateLimiter {
    pub fn new(config: Config) -> Self {
        RateLimiter {
            config,
            next_id: 1,
            routes: BTreeMap::new(),
            buckets: BTreeMap::new(),
            global: SlidingLog::default(),
            global_paused_until_ms: i64::MIN,
            invalid: SlottedCounter::default(),
            ban: Ban {
                strikes: 0,
                until_ms: i64::MIN,
            },
            stopped: None,
            alert: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes the tunables (for example the invalid-request budget) keeping the state.
    pub fn set_config(&mut self, config: Config) {
        self.config = config;
    }

    /// The state was restored from a save that may trail the last grants (a holder that
    /// persists at intervals): permit ids handed out since are never handed out again, so an
    /// answer to one of those requests can never be taken for a newer permit's.
    pub fn skip_permit_ids(&mut self, n: u64) {
        self.next_id = self.next_id.saturating_add(n);
    }

    /// Reserves a slot for a request with this key, or says when to ask again.
    pub fn acquire(&mut self, key: &RateKey, now_ms: i64) -> Acquire {
        let now = now_ms;
        let wait = |at_ms: i64, reason: WaitReason| Acquire::NotBefore { at_ms, reason };
        if key.auth == AuthKind::Bot && self.stopped.is_some() {
            return Acquire::Stopped;
        }
        if self.ban.until_ms > now {
            return wait(self.ban.until_ms, WaitReason::Banned);
        }
        let cfg = &self.config;
        if let Some(at) = self
            .invalid
            .below_at(now, cfg.invalid_window_ms, cfg.invalid_budget)
        {
            return wait(at, WaitReason::InvalidBudget);
        }
        if key.auth == AuthKind::Bot && self.global_paused_until_ms > now {
            return wait(self.global_paused_until_ms, WaitReason::GlobalRetryAfter);
        }
        if key.counts_against_global {
            if let Some(at) = self
                .global
                .blocked_until(now, cfg.global_limit, cfg.global_window_ms)
            {
                return wait(at, WaitReason::Global);
            }
        }

        if !self.routes.contains_key(&key.route) && !self.make_room_for_route(now) {
            return wait(
                now.saturating_add(self.config.poll_ms),
                WaitReason::Capacity,
            );
        }
        let state = match self.routes.get_mut(&key.route) {
            Some(entry) => {
                entry.last_used_ms = now;
                entry.state.clone()
            }
            None => {
                self.routes.insert(
                    key.route.clone(),
                    RouteEntry {
                        state: RouteState::Unknown,
                        last_used_ms: now,
                    },
                );
                RouteState::Unknown
            }
        };
        let id = self.next_id;
        let (bucket_name, granted) = match state {
            RouteState::Unlimited => (String::new(), None),
            RouteState::Unknown | RouteState::Bucket(_) => {
                let name = match &state {
                    RouteState::Bucket(b) => bucket_key(b, &key.route),
                    _ => provisional_key(&key.route),
                };
                if !self.buckets.contains_key(&name) {
                    if !self.make_room_for_bucket(now) {
                        return wait(
                            now.saturating_add(self.config.poll_ms),
                            WaitReason::Capacity,
                        );
                    }
                    self.buckets.insert(name.clone(), Bucket::new(now));
                }
                let Some(bucket) = self.buckets.get_mut(&name) else {
                    return wait(
                        now.saturating_add(self.config.poll_ms),
                        WaitReason::Capacity,
                    );
                };
                match bucket.try_acquire(now, id, &self.config) {
                    Ok(flight) => (name, Some(flight)),
                    Err((at, reason)) => return wait(at, reason),
                }
            }
        };
        self.next_id += 1;
        let deadline_ms = granted
            .map_or(now.saturating_add(self.config.in_flight_timeout_ms), |f| {
                f.deadline_ms
            });
        if key.counts_against_global {
            self.global.record(
                id,
                deadline_ms,
                now,
                self.config.global_limit,
                self.config.global_window_ms,
            );
        }
        Acquire::Go(Permit {
            id,
            key: key.clone(),
            bucket: bucket_name,
            granted_at_ms: now,
            deadline_ms,
        })
    }

    /// Reports what happened to a request sent under `permit`.
    pub fn observe(&mut self, permit: &Permit, feedback: &Feedback, now_ms: i64) {
        let now = now_ms;
        if permit.key.counts_against_global {
            // Whatever came back, the request reached Discord by now or never will.
            self.global.answered(permit.id, now);
        }
        let meta = match feedback {
            Feedback::NoResponse => {
                self.ghost(permit, now);
                return;
            }
            Feedback::Response(meta) => meta,
        };
        let status = meta.status;
        let is_bot = permit.key.auth == AuthKind::Bot;

        if is_ban(status, &meta.body) {
            self.invalid.record(now, self.config.invalid_window_ms);
            self.ban.strikes = self.ban.strikes.saturating_add(1);
            // No jitter: there is one pause per token, not a crowd of retries to spread.
            let b = self.config.ban_backoff;
            let doubled = b
                .base_ms
                .max(1)
                .saturating_mul(1i64 << (self.ban.strikes - 1).min(30));
            let delay = doubled
                .min(b.cap_ms.max(b.base_ms))
                .max(meta.retry_after_ms.unwrap_or(0));
            self.ban.until_ms = self.ban.until_ms.max(now.saturating_add(delay));
            self.raise(
                AlertKind::Banned,
                now,
                format!(
                    "Discord's edge answered {status} with a ban page; all Discord traffic is \
                     paused with backoff (an egress proxy in front of the API base avoids shared \
                     Workers IPs)"
                ),
            );
            self.ghost(permit, now);
            return;
        }
        if (200..300).contains(&status) {
            self.ban.strikes = 0;
        }

        let shared = meta.scope == Some(Scope::Shared);
        if status == 401 || status == 403 || (status == 429 && !shared) {
            self.invalid.record(now, self.config.invalid_window_ms);
        }
        if status == 401 && is_bot {
            self.stopped = Some(Stop {
                since_ms: now,
                route: permit.key.route.clone(),
            });
            self.raise(
                AlertKind::Unauthorized,
                now,
                String::from(
                    "Discord refused the bot token (401); every request with it is stopped \
                     until an operator replaces the token and resets",
                ),
            );
        }

        let global_429 = status == 429 && (meta.global || meta.scope == Some(Scope::Global));
        let retry_ms = meta
            .retry_after_ms
            .or(meta.reset_after_ms)
            .unwrap_or(1_000)
            .max(0);
        if global_429 && is_bot {
            self.global_paused_until_ms = self
                .global_paused_until_ms
                .max(now.saturating_add(retry_ms));
        }

        match meta.bucket_headers() {
            Some((bucket, limit, remaining, reset_after)) if !global_429 => {
                let name = self.learn_route(permit, bucket, now);
                if let Some(b) = self.buckets.get_mut(&name) {
                    b.tick(now, &self.config);
                    b.learn(limit, remaining, reset_after, permit.granted_at_ms, now);
                    if status == 429 {
                        b.retry_after(now.saturating_add(retry_ms));
                    }
                }
            }
            _ => {
                let unlimited = (200..300).contains(&status) && !meta.has_any_rate_limit_header();
                if unlimited {
                    self.take_flight(permit);
                    if let Some(entry) = self.routes.get_mut(&permit.key.route) {
                        entry.state = RouteState::Unlimited;
                    }
                    let provisional = provisional_key(&permit.key.route);
                    if self
                        .buckets
                        .get(&provisional)
                        .is_some_and(|b| b.is_idle(now))
                    {
                        self.buckets.remove(&provisional);
                    }
                } else if global_429 {
                    // Discord's global limit refuses a request before its route's bucket
                    // counts it, and the answer is here: the slot is free again. Held as a
                    // ghost, it would block the route for the ghost TTL when it was the one
                    // learning an unknown bucket or used a full bucket's last slot.
                    if let Some(b) = self.flight_bucket(permit) {
                        b.release(permit.id);
                    }
                    if !is_bot {
                        if let Some(b) = self.current_bucket(&permit.key.route) {
                            b.retry_after(now.saturating_add(retry_ms));
                        }
                    }
                } else if status == 429 {
                    // Refused by a limit, but not this bucket's headers: it may have counted.
                    self.ghost(permit, now);
                    if let Some(b) = self.current_bucket(&permit.key.route) {
                        b.retry_after(now.saturating_add(retry_ms));
                    }
                } else if !meta.has_any_rate_limit_header() {
                    // Discord's rate limiter puts its headers on what it counts: an error without
                    // them (a 502 from the edge, a 404 of an unlimited route) used no slot.
                    // Holding the slot would stall a bucket through a burst of such errors.
                    if let Some(b) = self.flight_bucket(permit) {
                        b.release(permit.id);
                    }
                } else {
                    // Partial headers: it reached the limiter, window unknown.
                    self.ghost(permit, now);
                }
            }
        }
    }

    /// Resumes bot-token traffic after a 401, once the operator fixed the token.
    pub fn reset_stop(&mut self) {
        self.stopped = None;
        if self
            .alert
            .as_ref()
            .is_some_and(|a| a.kind == AlertKind::Unauthorized)
        {
            self.alert = None;
        }
    }

    /// Clears the operator alert (the ban pause itself runs out by its backoff).
    pub fn clear_alert(&mut self) {
        self.alert = None;
    }

    /// Ends a ban pause now, when an operator has acted (an egress proxy put in front of the
    /// API base, say). The strike count is kept: if the ban is still there, the next ban page
    /// pauses for longer than the last one did. Returns whether a pause was running.
    pub fn lift_ban_pause(&mut self, now_ms: i64) -> bool {
        let was_paused = self.ban.until_ms > now_ms;
        self.ban.until_ms = i64::MIN;
        was_paused
    }

    pub fn status(&mut self, now_ms: i64) -> Status {
        let now = now_ms;
        let cfg = self.config.clone();
        let invalid_requests = self.invalid.count(now, cfg.invalid_window_ms);
        let mut pause: Option<(i64, WaitReason)> = None;
        let mut consider = |at: Option<i64>, reason: WaitReason| {
            if let Some(at) = at.filter(|at| *at > now) {
                if pause.is_none_or(|(p, _)| at > p) {
                    pause = Some((at, reason));
                }
            }
        };
        consider(Some(self.ban.until_ms), WaitReason::Banned);
        consider(
            self.invalid
                .below_at(now, cfg.invalid_window_ms, cfg.invalid_budget),
            WaitReason::InvalidBudget,
        );
        consider(
            Some(self.global_paused_until_ms),
            WaitReason::GlobalRetryAfter,
        );
        let state = if self.stopped.is_some() {
            SendState::Stopped
        } else if pause.is_some() {
            SendState::Paused
        } else {
            SendState::Sending
        };
        Status {
            state,
            paused_until_ms: pause.map(|(at, _)| at),
            pause_reason: pause.map(|(_, r)| r),
            stopped: self.stopped.clone(),
            alert: self.alert.clone(),
            ban_strikes: self.ban.strikes,
            invalid_requests,
            invalid_budget: cfg.invalid_budget,
            invalid_window_ms: cfg.invalid_window_ms,
            global_requests_last_window: self.global.count(now, cfg.global_window_ms),
            global_limit: cfg.global_limit,
            buckets: self.buckets.len(),
            routes: self.routes.len(),
            in_flight: self.buckets.values().map(Bucket::in_flight_count).sum(),
        }
    }

    /// Forgets idle buckets and the routes that point nowhere. Call it from time to time (an
    /// alarm); `acquire` also makes room when the bounds are reached.
    pub fn prune(&mut self, now_ms: i64) {
        let cfg = self.config.clone();
        for b in self.buckets.values_mut() {
            b.tick(now_ms, &cfg);
        }
        self.buckets.retain(|_, b| !b.is_idle(now_ms));
        let buckets = &self.buckets;
        self.routes.retain(|route, entry| match &entry.state {
            RouteState::Unknown => buckets.contains_key(&provisional_key(route)),
            // What Discord told us about a route is worth keeping while there is room.
            RouteState::Unlimited | RouteState::Bucket(_) => true,
        });
        while self.routes.len() > cfg.max_routes {
            if !self.evict_route(now_ms) {
                break;
            }
        }
    }

    fn raise(&mut self, kind: AlertKind, now: i64, message: String) {
        match &mut self.alert {
            Some(a) if a.kind == kind => {
                a.last_ms = now;
                a.count = a.count.saturating_add(1);
                a.message = message;
            }
            _ => {
                self.alert = Some(Alert {
                    kind,
                    since_ms: now,
                    last_ms: now,
                    count: 1,
                    message,
                })
            }
        }
    }

    fn current_bucket_name(&self, route: &RouteKey) -> Option<String> {
        match &self.routes.get(route)?.state {
            RouteState::Unknown => Some(provisional_key(route)),
            RouteState::Bucket(b) => Some(bucket_key(b, route)),
            RouteState::Unlimited => None,
        }
    }

    fn current_bucket(&mut self, route: &RouteKey) -> Option<&mut Bucket> {
        let name = self.current_bucket_name(route)?;
        self.buckets.get_mut(&name)
    }

    /// The bucket holding the permit's flight: the one it was granted from, or the route's
    /// learned bucket, which the provisional one's flights move to.
    fn flight_bucket(&mut self, permit: &Permit) -> Option<&mut Bucket> {
        let in_original = self
            .buckets
            .get(&permit.bucket)
            .is_some_and(|b| b.has_flight(permit.id));
        let name = if in_original {
            permit.bucket.clone()
        } else {
            self.current_bucket_name(&permit.key.route)?
        };
        self.buckets
            .get_mut(&name)
            .filter(|b| b.has_flight(permit.id))
    }

    fn take_flight(&mut self, permit: &Permit) -> Option<bucket::Flight> {
        self.flight_bucket(permit)?.take_flight(permit.id)
    }

    /// The request may have counted, but we cannot tell in which window.
    fn ghost(&mut self, permit: &Permit, now: i64) {
        let cfg = self.config.clone();
        if let Some(b) = self.flight_bucket(permit) {
            b.ghost(permit.id, now);
            b.tick(now, &cfg);
        }
    }

    /// Records that `permit`'s route belongs to Discord's `bucket`, moving the provisional
    /// bucket's unanswered requests there. Returns the bucket's key.
    fn learn_route(&mut self, permit: &Permit, bucket: &str, now: i64) -> String {
        let route = &permit.key.route;
        let name = bucket_key(bucket, route);
        self.take_flight(permit);
        let previous = self.routes.get(route).map(|e| e.state.clone());
        if previous == Some(RouteState::Bucket(bucket.to_string()))
            && self.buckets.contains_key(&name)
        {
            return name;
        }
        if !self.buckets.contains_key(&name) {
            // Learning must not fail for lack of room: evict what we can, then insert anyway
            // (one over the bound until the next prune).
            self.make_room_for_bucket(now);
            self.buckets.insert(name.clone(), Bucket::new(now));
        }
        if let Some(provisional) = self.buckets.remove(&provisional_key(route)) {
            let cfg = self.config.clone();
            if let Some(target) = self.buckets.get_mut(&name) {
                target.tick(now, &cfg);
                target.absorb(provisional);
            }
        }
        match self.routes.get_mut(route) {
            Some(entry) => entry.state = RouteState::Bucket(bucket.to_string()),
            None => {
                self.routes.insert(
                    route.clone(),
                    RouteEntry {
                        state: RouteState::Bucket(bucket.to_string()),
                        last_used_ms: now,
                    },
                );
            }
        }
        name
    }

    fn make_room_for_bucket(&mut self, now: i64) -> bool {
        if self.buckets.len() < self.config.max_buckets {
            return true;
        }
        let cfg = self.config.clone();
        for b in self.buckets.values_mut() {
            b.tick(now, &cfg);
        }
        let victim = self
            .buckets
            .iter()
            .filter(|(_, b)| b.is_idle(now))
            .min_by_key(|(_, b)| b.last_used_ms)
            .map(|(k, _)| k.clone());
        match victim {
            Some(k) => {
                self.buckets.remove(&k);
                true
            }
            None => false,
        }
    }

    fn make_room_for_route(&mut self, now: i64) -> bool {
        self.routes.len() < self.config.max_routes || self.evict_route(now)
    }

    /// Forgets the least recently used route whose bucket holds nothing that matters: its
    /// next request then learns again, one at a time, which is safe.
    fn evict_route(&mut self, now: i64) -> bool {
        let victim = self
            .routes
            .iter()
            .filter(|(route, entry)| {
                let name = match &entry.state {
                    RouteState::Unknown => provisional_key(route),
                    RouteState::Bucket(b) => bucket_key(b, route),
                    RouteState::Unlimited => return true,
                };
                self.buckets.get(&name).is_none_or(|b| b.is_idle(now))
            })
            .min_by_key(|(_, e)| e.last_used_ms)
            .map(|(k, _)| k.clone());
        match victim {
            Some(k) => {
                if let Some(entry) = self.routes.remove(&k) {
                    if entry.state == RouteState::Unknown {
                        self.buckets.remove(&provisional_key(&k));
                    }
                }
                true
            }
            None => false,
        }
    }
}
