//! Attempt throttling: a fixed window per key (an account's email hash, a client IP), counted in
//! storage by the worker. The key never depends on whether an account exists, so a throttled
//! answer reveals nothing about the email.

mod rule;
pub mod rules;

pub use rule::Rule;

/// A key's counter as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub window_start: i64,
    pub count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Refused; the window reopens after this many milliseconds.
    Refuse {
        retry_after_ms: i64,
    },
}

/// Counts one attempt at `now` and decides it. Refused attempts are counted too (saturating),
/// so hammering does not reopen the window early; the window restarts once it has passed.
pub fn attempt(rule: Rule, stored: Option<Counter>, now: i64) -> (Decision, Counter) {
    let current = match stored {
        Some(c) if now >= c.window_start && now < c.window_start.saturating_add(rule.window_ms) => {
            c
        }
        _ => Counter {
            window_start: now,
            count: 0,
        },
    };
    let next = Counter {
        count: current.count.saturating_add(1),
        ..current
    };
    (verdict(rule, next, now), next)
}

/// The decision for a counter that already includes this attempt (as the worker's atomic
/// upsert, which mirrors [`attempt`] in SQL, returns it).
pub fn verdict(rule: Rule, after: Counter, now: i64) -> Decision {
    if after.count > rule.limit {
        Decision::Refuse {
            retry_after_ms: (after.window_start + rule.window_ms - now).clamp(1, rule.window_ms),
        }
    } else {
        Decision::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const R: Rule = Rule {
        limit: 3,
        window_ms: 1_000,
    };

    #[test]
    fn the_limit_plus_one_is_refused_until_the_window_ends() {
        let mut c = None;
        for i in 0..3 {
            let (d, next) = attempt(R, c, 100 + i);
            assert_eq!(d, Decision::Allow, "attempt {i}");
            c = Some(next);
        }
        let (d, next) = attempt(R, c, 500);
        assert_eq!(
            d,
            Decision::Refuse {
                retry_after_ms: 600
            }
        );
        // The window still ends at 1100 however often it is hammered.
        let (d, _) = attempt(R, Some(next), 1_099);
        assert_eq!(d, Decision::Refuse { retry_after_ms: 1 });
        let (d, fresh) = attempt(R, Some(next), 1_100);
        assert_eq!(d, Decision::Allow);
        assert_eq!(
            fresh,
            Counter {
                window_start: 1_100,
                count: 1
            }
        );
    }

    #[test]
    fn a_clock_that_went_back_starts_a_new_window() {
        let stored = Counter {
            window_start: 5_000,
            count: 99,
        };
        assert_eq!(attempt(R, Some(stored), 4_000).0, Decision::Allow);
    }

    proptest! {
        /// In any sequence of attempts, no window admits more than `limit`.
        #[test]
        fn no_window_admits_more_than_the_limit(gaps in proptest::collection::vec(0i64..600, 1..60)) {
            let mut c = None;
            let mut now = 0i64;
            let mut admitted: Vec<(i64, i64)> = Vec::new();
            for g in gaps {
                now += g;
                let (d, next) = attempt(R, c, now);
                if d == Decision::Allow {
                    admitted.push((next.window_start, now));
                }
                if let Decision::Refuse { retry_after_ms } = d {
                    prop_assert!((1..=R.window_ms).contains(&retry_after_ms));
                }
                c = Some(next);
            }
            let mut per_window = std::collections::HashMap::new();
            for (w, _) in admitted {
                *per_window.entry(w).or_insert(0u32) += 1;
            }
            prop_assert!(per_window.values().all(|n| *n <= R.limit));
        }
    }
}
