//! `/v1/admin/tenants/{t}/signals`: recent signals from the D1 projection, newest first, paged
//! by `before`.

use relay_core::ids::ChannelMarker;
use relay_core::routes::SignalsRoute;
use relay_core::validate::FieldError;
use relay_core::ApiError;
use serde_json::{json, Value};
use worker::Request;

use super::lookup::{snowflake, tenant};
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, query, ApiResult, OrUnavailable};

pub async fn handle(req: &Request, cx: &Cx, db: &Db, t: &str, route: SignalsRoute) -> ApiResult {
    match route {
        SignalsRoute::Recent => recent(req, cx, db, t).await,
    }
}

async fn recent(req: &Request, cx: &Cx, db: &Db, t: &str) -> ApiResult {
    tenant(db, t).await?;
    let limit = match query(req, "limit") {
        None => 50,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_fields(vec![FieldError::new("limit", "must be 1..200")])
            })?,
    };
    let channel = match query(req, "channel_id") {
        Some(v) => Some(snowflake::<ChannelMarker>("channel_id", &v)?),
        None => None,
    };
    let before = match query(req, "before") {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            ApiError::invalid_fields(vec![FieldError::new(
                "before",
                "must be a created_at in Unix milliseconds",
            )])
        })?),
    };
    let connector_filter = query(req, "connector_id");
    let include_deleted = query(req, "include_deleted").as_deref() == Some("true");
    let rows = db
        .signals()
        .recent(
            t,
            channel.as_ref().map(|c| c.as_str()),
            connector_filter.as_deref(),
            before,
            include_deleted,
            limit,
        )
        .await
        .or_unavailable("signals")?;
    let mut signals: Vec<Value> = rows.iter().filter_map(|r| r.to_json()).collect();
    let media = crate::config::MediaConfig::from_env(&cx.env);
    for s in &mut signals {
        crate::media::link_views(&media, t, s);
    }
    let next_before = signals
        .last()
        .and_then(|v: &Value| v["created_at"].as_str())
        .and_then(relay_core::time::Timestamp::parse)
        .map(|t| t.ms());
    let more = signals.len() == limit;
    Ok(http::ok(
        &cx.cid,
        200,
        json!({ "signals": signals, "next_before": if more { next_before } else { None } }),
    ))
}
