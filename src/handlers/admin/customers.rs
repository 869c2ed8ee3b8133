//! `/v1/admin/tenants/{t}/customers[...]`: every account (not only those who paid), their
//! entitlements and history, and the operator's actions on them. Each change is one batch with
//! its audit entry, then the tenant object is told so live sockets follow at once.

use relay_accounts::entitlement::{plan_grant, Grant};
use relay_core::routes::CustomersRoute;
use relay_core::validate::FieldError;
use relay_core::ApiError;
use serde_json::{json, Value};
use worker::Request;

use super::lookup::tenant;
use crate::accounts::{self, new_id, operator, reason, Cause};
use crate::db::audit::Entry;
use crate::db::customers::CustomerRow;
use crate::db::entitlements::NewEntitlement;
use crate::db::Db;
use crate::entitlement_changes::{entitlement_changed, Ctx, EntitlementChange, Kind};
use crate::handlers::account::{issue_reset, own_origin};
use crate::handlers::context::Cx;
use crate::http::{self, query, ApiResult, OrUnavailable};

fn not_found() -> ApiError {
    ApiError::not_found("no such customer").with_code("customer_not_found")
}

/// The customer, in this tenant only: an id of another tenant's customer is simply unknown.
async fn customer(db: &Db, t: &str, id: &str) -> ApiResult<CustomerRow> {
    if id.is_empty() || id.len() > 64 {
        return Err(not_found());
    }
    db.customers()
        .get(t, id)
        .await
        .or_unavailable("customer")?
        .ok_or_else(not_found)
}

async fn detail(cx: &Cx, db: &Db, t: &str, c: &CustomerRow) -> ApiResult<Value> {
    let a = accounts::access(db, t, &c.customer_id, cx.now).await?;
    let history = db
        .audit()
        .for_customer(t, &c.customer_id, 200)
        .await
        .or_unavailable("history")?;
    let sessions = db
        .sessions()
        .count_open(t, &c.customer_id)
        .await
        .or_unavailable("sessions")?;
    Ok(json!({
        "customer": c.to_json(),
        "access": a.access_json(cx.now),
        "open_sessions": sessions,
        "entitlements": a.entitlements.iter().map(|e| e.to_json(cx.now)).collect::<Vec<_>>(),
        "history": history.iter().map(|h| h.to_json()).collect::<Vec<_>>(),
    }))
}

fn entry<'a>(
    t: &'a str,
    c: &'a str,
    action: &'a str,
    detail: Value,
    why: Option<&'a str>,
    actor: &'a str,
    now: i64,
) -> Entry<'a> {
    Entry {
        tenant_key: t,
        customer_id: Some(c),
        at: now,
        action,
        detail,
        reason: why,
        actor,
    }
}

pub async fn handle(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    t: &str,
    route: CustomersRoute,
) -> ApiResult {
    tenant(db, t).await?;
    let actor = operator(req);
    let disable = matches!(route, CustomersRoute::Disable { .. });
    match route {
        CustomersRoute::List => {
            let q = query(req, "q")
                .map(|q| q.trim().to_string())
                .filter(|q| !q.is_empty());
            let limit = query(req, "limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(50)
                .clamp(1, 200);
            let before = match query(req, "cursor").filter(|c| !c.is_empty()) {
                None => None,
                Some(c) => Some(
                    c.split_once('|')
                        .and_then(|(at, id)| at.parse::<i64>().ok().map(|at| (at, id.to_string())))
                        .ok_or_else(|| {
                            ApiError::invalid_fields(vec![FieldError::new(
                                "cursor",
                                "is not a cursor this API issued",
                            )])
                        })?,
                ),
            };
            let rows = db
                .customers()
                .search(
                    t,
                    q.as_deref(),
                    before.as_ref().map(|(a, i)| (*a, i.as_str())),
                    limit,
                )
                .await
                .or_unavailable("customers")?;
            let mut list = Vec::new();
            for c in &rows {
                let a = accounts::access(db, t, &c.customer_id, cx.now).await?;
                let mut v = c.to_json();
                v["access"] = a.access_json(cx.now);
                list.push(v);
            }
            let next = (rows.len() == limit)
                .then(|| {
                    rows.last()
                        .map(|l| format!("{}|{}", l.created_at, l.customer_id))
                })
                .flatten();
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"customers": list, "next_cursor": next}),
            ))
        }
        CustomersRoute::Get { customer: id } => {
            let c = customer(db, t, &id).await?;
            Ok(http::ok(&cx.cid, 200, detail(cx, db, t, &c).await?))
        }
        CustomersRoute::History { customer: id } => {
            let c = customer(db, t, &id).await?;
            let history = db
                .audit()
                .for_customer(t, &c.customer_id, 500)
                .await
                .or_unavailable("history")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"history": history.iter().map(|h| h.to_json()).collect::<Vec<_>>()}),
            ))
        }
        CustomersRoute::Grant { customer: id } => {
            let c = customer(db, t, &id).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let mut errors = Vec::new();
            let tier = body
                .get("tier")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let days = body.get("days").and_then(Value::as_i64);
            if tier.is_empty() {
                errors.push(FieldError::new("tier", "is required (a tier key)"));
            }
            if !days.is_some_and(|d| (1..=relay_accounts::entitlement::MAX_GRANT_DAYS).contains(&d))
            {
                errors.push(FieldError::new("days", "must be an integer in 1..=3650"));
            }
            let why = match reason(&body, true) {
                Ok(r) => r,
                Err(e) => {
                    errors.extend(e.details);
                    None
                }
            };
            if !errors.is_empty() {
                return Err(ApiError::invalid_fields(errors));
            }
            let days = days.unwrap_or(1);
            let a = accounts::access(db, t, &c.customer_id, cx.now).await?;
            if a.rank_of(&tier).is_none() {
                return Err(ApiError::not_found("no such tier").with_code("tier_not_found"));
            }
            let domain: Vec<_> = a.entitlements.iter().map(|e| e.domain()).collect();
            let plan = plan_grant(&domain, &tier, days, cx.now).map_err(|_| {
                ApiError::invalid_fields(vec![FieldError::new(
                    "days",
                    "must be an integer in 1..=3650",
                )])
            })?;
            let (eid, stmt, detail) = match &plan {
                Grant::Extend { id: eid, ends_at } => (
                    eid.clone(),
                    db.entitlements()
                        .extend(t, eid, *ends_at, cx.now)
                        .or_unavailable("grant")?,
                    json!({"tier": tier, "days": days, "extended": eid, "ends_at_ms": ends_at}),
                ),
                Grant::Create { starts_at, ends_at } => {
                    let eid = new_id("ent");
                    let stmt = db
                        .entitlements()
                        .insert(&NewEntitlement {
                            tenant_key: t,
                            entitlement_id: &eid,
                            customer_id: &c.customer_id,
                            tier_key: &tier,
                            starts_at: *starts_at,
                            ends_at: *ends_at,
                            source: "manual",
                            reference: None,
                            now: cx.now,
                        })
                        .or_unavailable("grant")?;
                    let d = json!({"tier": tier, "days": days, "created": eid, "starts_at_ms": starts_at, "ends_at_ms": ends_at});
                    (eid, stmt, d)
                }
            };
            db.batch(vec![
                stmt,
                db.audit()
                    .record(&entry(
                        t,
                        &c.customer_id,
                        "entitlement_granted",
                        detail,
                        why.as_deref(),
                        &actor,
                        cx.now,
                    ))
                    .or_unavailable("audit")?,
            ])
            .await
            .or_unavailable("grant")?;
            let _ = entitlement_changed(
                &Ctx::of(cx),
                db,
                t,
                &c.customer_id,
                &[EntitlementChange {
                    entitlement_id: eid.clone(),
                    tier: tier.clone(),
                    kind: Kind::Granted,
                }],
            )
            .await;
            let after = accounts::access(db, t, &c.customer_id, cx.now).await?;
            let ent = after
                .entitlements
                .iter()
                .find(|e| e.entitlement_id == eid)
                .map(|e| e.to_json(cx.now));
            Ok(http::ok(
                &cx.cid,
                201,
                json!({"entitlement": ent, "access": after.access_json(cx.now)}),
            ))
        }
        CustomersRoute::Revoke {
            customer: id,
            entitlement,
        } => {
            let c = customer(db, t, &id).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let why = reason(&body, true)?;
            let a = accounts::access(db, t, &c.customer_id, cx.now).await?;
            if !a
                .entitlements
                .iter()
                .any(|e| e.entitlement_id == entitlement)
            {
                return Err(
                    ApiError::not_found("no such entitlement").with_code("entitlement_not_found")
                );
            }
            db.batch(vec![
                db.entitlements()
                    .revoke(t, &c.customer_id, &entitlement, cx.now)
                    .or_unavailable("revoke")?,
                db.audit()
                    .record(&entry(
                        t,
                        &c.customer_id,
                        "entitlement_revoked",
                        json!({"entitlement_id": entitlement}),
                        why.as_deref(),
                        &actor,
                        cx.now,
                    ))
                    .or_unavailable("audit")?,
            ])
            .await
            .or_unavailable("revoke")?;
            let tier = a
                .entitlements
                .iter()
                .find(|e| e.entitlement_id == entitlement)
                .map(|e| e.tier_key.clone())
                .unwrap_or_default();
            let closed = entitlement_changed(
                &Ctx::of(cx),
                db,
                t,
                &c.customer_id,
                &[EntitlementChange {
                    entitlement_id: entitlement.clone(),
                    tier,
                    kind: Kind::Revoked,
                }],
            )
            .await;
            let after = accounts::access(db, t, &c.customer_id, cx.now).await?;
            let ent = after
                .entitlements
                .iter()
                .find(|e| e.entitlement_id == entitlement)
                .map(|e| e.to_json(cx.now));
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"entitlement": ent, "access": after.access_json(cx.now), "sockets_closed": closed}),
            ))
        }
        CustomersRoute::ResetLink { customer: id } => {
            let c = customer(db, t, &id).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let why = reason(&body, true)?;
            let url = issue_reset(
                cx,
                db,
                t,
                &c.customer_id,
                &own_origin(req)?,
                &actor,
                why.as_deref(),
            )
            .await?;
            let expires = relay_core::time::Timestamp::from_ms(
                cx.now + relay_accounts::reset::DEFAULT_TTL_MS,
            );
            Ok(http::ok(
                &cx.cid,
                201,
                json!({"url": url, "expires_at": expires.to_rfc3339()}),
            ))
        }
        CustomersRoute::Disable { customer: id } | CustomersRoute::Enable { customer: id } => {
            let c = customer(db, t, &id).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let why = reason(&body, true)?;
            let status = if disable { "disabled" } else { "active" };
            let mut stmts = vec![
                db.customers()
                    .set_status(t, &c.customer_id, status, cx.now)
                    .or_unavailable("status")?,
                db.audit()
                    .record(&entry(
                        t,
                        &c.customer_id,
                        if disable {
                            "account_disabled"
                        } else {
                            "account_enabled"
                        },
                        json!({}),
                        why.as_deref(),
                        &actor,
                        cx.now,
                    ))
                    .or_unavailable("audit")?,
            ];
            if disable {
                stmts.push(
                    db.sessions()
                        .revoke_all(t, &c.customer_id, cx.now)
                        .or_unavailable("sessions")?,
                );
            }
            db.batch(stmts).await.or_unavailable("status")?;
            if disable {
                let _ = accounts::enforce(cx, db, t, &c.customer_id, Cause::Disabled).await;
            }
            let c = customer(db, t, &id).await?;
            Ok(http::ok(&cx.cid, 200, json!({"customer": c.to_json()})))
        }
        CustomersRoute::RevokeSessions { customer: id } => {
            let c = customer(db, t, &id).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let why = reason(&body, true)?;
            let open = db
                .sessions()
                .count_open(t, &c.customer_id)
                .await
                .or_unavailable("sessions")?;
            db.batch(vec![
                db.sessions()
                    .revoke_all(t, &c.customer_id, cx.now)
                    .or_unavailable("sessions")?,
                db.audit()
                    .record(&entry(
                        t,
                        &c.customer_id,
                        "sessions_revoked",
                        json!({"sessions": open}),
                        why.as_deref(),
                        &actor,
                        cx.now,
                    ))
                    .or_unavailable("audit")?,
            ])
            .await
            .or_unavailable("sessions")?;
            let closed = accounts::enforce(cx, db, t, &c.customer_id, Cause::Sessions)
                .await
                .unwrap_or(0);
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"revoked": open, "sockets_closed": closed}),
            ))
        }
    }
}
