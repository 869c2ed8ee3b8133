//! The typed caller of a tenant's mirror object: from the tenant object (the handoff), the
//! edge (the admin API) and the scheduled maintenance.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Method, Stub};

use super::api;
use crate::durable_objects::rpc::Hop;

/// The Durable Object binding (`wrangler.toml`).
pub const BINDING: &str = "MIRROR";

pub struct MirrorClient {
    stub: Stub,
    tenant_key: String,
}

impl MirrorClient {
    /// One object per tenant, named by the tenant key.
    pub fn new(env: &Env, tenant_key: &str) -> worker::Result<Self> {
        Ok(MirrorClient {
            stub: env
                .durable_object(BINDING)?
                .get_by_name(&format!("mirror:{tenant_key}"))?,
            tenant_key: tenant_key.to_string(),
        })
    }

    pub async fn deliver(&self, body: &api::Deliver) -> worker::Result<api::Delivered> {
        self.call(Method::Post, api::DELIVER, Some(body)).await
    }

    pub async fn status(&self, connector_id: &str) -> worker::Result<api::Status> {
        let path = format!("{}?connector_id={connector_id}", api::STATUS);
        self.call::<(), _>(Method::Get, &path, None).await
    }

    pub async fn requeue(&self, body: &api::Requeue) -> worker::Result<api::Requeued> {
        self.call(Method::Post, api::REQUEUE, Some(body)).await
    }

    pub async fn invalidate(&self) -> worker::Result<serde_json::Value> {
        self.call::<(), _>(Method::Post, api::INVALIDATE, None)
            .await
    }

    /// The seat object's push: a guild's gate view changed.
    pub async fn seats_changed(
        &self,
        change: &crate::durable_objects::seats::mirror_link::SeatChange,
    ) -> worker::Result<serde_json::Value> {
        self.call(Method::Post, api::SEATS_CHANGED, Some(change))
            .await
    }

    /// Held, expired and would-hold counts per customer guild and target.
    pub async fn seats_held(&self) -> worker::Result<serde_json::Value> {
        self.call::<(), _>(Method::Get, api::SEATS_HELD, None).await
    }

    pub async fn maintenance(&self, body: &api::Maintenance) -> worker::Result<api::Retained> {
        self.call(Method::Post, api::MAINTENANCE, Some(body)).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> worker::Result<T> {
        Hop {
            stub: &self.stub,
            host: "mirror.internal",
            object: "mirror object",
            headers: &[("x-tenant-key", self.tenant_key.as_str())],
        }
        .call(method, path, body)
        .await
    }
}
