//! `.../connectors/{c}/mappings[/{source}/{target}]`: which source channel relays to which
//! target.

use relay_core::admin::{parse_mapping_upsert, MappingRuleCheck};
use relay_core::ids::ChannelId;
use relay_core::routes::MappingsRoute;
use relay_core::ApiError;
use serde_json::json;
use worker::Request;

use super::lookup::{connector, reload, snowflake};
use crate::db::catalog::ChannelScope;
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};

const RULES: MappingRuleCheck = MappingRuleCheck {
    filters: relay_mirror::rules::normalise_filters,
    transform: relay_mirror::rules::normalise_transform,
};

pub async fn handle(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    t: &str,
    c: &str,
    route: MappingsRoute,
) -> ApiResult {
    match route {
        MappingsRoute::List => {
            connector(db, t, c).await?;
            let mappings = db.mappings().list(t, c).await.or_unavailable("mappings")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "mappings": mappings.iter().map(|m| m.to_admin_json()).collect::<Vec<_>>() }),
            ))
        }
        MappingsRoute::Put { source, target } => {
            let source: ChannelId = snowflake("source_channel_id", &source)?;
            let target: ChannelId = snowflake("target_channel_id", &target)?;
            connector(db, t, c).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            // Rules are validated and normalised whole before anything is written: a bad rule
            // is a 400 naming its field, never half applied.
            let m = parse_mapping_upsert(&body, &RULES).map_err(ApiError::invalid_fields)?;
            // Mappings only connect channels the operator made available in the right role.
            let sources = db.sources().list(t, c).await.or_unavailable("sources")?;
            let find = |id: &ChannelId| sources.iter().find(|s| s.channel_id == id.as_str());
            match find(&source) {
                Some(s) if s.is_source != 0 && s.is_enabled != 0 => {}
                _ => {
                    return Err(ApiError::conflict(format!(
                        "channel {source} is not an enabled source of this connector; add it with is_source first"
                    ))
                    .with_code("source_channel_unavailable"))
                }
            }
            // A channel the bot's catalog knows is a target only in a guild assigned to this
            // tenant (nothing crosses tenants); any other target must be one the operator
            // declared on the connector.
            match db
                .catalog()
                .channel_scope(&target)
                .await
                .or_unavailable("catalog")?
            {
                Some(scope) => catalog_target(t, &target, &scope)?,
                None => match find(&target) {
                    Some(s) if s.is_target != 0 && s.is_enabled != 0 => {}
                    _ => {
                        return Err(ApiError::conflict(format!(
                            "channel {target} is not an enabled target of this connector; add it with is_target first"
                        ))
                        .with_code("target_channel_unavailable"))
                    }
                },
            }
            db.mappings()
                .upsert(t, c, source.as_str(), target.as_str(), &m, cx.now)
                .await
                .or_unavailable("mapping upsert")?;
            let row = reload(db, t, c).await?;
            super::mirroring::routing_changed(cx, t, &row).await;
            let mapping = db
                .mappings()
                .list(t, c)
                .await
                .or_unavailable("mappings")?
                .into_iter()
                .find(|x| {
                    x.source_channel_id == source.as_str() && x.target_channel_id == target.as_str()
                })
                .map(|x| x.to_admin_json());
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "mapping": mapping, "config_version": row.config_version }),
            ))
        }
        MappingsRoute::Delete { source, target } => {
            let source: ChannelId = snowflake("source_channel_id", &source)?;
            let target: ChannelId = snowflake("target_channel_id", &target)?;
            connector(db, t, c).await?;
            if !db
                .mappings()
                .delete(t, c, source.as_str(), target.as_str(), cx.now)
                .await
                .or_unavailable("mapping delete")?
            {
                return Err(ApiError::not_found("no such mapping").with_code("mapping_not_found"));
            }
            let row = reload(db, t, c).await?;
            super::mirroring::routing_changed(cx, t, &row).await;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "removed": true, "config_version": row.config_version }),
            ))
        }
    }
}

/// A catalog channel as a mapping target of tenant `t`.
fn catalog_target(t: &str, target: &ChannelId, scope: &ChannelScope) -> Result<(), ApiError> {
    if scope.tenant_key.as_deref() != Some(t) {
        return Err(ApiError::conflict(format!(
            "channel {target} is in guild {}, which is not assigned to this tenant",
            scope.guild_id
        ))
        .with_code("target_guild_not_assigned"));
    }
    if scope.channel_active == 0 || scope.guild_active == 0 {
        return Err(ApiError::conflict(format!(
            "channel {target} is gone from Discord (or the bot left its guild)"
        ))
        .with_code("target_channel_inactive"));
    }
    if !u8::try_from(scope.kind).is_ok_and(relay_catalog::is_target_type) {
        return Err(ApiError::conflict(format!(
            "channel {target} is a category or voice channel: nothing can be posted there"
        ))
        .with_code("target_channel_not_postable"));
    }
    Ok(())
}
