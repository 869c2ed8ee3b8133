//! The seam between dispatch and where attachment bytes come from. For now the connector's
//! attachment URL is fetched at send time (with a size cap and a timeout); the `MEDIA` store
//! (R2, fetched once when the signal lands) replaces the body of [`fetch`] and nothing else.

use relay_core::protocol::Attachment;
use worker::{AbortController, Fetch, Method, Request, RequestInit};

/// Discord's default per-file upload limit: larger files are not fetched.
pub const MAX_BYTES: u64 = 10 * 1024 * 1024;
pub const TIMEOUT_MS: u64 = 10_000;

/// One attachment's bytes, ready to upload as `files[n]`.
pub struct MediaFile {
    pub bytes: Vec<u8>,
    pub content_type: String,
    pub filename: String,
}

/// Why bytes could not be had now; the job retries (a transient fault of ours or the host's).
#[derive(Debug)]
pub struct MediaError(pub String);

/// The bytes of `attachment` for tenant `tenant`, or `None` when they are gone for good (the
/// URL expired or vanished, or the file is over the cap).
pub async fn fetch(tenant: &str, attachment: &Attachment) -> Result<Option<MediaFile>, MediaError> {
    let _ = tenant; // the MEDIA store keys objects by tenant; the URL fetch needs no key
    if attachment.size > MAX_BYTES {
        return Ok(None);
    }
    let controller = AbortController::default();
    let signal = controller.signal();
    let mut init = RequestInit::new();
    init.with_method(Method::Get);
    let req = Request::new_with_init(&attachment.source_url, &init)
        .map_err(|e| MediaError(e.to_string()))?;
    let request = Fetch::Request(req);
    let fetch = request.send_with_signal(&signal);
    let timeout = worker::Delay::from(std::time::Duration::from_millis(TIMEOUT_MS));
    futures_util::pin_mut!(fetch);
    futures_util::pin_mut!(timeout);
    let mut resp = match futures_util::future::select(fetch, timeout).await {
        futures_util::future::Either::Left((r, _)) => r.map_err(|e| MediaError(e.to_string()))?,
        futures_util::future::Either::Right(_) => {
            controller.abort();
            return Err(MediaError("attachment fetch timed out".into()));
        }
    };
    match resp.status_code() {
        200..=299 => {}
        403 | 404 | 410 => return Ok(None),
        s => return Err(MediaError(format!("attachment host answered {s}"))),
    }
    let bytes = resp.bytes().await.map_err(|e| MediaError(e.to_string()))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Ok(None);
    }
    let content_type = attachment
        .content_type
        .clone()
        .or_else(|| resp.headers().get("content-type").ok().flatten())
        .unwrap_or_else(|| "application/octet-stream".into());
    Ok(Some(MediaFile {
        bytes,
        content_type,
        filename: attachment.filename.clone(),
    }))
}
