//! The object's state: one [`Gate`] (the bot token's rate limiter and counters), kept in
//! memory while the object lives and written to its SQLite storage after every change, so an
//! eviction or a restart loses nothing the limiter learned or promised.
//!
//! The whole state is one row: it is bounded (the limiter evicts idle buckets past its size
//! limits) and every change touches the global window and the counters anyway, so a row per
//! bucket would not make a write smaller where it matters.

use std::cell::{Cell, RefCell};

use relay_discord::gate::Gate;
use serde::Deserialize;
use worker::{Env, Result, SqlStorage, SqlStorageValue, State};

use crate::config::DiscordConfig;

const DDL: &str = "CREATE TABLE IF NOT EXISTS gate_state (k TEXT PRIMARY KEY, v TEXT NOT NULL)";
const KEY: &str = "gate";

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
        }
    }

    /// Writes the gate's state. Called before answering any call that changed it: the
    /// runtime's output gate holds the answer until the write is durable.
    pub fn save(&self) -> Result<()> {
        let text = serde_json::to_string(&*self.gate.borrow())
            .map_err(|e| worker::Error::RustError(format!("encoding gate state: {e}")))?;
        self.sql.exec(
            "INSERT INTO gate_state (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            vec![SqlStorageValue::String(KEY.into()), SqlStorageValue::String(text)],
        )?;
        Ok(())
    }
}
