//! The audit loop: pick a due guild, make its one next call through the Discord facade, feed
//! the answer to its [`GuildSeats`], save, repeat until nothing is due or Discord says "not
//! before T"; then project to D1 and set the alarm to the earliest due time (none when every
//! guild is `off`).

use relay_core::ids::{ChannelId, GuildId};
use relay_discord::requests::{CreateMessage, GetChannel, GetGuild, MessageNonce};
use relay_guild::error::ErrorCode;
use relay_guild::seats::{Call, Failure, Finished, StepCx};
use relay_guild::{classify_call, CallFailure, GuildError};
use twilight_model::channel::Channel;
use twilight_model::guild::{Guild, Member};
use worker::{Env, State};

use super::mirror_link::{snapshot_changed, SeatChange};
use super::state::Slot;
use crate::config::SeatSettings;
use crate::db::Db;
use crate::discord::{Discord, SendError};
use crate::runtime::{log, now_ms};

/// Calls per alarm invocation (each is three subrequests: gate, Discord, gate).
const MAX_STEPS_PER_ALARM: u32 = 40;
/// A fault of our own (D1 unreachable while reading targets or projecting).
const OWN_RETRY_MS: i64 = 5_000;

enum Answer {
    Guild(Box<Guild>),
    Channel(Box<Channel>),
    Members(Vec<Member>),
    Posted,
    Failed(Failure),
}

fn failure(kind: relay_guild::Call, e: SendError, now: i64) -> Failure {
    match e {
        SendError::NotBefore { at_ms, .. } => Failure::Wait { at_ms },
        SendError::Transient { retry_at_ms, .. } => Failure::Retry {
            at_ms: retry_at_ms,
        },
        SendError::Stopped => Failure::Fail(GuildError::new(
            ErrorCode::AuditFailed,
            "discord_bot_token_stopped: the bot token was refused (401); reset it in the console's Discord page",
        )),
        SendError::Permanent(err) => match classify_call(kind, &err) {
            CallFailure::Retry { at_ms } => Failure::Retry {
                at_ms: at_ms.unwrap_or(now + OWN_RETRY_MS),
            },
            CallFailure::Fail(ge) => Failure::Fail(ge),
        },
    }
}

async fn perform(discord: &Discord, call: &Call, attempt: u32, now: i64) -> Answer {
    match call {
        Call::Guild { guild_id } => {
            let req = GetGuild {
                guild_id: *guild_id,
                with_counts: true,
            };
            match discord.send(&req, attempt).await {
                Ok(g) => Answer::Guild(Box::new(g)),
                Err(e) => Answer::Failed(failure(relay_guild::Call::Guild, e, now)),
            }
        }
        Call::Channel { channel_id } => {
            let req = GetChannel {
                channel_id: *channel_id,
            };
            match discord.send(&req, attempt).await {
                Ok(c) => Answer::Channel(Box::new(c)),
                Err(e) => Answer::Failed(failure(relay_guild::Call::Channel(*channel_id), e, now)),
            }
        }
        Call::Members(req) => match discord.send(req, attempt).await {
            Ok(page) => Answer::Members(page),
            Err(e) => Answer::Failed(failure(relay_guild::Call::MemberList, e, now)),
        },
        Call::Notice {
            channel_id,
            text,
            nonce,
        } => {
            let mut req = CreateMessage::new(*channel_id);
            req.content = Some(text.clone());
            req.nonce = Some(MessageNonce::Str(nonce.clone()));
            req.enforce_nonce = true;
            match discord.send(&req, attempt).await {
                Ok(_) => Answer::Posted,
                Err(e) => {
                    log(
                        "warn",
                        "seats: over-limit notice not posted",
                        serde_json::json!({"channel_id": channel_id.to_string(), "error_code": e.error_code()}),
                    );
                    Answer::Failed(failure(relay_guild::Call::Channel(*channel_id), e, now))
                }
            }
        }
    }
}

/// Where an audit's targets stand.
enum Targets {
    Found(Vec<twilight_model::id::Id<twilight_model::id::marker::ChannelMarker>>),
    /// The guild is gone for this tenant: no audit, none planned.
    Detached(String),
    /// D1 failed: retried shortly.
    Fault,
}

/// What one pass of the loop picked.
enum Pick {
    Nothing,
    Begin {
        guild: String,
    },
    Call {
        guild: String,
        call: Call,
        attempt: u32,
    },
}

impl Slot {
    /// Runs due work until blocked; returns when the alarm should fire next (`None`: never).
    pub async fn step_until_blocked(
        &self,
        state: &State,
        env: &Env,
    ) -> worker::Result<Option<i64>> {
        if self.busy.replace(true) {
            // The running loop reschedules itself.
            return Ok(None);
        }
        let out = self.steps(state, env).await;
        self.busy.set(false);
        out
    }

    async fn steps(&self, state: &State, env: &Env) -> worker::Result<Option<i64>> {
        let settings = SeatSettings::from_env(env);
        let discord = Discord::from_env(env);
        let mut own_fault = false;
        let mut steps = 0;
        while steps < MAX_STEPS_PER_ALARM {
            let now = now_ms();
            let pick = self
                .with(state, |s| {
                    let Some((id, g)) = s
                        .guilds
                        .iter()
                        .find(|(_, g)| g.is_due(now, &settings.cadence))
                    else {
                        return Pick::Nothing;
                    };
                    match g.next_call() {
                        Some(call) => Pick::Call {
                            guild: id.clone(),
                            call,
                            attempt: g.retries,
                        },
                        None => Pick::Begin { guild: id.clone() },
                    }
                })
                .await?;
            match pick {
                Pick::Nothing => break,
                Pick::Begin { guild } => {
                    let tenant = self.with(state, |s| s.meta.tenant_key.clone()).await?;
                    let targets = match self.targets(env, tenant.as_deref(), &guild).await {
                        Targets::Found(t) => Ok(t),
                        Targets::Detached(why) => Err(why),
                        Targets::Fault => {
                            own_fault = true;
                            break;
                        }
                    };
                    self.with(state, |s| {
                        if let Some(g) = s.guilds.get_mut(&guild) {
                            match targets {
                                Ok(t) => g.begin(t, now),
                                Err(why) => g.detach(&why, now),
                            }
                        }
                    })
                    .await?;
                    self.save(state, std::slice::from_ref(&guild)).await?;
                }
                Pick::Call {
                    guild,
                    call,
                    attempt,
                } => {
                    steps += 1;
                    let answer = match &discord {
                        Some(d) => perform(d, &call, attempt, now).await,
                        None => Answer::Failed(Failure::Fail(GuildError::new(
                            ErrorCode::AuditFailed,
                            "discord_not_configured: DISCORD_BOT_TOKEN is not set",
                        ))),
                    };
                    let now = now_ms();
                    let finished = self
                        .with(state, |s| {
                            let kill = s.meta.kill_switch;
                            let g = s.guilds.get_mut(&guild)?;
                            let cx = StepCx {
                                now_ms: now,
                                kill_switch: kill,
                                shortcut: settings.shortcut,
                            };
                            let fin = match answer {
                                Answer::Guild(x) => g.on_guild(&x, cx),
                                Answer::Channel(c) => g.on_channel(*c, cx),
                                Answer::Members(page) => g.on_members(&page, cx),
                                Answer::Posted => {
                                    g.on_notice_posted();
                                    None
                                }
                                Answer::Failed(f) => g.on_failure(f, now),
                            };
                            fin.map(|f| (f, g.gate_view(kill, settings.policy)))
                        })
                        .await?;
                    self.save(state, std::slice::from_ref(&guild)).await?;
                    if let Some((fin, view)) = finished {
                        self.finished(state, env, &guild, fin, view).await?;
                    }
                }
            }
        }
        let now = now_ms();
        if !self.project(state, env, now).await? {
            own_fault = true;
        }
        let next = self
            .with(state, |s| s.next_due(now, &settings.cadence))
            .await?;
        Ok(match (steps >= MAX_STEPS_PER_ALARM, own_fault) {
            (true, _) => Some(now),
            (false, true) => Some(next.map_or(now + OWN_RETRY_MS, |n| n.max(now + OWN_RETRY_MS))),
            (false, false) => next,
        })
    }

    /// The guild's mapped targets from D1, after checking in the catalog that the bot is
    /// still in the guild and the guild still serves this tenant.
    async fn targets(&self, env: &Env, tenant: Option<&str>, guild: &str) -> Targets {
        let (Some(tenant), Ok(gid)) = (tenant, GuildId::parse(guild)) else {
            return Targets::Fault;
        };
        let Ok(db) = Db::new(env) else {
            return Targets::Fault;
        };
        let fault = |e: worker::Error| {
            log(
                "error",
                "dependency failure",
                serde_json::json!({"what": "seat targets (D1)", "error": e.to_string()}),
            );
            Targets::Fault
        };
        let row = match db.catalog().guild(&gid).await {
            Ok(r) => r,
            Err(e) => return fault(e),
        };
        match row {
            None => return Targets::Detached("the guild is not in the bot's catalog".into()),
            Some(r) if r.active == 0 => {
                return Targets::Detached(
                    "the bot is no longer in this guild (the catalog marks it inactive)".into(),
                )
            }
            Some(r) if r.tenant_key.as_deref() != Some(tenant) => {
                return Targets::Detached(format!(
                    "the guild is no longer assigned to tenant {tenant:?}"
                ))
            }
            Some(_) => {}
        }
        match db.catalog().mapped_targets_in(&gid, tenant).await {
            Ok(ids) => Targets::Found(
                ids.iter()
                    .filter_map(|c| ChannelId::parse(c).ok().and_then(|c| c.id()))
                    .collect(),
            ),
            Err(e) => fault(e),
        }
    }

    async fn finished(
        &self,
        state: &State,
        env: &Env,
        guild: &str,
        fin: Finished,
        view: relay_guild::seats::GateView,
    ) -> worker::Result<()> {
        let tenant = self.with(state, |s| s.meta.tenant_key.clone()).await?;
        log(
            "info",
            "seats: audit finished",
            serde_json::json!({
                "tenant_key": tenant, "guild_id": guild,
                "verdict": fin.verdict, "back_under": fin.back_under,
                "seats_used": view.snapshot.as_ref().and_then(|s| s.count).map(|c| c.value),
                "limit": view.limit,
            }),
        );
        self.tell_mirror(state, env, view, fin.back_under).await
    }

    pub async fn tell_mirror(
        &self,
        state: &State,
        env: &Env,
        view: relay_guild::seats::GateView,
        back_under: bool,
    ) -> worker::Result<()> {
        let tenant = self.with(state, |s| s.meta.tenant_key.clone()).await?;
        let change = SeatChange {
            tenant_key: tenant.unwrap_or_default(),
            view,
            back_under,
        };
        let link = match snapshot_changed(env, &change).await {
            Ok(l) => l.as_str().to_string(),
            Err(e) => format!("failed: {e}"),
        };
        self.with(state, |s| s.meta.mirror_link = Some(link)).await
    }

    /// Writes every guild's row to D1; `false` when D1 failed (the alarm retries).
    pub async fn project(&self, state: &State, env: &Env, now: i64) -> worker::Result<bool> {
        let settings = SeatSettings::from_env(env);
        let rows = self
            .with(state, |s| s.projection(now, &settings.cadence))
            .await?;
        let ok = match Db::new(env) {
            Ok(db) => match db.seat_snapshots().upsert(&rows).await {
                Ok(()) => true,
                Err(e) => {
                    log(
                        "error",
                        "dependency failure",
                        serde_json::json!({"what": "seat projection (D1)", "error": e.to_string()}),
                    );
                    false
                }
            },
            Err(_) => false,
        };
        self.with(state, |s| s.meta.projection_dirty = !ok).await?;
        self.save(state, &[]).await?;
        Ok(ok)
    }
}
