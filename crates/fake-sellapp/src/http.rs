//! Requests and responses ([`fake_http`]'s), with Sell.app's own error shape.

pub use fake_http::{Req, Resp};
use serde_json::Value;

/// Sell.app's (Laravel's) error answer: `{"message": "..."}`.
pub trait LaravelError {
    fn error(status: u16, message: &str) -> Resp;
}

impl LaravelError for Resp {
    fn error(status: u16, message: &str) -> Resp {
        Resp::json(status, &serde_json::json!({ "message": message }))
    }
}

/// A JSON body as Sell.app reads it: an empty body is `{}`, anything else must parse.
pub trait JsonBody {
    fn json(&self) -> Result<Value, Resp>;
}

impl JsonBody for Req {
    fn json(&self) -> Result<Value, Resp> {
        self.json_value()
            .map_err(|e| Resp::error(400, &format!("body is not JSON: {e}")))
    }
}
