//! `/v1/admin/tenants/{t}/seats/...` (per customer guild: limit, mode, the snapshot, refresh
//! now, the gate's view) and `/v1/admin/seats/kill-switch` (every guild to shadow at once).
//!
//! D1 holds the config (the system of record); each write is pushed to the tenant's seat
//! object, which audits and projects its snapshots back to D1. A write whose push fails
//! answers 503 `seats_unavailable` with D1 already written: repeating the same request is
//! safe and completes it.

use relay_core::ids::GuildId;
use relay_core::routes::{SeatSwitchRoute, SeatsRoute};
use relay_core::validate::FieldError;
use relay_core::ApiError;
use relay_guild::seats::{gate_state, Mode, SeatConfig, SeatCount, SeatPolicy, Snapshot};
use serde_json::{json, Value};
use worker::Request;

use super::lookup::{snowflake, tenant};
use crate::config::SeatSettings;
use crate::db::seat_snapshots::SnapshotRow;
use crate::db::seats::ConfigRow;
use crate::db::Db;
use crate::durable_objects::seats::api::ConfigureBody;
use crate::durable_objects::seats::client::SeatClient;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};

fn seats_down(e: worker::Error) -> ApiError {
    crate::runtime::log(
        "error",
        "dependency failure",
        json!({"what": "seat object", "error": e.to_string()}),
    );
    ApiError::unavailable("seat enforcement is temporarily unavailable; repeat the request")
        .with_code("seats_unavailable")
}

fn config_missing(guild: &GuildId) -> ApiError {
    ApiError::not_found(format!("guild {guild} has no seat config (it is off)"))
        .with_code("seat_config_not_found")
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Off => "off",
        Mode::Shadow => "shadow",
        Mode::Enforce => "enforce",
    }
}

fn parse_mode(s: &str) -> Mode {
    match s {
        "enforce" => Mode::Enforce,
        "shadow" => Mode::Shadow,
        _ => Mode::Off,
    }
}

/// A guild as the console reads it: config, snapshot (from the object's projection) and
/// what the gate makes of it now.
fn seat_json(
    cfg: &ConfigRow,
    snap: Option<&SnapshotRow>,
    name: Option<&str>,
    kill_switch: bool,
    policy: &SeatPolicy,
    now: i64,
) -> Value {
    let mode = parse_mode(&cfg.mode);
    let limit = cfg.seat_limit.max(0) as u64;
    let effective = mode.effective(kill_switch);
    let snapshot = snap.map(|r| Snapshot {
        count: r.seats_used.map(|v| SeatCount {
            value: v.max(0) as u64,
            exact: r.seats_exact != Some(0),
        }),
        limit_at_count: Some(r.seat_limit.max(0) as u64),
        checked_at_ms: r.checked_at,
        last_attempt_at_ms: r.last_attempt_at,
        last_error: None,
        consecutive_failures: r.consecutive_failures.max(0) as u32,
    });
    let view = snapshot
        .clone()
        .unwrap_or_default()
        .view(limit, now, &policy.freshness);
    let gate = gate_state(effective, snapshot.as_ref(), limit, now, &policy.freshness);
    let decision = relay_guild::seats::decide(effective, gate);
    json!({
        "tenant_key": cfg.tenant_key,
        "guild_id": cfg.guild_id,
        "guild_name": name,
        "limit": limit,
        "mode": cfg.mode,
        "effective_mode": mode_name(effective),
        "kill_switch": kill_switch,
        "gate": gate,
        "holding": !decision.deliver,
        "would_hold": decision.would_hold,
        "snapshot": {
            "seats_used": view.seats_used,
            "seats_exact": view.seats_exact,
            "over_limit": view.over_limit,
            "status": view.status,
            "checked_at": view.checked_at_ms,
            "last_attempt_at": snap.and_then(|s| s.last_attempt_at),
            "next_check_at": snap.and_then(|s| s.next_check_at),
            "state": snap.map(|s| s.state.as_str()),
            "last_error": snap.and_then(|s| s.last_error_code.as_ref().map(|code| json!({
                "code": code, "message": s.last_error_message,
            }))),
            "consecutive_failures": snap.map_or(0, |s| s.consecutive_failures),
            "notices_posted": snap.map_or(0, |s| s.notices_posted),
            "audits": snap.map_or(0, |s| s.audits),
        },
        "created_at": cfg.created_at,
        "updated_at": cfg.updated_at,
    })
}

async fn one(db: &Db, cx: &Cx, t: &str, guild: &GuildId, policy: &SeatPolicy) -> ApiResult<Value> {
    let cfg = db
        .seats()
        .get(t, guild.as_str())
        .await
        .or_unavailable("seat config")?
        .ok_or_else(|| config_missing(guild))?;
    let snaps = db
        .seat_snapshots()
        .list(t)
        .await
        .or_unavailable("seat snapshots")?;
    let name = db
        .catalog()
        .guild(guild)
        .await
        .or_unavailable("catalog")?
        .map(|g| g.name);
    let (kill, _) = db
        .seats()
        .kill_switch()
        .await
        .or_unavailable("seat settings")?;
    let snap = snaps.iter().find(|s| s.guild_id == cfg.guild_id);
    Ok(seat_json(&cfg, snap, name.as_deref(), kill, policy, cx.now))
}

pub async fn handle(req: &mut Request, cx: &Cx, db: &Db, t: &str, route: SeatsRoute) -> ApiResult {
    tenant(db, t).await?;
    let policy = SeatSettings::from_env(&cx.env).policy;
    match route {
        SeatsRoute::List => {
            let configs = db.seats().list(t).await.or_unavailable("seat configs")?;
            let snaps = db
                .seat_snapshots()
                .list(t)
                .await
                .or_unavailable("seat snapshots")?;
            let guilds = db
                .catalog()
                .guilds(Some(t))
                .await
                .or_unavailable("catalog")?;
            let (kill, kill_at) = db
                .seats()
                .kill_switch()
                .await
                .or_unavailable("seat settings")?;
            let list: Vec<Value> = configs
                .iter()
                .map(|c| {
                    let snap = snaps.iter().find(|s| s.guild_id == c.guild_id);
                    let name = guilds
                        .iter()
                        .find(|g| g.guild_id == c.guild_id)
                        .map(|g| g.name.as_str());
                    seat_json(c, snap, name, kill, &policy, cx.now)
                })
                .collect();
            // Held jobs live in the mirror object (its paused queues); the list still
            // answers without them, saying so.
            let held = match crate::durable_objects::mirror::client::MirrorClient::new(&cx.env, t) {
                Ok(m) => m.seats_held().await.ok(),
                Err(_) => None,
            };
            let mut list = list;
            for entry in list.iter_mut() {
                let gid = entry["guild_id"].as_str().unwrap_or_default().to_string();
                let g = held.as_ref().and_then(|h| {
                    h["guilds"]
                        .as_array()
                        .and_then(|a| a.iter().find(|g| g["guild_id"] == gid.as_str()))
                });
                entry["mirror"] = match (&held, g) {
                    (None, _) => json!({"available": false}),
                    (Some(_), None) => json!({
                        "available": true, "held": 0, "expired_while_paused_total": 0,
                        "would_hold_total": 0, "targets": [],
                    }),
                    (Some(_), Some(g)) => {
                        let mut g = g.clone();
                        g["available"] = json!(true);
                        g
                    }
                };
            }
            // The object's own view of its schedule; the list still answers without it.
            let object = match SeatClient::new(&cx.env, t) {
                Ok(c) => c.status().await.ok(),
                Err(_) => None,
            };
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "seats": list,
                    "object": object.map(|o| json!({
                        "alarm_at": o.alarm_at_ms,
                        "mirror_link": o.mirror_link,
                        "guilds": o.guilds.iter().map(|g| json!({
                            "guild_id": g.guild_id,
                            "next_check_at": g.next_check_at_ms,
                            "state": g.state,
                            "notice_channels": g.notice_channels,
                        })).collect::<Vec<_>>(),
                    })),
                    "kill_switch": {"engaged": kill, "updated_at": kill_at},
                    "policy": {
                        "fresh_ms": policy.freshness.fresh_ms,
                        "stale_ms": policy.freshness.stale_ms,
                        "hold_max_age_ms": policy.hold.max_age_ms,
                    },
                }),
            ))
        }
        SeatsRoute::Get { guild } => {
            let id: GuildId = snowflake("guild_id", &guild)?;
            let seat = one(db, cx, t, &id, &policy).await?;
            Ok(http::ok(&cx.cid, 200, json!({ "seat": seat })))
        }
        SeatsRoute::Put { guild } => {
            let id: GuildId = snowflake("guild_id", &guild)?;
            let body = http::read_json(req, &cx.cfg).await?;
            let config = SeatConfig::from_json(&body).map_err(ApiError::invalid_fields)?;
            let row = db
                .catalog()
                .guild(&id)
                .await
                .or_unavailable("catalog")?
                .ok_or_else(|| {
                    ApiError::not_found("the bot's catalog has no such guild")
                        .with_code("catalog_guild_not_found")
                })?;
            if row.tenant_key.as_deref() != Some(t) {
                return Err(ApiError::conflict(format!(
                    "guild {id} is not assigned to tenant {t:?}; assign it in the catalog first"
                ))
                .with_code("guild_not_assigned"));
            }
            let (kill, _) = db
                .seats()
                .kill_switch()
                .await
                .or_unavailable("seat settings")?;
            db.seats()
                .upsert(t, id.as_str(), config.limit, mode_name(config.mode), cx.now)
                .await
                .or_unavailable("seat config")?;
            SeatClient::new(&cx.env, t)
                .map_err(seats_down)?
                .configure(&ConfigureBody {
                    guild_id: id.as_str().to_string(),
                    config: Some(config),
                    kill_switch: kill,
                })
                .await
                .map_err(seats_down)?;
            let seat = one(db, cx, t, &id, &policy).await?;
            Ok(http::ok(&cx.cid, 200, json!({ "seat": seat })))
        }
        SeatsRoute::Delete { guild } => {
            let id: GuildId = snowflake("guild_id", &guild)?;
            db.seats()
                .get(t, id.as_str())
                .await
                .or_unavailable("seat config")?
                .ok_or_else(|| config_missing(&id))?;
            let (kill, _) = db
                .seats()
                .kill_switch()
                .await
                .or_unavailable("seat settings")?;
            // The object first: once it has forgotten the guild it projects nothing more for
            // it, so the rows deleted next stay deleted.
            SeatClient::new(&cx.env, t)
                .map_err(seats_down)?
                .configure(&ConfigureBody {
                    guild_id: id.as_str().to_string(),
                    config: None,
                    kill_switch: kill,
                })
                .await
                .map_err(seats_down)?;
            let stmts = vec![
                db.seats()
                    .delete_stmt(t, id.as_str())
                    .or_unavailable("seat config")?,
                db.seat_snapshots()
                    .delete_stmt(t, id.as_str())
                    .or_unavailable("seat snapshots")?,
            ];
            db.batch(stmts).await.or_unavailable("seat config")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "removed": {"guild_id": id.as_str()} }),
            ))
        }
        SeatsRoute::Refresh { guild } => {
            let id: GuildId = snowflake("guild_id", &guild)?;
            let cfg = db
                .seats()
                .get(t, id.as_str())
                .await
                .or_unavailable("seat config")?
                .ok_or_else(|| config_missing(&id))?;
            if parse_mode(&cfg.mode) == Mode::Off {
                return Err(ApiError::conflict(format!(
                    "guild {id} is in mode off: nothing is audited (set shadow or enforce first)"
                ))
                .with_code("seat_enforcement_off"));
            }
            let answer = SeatClient::new(&cx.env, t)
                .map_err(seats_down)?
                .refresh(&id, "admin")
                .await
                .map_err(seats_down)?;
            if !answer.scheduled {
                // D1 says shadow/enforce but the object does not know the guild: a lost push.
                return Err(ApiError::unavailable(
                    "the seat object does not have this guild's config; save it again",
                )
                .with_code("seats_unavailable"));
            }
            let seat = one(db, cx, t, &id, &policy).await?;
            Ok(http::ok(
                &cx.cid,
                202,
                json!({ "seat": seat, "audit": answer.guild }),
            ))
        }
        SeatsRoute::Gate { guild } => {
            let id: GuildId = snowflake("guild_id", &guild)?;
            let view = SeatClient::new(&cx.env, t)
                .map_err(seats_down)?
                .gate_view(&id)
                .await
                .map_err(seats_down)?;
            let decision = view.decide(cx.now);
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "view": view,
                    "effective_mode": mode_name(view.effective_mode()),
                    "state": view.state(cx.now),
                    "decision": decision,
                }),
            ))
        }
    }
}

pub async fn handle_switch(
    req: &mut Request,
    cx: &Cx,
    db: &Db,
    route: SeatSwitchRoute,
) -> ApiResult {
    match route {
        SeatSwitchRoute::Get => {
            let (engaged, at) = db
                .seats()
                .kill_switch()
                .await
                .or_unavailable("seat settings")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({ "kill_switch": {"engaged": engaged, "updated_at": at} }),
            ))
        }
        SeatSwitchRoute::Put => {
            let body = http::read_json(req, &cx.cfg).await?;
            let engaged = match (body.get("engaged"), body.as_object().map(|o| o.len())) {
                (Some(Value::Bool(b)), Some(1)) => *b,
                _ => {
                    return Err(ApiError::invalid_fields(vec![FieldError::new(
                        "engaged",
                        "must be true or false (and the only field)",
                    )]))
                }
            };
            db.seats()
                .set_kill_switch(engaged, cx.now)
                .await
                .or_unavailable("seat settings")?;
            let tenants = db.seats().tenants().await.or_unavailable("seat configs")?;
            let mut failed = Vec::new();
            for t in &tenants {
                let pushed = match SeatClient::new(&cx.env, t) {
                    Ok(c) => c.kill_switch(engaged).await.map(|_| ()),
                    Err(e) => Err(e),
                };
                if let Err(e) = pushed {
                    crate::runtime::log(
                        "error",
                        "dependency failure",
                        json!({"what": "seat object (kill switch)", "tenant_key": t, "error": e.to_string()}),
                    );
                    failed.push(t.clone());
                }
            }
            if !failed.is_empty() {
                return Err(ApiError::unavailable(format!(
                    "the kill switch is saved but {} tenant(s) did not take it yet ({}); repeat the request",
                    failed.len(),
                    failed.join(", ")
                ))
                .with_code("seats_unavailable"));
            }
            let (engaged, at) = db
                .seats()
                .kill_switch()
                .await
                .or_unavailable("seat settings")?;
            Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "kill_switch": {"engaged": engaged, "updated_at": at},
                    "tenants_notified": tenants.len(),
                }),
            ))
        }
    }
}
