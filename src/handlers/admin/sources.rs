//! `.../connectors/{c}/sources[/{channel}]`: the channels a connector may read or write.

use relay_core::admin::parse_source_upsert;
use relay_core::ids::ChannelId;
use relay_core::routes::SourcesRoute;
use relay_core::ApiError;
use serde_json::json;
use worker::Request;

use super::lookup::{connector, reload, snowflake};
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};

pub async fn handle(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    t: &str,
    c: &str,
    route: SourcesRoute,
) -> ApiResult {
    match route {
        SourcesRoute::List => {
            connector(db, t, c).await?;
            let sources = db.sources().list(t, c).await.or_unavailable("sources")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "sources": sources.iter().map(|s| s.to_admin_json()).collect::<Vec<_>>() }),
            ))
        }
        SourcesRoute::Put { channel } => {
            let channel: ChannelId = snowflake("channel_id", &channel)?;
            connector(db, t, c).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let src = parse_source_upsert(&body).map_err(ApiError::invalid_fields)?;
            db.sources()
                .upsert(t, c, channel.as_str(), &src, cx.now)
                .await
                .or_unavailable("source upsert")?;
            let row = reload(db, t, c).await?;
            super::mirroring::routing_changed(cx, t, &row).await;
            let source = db
                .sources()
                .list(t, c)
                .await
                .or_unavailable("sources")?
                .into_iter()
                .find(|s| s.channel_id == channel.as_str())
                .map(|s| s.to_admin_json());
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "source": source, "config_version": row.config_version }),
            ))
        }
        SourcesRoute::Delete { channel } => {
            let channel: ChannelId = snowflake("channel_id", &channel)?;
            connector(db, t, c).await?;
            let (removed, mappings_removed) = db
                .sources()
                .delete(t, c, channel.as_str(), cx.now)
                .await
                .or_unavailable("source delete")?;
            if !removed {
                return Err(ApiError::not_found("no such source").with_code("source_not_found"));
            }
            let row = reload(db, t, c).await?;
            super::mirroring::routing_changed(cx, t, &row).await;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "removed": true,
                    "mappings_removed": mappings_removed,
                    "config_version": row.config_version,
                }),
            ))
        }
    }
}
