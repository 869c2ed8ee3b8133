//! `media_attachments`: each attachment's fetch record (relay_media::claim::Record) and, once
//! stored, what we keep of it. Every change after the insert is a compare-and-swap on
//! `version`, so of two racing claimers exactly one wins and a fetch whose lease was taken
//! over cannot overwrite its successor.

use relay_media::claim::{Record, Status};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::Result;

use super::bind::{n, opt, opt_n, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct MediaRow {
    pub tenant_key: String,
    pub attachment_id: String,
    pub message_id: Option<String>,
    pub channel_id: Option<String>,
    pub filename: String,
    pub source_url: String,
    pub declared_size: i64,
    pub declared_type: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub lease_until: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub version: i64,
    pub content_type: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub r2_key: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub stored_at: Option<i64>,
}

impl MediaRow {
    pub fn record(&self) -> Record {
        Record {
            // The CHECK constraint admits only known statuses.
            status: Status::parse(&self.status).unwrap_or(Status::Failed),
            attempts: self.attempts.max(0) as u32,
            lease_until: self.lease_until,
            next_attempt_at: self.next_attempt_at,
            version: self.version,
        }
    }

    /// The operator's view (no source URL: it is a bearer link to the CDN while it lives).
    pub fn to_json(&self) -> Value {
        json!({
            "attachment_id": self.attachment_id,
            "message_id": self.message_id,
            "channel_id": self.channel_id,
            "filename": self.filename,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at_ms": self.next_attempt_at,
            "lease_until_ms": self.lease_until,
            "declared_size": self.declared_size,
            "declared_type": self.declared_type,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "last_error": self.last_error,
            "created_at_ms": self.created_at,
            "updated_at_ms": self.updated_at,
            "stored_at_ms": self.stored_at,
        })
    }
}

/// What the connector told us about an attachment.
pub struct NewAttachment<'a> {
    pub attachment_id: &'a str,
    pub message_id: Option<&'a str>,
    pub channel_id: Option<&'a str>,
    pub filename: &'a str,
    pub source_url: &'a str,
    pub declared_size: i64,
    pub declared_type: Option<&'a str>,
}

/// What a finished fetch leaves besides its record.
pub enum Settled<'a> {
    Stored {
        content_type: &'a str,
        size: i64,
        sha256: &'a str,
        r2_key: &'a str,
    },
    NotStored {
        error: &'a str,
    },
}

pub struct Media<'a> {
    pub(super) db: &'a Db,
}

const COLUMNS: &str = "tenant_key, attachment_id, message_id, channel_id, filename, source_url, \
    declared_size, declared_type, status, attempts, lease_until, next_attempt_at, version, \
    content_type, size, sha256, r2_key, last_error, created_at, updated_at, stored_at";

impl Media<'_> {
    /// Records an attachment once; a known one keeps its record (`false`).
    pub async fn register(&self, tenant: &str, a: &NewAttachment<'_>, now: i64) -> Result<bool> {
        let changed = self
            .db
            .changes(
                "INSERT INTO media_attachments (tenant_key, attachment_id, message_id, channel_id, \
                 filename, source_url, declared_size, declared_type, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
                 ON CONFLICT (tenant_key, attachment_id) DO NOTHING",
                &[
                    s(tenant),
                    s(a.attachment_id),
                    opt(a.message_id),
                    opt(a.channel_id),
                    s(a.filename),
                    s(a.source_url),
                    n(a.declared_size),
                    opt(a.declared_type),
                    n(now),
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    pub async fn get(&self, tenant: &str, attachment: &str) -> Result<Option<MediaRow>> {
        self.db
            .stmt(
                &format!(
                    "SELECT {COLUMNS} FROM media_attachments WHERE tenant_key = ?1 AND attachment_id = ?2"
                ),
                &[s(tenant), s(attachment)],
            )?
            .first(None)
            .await
    }

    /// Writes `next` if the row is still at `expected` (the version it was read at); `false`
    /// when someone else wrote first. `source_url` replaces the stored URL when given.
    pub async fn swap(
        &self,
        tenant: &str,
        attachment: &str,
        expected: i64,
        next: &Record,
        source_url: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let changed = self
            .db
            .changes(
                "UPDATE media_attachments SET status = ?4, attempts = ?5, lease_until = ?6, \
                 next_attempt_at = ?7, version = ?8, source_url = COALESCE(?9, source_url), \
                 updated_at = ?10 \
                 WHERE tenant_key = ?1 AND attachment_id = ?2 AND version = ?3",
                &[
                    s(tenant),
                    s(attachment),
                    n(expected),
                    s(next.status.as_str()),
                    n(next.attempts as i64),
                    opt_n(next.lease_until),
                    opt_n(next.next_attempt_at),
                    n(next.version),
                    opt(source_url),
                    n(now),
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    /// A claimed fetch's end, guarded by the claimed version like [`Self::swap`].
    pub async fn settle(
        &self,
        tenant: &str,
        attachment: &str,
        claimed: i64,
        next: &Record,
        what: &Settled<'_>,
        now: i64,
    ) -> Result<bool> {
        let (content_type, size, sha, key, error, stored_at) = match what {
            Settled::Stored {
                content_type,
                size,
                sha256,
                r2_key,
            } => (
                Some(*content_type),
                Some(*size),
                Some(*sha256),
                Some(*r2_key),
                None,
                Some(now),
            ),
            Settled::NotStored { error } => (None, None, None, None, Some(*error), None),
        };
        let changed = self
            .db
            .changes(
                "UPDATE media_attachments SET status = ?4, attempts = ?5, lease_until = ?6, \
                 next_attempt_at = ?7, version = ?8, content_type = COALESCE(?9, content_type), \
                 size = COALESCE(?10, size), sha256 = COALESCE(?11, sha256), \
                 r2_key = COALESCE(?12, r2_key), last_error = ?13, \
                 stored_at = COALESCE(?14, stored_at), updated_at = ?15 \
                 WHERE tenant_key = ?1 AND attachment_id = ?2 AND version = ?3",
                &[
                    s(tenant),
                    s(attachment),
                    n(claimed),
                    s(next.status.as_str()),
                    n(next.attempts as i64),
                    opt_n(next.lease_until),
                    opt_n(next.next_attempt_at),
                    n(next.version),
                    opt(content_type),
                    opt_n(size),
                    opt(sha),
                    opt(key),
                    opt(error),
                    opt_n(stored_at),
                    n(now),
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Work for the sweep: failures due again, claims whose lease ran out, and rows never
    /// claimed (the landing fetch's invocation ended first) older than `pending_before`.
    pub async fn due(&self, now: i64, pending_before: i64, limit: i64) -> Result<Vec<MediaRow>> {
        self.db
            .stmt(
                &format!(
                    "SELECT {COLUMNS} FROM media_attachments \
                     WHERE (status = 'failed' AND next_attempt_at <= ?1) \
                        OR (status = 'fetching' AND lease_until <= ?1) \
                        OR (status = 'pending' AND created_at <= ?2) \
                     ORDER BY updated_at LIMIT ?3"
                ),
                &[n(now), n(pending_before), n(limit)],
            )?
            .all()
            .await?
            .results()
    }

    /// A tenant's records, newest first, optionally of one status.
    pub async fn list(
        &self,
        tenant: &str,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<MediaRow>> {
        self.db
            .stmt(
                &format!(
                    "SELECT {COLUMNS} FROM media_attachments \
                     WHERE tenant_key = ?1 AND (?2 IS NULL OR status = ?2) \
                     ORDER BY created_at DESC, attachment_id DESC LIMIT ?3"
                ),
                &[s(tenant), opt(status), n(limit)],
            )?
            .all()
            .await?
            .results()
    }

    /// Retention's candidates: first seen before `cutoff`, oldest first.
    pub async fn older_than(&self, cutoff: i64, limit: i64) -> Result<Vec<MediaRow>> {
        self.db
            .stmt(
                &format!(
                    "SELECT {COLUMNS} FROM media_attachments WHERE created_at < ?1 \
                     ORDER BY created_at LIMIT ?2"
                ),
                &[n(cutoff), n(limit)],
            )?
            .all()
            .await?
            .results()
    }

    /// Removes records (retention), in one batch.
    pub async fn delete(&self, ids: &[(String, String)]) -> Result<()> {
        let stmts = ids
            .iter()
            .map(|(t, a)| {
                self.db.stmt(
                    "DELETE FROM media_attachments WHERE tenant_key = ?1 AND attachment_id = ?2",
                    &[s(t), s(a)],
                )
            })
            .collect::<Result<Vec<_>>>()?;
        self.db.batch(stmts).await
    }
}
