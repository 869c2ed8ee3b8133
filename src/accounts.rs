//! The customer domain's glue: what a customer can see now (tier, channels), telling the
//! tenant object when that changes, the operator credential behind an admin request, and the
//! ids we mint. The rules themselves live in `relay_accounts`.

use relay_accounts::entitlement::{self, Access};
use relay_core::encoding::hex;
use relay_core::ApiError;
use serde_json::{json, Value};
use worker::Request;

use crate::db::entitlements::EntitlementRow;
use crate::db::tiers::TierRow;
use crate::db::visibility::VisibilityRow;
use crate::db::Db;
use crate::durable_objects::tenant::api::EnforceAccess;
use crate::durable_objects::tenant::client::TenantClient;
use crate::handlers::Cx;
use crate::http::{header, ApiResult, OrUnavailable};
use crate::runtime::{log, random_bytes};

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", hex(&random_bytes::<12>()))
}

/// What one customer holds at `now`.
pub struct CustomerAccess {
    pub access: Option<Access>,
    pub tiers: Vec<TierRow>,
    pub entitlements: Vec<EntitlementRow>,
    pub visibility: Vec<VisibilityRow>,
    /// The channels the tier sees (sorted); empty without access.
    pub channels: Vec<String>,
    pub next_change: Option<i64>,
}

impl CustomerAccess {
    pub fn tier(&self) -> Option<&TierRow> {
        let a = self.access.as_ref()?;
        self.tiers.iter().find(|t| t.tier_key == a.tier)
    }

    pub fn rank_of(&self, tier: &str) -> Option<i64> {
        self.tiers
            .iter()
            .find(|t| t.tier_key == tier)
            .map(|t| t.rank)
    }

    /// `{tier, entitlement}` or null, as the dashboard and the console show it.
    pub fn access_json(&self, now: i64) -> Value {
        match (&self.access, self.tier()) {
            (Some(a), Some(t)) => {
                let ent = self
                    .entitlements
                    .iter()
                    .find(|e| e.entitlement_id == a.entitlement_id);
                json!({
                    "tier": t.to_json(),
                    "entitlement": ent.map(|e| e.to_json(now)),
                    "until": relay_core::time::Timestamp::from_ms(a.until).to_rfc3339(),
                    "until_ms": a.until,
                })
            }
            _ => Value::Null,
        }
    }
}

pub async fn access(db: &Db, tenant: &str, customer: &str, now: i64) -> ApiResult<CustomerAccess> {
    let tiers = db.tiers().list(tenant).await.or_unavailable("tiers")?;
    let entitlements = db
        .entitlements()
        .for_customer(tenant, customer)
        .await
        .or_unavailable("entitlements")?;
    let visibility = db
        .visibility()
        .list(tenant)
        .await
        .or_unavailable("visibility")?;
    let domain: Vec<_> = entitlements.iter().map(|e| e.domain()).collect();
    let access = entitlement::resolve(&domain, now);
    let rank_of = |k: &str| tiers.iter().find(|t| t.tier_key == k).map(|t| t.rank);
    let ranked: Vec<(String, Option<i64>)> = visibility
        .iter()
        .map(|v| {
            (
                v.channel_id.clone(),
                v.min_tier.as_deref().and_then(rank_of),
            )
        })
        .collect();
    let mut channels: Vec<String> = entitlement::visible(access.as_ref().map(|a| a.rank), &ranked)
        .into_iter()
        .cloned()
        .collect();
    channels.sort();
    Ok(CustomerAccess {
        next_change: entitlement::next_change(&domain, now),
        access,
        tiers,
        entitlements,
        visibility,
        channels,
    })
}

/// Why the customer's live sockets are being re-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// An entitlement or visibility change: sockets whose scope still matches stay open.
    Access,
    /// The customer's sessions were revoked (password change or reset, operator action).
    Sessions,
    /// The account was disabled.
    Disabled,
}

/// Tells the tenant object what `customer` may see now, so open sockets are narrowed, widened
/// or closed at once. A failure is logged and reported: the change itself is committed, and
/// the socket's ticket scope still bounds it.
pub async fn enforce(
    cx: &Cx,
    db: &Db,
    tenant: &str,
    customer: &str,
    cause: Cause,
) -> ApiResult<usize> {
    enforce_at(&cx.env, &cx.cid, cx.now, db, tenant, customer, cause).await
}

/// [`enforce`] without a request (the scheduled handler has no `Cx`).
pub async fn enforce_at(
    env: &worker::Env,
    cid: &str,
    now: i64,
    db: &Db,
    tenant: &str,
    customer: &str,
    cause: Cause,
) -> ApiResult<usize> {
    if cause == Cause::Access {
        // Every entitlement change passes here (payments, reconciliation, the expiry sweep,
        // operator grants and revocations): the customer's Discord roles follow at once.
        crate::role_sync::customer_changed(env, db, tenant, customer, "entitlement").await;
    }
    let a = access(db, tenant, customer, now).await?;
    let channels = if cause != Cause::Disabled && !a.channels.is_empty() {
        Some(a.channels.clone())
    } else {
        None
    };
    let body = EnforceAccess {
        customer_id: customer.to_string(),
        channels,
        until: a.next_change,
        sessions_revoked: cause == Cause::Sessions,
    };
    match TenantClient::new(env, tenant, cid)?
        .enforce_access(&body)
        .await
    {
        Ok(r) => Ok(r.closed),
        Err(e) => {
            log(
                "error",
                "live enforcement failed",
                json!({"tenant_key": tenant, "customer_id": customer, "error": e.to_string()}),
            );
            Err(e)
        }
    }
}

/// The operator credential behind an admin request, as the audit trail names it.
pub fn operator(req: &Request) -> String {
    let auth = header(req, "authorization");
    relay_core::token::bearer(auth.as_deref())
        .map(relay_accounts::identity::operator_fingerprint)
        .unwrap_or_else(|| "admin:unknown".into())
}

/// The `reason` of an operator change; required where `required`.
pub fn reason(body: &Value, required: bool) -> ApiResult<Option<String>> {
    match body.get("reason") {
        None | Some(Value::Null) if !required => Ok(None),
        Some(Value::String(r)) if !r.trim().is_empty() && r.chars().count() <= 500 => {
            Ok(Some(r.trim().to_string()))
        }
        _ => Err(ApiError::invalid_fields(vec![
            relay_core::validate::FieldError::new(
                "reason",
                if required {
                    "is required: say why (1..=500 characters)"
                } else {
                    "must be a string of 1..=500 characters"
                },
            ),
        ])),
    }
}
