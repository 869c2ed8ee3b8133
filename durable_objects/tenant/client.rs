//! The typed client the edge uses to call a tenant's object: one method per route of
//! [`super::api`], so every call across the hop can be followed from caller to handler.

use relay_core::{ApiError, ErrorKind};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use worker::{Env, Headers, Method, Request, RequestInit, Response, Stub};

use super::api;

type Result<T> = std::result::Result<T, ApiError>;

/// One tenant's object, addressed by tenant key, with the correlation id of the request that
/// calls it.
pub struct TenantClient<'a> {
    stub: Stub,
    tenant_key: &'a str,
    cid: &'a str,
}

/// A failed hop is our transient fault: logged, and a retryable 503 for the caller (the same
/// answer `http::OrUnavailable` gives for the edge's other dependencies).
fn unavailable(what: &str, e: impl std::fmt::Display) -> ApiError {
    crate::runtime::log(
        "error",
        "dependency failure",
        serde_json::json!({"what": what, "error": e.to_string()}),
    );
    ApiError::unavailable(format!("{what} is temporarily unavailable; retry"))
        .with_code("storage_unavailable")
}

impl<'a> TenantClient<'a> {
    pub fn new(env: &Env, tenant_key: &'a str, cid: &'a str) -> Result<Self> {
        let stub = env
            .durable_object("TENANT")
            .and_then(|ns| ns.get_by_name(&format!("tenant:{tenant_key}")))
            .map_err(|e| unavailable("tenant object", e))?;
        Ok(TenantClient {
            stub,
            tenant_key,
            cid,
        })
    }

    pub async fn ingest_messages(&self, body: &api::IngestMessages) -> Result<api::IngestOutcome> {
        self.call(Method::Post, api::INGEST_MESSAGES, Some(body))
            .await
    }

    pub async fn ingest_thread(&self, body: &api::IngestThread) -> Result<api::IngestOutcome> {
        self.call(Method::Post, api::INGEST_THREAD, Some(body))
            .await
    }

    pub async fn record_rejections(&self, body: &api::RecordRejections) -> Result<api::Recorded> {
        self.call(Method::Post, api::REJECTIONS, Some(body)).await
    }

    pub async fn rejections(&self, connector_id: &str) -> Result<api::RejectionReport> {
        let path = format!("{}?connector_id={connector_id}", api::REJECTIONS);
        self.call::<(), _>(Method::Get, &path, None).await
    }

    pub async fn stats(&self) -> Result<api::Stats> {
        self.call::<(), _>(Method::Get, api::STATS, None).await
    }

    pub async fn maintenance(&self, body: &api::Maintenance) -> Result<api::Retention> {
        self.call(Method::Post, api::MAINTENANCE, Some(body)).await
    }

    pub async fn routing_changed(&self, body: &api::RoutingChanged) -> Result<serde_json::Value> {
        self.call(Method::Post, api::ROUTING_CHANGED, Some(body))
            .await
    }

    pub async fn enforce_access(&self, body: &api::EnforceAccess) -> Result<api::Enforced> {
        self.call(Method::Post, api::ENFORCE_ACCESS, Some(body))
            .await
    }

    /// Hands a WebSocket upgrade to the object's feed. The answer (a 101 with the socket, or
    /// the object's refusal) goes back to the client untouched. `query` is the feed's query
    /// string without `?`; `headers` are the client's, to which ours are added.
    pub async fn feed(&self, query: &str, headers: Headers) -> Result<Response> {
        let _ = headers.set("x-correlation-id", self.cid);
        let _ = headers.set("x-tenant-key", self.tenant_key);
        let mut init = RequestInit::new();
        init.with_method(Method::Get).with_headers(headers);
        let url = format!("https://tenant.internal{}?{query}", api::FEED);
        let req = Request::new_with_init(&url, &init).map_err(|e| unavailable("feed", e))?;
        self.stub
            .fetch_with_request(req)
            .await
            .map_err(|e| unavailable("tenant object", e))
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let headers = Headers::new();
        let _ = headers.set("content-type", "application/json");
        let _ = headers.set("x-correlation-id", self.cid);
        let _ = headers.set("x-tenant-key", self.tenant_key);
        let mut init = RequestInit::new();
        init.with_method(method).with_headers(headers);
        if let Some(body) = body {
            let text = serde_json::to_string(body)
                .map_err(|e| ApiError::internal(format!("tenant call did not encode: {e}")))?;
            init.with_body(Some(text.into()));
        }
        let req = Request::new_with_init(&format!("https://tenant.internal{path}"), &init)
            .map_err(|e| unavailable("tenant object", e))?;
        let mut resp = self
            .stub
            .fetch_with_request(req)
            .await
            .map_err(|e| unavailable("tenant object", e))?;
        decode(&mut resp).await
    }
}

async fn decode<T: DeserializeOwned>(resp: &mut Response) -> Result<T> {
    let status = resp.status_code();
    let text = resp
        .text()
        .await
        .map_err(|e| unavailable("tenant object", e))?;
    if (200..300).contains(&status) {
        return serde_json::from_str(&text)
            .map_err(|e| ApiError::internal(format!("tenant object answered unexpectedly: {e}")));
    }
    // The object only refuses for reasons of its own (storage, a bug): the caller's request was
    // validated here first, so nothing it answers may reach a client as a 4xx.
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let message = v["message"]
        .as_str()
        .unwrap_or("tenant object error")
        .to_string();
    let kind = if status > 500 {
        ErrorKind::Unavailable
    } else {
        ErrorKind::Internal
    };
    let mut err = ApiError::new(kind, message);
    if let Some(code) = v["error_code"].as_str() {
        err.code = std::borrow::Cow::Owned(code.to_string());
    }
    Err(err)
}
