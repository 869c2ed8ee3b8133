//! Counting over time: an exact sliding log for the global limit (at most `limit` entries) and
//! a slotted sliding window for invalid requests (a fixed number of slots however many
//! requests, so the persisted state stays small).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// At most `limit` events in any `window_ms`: keeps the last `limit` event times.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SlidingLog {
    times: VecDeque<i64>,
}

impl SlidingLog {
    fn trim(&mut self, now: i64, window_ms: i64) {
        while self
            .times
            .front()
            .is_some_and(|t| t.saturating_add(window_ms) <= now)
        {
            self.times.pop_front();
        }
    }

    /// `None` when one more event fits now, otherwise when it will.
    pub(crate) fn blocked_until(&mut self, now: i64, limit: u32, window_ms: i64) -> Option<i64> {
        self.trim(now, window_ms);
        if (self.times.len() as u64) < limit as u64 {
            return None;
        }
        let excess = self.times.len() - (limit as usize).min(self.times.len());
        // The event whose expiry brings the count below the limit.
        self.times.get(excess).map(|t| t.saturating_add(window_ms))
    }

    pub(crate) fn record(&mut self, now: i64, limit: u32, window_ms: i64) {
        self.trim(now, window_ms);
        self.times.push_back(now);
        while self.times.len() > (limit as usize).max(1) {
            self.times.pop_front();
        }
    }

    pub(crate) fn count(&mut self, now: i64, window_ms: i64) -> u32 {
        self.trim(now, window_ms);
        self.times.len() as u32
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
            log.record(t, 3, 1000);
        }
        assert_eq!(log.blocked_until(500, 3, 1000), Some(1000));
        assert_eq!(log.blocked_until(1000, 3, 1000), None);
        assert_eq!(log.count(1000, 1000), 2);
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
