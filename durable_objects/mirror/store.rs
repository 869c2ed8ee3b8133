//! The mirror object's SQLite storage, and the only module that writes it: the delivered
//! views, one queue row per target channel (jobs and dead letters), the map records of each
//! target under per-message keys (so a step rewrites one record, not the whole map), the
//! webhook, avatar and reply caches, the mirrored threads, and the history the operators' panel
//! reads.

use std::collections::BTreeMap;

use relay_core::convergence::SignalView;
use relay_core::ids::MessageId;
use relay_mirror::jobs::TargetQueue;
use relay_mirror::map::MirrorRecord;
use serde::Deserialize;
use worker::{Result, SqlStorage, SqlStorageValue};

use super::api::HistoryEntry;

pub const SCHEMA_VERSION: i64 = 1;
/// History rows kept (recent jobs and skips for the panel, an hour of latencies).
const HISTORY_MAX: i64 = 5_000;

const DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v)",
    // The latest delivered view of each source message: jobs render it when they run.
    "CREATE TABLE IF NOT EXISTS views (
        message_id      TEXT PRIMARY KEY,
        connector_id    TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        thread_name     TEXT,
        view_json       TEXT,
        created_at_ms   INTEGER NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS queues (
        target_channel_id TEXT PRIMARY KEY,
        state_json        TEXT NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS map_records (
        target_channel_id TEXT NOT NULL,
        message_id        TEXT NOT NULL,
        record_json       TEXT NOT NULL,
        PRIMARY KEY (target_channel_id, message_id)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS webhooks (
        target_channel_id TEXT PRIMARY KEY,
        webhook_id        TEXT NOT NULL,
        token             TEXT NOT NULL,
        created_at_ms     INTEGER NOT NULL
    ) WITHOUT ROWID",
    // NULL avatar_url: the author has none (asked once, not asked again).
    "CREATE TABLE IF NOT EXISTS avatars (
        user_id        TEXT PRIMARY KEY,
        avatar_url     TEXT,
        fetched_at_ms  INTEGER NOT NULL
    ) WITHOUT ROWID",
    // Which message each source message replies to (NULL: none), read back from Discord once.
    "CREATE TABLE IF NOT EXISTS replies (
        message_id     TEXT PRIMARY KEY,
        original_id    TEXT,
        checked_at_ms  INTEGER NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS threads (
        target_channel_id TEXT NOT NULL,
        source_thread_id  TEXT NOT NULL,
        thread_id         TEXT NOT NULL,
        PRIMARY KEY (target_channel_id, source_thread_id)
    ) WITHOUT ROWID",
    // When the change behind each job was committed, and when the job was first claimed.
    "CREATE TABLE IF NOT EXISTS job_times (
        target_channel_id TEXT NOT NULL,
        job_id            INTEGER NOT NULL,
        committed_at_ms   INTEGER NOT NULL,
        claimed_at_ms     INTEGER,
        PRIMARY KEY (target_channel_id, job_id)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS history (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms             INTEGER NOT NULL,
        target_channel_id TEXT NOT NULL,
        message_id        TEXT NOT NULL,
        kind              TEXT NOT NULL,
        outcome           TEXT NOT NULL,
        rule              TEXT,
        detail            TEXT,
        error_code        TEXT,
        discord_code      INTEGER,
        dispatch_ms       INTEGER,
        answer_ms         INTEGER
    )",
    "CREATE INDEX IF NOT EXISTS history_by_outcome ON history (outcome, id DESC)",
];

fn sv(s: &str) -> SqlStorageValue {
    SqlStorageValue::String(s.to_string())
}
fn si(n: i64) -> SqlStorageValue {
    SqlStorageValue::Integer(n)
}
fn so(s: Option<&str>) -> SqlStorageValue {
    s.map(sv).unwrap_or(SqlStorageValue::Null)
}
fn soi(n: Option<i64>) -> SqlStorageValue {
    n.map(si).unwrap_or(SqlStorageValue::Null)
}

pub struct Store {
    pub sql: SqlStorage,
}

#[derive(Deserialize)]
struct KV {
    v: serde_json::Value,
}

/// A delivered view as stored.
pub struct StoredView {
    pub connector_id: String,
    pub thread_name: Option<String>,
    pub view: Option<SignalView>,
}

impl Store {
    pub fn open(sql: SqlStorage) -> Result<Store> {
        for ddl in DDL {
            sql.exec(ddl, None)?;
        }
        let s = Store { sql };
        s.meta_set("schema_version", si(SCHEMA_VERSION))?;
        Ok(s)
    }

    pub fn meta_get(&self, k: &str) -> Result<Option<serde_json::Value>> {
        let rows: Vec<KV> = self
            .sql
            .exec("SELECT v FROM meta WHERE k = ?", vec![sv(k)])?
            .to_array()?;
        Ok(rows.into_iter().next().map(|r| r.v))
    }

    pub fn meta_set(&self, k: &str, v: SqlStorageValue) -> Result<()> {
        self.sql.exec(
            "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            vec![sv(k), v],
        )?;
        Ok(())
    }

    pub fn applied_through(&self) -> Result<u64> {
        Ok(self
            .meta_get("applied_seq")?
            .and_then(|v| v.as_u64())
            .unwrap_or(0))
    }

    pub fn set_applied_through(&self, seq: u64) -> Result<()> {
        self.meta_set("applied_seq", si(seq as i64))
    }

    pub fn put_view(
        &self,
        m: &MessageId,
        connector: &str,
        seq: u64,
        thread_name: Option<&str>,
        view: Option<&SignalView>,
    ) -> Result<()> {
        let json = view.and_then(|v| serde_json::to_string(v).ok());
        self.sql.exec(
            "INSERT INTO views (message_id, connector_id, seq, thread_name, view_json, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET \
             seq = excluded.seq, view_json = COALESCE(excluded.view_json, view_json), \
             thread_name = COALESCE(excluded.thread_name, thread_name) WHERE excluded.seq > seq",
            vec![
                sv(m.as_str()),
                sv(connector),
                si(seq as i64),
                so(thread_name),
                so(json.as_deref()),
                si(m.timestamp_ms()),
            ],
        )?;
        Ok(())
    }

    pub fn view(&self, m: &MessageId) -> Result<Option<StoredView>> {
        #[derive(Deserialize)]
        struct Row {
            connector_id: String,
            thread_name: Option<String>,
            view_json: Option<String>,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT connector_id, thread_name, view_json FROM views WHERE message_id = ?",
                vec![sv(m.as_str())],
            )?
            .to_array()?;
        Ok(rows.into_iter().next().map(|r| StoredView {
            connector_id: r.connector_id,
            thread_name: r.thread_name,
            view: r.view_json.and_then(|j| serde_json::from_str(&j).ok()),
        }))
    }

    /// Every queue with its map, as stored.
    pub fn load_queues(&self) -> Result<BTreeMap<String, TargetQueue>> {
        #[derive(Deserialize)]
        struct Q {
            target_channel_id: String,
            state_json: String,
        }
        #[derive(Deserialize)]
        struct R {
            target_channel_id: String,
            message_id: String,
            record_json: String,
        }
        let mut out = BTreeMap::new();
        let qs: Vec<Q> = self
            .sql
            .exec("SELECT target_channel_id, state_json FROM queues", None)?
            .to_array()?;
        for q in qs {
            let queue: TargetQueue = serde_json::from_str(&q.state_json).unwrap_or_default();
            out.insert(q.target_channel_id, queue);
        }
        let rs: Vec<R> = self
            .sql
            .exec(
                "SELECT target_channel_id, message_id, record_json FROM map_records",
                None,
            )?
            .to_array()?;
        for r in rs {
            let (Ok(m), Ok(rec)) = (
                MessageId::parse(&r.message_id),
                serde_json::from_str::<MirrorRecord>(&r.record_json),
            ) else {
                continue;
            };
            out.entry(r.target_channel_id)
                .or_default()
                .map
                .records
                .insert(m, rec);
        }
        Ok(out)
    }

    /// Writes the queue (jobs, dead letters, counters) and the map records of `touched`.
    pub fn save_queue(&self, target: &str, q: &TargetQueue, touched: &[&MessageId]) -> Result<()> {
        let mut bare = q.clone();
        bare.map = Default::default();
        self.sql.exec(
            "INSERT INTO queues (target_channel_id, state_json) VALUES (?, ?) \
             ON CONFLICT (target_channel_id) DO UPDATE SET state_json = excluded.state_json",
            vec![
                sv(target),
                sv(&serde_json::to_string(&bare).unwrap_or_default()),
            ],
        )?;
        for m in touched {
            match q.map.get(m) {
                Some(rec) => {
                    self.sql.exec(
                        "INSERT INTO map_records (target_channel_id, message_id, record_json) \
                         VALUES (?, ?, ?) ON CONFLICT (target_channel_id, message_id) \
                         DO UPDATE SET record_json = excluded.record_json",
                        vec![
                            sv(target),
                            sv(m.as_str()),
                            sv(&serde_json::to_string(rec).unwrap_or_default()),
                        ],
                    )?;
                }
                None => {
                    self.sql.exec(
                        "DELETE FROM map_records WHERE target_channel_id = ? AND message_id = ?",
                        vec![sv(target), sv(m.as_str())],
                    )?;
                }
            }
        }
        Ok(())
    }

    pub fn webhook(&self, target: &str) -> Result<Option<(String, String)>> {
        #[derive(Deserialize)]
        struct W {
            webhook_id: String,
            token: String,
        }
        let rows: Vec<W> = self
            .sql
            .exec(
                "SELECT webhook_id, token FROM webhooks WHERE target_channel_id = ?",
                vec![sv(target)],
            )?
            .to_array()?;
        Ok(rows.into_iter().next().map(|w| (w.webhook_id, w.token)))
    }

    pub fn put_webhook(&self, target: &str, id: &str, token: &str, now: i64) -> Result<()> {
        self.sql.exec(
            "INSERT INTO webhooks (target_channel_id, webhook_id, token, created_at_ms) VALUES (?, ?, ?, ?) \
             ON CONFLICT (target_channel_id) DO UPDATE SET webhook_id = excluded.webhook_id, \
             token = excluded.token, created_at_ms = excluded.created_at_ms",
            vec![sv(target), sv(id), sv(token), si(now)],
        )?;
        Ok(())
    }

    pub fn forget_webhook(&self, target: &str) -> Result<()> {
        self.sql.exec(
            "DELETE FROM webhooks WHERE target_channel_id = ?",
            vec![sv(target)],
        )?;
        Ok(())
    }

    /// `Some(None)`: asked before, the author has no avatar.
    pub fn avatar(&self, user: &str) -> Result<Option<Option<String>>> {
        #[derive(Deserialize)]
        struct A {
            avatar_url: Option<String>,
        }
        let rows: Vec<A> = self
            .sql
            .exec(
                "SELECT avatar_url FROM avatars WHERE user_id = ?",
                vec![sv(user)],
            )?
            .to_array()?;
        Ok(rows.into_iter().next().map(|a| a.avatar_url))
    }

    pub fn put_avatar(&self, user: &str, url: Option<&str>, now: i64) -> Result<()> {
        self.sql.exec(
            "INSERT INTO avatars (user_id, avatar_url, fetched_at_ms) VALUES (?, ?, ?) \
             ON CONFLICT (user_id) DO UPDATE SET avatar_url = excluded.avatar_url, \
             fetched_at_ms = excluded.fetched_at_ms",
            vec![sv(user), so(url), si(now)],
        )?;
        Ok(())
    }

    /// `Some(None)`: asked before, the message replies to nothing we can name.
    pub fn reply_of(&self, m: &MessageId) -> Result<Option<Option<String>>> {
        #[derive(Deserialize)]
        struct R {
            original_id: Option<String>,
        }
        let rows: Vec<R> = self
            .sql
            .exec(
                "SELECT original_id FROM replies WHERE message_id = ?",
                vec![sv(m.as_str())],
            )?
            .to_array()?;
        Ok(rows.into_iter().next().map(|r| r.original_id))
    }

    pub fn put_reply_of(&self, m: &MessageId, original: Option<&str>, now: i64) -> Result<()> {
        self.sql.exec(
            "INSERT INTO replies (message_id, original_id, checked_at_ms) VALUES (?, ?, ?) \
             ON CONFLICT (message_id) DO UPDATE SET original_id = excluded.original_id, \
             checked_at_ms = excluded.checked_at_ms",
            vec![sv(m.as_str()), so(original), si(now)],
        )?;
        Ok(())
    }

    pub fn thread(&self, target: &str, source_thread: &str) -> Result<Option<String>> {
        #[derive(Deserialize)]
        struct T {
            thread_id: String,
        }
        let rows: Vec<T> = self
            .sql
            .exec(
                "SELECT thread_id FROM threads WHERE target_channel_id = ? AND source_thread_id = ?",
                vec![sv(target), sv(source_thread)],
            )?
            .to_array()?;
        Ok(rows.into_iter().next().map(|t| t.thread_id))
    }

    pub fn put_thread(&self, target: &str, source_thread: &str, thread: &str) -> Result<()> {
        self.sql.exec(
            "INSERT INTO threads (target_channel_id, source_thread_id, thread_id) VALUES (?, ?, ?) \
             ON CONFLICT (target_channel_id, source_thread_id) DO UPDATE SET thread_id = excluded.thread_id",
            vec![sv(target), sv(source_thread), sv(thread)],
        )?;
        Ok(())
    }

    /// The earliest commit behind a job is kept: a coalesced change does not reset the clock.
    pub fn job_committed(&self, target: &str, job: u64, committed_at_ms: i64) -> Result<()> {
        self.sql.exec(
            "INSERT INTO job_times (target_channel_id, job_id, committed_at_ms) VALUES (?, ?, ?) \
             ON CONFLICT DO NOTHING",
            vec![sv(target), si(job as i64), si(committed_at_ms)],
        )?;
        Ok(())
    }

    /// A requeued job starts its times again from the requeue (its first run's were
    /// recorded with its dead letter).
    pub fn job_requeued(&self, target: &str, job: u64, now: i64) -> Result<()> {
        self.sql.exec(
            "INSERT INTO job_times (target_channel_id, job_id, committed_at_ms) VALUES (?, ?, ?) \
             ON CONFLICT DO UPDATE SET committed_at_ms = excluded.committed_at_ms, claimed_at_ms = NULL",
            vec![sv(target), si(job as i64), si(now)],
        )?;
        Ok(())
    }

    pub fn job_claimed(&self, target: &str, job: u64, now: i64) -> Result<()> {
        self.sql.exec(
            "UPDATE job_times SET claimed_at_ms = ? WHERE target_channel_id = ? AND job_id = ? \
             AND claimed_at_ms IS NULL",
            vec![si(now), sv(target), si(job as i64)],
        )?;
        Ok(())
    }

    /// The job's (commit, first claim) times, forgotten once read.
    pub fn take_job_times(&self, target: &str, job: u64) -> Result<Option<(i64, Option<i64>)>> {
        #[derive(Deserialize)]
        struct J {
            committed_at_ms: i64,
            claimed_at_ms: Option<i64>,
        }
        let rows: Vec<J> = self
            .sql
            .exec(
                "DELETE FROM job_times WHERE target_channel_id = ? AND job_id = ? \
                 RETURNING committed_at_ms, claimed_at_ms",
                vec![sv(target), si(job as i64)],
            )?
            .to_array()?;
        Ok(rows
            .into_iter()
            .next()
            .map(|j| (j.committed_at_ms, j.claimed_at_ms)))
    }

    pub fn record(&self, e: &HistoryEntry) -> Result<()> {
        self.sql.exec(
            "INSERT INTO history (at_ms, target_channel_id, message_id, kind, outcome, rule, detail, \
             error_code, discord_code, dispatch_ms, answer_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                si(e.at_ms),
                sv(&e.target_channel_id),
                sv(&e.message_id),
                sv(&e.kind),
                sv(&e.outcome),
                so(e.rule.as_deref()),
                so(e.detail.as_deref()),
                so(e.error_code.as_deref()),
                soi(e.discord_code.map(i64::from)),
                soi(e.dispatch_ms),
                soi(e.answer_ms),
            ],
        )?;
        self.sql.exec(
            "DELETE FROM history WHERE id <= (SELECT MAX(id) FROM history) - ?",
            vec![si(HISTORY_MAX)],
        )?;
        Ok(())
    }

    /// Newest first; `skipped` selects skips only, otherwise everything else.
    pub fn history(
        &self,
        targets: &[String],
        skipped: bool,
        limit: i64,
    ) -> Result<Vec<HistoryEntry>> {
        self.history_where(
            targets,
            if skipped {
                "outcome = 'skipped'"
            } else {
                "outcome <> 'skipped'"
            },
            limit,
            0,
        )
    }

    /// Entries of the last hour that sent something (for latency).
    pub fn timed_since(&self, targets: &[String], since_ms: i64) -> Result<Vec<HistoryEntry>> {
        self.history_where(
            targets,
            "answer_ms IS NOT NULL OR dispatch_ms IS NOT NULL",
            HISTORY_MAX,
            since_ms,
        )
    }

    fn history_where(
        &self,
        targets: &[String],
        cond: &str,
        limit: i64,
        since_ms: i64,
    ) -> Result<Vec<HistoryEntry>> {
        #[derive(Deserialize)]
        struct H {
            at_ms: i64,
            target_channel_id: String,
            message_id: String,
            kind: String,
            outcome: String,
            rule: Option<String>,
            detail: Option<String>,
            error_code: Option<String>,
            discord_code: Option<i64>,
            dispatch_ms: Option<i64>,
            answer_ms: Option<i64>,
        }
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; targets.len()].join(", ");
        let mut binds: Vec<SqlStorageValue> = targets.iter().map(|t| sv(t)).collect();
        binds.push(si(since_ms));
        binds.push(si(limit));
        let rows: Vec<H> = self
            .sql
            .exec(
                &format!(
                    "SELECT at_ms, target_channel_id, message_id, kind, outcome, rule, detail, error_code, \
                     discord_code, dispatch_ms, answer_ms FROM history \
                     WHERE target_channel_id IN ({marks}) AND at_ms >= ? AND ({cond}) ORDER BY id DESC LIMIT ?"
                ),
                binds,
            )?
            .to_array()?;
        Ok(rows
            .into_iter()
            .map(|h| HistoryEntry {
                at_ms: h.at_ms,
                target_channel_id: h.target_channel_id,
                message_id: h.message_id,
                kind: h.kind,
                outcome: h.outcome,
                rule: h.rule,
                detail: h.detail,
                error_code: h.error_code,
                discord_code: h.discord_code.map(|c| c as u32),
                dispatch_ms: h.dispatch_ms,
                answer_ms: h.answer_ms,
            })
            .collect())
    }

    /// Views of signals created before `cutoff` that no queue refers to.
    pub fn drop_views_before(&self, cutoff: i64, keep: &dyn Fn(&str) -> bool) -> Result<usize> {
        #[derive(Deserialize)]
        struct M {
            message_id: String,
        }
        let old: Vec<M> = self
            .sql
            .exec(
                "SELECT message_id FROM views WHERE created_at_ms < ?",
                vec![si(cutoff)],
            )?
            .to_array()?;
        let mut n = 0;
        for m in old {
            if keep(&m.message_id) {
                continue;
            }
            self.sql.exec(
                "DELETE FROM views WHERE message_id = ?",
                vec![sv(&m.message_id)],
            )?;
            self.sql.exec(
                "DELETE FROM replies WHERE message_id = ?",
                vec![sv(&m.message_id)],
            )?;
            n += 1;
        }
        Ok(n)
    }

    pub fn drop_map_records(&self, target: &str, ids: &[MessageId]) -> Result<()> {
        for m in ids {
            self.sql.exec(
                "DELETE FROM map_records WHERE target_channel_id = ? AND message_id = ?",
                vec![sv(target), sv(m.as_str())],
            )?;
        }
        Ok(())
    }
}
