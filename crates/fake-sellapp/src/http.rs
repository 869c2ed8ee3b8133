//! Requests and responses as the handlers see them, independent of the HTTP server crate.

use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct Req {
    pub method: String,
    pub path: String,
    /// Path segments, empty ones dropped.
    pub segs: Vec<String>,
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn new(method: &str, url: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> Req {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        Req {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            segs: path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            query: form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body; an empty body reads as `{}`.
    pub fn json(&self) -> Result<Value, Resp> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| Resp::error(400, &format!("body is not JSON: {e}")))
    }

    /// An `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(status: u16, v: &Value) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: v.to_string().into_bytes(),
        }
    }

    /// Sell.app's (Laravel's) error shape: `{"message": "..."}`.
    pub fn error(status: u16, message: &str) -> Resp {
        Resp::json(status, &serde_json::json!({ "message": message }))
    }

    pub fn html(status: u16, body: String) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: body.into_bytes(),
        }
    }

    pub fn redirect(location: &str) -> Resp {
        Resp {
            status: 303,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }
}
