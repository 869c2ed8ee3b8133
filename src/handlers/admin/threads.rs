//! `/v1/admin/tenants/{t}/threads`: the most recent threads from the D1 projection.

use relay_core::routes::ThreadsRoute;
use serde_json::{json, Value};

use super::lookup::tenant;
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};

pub async fn handle(cx: &Cx, db: &Db, t: &str, route: ThreadsRoute) -> ApiResult {
    match route {
        ThreadsRoute::Recent => {
            tenant(db, t).await?;
            let rows = db
                .signals()
                .recent_threads(t, 100)
                .await
                .or_unavailable("threads")?;
            let threads: Vec<Value> = rows.iter().filter_map(|r| r.to_json()).collect();
            Ok(http::ok(&cx.cid, 200, json!({ "threads": threads })))
        }
    }
}
