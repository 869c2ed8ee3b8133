//! The payments part of the scheduled handler: reconciliation against Sell.app's invoices API
//! (refunds and cancellations are not announced by webhook) and the expiry sweep. The choice of
//! what to decide is `relay_payments::reconcile`; every decision goes through
//! [`crate::payments::settle`] like a webhook's, recorded as an event row under its
//! reconciliation key so that each (order, status) is decided once and can be replayed.

use relay_core::time::DAY_MS;
use relay_payments::api::{invoices_page_url, parse_invoice_page};
use relay_payments::envelope::{parse_invoice, Invoice};
use relay_payments::ids::{OrderId, StoreId};
use relay_payments::lifecycle::{sweep_expired, Change, Trigger};
use relay_payments::reconcile::{diff, read_on, Scope, DEFAULT_HORIZON_DAYS};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

use crate::accounts::new_id;
use crate::config::secret;
use crate::db::audit::Entry;
use crate::db::reconciliation_runs::RunRow;
use crate::db::webhook_events::NewEvent;
use crate::db::Db;
use crate::entitlement_changes::{entitlement_changed, Ctx, EntitlementChange, Kind};
use crate::payments::{
    api_config, api_get, settle, ApiConfig, EventRef, Given, Known, RECONCILE_PREFIX,
};
use crate::runtime::log;

/// Entitlements closed per tenant per run at most; the rest wait for the next run (access has
/// already stopped at read time, so waiting changes nothing a customer sees).
const SWEEP_BATCH: usize = 200;

pub fn horizon_days(ctx: &Ctx<'_>) -> u32 {
    secret(ctx.env, "SELLAPP_RECONCILE_DAYS")
        .and_then(|d| d.trim().parse::<u32>().ok())
        .filter(|d| (1..=365).contains(d))
        .unwrap_or(DEFAULT_HORIZON_DAYS)
}

/// Both jobs for every tenant. Without a token, reconciliation is off and only logged as such
/// (operators see it on the payments screen).
pub async fn run(ctx: &Ctx<'_>, db: &Db, tenants: &[String]) {
    for t in tenants {
        let closed = sweep(ctx, db, t).await;
        if closed > 0 {
            log(
                "info",
                "maintenance: ended entitlements closed",
                json!({"correlation_id": ctx.cid, "tenant_key": t, "closed": closed}),
            );
        }
    }
    let Some(api) = api_config(ctx.env) else {
        log(
            "info",
            "maintenance: reconciliation off (SELLAPP_API_TOKEN not set)",
            json!({"correlation_id": ctx.cid}),
        );
        return;
    };
    let started = ctx.now;
    let read = read_recent(ctx, &api).await;
    for t in tenants {
        let row = match &read {
            Ok(invoices) => reconcile_tenant(ctx, db, t, invoices, started).await,
            Err(e) => RunRow {
                started_at: started,
                finished_at: crate::runtime::now_ms(),
                invoices_seen: 0,
                decided: 0,
                revoked: 0,
                error: Some(e.clone()),
                correlation_id: ctx.cid.to_string(),
            },
        };
        log(
            if row.error.is_some() { "error" } else { "info" },
            "maintenance: reconciliation",
            json!({"correlation_id": ctx.cid, "tenant_key": t, "run": row.to_json()}),
        );
        if let Err(e) = db.reconciliation_runs().record(t, &row).await {
            log(
                "error",
                "maintenance: reconciliation run not recorded",
                json!({"correlation_id": ctx.cid, "tenant_key": t, "error": e.to_string()}),
            );
        }
    }
}

/// The recent invoices (newest first) with their raw JSON, read once for every tenant.
async fn read_recent(ctx: &Ctx<'_>, api: &ApiConfig) -> Result<Vec<(Invoice, Value)>, String> {
    let horizon = horizon_days(ctx);
    let mut out = Vec::new();
    let mut page = 1u32;
    let mut read = 0u32;
    loop {
        let body = api_get(api, &invoices_page_url(&api.base, page))
            .await
            .map_err(|e| format!("invoices page {page}: {e}"))?;
        let parsed =
            parse_invoice_page(&body).map_err(|e| format!("invoices page {page}: {e:?}"))?;
        let raw: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let entries = raw
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let this_page: Vec<(Invoice, Value)> = entries
            .into_iter()
            .filter_map(|v| parse_invoice(&v).map(|i| (i, v)))
            .collect();
        read += 1;
        let invoices: Vec<Invoice> = this_page.iter().map(|(i, _)| i.clone()).collect();
        out.extend(this_page);
        if !read_on(&invoices, parsed.next_page, read, ctx.now, horizon) {
            break;
        }
        page = parsed.next_page.unwrap_or(page + 1);
    }
    Ok(out)
}

async fn reconcile_tenant(
    ctx: &Ctx<'_>,
    db: &Db,
    tenant: &str,
    invoices: &[(Invoice, Value)],
    started: i64,
) -> RunRow {
    let mut row = RunRow {
        started_at: started,
        finished_at: started,
        invoices_seen: 0,
        decided: 0,
        revoked: 0,
        error: None,
        correlation_id: ctx.cid.to_string(),
    };
    let since = ctx.now - i64::from(horizon_days(ctx)) * DAY_MS;
    let scope = match (
        db.payment_settings().store_id(tenant).await,
        db.webhook_events().orders_since(tenant, since).await,
    ) {
        (Ok(store), Ok(orders)) => Scope {
            store: store.as_deref().and_then(StoreId::new),
            known_orders: orders.iter().filter_map(|o| OrderId::new(o)).collect(),
        },
        (Err(e), _) | (_, Err(e)) => {
            row.error = Some(format!("scope: {e}"));
            row.finished_at = crate::runtime::now_ms();
            return row;
        }
    };
    let page: Vec<Invoice> = invoices.iter().map(|(i, _)| i.clone()).collect();
    row.invoices_seen = page.iter().filter(|i| scope.owns(i)).count() as i64;
    // Every reconciliation key recorded since the horizon, in one query (an event is recorded
    // after its invoice was created); a key recorded meanwhile is caught by the insert below.
    let seen: BTreeSet<String> = match db
        .webhook_events()
        .reconcile_keys_since(tenant, since)
        .await
    {
        Ok(keys) => keys.into_iter().collect(),
        Err(e) => {
            row.error = Some(format!("event lookup: {e}"));
            row.finished_at = crate::runtime::now_ms();
            return row;
        }
    };
    let raw_of: BTreeMap<&str, &Value> = invoices.iter().map(|(i, v)| (i.id.as_str(), v)).collect();
    for cand in diff(&page, &scope, |k| seen.contains(k.as_str())) {
        let Some(inv) = page.iter().find(|i| i.id == cand.order) else {
            continue;
        };
        let raw = raw_of
            .get(cand.order.as_str())
            .map(|v| (*v).clone())
            .unwrap_or(Value::Null);
        let event_id = new_id("evt");
        let name = format!("{RECONCILE_PREFIX}{}", cand.status.as_str());
        let store = inv.store_id.as_ref().map(|s| s.as_str().to_string());
        let fresh = db
            .webhook_events()
            .record(&NewEvent {
                tenant_key: tenant,
                event_id: &event_id,
                event_key: cand.key.as_str(),
                event_name: Some(&name),
                order_id: Some(cand.order.as_str()),
                store_id: store.as_deref(),
                raw_body: &raw.to_string(),
                now: ctx.now,
            })
            .await;
        match fresh {
            Ok(true) => {}
            // Decided by a concurrent run.
            Ok(false) => continue,
            Err(e) => {
                row.error = Some(format!("record: {e}"));
                break;
            }
        }
        let s = settle(
            ctx,
            db,
            tenant,
            &Trigger::Reconciliation,
            &cand.order,
            Given::Fresh(Known {
                invoice: inv.clone(),
                raw,
            }),
            Some(EventRef {
                event_id: &event_id,
            }),
        )
        .await;
        row.decided += 1;
        row.revoked += s.revoked as i64;
        if let relay_payments::outcome::Outcome::Failed { error } = &s.outcome {
            row.error = Some(format!("order {}: {error}", cand.order));
        }
    }
    row.finished_at = crate::runtime::now_ms();
    row
}

/// Closes the tenant's ended entitlements (access already stopped at `ends_at`); each close is
/// audited and announced through [`entitlement_changed`]. Returns how many were closed.
pub async fn sweep(ctx: &Ctx<'_>, db: &Db, tenant: &str) -> usize {
    let rows = match db
        .entitlements()
        .ended_unclosed(tenant, ctx.now, SWEEP_BATCH)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            log(
                "error",
                "maintenance: expiry sweep failed",
                json!({"correlation_id": ctx.cid, "tenant_key": tenant, "error": e.to_string()}),
            );
            return 0;
        }
    };
    let ents: Vec<_> = rows.iter().map(|r| r.payments()).collect();
    let mut by_customer: BTreeMap<&str, Vec<EntitlementChange>> = BTreeMap::new();
    let mut stmts = Vec::new();
    for change in sweep_expired(&ents, ctx.now) {
        let Change::Close { entitlement_id } = change else {
            continue;
        };
        let Some(r) = rows.iter().find(|r| r.entitlement_id == entitlement_id) else {
            continue;
        };
        let close = db.entitlements().close(tenant, &entitlement_id, ctx.now);
        let audit = db.audit().record(&Entry {
            tenant_key: tenant,
            customer_id: Some(&r.customer_id),
            at: ctx.now,
            action: "entitlement_closed",
            detail: json!({"entitlement_id": entitlement_id, "tier": r.tier_key, "ends_at_ms": r.ends_at}),
            reason: Some("expired"),
            actor: "system",
        });
        match (close, audit) {
            (Ok(c), Ok(a)) => {
                stmts.push(c);
                stmts.push(a);
            }
            (Err(e), _) | (_, Err(e)) => {
                log(
                    "error",
                    "maintenance: expiry sweep failed",
                    json!({"correlation_id": ctx.cid, "tenant_key": tenant, "error": e.to_string()}),
                );
                return 0;
            }
        }
        by_customer
            .entry(&r.customer_id)
            .or_default()
            .push(EntitlementChange {
                entitlement_id: entitlement_id.clone(),
                tier: r.tier_key.clone(),
                kind: Kind::Closed,
            });
    }
    if stmts.is_empty() {
        return 0;
    }
    if let Err(e) = db.batch(stmts).await {
        log(
            "error",
            "maintenance: expiry sweep failed",
            json!({"correlation_id": ctx.cid, "tenant_key": tenant, "error": e.to_string()}),
        );
        return 0;
    }
    let mut closed = 0;
    for (customer, changes) in &by_customer {
        closed += changes.len();
        let _ = entitlement_changed(ctx, db, tenant, customer, changes).await;
    }
    closed
}
