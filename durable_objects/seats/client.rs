//! The typed caller of a tenant's seat object (`seats:<tenant>`), from the admin API and —
//! the one call the mirror dispatcher makes — [`SeatClient::gate_view`].
//!
//! # For the mirror dispatcher
//!
//! The mirror object (`durable_objects/mirror/gate.rs`) calls [`SeatClient::gate_view`] on a
//! guild's first job and keeps the view; it decides each job with `view.decide(now)`, calls
//! [`SeatClient::audit_now`] fire-and-forget when the decision asks, counts `would_hold`, and
//! pauses the target's queue on a hold.
//!
//! The view carries the configured mode, the kill switch (so `effective_mode()` is enforce →
//! shadow while it is on), the limit, the snapshot and the windows (freshness, hold age). When
//! a guild's snapshot or config changes the seat object pushes the new view through
//! [`super::mirror_link::snapshot_changed`], so held jobs are released without waiting for
//! the next signal.

use relay_core::ids::GuildId;
use relay_guild::seats::GateView;
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Method, Stub};

use super::api;
use crate::durable_objects::rpc::Hop;

/// The Durable Object binding (`wrangler.toml`).
pub const BINDING: &str = "SEATS";

/// One object per tenant: it owns the seat state of that tenant's customer guilds.
pub fn object_name(tenant: &str) -> String {
    format!("seats:{tenant}")
}

pub struct SeatClient {
    stub: Stub,
    tenant: String,
}

impl SeatClient {
    pub fn new(env: &Env, tenant: &str) -> worker::Result<Self> {
        Ok(SeatClient {
            stub: env
                .durable_object(BINDING)?
                .get_by_name(&object_name(tenant))?,
            tenant: tenant.to_string(),
        })
    }

    /// What [`relay_guild::seats::gate()`] needs for `guild`: an unconfigured guild is mode
    /// `off` (the gate sends). Never waits for an audit.
    pub async fn gate_view(&self, guild: &GuildId) -> worker::Result<GateView> {
        let path = format!("{}?guild_id={}", api::GATE_VIEW, guild.as_str());
        self.call::<(), _>(Method::Get, &path, None).await
    }

    /// The gate's "audit now" (fire and forget for the dispatcher; the object dedupes).
    pub async fn audit_now(&self, guild: &GuildId) -> worker::Result<api::RefreshAnswer> {
        self.refresh(guild, "gate").await
    }

    /// An operator's "refresh now".
    pub async fn refresh(
        &self,
        guild: &GuildId,
        reason: &str,
    ) -> worker::Result<api::RefreshAnswer> {
        let body = api::RefreshBody {
            guild_id: guild.as_str().to_string(),
            reason: reason.to_string(),
        };
        self.call(Method::Post, api::REFRESH, Some(&body)).await
    }

    pub async fn configure(
        &self,
        body: &api::ConfigureBody,
    ) -> worker::Result<Option<api::GuildStatus>> {
        self.call(Method::Post, api::CONFIGURE, Some(body)).await
    }

    pub async fn kill_switch(&self, engaged: bool) -> worker::Result<api::TenantStatus> {
        self.call(
            Method::Post,
            api::KILL_SWITCH,
            Some(&api::KillSwitchBody { engaged }),
        )
        .await
    }

    pub async fn status(&self) -> worker::Result<api::TenantStatus> {
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
            host: "seats.internal",
            object: "seat object",
            headers: &[(api::TENANT_HEADER, self.tenant.as_str())],
        }
        .call(method, path, body)
        .await
    }
}
