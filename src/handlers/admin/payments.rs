//! `/v1/admin/tenants/{t}/payments/...`: the tenant's Sell.app webhook secret (set or rotated,
//! never shown), its purchase policies, and the webhook events with their outcomes and
//! replays. Every change is recorded in the audit trail like the other operator changes.

use relay_core::routes::PaymentsRoute;
use relay_core::validate::FieldError;
use relay_core::ApiError;
use relay_payments::ids::{ProductId, TierKey, VariantId};
use relay_payments::policy::{Policy, PolicySet};
use serde_json::{json, Value};
use worker::Request;

use relay_payments::outcome::{row_replayable, STUCK_AFTER_MS};

use super::lookup::tenant;
use super::shop_admin;
use crate::accounts::{operator, reason};
use crate::db::audit::Entry;
use crate::db::Db;
use crate::entitlement_changes::Ctx;
use crate::handlers::context::Cx;
use crate::http::{self, query, ApiResult, OrUnavailable};

/// Shortest webhook secret accepted: an HMAC key guessable by brute force is no key.
const MIN_SECRET_CHARS: usize = 16;
const MAX_SECRET_CHARS: usize = 512;
/// Events replayed by one "replay all" call (the rest wait for the next call).
const REPLAY_BATCH: usize = 100;
const OUTCOMES: [&str; 5] = ["received", "applied", "ignored", "unmatched", "failed"];

/// An audit entry of the tenant's payments settings (no customer).
pub(super) fn entry<'a>(
    t: &'a str,
    action: &'a str,
    detail: Value,
    why: Option<&'a str>,
    actor: &'a str,
    now: i64,
) -> Entry<'a> {
    Entry {
        tenant_key: t,
        customer_id: None,
        at: now,
        action,
        detail,
        reason: why,
        actor,
    }
}

fn policy_json(p: &Policy) -> Value {
    json!({
        "policy_id": p.id,
        "product_id": p.product_id.as_str(),
        "variant_id": p.variant_id.as_ref().map(|v| v.as_str()),
        "tier": p.tier.as_str(),
        "duration_days": p.duration_days,
        "enabled": p.enabled,
        "trial": p.trial,
    })
}

/// A Sell.app id given as a number or a string.
fn id_field(body: &Value, name: &str) -> Option<String> {
    match body.get(name) {
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_policy(id: &str, body: &Value) -> ApiResult<Policy> {
    let mut errors = Vec::new();
    let product_id = id_field(body, "product_id").and_then(|p| ProductId::new(&p));
    if product_id.is_none() {
        errors.push(FieldError::new(
            "product_id",
            "is required (a Sell.app product id)",
        ));
    }
    let variant_id = match body.get("variant_id") {
        None | Some(Value::Null) => None,
        Some(_) => {
            let v = id_field(body, "variant_id").and_then(|v| VariantId::new(&v));
            if v.is_none() {
                errors.push(FieldError::new(
                    "variant_id",
                    "must be a Sell.app variant id or null",
                ));
            }
            v
        }
    };
    let tier = body
        .get("tier")
        .and_then(Value::as_str)
        .and_then(TierKey::new);
    if tier.is_none() {
        errors.push(FieldError::new("tier", "is required (a tier key)"));
    }
    let days = body.get("duration_days").and_then(Value::as_u64);
    if days.is_none() {
        errors.push(FieldError::new(
            "duration_days",
            "is required (a number of days)",
        ));
    }
    let flag = |name: &str, default: bool, errors: &mut Vec<FieldError>| match body.get(name) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new(name, "must be true or false"));
            default
        }
    };
    let enabled = flag("enabled", true, &mut errors);
    let trial = flag("trial", false, &mut errors);
    match (product_id, tier, days) {
        (Some(product_id), Some(tier), Some(days)) if errors.is_empty() => Ok(Policy {
            id: id.to_string(),
            product_id,
            variant_id,
            tier,
            duration_days: u32::try_from(days).unwrap_or(u32::MAX),
            enabled,
            trial,
        }),
        _ => Err(ApiError::invalid_fields(errors)),
    }
}

pub async fn handle(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    t: &str,
    route: PaymentsRoute,
) -> ApiResult {
    tenant(db, t).await?;
    let actor = operator(req);
    match route {
        PaymentsRoute::SecretInfo => {
            let info = db
                .sellapp_secrets()
                .info(t)
                .await
                .or_unavailable("webhook secret")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"webhook_secret": info.map(|i| i.to_json()).unwrap_or_else(|| json!({"configured": false}))}),
            ))
        }
        PaymentsRoute::SetSecret => {
            let body = http::read_json(req, &cx.cfg).await?;
            let secret = body.get("secret").and_then(Value::as_str).unwrap_or("");
            let n = secret.chars().count();
            if secret.trim() != secret || !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&n) {
                return Err(ApiError::invalid_fields(vec![FieldError::new(
                    "secret",
                    format!("must be {MIN_SECRET_CHARS}..={MAX_SECRET_CHARS} characters without surrounding spaces (Sell.app's webhook secret)"),
                )]));
            }
            let why = reason(&body, false)?;
            let rotated = db
                .sellapp_secrets()
                .info(t)
                .await
                .or_unavailable("webhook secret")?
                .is_some();
            db.batch(vec![
                db.sellapp_secrets()
                    .set(t, secret, &actor, cx.now)
                    .or_unavailable("webhook secret")?,
                db.audit()
                    .record(&entry(
                        t,
                        if rotated {
                            "webhook_secret_rotated"
                        } else {
                            "webhook_secret_set"
                        },
                        json!({}),
                        why.as_deref(),
                        &actor,
                        cx.now,
                    ))
                    .or_unavailable("audit")?,
            ])
            .await
            .or_unavailable("webhook secret")?;
            let info = db
                .sellapp_secrets()
                .info(t)
                .await
                .or_unavailable("webhook secret")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"webhook_secret": info.map(|i| i.to_json()), "rotated": rotated}),
            ))
        }
        PaymentsRoute::Policies => {
            let list = db.policies().list(t).await.or_unavailable("policies")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"policies": list.iter().map(policy_json).collect::<Vec<_>>()}),
            ))
        }
        PaymentsRoute::PutPolicy { policy } => {
            let body = http::read_json(req, &cx.cfg).await?;
            if policy.is_empty()
                || policy.len() > 64
                || !policy
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ApiError::invalid_fields(vec![FieldError::new(
                    "policy_id",
                    "must be 1..=64 characters of a-z, 0-9, - and _",
                )]));
            }
            let p = parse_policy(&policy, &body)?;
            let why = reason(&body, false)?;
            let tiers = db.tiers().list(t).await.or_unavailable("tiers")?;
            if !tiers.iter().any(|x| x.tier_key == p.tier.as_str()) {
                return Err(ApiError::not_found("no such tier").with_code("tier_not_found"));
            }
            let mut all = db.policies().list(t).await.or_unavailable("policies")?;
            let existed = all.iter().any(|x| x.id == p.id);
            all.retain(|x| x.id != p.id);
            all.push(p.clone());
            let me = all.len() - 1;
            // Validated as a whole: a second policy for the same variant is refused here.
            PolicySet::new(all).map_err(|errs| {
                let prefix = format!("policies[{me}].");
                ApiError::invalid_fields(
                    errs.into_iter()
                        .map(|e| FieldError {
                            field: e
                                .field
                                .strip_prefix(&prefix)
                                .map(str::to_string)
                                .unwrap_or(e.field),
                            problem: e.problem,
                        })
                        .collect(),
                )
            })?;
            db.batch(vec![
                db.policies()
                    .upsert(t, &p, cx.now)
                    .or_unavailable("policy")?,
                db.audit()
                    .record(&entry(
                        t,
                        "payment_policy_saved",
                        policy_json(&p),
                        why.as_deref(),
                        &actor,
                        cx.now,
                    ))
                    .or_unavailable("audit")?,
            ])
            .await
            .or_unavailable("policy")?;
            Ok(http::ok(
                &cx.cid,
                if existed { 200 } else { 201 },
                json!({"policy": policy_json(&p)}),
            ))
        }
        PaymentsRoute::DeletePolicy { policy } => {
            let all = db.policies().list(t).await.or_unavailable("policies")?;
            let Some(p) = all.iter().find(|x| x.id == policy) else {
                return Err(ApiError::not_found("no such policy").with_code("policy_not_found"));
            };
            db.batch(vec![
                db.policies().delete(t, &policy).or_unavailable("policy")?,
                db.audit()
                    .record(&entry(
                        t,
                        "payment_policy_deleted",
                        policy_json(p),
                        None,
                        &actor,
                        cx.now,
                    ))
                    .or_unavailable("audit")?,
            ])
            .await
            .or_unavailable("policy")?;
            Ok(http::empty(&cx.cid, 204))
        }
        PaymentsRoute::Events => {
            let wanted: Vec<String> = query(req, "outcome")
                .map(|q| {
                    q.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if let Some(bad) = wanted.iter().find(|o| !OUTCOMES.contains(&o.as_str())) {
                return Err(ApiError::invalid_fields(vec![FieldError::new(
                    "outcome",
                    format!(
                        "unknown outcome {bad:?}: one or more of {}",
                        OUTCOMES.join(", ")
                    ),
                )]));
            }
            let limit = query(req, "limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(50)
                .clamp(1, 200);
            let refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
            let rows = db
                .webhook_events()
                .list(t, &refs, limit)
                .await
                .or_unavailable("webhook events")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"events": rows.iter().map(|r| {
                    let mut v = r.to_json();
                    v["replayable"] = json!(row_replayable(&r.outcome, r.received_at, cx.now));
                    v
                }).collect::<Vec<_>>()}),
            ))
        }
        PaymentsRoute::Replay { event } => {
            let body = http::read_json(req, &cx.cfg).await?;
            let why = reason(&body, false)?;
            let row = db
                .webhook_events()
                .get(t, &event)
                .await
                .or_unavailable("webhook event")?
                .ok_or_else(|| {
                    ApiError::not_found("no such webhook event").with_code("event_not_found")
                })?;
            let result = replay_one(cx, db, t, &row).await?;
            audit_replay(
                cx,
                db,
                t,
                std::slice::from_ref(&result),
                why.as_deref(),
                &actor,
            )
            .await?;
            Ok(http::ok(&cx.cid, 200, json!({"replayed": [result]})))
        }
        PaymentsRoute::ReplayAll => {
            let body = http::read_json(req, &cx.cfg).await?;
            let why = reason(&body, false)?;
            let rows = db
                .webhook_events()
                .list(t, &["failed", "unmatched", "received"], REPLAY_BATCH)
                .await
                .or_unavailable("webhook events")?;
            let mut results = Vec::new();
            for row in rows
                .iter()
                .rev()
                .filter(|r| row_replayable(&r.outcome, r.received_at, cx.now))
            {
                results.push(replay_one(cx, db, t, row).await?);
            }
            audit_replay(cx, db, t, &results, why.as_deref(), &actor).await?;
            Ok(http::ok(&cx.cid, 200, json!({"replayed": results})))
        }
        PaymentsRoute::Store
        | PaymentsRoute::SetStore
        | PaymentsRoute::Reconciliation
        | PaymentsRoute::Flags
        | PaymentsRoute::Catalog
        | PaymentsRoute::PutCatalog
        | PaymentsRoute::Sales => shop_admin::handle(req, cx, db, t, &actor, route).await,
    }
}

async fn replay_one(
    cx: &Cx,
    db: &Db,
    t: &str,
    row: &crate::db::webhook_events::EventRow,
) -> ApiResult<Value> {
    if !row_replayable(&row.outcome, row.received_at, cx.now) {
        return Err(ApiError::conflict(format!(
            "only failed, unmatched or stuck (received over {} minutes ago) events are replayed; this one is {}",
            STUCK_AFTER_MS / 60_000,
            row.outcome
        ))
        .with_code("event_not_replayable"));
    }
    let Some(raw) = row.raw_body.as_deref() else {
        return Err(
            ApiError::conflict("this event's body was compacted: it cannot be replayed")
                .with_code("event_compacted"),
        );
    };
    // Claimed from its current outcome so a concurrent delivery or replay does not run twice.
    if !db
        .webhook_events()
        .reclaim(t, &row.event_id, &row.outcome)
        .await
        .or_unavailable("webhook event")?
    {
        return Err(
            ApiError::conflict("the event changed meanwhile: list it again")
                .with_code("event_busy"),
        );
    }
    let outcome = crate::payments::replay(
        &Ctx::of(cx),
        db,
        t,
        &row.event_id,
        row.event_name.as_deref(),
        raw,
    )
    .await;
    Ok(json!({
        "event_id": row.event_id,
        "before": row.outcome,
        "outcome": outcome.as_str(),
        "reason": outcome.reason_code(),
    }))
}

async fn audit_replay(
    cx: &Cx,
    db: &Db,
    t: &str,
    results: &[Value],
    why: Option<&str>,
    actor: &str,
) -> ApiResult<()> {
    db.batch(vec![db
        .audit()
        .record(&entry(
            t,
            "webhook_events_replayed",
            json!({"events": results}),
            why,
            actor,
            cx.now,
        ))
        .or_unavailable("audit")?])
        .await
        .or_unavailable("audit")
}
