//! Bearer authentication for connectors (hashed tokens in D1) and operators (`ADMIN_TOKEN`).

use relay_core::token::{bearer, hash_token, secrets_equal, verify_token};
use relay_core::ApiError;
use worker::Request;

use crate::config::secret;
use crate::handlers::Cx;
use crate::http::{header, ApiResult, OrUnavailable};
use crate::store::{ConnectorRow, Db};

/// Resolves the connector behind a bearer token. 401 when the header is missing or the token is
/// unknown; a paused connector is returned as is (callers decide: runtime config still answers,
/// ingest refuses with 403).
pub async fn connector(req: &Request, db: &Db) -> ApiResult<ConnectorRow> {
    let auth = header(req, "authorization");
    let token =
        bearer(auth.as_deref()).ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    let row = db
        .connector_by_token_hash(&hash_token(token))
        .await
        .or_unavailable("connector lookup")?
        .ok_or_else(|| ApiError::unauthorized("unknown connector token"))?;
    // The lookup matched by hash; compare again in constant time so the decision never rests on
    // an index probe alone.
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
