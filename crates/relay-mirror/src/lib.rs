//! Signal Relay's mirroring domain, in plain Rust with no runtime: it builds natively (the
//! tests) and for `wasm32-unknown-unknown` (the worker), and knows nothing of Durable Objects,
//! D1, R2 or HTTP. The runtime is a thin shell around it.
//!
//! # Pieces
//!
//! - [`rules`]: a mapping's `filters_json` and `transform_json` as typed structs, parsed with
//!   every problem named by path (`transform_json.replacements[2].pattern`) and normalised
//!   into the one form that is stored. The admin API validates through
//!   [`rules::normalise_filters`] / [`rules::normalise_transform`]; the runtime loads stored
//!   rules with [`rules::MappingRules::from_stored`].
//! - [`render`]: a converged [`relay_core::convergence::SignalView`] and a mapping's rules
//!   become what one target receives ([`render::render`]): mentions rewritten for the target
//!   guild, filters and replacements applied, the author's name made acceptable to webhooks,
//!   the text split into parts of at most 2,000 characters on line or word boundaries, source
//!   embeds sanitised and packed (at most 10 and 6,000 characters per message), files after
//!   the text (at most 10 per message), the `embed` style's card, and `allowed_mentions` that
//!   allow only the role ping, only on a first post. A message with nothing left is a
//!   [`render::Skip`] naming the rule, never an empty post.
//! - [`jobs`]: one [`jobs::TargetQueue`] per target channel: the FIFO of jobs (one per signal
//!   change), coalescing, cancellation of creates by early deletes, leases that expire and are
//!   reclaimed, jittered backoff, rescheduling to a rate limit's time, dead letters with the
//!   reason and Discord's code, requeue, and the exactly-once bookkeeping (the attempt is
//!   recorded before each call; a post in doubt is looked for before it is made again).
//! - [`map`]: the persistent source → mirror map of a target (the message id of every part,
//!   the files uploaded with it), so edits patch in place without re-sending files, deletes
//!   remove every part, and retention never drops the map of a live signal.
//! - [`text`]: character counts, splitting, link detection, bounded replacement.
//!
//! # How the runtime plugs in
//!
//! **Who owns what.** The tenant Durable Object is the single writer of its signals (the
//! converged `MessageState`s) and owns one [`jobs::TargetQueue`] per mapped target channel,
//! stored in its own storage (the queue, its dead letters and its map serialise with serde;
//! a deployment may keep the map's records under per-message keys). The webhook of each target
//! channel and the authors' avatar URLs are caches the object keeps beside the queues; the
//! rate-limit state belongs to the platform layer (`relay-discord`'s limiter object).
//! Attachments live in the `MEDIA` bucket, fetched once when the signal lands; the object
//! passes our signed media URL for files over the upload limit in
//! [`render::TargetContext::media_links`].
//!
//! **On commit.** For each mapping of the signal's source channel, when the connector's
//! `forward_enabled` is on, the object calls
//! `queue.enqueue(message_id, ChangeKind::from_change(change)?, now)` and then dispatches at
//! once (in the same request, or an alarm at `now`): no cron tick is waited for.
//!
//! **Dispatch** (the same code in the request and in `alarm()`), per queue:
//!
//! 1. `claim(now, LEASE_MS)`: the head job, leased, or `None` (nothing due; the head waits for
//!    a retry time or for another invocation's lease). Persist.
//! 2. Load the message's view and the mapping's rules; build the [`jobs::Desired`]: `Absent`
//!    when deleted, otherwise [`render::render`] → `Parts` or `Skipped`.
//! 3. `plan(&claim, desired, &poster, now)`:
//!    - `Action::Send(step)`: **persist first** (the attempt is now on record), then make the
//!      call through the Discord facade — `send(endpoint) -> Result<Output, SendError>` —
//!      building the endpoint from the step: `Post` → execute the webhook with `?wait=true`
//!      (or, for the bot's card, create a message with `nonce` + `enforce_nonce: true`) with
//!      the part's content, embeds, the step's files uploaded from `MEDIA`, the sanitised
//!      `username`, `avatar_url` and the step's `allowed_mentions`; `Edit` → edit the message
//!      with `attachments` listing the step's `keep` plus the new uploads and
//!      `allowed_mentions` again; `Delete` → delete it. Map the answer to a
//!      [`jobs::SendResult`]: `Ok` → `Posted{message_id, uploaded}` / `Edited{uploaded}` /
//!      `Deleted`; `SendError::NotBefore(t)` → `NotBefore{at_ms: t}`; `Stopped` → `Stopped`;
//!      `Transient` (5xx, timeout, no answer) → `Transient`; `Permanent` →
//!      `Permanent{error_code, reason, discord_code}`. Call `report(&claim, result, now,
//!      jitter)` with `jitter` from the runtime's RNG, persist, and act on [`jobs::Next`]:
//!      `Continue` → plan again; `RetryAt(t)` → set the alarm to `t`; `RecreateWebhook` →
//!      create the channel's webhook again (10015), then claim again; `DeadLettered` → record
//!      it for the operator, go on with the next job.
//!    - `Action::Lookup(l)`: a post is in doubt (a crash between Discord's answer and our
//!      commit, or a timeout). List the channel's messages with
//!      `GET /channels/{id}/messages?after={l.after_id or snowflake_at(l.after_ms)}&limit=100`
//!      (the bot needs READ_MESSAGE_HISTORY), reduce them to [`jobs::Candidate`]s and call
//!      `report_lookup(&claim, &candidates, complete, now)` (`complete`: fewer than the limit
//!      came back). Persist, plan again.
//!    - `Action::Finished(_)`: the job is gone; `Skipped` is recorded for the operator. Claim
//!      the next job.
//! 4. Finally set the alarm to `next_wake_ms()` of each queue (a retry time or a lease's
//!    expiry), so a crashed invocation's lease is reclaimed without any sweep.
//!
//! Queues of different targets are independent: a missing permission in one target
//! dead-letters there and never delays another. The scheduled handler only sweeps: it wakes
//! objects whose queues have due work. `LEASE_MS` must exceed the facade's per-call deadline,
//! so a lease never expires while its call may still land.
//!
//! **Admin.** `requeue(job_id, now)` / `requeue_all(now)` behind the admin API;
//! `depth()`, `retrying()` and `dead` for the mirroring panel;
//! `retain(|m| signal_is_kept(m))` in the object's retention pass.
//!
//! Clocks (`now_ms`) and randomness (`jitter`) are always arguments, so every rule here is
//! tested natively, including a property test over random interleavings of source changes,
//! crashes, failures, rate limits and lease expiries.

pub mod jobs;
pub mod map;
pub mod render;
pub mod rules;
pub mod text;
