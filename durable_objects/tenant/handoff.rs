//! The handoff to the tenant's mirror object. A change of a mapped source channel (when the
//! connector forwards) is recorded in `mirror_outbox` inside the commit's transaction, so a
//! crash after the commit cannot lose it; right after the answer it is delivered (one
//! delivery at a time, in `seq` order, so the mirror object's high-water mark is exact), and
//! an alarm retries until the mirror object acknowledges. The mirror object ignores a `seq`
//! it has already applied, so a repeated delivery changes nothing.

use std::cell::RefMut;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use relay_core::convergence::{Change, SignalView};
use relay_core::ids::MessageId;
use relay_mirror::jobs::ChangeKind;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::Result;

use super::api::MirrorRouting;
use super::single_run::{self, SingleRun};
use super::sql::{si, sv};
use super::state::Shared;
use crate::durable_objects::mirror::api::{ChangeIn, Deliver};
use crate::durable_objects::mirror::client::MirrorClient;

pub const RETRY_MS: i64 = 2_000;
const BATCH: i64 = 200;

/// Which changes of a batch go to the mirror object.
pub enum MirrorFilter {
    Off,
    /// The mappings could not be read: hand everything over (the mirror object knows its
    /// mappings and drops what maps nowhere), rather than risk losing a change.
    All {
        version: i64,
    },
    Channels {
        version: i64,
        sources: BTreeSet<String>,
    },
}

impl MirrorFilter {
    pub fn wants(&self, channel: Option<&str>) -> bool {
        match self {
            MirrorFilter::Off => false,
            MirrorFilter::All { .. } => true,
            MirrorFilter::Channels { sources, .. } => channel.is_some_and(|c| sources.contains(c)),
        }
    }

    pub fn version(&self) -> i64 {
        match self {
            MirrorFilter::Off => 0,
            MirrorFilter::All { version } | MirrorFilter::Channels { version, .. } => *version,
        }
    }
}

/// The mapped source channels per connector, by config version; the delivery loop's state.
#[derive(Default)]
pub struct HandoffState {
    sources: BTreeMap<String, (i64, BTreeSet<String>)>,
    /// The newest config version the admin API announced per connector: a request carrying
    /// an older one (a cached connector row) is treated as this one.
    announced: BTreeMap<String, MirrorRouting>,
    run: SingleRun,
}

/// The admin API changed a connector's routing: the mapped sources are read again, and no
/// older version is trusted from now on.
pub fn routing_changed(sh: &Shared, connector: &str, now: MirrorRouting) {
    let mut h = sh.handoff.borrow_mut();
    h.sources.remove(connector);
    let newer = h
        .announced
        .get(connector)
        .is_none_or(|a| a.config_version <= now.config_version);
    if newer {
        h.announced.insert(connector.to_string(), now);
    }
}

/// Decides, before the commit's transaction, which changes it records for the mirror.
pub async fn filter(sh: &Shared, connector: &str, routing: Option<MirrorRouting>) -> MirrorFilter {
    let Some(carried) = routing else {
        return MirrorFilter::Off;
    };
    // A cached connector row may carry an older config (and forwarding flag) than the one
    // the admin API announced: the newer wins.
    let r = match sh.handoff.borrow().announced.get(connector) {
        Some(a) if a.config_version > carried.config_version => *a,
        _ => carried,
    };
    if !r.forward_enabled {
        return MirrorFilter::Off;
    }
    let cached = sh
        .handoff
        .borrow()
        .sources
        .get(connector)
        .filter(|(v, _)| *v == r.config_version)
        .map(|(_, s)| s.clone());
    if let Some(sources) = cached {
        return channels(r.config_version, sources);
    }
    let Some(tenant) = sh.tenant_key() else {
        return MirrorFilter::All {
            version: r.config_version,
        };
    };
    let loaded = match crate::db::Db::new(&sh.env) {
        Ok(db) => db.mappings().list(&tenant, connector).await,
        Err(e) => Err(e),
    };
    match loaded {
        Ok(rows) => {
            let sources: BTreeSet<String> = rows.into_iter().map(|m| m.source_channel_id).collect();
            sh.handoff
                .borrow_mut()
                .sources
                .insert(connector.to_string(), (r.config_version, sources.clone()));
            channels(r.config_version, sources)
        }
        Err(e) => {
            crate::runtime::log(
                "warn",
                "mirror handoff: mappings unavailable, handing every change over",
                json!({"tenant_key": tenant, "connector_id": connector, "error": e.to_string()}),
            );
            MirrorFilter::All {
                version: r.config_version,
            }
        }
    }
}

fn channels(version: i64, sources: BTreeSet<String>) -> MirrorFilter {
    if sources.is_empty() {
        MirrorFilter::Off
    } else {
        MirrorFilter::Channels { version, sources }
    }
}

fn kind_str(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Create => "create",
        ChangeKind::Edit => "edit",
        ChangeKind::Delete => "delete",
    }
}

/// Inside the commit's transaction.
pub fn record(
    sh: &Shared,
    seq: u64,
    connector: &str,
    message: &MessageId,
    change: Change,
    version: i64,
    now: i64,
) -> Result<()> {
    let Some(kind) = ChangeKind::from_change(change) else {
        return Ok(());
    };
    sh.sql.exec(
        "INSERT INTO mirror_outbox (seq, connector_id, message_id, kind, config_version, committed_at_ms) \
         VALUES (?, ?, ?, ?, ?, ?)",
        vec![
            si(seq as i64),
            sv(connector),
            sv(message.as_str()),
            sv(kind_str(kind)),
            si(version),
            si(now),
        ],
    )?;
    Ok(())
}

pub fn pending(sh: &Shared) -> Result<i64> {
    #[derive(Deserialize)]
    struct N {
        n: i64,
    }
    let rows: Vec<N> = sh
        .sql
        .exec("SELECT COUNT(*) AS n FROM mirror_outbox", None)?
        .to_array()?;
    Ok(rows.first().map(|r| r.n).unwrap_or(0))
}

/// Delivers after the current request's answer (the runtime keeps the object alive for it).
pub fn kick(sh: Rc<Shared>) {
    wasm_bindgen_futures::spawn_local(deliver(sh));
}

async fn arm_retry(sh: &Shared) -> Result<()> {
    sh.alarm_by(crate::runtime::now_ms() + RETRY_MS).await
}

pub async fn deliver(sh: Rc<Shared>) {
    let flags = || RefMut::map(sh.handoff.borrow_mut(), |h| &mut h.run);
    let Some(result) = single_run::run(flags, || deliver_batch(&sh)).await else {
        return;
    };
    if let Err(e) = result {
        crate::runtime::log(
            "warn",
            "mirror handoff failed; will retry",
            json!({"tenant_key": sh.tenant_key(), "error": e.to_string()}),
        );
        let _ = arm_retry(&sh).await;
    }
}

#[derive(Deserialize)]
struct Row {
    seq: i64,
    connector_id: String,
    message_id: String,
    kind: String,
    config_version: i64,
    committed_at_ms: i64,
    view_json: Option<String>,
    thread_json: Option<String>,
}

/// One batch, oldest first. Returns whether more rows remain.
async fn deliver_batch(sh: &Rc<Shared>) -> Result<bool> {
    let Some(tenant) = sh.tenant_key() else {
        return Ok(false);
    };
    // The view is read at delivery time: the mirror renders the latest state anyway, and a
    // later change of the same message has a later `seq` of its own.
    let rows: Vec<Row> = sh
        .sql
        .exec(
            "SELECT o.seq, o.connector_id, o.message_id, o.kind, o.config_version, o.committed_at_ms, \
             s.view_json, t.view_json AS thread_json FROM mirror_outbox o \
             LEFT JOIN signals s ON s.connector_id = o.connector_id AND s.message_id = o.message_id \
             LEFT JOIN threads t ON t.connector_id = o.connector_id \
               AND t.thread_id = json_extract(s.view_json, '$.thread_id') \
             ORDER BY o.seq LIMIT ?",
            vec![si(BATCH)],
        )?
        .to_array()?;
    if rows.is_empty() {
        return Ok(false);
    }
    let full = rows.len() as i64 == BATCH;
    let mut changes = Vec::with_capacity(rows.len());
    for r in rows {
        let Ok(message_id) = MessageId::parse(&r.message_id) else {
            continue;
        };
        let kind = match r.kind.as_str() {
            "create" => ChangeKind::Create,
            "edit" => ChangeKind::Edit,
            _ => ChangeKind::Delete,
        };
        let view: Option<SignalView> = r.view_json.and_then(|j| serde_json::from_str(&j).ok());
        let thread_name = r
            .thread_json
            .and_then(|j| serde_json::from_str::<Value>(&j).ok())
            .and_then(|v| v.get("name").and_then(Value::as_str).map(str::to_string));
        changes.push(ChangeIn {
            seq: r.seq as u64,
            connector_id: r.connector_id,
            message_id,
            kind,
            committed_at_ms: r.committed_at_ms,
            view,
            thread_name,
            config_version: r.config_version,
        });
    }
    let last = changes.last().map(|c| c.seq).unwrap_or(0);
    // Should the object die before the answer, this alarm delivers again.
    arm_retry(sh).await?;
    let client = MirrorClient::new(&sh.env, &tenant)?;
    let done = client.deliver(&Deliver { changes }).await?;
    let through = done.applied_through.min(last);
    sh.sql.exec(
        "DELETE FROM mirror_outbox WHERE seq <= ?",
        vec![si(through as i64)],
    )?;
    Ok(full)
}
