//! The stepping: the object's SQLite (ledger, queue, passes), the per-user reconciliation and
//! the drift pass, one Discord call at a time.

use std::collections::{BTreeSet, HashMap};

use relay_discord::requests::{GetCurrentUser, GetGuild, GetMember};
use relay_guild::access::{GuildFacts, MemberFacts};
use relay_guild::roles::{
    audit_reason, calls, converge, desired_for, evaluate, record_outcome, screen, ChangeReason,
    ChangeResult, Desired, EndCause, Entitlement, LapseAction, LapseSettings, Ledger, Linked, Made,
    Reconciliation, RoleCall, RoleChange, Standing, TierId, TierRoleMap,
};
use relay_guild::GuildError;
use serde::Deserialize;
use serde_json::json;
use twilight_model::id::marker::{GuildMarker, RoleMarker, UserMarker};
use twilight_model::id::Id;
use worker::{Env, SqlStorage, SqlStorageValue, State};

use super::api::Status;
use crate::db::entitlements::EntitlementRow;
use crate::db::role_sync::{NewChange, NewState};
use crate::db::Db;
use crate::discord::{Discord, SendError};
use crate::runtime::{log, now_ms};

/// When our own storage or D1 failed.
pub const STORAGE_RETRY_MS: i64 = 5_000;
/// Discord calls per alarm invocation (each is three subrequests: gate, Discord, gate); the
/// next alarm goes on at once.
const MAX_CALLS: u32 = 40;
/// The bot token was refused: look again after this (an operator must reset the gate).
const STOPPED_RETRY_MS: i64 = 60_000;
/// Users reconciled per round.
const USERS_PER_ROUND: i64 = 25;
/// Retries of a user after transient faults before their queue entry waits for the next
/// pass (the error stays visible on their role state).
const MAX_ATTEMPTS: i64 = 8;

/// The object's clock: real time plus `ROLE_SYNC_CLOCK_OFFSET_MS` (a test hook that lets an
/// end-to-end test move role sync days ahead to see a grace period run out; never set in
/// production). Entitlements, grace periods and queue times are all judged by it.
pub fn clock(env: &Env) -> i64 {
    now_ms() + offset(env)
}

fn offset(env: &Env) -> i64 {
    env.var("ROLE_SYNC_CLOCK_OFFSET_MS")
        .ok()
        .and_then(|v| v.to_string().trim().parse::<i64>().ok())
        .unwrap_or(0)
}

fn sv(s: &str) -> SqlStorageValue {
    SqlStorageValue::String(s.to_string())
}

fn si(n: i64) -> SqlStorageValue {
    SqlStorageValue::Integer(n)
}

const DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
    // What we granted each Discord user per guild (relay_guild::roles::Ledger as JSON).
    "CREATE TABLE IF NOT EXISTS ledger (
        guild_id TEXT NOT NULL, user_id TEXT NOT NULL, ledger_json TEXT NOT NULL,
        PRIMARY KEY (guild_id, user_id)) WITHOUT ROWID",
    // Users to reconcile at due_at (the object's clock); seq orders ties (a relink's new
    // account first).
    "CREATE TABLE IF NOT EXISTS queue (
        user_id TEXT PRIMARY KEY, due_at INTEGER NOT NULL, seq INTEGER NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL)",
    // Drift passes in progress (relay_guild::roles::Reconciliation as JSON; NULL: not begun).
    "CREATE TABLE IF NOT EXISTS passes (guild_id TEXT PRIMARY KEY, rec_json TEXT)",
];

#[derive(Debug, Deserialize)]
struct QueueRow {
    user_id: String,
    seq: i64,
    due_at: i64,
    attempt: i64,
    reason: String,
}

#[derive(Debug, Deserialize)]
struct MetaRow {
    v: String,
}

#[derive(Debug, Deserialize)]
struct LedgerRow {
    ledger_json: String,
}

#[derive(Debug, Deserialize)]
struct GuildRow {
    guild_id: String,
}

#[derive(Debug, Deserialize)]
struct PassRow {
    guild_id: String,
    rec_json: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Count {
    n: i64,
}

pub struct Store {
    sql: SqlStorage,
}

impl Store {
    pub fn open(state: &State) -> worker::Result<Store> {
        let sql = state.storage().sql();
        for d in DDL {
            sql.exec(d, None)?;
        }
        Ok(Store { sql })
    }

    fn meta(&self, k: &str) -> worker::Result<Option<String>> {
        Ok(self
            .sql
            .exec("SELECT v FROM meta WHERE k = ?", vec![sv(k)])?
            .to_array::<MetaRow>()?
            .into_iter()
            .next()
            .map(|r| r.v))
    }

    fn set_meta(&self, k: &str, v: &str) -> worker::Result<()> {
        self.sql.exec(
            "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            vec![sv(k), sv(v)],
        )?;
        Ok(())
    }

    fn meta_i(&self, k: &str) -> worker::Result<Option<i64>> {
        Ok(self.meta(k)?.and_then(|v| v.parse().ok()))
    }

    pub fn set_tenant(&self, tenant: &str) -> worker::Result<()> {
        self.set_meta("tenant", tenant)
    }

    pub fn set_error(&self, e: &str) -> worker::Result<()> {
        self.set_meta("last_error", e)
    }

    /// Queues `user` at `due_at`, or earlier if it is queued later already.
    pub fn enqueue(&self, user: &str, due_at: i64, reason: &str) -> worker::Result<()> {
        self.sql.exec(
            "INSERT INTO queue (user_id, due_at, seq, attempt, reason) \
             VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM queue), 0, ?) \
             ON CONFLICT (user_id) DO UPDATE SET reason = CASE WHEN excluded.due_at <= queue.due_at THEN excluded.reason ELSE queue.reason END, \
             due_at = MIN(queue.due_at, excluded.due_at), attempt = 0, seq = excluded.seq",
            vec![sv(user), si(due_at), sv(reason)],
        )?;
        Ok(())
    }

    fn due(&self, now: i64) -> worker::Result<Vec<QueueRow>> {
        self.sql
            .exec(
                "SELECT user_id, seq, due_at, attempt, reason FROM queue WHERE due_at <= ? ORDER BY due_at, seq LIMIT ?",
                vec![si(now), si(USERS_PER_ROUND)],
            )?
            .to_array()
    }

    /// Reschedules the entry, unless it was queued again while it was being worked on (its
    /// `seq` changed): then the new request stands and runs at once.
    fn set_due(&self, q: &QueueRow, due_at: i64, attempt: i64) -> worker::Result<()> {
        self.sql.exec(
            "UPDATE queue SET due_at = ?, attempt = ? WHERE user_id = ? AND seq = ?",
            vec![si(due_at), si(attempt), sv(&q.user_id), si(q.seq)],
        )?;
        Ok(())
    }

    /// Done with this entry: it waits for `next` (the standing's next change) or goes — unless
    /// it was queued again meanwhile, which must not be lost.
    fn finish(&self, q: &QueueRow, next: Option<i64>) -> worker::Result<()> {
        match next {
            Some(t) => self.set_due(q, t, 0),
            None => {
                self.sql.exec(
                    "DELETE FROM queue WHERE user_id = ? AND seq = ?",
                    vec![sv(&q.user_id), si(q.seq)],
                )?;
                Ok(())
            }
        }
    }

    fn ledger(&self, guild: &str, user: &str) -> worker::Result<Ledger> {
        Ok(self
            .sql
            .exec(
                "SELECT ledger_json FROM ledger WHERE guild_id = ? AND user_id = ?",
                vec![sv(guild), sv(user)],
            )?
            .to_array::<LedgerRow>()?
            .into_iter()
            .next()
            .and_then(|r| serde_json::from_str(&r.ledger_json).ok())
            .unwrap_or_default())
    }

    fn put_ledger(&self, guild: &str, user: &str, l: &Ledger) -> worker::Result<()> {
        if *l == Ledger::default() {
            self.sql.exec(
                "DELETE FROM ledger WHERE guild_id = ? AND user_id = ?",
                vec![sv(guild), sv(user)],
            )?;
            return Ok(());
        }
        self.sql.exec(
            "INSERT INTO ledger (guild_id, user_id, ledger_json) VALUES (?, ?, ?) \
             ON CONFLICT (guild_id, user_id) DO UPDATE SET ledger_json = excluded.ledger_json",
            vec![sv(guild), sv(user), sv(&serde_json::to_string(l)?)],
        )?;
        Ok(())
    }

    fn ledger_guilds(&self, user: &str) -> worker::Result<Vec<String>> {
        Ok(self
            .sql
            .exec(
                "SELECT guild_id FROM ledger WHERE user_id = ?",
                vec![sv(user)],
            )?
            .to_array::<GuildRow>()?
            .into_iter()
            .map(|r| r.guild_id)
            .collect())
    }

    /// Starts a pass over `guild` (or, with `None`, every mapped guild at the next step).
    pub fn request_pass(&self, guild: Option<&str>, now: i64) -> worker::Result<()> {
        match guild {
            Some(g) => {
                self.sql.exec(
                    "INSERT INTO passes (guild_id, rec_json) VALUES (?, NULL) ON CONFLICT DO NOTHING",
                    vec![sv(g)],
                )?;
                Ok(())
            }
            None => self.set_meta("next_pass_at", &now.to_string()),
        }
    }

    fn passes(&self) -> worker::Result<Vec<PassRow>> {
        self.sql
            .exec(
                "SELECT guild_id, rec_json FROM passes ORDER BY guild_id",
                None,
            )?
            .to_array()
    }

    fn save_pass(&self, guild: &str, rec: Option<&Reconciliation>) -> worker::Result<()> {
        match rec {
            Some(r) => {
                self.sql.exec(
                    "UPDATE passes SET rec_json = ? WHERE guild_id = ?",
                    vec![sv(&serde_json::to_string(r)?), sv(guild)],
                )?;
            }
            None => {
                self.sql
                    .exec("DELETE FROM passes WHERE guild_id = ?", vec![sv(guild)])?;
            }
        }
        Ok(())
    }

    fn count(&self, sql: &str, args: Vec<SqlStorageValue>) -> worker::Result<i64> {
        Ok(self
            .sql
            .exec(sql, args)?
            .to_array::<Count>()?
            .first()
            .map(|c| c.n)
            .unwrap_or(0))
    }

    fn next_due(&self) -> worker::Result<Option<i64>> {
        #[derive(Deserialize)]
        struct Min {
            t: Option<i64>,
        }
        Ok(self
            .sql
            .exec("SELECT MIN(due_at) AS t FROM queue", None)?
            .to_array::<Min>()?
            .first()
            .and_then(|m| m.t))
    }

    pub fn status(&self, now: i64) -> worker::Result<Status> {
        Ok(Status {
            queued_due: self.count(
                "SELECT COUNT(*) AS n FROM queue WHERE due_at <= ?",
                vec![si(now)],
            )?,
            queued_later: self.count(
                "SELECT COUNT(*) AS n FROM queue WHERE due_at > ?",
                vec![si(now)],
            )?,
            next_due_at_ms: self.next_due()?,
            passes_running: self.passes()?.into_iter().map(|p| p.guild_id).collect(),
            next_pass_at_ms: self.meta_i("next_pass_at")?,
            last_pass_finished_at_ms: self.meta_i("last_pass_finished_at")?,
            last_error: self.meta("last_error")?.filter(|e| !e.is_empty()),
        })
    }
}

/// What the tenant's configuration says, read from D1 once per step.
struct Config {
    tenant: String,
    settings: LapseSettings,
    drift_ms: i64,
    map: TierRoleMap,
    guilds: BTreeSet<String>,
    ranks: HashMap<String, i64>,
}

impl Config {
    async fn load(db: &Db, tenant: &str) -> worker::Result<Config> {
        let s = db.role_sync().settings(tenant).await?;
        let action = match s.lapse_action.as_str() {
            "kick" => LapseAction::Kick,
            "nothing" => LapseAction::Nothing,
            _ => LapseAction::RemoveRoles,
        };
        let grace_days = u32::try_from(s.grace_ms / relay_core::time::DAY_MS).unwrap_or(0);
        let mut by_tier: HashMap<(String, String), Vec<Id<RoleMarker>>> = HashMap::new();
        let mut guilds = BTreeSet::new();
        for m in db.role_sync().mappings(tenant).await? {
            let Ok(role) = m.role_id.parse::<Id<RoleMarker>>() else {
                continue;
            };
            guilds.insert(m.guild_id.clone());
            by_tier
                .entry((m.guild_id.clone(), m.tier_key.clone()))
                .or_default()
                .push(role);
        }
        let mut map = TierRoleMap::default();
        for ((g, tier), roles) in by_tier {
            if let Ok(gid) = g.parse::<Id<GuildMarker>>() {
                map.set(tenant, gid, TierId::new(tier), roles);
            }
        }
        let ranks = db
            .tiers()
            .list(tenant)
            .await?
            .into_iter()
            .map(|t| (t.tier_key, t.rank))
            .collect();
        Ok(Config {
            tenant: tenant.to_string(),
            settings: LapseSettings { action, grace_days },
            drift_ms: s.drift_interval_ms.max(10_000),
            map,
            guilds,
            ranks,
        })
    }
}

/// An entitlement row as role sync judges it: a revoked one ends when it was revoked — by a
/// dispute (Sell.app) or an operator — and gets no grace; one that ran out is non-payment.
fn domain(r: &EntitlementRow) -> Entitlement {
    let revoked = (r.status == "revoked").then(|| {
        let cause = if r.source == "sellapp" {
            EndCause::Dispute
        } else {
            EndCause::OperatorRevoked
        };
        (r.updated_at, cause)
    });
    Entitlement::from_record(
        TierId::new(r.tier_key.clone()),
        r.starts_at,
        r.ends_at,
        revoked,
    )
}

/// Where the work stopped: Discord said "not before T" (or a fault asked for backoff).
struct Wait {
    at: i64,
    why: String,
    /// A fault (5xx, timeout, a refused token), not a rate limit: counts as an attempt.
    fault: bool,
}

/// One step's context: D1, Discord, the config, the guild facts read so far.
struct Step<'a> {
    store: &'a Store,
    db: Db,
    discord: Discord,
    cfg: Config,
    now: i64,
    calls: u32,
    bot_id: Option<Id<UserMarker>>,
    facts: HashMap<String, Result<(GuildFacts, MemberFacts), GuildError>>,
    standings: HashMap<String, (Standing, Option<i64>)>,
}

fn wait_of(e: &SendError, now: i64) -> Option<Wait> {
    match e {
        SendError::NotBefore { at_ms, .. } => Some(Wait {
            at: *at_ms,
            why: e.error_code().to_string(),
            fault: false,
        }),
        SendError::Transient { retry_at_ms, .. } => Some(Wait {
            at: *retry_at_ms,
            why: e.error_code().to_string(),
            fault: true,
        }),
        SendError::Stopped => Some(Wait {
            at: now + STOPPED_RETRY_MS,
            why: e.error_code().to_string(),
            fault: true,
        }),
        SendError::Permanent(_) => None,
    }
}

impl Step<'_> {
    fn budget_left(&self) -> bool {
        self.calls < MAX_CALLS
    }

    async fn send<E: relay_discord::Endpoint>(
        &mut self,
        e: &E,
        attempt: u32,
    ) -> Result<E::Output, SendError> {
        self.calls += 1;
        self.discord.send(e, attempt).await
    }

    async fn bot_id(&mut self) -> Result<Id<UserMarker>, Wait> {
        if let Some(b) = self.bot_id {
            return Ok(b);
        }
        match self.send(&GetCurrentUser::bot(), 0).await {
            Ok(me) => {
                self.bot_id = Some(me.id);
                let _ = self.store.set_meta("bot_user_id", &me.id.to_string());
                Ok(me.id)
            }
            Err(e) => Err(wait_of(&e, self.now).unwrap_or(Wait {
                at: self.now + STOPPED_RETRY_MS,
                why: e.error_code().to_string(),
                fault: true,
            })),
        }
    }

    /// The guild's roles and owner and the bot's member object, read once per step.
    async fn facts(
        &mut self,
        guild: &str,
    ) -> Result<Result<(GuildFacts, MemberFacts), GuildError>, Wait> {
        if let Some(f) = self.facts.get(guild) {
            return Ok(f.clone());
        }
        let Ok(gid) = guild.parse::<Id<GuildMarker>>() else {
            return Ok(Err(GuildError::new(
                relay_guild::ErrorCode::GuildUnavailable,
                "not a guild id",
            )));
        };
        let bot = self.bot_id().await?;
        let g = match self
            .send(
                &GetGuild {
                    guild_id: gid,
                    with_counts: false,
                },
                0,
            )
            .await
        {
            Ok(g) => g,
            Err(e) => return self.facts_failed(guild, &e),
        };
        let m = match self
            .send(
                &GetMember {
                    guild_id: gid,
                    user_id: bot,
                },
                0,
            )
            .await
        {
            Ok(m) => m,
            Err(e) => return self.facts_failed(guild, &e),
        };
        let f = Ok((GuildFacts::from_guild(&g), MemberFacts::from(&m)));
        self.facts.insert(guild.to_string(), f.clone());
        Ok(f)
    }

    fn facts_failed(
        &mut self,
        guild: &str,
        e: &SendError,
    ) -> Result<Result<(GuildFacts, MemberFacts), GuildError>, Wait> {
        if let Some(w) = wait_of(e, self.now) {
            return Err(w);
        }
        let err = GuildError::new(
            relay_guild::ErrorCode::GuildUnavailable,
            format!("the bot cannot read guild {guild}: {}", e.error_code()),
        );
        self.facts.insert(guild.to_string(), Err(err.clone()));
        Ok(Err(err))
    }

    async fn standing(&mut self, customer: &str) -> worker::Result<(Standing, Option<i64>)> {
        if let Some(s) = self.standings.get(customer) {
            return Ok(s.clone());
        }
        let rows = self
            .db
            .entitlements()
            .for_customer(&self.cfg.tenant, customer)
            .await?;
        let history: Vec<Entitlement> = rows.iter().map(domain).collect();
        let ranks = &self.cfg.ranks;
        let ev = evaluate(&history, self.now, &self.cfg.settings, |t| {
            ranks.get(&t.0).copied().unwrap_or(0)
        });
        let out = (ev.standing, ev.next_change_at_ms);
        self.standings.insert(customer.to_string(), out.clone());
        Ok(out)
    }

    fn desired(&self, standing: Option<&Standing>, guild: &str) -> Desired {
        let (Some(st), Ok(gid)) = (standing, guild.parse::<Id<GuildMarker>>()) else {
            return Desired::none();
        };
        desired_for(
            st,
            self.cfg.settings.action,
            &self.cfg.map,
            &self.cfg.tenant,
            gid,
        )
    }
}

fn ids<T>(set: &BTreeSet<Id<T>>) -> Vec<String> {
    set.iter().map(|i| i.to_string()).collect()
}

/// Reconciles one Discord user in every guild we map or granted them something in. `Ok(None)`
/// when done (the queue entry waits for the next time the standing changes, if any).
async fn reconcile_user(
    step: &mut Step<'_>,
    q: &QueueRow,
) -> worker::Result<Result<Option<i64>, Wait>> {
    let tenant = step.cfg.tenant.clone();
    let Ok(uid) = q.user_id.parse::<Id<UserMarker>>() else {
        return Ok(Ok(None));
    };
    let link = step
        .db
        .role_sync()
        .link_by_user(&tenant, &q.user_id)
        .await?;
    let (standing, next_change) = match &link {
        Some(l) => {
            let (s, n) = step.standing(&l.customer_id).await?;
            (Some(s), n)
        }
        None => (None, None),
    };
    let mut guilds: BTreeSet<String> = step.cfg.guilds.clone();
    guilds.extend(step.store.ledger_guilds(&q.user_id)?);
    let name = link
        .as_ref()
        .map(|l| l.global_name.clone().unwrap_or_else(|| l.username.clone()))
        .unwrap_or_else(|| format!("Discord user {}", q.user_id));
    let customer_id = link.as_ref().map(|l| l.customer_id.clone());
    for guild in guilds {
        let Ok(gid) = guild.parse::<Id<GuildMarker>>() else {
            continue;
        };
        if !step.budget_left() {
            return Ok(Err(Wait {
                at: step.now,
                why: "budget".into(),
                fault: false,
            }));
        }
        let desired = step.desired(standing.as_ref(), &guild);
        let mut ledger = step.store.ledger(&guild, &q.user_id)?;
        let mut errors: Vec<GuildError> = Vec::new();
        let facts = match step.facts(&guild).await {
            Ok(f) => f,
            Err(w) => return Ok(Err(w)),
        };
        let (gf, bot) = match facts {
            Ok(f) => f,
            Err(e) => {
                project(
                    step,
                    &guild,
                    &q.user_id,
                    customer_id.as_deref(),
                    &desired,
                    None,
                    &ledger,
                    "errors",
                    &[e],
                )?;
                continue;
            }
        };
        let member = match step
            .send(
                &GetMember {
                    guild_id: gid,
                    user_id: uid,
                },
                q.attempt as u32,
            )
            .await
        {
            Ok(m) => Some(m),
            Err(SendError::Permanent(e)) if e.discord_code == Some(10007) => None,
            Err(e) => match wait_of(&e, step.now) {
                Some(w) => return Ok(Err(w)),
                None => {
                    let err = GuildError::new(
                        relay_guild::ErrorCode::RoleChangeRefused,
                        format!("reading the member failed: {}", e.error_code()),
                    );
                    project(
                        step,
                        &guild,
                        &q.user_id,
                        customer_id.as_deref(),
                        &desired,
                        None,
                        &ledger,
                        "errors",
                        &[err],
                    )?;
                    continue;
                }
            },
        };
        let mut actual: Option<BTreeSet<Id<RoleMarker>>> =
            member.as_ref().map(|m| m.roles.iter().copied().collect());
        let member_facts = member
            .as_ref()
            .map(MemberFacts::from)
            .unwrap_or(MemberFacts {
                user_id: uid,
                bot: false,
                roles: vec![],
            });
        let plan = converge(&desired, actual.as_ref(), &ledger);
        let screened = screen(plan, &gf, &bot, &member_facts);
        ledger.forget(&screened.plan.forget);
        errors.extend(screened.blocked.iter().cloned());
        let why_revoke = match (&standing, q.reason.as_str()) {
            (None, "relink") => ChangeReason::Relinked,
            (None, _) => ChangeReason::Unlinked,
            (Some(Standing::Entitled { tier, .. }), _) => {
                ChangeReason::TierChanged { tier: tier.clone() }
            }
            (Some(Standing::Lapsed { cause, .. }), _) => ChangeReason::Lapsed { cause: *cause },
            (Some(Standing::Never), _) => ChangeReason::NotEntitled,
        };
        let why_grant = match &standing {
            Some(Standing::Entitled { tier, .. }) => ChangeReason::Entitled { tier: tier.clone() },
            _ => ChangeReason::NotEntitled,
        };
        let cust = customer_id.clone().unwrap_or_else(|| "unlinked".into());
        let list = calls(gid, uid, &screened.plan, |c| {
            let why = match c {
                Some((_, RoleChange::Grant)) => &why_grant,
                _ => &why_revoke,
            };
            audit_reason(&name, &cust, why)
        });
        let mut pending: Option<Wait> = None;
        for call in list {
            let (made, res, reason_text) = match &call {
                RoleCall::Grant(r) => (
                    Made::Role(r.role_id, RoleChange::Grant),
                    step.send(r, q.attempt as u32).await.map(|_| ()),
                    r.reason.as_ref().map(|x| x.as_str().to_string()),
                ),
                RoleCall::Revoke(r) => (
                    Made::Role(r.role_id, RoleChange::Revoke),
                    step.send(r, q.attempt as u32).await.map(|_| ()),
                    r.reason.as_ref().map(|x| x.as_str().to_string()),
                ),
                RoleCall::Kick(r) => (
                    Made::Kick(screened.plan.kick.unwrap_or(0)),
                    step.send(r, q.attempt as u32).await.map(|_| ()),
                    r.reason.as_ref().map(|x| x.as_str().to_string()),
                ),
            };
            let (action, role) = match made {
                Made::Role(r, RoleChange::Grant) => ("grant", Some(r.to_string())),
                Made::Role(r, RoleChange::Revoke) => ("revoke", Some(r.to_string())),
                Made::Kick(_) => ("kick", None),
            };
            let result = match &res {
                Ok(()) => record_outcome(&mut ledger, made, Ok(())),
                Err(SendError::Permanent(e)) => record_outcome(&mut ledger, made, Err(e)),
                Err(e) => {
                    pending = wait_of(e, step.now);
                    break;
                }
            };
            let (outcome, code) = match &result {
                ChangeResult::Done => {
                    match made {
                        Made::Role(r, RoleChange::Grant) => {
                            if let Some(a) = actual.as_mut() {
                                a.insert(r);
                            }
                        }
                        Made::Role(r, RoleChange::Revoke) => {
                            if let Some(a) = actual.as_mut() {
                                a.remove(&r);
                            }
                        }
                        Made::Kick(_) => actual = None,
                    }
                    ("done", None)
                }
                ChangeResult::MemberGone => {
                    actual = None;
                    ("member_gone", None)
                }
                ChangeResult::Failed(e) => {
                    errors.push(e.clone());
                    ("failed", Some(e.error_code()))
                }
                ChangeResult::Retry { .. } => ("retry", None),
            };
            step.db
                .batch(vec![step.db.role_sync().record_change(&NewChange {
                    tenant: &tenant,
                    guild_id: &guild,
                    discord_user_id: &q.user_id,
                    customer_id: customer_id.as_deref(),
                    action,
                    role_id: role.as_deref(),
                    reason: reason_text.as_deref().unwrap_or(""),
                    outcome,
                    error_code: code,
                    now: now_ms(),
                })?])
                .await?;
            if matches!(result, ChangeResult::MemberGone) {
                break;
            }
        }
        step.store.put_ledger(&guild, &q.user_id, &ledger)?;
        let status = if pending.is_some() {
            "pending"
        } else if !errors.is_empty() {
            "errors"
        } else if matches!(desired, Desired::Untouched) {
            "untouched"
        } else if actual.is_none() && ledger.kicked_for_lapse_at_ms.is_some() {
            "kicked"
        } else if actual.is_none() {
            "not_member"
        } else {
            "in_sync"
        };
        if customer_id.is_none() && ledger == Ledger::default() && pending.is_none() {
            // No longer anyone's account and nothing of ours left on it: forget it.
            step.db
                .batch(vec![step
                    .db
                    .role_sync()
                    .delete_state_row(&tenant, &guild, &q.user_id)?])
                .await?;
        } else {
            project(
                step,
                &guild,
                &q.user_id,
                customer_id.as_deref(),
                &desired,
                actual.as_ref(),
                &ledger,
                status,
                &errors,
            )?;
        }
        if let Some(w) = pending {
            return Ok(Err(w));
        }
    }
    Ok(Ok(next_change))
}

#[allow(clippy::too_many_arguments)]
fn project(
    step: &Step<'_>,
    guild: &str,
    user: &str,
    customer: Option<&str>,
    desired: &Desired,
    actual: Option<&BTreeSet<Id<RoleMarker>>>,
    ledger: &Ledger,
    status: &str,
    errors: &[GuildError],
) -> worker::Result<()> {
    let desired_json = serde_json::to_string(&match desired {
        Desired::Roles { roles } => json!({"kind": "roles", "roles": ids(roles)}),
        Desired::Kick { .. } => json!({"kind": "kick", "roles": []}),
        Desired::Untouched => json!({"kind": "untouched", "roles": []}),
    })?;
    let actual_json = actual.map(|a| serde_json::to_string(&ids(a))).transpose()?;
    let granted_json = serde_json::to_string(&ids(&ledger.granted))?;
    let errors_json = serde_json::to_string(
        &errors
            .iter()
            .map(|e| json!({"error_code": e.error_code(), "message": e.message}))
            .collect::<Vec<_>>(),
    )?;
    let stmt = step.db.role_sync().put_state_row(&NewState {
        tenant: &step.cfg.tenant,
        guild_id: guild,
        discord_user_id: user,
        customer_id: customer,
        desired_json: &desired_json,
        actual_json: actual_json.as_deref(),
        granted_json: &granted_json,
        status,
        errors_json: &errors_json,
        now: now_ms(),
    })?;
    // The projection is written by this object alone; queued behind the step's other writes.
    PENDING.with(|p| p.borrow_mut().push(stmt));
    Ok(())
}

thread_local! {
    static PENDING: std::cell::RefCell<Vec<worker::D1PreparedStatement>> = const { std::cell::RefCell::new(Vec::new()) };
}

async fn flush(db: &Db) -> worker::Result<()> {
    let stmts = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if !stmts.is_empty() {
        db.batch(stmts).await?;
    }
    Ok(())
}

/// One page of a drift pass; `Ok(true)` when the pass is over.
async fn pass_page(
    step: &mut Step<'_>,
    guild: &str,
    rec: &mut Reconciliation,
) -> worker::Result<Result<bool, Wait>> {
    let Some(req) = rec.next_request() else {
        return Ok(Ok(true));
    };
    let page = match step.send(&req, 0).await {
        Ok(p) => p,
        Err(e) => {
            if let Some(w) = wait_of(&e, step.now) {
                return Ok(Err(w));
            }
            step.store.set_error(&format!(
                "drift pass over guild {guild} stopped: {} ({:?})",
                e.error_code(),
                e.discord_code()
            ))?;
            return Ok(Ok(true));
        }
    };
    let links: HashMap<String, String> = step
        .db
        .role_sync()
        .links(&step.cfg.tenant)
        .await?
        .into_iter()
        .map(|l| (l.discord_user_id, l.customer_id))
        .collect();
    let mut linked: HashMap<Id<UserMarker>, Linked> = HashMap::new();
    for m in &page {
        let uid = m.user.id.to_string();
        let ledger = step.store.ledger(guild, &uid)?;
        let desired = match links.get(&uid) {
            Some(c) => {
                let (s, _) = step.standing(c).await?;
                step.desired(Some(&s), guild)
            }
            // Not linked (any more) but holding roles we granted: take them back.
            None if ledger != Ledger::default() => Desired::none(),
            None => continue,
        };
        linked.insert(m.user.id, Linked { desired, ledger });
    }
    match rec.feed(&page, |u| linked.get(&u).cloned()) {
        Ok(plans) => {
            for p in plans {
                step.store
                    .enqueue(&p.user_id.to_string(), step.now, "drift")?;
            }
            Ok(Ok(rec.is_done()))
        }
        Err(e) => {
            step.store
                .set_error(&format!("drift pass over guild {guild}: {e}"))?;
            Ok(Ok(true))
        }
    }
}

/// Runs until Discord says wait, the budget is spent or nothing is due. Returns the next
/// alarm time (the object's clock).
pub async fn step(store: &Store, env: &Env) -> worker::Result<Option<i64>> {
    let Some(tenant) = store.meta("tenant")? else {
        return Ok(None);
    };
    let now = clock(env);
    let Some(discord) = Discord::from_env(env) else {
        store.set_error("discord_not_configured: DISCORD_BOT_TOKEN is not set")?;
        return Ok(None);
    };
    let db = Db::new(env)?;
    let cfg = Config::load(&db, &tenant).await?;
    let bot_id = store
        .meta("bot_user_id")?
        .and_then(|b| b.parse::<Id<UserMarker>>().ok());
    let mut st = Step {
        store,
        db,
        discord,
        cfg,
        now,
        calls: 0,
        bot_id,
        facts: HashMap::new(),
        standings: HashMap::new(),
    };
    // Start the periodic pass when due.
    let next_pass = store.meta_i("next_pass_at")?;
    if next_pass.is_none_or(|t| t <= now) {
        for g in &st.cfg.guilds {
            store.request_pass(Some(g), now)?;
        }
        store.set_meta("next_pass_at", &(now + st.cfg.drift_ms).to_string())?;
    }
    let mut wait: Option<Wait> = None;
    'rounds: for _ in 0..3 {
        for q in store.due(now)? {
            // A standing read earlier in this step may predate the change that queued the user
            // again (an entitlement written while we worked): read it afresh.
            st.standings.clear();
            let r = reconcile_user(&mut st, &q).await;
            flush(&st.db).await?;
            match r? {
                Ok(next) => store.finish(&q, next)?,
                Err(w) => {
                    let attempt = if !w.fault { q.attempt } else { q.attempt + 1 };
                    if attempt > MAX_ATTEMPTS {
                        // Given up until the next pass or trigger; the state shows the error.
                        store.finish(&q, None)?;
                        store.set_error(&format!(
                            "user {} given up after {attempt} attempts: {}",
                            q.user_id, w.why
                        ))?;
                    } else {
                        store.set_due(&q, w.at.max(q.due_at), attempt)?;
                    }
                    wait = Some(w);
                    break 'rounds;
                }
            }
        }
        let mut progressed = false;
        for p in store.passes()? {
            let mut rec = match p
                .rec_json
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok())
            {
                Some(r) => r,
                None => match p.guild_id.parse::<Id<GuildMarker>>() {
                    Ok(g) => Reconciliation::start(g, now),
                    Err(_) => {
                        store.save_pass(&p.guild_id, None)?;
                        continue;
                    }
                },
            };
            progressed = true;
            loop {
                if !st.budget_left() {
                    store.save_pass(&p.guild_id, Some(&rec))?;
                    wait = Some(Wait {
                        at: now,
                        why: "budget".into(),
                        fault: false,
                    });
                    break 'rounds;
                }
                match pass_page(&mut st, &p.guild_id, &mut rec).await? {
                    Ok(true) => {
                        store.save_pass(&p.guild_id, None)?;
                        store.set_meta("last_pass_finished_at", &now.to_string())?;
                        log(
                            "info",
                            "role sync pass done",
                            json!({"tenant_key": tenant, "guild_id": p.guild_id,
                            "linked_seen": rec.linked_seen, "members_changed": rec.members_changed}),
                        );
                        break;
                    }
                    Ok(false) => {
                        store.save_pass(&p.guild_id, Some(&rec))?;
                    }
                    Err(w) => {
                        store.save_pass(&p.guild_id, Some(&rec))?;
                        wait = Some(w);
                        break 'rounds;
                    }
                }
            }
        }
        if !progressed && store.due(now)?.is_empty() {
            break;
        }
    }
    let mut next = [
        store.next_due()?,
        store.meta_i("next_pass_at")?,
        wait.map(|w| w.at),
    ]
    .into_iter()
    .flatten()
    .min();
    if !store.passes()?.is_empty() {
        next = Some(next.map_or(now, |t| t.min(now)));
    }
    Ok(next)
}

/// Settings or mappings changed: every linked user is reconciled again, and the drift pass is
/// rescheduled by the new cadence.
pub async fn reconfigured(store: &Store, env: &Env, tenant: &str, now: i64) -> worker::Result<()> {
    let db = Db::new(env)?;
    for (i, l) in db.role_sync().links(tenant).await?.into_iter().enumerate() {
        store.enqueue(&l.discord_user_id, now + i as i64, "reconfigured")?;
    }
    let drift = db
        .role_sync()
        .settings(tenant)
        .await?
        .drift_interval_ms
        .max(10_000);
    store.set_meta("next_pass_at", &(now + drift).to_string())?;
    Ok(())
}
