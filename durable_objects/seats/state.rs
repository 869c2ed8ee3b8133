//! The seat object's state: the tenant, the kill switch and one [`GuildSeats`] per configured
//! guild, loaded once and shared by the object's fetches and its alarm (a config change that
//! lands while the alarm waits on Discord changes the same value the alarm saves next).
//! Stored as JSON text: permission bitfields are u64 and must not pass through a JS number.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use relay_guild::seats::{CadencePolicy, GuildSeats, SeatPolicy, Verdict};
use serde::{Deserialize, Serialize};
use worker::State;

use super::api::GuildStatus;
use crate::db::seat_snapshots::SnapshotRow;

const META: &str = "meta";

fn guild_key(id: &str) -> String {
    format!("g:{id}")
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Meta {
    pub tenant_key: Option<String>,
    pub kill_switch: bool,
    pub guild_ids: Vec<String>,
    /// The last D1 projection failed: the alarm retries it.
    #[serde(default)]
    pub projection_dirty: bool,
    #[serde(default)]
    pub mirror_link: Option<String>,
}

#[derive(Debug, Default)]
pub struct Seats {
    pub meta: Meta,
    pub guilds: BTreeMap<String, GuildSeats>,
}

impl Seats {
    /// The earliest time any guild needs the alarm; `None`: nothing is planned.
    pub fn next_due(&self, now: i64, cadence: &CadencePolicy) -> Option<i64> {
        let due = self
            .guilds
            .values()
            .filter_map(|g| g.due_at(now, cadence))
            .min();
        match (due, self.meta.projection_dirty) {
            (Some(d), true) => Some(d.min(now + 5_000)),
            (None, true) => Some(now + 5_000),
            (d, false) => d,
        }
    }

    pub fn status(
        &self,
        g: &GuildSeats,
        now: i64,
        policy: SeatPolicy,
        cadence: &CadencePolicy,
    ) -> GuildStatus {
        let view = g.gate_view(self.meta.kill_switch, policy);
        let decision = view.decide(now);
        let next = g.due_at(now, cadence);
        GuildStatus {
            guild_id: g.guild_id.to_string(),
            limit: g.config.limit,
            mode: g.config.mode,
            effective_mode: view.effective_mode(),
            config: g.config,
            snapshot: view.snapshot_view(now),
            gate: view.state(now),
            would_hold: decision.would_hold,
            next_check_at_ms: next,
            state: state_name(g, now).into(),
            last_attempt_at_ms: g.snapshot.last_attempt_at_ms,
            consecutive_failures: g.snapshot.consecutive_failures,
            notice_channels: g.notice.posted.iter().map(|c| c.to_string()).collect(),
            notices_posted_total: g.notices_posted,
            audits: g.audits,
        }
    }

    pub fn projection(&self, now: i64, cadence: &CadencePolicy) -> Vec<SnapshotRow> {
        let Some(tenant) = self.meta.tenant_key.clone() else {
            return Vec::new();
        };
        self.guilds
            .values()
            .map(|g| {
                let s = &g.snapshot;
                let over = s
                    .count
                    .map(|c| relay_guild::seats::verdict(c, g.config.limit) == Verdict::Over);
                SnapshotRow {
                    tenant_key: tenant.clone(),
                    guild_id: g.guild_id.to_string(),
                    seats_used: s.count.map(|c| c.value as i64),
                    seats_exact: s.count.map(|c| i64::from(c.exact)),
                    seat_limit: g.config.limit as i64,
                    over_limit: over.map(i64::from),
                    checked_at: s.checked_at_ms,
                    last_attempt_at: s.last_attempt_at_ms,
                    next_check_at: g.due_at(now, cadence),
                    state: state_name(g, now).into(),
                    last_error_code: s.last_error.as_ref().map(|e| e.error_code().to_string()),
                    last_error_message: s.last_error.as_ref().map(|e| e.message.clone()),
                    consecutive_failures: i64::from(s.consecutive_failures),
                    notices_posted: g.notice.posted.len() as i64,
                    audits: g.audits as i64,
                    updated_at: now,
                }
            })
            .collect()
    }
}

fn state_name(g: &GuildSeats, now: i64) -> &'static str {
    match (&g.stage, g.not_before_ms) {
        (None, _) => "idle",
        (Some(_), Some(nb)) if nb > now => "waiting",
        (Some(_), _) => "auditing",
    }
}

#[derive(Default)]
pub struct Slot {
    seats: RefCell<Option<Seats>>,
    pub busy: Cell<bool>,
}

async fn load(state: &State) -> worker::Result<Seats> {
    let text: Option<String> = state.storage().get(META).await?;
    let meta: Meta = text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut guilds = BTreeMap::new();
    for id in &meta.guild_ids {
        let text: Option<String> = state.storage().get(&guild_key(id)).await?;
        match text.map(|t| serde_json::from_str::<GuildSeats>(&t)) {
            Some(Ok(g)) => {
                guilds.insert(id.clone(), g);
            }
            Some(Err(e)) => crate::runtime::log(
                "error",
                "seats: stored guild state unreadable",
                serde_json::json!({"guild_id": id, "error": e.to_string()}),
            ),
            None => {}
        }
    }
    Ok(Seats { meta, guilds })
}

impl Slot {
    pub async fn with<T>(
        &self,
        state: &State,
        f: impl FnOnce(&mut Seats) -> T,
    ) -> worker::Result<T> {
        if self.seats.borrow().is_none() {
            let loaded = load(state).await?;
            let mut slot = self.seats.borrow_mut();
            if slot.is_none() {
                *slot = Some(loaded);
            }
        }
        let mut slot = self.seats.borrow_mut();
        let seats = slot.get_or_insert_with(Seats::default);
        Ok(f(seats))
    }

    /// Writes the meta and the named guilds (a guild no longer present is deleted).
    pub async fn save(&self, state: &State, ids: &[String]) -> worker::Result<()> {
        let (meta, writes, deletes) = {
            let slot = self.seats.borrow();
            let Some(seats) = slot.as_ref() else {
                return Ok(());
            };
            let mut meta = seats.meta.clone();
            meta.guild_ids = seats.guilds.keys().cloned().collect();
            let mut writes = Vec::new();
            let mut deletes = Vec::new();
            for id in ids {
                match seats.guilds.get(id) {
                    Some(g) => writes.push((guild_key(id), serde_json::to_string(g)?)),
                    None => deletes.push(guild_key(id)),
                }
            }
            (serde_json::to_string(&meta)?, writes, deletes)
        };
        let storage = self.storage(state);
        for (k, v) in writes {
            storage.put(&k, v).await?;
        }
        for k in deletes {
            storage.delete(&k).await?;
        }
        storage.put(META, meta).await
    }

    fn storage(&self, state: &State) -> worker::Storage {
        state.storage()
    }
}
