//! Signal Relay's Discord REST layer, in plain Rust with no runtime: it builds for
//! `wasm32-unknown-unknown` (the worker) and natively (the tests).
//!
//! # Design
//!
//! Talking to Discord is split into pieces that each do one thing and never block:
//!
//! - [`requests`]: one typed value per call we make (`ExecuteWebhook`, `GetGuildMembers`,
//!   `AddMemberRole` ...). Each validates what we control (content ≤ 2,000 characters, ≤ 10
//!   embeds and ≤ 6,000 embed characters, webhook names ...) and becomes a transport-neutral
//!   [`Request`]: method, path with query, the [`RouteKey`] rate limits are bucketed by,
//!   body (JSON, form, or multipart), extra headers (`X-Audit-Log-Reason`), the kind of
//!   authentication, and whether it counts against the bot token's global limit. Responses
//!   decode into `twilight-model` types, so ids stay `Id<ChannelMarker>` and friends.
//! - [`multipart`]: `payload_json` + `files[n]` with a boundary passed in.
//! - [`oauth`]: the authorize URL, the code exchange, and `users/@me` with a user's token.
//! - [`client`]: one send end to end (build, acquire, send, observe, classify, decode) for a
//!   caller that owns both the limiter and a transport.
//! - [`gate`]: the same send split across the worker (which fetches) and the rate-limit
//!   Durable Object (which owns the limiter): the object's state and counters, and how the
//!   two halves' answers become one [`gate::SendError`] for the caller.
//! - [`ratelimit`]: the state machine fed `now_ms` and response headers: buckets, the global
//!   limit, 429 handling, the invalid-request budget, bans and the 401 stop. It is
//!   serialisable and bounded, made to be owned by a Durable Object.
//! - [`error`]: one vocabulary ([`DiscordError`] with an [`ErrorKind`] and a stable
//!   `error_code`) and [`error::classify`], which says what a response means: `Ok`,
//!   `RetryAt`, `Transient` (jittered backoff, randomness injected) or `Permanent` with
//!   Discord's code.
//!
//! # Where the runtime plugs in
//!
//! The worker implements [`transport::Transport`]: it turns a [`Request`] into a `fetch` to
//! `DISCORD_API_BASE` + `path` (configurable, so tests and the demo use the fake Discord and
//! production can go through an egress proxy), adding `Authorization` from
//! [`requests::Auth::header_value`] with the bot token only it holds, and a random multipart
//! boundary. The rate-limit Durable Object owns a [`RateLimiter`]; a send is:
//!
//! 1. `request = endpoint.request()?` (nothing is sent if this fails);
//! 2. ask the object `acquire(request.rate_key(), now)`: `Go(permit)`, or `NotBefore(t)`
//!    (reschedule the job to `t` with an alarm, never sleep), or `Stopped`;
//! 3. send, aborting by `permit.deadline_ms`;
//! 4. report `observe(permit, Feedback::Response(ResponseMeta::from_response(&r)), now)` (or
//!    `Feedback::NoResponse`) to the object;
//! 5. `classify(&r, ..)`: decode the `Ok`, reschedule a `RetryAt`/`Transient`, record a
//!    `Permanent` for the operator.
//!
//! Clocks are always arguments (`now_ms`), randomness too (`jitter`, the boundary), so every
//! rule is unit-tested natively.

pub mod cdn;
pub mod client;
pub mod error;
pub mod gate;
pub mod multipart;
pub mod oauth;
pub mod ratelimit;
pub mod requests;
pub mod transport;

pub use error::{classify, DiscordError, ErrorKind, Outcome};
pub use ratelimit::{Acquire, Feedback, Permit, RateLimiter, ResponseMeta};
pub use requests::{Endpoint, Request, RouteKey};
pub use transport::{Response, Transport};

/// Discord's REST API base; configurable per deployment (`DISCORD_API_BASE`).
pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10";
