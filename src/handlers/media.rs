//! `GET /media/{tenant}/{attachment}?exp=&sig=`: a stored attachment, to whoever holds a link
//! we signed. Public by design (images in pages and in Discord cannot carry credentials); the
//! signature names the tenant and the attachment, so the object looked up is always the one
//! the link was issued for.

use relay_core::routes::MediaRoute;
use relay_core::{ApiError, ErrorKind};
use relay_media::sniff::MediaType;
use relay_media::MediaError;
use worker::{Headers, Request, Response};

use super::context::Cx;
use crate::config::MediaConfig;
use crate::db::Db;
use crate::http::{header, query, ApiResult, OrUnavailable};

pub async fn handle(req: &Request, cx: &Cx, route: MediaRoute) -> ApiResult {
    match route {
        MediaRoute::Object {
            tenant,
            attachment_id,
        } => object(req, cx, &tenant, &attachment_id).await,
    }
}

fn refused(e: MediaError) -> ApiError {
    let kind = match e {
        MediaError::SignatureInvalid => ErrorKind::Forbidden,
        MediaError::LinkExpired => ErrorKind::Gone,
        MediaError::NotFound => ErrorKind::NotFound,
        MediaError::Unconfigured => ErrorKind::Unavailable,
    };
    ApiError::new(kind, e.to_string()).with_code(e.error_code())
}

async fn object(req: &Request, cx: &Cx, tenant: &str, attachment: &str) -> ApiResult {
    let cfg = MediaConfig::from_env(&cx.env);
    let signer = cfg.signer.as_ref().map_err(|e| refused(*e))?;
    let now_s = cx.now / 1000;
    // Nothing is read before the link is proven ours.
    signer
        .verify(
            tenant,
            attachment,
            query(req, "exp").as_deref(),
            query(req, "sig").as_deref(),
            now_s,
        )
        .map_err(refused)?;
    let exp: i64 = query(req, "exp")
        .and_then(|e| e.parse().ok())
        .unwrap_or(now_s);
    let db = Db::new(&cx.env).or_unavailable("database")?;
    let row = db
        .media()
        .get(tenant, attachment)
        .await
        .or_unavailable("media records")?
        .ok_or_else(|| refused(MediaError::NotFound))?;
    let row = crate::media::for_route(&cx.env, &cfg, row)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let Some(row) = row else {
        return Err(refused(MediaError::NotFound));
    };
    let (Some(key), Some(sha)) = (row.r2_key.as_deref(), row.sha256.as_deref()) else {
        return Err(refused(MediaError::NotFound));
    };
    let media_type = MediaType::from_mime(row.content_type.as_deref().unwrap_or(""));
    let etag = format!("\"{sha}\"");
    let h = Headers::new();
    let _ = h.set("x-correlation-id", &cx.cid);
    let _ = h.set("content-type", media_type.mime());
    let _ = h.set("etag", &etag);
    // The link is the credential: cache privately, never past its expiry.
    let max_age = (exp - now_s).clamp(0, 86_400);
    let _ = h.set(
        "cache-control",
        &format!("private, max-age={max_age}, immutable"),
    );
    let _ = h.set("x-content-type-options", "nosniff");
    // Whatever the bytes are, they never run as a page of our origin.
    let _ = h.set("content-security-policy", "default-src 'none'; sandbox");
    let _ = h.set("referrer-policy", "no-referrer");
    let _ = h.set(
        "content-disposition",
        &media_type.content_disposition(&row.filename),
    );
    if header(req, "if-none-match").is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        return Ok(Response::empty()
            .map_err(|e| ApiError::internal(e.to_string()))?
            .with_status(304)
            .with_headers(h));
    }
    let bucket = cx.env.bucket("MEDIA").or_unavailable("media bucket")?;
    let obj = bucket
        .get(key)
        .execute()
        .await
        .or_unavailable("media bucket")?;
    let Some(body) = obj.as_ref().and_then(|o| o.body()) else {
        crate::runtime::log(
            "error",
            "media: stored record without its object",
            serde_json::json!({"tenant_key": tenant, "attachment_id": attachment, "r2_key": key}),
        );
        return Err(refused(MediaError::NotFound));
    };
    let body = body.response_body().or_unavailable("media body")?;
    let _ = h.set("content-length", &row.size.unwrap_or(0).to_string());
    Ok(Response::from_body(body)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .with_status(200)
        .with_headers(h))
}
