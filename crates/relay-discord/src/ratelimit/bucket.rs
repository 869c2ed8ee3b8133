//! One bucket's accounting.
//!
//! Discord counts requests in fixed windows: a window opens with the first request that
//! arrives after the previous one closed, lasts a bucket-specific time, and admits `limit`
//! requests. We never see when requests arrive, only when we granted them and when their
//! answers came back, so the bucket keeps a conservative picture:
//!
//! - `used` bounds the requests that may count in the window Discord has open. It only grows
//!   within an epoch (a grant adds one; an answer can raise it to what Discord reports plus
//!   what is still in flight).
//! - `end_ms` is "now + Reset-After" of the answers seen this epoch, the latest of them. Since
//!   an answer is seen after Discord sent it, that is never earlier than the window's real end.
//! - At `end_ms` a new epoch starts with `used` = the requests still unanswered (in flight, or
//!   timed out: "ghosts"), since those may yet land in the new window.
//!
//! - An answer from a *later* window (its end about a window past `end_ms`: Discord opened a
//!   new window while ours, read late, was still open) is kept apart as `next`, counted by
//!   every grant from then on, and becomes the epoch at `end_ms` with its own count. Folding
//!   it into the epoch would carry the old window's count into the new one and keep pushing
//!   `end_ms` out under steady traffic, until a sender at half the rate was held.
//!
//! Why that is safe: if a request landing in some window W was granted before a rollover and
//! answered before it, its answer pushed `end_ms` past W's end, so the rollover could not have
//! happened while W was open. So every request of W granted before the last rollover inside W
//! was unanswered at that rollover and is carried into the epoch's `used`, and every request
//! granted after it is counted by the grant. A rollover into `next` starts the epoch with
//! `next`'s count, which bounds its window's requests the same way (what its answers reported,
//! plus what was unanswered when they came, plus every grant since). Hence W admits at most
//! `limit`. The property test
//! in `tests/ratelimit_props.rs` checks this against a simulated Discord with arbitrary
//! network delays.
//!
//! A request that got no answer (a timeout) is a ghost: it may have reached Discord, at the
//! latest by its deadline. A ghost is dropped once an answer arrives for a request granted
//! after it died (which therefore landed in the ghost's window or a later one, and whose
//! answer moved `end_ms` past it), or after `ghost_ttl_ms`, which must exceed the longest
//! bucket window. An answer without any rate-limit header frees its slot instead: Discord's
//! limiter puts its headers on what it counts, so such an answer (a 502 from the edge) came
//! from in front of it. A global 429 frees its slot too: the global limit refused it before
//! the bucket counted it.

use serde::{Deserialize, Serialize};

use super::config::{Config, WaitReason};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Flight {
    pub(crate) id: u64,
    pub(crate) granted_at_ms: i64,
    pub(crate) deadline_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Bucket {
    /// `X-RateLimit-Limit`, once an answer told us. Unknown: one request at a time.
    pub(crate) limit: Option<u32>,
    pub(crate) end_ms: Option<i64>,
    pub(crate) used: u32,
    pub(crate) in_flight: Vec<Flight>,
    /// Death times of requests that timed out.
    pub(crate) ghosts: Vec<i64>,
    /// Latest grant time among requests whose answers carried this bucket's headers.
    pub(crate) observed_grant_ms: Option<i64>,
    /// Longest Reset-After seen: roughly the window length.
    pub(crate) window_ms: i64,
    /// A 429's Retry-After for this bucket.
    pub(crate) retry_until_ms: i64,
    pub(crate) last_used_ms: i64,
    /// The window Discord opened after the one `used` counts, once an answer showed it (see
    /// [`Bucket::learn`]); it becomes the epoch at `end_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<NextWindow>,
}

/// A later window than the epoch's: its end as answers showed it, and a bound on its count
/// (what they reported plus what was unanswered then, plus every grant since).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NextWindow {
    pub(crate) end_ms: i64,
    pub(crate) used: u32,
}

/// Ghosts kept at most; older ones are dropped first (bounded state).
const MAX_GHOSTS: usize = 64;

impl Bucket {
    pub(crate) fn new(now: i64) -> Self {
        Bucket {
            limit: None,
            end_ms: None,
            used: 0,
            in_flight: Vec::new(),
            ghosts: Vec::new(),
            observed_grant_ms: None,
            window_ms: 0,
            retry_until_ms: i64::MIN,
            last_used_ms: now,
            next: None,
        }
    }

    fn unanswered(&self) -> u32 {
        (self.in_flight.len() + self.ghosts.len()) as u32
    }

    fn push_ghost(&mut self, died_at: i64) {
        self.ghosts.push(died_at);
        if self.ghosts.len() > MAX_GHOSTS {
            self.ghosts.remove(0);
        }
    }

    /// Expires flights past their deadline and starts a new epoch when the window is over.
    pub(crate) fn tick(&mut self, now: i64, cfg: &Config) {
        let mut expired = Vec::new();
        self.in_flight.retain(|f| {
            if f.deadline_ms <= now {
                expired.push(f.deadline_ms);
                false
            } else {
                true
            }
        });
        for died in expired {
            self.push_ghost(died);
        }
        self.ghosts
            .retain(|d| d.saturating_add(cfg.ghost_ttl_ms) > now);
        if self.end_ms.is_some_and(|e| now >= e) {
            if let Some(seen) = self.observed_grant_ms {
                self.ghosts.retain(|d| *d > seen);
            }
            match self.next.take() {
                // The later window becomes the epoch, with everything it may hold.
                Some(n) if n.end_ms > now => {
                    self.used = n.used.max(self.unanswered());
                    self.end_ms = Some(n.end_ms);
                }
                _ => {
                    self.used = self.unanswered();
                    self.end_ms = None;
                }
            }
        }
        // Only ghosts hold the window and nothing will answer: they cannot outlive their TTL.
        if self.end_ms.is_none()
            && self.in_flight.is_empty()
            && self.limit.is_some_and(|l| self.used >= l)
        {
            self.end_ms = Some(match self.ghosts.iter().max() {
                Some(d) => d.saturating_add(cfg.ghost_ttl_ms),
                None => now,
            });
            if self.ghosts.is_empty() {
                self.used = 0;
                self.end_ms = None;
            }
        }
    }

    /// Reserves a slot, or says until when none is free.
    pub(crate) fn try_acquire(
        &mut self,
        now: i64,
        id: u64,
        cfg: &Config,
    ) -> Result<Flight, (i64, WaitReason)> {
        self.tick(now, cfg);
        self.last_used_ms = now;
        if self.retry_until_ms > now {
            return Err((self.retry_until_ms, WaitReason::RetryAfter));
        }
        let free = match self.limit {
            // Unknown bucket: one request learns it; the others wait for its headers. A learner
            // that timed out may have opened a window of unknown limit (possibly 1), so the
            // next one waits until that window is surely over.
            None => self.in_flight.is_empty() && self.ghosts.is_empty(),
            Some(limit) => self.used < limit && self.next.as_ref().is_none_or(|n| n.used < limit),
        };
        if !free {
            let reason = if self.limit.is_none() {
                WaitReason::Learning
            } else {
                WaitReason::Bucket
            };
            let answer_due = self
                .in_flight
                .iter()
                .map(|f| f.deadline_ms)
                .min()
                .map(|d| d.min(now.saturating_add(cfg.poll_ms)));
            let ghosts_gone = self
                .ghosts
                .iter()
                .min()
                .map(|d| d.saturating_add(cfg.ghost_ttl_ms));
            let at = match (self.limit, self.end_ms) {
                (Some(_), Some(end)) => end,
                _ => answer_due
                    .or(ghosts_gone)
                    .unwrap_or(now.saturating_add(cfg.poll_ms)),
            };
            return Err((at.max(now.saturating_add(1)), reason));
        }
        let flight = Flight {
            id,
            granted_at_ms: now,
            deadline_ms: now.saturating_add(cfg.in_flight_timeout_ms.max(1)),
        };
        self.used = self.used.saturating_add(1);
        if let Some(n) = self.next.as_mut() {
            n.used = n.used.saturating_add(1);
        }
        self.in_flight.push(flight.clone());
        Ok(flight)
    }

    pub(crate) fn has_flight(&self, id: u64) -> bool {
        self.in_flight.iter().any(|f| f.id == id)
    }

    pub(crate) fn take_flight(&mut self, id: u64) -> Option<Flight> {
        let i = self.in_flight.iter().position(|f| f.id == id)?;
        Some(self.in_flight.remove(i))
    }

    /// The request is known not to have counted: its slot is free again. `used` counted it
    /// once, whichever way it was last raised, so one less is still an upper bound.
    pub(crate) fn release(&mut self, id: u64) {
        if self.take_flight(id).is_some() {
            self.used = self.used.saturating_sub(1);
            if let Some(n) = self.next.as_mut() {
                n.used = n.used.saturating_sub(1);
            }
        }
    }

    /// The request got no answer we can learn from: it may have counted, window unknown.
    pub(crate) fn ghost(&mut self, id: u64, now: i64) {
        if self.take_flight(id).is_some() {
            self.push_ghost(now);
        }
    }

    /// Moves another bucket's unanswered requests here (a route's provisional bucket, once
    /// Discord named the real one).
    pub(crate) fn absorb(&mut self, other: Bucket) {
        let moved = other.unanswered();
        self.in_flight.extend(other.in_flight);
        for g in other.ghosts {
            self.push_ghost(g);
        }
        self.used = self.used.saturating_add(moved);
        if let Some(n) = self.next.as_mut() {
            n.used = n.used.saturating_add(moved);
        }
    }

    /// An answer with complete bucket headers, for a request granted at `granted_at_ms`.
    pub(crate) fn learn(
        &mut self,
        limit: u32,
        remaining: u32,
        reset_after_ms: i64,
        granted_at_ms: i64,
        now: i64,
    ) {
        self.limit = Some(limit);
        let end = now.saturating_add(reset_after_ms.max(0));
        self.window_ms = self.window_ms.max(reset_after_ms);
        let bound = limit
            .saturating_sub(remaining)
            .saturating_add(self.unanswered());
        // An answer whose window ends about a window after the epoch's is from a later window
        // Discord already opened (our epoch ends after Discord's, by how late we read the
        // answers). Folded into the epoch, its count would add to the old window's and its
        // end would keep the epoch open under steady traffic until `used` reached the limit:
        // a sender at half the rate was held. It is tracked apart and becomes the epoch at
        // `end_ms`; grants count in both meanwhile.
        let later = self.window_ms > 0
            && self
                .end_ms
                .is_some_and(|e| end.saturating_sub(e) >= self.window_ms / 2);
        if later {
            let n = self.next.get_or_insert(NextWindow {
                end_ms: end,
                used: 0,
            });
            n.end_ms = n.end_ms.max(end);
            n.used = n.used.max(bound);
        } else {
            self.end_ms = Some(self.end_ms.map_or(end, |e| e.max(end)));
            self.used = self.used.max(bound);
        }
        self.observed_grant_ms = Some(
            self.observed_grant_ms
                .map_or(granted_at_ms, |g| g.max(granted_at_ms)),
        );
    }

    /// A 429 for this bucket: nothing until `until`, and the window counts as full.
    pub(crate) fn retry_after(&mut self, until: i64) {
        self.retry_until_ms = self.retry_until_ms.max(until);
        if let Some(limit) = self.limit {
            self.used = self.used.max(limit);
            self.end_ms = Some(self.end_ms.map_or(until, |e| e.max(until)));
            if let Some(n) = self.next.take() {
                // Whatever the later window held waits out the 429 with the epoch.
                self.end_ms = self.end_ms.map(|e| e.max(n.end_ms));
            }
        }
    }

    /// Safe to forget: nothing unanswered, no window or pause still running.
    pub(crate) fn is_idle(&self, now: i64) -> bool {
        self.in_flight.is_empty()
            && self.ghosts.is_empty()
            && self.retry_until_ms <= now
            && self.end_ms.is_none_or(|e| e <= now)
            && self.next.as_ref().is_none_or(|n| n.end_ms <= now)
    }

    pub(crate) fn in_flight_count(&self) -> usize {
        self.in_flight.len()
    }
}
