//! The typed caller of a gate object: one method per route of [`super::api`]. Used by the
//! worker's Discord facade from the edge and from inside other Durable Objects alike (a stub
//! needs only the `Env`).

use relay_discord::gate::{GateStatus, Observed};
use relay_discord::ratelimit::Acquire;
use relay_discord::requests::RateKey;
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Headers, Method, Request, RequestInit, Stub};

use super::api;

/// The Durable Object binding (`wrangler.toml`).
pub const BINDING: &str = "DISCORD_GATE";

/// Why a gate call failed: our transient fault, never Discord's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateUnavailable(pub String);

impl std::fmt::Display for GateUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Discord rate-limit gate unavailable: {}", self.0)
    }
}

type Result<T> = std::result::Result<T, GateUnavailable>;

fn unavailable(e: impl std::fmt::Display) -> GateUnavailable {
    GateUnavailable(e.to_string())
}

pub struct GateClient {
    stub: Stub,
}

impl GateClient {
    /// The gate named `name` ([`relay_discord::gate::gate_name`] of the bot token).
    pub fn new(env: &Env, name: &str) -> Result<Self> {
        let stub = env
            .durable_object(BINDING)
            .and_then(|ns| ns.get_by_name(name))
            .map_err(unavailable)?;
        Ok(GateClient { stub })
    }

    pub async fn acquire_many(&self, keys: Vec<RateKey>) -> Result<Vec<Acquire>> {
        let body = api::AcquireMany { keys };
        self.call(Method::Post, api::ACQUIRE_MANY, Some(&body))
            .await
    }

    pub async fn observe_many(&self, observed: Vec<api::ObserveBody>) -> Result<Vec<Observed>> {
        let body = api::ObserveMany { observed };
        self.call(Method::Post, api::OBSERVE_MANY, Some(&body))
            .await
    }

    pub async fn status(&self) -> Result<GateStatus> {
        self.call::<(), _>(Method::Get, api::STATUS, None).await
    }

    pub async fn reset(&self) -> Result<api::Reset> {
        self.call::<(), _>(Method::Post, api::RESET, None).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let headers = Headers::new();
        let _ = headers.set("content-type", "application/json");
        let mut init = RequestInit::new();
        init.with_method(method).with_headers(headers);
        if let Some(body) = body {
            let text = serde_json::to_string(body).map_err(unavailable)?;
            init.with_body(Some(text.into()));
        }
        let req = Request::new_with_init(&format!("https://discord-gate.internal{path}"), &init)
            .map_err(unavailable)?;
        let mut resp = self
            .stub
            .fetch_with_request(req)
            .await
            .map_err(unavailable)?;
        let status = resp.status_code();
        let text = resp.text().await.map_err(unavailable)?;
        if !(200..300).contains(&status) {
            return Err(GateUnavailable(format!("answered {status}: {text}")));
        }
        serde_json::from_str(&text)
            .map_err(|e| GateUnavailable(format!("answer did not decode: {e}")))
    }
}
