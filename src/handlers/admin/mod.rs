//! Operator API under `/v1/admin` (bearer `ADMIN_TOKEN`): tenants, connectors, sources,
//! mappings, discovery, and read access to signals and threads.

use relay_core::admin::{
    parse_connector_patch, parse_discovery_request, parse_mapping_upsert, parse_new_connector,
    parse_new_tenant, parse_source_upsert,
};
use relay_core::ids::{check_slug, Snowflake};
use relay_core::routes::Route;
use relay_core::token::{connector_token, hash_token, token_hint};
use relay_core::validate::FieldError;
use relay_core::ApiError;
use serde_json::{json, Value};
use worker::Request;

use super::Cx;
use crate::durable_objects::tenant::client::TenantClient;
use crate::http::{self, query, ApiResult, OrUnavailable};
use crate::runtime::random_bytes;
use crate::store::{ConnectorRow, Db, TenantRow};

async fn tenant(db: &Db, key: &str) -> ApiResult<TenantRow> {
    if check_slug(key).is_err() {
        return Err(ApiError::not_found("no such tenant").with_code("tenant_not_found"));
    }
    db.tenant(key)
        .await
        .or_unavailable("tenant lookup")?
        .ok_or_else(|| ApiError::not_found("no such tenant").with_code("tenant_not_found"))
}

async fn connector(db: &Db, t: &str, c: &str) -> ApiResult<ConnectorRow> {
    tenant(db, t).await?;
    let missing = || ApiError::not_found("no such connector").with_code("connector_not_found");
    if check_slug(c).is_err() {
        return Err(missing());
    }
    db.connector(t, c)
        .await
        .or_unavailable("connector lookup")?
        .ok_or_else(missing)
}

fn snowflake(field: &str, value: &str) -> ApiResult<Snowflake> {
    Snowflake::parse(value).map_err(|p| ApiError::invalid_fields(vec![FieldError::new(field, p)]))
}

fn new_token() -> String {
    connector_token(&random_bytes::<32>())
}

async fn reload(db: &Db, t: &str, c: &str) -> ApiResult<ConnectorRow> {
    db.connector(t, c)
        .await
        .or_unavailable("connector lookup")?
        .ok_or_else(|| ApiError::not_found("no such connector").with_code("connector_not_found"))
}

pub async fn handle(req: &mut Request, cx: &Cx, route: Route) -> ApiResult {
    let db = Db::new(&cx.env).or_unavailable("database")?;
    let now = cx.now;
    let ok = |status: u16, v: Value| Ok(http::ok(&cx.cid, status, v));
    match route {
        Route::Tenants => {
            let tenants = db.tenants().await.or_unavailable("tenants")?;
            ok(200, json!({ "tenants": tenants }))
        }
        Route::CreateTenant => {
            let body = http::read_json(req, &cx.cfg).await?;
            let t = parse_new_tenant(&body).map_err(ApiError::invalid_fields)?;
            if !db
                .insert_tenant(&t.tenant_key, &t.name, now)
                .await
                .or_unavailable("tenant insert")?
            {
                return Err(
                    ApiError::conflict("a tenant with this key exists").with_code("tenant_exists")
                );
            }
            ok(201, json!({ "tenant": tenant(&db, &t.tenant_key).await? }))
        }
        Route::Tenant { tenant: t } => {
            let row = tenant(&db, &t).await?;
            let connectors = db.connectors(&t).await.or_unavailable("connectors")?;
            ok(
                200,
                json!({
                    "tenant": row,
                    "connectors": connectors.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
                }),
            )
        }
        Route::Connectors { tenant: t } => {
            tenant(&db, &t).await?;
            let connectors = db.connectors(&t).await.or_unavailable("connectors")?;
            ok(
                200,
                json!({ "connectors": connectors.iter().map(|c| c.to_json()).collect::<Vec<_>>() }),
            )
        }
        Route::CreateConnector { tenant: t } => {
            tenant(&db, &t).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let c = parse_new_connector(&body).map_err(ApiError::invalid_fields)?;
            let token = new_token();
            if !db
                .insert_connector(
                    &t,
                    &c.connector_id,
                    &c.name,
                    &hash_token(&token),
                    &token_hint(&token),
                    now,
                )
                .await
                .or_unavailable("connector insert")?
            {
                return Err(
                    ApiError::conflict("a connector with this id exists in the tenant")
                        .with_code("connector_exists"),
                );
            }
            let row = reload(&db, &t, &c.connector_id).await?;
            ok(
                201,
                json!({
                    "connector": row.to_json(),
                    "token": token,
                    "token_notice": "store this token now: it is shown once and only its hash is kept",
                }),
            )
        }
        Route::Connector {
            tenant: t,
            connector: c,
        } => {
            let row = connector(&db, &t, &c).await?;
            let sources = db.sources(&t, &c).await.or_unavailable("sources")?;
            let mappings = db.mappings(&t, &c).await.or_unavailable("mappings")?;
            ok(
                200,
                json!({
                    "connector": row.to_json(),
                    "sources": sources.iter().map(|s| s.to_admin_json()).collect::<Vec<_>>(),
                    "mappings": mappings.iter().map(|m| m.to_admin_json()).collect::<Vec<_>>(),
                }),
            )
        }
        Route::PatchConnector {
            tenant: t,
            connector: c,
        } => {
            connector(&db, &t, &c).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let patch = parse_connector_patch(&body).map_err(ApiError::invalid_fields)?;
            db.patch_connector(&t, &c, &patch, now)
                .await
                .or_unavailable("connector update")?;
            crate::auth::forget(&t, &c);
            ok(
                200,
                json!({ "connector": reload(&db, &t, &c).await?.to_json() }),
            )
        }
        Route::RotateToken {
            tenant: t,
            connector: c,
        } => {
            connector(&db, &t, &c).await?;
            let token = new_token();
            db.set_token(&t, &c, &hash_token(&token), &token_hint(&token), now)
                .await
                .or_unavailable("token rotation")?;
            crate::auth::forget(&t, &c);
            ok(
                200,
                json!({
                    "connector": reload(&db, &t, &c).await?.to_json(),
                    "token": token,
                    "token_notice": "the previous token stopped working; this one is shown once",
                }),
            )
        }
        Route::Pause {
            tenant: t,
            connector: c,
        }
        | Route::Resume {
            tenant: t,
            connector: c,
        } => {
            let pausing = matches!(req.path().rsplit('/').next(), Some("pause"));
            connector(&db, &t, &c).await?;
            db.set_status(&t, &c, if pausing { "paused" } else { "active" }, now)
                .await
                .or_unavailable("status update")?;
            crate::auth::forget(&t, &c);
            ok(
                200,
                json!({ "connector": reload(&db, &t, &c).await?.to_json() }),
            )
        }
        Route::Sources {
            tenant: t,
            connector: c,
        } => {
            connector(&db, &t, &c).await?;
            let sources = db.sources(&t, &c).await.or_unavailable("sources")?;
            ok(
                200,
                json!({ "sources": sources.iter().map(|s| s.to_admin_json()).collect::<Vec<_>>() }),
            )
        }
        Route::PutSource {
            tenant: t,
            connector: c,
            channel,
        } => {
            let channel = snowflake("channel_id", &channel)?;
            connector(&db, &t, &c).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let src = parse_source_upsert(&body).map_err(ApiError::invalid_fields)?;
            db.upsert_source(&t, &c, channel.as_str(), &src, now)
                .await
                .or_unavailable("source upsert")?;
            let row = reload(&db, &t, &c).await?;
            let source = db
                .sources(&t, &c)
                .await
                .or_unavailable("sources")?
                .into_iter()
                .find(|s| s.channel_id == channel.as_str())
                .map(|s| s.to_admin_json());
            ok(
                200,
                json!({ "source": source, "config_version": row.config_version }),
            )
        }
        Route::DeleteSource {
            tenant: t,
            connector: c,
            channel,
        } => {
            let channel = snowflake("channel_id", &channel)?;
            connector(&db, &t, &c).await?;
            let (removed, mappings_removed) = db
                .delete_source(&t, &c, channel.as_str(), now)
                .await
                .or_unavailable("source delete")?;
            if !removed {
                return Err(ApiError::not_found("no such source").with_code("source_not_found"));
            }
            let row = reload(&db, &t, &c).await?;
            ok(
                200,
                json!({
                    "removed": true,
                    "mappings_removed": mappings_removed,
                    "config_version": row.config_version,
                }),
            )
        }
        Route::Mappings {
            tenant: t,
            connector: c,
        } => {
            connector(&db, &t, &c).await?;
            let mappings = db.mappings(&t, &c).await.or_unavailable("mappings")?;
            ok(
                200,
                json!({ "mappings": mappings.iter().map(|m| m.to_admin_json()).collect::<Vec<_>>() }),
            )
        }
        Route::PutMapping {
            tenant: t,
            connector: c,
            source,
            target,
        } => {
            let source = snowflake("source_channel_id", &source)?;
            let target = snowflake("target_channel_id", &target)?;
            connector(&db, &t, &c).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let m = parse_mapping_upsert(&body).map_err(ApiError::invalid_fields)?;
            // Mappings only connect channels the operator made available in the right role.
            let sources = db.sources(&t, &c).await.or_unavailable("sources")?;
            let find = |id: &Snowflake| sources.iter().find(|s| s.channel_id == id.as_str());
            match find(&source) {
                Some(s) if s.is_source != 0 && s.is_enabled != 0 => {}
                _ => {
                    return Err(ApiError::conflict(format!(
                        "channel {source} is not an enabled source of this connector; add it with is_source first"
                    ))
                    .with_code("source_channel_unavailable"))
                }
            }
            match find(&target) {
                Some(s) if s.is_target != 0 && s.is_enabled != 0 => {}
                _ => {
                    return Err(ApiError::conflict(format!(
                        "channel {target} is not an enabled target of this connector; add it with is_target first"
                    ))
                    .with_code("target_channel_unavailable"))
                }
            }
            db.upsert_mapping(&t, &c, source.as_str(), target.as_str(), &m, now)
                .await
                .or_unavailable("mapping upsert")?;
            let row = reload(&db, &t, &c).await?;
            let mapping = db
                .mappings(&t, &c)
                .await
                .or_unavailable("mappings")?
                .into_iter()
                .find(|x| {
                    x.source_channel_id == source.as_str() && x.target_channel_id == target.as_str()
                })
                .map(|x| x.to_admin_json());
            ok(
                200,
                json!({ "mapping": mapping, "config_version": row.config_version }),
            )
        }
        Route::DeleteMapping {
            tenant: t,
            connector: c,
            source,
            target,
        } => {
            let source = snowflake("source_channel_id", &source)?;
            let target = snowflake("target_channel_id", &target)?;
            connector(&db, &t, &c).await?;
            if !db
                .delete_mapping(&t, &c, source.as_str(), target.as_str(), now)
                .await
                .or_unavailable("mapping delete")?
            {
                return Err(ApiError::not_found("no such mapping").with_code("mapping_not_found"));
            }
            let row = reload(&db, &t, &c).await?;
            ok(
                200,
                json!({ "removed": true, "config_version": row.config_version }),
            )
        }
        Route::DiscoveryRequest {
            tenant: t,
            connector: c,
        } => {
            connector(&db, &t, &c).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let guild = parse_discovery_request(&body).map_err(ApiError::invalid_fields)?;
            db.request_discovery(&t, &c, guild.as_ref().map(|g| g.as_str()), now)
                .await
                .or_unavailable("discovery request")?;
            let row = reload(&db, &t, &c).await?;
            ok(
                202,
                json!({
                    "discovery_request": row.discovery_status_json(),
                    "config_version": row.config_version,
                }),
            )
        }
        Route::Guilds {
            tenant: t,
            connector: c,
        } => {
            connector(&db, &t, &c).await?;
            let guilds = db.guilds(&t, &c).await.or_unavailable("guilds")?;
            ok(200, json!({ "guilds": guilds }))
        }
        Route::Channels {
            tenant: t,
            connector: c,
        } => {
            connector(&db, &t, &c).await?;
            let guild = match query(req, "guild_id") {
                Some(g) => Some(snowflake("guild_id", &g)?),
                None => None,
            };
            let channels = db
                .channels(&t, &c, guild.as_ref().map(|g| g.as_str()))
                .await
                .or_unavailable("channels")?;
            ok(200, json!({ "channels": channels }))
        }
        Route::Signals { tenant: t } => {
            tenant(&db, &t).await?;
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
                Some(v) => Some(snowflake("channel_id", &v)?),
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
                .recent_signals(
                    &t,
                    channel.as_ref().map(|c| c.as_str()),
                    connector_filter.as_deref(),
                    before,
                    include_deleted,
                    limit,
                )
                .await
                .or_unavailable("signals")?;
            let signals: Vec<Value> = rows
                .iter()
                .filter_map(|r| {
                    let mut v: Value = serde_json::from_str(r.view_json.as_deref()?).ok()?;
                    v["seq"] = json!(r.seq);
                    Some(v)
                })
                .collect();
            let next_before = signals
                .last()
                .and_then(|v: &Value| v["created_at"].as_str())
                .and_then(relay_core::time::Timestamp::parse)
                .map(|t| t.ms());
            let more = signals.len() == limit;
            ok(
                200,
                json!({ "signals": signals, "next_before": if more { next_before } else { None } }),
            )
        }
        Route::Threads { tenant: t } => {
            tenant(&db, &t).await?;
            let rows = db.recent_threads(&t, 100).await.or_unavailable("threads")?;
            let threads: Vec<Value> = rows
                .iter()
                .filter_map(|r| {
                    let mut v: Value = serde_json::from_str(r.view_json.as_deref()?).ok()?;
                    v["seq"] = json!(r.seq);
                    Some(v)
                })
                .collect();
            ok(200, json!({ "threads": threads }))
        }
        Route::FeedStats { tenant: t } => {
            tenant(&db, &t).await?;
            let stats = TenantClient::new(&cx.env, &t, &cx.cid)?.stats().await?;
            ok(200, json!({ "stats": stats }))
        }
        Route::Rejections {
            tenant: t,
            connector: c,
        } => {
            connector(&db, &t, &c).await?;
            let report = TenantClient::new(&cx.env, &t, &cx.cid)?
                .rejections(&c)
                .await?;
            ok(200, json!({ "rejections": report }))
        }
        other => Err(ApiError::internal(format!(
            "route {other:?} has no admin handler"
        ))),
    }
}
