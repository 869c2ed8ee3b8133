//! Entitlements: which tier a customer holds at an instant, how an operator's grant lands, and
//! which channels a tier sees.
//!
//! Access is evaluated at read time from the stored windows, so an expiry needs no job: the
//! highest-ranked tier among active entitlements whose window `[starts_at, ends_at)` contains
//! now. Windows are half-open: at `ends_at` the entitlement no longer counts, and an entitlement
//! starting at that instant takes over with no gap and no overlap.

pub const DAY_MS: i64 = 86_400_000;
pub const MAX_GRANT_DAYS: i64 = 3_650;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Revoked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Status::Active),
            "revoked" => Some(Status::Revoked),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Manual,
    Sellapp,
    Trial,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Sellapp => "sellapp",
            Source::Trial => "trial",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(Source::Manual),
            "sellapp" => Some(Source::Sellapp),
            "trial" => Some(Source::Trial),
            _ => None,
        }
    }
}

/// One entitlement, with its tier's rank resolved (ranks are per tenant; higher is more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub id: String,
    pub tier: String,
    pub rank: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub status: Status,
}

impl Entitlement {
    pub fn contains(&self, now: i64) -> bool {
        self.status == Status::Active && self.starts_at <= now && now < self.ends_at
    }

    /// `active` and `revoked` as stored, plus the time-derived `scheduled` and `expired`.
    pub fn state_at(&self, now: i64) -> &'static str {
        match self.status {
            Status::Revoked => "revoked",
            Status::Active if now < self.starts_at => "scheduled",
            Status::Active if now >= self.ends_at => "expired",
            Status::Active => "active",
        }
    }
}

/// What a customer can see now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub tier: String,
    pub rank: i64,
    /// The entitlement that gives the tier and runs longest.
    pub entitlement_id: String,
    /// When the tier lapses if nothing changes: the end of the chain of same-or-higher-ranked
    /// windows that touch or overlap the one holding now.
    pub until: i64,
}

/// The highest tier among active entitlements containing `now`; ties broken by the latest end,
/// then by id so the answer does not depend on input order.
pub fn resolve(ents: &[Entitlement], now: i64) -> Option<Access> {
    let best = ents.iter().filter(|e| e.contains(now)).max_by(|a, b| {
        (a.rank, a.ends_at, std::cmp::Reverse(&a.id)).cmp(&(
            b.rank,
            b.ends_at,
            std::cmp::Reverse(&b.id),
        ))
    })?;
    Some(Access {
        tier: best.tier.clone(),
        rank: best.rank,
        entitlement_id: best.id.clone(),
        until: rank_holds_until(ents, best.rank, best.ends_at),
    })
}

/// Follows windows of rank ≥ `rank` that start at or before the current end.
fn rank_holds_until(ents: &[Entitlement], rank: i64, mut end: i64) -> i64 {
    loop {
        let next = ents
            .iter()
            .filter(|e| e.status == Status::Active && e.rank >= rank)
            .filter(|e| e.starts_at <= end && e.ends_at > end)
            .map(|e| e.ends_at)
            .max();
        match next {
            Some(n) => end = n,
            None => return end,
        }
    }
}

/// The next instant after `now` at which [`resolve`] may answer differently (a window opening
/// or closing), so a live socket can be re-checked exactly then.
pub fn next_change(ents: &[Entitlement], now: i64) -> Option<i64> {
    ents.iter()
        .filter(|e| e.status == Status::Active)
        .flat_map(|e| [e.starts_at, e.ends_at])
        .filter(|t| *t > now)
        .min()
}

/// How a grant of `days` of `tier` lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Push an existing same-tier entitlement's end out (it is current or scheduled).
    Extend { id: String, ends_at: i64 },
    /// A new entitlement from now.
    Create { starts_at: i64, ends_at: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantError {
    Days,
}

/// A grant extends the same-tier entitlement that holds now and ends last — 30 days granted
/// with 5 left gives 35 — and otherwise starts a new one now (a scheduled same-tier window is
/// not extended: the customer would get nothing until it opens). Other tiers'
/// entitlements are left alone: resolution picks the highest, and when it lapses the lower one
/// still runs (stacking).
pub fn plan_grant(
    ents: &[Entitlement],
    tier: &str,
    days: i64,
    now: i64,
) -> Result<Grant, GrantError> {
    if !(1..=MAX_GRANT_DAYS).contains(&days) {
        return Err(GrantError::Days);
    }
    let add = days * DAY_MS;
    let extendable = ents
        .iter()
        .filter(|e| e.tier == tier && e.contains(now))
        .max_by(|a, b| (a.ends_at, &a.id).cmp(&(b.ends_at, &b.id)));
    Ok(match extendable {
        Some(e) => Grant::Extend {
            id: e.id.clone(),
            ends_at: e.ends_at + add,
        },
        None => Grant::Create {
            starts_at: now,
            ends_at: now + add,
        },
    })
}

/// The channels a tier of `rank` sees: those whose minimum rank it reaches. A channel without a
/// minimum is hidden from every customer.
pub fn visible<C>(rank: Option<i64>, channels: &[(C, Option<i64>)]) -> Vec<&C> {
    match rank {
        None => Vec::new(),
        Some(r) => channels
            .iter()
            .filter(|(_, min)| min.is_some_and(|m| m <= r))
            .map(|(c, _)| c)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e(id: &str, tier: &str, rank: i64, starts: i64, ends: i64) -> Entitlement {
        Entitlement {
            id: id.into(),
            tier: tier.into(),
            rank,
            starts_at: starts,
            ends_at: ends,
            status: Status::Active,
        }
    }

    #[test]
    fn nothing_gives_nothing() {
        assert_eq!(resolve(&[], 0), None);
    }

    #[test]
    fn expiry_at_the_boundary_is_exclusive_and_a_start_inclusive() {
        let ents = [e("a", "basic", 1, 100, 200)];
        assert_eq!(resolve(&ents, 99), None);
        assert_eq!(resolve(&ents, 100).unwrap().tier, "basic");
        assert_eq!(resolve(&ents, 199).unwrap().tier, "basic");
        assert_eq!(resolve(&ents, 200), None);
        assert_eq!(ents[0].state_at(99), "scheduled");
        assert_eq!(ents[0].state_at(150), "active");
        assert_eq!(ents[0].state_at(200), "expired");
    }

    #[test]
    fn a_back_to_back_window_takes_over_with_no_gap() {
        let ents = [e("a", "basic", 1, 0, 100), e("b", "pro", 3, 100, 200)];
        assert_eq!(resolve(&ents, 99).unwrap().tier, "basic");
        assert_eq!(resolve(&ents, 100).unwrap().tier, "pro");
        assert_eq!(next_change(&ents, 50), Some(100));
        assert_eq!(next_change(&ents, 100), Some(200));
        assert_eq!(next_change(&ents, 200), None);
    }

    #[test]
    fn overlaps_resolve_to_the_highest_tier_and_stacking_falls_back() {
        // basic all month, pro for a week in the middle.
        let ents = [e("b", "basic", 1, 0, 1_000), e("p", "pro", 3, 300, 600)];
        assert_eq!(resolve(&ents, 299).unwrap().tier, "basic");
        let mid = resolve(&ents, 300).unwrap();
        assert_eq!((mid.tier.as_str(), mid.until), ("pro", 600));
        let after = resolve(&ents, 600).unwrap();
        assert_eq!((after.tier.as_str(), after.until), ("basic", 1_000));
    }

    #[test]
    fn revoked_entitlements_count_for_nothing() {
        let mut p = e("p", "pro", 3, 0, 1_000);
        p.status = Status::Revoked;
        let ents = [p, e("b", "basic", 1, 0, 500)];
        assert_eq!(resolve(&ents, 10).unwrap().tier, "basic");
        assert_eq!(next_change(&ents, 10), Some(500));
        assert_eq!(ents[0].state_at(10), "revoked");
    }

    #[test]
    fn until_follows_chained_windows_of_the_same_or_higher_rank() {
        let ents = [
            e("a", "pro", 3, 0, 100),
            e("b", "pro", 3, 100, 200),
            e("c", "pro", 3, 150, 300),
            e("d", "basic", 1, 300, 400),
        ];
        let a = resolve(&ents, 50).unwrap();
        assert_eq!((a.entitlement_id.as_str(), a.until), ("a", 300));
    }

    #[test]
    fn a_grant_extends_the_same_tier_and_otherwise_starts_now() {
        let ents = [e("b", "basic", 1, 0, 1_000), e("p", "pro", 3, 0, 50)];
        assert_eq!(
            plan_grant(&ents, "basic", 2, 500),
            Ok(Grant::Extend {
                id: "b".into(),
                ends_at: 1_000 + 2 * DAY_MS
            })
        );
        // The pro one has ended: a new window from now.
        assert_eq!(
            plan_grant(&ents, "pro", 1, 500),
            Ok(Grant::Create {
                starts_at: 500,
                ends_at: 500 + DAY_MS
            })
        );
        // Ending exactly now counts as ended.
        assert_eq!(
            plan_grant(&ents, "pro", 1, 50),
            Ok(Grant::Create {
                starts_at: 50,
                ends_at: 50 + DAY_MS
            })
        );
        // A scheduled same-tier window is not what the customer holds now.
        let scheduled = [e("s", "basic", 1, 2_000, 3_000)];
        assert_eq!(
            plan_grant(&scheduled, "basic", 1, 0),
            Ok(Grant::Create {
                starts_at: 0,
                ends_at: DAY_MS
            })
        );
        assert_eq!(plan_grant(&[], "basic", 0, 0), Err(GrantError::Days));
        assert_eq!(
            plan_grant(&[], "basic", MAX_GRANT_DAYS + 1, 0),
            Err(GrantError::Days)
        );
    }

    #[test]
    fn visibility_by_rank() {
        let chans = [("hidden", None), ("basic", Some(1)), ("pro", Some(3))];
        assert!(visible(None, &chans).is_empty());
        assert_eq!(visible(Some(1), &chans), vec![&"basic"]);
        assert_eq!(visible(Some(3), &chans), vec![&"basic", &"pro"]);
        assert_eq!(visible(Some(0), &chans), Vec::<&&str>::new());
    }

    fn arb_ents() -> impl Strategy<Value = Vec<Entitlement>> {
        proptest::collection::vec((0i64..4, 0i64..100, 1i64..100, any::<bool>()), 0..8).prop_map(
            |v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, (rank, start, len, revoked))| Entitlement {
                        id: format!("e{i}"),
                        tier: format!("t{rank}"),
                        rank,
                        starts_at: start,
                        ends_at: start + len,
                        status: if revoked {
                            Status::Revoked
                        } else {
                            Status::Active
                        },
                    })
                    .collect()
            },
        )
    }

    proptest! {
        /// Resolution is the brute-force maximum, whatever the order of the input.
        #[test]
        fn resolution_is_the_max_rank_containing_now(ents in arb_ents(), now in 0i64..220) {
            let expected = ents.iter().filter(|e| e.status == Status::Active && e.starts_at <= now && now < e.ends_at).map(|e| e.rank).max();
            let got = resolve(&ents, now);
            prop_assert_eq!(got.as_ref().map(|a| a.rank), expected);
            let mut rev = ents.clone();
            rev.reverse();
            prop_assert_eq!(resolve(&rev, now), got.clone());
            if let Some(a) = got {
                // The rank holds on every instant up to `until`, and no change comes before
                // the next_change instant.
                prop_assert!(a.until > now);
                for t in now..a.until {
                    prop_assert!(resolve(&ents, t).is_some_and(|x| x.rank >= a.rank), "t={}", t);
                }
            }
            if let Some(c) = next_change(&ents, now) {
                for t in now..c {
                    prop_assert_eq!(resolve(&ents, t).map(|a| a.rank), expected);
                }
            }
        }

        /// After a grant of N days, the tier is held from now for at least N days, and never
        /// less than before at any instant.
        #[test]
        fn a_grant_never_shortens_access(ents in arb_ents(), now in 0i64..220, rank in 0i64..4, days in 1i64..3) {
            let tier = format!("t{rank}");
            let plan = plan_grant(&ents, &tier, days, now).unwrap();
            let mut after = ents.clone();
            match plan {
                Grant::Extend { id, ends_at } => {
                    let e = after.iter_mut().find(|e| e.id == id).unwrap();
                    prop_assert!(ends_at >= e.ends_at + days * DAY_MS);
                    e.ends_at = ends_at;
                }
                Grant::Create { starts_at, ends_at } => after.push(Entitlement { id: "new".into(), tier: tier.clone(), rank, starts_at, ends_at, status: Status::Active }),
            }
            for t in [now, now + days * DAY_MS - 1] {
                prop_assert!(resolve(&after, t).is_some_and(|a| a.rank >= rank));
            }
            for t in now..now + 300 {
                let before = resolve(&ents, t).map(|a| a.rank);
                let now_rank = resolve(&after, t).map(|a| a.rank);
                prop_assert!(now_rank >= before);
            }
        }
    }
}
