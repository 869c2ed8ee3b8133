//! How long webhook event records are kept. The predecessor deleted them after 30 days, which
//! shrank the idempotency window: a late redelivery of an old order was applied again. Here an
//! event's key is never deleted — [`Retain`] has no "delete" — only the stored body of an event
//! that needs no replay may be dropped after [`BODY_RETENTION_DAYS`].

use crate::outcome::Outcome;
use relay_core::time::DAY_MS;

/// Longer than any policy's typical duration plus Sell.app's dispute window.
pub const BODY_RETENTION_DAYS: i64 = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retain {
    Everything,
    /// Keep the key, event name, order id, outcome and times; drop the raw body.
    KeyOnly,
}

pub fn retain(outcome: &Outcome, received_at: i64, now: i64) -> Retain {
    if outcome.is_replayable() {
        // An operator may still replay it: the body is the input.
        return Retain::Everything;
    }
    if now - received_at >= BODY_RETENTION_DAYS * DAY_MS {
        Retain::KeyOnly
    } else {
        Retain::Everything
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::UnmatchedReason;

    #[test]
    fn keys_outlive_bodies_and_replayable_events_keep_theirs() {
        let ten_years = 3650 * DAY_MS;
        assert_eq!(
            retain(&Outcome::Applied, 0, 30 * DAY_MS),
            Retain::Everything
        );
        assert_eq!(
            retain(&Outcome::Applied, 0, BODY_RETENTION_DAYS * DAY_MS),
            Retain::KeyOnly
        );
        assert_eq!(retain(&Outcome::Applied, 0, ten_years), Retain::KeyOnly);
        assert_eq!(
            retain(&Outcome::unmatched(UnmatchedReason::NoEmail), 0, ten_years),
            Retain::Everything
        );
        assert_eq!(
            retain(&Outcome::Failed { error: "x".into() }, 0, ten_years),
            Retain::Everything
        );
    }
}
