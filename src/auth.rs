//! Bearer authentication for connectors (hashed tokens in D1) and operators (`ADMIN_TOKEN`).

use std::cell::RefCell;
use std::collections::HashMap;

use relay_core::token::{bearer, hash_token, secrets_equal, verify_token};
use relay_core::ApiError;
use worker::Request;

use crate::config::secret;
use crate::db::{ConnectorRow, Db};
use crate::handlers::Cx;
use crate::http::{header, ApiResult, OrUnavailable};

/// Resolves the connector behind a bearer token. 401 when the header is missing or the token is
/// unknown; a paused connector is returned as is (callers decide: runtime config still answers,
/// ingest refuses with 403).
pub async fn connector(req: &Request, db: &Db) -> ApiResult<ConnectorRow> {
    let token = presented(req)?;
    let row = lookup(db, &hash_token(&token)).await?;
    check(&token, row)
}

/// Like [`connector`], but may answer from this isolate's short-lived cache of recent lookups:
/// ingest is latency-critical and a D1 round trip per batch is the largest part of the edge's
/// work. A pause, resume or rotation clears the entry in the isolate that made it; other
/// isolates notice within `AUTH_CACHE_SECONDS` (default 5). Unknown tokens are never cached.
pub async fn connector_cached(
    req: &Request,
    db: &Db,
    ttl_ms: i64,
    now: i64,
) -> ApiResult<ConnectorRow> {
    let token = presented(req)?;
    let hash = hash_token(&token);
    if ttl_ms > 0 {
        let hit = CACHE.with(|c| {
            c.borrow()
                .get(&hash)
                .filter(|(_, at)| now - at < ttl_ms)
                .map(|(row, _)| row.clone())
        });
        if let Some(row) = hit {
            return check(&token, row);
        }
    }
    let row = lookup(db, &hash).await?;
    if ttl_ms > 0 {
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= CACHE_MAX {
                c.clear();
            }
            c.insert(hash, (row.clone(), now));
        });
    }
    check(&token, row)
}

/// Drops cached lookups of one connector (after it was paused, resumed, rotated or edited).
pub fn forget(tenant: &str, connector: &str) {
    CACHE.with(|c| {
        c.borrow_mut()
            .retain(|_, (row, _)| !(row.tenant_key == tenant && row.connector_id == connector))
    });
}

const CACHE_MAX: usize = 10_000;

thread_local! {
    static CACHE: RefCell<HashMap<String, (ConnectorRow, i64)>> = RefCell::new(HashMap::new());
}

fn presented(req: &Request) -> ApiResult<String> {
    let auth = header(req, "authorization");
    bearer(auth.as_deref())
        .map(str::to_string)
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))
}

async fn lookup(db: &Db, hash: &str) -> ApiResult<ConnectorRow> {
    db.connectors()
        .by_token_hash(hash)
        .await
        .or_unavailable("connector lookup")?
        .ok_or_else(|| ApiError::unauthorized("unknown connector token"))
}

/// The lookup matched by hash; compare again in constant time so the decision never rests on
/// an index probe or a cache key alone.
fn check(token: &str, row: ConnectorRow) -> ApiResult<ConnectorRow> {
    if !verify_token(token, &row.token_hash) {
        return Err(ApiError::unauthorized("unknown connector token"));
    }
    Ok(row)
}

pub fn require_active(row: &ConnectorRow) -> ApiResult<()> {
    if row.is_paused() {
        return Err(ApiError::new(
            relay_core::ErrorKind::ConnectorPaused,
            "this connector is paused by an operator",
        ));
    }
    Ok(())
}

/// Operator access. With no `ADMIN_TOKEN` configured the admin API is closed (503: it is our
/// configuration that is missing, not the caller's mistake).
pub fn admin(req: &Request, cx: &Cx) -> ApiResult<()> {
    let expected = secret(&cx.env, "ADMIN_TOKEN").ok_or_else(|| {
        ApiError::unavailable("the admin API is not configured (ADMIN_TOKEN is unset)")
            .with_code("admin_not_configured")
    })?;
    let auth = header(req, "authorization");
    let token =
        bearer(auth.as_deref()).ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    if secrets_equal(token, &expected) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("invalid admin token"))
    }
}
