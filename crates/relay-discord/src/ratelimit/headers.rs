//! What the limiter needs from a response, as plain serialisable data: the worker builds it
//! from the `fetch` response and hands it to the Durable Object, which never sees the body.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{parse_seconds_ms, BodyKind};
use crate::transport::Response;

/// `X-RateLimit-Scope` of a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The bot or user's own per-route limit.
    User,
    /// The token's global limit.
    Global,
    /// A limit on a shared resource (for example a busy channel), not counted as invalid.
    Shared,
}

/// A response, reduced to what rate limiting depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseMeta {
    pub status: u16,
    /// `X-RateLimit-Bucket`.
    pub bucket: Option<String>,
    /// `X-RateLimit-Limit`.
    pub limit: Option<u32>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u32>,
    /// `X-RateLimit-Reset-After` in milliseconds, rounded up. `X-RateLimit-Reset` is ignored:
    /// it is absolute, and our clock and Discord's disagree.
    pub reset_after_ms: Option<i64>,
    /// `Retry-After` (header, which overrides everything), else the 429 body's `retry_after`.
    pub retry_after_ms: Option<i64>,
    /// `X-RateLimit-Global`, or the 429 body's `global`.
    pub global: bool,
    pub scope: Option<Scope>,
    pub body: BodyKind,
}

impl ResponseMeta {
    pub fn from_response(response: &Response) -> Self {
        let h = |name: &str| response.header(name).map(str::trim);
        let body = BodyKind::of(h("content-type"), &response.body);
        let json: Option<Value> = match body {
            BodyKind::Json { .. } if response.status == 429 => {
                serde_json::from_slice(&response.body).ok()
            }
            _ => None,
        };
        let body_retry = json
            .as_ref()
            .and_then(|v| v.get("retry_after"))
            .and_then(|v| match v {
                Value::Number(n) => parse_seconds_ms(&n.to_string()),
                Value::String(s) => parse_seconds_ms(s),
                _ => None,
            });
        let body_global = json
            .as_ref()
            .and_then(|v| v.get("global"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let bucket = h("x-ratelimit-bucket")
            .filter(|b| !b.is_empty() && b.len() <= 128)
            .map(str::to_string);
        ResponseMeta {
            status: response.status,
            bucket,
            limit: h("x-ratelimit-limit").and_then(|v| v.parse().ok()),
            remaining: h("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
            reset_after_ms: h("x-ratelimit-reset-after").and_then(parse_seconds_ms),
            retry_after_ms: h("retry-after").and_then(parse_seconds_ms).or(body_retry),
            global: body_global
                || h("x-ratelimit-global").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            scope: match h("x-ratelimit-scope")
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("user") => Some(Scope::User),
                Some("global") => Some(Scope::Global),
                Some("shared") => Some(Scope::Shared),
                _ => None,
            },
            body,
        }
    }

    /// Whether the response carries a complete bucket description.
    pub(crate) fn bucket_headers(&self) -> Option<(&str, u32, u32, i64)> {
        Some((
            self.bucket.as_deref()?,
            self.limit?,
            self.remaining?,
            self.reset_after_ms?,
        ))
    }

    pub(crate) fn has_any_rate_limit_header(&self) -> bool {
        self.bucket.is_some()
            || self.limit.is_some()
            || self.remaining.is_some()
            || self.reset_after_ms.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn reads_bucket_headers_in_any_case() {
        let meta = ResponseMeta::from_response(&response(
            200,
            &[
                ("X-RateLimit-Bucket", "abcd1234"),
                ("x-ratelimit-limit", "5"),
                ("X-RATELIMIT-REMAINING", "4"),
                ("X-RateLimit-Reset", "1470173023.123"),
                ("X-RateLimit-Reset-After", "1.997"),
            ],
            "{}",
        ));
        assert_eq!(meta.bucket_headers(), Some(("abcd1234", 5, 4, 1997)));
        assert_eq!(meta.retry_after_ms, None);
        assert!(!meta.global);
    }

    #[test]
    fn reads_429_details() {
        let meta = ResponseMeta::from_response(&response(
            429,
            &[
                ("content-type", "application/json"),
                ("X-RateLimit-Scope", "shared"),
                ("X-RateLimit-Bucket", "b"),
                ("X-RateLimit-Limit", "30"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset-After", "2"),
            ],
            r#"{"message":"You are being rate limited.","retry_after":41.5,"global":false}"#,
        ));
        assert_eq!(meta.scope, Some(Scope::Shared));
        assert_eq!(meta.retry_after_ms, Some(41_500), "the body's retry_after");
        assert_eq!(meta.reset_after_ms, Some(2_000));

        let global = ResponseMeta::from_response(&response(
            429,
            &[("Retry-After", "3"), ("X-RateLimit-Global", "true")],
            r#"{"message":"x","retry_after":2.2,"global":true}"#,
        ));
        assert!(global.global);
        assert_eq!(global.retry_after_ms, Some(3_000), "the header overrides");
        assert!(!global.has_any_rate_limit_header());
    }

    #[test]
    fn garbage_headers_are_ignored_not_fatal() {
        let meta = ResponseMeta::from_response(&response(
            200,
            &[
                ("X-RateLimit-Limit", "-1"),
                ("X-RateLimit-Remaining", "many"),
                ("X-RateLimit-Reset-After", "soon"),
                ("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
            ],
            "",
        ));
        assert_eq!(meta.limit, None);
        assert_eq!(meta.remaining, None);
        assert_eq!(meta.reset_after_ms, None);
        assert_eq!(meta.retry_after_ms, None);
        assert_eq!(meta.body, BodyKind::Empty);
    }
}
