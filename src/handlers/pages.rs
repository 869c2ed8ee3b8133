//! `/t/{tenant}/{path}`: a tenant's public pages. One build (`admin-ui/dist/account/`) serves
//! every tenant; the worker checks the tenant exists and maps the path onto the asset, keeping
//! the asset handler's trailing-slash redirects inside the tenant's prefix.

use relay_core::ApiError;
use worker::{Headers, Request, Response};

use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{ApiResult, OrUnavailable};

pub async fn serve(req: &mut Request, cx: &Cx, tenant: &str, path: &str) -> ApiResult {
    let missing = || ApiError::not_found("no such tenant").with_code("tenant_not_found");
    if relay_core::ids::check_slug(tenant).is_err() {
        return Err(missing());
    }
    let db = Db::new(&cx.env).or_unavailable("database")?;
    db.tenants()
        .get(tenant)
        .await
        .or_unavailable("tenant lookup")?
        .ok_or_else(missing)?;
    let url = req.url().or_unavailable("request url")?;
    let prefix = format!("/t/{tenant}/");
    // `/t/demo` (no slash): relative asset URLs need the trailing slash.
    if !url.path().starts_with(&prefix) {
        let mut to = url.clone();
        to.set_path(&prefix);
        return Response::redirect_with_status(to, 308).or_unavailable("redirect");
    }
    let trailing = if url.path().ends_with('/') && !path.is_empty() {
        "/"
    } else {
        ""
    };
    let mut asset = url.clone();
    asset.set_path(&format!("/account/{path}{trailing}"));
    let assets = cx.env.assets("ASSETS").or_unavailable("assets")?;
    let resp = assets
        .fetch(asset.to_string(), None)
        .await
        .or_unavailable("assets")?;
    let status = resp.status_code();
    if (300..400).contains(&status) {
        if let Ok(Some(loc)) = resp.headers().get("location") {
            if let Some(rest) = loc.strip_prefix("/account/") {
                let mut to = url.clone();
                to.set_path(&format!("{prefix}{rest}"));
                return Response::redirect_with_status(to, status).or_unavailable("redirect");
            }
        }
    }
    Ok(with_page_headers(resp))
}

/// The same policy `admin-ui/build.mjs` writes to `_headers` for static pages: `_headers` does
/// not apply to what the worker returns, so the worker sets it on every tenant page.
const PAGE_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
];

/// A fetched response's headers are immutable: copy them into fresh ones with ours on top.
fn with_page_headers(resp: Response) -> Response {
    let headers = Headers::new();
    for (k, v) in resp.headers().entries() {
        let _ = headers.append(&k, &v);
    }
    for (k, v) in PAGE_HEADERS {
        let _ = headers.set(k, v);
    }
    resp.with_headers(headers)
}
