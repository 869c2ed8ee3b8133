//! `/v1/admin/tenants/{t}/feed-stats`: the tenant object's live-feed counters.

use relay_core::routes::FeedStatsRoute;
use serde_json::json;

use super::lookup::tenant;
use crate::db::Db;
use crate::durable_objects::tenant::client::TenantClient;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult};

pub async fn handle(cx: &Cx, db: &Db, t: &str, route: FeedStatsRoute) -> ApiResult {
    match route {
        FeedStatsRoute::Get => {
            tenant(db, t).await?;
            let stats = TenantClient::new(&cx.env, t, &cx.cid)?.stats().await?;
            Ok(http::ok(&cx.cid, 200, json!({ "stats": stats })))
        }
    }
}
