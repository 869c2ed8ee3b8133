//! The typed caller of a tenant's RoleSync object, from the edge.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Headers, Method, Request, RequestInit, Stub};

use super::api;

/// The Durable Object binding (`wrangler.toml`).
pub const BINDING: &str = "ROLE_SYNC";

pub struct RoleSyncClient {
    stub: Stub,
    tenant: String,
}

impl RoleSyncClient {
    pub fn new(env: &Env, tenant: &str) -> worker::Result<Self> {
        Ok(RoleSyncClient {
            stub: env
                .durable_object(BINDING)?
                .get_by_name(&format!("roles:{tenant}"))?,
            tenant: tenant.to_string(),
        })
    }

    pub async fn sync(&self, users: Vec<String>, reason: &str) -> worker::Result<api::Status> {
        let body = api::SyncBody {
            tenant: self.tenant.clone(),
            users,
            reason: reason.to_string(),
        };
        self.call(Method::Post, api::SYNC, Some(&body)).await
    }

    pub async fn pass(&self, guild_id: Option<String>) -> worker::Result<api::Status> {
        let body = api::PassBody {
            tenant: self.tenant.clone(),
            guild_id,
        };
        self.call(Method::Post, api::PASS, Some(&body)).await
    }

    pub async fn reconfigured(&self) -> worker::Result<api::Status> {
        let body = api::TenantBody {
            tenant: self.tenant.clone(),
        };
        self.call(Method::Post, api::RECONFIGURED, Some(&body))
            .await
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
        let req = Request::new_with_init(&format!("https://role-sync.internal{path}"), &init)?;
        let mut resp = self.stub.fetch_with_request(req).await?;
        let status = resp.status_code();
        let text = resp.text().await?;
        if !(200..300).contains(&status) {
            return Err(worker::Error::RustError(format!(
                "role sync object answered {status}: {text}"
            )));
        }
        Ok(serde_json::from_str(&text)?)
    }
}
