//! The object's state: one [`Gate`] (the bot token's rate limiter and counters), kept in
//! memory while the object lives and written to its SQLite storage: what Discord refused at
//! once, before the answer; grants and successful answers at most every [`SAVE_EVERY_MS`]
//! (and [`SAVE_EVERY_MS`] after the last one), so an eviction — which comes only after the
//! object sat idle — loses nothing.
//!
//! The whole state is one row: it is bounded (the limiter evicts idle buckets past its size
//! limits) and every change touches the global window and the counters anyway, so a row per
//! bucket would not make a write smaller where it matters. Writing it on every call did not
//! scale: with fifty webhooks the row is ~20 KB, encoded twice per Discord request — the
//! gate's main cost under a fan-out, and it grows with every bucket the bot uses. A crash
//! (not an eviction) may lose the last interval's routine grants: the restored limiter then
//! trusts Discord's next headers (a 429 at worst, which it learns from), and never reuses a
//! permit id ([`Gate::resumed`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use relay_discord::gate::Gate;
use serde::Deserialize;
use worker::{Env, Result, SqlStorage, SqlStorageValue, State};

use crate::config::DiscordConfig;

const DDL: &str = "CREATE TABLE IF NOT EXISTS gate_state (k TEXT PRIMARY KEY, v TEXT NOT NULL)";
const KEY: &str = "gate";
/// Longest a change waits in memory before it is written.
pub const SAVE_EVERY_MS: i64 = 100;

pub struct Shared {
    pub state: State,
    pub sql: SqlStorage,
    /// Set when storage failed to open or the stored state did not decode; every call then
    /// answers 503 (a caller treats that as transient) rather than limiting from a blank
    /// state that would forget a ban or a 401 stop.
    pub init_error: Option<String>,
    pub gate: RefCell<Gate>,
    /// When the prune alarm is set for, once known (`None` inside: no alarm).
    pub alarm_at: Cell<Option<Option<i64>>>,
    /// A change not written yet, when the last write was, and whether a later write is due.
    dirty: Cell<bool>,
    saved_at_ms: Cell<i64>,
    save_due: Cell<bool>,
}

fn load(sql: &SqlStorage) -> Result<Option<Gate>> {
    sql.exec(DDL, None)?;
    #[derive(Deserialize)]
    struct Row {
        v: String,
    }
    let rows: Vec<Row> = sql
        .exec(
            "SELECT v FROM gate_state WHERE k = ?",
            vec![SqlStorageValue::String(KEY.into())],
        )?
        .to_array()?;
    match rows.first() {
        None => Ok(None),
        Some(r) => serde_json::from_str(&r.v)
            .map(Some)
            .map_err(|e| worker::Error::RustError(format!("stored gate state: {e}"))),
    }
}

impl Shared {
    pub fn open(state: State, env: &Env) -> Shared {
        let sql = state.storage().sql();
        let config = DiscordConfig::from_env(env).limiter_config();
        let (gate, init_error) = match load(&sql) {
            Ok(Some(mut g)) => {
                g.configure(config);
                g.resumed();
                (g, None)
            }
            Ok(None) => (Gate::new(config), None),
            Err(e) => (Gate::new(config), Some(e.to_string())),
        };
        Shared {
            state,
            sql,
            init_error,
            gate: RefCell::new(gate),
            alarm_at: Cell::new(None),
            dirty: Cell::new(false),
            saved_at_ms: Cell::new(0),
            save_due: Cell::new(false),
        }
    }

    /// After a change from a Discord request's acquire or observe: written now when the last
    /// write is [`SAVE_EVERY_MS`] old, else by a write that many ms later (one for all the
    /// changes meanwhile).
    pub fn changed(self: &Rc<Self>, now: i64) -> Result<()> {
        if now - self.saved_at_ms.get() >= SAVE_EVERY_MS {
            return self.save_now(now);
        }
        self.dirty.set(true);
        if !self.save_due.replace(true) {
            let sh = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                worker::Delay::from(Duration::from_millis(SAVE_EVERY_MS as u64)).await;
                sh.save_due.set(false);
                if sh.dirty.get() {
                    if let Err(e) = sh.save_now(crate::runtime::now_ms()) {
                        crate::runtime::log(
                            "error",
                            "discord gate state not saved; retried with the next change",
                            serde_json::json!({"error": e.to_string()}),
                        );
                    }
                }
            });
        }
        Ok(())
    }

    /// Writes the gate's state at once (also for an operator's reset and the prune alarm):
    /// the runtime's output gate holds the answer until the write is durable.
    pub fn save_now(&self, now: i64) -> Result<()> {
        self.save()?;
        self.dirty.set(false);
        self.saved_at_ms.set(now);
        Ok(())
    }

    fn save(&self) -> Result<()> {
        let text = serde_json::to_string(&*self.gate.borrow())
            .map_err(|e| worker::Error::RustError(format!("encoding gate state: {e}")))?;
        self.sql.exec(
            "INSERT INTO gate_state (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            vec![SqlStorageValue::String(KEY.into()), SqlStorageValue::String(text)],
        )?;
        Ok(())
    }
}
