//! `/v1/admin/tenants/{t}/connectors[/{c}[/rotate-token | /pause | /resume]]`.

use relay_core::admin::{parse_connector_patch, parse_new_connector};
use relay_core::routes::ConnectorsRoute;
use relay_core::token::{connector_token, hash_token, token_hint};
use relay_core::ApiError;
use serde_json::json;
use worker::Request;

use super::lookup::{connector, reload, tenant};
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};
use crate::runtime::random_bytes;

fn new_token() -> String {
    connector_token(&random_bytes::<32>())
}

pub async fn handle(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    t: &str,
    route: ConnectorsRoute,
) -> ApiResult {
    let now = cx.now;
    match route {
        ConnectorsRoute::List => {
            tenant(db, t).await?;
            let connectors = db.connectors().list(t).await.or_unavailable("connectors")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "connectors": connectors.iter().map(|c| c.to_json()).collect::<Vec<_>>() }),
            ))
        }
        ConnectorsRoute::Create => {
            tenant(db, t).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let c = parse_new_connector(&body).map_err(ApiError::invalid_fields)?;
            let token = new_token();
            if !db
                .connectors()
                .insert(
                    t,
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
            let row = reload(db, t, &c.connector_id).await?;
            Ok(http::ok(
                &cx.cid,
                201,
                json!({
                    "connector": row.to_json(),
                    "token": token,
                    "token_notice": "store this token now: it is shown once and only its hash is kept",
                }),
            ))
        }
        ConnectorsRoute::Get { connector: c } => {
            let row = connector(db, t, &c).await?;
            let sources = db.sources().list(t, &c).await.or_unavailable("sources")?;
            let mappings = db.mappings().list(t, &c).await.or_unavailable("mappings")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "connector": row.to_json(),
                    "sources": sources.iter().map(|s| s.to_admin_json()).collect::<Vec<_>>(),
                    "mappings": mappings.iter().map(|m| m.to_admin_json()).collect::<Vec<_>>(),
                }),
            ))
        }
        ConnectorsRoute::Patch { connector: c } => {
            connector(db, t, &c).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let patch = parse_connector_patch(&body).map_err(ApiError::invalid_fields)?;
            db.connectors()
                .patch(t, &c, &patch, now)
                .await
                .or_unavailable("connector update")?;
            crate::auth::forget(t, &c);
            let row = reload(db, t, &c).await?;
            if patch.forward_enabled.is_some() {
                super::mirroring::routing_changed(cx, t, &row).await;
            }
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "connector": row.to_json() }),
            ))
        }
        ConnectorsRoute::RotateToken { connector: c } => {
            connector(db, t, &c).await?;
            let token = new_token();
            db.connectors()
                .set_token(t, &c, &hash_token(&token), &token_hint(&token), now)
                .await
                .or_unavailable("token rotation")?;
            crate::auth::forget(t, &c);
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "connector": reload(db, t, &c).await?.to_json(),
                    "token": token,
                    "token_notice": "the previous token stopped working; this one is shown once",
                }),
            ))
        }
        ConnectorsRoute::Pause { connector: c } => set_status(cx, db, t, &c, "paused").await,
        ConnectorsRoute::Resume { connector: c } => set_status(cx, db, t, &c, "active").await,
    }
}

async fn set_status(cx: &Cx, db: &Db, t: &str, c: &str, status: &str) -> ApiResult {
    connector(db, t, c).await?;
    db.connectors()
        .set_status(t, c, status, cx.now)
        .await
        .or_unavailable("status update")?;
    crate::auth::forget(t, c);
    Ok(http::ok(
        &cx.cid,
        200,
        json!({ "connector": reload(db, t, c).await?.to_json() }),
    ))
}
