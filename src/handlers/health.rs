//! `GET /health`: liveness plus a storage round trip.

use serde_json::json;

use super::context::Cx;
use crate::db::Db;
use crate::http::{self, ApiResult};

pub async fn health(cx: &Cx) -> ApiResult {
    let d1 = match Db::new(&cx.env) {
        Ok(db) => db.ping().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let body = json!({
        "service": "signal-relay",
        "version": env!("CARGO_PKG_VERSION"),
        "time": cx.now,
        "storage": {"d1": if d1.is_ok() { "ok" } else { "unavailable" }},
    });
    match d1 {
        Ok(()) => Ok(http::ok(&cx.cid, 200, body)),
        Err(error) => {
            crate::runtime::log(
                "error",
                "health check failed",
                json!({"correlation_id": cx.cid, "error": error}),
            );
            let mut body = body;
            body["ok"] = json!(false);
            body["error_code"] = json!("storage_unavailable");
            body["message"] = json!("D1 did not answer");
            body["correlation_id"] = json!(cx.cid);
            let resp = http::raw_json(&cx.cid, 503, &body);
            let _ = resp.headers().set("retry-after", "5");
            Ok(resp)
        }
    }
}
