//! One owner per attachment, one fetch per attachment.
//!
//! A [`Record`] is what D1 keeps per (tenant, attachment). Whoever wants the bytes (the landing
//! fetch after a commit, the mirror, the media route) calls [`decide`]: only `Claim` lets it
//! fetch, and the worker writes the claimed record with a compare-and-swap on `version`, so of
//! two racing callers exactly one wins. A claim is a lease: a fetch that crashed (an evicted
//! isolate, a timeout the runtime never reported) leaves a lease that runs out, and the next
//! caller takes it over. The fetch's result goes through [`settle`], written with a CAS on the
//! claimed version: a fetch whose lease was taken over cannot overwrite its successor.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Known, never fetched.
    Pending,
    /// Claimed: someone is fetching until `lease_until`.
    Fetching,
    Stored,
    /// Larger than the cap; nothing is stored, never fetched again.
    TooLarge,
    /// The last attempt failed; retried from `next_attempt_at` (none: given up).
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Fetching => "fetching",
            Status::Stored => "stored",
            Status::TooLarge => "too_large",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Pending,
            Status::Fetching,
            Status::Stored,
            Status::TooLarge,
            Status::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub status: Status,
    /// Fetch attempts made (claims taken).
    pub attempts: u32,
    pub lease_until: Option<i64>,
    pub next_attempt_at: Option<i64>,
    /// Bumped by every write; the CAS guard.
    pub version: i64,
}

impl Record {
    pub fn pending() -> Record {
        Record {
            status: Status::Pending,
            attempts: 0,
            lease_until: None,
            next_attempt_at: None,
            version: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How long a claim lasts; longer than the fetch timeout plus the R2 write.
    pub lease_ms: i64,
    pub max_attempts: u32,
    pub backoff_base_ms: i64,
    pub backoff_max_ms: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            lease_ms: 60_000,
            max_attempts: 6,
            backoff_base_ms: 5_000,
            backoff_max_ms: 30 * 60_000,
        }
    }
}

impl Policy {
    /// The wait after the `attempt`-th failure: doubling from the base, capped. No jitter:
    /// retries are driven by the sweep and by callers, never by a thundering timer.
    pub fn backoff_ms(&self, attempt: u32) -> i64 {
        let shift = attempt.saturating_sub(1).min(30);
        self.backoff_base_ms
            .saturating_mul(1i64 << shift)
            .min(self.backoff_max_ms)
    }
}

/// What a caller may do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Fetch: write `record` (CAS on the version read) and go.
    Claim { record: Record },
    /// Someone else holds a live lease until then.
    Busy { until: i64 },
    /// The bytes are there.
    Stored,
    /// Too large: never fetched again.
    TooLarge,
    /// Failed; the next attempt is due then.
    Wait { until: i64 },
    /// Failed `max_attempts` times: only an operator's re-arm (or a fresh source URL) revives it.
    GaveUp,
}

pub fn decide(current: &Record, now: i64, policy: &Policy) -> Decision {
    let claim = || Decision::Claim {
        record: Record {
            status: Status::Fetching,
            attempts: current.attempts + 1,
            lease_until: Some(now + policy.lease_ms),
            next_attempt_at: None,
            version: current.version + 1,
        },
    };
    match current.status {
        Status::Stored => Decision::Stored,
        Status::TooLarge => Decision::TooLarge,
        Status::Pending => claim(),
        Status::Fetching => match current.lease_until {
            Some(until) if until > now => Decision::Busy { until },
            // A lease that ran out is a fetch that died: its attempt counts.
            _ if current.attempts >= policy.max_attempts => Decision::GaveUp,
            _ => claim(),
        },
        Status::Failed => match current.next_attempt_at {
            None => Decision::GaveUp,
            Some(at) if at > now => Decision::Wait { until: at },
            Some(_) => claim(),
        },
    }
}

/// How a claimed fetch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    TooLarge,
    /// A timeout, a network error, a 5xx, a 429: worth retrying.
    Transient,
    /// The source refused for good (404/403: an expired or unknown URL; a host we do not
    /// fetch from). Only a fresh source URL (`refresh_source`) or an operator revives it.
    Permanent,
}

/// The record after the claimed fetch (`claimed`, as [`decide`] returned it) ended.
pub fn settle(claimed: &Record, outcome: Outcome, now: i64, policy: &Policy) -> Record {
    let base = Record {
        status: Status::Failed,
        attempts: claimed.attempts,
        lease_until: None,
        next_attempt_at: None,
        version: claimed.version + 1,
    };
    match outcome {
        Outcome::Stored => Record {
            status: Status::Stored,
            ..base
        },
        Outcome::TooLarge => Record {
            status: Status::TooLarge,
            ..base
        },
        Outcome::Transient if claimed.attempts < policy.max_attempts => Record {
            next_attempt_at: Some(now + policy.backoff_ms(claimed.attempts)),
            ..base
        },
        Outcome::Transient | Outcome::Permanent => base,
    }
}

/// The connector sent the attachment again with a (fresh) source URL: a failure is due again
/// now, and the attempt budget starts over — the old URL's failures say nothing about the new
/// one. `None`: nothing to change (stored, too large, in flight or already due).
pub fn refresh_source(current: &Record, url_changed: bool, now: i64) -> Option<Record> {
    (current.status == Status::Failed && url_changed).then(|| Record {
        status: Status::Failed,
        attempts: 0,
        lease_until: None,
        next_attempt_at: Some(now),
        version: current.version + 1,
    })
}

/// An operator's re-fetch: a failed or given-up attachment is due now with a fresh budget.
/// A stored or too-large one is left alone (`None`), and so is a live claim.
pub fn rearm(current: &Record, now: i64) -> Option<Record> {
    let stale_claim =
        current.status == Status::Fetching && current.lease_until.is_none_or(|u| u <= now);
    (current.status == Status::Failed || stale_claim).then(|| Record {
        status: Status::Failed,
        attempts: 0,
        lease_until: None,
        next_attempt_at: Some(now),
        version: current.version + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: Policy = Policy {
        lease_ms: 1_000,
        max_attempts: 3,
        backoff_base_ms: 100,
        backoff_max_ms: 250,
    };

    fn claimed(d: Decision) -> Record {
        match d {
            Decision::Claim { record } => record,
            other => panic!("expected a claim, got {other:?}"),
        }
    }

    #[test]
    fn a_pending_attachment_is_claimed_once() {
        let r = Record::pending();
        let c = claimed(decide(&r, 0, &P));
        assert_eq!(c.status, Status::Fetching);
        assert_eq!((c.attempts, c.lease_until, c.version), (1, Some(1_000), 1));
        // A second caller sees the live lease: no second fetch.
        assert_eq!(decide(&c, 999, &P), Decision::Busy { until: 1_000 });
    }

    #[test]
    fn a_lease_that_runs_out_is_taken_over() {
        let c = claimed(decide(&Record::pending(), 0, &P));
        let again = claimed(decide(&c, 1_000, &P));
        assert_eq!((again.attempts, again.version), (2, 2));
        // The crashed owner's late result is written with a CAS on the version it claimed,
        // which is no longer the stored one: it cannot overwrite the new owner's claim.
        assert_ne!(c.version, again.version);
    }

    #[test]
    fn expired_leases_count_against_the_budget() {
        let mut r = Record::pending();
        for t in 0..3 {
            r = claimed(decide(&r, t * 1_000, &P));
        }
        assert_eq!(r.attempts, 3);
        assert_eq!(decide(&r, 3_000, &P), Decision::GaveUp);
    }

    #[test]
    fn outcomes() {
        let c = claimed(decide(&Record::pending(), 0, &P));
        let stored = settle(&c, Outcome::Stored, 10, &P);
        assert_eq!(stored.status, Status::Stored);
        assert_eq!(decide(&stored, 10_000_000, &P), Decision::Stored);

        let big = settle(&c, Outcome::TooLarge, 10, &P);
        assert_eq!(decide(&big, 10_000_000, &P), Decision::TooLarge);

        let gone = settle(&c, Outcome::Permanent, 10, &P);
        assert_eq!((gone.status, gone.next_attempt_at), (Status::Failed, None));
        assert_eq!(decide(&gone, 10_000_000, &P), Decision::GaveUp);
    }

    #[test]
    fn transient_failures_back_off_then_give_up() {
        let mut r = Record::pending();
        let mut now = 0;
        let mut waits = Vec::new();
        loop {
            match decide(&r, now, &P) {
                Decision::Claim { record } => {
                    r = settle(&record, Outcome::Transient, now, &P);
                    if let Some(at) = r.next_attempt_at {
                        waits.push(at - now);
                        assert_eq!(decide(&r, at - 1, &P), Decision::Wait { until: at });
                        now = at;
                    }
                }
                Decision::GaveUp => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(waits, vec![100, 200]);
        assert_eq!(r.attempts, 3);
        assert_eq!(P.backoff_ms(10), 250);
    }

    #[test]
    fn a_fresh_url_revives_a_failure_and_nothing_else() {
        let c = claimed(decide(&Record::pending(), 0, &P));
        let gone = settle(&c, Outcome::Permanent, 10, &P);
        let fresh = refresh_source(&gone, true, 20).unwrap();
        assert_eq!((fresh.attempts, fresh.next_attempt_at), (0, Some(20)));
        assert!(matches!(decide(&fresh, 20, &P), Decision::Claim { .. }));
        assert_eq!(refresh_source(&gone, false, 20), None);
        let stored = settle(&c, Outcome::Stored, 10, &P);
        assert_eq!(refresh_source(&stored, true, 20), None);
        assert_eq!(refresh_source(&c, true, 20), None);
    }

    #[test]
    fn rearm_leaves_live_claims_and_finished_records_alone() {
        let c = claimed(decide(&Record::pending(), 0, &P));
        assert_eq!(rearm(&c, 500), None);
        assert!(rearm(&c, 1_000).is_some());
        assert_eq!(rearm(&settle(&c, Outcome::Stored, 1, &P), 5), None);
        assert_eq!(rearm(&settle(&c, Outcome::TooLarge, 1, &P), 5), None);
        let r = rearm(&settle(&c, Outcome::Permanent, 1, &P), 5).unwrap();
        assert!(matches!(decide(&r, 5, &P), Decision::Claim { .. }));
    }

    #[test]
    fn status_names_round_trip() {
        for s in ["pending", "fetching", "stored", "too_large", "failed"] {
            assert_eq!(Status::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(Status::parse("done"), None);
    }

    #[derive(Debug, Clone)]
    enum Step {
        Caller(i64),
        Finish(usize, u8),
    }

    proptest! {
        /// Any interleaving of callers and finishing fetches, with a CAS store: at most one
        /// live claim at any time, and nothing is fetched after it is stored.
        #[test]
        fn one_owner_at_a_time(steps in proptest::collection::vec(
            prop_oneof![
                (0i64..1_500).prop_map(Step::Caller),
                (0usize..4, 0u8..4).prop_map(|(i, o)| Step::Finish(i, o)),
            ], 1..60)) {
            let mut stored = Record::pending();
            let mut now = 0i64;
            let mut in_flight: Vec<Record> = Vec::new();
            let mut fetches_after_stored = 0;
            for step in steps {
                match step {
                    Step::Caller(dt) => {
                        now += dt;
                        if let Decision::Claim { record } = decide(&stored, now, &P) {
                            if stored.status == Status::Stored { fetches_after_stored += 1; }
                            // The CAS: the claim replaces exactly the version read.
                            prop_assert_eq!(record.version, stored.version + 1);
                            let live = in_flight.iter().filter(|c| c.lease_until.unwrap() > now).count();
                            prop_assert_eq!(live, 0, "a live claim existed while another was granted");
                            stored = record.clone();
                            in_flight.push(record);
                        }
                    }
                    Step::Finish(i, o) => {
                        if in_flight.is_empty() { continue; }
                        let c = in_flight.remove(i % in_flight.len());
                        let outcome = [Outcome::Stored, Outcome::TooLarge, Outcome::Transient, Outcome::Permanent][o as usize];
                        let next = settle(&c, outcome, now, &P);
                        if stored.version == c.version { stored = next; }
                    }
                }
            }
            prop_assert_eq!(fetches_after_stored, 0);
        }
    }
}
