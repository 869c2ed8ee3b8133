//! Jobs held while a guild is over its limit. Order is kept by construction: once anything is
//! held, every later job queues behind it until the queue is released, even one the gate would
//! let through — otherwise a new signal would overtake older held ones.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldPolicy {
    /// Jobs older than this when they would be delivered are dropped as
    /// `expired_while_paused`. Default 24 h.
    pub max_age_ms: i64,
}

impl Default for HoldPolicy {
    fn default() -> Self {
        HoldPolicy {
            max_age_ms: 24 * 3_600_000,
        }
    }
}

/// The code a dropped job is recorded with.
pub const EXPIRED_WHILE_PAUSED: &str = "expired_while_paused";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held<J> {
    pub job: J,
    /// When the job was created (its age is measured from here, not from when it was held).
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldQueue<J> {
    items: VecDeque<Held<J>>,
    /// Jobs dropped as `expired_while_paused`, ever.
    pub expired_total: u64,
}

impl<J> Default for HeldQueue<J> {
    fn default() -> Self {
        HeldQueue {
            items: VecDeque::new(),
            expired_total: 0,
        }
    }
}

/// What to do with jobs leaving the queue, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released<J> {
    pub deliver: Vec<J>,
    pub expired: Vec<J>,
}

impl<J> Default for Released<J> {
    fn default() -> Self {
        Released {
            deliver: Vec::new(),
            expired: Vec::new(),
        }
    }
}

impl<J> HeldQueue<J> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Held<J>> {
        self.items.iter()
    }

    pub fn oldest_created_at_ms(&self) -> Option<i64> {
        self.items.front().map(|h| h.created_at_ms)
    }

    fn expired(h: &Held<J>, now_ms: i64, policy: &HoldPolicy) -> bool {
        now_ms.saturating_sub(h.created_at_ms) > policy.max_age_ms
    }

    /// A new job with the gate's `deliver` decision. Delivering releases the queue first, so
    /// the new job leaves after every older one.
    pub fn offer(
        &mut self,
        job: J,
        created_at_ms: i64,
        deliver: bool,
        now_ms: i64,
        policy: &HoldPolicy,
    ) -> Released<J> {
        if deliver {
            let mut out = self.release(now_ms, policy);
            let held = Held { job, created_at_ms };
            if Self::expired(&held, now_ms, policy) {
                self.expired_total += 1;
                out.expired.push(held.job);
            } else {
                out.deliver.push(held.job);
            }
            out
        } else {
            self.items.push_back(Held { job, created_at_ms });
            Released::default()
        }
    }

    /// Back under the limit: everything leaves in order, the too-old as expired.
    pub fn release(&mut self, now_ms: i64, policy: &HoldPolicy) -> Released<J> {
        let mut out = Released::default();
        for h in self.items.drain(..) {
            if Self::expired(&h, now_ms, policy) {
                self.expired_total += 1;
                out.expired.push(h.job);
            } else {
                out.deliver.push(h.job);
            }
        }
        out
    }

    /// Still over: drops what has grown too old (so a long pause does not grow storage without
    /// bound) and keeps the rest in order.
    pub fn sweep(&mut self, now_ms: i64, policy: &HoldPolicy) -> Vec<J> {
        let mut expired = Vec::new();
        let mut kept = VecDeque::with_capacity(self.items.len());
        for h in self.items.drain(..) {
            if Self::expired(&h, now_ms, policy) {
                expired.push(h.job);
            } else {
                kept.push_back(h);
            }
        }
        self.expired_total += expired.len() as u64;
        self.items = kept;
        expired
    }

    /// When [`sweep`](Self::sweep) next has something to drop.
    pub fn next_expiry_ms(&self, policy: &HoldPolicy) -> Option<i64> {
        self.items
            .iter()
            .map(|h| {
                h.created_at_ms
                    .saturating_add(policy.max_age_ms)
                    .saturating_add(1)
            })
            .min()
    }
}
