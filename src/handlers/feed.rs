//! Live feed: ticket issuance and the WebSocket handshake, handed to the tenant object.

use relay_core::admin::parse_ticket_request;
use relay_core::encoding::hex;
use relay_core::routes::FeedRoute;
use relay_core::ticket::{self, TicketClaims, TICKET_VERSION};
use relay_core::time::Timestamp;
use relay_core::validate::FieldError;
use relay_core::{ApiError, ErrorKind};
use serde_json::json;
use worker::Request;

use super::context::Cx;
use crate::config::secret;
use crate::db::Db;
use crate::durable_objects::tenant::client::TenantClient;
use crate::http::{self, header, query, ApiResult, OrUnavailable};
use crate::runtime::random_bytes;

fn ticket_secret(cx: &Cx) -> ApiResult<String> {
    secret(&cx.env, "FEED_TICKET_SECRET").ok_or_else(|| {
        ApiError::unavailable("live feed is not configured (FEED_TICKET_SECRET is unset)")
            .with_code("feed_not_configured")
    })
}

pub async fn handle(req: &mut Request, cx: &Cx, route: FeedRoute) -> ApiResult {
    match route {
        FeedRoute::Ticket => issue_ticket(req, cx).await,
        FeedRoute::Connect => connect(req, cx).await,
    }
}

/// `POST /v1/feed-tickets` — admin-authorised for now; customer sessions will mint tickets
/// narrowed to their tier's channels through the same claims.
async fn issue_ticket(req: &mut Request, cx: &Cx) -> ApiResult {
    crate::auth::admin(req, cx)?;
    let body = http::read_json(req, &cx.cfg).await?;
    let ask = parse_ticket_request(&body).map_err(ApiError::invalid_fields)?;
    let db = Db::new(&cx.env).or_unavailable("database")?;
    if db
        .tenants()
        .get(&ask.tenant_key)
        .await
        .or_unavailable("tenant lookup")?
        .is_none()
    {
        return Err(ApiError::not_found("no such tenant").with_code("tenant_not_found"));
    }
    let secret = ticket_secret(cx)?;
    let ttl_ms = ask
        .ttl_seconds
        .map(|s| s * 1_000)
        .unwrap_or(cx.cfg.ticket_ttl_ms);
    let claims = TicketClaims {
        v: TICKET_VERSION,
        t: ask.tenant_key.clone(),
        c: ask.channels.clone(),
        e: cx.now + ttl_ms,
        n: hex(&random_bytes::<8>()),
        s: Some("admin".into()),
        u: None,
    };
    let ticket = ticket::sign(&claims, secret.as_bytes());
    let url = req.url().or_unavailable("request url")?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    let host = url.host_str().unwrap_or("localhost");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(http::ok(
        &cx.cid,
        201,
        json!({
            "ticket": ticket,
            "url": format!("{scheme}://{host}{port}/v1/feed?ticket={ticket}"),
            "expires_at": Timestamp::from_ms(claims.e).to_rfc3339(),
            "expires_at_ms": claims.e,
            "tenant_key": ask.tenant_key,
            "channels": ask.channels,
        }),
    ))
}

/// `GET /v1/feed?ticket=…[&since=<seq>]` with `Upgrade: websocket`.
async fn connect(req: &mut Request, cx: &Cx) -> ApiResult {
    let upgrade = header(req, "upgrade").unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(ApiError::new(
            ErrorKind::UpgradeRequired,
            "this endpoint speaks WebSocket; send Upgrade: websocket",
        ));
    }
    let raw = query(req, "ticket").ok_or_else(|| {
        ApiError::unauthorized("missing ticket; obtain one from POST /v1/feed-tickets")
            .with_code("ticket_invalid")
    })?;
    let secret = ticket_secret(cx)?;
    let claims = ticket::verify(&raw, secret.as_bytes(), cx.now).map_err(|e| {
        ApiError::unauthorized(match e {
            ticket::TicketError::Expired => "ticket expired; request a new one",
            _ => "ticket is not valid",
        })
        .with_code(e.code())
    })?;
    let since = match query(req, "since") {
        None => None,
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
            ApiError::invalid_fields(vec![FieldError::new(
                "since",
                "must be a non-negative integer sequence number",
            )])
        })?),
    };

    let mut query = format!("sub={}", claims.n);
    if let Some(since) = since {
        query.push_str(&format!("&since={since}"));
    }
    if let Some(channels) = &claims.c {
        let list: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
        query.push_str(&format!("&channels={}", list.join(",")));
    }
    if let Some(customer) = claims.customer() {
        query.push_str(&format!("&customer={customer}"));
        if let Some(until) = claims.u {
            query.push_str(&format!("&until={until}"));
        }
    }
    // One copy made by the runtime, rather than a boundary crossing per header: a reconnect
    // storm is a thousand of these.
    TenantClient::new(&cx.env, &claims.t, &cx.cid)?
        .feed(&query, req.headers().clone())
        .await
}
