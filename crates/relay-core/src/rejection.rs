//! Per-item rejection. The field connector drops a whole request on any 4xx, so one malformed
//! item must not cost the valid ones beside it: list endpoints store what is valid and answer
//! `200` with a `rejected` entry for each item they refused.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::encoding::hex;
use crate::error::ApiError;
use crate::validate::FieldError;

/// Which ingest route refused an item; kept with each recorded rejection for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IngestRoute {
    #[serde(rename = "message-batch")]
    MessageBatch,
    #[serde(rename = "thread")]
    Thread,
    #[serde(rename = "channel-guild-sync")]
    ChannelGuildSync,
}

/// One refused item, as the connector sees it in the response's `rejected` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Position of the item in its request list.
    pub index: usize,
    pub idempotency_key: Option<String>,
    pub error_code: String,
    pub message: String,
    pub fields: Vec<FieldError>,
}

/// A rejection plus what the tenant object needs to record it once: a connector resends a
/// batch whole after a transient fault, and its bad items must not be counted twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedItem {
    pub route: IngestRoute,
    /// Digest of the raw item (and its route): the same bad item always has the same one.
    pub fingerprint: String,
    #[serde(flatten)]
    pub rejection: Rejection,
}

impl RejectedItem {
    pub fn new(route: IngestRoute, index: usize, item: &Value, fields: Vec<FieldError>) -> Self {
        let idempotency_key = item
            .get("idempotency_key")
            .and_then(Value::as_str)
            .map(|k| k.chars().take(512).collect());
        // The same wording as a 400 for the same fields, so an operator reads one vocabulary.
        let message = ApiError::invalid_fields(fields.clone()).message;
        let mut hasher = Sha256::new();
        hasher.update(serde_json::to_vec(&route).unwrap_or_default());
        hasher.update(serde_json::to_vec(item).unwrap_or_default());
        RejectedItem {
            route,
            fingerprint: hex(&hasher.finalize()[..16]),
            rejection: Rejection {
                index,
                idempotency_key,
                error_code: "bad_request".into(),
                message,
                fields,
            },
        }
    }
}

/// The connector-facing list: the rejections without our bookkeeping.
pub fn public(items: &[RejectedItem]) -> Vec<&Rejection> {
    items.iter().map(|r| &r.rejection).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_item_same_fingerprint_other_route_other_fingerprint() {
        let item = json!({"idempotency_key": "k", "edited_at": "x"});
        let f = vec![FieldError::new("messages[1].edited_at", "bad")];
        let a = RejectedItem::new(IngestRoute::MessageBatch, 1, &item, f.clone());
        let b = RejectedItem::new(IngestRoute::MessageBatch, 1, &item, f.clone());
        let c = RejectedItem::new(IngestRoute::Thread, 1, &item, f);
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_eq!(a.rejection.idempotency_key.as_deref(), Some("k"));
        assert!(a.rejection.message.contains("messages[1].edited_at"));
    }

    #[test]
    fn wire_shape() {
        let item = json!(42);
        let r = RejectedItem::new(
            IngestRoute::ChannelGuildSync,
            0,
            &item,
            vec![FieldError::new(
                "channels[0]",
                "must be an object, got number",
            )],
        );
        let v = serde_json::to_value(public(std::slice::from_ref(&r))).unwrap();
        assert_eq!(
            v,
            json!([{"index": 0, "idempotency_key": null, "error_code": "bad_request",
                    "message": "invalid payload: channels[0]: must be an object, got number",
                    "fields": [{"field": "channels[0]", "problem": "must be an object, got number"}]}])
        );
        // The internal form round-trips (edge -> tenant object).
        let back: RejectedItem = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(
            serde_json::to_value(&r).unwrap()["route"],
            "channel-guild-sync"
        );
    }
}
