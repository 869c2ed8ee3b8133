//! `signals`, `threads`: the projection of each tenant object's converged state, for queries
//! across connectors. Written only by the tenant object's projection (through
//! [`Signals::project_signal`] and [`Signals::project_thread`]), read by the admin API, purged
//! by maintenance; rows only move forward (`WHERE excluded.rev > rev`).

use serde::Deserialize;
use worker::{D1PreparedStatement, Result};

use super::bind::{b, n, opt, opt_n, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct ViewRow {
    pub view_json: Option<String>,
    pub seq: i64,
}

impl ViewRow {
    /// The stored view with its `seq`, as the admin listings show it; `None` for a row that
    /// has no view (a tombstone of a message never seen).
    pub fn to_json(&self) -> Option<serde_json::Value> {
        let mut v: serde_json::Value = serde_json::from_str(self.view_json.as_deref()?).ok()?;
        v["seq"] = serde_json::json!(self.seq);
        Some(v)
    }
}

/// One signal row as the projection writes it.
pub struct SignalProjection<'a> {
    pub tenant_key: &'a str,
    pub connector_id: &'a str,
    pub message_id: &'a str,
    pub guild_id: Option<&'a str>,
    pub channel_id: Option<&'a str>,
    pub thread_id: Option<&'a str>,
    pub author_id: Option<&'a str>,
    pub created_at: Option<i64>,
    pub edited_at: Option<i64>,
    pub deleted: i64,
    pub deleted_at: Option<i64>,
    pub seq: i64,
    pub rev: i64,
    pub view_json: Option<&'a str>,
    pub updated_at: i64,
}

/// One thread row as the projection writes it.
pub struct ThreadProjection<'a> {
    pub tenant_key: &'a str,
    pub connector_id: &'a str,
    pub thread_id: &'a str,
    pub parent_channel_id: Option<&'a str>,
    pub guild_id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub deleted: i64,
    pub seq: i64,
    pub rev: i64,
    pub view_json: &'a str,
    pub updated_at: i64,
}

pub struct Signals<'a> {
    pub(super) db: &'a Db,
}

impl Signals<'_> {
    pub async fn recent(
        &self,
        tenant: &str,
        channel: Option<&str>,
        connector: Option<&str>,
        before_created_at: Option<i64>,
        include_deleted: bool,
        limit: usize,
    ) -> Result<Vec<ViewRow>> {
        self.db
            .stmt(
                "SELECT view_json, seq FROM signals WHERE tenant_key = ?1 \
             AND (?2 IS NULL OR channel_id = ?2) AND (?3 IS NULL OR connector_id = ?3) \
             AND (?4 IS NULL OR created_at < ?4) AND (?5 = 1 OR deleted = 0) \
             AND view_json IS NOT NULL ORDER BY created_at DESC, message_id DESC LIMIT ?6",
                &[
                    s(tenant),
                    opt(channel),
                    opt(connector),
                    opt_n(before_created_at),
                    b(include_deleted),
                    n(limit as i64),
                ],
            )?
            .all()
            .await?
            .results()
    }

    pub async fn recent_threads(&self, tenant: &str, limit: usize) -> Result<Vec<ViewRow>> {
        self.db
            .stmt(
                "SELECT view_json, seq FROM threads WHERE tenant_key = ?1 \
             ORDER BY updated_at DESC LIMIT ?2",
                &[s(tenant), n(limit as i64)],
            )?
            .all()
            .await?
            .results()
    }

    /// Applies retention to the projection. Returns rows removed.
    pub async fn purge_before(&self, cutoff_ms: i64) -> Result<usize> {
        let a = self
            .db
            .changes("DELETE FROM signals WHERE created_at < ?1", &[n(cutoff_ms)])
            .await?;
        let b = self
            .db
            .changes("DELETE FROM threads WHERE updated_at < ?1", &[n(cutoff_ms)])
            .await?;
        Ok(a + b)
    }

    pub fn project_signal(&self, r: &SignalProjection<'_>) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO signals (tenant_key, connector_id, message_id, guild_id, channel_id, \
             thread_id, author_id, created_at, edited_at, deleted, deleted_at, seq, rev, \
             view_json, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
             ON CONFLICT (tenant_key, connector_id, message_id) DO UPDATE SET \
             guild_id = excluded.guild_id, channel_id = excluded.channel_id, \
             thread_id = excluded.thread_id, author_id = excluded.author_id, \
             created_at = excluded.created_at, edited_at = excluded.edited_at, \
             deleted = excluded.deleted, deleted_at = excluded.deleted_at, seq = excluded.seq, \
             rev = excluded.rev, view_json = excluded.view_json, updated_at = excluded.updated_at \
             WHERE excluded.rev > signals.rev",
            &[
                s(r.tenant_key),
                s(r.connector_id),
                s(r.message_id),
                opt(r.guild_id),
                opt(r.channel_id),
                opt(r.thread_id),
                opt(r.author_id),
                opt_n(r.created_at),
                opt_n(r.edited_at),
                n(r.deleted),
                opt_n(r.deleted_at),
                n(r.seq),
                n(r.rev),
                opt(r.view_json),
                n(r.updated_at),
            ],
        )
    }

    pub fn project_thread(&self, r: &ThreadProjection<'_>) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO threads (tenant_key, connector_id, thread_id, parent_channel_id, guild_id, \
             name, deleted, seq, rev, view_json, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (tenant_key, connector_id, thread_id) DO UPDATE SET \
             parent_channel_id = excluded.parent_channel_id, guild_id = excluded.guild_id, \
             name = excluded.name, deleted = excluded.deleted, seq = excluded.seq, \
             rev = excluded.rev, view_json = excluded.view_json, updated_at = excluded.updated_at \
             WHERE excluded.rev > threads.rev",
            &[
                s(r.tenant_key),
                s(r.connector_id),
                s(r.thread_id),
                opt(r.parent_channel_id),
                opt(r.guild_id),
                opt(r.name),
                n(r.deleted),
                n(r.seq),
                n(r.rev),
                s(r.view_json),
                n(r.updated_at),
            ],
        )
    }
}

/// A signal as the customer history pages it: the view and its cursor position.
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryRow {
    pub view_json: String,
    pub created_at: i64,
    pub message_id: String,
}

impl Signals<'_> {
    /// Visible signals in `channels` (a customer's tier scope), newest first, strictly before
    /// `before` = (created_at, message_id). The channel list travels as one JSON parameter, so
    /// a scope of any size is one bound value.
    pub async fn history(
        &self,
        tenant: &str,
        channels: &[String],
        before: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<HistoryRow>> {
        let list = serde_json::to_string(channels).unwrap_or_else(|_| "[]".into());
        let (at, id) = match before {
            Some((at, id)) => (Some(at), id),
            None => (None, ""),
        };
        self.db
            .stmt(
                "SELECT view_json, created_at, message_id FROM signals WHERE tenant_key = ?1 \
                 AND channel_id IN (SELECT value FROM json_each(?2)) AND deleted = 0 \
                 AND view_json IS NOT NULL AND created_at IS NOT NULL \
                 AND (?3 IS NULL OR created_at < ?3 OR (created_at = ?3 AND message_id < ?4)) \
                 ORDER BY created_at DESC, message_id DESC LIMIT ?5",
                &[s(tenant), s(&list), opt_n(at), s(id), n(limit as i64)],
            )?
            .all()
            .await?
            .results()
    }
}
