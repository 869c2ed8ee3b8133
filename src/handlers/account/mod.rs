//! The customer API under `/v1/account/{tenant}`: sessions in an `HttpOnly` cookie, CSRF on
//! every state-changing request, and nothing that reaches outside the session's own tenant and
//! customer. No admin credential is involved anywhere on this path.

use relay_core::routes::{AccountRoute, DiscordLinkRoute};
use relay_core::ApiError;
use worker::{Method, Request};

use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{ApiResult, OrUnavailable};

mod credentials;
mod dashboard;
mod discord;
mod guard;

use guard::check_origin;

pub use credentials::issue_reset;
pub use dashboard::channel_names;
pub use discord::states_json;
pub use guard::{not_signed_in, own_origin, signed_in, Signed};

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
        AccountRoute::Discord(r) => match r {
            DiscordLinkRoute::Status => discord::status(req, cx, &db, tenant).await,
            DiscordLinkRoute::Unlink => discord::unlink(req, cx, &db, tenant).await,
            DiscordLinkRoute::Start => discord::start(req, cx, &db, tenant).await,
            DiscordLinkRoute::Callback => discord::callback(req, cx, &db, tenant).await,
        },
    }
}
