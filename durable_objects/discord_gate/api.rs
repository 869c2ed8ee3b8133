//! The gate object's protocol: every path it serves, with the request and response types both
//! sides use. Callers reach it only through [`super::client::GateClient`]; the object decodes
//! the same types in its router.
//!
//! The hot path is two calls per Discord request: [`ACQUIRE`] before it, [`OBSERVE`] after —
//! or their batched forms, which the caller uses: the requests an isolate makes at the same
//! moment (a signal fanned out to fifty targets) share one [`ACQUIRE_MANY`] and one
//! [`OBSERVE_MANY`], answered item by item in order as if they had arrived one after another.
//! Both carry only what rate limiting needs (the route key without tokens, status and
//! rate-limit headers): no request or response body ever reaches the object.

use relay_discord::gate::{GateStatus, ResetOutcome};
use relay_discord::ratelimit::{Feedback, Permit};
use relay_discord::requests::RateKey;
use serde::{Deserialize, Serialize};

/// `POST`: a slot for one request (the unbatched form, still served for an isolate of the
/// previous deploy during a rollout). Answers [`relay_discord::Acquire`] (`Go` with a permit,
/// `NotBefore`, `Stopped`), by the object's clock.
pub const ACQUIRE: &str = "/acquire";
/// `POST`: what happened to a request sent under a permit. Answers
/// [`relay_discord::gate::Observed`].
pub const OBSERVE: &str = "/observe";
/// `POST` [`AcquireMany`]: answers a `Vec` of [`relay_discord::Acquire`], one per key, in order.
pub const ACQUIRE_MANY: &str = "/acquire-many";
/// `POST` [`ObserveMany`]: answers a `Vec` of [`relay_discord::gate::Observed`], in order.
pub const OBSERVE_MANY: &str = "/observe-many";
/// `GET`: [`GateStatus`].
pub const STATUS: &str = "/status";
/// `POST`: the operator's reset. Answers [`Reset`].
pub const RESET: &str = "/reset";

#[derive(Debug, Serialize, Deserialize)]
pub struct AcquireBody {
    pub key: RateKey,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ObserveBody {
    pub permit: Permit,
    pub feedback: Feedback,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AcquireMany {
    pub keys: Vec<RateKey>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ObserveMany {
    pub observed: Vec<ObserveBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reset {
    pub reset: ResetOutcome,
    pub gate: GateStatus,
}
