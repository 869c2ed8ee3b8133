//! The customer API under `/v1/account/{tenant}`: sessions in an `HttpOnly` cookie, CSRF on
//! every state-changing request, and nothing that reaches outside the session's own tenant and
//! customer. No admin credential is involved anywhere on this path.

use relay_accounts::session::{self, Policy};
use relay_core::routes::AccountRoute;
use relay_core::ApiError;
use worker::{Method, Request};

use crate::db::customers::CustomerRow;
use crate::db::sessions::SessionRow;
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{header, ApiResult, OrUnavailable};

mod credentials;
mod dashboard;

pub use credentials::issue_reset;
pub use dashboard::channel_names;

pub async fn handle(req: &mut Request, cx: &Cx, tenant: &str, route: AccountRoute) -> ApiResult {
    let db = Db::new(&cx.env).or_unavailable("database")?;
    // The Origin check comes before anything is read or counted: a cross-site form post is
    // refused without touching an account or a throttle counter.
    if !matches!(req.method(), Method::Get | Method::Head) {
        check_origin(req, cx)?;
    }
    if relay_core::ids::check_slug(tenant).is_err()
        || db
            .tenants()
            .get(tenant)
            .await
            .or_unavailable("tenant lookup")?
            .is_none()
    {
        return Err(ApiError::not_found("no such tenant").with_code("tenant_not_found"));
    }
    match route {
        AccountRoute::Signup => credentials::signup(req, cx, &db, tenant).await,
        AccountRoute::Login => credentials::login(req, cx, &db, tenant).await,
        AccountRoute::Logout => credentials::logout(req, cx, &db, tenant).await,
        AccountRoute::Session => credentials::session(req, cx, &db, tenant).await,
        AccountRoute::ChangePassword => credentials::change_password(req, cx, &db, tenant).await,
        AccountRoute::RequestReset => credentials::request_reset(req, cx, &db, tenant).await,
        AccountRoute::Reset => credentials::reset(req, cx, &db, tenant).await,
        AccountRoute::Me => dashboard::me(req, cx, &db, tenant).await,
        AccountRoute::FeedTicket => dashboard::feed_ticket(req, cx, &db, tenant).await,
        AccountRoute::Signals => dashboard::signals(req, cx, &db, tenant).await,
    }
}

/// `scheme://host[:port]` of the request itself.
pub fn own_origin(req: &Request) -> ApiResult<String> {
    let url = req.url().or_unavailable("request url")?;
    Ok(url.origin().ascii_serialization())
}

fn check_origin(req: &Request, cx: &Cx) -> ApiResult<()> {
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
