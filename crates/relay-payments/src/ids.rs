//! Sell.app and tier identifiers as opaque, non-empty strings.
//!
//! Sell.app sends numeric ids today, but JSON numbers pass through JavaScript and D1 as f64;
//! keeping the decimal string (as `relay_core::ids::Snowflake` does for Discord) means an id is
//! never rounded, and a future switch to string ids changes nothing.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest id accepted from a payload; Sell.app's are short, this only bounds garbage.
pub const MAX_ID_LEN: usize = 64;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// `None` when empty (after trimming), too long, or holding controls.
            pub fn new(raw: &str) -> Option<Self> {
                let s = raw.trim();
                if s.is_empty() || s.len() > MAX_ID_LEN || s.chars().any(char::is_control) {
                    return None;
                }
                Some($name(s.to_string()))
            }

            /// From a JSON string, or a non-negative integer in its decimal form.
            pub fn from_json(v: &serde_json::Value) -> Option<Self> {
                match v {
                    serde_json::Value::String(s) => Self::new(s),
                    serde_json::Value::Number(n) => n.as_u64().and_then(|n| Self::new(&n.to_string())),
                    _ => None,
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A Sell.app invoice id. The webhook's `data.id`; `order.created` and `order.completed` of
    /// one order share it.
    OrderId
);
string_id!(
    /// A Sell.app store (the envelope's `store`).
    StoreId
);
string_id!(ProductId);
string_id!(
    /// A Sell.app product variant: one duration/price of a product.
    VariantId
);
string_id!(
    /// A tier of the customers issue (issue 12), by its stable key.
    TierKey
);
string_id!(
    /// A customer account of the customers issue (issue 12).
    AccountId
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_from_json() {
        assert_eq!(OrderId::from_json(&json!(42)).unwrap().as_str(), "42");
        assert_eq!(OrderId::from_json(&json!(" 42 ")).unwrap().as_str(), "42");
        // Above 2^53: kept exactly.
        assert_eq!(
            OrderId::from_json(&json!(9007199254740993u64))
                .unwrap()
                .as_str(),
            "9007199254740993"
        );
        for bad in [
            json!(-1),
            json!(1.5),
            json!(""),
            json!(null),
            json!({}),
            json!("a\nb"),
        ] {
            assert!(OrderId::from_json(&bad).is_none(), "{bad}");
        }
        assert!(OrderId::new(&"9".repeat(65)).is_none());
    }
}
