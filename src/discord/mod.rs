//! The worker's Discord facade: one call, [`Discord::send`], for every feature that talks to
//! Discord — from the edge and from inside other Durable Objects (mirroring, catalog, role
//! sync call it from their alarms; it needs only the `Env`).
//!
//! A send never waits: the gate object ([`crate::durable_objects::discord_gate`]) answers
//! "go" or "not before T" and the caller reschedules to T. Around the one HTTP exchange there
//! is one gate round trip before (a slot) and one after (what Discord answered, so the gate
//! learns buckets, 429s, bans and 401s for every caller); the isolate's calls of one moment
//! share each round trip (`batch`). The request, its body and the bot
//! token never reach the gate: only the route key and the answer's status and headers do.

mod batch;
mod transport;

use relay_discord::error::Backoff;
use relay_discord::gate::{conclude, feedback, gate_name, refused, Attempt};
use relay_discord::ratelimit::Acquire;
use relay_discord::transport::Transport;
use relay_discord::Endpoint;
use serde_json::json;
use worker::Env;

pub use relay_discord::gate::{Counters, GateStatus, ResetOutcome, SendError};
pub use relay_discord::ratelimit::WaitReason;

use crate::config::DiscordConfig;
use crate::durable_objects::discord_gate::client::{GateClient, GateUnavailable};
use transport::FetchTransport;

/// Discord, as configured for this deployment.
pub struct Discord {
    env: Env,
    config: DiscordConfig,
    bot_token: String,
    gate: String,
}

impl Discord {
    /// `None` when `DISCORD_BOT_TOKEN` is not set: the features that need Discord report
    /// `discord_not_configured`, and nothing else changes.
    pub fn from_env(env: &Env) -> Option<Discord> {
        let config = DiscordConfig::from_env(env);
        let bot_token = config.bot_token.clone()?;
        Some(Discord {
            env: env.clone(),
            gate: gate_name(&bot_token),
            bot_token,
            config,
        })
    }

    pub fn api_base(&self) -> &str {
        &self.config.api_base
    }

    /// Where avatar URLs point (`DISCORD_CDN_BASE`).
    pub fn cdn_base(&self) -> &str {
        &self.config.cdn_base
    }

    pub fn client_id(&self) -> Option<&str> {
        self.config.client_id.as_deref()
    }

    pub fn client_secret(&self) -> Option<&str> {
        self.config.client_secret.as_deref()
    }

    /// The gate object's name (a digest of the bot token), for the admin API and logs.
    pub fn gate_name(&self) -> &str {
        &self.gate
    }

    fn gate_client(&self) -> Result<GateClient, SendError> {
        GateClient::new(&self.env, &self.gate).map_err(|e| self.gate_down(e, 0))
    }

    fn gate_down(&self, e: GateUnavailable, attempt: u32) -> SendError {
        let now = crate::runtime::now_ms();
        let delay = Backoff::default().delay_ms(attempt, jitter());
        crate::runtime::log(
            "error",
            "dependency failure",
            json!({"what": "discord gate", "error": e.to_string()}),
        );
        SendError::gate_unavailable(e.to_string(), now + delay)
    }

    /// One attempt at `endpoint`. `attempt` counts this job's retries so far (the backoff of
    /// a transient failure grows with it). Never sleeps: a busy bucket, a 429, a ban or the
    /// invalid-request budget come back as [`SendError::NotBefore`].
    pub async fn send<E: Endpoint>(
        &self,
        endpoint: &E,
        attempt: u32,
    ) -> Result<E::Output, SendError> {
        // A request Discord would refuse is never sent and takes no slot.
        let request = endpoint.request().map_err(SendError::Permanent)?;
        let key = request.rate_key();
        let permit = match batch::acquire(&self.env, &self.gate, &key).await {
            Ok(Acquire::Go(permit)) => permit,
            Ok(other) => {
                return Err(
                    refused(&other).unwrap_or_else(|| SendError::gate_unavailable("no permit", 0))
                )
            }
            Err(e) => return Err(self.gate_down(e, attempt)),
        };
        let transport = FetchTransport {
            api_base: &self.config.api_base,
            bot_token: &self.bot_token,
            deadline_ms: permit.deadline_ms,
        };
        let result = transport.send(&request).await;
        let observed =
            match batch::observe(&self.env, &self.gate, &permit, &feedback(&result)).await {
                Ok(o) => Some(o),
                Err(e) => {
                    // Discord answered: the caller gets that answer. The gate counts the slot as
                    // timed out at its deadline, which errs on the side of caution.
                    crate::runtime::log(
                        "error",
                        "discord gate observe failed",
                        json!({"error": e.to_string(), "route": request.route.as_str()}),
                    );
                    None
                }
            };
        let at = Attempt {
            now_ms: crate::runtime::now_ms(),
            attempt,
            jitter: jitter(),
            backoff: Backoff::default(),
        };
        let concluded =
            conclude(&result, key.auth, observed.as_ref(), &at).and_then(|_| match &result {
                Ok(response) => E::decode(response).map_err(SendError::Permanent),
                Err(_) => Err(SendError::gate_unavailable("no response", at.now_ms)),
            });
        if let Err(e) = &concluded {
            crate::runtime::log(
                if matches!(e, SendError::NotBefore { .. }) {
                    "info"
                } else {
                    "warn"
                },
                "discord request not done",
                json!({
                    "method": request.method.as_str(),
                    "path": request.log_path(),
                    "error_code": e.error_code(),
                    "discord_code": e.discord_code(),
                    "retry_at_ms": e.retry_at_ms(),
                    "status": result.as_ref().ok().map(|r| r.status),
                }),
            );
        }
        concluded
    }

    /// The gate's view: limiter state and counters.
    pub async fn status(&self) -> Result<GateStatus, SendError> {
        self.gate_client()?
            .status()
            .await
            .map_err(|e| self.gate_down(e, 0))
    }

    /// The operator acted: clear a 401 stop and the alert, end a ban pause.
    pub async fn reset(&self) -> Result<(ResetOutcome, GateStatus), SendError> {
        let r = self
            .gate_client()?
            .reset()
            .await
            .map_err(|e| self.gate_down(e, 0))?;
        Ok((r.reset, r.gate))
    }
}

fn jitter() -> u32 {
    u32::from_le_bytes(crate::runtime::random_bytes::<4>())
}
