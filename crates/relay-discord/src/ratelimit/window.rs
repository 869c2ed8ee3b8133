//! Counting over time: an exact sliding log for the global limit (at most `limit` entries) and
//! a slotted sliding window for invalid requests (a fixed number of slots however many
//! requests, so the persisted state stays small).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// At most `limit` requests in any `window_ms`, counted by when they may have reached Discord.
///
/// Discord counts a request when it arrives, which we never see: a request granted at `g`
/// and answered at `r` arrived somewhere in `[g, r]`. So a request counts from its grant
/// until `r + window_ms`, and one still unanswered counts until it is answered (or its
/// deadline passed, by which the caller abandoned it). Counting from the grant alone lets a
/// slow request (a cold connection) share Discord's window with one granted a window later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SlidingLog {
    /// Answer times of answered requests, ascending. (States saved before answers were
    /// tracked hold grant times here, which only errs the old way for one window.)
    times: VecDeque<i64>,
    /// Unanswered requests: permit id and deadline.
    #[serde(default)]
    pending: Vec<(u64, i64)>,
}

impl SlidingLog {
    fn insert_time(&mut self, t: i64) {
        let i = self.times.partition_point(|x| *x <= t);
        self.times.insert(i, t);
    }

    fn trim(&mut self, now: i64, window_ms: i64) {
        let mut expired = Vec::new();
        self.pending.retain(|(_, deadline)| {
            let out = *deadline <= now;
            if out {
                expired.push(*deadline);
            }
            !out
        });
        for t in expired {
            self.insert_time(t);
        }
        while self
            .times
            .front()
            .is_some_and(|t| t.saturating_add(window_ms) <= now)
        {
            self.times.pop_front();
        }
    }

    fn len(&self) -> usize {
        self.times.len() + self.pending.len()
    }

    /// `None` when one more request fits now, otherwise the earliest time it may.
    pub(crate) fn blocked_until(&mut self, now: i64, limit: u32, window_ms: i64) -> Option<i64> {
        self.trim(now, window_ms);
        if (self.len() as u64) < limit as u64 {
            return None;
        }
        // Answered requests leave first, in order; an unanswered one leaves a window after its
        // answer, which is at the earliest now.
        let excess = self.len() - (limit as usize).min(self.len());
        Some(match self.times.get(excess) {
            Some(t) => t.saturating_add(window_ms),
            None => now.saturating_add(window_ms),
        })
    }

    /// A request granted now, to be answered by `deadline_ms`.
    pub(crate) fn record(
        &mut self,
        id: u64,
        deadline_ms: i64,
        now: i64,
        limit: u32,
        window_ms: i64,
    ) {
        self.trim(now, window_ms);
        self.pending.push((id, deadline_ms.max(now)));
        // Bounded state: only a lowered limit can leave more than `limit` entries.
        while self.len() > (limit as usize).max(1) {
            if self.times.pop_front().is_none() {
                self.pending.remove(0);
            }
        }
    }

    /// The answer to request `id` (or the caller's giving up on it) came back at `now`.
    pub(crate) fn answered(&mut self, id: u64, now: i64) {
        if let Some(i) = self.pending.iter().position(|(p, _)| *p == id) {
            self.pending.remove(i);
            self.insert_time(now);
        }
    }

    pub(crate) fn count(&mut self, now: i64, window_ms: i64) -> u32 {
        self.trim(now, window_ms);
        self.len() as u32
    }
}

/// Events per slot over the last `window_ms`, in [`SLOTS`] slots. An event is counted for up
/// to one slot longer than the window: the error is on the cautious side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SlottedCounter {
    slots: VecDeque<(i64, u32)>,
}

pub(crate) const SLOTS: i64 = 60;

impl SlottedCounter {
    fn slot_ms(window_ms: i64) -> i64 {
        (window_ms / SLOTS).max(1)
    }

    fn trim(&mut self, now: i64, window_ms: i64) {
        let slot = Self::slot_ms(window_ms);
        while self
            .slots
            .front()
            .is_some_and(|(start, _)| start.saturating_add(slot + window_ms) <= now)
        {
            self.slots.pop_front();
        }
    }

    pub(crate) fn record(&mut self, now: i64, window_ms: i64) {
        self.trim(now, window_ms);
        let slot = Self::slot_ms(window_ms);
        let start = now.saturating_sub(now.rem_euclid(slot));
        match self.slots.back_mut() {
            Some((s, n)) if *s == start => *n = n.saturating_add(1),
            _ => self.slots.push_back((start, 1)),
        }
        while self.slots.len() as i64 > SLOTS + 1 {
            self.slots.pop_front();
        }
    }

    pub(crate) fn count(&mut self, now: i64, window_ms: i64) -> u32 {
        self.trim(now, window_ms);
        self.slots
            .iter()
            .fold(0u32, |acc, (_, n)| acc.saturating_add(*n))
    }

    /// When the count drops below `budget`, if it is at or above it now.
    pub(crate) fn below_at(&mut self, now: i64, window_ms: i64, budget: u32) -> Option<i64> {
        let mut count = self.count(now, window_ms);
        if count < budget {
            return None;
        }
        let slot = Self::slot_ms(window_ms);
        for (start, n) in &self.slots {
            count = count.saturating_sub(*n);
            if count < budget {
                return Some(start.saturating_add(slot + window_ms));
            }
        }
        Some(now.saturating_add(window_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_log_allows_limit_per_window() {
        let mut log = SlidingLog::default();
        for t in 0..3 {
            assert_eq!(log.blocked_until(t, 3, 1000), None);
            log.record(t as u64, 30_000, t, 3, 1000);
            log.answered(t as u64, t);
        }
        assert_eq!(log.blocked_until(500, 3, 1000), Some(1000));
        assert_eq!(log.blocked_until(1000, 3, 1000), None);
        assert_eq!(log.count(1000, 1000), 2);
    }

    #[test]
    fn sliding_log_counts_a_request_until_a_window_after_its_answer() {
        let mut log = SlidingLog::default();
        log.record(1, 5_000, 0, 2, 1000);
        log.record(2, 5_000, 10, 2, 1000);
        // Both unanswered: the earliest a slot can free is a window after an answer now.
        assert_eq!(log.blocked_until(2_000, 2, 1000), Some(3_000));
        log.answered(2, 2_100);
        assert_eq!(log.blocked_until(2_200, 2, 1000), Some(3_100));
        // The other is abandoned at its deadline: it may have arrived until then.
        assert_eq!(log.blocked_until(5_500, 2, 1000), None);
        assert_eq!(log.count(5_500, 1000), 1);
        assert_eq!(log.count(6_000, 1000), 0);
        // An answer for a request already settled changes nothing.
        log.answered(1, 6_000);
        assert_eq!(log.count(6_000, 1000), 0);
    }

    #[test]
    fn slotted_counter_is_bounded_and_cautious() {
        let mut c = SlottedCounter::default();
        let window = 600_000;
        for i in 0..10_000 {
            c.record(i * 100, window);
        }
        assert!(c.slots.len() as i64 <= SLOTS + 1);
        // Events at 0..999,900 ms: those of the last ten minutes (plus at most a slot) count.
        let n = c.count(999_900, window);
        assert!((6_000..=6_100).contains(&n), "{n}");
        let mut d = SlottedCounter::default();
        for _ in 0..5 {
            d.record(1_000, window);
        }
        assert_eq!(d.below_at(2_000, window, 6), None);
        assert_eq!(d.below_at(2_000, window, 5), Some(10_000 + window));
        assert_eq!(d.count(10_000 + window, window), 0);
    }
}
