//! Property: whatever the interleaving of callers and however the network delays requests
//! and answers (or loses them), no window of a simulated Discord bucket ever receives more
//! requests than its limit; and the limiter never deadlocks.
//!
//! The simulated Discord counts the way Discord does: a window opens with the first request
//! arriving after the previous window closed, lasts `window_ms`, and each answer carries
//! `Limit`, `Remaining` and `Reset-After` as of the moment it was processed.

use proptest::prelude::*;
use std::collections::BTreeMap;

use relay_discord::ratelimit::{Acquire, Config, Feedback, Permit, RateLimiter, ResponseMeta};
use relay_discord::requests::{AuthKind, Method, RateKey, Resource, RouteKey};
use relay_discord::Response;

const TIMEOUT_MS: i64 = 2_000;

#[derive(Debug, Clone)]
enum Fate {
    /// Arrives, and its answer comes back (if before the deadline).
    Answered,
    /// Arrives, but the answer is lost: the caller reports no response at the deadline.
    AnswerLost,
    /// Never reaches Discord; the caller never reports anything.
    Vanishes,
    /// Refused in front of Discord's limiter (a 502 from the edge): not counted, no headers.
    EdgeError,
}

#[derive(Debug, Clone)]
enum Op {
    Acquire {
        route: usize,
        to_discord_ms: i64,
        to_us_ms: i64,
        fate: Fate,
    },
    Advance(i64),
}

fn op(routes: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..routes, 0i64..1_500, 0i64..1_500, prop_oneof![
            8 => Just(Fate::Answered),
            1 => Just(Fate::AnswerLost),
            1 => Just(Fate::Vanishes),
            1 => Just(Fate::EdgeError),
        ])
            .prop_map(|(route, to_discord_ms, to_us_ms, fate)| Op::Acquire {
                route,
                to_discord_ms,
                to_us_ms,
                fate,
            }),
        3 => (1i64..800).prop_map(Op::Advance),
    ]
}

#[derive(Debug)]
enum Event {
    Arrive(usize),
    Answer(usize, ResponseMeta),
    NoAnswer(usize),
}

struct Discord {
    limit: u32,
    window_ms: i64,
    window_end: i64,
    count: u32,
    worst: u32,
}

impl Discord {
    fn arrive(&mut self, t: i64) -> ResponseMeta {
        if t >= self.window_end {
            self.window_end = t + self.window_ms;
            self.count = 0;
        }
        self.count += 1;
        self.worst = self.worst.max(self.count);
        let reset_after = self.window_end - t;
        let headers = vec![
            (
                "X-RateLimit-Bucket".to_string(),
                "shared-bucket".to_string(),
            ),
            ("X-RateLimit-Limit".to_string(), self.limit.to_string()),
            (
                "X-RateLimit-Remaining".to_string(),
                self.limit.saturating_sub(self.count).to_string(),
            ),
            (
                "X-RateLimit-Reset-After".to_string(),
                format!("{}.{:03}", reset_after / 1000, reset_after % 1000),
            ),
        ];
        ResponseMeta::from_response(&Response {
            status: 200,
            headers,
            body: b"{}".to_vec(),
        })
    }
}

struct Sim {
    limiter: RateLimiter,
    discord: Discord,
    keys: Vec<RateKey>,
    now: i64,
    events: BTreeMap<(i64, u64), Event>,
    seq: u64,
    permits: Vec<Permit>,
    fates: Vec<(Fate, i64, i64)>,
}

impl Sim {
    fn new(limit: u32, window_ms: i64, routes: usize) -> Self {
        let cfg = Config {
            in_flight_timeout_ms: TIMEOUT_MS,
            ghost_ttl_ms: 10_000,
            ..Config::default()
        };
        let templates = [
            "/channels/{channel_id}/messages",
            "/channels/{channel_id}/threads",
            "/channels/{channel_id}/webhooks",
        ];
        Sim {
            limiter: RateLimiter::new(cfg),
            discord: Discord {
                limit,
                window_ms,
                window_end: i64::MIN,
                count: 0,
                worst: 0,
            },
            keys: (0..routes)
                .map(|r| RateKey {
                    route: RouteKey::new(Method::Post, templates[r], &Resource::Channel(1)),
                    auth: AuthKind::Bot,
                    counts_against_global: true,
                })
                .collect(),
            now: 0,
            events: BTreeMap::new(),
            seq: 0,
            permits: Vec::new(),
            fates: Vec::new(),
        }
    }

    fn schedule(&mut self, at: i64, e: Event) {
        self.seq += 1;
        self.events.insert((at, self.seq), e);
    }

    fn run_until(&mut self, until: i64) {
        while let Some((&(t, s), _)) = self.events.iter().next() {
            if t > until {
                break;
            }
            let event = self.events.remove(&(t, s)).expect("event just seen");
            self.now = t;
            match event {
                Event::Arrive(i) => {
                    let meta = self.discord.arrive(t);
                    let (fate, _, to_us) = self.fates[i].clone();
                    let deadline = self.permits[i].deadline_ms;
                    match fate {
                        Fate::Answered if t + to_us < deadline => {
                            self.schedule(t + to_us, Event::Answer(i, meta))
                        }
                        // The caller gives up at the deadline.
                        _ => self.schedule(deadline, Event::NoAnswer(i)),
                    }
                }
                Event::Answer(i, meta) => {
                    let p = self.permits[i].clone();
                    self.limiter.observe(&p, &Feedback::Response(meta), t);
                }
                Event::NoAnswer(i) => {
                    let p = self.permits[i].clone();
                    self.limiter.observe(&p, &Feedback::NoResponse, t);
                }
            }
        }
        self.now = until;
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Advance(dt) => self.run_until(self.now + dt),
            Op::Acquire {
                route,
                to_discord_ms,
                to_us_ms,
                fate,
            } => {
                let key = self.keys[*route].clone();
                match self.limiter.acquire(&key, self.now) {
                    Acquire::Go(p) => {
                        let i = self.permits.len();
                        prop_assert!(p.deadline_ms > self.now);
                        self.permits.push(p);
                        self.fates.push((fate.clone(), *to_discord_ms, *to_us_ms));
                        // A request can only reach Discord before the caller aborts it.
                        let arrive = self.now + to_discord_ms.min(&(TIMEOUT_MS - 1));
                        match fate {
                            Fate::Vanishes => {}
                            Fate::EdgeError => {
                                let back = arrive + to_us_ms;
                                let deadline = self.permits[i].deadline_ms;
                                if back < deadline {
                                    let meta = ResponseMeta::from_response(&Response {
                                        status: 502,
                                        headers: vec![],
                                        body: b"<html>502 Bad Gateway</html>".to_vec(),
                                    });
                                    self.schedule(back, Event::Answer(i, meta));
                                } else {
                                    self.schedule(deadline, Event::NoAnswer(i));
                                }
                            }
                            _ => self.schedule(arrive, Event::Arrive(i)),
                        }
                    }
                    Acquire::NotBefore { at_ms, .. } => {
                        prop_assert!(at_ms > self.now, "a wait must end in the future");
                    }
                    Acquire::Stopped => prop_assert!(false, "nothing here stops the token"),
                }
            }
        }
        Ok(())
    }

    /// After everything settled, the bucket grants again within a bounded time.
    fn check_live(&mut self) -> Result<(), TestCaseError> {
        self.run_until(self.now + 60_000);
        let key = self.keys[0].clone();
        for _ in 0..100 {
            match self.limiter.acquire(&key, self.now) {
                Acquire::Go(_) => return Ok(()),
                Acquire::NotBefore { at_ms, .. } => self.run_until(at_ms),
                Acquire::Stopped => prop_assert!(false, "stopped"),
            }
        }
        prop_assert!(
            false,
            "no slot after settling: {:?}",
            self.limiter.status(self.now)
        );
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// One route: Discord never sees more than the learned limit in any window.
    #[test]
    fn a_bucket_window_never_gets_more_than_its_limit(
        limit in 1u32..7,
        window_ms in 50i64..3_000,
        ops in prop::collection::vec(op(1), 1..250),
    ) {
        let mut sim = Sim::new(limit, window_ms, 1);
        for op in &ops {
            sim.apply(op)?;
            prop_assert!(
                sim.discord.worst <= limit,
                "{} requests in one window of a bucket limited to {}",
                sim.discord.worst,
                limit
            );
        }
        sim.run_until(sim.now + 60_000);
        prop_assert!(sim.discord.worst <= limit);
        sim.check_live()?;
    }

    /// Three routes sharing one bucket: each route may overshoot once, with the single
    /// request that teaches it which bucket it is in; never more.
    #[test]
    fn routes_sharing_a_bucket_overshoot_at_most_by_their_learning_requests(
        limit in 1u32..7,
        window_ms in 50i64..3_000,
        ops in prop::collection::vec(op(3), 1..250),
    ) {
        let mut sim = Sim::new(limit, window_ms, 3);
        for op in &ops {
            sim.apply(op)?;
        }
        sim.run_until(sim.now + 60_000);
        prop_assert!(
            sim.discord.worst <= limit + 2,
            "{} requests in one window of a bucket limited to {}",
            sim.discord.worst,
            limit
        );
        sim.check_live()?;
    }

    /// The bot token's global limit holds over every sliding second.
    #[test]
    fn the_global_limit_holds_over_any_second(
        gaps in prop::collection::vec(0i64..40, 1..400),
    ) {
        let mut rl = RateLimiter::default();
        let mut now = 0;
        let mut granted: Vec<i64> = Vec::new();
        for (i, gap) in gaps.iter().enumerate() {
            now += gap;
            let key = RateKey {
                route: RouteKey::new(Method::Get, "/channels/{channel_id}", &Resource::Channel(i as u64)),
                auth: AuthKind::Bot,
                counts_against_global: true,
            };
            if let Acquire::Go(p) = rl.acquire(&key, now) {
                granted.push(now);
                rl.observe(&p, &Feedback::Response(ResponseMeta::from_response(&Response {
                    status: 200, headers: vec![], body: vec![],
                })), now);
            }
            rl.prune(now);
        }
        for (i, t) in granted.iter().enumerate() {
            let in_second = granted[i..].iter().take_while(|u| **u < t + 1_000).count();
            prop_assert!(in_second <= 50, "{in_second} grants in the second from {t}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The global limit as Discord applies it, by arrival: whatever the delays to Discord and
    /// back (a cold connection makes one request slow, the next ones fast) and however many
    /// callers overlap, no second of arrivals holds more than 50 requests (so no global 429).
    #[test]
    fn the_global_limit_holds_over_any_second_of_arrivals(
        sends in prop::collection::vec((0i64..30, 0i64..600, 0i64..600), 1..300),
    ) {
        let mut rl = RateLimiter::default();
        // (answer time, permit) of requests out.
        let mut out: Vec<(i64, Permit)> = Vec::new();
        let mut arrivals: Vec<i64> = Vec::new();
        let mut now = 0;
        for (i, (gap, to_discord, to_us)) in sends.iter().enumerate() {
            now += gap;
            out.sort_by_key(|(t, p)| (*t, p.id));
            while out.first().is_some_and(|(t, _)| *t <= now) {
                let (t, p) = out.remove(0);
                rl.observe(&p, &Feedback::Response(ResponseMeta::from_response(&Response {
                    status: 200, headers: vec![], body: vec![],
                })), t);
            }
            let key = RateKey {
                route: RouteKey::new(Method::Get, "/channels/{channel_id}", &Resource::Channel(i as u64)),
                auth: AuthKind::Bot,
                counts_against_global: true,
            };
            match rl.acquire(&key, now) {
                Acquire::Go(p) => {
                    arrivals.push(now + to_discord);
                    out.push((now + to_discord + to_us, p));
                }
                Acquire::NotBefore { at_ms, .. } => prop_assert!(at_ms > now),
                Acquire::Stopped => prop_assert!(false, "nothing here stops the token"),
            }
        }
        arrivals.sort_unstable();
        for (i, t) in arrivals.iter().enumerate() {
            let in_second = arrivals[i..].iter().take_while(|u| **u < t + 1_000).count();
            prop_assert!(in_second <= 50, "{in_second} arrivals in the second from {t}");
        }
    }
}

fn any_header() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec![
            "X-RateLimit-Bucket",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset-After",
            "X-RateLimit-Scope",
            "X-RateLimit-Global",
            "Retry-After",
            "Content-Type",
        ]),
        prop_oneof![
            "[0-9]{0,12}(\\.[0-9]{0,6})?",
            "-?[0-9]{1,25}",
            "(user|global|shared|true|false|text/html|application/json)",
            ".{0,40}",
        ],
    )
        .prop_map(|(k, v)| (k.to_string(), v))
}

proptest! {
    /// Whatever the clock says and whatever comes back, the limiter answers without
    /// panicking, and a wait always ends after now.
    #[test]
    fn no_input_makes_the_limiter_panic(
        steps in prop::collection::vec(
            (
                prop_oneof![any::<i64>(), 0i64..10_000_000],
                100u16..600,
                prop::collection::vec(any_header(), 0..6),
                prop_oneof![
                    Just(String::new()),
                    Just("<html>blocked</html>".to_string()),
                    Just(r#"{"code":0,"message":"blocked"}"#.to_string()),
                    Just(r#"{"retry_after":1e308,"global":true}"#.to_string()),
                    ".{0,30}",
                ],
                0usize..3,
                any::<bool>(),
            ),
            1..60,
        ),
    ) {
        let mut rl = RateLimiter::default();
        let mut permits: Vec<Permit> = Vec::new();
        for (now, status, headers, body, route, lost) in steps {
            let key = RateKey {
                route: RouteKey::new(Method::Post, "/channels/{channel_id}/messages", &Resource::Channel(route as u64)),
                auth: if route == 2 { AuthKind::None } else { AuthKind::Bot },
                counts_against_global: route != 2,
            };
            match rl.acquire(&key, now) {
                Acquire::Go(p) => permits.push(p),
                Acquire::NotBefore { at_ms, .. } => prop_assert!(at_ms > now || now == i64::MAX),
                Acquire::Stopped => {}
            }
            if let Some(p) = permits.pop() {
                let feedback = if lost {
                    Feedback::NoResponse
                } else {
                    Feedback::Response(ResponseMeta::from_response(&Response {
                        status,
                        headers: headers.clone(),
                        body: body.into_bytes(),
                    }))
                };
                rl.observe(&p, &feedback, now);
            }
            let _ = rl.status(now);
            rl.prune(now);
            let json = serde_json::to_string(&rl).expect("serialisable");
            let back: RateLimiter = serde_json::from_str(&json).expect("deserialisable");
            prop_assert_eq!(&back, &rl);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// A steady sender at half a bucket's rate is never held, however late each answer is
    /// read. Discord opens a window at a request's arrival; we learn its end when the answer
    /// is read, so our window ends later than Discord's, and a request sent in between opened
    /// a new window there — it must not inherit the old window's count here.
    #[test]
    fn a_sender_at_half_the_rate_is_never_held_whatever_the_answer_delays(
        to_discord_ms in 0i64..30,
        sends in prop::collection::vec((0i64..100, 0i64..600), 30),
    ) {
        let (limit, window) = (5u32, 2_000i64);
        let mut rl = RateLimiter::default();
        let key = RateKey {
            route: RouteKey::new(
                Method::Post,
                "/webhooks/{webhook_id}/{webhook_token}",
                &Resource::Webhook { id: 7, token: "t".into() },
            ),
            auth: AuthKind::None,
            counts_against_global: false,
        };
        let (mut open, mut count) = (i64::MIN / 2, 0u32);
        for (i, (jitter, read_after)) in sends.iter().enumerate() {
            // One a second (a window holds two of the five), a first one 2.1 s before.
            let sent = if i == 0 { 0 } else { 2_100 + (i as i64 - 1) * 1_000 + jitter };
            let permit = match rl.acquire(&key, sent) {
                Acquire::Go(p) => p,
                other => return Err(TestCaseError::fail(format!("request {i} at {sent}: {other:?}"))),
            };
            let arrived = sent + to_discord_ms;
            if arrived >= open + window {
                open = arrived;
                count = 0;
            }
            count += 1;
            let headers = vec![
                ("X-RateLimit-Bucket".to_string(), "wh".to_string()),
                ("X-RateLimit-Limit".to_string(), limit.to_string()),
                ("X-RateLimit-Remaining".to_string(), (limit - count).to_string()),
                (
                    "X-RateLimit-Reset-After".to_string(),
                    format!("{:.3}", (open + window - arrived) as f64 / 1000.0),
                ),
            ];
            let meta = ResponseMeta::from_response(&Response { status: 200, headers, body: b"{}".to_vec() });
            rl.observe(&permit, &Feedback::Response(meta), arrived + read_after);
        }
    }
}
