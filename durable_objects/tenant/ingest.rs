//! Committing ingest batches: receipts, convergence, sequence numbers and the event log, all in
//! one SQLite transaction per request. If any statement fails the whole batch rolls back and
//! the edge answers 503, so the connector retries it whole.

use std::rc::Rc;

use relay_core::convergence::{classify, MessageState};
use relay_core::frames::{signal_frame, thread_frame};
use relay_core::ids::MessageId;
use relay_core::protocol::{MessageEvent, ThreadEvent};
use relay_core::thread::{frame_delta, frame_type, ThreadState};
use serde::Deserialize;
use worker::Result;

use super::api::{IngestMessages, IngestOutcome, IngestThread, Retention};
use super::diagnostics;
use super::feed::LogEntry;
use super::handoff::{self, MirrorFilter};
use super::sql::{si, so, sv};
use super::state::Shared;
use crate::durable_objects::js;

pub struct Outcome {
    pub accepted: u64,
    pub deduped: u64,
    pub seq: u64,
    pub frames: Vec<LogEntry>,
    pub projected: bool,
    pub trim_due: bool,
    /// Changes recorded for the mirror object.
    pub mirrored: usize,
}

impl Outcome {
    /// What the edge is told.
    pub fn answer(&self) -> IngestOutcome {
        IngestOutcome {
            accepted: self.accepted,
            deduped: self.deduped,
            seq: self.seq,
        }
    }
}

/// What one commit's transaction produced.
struct Committed {
    accepted: u64,
    deduped: u64,
    counters: Counters,
    frames: Vec<LogEntry>,
    projected: bool,
    mirrored: usize,
}

#[derive(Deserialize)]
struct StateRow {
    state_json: String,
    seq: i64,
}

/// Records a receipt; returns false when this exact event was already received.
fn first_receipt(sh: &Shared, connector: &str, key: &str, fp: &str, now: i64) -> Result<bool> {
    let inserted = sh
        .sql
        .exec(
            "INSERT INTO receipts (connector_id, idempotency_key, fingerprint, received_at_ms) \
             VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1 AS one",
            vec![sv(connector), sv(key), sv(fp), si(now)],
        )?
        .to_array::<serde_json::Value>()?;
    Ok(!inserted.is_empty())
}

fn log_event(sh: &Shared, seq: u64, channel: Option<&str>, frame: &str, now: i64) -> Result<()> {
    sh.sql.exec(
        "INSERT INTO events (seq, channel_id, frame, created_at_ms) VALUES (?, ?, ?, ?)",
        vec![si(seq as i64), so(channel), sv(frame), si(now)],
    )?;
    Ok(())
}

fn mark_outbox(sh: &Shared, kind: &str, connector: &str, item: &str, rev: i64) -> Result<()> {
    sh.sql.exec(
        "INSERT INTO outbox (kind, connector_id, item_id, rev) VALUES (?, ?, ?, ?) \
         ON CONFLICT (kind, connector_id, item_id) DO UPDATE SET rev = excluded.rev",
        vec![sv(kind), sv(connector), sv(item), si(rev)],
    )?;
    Ok(())
}

struct Counters {
    seq: u64,
    rev: i64,
}

/// Both counters in one statement: it runs in every commit's transaction.
fn persist_counters(sh: &Shared, c: &Counters) -> Result<()> {
    sh.meta_set_all(vec![("seq", si(c.seq as i64)), ("rev", si(c.rev))])
}

#[allow(clippy::too_many_arguments)]
fn apply_message(
    sh: &Shared,
    connector: &str,
    ev: &MessageEvent,
    now: i64,
    c: &mut Counters,
    frames: &mut Vec<LogEntry>,
    mirror: &MirrorFilter,
    mirrored: &mut usize,
) -> Result<bool> {
    let fp = ev.fingerprint();
    if !first_receipt(sh, connector, &ev.idempotency_key, &fp, now)? {
        return Ok(false);
    }
    let mid: &MessageId = &ev.discord_message_id;
    let rows: Vec<StateRow> = sh
        .sql
        .exec(
            "SELECT state_json, seq FROM signals WHERE connector_id = ? AND message_id = ?",
            vec![sv(connector), sv(mid.as_str())],
        )?
        .to_array()?;
    let (mut state, mut row_seq) = match rows.into_iter().next() {
        Some(r) => (
            serde_json::from_str::<MessageState>(&r.state_json).unwrap_or_default(),
            r.seq as u64,
        ),
        None => (MessageState::default(), 0),
    };
    let before = state.clone();
    if !state.apply(ev, &fp) {
        return Ok(true);
    }
    let change = classify(&before, &state, connector, mid);
    let view = state.view(connector, mid);
    let view_json = view.as_ref().and_then(|v| serde_json::to_string(v).ok());
    let channel = state.channel_id().map(|c| c.as_str().to_string());
    if let (Some(kind), Some(view)) = (change.frame_type(), view.as_ref()) {
        c.seq += 1;
        row_seq = c.seq;
        let frame = signal_frame(kind, c.seq, view);
        log_event(sh, c.seq, channel.as_deref(), &frame, now)?;
        frames.push(LogEntry {
            seq: c.seq,
            channel: channel.clone(),
            frame: Rc::from(frame),
        });
        if mirror.wants(channel.as_deref()) {
            handoff::record(sh, c.seq, connector, mid, change, mirror.version(), now)?;
            *mirrored += 1;
        }
    }
    c.rev += 1;
    sh.sql.exec(
        "INSERT INTO signals (connector_id, message_id, channel_id, created_at_ms, visible, deleted, \
         seq, rev, state_json, view_json, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (connector_id, message_id) DO UPDATE SET channel_id = excluded.channel_id, \
         created_at_ms = excluded.created_at_ms, visible = excluded.visible, \
         deleted = excluded.deleted, seq = excluded.seq, rev = excluded.rev, \
         state_json = excluded.state_json, view_json = excluded.view_json, \
         updated_at_ms = excluded.updated_at_ms",
        vec![
            sv(connector),
            sv(mid.as_str()),
            so(channel.as_deref()),
            state
                .created_at()
                .map(|t| si(t.ms()))
                .unwrap_or(worker::SqlStorageValue::Null),
            si(state.is_visible() as i64),
            si(state.deleted as i64),
            si(row_seq as i64),
            si(c.rev),
            sv(&serde_json::to_string(&state).unwrap_or_default()),
            so(view_json.as_deref()),
            si(now),
        ],
    )?;
    mark_outbox(sh, "signal", connector, mid.as_str(), c.rev)?;
    Ok(true)
}

pub fn commit_messages(
    shared: &Rc<Shared>,
    body: IngestMessages,
    mirror: MirrorFilter,
    now: i64,
) -> Result<Outcome> {
    let sh = shared.clone();
    let (seq, rev) = {
        let log = shared.log.borrow();
        (log.seq, log.rev)
    };
    let committed = js::transaction(&shared.state, move || {
        let connector = &body.connector_id;
        let mut c = Counters { seq, rev };
        let mut frames = Vec::new();
        let (mut accepted, mut deduped, mut corrected) = (0u64, 0u64, 0u64);
        let mut mirrored = 0usize;
        for (i, ev) in body.messages.iter().enumerate() {
            if apply_message(
                &sh,
                connector,
                ev,
                now,
                &mut c,
                &mut frames,
                &mirror,
                &mut mirrored,
            )? {
                accepted += 1;
                // Counted once per event: a resent batch dedupes and counts nothing.
                if body.corrected.contains(&i) {
                    corrected += 1;
                }
            } else {
                deduped += 1;
            }
        }
        diagnostics::count_corrected(&sh.sql, connector, corrected)?;
        diagnostics::record(&sh.sql, connector, &body.rejected, now)?;
        let projected = c.rev != rev;
        if c.seq != seq || projected {
            persist_counters(&sh, &c)?;
        }
        Ok(Committed {
            accepted,
            deduped,
            counters: c,
            frames,
            projected,
            mirrored,
        })
    })?;
    Ok(finish(shared, committed))
}

fn finish(shared: &Rc<Shared>, done: Committed) -> Outcome {
    let mut log = shared.log.borrow_mut();
    log.seq = done.counters.seq;
    log.rev = done.counters.rev;
    log.events_since_trim += done.frames.len() as u64;
    let trim_due = log.events_since_trim >= (shared.settings.event_log_max / 10).clamp(1, 1_000);
    if trim_due {
        log.events_since_trim = 0;
    }
    Outcome {
        accepted: done.accepted,
        deduped: done.deduped,
        seq: done.counters.seq,
        frames: done.frames,
        projected: done.projected,
        trim_due,
        mirrored: done.mirrored,
    }
}

pub fn commit_thread(shared: &Rc<Shared>, body: IngestThread, now: i64) -> Result<Outcome> {
    let sh = shared.clone();
    let (seq, rev) = {
        let log = shared.log.borrow();
        (log.seq, log.rev)
    };
    let committed = js::transaction(&shared.state, move || {
        let IngestThread {
            connector_id: connector,
            event,
            rejected,
        } = body;
        diagnostics::record(&sh.sql, &connector, &rejected, now)?;
        let c = Counters { seq, rev };
        apply_thread(&sh, &connector, &event, now, c)
    })?;
    Ok(finish(shared, committed))
}

fn apply_thread(
    sh: &Shared,
    connector: &str,
    event: &ThreadEvent,
    now: i64,
    mut c: Counters,
) -> Result<Committed> {
    let unchanged = |c: Counters, accepted: u64, deduped: u64| Committed {
        accepted,
        deduped,
        counters: c,
        frames: Vec::new(),
        projected: false,
        mirrored: 0,
    };
    let mut frames = Vec::new();
    let fp = event.fingerprint();
    if !first_receipt(sh, connector, &event.idempotency_key, &fp, now)? {
        return Ok(unchanged(c, 0, 1));
    }
    let tid = event.thread_id().as_str().to_string();
    let rows: Vec<StateRow> = sh
        .sql
        .exec(
            "SELECT state_json, seq FROM threads WHERE connector_id = ? AND thread_id = ?",
            vec![sv(connector), sv(&tid)],
        )?
        .to_array()?;
    let (mut state, mut row_seq) = match rows.into_iter().next() {
        Some(r) => (
            serde_json::from_str::<ThreadState>(&r.state_json).unwrap_or_default(),
            r.seq as u64,
        ),
        None => (ThreadState::default(), 0),
    };
    if !state.apply(event) {
        return Ok(unchanged(c, 1, 0));
    }
    let view = state.view();
    let view_json = serde_json::to_string(&view).unwrap_or_default();
    let parent = state
        .fields
        .parent_channel_id
        .as_ref()
        .map(|p| p.as_str().to_string());
    c.seq += 1;
    row_seq = row_seq.max(c.seq);
    let frame = thread_frame(
        frame_type(event.event_type),
        c.seq,
        &view,
        frame_delta(event),
    );
    log_event(sh, c.seq, parent.as_deref(), &frame, now)?;
    frames.push(LogEntry {
        seq: c.seq,
        channel: parent.clone(),
        frame: Rc::from(frame),
    });
    c.rev += 1;
    sh.sql.exec(
        "INSERT INTO threads (connector_id, thread_id, parent_channel_id, deleted, seq, rev, \
             state_json, view_json, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (connector_id, thread_id) DO UPDATE SET \
             parent_channel_id = excluded.parent_channel_id, deleted = excluded.deleted, \
             seq = excluded.seq, rev = excluded.rev, state_json = excluded.state_json, \
             view_json = excluded.view_json, updated_at_ms = excluded.updated_at_ms",
        vec![
            sv(connector),
            sv(&tid),
            so(parent.as_deref()),
            si(state.deleted as i64),
            si(row_seq as i64),
            si(c.rev),
            sv(&serde_json::to_string(&state).unwrap_or_default()),
            sv(&view_json),
            si(now),
        ],
    )?;
    mark_outbox(sh, "thread", connector, &tid, c.rev)?;
    persist_counters(sh, &c)?;
    Ok(Committed {
        accepted: 1,
        deduped: 0,
        counters: c,
        frames,
        projected: true,
        mirrored: 0,
    })
}

/// Keeps the durable event log bounded. Cursors older than what remains get a snapshot.
pub fn trim_log(sh: &Shared) -> Result<()> {
    let (seq, max) = (sh.seq(), sh.settings.event_log_max);
    if seq > max {
        sh.sql.exec(
            "DELETE FROM events WHERE seq <= ?",
            vec![si((seq - max) as i64)],
        )?;
    }
    Ok(())
}

/// Deletes what is older than the retention window. Signals age by their Discord creation
/// time, threads by their last change, receipts and log entries by when we received them.
pub fn apply_retention(shared: &Rc<Shared>, days: f64, now: i64) -> Result<Retention> {
    let cutoff = relay_core::time::days_before(now, days);
    let sh = shared.clone();
    let removed = js::transaction(&shared.state, move || {
        let signals = sh
            .sql
            .exec(
                "DELETE FROM signals WHERE created_at_ms < ?",
                vec![si(cutoff)],
            )?
            .rows_written();
        let threads = sh
            .sql
            .exec(
                "DELETE FROM threads WHERE updated_at_ms < ?",
                vec![si(cutoff)],
            )?
            .rows_written();
        let events = sh
            .sql
            .exec(
                "DELETE FROM events WHERE created_at_ms < ?",
                vec![si(cutoff)],
            )?
            .rows_written();
        let receipts = sh
            .sql
            .exec(
                "DELETE FROM receipts WHERE received_at_ms < ?",
                vec![si(cutoff)],
            )?
            .rows_written();
        Ok(Retention {
            signals,
            threads,
            events,
            receipts,
        })
    })?;
    trim_log(shared)?;
    // Snapshots and replays built before the purge may show deleted rows.
    shared.feed.borrow_mut().forget_initial_frames();
    Ok(removed)
}
