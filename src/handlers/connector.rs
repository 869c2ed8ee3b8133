//! The connector protocol: runtime config and the three ingest routes.

use relay_core::etag::{if_none_match_hits, runtime_config_etag};
use relay_core::protocol::{
    check_scope, parse_discovery_sync, parse_message_batch, parse_thread_request,
};
use relay_core::rejection::{self, RejectedItem};
use relay_core::routes::ConnectorRoute;
use relay_core::ApiError;
use serde_json::{json, Value};
use worker::Request;

use super::context::Cx;
use crate::auth;
use crate::db::connectors::LAST_SEEN_EVERY_MS;
use crate::db::{ConnectorRow, Db};
use crate::durable_objects::tenant::api;
use crate::durable_objects::tenant::client::TenantClient;
use crate::http::{self, header, query, ApiResult, OrUnavailable};

thread_local! {
    /// When this isolate last wrote `last_seen_at`, per (tenant, connector): the row it
    /// authenticated with may come from the auth cache and predate that write.
    static TOUCHED: std::cell::RefCell<std::collections::HashMap<(String, String), i64>> =
        Default::default();
}

/// Notes contact from the connector after the response is sent — at most once a minute, so
/// the busy ingest path costs no D1 write per request.
fn touch_last_seen(cx: &Cx, row: &ConnectorRow) {
    let key = (row.tenant_key.clone(), row.connector_id.clone());
    let fresh = |t: i64| cx.now - t < LAST_SEEN_EVERY_MS;
    if row.last_seen_at.is_some_and(fresh)
        || TOUCHED.with(|m| m.borrow().get(&key).copied().is_some_and(fresh))
    {
        return;
    }
    TOUCHED.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 10_000 {
            m.clear();
        }
        m.insert(key, cx.now);
    });
    let env = cx.env.clone();
    let (tenant, connector, now) = (row.tenant_key.clone(), row.connector_id.clone(), cx.now);
    cx.ctx.wait_until(async move {
        if let Ok(db) = Db::new(&env) {
            if let Err(e) = db.connectors().touch_last_seen(&tenant, &connector, now).await {
                crate::runtime::log(
                    "warn",
                    "last_seen update failed",
                    json!({"tenant_key": tenant, "connector_id": connector, "error": e.to_string()}),
                );
            }
        }
    });
}

pub async fn handle(req: &mut Request, cx: &Cx, route: ConnectorRoute) -> ApiResult {
    match route {
        ConnectorRoute::RuntimeConfig { connector_id } => {
            runtime_config(req, cx, &connector_id).await
        }
        ConnectorRoute::IngestMessages => ingest_messages(req, cx).await,
        ConnectorRoute::IngestThread => ingest_thread(req, cx).await,
        ConnectorRoute::IngestDiscovery => ingest_discovery(req, cx).await,
    }
}

async fn runtime_config(req: &Request, cx: &Cx, path_connector: &str) -> ApiResult {
    let db = Db::new(&cx.env).or_unavailable("database")?;
    let row = auth::connector(req, &db).await?;
    if path_connector != row.connector_id {
        return Err(ApiError::forbidden(
            "connector_id in the path does not match this token's connector",
        ));
    }
    match query(req, "tenant_key") {
        None => {
            return Err(ApiError::invalid_fields(vec![
                relay_core::validate::FieldError::new("tenant_key", "query parameter is required"),
            ]))
        }
        Some(t) if t != row.tenant_key => {
            return Err(ApiError::forbidden(
                "tenant_key does not match this token's connector",
            ))
        }
        Some(_) => {}
    }
    touch_last_seen(cx, &row);

    let etag = runtime_config_etag(row.config_version, row.discovery_version);
    if if_none_match_hits(header(req, "if-none-match").as_deref(), &etag) {
        let resp = http::empty(&cx.cid, 304);
        let _ = resp.headers().set("etag", &etag);
        return Ok(resp);
    }
    let (sources, mappings) = (
        db.sources()
            .list(&row.tenant_key, &row.connector_id)
            .await
            .or_unavailable("sources")?,
        db.mappings()
            .list(&row.tenant_key, &row.connector_id)
            .await
            .or_unavailable("mappings")?,
    );
    let config = json!({
        "connector_id": row.connector_id,
        "tenant_key": row.tenant_key,
        "status": row.status,
        "config_version": row.config_version,
        "ingest_enabled": row.ingest_enabled != 0,
        "forward_enabled": row.forward_enabled != 0,
        "discovery_request": row.discovery_request_json(),
        "sources": sources.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
        "mappings": mappings.iter().map(|m| m.to_json()).collect::<Vec<_>>(),
    });
    let resp = http::ok(&cx.cid, 200, json!({ "config": config }));
    let _ = resp.headers().set("etag", &etag);
    Ok(resp)
}

/// Authenticates, refuses paused connectors, reads the body and checks its scope.
async fn ingest_prelude(req: &mut Request, cx: &Cx) -> ApiResult<(ConnectorRow, Value)> {
    let db = Db::new(&cx.env).or_unavailable("database")?;
    let row = auth::connector_cached(req, &db, cx.cfg.auth_cache_ms, cx.now).await?;
    auth::require_active(&row)?;
    let body = http::read_json(req, &cx.cfg).await?;
    check_scope(&body, &row.tenant_key, &row.connector_id)?;
    Ok((row, body))
}

/// The success body of every ingest route; `rejected` appears only when an item was refused
/// (field connectors ignore fields they do not know).
fn ingest_answer(cx: &Cx, mut body: Value, rejected: &[RejectedItem]) -> ApiResult {
    if !rejected.is_empty() {
        body["rejected"] = json!(rejection::public(rejected));
    }
    Ok(http::ok(&cx.cid, 200, body))
}

async fn ingest_messages(req: &mut Request, cx: &Cx) -> ApiResult {
    let (row, body) = ingest_prelude(req, cx).await?;
    let batch =
        parse_message_batch(&body, &cx.cfg.limits, cx.now).map_err(ApiError::invalid_fields)?;
    touch_last_seen(cx, &row);
    if batch.messages.is_empty() && batch.rejected.is_empty() {
        return Ok(http::ok(&cx.cid, 200, json!({"accepted": 0, "deduped": 0})));
    }
    let landings = media_landings(&batch.messages);
    let outcome = TenantClient::new(&cx.env, &row.tenant_key, &cx.cid)?
        .ingest_messages(&api::IngestMessages {
            connector_id: row.connector_id.clone(),
            messages: batch.messages,
            corrected: batch.corrected,
            rejected: batch.rejected.clone(),
            mirror: Some(api::MirrorRouting {
                forward_enabled: row.forward_enabled != 0,
                config_version: row.config_version,
            }),
        })
        .await?;
    // Only after the object committed (a refused batch lands nothing), and after the answer:
    // the connector never waits for the CDN. The claim makes a resent batch fetch nothing again.
    if !landings.is_empty() {
        cx.ctx.wait_until(crate::media::land(
            cx.env.clone(),
            row.tenant_key.clone(),
            landings,
        ));
    }
    ingest_answer(
        cx,
        json!({"accepted": outcome.accepted, "deduped": outcome.deduped, "seq": outcome.seq}),
        &batch.rejected,
    )
}

/// The attachments a batch carries, for the media store (deletes carry none worth keeping).
fn media_landings(messages: &[relay_core::protocol::MessageEvent]) -> Vec<crate::media::Landing> {
    messages
        .iter()
        .filter(|m| m.event_type != relay_core::protocol::MessageEventType::Delete)
        .flat_map(|m| {
            m.attachments
                .iter()
                .flatten()
                .map(|a| crate::media::Landing {
                    message_id: Some(m.discord_message_id.as_str().to_string()),
                    channel_id: Some(m.discord_channel_id.as_str().to_string()),
                    attachment: a.clone(),
                })
        })
        .collect()
}

async fn ingest_thread(req: &mut Request, cx: &Cx) -> ApiResult {
    let (row, body) = ingest_prelude(req, cx).await?;
    let thread = parse_thread_request(&body, &cx.cfg.limits).map_err(ApiError::invalid_fields)?;
    touch_last_seen(cx, &row);
    let outcome = TenantClient::new(&cx.env, &row.tenant_key, &cx.cid)?
        .ingest_thread(&api::IngestThread {
            connector_id: row.connector_id.clone(),
            event: thread.event,
            rejected: thread.rejected.clone(),
        })
        .await?;
    ingest_answer(
        cx,
        json!({"accepted": outcome.accepted, "deduped": outcome.deduped, "seq": outcome.seq}),
        &thread.rejected,
    )
}

async fn ingest_discovery(req: &mut Request, cx: &Cx) -> ApiResult {
    let (row, body) = ingest_prelude(req, cx).await?;
    let sync = parse_discovery_sync(&body, &cx.cfg.limits).map_err(ApiError::invalid_fields)?;
    touch_last_seen(cx, &row);
    if !sync.rejected.is_empty() {
        // Recorded before the snapshot is stored: should the store fail, the connector's retry
        // finds these already counted (each is recorded once).
        TenantClient::new(&cx.env, &row.tenant_key, &cx.cid)?
            .record_rejections(&api::RecordRejections {
                connector_id: row.connector_id.clone(),
                rejected: sync.rejected.clone(),
            })
            .await?;
    }
    let db = Db::new(&cx.env).or_unavailable("database")?;
    let (guilds, channels) = db
        .discovery()
        .store(&sync, cx.now)
        .await
        .or_unavailable("discovery store")?;
    ingest_answer(
        cx,
        json!({"accepted": guilds + channels, "guilds": guilds, "channels": channels, "deduped": 0}),
        &sync.rejected,
    )
}
