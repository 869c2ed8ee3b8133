//! The typed caller of the catalog object, from the edge (admin API) and the scheduled
//! handler.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Headers, Method, Request, RequestInit, Stub};

use super::api;

/// The Durable Object binding (`wrangler.toml`).
pub const BINDING: &str = "CATALOG";
/// One object holds the refresh for the whole deployment: one bot, one catalog.
pub const NAME: &str = "catalog";

pub struct CatalogClient {
    stub: Stub,
}

impl CatalogClient {
    pub fn new(env: &Env) -> worker::Result<Self> {
        Ok(CatalogClient {
            stub: env.durable_object(BINDING)?.get_by_name(NAME)?,
        })
    }

    pub async fn start(&self, reason: &str) -> worker::Result<api::Status> {
        let body = api::StartBody {
            reason: reason.to_string(),
        };
        self.call(Method::Post, api::START, Some(&body)).await
    }

    pub async fn status(&self) -> worker::Result<api::Status> {
        self.call::<(), _>(Method::Get, api::STATUS, None).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> worker::Result<T> {
        let headers = Headers::new();
        headers.set("content-type", "application/json")?;
        let mut init = RequestInit::new();
        init.with_method(method).with_headers(headers);
        if let Some(body) = body {
            init.with_body(Some(serde_json::to_string(body)?.into()));
        }
        let req = Request::new_with_init(&format!("https://catalog.internal{path}"), &init)?;
        let mut resp = self.stub.fetch_with_request(req).await?;
        let status = resp.status_code();
        let text = resp.text().await?;
        if !(200..300).contains(&status) {
            return Err(worker::Error::RustError(format!(
                "catalog object answered {status}: {text}"
            )));
        }
        Ok(serde_json::from_str(&text)?)
    }
}
