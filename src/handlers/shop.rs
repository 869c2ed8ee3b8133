//! `/v1/shop/{tenant}`: what the public shop page shows (tier cards, the options on sale now,
//! trial labels hidden once the signed-in customer used theirs, checkout links with their email
//! prefilled) and, for the checkout-return page, the state of one of the customer's orders.
//! Reads only; a shop visitor without a session sees the catalog without checkout links.

use relay_core::routes::ShopRoute;
use relay_core::ApiError;
use relay_payments::catalog::storefront;
use relay_payments::checkout::{checkout_link, checkout_state, CheckoutState};
use relay_payments::email::NormalizedEmail;
use relay_payments::envelope::{parse_envelope, parse_invoice, InvoiceStatus};
use relay_payments::ids::OrderId;
use relay_payments::outcome::{IgnoreReason, Outcome, UnmatchedReason};
use relay_payments::policy::PolicySet;
use serde_json::{json, Value};
use worker::Request;

use crate::db::webhook_events::EventRow;
use crate::db::Db;
use crate::handlers::account::{own_origin, signed_in, Signed};
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};
use crate::payments::RECONCILE_PREFIX;

pub async fn handle(req: &mut Request, cx: &Cx, tenant: &str, route: ShopRoute) -> ApiResult {
    let db = Db::new(&cx.env).or_unavailable("database")?;
    if relay_core::ids::check_slug(tenant).is_err()
        || db
            .tenants()
            .get(tenant)
            .await
            .or_unavailable("tenant lookup")?
            .is_none()
    {
        return Err(ApiError::not_found("no such tenant").with_code("tenant_not_found"));
    }
    // Signed in or not is a normal state here; a storage fault is still a fault.
    let who = match signed_in(req, cx, &db, tenant).await {
        Ok(s) => Some(s),
        Err(e) if e.kind.is_retryable() => return Err(e),
        Err(_) => None,
    };
    match route {
        ShopRoute::Storefront => front(req, cx, &db, tenant, who.as_ref()).await,
        ShopRoute::Order { order } => {
            let who = who.ok_or_else(crate::handlers::account::not_signed_in)?;
            order_state(cx, &db, tenant, &who, &order).await
        }
    }
}

async fn front(req: &Request, cx: &Cx, db: &Db, tenant: &str, who: Option<&Signed>) -> ApiResult {
    let cards = db.shop().cards(tenant).await.or_unavailable("catalog")?;
    let options = db.shop().options(tenant).await.or_unavailable("catalog")?;
    let policies = PolicySet::new(
        db.policies()
            .list(tenant)
            .await
            .or_unavailable("policies")?,
    )
    .map_err(|_| ApiError::unavailable("stored policies do not validate"))?;
    let email = who.and_then(|s| NormalizedEmail::parse(&s.customer.email));
    let trial_used = match who {
        Some(s) => !db
            .trial_claims()
            .matching(
                tenant,
                Some(&s.customer.customer_id),
                email.as_ref().map(|e| e.as_str()),
                db.role_sync()
                    .link(tenant, &s.customer.customer_id)
                    .await
                    .or_unavailable("discord link")?
                    .map(|l| l.discord_user_id)
                    .as_deref(),
            )
            .await
            .or_unavailable("trial claims")?
            .is_empty(),
        None => false,
    };
    let return_url = format!("{}/t/{tenant}/shop/return/", own_origin(req)?);
    let shown = storefront(&cards, &options, &policies, trial_used);
    let cards_json: Vec<Value> = shown
        .iter()
        .map(|c| {
            json!({
                "tier": c.card.tier.as_str(),
                "title": c.card.title,
                "subtitle": c.card.subtitle,
                "badge": c.card.badge,
                "description": c.card.description,
                "options": c.options.iter().map(|o| json!({
                    "id": o.option.id,
                    "duration_days": o.option.duration_days,
                    "display_price": o.option.display_price,
                    "highlights": o.option.highlights,
                    "featured": o.option.featured,
                    "trial": o.trial,
                    // Only for a signed-in customer: the webhook matches the order by email,
                    // so the link carries theirs.
                    "checkout_url": email.as_ref().map(|e| checkout_link(&o.option.checkout_url, e, Some(&return_url))),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(http::ok(
        &cx.cid,
        200,
        json!({
            "tenant": tenant,
            "cards": cards_json,
            "customer": who.map(|s| json!({"email": s.customer.email, "trial_used": trial_used})),
        }),
    ))
}

/// The outcome a stored row recorded, rebuilt from its outcome and reason code (the page
/// needs the kind, not the details).
fn outcome_of(row: &EventRow, email: &str, order: &OrderId) -> Option<Outcome> {
    let code = row.reason_code.as_deref().unwrap_or("");
    Some(match row.outcome.as_str() {
        "applied" => Outcome::Applied,
        "failed" => Outcome::Failed {
            error: String::new(),
        },
        "ignored" if code == "trial_already_used" => {
            Outcome::ignored(IgnoreReason::TrialAlreadyUsed {
                previous_order: order.clone(),
            })
        }
        "ignored" => Outcome::ignored(IgnoreReason::UnpaidOrderCreated),
        "unmatched" => Outcome::unmatched(match code {
            "no_account_yet" => UnmatchedReason::NoAccountYet {
                email: email.to_string(),
            },
            "policy_disabled" => UnmatchedReason::PolicyDisabled {
                policy_id: String::new(),
            },
            "no_email" => UnmatchedReason::NoEmail,
            "invoice_details_missing" => UnmatchedReason::InvoiceDetailsMissing,
            "multiple_lines" => UnmatchedReason::MultipleLines,
            _ => UnmatchedReason::NoPolicy {
                product_id: None,
                variant_id: None,
            },
        }),
        _ => return None,
    })
}

/// The invoice a stored row carried: a webhook envelope's `data`, or the invoice itself for a
/// reconciliation row.
fn invoice_of(row: &EventRow) -> Option<relay_payments::envelope::Invoice> {
    let raw = row.raw_body.as_deref()?;
    if row
        .event_name
        .as_deref()
        .is_some_and(|n| n.starts_with(RECONCILE_PREFIX))
    {
        return parse_invoice(&serde_json::from_str::<Value>(raw).ok()?);
    }
    parse_envelope(raw.as_bytes()).ok()?.invoice
}

async fn order_state(cx: &Cx, db: &Db, tenant: &str, who: &Signed, order: &str) -> ApiResult {
    let not_found = || ApiError::not_found("no such order").with_code("order_not_found");
    let order_id = OrderId::new(order).ok_or_else(not_found)?;
    let customer = &who.customer;
    let ents = db
        .entitlements()
        .for_customer(tenant, &customer.customer_id)
        .await
        .or_unavailable("entitlements")?;
    let mine: Vec<_> = ents
        .iter()
        .filter(|e| e.source == "sellapp" && e.reference.as_deref() == Some(order))
        .collect();
    let rows = db
        .webhook_events()
        .for_order(tenant, order)
        .await
        .or_unavailable("webhook events")?;
    let invoices: Vec<_> = rows.iter().filter_map(invoice_of).collect();
    let email = NormalizedEmail::parse(&customer.email);
    // Another customer's order reads as unknown: its state is not theirs to see.
    let others = !invoices.is_empty()
        && mine.is_empty()
        && !invoices
            .iter()
            .any(|i| i.email.is_some() && i.email == email);
    if others {
        return Err(not_found());
    }
    let status: Option<InvoiceStatus> = invoices.iter().rev().find_map(|i| i.status.clone());
    let outcomes: Vec<Outcome> = rows
        .iter()
        .filter_map(|r| outcome_of(r, &customer.email, &order_id))
        .collect();
    let active = mine.iter().any(|e| e.payments().is_active(cx.now));
    let state = checkout_state(active, status.as_ref(), &outcomes);
    let tier = mine.first().map(|e| e.tier_key.clone());
    let done = !matches!(state, CheckoutState::Pending);
    Ok(http::ok(
        &cx.cid,
        200,
        json!({
            "order": {
                "order_id": order,
                "checkout": state,
                "tier": tier,
                "final": done,
                "dashboard_path": format!("/t/{tenant}/"),
            }
        }),
    ))
}
