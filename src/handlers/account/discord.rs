//! "Connect Discord": the OAuth2 authorization-code flow for linking a customer's Discord
//! account, unlinking, and what the dashboard shows (the account and its role state).
//!
//! The `state` is 24 random bytes, stored only as its SHA-256, bound to the session that asked
//! for it, single use and valid for 10 minutes. The code is exchanged here and the identity
//! read from `users/@me` with the token we got — nothing the browser sends names the account.

use relay_core::encoding::hex;
use relay_core::ApiError;
use relay_discord::oauth::{AuthorizeUrl, ExchangeCode, DEFAULT_AUTHORIZE_URL};
use relay_discord::requests::{AddGuildMember, AddedMember, GetCurrentUser};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use twilight_model::id::marker::{ApplicationMarker, GuildMarker};
use twilight_model::id::Id;
use worker::{Request, Response};

use super::guard::{own_origin, signed_in, signed_in_for_change};
use crate::db::audit::Entry;
use crate::db::Db;
use crate::discord::{Discord, SendError};
use crate::handlers::context::Cx;
use crate::http::{self, query, ApiResult, OrUnavailable};
use crate::runtime::{log, random_bytes};

/// How long a `state` may be used.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;

fn state_hash(state: &str) -> String {
    hex(&Sha256::digest(state.as_bytes()))
}

fn not_configured() -> ApiError {
    ApiError::unavailable(
        "Discord linking is not configured (DISCORD_BOT_TOKEN, DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET)",
    )
    .with_code("discord_not_configured")
}

struct App {
    discord: Discord,
    client_id: Id<ApplicationMarker>,
    secret: String,
}

fn app(cx: &Cx) -> ApiResult<App> {
    let discord = Discord::from_env(&cx.env).ok_or_else(not_configured)?;
    let client_id = discord
        .client_id()
        .and_then(|c| c.parse::<Id<ApplicationMarker>>().ok())
        .ok_or_else(not_configured)?;
    let secret = discord
        .client_secret()
        .map(str::to_string)
        .ok_or_else(not_configured)?;
    Ok(App {
        discord,
        client_id,
        secret,
    })
}

/// Where Discord sends the browser back; register it with the application (one per tenant).
pub fn redirect_uri(req: &Request, tenant: &str) -> ApiResult<String> {
    Ok(format!(
        "{}/v1/account/{tenant}/discord/callback",
        own_origin(req)?
    ))
}

fn authorize_base(cx: &Cx) -> String {
    cx.env
        .var("DISCORD_AUTHORIZE_URL")
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_AUTHORIZE_URL.to_string())
}

pub async fn start(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let s = signed_in_for_change(req, cx, db, tenant).await?;
    let app = app(cx)?;
    let settings = db
        .role_sync()
        .settings(tenant)
        .await
        .or_unavailable("role sync settings")?;
    let state = hex(&random_bytes::<24>());
    let mut scopes = vec!["identify"];
    if settings.auto_join != 0 {
        scopes.push("guilds.join");
    }
    let mut url = AuthorizeUrl::new(app.client_id, redirect_uri(req, tenant)?, &scopes, &state);
    url.authorize_url = authorize_base(cx);
    let url = url.build().map_err(|e| {
        ApiError::unavailable(format!("the authorize URL is misconfigured: {}", e.message))
            .with_code("discord_not_configured")
    })?;
    db.batch(vec![db
        .role_sync()
        .put_state(
            &state_hash(&state),
            tenant,
            &s.customer.customer_id,
            &s.session.token_hash,
            cx.now + STATE_TTL_MS,
            cx.now,
        )
        .or_unavailable("link state")?])
        .await
        .or_unavailable("link state")?;
    Ok(http::ok(
        &cx.cid,
        201,
        json!({"authorize_url": url, "expires_in_seconds": STATE_TTL_MS / 1000}),
    ))
}

fn back(cx: &Cx, tenant: &str, outcome: Result<&str, &str>) -> Response {
    let q = match outcome {
        Ok(what) => format!("discord={what}"),
        Err(code) => format!("discord_error={code}"),
    };
    let resp = http::empty(&cx.cid, 303);
    let h = resp.headers().clone();
    let _ = h.set("location", &format!("/t/{tenant}/?{q}"));
    resp.with_headers(h)
}

/// Discord sent the browser back. Every outcome is a redirect to the dashboard, which shows it;
/// a refusal changes nothing.
pub async fn callback(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    match link(req, cx, db, tenant).await {
        Ok(what) => Ok(back(cx, tenant, Ok(what))),
        Err(e) => {
            log(
                "info",
                "discord link refused",
                json!({"correlation_id": cx.cid, "tenant_key": tenant, "error_code": e.code}),
            );
            Ok(back(cx, tenant, Err(&e.code)))
        }
    }
}

fn refused(code: &'static str, message: &str) -> ApiError {
    ApiError::forbidden(message.to_string()).with_code(code)
}

async fn link(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult<&'static str> {
    if query(req, "error").is_some() {
        return Err(refused(
            "discord_authorization_denied",
            "Discord authorization was cancelled",
        ));
    }
    let s = signed_in(req, cx, db, tenant).await?;
    let state = query(req, "state").unwrap_or_default();
    let hash = state_hash(&state);
    let row = db
        .role_sync()
        .state(&hash)
        .await
        .or_unavailable("link state")?
        .filter(|r| !state.is_empty() && r.tenant_key == tenant)
        .ok_or_else(|| refused("discord_state_invalid", "this link request is unknown"))?;
    if row.session_hash != s.session.token_hash || row.customer_id != s.customer.customer_id {
        return Err(refused(
            "discord_state_mismatch",
            "this link request was started in another session",
        ));
    }
    if row.used_at.is_some() {
        return Err(refused(
            "discord_state_used",
            "this link request was used already",
        ));
    }
    if row.expires_at <= cx.now {
        return Err(refused(
            "discord_state_expired",
            "this link request expired; start again",
        ));
    }
    if db
        .role_sync()
        .use_state(&hash, cx.now)
        .await
        .or_unavailable("link state")?
        == 0
    {
        return Err(refused(
            "discord_state_used",
            "this link request was used already",
        ));
    }
    let code = query(req, "code").unwrap_or_default();
    if code.is_empty() {
        return Err(refused("discord_code_invalid", "Discord sent no code"));
    }
    let app = app(cx)?;
    let token = app
        .discord
        .send(
            &ExchangeCode {
                client_id: app.client_id,
                client_secret: app.secret.clone(),
                code,
                redirect_uri: redirect_uri(req, tenant)?,
            },
            0,
        )
        .await
        .map_err(|e| exchange_failed(&e))?;
    let me = app
        .discord
        .send(&GetCurrentUser::with_token(token.access_token.clone()), 0)
        .await
        .map_err(|e| exchange_failed(&e))?;
    if me.bot {
        return Err(refused(
            "discord_account_invalid",
            "a bot account cannot be linked",
        ));
    }
    let user = me.id.to_string();
    let customer = &s.customer.customer_id;
    if let Some(other) = db
        .role_sync()
        .link_by_user(tenant, &user)
        .await
        .or_unavailable("links")?
        .filter(|l| l.customer_id != *customer)
    {
        let _ = other;
        return Err(ApiError::conflict(
            "this Discord account is linked to another customer of this service",
        )
        .with_code("discord_account_taken"));
    }
    let previous = db
        .role_sync()
        .link(tenant, customer)
        .await
        .or_unavailable("links")?
        .map(|l| l.discord_user_id)
        .filter(|old| *old != user);
    // twilight's CurrentUser carries no `global_name`: the username is the display name.
    let global_name: Option<String> = None;
    db.batch(vec![
        db.role_sync()
            .put_link(
                tenant,
                customer,
                &user,
                &me.name,
                global_name.as_deref(),
                cx.now,
            )
            .or_unavailable("link")?,
        db.trial_claims()
            .stamp_discord(tenant, customer, &user)
            .or_unavailable("trial claims")?,
        db.audit()
            .record(&Entry {
                tenant_key: tenant,
                customer_id: Some(customer),
                at: cx.now,
                action: if previous.is_some() {
                    "discord_relinked"
                } else {
                    "discord_linked"
                },
                detail: json!({"discord_user_id": user, "username": me.name, "previous": previous}),
                reason: None,
                actor: "customer",
            })
            .or_unavailable("audit")?,
    ])
    .await
    .map_err(|e| {
        // The UNIQUE key: another customer claimed the account between our check and write.
        if e.to_string().contains("UNIQUE") {
            ApiError::conflict("this Discord account is linked to another customer of this service")
                .with_code("discord_account_taken")
        } else {
            log(
                "error",
                "dependency failure",
                json!({"what": "link", "error": e.to_string()}),
            );
            ApiError::unavailable("link is temporarily unavailable; retry")
                .with_code("storage_unavailable")
        }
    })?;
    let settings = db
        .role_sync()
        .settings(tenant)
        .await
        .or_unavailable("role sync settings")?;
    if settings.auto_join != 0 && token.has_scope("guilds.join") {
        auto_join(
            cx,
            db,
            &app.discord,
            tenant,
            customer,
            me.id,
            &token.access_token,
        )
        .await;
    }
    let mut users = vec![user];
    let reason = match previous {
        Some(old) => {
            users.push(old);
            "relink"
        }
        None => "link",
    };
    crate::role_sync::sync_users(&cx.env, tenant, users, reason).await;
    Ok(if reason == "relink" {
        "relinked"
    } else {
        "linked"
    })
}

fn exchange_failed(e: &SendError) -> ApiError {
    match e {
        SendError::Permanent(_) => refused(
            "discord_code_invalid",
            "Discord did not accept this authorization; start again",
        ),
        _ => ApiError::unavailable("Discord is not reachable right now; retry")
            .with_code("discord_unavailable"),
    }
}

/// With auto-join on: adds the member to each mapped guild they are not in, with their token
/// (`guilds.join`). Failures are logged; the role state shows "not a member" then.
async fn auto_join(
    cx: &Cx,
    db: &Db,
    discord: &Discord,
    tenant: &str,
    customer: &str,
    user: twilight_model::id::Id<twilight_model::id::marker::UserMarker>,
    access_token: &str,
) {
    let guilds: std::collections::BTreeSet<String> = match db.role_sync().mappings(tenant).await {
        Ok(m) => m.into_iter().map(|m| m.guild_id).collect(),
        Err(_) => return,
    };
    for g in guilds {
        let Ok(gid) = g.parse::<Id<GuildMarker>>() else {
            continue;
        };
        let r = discord
            .send(
                &AddGuildMember {
                    guild_id: gid,
                    user_id: user,
                    access_token: access_token.to_string(),
                    roles: vec![],
                    nick: None,
                },
                0,
            )
            .await;
        let outcome = match &r {
            Ok(AddedMember::Added(_)) => "added",
            Ok(AddedMember::AlreadyMember) => "already_member",
            Err(e) => e.error_code(),
        };
        log(
            "info",
            "discord auto-join",
            json!({"correlation_id": cx.cid, "tenant_key": tenant, "guild_id": g, "outcome": outcome}),
        );
        if matches!(r, Ok(AddedMember::Added(_))) {
            if let Ok(stmt) = db
                .role_sync()
                .record_change(&crate::db::role_sync::NewChange {
                    tenant,
                    guild_id: &g,
                    discord_user_id: &user.to_string(),
                    customer_id: Some(customer),
                    action: "join",
                    role_id: None,
                    reason: "auto-join on link",
                    outcome: "done",
                    error_code: None,
                    now: cx.now,
                })
            {
                let _ = db.batch(vec![stmt]).await;
            }
        }
    }
}

/// A guild's name and its roles' (id, name), from the catalog.
type GuildNames = (Option<String>, Vec<(String, String)>);

/// Role states with the guild's and roles' names from the catalog, for people.
pub async fn states_json(db: &Db, tenant: &str, customer: Option<&str>) -> ApiResult<Vec<Value>> {
    let states = db
        .role_sync()
        .states(tenant, customer)
        .await
        .or_unavailable("role states")?;
    let mut names: std::collections::HashMap<String, GuildNames> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for st in states {
        if !names.contains_key(&st.guild_id) {
            let entry = match relay_core::ids::GuildId::parse(&st.guild_id) {
                Ok(gid) => {
                    let gname = db
                        .catalog()
                        .guild(&gid)
                        .await
                        .or_unavailable("catalog")?
                        .map(|g| g.name);
                    let roles = db
                        .catalog()
                        .roles(&gid)
                        .await
                        .or_unavailable("catalog")?
                        .into_iter()
                        .map(|r| (r.role_id, r.name))
                        .collect();
                    (gname, roles)
                }
                Err(_) => (None, Vec::new()),
            };
            names.insert(st.guild_id.clone(), entry);
        }
        let (gname, roles) = &names[&st.guild_id];
        let mut v = st.to_json();
        v["guild_name"] = json!(gname);
        let role_names: serde_json::Map<String, Value> = roles
            .iter()
            .map(|(id, n)| (id.clone(), Value::from(n.clone())))
            .collect();
        v["role_names"] = Value::Object(role_names);
        out.push(v);
    }
    Ok(out)
}

pub async fn status(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let s = signed_in(req, cx, db, tenant).await?;
    let link = db
        .role_sync()
        .link(tenant, &s.customer.customer_id)
        .await
        .or_unavailable("links")?;
    let roles = if link.is_some() {
        states_json(db, tenant, Some(&s.customer.customer_id)).await?
    } else {
        Vec::new()
    };
    Ok(http::ok(
        &cx.cid,
        200,
        json!({
            "configured": app(cx).is_ok(),
            "link": link.map(|l| l.to_json()),
            "roles": roles,
        }),
    ))
}

pub async fn unlink(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let s = signed_in_for_change(req, cx, db, tenant).await?;
    let customer = &s.customer.customer_id;
    let link = db
        .role_sync()
        .link(tenant, customer)
        .await
        .or_unavailable("links")?
        .ok_or_else(|| {
            ApiError::not_found("no Discord account is linked").with_code("discord_not_linked")
        })?;
    db.batch(vec![
        db.role_sync()
            .delete_link(tenant, customer)
            .or_unavailable("unlink")?,
        db.audit()
            .record(&Entry {
                tenant_key: tenant,
                customer_id: Some(customer),
                at: cx.now,
                action: "discord_unlinked",
                detail: json!({"discord_user_id": link.discord_user_id}),
                reason: None,
                actor: "customer",
            })
            .or_unavailable("audit")?,
    ])
    .await
    .or_unavailable("unlink")?;
    crate::role_sync::sync_users(
        &cx.env,
        tenant,
        vec![link.discord_user_id.clone()],
        "unlink",
    )
    .await;
    Ok(http::ok(&cx.cid, 200, json!({"unlinked": link.to_json()})))
}
