//! Properties of the gate as its Durable Object runs it, under any sequence of calls, answers
//! and clock steps:
//! - every granted request is counted once when it is observed, so `requests_sent` equals the
//!   answers counted plus the permits still out;
//! - the caller's verdict agrees with the gate: `Stopped` only for bot requests while the gate
//!   says stopped, and a `NotBefore` is never in the past;
//! - the persisted form round-trips exactly, at every step (an eviction loses nothing).

use proptest::prelude::*;

use relay_discord::error::Backoff;
use relay_discord::gate::{conclude, feedback, refused, Attempt, Gate, SendError};
use relay_discord::ratelimit::{Acquire, Permit, SendState};
use relay_discord::requests::{AuthKind, Method, RateKey, Resource, RouteKey};
use relay_discord::transport::{Response, TransportError};

#[derive(Debug, Clone)]
enum Answer {
    Ok { remaining: u32 },
    RouteLimited { retry_s: u32 },
    GlobalLimited,
    Ban,
    Unauthorized,
    Forbidden,
    ServerError,
    Lost,
}

#[derive(Debug, Clone)]
enum Op {
    Send {
        key: usize,
        answer: Answer,
    },
    /// Acquire now, answer at a later `Finish`.
    Start {
        key: usize,
    },
    Finish {
        answer: Answer,
    },
    Advance(i64),
    Reset,
    Prune,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        6 => (0u32..3).prop_map(|remaining| Answer::Ok { remaining }),
        1 => (0u32..5).prop_map(|retry_s| Answer::RouteLimited { retry_s }),
        1 => Just(Answer::GlobalLimited),
        1 => Just(Answer::Ban),
        1 => Just(Answer::Unauthorized),
        1 => Just(Answer::Forbidden),
        1 => Just(Answer::ServerError),
        1 => Just(Answer::Lost),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0usize..4, answer()).prop_map(|(key, answer)| Op::Send { key, answer }),
        2 => (0usize..4).prop_map(|key| Op::Start { key }),
        2 => answer().prop_map(|answer| Op::Finish { answer }),
        3 => (1i64..90_000).prop_map(Op::Advance),
        1 => Just(Op::Reset),
        1 => Just(Op::Prune),
    ]
}

fn key(i: usize) -> RateKey {
    match i {
        // Two bot routes, one webhook route, one user-token route.
        0 | 1 => RateKey {
            route: RouteKey::new(
                Method::Get,
                "/channels/{channel_id}",
                &Resource::Channel(i as u64),
            ),
            auth: AuthKind::Bot,
            counts_against_global: true,
        },
        2 => RateKey {
            route: RouteKey::new(
                Method::Post,
                "/webhooks/{webhook_id}/{webhook_token}",
                &Resource::Webhook {
                    id: 7,
                    token: "t".into(),
                },
            ),
            auth: AuthKind::None,
            counts_against_global: false,
        },
        _ => RateKey {
            route: RouteKey::new(Method::Get, "/users/@me", &Resource::UserToken("u".into())),
            auth: AuthKind::Bearer,
            counts_against_global: false,
        },
    }
}

fn response(a: &Answer) -> Result<Response, TransportError> {
    let r = |status: u16, headers: Vec<(&str, String)>, ct: &str, body: &str| {
        let mut headers: Vec<(String, String)> = headers
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        headers.push(("content-type".into(), ct.into()));
        Ok(Response {
            status,
            headers,
            body: body.as_bytes().to_vec(),
        })
    };
    let bucket = |remaining: u32| {
        vec![
            ("X-RateLimit-Bucket", "b".to_string()),
            ("X-RateLimit-Limit", "3".to_string()),
            ("X-RateLimit-Remaining", remaining.to_string()),
            ("X-RateLimit-Reset-After", "1.5".to_string()),
        ]
    };
    const JSON: &str = "application/json";
    match a {
        Answer::Ok { remaining } => r(200, bucket(*remaining), JSON, "{}"),
        Answer::RouteLimited { retry_s } => {
            let mut h = bucket(0);
            h.push(("Retry-After", retry_s.to_string()));
            h.push(("X-RateLimit-Scope", "user".into()));
            r(
                429,
                h,
                JSON,
                &format!(r#"{{"message":"rate limited","retry_after":{retry_s},"global":false}}"#),
            )
        }
        Answer::GlobalLimited => r(
            429,
            vec![
                ("Retry-After", "2".into()),
                ("X-RateLimit-Global", "true".into()),
                ("X-RateLimit-Scope", "global".into()),
            ],
            JSON,
            r#"{"message":"global","retry_after":2,"global":true}"#,
        ),
        Answer::Ban => r(429, vec![], "text/html", "<html>error 1015</html>"),
        Answer::Unauthorized => r(
            401,
            bucket(2),
            JSON,
            r#"{"message":"401: Unauthorized","code":0}"#,
        ),
        Answer::Forbidden => r(
            403,
            bucket(2),
            JSON,
            r#"{"message":"Missing Permissions","code":50013}"#,
        ),
        Answer::ServerError => r(502, vec![], "text/html", "<html>bad gateway</html>"),
        Answer::Lost => Err(TransportError::Timeout),
    }
}

fn at(now_ms: i64) -> Attempt {
    Attempt {
        now_ms,
        attempt: 1,
        jitter: 12345,
        backoff: Backoff::default(),
    }
}

/// Observes one answer and checks the caller's verdict against the gate.
fn finish(gate: &mut Gate, permit: &Permit, a: &Answer, now: i64) -> Result<(), TestCaseError> {
    let result = response(a);
    let observed = gate.observe(permit, &feedback(&result), now);
    let verdict = conclude(&result, permit.key.auth, Some(&observed), &at(now));
    match &verdict {
        Err(SendError::Stopped) => {
            prop_assert_eq!(permit.key.auth, AuthKind::Bot);
            prop_assert!(observed.stopped);
        }
        Err(SendError::NotBefore { at_ms, .. }) => prop_assert!(*at_ms >= now),
        Err(SendError::Transient { retry_at_ms, .. }) => prop_assert!(*retry_at_ms >= now),
        Err(SendError::Permanent(e)) => prop_assert!(e.status.is_some()),
        Ok(status) => prop_assert_eq!(*status, 200),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn counters_add_up_and_the_state_round_trips(ops in prop::collection::vec(op(), 1..80)) {
        let mut gate = Gate::default();
        let mut now = 1_000_000i64;
        let mut outstanding: Vec<Permit> = Vec::new();
        for op in ops {
            match op {
                Op::Send { key: k, answer } => {
                    let k = key(k);
                    match gate.acquire(&k, now) {
                        Acquire::Go(p) => finish(&mut gate, &p, &answer, now)?,
                        other => {
                            let e = refused(&other).expect("a refusal");
                            if let Some(t) = e.retry_at_ms() {
                                prop_assert!(t >= now, "not before the past: {t} < {now}");
                            }
                            if e == SendError::Stopped {
                                prop_assert_eq!(k.auth, AuthKind::Bot);
                                prop_assert_eq!(gate.status(now).limiter.state, SendState::Stopped);
                            }
                        }
                    }
                }
                Op::Start { key: k } => {
                    if let Acquire::Go(p) = gate.acquire(&key(k), now) {
                        outstanding.push(p);
                    }
                }
                Op::Finish { answer } => {
                    if let Some(p) = outstanding.pop() {
                        finish(&mut gate, &p, &answer, now)?;
                    }
                }
                Op::Advance(ms) => now += ms,
                Op::Reset => {
                    gate.reset(now);
                    let s = gate.status(now);
                    prop_assert!(s.limiter.stopped.is_none());
                    prop_assert!(s.limiter.alert.is_none());
                    prop_assert!(s.limiter.pause_reason != Some(relay_discord::ratelimit::WaitReason::Banned));
                }
                Op::Prune => gate.prune(now),
            }
            let s = gate.status(now);
            prop_assert_eq!(
                s.counters.requests_sent,
                s.counters.concluded() + outstanding.len() as u64,
                "every granted request is counted once it is observed"
            );
            let text = serde_json::to_string(&gate).unwrap();
            let back: Gate = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&back, &gate);
        }
    }
}

/// The gate's holder persists at intervals, so a restart may load a save taken before the
/// last grants: those grants' permit ids are never handed out again, and an answer to one of
/// them is harmless.
#[test]
fn a_gate_resumed_from_an_older_save_never_reuses_a_permit_id() {
    let mut live = Gate::default();
    let now = 1_000_000i64;
    let saved = serde_json::to_string(&live).unwrap();
    let mut late = Vec::new();
    for k in [0usize, 2, 3] {
        if let Acquire::Go(p) = live.acquire(&key(k), now) {
            late.push(p);
        }
    }
    assert_eq!(late.len(), 3);
    let mut resumed: Gate = serde_json::from_str(&saved).unwrap();
    resumed.resumed();
    let Acquire::Go(fresh) = resumed.acquire(&key(0), now + 1) else {
        panic!("a fresh gate grants");
    };
    assert!(late.iter().all(|p| p.id != fresh.id), "{} reused", fresh.id);
    // Answers to the lost grants arrive after the restart: taken, and the fresh one still
    // concludes as its own.
    for p in &late {
        finish(&mut resumed, p, &Answer::Ok { remaining: 1 }, now + 2).unwrap();
    }
    finish(&mut resumed, &fresh, &Answer::Ok { remaining: 1 }, now + 3).unwrap();
}
