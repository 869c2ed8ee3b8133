//! The control API under `/_control`: what tests use to see and steer the fake. Not recorded,
//! not rate limited, never faulted.

use crate::cdn;
use crate::error::ApiError;
use crate::http::{JsonBody, Req, Resp};
use crate::perms::{self, Overwrite};
use crate::ratelimit::Window;
use crate::render;
use crate::server::App;
use crate::state::{self, Channel, Fault, FaultKind, Grant, Member, Role, State, StoredFile, User};
use crate::util::{iso8601, now_ms};
use base64::Engine;
use serde_json::{json, Value};

fn bad(msg: impl Into<String>) -> Resp {
    Resp::json(400, &json!({"error": "bad_request", "message": msg.into()}))
}

fn not_found(what: &str) -> Resp {
    Resp::json(
        404,
        &json!({"error": "not_found", "message": format!("unknown {what}")}),
    )
}

fn ok(v: Value) -> Resp {
    Resp::json(200, &v)
}

fn id_of(s: &str) -> Option<u64> {
    s.parse().ok()
}

fn u64_field(v: &Value, k: &str) -> Option<u64> {
    match v.get(k) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

fn window_json(w: Window) -> Value {
    json!({"limit": w.limit, "window_ms": w.window_ms})
}

fn limits_json(st: &State) -> Value {
    let l = &st.settings.limits;
    json!({
        "webhook": window_json(l.webhook),
        "channel_messages": window_json(l.channel_messages),
        "channel_webhooks": window_json(l.channel_webhooks),
        "global": window_json(l.global),
        "route": window_json(l.route),
        "invalid_threshold": l.invalid_threshold,
        "invalid_window_ms": l.invalid_window_ms,
        "ban_ms": l.ban_ms,
    })
}

fn set_limits(st: &mut State, body: &Value) -> Result<(), String> {
    let win = |v: &Value| -> Result<Window, String> {
        let limit = u64_field(v, "limit").ok_or("limit is required")?;
        let window_ms = u64_field(v, "window_ms").ok_or("window_ms is required")?;
        if window_ms == 0 {
            return Err("window_ms must be positive".into());
        }
        Ok(Window::new(
            u32::try_from(limit).map_err(|_| "limit too large")?,
            window_ms,
        ))
    };
    let l = &mut st.settings.limits;
    for (key, slot) in [
        ("webhook", &mut l.webhook),
        ("channel_messages", &mut l.channel_messages),
        ("channel_webhooks", &mut l.channel_webhooks),
        ("global", &mut l.global),
        ("route", &mut l.route),
    ] {
        if let Some(v) = body.get(key) {
            *slot = win(v)?;
        }
    }
    if let Some(n) = u64_field(body, "invalid_threshold") {
        l.invalid_threshold = u32::try_from(n).map_err(|_| "invalid_threshold too large")?;
    }
    if let Some(n) = u64_field(body, "invalid_window_ms") {
        l.invalid_window_ms = n.max(1);
    }
    if let Some(n) = u64_field(body, "ban_ms") {
        l.ban_ms = n;
    }
    st.apply_invalid_limits();
    // New limits start from fresh windows, so a test sees exactly what it configured.
    st.limiter.clear();
    Ok(())
}

fn invalid_json(st: &mut State, now: u64) -> Value {
    let banned = st.invalid.banned_until(now);
    json!({
        "count": st.invalid.count(now),
        "threshold": st.invalid.threshold,
        "window_ms": st.invalid.window_ms,
        "banned": banned.is_some(),
        "banned_until_ms": banned,
    })
}

fn fault_json(f: &Fault) -> Value {
    let mut v = json!({"id": f.id, "method": f.method, "path": f.path, "remaining": f.remaining});
    match &f.kind {
        FaultKind::Status { status, body, .. } => {
            v["kind"] = json!("status");
            v["status"] = json!(status);
            v["body"] = json!(body);
        }
        FaultKind::Latency { ms } => {
            v["kind"] = json!("latency");
            v["ms"] = json!(ms);
        }
        FaultKind::Hold { ms } => {
            v["kind"] = json!("hold");
            v["ms"] = json!(ms);
        }
        FaultKind::RateLimit {
            retry_after_ms,
            scope,
            global,
            code,
        } => {
            v["kind"] = json!("429");
            v["retry_after_ms"] = json!(retry_after_ms);
            v["scope"] = json!(scope);
            v["global"] = json!(global);
            v["code"] = json!(code);
        }
    }
    v
}

fn add_fault(st: &mut State, body: &Value) -> Result<Value, String> {
    let count = u64_field(body, "count").unwrap_or(1);
    let kind = match body.get("kind").and_then(Value::as_str) {
        Some("status") | Some("5xx") => {
            let status = u64_field(body, "status").unwrap_or(500);
            if !(100..=599).contains(&status) {
                return Err("status must be an HTTP status".into());
            }
            FaultKind::Status {
                status: status as u16,
                body: body.get("body").and_then(Value::as_str).map(String::from),
                content_type: body
                    .get("content_type")
                    .and_then(Value::as_str)
                    .map(String::from),
            }
        }
        Some("latency") => FaultKind::Latency {
            ms: u64_field(body, "ms").ok_or("latency needs ms")?,
        },
        Some("hold") => FaultKind::Hold {
            ms: u64_field(body, "ms").ok_or("hold needs ms")?,
        },
        Some("429") | Some("rate_limit") => {
            let global = body.get("global").and_then(Value::as_bool).unwrap_or(false);
            FaultKind::RateLimit {
                retry_after_ms: u64_field(body, "retry_after_ms").unwrap_or(1000),
                scope: body
                    .get("scope")
                    .and_then(Value::as_str)
                    .unwrap_or(if global { "global" } else { "user" })
                    .to_string(),
                global,
                code: u64_field(body, "code"),
            }
        }
        _ => return Err("kind must be status, latency, hold or 429".into()),
    };
    let f = Fault {
        id: st.next_fault_id,
        kind,
        method: body.get("method").and_then(Value::as_str).map(String::from),
        path: body.get("path").and_then(Value::as_str).map(String::from),
        remaining: u32::try_from(count).map_err(|_| "count too large")?,
    };
    st.next_fault_id += 1;
    let v = fault_json(&f);
    st.faults.push(f);
    Ok(v)
}

fn overwrites_of(v: &Value) -> Result<Vec<Overwrite>, String> {
    let Some(list) = v.as_array() else {
        return Err("overwrites must be a list".into());
    };
    list.iter()
        .map(|o| {
            Ok(Overwrite {
                id: u64_field(o, "id").ok_or("overwrite id")?,
                kind: u64_field(o, "type").unwrap_or(0) as u8,
                allow: perms_field(o, "allow")?.unwrap_or(0),
                deny: perms_field(o, "deny")?.unwrap_or(0),
            })
        })
        .collect()
}

fn perms_field(v: &Value, k: &str) -> Result<Option<u64>, String> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| format!("{k}: bad")),
        Some(Value::String(s)) => perms::parse(s)
            .map(Some)
            .ok_or_else(|| format!("{k}: unknown permission {s}")),
        Some(_) => Err(format!("{k}: expected a name or bits")),
    }
}

fn role_ids(v: Option<&Value>) -> Vec<u64> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| match r {
                    Value::String(s) => s.parse().ok(),
                    Value::Number(n) => n.as_u64(),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn valid_avatar_hash(h: &str) -> bool {
    let hex = h.strip_prefix("a_").unwrap_or(h);
    hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn new_user(st: &mut State, body: &Value, now: u64) -> Result<User, String> {
    let username = body
        .get("username")
        .and_then(Value::as_str)
        .ok_or("username is required")?
        .to_string();
    let id = u64_field(body, "user_id").unwrap_or_else(|| st.ids.next(now));
    // `"avatar": true` generates a hash; a string is taken as the hash (`a_…` is animated).
    let avatar = match body.get("avatar") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => None,
        Some(Value::Bool(true)) => Some(crate::util::short_hash(&format!("avatar-{id}"), 32)),
        Some(Value::String(h)) if valid_avatar_hash(h) => Some(h.clone()),
        Some(_) => {
            return Err("avatar is true or a hash: 32 hex digits, a_ first if animated".into())
        }
    };
    let user = User {
        id,
        username: username.clone(),
        global_name: body
            .get("global_name")
            .and_then(Value::as_str)
            .map(String::from),
        avatar,
        bot: body.get("bot").and_then(Value::as_bool).unwrap_or(false),
        email: Some(
            body.get("email")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| format!("{username}@example.test")),
        ),
        generated: None,
    };
    st.users.insert(id, user.clone());
    Ok(user)
}

/// What the web page draws: channels in Discord's order, threads under their parent, and the
/// last 100 messages of each.
fn view(st: &State, now: u64) -> Value {
    let g = st.guilds.get(&st.guild_id);
    let mut top: Vec<&Channel> = st
        .channels
        .values()
        .filter(|c| c.guild_id == st.guild_id && !state::is_thread(c.kind))
        .collect();
    top.sort_by_key(|c| (c.kind == state::CHANNEL_CATEGORY, c.position, c.id));
    let is_cat = |id: Option<u64>| {
        id.is_some_and(|p| {
            top.iter()
                .any(|c| c.id == p && c.kind == state::CHANNEL_CATEGORY)
        })
    };
    let threads_of = |id: u64| {
        st.channels
            .values()
            .filter(move |t| t.parent_id == Some(id) && state::is_thread(t.kind))
    };
    let mut ordered: Vec<&Channel> = vec![];
    for c in top
        .iter()
        .filter(|c| c.kind != state::CHANNEL_CATEGORY && !is_cat(c.parent_id))
    {
        ordered.push(c);
        ordered.extend(threads_of(c.id));
    }
    for cat in top.iter().filter(|c| c.kind == state::CHANNEL_CATEGORY) {
        ordered.push(cat);
        for c in top.iter().filter(|c| c.parent_id == Some(cat.id)) {
            ordered.push(c);
            ordered.extend(threads_of(c.id));
        }
    }
    let mut messages = serde_json::Map::new();
    let channels: Vec<Value> = ordered
        .iter()
        .map(|c| {
            let msgs: Vec<Value> = {
                let mut all: Vec<&state::Message> = st.messages.values().filter(|m| m.channel_id == c.id).collect();
                let skip = all.len().saturating_sub(100);
                all.drain(..skip);
                all.into_iter()
                    .map(|m| {
                        let rendered = render::message(st, m, now / 1000);
                        json!({
                            "id": m.id.to_string(),
                            "author_name": m.author_name,
                            // A webhook post shows the avatar_url it was sent with; anyone
                            // else's post their own avatar, from this CDN.
                            "avatar_url": m.avatar_url.clone().or_else(|| {
                                m.webhook_id.is_none().then(|| m.author_avatar.as_ref().map(|h| {
                                    format!("{}/cdn/avatars/{}/{h}.png", st.base_url, m.author_id)
                                })).flatten()
                            }),
                            "webhook": m.webhook_id.is_some(),
                            "bot": m.author_bot,
                            "content": m.content,
                            "embeds": m.embeds,
                            "attachments": rendered["attachments"],
                            "timestamp": iso8601(m.created_ms),
                            "edited": m.edited_ms.is_some(),
                            "pings": rendered["mention_everyone"] == json!(true) || rendered["mention_roles"].as_array().is_some_and(|r| !r.is_empty()),
                        })
                    })
                    .collect()
            };
            let count = msgs.len();
            messages.insert(c.id.to_string(), Value::Array(msgs));
            json!({
                "id": c.id.to_string(),
                "name": c.name,
                "type": c.kind,
                "topic": c.topic,
                "parent_id": c.parent_id.map(|p| p.to_string()),
                "thread": c.thread.is_some(),
                "message_count": count,
            })
        })
        .collect();
    // The people in the guild (not the bulk members) with their roles, highest first, so a
    // person watching the demo sees role sync happen.
    let members: Vec<Value> = g
        .map(|g| {
            g.members
                .values()
                .filter_map(|m| {
                    let u = st.users.get(&m.user_id).filter(|u| u.generated.is_none())?;
                    let mut roles: Vec<&Role> =
                        m.roles.iter().filter_map(|r| g.roles.get(r)).collect();
                    roles.sort_by_key(|r| std::cmp::Reverse(r.position));
                    Some(json!({
                        "id": u.id.to_string(),
                        "name": u.global_name.clone().unwrap_or_else(|| u.username.clone()),
                        "username": u.username,
                        "bot": u.bot,
                        "roles": roles.iter().map(|r| json!({"id": r.id.to_string(), "name": r.name, "color": r.color})).collect::<Vec<_>>(),
                    }))
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "guild": {"id": st.guild_id.to_string(), "name": g.map(|g| g.name.clone())},
        "channels": channels,
        "messages": messages,
        "members": members,
    })
}

fn state_json(st: &mut State, now: u64) -> Value {
    let guilds: Vec<Value> = st
        .guilds
        .values()
        .map(|g| {
            let mut roles: Vec<&Role> = g.roles.values().collect();
            roles.sort_by_key(|r| r.position);
            let mut channels: Vec<&Channel> = st
                .channels
                .values()
                .filter(|c| c.guild_id == g.id)
                .collect();
            channels.sort_by_key(|c| (c.position, c.id));
            json!({
                "id": g.id.to_string(),
                "name": g.name,
                "owner_id": g.owner_id.to_string(),
                "member_count": g.members.len(),
                "roles": roles.into_iter().map(render::role).collect::<Vec<_>>(),
                "channels": channels.into_iter().map(render::channel).collect::<Vec<_>>(),
                "named_members": g.members.values()
                    .filter(|m| st.users.get(&m.user_id).is_some_and(|u| u.generated.is_none()))
                    .map(|m| render::member(st, m))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let users: Vec<Value> = st
        .users
        .values()
        .filter(|u| u.generated.is_none())
        .map(|u| {
            let mut v = render::user(u);
            v["email"] = json!(u.email);
            v
        })
        .collect();
    let webhooks: Vec<Value> = st
        .webhooks
        .values()
        .map(|w| render::webhook(st, w, true))
        .collect();
    let bot = st.users.get(&st.bot_id).map(render::user);
    let invalid = invalid_json(st, now);
    json!({
        "base_url": st.base_url,
        "api_base": format!("{}/api/v10", st.base_url),
        "cdn_base": format!("{}/cdn", st.base_url),
        "bot": {"id": st.bot_id.to_string(), "token": st.settings.bot_token, "user": bot},
        "application": {
            "client_id": st.bot_id.to_string(),
            "client_secret": st.settings.client_secret,
            "redirect_uris": st.settings.redirect_uris,
            "authorize_url": format!("{}/oauth2/authorize", st.base_url),
            "token_url": format!("{}/api/v10/oauth2/token", st.base_url),
        },
        "guild_id": st.guild_id.to_string(),
        "guild_members_intent": st.settings.guild_members_intent,
        "guilds": guilds,
        "users": users,
        "webhooks": webhooks,
        "limits": limits_json(st),
        "invalid_requests": invalid,
        "faults": st.faults.iter().map(fault_json).collect::<Vec<_>>(),
        "next_request_seq": st.next_seq,
        "message_count": st.messages.len(),
        "checks": st.checks.len(),
    })
}

/// A message a person posts (an analyst in a source channel), optionally replying to another
/// message of the channel, so tests can give the bot something to read back.
fn user_message(st: &mut State, body: &Value, now: u64) -> Result<Value, &'static str> {
    let channel = u64_field(body, "channel_id").ok_or("channel_id is required")?;
    let guild_id = st
        .channels
        .get(&channel)
        .map(|c| c.guild_id)
        .ok_or("no such channel")?;
    let author = u64_field(body, "author_id").ok_or("author_id is required")?;
    let user = st.users.get(&author).cloned().ok_or("no such user")?;
    let reply_to = match u64_field(body, "reply_to") {
        Some(r) if st.messages.get(&r).is_some_and(|m| m.channel_id == channel) => Some(r),
        Some(_) => return Err("reply_to is not a message of that channel"),
        None => None,
    };
    let id = st.ids.next(now);
    let m = crate::state::Message {
        id,
        channel_id: channel,
        guild_id,
        author_id: author,
        author_name: user.username.clone(),
        author_avatar: user.avatar.clone(),
        avatar_url: None,
        author_bot: false,
        webhook_id: None,
        application_id: None,
        content: body
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        embeds: vec![],
        attachments: vec![],
        flags: 0,
        tts: false,
        nonce: None,
        created_ms: now,
        edited_ms: None,
        allowed_mentions: None,
        position: None,
        reply_to,
    };
    let v = render::message(st, &m, now / 1000);
    if let Some(c) = st.channels.get_mut(&channel) {
        c.last_message_id = Some(id);
    }
    st.messages.insert(id, m);
    Ok(v)
}

pub fn handle(app: &App, req: &Req, segs: &[&str]) -> Resp {
    let now = now_ms();
    let mut guard = app.lock();
    let st: &mut State = &mut guard;
    let body = match req.json() {
        Ok(v) => v,
        Err(_) => return bad("body must be JSON"),
    };
    let m = req.method.as_str();
    let g = st.guild_id;
    match (m, segs) {
        ("GET", ["state"]) => ok(state_json(st, now)),
        ("POST", ["reset"]) => {
            let mut settings = app.initial.clone();
            if let Some(n) = u64_field(&body, "members") {
                settings.generated_members = n as usize;
            }
            let (next_seq, base) = (st.next_seq, st.base_url.clone());
            *st = State::new(settings, base, app.entropy.clone());
            st.next_seq = next_seq;
            ok(json!({"reset": true}))
        }
        ("GET", ["view"]) => ok(view(st, now)),
        ("GET", ["requests"]) => {
            let since = req.q("since").and_then(id_of).unwrap_or(0);
            let filter = req.q("path");
            let list: Vec<Value> = st
                .requests
                .iter()
                .filter(|r| r.seq > since && filter.is_none_or(|f| r.path.contains(f)))
                .map(|r| {
                    json!({
                        "seq": r.seq,
                        "at_ms": r.at_ms,
                        "method": r.method,
                        "path": r.path,
                        "headers": r.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                        "body": r.body,
                        "status": r.status,
                    })
                })
                .collect();
            ok(json!({"next": st.next_seq - 1, "requests": list}))
        }
        ("GET", ["checks"]) => {
            ok(json!({"ok": st.checks.is_empty(), "missing_allowed_mentions": st.checks}))
        }
        ("DELETE", ["checks"]) => {
            st.checks.clear();
            Resp::new(204)
        }
        ("GET", ["messages"]) => {
            let channel = req.q("channel_id").and_then(id_of);
            let list: Vec<Value> = st
                .messages
                .values()
                .filter(|msg| channel.is_none_or(|c| msg.channel_id == c))
                .map(|msg| {
                    let mut v = render::message(st, msg, now / 1000);
                    v["allowed_mentions"] = msg.allowed_mentions.clone().unwrap_or(Value::Null);
                    v["avatar_url"] = json!(msg.avatar_url);
                    v
                })
                .collect();
            ok(Value::Array(list))
        }
        ("POST", ["messages"]) => match user_message(st, &body, now) {
            Ok(v) => ok(v),
            Err(e) => bad(e),
        },
        ("GET", ["webhooks"]) => ok(st
            .webhooks
            .values()
            .map(|w| render::webhook(st, w, true))
            .collect()),
        ("DELETE", ["webhooks", id]) => match id_of(id).and_then(|w| st.webhooks.remove(&w)) {
            Some(_) => Resp::new(204),
            None => not_found("webhook"),
        },
        ("GET", ["faults"]) => ok(st.faults.iter().map(fault_json).collect()),
        ("POST", ["faults"]) => match add_fault(st, &body) {
            Ok(v) => ok(v),
            Err(e) => bad(e),
        },
        ("DELETE", ["faults"]) => {
            st.faults.clear();
            Resp::new(204)
        }
        ("GET", ["limits"]) => ok(limits_json(st)),
        ("POST", ["limits"]) => match set_limits(st, &body) {
            Ok(()) => ok(limits_json(st)),
            Err(e) => bad(e),
        },
        ("GET", ["intents"]) => ok(json!({"guild_members": st.settings.guild_members_intent})),
        ("POST", ["intents"]) => match body.get("guild_members").and_then(Value::as_bool) {
            Some(on) => {
                st.settings.guild_members_intent = on;
                ok(json!({"guild_members": on}))
            }
            None => bad("guild_members must be a boolean"),
        },
        ("GET", ["invalid"]) => ok(invalid_json(st, now)),
        ("POST", ["invalid", "reset"]) => {
            st.invalid.reset();
            ok(invalid_json(st, now))
        }
        ("POST", ["bot-token"]) => match body.get("token").and_then(Value::as_str) {
            Some(t) if !t.trim().is_empty() => {
                st.settings.bot_token = t.to_string();
                ok(json!({"token": t}))
            }
            _ => bad("token must be a non-empty string"),
        },
        ("POST", ["oauth"]) => {
            if let Some(list) = body.get("redirect_uris").and_then(Value::as_array) {
                st.settings.redirect_uris = list
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect();
            }
            if let Some(s) = body.get("client_secret").and_then(Value::as_str) {
                st.settings.client_secret = s.to_string();
            }
            ok(
                json!({"redirect_uris": st.settings.redirect_uris, "client_secret": st.settings.client_secret}),
            )
        }
        ("POST", ["tokens"]) => {
            let Some(user_id) = u64_field(&body, "user_id").filter(|u| st.users.contains_key(u))
            else {
                return bad("user_id must be a known user");
            };
            let scope = body
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or("identify guilds guilds.join")
                .to_string();
            let token = st.secret(30);
            st.tokens.insert(
                token.clone(),
                Grant {
                    user_id,
                    scope: scope.clone(),
                    expires_ms: now + crate::oauth::TOKEN_TTL_S * 1000,
                },
            );
            ok(json!({"access_token": token, "token_type": "Bearer", "scope": scope}))
        }
        ("POST", ["users"]) => match new_user(st, &body, now) {
            Ok(u) => ok(render::user(&u)),
            Err(e) => bad(e),
        },
        ("POST", ["members"]) => {
            let user = match u64_field(&body, "user_id").and_then(|u| st.users.get(&u).cloned()) {
                Some(u) => u,
                None => match new_user(st, &body, now) {
                    Ok(u) => u,
                    Err(e) => return bad(e),
                },
            };
            let member = Member {
                user_id: user.id,
                roles: role_ids(body.get("roles")),
                nick: None,
                joined_ms: now,
            };
            let v = render::member(st, &member);
            if let Some(guild) = st.guilds.get_mut(&g) {
                guild.members.insert(user.id, member);
            }
            ok(v)
        }
        ("POST", ["members", "generated"]) => match u64_field(&body, "count") {
            Some(n) if n <= 200_000 => {
                st.set_generated_members(n as usize);
                ok(
                    json!({"generated": n, "member_count": st.guilds.get(&g).map(|g| g.members.len())}),
                )
            }
            _ => bad("count must be a number up to 200000"),
        },
        ("DELETE", ["members", id]) => {
            match id_of(id).and_then(|u| {
                st.guilds
                    .get_mut(&g)
                    .and_then(|guild| guild.members.remove(&u))
            }) {
                Some(_) => Resp::new(204),
                None => not_found("member"),
            }
        }
        ("PUT" | "DELETE", ["members", uid, "roles", rid]) => {
            let (Some(u), Some(r)) = (id_of(uid), id_of(rid)) else {
                return bad("ids must be snowflakes");
            };
            let Some(guild) = st.guilds.get_mut(&g) else {
                return not_found("guild");
            };
            if !guild.roles.contains_key(&r) {
                return not_found("role");
            }
            let Some(member) = guild.members.get_mut(&u) else {
                return not_found("member");
            };
            member.roles.retain(|x| *x != r);
            if m == "PUT" {
                member.roles.push(r);
            }
            Resp::new(204)
        }
        ("POST", ["roles"]) => {
            let Some(name) = body.get("name").and_then(Value::as_str) else {
                return bad("name is required");
            };
            let permissions = match perms_field(&body, "permissions") {
                Ok(p) => p.unwrap_or(0),
                Err(e) => return bad(e),
            };
            let id = st.ids.next(now);
            let Some(guild) = st.guilds.get_mut(&g) else {
                return not_found("guild");
            };
            let top = guild.roles.values().map(|r| r.position).max().unwrap_or(0);
            let position = body
                .get("position")
                .and_then(Value::as_i64)
                .unwrap_or(1)
                .clamp(1, top + 1);
            for r in guild
                .roles
                .values_mut()
                .filter(|r| r.position >= position && r.id != g)
            {
                r.position += 1;
            }
            let role = Role {
                id,
                name: name.into(),
                permissions,
                position,
                color: u64_field(&body, "color").unwrap_or(0) as u32,
                hoist: false,
                managed: body
                    .get("managed")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                mentionable: false,
                tags: None,
            };
            let v = render::role(&role);
            guild.roles.insert(id, role);
            ok(v)
        }
        ("PATCH", ["roles", rid]) => {
            let permissions = match perms_field(&body, "permissions") {
                Ok(p) => p,
                Err(e) => return bad(e),
            };
            let Some(role) = id_of(rid).and_then(|r| {
                st.guilds
                    .get_mut(&g)
                    .and_then(|guild| guild.roles.get_mut(&r))
            }) else {
                return not_found("role");
            };
            if let Some(n) = body.get("name").and_then(Value::as_str) {
                role.name = n.into();
            }
            if let Some(p) = permissions {
                role.permissions = p;
            }
            if let Some(p) = body.get("position").and_then(Value::as_i64) {
                role.position = p;
            }
            ok(render::role(role))
        }
        ("DELETE", ["roles", rid]) => {
            let Some(r) = id_of(rid).filter(|r| *r != g) else {
                return bad("cannot delete @everyone");
            };
            let Some(guild) = st.guilds.get_mut(&g) else {
                return not_found("guild");
            };
            if guild.roles.remove(&r).is_none() {
                return not_found("role");
            }
            for member in guild.members.values_mut() {
                member.roles.retain(|x| *x != r);
            }
            for c in st.channels.values_mut() {
                c.overwrites.retain(|o| !(o.kind == 0 && o.id == r));
            }
            Resp::new(204)
        }
        ("POST", ["channels"]) => {
            let Some(name) = body.get("name").and_then(Value::as_str) else {
                return bad("name is required");
            };
            let overwrites = match body.get("overwrites").map(overwrites_of).transpose() {
                Ok(o) => o.unwrap_or_default(),
                Err(e) => return bad(e),
            };
            let id = st.ids.next(now);
            let position = st
                .channels
                .values()
                .filter(|c| c.guild_id == g)
                .map(|c| c.position)
                .max()
                .unwrap_or(0)
                + 1;
            let c = Channel {
                id,
                guild_id: g,
                kind: u64_field(&body, "type").unwrap_or(0) as u8,
                name: name.into(),
                position: body
                    .get("position")
                    .and_then(Value::as_i64)
                    .unwrap_or(position),
                parent_id: u64_field(&body, "parent_id"),
                topic: body.get("topic").and_then(Value::as_str).map(String::from),
                nsfw: false,
                overwrites,
                thread: None,
                last_message_id: None,
            };
            let v = render::channel(&c);
            st.channels.insert(id, c);
            ok(v)
        }
        ("PATCH", ["channels", cid]) => {
            let overwrites = match body.get("overwrites").map(overwrites_of).transpose() {
                Ok(o) => o,
                Err(e) => return bad(e),
            };
            let Some(c) = id_of(cid).and_then(|c| st.channels.get_mut(&c)) else {
                return not_found("channel");
            };
            if let Some(n) = body.get("name").and_then(Value::as_str) {
                c.name = n.into();
            }
            if let Some(o) = overwrites {
                c.overwrites = o;
            }
            if let Some(t) = c.thread.as_mut() {
                if let Some(a) = body.get("archived").and_then(Value::as_bool) {
                    t.archived = a;
                }
                if let Some(l) = body.get("locked").and_then(Value::as_bool) {
                    t.locked = l;
                }
            }
            ok(render::channel(c))
        }
        ("DELETE", ["channels", cid]) => {
            let Some(c) = id_of(cid) else {
                return bad("id must be a snowflake");
            };
            if st.channels.remove(&c).is_none() {
                return not_found("channel");
            }
            st.channels
                .retain(|_, t| t.parent_id != Some(c) || !state::is_thread(t.kind));
            st.webhooks.retain(|_, w| w.channel_id != c);
            Resp::new(204)
        }
        ("POST", ["permissions"]) => {
            let Some(bits) = body
                .get("permission")
                .and_then(Value::as_str)
                .and_then(perms::parse)
            else {
                return bad("permission must be a name like MANAGE_WEBHOOKS or decimal bits");
            };
            let grant = body.get("grant").and_then(Value::as_bool).unwrap_or(false);
            let bot = st.bot_id;
            match u64_field(&body, "channel_id") {
                Some(cid) => {
                    let Some(c) = st.channels.get_mut(&cid) else {
                        return not_found("channel");
                    };
                    let pos = c.overwrites.iter().position(|o| o.kind == 1 && o.id == bot);
                    let idx = pos.unwrap_or_else(|| {
                        c.overwrites.push(Overwrite {
                            id: bot,
                            kind: 1,
                            allow: 0,
                            deny: 0,
                        });
                        c.overwrites.len() - 1
                    });
                    let o = &mut c.overwrites[idx];
                    if grant {
                        o.allow |= bits;
                        o.deny &= !bits;
                    } else {
                        o.deny |= bits;
                        o.allow &= !bits;
                    }
                    ok(render::channel(c))
                }
                None => {
                    let bot_role = st.guilds.get(&g).and_then(|guild| {
                        guild.members.get(&bot).and_then(|m| {
                            m.roles
                                .iter()
                                .copied()
                                .find(|r| guild.roles.get(r).is_some_and(|r| r.managed))
                        })
                    });
                    let Some(role) = bot_role.and_then(|r| {
                        st.guilds
                            .get_mut(&g)
                            .and_then(|guild| guild.roles.get_mut(&r))
                    }) else {
                        return not_found("bot role");
                    };
                    if grant {
                        role.permissions |= bits;
                    } else {
                        role.permissions &= !bits;
                    }
                    ok(render::role(role))
                }
            }
        }
        ("POST", ["attachments"]) => {
            let data = if let Some(b64) = body.get("data_base64").and_then(Value::as_str) {
                match base64::engine::general_purpose::STANDARD.decode(b64) {
                    Ok(d) => d,
                    Err(_) => return bad("data_base64 is not base64"),
                }
            } else if let Some(text) = body.get("data").and_then(Value::as_str) {
                text.as_bytes().to_vec()
            } else {
                return bad("data_base64 or data is required");
            };
            let filename = body
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or("file.bin")
                .to_string();
            let content_type = body
                .get("content_type")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| crate::api::guess_type(&filename).to_string());
            let channel_id = u64_field(&body, "channel_id").unwrap_or(g);
            let ttl = body
                .get("ttl_s")
                .and_then(Value::as_i64)
                .unwrap_or(st.settings.cdn_ttl_s as i64);
            let id = st.ids.next(now);
            let size = data.len();
            st.files.insert(
                id,
                StoredFile {
                    channel_id,
                    filename: filename.clone(),
                    content_type: content_type.clone(),
                    data,
                    fetches: 0,
                    expired: false,
                },
            );
            let path = format!(
                "/cdn/attachments/{channel_id}/{id}/{}",
                form_urlencoded::byte_serialize(filename.as_bytes()).collect::<String>()
            );
            let now_s = (now / 1000) as i64;
            let expires = (now_s + ttl).max(0) as u64;
            let q = cdn::sign(&st.cdn_secret, &path, now_s as u64, expires);
            ok(json!({
                "id": id.to_string(),
                "url": format!("{}{path}?{q}", st.base_url),
                "expires_at_s": expires,
                "size": size,
                "content_type": content_type,
            }))
        }
        ("GET", ["attachments", id]) => match id_of(id).and_then(|i| st.files.get(&i)) {
            Some(f) => ok(file_json(id, f)),
            None => not_found("attachment"),
        },
        ("POST", ["attachments", id, "expire"]) => {
            match id_of(id).and_then(|i| st.files.get_mut(&i)) {
                Some(f) => {
                    f.expired = true;
                    ok(file_json(id, f))
                }
                None => not_found("attachment"),
            }
        }
        _ => Resp::from(ApiError::not_found()),
    }
}

fn file_json(id: &str, f: &StoredFile) -> Value {
    json!({
        "id": id,
        "filename": f.filename,
        "content_type": f.content_type,
        "size": f.data.len(),
        "fetches": f.fetches,
        "expired": f.expired,
    })
}
