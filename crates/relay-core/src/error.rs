//! The API's error vocabulary: one enum, each kind with a fixed HTTP status and a stable
//! `error_code`. Connectors decide whether to retry from the status alone (4xx: drop, 429/5xx:
//! retry), so the mapping here is part of the wire contract and must not drift.

use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

use crate::validate::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Invalid JSON or an invalid field. Terminal for connectors.
    BadRequest,
    /// Missing, unknown or wrong credentials.
    Unauthorized,
    /// Authenticated, but the request reaches outside the caller's scope.
    Forbidden,
    /// The connector exists but an operator paused it.
    ConnectorPaused,
    NotFound,
    /// It existed and is gone for good (an expired media link).
    Gone,
    MethodNotAllowed,
    /// The resource already exists, or the change conflicts with current state.
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Too many attempts (login, signup, reset requests); `Retry-After` says when to retry.
    TooManyRequests,
    /// A WebSocket endpoint reached without `Upgrade: websocket`.
    UpgradeRequired,
    /// Our own transient fault (storage, a dependency). Retryable.
    Unavailable,
    /// A bug of ours. Retryable from the client's point of view: it was not their mistake.
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden | ErrorKind::ConnectorPaused => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Gone => 410,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::Conflict => 409,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::UpgradeRequired => 426,
            ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
        }
    }

    pub fn default_code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::ConnectorPaused => "connector_paused",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Gone => "gone",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::TooManyRequests => "throttled",
            ErrorKind::UpgradeRequired => "upgrade_required",
            ErrorKind::Internal => "internal_error",
            ErrorKind::Unavailable => "unavailable",
        }
    }

    /// Whether a client should retry the same request later.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Unavailable | ErrorKind::Internal)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub code: Cow<'static, str>,
    pub message: String,
    /// Every malformed field, for 400s.
    pub details: Vec<FieldError>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            code: Cow::Borrowed(kind.default_code()),
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// A more specific stable code than the kind's default (for example `ticket_expired`).
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Cow::Borrowed(code);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    /// A 400 naming every malformed field; the message lists the first few so a human reading
    /// only the message still learns which field is wrong.
    pub fn invalid_fields(details: Vec<FieldError>) -> Self {
        let shown: Vec<String> = details.iter().take(5).map(|e| e.to_string()).collect();
        let more = details.len().saturating_sub(5);
        let mut message = format!("invalid payload: {}", shown.join("; "));
        if more > 0 {
            message.push_str(&format!(" (and {more} more)"));
        }
        ApiError {
            kind: ErrorKind::BadRequest,
            code: Cow::Borrowed("bad_request"),
            message,
            details,
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The JSON body every failure carries (`ok: false`, `error_code`, `message`,
    /// `correlation_id`, and `details` when fields were named).
    pub fn body<'a>(&'a self, correlation_id: &'a str) -> ErrorBody<'a> {
        ErrorBody {
            ok: false,
            error_code: &self.code,
            message: &self.message,
            correlation_id,
            details: &self.details,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status(), self.message)
    }
}

impl std::error::Error for ApiError {}

#[derive(Serialize)]
pub struct ErrorBody<'a> {
    pub ok: bool,
    pub error_code: &'a str,
    pub message: &'a str,
    pub correlation_id: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    pub details: &'a [FieldError],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_connector_retry_contract() {
        // Client mistakes are 4xx (terminal), our faults are 5xx (retried).
        for kind in [
            ErrorKind::BadRequest,
            ErrorKind::Unauthorized,
            ErrorKind::Forbidden,
            ErrorKind::ConnectorPaused,
            ErrorKind::NotFound,
            ErrorKind::Gone,
            ErrorKind::MethodNotAllowed,
            ErrorKind::Conflict,
            ErrorKind::PayloadTooLarge,
            ErrorKind::UnsupportedMediaType,
            ErrorKind::UpgradeRequired,
            ErrorKind::TooManyRequests,
        ] {
            assert!((400..500).contains(&kind.status()), "{kind:?}");
            assert!(!kind.is_retryable());
        }
        for kind in [ErrorKind::Unavailable, ErrorKind::Internal] {
            assert!(kind.status() >= 500, "{kind:?}");
            assert!(kind.is_retryable());
        }
    }

    #[test]
    fn body_shape_matches_protocol() {
        let err = ApiError::invalid_fields(vec![FieldError::new(
            "messages[0].discord_message_id",
            "must be a decimal string",
        )]);
        let body = serde_json::to_value(err.body("c-1")).unwrap();
        assert_eq!(body["ok"], false);
        assert_eq!(body["error_code"], "bad_request");
        assert_eq!(body["correlation_id"], "c-1");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("messages[0].discord_message_id"));
        assert_eq!(
            body["details"][0]["field"],
            "messages[0].discord_message_id"
        );
    }

    #[test]
    fn custom_code_keeps_status() {
        let err = ApiError::unauthorized("expired").with_code("ticket_expired");
        assert_eq!(err.status(), 401);
        assert_eq!(err.code, "ticket_expired");
    }
}
