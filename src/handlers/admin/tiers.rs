//! `/v1/admin/tenants/{t}/tiers[/{tier}]`: a tenant's ranked tiers.

use relay_core::ids::check_slug;
use relay_core::routes::TiersRoute;
use relay_core::validate::FieldError;
use relay_core::ApiError;
use serde_json::{json, Value};
use worker::Request;

use super::lookup::tenant;
use crate::accounts::{operator, reason};
use crate::db::audit::Entry;
use crate::db::tiers::TierRow;
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};

fn not_found() -> ApiError {
    ApiError::not_found("no such tier").with_code("tier_not_found")
}

fn name_rank(
    body: &Value,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> (Option<String>, Option<i64>) {
    let name = match body.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() && n.chars().count() <= 80 => {
            Some(n.trim().to_string())
        }
        None if !required => None,
        _ => {
            errors.push(FieldError::new(
                "name",
                "must be a string of 1..=80 characters",
            ));
            None
        }
    };
    let rank = match body.get("rank") {
        Some(v) if v.as_i64().is_some_and(|r| (0..=1_000).contains(&r)) => v.as_i64(),
        None if !required => None,
        _ => {
            errors.push(FieldError::new(
                "rank",
                "must be an integer in 0..=1000 (higher sees more)",
            ));
            None
        }
    };
    (name, rank)
}

async fn find(db: &Db, t: &str, key: &str) -> ApiResult<TierRow> {
    db.tiers()
        .list(t)
        .await
        .or_unavailable("tiers")?
        .into_iter()
        .find(|r| r.tier_key == key)
        .ok_or_else(not_found)
}

fn rank_conflict(tiers: &[TierRow], rank: i64, except: &str) -> ApiResult<()> {
    if tiers.iter().any(|t| t.rank == rank && t.tier_key != except) {
        return Err(ApiError::conflict("another tier has this rank").with_code("rank_taken"));
    }
    Ok(())
}

pub async fn handle(req: &mut Request, cx: &Cx, db: &Db, t: &str, route: TiersRoute) -> ApiResult {
    tenant(db, t).await?;
    let actor = operator(req);
    match route {
        TiersRoute::List => {
            let tiers = db.tiers().list(t).await.or_unavailable("tiers")?;
            let list: Vec<Value> = tiers.iter().map(TierRow::to_admin_json).collect();
            Ok(http::ok(&cx.cid, 200, json!({ "tiers": list })))
        }
        TiersRoute::Create => {
            let body = http::read_json(req, &cx.cfg).await?;
            let mut errors = Vec::new();
            let key = body
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if check_slug(&key).is_err() {
                errors.push(FieldError::new(
                    "key",
                    "must be a slug (a-z, 0-9, '-', '_')",
                ));
            }
            let (name, rank) = name_rank(&body, true, &mut errors);
            let why = reason(&body, false).inspect_err(|e| errors.extend(e.details.clone()));
            if !errors.is_empty() {
                return Err(ApiError::invalid_fields(errors));
            }
            let (name, rank, why) = (name.unwrap_or_default(), rank.unwrap_or(0), why?);
            let tiers = db.tiers().list(t).await.or_unavailable("tiers")?;
            if tiers.iter().any(|x| x.tier_key == key) {
                return Err(
                    ApiError::conflict("a tier with this key exists").with_code("tier_exists")
                );
            }
            rank_conflict(&tiers, rank, &key)?;
            db.batch(vec![
                db.tiers()
                    .insert(t, &key, &name, rank, cx.now)
                    .or_unavailable("tier")?,
                db.audit()
                    .record(&Entry {
                        tenant_key: t,
                        customer_id: None,
                        at: cx.now,
                        action: "tier_created",
                        detail: json!({"key": key, "name": name, "rank": rank}),
                        reason: why.as_deref(),
                        actor: &actor,
                    })
                    .or_unavailable("audit")?,
            ])
            .await
            .or_unavailable("tier insert")?;
            let row = find(db, t, &key).await?;
            Ok(http::ok(
                &cx.cid,
                201,
                json!({ "tier": row.to_admin_json() }),
            ))
        }
        TiersRoute::Patch { tier } => {
            let row = find(db, t, &tier).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let mut errors = Vec::new();
            let (name, rank) = name_rank(&body, false, &mut errors);
            if !errors.is_empty() {
                return Err(ApiError::invalid_fields(errors));
            }
            let why = reason(&body, false)?;
            let (name, rank) = (name.unwrap_or(row.name.clone()), rank.unwrap_or(row.rank));
            let tiers = db.tiers().list(t).await.or_unavailable("tiers")?;
            rank_conflict(&tiers, rank, &tier)?;
            db.batch(vec![
                db.tiers().update(t, &tier, &name, rank, cx.now).or_unavailable("tier")?,
                db.audit()
                    .record(&Entry {
                        tenant_key: t, customer_id: None, at: cx.now, action: "tier_updated",
                        detail: json!({"key": tier, "name": name, "rank": rank, "was": row.to_json()}),
                        reason: why.as_deref(), actor: &actor,
                    })
                    .or_unavailable("audit")?,
            ])
            .await
            .or_unavailable("tier update")?;
            let row = find(db, t, &tier).await?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "tier": row.to_admin_json() }),
            ))
        }
        TiersRoute::Delete { tier } => {
            find(db, t, &tier).await?;
            if db
                .entitlements()
                .uses_tier(t, &tier)
                .await
                .or_unavailable("entitlements")?
                || db
                    .visibility()
                    .uses_tier(t, &tier)
                    .await
                    .or_unavailable("visibility")?
            {
                return Err(ApiError::conflict(
                    "entitlements or channel visibility refer to this tier",
                )
                .with_code("tier_in_use"));
            }
            db.batch(vec![
                db.tiers().delete(t, &tier).or_unavailable("tier")?,
                db.audit()
                    .record(&Entry {
                        tenant_key: t,
                        customer_id: None,
                        at: cx.now,
                        action: "tier_deleted",
                        detail: json!({"key": tier}),
                        reason: None,
                        actor: &actor,
                    })
                    .or_unavailable("audit")?,
            ])
            .await
            .or_unavailable("tier delete")?;
            Ok(http::empty(&cx.cid, 204))
        }
    }
}
