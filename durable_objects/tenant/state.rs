//! The object's shared state, split by concern: settings (fixed at start), the log counters
//! the commit path advances, the feed's and the projection's in-memory state. Each concern's
//! module owns its part; this one only opens storage and holds them together.

use std::cell::RefCell;

use serde::Deserialize;
use serde_json::Value;
use worker::{Env, Request, Result, SqlStorage, SqlStorageValue, State};

use super::feed::FeedState;
use super::handoff::HandoffState;
use super::projection::ProjectionState;
use super::schema;
use super::sql::{si, sv};
use crate::config::ObjectSettings;

/// The tenant's sequence and projection revision, and what the log trim counts.
pub struct LogCounters {
    /// Last assigned sequence number.
    pub seq: u64,
    /// Last projection revision.
    pub rev: i64,
    pub events_since_trim: u64,
}

pub struct Shared {
    pub state: State,
    pub env: Env,
    pub sql: SqlStorage,
    pub settings: ObjectSettings,
    /// Set when storage failed to open; every request then answers 503.
    pub init_error: Option<String>,
    pub tenant_key: RefCell<Option<String>>,
    pub log: RefCell<LogCounters>,
    pub feed: RefCell<FeedState>,
    pub projection: RefCell<ProjectionState>,
    pub handoff: RefCell<HandoffState>,
}

/// What storage holds about the object itself.
struct Loaded {
    seq: u64,
    rev: i64,
    tenant_key: Option<String>,
}

fn load(sql: &SqlStorage) -> Result<Loaded> {
    for ddl in schema::DDL {
        sql.exec(ddl, None)?;
    }
    #[derive(Deserialize)]
    struct Row {
        k: String,
        v: Value,
    }
    let rows: Vec<Row> = sql.exec("SELECT k, v FROM meta", None)?.to_array()?;
    let mut loaded = Loaded {
        seq: 0,
        rev: 0,
        tenant_key: None,
    };
    for r in rows {
        match r.k.as_str() {
            "seq" => loaded.seq = r.v.as_u64().unwrap_or(0),
            "rev" => loaded.rev = r.v.as_i64().unwrap_or(0),
            "tenant_key" => loaded.tenant_key = r.v.as_str().map(str::to_string),
            _ => {}
        }
    }
    sql.exec(
        "INSERT INTO meta (k, v) VALUES ('schema_version', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
        vec![si(schema::SCHEMA_VERSION)],
    )?;
    Ok(loaded)
}

impl Shared {
    /// Makes sure the alarm fires by `at_ms`: set unless one is already due by then. An alarm
    /// that cannot be read counts as none (an extra wake is harmless; a missing one strands
    /// work).
    pub async fn alarm_by(&self, at_ms: i64) -> Result<()> {
        let storage = self.state.storage();
        let armed = matches!(storage.get_alarm().await, Ok(Some(at)) if at <= at_ms);
        if !armed {
            storage
                .set_alarm(worker::ScheduledTime::new(js_sys::Date::new(
                    &wasm_bindgen::JsValue::from_f64(at_ms as f64),
                )))
                .await?;
        }
        Ok(())
    }

    /// Applies the schema and reads the counters back; a storage failure is kept and reported
    /// on every request rather than panicking the object.
    pub fn open(state: State, env: Env) -> Shared {
        let sql = state.storage().sql();
        let (loaded, init_error) = match load(&sql) {
            Ok(l) => (l, None),
            Err(e) => (
                Loaded {
                    seq: 0,
                    rev: 0,
                    tenant_key: None,
                },
                Some(e.to_string()),
            ),
        };
        let settings = ObjectSettings::from_env(&env);
        Shared {
            state,
            env,
            sql,
            settings,
            init_error,
            tenant_key: RefCell::new(loaded.tenant_key),
            log: RefCell::new(LogCounters {
                seq: loaded.seq,
                rev: loaded.rev,
                events_since_trim: 0,
            }),
            feed: RefCell::new(FeedState::new(loaded.seq)),
            projection: RefCell::new(ProjectionState::default()),
            handoff: RefCell::new(HandoffState::default()),
        }
    }

    pub fn seq(&self) -> u64 {
        self.log.borrow().seq
    }

    pub fn meta_set(&self, key: &str, value: SqlStorageValue) -> Result<()> {
        self.meta_set_all(vec![(key, value)])
    }

    /// Upserts several `meta` keys in one statement (the commit path writes two per batch).
    pub fn meta_set_all(&self, pairs: Vec<(&str, SqlStorageValue)>) -> Result<()> {
        let rows = vec!["(?, ?)"; pairs.len()].join(", ");
        let binds = pairs
            .into_iter()
            .flat_map(|(k, v)| [sv(k), v])
            .collect::<Vec<_>>();
        self.sql.exec(
            &format!(
                "INSERT INTO meta (k, v) VALUES {rows} ON CONFLICT (k) DO UPDATE SET v = excluded.v"
            ),
            binds,
        )?;
        Ok(())
    }

    pub fn tenant_key(&self) -> Option<String> {
        self.tenant_key.borrow().clone()
    }

    /// Learns the tenant key from the edge worker's header the first time it is seen.
    pub fn remember_tenant(&self, req: &Request) -> Result<()> {
        if self.tenant_key.borrow().is_some() {
            return Ok(());
        }
        if let Some(key) = req.headers().get("x-tenant-key")? {
            self.meta_set("tenant_key", sv(&key))?;
            *self.tenant_key.borrow_mut() = Some(key);
        }
        Ok(())
    }
}
