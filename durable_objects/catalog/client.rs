//! The typed caller of the catalog object, from the edge (admin API) and the scheduled
//! handler.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Method, Stub};

use super::api;
use crate::durable_objects::rpc::Hop;

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
        Hop {
            stub: &self.stub,
            host: "catalog.internal",
            object: "catalog object",
            headers: &[],
        }
        .call(method, path, body)
        .await
    }
}
