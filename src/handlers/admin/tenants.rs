//! `/v1/admin/tenants[/{tenant}]`.

use relay_core::admin::parse_new_tenant;
use relay_core::routes::TenantsRoute;
use relay_core::ApiError;
use serde_json::json;
use worker::Request;

use super::lookup::tenant;
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};

pub async fn handle(req: &mut Request, cx: &Cx, db: &Db, route: TenantsRoute) -> ApiResult {
    match route {
        TenantsRoute::List => {
            let tenants = db.tenants().list().await.or_unavailable("tenants")?;
            Ok(http::ok(&cx.cid, 200, json!({ "tenants": tenants })))
        }
        TenantsRoute::Create => {
            let body = http::read_json(req, &cx.cfg).await?;
            let t = parse_new_tenant(&body).map_err(ApiError::invalid_fields)?;
            if !db
                .tenants()
                .insert(&t.tenant_key, &t.name, cx.now)
                .await
                .or_unavailable("tenant insert")?
            {
                return Err(
                    ApiError::conflict("a tenant with this key exists").with_code("tenant_exists")
                );
            }
            Ok(http::ok(
                &cx.cid,
                201,
                json!({ "tenant": tenant(db, &t.tenant_key).await? }),
            ))
        }
        TenantsRoute::Get { tenant: t } => {
            let row = tenant(db, &t).await?;
            let connectors = db
                .connectors()
                .list(&t)
                .await
                .or_unavailable("connectors")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "tenant": row,
                    "connectors": connectors.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
                }),
            ))
        }
    }
}
