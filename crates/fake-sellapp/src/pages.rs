//! Pages for people: the product list and a checkout that "pays" at the press of a button.

use crate::control;
use crate::http::{Req, Resp};
use crate::server::App;
use crate::state::money;
use serde_json::json;
use std::sync::Arc;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>{t}</title>\
         <style>body{{font:16px system-ui;max-width:40rem;margin:2rem auto;padding:0 1rem}}\
         .v{{border:1px solid #ccc;border-radius:8px;padding:.5rem 1rem;margin:.5rem 0}}</style>\
         </head><body><h1>{t}</h1>{body}<p><small>fake-sellapp — nothing is charged</small></p></body></html>",
        t = esc(title)
    )
}

pub fn index(app: &App) -> Resp {
    let st = app.lock();
    let mut body = String::new();
    for p in &st.products {
        body.push_str(&format!("<h2>{}</h2>", esc(&p.title)));
        for v in &p.variants {
            body.push_str(&format!(
                "<div class=v><a href=\"{}/{}\">{} — {} {}</a></div>",
                esc(&st.settings.checkout_path),
                v.id,
                esc(&v.title),
                money(v.price),
                esc(&v.currency)
            ));
        }
    }
    Resp::html(200, page("Fake Sell.app store", &body))
}

pub fn checkout_get(app: &App, req: &Req, variant: &str) -> Resp {
    let st = app.lock();
    let Some((p, v)) = variant.parse().ok().and_then(|id| st.find(None, Some(id))) else {
        return Resp::html(404, page("Not found", "<p>No such product.</p>"));
    };
    let email = req.q("email").unwrap_or("");
    let ret = req.q("return_url").unwrap_or("");
    let body = format!(
        "<p><strong>{}</strong> — {} — {} {}</p>\
         <form method=post action=\"{}/{}\">\
         <label>Email <input name=email type=email required value=\"{}\"></label>\
         <input type=hidden name=return_url value=\"{}\">\
         <p><button type=submit>Pay {} {}</button></p></form>",
        esc(&p.title),
        esc(&v.title),
        money(v.price),
        esc(&v.currency),
        esc(&st.settings.checkout_path),
        v.id,
        esc(email),
        esc(ret),
        money(v.price),
        esc(&v.currency),
    );
    Resp::html(200, page("Checkout", &body))
}

/// "Pays": the same as `/_control/purchase` (signed, full invoice), then back to `return_url`
/// (http(s) only) with `?invoice=ID`, or a receipt.
pub fn checkout_post(app: &Arc<App>, req: &Req, variant: &str) -> Resp {
    let form = req.form();
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let email = field("email");
    let ret = field("return_url");
    let result = control::purchase(app, &json!({ "email": email, "variant_id": variant }));
    match result {
        Err(r) => {
            let msg = String::from_utf8_lossy(&r.body).to_string();
            Resp::html(
                r.status,
                page("Payment failed", &format!("<p>{}</p>", esc(&msg))),
            )
        }
        Ok(v) => {
            let id = v["invoice"]["id"].as_u64().unwrap_or_default();
            if ret.starts_with("http://") || ret.starts_with("https://") {
                let sep = if ret.contains('?') { '&' } else { '?' };
                Resp::see_other(&format!("{ret}{sep}invoice={id}"))
            } else {
                Resp::html(200, page("Paid", &format!("<p>Invoice #{id} is paid.</p>")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::server::handle;
    use crate::state::State;

    #[test]
    fn checkout_pays_and_returns() {
        let app = Arc::new(App::new(State::new(
            Settings::default(),
            "http://fake".into(),
        )));
        let r = handle(
            &app,
            &Req::new("GET", "/checkout/2002?email=a%40b.io", vec![], vec![]),
        );
        let html = String::from_utf8(r.body).unwrap();
        assert_eq!(r.status, 200);
        assert!(html.contains("value=\"a@b.io\"") && html.contains("79.00"));
        assert_eq!(
            handle(&app, &Req::new("GET", "/checkout/9", vec![], vec![])).status,
            404
        );
        let r = handle(
            &app,
            &Req::new(
                "POST",
                "/checkout/2002",
                vec![],
                b"email=a%40b.io&return_url=http%3A%2F%2Fshop%2Freturn%3Ft%3D1".to_vec(),
            ),
        );
        assert_eq!(r.status, 303);
        assert_eq!(r.headers[0].1, "http://shop/return?t=1&invoice=50001");
        let st = app.lock();
        assert_eq!(st.invoices[&50001].status(), "COMPLETED");
        let events: Vec<&str> = st.deliveries.iter().map(|d| d.event.as_str()).collect();
        assert_eq!(events, ["order.created", "order.completed"]);
        // No target configured: recorded as failed, not lost silently.
        assert!(st
            .deliveries
            .iter()
            .all(|d| matches!(d.state, crate::state::DeliveryState::Failed { .. })));
    }
}
