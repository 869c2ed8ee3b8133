//! `/v1/admin/discord`: the Discord client's state for the operator — configured or not, the
//! gate's pauses, stop, alert, budget and counters — and the reset an operator does after
//! fixing what stopped it (a replaced bot token, an egress proxy in front of a banned IP).

use relay_core::routes::DiscordRoute;
use relay_core::ApiError;
use relay_discord::requests::GetCurrentUser;
use serde_json::{json, Value};

use crate::config::DiscordConfig;
use crate::discord::{Discord, SendError};
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult};

fn gate_error(e: SendError) -> ApiError {
    ApiError::unavailable(format!("{e}")).with_code("discord_gate_unavailable")
}

pub async fn handle(cx: &Cx, route: DiscordRoute) -> ApiResult {
    let config = DiscordConfig::from_env(&cx.env);
    let Some(discord) = Discord::from_env(&cx.env) else {
        return match route {
            // Not configured is a state to show, not a failure of this call.
            DiscordRoute::Status => Ok(http::ok(
                &cx.cid,
                200,
                json!({
                    "configured": false,
                    "error_code": "discord_not_configured",
                    "message": "DISCORD_BOT_TOKEN is not set: features that need Discord are off; ingest is unaffected",
                    "api_base": config.api_base,
                    "missing": config.missing(),
                }),
            )),
            DiscordRoute::Reset | DiscordRoute::Probe => Err(ApiError::conflict(
                "DISCORD_BOT_TOKEN is not set: there is no Discord client to reset or probe",
            )
            .with_code("discord_not_configured")),
        };
    };
    let common = json!({
        "configured": true,
        "api_base": discord.api_base(),
        "gate_name": discord.gate_name(),
        "oauth_configured": discord.client_id().is_some() && discord.client_secret().is_some(),
        "missing": config.missing(),
    });
    let mut body = common;
    match route {
        DiscordRoute::Status => {
            let gate = discord.status().await.map_err(gate_error)?;
            body["gate"] = json!(gate);
        }
        DiscordRoute::Reset => {
            let (reset, gate) = discord.reset().await.map_err(gate_error)?;
            crate::runtime::log(
                "warn",
                "discord gate reset",
                json!({"correlation_id": cx.cid, "reset": reset}),
            );
            body["reset"] = json!(reset);
            body["gate"] = json!(gate);
        }
        DiscordRoute::Probe => {
            body["probe"] = probe(&discord).await;
            let gate = discord.status().await.map_err(gate_error)?;
            body["gate"] = json!(gate);
        }
    }
    Ok(http::ok(&cx.cid, 200, body))
}

/// One `GET /users/@me` through the gate like any feature's call: its outcome is the answer
/// (a refusal is what the operator came to see, not a failure of this route).
async fn probe(discord: &Discord) -> Value {
    match discord.send(&GetCurrentUser::bot(), 0).await {
        Ok(user) => json!({
            "ok": true,
            "user": {"id": user.id.to_string(), "username": user.name},
        }),
        Err(e) => {
            let mut v = json!({
                "ok": false,
                "error_code": e.error_code(),
                "message": e.to_string(),
            });
            if let Some(at) = e.retry_at_ms() {
                v["retry_at_ms"] = json!(at);
            }
            if let Some(code) = e.discord_code() {
                v["discord_code"] = json!(code);
            }
            v
        }
    }
}
