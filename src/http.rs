//! Request reading and response writing shared by all handlers.

use futures_util::StreamExt;
use relay_core::{ApiError, ErrorKind};
use serde::Serialize;
use serde_json::{Map, Value};
use worker::{Headers, Request, Response};

use crate::config::Config;

pub type ApiResult<T = Response> = Result<T, ApiError>;

/// How much of an oversized streamed body we read and discard before answering 413.
const DRAIN_BOUND: usize = 32 * 1024 * 1024;

/// Maps a runtime error from storage or a Durable Object call to a retryable 503: the request
/// was fine, our dependency was not.
pub trait OrUnavailable<T> {
    fn or_unavailable(self, what: &str) -> ApiResult<T>;
}

impl<T> OrUnavailable<T> for worker::Result<T> {
    fn or_unavailable(self, what: &str) -> ApiResult<T> {
        self.map_err(|e| {
            crate::runtime::log(
                "error",
                "dependency failure",
                serde_json::json!({"what": what, "error": e.to_string()}),
            );
            ApiError::unavailable(format!("{what} is temporarily unavailable; retry"))
                .with_code("storage_unavailable")
        })
    }
}

fn base_headers(cid: &str) -> Headers {
    let h = Headers::new();
    let _ = h.set("content-type", "application/json; charset=utf-8");
    let _ = h.set("cache-control", "no-store");
    let _ = h.set("x-correlation-id", cid);
    let _ = h.set("x-content-type-options", "nosniff");
    h
}

/// `{"ok": true, ...fields, "correlation_id": ...}`.
pub fn ok(cid: &str, status: u16, fields: Value) -> Response {
    let mut obj = Map::new();
    obj.insert("ok".into(), Value::Bool(true));
    if let Value::Object(extra) = fields {
        obj.extend(extra);
    }
    obj.insert("correlation_id".into(), Value::from(cid));
    raw_json(cid, status, &Value::Object(obj))
}

pub fn raw_json<T: Serialize>(cid: &str, status: u16, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    Response::from_bytes(bytes)
        .map(|r| r.with_status(status).with_headers(base_headers(cid)))
        .unwrap_or_else(|_| fallback(status))
}

pub fn error(cid: &str, err: &ApiError) -> Response {
    let resp = raw_json(cid, err.status(), &err.body(cid));
    let headers = resp.headers().clone();
    if err.kind == ErrorKind::Unavailable {
        let _ = headers.set("retry-after", "1");
    }
    if err.kind == ErrorKind::Unauthorized {
        let _ = headers.set("www-authenticate", "Bearer");
    }
    resp.with_headers(headers)
}

pub fn method_not_allowed(cid: &str, allow: &str) -> Response {
    let err = ApiError::new(
        ErrorKind::MethodNotAllowed,
        format!("method not allowed; this path accepts {allow}"),
    );
    let resp = error(cid, &err);
    let headers = resp.headers().clone();
    let _ = headers.set("allow", allow);
    resp.with_headers(headers)
}

/// Empty-bodied response (304, 204).
pub fn empty(cid: &str, status: u16) -> Response {
    let h = Headers::new();
    let _ = h.set("x-correlation-id", cid);
    let _ = h.set("cache-control", "no-store");
    Response::empty()
        .map(|r| r.with_status(status).with_headers(h))
        .unwrap_or_else(|_| fallback(status))
}

fn fallback(status: u16) -> Response {
    Response::empty()
        .expect("empty response")
        .with_status(status)
}

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// Reads the body, refusing more than `limit` bytes without buffering them.
pub async fn read_body(req: &mut Request, limit: usize) -> ApiResult<Vec<u8>> {
    let too_large = || {
        ApiError::new(
            ErrorKind::PayloadTooLarge,
            format!("request body exceeds {limit} bytes"),
        )
    };
    if let Some(len) = header(req, "content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        if len > limit {
            return Err(too_large());
        }
    }
    let mut stream = match req.stream() {
        Ok(s) => s,
        // No body at all.
        Err(_) => return Ok(Vec::new()),
    };
    let mut body = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        seen += chunk.len();
        if seen > limit {
            // Read and discard what the client is still sending (up to a bound) before the 413:
            // answering mid-upload breaks keep-alive clients' next request.
            if seen > DRAIN_BOUND {
                return Err(too_large());
            }
            body = Vec::new();
            continue;
        }
        body.extend_from_slice(&chunk);
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(body)
}

/// Requires a JSON content type when one is given (connectors always send it; a missing header
/// is tolerated for hand-written clients).
pub fn check_json_content_type(req: &Request) -> ApiResult<()> {
    match header(req, "content-type") {
        None => Ok(()),
        Some(ct) => {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if mime == "application/json" || mime.ends_with("+json") {
                Ok(())
            } else {
                Err(ApiError::new(
                    ErrorKind::UnsupportedMediaType,
                    format!("send Content-Type: application/json (got {mime})"),
                ))
            }
        }
    }
}

pub async fn read_json(req: &mut Request, cfg: &Config) -> ApiResult<Value> {
    check_json_content_type(req)?;
    let body = read_body(req, cfg.max_body_bytes).await?;
    relay_core::protocol::parse_json(&body)
}

/// Query parameter lookup (first occurrence).
pub fn query(req: &Request, name: &str) -> Option<String> {
    let url = req.url().ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

// ---------------------------------------------------------------------------------------------
// CORS

pub fn origin_allowed(cfg: &Config, origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    cfg.allowed_origins.iter().any(|o| o == "*" || o == origin)
}

/// Adds CORS headers to a response when the request's `Origin` is configured.
pub fn with_cors(resp: Response, req_origin: Option<&str>, cfg: &Config) -> Response {
    let Some(origin) = req_origin else {
        return resp;
    };
    if !origin_allowed(cfg, origin) {
        return resp;
    }
    let headers = resp.headers().clone();
    let _ = headers.set("access-control-allow-origin", origin);
    let _ = headers.set(
        "access-control-expose-headers",
        "etag, x-correlation-id, retry-after",
    );
    let _ = headers.append("vary", "Origin");
    resp.with_headers(headers)
}

/// Answers an `OPTIONS` preflight: allowed origins get the CORS grant, others a 403.
pub fn preflight(req: &Request, cfg: &Config, cid: &str) -> Response {
    match header(req, "origin") {
        Some(origin) if origin_allowed(cfg, &origin) => {
            let resp = empty(cid, 204);
            let h = resp.headers().clone();
            let _ = h.set("access-control-allow-origin", &origin);
            let _ = h.set(
                "access-control-allow-methods",
                "GET, POST, PUT, PATCH, DELETE, OPTIONS",
            );
            let _ = h.set(
                "access-control-allow-headers",
                "authorization, content-type, if-none-match, x-correlation-id",
            );
            let _ = h.set("access-control-max-age", "600");
            let _ = h.set("vary", "Origin");
            resp.with_headers(h)
        }
        Some(_) => error(
            cid,
            &ApiError::forbidden("this origin is not allowed to call the API")
                .with_code("cors_origin_not_allowed"),
        ),
        None => {
            let resp = empty(cid, 204);
            let h = resp.headers().clone();
            let _ = h.set("allow", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
            resp.with_headers(h)
        }
    }
}
