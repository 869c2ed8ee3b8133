//! Discord's JSON error shape: `{"message", "code", "errors"?}`, with the codes we rely on.

use serde_json::{json, Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: u32,
    pub message: String,
    pub errors: Option<Value>,
}

impl ApiError {
    pub fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            errors: None,
        }
    }

    pub fn body(&self) -> Value {
        let mut v = json!({"message": self.message, "code": self.code});
        if let Some(e) = &self.errors {
            v["errors"] = e.clone();
        }
        v
    }

    pub fn unauthorized() -> Self {
        Self::new(401, 0, "401: Unauthorized")
    }
    pub fn not_found() -> Self {
        Self::new(404, 0, "404: Not Found")
    }
    pub fn method_not_allowed() -> Self {
        Self::new(405, 0, "405: Method Not Allowed")
    }
    pub fn unknown_channel() -> Self {
        Self::new(404, 10003, "Unknown Channel")
    }
    pub fn unknown_guild() -> Self {
        Self::new(404, 10004, "Unknown Guild")
    }
    pub fn unknown_member() -> Self {
        Self::new(404, 10007, "Unknown Member")
    }
    pub fn unknown_message() -> Self {
        Self::new(404, 10008, "Unknown Message")
    }
    pub fn unknown_role() -> Self {
        Self::new(404, 10011, "Unknown Role")
    }
    pub fn unknown_user() -> Self {
        Self::new(404, 10013, "Unknown User")
    }
    pub fn unknown_webhook() -> Self {
        Self::new(404, 10015, "Unknown Webhook")
    }
    pub fn invalid_webhook_token() -> Self {
        Self::new(401, 50027, "Invalid Webhook Token")
    }
    pub fn missing_access() -> Self {
        Self::new(403, 50001, "Missing Access")
    }
    pub fn missing_permissions() -> Self {
        Self::new(403, 50013, "Missing Permissions")
    }
    pub fn empty_message() -> Self {
        Self::new(400, 50006, "Cannot send an empty message")
    }
    pub fn too_large() -> Self {
        Self::new(413, 40005, "Request entity too large")
    }
    pub fn invalid_json() -> Self {
        Self::new(400, 50109, "The request body contains invalid JSON.")
    }
    pub fn max_webhooks() -> Self {
        Self::new(400, 30007, "Maximum number of webhooks reached (15)")
    }
    pub fn invalid_form(errors: FieldErrors) -> Self {
        ApiError {
            status: 400,
            code: 50035,
            message: "Invalid Form Body".into(),
            errors: Some(errors.into_value()),
        }
    }
}

/// The nested `errors` object of a 50035: `{"embeds": {"0": {"title": {"_errors": [...]}}}}`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FieldErrors(Map<String, Value>);

impl FieldErrors {
    pub fn add(&mut self, path: &[&str], code: &str, message: impl Into<String>) {
        let mut node = &mut self.0;
        for key in path {
            let entry = node
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = entry.as_object_mut().expect("just made an object");
        }
        let list = node
            .entry("_errors")
            .or_insert_with(|| Value::Array(vec![]));
        if let Value::Array(items) = list {
            items.push(json!({"code": code, "message": message.into()}));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_form(self))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_errors_take_discords_shape() {
        let mut e = FieldErrors::default();
        e.add(
            &["content"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 2000 or fewer in length.",
        );
        e.add(&["embeds", "0", "title"], "BASE_TYPE_MAX_LENGTH", "x");
        e.add(&["embeds", "0", "title"], "OTHER", "y");
        let body = ApiError::invalid_form(e).body();
        assert_eq!(body["code"], 50035);
        assert_eq!(body["message"], "Invalid Form Body");
        assert_eq!(
            body["errors"]["content"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
        assert_eq!(
            body["errors"]["embeds"]["0"]["title"]["_errors"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn plain_errors_have_no_errors_key() {
        let body = ApiError::unknown_webhook().body();
        assert_eq!(body, json!({"message": "Unknown Webhook", "code": 10015}));
    }
}
