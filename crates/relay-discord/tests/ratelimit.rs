//! The rate-limit state machine, driven by hand: bucket learning, shared buckets, the global
//! limit, one-in-flight learning, Retry-After and scopes, the invalid-request budget, bans,
//! the 401 stop, persistence and size bounds.

use relay_discord::error::BodyKind;
use relay_discord::ratelimit::{
    Acquire, AlertKind, Config, Feedback, Permit, RateLimiter, ResponseMeta, Scope, SendState,
    WaitReason,
};
use relay_discord::requests::{AuthKind, Method, RateKey, Resource, RouteKey};
use relay_discord::Response;

fn bot_route(template: &str, channel: u64) -> RateKey {
    RateKey {
        route: RouteKey::new(Method::Post, template, &Resource::Channel(channel)),
        auth: AuthKind::Bot,
        counts_against_global: true,
    }
}

fn messages(channel: u64) -> RateKey {
    bot_route("/channels/{channel_id}/messages", channel)
}

fn webhook(id: u64) -> RateKey {
    RateKey {
        route: RouteKey::new(
            Method::Post,
            "/webhooks/{webhook_id}/{webhook_token}",
            &Resource::Webhook {
                id,
                token: format!("token-{id}"),
            },
        ),
        auth: AuthKind::None,
        counts_against_global: false,
    }
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Feedback {
    Feedback::Response(ResponseMeta::from_response(&Response {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }))
}

fn ok(bucket: &str, limit: u32, remaining: u32, reset_after: &str) -> Feedback {
    let (l, r) = (limit.to_string(), remaining.to_string());
    response(
        200,
        &[
            ("X-RateLimit-Bucket", bucket),
            ("X-RateLimit-Limit", &l),
            ("X-RateLimit-Remaining", &r),
            ("X-RateLimit-Reset-After", reset_after),
            // An absolute reset far from our clock: must be ignored.
            ("X-RateLimit-Reset", "1"),
        ],
        "{}",
    )
}

fn go(limiter: &mut RateLimiter, key: &RateKey, now: i64) -> Permit {
    match limiter.acquire(key, now) {
        Acquire::Go(p) => p,
        other => panic!("expected Go at {now}, got {other:?}"),
    }
}

fn not_before(limiter: &mut RateLimiter, key: &RateKey, now: i64) -> (i64, WaitReason) {
    match limiter.acquire(key, now) {
        Acquire::NotBefore { at_ms, reason } => (at_ms, reason),
        other => panic!("expected NotBefore at {now}, got {other:?}"),
    }
}

#[test]
fn learns_a_bucket_from_its_headers_and_reserves_slots() {
    let mut rl = RateLimiter::default();
    let key = messages(1);
    let first = go(&mut rl, &key, 0);
    rl.observe(&first, &ok("abc", 5, 4, "2"), 100);
    // Four left in the window that ends 2 s after the answer arrived.
    for t in 0..4 {
        go(&mut rl, &key, 100 + t);
    }
    assert_eq!(not_before(&mut rl, &key, 104), (2_100, WaitReason::Bucket));
    assert_eq!(not_before(&mut rl, &key, 2_099).1, WaitReason::Bucket);
    // Window over; the four unanswered may land in the next one, so one slot is left.
    go(&mut rl, &key, 2_100);
    assert_eq!(not_before(&mut rl, &key, 2_101).1, WaitReason::Bucket);
}

#[test]
fn reset_after_is_relative_to_our_clock() {
    let mut rl = RateLimiter::default();
    let key = messages(1);
    let p = go(&mut rl, &key, 5_000_000);
    rl.observe(&p, &ok("abc", 1, 0, "0.250"), 5_000_010);
    assert_eq!(
        not_before(&mut rl, &key, 5_000_011),
        (5_000_260, WaitReason::Bucket)
    );
    go(&mut rl, &key, 5_000_260);
}

#[test]
fn only_one_request_learns_an_unknown_bucket() {
    let mut rl = RateLimiter::default();
    let key = messages(7);
    let learner = go(&mut rl, &key, 0);
    for t in 1..20 {
        let (at, reason) = not_before(&mut rl, &key, t);
        assert_eq!(reason, WaitReason::Learning);
        assert!(at > t && at <= t + rl.config().poll_ms, "{at}");
    }
    rl.observe(&learner, &ok("b7", 10, 9, "1"), 50);
    for t in 0..9 {
        go(&mut rl, &key, 51 + t);
    }
    assert_eq!(not_before(&mut rl, &key, 60).1, WaitReason::Bucket);
}

#[test]
fn a_learner_that_never_answers_holds_the_unknown_bucket_until_its_window_is_surely_over() {
    let cfg = Config {
        in_flight_timeout_ms: 1_000,
        ghost_ttl_ms: 5_000,
        ..Config::default()
    };
    let mut rl = RateLimiter::new(cfg);
    let key = messages(7);
    let lost = go(&mut rl, &key, 0);
    assert_eq!(lost.deadline_ms, 1_000);
    assert_eq!(
        not_before(&mut rl, &key, 999),
        (1_000, WaitReason::Learning)
    );
    // It may have opened a window whose limit could be 1: the next learner waits that out.
    assert_eq!(
        not_before(&mut rl, &key, 1_000),
        (6_000, WaitReason::Learning)
    );
    let second = go(&mut rl, &key, 6_000);
    rl.observe(&lost, &Feedback::NoResponse, 6_001);
    rl.observe(&second, &ok("b", 3, 1, "1"), 6_050);
    // Discord counted two in this window (remaining 1): one slot is left.
    go(&mut rl, &key, 6_051);
    assert_eq!(
        not_before(&mut rl, &key, 6_052),
        (7_050, WaitReason::Bucket)
    );
}

#[test]
fn a_request_without_answer_in_a_known_bucket_keeps_its_slot_until_the_window_ends() {
    let mut rl = RateLimiter::default();
    let key = messages(8);
    let p = go(&mut rl, &key, 0);
    rl.observe(&p, &ok("b", 2, 1, "1"), 10);
    let lost = go(&mut rl, &key, 20);
    rl.observe(&lost, &Feedback::NoResponse, 30);
    assert_eq!(not_before(&mut rl, &key, 31), (1_010, WaitReason::Bucket));
    // In the next window the unanswered one may still count: one of two slots is free.
    go(&mut rl, &key, 1_010);
    assert_eq!(not_before(&mut rl, &key, 1_011).1, WaitReason::Bucket);
}

#[test]
fn errors_without_rate_limit_headers_hold_no_slot_so_a_5xx_burst_ends_cleanly() {
    let mut rl = RateLimiter::default();
    let key = webhook(4);
    let p = go(&mut rl, &key, 0);
    rl.observe(&p, &ok("wh", 5, 4, "2"), 10);
    // Twenty 502s from the edge in a row: each frees its slot again.
    for t in 0..20 {
        let p = go(&mut rl, &key, 100 + t);
        rl.observe(
            &p,
            &response(502, &[("content-type", "text/html")], "<html>502</html>"),
            100 + t,
        );
    }
    let s = rl.status(200);
    assert_eq!((s.in_flight, s.ban_strikes, s.invalid_requests), (0, 0, 0));
    // The burst is over: the four slots Discord still offers are there.
    for t in 0..4 {
        go(&mut rl, &key, 200 + t);
    }
    assert_eq!(not_before(&mut rl, &key, 204), (2_010, WaitReason::Bucket));
}

#[test]
fn routes_sharing_a_bucket_id_share_its_state_per_resource() {
    let mut rl = RateLimiter::default();
    let post = messages(1);
    let other_route = bot_route("/channels/{channel_id}/threads", 1);
    let other_channel = messages(2);
    let p = go(&mut rl, &post, 0);
    rl.observe(&p, &ok("shared", 2, 1, "5"), 10);
    go(&mut rl, &post, 11);
    assert_eq!(not_before(&mut rl, &post, 12).1, WaitReason::Bucket);
    // The other route learns it belongs to the same bucket (same channel): it is full.
    let q = go(&mut rl, &other_route, 20);
    rl.observe(&q, &ok("shared", 2, 0, "4.99"), 30);
    assert_eq!(not_before(&mut rl, &other_route, 31).1, WaitReason::Bucket);
    // The same bucket id on another channel is another bucket.
    let r = go(&mut rl, &other_channel, 40);
    rl.observe(&r, &ok("shared", 2, 1, "5"), 50);
    go(&mut rl, &other_channel, 51);
}

#[test]
fn global_limit_counts_bot_requests_but_not_webhooks() {
    let mut rl = RateLimiter::default();
    // Fifty distinct bot routes (one learning request each, answered at once) in the same
    // second.
    for c in 0..50 {
        let p = go(&mut rl, &messages(c), 100 + c as i64);
        rl.observe(&p, &ok(&format!("b{c}"), 5, 4, "1"), 100 + c as i64);
    }
    assert_eq!(
        not_before(&mut rl, &messages(999), 500),
        (1_100, WaitReason::Global)
    );
    // Webhook executions do not count against the bot token's global limit.
    for w in 0..60 {
        go(&mut rl, &webhook(w), 500);
    }
    go(&mut rl, &messages(999), 1_100);
    assert_eq!(rl.status(1_100).global_requests_last_window, 50);
}

#[test]
fn routes_without_bucket_headers_are_only_globally_limited() {
    let mut rl = RateLimiter::default();
    let key = messages(3);
    let p = go(&mut rl, &key, 0);
    rl.observe(&p, &response(200, &[], "{}"), 10);
    for t in 0..10 {
        go(&mut rl, &key, 20 + t);
    }
}

#[test]
fn a_route_429_honours_retry_after_and_the_header_beats_the_body() {
    let mut rl = RateLimiter::default();
    let key = messages(1);
    let p = go(&mut rl, &key, 0);
    rl.observe(&p, &ok("b", 5, 4, "1"), 10);
    let q = go(&mut rl, &key, 20);
    rl.observe(
        &q,
        &response(
            429,
            &[
                ("content-type", "application/json"),
                ("Retry-After", "41"),
                ("X-RateLimit-Scope", "user"),
                ("X-RateLimit-Bucket", "b"),
                ("X-RateLimit-Limit", "5"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset-After", "1"),
            ],
            r#"{"message":"You are being rate limited.","retry_after":40.2,"global":false}"#,
        ),
        30,
    );
    assert_eq!(
        not_before(&mut rl, &key, 31),
        (41_030, WaitReason::RetryAfter)
    );
    // Other routes and webhooks are not affected by a route limit.
    go(&mut rl, &messages(2), 31);
    let status = rl.status(31);
    assert_eq!(
        status.invalid_requests, 1,
        "a user-scope 429 is an invalid request"
    );
    assert_eq!(status.state, SendState::Sending);
    go(&mut rl, &key, 41_030);
}

#[test]
fn a_global_429_pauses_the_bot_token_only() {
    let mut rl = RateLimiter::default();
    let key = messages(1);
    let p = go(&mut rl, &key, 0);
    rl.observe(
        &p,
        &response(
            429,
            &[
                ("content-type", "application/json"),
                ("X-RateLimit-Global", "true"),
                ("X-RateLimit-Scope", "global"),
            ],
            r#"{"message":"You are being rate limited.","retry_after":2.5,"global":true}"#,
        ),
        100,
    );
    assert_eq!(
        not_before(&mut rl, &messages(42), 101),
        (2_600, WaitReason::GlobalRetryAfter)
    );
    go(&mut rl, &webhook(1), 101);
    let s = rl.status(101);
    assert_eq!(s.state, SendState::Paused);
    assert_eq!(s.pause_reason, Some(WaitReason::GlobalRetryAfter));
    go(&mut rl, &messages(42), 2_600);
}

#[test]
fn a_shared_429_waits_but_is_not_an_invalid_request() {
    let mut rl = RateLimiter::default();
    let key = webhook(9);
    let p = go(&mut rl, &key, 0);
    rl.observe(
        &p,
        &response(
            429,
            &[
                ("content-type", "application/json"),
                ("X-RateLimit-Scope", "shared"),
                ("X-RateLimit-Bucket", "wh"),
                ("X-RateLimit-Limit", "5"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset-After", "2"),
            ],
            r#"{"message":"shared","retry_after":44.1,"global":false}"#,
        ),
        10,
    );
    assert_eq!(
        not_before(&mut rl, &key, 11),
        (44_110, WaitReason::RetryAfter)
    );
    assert_eq!(rl.status(11).invalid_requests, 0);
}

#[test]
fn the_invalid_request_budget_pauses_everything_over_a_sliding_window() {
    let cfg = Config {
        invalid_budget: 5,
        ..Config::default()
    };
    let window = cfg.invalid_window_ms;
    let mut rl = RateLimiter::new(cfg);
    // Four 403s early, one 401 on a user token (not the bot: no stop) a minute later.
    for i in 0..4 {
        let key = messages(100 + i);
        let p = go(&mut rl, &key, i as i64);
        rl.observe(
            &p,
            &response(403, &[], r#"{"message":"Missing Access","code":50001}"#),
            10,
        );
    }
    go(&mut rl, &messages(1), 60_000);
    let user = RateKey {
        route: RouteKey::new(Method::Get, "/users/@me", &Resource::UserToken("t".into())),
        auth: AuthKind::Bearer,
        counts_against_global: false,
    };
    let p = go(&mut rl, &user, 60_000);
    rl.observe(
        &p,
        &response(401, &[], r#"{"message":"401: Unauthorized","code":0}"#),
        60_010,
    );
    // Five in the window: all traffic pauses, webhooks too.
    let (at, reason) = not_before(&mut rl, &webhook(1), 60_020);
    assert_eq!(reason, WaitReason::InvalidBudget);
    // The four early ones leave the window (slotted, on the cautious side) first.
    assert!(at >= 10 + window && at <= 10 + window + window / 60, "{at}");
    let s = rl.status(60_020);
    assert_eq!(s.state, SendState::Paused);
    assert_eq!(s.invalid_requests, 5);
    assert_eq!(s.invalid_budget, 5);
    assert!(s.stopped.is_none());
    go(&mut rl, &webhook(1), at);
    assert_eq!(rl.status(at).invalid_requests, 1);
}

#[test]
fn a_401_on_the_bot_token_stops_it_until_an_operator_resets() {
    let mut rl = RateLimiter::default();
    let key = messages(1);
    let p = go(&mut rl, &key, 0);
    rl.observe(
        &p,
        &response(401, &[], r#"{"message":"401: Unauthorized","code":0}"#),
        10,
    );
    assert_eq!(rl.acquire(&messages(2), 11), Acquire::Stopped);
    assert_eq!(
        rl.acquire(&key, 10_000_000),
        Acquire::Stopped,
        "time does not heal it"
    );
    // Webhooks do not use the bot token.
    go(&mut rl, &webhook(1), 11);
    let s = rl.status(11);
    assert_eq!(s.state, SendState::Stopped);
    assert_eq!(
        s.alert.as_ref().map(|a| a.kind),
        Some(AlertKind::Unauthorized)
    );
    assert_eq!(
        s.stopped.as_ref().map(|s| s.route.clone()),
        Some(key.route.clone())
    );
    rl.reset_stop();
    assert!(rl.status(12).alert.is_none());
    go(&mut rl, &messages(2), 12);
}

#[test]
fn a_ban_page_pauses_all_traffic_with_backoff_and_alerts() {
    let cfg = Config::default();
    let base = cfg.ban_backoff.base_ms;
    let mut rl = RateLimiter::new(cfg);
    let html = || {
        response(
            429,
            &[("Content-Type", "text/html")],
            "<!DOCTYPE html><html><title>Error 1015</title></html>",
        )
    };
    let p = go(&mut rl, &messages(1), 0);
    rl.observe(&p, &html(), 10);
    assert_eq!(
        not_before(&mut rl, &webhook(1), 11),
        (10 + base, WaitReason::Banned)
    );
    let s = rl.status(11);
    assert_eq!(s.state, SendState::Paused);
    assert_eq!(s.pause_reason, Some(WaitReason::Banned));
    assert_eq!(s.paused_until_ms, Some(10 + base));
    assert_eq!(s.alert.as_ref().map(|a| a.kind), Some(AlertKind::Banned));
    // Banned again right after the pause: twice as long.
    let t = 10 + base;
    let q = go(&mut rl, &webhook(2), t);
    rl.observe(
        &q,
        &response(
            403,
            &[("content-type", "application/json")],
            r#"{"message":"You are being blocked from accessing our API temporarily","code":0}"#,
        ),
        t,
    );
    assert_eq!(
        not_before(&mut rl, &messages(3), t + 1),
        (t + 2 * base, WaitReason::Banned)
    );
    let s = rl.status(t + 1);
    assert_eq!(s.ban_strikes, 2);
    assert_eq!(s.alert.as_ref().map(|a| a.count), Some(2));
    // A success resets the backoff; the alert stays until the operator clears it.
    let r = go(&mut rl, &messages(3), t + 2 * base);
    rl.observe(&r, &ok("b", 5, 4, "1"), t + 2 * base);
    assert_eq!(rl.status(t + 2 * base).ban_strikes, 0);
    assert!(rl.status(t + 2 * base).alert.is_some());
    rl.clear_alert();
    assert!(rl.status(t + 2 * base).alert.is_none());
}

#[test]
fn discord_403s_are_not_bans() {
    let mut rl = RateLimiter::default();
    let p = go(&mut rl, &messages(1), 0);
    rl.observe(
        &p,
        &response(
            403,
            &[("content-type", "application/json")],
            r#"{"message":"Missing Permissions","code":50013}"#,
        ),
        1,
    );
    assert_eq!(rl.status(2).ban_strikes, 0);
    go(&mut rl, &messages(2), 2);
    assert_eq!(
        ResponseMeta::from_response(&Response {
            status: 403,
            headers: vec![],
            body: br#"{"code":50013}"#.to_vec()
        })
        .body,
        BodyKind::Json { code: Some(50013) }
    );
}

#[test]
fn state_survives_a_round_trip_through_storage() {
    let mut rl = RateLimiter::default();
    let key = messages(1);
    let p = go(&mut rl, &key, 0);
    rl.observe(&p, &ok("abc", 3, 1, "2"), 10);
    let inflight = go(&mut rl, &key, 11);
    let json = serde_json::to_string(&rl).unwrap();
    let mut restored: RateLimiter = serde_json::from_str(&json).unwrap();
    assert_eq!(restored, rl);
    assert_eq!(
        not_before(&mut restored, &key, 12),
        (2_010, WaitReason::Bucket)
    );
    // A permit issued before the round trip is still recognised after it.
    let permit_json = serde_json::to_string(&inflight).unwrap();
    let permit: Permit = serde_json::from_str(&permit_json).unwrap();
    restored.observe(&permit, &ok("abc", 3, 0, "1.99"), 20);
    assert_eq!(restored.status(20).in_flight, 0);
    // A config persisted before a field existed still loads, with the defaults.
    let cfg: Config = serde_json::from_str(r#"{"invalid_budget": 250}"#).unwrap();
    assert_eq!(cfg.invalid_budget, 250);
    assert_eq!(cfg.global_limit, 50);
}

#[test]
fn state_stays_bounded_by_evicting_idle_buckets() {
    let cfg = Config {
        max_buckets: 8,
        max_routes: 16,
        ..Config::default()
    };
    let mut rl = RateLimiter::new(cfg);
    let mut now = 0;
    for c in 0..200u64 {
        let key = webhook(c);
        let p = go(&mut rl, &key, now);
        rl.observe(&p, &ok("wh", 5, 4, "0.5"), now + 1);
        now += 1_000;
    }
    let s = rl.status(now);
    assert!(s.buckets <= 9, "{}", s.buckets);
    assert!(s.routes <= 16, "{}", s.routes);
    rl.prune(now);
    assert_eq!(rl.status(now).buckets, 0);
    // A busy bucket is never evicted: with every slot busy, new routes wait.
    let cfg = Config {
        max_buckets: 2,
        ..Config::default()
    };
    let mut rl = RateLimiter::new(cfg);
    go(&mut rl, &webhook(1), 0);
    go(&mut rl, &webhook(2), 0);
    assert_eq!(not_before(&mut rl, &webhook(3), 0).1, WaitReason::Capacity);
}

#[test]
fn status_serialises_for_the_admin_api() {
    let mut rl = RateLimiter::default();
    let v = serde_json::to_value(rl.status(0)).unwrap();
    assert_eq!(v["state"], "sending");
    assert_eq!(v["invalid_budget"], 1000);
    assert!(v.get("alert").is_none());
    let scope: Scope = serde_json::from_str("\"shared\"").unwrap();
    assert_eq!(scope, Scope::Shared);
}

/// A global 429 as Discord documents it (no bucket headers) or as the fake sends it (bucket
/// headers of the route as they stand, the request not counted).
fn global_429(with_bucket_headers: bool) -> Feedback {
    let mut headers = vec![
        ("content-type", "application/json"),
        ("Retry-After", "1"),
        ("X-RateLimit-Global", "true"),
        ("X-RateLimit-Scope", "global"),
    ];
    if with_bucket_headers {
        headers.extend([
            ("X-RateLimit-Bucket", "hooks"),
            ("X-RateLimit-Limit", "1"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset-After", "1.5"),
        ]);
    }
    response(
        429,
        &headers,
        r#"{"message":"You are being rate limited.","retry_after":0.3,"global":true}"#,
    )
}

/// The stall of the burst e2e: the bot's 51st request in a second met Discord's global limit
/// while it was the one learning an unknown bucket (or used the only slot of a known one).
/// The global limiter refused it before the route's bucket counted it, and the answer came
/// back: nothing is missing, so the route goes on once the global pause is over, not a ghost
/// TTL (65 s) later.
#[test]
fn a_global_429_frees_the_route_slot_instead_of_holding_it_for_the_ghost_ttl() {
    for with_bucket_headers in [false, true] {
        let mut rl = RateLimiter::default();
        // The learner of an unknown bucket.
        let learning = bot_route("/channels/{channel_id}/webhooks", 1);
        let learner = go(&mut rl, &learning, 0);
        rl.observe(&learner, &global_429(with_bucket_headers), 10);
        assert_eq!(
            not_before(&mut rl, &learning, 11),
            (1_010, WaitReason::GlobalRetryAfter),
            "headers: {with_bucket_headers}"
        );
        let again = go(&mut rl, &learning, 1_010);
        rl.observe(&again, &ok("hooks", 1, 0, "1.5"), 1_020);
        assert_eq!(
            not_before(&mut rl, &learning, 1_021),
            (2_520, WaitReason::Bucket)
        );

        // A known bucket of one request per window: its only slot.
        let known = bot_route("/channels/{channel_id}/webhooks", 2);
        let first = go(&mut rl, &known, 3_000);
        rl.observe(&first, &ok("hooks", 1, 0, "1.5"), 3_010);
        let refused = go(&mut rl, &known, 4_510);
        rl.observe(&refused, &global_429(with_bucket_headers), 4_520);
        go(&mut rl, &known, 5_520);
        let s = rl.status(5_520);
        assert_eq!((s.in_flight, s.invalid_requests), (1, 2), "{s:?}");
    }
}

/// The cause of that 429: Discord counts the global limit by when requests arrive. A request
/// granted at `g` and answered at `r` arrived somewhere in `[g, r]`, so it counts in the global
/// window until `r` + the window, not `g` + the window: otherwise a slow first request (a cold
/// connection) and a fast 51st land in the same second at Discord.
#[test]
fn the_global_limit_counts_a_request_until_its_answer_so_a_slow_first_one_shares_no_second_with_the_51st(
) {
    let mut rl = RateLimiter::default();
    let slow = go(&mut rl, &messages(0), 0);
    rl.observe(&slow, &response(200, &[], "{}"), 400);
    for c in 1..50 {
        let p = go(&mut rl, &messages(c), 400 + c as i64);
        rl.observe(&p, &response(200, &[], "{}"), 400 + c as i64);
    }
    // The first arrived as late as 400 ms: a 51st sent before 1,400 ms could share its second.
    assert_eq!(
        not_before(&mut rl, &messages(50), 1_000),
        (1_400, WaitReason::Global)
    );
    go(&mut rl, &messages(50), 1_400);
    // Requests still unanswered count until they are answered (or given up on).
    let mut rl = RateLimiter::default();
    let pending: Vec<Permit> = (0..50)
        .map(|c| go(&mut rl, &messages(c), c as i64))
        .collect();
    // The earliest one could leave the window: answered now, a second from now.
    assert_eq!(
        not_before(&mut rl, &messages(50), 2_000),
        (3_000, WaitReason::Global)
    );
    rl.observe(&pending[0], &response(200, &[], "{}"), 2_100);
    assert_eq!(
        not_before(&mut rl, &messages(50), 2_200),
        (3_100, WaitReason::Global)
    );
    go(&mut rl, &messages(50), 3_100);
}
