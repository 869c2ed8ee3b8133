//! What a signed-in customer reads: their access and channels, feed tickets narrowed to their
//! tier, and history in the same scope. The scope is derived from the session on every request;
//! nothing the client sends (a cursor, a channel) can widen it.

use std::collections::HashMap;

use relay_accounts::cursor::{self, Position};
use relay_core::ids::{ChannelId, MessageId};
use relay_core::ticket::{self, TicketClaims, TICKET_VERSION};
use relay_core::time::Timestamp;
use relay_core::validate::FieldError;
use relay_core::ApiError;
use serde_json::{json, Value};
use worker::Request;

use super::guard::{signed_in, signed_in_for_change};
use crate::accounts::{self, CustomerAccess};
use crate::config::secret;
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, query, ApiResult, OrUnavailable};
use crate::runtime::random_bytes;
use relay_core::encoding::hex;

fn no_access() -> ApiError {
    ApiError::forbidden("your account has no active access to any channel").with_code("no_access")
}

/// Channel id → (name, guild id, guild name) from every connector's discovery snapshot.
pub async fn channel_names(
    db: &Db,
    tenant: &str,
) -> ApiResult<HashMap<String, (String, String, Option<String>)>> {
    let mut out = HashMap::new();
    for c in db
        .connectors()
        .list(tenant)
        .await
        .or_unavailable("connectors")?
    {
        let guilds: HashMap<String, String> = db
            .discovery()
            .guilds(tenant, &c.connector_id)
            .await
            .or_unavailable("guilds")?
            .into_iter()
            .map(|g| (g.guild_id, g.name))
            .collect();
        for ch in db
            .discovery()
            .channels(tenant, &c.connector_id, None)
            .await
            .or_unavailable("channels")?
        {
            let gname = guilds.get(&ch.guild_id).cloned();
            out.entry(ch.channel_id)
                .or_insert((ch.name, ch.guild_id, gname));
        }
    }
    Ok(out)
}

/// `{available, locked}`: visible channels the tier sees, and those above it. Hidden ones are
/// not listed.
pub fn channels_json(
    a: &CustomerAccess,
    names: &HashMap<String, (String, String, Option<String>)>,
) -> Value {
    let rank = a.access.as_ref().map(|x| x.rank);
    let mut available = Vec::new();
    let mut locked = Vec::new();
    for v in &a.visibility {
        let Some(min) = v.min_tier.as_deref() else {
            continue;
        };
        let Some(tier) = a.tiers.iter().find(|t| t.tier_key == min) else {
            continue;
        };
        let (name, guild_id, guild_name) = match names.get(&v.channel_id) {
            Some((n, g, gn)) => (Some(n.clone()), Some(g.clone()), gn.clone()),
            None => (None, None, None),
        };
        let entry = json!({
            "channel_id": v.channel_id, "name": name, "guild_id": guild_id,
            "guild_name": guild_name, "min_tier": tier.to_json(),
        });
        if rank.is_some_and(|r| r >= tier.rank) {
            available.push(entry);
        } else {
            locked.push(entry);
        }
    }
    json!({"available": available, "locked": locked})
}

pub async fn me(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let s = signed_in(req, cx, db, tenant).await?;
    let a = accounts::access(db, tenant, &s.customer.customer_id, cx.now).await?;
    let names = channel_names(db, tenant).await?;
    Ok(http::ok(
        &cx.cid,
        200,
        json!({
            "customer": s.customer.to_json(),
            "access": a.access_json(cx.now),
            "channels": channels_json(&a, &names),
            "shop_url": Value::Null,
        }),
    ))
}

pub async fn feed_ticket(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let s = signed_in_for_change(req, cx, db, tenant).await?;
    let a = accounts::access(db, tenant, &s.customer.customer_id, cx.now).await?;
    if a.channels.is_empty() {
        return Err(no_access());
    }
    let secret = secret(&cx.env, "FEED_TICKET_SECRET").ok_or_else(|| {
        ApiError::unavailable("live feed is not configured (FEED_TICKET_SECRET is unset)")
            .with_code("feed_not_configured")
    })?;
    let channels: Vec<ChannelId> = a
        .channels
        .iter()
        .filter_map(|c| ChannelId::parse(c).ok())
        .collect();
    let claims = TicketClaims {
        v: TICKET_VERSION,
        t: tenant.to_string(),
        c: Some(channels.clone()),
        e: cx.now + cx.cfg.ticket_ttl_ms,
        n: hex(&random_bytes::<8>()),
        s: Some(format!("customer:{}", s.customer.customer_id)),
        u: a.next_change,
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
            "channels": a.channels,
        }),
    ))
}

pub async fn signals(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let s = signed_in(req, cx, db, tenant).await?;
    let mut errors = Vec::new();
    let limit = match query(req, "limit") {
        None => 50,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                errors.push(FieldError::new("limit", "must be an integer in 1..=100"));
                50
            }
        },
    };
    let before = match query(req, "before").filter(|v| !v.is_empty()) {
        None => None,
        Some(raw) => match cursor::decode(&raw) {
            Some(p) => Some(p),
            None => {
                errors.push(FieldError::new("before", "is not a cursor this API issued"));
                None
            }
        },
    };
    let channel = match query(req, "channel").filter(|v| !v.is_empty()) {
        None => None,
        Some(raw) => match ChannelId::parse(&raw) {
            Ok(c) => Some(c.as_str().to_string()),
            Err(_) => {
                errors.push(FieldError::new("channel", "must be a Discord channel id"));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let a = accounts::access(db, tenant, &s.customer.customer_id, cx.now).await?;
    if a.channels.is_empty() {
        return Err(no_access());
    }
    // A channel outside the tier's scope reads as empty, exactly like a quiet one.
    let scope: Vec<String> = match channel {
        Some(c) => a.channels.iter().filter(|x| **x == c).cloned().collect(),
        None => a.channels.clone(),
    };
    let rows = if scope.is_empty() {
        Vec::new()
    } else {
        db.signals()
            .history(
                tenant,
                &scope,
                before
                    .as_ref()
                    .map(|p| (p.created_at, p.message_id.as_str())),
                limit,
            )
            .await
            .or_unavailable("history")?
    };
    let next = if rows.len() == limit {
        rows.last().and_then(|r| {
            MessageId::parse(&r.message_id).ok().map(|message_id| {
                cursor::encode(&Position {
                    created_at: r.created_at,
                    message_id,
                })
            })
        })
    } else {
        None
    };
    let mut signals: Vec<Value> = rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.view_json).ok())
        .collect();
    // Only signals of channels the session may see are here: their links are theirs to have.
    let media = crate::config::MediaConfig::from_env(&cx.env);
    for s in &mut signals {
        crate::media::link_views(&media, tenant, s);
    }
    Ok(http::ok(
        &cx.cid,
        200,
        json!({"signals": signals, "next_cursor": next}),
    ))
}
