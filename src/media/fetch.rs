//! One fetch from the CDN into the bucket: allowed origins only, a timeout over the whole
//! transfer, the size cap enforced while reading (a `Content-Length` over it stops before the
//! body), the type sniffed from the bytes, and the object written only once complete — so a
//! too-large or broken transfer leaves no partial object.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use worker::{AbortController, Bucket, Delay, Fetch, HttpMetadata, Method, Request, RequestInit};

use crate::config::MediaConfig;

#[derive(Debug)]
pub enum Fetched {
    Stored {
        content_type: String,
        size: u64,
        sha256: String,
    },
    TooLarge,
    Failed {
        /// Retrying the same URL cannot help (404/403/410, a refused origin).
        permanent: bool,
        error: String,
    },
}

fn failed(permanent: bool, error: impl Into<String>) -> Fetched {
    Fetched::Failed {
        permanent,
        error: error.into(),
    }
}

enum Body {
    Complete(Vec<u8>),
    TooLarge,
}

pub async fn fetch_into(
    bucket: &Bucket,
    cfg: &MediaConfig,
    url: &str,
    key: &str,
    filename: &str,
) -> Fetched {
    if !relay_media::source::allowed(url, &cfg.source_origins) {
        return failed(true, "source_not_allowed");
    }
    let controller = AbortController::default();
    let signal = controller.signal();
    let transfer = Box::pin(download(url, cfg.limits, signal));
    let timeout = Box::pin(Delay::from(Duration::from_millis(cfg.limits.timeout_ms)));
    let body = match select(transfer, timeout).await {
        Either::Left((res, _)) => res,
        Either::Right(((), _)) => {
            controller.abort();
            return failed(false, "timeout");
        }
    };
    let bytes = match body {
        Ok(Body::Complete(b)) => b,
        Ok(Body::TooLarge) => return Fetched::TooLarge,
        Err(f) => return f,
    };
    let media_type = relay_media::sniff::sniff(&bytes);
    let sha256 = relay_core::encoding::hex(&Sha256::digest(&bytes));
    let size = bytes.len() as u64;
    let put = bucket
        .put(key, bytes)
        .http_metadata(HttpMetadata {
            content_type: Some(media_type.mime().to_string()),
            ..HttpMetadata::default()
        })
        .custom_metadata(HashMap::from([
            ("sha256".to_string(), sha256.clone()),
            ("filename".to_string(), filename.chars().take(255).collect()),
        ]))
        .execute()
        .await;
    match put {
        Ok(_) => Fetched::Stored {
            content_type: media_type.mime().to_string(),
            size,
            sha256,
        },
        Err(e) => failed(false, format!("bucket write failed: {e}")),
    }
}

async fn download(
    url: &str,
    limits: relay_media::Limits,
    signal: worker::AbortSignal,
) -> Result<Body, Fetched> {
    let mut init = RequestInit::new();
    init.with_method(Method::Get);
    let req = Request::new_with_init(url, &init).map_err(|e| failed(true, e.to_string()))?;
    let mut resp = Fetch::Request(req)
        .send_with_signal(&signal)
        .await
        .map_err(|e| failed(false, format!("fetch failed: {e}")))?;
    let status = resp.status_code();
    match status {
        200..=299 => {}
        // The CDN answers 404 for an expired or unknown link: the same URL will not work again.
        400..=499 if status != 408 && status != 429 => {
            return Err(failed(true, format!("source answered {status}")))
        }
        _ => return Err(failed(false, format!("source answered {status}"))),
    }
    let declared = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| relay_media::over_cap(&limits, n)) {
        return Ok(Body::TooLarge);
    }
    let mut stream = resp
        .stream()
        .map_err(|e| failed(false, format!("body unreadable: {e}")))?;
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limits.max_bytes) as usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| failed(false, format!("body interrupted: {e}")))?;
        if relay_media::over_cap(&limits, (bytes.len() + chunk.len()) as u64) {
            return Ok(Body::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body::Complete(bytes))
}
