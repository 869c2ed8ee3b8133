//! `/v1/admin/tenants/{t}/role-sync/...`: tier → roles per guild (from the bot's catalog, with
//! the catalog's warnings), lapse settings, linked accounts with their role state, history,
//! and "resync now".

use relay_core::ids::GuildId;
use relay_core::routes::RoleSyncRoute;
use relay_core::validate::FieldError;
use relay_core::ApiError;
use serde_json::{json, Value};
use worker::Request;

use super::lookup::tenant;
use crate::db::role_sync::SettingsRow;
use crate::db::Db;
use crate::durable_objects::role_sync::client::RoleSyncClient;
use crate::handlers::account::states_json;
use crate::handlers::context::Cx;
use crate::http::{self, query, ApiResult, OrUnavailable};

const MAX_ROLES_PER_TIER: usize = 25;

fn client(cx: &Cx, t: &str) -> ApiResult<RoleSyncClient> {
    RoleSyncClient::new(&cx.env, t).or_unavailable("role sync")
}

async fn reconfigured(cx: &Cx, t: &str) -> ApiResult<()> {
    client(cx, t)?
        .reconfigured()
        .await
        .or_unavailable("role sync")?;
    Ok(())
}

async fn mappings_json(db: &Db, t: &str) -> ApiResult<Value> {
    let rows = db
        .role_sync()
        .mappings(t)
        .await
        .or_unavailable("mappings")?;
    let roles = db
        .catalog()
        .tenant_roles(t, None)
        .await
        .or_unavailable("catalog")?;
    let out: Vec<Value> = rows
        .iter()
        .map(|m| {
            let role = roles.iter().find(|(r, _)| r.role_id == m.role_id);
            json!({
                "guild_id": m.guild_id,
                "tier": m.tier_key,
                "role_id": m.role_id,
                "role": role.map(|(r, f)| r.to_json(f.as_ref())),
            })
        })
        .collect();
    Ok(json!({ "mappings": out }))
}

fn settings_from(body: &Value, now: i64) -> ApiResult<SettingsRow> {
    let mut errors = Vec::new();
    let action = match body.get("lapse_action").and_then(Value::as_str) {
        Some(a @ ("remove_roles" | "kick" | "nothing")) => a.to_string(),
        _ => {
            errors.push(FieldError::new(
                "lapse_action",
                "must be one of remove_roles, kick, nothing",
            ));
            String::new()
        }
    };
    let grace = match body.get("grace_days") {
        None => Some(0),
        Some(v) => v.as_i64().filter(|d| (0..=365).contains(d)),
    };
    if grace.is_none() {
        errors.push(FieldError::new(
            "grace_days",
            "must be an integer in 0..=365",
        ));
    }
    let auto_join = match body.get("auto_join") {
        None => Some(false),
        Some(v) => v.as_bool(),
    };
    if auto_join.is_none() {
        errors.push(FieldError::new("auto_join", "must be a boolean"));
    }
    let drift = match body.get("drift_interval_seconds") {
        None => Some(crate::db::role_sync::DEFAULT_DRIFT_MS / 1000),
        Some(v) => v.as_i64().filter(|s| (10..=86_400).contains(s)),
    };
    if drift.is_none() {
        errors.push(FieldError::new(
            "drift_interval_seconds",
            "must be an integer in 10..=86400",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    Ok(SettingsRow {
        lapse_action: action,
        grace_ms: grace.unwrap_or(0) * relay_core::time::DAY_MS,
        auto_join: i64::from(auto_join.unwrap_or(false)),
        drift_interval_ms: drift.unwrap_or(600) * 1000,
        updated_at: now,
    })
}

/// The guild, when it is active and assigned to this tenant.
async fn tenant_guild(db: &Db, t: &str, guild: &str) -> ApiResult<GuildId> {
    let missing = || {
        ApiError::not_found("no such guild among this tenant's guilds in the bot's catalog")
            .with_code("guild_not_found")
    };
    let gid = GuildId::parse(guild).map_err(|_| missing())?;
    let row = db
        .catalog()
        .guild(&gid)
        .await
        .or_unavailable("catalog")?
        .filter(|g| g.active != 0 && g.tenant_key.as_deref() == Some(t))
        .ok_or_else(missing)?;
    let _ = row;
    Ok(gid)
}

pub async fn handle(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    t: &str,
    route: RoleSyncRoute,
) -> ApiResult {
    tenant(db, t).await?;
    match route {
        RoleSyncRoute::Settings => {
            let s = db
                .role_sync()
                .settings(t)
                .await
                .or_unavailable("settings")?;
            Ok(http::ok(&cx.cid, 200, json!({"settings": s.to_json()})))
        }
        RoleSyncRoute::PutSettings => {
            let body = http::read_json(req, &cx.cfg).await?;
            let row = settings_from(&body, cx.now)?;
            db.role_sync()
                .put_settings(t, &row)
                .await
                .or_unavailable("settings")?;
            reconfigured(cx, t).await?;
            Ok(http::ok(&cx.cid, 200, json!({"settings": row.to_json()})))
        }
        RoleSyncRoute::Mappings => Ok(http::ok(&cx.cid, 200, mappings_json(db, t).await?)),
        RoleSyncRoute::PutMapping { guild, tier } => {
            let gid = tenant_guild(db, t, &guild).await?;
            if !db
                .tiers()
                .list(t)
                .await
                .or_unavailable("tiers")?
                .iter()
                .any(|r| r.tier_key == tier)
            {
                return Err(ApiError::not_found("no such tier").with_code("tier_not_found"));
            }
            let body = http::read_json(req, &cx.cfg).await?;
            let ids: Option<Vec<String>> =
                body.get("role_ids").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                });
            let Some(mut ids) = ids.filter(|v| {
                v.len() <= MAX_ROLES_PER_TIER
                    && body["role_ids"].as_array().map(Vec::len) == Some(v.len())
            }) else {
                return Err(ApiError::invalid_fields(vec![FieldError::new(
                    "role_ids",
                    "must be an array of up to 25 role ids (strings)",
                )]));
            };
            ids.sort();
            ids.dedup();
            let roles = db
                .catalog()
                .tenant_roles(t, Some(&gid))
                .await
                .or_unavailable("catalog")?;
            let mut errors = Vec::new();
            let mut picked = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                match roles.iter().find(|(r, _)| r.role_id == *id) {
                    Some(_) if *id == guild => errors.push(FieldError::new(
                        format!("role_ids[{i}]"),
                        "@everyone cannot be a tier role",
                    )),
                    Some((r, f)) => picked.push(r.to_json(f.as_ref())),
                    None => errors.push(FieldError::new(
                        format!("role_ids[{i}]"),
                        "is not an active role of this guild in the bot's catalog",
                    )),
                }
            }
            if !errors.is_empty() {
                return Err(ApiError::invalid_fields(errors));
            }
            db.batch(
                db.role_sync()
                    .replace_mapping(t, &guild, &tier, &ids, cx.now)
                    .or_unavailable("mappings")?,
            )
            .await
            .or_unavailable("mappings")?;
            reconfigured(cx, t).await?;
            // Saved even when a role is not manageable: the warning says what to fix in
            // Discord, and the member's role state shows it as an error until then.
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"guild_id": guild, "tier": tier, "roles": picked}),
            ))
        }
        RoleSyncRoute::DeleteMapping { guild, tier } => {
            db.batch(
                db.role_sync()
                    .replace_mapping(t, &guild, &tier, &[], cx.now)
                    .or_unavailable("mappings")?,
            )
            .await
            .or_unavailable("mappings")?;
            reconfigured(cx, t).await?;
            Ok(http::empty(&cx.cid, 204))
        }
        RoleSyncRoute::Members => {
            let links = db.role_sync().links(t).await.or_unavailable("links")?;
            let states = states_json(db, t, None).await?;
            let mut out = Vec::new();
            for l in links {
                let email = db
                    .customers()
                    .get(t, &l.customer_id)
                    .await
                    .or_unavailable("customers")?
                    .map(|c| c.email);
                let roles: Vec<&Value> = states
                    .iter()
                    .filter(|s| s["customer_id"] == json!(l.customer_id))
                    .collect();
                out.push(json!({
                    "customer_id": l.customer_id, "email": email,
                    "link": l.to_json(), "roles": roles,
                }));
            }
            Ok(http::ok(&cx.cid, 200, json!({"members": out})))
        }
        RoleSyncRoute::Member { customer } => {
            let c = db
                .customers()
                .get(t, &customer)
                .await
                .or_unavailable("customers")?
                .ok_or_else(|| {
                    ApiError::not_found("no such customer").with_code("customer_not_found")
                })?;
            let link = db
                .role_sync()
                .link(t, &c.customer_id)
                .await
                .or_unavailable("links")?;
            let roles = states_json(db, t, Some(&c.customer_id)).await?;
            let changes = db
                .role_sync()
                .changes(t, Some(&c.customer_id), 100)
                .await
                .or_unavailable("changes")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "customer_id": c.customer_id, "email": c.email,
                    "link": link.map(|l| l.to_json()), "roles": roles,
                    "changes": changes.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
                }),
            ))
        }
        RoleSyncRoute::Resync => {
            let body = http::read_json(req, &cx.cfg).await?;
            let customer = body.get("customer_id").and_then(Value::as_str);
            let guild = body.get("guild_id").and_then(Value::as_str);
            match (customer, guild) {
                (Some(c), None) => {
                    let link = db
                        .role_sync()
                        .link(t, c)
                        .await
                        .or_unavailable("links")?
                        .ok_or_else(|| {
                            ApiError::not_found("this customer has no linked Discord account")
                                .with_code("discord_not_linked")
                        })?;
                    let status = client(cx, t)?
                        .sync(vec![link.discord_user_id], "resync")
                        .await
                        .or_unavailable("role sync")?;
                    Ok(http::ok(&cx.cid, 202, json!({"status": status})))
                }
                (None, Some(g)) => {
                    tenant_guild(db, t, g).await?;
                    let status = client(cx, t)?
                        .pass(Some(g.to_string()))
                        .await
                        .or_unavailable("role sync")?;
                    Ok(http::ok(&cx.cid, 202, json!({"status": status})))
                }
                _ => Err(ApiError::invalid_fields(vec![FieldError::new(
                    "customer_id",
                    "give exactly one of customer_id (resync one customer) or guild_id (a drift pass over the guild)",
                )])),
            }
        }
        RoleSyncRoute::Changes => {
            let customer = query(req, "customer_id");
            let limit = query(req, "limit")
                .and_then(|l| l.parse::<i64>().ok())
                .unwrap_or(100)
                .clamp(1, 500);
            let rows = db
                .role_sync()
                .changes(t, customer.as_deref(), limit)
                .await
                .or_unavailable("changes")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"changes": rows.iter().map(|c| c.to_json()).collect::<Vec<_>>()}),
            ))
        }
        RoleSyncRoute::Status => {
            let status = client(cx, t)?.status().await.or_unavailable("role sync")?;
            let settings = db
                .role_sync()
                .settings(t)
                .await
                .or_unavailable("settings")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"status": status, "settings": settings.to_json(),
                       "discord_configured": crate::discord::Discord::from_env(&cx.env).is_some()}),
            ))
        }
    }
}
