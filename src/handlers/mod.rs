//! Request dispatch: correlation id, routing, error mapping, CORS, access log.
//!
//! One module per route area (`relay_core::routes::Route`), each with a `handle` matching its
//! area's enum; the admin area nests one module per resource. No match has a catch-all arm, so
//! a route without a handler does not compile.

use relay_core::routes::{match_route, Route, RouteError};
use relay_core::ApiError;
use serde_json::json;
use worker::{Context, Env, Method, Request, Response};

use crate::config::Config;
use crate::http::{self, header};
use crate::runtime::{log, new_correlation_id, now_ms};

mod account;
mod admin;
mod connector;
mod context;
mod feed;
mod health;
mod media;
mod pages;
mod shop;
mod webhooks;

pub use context::Cx;

pub async fn dispatch(mut req: Request, env: Env, ctx: Context) -> Response {
    let started = now_ms();
    let cid = relay_core::correlation::accept(header(&req, "x-correlation-id").as_deref())
        .unwrap_or_else(new_correlation_id);
    let cfg = Config::from_env(&env);
    let origin = header(&req, "origin");
    let method = req.method();
    let path = req.path();
    let cx = Cx {
        env,
        ctx,
        cfg,
        cid,
        now: started,
    };

    let resp = if method == Method::Options {
        http::preflight(&req, &cx.cfg, &cx.cid)
    } else {
        match match_route(method.as_ref(), &path) {
            Ok(route) => match handle(&mut req, &cx, route).await {
                Ok(resp) => resp,
                Err(err) => {
                    if err.kind.is_retryable() {
                        log(
                            "error",
                            "request failed",
                            json!({"correlation_id": cx.cid, "path": path, "error": err.to_string()}),
                        );
                    }
                    http::error(&cx.cid, &err)
                }
            },
            Err(RouteError::NotFound) => http::error(
                &cx.cid,
                &ApiError::not_found(format!("no route for {} {}", method.as_ref(), path)),
            ),
            Err(RouteError::MethodNotAllowed { allow }) => http::method_not_allowed(&cx.cid, allow),
        }
    };
    let status = resp.status_code();
    // WebSocket upgrades keep the object's response untouched.
    let resp = if status == 101 {
        resp
    } else {
        http::with_cors(resp, origin.as_deref(), &cx.cfg)
    };
    if status >= 400 || cx.cfg.log_all_requests {
        log(
            if status >= 500 { "error" } else { "info" },
            "request",
            json!({
                "correlation_id": cx.cid,
                "method": method.as_ref(),
                "path": path,
                "status": status,
                "ms": now_ms() - started,
            }),
        );
    }
    resp
}

async fn handle(req: &mut Request, cx: &Cx, route: Route) -> http::ApiResult {
    match route {
        Route::Health => health::health(cx).await,
        Route::Connector(route) => connector::handle(req, cx, route).await,
        Route::Feed(route) => feed::handle(req, cx, route).await,
        // The whole area is the operator's: no admin handler runs before this check.
        Route::Admin(route) => {
            crate::auth::admin(req, cx)?;
            admin::handle(req, cx, route).await
        }
        Route::Account { tenant, route } => account::handle(req, cx, &tenant, route).await,
        Route::Page { tenant, path } => pages::serve(req, cx, &tenant, &path).await,
        // Authenticated by each provider's signature, inside the handler.
        Route::Webhook(route) => webhooks::handle(req, cx, route).await,
        // Public: the link's signature is the credential, checked inside.
        Route::Media(route) => media::handle(req, cx, route).await,
        // Public; personalised by the session cookie when there is one (checked inside).
        Route::Shop { tenant, route } => shop::handle(req, cx, &tenant, route).await,
    }
}
