//! `/v1/admin/tenants/{t}/payments/{store,reconciliation,flags,catalog,sales}`: the tenant's
//! Sell.app store, whether reconciliation runs and what it last did, the customers flagged for
//! the operator, the shop catalog (validated as a whole by `relay_payments::catalog`) and the
//! sales figures from our own ledger.

use relay_core::routes::PaymentsRoute;
use relay_core::validate::FieldError;
use relay_core::ApiError;
use relay_payments::catalog::{self, PurchaseOption, Rules, TierCard};
use relay_payments::ids::{StoreId, TierKey};
use relay_payments::policy::PolicySet;
use relay_payments::sales;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use worker::{Env, Request};

use super::payments::entry;
use crate::accounts::reason;
use crate::config::secret;
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};

const FLAGS_SHOWN: usize = 200;

/// The deployment's catalog rules: `SHOP_ALLOW_LOOPBACK_CHECKOUT=true` lets a local stack link
/// to the fake Sell.app over http on 127.0.0.1.
pub fn rules(env: &Env) -> Rules {
    Rules {
        allow_loopback_http: secret(env, "SHOP_ALLOW_LOOPBACK_CHECKOUT")
            .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes")),
    }
}

pub fn card_json(c: &TierCard) -> Value {
    json!({
        "tier": c.tier.as_str(), "title": c.title, "subtitle": c.subtitle, "badge": c.badge,
        "description": c.description, "order": c.order, "active": c.active,
    })
}

pub fn option_json(o: &PurchaseOption) -> Value {
    json!({
        "id": o.id, "tier": o.tier.as_str(), "policy_id": o.policy_id, "duration_days": o.duration_days,
        "display_price": o.display_price, "highlights": o.highlights, "featured": o.featured,
        "checkout_url": o.checkout_url, "active": o.active,
    })
}

/// Reads `{cards: [...], options: [...]}`; shape problems are named like the validator's.
fn parse_catalog(body: &Value) -> ApiResult<(Vec<TierCard>, Vec<PurchaseOption>)> {
    let mut errs = Vec::new();
    let list = |name: &str, errs: &mut Vec<FieldError>| match body.get(name) {
        Some(Value::Array(a)) => a.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => {
            errs.push(FieldError::new(name, "must be a list"));
            Vec::new()
        }
    };
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let opt_str = |v: &Value, k: &str, at: &str, errs: &mut Vec<FieldError>| match v.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errs.push(FieldError::new(
                format!("{at}.{k}"),
                "must be a string or null",
            ));
            None
        }
    };
    let flag = |v: &Value, k: &str, at: &str, errs: &mut Vec<FieldError>| match v.get(k) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errs.push(FieldError::new(
                format!("{at}.{k}"),
                "must be true or false",
            ));
            false
        }
    };
    let tier_of = |v: &Value, at: &str, errs: &mut Vec<FieldError>| {
        let t = str_of(v, "tier").and_then(|t| TierKey::new(&t));
        if t.is_none() {
            errs.push(FieldError::new(
                format!("{at}.tier"),
                "is required (a tier key)",
            ));
        }
        t
    };
    let mut cards = Vec::new();
    for (i, c) in list("cards", &mut errs).iter().enumerate() {
        let at = format!("cards[{i}]");
        let tier = tier_of(c, &at, &mut errs);
        let order = match c.get("order") {
            None | Some(Value::Null) => Some(0),
            Some(v) => v.as_i64().and_then(|n| i32::try_from(n).ok()),
        };
        if order.is_none() {
            errs.push(FieldError::new(
                format!("{at}.order"),
                "must be a whole number",
            ));
        }
        let subtitle = opt_str(c, "subtitle", &at, &mut errs);
        let badge = opt_str(c, "badge", &at, &mut errs);
        let active = flag(c, "active", &at, &mut errs);
        if let (Some(tier), Some(order)) = (tier, order) {
            cards.push(TierCard {
                tier,
                title: str_of(c, "title").unwrap_or_default(),
                subtitle,
                badge,
                description: str_of(c, "description").unwrap_or_default(),
                order,
                active,
            });
        }
    }
    let mut options = Vec::new();
    for (i, o) in list("options", &mut errs).iter().enumerate() {
        let at = format!("options[{i}]");
        let tier = tier_of(o, &at, &mut errs);
        let days = o
            .get("duration_days")
            .and_then(Value::as_u64)
            .and_then(|d| u32::try_from(d).ok())
            .filter(|d| (1..=3650).contains(d));
        if days.is_none() {
            errs.push(FieldError::new(
                format!("{at}.duration_days"),
                "must be 1..=3650 days",
            ));
        }
        let highlights = match o.get("highlights") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
                .iter()
                .filter_map(|h| h.as_str().map(str::to_string))
                .collect(),
            Some(_) => {
                errs.push(FieldError::new(
                    format!("{at}.highlights"),
                    "must be a list of strings",
                ));
                Vec::new()
            }
        };
        let featured = flag(o, "featured", &at, &mut errs);
        let active = flag(o, "active", &at, &mut errs);
        let id = str_of(o, "id").unwrap_or_default();
        if !id.is_empty()
            && (id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            errs.push(FieldError::new(
                format!("{at}.id"),
                "must be 1..=64 characters of a-z, 0-9, - and _",
            ));
        }
        if let (Some(tier), Some(duration_days)) = (tier, days) {
            options.push(PurchaseOption {
                id,
                tier,
                policy_id: str_of(o, "policy_id").unwrap_or_default(),
                duration_days,
                display_price: str_of(o, "display_price").unwrap_or_default(),
                highlights,
                featured,
                checkout_url: str_of(o, "checkout_url").unwrap_or_default(),
                active,
            });
        }
    }
    if errs.is_empty() {
        Ok((cards, options))
    } else {
        Err(ApiError::invalid_fields(errs).with_code("catalog_invalid"))
    }
}

async fn policies(db: &Db, t: &str) -> ApiResult<PolicySet> {
    let list = db.policies().list(t).await.or_unavailable("policies")?;
    PolicySet::new(list).map_err(|_| {
        ApiError::unavailable("stored policies do not validate").with_code("policies_invalid")
    })
}

pub async fn handle(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    t: &str,
    actor: &str,
    route: PaymentsRoute,
) -> ApiResult {
    match route {
        PaymentsRoute::Store => {
            let row = db
                .payment_settings()
                .get(t)
                .await
                .or_unavailable("payment settings")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"store": store_json(row.as_ref())}),
            ))
        }
        PaymentsRoute::SetStore => {
            let body = http::read_json(req, &cx.cfg).await?;
            let store = match body.get("store_id") {
                None => {
                    return Err(ApiError::invalid_fields(vec![FieldError::new(
                        "store_id",
                        "is required (a Sell.app store id, or null to accept any store)",
                    )]))
                }
                Some(Value::Null) => None,
                Some(v) => Some(StoreId::from_json(v).ok_or_else(|| {
                    ApiError::invalid_fields(vec![FieldError::new(
                        "store_id",
                        "must be a Sell.app store id",
                    )])
                })?),
            };
            let why = reason(&body, false)?;
            db.batch(vec![
                db.payment_settings()
                    .set_store(t, store.as_ref().map(|s| s.as_str()), actor, cx.now)
                    .or_unavailable("payment settings")?,
                db.audit()
                    .record(&entry(
                        t,
                        "sellapp_store_set",
                        json!({"store_id": store.as_ref().map(|s| s.as_str())}),
                        why.as_deref(),
                        actor,
                        cx.now,
                    ))
                    .or_unavailable("audit")?,
            ])
            .await
            .or_unavailable("payment settings")?;
            let row = db
                .payment_settings()
                .get(t)
                .await
                .or_unavailable("payment settings")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"store": store_json(row.as_ref())}),
            ))
        }
        PaymentsRoute::Reconciliation => {
            let api = crate::payments::api_config(&cx.env);
            let last = db
                .reconciliation_runs()
                .last(t)
                .await
                .or_unavailable("reconciliation")?;
            let store = db
                .payment_settings()
                .store_id(t)
                .await
                .or_unavailable("payment settings")?;
            let ctx = crate::entitlement_changes::Ctx::of(cx);
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"reconciliation": {
                    "enabled": api.is_some(),
                    "state": if api.is_some() { "on" } else { "off" },
                    "message": if api.is_some() {
                        "the scheduled handler re-reads recent invoices from Sell.app and revokes refunded, disputed and cancelled orders"
                    } else {
                        "reconciliation off: SELLAPP_API_TOKEN is not set, so refunds and cancellations (which Sell.app does not announce by webhook) are not applied"
                    },
                    "api_base": api.as_ref().map(|a| a.base.clone()),
                    "horizon_days": crate::reconcile::horizon_days(&ctx),
                    "store_id": store,
                    "last_run": last.map(|r| r.to_json()),
                }}),
            ))
        }
        PaymentsRoute::Flags => {
            let rows = db
                .flags()
                .list(t, FLAGS_SHOWN)
                .await
                .or_unavailable("flags")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"flags": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>()}),
            ))
        }
        PaymentsRoute::Catalog => {
            let cards = db.shop().cards(t).await.or_unavailable("catalog")?;
            let options = db.shop().options(t).await.or_unavailable("catalog")?;
            let pols = policies(db, t).await?;
            // A policy disabled or changed after publishing: the stored catalog no longer
            // validates, and the shop hides the option; the console shows why.
            let warnings = catalog::validate_catalog_with(&cards, &options, &pols, rules(&cx.env))
                .err()
                .unwrap_or_default();
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "catalog": {
                        "cards": cards.iter().map(card_json).collect::<Vec<_>>(),
                        "options": options.iter().map(option_json).collect::<Vec<_>>(),
                    },
                    "warnings": warnings.iter().map(|w| json!({"field": w.field, "problem": w.problem})).collect::<Vec<_>>(),
                    "shop_path": format!("/t/{t}/shop/"),
                }),
            ))
        }
        PaymentsRoute::PutCatalog => {
            let body = http::read_json(req, &cx.cfg).await?;
            let (cards, options) = parse_catalog(&body)?;
            let why = reason(&body, false)?;
            let tiers = db.tiers().list(t).await.or_unavailable("tiers")?;
            let missing: Vec<FieldError> = cards
                .iter()
                .enumerate()
                .filter(|(_, c)| !tiers.iter().any(|x| x.tier_key == c.tier.as_str()))
                .map(|(i, c)| {
                    FieldError::new(format!("cards[{i}].tier"), format!("no tier {}", c.tier))
                })
                .collect();
            if !missing.is_empty() {
                return Err(ApiError::invalid_fields(missing).with_code("catalog_invalid"));
            }
            let pols = policies(db, t).await?;
            catalog::validate_catalog_with(&cards, &options, &pols, rules(&cx.env)).map_err(
                |errs| {
                    let code = catalog::error_code(&errs);
                    ApiError::invalid_fields(errs).with_code(code)
                },
            )?;
            let mut stmts = db
                .shop()
                .replace(t, &cards, &options, cx.now)
                .or_unavailable("catalog")?;
            stmts.push(
                db.audit()
                    .record(&entry(
                        t,
                        "shop_catalog_saved",
                        json!({"cards": cards.len(), "options": options.len(),
                               "published": options.iter().filter(|o| o.active).count()}),
                        why.as_deref(),
                        actor,
                        cx.now,
                    ))
                    .or_unavailable("audit")?,
            );
            db.batch(stmts).await.or_unavailable("catalog")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "catalog": {
                        "cards": cards.iter().map(card_json).collect::<Vec<_>>(),
                        "options": options.iter().map(option_json).collect::<Vec<_>>(),
                    },
                    "warnings": [],
                    "shop_path": format!("/t/{t}/shop/"),
                }),
            ))
        }
        PaymentsRoute::Sales => {
            let log = db.sales().all(t).await.or_unavailable("sales")?;
            let report = sales::report(&log, cx.now);
            let pols = db.policies().list(t).await.or_unavailable("policies")?;
            let cards = db.shop().cards(t).await.or_unavailable("catalog")?;
            // Option keys are Sell.app variant (else product) ids; name them for the console.
            let mut labels: BTreeMap<String, String> = BTreeMap::new();
            for p in &pols {
                let key = p
                    .variant_id
                    .as_ref()
                    .map(|v| v.as_str().to_string())
                    .unwrap_or_else(|| p.product_id.as_str().to_string());
                let tier = cards
                    .iter()
                    .find(|c| c.tier == p.tier)
                    .map(|c| c.title.clone())
                    .unwrap_or_else(|| p.tier.as_str().to_string());
                labels
                    .entry(key)
                    .or_insert(format!("{tier} · {} days", p.duration_days));
            }
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"sales": report, "option_labels": labels, "source": "payment_sales ledger (applied orders)"}),
            ))
        }
        // Answered by `payments::handle`, which sends only the routes above here.
        PaymentsRoute::SecretInfo
        | PaymentsRoute::SetSecret
        | PaymentsRoute::Policies
        | PaymentsRoute::PutPolicy { .. }
        | PaymentsRoute::DeletePolicy { .. }
        | PaymentsRoute::Events
        | PaymentsRoute::Replay { .. }
        | PaymentsRoute::ReplayAll => Err(ApiError::not_found("no such payments route")),
    }
}

fn store_json(row: Option<&crate::db::payment_settings::SettingsRow>) -> Value {
    match row {
        Some(r) => {
            json!({"store_id": r.store_id, "configured": r.store_id.is_some(), "updated_at_ms": r.updated_at, "updated_by": r.updated_by})
        }
        None => json!({"store_id": null, "configured": false}),
    }
}
