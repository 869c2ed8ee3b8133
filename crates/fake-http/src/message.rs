//! Requests and responses as a fake's handlers see them, independent of the HTTP server crate.

use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct Req {
    pub method: String,
    /// The path without its query string, as received.
    pub path: String,
    /// Percent-decoded path segments, empty ones dropped.
    pub segs: Vec<String>,
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn new(method: &str, url: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> Req {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let segs = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        Req {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            segs,
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

    /// A query boolean read loosely, as Discord does: `true`, `True`, `1`.
    pub fn q_bool(&self, key: &str) -> bool {
        matches!(
            self.q(key).map(str::to_ascii_lowercase).as_deref(),
            Some("true" | "1")
        )
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    pub fn is_json(&self) -> bool {
        self.content_type()
            .split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    }

    pub fn is_multipart(&self) -> bool {
        self.content_type()
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
    }

    /// The JSON body; an empty body reads as `{}` (a bodiless PUT or POST). Each fake turns
    /// the error into its service's answer.
    pub fn json_value(&self) -> Result<Value, serde_json::Error> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&self.body)
    }

    /// An `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

fn percent_decode(s: &str) -> String {
    let hexval = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hexval(bytes[i + 1]), hexval(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn new(status: u16) -> Resp {
        Resp {
            status,
            headers: vec![],
            body: vec![],
        }
    }

    pub fn json(status: u16, v: &Value) -> Resp {
        Resp::new(status)
            .header("Content-Type", "application/json")
            .with_body(v.to_string().into_bytes())
    }

    pub fn html(status: u16, body: String) -> Resp {
        Resp::new(status)
            .header("Content-Type", "text/html; charset=utf-8")
            .with_body(body.into_bytes())
    }

    pub fn text(status: u16, body: &str) -> Resp {
        Resp::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .with_body(body.as_bytes().to_vec())
    }

    /// 302 Found.
    pub fn redirect(location: &str) -> Resp {
        Resp::new(302).header("Location", location)
    }

    /// 303 See Other: after a form POST, the browser GETs `location`.
    pub fn see_other(location: &str) -> Resp {
        Resp::new(303).header("Location", location)
    }

    pub fn header(mut self, k: &str, v: impl Into<String>) -> Resp {
        self.set_header(k, v);
        self
    }

    pub fn set_header(&mut self, k: &str, v: impl Into<String>) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(k));
        self.headers.push((k.to_string(), v.into()));
    }

    pub fn get_header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }

    pub fn with_body(mut self, body: Vec<u8>) -> Resp {
        self.body = body;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_path_query_and_decodes() {
        let r = Req::new(
            "post",
            "/api/v10/webhooks/1/t%2Fk?wait=True&thread_id=9",
            vec![],
            vec![],
        );
        assert_eq!(r.method, "POST");
        assert_eq!(r.segs, ["api", "v10", "webhooks", "1", "t/k"]);
        assert!(r.q_bool("wait"));
        assert_eq!(r.q("thread_id"), Some("9"));
        assert!(!r.q_bool("missing"));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn an_empty_body_is_an_empty_object() {
        let r = Req::new("PUT", "/x", vec![], b" ".to_vec());
        assert_eq!(r.json_value().unwrap(), serde_json::json!({}));
        let r = Req::new("POST", "/x", vec![], b"{nope".to_vec());
        assert!(r.json_value().is_err());
    }
}
