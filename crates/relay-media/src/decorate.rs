//! Our signed `media_url` on every attachment a viewer is shown.
//!
//! Frames and signal views are stored without links (a link expires; a stored frame is
//! replayed long after). Whoever sends one to an authenticated viewer — the tenant object for
//! the live feed, the edge for the operator's listing — passes it through [`frame`] or
//! [`value`] with a fresh expiry, and the page shows the image from our store, never from the
//! expiring CDN URL. A link is added whether or not the bytes are stored yet: the route answers
//! `media_not_found` until they are, and the page says so.

use relay_core::ids::AttachmentId;
use serde_json::Value;

use crate::link::{path, Signer};

/// The frame with links added, or `None` when it has no attachment (sent unchanged, unparsed:
/// the broadcast path pays for this only on frames that carry files).
pub fn frame(json: &str, signer: &Signer, tenant: &str, exp: i64) -> Option<String> {
    if !json.contains("\"discord_attachment_id\"") {
        return None;
    }
    let mut v: Value = serde_json::from_str(json).ok()?;
    value(&mut v, signer, tenant, exp);
    serde_json::to_string(&v).ok()
}

/// Adds `media_url` to every attachment anywhere in `v` (a frame, a batch of frames, a
/// snapshot, a signal view or a listing of them).
pub fn value(v: &mut Value, signer: &Signer, tenant: &str, exp: i64) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "attachments" {
                    if let Value::Array(items) = child {
                        for item in items.iter_mut() {
                            link_one(item, signer, tenant, exp);
                        }
                        continue;
                    }
                }
                value(child, signer, tenant, exp);
            }
        }
        Value::Array(items) => {
            for item in items {
                value(item, signer, tenant, exp);
            }
        }
        _ => {}
    }
}

fn link_one(item: &mut Value, signer: &Signer, tenant: &str, exp: i64) {
    let Some(obj) = item.as_object_mut() else {
        return;
    };
    let Some(id) = obj
        .get("discord_attachment_id")
        .and_then(Value::as_str)
        .and_then(|s| AttachmentId::parse(s).ok())
    else {
        return;
    };
    obj.insert(
        "media_url".into(),
        Value::String(path(signer, tenant, &id, exp)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn signer() -> Signer {
        Signer::new(Some("0123456789abcdef0123456789abcdef")).unwrap()
    }

    #[test]
    fn frames_without_files_are_left_alone() {
        let f = r#"{"type":"ping","seq":3}"#;
        assert_eq!(frame(f, &signer(), "acme", 3_600), None);
    }

    #[test]
    fn every_attachment_of_a_batch_gets_a_link() {
        let f = json!({"type": "batch", "seq": 2, "frames": [
            {"type": "signal.created", "seq": 1, "signal": {"attachments": [
                {"discord_attachment_id": "11", "source_url": "https://cdn/x"}]}},
            {"type": "snapshot", "seq": 2, "signals": [{"attachments": [
                {"discord_attachment_id": "12"}, {"discord_attachment_id": "bad"}]}]}
        ]})
        .to_string();
        let out: Value =
            serde_json::from_str(&frame(&f, &signer(), "acme", 3_600).unwrap()).unwrap();
        let a = &out["frames"][0]["signal"]["attachments"][0];
        assert!(a["media_url"]
            .as_str()
            .unwrap()
            .starts_with("/media/acme/11?exp=3600&sig="));
        // The CDN URL stays for the record; the pages do not use it.
        assert_eq!(a["source_url"], "https://cdn/x");
        let s = &out["frames"][1]["signals"][0]["attachments"];
        assert!(s[0]["media_url"]
            .as_str()
            .unwrap()
            .starts_with("/media/acme/12?"));
        assert!(s[1].get("media_url").is_none());
    }

    #[test]
    fn the_link_verifies_for_its_tenant_only() {
        let mut v = json!({"attachments": [{"discord_attachment_id": "7"}]});
        value(&mut v, &signer(), "acme", 7_200);
        let url = v["attachments"][0]["media_url"]
            .as_str()
            .unwrap()
            .to_string();
        let sig = url.split("sig=").nth(1).unwrap();
        assert_eq!(
            signer().verify("acme", "7", Some("7200"), Some(sig), 0),
            Ok(())
        );
        assert!(signer()
            .verify("other", "7", Some("7200"), Some(sig), 0)
            .is_err());
    }
}
