//! The typed caller of a tenant's RoleSync object, from the edge.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Method, Stub};

use super::api;
use crate::durable_objects::rpc::Hop;

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
        Hop {
            stub: &self.stub,
            host: "role-sync.internal",
            object: "role sync object",
            headers: &[],
        }
        .call(method, path, body)
        .await
    }
}
