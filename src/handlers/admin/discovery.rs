//! `.../connectors/{c}/{discovery-requests | guilds | channels}`: asking the connector to list
//! what it sees in Discord, and reading back what it reported.

use relay_core::admin::parse_discovery_request;
use relay_core::ids::GuildMarker;
use relay_core::routes::DiscoveryRoute;
use relay_core::ApiError;
use serde_json::json;
use worker::Request;

use super::lookup::{connector, reload, snowflake};
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, query, ApiResult, OrUnavailable};

pub async fn handle(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    t: &str,
    c: &str,
    route: DiscoveryRoute,
) -> ApiResult {
    match route {
        DiscoveryRoute::Request => {
            connector(db, t, c).await?;
            let body = http::read_json(req, &cx.cfg).await?;
            let guild = parse_discovery_request(&body).map_err(ApiError::invalid_fields)?;
            db.connectors()
                .request_discovery(t, c, guild.as_ref().map(|g| g.as_str()), cx.now)
                .await
                .or_unavailable("discovery request")?;
            let row = reload(db, t, c).await?;
            Ok(http::ok(
                &cx.cid,
                202,
                json!({
                    "discovery_request": row.discovery_status_json(),
                    "config_version": row.config_version,
                }),
            ))
        }
        DiscoveryRoute::Guilds => {
            connector(db, t, c).await?;
            let guilds = db.discovery().guilds(t, c).await.or_unavailable("guilds")?;
            Ok(http::ok(&cx.cid, 200, json!({ "guilds": guilds })))
        }
        DiscoveryRoute::Channels => {
            connector(db, t, c).await?;
            let guild = match query(req, "guild_id") {
                Some(g) => Some(snowflake::<GuildMarker>("guild_id", &g)?),
                None => None,
            };
            let channels = db
                .discovery()
                .channels(t, c, guild.as_ref().map(|g| g.as_str()))
                .await
                .or_unavailable("channels")?;
            Ok(http::ok(&cx.cid, 200, json!({ "channels": channels })))
        }
    }
}
