//! The JSON hop from a typed client to its object, for the objects whose clients answer
//! `worker::Result`: one request per call, `object` naming the object in errors. A status
//! outside 2xx is an error carrying the object's answer.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Headers, Method, Request, RequestInit, Stub};

pub struct Hop<'a> {
    pub stub: &'a Stub,
    /// The request's host (`catalog.internal`); objects route on the path only.
    pub host: &'a str,
    /// For errors: "catalog object answered 500: …".
    pub object: &'a str,
    /// Extra headers, e.g. the tenant key the object checks.
    pub headers: &'a [(&'a str, &'a str)],
}

impl Hop<'_> {
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> worker::Result<T> {
        let headers = Headers::new();
        headers.set("content-type", "application/json")?;
        for (name, value) in self.headers {
            headers.set(name, value)?;
        }
        let mut init = RequestInit::new();
        init.with_method(method).with_headers(headers);
        if let Some(body) = body {
            init.with_body(Some(serde_json::to_string(body)?.into()));
        }
        let req = Request::new_with_init(&format!("https://{}{path}", self.host), &init)?;
        let mut resp = self.stub.fetch_with_request(req).await?;
        let status = resp.status_code();
        let text = resp.text().await?;
        if !(200..300).contains(&status) {
            return Err(worker::Error::RustError(format!(
                "{} answered {status}: {text}",
                self.object
            )));
        }
        Ok(serde_json::from_str(&text)?)
    }
}
