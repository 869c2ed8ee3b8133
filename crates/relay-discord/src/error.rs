//! One error vocabulary for everything Discord: requests we refused to build, responses Discord
//! refused, rate limits, bans and bodies that did not decode. Each error has a [`ErrorKind`]
//! (what the caller should do) and a stable snake_case `error_code` for our API; Discord's own
//! numeric code and `errors` detail are kept for the operator.
//!
//! [`classify`] turns any response into an [`Outcome`]: `Ok`, `RetryAt`, `Transient` or
//! `Permanent`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

use crate::transport::Response;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// We refused to build the request because Discord would refuse it. Nothing was sent.
    Invalid,
    /// Rate limited (by Discord or by our own limiter): retry at `retry_at_ms`.
    RateLimited,
    /// 5xx, timeouts, network failures: retry with backoff.
    Transient,
    /// Discord refused the request and retrying it unchanged will not help.
    Permanent,
    /// Discord refused the credentials (401).
    Unauthorized,
    /// Discord's edge blocked us (a Cloudflare ban page): all traffic is paused.
    Banned,
    /// A 2xx whose body is not what the route returns.
    Decode,
    /// A bug of ours (for example a body that would not serialise).
    Internal,
}

impl ErrorKind {
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Transient | ErrorKind::Banned
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscordError {
    pub kind: ErrorKind,
    /// Stable, snake_case, prefixed `discord_`: part of our API.
    pub error_code: Cow<'static, str>,
    pub message: String,
    /// HTTP status of Discord's answer, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Discord's JSON error code (50013, 10015 ...), when it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discord_code: Option<u32>,
    /// Discord's `errors` detail (per-field problems of a 50035), verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Box<Value>>,
    /// The field we refused, for [`ErrorKind::Invalid`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<i64>,
}

impl DiscordError {
    fn new(kind: ErrorKind, error_code: Cow<'static, str>, message: String) -> Self {
        DiscordError {
            kind,
            error_code,
            message,
            status: None,
            discord_code: None,
            errors: None,
            field: None,
            retry_at_ms: None,
        }
    }

    /// A request we will not send. `code` is suffixed to `discord_`.
    pub fn invalid(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let mut e = Self::new(
            ErrorKind::Invalid,
            Cow::Owned(format!("discord_{code}")),
            message.into(),
        );
        e.field = Some(field.into());
        e
    }

    pub fn decode(message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Decode,
            Cow::Borrowed("discord_unexpected_response"),
            message.into(),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Internal,
            Cow::Borrowed("discord_internal_error"),
            message.into(),
        )
    }
}

impl fmt::Display for DiscordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_code, self.message)?;
        if let Some(code) = self.discord_code {
            write!(f, " (Discord code {code})")?;
        }
        Ok(())
    }
}

impl std::error::Error for DiscordError {}

/// Why a request should be retried at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryReason {
    /// A 429 on the route's bucket (scope `user`, or no scope).
    RouteLimited,
    /// A 429 on a shared resource limit (scope `shared`): not our fault, not an invalid request.
    SharedLimited,
    /// A 429 on the token's global limit.
    GlobalLimited,
    /// A Cloudflare ban page.
    Banned,
}

/// What a response means for the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ok {
        status: u16,
    },
    /// Do not send again before `at_ms`; reschedule (an alarm), do not sleep.
    RetryAt {
        at_ms: i64,
        reason: RetryReason,
    },
    /// A fault that may clear by itself: retry at `retry_at_ms` (jittered exponential backoff).
    Transient {
        status: Option<u16>,
        retry_at_ms: i64,
    },
    /// Retrying the same request will not help.
    Permanent {
        status: u16,
        /// Discord's JSON error code, 0 when it sent none.
        code: u32,
        message: String,
        /// Discord's `errors` detail, kept verbatim (50035 names every bad field).
        errors: Option<Value>,
        /// Our stable code for the API.
        error_code: &'static str,
    },
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. })
    }

    /// `Ok(status)` for a success, otherwise the error the caller reports.
    pub fn into_result(self) -> Result<u16, DiscordError> {
        match self {
            Outcome::Ok { status } => Ok(status),
            Outcome::RetryAt { at_ms, reason } => {
                let (kind, code, message) = match reason {
                    RetryReason::Banned => (
                        ErrorKind::Banned,
                        "discord_banned",
                        "Discord's edge is refusing our requests (ban page)",
                    ),
                    RetryReason::GlobalLimited => (
                        ErrorKind::RateLimited,
                        "discord_rate_limited",
                        "global rate limit reached",
                    ),
                    RetryReason::SharedLimited => (
                        ErrorKind::RateLimited,
                        "discord_rate_limited",
                        "shared resource rate limit reached",
                    ),
                    RetryReason::RouteLimited => (
                        ErrorKind::RateLimited,
                        "discord_rate_limited",
                        "route rate limit reached",
                    ),
                };
                let mut e = DiscordError::new(kind, Cow::Borrowed(code), message.into());
                e.retry_at_ms = Some(at_ms);
                Err(e)
            }
            Outcome::Transient {
                status,
                retry_at_ms,
            } => {
                let message = match status {
                    Some(s) => format!("Discord answered {s}"),
                    None => String::from("no response from Discord"),
                };
                let mut e = DiscordError::new(
                    ErrorKind::Transient,
                    Cow::Borrowed("discord_unavailable"),
                    message,
                );
                e.status = status;
                e.retry_at_ms = Some(retry_at_ms);
                Err(e)
            }
            Outcome::Permanent {
                status,
                code,
                message,
                errors,
                error_code,
            } => {
                let kind = if status == 401 {
                    ErrorKind::Unauthorized
                } else {
                    ErrorKind::Permanent
                };
                let mut e = DiscordError::new(kind, Cow::Borrowed(error_code), message);
                e.status = Some(status);
                e.discord_code = (code != 0).then_some(code);
                e.errors = errors.map(Box::new);
                Err(e)
            }
        }
    }
}

/// Exponential backoff with "equal jitter": half the delay is fixed, half is random, so
/// retries of many jobs that failed together spread out but none retries immediately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backoff {
    pub base_ms: i64,
    pub cap_ms: i64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_ms: 1_000,
            cap_ms: 5 * 60_000,
        }
    }
}

impl Backoff {
    /// Delay before retry number `attempt` (0 for the first retry). `jitter` is a uniformly
    /// random `u32` the caller supplies, so tests choose it.
    pub fn delay_ms(&self, attempt: u32, jitter: u32) -> i64 {
        let base = self.base_ms.max(1);
        let cap = self.cap_ms.max(base);
        let exp = base.saturating_mul(1i64 << attempt.min(30)).min(cap);
        let half = exp / 2;
        half + ((half as u128 * jitter as u128) >> 32) as i64
    }
}

/// Context for [`classify`]: the injected clock and randomness.
#[derive(Debug, Clone, Copy)]
pub struct ClassifyContext {
    pub now_ms: i64,
    /// How many times this request has already been retried.
    pub attempt: u32,
    /// A uniformly random `u32` for the backoff jitter.
    pub jitter: u32,
    pub backoff: Backoff,
}

/// Shape of a response body, enough to tell Discord's JSON from a Cloudflare page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum BodyKind {
    Empty,
    /// JSON; `code` is Discord's error code when the body has one.
    Json {
        code: Option<u64>,
    },
    Html,
    Other,
}

impl BodyKind {
    pub fn of(content_type: Option<&str>, body: &[u8]) -> Self {
        let trimmed = body
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map(|i| &body[i..])
            .unwrap_or(&[]);
        if trimmed.is_empty() {
            return BodyKind::Empty;
        }
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        if ct.contains("text/html") || trimmed.first() == Some(&b'<') {
            return BodyKind::Html;
        }
        match serde_json::from_slice::<Value>(trimmed) {
            Ok(v) => BodyKind::Json {
                code: v.get("code").and_then(Value::as_u64),
            },
            Err(_) => BodyKind::Other,
        }
    }
}

/// A Cloudflare ban: a 429 or 403 whose body is an HTML page, or JSON with `code: 0`
/// (Discord's own "temporarily blocked" answer). Discord's real 403s carry a non-zero code
/// (50001, 50013 ...), and its rate-limit 429s carry no code or a non-zero one.
pub fn is_ban(status: u16, body: &BodyKind) -> bool {
    (status == 429 || status == 403)
        && matches!(body, BodyKind::Html | BodyKind::Json { code: Some(0) })
}

/// Classifies any response. Rate-limit state is the limiter's business
/// ([`crate::ratelimit::RateLimiter::observe`]); this only tells the caller what to do with
/// this answer.
pub fn classify(response: &Response, ctx: &ClassifyContext) -> Outcome {
    let status = response.status;
    if (200..300).contains(&status) {
        return Outcome::Ok { status };
    }
    let body_kind = BodyKind::of(response.header("content-type"), &response.body);
    let meta = crate::ratelimit::ResponseMeta::from_response(response);
    if is_ban(status, &body_kind) {
        let wait = meta.retry_after_ms.unwrap_or(ctx.backoff.base_ms).max(1);
        return Outcome::RetryAt {
            at_ms: ctx.now_ms.saturating_add(wait),
            reason: RetryReason::Banned,
        };
    }
    if status == 429 {
        let wait = meta
            .retry_after_ms
            .or(meta.reset_after_ms)
            .unwrap_or(1_000)
            .max(0);
        let reason = if meta.global || meta.scope == Some(crate::ratelimit::Scope::Global) {
            RetryReason::GlobalLimited
        } else if meta.scope == Some(crate::ratelimit::Scope::Shared) {
            RetryReason::SharedLimited
        } else {
            RetryReason::RouteLimited
        };
        return Outcome::RetryAt {
            at_ms: ctx.now_ms.saturating_add(wait),
            reason,
        };
    }
    if status >= 500 || status == 408 {
        return transient(Some(status), ctx);
    }
    let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
    let code = parsed
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(0);
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("Discord answered {status}"));
    let errors = parsed.as_ref().and_then(|v| v.get("errors")).cloned();
    Outcome::Permanent {
        status,
        code,
        message,
        errors,
        error_code: error_code_for(status, code),
    }
}

/// A request that got no answer (timeout, connection reset): transient.
pub fn classify_no_response(ctx: &ClassifyContext) -> Outcome {
    transient(None, ctx)
}

fn transient(status: Option<u16>, ctx: &ClassifyContext) -> Outcome {
    Outcome::Transient {
        status,
        retry_at_ms: ctx
            .now_ms
            .saturating_add(ctx.backoff.delay_ms(ctx.attempt, ctx.jitter)),
    }
}

/// Our stable code for a Discord refusal: Discord's JSON code first, the status otherwise.
pub fn error_code_for(status: u16, code: u32) -> &'static str {
    match code {
        10003 => "discord_unknown_channel",
        10004 => "discord_unknown_guild",
        10007 => "discord_unknown_member",
        10008 => "discord_unknown_message",
        10011 => "discord_unknown_role",
        10013 => "discord_unknown_user",
        10015 => "discord_unknown_webhook",
        20028 => "discord_channel_write_limited",
        30005 => "discord_max_guild_roles",
        30007 => "discord_max_webhooks",
        30058 => "discord_max_guild_webhooks",
        40001 => "discord_unauthorized",
        40005 => "discord_payload_too_large",
        40007 => "discord_user_banned",
        50001 => "discord_missing_access",
        50013 => "discord_missing_permissions",
        50025 => "discord_invalid_oauth_token",
        50027 => "discord_invalid_webhook_token",
        50035 => "discord_invalid_form_body",
        50045 => "discord_file_too_large",
        _ => match status {
            400 => "discord_bad_request",
            401 => "discord_unauthorized",
            403 => "discord_forbidden",
            404 => "discord_not_found",
            405 => "discord_method_not_allowed",
            413 => "discord_payload_too_large",
            _ => "discord_refused",
        },
    }
}

/// Parses a decimal number of seconds ("1", "0.25", "64.57") into whole milliseconds, rounding
/// up so a wait is never too short. Rejects negatives, non-numbers and absurd values.
pub fn parse_seconds_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.contains(['e', 'E']) {
        let v: f64 = s.parse().ok()?;
        if !v.is_finite() || !(0.0..1e9).contains(&v) {
            return None;
        }
        return Some((v * 1000.0).ceil() as i64);
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if int.len() > 9 {
        return None;
    }
    let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut ms = whole * 1000;
    let digits = frac.as_bytes();
    for (i, scale) in [100i64, 10, 1].iter().enumerate() {
        if let Some(d) = digits.get(i) {
            ms += (d - b'0') as i64 * scale;
        }
    }
    if digits.iter().skip(3).any(|d| *d != b'0') {
        ms += 1;
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ClassifyContext {
        ClassifyContext {
            now_ms: 1_000_000,
            attempt: 0,
            jitter: 0,
            backoff: Backoff::default(),
        }
    }

    fn json(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn seconds_parse_exactly_and_round_up() {
        assert_eq!(parse_seconds_ms("1"), Some(1000));
        assert_eq!(parse_seconds_ms("0.25"), Some(250));
        assert_eq!(parse_seconds_ms("64.57"), Some(64570));
        assert_eq!(parse_seconds_ms("1.0001"), Some(1001));
        assert_eq!(parse_seconds_ms("1.000"), Some(1000));
        assert_eq!(parse_seconds_ms(".5"), Some(500));
        assert_eq!(parse_seconds_ms("1e-3"), Some(1));
        for bad in ["", "-1", "abc", "1.2.3", ".", "nan", "1e99", "9999999999"] {
            assert_eq!(parse_seconds_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn permanent_errors_keep_discord_codes() {
        for (status, body, code, ours) in [
            (
                403,
                r#"{"message":"Missing Permissions","code":50013}"#,
                50013,
                "discord_missing_permissions",
            ),
            (
                403,
                r#"{"message":"Missing Access","code":50001}"#,
                50001,
                "discord_missing_access",
            ),
            (
                404,
                r#"{"message":"Unknown Channel","code":10003}"#,
                10003,
                "discord_unknown_channel",
            ),
            (
                404,
                r#"{"message":"Unknown Guild","code":10004}"#,
                10004,
                "discord_unknown_guild",
            ),
            (
                404,
                r#"{"message":"Unknown Webhook","code":10015}"#,
                10015,
                "discord_unknown_webhook",
            ),
            (
                413,
                r#"{"message":"Request entity too large","code":40005}"#,
                40005,
                "discord_payload_too_large",
            ),
            (
                400,
                r#"{"message":"Maximum number of webhooks reached (15)","code":30007}"#,
                30007,
                "discord_max_webhooks",
            ),
            (
                404,
                r#"{"message":"404: Not Found","code":0}"#,
                0,
                "discord_not_found",
            ),
        ] {
            match classify(&json(status, body), &ctx()) {
                Outcome::Permanent {
                    status: s,
                    code: c,
                    error_code,
                    ..
                } => {
                    assert_eq!((s, c, error_code), (status, code, ours), "{body}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_form_body_keeps_the_errors_detail() {
        let body = r#"{"code":50035,"errors":{"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 2000 or fewer in length."}]}},"message":"Invalid Form Body"}"#;
        let outcome = classify(&json(400, body), &ctx());
        let err = outcome.into_result().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert_eq!(err.error_code, "discord_invalid_form_body");
        assert_eq!(err.discord_code, Some(50035));
        assert_eq!(err.message, "Invalid Form Body");
        assert_eq!(
            err.errors.unwrap()["content"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
    }

    #[test]
    fn unauthorized_is_its_own_kind() {
        let err = classify(
            &json(401, r#"{"message":"401: Unauthorized","code":0}"#),
            &ctx(),
        )
        .into_result()
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unauthorized);
        assert_eq!(err.error_code, "discord_unauthorized");
        assert_eq!(err.discord_code, None);
        assert!(!err.kind.is_retryable());
    }

    #[test]
    fn server_errors_and_timeouts_back_off_with_injected_jitter() {
        let r = Response {
            status: 502,
            headers: vec![],
            body: b"bad gateway".to_vec(),
        };
        let low = classify(&r, &ClassifyContext { jitter: 0, ..ctx() });
        let high = classify(
            &r,
            &ClassifyContext {
                jitter: u32::MAX,
                ..ctx()
            },
        );
        assert_eq!(
            low,
            Outcome::Transient {
                status: Some(502),
                retry_at_ms: 1_000_500
            }
        );
        assert_eq!(
            high,
            Outcome::Transient {
                status: Some(502),
                retry_at_ms: 1_000_999
            }
        );
        let third = classify_no_response(&ClassifyContext {
            attempt: 3,
            ..ctx()
        });
        assert_eq!(
            third,
            Outcome::Transient {
                status: None,
                retry_at_ms: 1_004_000
            }
        );
        let err = third.into_result().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Transient);
        assert_eq!(err.error_code, "discord_unavailable");
    }

    #[test]
    fn backoff_is_capped_and_never_overflows() {
        let b = Backoff {
            base_ms: 1_000,
            cap_ms: 60_000,
        };
        assert_eq!(b.delay_ms(0, 0), 500);
        assert_eq!(b.delay_ms(1, 0), 1_000);
        assert_eq!(b.delay_ms(40, 0), 30_000);
        assert!(b.delay_ms(u32::MAX, u32::MAX) < 60_000);
    }

    #[test]
    fn rate_limited_answers_say_when() {
        let mut r = json(
            429,
            r#"{"message":"You are being rate limited.","retry_after":1.5,"global":false}"#,
        );
        r.headers.push(("x-ratelimit-scope".into(), "user".into()));
        assert_eq!(
            classify(&r, &ctx()),
            Outcome::RetryAt {
                at_ms: 1_001_500,
                reason: RetryReason::RouteLimited
            }
        );
        r.headers.push(("Retry-After".into(), "3".into()));
        assert_eq!(
            classify(&r, &ctx()),
            Outcome::RetryAt {
                at_ms: 1_003_000,
                reason: RetryReason::RouteLimited
            },
            "the Retry-After header overrides the body"
        );
        let g = json(
            429,
            r#"{"message":"global","retry_after":0.2,"global":true}"#,
        );
        assert!(matches!(
            classify(&g, &ctx()),
            Outcome::RetryAt {
                reason: RetryReason::GlobalLimited,
                ..
            }
        ));
        let mut s = json(
            429,
            r#"{"message":"shared","retry_after":9,"global":false}"#,
        );
        s.headers
            .push(("X-RateLimit-Scope".into(), "shared".into()));
        assert!(matches!(
            classify(&s, &ctx()),
            Outcome::RetryAt {
                reason: RetryReason::SharedLimited,
                ..
            }
        ));
    }

    #[test]
    fn ban_pages_are_recognised() {
        let html = Response {
            status: 429,
            headers: vec![("Content-Type".into(), "text/html; charset=UTF-8".into())],
            body: b"<!DOCTYPE html><title>Access denied | error 1015</title>".to_vec(),
        };
        assert!(matches!(
            classify(&html, &ctx()),
            Outcome::RetryAt {
                reason: RetryReason::Banned,
                ..
            }
        ));
        let bare = json(
            429,
            r#"{"message":"You are being blocked from accessing our API temporarily","code":0}"#,
        );
        assert!(matches!(
            classify(&bare, &ctx()),
            Outcome::RetryAt {
                reason: RetryReason::Banned,
                ..
            }
        ));
        let html403 = Response {
            status: 403,
            headers: vec![],
            body: b"  <html>blocked</html>".to_vec(),
        };
        assert!(is_ban(403, &BodyKind::of(None, &html403.body)));
        // Discord's own 403 and a plain rate limit are not bans.
        assert!(!is_ban(403, &BodyKind::Json { code: Some(50013) }));
        assert!(!is_ban(429, &BodyKind::Json { code: None }));
        assert!(!is_ban(500, &BodyKind::Html));
        assert_eq!(
            classify(&html403, &ctx()).into_result().unwrap_err().kind,
            ErrorKind::Banned
        );
    }
}
