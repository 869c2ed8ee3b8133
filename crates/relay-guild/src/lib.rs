//! Signal Relay's rules for the guilds we act in, in plain Rust with no runtime (builds for
//! `wasm32-unknown-unknown` and natively): **seat enforcement** (issue 15) and **role sync**
//! (issue 14). Everything here takes plain inputs — twilight-model `Guild`/`Role`/`Member`/
//! `Channel` objects as `relay-discord` decodes them, or the small structs of [`access`] — and
//! returns decisions; clocks are `now_ms` arguments; every piece of state a Durable Object must
//! keep between requests or alarms is `Serialize + Deserialize`.
//!
//! # Modules
//!
//! - [`access`]: who can do what. [`access::GuildFacts`] (owner, roles) and
//!   [`access::ChannelAccess`] (a target's overwrites; a thread is judged by its parent) feed
//!   `twilight-util`'s `PermissionCalculator`: owner → all; @everyone | member roles;
//!   ADMINISTRATOR → all; @everyone overwrite, role overwrites OR-ed, member overwrite, each
//!   deny then allow.
//! - [`paging`]: [`paging::MemberCursor`] walks `GET /guilds/{id}/members?limit=1000&after=`
//!   one page per request; `after` is the numerically highest id seen; a short page ends it;
//!   repeats are skipped; a full page with nothing new is `member_paging_stalled`.
//! - [`seats`]: [`seats::SeatAudit`] (the incremental count), [`seats::plan_audit`] (the
//!   approximate-member-count short cut), [`seats::Snapshot`] (+ [`seats::FreshnessPolicy`],
//!   [`seats::SnapshotView`] for the console), [`seats::gate()`] (the table of issue 15 with the
//!   kill switch), [`seats::next_audit`] (cadence), [`seats::HeldQueue`] (ordered holding,
//!   `expired_while_paused`), [`seats::NoticeState`] and [`seats::notice_text`].
//! - [`roles`]: [`roles::TierRoleMap`] (tier → roles per tenant *and* guild),
//!   [`roles::evaluate`] (standing from entitlement history: grace for non-payment, immediate
//!   for dispute and revocation), [`roles::desired_for`] (lapse action: remove roles, kick,
//!   nothing), [`roles::converge`] (the diff against the member's roles and our
//!   [`roles::Ledger`]), [`roles::screen`] / [`roles::role_problem`] / [`roles::role_options`]
//!   (what the bot cannot manage), [`roles::calls`] + [`roles::audit_reason`] (the requests,
//!   each with `X-Audit-Log-Reason`), [`roles::record_outcome`] (only an accepted change moves
//!   the ledger), [`roles::relink`] / [`roles::unlink`], [`roles::Reconciliation`] (the drift
//!   pass).
//! - [`error`]: [`GuildError`] with a stable [`ErrorCode`] (`member_list_forbidden`,
//!   `role_above_bot` ...), and [`classify_call`] from `relay-discord`'s errors.
//!
//! # How the runtime plugs in
//!
//! Discord calls go through the platform layer's facade (`send(endpoint)` →
//! `Result<Output, SendError{NotBefore, Stopped, Permanent, Transient}>`); every endpoint used
//! here is a `relay_discord::requests` value, so rate limits, the invalid-request budget and
//! ban handling stay in one place. Nothing here sleeps or loops on the network: each step is
//! one call, then state is stored and an alarm set.
//!
//! ## Seat audits — the object that owns a tenant's customer guilds
//!
//! Built as `SeatObject` (`seats:<tenant>`, `durable_objects/seats/`) over
//! [`seats::GuildSeats`], the step machine of the steps below.
//!
//! One Durable Object per tenant owns, per customer guild, the
//! seat config (limit, mode), the [`seats::Snapshot`], the [`seats::NoticeState`] and an audit
//! in progress ([`seats::SeatAudit`], stored as JSON between alarms). Its alarm is the minimum
//! of [`seats::next_audit`] over its guilds (`None` for `off` or removed guilds: they never
//! re-queue). A due guild:
//!
//! 1. `GET /guilds/{id}?with_counts=true` → [`access::GuildFacts::from_guild`] and
//!    [`seats::plan_audit`]`(approximate_member_count, limit, shortcut)`. `WithinLimit(at_most)`
//!    → `Snapshot::record_count` with an upper bound (the console shows "≤ N"; it proves
//!    "within the limit" only — if the limit is later lowered below it the verdict is
//!    `Unknown` and the gate treats it as no snapshot until a full count).
//! 2. Otherwise `GET /channels/{target}` for each mapped target (and a thread's parent) →
//!    [`access::ChannelAccess::resolve`] → [`seats::SeatAudit::start`]`(guild, targets, now)`.
//! 3. Per request or alarm: `audit.next_request()` (a `GetGuildMembers`) → send →
//!    `audit.feed(&page)` → store the audit. `NotBefore(t)` → alarm at `t`. A 2,500-member
//!    guild is three requests; only the cursor and two counters are kept.
//! 4. `Done(count)` → `Snapshot::record_count(count, limit, audit.started_at_ms, now)` (a count
//!    is as old as its first page); then [`seats::NoticeState::due`] → post the notice
//!    ([`seats::notice_text`]) in each returned channel and `record_posted` each success; push
//!    the snapshot to the mirror dispatcher.
//! 5. A failure → [`classify_call`]: `Retry` keeps the audit and sets an alarm; `Fail(e)` drops
//!    the audit and `Snapshot::record_error(e)` (the last good count stays; a guild that never
//!    had one shows `member_list_forbidden`, no count, and the gate holds — never a zero).
//!
//! The snapshot and notice state live in that object's SQLite and are projected to D1 for the
//! console (used/limit, status, checked at, next check = `next_audit`, last error).
//!
//! ## The gate — the mirror dispatcher
//!
//! At dispatch the mirror queue's object (which owns job order) calls [`seats::gate()`] on its
//! local copy of the guild's snapshot — no round trip, no waiting for an audit. `audit_now` →
//! a fire-and-forget trigger to the guild object (`CadenceInput::triggered`); `would_hold` → a
//! shadow-mode record. The job then goes through [`seats::HeldQueue::offer`], which delivers
//! in order (a job the gate lets through waits behind older held ones); `release` when a
//! snapshot comes back under; `sweep` at [`seats::HeldQueue::next_expiry_ms`] while still
//! over. Held jobs are rows in that object's SQLite, in job order; the kill switch is a global
//! setting read at dispatch ([`seats::Mode::effective`]).
//!
//! ## Role sync — the tenant's reconciler
//!
//! One reconciler per tenant (the same `guilds:<tenant>` object, or its own) owns the
//! [`roles::Ledger`] per (guild, Discord user) in SQLite (single writer: a grant and a revoke
//! of one role never race), projected to D1 for the console (desired vs actual, last sync,
//! errors, history).
//!
//! - **At once** on link, unlink, relink or an entitlement change: [`roles::evaluate`] →
//!   [`roles::desired_for`] → `GET /guilds/{g}/members/{user}` (404 code 10007: not a member —
//!   `actual = None`) → [`roles::converge`] → [`roles::screen`] with the guild's facts and the
//!   bot's member object → [`roles::calls`] (grants first, each with [`roles::audit_reason`]) →
//!   `PUT`/`DELETE /guilds/{g}/members/{u}/roles/{r}` or `DELETE /guilds/{g}/members/{u}` →
//!   [`roles::record_outcome`] per answer. Screened-out changes and failures are stored as the
//!   member's role errors; the rest goes on. An alarm at `Evaluation::next_change_at_ms`
//!   re-runs the member when a grace period or a period ends.
//! - **Periodically** (drift): [`roles::Reconciliation`] over the member list, one page per
//!   request or alarm, `feed(page, linked)` where `linked` looks the user up among the tenant's
//!   linked accounts; each [`roles::MemberPlan`] goes through the same screen → calls →
//!   outcome path.
//! - After a relink, run the new account's plan first; when the old account's plan is done
//!   (or it is not a member) delete its ledger row.
//!
//! **How long drift can last.** Without a gateway connection we learn of a rejoin or an
//! admin's edit only from the pass. With a pass every `R` over a guild of `N` members, a
//! drifted member is corrected at most `R + P + C` after the drift, where `P` is the pass time
//! (`⌈N / 1000⌉` member-list requests, paced by that route's bucket) and `C` the time to send
//! the queued changes through the guild's role-change buckets. With `R` = 10 minutes and a few
//! thousand members `P` and `C` are seconds, so drift lasts at most about 10 minutes; an
//! entitlement change or a link is applied at once, not at the next pass.
//!
//! # The predecessor's bugs, made impossible
//!
//! | field lesson | here | test |
//! |---|---|---|
//! | gateway member lists timed out on big guilds | paged REST, one page per step, resumable state | `seats::counts_2500_members_exactly_across_pages_kept_in_storage_between_alarms`, `props::the_paged_count_equals_the_brute_force_count` |
//! | stale snapshot → block deadlocked mirroring | stale and under sends (and audits) | `seats::row_stale_and_under_sends_and_audits_never_blocks` |
//! | audits re-queued for ever, also for disabled or removed guilds | `next_audit` is `None` for `off`/removed whatever triggers | `seats::no_audit_ever_for_mode_off_or_a_removed_guild_even_when_triggered` |
//! | "notice posted" flag in memory, lost on restart | [`seats::NoticeState`] is serialisable state | `seats::the_notice_is_posted_once_per_channel_and_survives_a_restart` |
//! | tier roles resolved globally | [`roles::TierRoleMap`] has no lookup without tenant and guild | `roles::roles_are_per_tenant_and_per_guild_never_global` |
//! | a grant and a revoke of one role both queued | a [`roles::Plan`] maps each role to one change; sync is a diff, not a queue | `props::the_diff_converges_touches_only_our_roles_and_is_idempotent` |
//! | nothing re-granted roles after a rejoin; no drift reconciliation | [`roles::Reconciliation`] feeds the same diff | `roles::the_reconciliation_pass_catches_rejoins_and_removed_roles_and_leaves_others_alone` |
//!
//! # Judgement calls
//!
//! - Pending members (membership screening) and timed-out members count as seats: they can
//!   read. A private-thread target is judged by its parent (an upper bound).
//! - An expired count, or an upper bound above the limit, is "no snapshot yet" for the gate.
//! - The lapse action applies to every cause; the cause decides only the timing (grace for
//!   non-payment, none for dispute or revocation).
//! - A kick happens once per lapse; a member who comes back during the same lapse is not
//!   kicked again, but gets none of our roles.
//! - A desired role the member already holds by hand is not adopted into the ledger, so it is
//!   never removed by us later.

pub mod access;
pub mod error;
pub mod paging;
pub mod roles;
pub mod seats;

pub use error::{classify_call, Call, CallFailure, ErrorCode, GuildError};
