//! The control API under `/_control`: tests and the demo steer the fake here (sell something,
//! change an invoice's status, send any event in any way, release held deliveries).

use crate::http::{JsonBody, LaravelError, Req, Resp};
use crate::send;
use crate::server::App;
use crate::state::{parse_money, DeliveryState, Payload, Signing, KNOWN_STATUSES};
use crate::time::now_ms;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const MAX_COPIES: u64 = 10;
const MAX_DELAY_MS: u64 = 120_000;

/// How to send: signing, what `data` holds, how many copies, held or delayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOpts {
    pub signing: Signing,
    pub payload: Payload,
    pub copies: u64,
    pub hold: bool,
    pub delay_ms: u64,
}

impl SendOpts {
    pub fn parse(v: &Value) -> Result<SendOpts, Resp> {
        let signing = match v.get("signing").and_then(Value::as_str) {
            None => Signing::Signed,
            Some(s) => Signing::parse(s).ok_or_else(|| {
                Resp::error(400, "signing must be signed, unsigned, forged or stale")
            })?,
        };
        let payload = match v.get("payload").and_then(Value::as_str) {
            None | Some("full") => Payload::Full,
            Some("id_only") => Payload::IdOnly,
            Some(_) => return Err(Resp::error(400, "payload must be full or id_only")),
        };
        let copies = match v.get("duplicate") {
            None | Some(Value::Bool(false)) => 1,
            Some(Value::Bool(true)) => 2,
            Some(n) => n
                .as_u64()
                .filter(|n| (1..=MAX_COPIES).contains(n))
                .ok_or_else(|| {
                    Resp::error(
                        400,
                        &format!("duplicate must be a boolean or 1..={MAX_COPIES}"),
                    )
                })?,
        };
        let delay_ms = match v.get("delay_ms") {
            None => 0,
            Some(n) => n
                .as_u64()
                .filter(|n| *n <= MAX_DELAY_MS)
                .ok_or_else(|| Resp::error(400, &format!("delay_ms must be 0..={MAX_DELAY_MS}")))?,
        };
        Ok(SendOpts {
            signing,
            payload,
            copies,
            hold: v.get("hold").and_then(Value::as_bool).unwrap_or(false),
            delay_ms,
        })
    }
}

fn id_of(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub fn handle(app: &Arc<App>, req: &Req, rest: &[&str]) -> Resp {
    let body = match req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    match (req.method.as_str(), rest) {
        ("GET", ["state"]) => state(app),
        ("GET", ["deliveries"]) => {
            let st = app.lock();
            Resp::json(
                200,
                &json!(st
                    .deliveries
                    .iter()
                    .map(|d| d.to_json())
                    .collect::<Vec<_>>()),
            )
        }
        ("POST", ["reset"]) => {
            app.lock().reset();
            Resp::json(200, &json!({ "ok": true }))
        }
        ("POST", ["config"]) => config(app, &body),
        ("POST", ["products"]) => products(app, &body),
        ("POST", ["purchase"]) => match purchase(app, &body) {
            Ok(v) => Resp::json(200, &v),
            Err(r) => r,
        },
        ("POST", ["invoices", id, "status"]) => set_status(app, id, &body),
        ("POST", ["invoices", id, "send"]) => send_event(app, id, &body),
        ("POST", ["send-raw"]) => send_raw(app, &body),
        ("POST", ["deliveries", "release"]) => release(app, &body),
        _ => Resp::error(404, "no such control route"),
    }
}

fn state(app: &App) -> Resp {
    let st = app.lock();
    let s = &st.settings;
    Resp::json(
        200,
        &json!({
            "settings": {
                "target_url": s.target_url,
                "webhook_secret": s.webhook_secret,
                "stale_secret": s.stale_secret,
                "api_token": s.api_token,
                "store_id": s.store_id,
                "checkout_url": format!("{}{}", st.base_url, s.checkout_path),
            },
            "products": st.products_json(),
            "invoices": st.invoices.values().map(|i| i.to_json(s.store_id)).collect::<Vec<_>>(),
            "deliveries": st.deliveries.iter().map(|d| d.to_json()).collect::<Vec<_>>(),
            "api_requests": st.api_requests,
        }),
    )
}

fn config(app: &App, body: &Value) -> Resp {
    let mut st = app.lock();
    if let Some(t) = body.get("target_url") {
        match t {
            Value::Null => st.settings.target_url = None,
            Value::String(u) => {
                if let Err(e) = send::Target::parse(u) {
                    return Resp::error(400, &e);
                }
                st.settings.target_url = Some(u.clone());
            }
            _ => return Resp::error(400, "target_url must be a string or null"),
        }
    }
    for key in ["webhook_secret", "stale_secret", "api_token"] {
        if let Some(v) = body.get(key) {
            let Some(v) = v.as_str().filter(|v| !v.trim().is_empty()) else {
                return Resp::error(400, &format!("{key} must be a non-empty string"));
            };
            let v = v.to_string();
            match key {
                "webhook_secret" => st.settings.webhook_secret = v,
                "stale_secret" => st.settings.stale_secret = v,
                _ => st.settings.api_token = v,
            }
        }
    }
    drop(st);
    state(app)
}

fn products(app: &App, body: &Value) -> Resp {
    let Some(id) = id_of(body.get("id")) else {
        return Resp::error(400, "id must be a positive integer");
    };
    let title = body
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("Product")
        .to_string();
    let mut variants = Vec::new();
    for v in body
        .get("variants")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(vid), Some(price)) = (
            id_of(v.get("id")),
            v.get("price").and_then(Value::as_str).and_then(parse_money),
        ) else {
            return Resp::error(
                400,
                "each variant needs an integer id and a price like \"29.00\"",
            );
        };
        variants.push(crate::state::Variant {
            id: vid,
            title: v
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("Variant")
                .to_string(),
            price,
            currency: v
                .get("currency")
                .and_then(Value::as_str)
                .unwrap_or("USD")
                .to_string(),
        });
    }
    if variants.is_empty() {
        return Resp::error(400, "a product needs at least one variant");
    }
    let mut st = app.lock();
    st.products.retain(|p| p.id != id);
    st.products.push(crate::state::Product {
        id,
        title,
        variants,
    });
    Resp::json(200, &st.products_json())
}

/// Sells a variant: a PENDING invoice, `order.created`, then COMPLETED and `order.completed`
/// (`complete: false` stops after the first; `reorder: true` sends the second first).
pub fn purchase(app: &Arc<App>, body: &Value) -> Result<Value, Resp> {
    let opts = SendOpts::parse(body)?;
    let email = body
        .get("email")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|e| e.contains('@'))
        .ok_or_else(|| Resp::error(400, "email is required"))?;
    let complete = body
        .get("complete")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let reorder = body
        .get("reorder")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let now = now_ms();
    let (invoice_id, seqs) = {
        let mut st = app.lock();
        let (product, variant) = st
            .find(id_of(body.get("product_id")), id_of(body.get("variant_id")))
            .map(|(p, v)| (p.id, v.clone()))
            .ok_or_else(|| Resp::error(404, "no such product/variant"))?;
        let total = match body.get("price").and_then(Value::as_str) {
            Some(p) => {
                parse_money(p).ok_or_else(|| Resp::error(400, "price must look like 29.00"))?
            }
            None => variant.price,
        };
        let id = st.open_invoice(email, product, variant.id, total, &variant.currency, now);
        let mut bodies = vec![(
            "order.created",
            st.envelope("order.created", id, opts.payload),
        )];
        if complete {
            if let Some(inv) = st.invoices.get_mut(&id) {
                inv.set_status("COMPLETED", now);
            }
            bodies.push((
                "order.completed",
                st.envelope("order.completed", id, opts.payload),
            ));
        }
        if reorder {
            bodies.reverse();
        }
        let mut seqs = Vec::new();
        for (event, b) in bodies {
            for _ in 0..opts.copies {
                let b = b.clone().unwrap_or_default();
                seqs.push(st.prepare(event, Some(id), b, opts.signing, opts.hold, now));
            }
        }
        (id, seqs)
    };
    dispatch(app, &seqs, opts.delay_ms);
    let st = app.lock();
    Ok(json!({
        "invoice": st.invoices[&invoice_id].to_json(st.settings.store_id),
        "deliveries": seqs.iter().filter_map(|s| st.delivery(*s)).map(|d| d.to_json()).collect::<Vec<_>>(),
    }))
}

fn set_status(app: &Arc<App>, id: &str, body: &Value) -> Resp {
    let Some(status) = body
        .get("status")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_uppercase())
    else {
        return Resp::error(
            400,
            &format!("status is required (e.g. {})", KNOWN_STATUSES.join(", ")),
        );
    };
    if status.is_empty() || !status.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        return Resp::error(400, "status must be one word");
    }
    // Sell.app announces disputes by webhook but not refunds or cancellations.
    let notify = body
        .get("notify")
        .and_then(Value::as_bool)
        .unwrap_or(status == "DISPUTED");
    let opts = match SendOpts::parse(body) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let now = now_ms();
    let seqs = {
        let mut st = app.lock();
        let Some(inv) = id.parse().ok().and_then(|i: u64| st.invoices.get_mut(&i)) else {
            return Resp::error(404, "no such invoice");
        };
        inv.set_status(&status, now);
        let inv_id = inv.id;
        let mut seqs = Vec::new();
        if notify && status == "DISPUTED" {
            let b = st
                .envelope("order.disputed", inv_id, opts.payload)
                .unwrap_or_default();
            for _ in 0..opts.copies {
                seqs.push(st.prepare(
                    "order.disputed",
                    Some(inv_id),
                    b.clone(),
                    opts.signing,
                    opts.hold,
                    now,
                ));
            }
        }
        seqs
    };
    dispatch(app, &seqs, opts.delay_ms);
    let st = app.lock();
    let inv_id: u64 = id.parse().unwrap_or_default();
    Resp::json(
        200,
        &json!({
            "invoice": st.invoices[&inv_id].to_json(st.settings.store_id),
            "deliveries": seqs.iter().filter_map(|s| st.delivery(*s)).map(|d| d.to_json()).collect::<Vec<_>>(),
        }),
    )
}

fn send_event(app: &Arc<App>, id: &str, body: &Value) -> Resp {
    let opts = match SendOpts::parse(body) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Some(event) = body
        .get("event")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
    else {
        return Resp::error(400, "event is required");
    };
    let now = now_ms();
    let seqs = {
        let mut st = app.lock();
        let Some(b) = id
            .parse()
            .ok()
            .and_then(|i| st.envelope(event, i, opts.payload))
        else {
            return Resp::error(404, "no such invoice");
        };
        let inv: u64 = id.parse().unwrap_or_default();
        (0..opts.copies)
            .map(|_| st.prepare(event, Some(inv), b.clone(), opts.signing, opts.hold, now))
            .collect::<Vec<_>>()
    };
    dispatch(app, &seqs, opts.delay_ms);
    deliveries(app, &seqs)
}

/// Sends any body (a malformed envelope, an event of a product…), signed as asked.
fn send_raw(app: &Arc<App>, body: &Value) -> Resp {
    let opts = match SendOpts::parse(body) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let raw = match body.get("body") {
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(v) if !v.is_null() => v.to_string().into_bytes(),
        _ => return Resp::error(400, "body is required (a string, or JSON to send as is)"),
    };
    let event = serde_json::from_slice::<Value>(&raw)
        .ok()
        .and_then(|v| v.get("event").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "raw".into());
    let now = now_ms();
    let seqs = {
        let mut st = app.lock();
        (0..opts.copies)
            .map(|_| st.prepare(&event, None, raw.clone(), opts.signing, opts.hold, now))
            .collect::<Vec<_>>()
    };
    dispatch(app, &seqs, opts.delay_ms);
    deliveries(app, &seqs)
}

/// Sends held deliveries: the given `seqs` in that order, or all held ones (oldest first, or
/// newest first with `reverse: true`).
fn release(app: &Arc<App>, body: &Value) -> Resp {
    let seqs: Vec<u64> = {
        let mut st = app.lock();
        let mut seqs: Vec<u64> = match body.get("seqs").and_then(Value::as_array) {
            Some(list) => list.iter().filter_map(Value::as_u64).collect(),
            None => st
                .deliveries
                .iter()
                .filter(|d| d.state == DeliveryState::Held)
                .map(|d| d.seq)
                .collect(),
        };
        if body
            .get("reverse")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            seqs.reverse();
        }
        seqs.retain(|s| {
            st.delivery(*s)
                .is_some_and(|d| d.state == DeliveryState::Held)
        });
        for s in &seqs {
            if let Some(d) = st.delivery_mut(*s) {
                d.state = DeliveryState::Scheduled;
            }
        }
        seqs
    };
    dispatch(app, &seqs, 0);
    deliveries(app, &seqs)
}

fn deliveries(app: &App, seqs: &[u64]) -> Resp {
    let st = app.lock();
    Resp::json(
        200,
        &json!({
            "deliveries": seqs.iter().filter_map(|s| st.delivery(*s)).map(|d| d.to_json()).collect::<Vec<_>>(),
        }),
    )
}

/// Sends the scheduled deliveries among `seqs`, in order: now (the caller waits and sees the
/// answers) or after `delay_ms` on a thread of their own. Held ones stay held.
pub fn dispatch(app: &Arc<App>, seqs: &[u64], delay_ms: u64) {
    let seqs = seqs.to_vec();
    if delay_ms == 0 {
        send_all(app, &seqs);
    } else {
        let app = Arc::clone(app);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(delay_ms));
            send_all(&app, &seqs);
        });
    }
}

fn send_all(app: &App, seqs: &[u64]) {
    for seq in seqs {
        // The lock is not held while sending: the receiver may call the invoices API back.
        let job = {
            let st = app.lock();
            st.delivery(*seq)
                .filter(|d| d.state == DeliveryState::Scheduled)
                .map(|d| {
                    (
                        st.settings.target_url.clone(),
                        d.body.clone(),
                        d.signature.clone(),
                    )
                })
        };
        let Some((target, body, signature)) = job else {
            continue;
        };
        let result = match target {
            None => Err("no target configured (--target or /_control/config)".to_string()),
            Some(url) => {
                let headers: Vec<(String, String)> = signature
                    .into_iter()
                    .map(|s| ("signature".to_string(), s))
                    .collect();
                send::post(&url, &headers, &body)
            }
        };
        let mut st = app.lock();
        if let Some(d) = st.delivery_mut(*seq) {
            d.sent_at = Some(now_ms());
            d.state = match result {
                Ok(a) => DeliveryState::Sent {
                    status: a.status,
                    response: a.body,
                },
                Err(error) => DeliveryState::Failed { error },
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_options() {
        let o = SendOpts::parse(&json!({})).unwrap();
        assert_eq!(
            o,
            SendOpts {
                signing: Signing::Signed,
                payload: Payload::Full,
                copies: 1,
                hold: false,
                delay_ms: 0
            }
        );
        let o = SendOpts::parse(
            &json!({"signing": "stale", "payload": "id_only", "duplicate": true, "hold": true}),
        )
        .unwrap();
        assert_eq!(
            (o.signing, o.payload, o.copies, o.hold),
            (Signing::Stale, Payload::IdOnly, 2, true)
        );
        for bad in [
            json!({"signing": "maybe"}),
            json!({"duplicate": 0}),
            json!({"duplicate": 11}),
            json!({"delay_ms": -1}),
            json!({"payload": "x"}),
        ] {
            assert!(SendOpts::parse(&bad).is_err(), "{bad}");
        }
    }
}
