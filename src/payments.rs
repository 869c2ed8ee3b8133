//! Payments glue (issue 13): steps 3–6 of `relay_payments`'s integration points, shared by the
//! webhook, the operator's replay and signup, so an order is decided and written one way only.
//! The decision is the crate's; this module loads what it needs and writes what it says.

use relay_payments::api::{bearer, invoice_url};
use relay_payments::email::NormalizedEmail;
use relay_payments::envelope::{parse_envelope, parse_invoice, Invoice};
use relay_payments::ids::{AccountId, OrderId};
use relay_payments::lifecycle::{decide, Change, Customer, Trigger};
use relay_payments::outcome::Outcome;
use relay_payments::policy::PolicySet;
use serde_json::{json, Value};
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

use crate::accounts::new_id;
use crate::config::secret;
use crate::db::audit::Entry;
use crate::db::entitlements::NewEntitlement;
use crate::db::sales::NewSale;
use crate::db::webhook_events::Decided;
use crate::db::Db;
use crate::entitlement_changes::{entitlement_changed, Ctx, EntitlementChange, Kind};

/// The invoice as we know it: parsed, and the raw `data` a held order keeps for later.
pub struct Known {
    pub invoice: Invoice,
    pub raw: Value,
}

/// Sell.app's API as configured: `SELLAPP_API_TOKEN` (a secret) and `SELLAPP_API_BASE`.
/// `None`: no token, so no re-reads and no reconciliation ("reconciliation off").
pub struct ApiConfig {
    pub base: String,
    token: String,
}

pub fn api_config(env: &Env) -> Option<ApiConfig> {
    let token = secret(env, "SELLAPP_API_TOKEN").filter(|t| !t.trim().is_empty())?;
    let base = secret(env, "SELLAPP_API_BASE")
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| relay_payments::api::DEFAULT_API_BASE.to_string());
    Some(ApiConfig { base, token })
}

/// One authenticated GET of Sell.app's API; `Err` is our transient fault (or theirs).
pub async fn api_get(api: &ApiConfig, url: &str) -> Result<Vec<u8>, String> {
    let headers = Headers::new();
    let _ = headers.set("authorization", &bearer(&api.token));
    let _ = headers.set("accept", "application/json");
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let req = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let mut resp = Fetch::Request(req)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status_code();
    if status != 200 {
        return Err(format!("Sell.app answered {status}"));
    }
    resp.bytes().await.map_err(|e| e.to_string())
}

/// `GET {SELLAPP_API_BASE}/invoices/{id}` when a token is configured. `Ok(None)`: no token
/// (use the webhook's copy). `Err`: our transient fault (the delivery fails and is retried).
async fn reread(ctx: &Ctx<'_>, order: &OrderId) -> Result<Option<Known>, String> {
    let Some(api) = api_config(ctx.env) else {
        return Ok(None);
    };
    let body = api_get(&api, &invoice_url(&api.base, order))
        .await
        .map_err(|e| format!("invoice re-read: {e}"))?;
    let v: Value =
        serde_json::from_slice(&body).map_err(|_| "invoice re-read: not JSON".to_string())?;
    let raw = v.get("data").cloned().unwrap_or(Value::Null);
    let invoice = parse_invoice(&raw)
        .ok_or_else(|| "invoice re-read: no invoice in the answer".to_string())?;
    Ok(Some(Known { invoice, raw }))
}

/// What deciding one order did.
pub struct Settled {
    pub outcome: Outcome,
    /// Entitlements it revoked (reconciliation counts them for the console).
    pub revoked: usize,
}

/// The invoice a decision starts from.
pub enum Given {
    /// What the webhook (or the held order) carried: re-read from the API when a token is set.
    Carried(Option<Known>),
    /// Just read from the API (reconciliation): no second read.
    Fresh(Known),
}

/// The event row an outcome is recorded on (none for an order decided at signup).
pub struct EventRef<'a> {
    pub event_id: &'a str,
}

fn failed(error: String) -> Outcome {
    Outcome::Failed { error }
}

/// Steps 3–5 for one order: the freshest invoice, the customer its email names, the decision,
/// and every change with the outcome in one batch; then the tenant object is told, as the
/// operator's grant does. `Err` never: a fault of ours is the `failed` outcome (recorded on
/// the event when the write itself still works).
///
/// Takes a [`Ctx`], not a request: the webhook, a replay, signup and the scheduled
/// reconciliation all decide through here.
pub async fn settle(
    ctx: &Ctx<'_>,
    db: &Db,
    tenant: &str,
    trigger: &Trigger,
    order: &OrderId,
    given: Given,
    event: Option<EventRef<'_>>,
) -> Settled {
    let fresh = match given {
        Given::Fresh(k) => Some(k),
        Given::Carried(carried) => match reread(ctx, order).await {
            Ok(Some(k)) => Some(k),
            Ok(None) => carried,
            Err(e) => return record_failure(ctx, db, tenant, event, e).await,
        },
    };
    match decide_and_write(ctx, db, tenant, trigger, order, fresh, &event).await {
        Ok(s) => s,
        Err(e) => record_failure(ctx, db, tenant, event, e).await,
    }
}

async fn record_failure(
    cx: &Ctx<'_>,
    db: &Db,
    tenant: &str,
    event: Option<EventRef<'_>>,
    error: String,
) -> Settled {
    let outcome = failed(error.clone());
    if let Some(ev) = event {
        if let Ok(stmt) = db.webhook_events().decide(
            tenant,
            ev.event_id,
            &Decided {
                outcome: outcome.as_str(),
                reason_code: outcome.reason_code(),
                reason_json: None,
                error: Some(&error),
                now: cx.now,
            },
        ) {
            let _ = db.batch(vec![stmt]).await;
        }
    }
    crate::runtime::log(
        "error",
        "payment event failed",
        json!({"tenant_key": tenant, "error": error, "correlation_id": cx.cid}),
    );
    Settled {
        outcome,
        revoked: 0,
    }
}

async fn decide_and_write(
    cx: &Ctx<'_>,
    db: &Db,
    tenant: &str,
    trigger: &Trigger,
    order: &OrderId,
    known: Option<Known>,
    event: &Option<EventRef<'_>>,
) -> Result<Settled, String> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: worker::Error| format!("{what}: {err}")
    };
    let policies = db.policies().list(tenant).await.map_err(e("policies"))?;
    // Stored policies were validated on write; a set that no longer validates (a tier renamed
    // under it) decides nothing rather than guessing.
    let policies = PolicySet::new(policies)
        .map_err(|p| format!("stored policies do not validate: {} problems", p.len()))?;
    let email: Option<NormalizedEmail> = known.as_ref().and_then(|k| k.invoice.email.clone());
    let account_row = match &email {
        Some(m) => db
            .customers()
            .by_email(tenant, m.as_str())
            .await
            .map_err(e("customer"))?,
        None => None,
    };
    let account = account_row
        .as_ref()
        .and_then(|c| AccountId::new(&c.customer_id));
    let ents: Vec<_> = match &account_row {
        Some(c) => db
            .entitlements()
            .for_customer(tenant, &c.customer_id)
            .await
            .map_err(e("entitlements"))?
            .iter()
            .map(|r| r.payments())
            .collect(),
        None => Vec::new(),
    };
    // Trials are one per customer by account, email and, once linked, Discord user.
    let discord_id: Option<String> = match &account_row {
        Some(c) => db
            .role_sync()
            .link(tenant, &c.customer_id)
            .await
            .map_err(e("discord link"))?
            .map(|l| l.discord_user_id),
        None => None,
    };
    let claims = db
        .trial_claims()
        .matching(
            tenant,
            account_row.as_ref().map(|c| c.customer_id.as_str()),
            email.as_ref().map(|m| m.as_str()),
            discord_id.as_deref(),
        )
        .await
        .map_err(e("trial claims"))?;
    let held: Vec<OrderId> = match &email {
        Some(m) => db
            .held_orders()
            .for_email(tenant, m.as_str())
            .await
            .map_err(e("held orders"))?
            .into_iter()
            .map(|h| h.order_id)
            .collect(),
        None => Vec::new(),
    };
    let customer = Customer {
        account: account.as_ref(),
        discord_id: discord_id.as_deref(),
        entitlements: &ents,
        trial_claims: &claims,
        held_orders: &held,
    };
    let decision = decide(
        trigger,
        order,
        known.as_ref().map(|k| &k.invoice),
        &customer,
        &policies,
        cx.now,
    );
    let cid = account_row.as_ref().map(|c| c.customer_id.clone());
    let mut stmts = Vec::new();
    let mut changed: Vec<EntitlementChange> = Vec::new();
    let tier_of = |id: &str| {
        ents.iter()
            .find(|e| e.id == id)
            .map(|e| e.tier.as_str().to_string())
            .unwrap_or_default()
    };
    let w =
        |r: worker::Result<worker::D1PreparedStatement>| r.map_err(|err| format!("write: {err}"));
    for change in &decision.changes {
        match change {
            Change::Grant {
                tier,
                window,
                order_id,
                policy_id,
                trial,
            } => {
                let Some(c) = &cid else { continue };
                let eid = new_id("ent");
                stmts.push(w(db.entitlements().insert(&NewEntitlement {
                    tenant_key: tenant,
                    entitlement_id: &eid,
                    customer_id: c,
                    tier_key: tier.as_str(),
                    starts_at: window.starts_at,
                    ends_at: window.ends_at,
                    source: "sellapp",
                    reference: Some(order_id.as_str()),
                    now: cx.now,
                }))?);
                stmts.push(w(db.audit().record(&system_entry(
                    tenant,
                    c,
                    "entitlement_granted",
                    json!({"tier": tier.as_str(), "created": eid, "order_id": order_id.as_str(),
                           "policy_id": policy_id, "trial": trial,
                           "starts_at_ms": window.starts_at, "ends_at_ms": window.ends_at}),
                    cx.now,
                )))?);
                if let Some(inv) = known.as_ref().map(|k| &k.invoice) {
                    let option_key = inv
                        .variant_id
                        .as_ref()
                        .map(|v| v.as_str().to_string())
                        .or_else(|| inv.product_id.as_ref().map(|p| p.as_str().to_string()))
                        .unwrap_or_default();
                    let (total, currency) = inv
                        .total
                        .as_ref()
                        .map(|m| (m.minor, m.currency.as_str()))
                        .unwrap_or((0, "USD"));
                    stmts.push(w(db.sales().record(&NewSale {
                        tenant_key: tenant,
                        order_id: order_id.as_str(),
                        customer_id: c,
                        email: inv.email.as_ref().map(|e| e.as_str()).unwrap_or(""),
                        tier_key: tier.as_str(),
                        policy_id,
                        option_key: &option_key,
                        total_minor: total,
                        currency,
                        trial: *trial,
                        now: cx.now,
                    }))?);
                }
                changed.push(EntitlementChange {
                    entitlement_id: eid,
                    tier: tier.as_str().to_string(),
                    kind: Kind::Granted,
                });
            }
            Change::Reschedule {
                entitlement_id,
                window,
            } => {
                stmts.push(w(db.entitlements().reschedule(
                    tenant,
                    entitlement_id,
                    window.starts_at,
                    window.ends_at,
                    cx.now,
                ))?);
                changed.push(EntitlementChange {
                    entitlement_id: entitlement_id.clone(),
                    tier: tier_of(entitlement_id),
                    kind: Kind::Rescheduled,
                });
            }
            Change::Revoke {
                entitlement_id,
                order_id,
                at,
            } => {
                let Some(c) = &cid else { continue };
                stmts.push(w(db.entitlements().revoke(tenant, c, entitlement_id, *at))?);
                stmts.push(w(db.audit().record(&system_entry(
                    tenant,
                    c,
                    "entitlement_revoked",
                    json!({"entitlement_id": entitlement_id, "order_id": order_id.as_str()}),
                    cx.now,
                )))?);
                stmts.push(w(db.sales().revoke(tenant, order_id.as_str(), cx.now))?);
                changed.push(EntitlementChange {
                    entitlement_id: entitlement_id.clone(),
                    tier: tier_of(entitlement_id),
                    kind: Kind::Revoked,
                });
            }
            Change::ClaimTrial(claim) => {
                stmts.push(w(db.trial_claims().claim(tenant, claim, cx.now))?);
            }
            Change::HoldPending { order_id, email } => {
                let raw = known
                    .as_ref()
                    .map(|k| k.raw.to_string())
                    .unwrap_or_default();
                stmts.push(w(db.held_orders().hold(
                    tenant,
                    order_id.as_str(),
                    email.as_str(),
                    &raw,
                    cx.now,
                ))?);
            }
            Change::ReleasePending { order_id } => {
                stmts.push(w(db.held_orders().release(tenant, order_id.as_str()))?);
            }
            Change::FlagCustomer { order_id, reason } => {
                let Some(c) = &cid else { continue };
                let reason = reason.as_str();
                stmts.push(w(db.flags().raise(
                    tenant,
                    c,
                    reason,
                    order_id.as_str(),
                    cx.now,
                ))?);
                stmts.push(w(db.audit().record(&system_entry(
                    tenant,
                    c,
                    "customer_flagged",
                    json!({"reason": reason, "order_id": order_id.as_str()}),
                    cx.now,
                )))?);
            }
            // Only the expiry sweep closes; access already stops at read time.
            Change::Close { .. } => {}
        }
    }
    if let Some(ev) = event {
        let reason_json = serde_json::to_string(&decision.outcome).ok();
        stmts.push(w(db.webhook_events().decide(
            tenant,
            ev.event_id,
            &Decided {
                outcome: decision.outcome.as_str(),
                reason_code: decision.outcome.reason_code(),
                reason_json: reason_json.as_deref(),
                error: None,
                now: cx.now,
            },
        ))?);
    }
    if !stmts.is_empty() {
        db.batch(stmts)
            .await
            .map_err(|err| format!("write: {err}"))?;
    }
    if let Some(c) = &cid {
        let _ = entitlement_changed(cx, db, tenant, c, &changed).await;
    }
    Ok(Settled {
        outcome: decision.outcome,
        revoked: changed.iter().filter(|c| c.kind == Kind::Revoked).count(),
    })
}

fn system_entry<'a>(
    tenant: &'a str,
    customer: &'a str,
    action: &'a str,
    detail: Value,
    now: i64,
) -> Entry<'a> {
    Entry {
        tenant_key: tenant,
        customer_id: Some(customer),
        at: now,
        action,
        detail,
        reason: Some("sellapp"),
        actor: "system",
    }
}

/// The event name reconciliation records its decisions under (`reconcile:refunded`, ...).
pub const RECONCILE_PREFIX: &str = "reconcile:";

/// Re-runs a stored event (step 7): its body with the current policies and invoice. A
/// reconciliation row stores the invoice it read, and is decided again as reconciliation.
pub async fn replay(
    cx: &Ctx<'_>,
    db: &Db,
    tenant: &str,
    event_id: &str,
    event_name: Option<&str>,
    raw_body: &str,
) -> Outcome {
    let event = EventRef { event_id };
    if event_name.is_some_and(|n| n.starts_with(RECONCILE_PREFIX)) {
        let raw: Value = serde_json::from_str(raw_body).unwrap_or(Value::Null);
        if let Some(invoice) = parse_invoice(&raw) {
            let order = invoice.id.clone();
            return settle(
                cx,
                db,
                tenant,
                &Trigger::Reconciliation,
                &order,
                Given::Carried(Some(Known { invoice, raw })),
                Some(event),
            )
            .await
            .outcome;
        }
    }
    match parse_envelope(raw_body.as_bytes()) {
        Ok(env) => {
            let given = env.invoice.clone().map(|invoice| Known {
                raw: serde_json::from_str::<Value>(raw_body)
                    .ok()
                    .and_then(|v| v.get("data").cloned())
                    .unwrap_or(Value::Null),
                invoice,
            });
            settle(
                cx,
                db,
                tenant,
                &Trigger::Webhook(env.event.clone()),
                &env.subject_id,
                Given::Carried(given),
                Some(event),
            )
            .await
            .outcome
        }
        Err(e) => {
            let o = Outcome::malformed(&e);
            let reason = serde_json::to_string(&o).ok();
            let decided = Decided {
                outcome: o.as_str(),
                reason_code: o.reason_code(),
                reason_json: reason.as_deref(),
                error: None,
                now: cx.now,
            };
            match db.webhook_events().decide(tenant, event_id, &decided) {
                Ok(stmt) => match db.batch(vec![stmt]).await {
                    Ok(()) => o,
                    Err(e) => failed(format!("write: {e}")),
                },
                Err(e) => failed(format!("write: {e}")),
            }
        }
    }
}

/// Step 6: the orders held for a new account's email, decided one after the other (each sees
/// the previous one's writes, so two held trials cannot both apply).
pub async fn apply_held(cx: &Ctx<'_>, db: &Db, tenant: &str, email: &str) {
    let held = match db.held_orders().for_email(tenant, email).await {
        Ok(h) => h,
        Err(e) => {
            crate::runtime::log(
                "error",
                "held orders unreadable at signup",
                json!({"tenant_key": tenant, "error": e.to_string()}),
            );
            return;
        }
    };
    for h in held {
        let known = h.invoice.map(|invoice| Known {
            raw: Value::Null,
            invoice,
        });
        let s = settle(
            cx,
            db,
            tenant,
            &Trigger::AccountCreated,
            &h.order_id,
            Given::Carried(known),
            None,
        )
        .await;
        crate::runtime::log(
            "info",
            "held order decided at signup",
            json!({"tenant_key": tenant, "order_id": h.order_id.as_str(), "outcome": s.outcome.as_str()}),
        );
    }
}
