//! One send, start to end: build, acquire, send, observe, classify, decode. For a caller that
//! owns both the [`RateLimiter`] and a [`Transport`] (the rate-limit Durable Object doing the
//! fetch itself). A caller that splits them (the worker fetches, the object limits) runs the
//! same steps across the two, as the crate documentation describes.
//!
//! It never waits: a busy bucket comes back as an error with `retry_at_ms`, for the caller to
//! reschedule.

use std::borrow::Cow;

use crate::error::{
    classify, classify_no_response, Backoff, ClassifyContext, DiscordError, ErrorKind,
};
use crate::ratelimit::{Acquire, Feedback, RateLimiter, ResponseMeta, WaitReason};
use crate::requests::Endpoint;
use crate::transport::{Transport, TransportError};

/// Per-attempt inputs: the clock, the retry count and the jitter source, all injected.
pub struct Attempt<'a> {
    pub now_ms: &'a dyn Fn() -> i64,
    /// Retries of this job so far (for the backoff of a transient failure).
    pub attempt: u32,
    /// A uniformly random `u32`.
    pub jitter: u32,
    pub backoff: Backoff,
}

fn waiting(at_ms: i64, reason: WaitReason) -> DiscordError {
    let (kind, code, message) = match reason {
        WaitReason::Banned => (
            ErrorKind::Banned,
            "discord_banned",
            "Discord traffic is paused after a ban page",
        ),
        WaitReason::InvalidBudget => (
            ErrorKind::RateLimited,
            "discord_invalid_request_budget",
            "too many invalid requests lately: Discord traffic is paused",
        ),
        _ => (
            ErrorKind::RateLimited,
            "discord_rate_limited",
            "no rate-limit slot free now",
        ),
    };
    let mut e = DiscordError::internal(message);
    e.kind = kind;
    e.error_code = Cow::Borrowed(code);
    e.retry_at_ms = Some(at_ms);
    e
}

/// Sends `endpoint` once under `limiter`, through `transport`.
pub async fn send<E: Endpoint, T: Transport>(
    endpoint: &E,
    limiter: &mut RateLimiter,
    transport: &T,
    attempt: &Attempt<'_>,
) -> Result<E::Output, DiscordError> {
    let request = endpoint.request()?;
    let permit = match limiter.acquire(&request.rate_key(), (attempt.now_ms)()) {
        Acquire::Go(permit) => permit,
        Acquire::NotBefore { at_ms, reason } => return Err(waiting(at_ms, reason)),
        Acquire::Stopped => {
            let mut e = DiscordError::internal(
                "Discord refused the bot token; requests with it are stopped until an operator resets",
            );
            e.kind = ErrorKind::Unauthorized;
            e.error_code = Cow::Borrowed("discord_bot_token_stopped");
            return Err(e);
        }
    };
    let result = transport.send(&request).await;
    let now = (attempt.now_ms)();
    let ctx = ClassifyContext {
        now_ms: now,
        attempt: attempt.attempt,
        jitter: attempt.jitter,
        backoff: attempt.backoff,
    };
    match result {
        Ok(response) => {
            let meta = ResponseMeta::from_response(&response);
            limiter.observe(&permit, &Feedback::Response(meta), now);
            classify(&response, &ctx).into_result()?;
            E::decode(&response)
        }
        Err(failure) => {
            limiter.observe(&permit, &Feedback::NoResponse, now);
            let mut e = classify_no_response(&ctx)
                .into_result()
                .err()
                .unwrap_or_else(|| DiscordError::internal("no response"));
            e.message = match failure {
                TransportError::Timeout => {
                    String::from("no response from Discord before the deadline")
                }
                TransportError::Network(m) => format!("request to Discord failed: {m}"),
            };
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::{ExecuteWebhook, GetUser, RemoveMemberRole};
    use crate::transport::Response;
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    use twilight_model::id::Id;

    /// Answers from a script, recording what was sent.
    struct Scripted {
        answers: RefCell<VecDeque<Result<Response, TransportError>>>,
        sent: RefCell<Vec<String>>,
    }

    impl Transport for Scripted {
        async fn send(&self, request: &crate::Request) -> Result<Response, TransportError> {
            self.sent
                .borrow_mut()
                .push(format!("{} {}", request.method, request.log_path()));
            self.answers
                .borrow_mut()
                .pop_front()
                .unwrap_or(Err(TransportError::Timeout))
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    fn answer(
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Response, TransportError> {
        Ok(Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        })
    }

    const USER: &str =
        r#"{"id":"80351110224678912","username":"nelly","discriminator":"0","avatar":null}"#;

    #[test]
    fn a_send_learns_the_bucket_and_decodes() {
        let t = Scripted {
            answers: RefCell::new(VecDeque::from([answer(
                200,
                &[
                    ("X-RateLimit-Bucket", "u"),
                    ("X-RateLimit-Limit", "1"),
                    ("X-RateLimit-Remaining", "0"),
                    ("X-RateLimit-Reset-After", "1"),
                ],
                USER,
            )])),
            sent: RefCell::new(vec![]),
        };
        let mut rl = RateLimiter::default();
        let clock = || 1_000;
        let at = Attempt {
            now_ms: &clock,
            attempt: 0,
            jitter: 0,
            backoff: Backoff::default(),
        };
        let user = block_on(send(
            &GetUser {
                user_id: Id::new(80351110224678912),
            },
            &mut rl,
            &t,
            &at,
        ))
        .unwrap();
        assert_eq!(user.name, "nelly");
        // The bucket is full: the next call is refused locally, with the time to come back.
        let err = block_on(send(
            &GetUser {
                user_id: Id::new(1),
            },
            &mut rl,
            &t,
            &at,
        ))
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::RateLimited);
        assert_eq!(err.retry_at_ms, Some(2_000));
        assert_eq!(
            t.sent.borrow().len(),
            1,
            "nothing sent while the bucket is full"
        );
    }

    #[test]
    fn failures_come_back_classified() {
        let t = Scripted {
            answers: RefCell::new(VecDeque::from([
                answer(
                    403,
                    &[("content-type", "application/json")],
                    r#"{"message":"Missing Permissions","code":50013}"#,
                ),
                answer(503, &[], "upstream"),
                Err(TransportError::Network("connection reset".into())),
                answer(401, &[], r#"{"message":"401: Unauthorized","code":0}"#),
            ])),
            sent: RefCell::new(vec![]),
        };
        let mut rl = RateLimiter::default();
        let clock = || 0;
        let at = Attempt {
            now_ms: &clock,
            attempt: 0,
            jitter: 0,
            backoff: Backoff::default(),
        };
        let role = |u| RemoveMemberRole {
            guild_id: Id::new(1),
            user_id: Id::new(u),
            role_id: Id::new(3),
            reason: None,
        };
        let e = block_on(send(&role(1), &mut rl, &t, &at)).unwrap_err();
        assert_eq!(
            (e.kind, e.discord_code),
            (ErrorKind::Permanent, Some(50013))
        );
        // An answer without rate-limit headers used no slot: the same route goes on at once.
        let other = |u| RemoveMemberRole {
            guild_id: Id::new(1),
            user_id: Id::new(u),
            role_id: Id::new(3),
            reason: None,
        };
        let e = block_on(send(&other(2), &mut rl, &t, &at)).unwrap_err();
        assert_eq!((e.kind, e.status), (ErrorKind::Transient, Some(503)));
        let e = block_on(send(&other(3), &mut rl, &t, &at)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
        assert!(e.message.contains("connection reset"));
        // No answer at all: that unknown bucket waits out the window the request may have
        // opened, so the next call is refused locally; another guild's bucket is free.
        let e = block_on(send(&other(4), &mut rl, &t, &at)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        let guild2 = RemoveMemberRole {
            guild_id: Id::new(2),
            ..other(4)
        };
        let e = block_on(send(&guild2, &mut rl, &t, &at)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        let e = block_on(send(&other(5), &mut rl, &t, &at)).unwrap_err();
        assert_eq!(e.error_code, "discord_bot_token_stopped");
        assert_eq!(t.sent.borrow().len(), 4);
    }

    #[test]
    fn invalid_requests_are_never_sent() {
        let t = Scripted {
            answers: RefCell::new(VecDeque::new()),
            sent: RefCell::new(vec![]),
        };
        let mut rl = RateLimiter::default();
        let clock = || 0;
        let at = Attempt {
            now_ms: &clock,
            attempt: 0,
            jitter: 0,
            backoff: Backoff::default(),
        };
        let mut e = ExecuteWebhook::new(Id::new(1), "tok");
        e.content = Some("x".repeat(2_001));
        let err = block_on(send(&e, &mut rl, &t, &at)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert!(t.sent.borrow().is_empty());
        assert_eq!(rl.status(0).routes, 0, "no slot was taken either");
    }
}
