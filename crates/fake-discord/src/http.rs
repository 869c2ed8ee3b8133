//! Requests and responses ([`fake_http`]'s), with Discord's own error answers.

use crate::error::ApiError;
pub use fake_http::{Req, Resp};
use serde_json::Value;

/// A JSON body as Discord reads it: an empty body is `{}` (as Discord treats a bodiless PUT),
/// anything else must parse (else 50109).
pub trait JsonBody {
    fn json(&self) -> Result<Value, ApiError>;
}

impl JsonBody for Req {
    fn json(&self) -> Result<Value, ApiError> {
        self.json_value().map_err(|_| ApiError::invalid_json())
    }
}

impl From<ApiError> for Resp {
    fn from(e: ApiError) -> Resp {
        Resp::json(e.status, &e.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_body_is_an_empty_object_and_bad_json_is_50109() {
        let r = Req::new("PUT", "/x", vec![], b" ".to_vec());
        assert_eq!(r.json().unwrap(), serde_json::json!({}));
        let r = Req::new("POST", "/x", vec![], b"{nope".to_vec());
        assert_eq!(r.json().unwrap_err().code, 50109);
    }
}
