//! Seat enforcement (issue 15): one Durable Object per tenant (`seats:<tenant>`) that owns
//! the seat state of the tenant's customer guilds — per guild the config (limit, mode), the
//! snapshot, the over-limit notice state and an audit in progress
//! ([`relay_guild::seats::GuildSeats`], stored as JSON between alarms).
//!
//! Audits run from the alarm, one Discord call per step through the facade (`run`); "not
//! before T" becomes the alarm at T, never a sleep. The alarm is the earliest due time over
//! the guilds: 60 s, 30 s while over, at once after a config change or "refresh now", none
//! for guilds in mode `off` or removed. After each change the object projects its guilds to
//! D1 (`seat_snapshots`) for the console and tells the mirror dispatcher (`mirror_link`).
//!
//! `api` is the protocol, `client` the typed caller (and the mirror dispatcher's
//! [`client::SeatClient::gate_view`]), `state` the stored state, `run` the audit loop.

use crate::durable_objects::no_sockets;
use relay_core::ids::GuildId;
use relay_guild::seats::{GateView, GuildSeats};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

pub mod api;
pub mod client;
pub mod mirror_link;
mod run;
mod state;

use crate::config::SeatSettings;
use state::Slot;

#[durable_object]
pub struct SeatObject {
    state: State,
    env: Env,
    seats: Slot,
}

fn bad(msg: &str) -> Result<Response> {
    Response::error(msg, 400)
}

impl SeatObject {
    /// Sets the alarm to the earliest due time, or clears it when nothing is planned.
    async fn reschedule(&self) -> Result<()> {
        let settings = SeatSettings::from_env(&self.env);
        let now = crate::runtime::now_ms();
        let next = self
            .seats
            .with(&self.state, |s| s.next_due(now, &settings.cadence))
            .await?;
        match next {
            Some(at) => self.state.storage().set_alarm((at - now).max(0)).await,
            None => self.state.storage().delete_alarm().await,
        }
    }

    async fn remember_tenant(&self, req: &Request) -> Result<()> {
        if let Some(t) = req.headers().get(api::TENANT_HEADER)? {
            self.seats
                .with(&self.state, |s| {
                    if s.meta.tenant_key.is_none() {
                        s.meta.tenant_key = Some(t);
                    }
                })
                .await?;
        }
        Ok(())
    }

    async fn tenant_status(&self) -> Result<api::TenantStatus> {
        let settings = SeatSettings::from_env(&self.env);
        let now = crate::runtime::now_ms();
        let alarm = self.state.storage().get_alarm().await?;
        self.seats
            .with(&self.state, |s| api::TenantStatus {
                tenant_key: s.meta.tenant_key.clone(),
                kill_switch: s.meta.kill_switch,
                alarm_at_ms: alarm,
                guilds: s
                    .guilds
                    .values()
                    .map(|g| s.status(g, now, settings.policy, &settings.cadence))
                    .collect(),
                mirror_link: s.meta.mirror_link.clone(),
            })
            .await
    }

    async fn guild_status(&self, id: &str) -> Result<Option<api::GuildStatus>> {
        let settings = SeatSettings::from_env(&self.env);
        let now = crate::runtime::now_ms();
        self.seats
            .with(&self.state, |s| {
                s.guilds
                    .get(id)
                    .map(|g| s.status(g, now, settings.policy, &settings.cadence))
            })
            .await
    }

    /// After a config or kill-switch change: save, project, tell the mirror, reschedule.
    async fn changed(&self, ids: &[String]) -> Result<()> {
        let settings = SeatSettings::from_env(&self.env);
        self.seats.save(&self.state, ids).await?;
        let now = crate::runtime::now_ms();
        self.seats.project(&self.state, &self.env, now).await?;
        let views: Vec<GateView> = self
            .seats
            .with(&self.state, |s| {
                // A removed config is pushed as unconfigured, so the mirror stops gating.
                ids.iter()
                    .filter_map(|id| match s.guilds.get(id) {
                        Some(g) => Some(g.gate_view(s.meta.kill_switch, settings.policy)),
                        None => id.parse().ok().map(|g| {
                            GateView::unconfigured(g, s.meta.kill_switch, settings.policy)
                        }),
                    })
                    .collect()
            })
            .await?;
        for view in views {
            self.seats
                .tell_mirror(&self.state, &self.env, view, false)
                .await?;
        }
        self.seats.save(&self.state, &[]).await?;
        self.reschedule().await
    }
}

impl DurableObject for SeatObject {
    fn new(state: State, env: Env) -> Self {
        SeatObject {
            state,
            env,
            seats: Slot::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        self.remember_tenant(&req).await?;
        let path = req.path();
        match (req.method(), path.as_str()) {
            (Method::Get, api::STATUS) => Response::from_json(&self.tenant_status().await?),
            (Method::Get, api::GATE_VIEW) => {
                let url = req.url()?;
                let Some(id) = url
                    .query_pairs()
                    .find(|(k, _)| k == "guild_id")
                    .and_then(|(_, v)| GuildId::parse(&v).ok())
                else {
                    return bad("guild_id must be a snowflake");
                };
                let Some(gid) = id.id() else {
                    return bad("guild_id must be a snowflake");
                };
                let settings = SeatSettings::from_env(&self.env);
                let view = self
                    .seats
                    .with(&self.state, |s| match s.guilds.get(id.as_str()) {
                        Some(g) => g.gate_view(s.meta.kill_switch, settings.policy),
                        None => GateView::unconfigured(gid, s.meta.kill_switch, settings.policy),
                    })
                    .await?;
                Response::from_json(&view)
            }
            (Method::Post, api::CONFIGURE) => {
                let body: api::ConfigureBody = req.json().await?;
                let Some(gid) = GuildId::parse(&body.guild_id).ok().and_then(|g| g.id()) else {
                    return bad("guild_id must be a snowflake");
                };
                let key = body.guild_id.clone();
                self.seats
                    .with(&self.state, |s| {
                        s.meta.kill_switch = body.kill_switch;
                        match body.config {
                            Some(c) => match s.guilds.get_mut(&key) {
                                Some(g) => g.configure(c),
                                None => {
                                    s.guilds.insert(key.clone(), GuildSeats::new(gid, c));
                                }
                            },
                            None => {
                                s.guilds.remove(&key);
                            }
                        }
                    })
                    .await?;
                self.changed(std::slice::from_ref(&key)).await?;
                Response::from_json(&self.guild_status(&key).await?)
            }
            (Method::Post, api::KILL_SWITCH) => {
                let body: api::KillSwitchBody = req.json().await?;
                let ids = self
                    .seats
                    .with(&self.state, |s| {
                        s.meta.kill_switch = body.engaged;
                        s.guilds.keys().cloned().collect::<Vec<_>>()
                    })
                    .await?;
                self.changed(&ids).await?;
                Response::from_json(&self.tenant_status().await?)
            }
            (Method::Post, api::REFRESH) => {
                let body: api::RefreshBody = req.json().await?;
                let scheduled = self
                    .seats
                    .with(&self.state, |s| {
                        s.guilds
                            .get_mut(&body.guild_id)
                            .is_some_and(|g| g.trigger())
                    })
                    .await?;
                if scheduled {
                    crate::runtime::log(
                        "info",
                        "seats: audit asked for",
                        serde_json::json!({"guild_id": body.guild_id, "reason": body.reason}),
                    );
                    self.seats
                        .save(&self.state, std::slice::from_ref(&body.guild_id))
                        .await?;
                    self.reschedule().await?;
                }
                Response::from_json(&api::RefreshAnswer {
                    scheduled,
                    guild: self.guild_status(&body.guild_id).await?,
                })
            }
            _ => Response::error("unknown seat route", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        match self.seats.step_until_blocked(&self.state, &self.env).await {
            Ok(Some(at)) => {
                let now = crate::runtime::now_ms();
                self.state.storage().set_alarm((at - now).max(0)).await?;
            }
            Ok(None) => {
                // Either nothing is planned, or a loop already running reschedules itself.
                if !self.seats.busy.get() {
                    self.reschedule().await?;
                }
            }
            Err(e) => {
                crate::runtime::log(
                    "error",
                    "seat audit step failed",
                    serde_json::json!({"error": e.to_string()}),
                );
                self.state.storage().set_alarm(5_000).await?;
            }
        }
        Response::ok("ok")
    }

    // The seat object accepts no WebSockets; should one ever reach it, it is closed.
    no_sockets::refuse_sockets!("seat object", "the seat object accepts no sockets");
}
