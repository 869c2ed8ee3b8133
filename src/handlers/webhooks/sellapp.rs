//! `POST /webhooks/sellapp/{tenant}`: steps 1–5 of `relay_payments`'s integration points.
//! Verified before anything is stored; recorded before it is decided; a verified delivery is
//! answered 200 whatever it says, 503 only when we failed (so Sell.app redelivers).

use relay_payments::outcome::{answer_body, Outcome};
use relay_payments::signature::MAX_BODY_BYTES;
use relay_payments::webhook;
use serde_json::Value;
use worker::Request;

use crate::accounts::new_id;
use crate::db::webhook_events::{Decided, NewEvent};
use crate::db::Db;
use crate::entitlement_changes::Ctx;
use crate::handlers::context::Cx;
use crate::http::{self, header, ApiResult, OrUnavailable};
use crate::payments::{settle, EventRef, Given, Known};

pub async fn receive(req: &mut Request, cx: &Cx, tenant: &str) -> ApiResult {
    let body = http::read_body(req, MAX_BODY_BYTES).await?;
    let db = Db::new(&cx.env).or_unavailable("database")?;
    // An unknown tenant has no secret: refused exactly like a tenant without one, so the
    // answer does not tell which tenant keys exist.
    let secret = db
        .sellapp_secrets()
        .get(tenant)
        .await
        .or_unavailable("webhook secret")?;
    let received = webhook::receive(
        secret.as_deref().map(str::as_bytes),
        header(req, "signature").as_deref(),
        &body,
    )
    .map_err(|e| e.to_api_error())?;
    let raw = String::from_utf8_lossy(&body);
    let (name, order, store) = match &received.envelope {
        Ok(e) => (
            Some(e.event.as_str().to_string()),
            Some(e.subject_id.as_str().to_string()),
            Some(e.store.as_str().to_string()),
        ),
        Err(_) => (None, None, None),
    };
    let new_event = new_id("evt");
    let events = db.webhook_events();
    let fresh = events
        .record(&NewEvent {
            tenant_key: tenant,
            event_id: &new_event,
            event_key: received.key.as_str(),
            event_name: name.as_deref(),
            order_id: order.as_deref(),
            store_id: store.as_deref(),
            raw_body: &raw,
            now: cx.now,
        })
        .await
        .or_unavailable("webhook event")?;
    let event_id = if fresh {
        new_event
    } else {
        // A redelivery of an event we failed on is what the 503 asked for: take it up again
        // (claimed atomically, so two redeliveries do not both run). Anything else is a repeat.
        match events
            .reclaim_failed(tenant, received.key.as_str())
            .await
            .or_unavailable("webhook event")?
        {
            Some(id) => id,
            None => return Ok(http::raw_json(&cx.cid, 200, &answer_body(None))),
        }
    };
    // The tenant's store, checked after the event is recorded: an event of another store is
    // kept (visible, with its reason) but never applied.
    let other_store = match &received.envelope {
        Ok(e) => relay_payments::outcome::check_store(
            db.payment_settings()
                .store_id(tenant)
                .await
                .or_unavailable("payment settings")?
                .as_deref(),
            e.store.as_str(),
        ),
        Err(_) => None,
    };
    let outcome = match (received.envelope, other_store) {
        (Ok(_), Some(o)) => {
            let reason = serde_json::to_string(&o).ok();
            db.batch(vec![events
                .decide(
                    tenant,
                    &event_id,
                    &Decided {
                        outcome: o.as_str(),
                        reason_code: o.reason_code(),
                        reason_json: reason.as_deref(),
                        error: None,
                        now: cx.now,
                    },
                )
                .or_unavailable("webhook event")?])
                .await
                .or_unavailable("webhook event")?;
            o
        }
        (Err(e), _) => {
            let o = Outcome::malformed(&e);
            let reason = serde_json::to_string(&o).ok();
            db.batch(vec![events
                .decide(
                    tenant,
                    &event_id,
                    &Decided {
                        outcome: o.as_str(),
                        reason_code: o.reason_code(),
                        reason_json: reason.as_deref(),
                        error: None,
                        now: cx.now,
                    },
                )
                .or_unavailable("webhook event")?])
                .await
                .or_unavailable("webhook event")?;
            o
        }
        (Ok(env), None) => {
            let given = env.invoice.clone().map(|invoice| Known {
                raw: serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("data").cloned())
                    .unwrap_or(Value::Null),
                invoice,
            });
            settle(
                &Ctx::of(cx),
                &db,
                tenant,
                &relay_payments::lifecycle::Trigger::Webhook(env.event.clone()),
                &env.subject_id,
                Given::Carried(given),
                Some(EventRef {
                    event_id: &event_id,
                }),
            )
            .await
            .outcome
        }
    };
    Ok(http::raw_json(
        &cx.cid,
        outcome.http_status(),
        &answer_body(Some(&outcome)),
    ))
}
