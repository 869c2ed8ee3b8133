//! Fan-out pacing: how long a tenant object waits between two broadcasts.
//!
//! A broadcast costs the runtime roughly a fixed amount per socket per message (the send is
//! queued synchronously; the write work follows on the same thread). Broadcasting every signal
//! the moment it lands is fine for a few sockets, but with a thousand a single round costs a
//! sizeable fraction of a second, and at tens of signals per second the rounds arrive faster
//! than they finish: the queue grows without bound and latency climbs for the whole run.
//!
//! So rounds are spaced by at least twice their own estimated cost. Frames committed while the
//! object waits are sent together in the next round as one `batch` frame — the per-socket cost
//! is paid once per round, not once per signal, which keeps the object below half busy with
//! broadcasting whatever the signal rate.

/// The longest pause between rounds, whatever the socket count.
pub const MAX_GAP_MS: i64 = 1_000;

/// Default estimate of the runtime's cost of one WebSocket send, in microseconds.
pub const DEFAULT_SEND_COST_US: u32 = 250;

/// Minimum spacing between two broadcast rounds for `sockets` subscribers.
pub fn gap_ms(sockets: usize, send_cost_us: u32) -> i64 {
    let round_us = sockets as u64 * send_cost_us as u64;
    ((round_us * 2).div_ceil(1_000) as i64).min(MAX_GAP_MS)
}

/// What to do with frames that were just committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Broadcast now.
    Now,
    /// Wait this many milliseconds; frames committed meanwhile join the same round.
    After(i64),
}

pub fn pace(sockets: usize, send_cost_us: u32, now_ms: i64, last_round_ms: i64) -> Pace {
    let gap = gap_ms(sockets, send_cost_us);
    let elapsed = now_ms - last_round_ms;
    if elapsed >= gap {
        Pace::Now
    } else {
        Pace::After(gap - elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_sockets_broadcast_immediately() {
        assert_eq!(gap_ms(0, 250), 0);
        assert_eq!(gap_ms(1, 250), 1);
        assert_eq!(pace(1, 250, 1_000, 999), Pace::Now);
        assert_eq!(pace(0, 250, 1_000, 1_000), Pace::Now);
    }

    #[test]
    fn many_sockets_space_rounds_by_twice_their_cost() {
        assert_eq!(gap_ms(100, 250), 50);
        assert_eq!(gap_ms(1_000, 250), 500);
        assert_eq!(pace(1_000, 250, 10_000, 9_800), Pace::After(300));
        assert_eq!(pace(1_000, 250, 10_000, 9_500), Pace::Now);
    }

    #[test]
    fn the_pause_is_bounded() {
        assert_eq!(gap_ms(1_000_000, 250), MAX_GAP_MS);
    }
}
