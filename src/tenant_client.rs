//! Calls from the edge worker into a tenant's Durable Object.

use relay_core::{ApiError, ErrorKind};
use serde::de::DeserializeOwned;
use serde_json::Value;
use worker::{Env, Headers, Method, Request, RequestInit, Response, Stub};

use crate::http::{ApiResult, OrUnavailable};

pub fn stub(env: &Env, tenant_key: &str) -> ApiResult<Stub> {
    env.durable_object("TENANT")
        .and_then(|ns| ns.get_by_name(&format!("tenant:{tenant_key}")))
        .or_unavailable("tenant object")
}

/// POSTs JSON to the tenant object and decodes its JSON answer. The object answers errors in
/// the API's error shape; those are passed through with their status.
pub async fn post<T: DeserializeOwned>(
    env: &Env,
    tenant_key: &str,
    path: &str,
    body: &Value,
    cid: &str,
) -> ApiResult<T> {
    call(env, tenant_key, Method::Post, path, Some(body), cid).await
}

pub async fn get<T: DeserializeOwned>(
    env: &Env,
    tenant_key: &str,
    path: &str,
    cid: &str,
) -> ApiResult<T> {
    call(env, tenant_key, Method::Get, path, None, cid).await
}

async fn call<T: DeserializeOwned>(
    env: &Env,
    tenant_key: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    cid: &str,
) -> ApiResult<T> {
    let stub = stub(env, tenant_key)?;
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("x-correlation-id", cid);
    let _ = headers.set("x-tenant-key", tenant_key);
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    if let Some(body) = body {
        init.with_body(Some(body.to_string().into()));
    }
    let req = Request::new_with_init(&format!("https://tenant.internal{path}"), &init)
        .or_unavailable("tenant object")?;
    let mut resp = stub
        .fetch_with_request(req)
        .await
        .or_unavailable("tenant object")?;
    decode(&mut resp).await
}

async fn decode<T: DeserializeOwned>(resp: &mut Response) -> ApiResult<T> {
    let status = resp.status_code();
    let text = resp.text().await.or_unavailable("tenant object")?;
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
