//! The media store: every attachment of a landed signal fetched once into R2 (`MEDIA`), so
//! pages and mirrors never depend on Discord's expiring CDN URLs.
//!
//! The rules are `relay_media` (sniffing, the claim, links); this module moves bytes and rows:
//! `media_attachments` (`db::media`) holds each attachment's claim record, the bucket its bytes
//! under `relay_media::key::object_key`. Entry points:
//!
//! - [`land`]: after the tenant object committed a batch (from the ingest handler's
//!   `wait_until`), fetch what it carried;
//! - [`fetch`]: the bytes for a caller that needs them now (the mirror), claiming and fetching
//!   first when nobody has yet — still one fetch;
//! - [`signed_url`]: an absolute link to our copy (a mirrored file over Discord's upload limit);
//! - [`sweep`]: from the scheduled handler, retries due failures and dead claims;
//! - [`rearm`]: an operator's re-fetch.

mod fetch;

use relay_core::ids::AttachmentId;
use relay_core::protocol::Attachment;
use relay_media::claim::{self, Decision, Outcome, Record};
use relay_media::MediaError;
use serde_json::json;
use worker::{Bucket, Env};

use crate::config::MediaConfig;
use crate::db::media::{MediaRow, NewAttachment, Settled};
use crate::db::Db;
use crate::runtime::{log, now_ms};

pub use fetch::Fetched;

/// A stored attachment's bytes, as the mirror uploads them.
#[derive(Debug, Clone)]
pub struct Stored {
    pub bytes: Vec<u8>,
    /// Sniffed from the bytes, never the upstream header.
    pub content_type: String,
    pub filename: String,
    pub size: u64,
    /// Hex SHA-256 of `bytes`: the same file across edits has the same digest.
    pub sha256: String,
}

/// Why [`fetch`] has no bytes *yet*; `Ok(None)` from it means "never" (too large, given up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Another caller holds the claim until then: ask again after it.
    InFlight { retry_at_ms: i64 },
    /// The last attempt failed; the next is due then.
    RetryAt { at_ms: i64 },
    /// D1 or R2 failed (our transient fault).
    Unavailable(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::InFlight { retry_at_ms } => {
                write!(f, "fetch in flight until {retry_at_ms}")
            }
            FetchError::RetryAt { at_ms } => write!(f, "fetch failed; retry at {at_ms}"),
            FetchError::Unavailable(e) => write!(f, "media store unavailable: {e}"),
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> FetchError {
    FetchError::Unavailable(e.to_string())
}

/// An attachment as a landed signal carries it.
#[derive(Debug, Clone)]
pub struct Landing {
    pub message_id: Option<String>,
    pub channel_id: Option<String>,
    pub attachment: Attachment,
}

/// Where an attachment stands after [`ensure`].
enum Ensured {
    Stored(Box<MediaRow>),
    Not(Decision),
}

struct Store<'a> {
    db: &'a Db,
    bucket: &'a Bucket,
    cfg: &'a MediaConfig,
    tenant: &'a str,
}

/// A claim lost to a racing writer is re-read at most this many times.
const CAS_ROUNDS: usize = 4;

impl Store<'_> {
    /// Registers the attachment, then follows its record: claims and fetches when the record
    /// says so (from `url`, the freshest URL known), otherwise reports where it stands.
    async fn ensure(&self, landing: &Landing) -> Result<Ensured, FetchError> {
        let a = &landing.attachment;
        let id = a.discord_attachment_id.as_str();
        let now = now_ms();
        self.db
            .media()
            .register(
                self.tenant,
                &NewAttachment {
                    attachment_id: id,
                    message_id: landing.message_id.as_deref(),
                    channel_id: landing.channel_id.as_deref(),
                    filename: &a.filename,
                    source_url: &a.source_url,
                    declared_size: a.size.min(i64::MAX as u64) as i64,
                    declared_type: a.content_type.as_deref(),
                },
                now,
            )
            .await
            .map_err(unavailable)?;
        for _ in 0..CAS_ROUNDS {
            let Some(row) = self
                .db
                .media()
                .get(self.tenant, id)
                .await
                .map_err(unavailable)?
            else {
                return Err(unavailable("media record vanished"));
            };
            let now = now_ms();
            let mut record = row.record();
            let url_changed = row.source_url != a.source_url;
            if let Some(fresh) = claim::refresh_source(&record, url_changed, now) {
                if !self
                    .db
                    .media()
                    .swap(
                        self.tenant,
                        id,
                        row.version,
                        &fresh,
                        Some(&a.source_url),
                        now,
                    )
                    .await
                    .map_err(unavailable)?
                {
                    continue;
                }
                record = fresh;
            }
            match claim::decide(&record, now, &self.cfg.policy) {
                Decision::Claim { record: claimed } => {
                    // The claim fetches from `url`: keep it as the record's freshest link.
                    if !self
                        .db
                        .media()
                        .swap(
                            self.tenant,
                            id,
                            record.version,
                            &claimed,
                            Some(&a.source_url),
                            now,
                        )
                        .await
                        .map_err(unavailable)?
                    {
                        continue;
                    }
                    return self.run_claim(&row, a, &claimed).await;
                }
                Decision::Stored => return Ok(Ensured::Stored(Box::new(row))),
                other => return Ok(Ensured::Not(other)),
            }
        }
        Err(unavailable("media record contended"))
    }

    /// The one fetch of a claim we hold, and its settlement.
    async fn run_claim(
        &self,
        row: &MediaRow,
        a: &Attachment,
        claimed: &Record,
    ) -> Result<Ensured, FetchError> {
        let id = a.discord_attachment_id.as_str();
        let key = relay_media::key::object_key(self.tenant, &a.discord_attachment_id)
            .ok_or_else(|| unavailable("tenant key is not a slug"))?;
        let result =
            fetch::fetch_into(self.bucket, self.cfg, &a.source_url, &key, &a.filename).await;
        let now = now_ms();
        let (outcome, settled) = match &result {
            Fetched::Stored {
                content_type,
                size,
                sha256,
            } => (
                Outcome::Stored,
                Settled::Stored {
                    content_type,
                    size: *size as i64,
                    sha256,
                    r2_key: &key,
                },
            ),
            Fetched::TooLarge => (Outcome::TooLarge, Settled::NotStored { error: "too_large" }),
            Fetched::Failed { permanent, error } => (
                if *permanent {
                    Outcome::Permanent
                } else {
                    Outcome::Transient
                },
                Settled::NotStored { error },
            ),
        };
        let next = claim::settle(claimed, outcome, now, &self.cfg.policy);
        let kept = self
            .db
            .media()
            .settle(self.tenant, id, claimed.version, &next, &settled, now)
            .await
            .map_err(unavailable)?;
        log(
            if matches!(result, Fetched::Failed { .. }) {
                "warn"
            } else {
                "info"
            },
            "media fetch",
            json!({
                "tenant_key": self.tenant, "attachment_id": id, "outcome": format!("{outcome:?}"),
                "attempt": claimed.attempts, "kept": kept,
                "error": match &result { Fetched::Failed { error, .. } => Some(error.as_str()), _ => None },
            }),
        );
        if !kept {
            // Our lease ran out and another caller took over: its record is the truth.
            return Ok(Ensured::Not(Decision::Busy { until: now }));
        }
        match next.status {
            claim::Status::Stored => {
                let mut row = row.clone();
                row.status = "stored".into();
                row.r2_key = Some(key.clone());
                if let Settled::Stored {
                    content_type,
                    size,
                    sha256,
                    ..
                } = settled
                {
                    row.content_type = Some(content_type.to_string());
                    row.size = Some(size);
                    row.sha256 = Some(sha256.to_string());
                }
                Ok(Ensured::Stored(Box::new(row)))
            }
            _ => Ok(Ensured::Not(claim::decide(&next, now, &self.cfg.policy))),
        }
    }
}

fn bucket(env: &Env) -> Result<Bucket, FetchError> {
    env.bucket("MEDIA").map_err(unavailable)
}

/// Fetches every attachment of a committed batch once. Runs after the response (the ingest
/// handler's `wait_until`); failures stay recorded for the sweep, nothing is raised.
pub async fn land(env: Env, tenant: String, items: Vec<Landing>) {
    let cfg = MediaConfig::from_env(&env);
    let (db, bucket) = match (Db::new(&env), bucket(&env)) {
        (Ok(db), Ok(b)) => (db, b),
        _ => {
            log(
                "error",
                "media: no database or bucket",
                json!({"tenant_key": tenant}),
            );
            return;
        }
    };
    let store = Store {
        db: &db,
        bucket: &bucket,
        cfg: &cfg,
        tenant: &tenant,
    };
    // One at a time, in the batch's order: a batch rarely carries more than a few files, and
    // what the invocation's time does not reach stays `pending` for the sweep.
    for l in &items {
        if let Err(e) = store.ensure(l).await {
            log(
                "error",
                "media: landing fetch not recorded",
                json!({"tenant_key": tenant, "attachment_id": l.attachment.discord_attachment_id.as_str(), "error": e.to_string()}),
            );
        }
    }
}

/// The stored bytes of `attachment`, fetching (and claiming) first when no fetch has happened
/// yet. `Ok(None)`: it will never be stored (larger than the cap, or every attempt failed —
/// link it with [`signed_url`] only if it is stored; otherwise name the file). `Err`: not yet —
/// retry at the time given, or after our transient fault.
pub async fn fetch(
    env: &Env,
    tenant: &str,
    attachment: &Attachment,
) -> Result<Option<Stored>, FetchError> {
    let cfg = MediaConfig::from_env(env);
    let db = Db::new(env).map_err(unavailable)?;
    let bucket = bucket(env)?;
    let store = Store {
        db: &db,
        bucket: &bucket,
        cfg: &cfg,
        tenant,
    };
    let landing = Landing {
        message_id: None,
        channel_id: None,
        attachment: attachment.clone(),
    };
    match store.ensure(&landing).await? {
        Ensured::Stored(row) => read(&bucket, &row).await,
        Ensured::Not(d) => not_stored(d),
    }
}

fn not_stored(d: Decision) -> Result<Option<Stored>, FetchError> {
    match d {
        Decision::Busy { until } => Err(FetchError::InFlight { retry_at_ms: until }),
        Decision::Wait { until } => Err(FetchError::RetryAt { at_ms: until }),
        Decision::TooLarge | Decision::GaveUp => Ok(None),
        // `ensure` acts on these itself.
        Decision::Claim { .. } | Decision::Stored => Err(unavailable("unexpected claim state")),
    }
}

async fn read(bucket: &Bucket, row: &MediaRow) -> Result<Option<Stored>, FetchError> {
    let key = row
        .r2_key
        .as_deref()
        .ok_or_else(|| unavailable("stored row without a key"))?;
    let obj = bucket.get(key).execute().await.map_err(unavailable)?;
    let Some(body) = obj.as_ref().and_then(|o| o.body()) else {
        return Err(unavailable(format!("object {key} missing from the bucket")));
    };
    let bytes = body.bytes().await.map_err(unavailable)?;
    Ok(Some(Stored {
        size: bytes.len() as u64,
        bytes,
        content_type: row
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into()),
        filename: row.filename.clone(),
        sha256: row.sha256.clone().unwrap_or_default(),
    }))
}

/// An absolute signed link to our copy, living at least `ttl_s` (rounded up to the hour).
/// Refused without a signing key or a public base (`MEDIA_PUBLIC_BASE`).
pub fn signed_url(
    config: &MediaConfig,
    tenant: &str,
    attachment_id: &AttachmentId,
    ttl_s: i64,
) -> Result<String, MediaError> {
    let signer = config.signer.as_ref().map_err(|e| *e)?;
    let base = config
        .public_base
        .as_ref()
        .ok_or(MediaError::Unconfigured)?;
    let exp = relay_media::link::expiry(now_ms() / 1000, ttl_s);
    Ok(base.url(signer, tenant, attachment_id, exp))
}

/// The media route's view of a row it has verified a link for: stored (the object's key), or
/// not (why), fetching first when the row is claimable — a viewer who opens a link before the
/// landing fetch ran gets the image, not an error.
pub async fn for_route(
    env: &Env,
    cfg: &MediaConfig,
    row: MediaRow,
) -> Result<Option<MediaRow>, FetchError> {
    if row.status == "stored" {
        return Ok(Some(row));
    }
    if !matches!(
        claim::decide(&row.record(), now_ms(), &cfg.policy),
        Decision::Claim { .. }
    ) {
        return Ok(None);
    }
    let db = Db::new(env).map_err(unavailable)?;
    let bucket = bucket(env)?;
    let store = Store {
        db: &db,
        bucket: &bucket,
        cfg,
        tenant: &row.tenant_key,
    };
    let Ok(attachment_id) = AttachmentId::parse(&row.attachment_id) else {
        return Ok(None);
    };
    let landing = Landing {
        message_id: row.message_id.clone(),
        channel_id: row.channel_id.clone(),
        attachment: Attachment {
            discord_attachment_id: attachment_id,
            filename: row.filename.clone(),
            source_url: row.source_url.clone(),
            size: row.declared_size.max(0) as u64,
            content_type: row.declared_type.clone(),
        },
    };
    match store.ensure(&landing).await? {
        Ensured::Stored(row) => Ok(Some(*row)),
        Ensured::Not(_) => Ok(None),
    }
}

/// Retries what is due (from the scheduled handler): failures past their backoff, claims whose
/// lease ran out, rows whose landing fetch never started.
pub async fn sweep(env: &Env) -> usize {
    let cfg = MediaConfig::from_env(env);
    let Ok(db) = Db::new(env) else {
        return 0;
    };
    let now = now_ms();
    let rows = match db.media().due(now, now - cfg.policy.lease_ms, 50).await {
        Ok(r) => r,
        Err(e) => {
            log(
                "error",
                "media sweep: list failed",
                json!({"error": e.to_string()}),
            );
            return 0;
        }
    };
    let mut done = 0;
    for row in rows {
        if let Ok(Some(_)) = for_route(env, &cfg, row).await {
            done += 1;
        }
    }
    done
}

/// An operator's re-fetch of one attachment: a failed (or dead-claimed) record is due now
/// with a fresh budget, then fetched from the newest URL we have. `Ok(None)`: no such record.
pub async fn rearm(
    env: &Env,
    tenant: &str,
    attachment_id: &str,
) -> Result<Option<MediaRow>, FetchError> {
    let cfg = MediaConfig::from_env(env);
    let db = Db::new(env).map_err(unavailable)?;
    let Some(row) = db
        .media()
        .get(tenant, attachment_id)
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    let now = now_ms();
    if let Some(next) = claim::rearm(&row.record(), now) {
        db.media()
            .swap(tenant, attachment_id, row.version, &next, None, now)
            .await
            .map_err(unavailable)?;
    }
    let Some(row) = db
        .media()
        .get(tenant, attachment_id)
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    for_route(env, &cfg, row).await?;
    db.media()
        .get(tenant, attachment_id)
        .await
        .map_err(unavailable)
}

/// Adds our signed `media_url` to every attachment in `v` (signal views shown to an
/// authenticated viewer). Without a signing key nothing is added: the pages then show the file
/// as not available rather than the CDN's expiring link.
pub fn link_views(cfg: &MediaConfig, tenant: &str, v: &mut serde_json::Value) {
    if let Ok(signer) = &cfg.signer {
        let exp = relay_media::link::expiry(now_ms() / 1000, cfg.link_ttl_s);
        relay_media::decorate::value(v, signer, tenant, exp);
    }
}

/// Retention: records (and their objects) first seen before `cutoff_ms`, a bounded number per
/// run; the hourly cron works through a backlog. Returns how many records went.
pub async fn purge_before(env: &Env, cutoff_ms: i64) -> Result<usize, FetchError> {
    let db = Db::new(env).map_err(unavailable)?;
    let bucket = bucket(env)?;
    let rows = db
        .media()
        .older_than(cutoff_ms, 500)
        .await
        .map_err(unavailable)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let keys: Vec<String> = rows.iter().filter_map(|r| r.r2_key.clone()).collect();
    // Objects first: a record without its object is re-fetchable, an object without a record
    // would be an orphan nobody lists.
    if !keys.is_empty() {
        bucket.delete_multiple(keys).await.map_err(unavailable)?;
    }
    let ids: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.tenant_key.clone(), r.attachment_id.clone()))
        .collect();
    db.media().delete(&ids).await.map_err(unavailable)?;
    Ok(rows.len())
}
