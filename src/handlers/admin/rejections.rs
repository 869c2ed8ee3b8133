//! `.../connectors/{c}/rejections`: the items the tenant object refused from this connector.

use relay_core::routes::RejectionsRoute;
use serde_json::json;

use super::lookup::connector;
use crate::db::Db;
use crate::durable_objects::tenant::client::TenantClient;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult};

pub async fn handle(cx: &Cx, db: &Db, t: &str, c: &str, route: RejectionsRoute) -> ApiResult {
    match route {
        RejectionsRoute::Report => {
            connector(db, t, c).await?;
            let report = TenantClient::new(&cx.env, t, &cx.cid)?
                .rejections(c)
                .await?;
            Ok(http::ok(&cx.cid, 200, json!({ "rejections": report })))
        }
    }
}
