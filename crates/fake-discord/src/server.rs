//! The HTTP server: routing between the API, OAuth2, CDN, control API and pages, with request
//! recording, injected faults, rate limits and the invalid-request ban around the API.

use crate::api::{self, Auth, AuthKind, Class, Ctx, Ep};
use crate::cdn;
use crate::config::Config;
use crate::control;
use crate::error::ApiError;
use crate::http::{Req, Resp};
use crate::multipart;
use crate::oauth;
use crate::pages;
use crate::ratelimit::{Decision, InvalidCounter};
use crate::state::{FaultKind, Recorded, Settings, State, MAX_RECORDED};
use crate::util::{now_ms, secs3, short_hash};
use fake_http::server::BodyError;
use fake_http::Locked;
use serde_json::{json, Value};
use std::io::Read;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

/// Largest request body read; past it the answer is 413 / 40005 without reading more.
const MAX_BODY: usize = 64 * 1024 * 1024;
const WORKERS: usize = 16;

pub struct App {
    state: Locked<State>,
    pub initial: Settings,
    pub entropy: Vec<u8>,
}

impl App {
    pub fn new(settings: Settings, base_url: String, entropy: Vec<u8>) -> App {
        App {
            state: Locked::new(State::new(settings.clone(), base_url, entropy.clone())),
            initial: settings,
            entropy,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }
}

fn entropy() -> Vec<u8> {
    let mut e = Vec::new();
    e.extend_from_slice(&std::process::id().to_le_bytes());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    e.extend_from_slice(&nanos.to_le_bytes());
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let mut buf = [0u8; 32];
        if f.read_exact(&mut buf).is_ok() {
            e.extend_from_slice(&buf);
        }
    }
    e
}

pub fn run(cfg: Config) -> std::io::Result<()> {
    let bound = fake_http::server::bind(&cfg.listen)?;
    let base = bound.base_url.clone();
    let app = Arc::new(App::new(cfg.settings.clone(), base.clone(), entropy()));
    let seed = {
        let st = app.lock();
        json!({
            "base_url": base,
            "api_base": format!("{base}/api/v10"),
            "cdn_base": format!("{base}/cdn"),
            "bot_token": st.settings.bot_token,
            "client_id": st.bot_id.to_string(),
            "client_secret": st.settings.client_secret,
            "guild_id": st.guild_id.to_string(),
        })
    };
    bound.announce("fake-discord", &seed)?;
    bound.serve(
        "fake-discord",
        WORKERS,
        MAX_BODY,
        cfg.listen.verbose,
        move |req| match req {
            Ok(req) => handle(&app, req),
            Err(BodyError::Unreadable) => Resp::from(ApiError::new(400, 0, "400: Bad Request")),
            Err(BodyError::TooLarge) => Resp::from(ApiError::too_large()),
        },
    )
}

pub fn handle(app: &App, req: Req) -> Resp {
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    match segs.as_slice() {
        [] if req.method == "GET" => pages::index(),
        ["_control", rest @ ..] => {
            let rest: Vec<&str> = rest.to_vec();
            control::handle(app, &req, &rest)
        }
        ["api", rest @ ..] => {
            let rest: Vec<&str> = match rest {
                ["v10", r @ ..] => r.to_vec(),
                r => r.to_vec(),
            };
            guarded(app, &req, |st, now, seq| {
                api_request(st, &req, &rest, now, seq)
            })
        }
        ["oauth2", "authorize"] => {
            let now = now_ms();
            let mut st = app.lock();
            let seq = record(&mut st, &req, now);
            let resp = match req.method.as_str() {
                "GET" => oauth::authorize_get(&st, &req),
                "POST" => oauth::authorize_post(&mut st, &req, now),
                _ => ApiError::method_not_allowed().into(),
            };
            set_status(&mut st, seq, resp.status);
            resp
        }
        ["cdn", rest @ ..] => {
            let rest: Vec<&str> = rest.to_vec();
            guarded(app, &req, |st, now, _| cdn_request(st, &req, &rest, now))
        }
        _ => ApiError::not_found().into(),
    }
}

/// Records the request, then answers the ban page or an injected fault before the handler.
fn guarded(app: &App, req: &Req, inner: impl FnOnce(&mut State, u64, u64) -> Resp) -> Resp {
    let now = now_ms();
    let mut st = app.lock();
    let seq = record(&mut st, req, now);
    if st.invalid.banned_until(now).is_some() {
        let resp = pages::cloudflare_1015(&short_hash(&seq.to_string(), 16));
        set_status(&mut st, seq, resp.status);
        return resp;
    }
    let (latency, hold, fault) = take_faults(&mut st, &req.method, &req.path);
    if latency > 0 {
        drop(st);
        std::thread::sleep(Duration::from_millis(latency));
        st = app.lock();
    }
    let now = if latency > 0 { now_ms() } else { now };
    let resp = match fault {
        Some(kind) => fault_response(&st, req, &kind, seq),
        None => inner(&mut st, now, seq),
    };
    let scope = resp.get_header("x-ratelimit-scope").map(str::to_string);
    if InvalidCounter::counts(resp.status, scope.as_deref()) {
        st.invalid.record(now);
    }
    set_status(&mut st, seq, resp.status);
    if hold > 0 {
        drop(st);
        std::thread::sleep(Duration::from_millis(hold));
    }
    resp
}

fn take_faults(st: &mut State, method: &str, path: &str) -> (u64, u64, Option<FaultKind>) {
    let mut latency = 0;
    let mut hold = 0;
    let mut answer = None;
    for f in st.faults.iter_mut() {
        if !f.matches(method, path) {
            continue;
        }
        match &f.kind {
            FaultKind::Latency { ms } if latency == 0 => {
                latency = *ms;
                f.remaining -= 1;
            }
            FaultKind::Latency { .. } => {}
            FaultKind::Hold { ms } if hold == 0 => {
                hold = *ms;
                f.remaining -= 1;
            }
            FaultKind::Hold { .. } => {}
            kind if answer.is_none() => {
                answer = Some(kind.clone());
                f.remaining -= 1;
            }
            _ => {}
        }
    }
    st.faults.retain(|f| f.remaining > 0);
    (latency, hold, answer)
}

fn fault_response(st: &State, req: &Req, kind: &FaultKind, seq: u64) -> Resp {
    match kind {
        FaultKind::Status {
            status,
            body: Some(body),
            content_type,
        } => {
            let ct = content_type.clone().unwrap_or_else(|| {
                if serde_json::from_str::<Value>(body).is_ok() {
                    "application/json".into()
                } else {
                    "text/plain; charset=utf-8".into()
                }
            });
            Resp::new(*status)
                .header("Content-Type", ct)
                .with_body(body.as_bytes().to_vec())
        }
        FaultKind::Status { status, .. } => match status {
            502..=504 => pages::cloudflare_5xx(*status, &short_hash(&seq.to_string(), 16)),
            500 => Resp::json(
                500,
                &json!({"message": "500: Internal Server Error", "code": 0}),
            ),
            s => Resp::json(*s, &json!({"message": format!("{s}: Error"), "code": 0})),
        },
        FaultKind::RateLimit {
            retry_after_ms,
            scope,
            global,
            code,
        } => {
            let mut r = rate_limited(
                *retry_after_ms,
                scope,
                *global,
                *code,
                "You are being rate limited.",
            );
            if !*global {
                if let Some(ep) = api_ep(req) {
                    let now = now_ms();
                    let d = Decision {
                        allowed: false,
                        limit: window_for(st, &ep).limit,
                        remaining: 0,
                        reset_at_ms: now + retry_after_ms,
                        reset_after_ms: *retry_after_ms,
                    };
                    bucket_headers(&mut r, &ep, &d);
                }
            }
            r
        }
        FaultKind::Latency { .. } | FaultKind::Hold { .. } => Resp::new(500),
    }
}

fn api_ep(req: &Req) -> Option<Ep> {
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    let rest = match segs.as_slice() {
        ["api", "v10", rest @ ..] => rest,
        ["api", rest @ ..] => rest,
        _ => return None,
    };
    Ep::parse(&req.method, rest).ok()
}

/// Discord's 429: `Retry-After` in whole seconds (rounded up), the body's `retry_after` exact.
pub fn rate_limited(
    retry_after_ms: u64,
    scope: &str,
    global: bool,
    code: Option<u64>,
    message: &str,
) -> Resp {
    let mut body = json!({
        "message": message,
        "retry_after": (retry_after_ms as f64) / 1000.0,
        "global": global,
    });
    if let Some(c) = code {
        body["code"] = json!(c);
    }
    Resp::json(429, &body)
        .header("Retry-After", retry_after_ms.div_ceil(1000).to_string())
        .header("X-RateLimit-Global", if global { "true" } else { "false" })
        .header("X-RateLimit-Scope", scope)
}

fn window_for(st: &State, ep: &Ep) -> crate::ratelimit::Window {
    let l = &st.settings.limits;
    match ep.class() {
        Class::Webhook => l.webhook,
        Class::ChannelMessages => l.channel_messages,
        Class::Route => l.route,
    }
}

fn bucket_headers(r: &mut Resp, ep: &Ep, d: &Decision) {
    if d.limit == 0 {
        return;
    }
    r.set_header("X-RateLimit-Limit", d.limit.to_string());
    r.set_header("X-RateLimit-Remaining", d.remaining.to_string());
    r.set_header("X-RateLimit-Reset", secs3(d.reset_at_ms));
    r.set_header("X-RateLimit-Reset-After", secs3(d.reset_after_ms));
    r.set_header("X-RateLimit-Bucket", ep.bucket_hash());
}

fn authenticate(st: &State, req: &Req, kind: AuthKind, now: u64) -> Result<Auth, ApiError> {
    let header = req.header("authorization").unwrap_or("");
    let bot = header
        .strip_prefix("Bot ")
        .is_some_and(|t| t.trim() == st.settings.bot_token);
    let bearer = header
        .strip_prefix("Bearer ")
        .and_then(|t| st.tokens.get(t.trim()))
        .filter(|g| g.expires_ms > now)
        .cloned();
    match kind {
        AuthKind::None => Ok(if bot { Auth::Bot } else { Auth::Anonymous }),
        AuthKind::Bot if bot => Ok(Auth::Bot),
        AuthKind::BotOrBearer if bot => Ok(Auth::Bot),
        AuthKind::BotOrBearer => bearer.map(Auth::Bearer).ok_or_else(ApiError::unauthorized),
        AuthKind::Bot => Err(ApiError::unauthorized()),
    }
}

fn api_request(st: &mut State, req: &Req, rest: &[&str], now: u64, seq: u64) -> Resp {
    let ep = match Ep::parse(&req.method, rest) {
        Ok(ep) => ep,
        Err(e) => return e.into(),
    };
    let window = window_for(st, &ep);
    let key = format!("{}:{}", ep.bucket_hash(), ep.major());
    let auth = match authenticate(st, req, ep.auth(), now) {
        Ok(a) => a,
        Err(e) => {
            let mut r = Resp::from(e);
            bucket_headers(&mut r, &ep, &st.limiter.peek(&key, window, now));
            return r;
        }
    };
    // Webhook executions and the token exchange are not counted against the bot's global limit.
    if matches!(auth, Auth::Bot) && ep.auth() != AuthKind::None {
        let global_key = format!("global:{}", st.settings.bot_token);
        let w = st.settings.limits.global;
        let d = st.limiter.hit(&global_key, w, now);
        if !d.allowed {
            let mut r = rate_limited(
                d.reset_after_ms,
                "global",
                true,
                None,
                "You are being rate limited.",
            );
            bucket_headers(&mut r, &ep, &st.limiter.peek(&key, window, now));
            return r;
        }
    }
    let d = st.limiter.hit(&key, window, now);
    let mut resp = if d.allowed {
        let ctx = Ctx { now, seq, auth };
        api::handle(st, &ep, req, &ctx).unwrap_or_else(Resp::from)
    } else {
        rate_limited(
            d.reset_after_ms,
            "user",
            false,
            None,
            "You are being rate limited.",
        )
    };
    bucket_headers(&mut resp, &ep, &d);
    resp
}

fn cdn_request(st: &mut State, req: &Req, rest: &[&str], now: u64) -> Resp {
    let gone = || Resp::text(404, "This content is no longer available.");
    if req.method != "GET" && req.method != "HEAD" {
        return ApiError::method_not_allowed().into();
    }
    if let ["avatars", user, file] = rest {
        return avatar(st, user, file);
    }
    let ["attachments", channel, id, _filename] = rest else {
        return gone();
    };
    if let Err(_e) = cdn::verify(
        &st.cdn_secret,
        &req.path,
        req.q("ex"),
        req.q("is"),
        req.q("hm"),
        now / 1000,
    ) {
        return gone();
    }
    let (Ok(channel), Ok(id)) = (channel.parse::<u64>(), id.parse::<u64>()) else {
        return gone();
    };
    match st
        .files
        .get_mut(&id)
        .filter(|f| f.channel_id == channel && !f.expired)
    {
        Some(f) => {
            if req.method == "GET" {
                f.fetches += 1;
            }
            Resp::new(200)
                .header("Content-Type", f.content_type.clone())
                .header("Cache-Control", "public, max-age=86400")
                .header(
                    "Content-Disposition",
                    format!(
                        "inline; filename=\"{}\"",
                        f.filename.replace(['"', '\\', '\r', '\n'], "_")
                    ),
                )
                .with_body(f.data.clone())
        }
        None => gone(),
    }
}

/// `/cdn/avatars/{user}/{hash}.{png|gif}`: the user's current avatar (a generated image), 404
/// for an unknown user or a hash that is not theirs, as Discord's CDN.
fn avatar(st: &State, user: &str, file: &str) -> Resp {
    let current = user
        .parse::<u64>()
        .ok()
        .and_then(|u| st.users.get(&u))
        .and_then(|u| u.avatar.as_deref());
    let Some(format) = cdn::avatar_file(file, current) else {
        return Resp::text(404, "404: Not Found");
    };
    let hash = current.unwrap_or_default();
    let (content_type, bytes) = match format {
        cdn::AvatarFormat::Png => ("image/png", cdn::avatar_png(hash)),
        cdn::AvatarFormat::Gif => ("image/gif", cdn::avatar_gif(hash)),
    };
    Resp::new(200)
        .header("Content-Type", content_type)
        .header("Cache-Control", "public, max-age=86400")
        .with_body(bytes)
}

/// What the control API shows of a request body: JSON as JSON, multipart as its parts.
fn recorded_body(req: &Req) -> Value {
    if req.body.is_empty() {
        return Value::Null;
    }
    if req.is_multipart() {
        return match multipart::parse(req.content_type(), &req.body) {
            Ok(parts) => Value::Array(
                parts
                    .iter()
                    .map(|p| {
                        let mut v = json!({"name": p.name, "size": p.data.len()});
                        if let Some(f) = &p.filename {
                            v["filename"] = json!(f);
                        }
                        if let Some(c) = &p.content_type {
                            v["content_type"] = json!(c);
                        }
                        if p.name == "payload_json" {
                            v["json"] = serde_json::from_slice(&p.data).unwrap_or(Value::Null);
                        }
                        v
                    })
                    .collect(),
            ),
            Err(_) => json!({"unparsed_multipart_bytes": req.body.len()}),
        };
    }
    if let Ok(v) = serde_json::from_slice::<Value>(&req.body) {
        return v;
    }
    if req
        .content_type()
        .starts_with("application/x-www-form-urlencoded")
    {
        let mut map = serde_json::Map::new();
        for (k, v) in req.form() {
            map.insert(k, Value::String(v));
        }
        return Value::Object(map);
    }
    let mut text = String::from_utf8_lossy(&req.body).into_owned();
    if text.len() > 65_536 {
        let mut cut = 65_536;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    Value::String(text)
}

const SKIPPED_HEADERS: [&str; 4] = ["host", "content-length", "connection", "accept-encoding"];

pub fn record(st: &mut State, req: &Req, now: u64) -> u64 {
    let seq = st.next_seq;
    st.next_seq += 1;
    let full_path = if req.query.is_empty() {
        req.path.clone()
    } else {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(req.query.iter())
            .finish();
        format!("{}?{q}", req.path)
    };
    st.requests.push_back(Recorded {
        seq,
        at_ms: now,
        method: req.method.clone(),
        path: full_path,
        headers: req
            .headers
            .iter()
            .filter(|(k, _)| !SKIPPED_HEADERS.contains(&k.as_str()))
            .cloned()
            .collect(),
        body: recorded_body(req),
        status: 0,
    });
    while st.requests.len() > MAX_RECORDED {
        st.requests.pop_front();
    }
    seq
}

pub fn set_status(st: &mut State, seq: u64, status: u16) {
    if let Some(r) = st.requests.iter_mut().rev().find(|r| r.seq == seq) {
        r.status = status;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        App::new(Settings::new(), "http://127.0.0.1:1".into(), b"t".to_vec())
    }

    fn bot(app: &App, method: &str, url: &str, body: Value) -> Resp {
        let token = app.lock().settings.bot_token.clone();
        handle(
            app,
            Req::new(
                method,
                url,
                vec![
                    ("authorization".into(), format!("Bot {token}")),
                    ("content-type".into(), "application/json".into()),
                ],
                if body.is_null() {
                    vec![]
                } else {
                    body.to_string().into_bytes()
                },
            ),
        )
    }

    #[test]
    fn every_api_answer_carries_bucket_headers() {
        let app = app();
        let g = app.lock().guild_id;
        let r = bot(&app, "GET", &format!("/api/v10/guilds/{g}"), Value::Null);
        assert_eq!(r.status, 200);
        for h in [
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "X-RateLimit-Reset-After",
            "X-RateLimit-Bucket",
        ] {
            assert!(r.get_header(h).is_some(), "{h}");
        }
        let r = bot(&app, "GET", "/api/v10/guilds/1", Value::Null);
        assert_eq!(r.status, 404);
        assert!(r.get_header("X-RateLimit-Bucket").is_some());
    }

    #[test]
    fn bad_bot_token_is_401_and_counts_towards_the_ban() {
        let app = app();
        {
            let mut st = app.lock();
            st.settings.limits.invalid_threshold = 2;
            st.apply_invalid_limits();
        }
        let g = app.lock().guild_id;
        let req = || {
            Req::new(
                "GET",
                &format!("/api/v10/guilds/{g}"),
                vec![("authorization".into(), "Bot nope".into())],
                vec![],
            )
        };
        for _ in 0..3 {
            let r = handle(&app, req());
            assert_eq!(r.status, 401);
            assert!(r.get_header("X-RateLimit-Bucket").is_some());
        }
        let banned = bot(&app, "GET", &format!("/api/v10/guilds/{g}"), Value::Null);
        assert_eq!(banned.status, 429);
        assert!(banned
            .get_header("content-type")
            .unwrap()
            .starts_with("text/html"));
        assert!(String::from_utf8_lossy(&banned.body).contains("1015"));
        app.lock().invalid.reset();
        assert_eq!(
            bot(&app, "GET", &format!("/api/v10/guilds/{g}"), Value::Null).status,
            200
        );
    }

    #[test]
    fn global_limit_is_per_bot_token_and_answers_a_global_429() {
        let app = app();
        app.lock().settings.limits.global = crate::ratelimit::Window::new(2, 60_000);
        let g = app.lock().guild_id;
        let url = format!("/api/v10/guilds/{g}/roles");
        let other = format!("/api/v10/guilds/{g}");
        assert_eq!(bot(&app, "GET", &other, Value::Null).status, 200);
        assert_eq!(bot(&app, "GET", &other, Value::Null).status, 200);
        let r = bot(&app, "GET", &url, Value::Null);
        assert_eq!(r.status, 429);
        assert_eq!(r.get_header("X-RateLimit-Global"), Some("true"));
        assert_eq!(r.get_header("X-RateLimit-Scope"), Some("global"));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["global"], true);
        assert!(v["retry_after"].as_f64().unwrap() > 0.0);
        // The route's own bucket as it stands (the refused request was not counted in it),
        // not the global one.
        let limit = app.lock().settings.limits.route.limit.to_string();
        assert_eq!(r.get_header("X-RateLimit-Limit"), Some(limit.as_str()));
        assert_eq!(r.get_header("X-RateLimit-Remaining"), Some(limit.as_str()));
    }

    #[test]
    fn faults_apply_to_matching_requests_only_and_run_out() {
        let app = app();
        let g = app.lock().guild_id;
        app.lock().faults.push(crate::state::Fault {
            id: 1,
            kind: FaultKind::Status {
                status: 502,
                body: None,
                content_type: None,
            },
            method: Some("GET".into()),
            path: Some("/roles".into()),
            remaining: 2,
        });
        let roles = format!("/api/v10/guilds/{g}/roles");
        assert_eq!(
            bot(&app, "GET", &format!("/api/v10/guilds/{g}"), Value::Null).status,
            200
        );
        assert_eq!(bot(&app, "GET", &roles, Value::Null).status, 502);
        assert_eq!(bot(&app, "GET", &roles, Value::Null).status, 502);
        assert_eq!(bot(&app, "GET", &roles, Value::Null).status, 200);
        let st = app.lock();
        let statuses: Vec<u16> = st.requests.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [200, 502, 502, 200]);
    }

    #[test]
    fn a_held_answer_arrives_late_but_the_post_took_effect_at_once() {
        let app = std::sync::Arc::new(app());
        let general = {
            let st = app.lock();
            st.channels
                .values()
                .find(|c| c.name == "general")
                .map(|c| c.id)
                .unwrap()
        };
        app.lock().faults.push(crate::state::Fault {
            id: 1,
            kind: FaultKind::Hold { ms: 300 },
            method: Some("POST".into()),
            path: Some("/messages".into()),
            remaining: 1,
        });
        let url = format!("/api/v10/channels/{general}/messages");
        let before = app.lock().messages.len();
        let worker = {
            let app = std::sync::Arc::clone(&app);
            let url = url.clone();
            std::thread::spawn(move || {
                let t = std::time::Instant::now();
                let r = bot(
                    &app,
                    "POST",
                    &url,
                    json!({"content": "held", "allowed_mentions": {"parse": []}}),
                );
                (r.status, t.elapsed())
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            app.lock().messages.len(),
            before + 1,
            "the post exists before its answer"
        );
        let (status, took) = worker.join().unwrap();
        assert_eq!(status, 200);
        assert!(took >= Duration::from_millis(300));
    }

    #[test]
    fn latency_delays_and_429_storms_answer_like_discord() {
        let app = app();
        let g = app.lock().guild_id;
        let url = format!("/api/v10/guilds/{g}");
        app.lock().faults.push(crate::state::Fault {
            id: 1,
            kind: FaultKind::Latency { ms: 120 },
            method: None,
            path: None,
            remaining: 1,
        });
        let t = std::time::Instant::now();
        assert_eq!(bot(&app, "GET", &url, Value::Null).status, 200);
        assert!(t.elapsed() >= Duration::from_millis(120));
        app.lock().faults.push(crate::state::Fault {
            id: 2,
            kind: FaultKind::RateLimit {
                retry_after_ms: 2_500,
                scope: "user".into(),
                global: false,
                code: None,
            },
            method: None,
            path: Some("/guilds/".into()),
            remaining: 2,
        });
        for _ in 0..2 {
            let r = bot(&app, "GET", &url, Value::Null);
            assert_eq!(r.status, 429);
            assert_eq!(r.get_header("Retry-After"), Some("3"));
            assert_eq!(r.get_header("X-RateLimit-Remaining"), Some("0"));
            assert_eq!(r.get_header("X-RateLimit-Reset-After"), Some("2.500"));
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["retry_after"], 2.5);
            assert!(v.get("code").is_none());
        }
        assert_eq!(bot(&app, "GET", &url, Value::Null).status, 200);
        assert_eq!(
            app.lock().invalid.count(now_ms()),
            2,
            "storm 429s count as invalid"
        );
    }
}
