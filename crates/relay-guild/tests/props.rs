//! Properties over random inputs: the role diff converges, keeps hands off roles it did not
//! grant and is idempotent; the paged seat count equals a brute-force count however Discord
//! pages; held jobs never reorder.

mod common;

use common::*;
use proptest::prelude::*;
use relay_guild::access::ChannelAccess;
use relay_guild::paging::MemberCursor;
use relay_guild::roles::{converge, Desired, Ledger, RoleChange};
use relay_guild::seats::{HeldQueue, HoldPolicy, Progress, SeatAudit, SeatCount};
use std::collections::BTreeSet;
use twilight_model::id::marker::RoleMarker;
use twilight_model::id::Id;

fn roles() -> impl Strategy<Value = BTreeSet<Id<RoleMarker>>> {
    proptest::collection::btree_set(1u64..16, 0..10)
        .prop_map(|s| s.into_iter().map(Id::new).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_diff_converges_touches_only_our_roles_and_is_idempotent(
        desired in roles(),
        actual in roles(),
        granted in roles(),
    ) {
        let d = Desired::Roles { roles: desired.clone() };
        let ledger = Ledger { granted: granted.clone(), kicked_for_lapse_at_ms: None };
        let plan = converge(&d, Some(&actual), &ledger);

        // One change per role, by construction; and grants are desired, revokes are not.
        for (r, c) in &plan.changes {
            match c {
                RoleChange::Grant => prop_assert!(desired.contains(r) && !actual.contains(r)),
                RoleChange::Revoke => prop_assert!(!desired.contains(r) && granted.contains(r)),
            }
        }

        let mut after = Some(actual.clone());
        let mut l = ledger.clone();
        plan.apply_to(&mut after, &mut l);
        let after = after.unwrap();
        prop_assert!(after.is_superset(&desired));
        for removed in actual.difference(&after) {
            prop_assert!(granted.contains(removed), "removed {removed} that we never granted");
        }
        // Hand-given roles (held, not ours) all survive.
        for r in actual.difference(&granted) {
            prop_assert!(after.contains(r));
        }
        // The ledger claims only roles the member holds.
        prop_assert!(l.granted.is_subset(&after));

        let again = converge(&d, Some(&after), &l);
        prop_assert!(again.is_empty(), "second diff: {again:?}");
    }
}

proptest! {

    #[test]
    fn the_paged_count_equals_the_brute_force_count(
        members in proptest::collection::btree_map(1u64..5_000, (any::<bool>(), any::<bool>(), proptest::bool::weighted(0.1)), 0..300),
        limit in 1u16..40,
        overlap in 0usize..3,
    ) {
        let g = guild(VIEW, vec![role(3, 0, 1), role(4, 0, 2)]);
        let chans = [
            text_channel(10, vec![overwrite(GUILD, 0, 0, VIEW), overwrite(3, 0, VIEW, 0)]),
            text_channel(11, vec![overwrite(GUILD, 0, 0, VIEW), overwrite(4, 0, VIEW, 0)]),
            thread(12, 11),
        ];
        let targets: Vec<ChannelAccess> = [10, 12].iter().map(|t| access(&chans, *t)).collect();
        let all: Vec<_> = members
            .iter()
            .map(|(id, (r3, r4, bot))| {
                let mut rs = Vec::new();
                if *r3 { rs.push(3) }
                if *r4 { rs.push(4) }
                member(*id, &rs, *bot)
            })
            .collect();
        // Role 3 opens channel 10, role 4 opens 11 and so its thread 12; the owner sees all.
        let expected = members
            .iter()
            .filter(|(id, (r3, r4, bot))| !bot && (*r3 || *r4 || **id == OWNER))
            .count() as u64;

        let mut audit = SeatAudit::with_cursor(MemberCursor::with_limit(g.guild_id, limit), g, targets, 0);
        let mut guard = 0;
        while let Some(req) = audit.next_request() {
            guard += 1;
            prop_assert!(guard < 10_000);
            let after = req.after.map_or(0, |a| a.get());
            // A server that repeats up to `overlap` members from before the cursor.
            let start = all.iter().position(|m| m.user.id.get() > after).unwrap_or(all.len());
            let from = start.saturating_sub(overlap);
            let page: Vec<_> = all[from..].iter().take(usize::from(limit)).cloned().collect();
            if let Err(e) = audit.feed(&page) {
                // Only possible when the repeats fill a whole page.
                prop_assert_eq!(e.error_code(), "member_paging_stalled");
                prop_assert!(overlap >= usize::from(limit));
                return Ok(());
            }
        }
        prop_assert_eq!(audit.progress(), Progress::Done(SeatCount::exact(expected)));
    }

    #[test]
    fn held_jobs_never_reorder(
        decisions in proptest::collection::vec((any::<bool>(), 0i64..50), 0..60),
        max_age in 1i64..200,
    ) {
        let p = HoldPolicy { max_age_ms: max_age };
        let mut q = HeldQueue::default();
        let mut out = Vec::new();
        let mut dropped = 0u64;
        let mut now = 0;
        for (i, (deliver, step)) in decisions.iter().enumerate() {
            now += step;
            let r = q.offer(i, now, *deliver, now, &p);
            dropped += r.expired.len() as u64;
            out.extend(r.deliver);
            if i % 7 == 6 {
                dropped += q.sweep(now, &p).len() as u64;
            }
        }
        let r = q.release(now, &p);
        dropped += r.expired.len() as u64;
        out.extend(r.deliver);
        prop_assert!(out.windows(2).all(|w| w[0] < w[1]), "{out:?}");
        prop_assert_eq!(out.len() as u64 + dropped, decisions.len() as u64);
        prop_assert_eq!(q.expired_total, dropped);
    }
}

fn any_desired() -> impl Strategy<Value = Desired> {
    prop_oneof![
        roles().prop_map(|roles| Desired::Roles { roles }),
        (0i64..3).prop_map(|lapse_at_ms| Desired::Kick { lapse_at_ms }),
        Just(Desired::Untouched),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn every_desired_state_settles_in_one_application(
        desired in any_desired(),
        actual in proptest::option::of(roles()),
        granted in roles(),
        kicked in proptest::option::of(0i64..3),
    ) {
        let ledger = Ledger { granted: granted.clone(), kicked_for_lapse_at_ms: kicked };
        let plan = converge(&desired, actual.as_ref(), &ledger);
        if actual.is_none() {
            prop_assert!(plan.is_empty(), "nothing can be done to a non-member");
        }
        let mut after = actual.clone();
        let mut l = ledger.clone();
        plan.apply_to(&mut after, &mut l);
        if let (Some(before), Some(now)) = (&actual, &after) {
            for removed in before.difference(now) {
                prop_assert!(granted.contains(removed));
            }
        }
        prop_assert!(converge(&desired, after.as_ref(), &l).is_empty());
    }

    #[test]
    fn off_or_removed_guilds_are_never_scheduled(
        seats in proptest::option::of(0u64..20),
        failures in 0u32..10,
        triggered: bool,
        in_progress: bool,
        shadow: bool,
        limit in 0u64..20,
    ) {
        use relay_guild::seats::{next_audit, CadenceInput, CadencePolicy, Mode, Snapshot};
        let snapshot = seats.map(|n| {
            let mut s = Snapshot::default();
            s.record_count(SeatCount::exact(n), limit, 0, 0);
            s.consecutive_failures = failures;
            s
        });
        let at = |mode, removed| next_audit(
            CadenceInput { mode, removed, limit, snapshot: snapshot.as_ref(), triggered, in_progress, now_ms: 1_000 },
            &CadencePolicy::default(),
        );
        let live = if shadow { Mode::Shadow } else { Mode::Enforce };
        prop_assert_eq!(at(Mode::Off, false), None);
        prop_assert_eq!(at(Mode::Off, true), None);
        prop_assert_eq!(at(live, true), None);
        let next = at(live, false).unwrap();
        if triggered || in_progress || snapshot.is_none() {
            prop_assert_eq!(next, 1_000, "at once");
        } else {
            // Counted at 0: 30 s or 60 s later, doubled per failure, capped at 10 min.
            prop_assert!((30_000..=600_000).contains(&next), "{next}");
            if failures == 0 {
                let over = seats.unwrap() > limit;
                prop_assert_eq!(next, if over { 30_000 } else { 60_000 });
            }
        }
    }
}
