//! `/v1/admin/catalog/...` (the bot's guilds for the whole deployment, their assignment to
//! tenants, the refresh) and `/v1/admin/tenants/{t}/catalog/...` (one tenant's guilds,
//! channels and roles, for pickers: nothing of another tenant's guilds is listed there).

use relay_core::ids::{check_slug, GuildId};
use relay_core::routes::{CatalogRoute, TenantCatalogRoute};
use relay_core::validate::FieldError;
use relay_core::ApiError;
use serde_json::{json, Value};
use worker::Request;

use super::lookup::{snowflake, tenant};
use crate::db::catalog::{Assigned, GuildRow};
use crate::db::Db;
use crate::discord::Discord;
use crate::durable_objects::catalog::client::CatalogClient;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};

fn guild_missing() -> ApiError {
    ApiError::not_found("the bot's catalog has no such guild").with_code("catalog_guild_not_found")
}

fn catalog_down(e: worker::Error) -> ApiError {
    crate::runtime::log(
        "error",
        "dependency failure",
        json!({"what": "catalog object", "error": e.to_string()}),
    );
    ApiError::unavailable("the catalog refresh is temporarily unavailable; retry")
        .with_code("catalog_unavailable")
}

/// The catalog's row for a guild: 404 `catalog_guild_not_found` when the bot never saw it.
async fn catalog_guild(db: &Db, id: &GuildId) -> ApiResult<GuildRow> {
    db.catalog()
        .guild(id)
        .await
        .or_unavailable("catalog")?
        .ok_or_else(guild_missing)
}

/// The answer to an assignment change: the guild as the write left it.
async fn guild_answer(cx: &Cx, db: &Db, id: &GuildId) -> ApiResult {
    let row = catalog_guild(db, id).await?;
    Ok(http::ok(&cx.cid, 200, json!({ "guild": row.to_json() })))
}

fn guild_query(req: &Request) -> ApiResult<Option<GuildId>> {
    http::query(req, "guild_id")
        .map(|g| snowflake("guild_id", &g))
        .transpose()
}

pub async fn handle(req: &mut Request, cx: &Cx, db: &Db, route: CatalogRoute) -> ApiResult {
    match route {
        CatalogRoute::Guilds => {
            let guilds = db.catalog().guilds(None).await.or_unavailable("catalog")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "guilds": guilds.iter().map(|g| g.to_json()).collect::<Vec<_>>() }),
            ))
        }
        CatalogRoute::Guild { guild } => {
            let id: GuildId = snowflake("guild_id", &guild)?;
            let row = catalog_guild(db, &id).await?;
            let channels = db.catalog().channels(&id).await.or_unavailable("catalog")?;
            let roles = db.catalog().roles(&id).await.or_unavailable("catalog")?;
            let facts = row.synced_at.and(row.facts());
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "guild": row.to_json(),
                    "channels": channels.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
                    "roles": roles.iter().map(|r| r.to_json(facts.as_ref())).collect::<Vec<_>>(),
                }),
            ))
        }
        CatalogRoute::Assign { guild } => {
            let id: GuildId = snowflake("guild_id", &guild)?;
            let body = http::read_json(req, &cx.cfg).await?;
            let key = match body.get("tenant_key") {
                Some(Value::String(k)) if check_slug(k).is_ok() => k.clone(),
                _ => {
                    return Err(ApiError::invalid_fields(vec![FieldError::new(
                        "tenant_key",
                        "must be a tenant key",
                    )]))
                }
            };
            tenant(db, &key).await?;
            match db
                .catalog()
                .assign(&id, &key, cx.now)
                .await
                .or_unavailable("catalog assignment")?
            {
                Assigned::Done => {}
                Assigned::NoSuchGuild => return Err(guild_missing()),
                Assigned::Elsewhere(other) => {
                    return Err(ApiError::conflict(format!(
                        "guild {id} is assigned to tenant {other:?}; unassign it there first"
                    ))
                    .with_code("guild_assigned_elsewhere"))
                }
            }
            guild_answer(cx, db, &id).await
        }
        CatalogRoute::Unassign { guild } => {
            let id: GuildId = snowflake("guild_id", &guild)?;
            let row = catalog_guild(db, &id).await?;
            let Some(owner) = row.tenant_key.clone() else {
                return Err(ApiError::conflict(format!("guild {id} is not assigned"))
                    .with_code("guild_not_assigned"));
            };
            let used = db
                .catalog()
                .mappings_into(&id, &owner)
                .await
                .or_unavailable("mappings")?;
            if used > 0 {
                return Err(ApiError::conflict(format!(
                    "{used} mapping(s) of tenant {owner:?} post into guild {id}; remove them first"
                ))
                .with_code("guild_in_use"));
            }
            if !db
                .catalog()
                .unassign(&id, &owner, cx.now)
                .await
                .or_unavailable("catalog assignment")?
            {
                // Reassigned meanwhile by another operator: report what is there now.
                return Err(
                    ApiError::conflict("the assignment changed meanwhile; reload")
                        .with_code("guild_assignment_changed"),
                );
            }
            guild_answer(cx, db, &id).await
        }
        CatalogRoute::RefreshStatus => {
            let configured = Discord::from_env(&cx.env).is_some();
            let status = CatalogClient::new(&cx.env)
                .map_err(catalog_down)?
                .status()
                .await
                .map_err(catalog_down)?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "configured": configured, "refresh": status }),
            ))
        }
        CatalogRoute::Refresh => {
            if Discord::from_env(&cx.env).is_none() {
                return Err(ApiError::conflict(
                    "Discord is not configured (DISCORD_BOT_TOKEN): the catalog cannot be read",
                )
                .with_code("discord_not_configured"));
            }
            let status = CatalogClient::new(&cx.env)
                .map_err(catalog_down)?
                .start("admin")
                .await
                .map_err(catalog_down)?;
            Ok(http::ok(
                &cx.cid,
                202,
                json!({ "configured": true, "refresh": status }),
            ))
        }
    }
}

pub async fn handle_tenant(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    t: &str,
    route: TenantCatalogRoute,
) -> ApiResult {
    tenant(db, t).await?;
    match route {
        TenantCatalogRoute::Guilds => {
            let guilds = db
                .catalog()
                .guilds(Some(t))
                .await
                .or_unavailable("catalog")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "guilds": guilds.iter().map(|g| g.to_json()).collect::<Vec<_>>() }),
            ))
        }
        TenantCatalogRoute::Channels => {
            let guild = guild_query(req)?;
            let channels = db
                .catalog()
                .tenant_channels(t, guild.as_ref())
                .await
                .or_unavailable("catalog")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "channels": channels.iter().map(|c| c.to_json()).collect::<Vec<_>>() }),
            ))
        }
        TenantCatalogRoute::Roles => {
            let guild = guild_query(req)?;
            let roles = db
                .catalog()
                .tenant_roles(t, guild.as_ref())
                .await
                .or_unavailable("catalog")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "roles": roles.iter().map(|(r, f)| r.to_json(f.as_ref())).collect::<Vec<_>>() }),
            ))
        }
    }
}
