//! `/v1/admin/tenants/{t}/media`: the media store's records (status, sniffed type, size,
//! digest, last error) and an operator's re-fetch of one attachment.

use relay_core::ids::AttachmentMarker;
use relay_core::routes::AdminMediaRoute;
use relay_core::validate::FieldError;
use relay_core::ApiError;
use relay_media::claim::Status;
use serde_json::json;
use worker::Request;

use super::lookup::{snowflake, tenant};
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, query, ApiResult, OrUnavailable};

pub async fn handle(req: &Request, cx: &Cx, db: &Db, t: &str, route: AdminMediaRoute) -> ApiResult {
    tenant(db, t).await?;
    match route {
        AdminMediaRoute::List => list(req, cx, db, t).await,
        AdminMediaRoute::Refetch { attachment_id } => refetch(cx, t, &attachment_id).await,
    }
}

async fn list(req: &Request, cx: &Cx, db: &Db, t: &str) -> ApiResult {
    let status = match query(req, "status") {
        None => None,
        Some(v) => Some(Status::parse(&v).ok_or_else(|| {
            ApiError::invalid_fields(vec![FieldError::new(
                "status",
                "must be pending, fetching, stored, too_large or failed",
            )])
        })?),
    };
    let rows = db
        .media()
        .list(t, status.map(Status::as_str), 200)
        .await
        .or_unavailable("media records")?;
    Ok(http::ok(
        &cx.cid,
        200,
        json!({"attachments": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>()}),
    ))
}

async fn refetch(cx: &Cx, t: &str, attachment: &str) -> ApiResult {
    let id = snowflake::<AttachmentMarker>("attachment_id", attachment)?;
    let row = crate::media::rearm(&cx.env, t, id.as_str())
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .ok_or_else(|| {
            ApiError::not_found("no media record for this attachment").with_code("media_not_found")
        })?;
    Ok(http::ok(&cx.cid, 200, json!({"attachment": row.to_json()})))
}
