//! `/v1/admin/tenants/{t}/channel-visibility[/{channel}]`: which tier each source channel needs.
//! A change re-checks the live sockets of every customer whose scope it may alter.

use std::collections::BTreeMap;

use relay_core::ids::ChannelId;
use relay_core::routes::VisibilityRoute;
use relay_core::validate::FieldError;
use relay_core::ApiError;
use serde_json::{json, Value};
use worker::Request;

use super::lookup::tenant;
use crate::accounts::{self, operator, reason, Cause};
use crate::db::audit::Entry;
use crate::db::Db;
use crate::handlers::account::channel_names;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};

pub async fn handle(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    t: &str,
    route: VisibilityRoute,
) -> ApiResult {
    tenant(db, t).await?;
    match route {
        VisibilityRoute::List => {
            let names = channel_names(db, t).await?;
            let mut rows: BTreeMap<String, Value> = BTreeMap::new();
            for c in db.connectors().list(t).await.or_unavailable("connectors")? {
                for src in db
                    .sources()
                    .list(t, &c.connector_id)
                    .await
                    .or_unavailable("sources")?
                {
                    if src.is_source == 0 {
                        continue;
                    }
                    rows.insert(src.channel_id.clone(), json!({"channel_id": src.channel_id, "guild_id": src.guild_id, "min_tier": null}));
                }
            }
            for v in db.visibility().list(t).await.or_unavailable("visibility")? {
                let e = rows
                    .entry(v.channel_id.clone())
                    .or_insert_with(|| json!({"channel_id": v.channel_id}));
                e["min_tier"] = json!(v.min_tier);
            }
            let list: Vec<Value> = rows
                .into_iter()
                .map(|(id, mut v)| {
                    if let Some((name, guild, gname)) = names.get(&id) {
                        v["name"] = json!(name);
                        v["guild_id"] = json!(guild);
                        v["guild_name"] = json!(gname);
                    }
                    v
                })
                .collect();
            Ok(http::ok(&cx.cid, 200, json!({ "channels": list })))
        }
        VisibilityRoute::Put { channel } => {
            let channel = ChannelId::parse(&channel).map_err(|_| {
                ApiError::invalid_fields(vec![FieldError::new(
                    "channel",
                    "must be a Discord channel id",
                )])
            })?;
            let body = http::read_json(req, &cx.cfg).await?;
            let min_tier = match body.get("min_tier") {
                Some(Value::Null) => None,
                Some(Value::String(k)) => Some(k.clone()),
                _ => {
                    return Err(ApiError::invalid_fields(vec![FieldError::new(
                        "min_tier",
                        "must be a tier key, or null to hide the channel",
                    )]))
                }
            };
            let why = reason(&body, false)?;
            if let Some(k) = &min_tier {
                let tiers = db.tiers().list(t).await.or_unavailable("tiers")?;
                if !tiers.iter().any(|x| &x.tier_key == k) {
                    return Err(ApiError::not_found("no such tier").with_code("tier_not_found"));
                }
            }
            let actor = operator(req);
            db.batch(vec![
                db.visibility()
                    .set(t, channel.as_str(), min_tier.as_deref(), cx.now)
                    .or_unavailable("visibility")?,
                db.audit()
                    .record(&Entry {
                        tenant_key: t,
                        customer_id: None,
                        at: cx.now,
                        action: "channel_visibility_set",
                        detail: json!({"channel_id": channel.as_str(), "min_tier": min_tier}),
                        reason: why.as_deref(),
                        actor: &actor,
                    })
                    .or_unavailable("audit")?,
            ])
            .await
            .or_unavailable("visibility")?;
            // Every customer with a live socket may see a different set now.
            let mut before = None;
            loop {
                let page = db
                    .customers()
                    .search(
                        t,
                        None,
                        before
                            .as_ref()
                            .map(|(a, i): &(i64, String)| (*a, i.as_str())),
                        100,
                    )
                    .await
                    .or_unavailable("customers")?;
                for c in &page {
                    let _ = accounts::enforce(
                        cx,
                        db,
                        t,
                        &c.customer_id,
                        if c.is_active() {
                            Cause::Access
                        } else {
                            Cause::Disabled
                        },
                    )
                    .await;
                }
                match page.last() {
                    Some(l) if page.len() == 100 => {
                        before = Some((l.created_at, l.customer_id.clone()))
                    }
                    _ => break,
                }
            }
            Ok(http::ok(
                &cx.cid,
                200,
                json!({"channel_id": channel.as_str(), "min_tier": min_tier}),
            ))
        }
    }
}
