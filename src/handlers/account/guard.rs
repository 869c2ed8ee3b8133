//! Who is asking: the request's own origin and the Origin check, the session behind the cookie
//! (for this tenant only), the CSRF token of state-changing requests, the caller's IP.

use relay_accounts::session::{self, Policy};
use relay_core::ApiError;
use worker::Request;

use crate::db::customers::CustomerRow;
use crate::db::sessions::SessionRow;
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{header, ApiResult, OrUnavailable};

/// `scheme://host[:port]` of the request itself.
pub fn own_origin(req: &Request) -> ApiResult<String> {
    let url = req.url().or_unavailable("request url")?;
    Ok(url.origin().ascii_serialization())
}

pub fn check_origin(req: &Request, cx: &Cx) -> ApiResult<()> {
    let own = own_origin(req)?;
    session::check_origin(
        header(req, "origin").as_deref(),
        &own,
        &cx.cfg.allowed_origins,
    )
    .map_err(|e| {
        ApiError::forbidden("cross-site request refused: send it from this site's pages")
            .with_code(e.code())
    })
}

pub fn policy(cx: &Cx) -> Policy {
    Policy {
        absolute_ms: cx.cfg.session_absolute_ms,
        idle_ms: cx.cfg.session_idle_ms,
        ..Policy::DEFAULT
    }
}

pub fn not_signed_in() -> ApiError {
    ApiError::unauthorized("sign in first").with_code("not_signed_in")
}

/// A session that still admits its holder, with its customer.
pub struct Signed {
    pub session: SessionRow,
    pub customer: CustomerRow,
}

/// The session behind the request's cookie, for this tenant only: a session of another tenant
/// is treated exactly like no session.
pub async fn signed_in(req: &Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult<Signed> {
    let cookies = header(req, "cookie").unwrap_or_default();
    let token = session::token_from_cookie_header(&cookies).ok_or_else(not_signed_in)?;
    let hash = session::token_hash(token);
    let row = db
        .sessions()
        .get(&hash)
        .await
        .or_unavailable("session lookup")?
        .filter(|r| r.tenant_key == tenant)
        .ok_or_else(not_signed_in)?;
    let p = policy(cx);
    row.lifetime()
        .check(&p, cx.now)
        .map_err(|_| not_signed_in())?;
    let customer = db
        .customers()
        .get(tenant, &row.customer_id)
        .await
        .or_unavailable("customer lookup")?
        .filter(|c| c.is_active())
        .ok_or_else(not_signed_in)?;
    if row.lifetime().should_touch(&p, cx.now) {
        db.sessions()
            .touch(&hash, cx.now)
            .await
            .or_unavailable("session touch")?;
    }
    Ok(Signed {
        session: row,
        customer,
    })
}

/// [`signed_in`] plus the session's CSRF token, for state-changing requests.
pub async fn signed_in_for_change(
    req: &Request,
    cx: &Cx,
    db: &Db,
    tenant: &str,
) -> ApiResult<Signed> {
    let s = signed_in(req, cx, db, tenant).await?;
    session::check_csrf_token(
        header(req, session::CSRF_HEADER).as_deref(),
        &s.session.csrf_token,
    )
    .map_err(|e| ApiError::forbidden("missing or wrong X-CSRF-Token").with_code(e.code()))?;
    Ok(s)
}

/// The caller's address for per-IP throttling (set by Cloudflare's edge; absent locally).
pub fn client_ip(req: &Request) -> String {
    header(req, "cf-connecting-ip")
        .map(|ip| ip.trim().to_string())
        .filter(|ip| !ip.is_empty() && ip.len() <= 64)
        .unwrap_or_else(|| "unknown".into())
}
