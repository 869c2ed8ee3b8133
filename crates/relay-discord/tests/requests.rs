//! Request building: every path, query, header and body key as Discord's API describes them,
//! validation before sending, and decoding of realistic responses into `twilight-model` types.

use serde_json::{json, Value};
use twilight_model::channel::message::MessageFlags;
use twilight_model::channel::ChannelType;
use twilight_model::id::Id;

use relay_discord::multipart::File;
use relay_discord::requests::*;
use relay_discord::{Endpoint, Request, Response};

/// Method, route template, query parameters, properties of the JSON body (`None`: no body).
type RouteSpec = (
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<&'static [&'static str]>,
);

/// From Discord's OpenAPI description (API v10): for each route we call, the query
/// parameters it defines and the properties of its JSON body.
const SPEC: &[RouteSpec] = &[
    ("GET", "/channels/{channel_id}", &[], None),
    (
        "POST",
        "/channels/{channel_id}/threads",
        &[],
        // A thread of a text channel, or (CreateForumThreadRequest) a forum post.
        Some(&[
            "applied_tags",
            "auto_archive_duration",
            "invitable",
            "message",
            "name",
            "rate_limit_per_user",
            "type",
        ]),
    ),
    (
        "GET",
        "/channels/{channel_id}/messages",
        &["around", "before", "after", "limit"],
        None,
    ),
    (
        "POST",
        "/channels/{channel_id}/messages",
        &[],
        Some(&[
            "allowed_mentions",
            "attachments",
            "components",
            "content",
            "embeds",
            "enforce_nonce",
            "flags",
            "message_reference",
            "nonce",
            "poll",
            "shared_client_theme",
            "sticker_ids",
            "tts",
        ]),
    ),
    (
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        &[],
        Some(&[
            "allowed_mentions",
            "attachments",
            "components",
            "content",
            "embeds",
            "flags",
            "sticker_ids",
        ]),
    ),
    (
        "GET",
        "/channels/{channel_id}/messages/{message_id}",
        &[],
        None,
    ),
    (
        "DELETE",
        "/channels/{channel_id}/messages/{message_id}",
        &[],
        None,
    ),
    ("GET", "/channels/{channel_id}/webhooks", &[], None),
    (
        "POST",
        "/channels/{channel_id}/webhooks",
        &[],
        Some(&["avatar", "name"]),
    ),
    (
        "POST",
        "/webhooks/{webhook_id}/{webhook_token}",
        &["wait", "thread_id", "with_components"],
        Some(&[
            "allowed_mentions",
            "applied_tags",
            "attachments",
            "avatar_url",
            "components",
            "content",
            "embeds",
            "flags",
            "poll",
            "thread_name",
            "tts",
            "username",
        ]),
    ),
    (
        "PATCH",
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
        &["thread_id", "with_components"],
        Some(&[
            "allowed_mentions",
            "attachments",
            "components",
            "content",
            "embeds",
            "flags",
            "poll",
        ]),
    ),
    (
        "DELETE",
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
        &["thread_id"],
        None,
    ),
    ("GET", "/guilds/{guild_id}", &["with_counts"], None),
    ("GET", "/guilds/{guild_id}/channels", &[], None),
    ("GET", "/guilds/{guild_id}/roles", &[], None),
    (
        "GET",
        "/guilds/{guild_id}/members",
        &["limit", "after"],
        None,
    ),
    ("GET", "/guilds/{guild_id}/members/{user_id}", &[], None),
    (
        "PUT",
        "/guilds/{guild_id}/members/{user_id}",
        &[],
        Some(&["access_token", "deaf", "flags", "mute", "nick", "roles"]),
    ),
    ("DELETE", "/guilds/{guild_id}/members/{user_id}", &[], None),
    (
        "PUT",
        "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
        &[],
        None,
    ),
    (
        "DELETE",
        "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
        &[],
        None,
    ),
    ("GET", "/users/@me", &[], None),
    (
        "GET",
        "/users/@me/guilds",
        &["before", "after", "limit", "with_counts"],
        None,
    ),
    ("GET", "/users/{user_id}", &[], None),
];

/// Properties of an entry of `attachments` and of `allowed_mentions`.
const ATTACHMENT_KEYS: &[&str] = &[
    "description",
    "duration_secs",
    "filename",
    "id",
    "is_remix",
    "is_spoiler",
    "title",
    "waveform",
];
const ALLOWED_MENTIONS_KEYS: &[&str] = &["parse", "replied_user", "roles", "users"];

fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if t.starts_with('{') {
                !p.is_empty() && !p.contains(['?', '&', '='])
            } else {
                t == p
            }
        })
}

fn body_json(req: &Request) -> Option<Value> {
    match &req.body {
        Body::None => None,
        Body::Json(b) => Some(serde_json::from_slice(b).expect("JSON body")),
        Body::Multipart(form) => {
            Some(serde_json::from_slice(form.payload_json()).expect("payload_json"))
        }
        Body::Form(_) => panic!("no form bodies on these routes"),
    }
}

/// Checks a request against [`SPEC`] and returns its path, query and body.
fn check(req: &Request) -> (String, Vec<(String, String)>, Option<Value>) {
    let (path, query) = match req.path.split_once('?') {
        Some((p, q)) => (p.to_string(), q),
        None => (req.path.clone(), ""),
    };
    let entry = SPEC
        .iter()
        .find(|(m, t, _, _)| {
            *m == req.method.as_str()
                && template_matches(t, &path)
                && req.route.as_str().starts_with(&format!("{m} {t} "))
        })
        .unwrap_or_else(|| {
            panic!(
                "{} {} is not a route of the API (route key {})",
                req.method, req.path, req.route
            )
        });
    let query: Vec<(String, String)> = query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("key=value");
            (k.to_string(), v.to_string())
        })
        .collect();
    for (k, _) in &query {
        assert!(
            entry.2.contains(&k.as_str()),
            "{}: query {k} is not defined",
            entry.1
        );
    }
    let body = body_json(req);
    match (entry.3, &body) {
        (None, None) => {}
        (None, Some(b)) => panic!("{}: takes no body, got {b}", entry.1),
        (Some(_), None) => {}
        (Some(keys), Some(b)) => {
            for k in b.as_object().expect("object body").keys() {
                assert!(
                    keys.contains(&k.as_str()),
                    "{}: body key {k} is not defined",
                    entry.1
                );
            }
            if let Some(atts) = b.get("attachments") {
                for a in atts.as_array().expect("array") {
                    for k in a.as_object().expect("object").keys() {
                        assert!(ATTACHMENT_KEYS.contains(&k.as_str()), "attachment key {k}");
                    }
                }
            }
            if let Some(m) = b.get("allowed_mentions") {
                for k in m.as_object().expect("object").keys() {
                    assert!(
                        ALLOWED_MENTIONS_KEYS.contains(&k.as_str()),
                        "allowed_mentions key {k}"
                    );
                }
            }
        }
    }
    (path, query, body)
}

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const TOKEN: &str = "AbC-123_xyz";

#[test]
fn webhook_execute_waits_and_mentions_nobody() {
    let mut e = ExecuteWebhook::new(Id::new(111), TOKEN);
    e.content = Some("BTC long @everyone".into());
    e.username = Some("Signals".into());
    e.avatar_url = Some("https://relay.example/a.png".into());
    e.thread_id = Some(Id::new(222));
    e.flags = Some(MessageFlags::SUPPRESS_EMBEDS);
    let req = e.request().unwrap();
    let (path, query, body) = check(&req);
    assert_eq!(req.method, Method::Post);
    assert_eq!(path, format!("/webhooks/111/{TOKEN}"));
    assert_eq!(query, q(&[("wait", "true"), ("thread_id", "222")]));
    assert_eq!(
        body.unwrap(),
        json!({
            "content": "BTC long @everyone",
            "username": "Signals",
            "avatar_url": "https://relay.example/a.png",
            "allowed_mentions": {"parse": []},
            "flags": 4,
        })
    );
    assert_eq!(req.auth, Auth::None, "the token in the path authenticates");
    assert!(!req.counts_against_global);
    assert!(req.route.as_str().ends_with(&format!(
        "webhook:111:{}",
        &req.route.resource()["webhook:111:".len()..]
    )));
    assert!(!req.route.as_str().contains(TOKEN));
    assert!(!format!("{req:?}").contains(TOKEN));
    assert_eq!(
        req.url("https://discord.com/api/v10/"),
        format!("https://discord.com/api/v10/webhooks/111/{TOKEN}?wait=true&thread_id=222")
    );
}

#[test]
fn webhook_execute_into_a_forum_names_the_thread() {
    let mut e = ExecuteWebhook::new(Id::new(111), TOKEN);
    e.content = Some("x".into());
    e.thread_name = Some("ETH / 2025-01-31".into());
    let req = e.request().unwrap();
    let (_, query, body) = check(&req);
    assert_eq!(query, q(&[("wait", "true")]));
    assert_eq!(body.unwrap()["thread_name"], "ETH / 2025-01-31");
    e.thread_id = Some(Id::new(5));
    assert_eq!(
        e.request().unwrap_err().error_code,
        "discord_thread_target_ambiguous"
    );
}

#[test]
fn webhook_execute_with_files_is_multipart() {
    let mut e = ExecuteWebhook::new(Id::new(111), TOKEN);
    e.content = Some("chart".into());
    e.files = vec![
        File::new("chart.png", "image/png", vec![1, 2, 3]),
        File::new("notes.txt", "text/plain", b"hello".to_vec()),
    ];
    let req = e.request().unwrap();
    let (_, _, body) = check(&req);
    assert_eq!(
        body.unwrap(),
        json!({
            "content": "chart",
            "allowed_mentions": {"parse": []},
            "attachments": [
                {"id": "0", "filename": "chart.png"},
                {"id": "1", "filename": "notes.txt"},
            ],
        })
    );
    let Body::Multipart(form) = &req.body else {
        panic!("expected multipart, got {:?}", req.body)
    };
    assert_eq!(
        req.body.content_type(),
        None,
        "the transport names the boundary"
    );
    let enc = form.encode("b0undary").unwrap();
    let text = String::from_utf8_lossy(&enc.body).to_string();
    assert!(text.starts_with(
        "--b0undary\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{"
    ));
    assert!(text.contains(
        "\r\n--b0undary\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"chart.png\"\r\nContent-Type: image/png\r\n\r\n\u{1}\u{2}\u{3}\r\n"
    ));
    assert!(text.contains(
        "name=\"files[1]\"; filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    ));
    assert!(text.ends_with("--b0undary--\r\n"));
}

#[test]
fn webhook_execute_refuses_what_discord_would() {
    let base = || {
        let mut e = ExecuteWebhook::new(Id::new(1), TOKEN);
        e.content = Some("ok".into());
        e
    };
    let mut e = base();
    e.content = Some("x".repeat(2_001));
    assert_eq!(
        e.request().unwrap_err().error_code,
        "discord_content_too_long"
    );
    let mut e = base();
    e.username = Some("Discord Signals".into());
    assert_eq!(
        e.request().unwrap_err().error_code,
        "discord_webhook_name_invalid"
    );
    let mut e = base();
    e.flags = Some(MessageFlags::EPHEMERAL);
    assert_eq!(
        e.request().unwrap_err().error_code,
        "discord_message_flags_invalid"
    );
    let mut e = base();
    e.content = None;
    assert_eq!(e.request().unwrap_err().error_code, "discord_message_empty");
    let mut e = base();
    e.content = Some(String::new());
    assert_eq!(e.request().unwrap_err().error_code, "discord_message_empty");
    let mut e = base();
    e.files = vec![File::new("big.bin", "", vec![0; 11])];
    e.max_file_bytes = 10;
    assert_eq!(
        e.request().unwrap_err().error_code,
        "discord_file_too_large"
    );
    for bad in ["", "a/b", "a?b", "a%2Fb", "tok en"] {
        let mut e = base();
        e.token = bad.into();
        assert_eq!(
            e.request().unwrap_err().error_code,
            "discord_webhook_token_invalid",
            "{bad:?}"
        );
    }
}

#[test]
fn webhook_message_edit_resends_allowed_mentions_and_keeps_attachments() {
    let mut u = UpdateWebhookMessage::new(Id::new(111), TOKEN, Id::new(333));
    u.content = Some("edited".into());
    u.thread_id = Some(Id::new(222));
    let req = u.request().unwrap();
    let (path, query, body) = check(&req);
    assert_eq!(req.method, Method::Patch);
    assert_eq!(path, format!("/webhooks/111/{TOKEN}/messages/333"));
    assert_eq!(query, q(&[("thread_id", "222")]));
    assert_eq!(
        body.unwrap(),
        json!({"content": "edited", "allowed_mentions": {"parse": []}})
    );
    // Every edit of one webhook shares a route key, whatever the message.
    let other = UpdateWebhookMessage::new(Id::new(111), TOKEN, Id::new(444))
        .request()
        .unwrap();
    assert_eq!(req.route, other.route);

    u.files = vec![File::new("new.png", "image/png", vec![9])];
    assert_eq!(
        u.request().unwrap_err().error_code,
        "discord_attachments_unspecified"
    );
    u.keep_attachments = Some(vec![Id::new(9_001)]);
    u.embeds = Some(vec![]);
    let req = u.request().unwrap();
    let (_, _, body) = check(&req);
    assert_eq!(
        body.unwrap(),
        json!({
            "content": "edited",
            "embeds": [],
            "allowed_mentions": {"parse": []},
            "attachments": [{"id": "9001"}, {"id": "0", "filename": "new.png"}],
        })
    );
    assert!(matches!(req.body, Body::Multipart(_)));
}

#[test]
fn webhook_message_delete() {
    let d = DeleteWebhookMessage {
        webhook_id: Id::new(111),
        token: TOKEN.into(),
        message_id: Id::new(333),
        thread_id: None,
    };
    let req = d.request().unwrap();
    let (path, query, body) = check(&req);
    assert_eq!(
        (req.method, path.as_str()),
        (
            Method::Delete,
            format!("/webhooks/111/{TOKEN}/messages/333").as_str()
        )
    );
    assert!(query.is_empty());
    assert!(body.is_none());
}

#[test]
fn channel_webhooks_create_and_list() {
    let c = CreateWebhook {
        channel_id: Id::new(10),
        name: "Signal Relay".into(),
        avatar: None,
        reason: Some(AuditReason::new("mirror target for tenant demo").unwrap()),
    };
    let req = c.request().unwrap();
    let (path, _, body) = check(&req);
    assert_eq!(
        (req.method, path.as_str()),
        (Method::Post, "/channels/10/webhooks")
    );
    assert_eq!(body.unwrap(), json!({"name": "Signal Relay"}));
    assert_eq!(
        req.headers,
        vec![(
            "X-Audit-Log-Reason".to_string(),
            "mirror%20target%20for%20tenant%20demo".to_string()
        )]
    );
    assert_eq!(req.auth, Auth::Bot);
    assert!(req.counts_against_global);
    assert_eq!(
        req.route.as_str(),
        "POST /channels/{channel_id}/webhooks channel:10"
    );
    let bad = CreateWebhook {
        name: "clyde".into(),
        ..c.clone()
    };
    assert_eq!(
        bad.request().unwrap_err().error_code,
        "discord_webhook_name_invalid"
    );

    let req = ListChannelWebhooks {
        channel_id: Id::new(10),
    }
    .request()
    .unwrap();
    let (path, _, _) = check(&req);
    assert_eq!(
        (req.method, path.as_str()),
        (Method::Get, "/channels/10/webhooks")
    );
    assert_eq!(
        req.route.as_str(),
        "GET /channels/{channel_id}/webhooks channel:10"
    );
}

#[test]
fn channels_threads_and_messages() {
    let req = GetChannel {
        channel_id: Id::new(10),
    }
    .request()
    .unwrap();
    assert_eq!(check(&req).0, "/channels/10");

    let t = CreateThread {
        channel_id: Id::new(10),
        name: "BTC".into(),
        kind: ChannelType::PublicThread,
        auto_archive_duration: None,
        reason: None,
    };
    let req = t.request().unwrap();
    let (path, _, body) = check(&req);
    assert_eq!(path, "/channels/10/threads");
    assert_eq!(body.unwrap(), json!({"name": "BTC", "type": 11}));
    let bad = CreateThread {
        kind: ChannelType::GuildText,
        ..t
    };
    assert_eq!(
        bad.request().unwrap_err().error_code,
        "discord_thread_type_invalid"
    );

    let mut f = CreateForumThread::new(Id::new(46), "SOL long");
    f.embeds = vec![twilight_model::channel::message::Embed {
        author: None,
        color: Some(0x5865f2),
        description: Some("SOL long 150".into()),
        fields: Vec::new(),
        footer: None,
        image: None,
        kind: "rich".into(),
        provider: None,
        thumbnail: None,
        timestamp: None,
        title: Some("VIP".into()),
        url: None,
        video: None,
    }];
    let req = f.request().unwrap();
    let (path, _, body) = check(&req);
    assert_eq!(
        (req.method, path.as_str()),
        (Method::Post, "/channels/46/threads")
    );
    assert_eq!(
        req.route.as_str(),
        "POST /channels/{channel_id}/threads channel:46"
    );
    let body = body.unwrap();
    assert_eq!(body["name"], "SOL long");
    assert_eq!(body["message"]["embeds"][0]["title"], "VIP");
    assert_eq!(body["message"]["allowed_mentions"], json!({"parse": []}));
    assert!(
        body.get("type").is_none(),
        "a forum post has no thread type"
    );
    assert!(body["message"].get("nonce").is_none());
    f.files = vec![File::new("a.png", "image/png", vec![1, 2, 3])];
    let req = f.request().unwrap();
    assert!(matches!(req.body, Body::Multipart(_)));
    assert_eq!(
        body_json(&req).unwrap()["message"]["attachments"],
        json!([{"id": "0", "filename": "a.png"}])
    );
    let empty = CreateForumThread::new(Id::new(46), "x");
    assert_eq!(
        empty.request().unwrap_err().error_code,
        "discord_message_empty"
    );
    let mut long = CreateForumThread::new(Id::new(46), "n".repeat(101));
    long.content = Some("x".into());
    assert_eq!(
        long.request().unwrap_err().error_code,
        "discord_thread_name_invalid"
    );

    let mut m = CreateMessage::new(Id::new(10));
    m.content = Some("seat limit reached".into());
    m.nonce = Some(MessageNonce::Str("audit-42".into()));
    m.enforce_nonce = true;
    let req = m.request().unwrap();
    let (path, _, body) = check(&req);
    assert_eq!(
        (req.method, path.as_str()),
        (Method::Post, "/channels/10/messages")
    );
    assert_eq!(
        body.unwrap(),
        json!({
            "content": "seat limit reached",
            "allowed_mentions": {"parse": []},
            "nonce": "audit-42",
            "enforce_nonce": true,
        })
    );
    m.nonce = None;
    assert_eq!(m.request().unwrap_err().error_code, "discord_nonce_invalid");
    m.nonce = Some(MessageNonce::Str("n".repeat(26)));
    assert_eq!(m.request().unwrap_err().error_code, "discord_nonce_invalid");
    m.nonce = Some(MessageNonce::Int(42));
    assert_eq!(body_json(&m.request().unwrap()).unwrap()["nonce"], 42);

    let one = GetMessage {
        channel_id: Id::new(10),
        message_id: Id::new(77),
    }
    .request()
    .unwrap();
    let (path, query, _) = check(&one);
    assert_eq!((path.as_str(), query), ("/channels/10/messages/77", q(&[])));

    let g = GetChannelMessages {
        channel_id: Id::new(10),
        limit: 50,
        before: None,
        after: None,
    };
    let req = g.request().unwrap();
    let (path, query, _) = check(&req);
    assert_eq!(
        (path.as_str(), query),
        ("/channels/10/messages", q(&[("limit", "50")]))
    );
    let paged = GetChannelMessages {
        before: Some(Id::new(99)),
        ..g.clone()
    }
    .request()
    .unwrap();
    assert_eq!(check(&paged).1, q(&[("limit", "50"), ("before", "99")]));
    assert!(GetChannelMessages {
        limit: 0,
        ..g.clone()
    }
    .request()
    .is_err());
    assert!(GetChannelMessages {
        limit: 101,
        ..g.clone()
    }
    .request()
    .is_err());
    assert!(GetChannelMessages {
        before: Some(Id::new(1)),
        after: Some(Id::new(2)),
        ..g
    }
    .request()
    .is_err());
}

#[test]
fn guild_reads() {
    let req = GetGuild {
        guild_id: Id::new(20),
        with_counts: true,
    }
    .request()
    .unwrap();
    let (path, query, _) = check(&req);
    assert_eq!(
        (path.as_str(), query),
        ("/guilds/20", q(&[("with_counts", "true")]))
    );
    assert_eq!(req.route.as_str(), "GET /guilds/{guild_id} guild:20");
    let req = GetGuild {
        guild_id: Id::new(20),
        with_counts: false,
    }
    .request()
    .unwrap();
    assert_eq!(req.path, "/guilds/20");
    assert_eq!(
        check(
            &GetGuildChannels {
                guild_id: Id::new(20)
            }
            .request()
            .unwrap()
        )
        .0,
        "/guilds/20/channels"
    );
    assert_eq!(
        check(
            &GetGuildRoles {
                guild_id: Id::new(20)
            }
            .request()
            .unwrap()
        )
        .0,
        "/guilds/20/roles"
    );

    let m = GetGuildMembers {
        guild_id: Id::new(20),
        limit: 1000,
        after: Some(Id::new(555)),
    };
    let req = m.request().unwrap();
    let (path, query, _) = check(&req);
    assert_eq!(
        (path.as_str(), query),
        (
            "/guilds/20/members",
            q(&[("limit", "1000"), ("after", "555")])
        )
    );
    assert_eq!(
        req.route.as_str(),
        "GET /guilds/{guild_id}/members guild:20"
    );
    assert!(GetGuildMembers { limit: 1001, ..m }.request().is_err());

    let req = GetMember {
        guild_id: Id::new(20),
        user_id: Id::new(30),
    }
    .request()
    .unwrap();
    assert_eq!(check(&req).0, "/guilds/20/members/30");
    assert_eq!(
        req.route.as_str(),
        "GET /guilds/{guild_id}/members/{user_id} guild:20"
    );
}

#[test]
fn member_roles_and_kicks_carry_the_audit_reason() {
    let reason = AuditReason::new("tier gold: renewal #7 (sell.app)").unwrap();
    let add = AddMemberRole {
        guild_id: Id::new(20),
        user_id: Id::new(30),
        role_id: Id::new(40),
        reason: Some(reason.clone()),
    };
    let req = add.request().unwrap();
    let (path, _, body) = check(&req);
    assert_eq!(
        (req.method, path.as_str()),
        (Method::Put, "/guilds/20/members/30/roles/40")
    );
    assert!(body.is_none());
    assert_eq!(
        req.headers,
        vec![(
            "X-Audit-Log-Reason".to_string(),
            "tier%20gold%3A%20renewal%20%237%20%28sell.app%29".to_string()
        )]
    );
    // One bucket per guild, whatever the member or role.
    let other = AddMemberRole {
        user_id: Id::new(31),
        role_id: Id::new(41),
        ..add.clone()
    };
    assert_eq!(req.route, other.request().unwrap().route);
    assert_eq!(
        req.route.as_str(),
        "PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id} guild:20"
    );

    let remove = RemoveMemberRole {
        guild_id: Id::new(20),
        user_id: Id::new(30),
        role_id: Id::new(40),
        reason: None,
    };
    let req = remove.request().unwrap();
    assert_eq!(
        (req.method, check(&req).0.as_str()),
        (Method::Delete, "/guilds/20/members/30/roles/40")
    );
    assert!(req.headers.is_empty());

    let kick = RemoveMember {
        guild_id: Id::new(20),
        user_id: Id::new(30),
        reason: Some(reason),
    };
    let req = kick.request().unwrap();
    assert_eq!(
        (req.method, check(&req).0.as_str()),
        (Method::Delete, "/guilds/20/members/30")
    );
    assert_eq!(req.headers.len(), 1);
}

#[test]
fn adding_a_member_sends_their_token_in_the_body_as_the_bot() {
    let a = AddGuildMember {
        guild_id: Id::new(20),
        user_id: Id::new(30),
        access_token: "user-access-token".into(),
        roles: vec![Id::new(40)],
        nick: None,
    };
    let req = a.request().unwrap();
    let (path, _, body) = check(&req);
    assert_eq!(
        (req.method, path.as_str()),
        (Method::Put, "/guilds/20/members/30")
    );
    assert_eq!(
        body.unwrap(),
        json!({"access_token": "user-access-token", "roles": ["40"]})
    );
    assert_eq!(req.auth, Auth::Bot);
    assert!(!format!("{a:?}").contains("user-access-token"));
    assert!(!format!("{req:?}").contains("user-access-token"));
    assert_eq!(
        AddedMember::decode(204, b"").unwrap(),
        AddedMember::AlreadyMember
    );
    let added = AddedMember::decode(201, MEMBER.as_bytes()).unwrap();
    assert!(matches!(added, AddedMember::Added(m) if m.user.id == Id::new(80351110224678912)));
}

#[test]
fn users_the_bot_and_linked_accounts() {
    let req = GetCurrentUser::bot().request().unwrap();
    assert_eq!(check(&req).0, "/users/@me");
    assert_eq!(req.auth, Auth::Bot);
    assert_eq!(req.route.as_str(), "GET /users/@me -");

    let req = GetCurrentUser::with_token("u-tok").request().unwrap();
    assert_eq!(check(&req).0, "/users/@me");
    assert_eq!(req.auth, Auth::Bearer("u-tok".into()));
    assert_eq!(
        req.auth.header_value("bot-tok").as_deref(),
        Some("Bearer u-tok")
    );
    assert!(
        !req.counts_against_global,
        "a user's token is not the bot's"
    );
    assert!(!req.route.as_str().contains("u-tok"));
    let other = GetCurrentUser::with_token("v-tok").request().unwrap();
    assert_ne!(req.route, other.route, "user-token limits are per user");

    let g = GetCurrentUserGuilds {
        limit: Some(200),
        after: Some(Id::new(7)),
        with_counts: true,
    };
    let req = g.request().unwrap();
    let (path, query, _) = check(&req);
    assert_eq!(
        (path.as_str(), query),
        (
            "/users/@me/guilds",
            q(&[("limit", "200"), ("after", "7"), ("with_counts", "true")])
        )
    );
    assert_eq!(
        Auth::Bot.header_value("bot-tok").as_deref(),
        Some("Bot bot-tok")
    );
    assert!(GetCurrentUserGuilds {
        limit: Some(201),
        ..g
    }
    .request()
    .is_err());
    assert_eq!(
        GetCurrentUserGuilds::default().request().unwrap().path,
        "/users/@me/guilds"
    );

    let req = GetUser {
        user_id: Id::new(80351110224678912),
    }
    .request()
    .unwrap();
    assert_eq!(check(&req).0, "/users/80351110224678912");
}

#[test]
fn every_route_key_names_method_template_and_top_level_resource() {
    let reqs = vec![
        GetChannel {
            channel_id: Id::new(1),
        }
        .request()
        .unwrap(),
        GetGuildRoles {
            guild_id: Id::new(2),
        }
        .request()
        .unwrap(),
        GetUser {
            user_id: Id::new(3),
        }
        .request()
        .unwrap(),
        DeleteWebhookMessage {
            webhook_id: Id::new(4),
            token: "t".into(),
            message_id: Id::new(5),
            thread_id: None,
        }
        .request()
        .unwrap(),
    ];
    let keys: Vec<&str> = reqs.iter().map(|r| r.route.as_str()).collect();
    assert_eq!(keys[0], "GET /channels/{channel_id} channel:1");
    assert_eq!(keys[1], "GET /guilds/{guild_id}/roles guild:2");
    assert_eq!(keys[2], "GET /users/{user_id} -");
    assert!(keys[3].starts_with(
        "DELETE /webhooks/{webhook_id}/{webhook_token}/messages/{message_id} webhook:4:"
    ));
    for r in &reqs {
        check(r);
        assert_eq!(r.rate_key().route, r.route);
    }
}

// Response bodies shaped like Discord's documented examples.

const USER: &str = r#"{"id":"80351110224678912","username":"nelly","discriminator":"0","global_name":"Nelly","avatar":"8342729096ea3675442027381ff50dfe","bot":false,"system":false,"mfa_enabled":true,"banner":null,"accent_color":null,"locale":"en-US","verified":true,"email":"nelly@discord.com","flags":64,"premium_type":1,"public_flags":64}"#;

const MEMBER: &str = r#"{"user":{"id":"80351110224678912","username":"nelly","discriminator":"0","global_name":null,"avatar":null},"nick":null,"avatar":null,"roles":["41771983423143936"],"joined_at":"2015-04-26T06:26:56.936000+00:00","premium_since":null,"deaf":false,"mute":false,"flags":0,"pending":false,"communication_disabled_until":null}"#;

const MESSAGE: &str = r#"{"id":"1334567890123456789","type":0,"content":"BTC long","channel_id":"222","author":{"id":"111","username":"Signals","avatar":null,"discriminator":"0000","bot":true},"attachments":[{"id":"1334567890123456790","filename":"chart.png","size":3,"url":"https://cdn.discordapp.com/attachments/222/1/chart.png?ex=1","proxy_url":"https://media.discordapp.net/attachments/222/1/chart.png","content_type":"image/png","width":1,"height":1}],"embeds":[],"mentions":[],"mention_roles":[],"pinned":false,"mention_everyone":false,"tts":false,"timestamp":"2025-01-31T12:00:00.123000+00:00","edited_timestamp":null,"flags":4,"components":[],"webhook_id":"111"}"#;

fn decode<E: Endpoint>(status: u16, body: &str) -> E::Output {
    E::decode(&Response {
        status,
        headers: vec![],
        body: body.as_bytes().to_vec(),
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn responses_decode_into_twilight_types_with_typed_ids() {
    let m = decode::<ExecuteWebhook>(200, MESSAGE);
    assert_eq!(m.id, Id::new(1334567890123456789));
    assert_eq!(m.channel_id, Id::new(222));
    assert_eq!(m.webhook_id, Some(Id::new(111)));
    assert_eq!(m.attachments[0].filename, "chart.png");
    assert_eq!(m.flags, Some(MessageFlags::SUPPRESS_EMBEDS));
    let msgs = decode::<GetChannelMessages>(200, &format!("[{MESSAGE}]"));
    assert_eq!(msgs.len(), 1);
    let reply = MESSAGE.replacen(
        r#""type":0"#,
        &format!(
            r#""type":19,"message_reference":{{"type":0,"channel_id":"222","message_id":"7"}},"referenced_message":{MESSAGE}"#
        ),
        1,
    );
    let r = decode::<GetMessage>(200, &reply);
    assert_eq!(r.reference.and_then(|m| m.message_id), Some(Id::new(7)));
    assert_eq!(
        r.referenced_message.map(|m| m.content).as_deref(),
        Some("BTC long")
    );

    let u = decode::<GetUser>(200, USER);
    assert_eq!(
        u.id.get(),
        80351110224678912,
        "snowflakes beyond 2^53 stay exact"
    );
    let me = decode::<GetCurrentUser>(200, USER);
    assert_eq!(me.email.as_deref(), Some("nelly@discord.com"));

    let members = decode::<GetGuildMembers>(200, &format!("[{MEMBER}]"));
    assert_eq!(members[0].roles, vec![Id::new(41771983423143936)]);
    assert_eq!(decode::<GetMember>(200, MEMBER).user.name, "nelly");

    let roles = decode::<GetGuildRoles>(
        200,
        r#"[{"id":"20","name":"@everyone","color":0,"hoist":false,"icon":null,"unicode_emoji":null,"position":0,"permissions":"1071698660929","managed":false,"mentionable":false,"flags":0},
            {"id":"40","name":"Gold","color":15844367,"hoist":true,"position":3,"permissions":"0","managed":false,"mentionable":false,"flags":0,"tags":{"bot_id":"9"}}]"#,
    );
    assert_eq!(roles[1].id, Id::new(40));
    assert_eq!(roles[1].position, 3);

    let channels = decode::<GetGuildChannels>(
        200,
        r#"[{"id":"10","type":0,"guild_id":"20","position":1,"permission_overwrites":[{"id":"20","type":0,"allow":"0","deny":"1024"}],"name":"signals","topic":null,"nsfw":false,"last_message_id":null,"rate_limit_per_user":0,"parent_id":"9"},
            {"id":"11","type":15,"guild_id":"20","position":2,"permission_overwrites":[],"name":"forum","parent_id":null,"flags":0,"available_tags":[]}]"#,
    );
    assert_eq!(channels[0].kind, ChannelType::GuildText);
    assert_eq!(channels[0].parent_id, Some(Id::new(9)));
    assert_eq!(channels[1].kind, ChannelType::GuildForum);
    let overwrites = channels[0].permission_overwrites.as_ref().unwrap();
    assert_eq!(overwrites[0].deny.bits(), 1 << 10);

    let hooks = decode::<ListChannelWebhooks>(
        200,
        r#"[{"id":"111","type":1,"guild_id":"20","channel_id":"10","name":"Signal Relay","avatar":null,"token":"AbC-123_xyz","application_id":null,"user":{"id":"9","username":"relay","discriminator":"0","avatar":null,"bot":true}}]"#,
    );
    assert_eq!(hooks[0].token.as_deref(), Some(TOKEN));
    assert_eq!(hooks[0].channel_id, Id::new(10));

    let guilds = decode::<GetCurrentUserGuilds>(
        200,
        r#"[{"id":"20","name":"Demo","icon":null,"banner":null,"owner":false,"permissions":"2147483647","features":[],"approximate_member_count":12,"approximate_presence_count":3}]"#,
    );
    assert_eq!(guilds[0].id, Id::new(20));
    assert!(!guilds[0].owner);
}

#[test]
fn a_guild_with_counts_decodes() {
    let guild = decode::<GetGuild>(
        200,
        r#"{"id":"20","name":"Demo","icon":null,"description":null,"splash":null,"discovery_splash":null,"features":[],"banner":null,"owner_id":"80351110224678912","application_id":null,"region":null,"afk_channel_id":null,"afk_timeout":300,"system_channel_id":null,"system_channel_flags":0,"widget_enabled":false,"widget_channel_id":null,"verification_level":0,"roles":[{"id":"20","name":"@everyone","color":0,"hoist":false,"position":0,"permissions":"1024","managed":false,"mentionable":false,"flags":0}],"default_message_notifications":0,"mfa_level":0,"explicit_content_filter":0,"max_presences":null,"max_members":500000,"max_video_channel_users":25,"vanity_url_code":null,"premium_tier":0,"premium_subscription_count":0,"preferred_locale":"en-US","rules_channel_id":null,"safety_alerts_channel_id":null,"public_updates_channel_id":null,"premium_progress_bar_enabled":false,"nsfw_level":0,"emojis":[],"stickers":[],"approximate_member_count":12,"approximate_presence_count":3}"#,
    );
    assert_eq!(guild.owner_id, Id::new(80351110224678912));
    assert_eq!(guild.approximate_member_count, Some(12));
    assert_eq!(guild.roles[0].permissions.bits(), 1024);
}

#[test]
fn unexpected_bodies_are_decode_errors_not_panics() {
    for body in ["", "null", "<html>", "{\"id\": 1.5e300}", "[1,2,3]"] {
        let err = GetUser::decode(&Response {
            status: 200,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        })
        .unwrap_err();
        assert_eq!(err.error_code, "discord_unexpected_response", "{body}");
    }
    // Ids that came back as floats would lose digits: they are refused.
    let float_id = USER.replace("\"80351110224678912\"", "80351110224678912.0");
    assert!(GetUser::decode(&Response {
        status: 200,
        headers: vec![],
        body: float_id.into_bytes()
    })
    .is_err());
}

#[test]
fn bot_message_edits_always_carry_allowed_mentions_and_list_kept_files() {
    let mut e = UpdateMessage::new(Id::new(10), Id::new(77));
    e.content = Some("TP 45000".into());
    let req = e.request().unwrap();
    let (path, _, body) = check(&req);
    assert_eq!(
        (req.method, path.as_str()),
        (Method::Patch, "/channels/10/messages/77")
    );
    assert_eq!(
        body.unwrap(),
        json!({"content": "TP 45000", "allowed_mentions": {"parse": []}})
    );
    e.files = vec![File::new("chart.png", "image/png", vec![1, 2, 3])];
    assert_eq!(
        e.request().unwrap_err().error_code,
        "discord_attachments_unspecified",
        "new files without the list of kept ones would drop the old"
    );
    let d = DeleteMessage {
        channel_id: Id::new(10),
        message_id: Id::new(77),
    }
    .request()
    .unwrap();
    assert_eq!(
        (d.method, check(&d).0.as_str()),
        (Method::Delete, "/channels/10/messages/77")
    );
}
