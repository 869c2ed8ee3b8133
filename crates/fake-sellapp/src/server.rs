//! The HTTP server: the v2 invoices API, the checkout pages, the control API.

use crate::config::Config;
use crate::control;
use crate::http::{LaravelError, Req, Resp};
use crate::pages;
use crate::state::State;
use fake_http::server::BodyError;
use fake_http::Locked;
use serde_json::{json, Value};
use std::sync::{Arc, MutexGuard};

const MAX_BODY: usize = 1024 * 1024;
const WORKERS: usize = 8;
/// Sell.app's default page size; `limit` may ask for up to `MAX_PAGE`.
pub const DEFAULT_PAGE: usize = 15;
pub const MAX_PAGE: usize = 100;

pub struct App {
    state: Locked<State>,
}

impl App {
    pub fn new(state: State) -> App {
        App {
            state: Locked::new(state),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }
}

pub fn run(cfg: Config) -> std::io::Result<()> {
    let bound = fake_http::server::bind(&cfg.listen)?;
    let app = Arc::new(App::new(State::new(
        cfg.settings.clone(),
        bound.base_url.clone(),
    )));
    let seed = seed(&app.lock());
    bound.announce("fake-sellapp", &seed)?;
    bound.serve(
        "fake-sellapp",
        WORKERS,
        MAX_BODY,
        cfg.listen.verbose,
        move |req| match req {
            Ok(req) => handle(&app, &req),
            Err(BodyError::Unreadable) => Resp::error(400, "could not read the body"),
            Err(BodyError::TooLarge) => Resp::error(413, "body too large"),
        },
    )
}

/// The second stdout line: what a harness needs to point the worker at the fake.
pub fn seed(st: &State) -> Value {
    let s = &st.settings;
    json!({
        "base_url": st.base_url,
        "api_base": format!("{}/api/v2", st.base_url),
        "api_token": s.api_token,
        "webhook_secret": s.webhook_secret,
        "store_id": s.store_id,
        "checkout_url": format!("{}{}", st.base_url, s.checkout_path),
        "target_url": s.target_url,
        "products": st.products_json(),
    })
}

pub fn handle(app: &Arc<App>, req: &Req) -> Resp {
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    let checkout = app.lock().settings.checkout_path.clone();
    let checkout_segs: Vec<&str> = checkout.split('/').filter(|s| !s.is_empty()).collect();
    if segs.len() == checkout_segs.len() + 1 && segs.starts_with(&checkout_segs) {
        let variant = segs[segs.len() - 1];
        return match req.method.as_str() {
            "GET" => pages::checkout_get(app, req, variant),
            "POST" => pages::checkout_post(app, req, variant),
            _ => Resp::error(405, "method not allowed"),
        };
    }
    match segs.as_slice() {
        [] if req.method == "GET" => pages::index(app),
        ["health"] => Resp::json(200, &json!({ "ok": true })),
        ["_control", rest @ ..] => control::handle(app, req, rest),
        ["api", "v2", rest @ ..] | ["v2", rest @ ..] => api(app, req, rest),
        _ => Resp::error(404, "Not found."),
    }
}

fn api(app: &App, req: &Req, rest: &[&str]) -> Resp {
    let mut st = app.lock();
    let token = st.settings.api_token.clone();
    let given = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "));
    if given != Some(token.as_str()) {
        return Resp::error(401, "Unauthenticated.");
    }
    st.api_requests += 1;
    if req.method != "GET" {
        return Resp::error(405, "The method is not supported for this route.");
    }
    let store = st.settings.store_id;
    match rest {
        ["invoices"] => {
            let page = req
                .q("page")
                .and_then(|p| p.parse::<usize>().ok())
                .filter(|p| *p >= 1)
                .unwrap_or(1);
            let per = req
                .q("limit")
                .and_then(|p| p.parse::<usize>().ok())
                .map(|p| p.clamp(1, MAX_PAGE))
                .unwrap_or(DEFAULT_PAGE);
            // Newest first, as a dashboard lists them.
            let all: Vec<Value> = st
                .invoices
                .values()
                .rev()
                .map(|i| i.to_json(store))
                .collect();
            let total = all.len();
            let last = total.div_ceil(per).max(1);
            let data: Vec<Value> = all.into_iter().skip((page - 1) * per).take(per).collect();
            let link = |p: usize| format!("{}/api/v2/invoices?page={p}&limit={per}", st.base_url);
            Resp::json(
                200,
                &json!({
                    "data": data,
                    "links": {
                        "first": link(1),
                        "last": link(last),
                        "prev": (page > 1).then(|| link(page - 1)),
                        "next": (page < last).then(|| link(page + 1)),
                    },
                    "meta": { "current_page": page, "last_page": last, "per_page": per, "total": total },
                }),
            )
        }
        ["invoices", id] => match id.parse::<u64>().ok().and_then(|i| st.invoices.get(&i)) {
            Some(inv) => Resp::json(200, &json!({ "data": inv.to_json(store) })),
            None => Resp::error(404, "Not found."),
        },
        ["invoices", id, "deliverables"] => {
            match id.parse::<u64>().ok().and_then(|i| st.invoices.get(&i)) {
                Some(inv) => Resp::json(200, &json!({ "data": inv.deliverables_json() })),
                None => Resp::error(404, "Not found."),
            }
        }
        _ => Resp::error(404, "Not found."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn app() -> Arc<App> {
        Arc::new(App::new(State::new(
            Settings::default(),
            "http://fake".into(),
        )))
    }

    fn get(app: &Arc<App>, url: &str, token: Option<&str>) -> (u16, Value) {
        let headers = token
            .map(|t| vec![("authorization".to_string(), format!("Bearer {t}"))])
            .unwrap_or_default();
        let r = handle(app, &Req::new("GET", url, headers, Vec::new()));
        (
            r.status,
            serde_json::from_slice(&r.body).unwrap_or(Value::Null),
        )
    }

    #[test]
    fn the_api_needs_the_bearer_token_and_pages() {
        let a = app();
        for i in 0..20 {
            a.lock()
                .open_invoice(&format!("c{i}@x.io"), 1001, 2001, 2900, "USD", i);
        }
        assert_eq!(get(&a, "/api/v2/invoices", None).0, 401);
        assert_eq!(get(&a, "/api/v2/invoices", Some("wrong")).0, 401);
        let (s, p1) = get(
            &a,
            "/api/v2/invoices?limit=8",
            Some("fake-sellapp-api-token"),
        );
        assert_eq!(s, 200);
        assert_eq!(p1["data"].as_array().unwrap().len(), 8);
        assert_eq!(p1["meta"]["last_page"], 3);
        assert_eq!(p1["data"][0]["id"], 50_020, "newest first");
        let (_, p3) = get(
            &a,
            "/api/v2/invoices?limit=8&page=3",
            Some("fake-sellapp-api-token"),
        );
        assert_eq!(p3["data"].as_array().unwrap().len(), 4);
        assert!(p3["links"]["next"].is_null());
        let (s, one) = get(&a, "/v2/invoices/50001", Some("fake-sellapp-api-token"));
        assert_eq!(
            (s, one["data"]["customer_information"]["email"].as_str()),
            (200, Some("c0@x.io"))
        );
        assert_eq!(
            get(&a, "/api/v2/invoices/1", Some("fake-sellapp-api-token")).0,
            404
        );
        let (_, d) = get(
            &a,
            "/api/v2/invoices/50001/deliverables",
            Some("fake-sellapp-api-token"),
        );
        assert_eq!(d["data"][0]["product_variant_id"], 2001);
        assert_eq!(a.lock().api_requests, 5);
    }
}
