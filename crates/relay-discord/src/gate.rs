//! The rate-limit gate: what the Durable Object that owns a bot token's [`RateLimiter`] does
//! with each call, and how one send split across two runtimes (the caller fetches, the object
//! limits) turns into a single answer for the caller. Plain data, so every rule is tested here
//! and the object and the worker's facade are thin glue.
//!
//! # One send, two round trips
//!
//! 1. The caller builds the [`Request`](crate::Request) (nothing leaves on a validation error).
//! 2. `acquire` at the gate ([`Gate::acquire`]): a [`Permit`], or [`SendError`] at once
//!    ([`refused`]: `NotBefore` to reschedule, `Stopped` after a 401).
//! 3. The caller sends, aborting by `permit.deadline_ms`.
//! 4. `observe` at the gate ([`Gate::observe`]) with [`ResponseMeta`] (status and rate-limit
//!    headers only: the body never crosses to the object), answered with [`Observed`], the
//!    pause the answer caused, if any.
//! 5. [`conclude`] classifies the answer with what the gate said: the caller's final
//!    `Result<status, SendError>`.
//!
//! The gate never holds a call across the HTTP exchange: each of its two steps is a short
//! state update, so callers are serialised only for those updates, never behind someone
//! else's request to Discord.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;

use crate::error::{
    classify, classify_no_response, Backoff, ClassifyContext, DiscordError, ErrorKind, Outcome,
    RetryReason,
};
use crate::ratelimit::{
    Acquire, Config, Feedback, Permit, RateLimiter, ResponseMeta, SendState, Status, WaitReason,
};
use crate::requests::{AuthKind, RateKey};
use crate::transport::{Response, TransportError};

/// The gate object's name for a bot token: a digest, so the token never appears in an object
/// name, a log or the admin API, while each token still gets its own object.
pub fn gate_name(bot_token: &str) -> String {
    let hash = Sha256::digest(bot_token.as_bytes());
    let hex: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("bot:{hex}")
}

/// What the gate has seen, for the operator and for tests: every granted request ends in
/// exactly one of the answer counters or `no_response` (or is still in flight).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    /// Slots granted: requests that went (or are going) to Discord.
    pub requests_sent: u64,
    pub responses_2xx: u64,
    /// 4xx other than 401, 429 and ban pages.
    pub responses_4xx: u64,
    pub responses_5xx: u64,
    /// Answers that are none of the above (1xx, 3xx).
    pub responses_other: u64,
    /// Discord's 429s (not ban pages).
    pub rate_limited_429: u64,
    /// Cloudflare ban pages (a 403 or 429 with HTML or JSON code 0).
    pub ban_pages: u64,
    pub unauthorized_401: u64,
    /// Timeouts and network failures.
    pub no_response: u64,
    /// Calls answered "not before" without sending.
    pub refused_locally: u64,
    /// Calls refused because the bot token is stopped.
    pub refused_stopped: u64,
    pub last_request_at_ms: Option<i64>,
    pub last_429_at_ms: Option<i64>,
}

impl Counters {
    fn on_acquire(&mut self, answer: &Acquire, now_ms: i64) {
        match answer {
            Acquire::Go(_) => {
                self.requests_sent += 1;
                self.last_request_at_ms = Some(now_ms);
            }
            Acquire::NotBefore { .. } => self.refused_locally += 1,
            Acquire::Stopped => self.refused_stopped += 1,
        }
    }

    fn on_feedback(&mut self, feedback: &Feedback, now_ms: i64) {
        let meta = match feedback {
            Feedback::NoResponse => {
                self.no_response += 1;
                return;
            }
            Feedback::Response(meta) => meta,
        };
        let counter = match meta.status {
            s if crate::error::is_ban(s, &meta.body) => &mut self.ban_pages,
            429 => {
                self.last_429_at_ms = Some(now_ms);
                &mut self.rate_limited_429
            }
            401 => &mut self.unauthorized_401,
            200..=299 => &mut self.responses_2xx,
            400..=499 => &mut self.responses_4xx,
            500..=599 => &mut self.responses_5xx,
            _ => &mut self.responses_other,
        };
        *counter += 1;
    }

    /// Answers received or given up on.
    pub fn concluded(&self) -> u64 {
        self.responses_2xx
            + self.responses_4xx
            + self.responses_5xx
            + self.responses_other
            + self.rate_limited_429
            + self.ban_pages
            + self.unauthorized_401
            + self.no_response
    }
}

/// The gate as the admin API shows it: the limiter's status and the counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateStatus {
    #[serde(flatten)]
    pub limiter: Status,
    pub counters: Counters,
}

/// The gate's answer to `observe`: what the reported answer did to sending, so the caller's
/// "not before" covers the whole pause (a ban's backoff is longer than its Retry-After).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_until_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_reason: Option<WaitReason>,
    /// The bot token is stopped (a 401).
    pub stopped: bool,
}

/// What an operator's reset changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetOutcome {
    pub stop_cleared: bool,
    pub alert_cleared: bool,
    pub pause_lifted: bool,
}

/// The persisted state of one gate object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    pub limiter: RateLimiter,
    #[serde(default)]
    pub counters: Counters,
}

impl Gate {
    pub fn new(config: Config) -> Self {
        Gate {
            limiter: RateLimiter::new(config),
            counters: Counters::default(),
        }
    }

    /// Applies the deployment's tunables to a restored state (a budget changed in
    /// `wrangler.toml` takes effect on the object's next start).
    /// See [`RateLimiter::skip_permit_ids`]: called on a state loaded from storage.
    pub fn resumed(&mut self) {
        self.limiter.skip_permit_ids(1 << 32);
    }

    pub fn configure(&mut self, config: Config) {
        if self.limiter.config() != &config {
            self.limiter.set_config(config);
        }
    }

    pub fn acquire(&mut self, key: &RateKey, now_ms: i64) -> Acquire {
        let answer = self.limiter.acquire(key, now_ms);
        self.counters.on_acquire(&answer, now_ms);
        answer
    }

    pub fn observe(&mut self, permit: &Permit, feedback: &Feedback, now_ms: i64) -> Observed {
        self.limiter.observe(permit, feedback, now_ms);
        self.counters.on_feedback(feedback, now_ms);
        let status = self.limiter.status(now_ms);
        Observed {
            paused_until_ms: status.paused_until_ms,
            pause_reason: status.pause_reason,
            stopped: status.state == SendState::Stopped,
        }
    }

    pub fn status(&mut self, now_ms: i64) -> GateStatus {
        GateStatus {
            limiter: self.limiter.status(now_ms),
            counters: self.counters.clone(),
        }
    }

    /// The operator acted: resume a 401-stopped token, clear the alert, end a ban pause.
    pub fn reset(&mut self, now_ms: i64) -> ResetOutcome {
        let before = self.limiter.status(now_ms);
        self.limiter.reset_stop();
        self.limiter.clear_alert();
        let pause_lifted = self.limiter.lift_ban_pause(now_ms);
        ResetOutcome {
            stop_cleared: before.stopped.is_some(),
            alert_cleared: before.alert.is_some(),
            pause_lifted,
        }
    }

    pub fn prune(&mut self, now_ms: i64) {
        self.limiter.prune(now_ms);
    }

    /// Whether anything is worth a periodic prune.
    pub fn has_buckets(&mut self, now_ms: i64) -> bool {
        let s = self.limiter.status(now_ms);
        s.buckets > 0 || s.routes > 0
    }
}

/// How a caller's send ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// Not sent, or Discord answered 429 or a ban page: do not send before `at_ms`.
    /// Reschedule the work (an alarm at `at_ms`); never sleep.
    NotBefore { at_ms: i64, reason: WaitReason },
    /// The bot token was refused (401): nothing is sent with it until an operator resets.
    Stopped,
    /// Retrying the same request will not help: Discord's refusal (its code in
    /// `discord_code`, ours in `error_code`), a request we refused to build (kind `Invalid`,
    /// nothing sent) or a success whose body did not decode.
    Permanent(DiscordError),
    /// 5xx, timeout, network failure, or the gate unreachable: retry at `retry_at_ms`.
    Transient {
        retry_at_ms: i64,
        error: DiscordError,
    },
}

impl SendError {
    pub fn error_code(&self) -> &str {
        match self {
            SendError::NotBefore { reason, .. } => match reason {
                WaitReason::Banned => "discord_banned",
                WaitReason::InvalidBudget => "discord_invalid_request_budget",
                _ => "discord_rate_limited",
            },
            SendError::Stopped => "discord_bot_token_stopped",
            SendError::Permanent(e) | SendError::Transient { error: e, .. } => &e.error_code,
        }
    }

    pub fn retry_at_ms(&self) -> Option<i64> {
        match self {
            SendError::NotBefore { at_ms, .. } => Some(*at_ms),
            SendError::Transient { retry_at_ms, .. } => Some(*retry_at_ms),
            SendError::Stopped | SendError::Permanent(_) => None,
        }
    }

    pub fn discord_code(&self) -> Option<u32> {
        match self {
            SendError::Permanent(e) => e.discord_code,
            _ => None,
        }
    }

    /// Whether the same request may succeed later without anyone acting.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SendError::NotBefore { .. } | SendError::Transient { .. }
        )
    }

    /// Our gate or its storage failed: transient, with the caller's backoff.
    pub fn gate_unavailable(message: impl Into<String>, retry_at_ms: i64) -> Self {
        let mut e = DiscordError::internal(message);
        e.kind = ErrorKind::Transient;
        e.error_code = Cow::Borrowed("discord_gate_unavailable");
        e.retry_at_ms = Some(retry_at_ms);
        SendError::Transient {
            retry_at_ms,
            error: e,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotBefore { at_ms, reason } => write!(
                f,
                "{}: not before {at_ms} ({})",
                self.error_code(),
                serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
            SendError::Stopped => write!(
                f,
                "{}: Discord refused the bot token; requests are stopped until an operator resets",
                self.error_code()
            ),
            SendError::Permanent(e) => write!(f, "{e}"),
            SendError::Transient { retry_at_ms, error } => {
                write!(f, "{error} (retry at {retry_at_ms})")
            }
        }
    }
}

impl std::error::Error for SendError {}

/// The caller's answer when the gate gave no permit; `None` for a [`Acquire::Go`].
pub fn refused(answer: &Acquire) -> Option<SendError> {
    match answer {
        Acquire::Go(_) => None,
        Acquire::NotBefore { at_ms, reason } => Some(SendError::NotBefore {
            at_ms: *at_ms,
            reason: *reason,
        }),
        Acquire::Stopped => Some(SendError::Stopped),
    }
}

/// What the caller reports to the gate for what its transport returned.
pub fn feedback(result: &Result<Response, TransportError>) -> Feedback {
    match result {
        Ok(response) => Feedback::Response(ResponseMeta::from_response(response)),
        Err(_) => Feedback::NoResponse,
    }
}

/// Per-attempt inputs of [`conclude`], all injected.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub now_ms: i64,
    /// Retries of this job so far.
    pub attempt: u32,
    /// A uniformly random `u32`.
    pub jitter: u32,
    pub backoff: Backoff,
}

/// The caller's answer for what the transport returned, given what the gate said about it
/// (`None` when the observe round trip failed: the answer still counts for the caller).
/// `Ok(status)` for a 2xx; decode the body then.
pub fn conclude(
    result: &Result<Response, TransportError>,
    auth: AuthKind,
    observed: Option<&Observed>,
    at: &Attempt,
) -> Result<u16, SendError> {
    let ctx = ClassifyContext {
        now_ms: at.now_ms,
        attempt: at.attempt,
        jitter: at.jitter,
        backoff: at.backoff,
    };
    let outcome = match result {
        Ok(response) => classify(response, &ctx),
        Err(_) => classify_no_response(&ctx),
    };
    let pause = observed.and_then(|o| o.paused_until_ms.zip(o.pause_reason));
    match outcome {
        Outcome::Ok { status } => Ok(status),
        Outcome::RetryAt { at_ms, reason } => {
            let reason = match reason {
                RetryReason::Banned => WaitReason::Banned,
                RetryReason::GlobalLimited => WaitReason::GlobalRetryAfter,
                RetryReason::RouteLimited | RetryReason::SharedLimited => WaitReason::RetryAfter,
            };
            // A pause the answer caused (a ban's backoff, the invalid budget) outlasts it.
            match pause {
                Some((until, why)) if until > at_ms => Err(SendError::NotBefore {
                    at_ms: until,
                    reason: why,
                }),
                _ => Err(SendError::NotBefore { at_ms, reason }),
            }
        }
        Outcome::Transient { .. } => {
            let mut error = outcome
                .into_result()
                .err()
                .unwrap_or_else(|| DiscordError::internal("transient failure"));
            if let Err(failure) = result {
                error.message = match failure {
                    TransportError::Timeout => {
                        String::from("no response from Discord before the deadline")
                    }
                    TransportError::Network(m) => format!("request to Discord failed: {m}"),
                };
            }
            let retry_at_ms = error.retry_at_ms.unwrap_or(at.now_ms);
            Err(SendError::Transient { retry_at_ms, error })
        }
        Outcome::Permanent { status, .. } => {
            if status == 401 && auth == AuthKind::Bot && observed.is_none_or(|o| o.stopped) {
                return Err(SendError::Stopped);
            }
            let e = outcome
                .into_result()
                .err()
                .unwrap_or_else(|| DiscordError::internal("permanent failure"));
            Err(SendError::Permanent(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::{Method, Resource, RouteKey};

    fn key(auth: AuthKind, channel: u64) -> RateKey {
        RateKey {
            route: RouteKey::new(
                Method::Get,
                "/channels/{channel_id}",
                &Resource::Channel(channel),
            ),
            auth,
            counts_against_global: auth == AuthKind::Bot,
        }
    }

    fn answer(
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Response, TransportError> {
        Ok(Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        })
    }

    fn at(now_ms: i64) -> Attempt {
        Attempt {
            now_ms,
            attempt: 0,
            jitter: 0,
            backoff: Backoff::default(),
        }
    }

    fn permit(gate: &mut Gate, k: &RateKey, now: i64) -> Permit {
        match gate.acquire(k, now) {
            Acquire::Go(p) => p,
            other => panic!("expected a permit, got {other:?}"),
        }
    }

    /// One send across the split, as the facade runs it.
    fn round(
        gate: &mut Gate,
        k: &RateKey,
        now: i64,
        result: Result<Response, TransportError>,
    ) -> Result<u16, SendError> {
        let p = match gate.acquire(k, now) {
            Acquire::Go(p) => p,
            other => return Err(refused(&other).expect("not a permit")),
        };
        let observed = gate.observe(&p, &feedback(&result), now);
        conclude(&result, k.auth, Some(&observed), &at(now))
    }

    #[test]
    fn the_name_is_a_digest_not_the_token() {
        let name = gate_name("MTIz.secret-token");
        assert!(name.starts_with("bot:"));
        assert!(!name.contains("secret"));
        assert_eq!(name.len(), 4 + 32);
        assert_eq!(name, gate_name("MTIz.secret-token"));
        assert_ne!(name, gate_name("another-token"));
    }

    #[test]
    fn a_success_counts_once_and_learns_the_bucket() {
        let mut g = Gate::default();
        let k = key(AuthKind::Bot, 1);
        let r = answer(
            200,
            &[
                ("X-RateLimit-Bucket", "b1"),
                ("X-RateLimit-Limit", "1"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset-After", "2"),
            ],
            "{}",
        );
        assert_eq!(round(&mut g, &k, 1_000, r), Ok(200));
        // The bucket is used up: the next call is refused locally, with when to come back.
        let e = round(&mut g, &k, 1_100, answer(200, &[], "{}")).unwrap_err();
        assert_eq!(
            e,
            SendError::NotBefore {
                at_ms: 3_000,
                reason: WaitReason::Bucket
            }
        );
        assert_eq!(e.error_code(), "discord_rate_limited");
        let s = g.status(1_100);
        assert_eq!(s.limiter.buckets, 1);
        assert_eq!(s.counters.requests_sent, 1);
        assert_eq!(s.counters.responses_2xx, 1);
        assert_eq!(s.counters.refused_locally, 1);
        assert_eq!(s.counters.concluded(), 1);
        assert_eq!(s.counters.last_request_at_ms, Some(1_000));
    }

    #[test]
    fn a_429_is_not_before_its_retry_after() {
        let mut g = Gate::default();
        let k = key(AuthKind::Bot, 1);
        let r = answer(
            429,
            &[
                ("content-type", "application/json"),
                ("Retry-After", "4"),
                ("X-RateLimit-Scope", "user"),
            ],
            r#"{"message":"You are being rate limited.","retry_after":4,"global":false}"#,
        );
        let e = round(&mut g, &k, 10_000, r).unwrap_err();
        assert_eq!(
            e,
            SendError::NotBefore {
                at_ms: 14_000,
                reason: WaitReason::RetryAfter
            }
        );
        let s = g.status(10_000);
        assert_eq!(s.counters.rate_limited_429, 1);
        assert_eq!(s.counters.last_429_at_ms, Some(10_000));
        assert_eq!(s.limiter.invalid_requests, 1);
    }

    #[test]
    fn a_global_429_pauses_bot_traffic_not_webhooks() {
        let mut g = Gate::default();
        let k = key(AuthKind::Bot, 1);
        let r = answer(
            429,
            &[
                ("content-type", "application/json"),
                ("Retry-After", "3"),
                ("X-RateLimit-Global", "true"),
                ("X-RateLimit-Scope", "global"),
            ],
            r#"{"message":"global","retry_after":3,"global":true}"#,
        );
        let e = round(&mut g, &k, 0, r).unwrap_err();
        assert_eq!(
            e,
            SendError::NotBefore {
                at_ms: 3_000,
                reason: WaitReason::GlobalRetryAfter
            }
        );
        let other = key(AuthKind::Bot, 2);
        assert!(matches!(
            g.acquire(&other, 1_000),
            Acquire::NotBefore {
                reason: WaitReason::GlobalRetryAfter,
                ..
            }
        ));
        let hook = key(AuthKind::None, 3);
        assert!(matches!(g.acquire(&hook, 1_000), Acquire::Go(_)));
        assert_eq!(g.status(1_000).limiter.state, SendState::Paused);
    }

    #[test]
    fn a_ban_page_pauses_everything_for_the_backoff_and_alerts() {
        let mut g = Gate::default();
        let k = key(AuthKind::None, 1);
        let r = answer(
            429,
            &[("content-type", "text/html")],
            "<!DOCTYPE html><title>Access denied | Cloudflare</title> error 1015",
        );
        let e = round(&mut g, &k, 0, r).unwrap_err();
        // The gate's backoff (60 s at the first strike), not classify's shorter guess.
        assert_eq!(
            e,
            SendError::NotBefore {
                at_ms: 60_000,
                reason: WaitReason::Banned
            }
        );
        assert_eq!(e.error_code(), "discord_banned");
        let s = g.status(1);
        assert_eq!(s.limiter.state, SendState::Paused);
        assert_eq!(s.limiter.paused_until_ms, Some(60_000));
        assert!(s.limiter.alert.is_some());
        assert_eq!(s.counters.ban_pages, 1);
        assert_eq!(s.counters.rate_limited_429, 0);
        let bot = key(AuthKind::Bot, 2);
        assert!(matches!(
            g.acquire(&bot, 1),
            Acquire::NotBefore {
                reason: WaitReason::Banned,
                ..
            }
        ));
        // The operator acts: the pause ends, the alert goes, the strike stays.
        let reset = g.reset(2);
        assert_eq!(
            reset,
            ResetOutcome {
                stop_cleared: false,
                alert_cleared: true,
                pause_lifted: true
            }
        );
        let s = g.status(2);
        assert_eq!(s.limiter.state, SendState::Sending);
        assert!(s.limiter.alert.is_none());
        assert_eq!(s.limiter.ban_strikes, 1);
        assert!(matches!(g.acquire(&bot, 3), Acquire::Go(_)));
        // Banned again: the second strike pauses twice as long.
        let p = permit(&mut g, &key(AuthKind::Bot, 9), 4);
        let o = g.observe(
            &p,
            &feedback(&answer(
                403,
                &[("content-type", "text/html")],
                "<html>banned</html>",
            )),
            4,
        );
        assert_eq!(o.paused_until_ms, Some(4 + 120_000));
    }

    #[test]
    fn a_401_on_the_bot_token_stops_until_reset() {
        let mut g = Gate::default();
        let k = key(AuthKind::Bot, 1);
        let r = answer(
            401,
            &[("content-type", "application/json")],
            r#"{"message":"401: Unauthorized","code":0}"#,
        );
        assert_eq!(round(&mut g, &k, 0, r), Err(SendError::Stopped));
        assert_eq!(
            round(&mut g, &key(AuthKind::Bot, 2), 1, answer(200, &[], "{}")),
            Err(SendError::Stopped)
        );
        let s = g.status(2);
        assert_eq!(s.limiter.state, SendState::Stopped);
        assert!(s.limiter.stopped.is_some());
        assert_eq!(s.counters.unauthorized_401, 1);
        assert_eq!(s.counters.refused_stopped, 1);
        // A user's token refused is that user's problem, not a stop.
        let user = key(AuthKind::Bearer, 3);
        let e = round(
            &mut g,
            &user,
            3,
            answer(
                401,
                &[("content-type", "application/json")],
                r#"{"message":"401: Unauthorized","code":0}"#,
            ),
        )
        .unwrap_err();
        assert!(matches!(e, SendError::Permanent(ref d) if d.status == Some(401)));
        let reset = g.reset(4);
        assert!(reset.stop_cleared && reset.alert_cleared && !reset.pause_lifted);
        assert_eq!(round(&mut g, &k, 5, answer(200, &[], "{}")), Ok(200));
    }

    #[test]
    fn the_invalid_budget_pauses_sending() {
        let mut g = Gate::new(Config {
            invalid_budget: 3,
            ..Config::default()
        });
        let forbidden = || {
            answer(
                403,
                &[("content-type", "application/json")],
                r#"{"message":"Missing Permissions","code":50013}"#,
            )
        };
        for ch in 0..3 {
            let e = round(&mut g, &key(AuthKind::Bot, ch), ch as i64, forbidden()).unwrap_err();
            assert_eq!(e.discord_code(), Some(50013));
            assert_eq!(e.error_code(), "discord_missing_permissions");
            assert!(!e.is_retryable());
        }
        let e = round(&mut g, &key(AuthKind::None, 9), 10, answer(200, &[], "{}")).unwrap_err();
        assert!(matches!(
            e,
            SendError::NotBefore {
                reason: WaitReason::InvalidBudget,
                ..
            }
        ));
        assert_eq!(e.error_code(), "discord_invalid_request_budget");
        let s = g.status(10);
        assert_eq!(s.limiter.invalid_requests, 3);
        assert_eq!(s.limiter.pause_reason, Some(WaitReason::InvalidBudget));
        assert_eq!(s.counters.responses_4xx, 3);
    }

    #[test]
    fn failures_in_transit_and_5xx_are_transient_with_backoff() {
        let mut g = Gate::default();
        let e = round(
            &mut g,
            &key(AuthKind::Bot, 1),
            0,
            answer(502, &[], "bad gateway"),
        )
        .unwrap_err();
        assert!(matches!(e, SendError::Transient { retry_at_ms, .. } if retry_at_ms >= 500));
        assert_eq!(e.error_code(), "discord_unavailable");
        let e = round(
            &mut g,
            &key(AuthKind::Bot, 2),
            0,
            Err(TransportError::Network("reset".into())),
        )
        .unwrap_err();
        match &e {
            SendError::Transient { error, .. } => assert!(error.message.contains("reset")),
            other => panic!("{other:?}"),
        }
        let s = g.status(0);
        assert_eq!(s.counters.responses_5xx, 1);
        assert_eq!(s.counters.no_response, 1);
        assert_eq!(s.counters.requests_sent, s.counters.concluded());
    }

    #[test]
    fn without_the_gates_answer_a_401_still_stops_the_caller() {
        let r = answer(401, &[], r#"{"message":"401: Unauthorized","code":0}"#);
        assert_eq!(
            conclude(&r, AuthKind::Bot, None, &at(0)),
            Err(SendError::Stopped)
        );
    }

    #[test]
    fn the_state_round_trips_through_json() {
        let mut g = Gate::default();
        let k = key(AuthKind::Bot, 1);
        let _ = round(
            &mut g,
            &k,
            0,
            answer(
                200,
                &[
                    ("X-RateLimit-Bucket", "b"),
                    ("X-RateLimit-Limit", "5"),
                    ("X-RateLimit-Remaining", "4"),
                    ("X-RateLimit-Reset-After", "1"),
                ],
                "{}",
            ),
        );
        let text = serde_json::to_string(&g).unwrap();
        let back: Gate = serde_json::from_str(&text).unwrap();
        assert_eq!(back, g);
        let status = serde_json::to_value(g.status(0)).unwrap();
        assert_eq!(status["state"], "sending");
        assert_eq!(status["buckets"], 1);
        assert_eq!(status["counters"]["requests_sent"], 1);
        let decoded: GateStatus = serde_json::from_value(status).unwrap();
        assert_eq!(decoded, g.status(0));
    }
}
