//! `.../connectors/{c}/mirroring[/...]`: a connector's mirroring panel, read from the
//! tenant's mirror object, and requeue of dead-lettered jobs. Forwarding on/off is the
//! connector's `forward_enabled` (`PATCH .../connectors/{c}`).

use relay_core::ids::ChannelId;
use relay_core::routes::MirroringRoute;
use relay_core::validate::FieldError;
use relay_core::ApiError;
use serde_json::{json, Value};
use worker::Request;

use super::lookup::{connector, snowflake};
use crate::db::{ConnectorRow, Db};
use crate::durable_objects::mirror::api::Requeue;
use crate::durable_objects::mirror::client::MirrorClient;
use crate::durable_objects::tenant::api::RoutingChanged;
use crate::durable_objects::tenant::client::TenantClient;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};

fn unavailable(e: worker::Error) -> ApiError {
    crate::runtime::log(
        "error",
        "dependency failure",
        json!({"what": "mirror object", "error": e.to_string()}),
    );
    ApiError::unavailable("the mirror object is temporarily unavailable; retry")
        .with_code("mirror_unavailable")
}

pub async fn handle(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    t: &str,
    c: &str,
    route: MirroringRoute,
) -> ApiResult {
    let row = connector(db, t, c).await?;
    let client = MirrorClient::new(&cx.env, t).map_err(unavailable)?;
    match route {
        MirroringRoute::Status => {
            let mappings = db.mappings().list(t, c).await.or_unavailable("mappings")?;
            let status = client.status(c).await.map_err(unavailable)?;
            let targets: Vec<Value> = mappings
                .iter()
                .map(|m| {
                    let q = status
                        .targets
                        .iter()
                        .find(|s| s.target_channel_id == m.target_channel_id);
                    json!({
                        "source_channel_id": m.source_channel_id,
                        "target_channel_id": m.target_channel_id,
                        "depth": q.map_or(0, |q| q.depth),
                        "retrying": q.map_or(0, |q| q.retrying),
                        "next_wake_ms": q.and_then(|q| q.next_wake_ms),
                        "webhook_id": q.and_then(|q| q.webhook_id.clone()),
                        "seats": q.map(|q| q.seats.clone()).unwrap_or_default(),
                        "dead_letters": q.map(|q| q.dead.iter().map(|d| json!({
                            "job_id": d.job.id,
                            "message_id": d.job.message_id,
                            "kind": d.job.kind,
                            "error_code": d.failure.error_code,
                            "reason": d.failure.reason,
                            "discord_code": d.failure.discord_code,
                            "at_ms": d.failure.at_ms,
                        })).collect::<Vec<_>>()).unwrap_or_default(),
                    })
                })
                .collect();
            let sum = |f: fn(&Value) -> u64| targets.iter().map(f).sum::<u64>();
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "mirroring": {
                        "forward_enabled": row.forward_enabled != 0,
                        "queue_depth": sum(|t| t["depth"].as_u64().unwrap_or(0)),
                        "retrying": sum(|t| t["retrying"].as_u64().unwrap_or(0)),
                        "dead_lettered": sum(|t| t["dead_letters"].as_array().map_or(0, |a| a.len() as u64)),
                        "held": sum(|t| t["seats"]["held"].as_u64().unwrap_or(0)),
                        "expired_while_paused": sum(|t| t["seats"]["expired_while_paused_total"].as_u64().unwrap_or(0)),
                        "would_hold": sum(|t| t["seats"]["would_hold_total"].as_u64().unwrap_or(0)),
                        "targets": targets,
                        "recent_jobs": status.recent,
                        "skipped": status.skipped,
                        "latency": status.latency,
                    }
                }),
            ))
        }
        MirroringRoute::RequeueAll => {
            let body = http::read_json(req, &cx.cfg).await.unwrap_or(Value::Null);
            let target = match body.get("target_channel_id") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(snowflake::<_>("target_channel_id", s)?),
                Some(_) => {
                    return Err(ApiError::invalid_fields(vec![FieldError::new(
                        "target_channel_id",
                        "must be a snowflake string",
                    )]))
                }
            };
            let r = client
                .requeue(&Requeue {
                    target_channel_id: target,
                    job_id: None,
                    connector_id: c.to_string(),
                })
                .await
                .map_err(|e| target_not_found(&e).unwrap_or_else(|| unavailable(e)))?;
            Ok(http::ok(&cx.cid, 200, json!({ "requeued": r.requeued })))
        }
        MirroringRoute::RequeueOne { target, job } => {
            let target: ChannelId = snowflake("target_channel_id", &target)?;
            let job: u64 = job.parse().map_err(|_| {
                ApiError::invalid_fields(vec![FieldError::new("job_id", "must be a job number")])
            })?;
            match client
                .requeue(&Requeue {
                    target_channel_id: Some(target),
                    job_id: Some(job),
                    connector_id: c.to_string(),
                })
                .await
            {
                Ok(r) => Ok(http::ok(&cx.cid, 200, json!({ "requeued": r.requeued }))),
                Err(e) if e.to_string().contains("mirror_job_not_found") => Err(
                    ApiError::not_found(format!("no dead-lettered job {job} in this target"))
                        .with_code("mirror_job_not_found"),
                ),
                Err(e) => Err(target_not_found(&e).unwrap_or_else(|| unavailable(e))),
            }
        }
    }
}

/// The mirror object's 404 for a target that is not one of the connector's.
fn target_not_found(e: &impl std::fmt::Display) -> Option<ApiError> {
    e.to_string().contains("mirror_target_not_found").then(|| {
        ApiError::not_found("no such target channel among this connector's mappings")
            .with_code("mirror_target_not_found")
    })
}

/// After a mapping, source or forwarding edit (`row` as it is now): ingest in this isolate
/// reads the connector again, the tenant object trusts no older config for its handoff (other
/// isolates' cached rows carry the old version for up to `AUTH_CACHE_SECONDS`; a message of a
/// just-mapped channel is handed over all the same), and the mirror object reloads its
/// mappings.
pub async fn routing_changed(cx: &Cx, tenant: &str, row: &ConnectorRow) {
    crate::auth::forget(tenant, &row.connector_id);
    let notice = RoutingChanged {
        connector_id: row.connector_id.clone(),
        config_version: row.config_version,
        forward_enabled: row.forward_enabled != 0,
    };
    let told = match TenantClient::new(&cx.env, tenant, &cx.cid) {
        Ok(c) => c.routing_changed(&notice).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = told {
        crate::runtime::log(
            "warn",
            "tenant object not told of a routing change; ingest follows within AUTH_CACHE_SECONDS",
            json!({"tenant_key": tenant, "connector_id": row.connector_id, "error": e.to_string()}),
        );
    }
    invalidate(cx, tenant).await;
}

/// The mirror object reloads its mappings before its next job (deliveries carry the config
/// version too; this covers retries on the alarm).
async fn invalidate(cx: &Cx, tenant: &str) {
    let result = match MirrorClient::new(&cx.env, tenant) {
        Ok(c) => c.invalidate().await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        crate::runtime::log(
            "warn",
            "mirror invalidation failed; mappings reload within a minute",
            json!({"tenant_key": tenant, "error": e.to_string()}),
        );
    }
}
