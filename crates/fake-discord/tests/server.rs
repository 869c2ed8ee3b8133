//! Runs the real binary and talks HTTP to it, as the worker's end-to-end tests will.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Fake {
    child: Child,
    base: String,
    addr: String,
    token: String,
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Fake {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-discord"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn fake-discord");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut ready = String::new();
    out.read_line(&mut ready).expect("ready line");
    let base = ready
        .trim()
        .strip_prefix("fake-discord listening on ")
        .unwrap_or_else(|| panic!("unexpected ready line: {ready:?}"))
        .to_string();
    let mut seed = String::new();
    out.read_line(&mut seed).expect("seed line");
    let seed: Value = serde_json::from_str(
        seed.trim()
            .strip_prefix("fake-discord seed ")
            .expect("seed prefix"),
    )
    .expect("seed json");
    assert_eq!(seed["base_url"], base.as_str());
    let addr = base.trim_start_matches("http://").to_string();
    Fake {
        child,
        base,
        addr,
        token: seed["bot_token"].as_str().expect("token").to_string(),
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Fake {
    /// A bare HTTP/1.1 client: one request per connection, which is all the fake needs.
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).expect("write head");
        s.write_all(body).expect("write body");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("header end");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse().ok())
            .expect("status");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Response {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        }
    }

    fn bot(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        let auth = format!("Bot {}", self.token);
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.send(
            method,
            &format!("/api/v10{path}"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            &bytes,
        )
    }

    fn anon(&self, method: &str, path: &str, body: Value) -> Response {
        self.send(
            method,
            &format!("/api/v10{path}"),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    }

    fn control(&self, method: &str, path: &str, body: Value) -> Response {
        self.send(
            method,
            &format!("/_control{path}"),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    }
}

fn channel_id(state: &Value, name: &str) -> String {
    state["guilds"][0]["channels"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .and_then(|c| c["id"].as_str())
        .unwrap_or_else(|| panic!("no channel {name}"))
        .to_string()
}

const NO_PINGS: &str = r#"{"parse": []}"#;

fn no_pings() -> Value {
    serde_json::from_str(NO_PINGS).unwrap_or(Value::Null)
}

#[test]
fn behaves_like_discord_where_we_depend_on_it() {
    let fake = start(&[
        "--port",
        "0",
        "--limit-webhook",
        "3/30000",
        "--members",
        "10",
    ]);
    let state = fake.control("GET", "/state", json!(null)).json();
    assert_eq!(state["bot"]["token"], fake.token.as_str());
    let guild = state["guild_id"].as_str().unwrap().to_string();
    let premium = channel_id(&state, "signals-premium");

    // Webhooks: create, execute (JSON and multipart), edit, delete.
    let r = fake.bot(
        "POST",
        &format!("/channels/{premium}/webhooks"),
        Some(json!({"name": "discord relay"})),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], 50035);
    assert_eq!(
        r.json()["errors"]["name"]["_errors"][0]["code"],
        "USERNAME_INVALID_CONTAINS"
    );
    let hook = fake.bot(
        "POST",
        &format!("/channels/{premium}/webhooks"),
        Some(json!({"name": "Signal Relay"})),
    );
    assert_eq!(hook.status, 200);
    let hook = hook.json();
    let exec = format!(
        "/webhooks/{}/{}",
        hook["id"].as_str().unwrap(),
        hook["token"].as_str().unwrap()
    );
    let listed = fake
        .bot("GET", &format!("/channels/{premium}/webhooks"), None)
        .json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    let sent = fake.anon(
        "POST",
        &format!("{exec}?wait=true"),
        json!({
            "content": "BTC long 64k @everyone", "username": "Alpha Desk",
            "avatar_url": "https://example.test/a.png", "allowed_mentions": no_pings(),
            "embeds": [{"title": "Entry", "description": "64,000", "color": 3066993}],
        }),
    );
    assert_eq!(sent.status, 200, "{}", sent.text());
    let msg = sent.json();
    assert_eq!(msg["author"]["username"], "Alpha Desk");
    assert_eq!(msg["webhook_id"], hook["id"]);
    assert_eq!(
        msg["mention_everyone"], false,
        "parse: [] suppresses @everyone"
    );
    assert_eq!(msg["embeds"][0]["type"], "rich");
    for h in [
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-RateLimit-Reset-After",
        "X-RateLimit-Bucket",
    ] {
        assert!(sent.header(h).is_some(), "missing {h}");
    }
    let msg_id = msg["id"].as_str().unwrap().to_string();

    let edited = fake.anon(
        "PATCH",
        &format!("{exec}/messages/{msg_id}"),
        json!({"content": "BTC long 64.5k", "allowed_mentions": no_pings()}),
    );
    assert_eq!(edited.status, 200);
    assert!(edited.json()["edited_timestamp"].is_string());

    let too_long = fake.anon(
        "POST",
        &format!("{exec}?wait=true"),
        json!({"content": "x".repeat(2001), "allowed_mentions": no_pings()}),
    );
    assert_eq!(too_long.status, 400);
    assert_eq!(
        too_long.json()["errors"]["content"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );

    // The bucket allows 3 per 30 s and three webhook-message calls were made: the next is a 429.
    let limited = fake.anon("DELETE", &format!("{exec}/messages/{msg_id}"), json!(null));
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("X-RateLimit-Remaining"), Some("0"));
    assert_eq!(limited.header("X-RateLimit-Scope"), Some("user"));
    assert_eq!(limited.header("X-RateLimit-Global"), Some("false"));
    assert!(limited
        .header("Retry-After")
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|s| s >= 1));
    let body = limited.json();
    assert_eq!(body["global"], false);
    assert!(body["retry_after"].as_f64().is_some_and(|s| s > 0.0));

    fake.control(
        "POST",
        "/limits",
        json!({"webhook": {"limit": 50, "window_ms": 1000}}),
    );
    let boundary = "fakeDiscordBoundary";
    let mut multipart = Vec::new();
    multipart.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n").as_bytes());
    multipart.extend_from_slice(json!({"content": "chart", "allowed_mentions": no_pings(), "attachments": [{"id": 0, "filename": "chart.png"}]}).to_string().as_bytes());
    multipart.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"chart.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
    multipart.extend_from_slice(b"\x89PNG\r\n\x1a\nfake-bytes");
    multipart.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    let up = fake.send(
        "POST",
        &format!("/api/v10{exec}?wait=true"),
        &[("Content-Type", &ct)],
        &multipart,
    );
    assert_eq!(up.status, 200, "{}", up.text());
    let url = up.json()["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let cdn_path = url.strip_prefix(&fake.base).unwrap().to_string();
    let got = fake.send("GET", &cdn_path, &[], &[]);
    assert_eq!(
        (got.status, got.body.as_slice()),
        (200, &b"\x89PNG\r\n\x1a\nfake-bytes"[..])
    );
    let tampered = cdn_path.replace("ex=", "ex=f");
    assert_eq!(fake.send("GET", &tampered, &[], &[]).status, 404);

    let del = fake.anon("DELETE", &format!("{exec}/messages/{msg_id}"), json!(null));
    assert_eq!(del.status, 204);
    assert_eq!(
        fake.anon("GET", &format!("{exec}/messages/{msg_id}"), json!(null))
            .json()["code"],
        10008
    );
    let hook_id = hook["id"].as_str().unwrap();
    assert_eq!(
        fake.control("DELETE", &format!("/webhooks/{hook_id}"), json!(null))
            .status,
        204
    );
    let gone = fake.anon(
        "POST",
        &format!("{exec}?wait=true"),
        json!({"content": "x", "allowed_mentions": no_pings()}),
    );
    assert_eq!(
        (gone.status, gone.json()["code"].as_u64()),
        (404, Some(10015))
    );

    // Members: 2,500 bulk members page by user id, 1,000 at a time.
    fake.control("POST", "/members/generated", json!({"count": 2500}));
    let g = fake
        .bot("GET", &format!("/guilds/{guild}?with_counts=true"), None)
        .json();
    assert_eq!(g["approximate_member_count"], 2505);
    let mut after = "0".to_string();
    let mut ids: Vec<u64> = vec![];
    let mut pages = 0;
    loop {
        let page = fake.bot(
            "GET",
            &format!("/guilds/{guild}/members?limit=1000&after={after}"),
            None,
        );
        assert_eq!(page.status, 200);
        let page = page.json();
        let page = page.as_array().unwrap().clone();
        pages += 1;
        ids.extend(
            page.iter()
                .map(|m| m["user"]["id"].as_str().unwrap().parse::<u64>().unwrap()),
        );
        if page.len() < 1000 {
            break;
        }
        after = ids.last().unwrap().to_string();
    }
    assert_eq!((pages, ids.len()), (3, 2505));
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    // Without the GUILD_MEMBERS intent, listing is refused as Discord refuses it.
    fake.control("POST", "/intents", json!({"guild_members": false}));
    let refused = fake.bot("GET", &format!("/guilds/{guild}/members?limit=1000"), None);
    assert_eq!(
        (refused.status, refused.json()["code"].as_u64()),
        (403, Some(50001))
    );
    fake.control("POST", "/intents", json!({"guild_members": true}));
    assert_eq!(
        fake.bot("GET", &format!("/guilds/{guild}/members"), None)
            .status,
        200
    );

    // OAuth2: the sign-in page, the redirect with code and state, the exchange, @me.
    let client_id = state["application"]["client_id"].as_str().unwrap();
    let secret = state["application"]["client_secret"].as_str().unwrap();
    let redirect = "http://127.0.0.1:9/discord/callback";
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let page = fake.send("GET", &format!("/oauth2/authorize?response_type=code&client_id={client_id}&scope=identify%20guilds&state=st4te&redirect_uri={}", enc(redirect)), &[], &[]);
    assert_eq!(page.status, 200);
    let html = page.text();
    let alice_at = html
        .find("data-username=\"alice\"")
        .expect("alice is offered");
    let value_at = html[..alice_at].rfind("value=\"").unwrap() + 7;
    let alice_id = html[value_at..].split('"').next().unwrap().to_string();
    let form = format!("client_id={client_id}&redirect_uri={}&response_type=code&scope=identify+guilds&state=st4te&user_id={alice_id}", enc(redirect));
    let signed_in = fake.send(
        "POST",
        "/oauth2/authorize",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(signed_in.status, 302);
    let location = signed_in.header("Location").unwrap().to_string();
    assert!(
        location.starts_with(redirect) && location.ends_with("&state=st4te"),
        "{location}"
    );
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let exchange = format!("grant_type=authorization_code&code={code}&redirect_uri={}&client_id={client_id}&client_secret={secret}", enc(redirect));
    let tok = fake.send(
        "POST",
        "/api/v10/oauth2/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        exchange.as_bytes(),
    );
    assert_eq!(tok.status, 200, "{}", tok.text());
    let access = tok.json()["access_token"].as_str().unwrap().to_string();
    let reused = fake.send(
        "POST",
        "/api/v10/oauth2/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        exchange.as_bytes(),
    );
    assert_eq!(reused.status, 400, "codes are single-use");
    let bearer = format!("Bearer {access}");
    let me = fake.send(
        "GET",
        "/api/v10/users/@me",
        &[("Authorization", &bearer)],
        &[],
    );
    assert_eq!(me.json()["id"], alice_id.as_str());
    assert_eq!(me.json()["username"], "alice");
    let guilds = fake
        .send(
            "GET",
            "/api/v10/users/@me/guilds",
            &[("Authorization", &bearer)],
            &[],
        )
        .json();
    assert_eq!(guilds[0]["id"], guild.as_str());

    // Everything above sent allowed_mentions; a bot post without it is flagged.
    assert_eq!(
        fake.control("GET", "/checks", json!(null)).json()["ok"],
        true
    );
    let posted = fake.bot(
        "POST",
        &format!("/channels/{premium}/messages"),
        Some(json!({"content": "oops"})),
    );
    assert_eq!(posted.status, 200);
    let checks = fake.control("GET", "/checks", json!(null)).json();
    assert_eq!(
        checks["missing_allowed_mentions"].as_array().map(Vec::len),
        Some(1)
    );

    // The request log has every API call in order, with bodies.
    let log = fake.control("GET", "/requests?since=0", json!(null)).json();
    let reqs = log["requests"].as_array().unwrap();
    assert!(reqs
        .windows(2)
        .all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64()));
    let first_exec = reqs
        .iter()
        .find(|r| {
            r["method"] == "POST"
                && r["path"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("/api/v10{exec}"))
        })
        .unwrap();
    assert_eq!(first_exec["body"]["username"], "Alpha Desk");
    assert_eq!(first_exec["status"], 200);
}

#[test]
fn ban_page_after_too_many_invalid_requests() {
    let fake = start(&["--ban-threshold", "3", "--ban-ms", "60000"]);
    let guild = fake.control("GET", "/state", json!(null)).json()["guild_id"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..4 {
        let r = fake.send(
            "GET",
            &format!("/api/v10/guilds/{guild}"),
            &[("Authorization", "Bot wrong")],
            &[],
        );
        assert_eq!(r.status, 401);
    }
    let banned = fake.bot("GET", &format!("/guilds/{guild}"), None);
    assert_eq!(banned.status, 429);
    assert!(banned
        .header("Content-Type")
        .unwrap_or("")
        .starts_with("text/html"));
    assert!(banned.text().contains("Error") && banned.text().contains("1015"));
    assert_eq!(
        fake.control("GET", "/invalid", json!(null)).json()["banned"],
        true
    );
    fake.control("POST", "/invalid/reset", json!(null));
    assert_eq!(
        fake.bot("GET", &format!("/guilds/{guild}"), None).status,
        200
    );
}

#[test]
fn cdn_files_count_their_downloads_and_can_be_expired() {
    let fake = start(&[]);
    let made = fake
        .control(
            "POST",
            "/attachments",
            json!({"filename": "chart.png", "content_type": "text/html", "data": "not a page"}),
        )
        .json();
    let id = made["id"].as_str().unwrap().to_string();
    let path = made["url"]
        .as_str()
        .unwrap()
        .strip_prefix(&fake.base)
        .unwrap()
        .to_string();
    let info = |f: &Fake| {
        f.control("GET", &format!("/attachments/{id}"), json!(null))
            .json()
    };
    assert_eq!(info(&fake)["fetches"], 0);
    let got = fake.send("GET", &path, &[], &[]);
    assert_eq!((got.status, got.body.as_slice()), (200, &b"not a page"[..]));
    // The lie is served as registered: the worker must sniff.
    assert_eq!(got.header("Content-Type"), Some("text/html"));
    fake.send("GET", &path, &[], &[]);
    assert_eq!(info(&fake)["fetches"], 2);
    let expired = fake.control("POST", &format!("/attachments/{id}/expire"), json!(null));
    assert_eq!(expired.json()["expired"], true);
    assert_eq!(fake.send("GET", &path, &[], &[]).status, 404);
    // A refused download is not a fetch.
    assert_eq!(info(&fake)["fetches"], 2);
    assert_eq!(
        fake.control("GET", "/attachments/1", json!(null)).status,
        404
    );
}
