//! The seam between dispatch and where attachment bytes come from: the media store
//! (`crate::media`, R2 `MEDIA`). The landing fetch has normally stored the bytes already (from
//! the CDN URL while it was still valid); when it has not, [`crate::media::fetch`] claims and
//! fetches once — the two never both fetch. Types are sniffed from the stored bytes.

use std::collections::BTreeMap;

use relay_core::convergence::SignalView;
use relay_core::ids::AttachmentId;
use relay_mirror::jobs::SendResult;
use relay_mirror::render::DEFAULT_UPLOAD_LIMIT;
use worker::Env;

use crate::config::MediaConfig;
use crate::media::FetchError;

pub use crate::media::fetch;

/// How soon a job asks again while another caller fetches its file.
const IN_FLIGHT_POLL_MS: i64 = 500;

/// A store that has no bytes yet is not a failure of the job: it runs again when the store
/// says the bytes may be there (a claim in flight, a retry due), like a rate limit; only our
/// own transient fault counts as one.
pub fn retry(e: FetchError, now_ms: i64) -> SendResult {
    match e {
        // The claim's holder (most often the landing fetch, a few ms from done) may finish
        // long before its claim would expire: look again soon, never later than the expiry.
        FetchError::InFlight { retry_at_ms } => SendResult::NotBefore {
            at_ms: retry_at_ms.min(now_ms + IN_FLIGHT_POLL_MS).max(now_ms + 1),
        },
        FetchError::RetryAt { at_ms } => SendResult::NotBefore {
            at_ms: at_ms.max(now_ms + 1),
        },
        FetchError::Unavailable(reason) => SendResult::Transient {
            reason: format!("media store: {reason}"),
        },
    }
}

/// Our signed links for the view's files over Discord's upload limit (rendered as links
/// instead of uploads). Without a signing key or `MEDIA_PUBLIC_BASE` there are none, and the
/// renderer lists such files as dropped.
pub fn links(env: &Env, tenant: &str, view: &SignalView) -> BTreeMap<AttachmentId, String> {
    let big: Vec<&AttachmentId> = view
        .attachments
        .iter()
        .filter(|a| a.size > DEFAULT_UPLOAD_LIMIT)
        .map(|a| &a.discord_attachment_id)
        .collect();
    if big.is_empty() {
        return BTreeMap::new();
    }
    let cfg = MediaConfig::from_env(env);
    big.into_iter()
        .filter_map(|id| {
            crate::media::signed_url(&cfg, tenant, id, cfg.link_ttl_s)
                .ok()
                .map(|u| (id.clone(), u))
        })
        .collect()
}
