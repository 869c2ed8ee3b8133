//! Seat counting, the snapshot, the gate table, cadence, held jobs and the notice.

mod common;

use common::*;
use relay_discord::{DiscordError, ErrorKind as DiscordKind};
use relay_guild::access::ChannelAccess;
use relay_guild::paging::MemberCursor;
use relay_guild::seats::*;
use relay_guild::{classify_call, Call, CallFailure, ErrorCode, GuildError};
use std::borrow::Cow;
use twilight_model::guild::Member;
use twilight_model::id::Id;

/// Serves `GET /guilds/1/members?limit&after` from a sorted member list, as Discord does.
fn serve(all: &[Member], limit: u16, after: Option<u64>) -> Vec<Member> {
    all.iter()
        .filter(|m| m.user.id.get() > after.unwrap_or(0))
        .take(usize::from(limit))
        .cloned()
        .collect()
}

/// A guild where @everyone cannot see channel 10 but role 3 can; channel 11 is open to
/// role 4 only.
fn setup() -> (relay_guild::access::GuildFacts, Vec<ChannelAccess>) {
    let g = guild(VIEW, vec![role(3, 0, 1), role(4, 0, 2)]);
    let chans = [
        text_channel(
            10,
            vec![overwrite(GUILD, 0, 0, VIEW), overwrite(3, 0, VIEW, 0)],
        ),
        text_channel(
            11,
            vec![overwrite(GUILD, 0, 0, VIEW), overwrite(4, 0, VIEW, 0)],
        ),
    ];
    (g, vec![access(&chans, 10), access(&chans, 11)])
}

/// 2,500 members: every 5th holds role 3, every 7th role 4, every 50th is a bot with role 3.
fn big_guild() -> (Vec<Member>, u64) {
    let mut all = Vec::new();
    let mut expected = 0;
    for i in 1..=2_500u64 {
        let user = 1_000_000 + i;
        let mut roles = Vec::new();
        if i % 5 == 0 {
            roles.push(3);
        }
        if i % 7 == 0 {
            roles.push(4);
        }
        let bot = i % 50 == 0;
        if !bot && !roles.is_empty() {
            expected += 1;
        }
        all.push(member(user, &roles, bot));
    }
    (all, expected)
}

#[test]
fn counts_2500_members_exactly_across_pages_kept_in_storage_between_alarms() {
    let (all, expected) = big_guild();
    let (g, targets) = setup();
    let mut stored = serde_json::to_string(&SeatAudit::start(g, targets, 1_000)).unwrap();
    let mut requests = 0;
    loop {
        // Each alarm: load, fetch one page, count, store.
        let mut audit: SeatAudit = serde_json::from_str(&stored).unwrap();
        let Some(req) = audit.next_request() else {
            break;
        };
        assert_eq!(req.limit, 1000);
        requests += 1;
        let page = serve(&all, req.limit, req.after.map(|a| a.get()));
        let progress = audit.feed(&page).unwrap();
        stored = serde_json::to_string(&audit).unwrap();
        if let Progress::Done(count) = progress {
            assert_eq!(count, SeatCount::exact(expected));
        }
    }
    let audit: SeatAudit = serde_json::from_str(&stored).unwrap();
    assert_eq!(requests, 3, "1000 + 1000 + 500");
    assert_eq!(audit.seats, expected);
    assert_eq!(audit.bots, 50);
    assert_eq!(audit.cursor.members_seen, 2_500);
    assert_eq!(audit.progress(), Progress::Done(SeatCount::exact(expected)));
}

#[test]
fn a_guild_of_exactly_full_pages_ends_on_the_empty_page() {
    let all: Vec<Member> = (1..=2_000u64).map(|u| member(u, &[3], false)).collect();
    let (g, targets) = setup();
    let mut audit = SeatAudit::start(g, targets, 0);
    let mut pages = 0;
    while let Some(req) = audit.next_request() {
        pages += 1;
        audit
            .feed(&serve(&all, req.limit, req.after.map(|a| a.get())))
            .unwrap();
    }
    assert_eq!(pages, 3);
    assert_eq!(audit.progress(), Progress::Done(SeatCount::exact(2_000)));
}

#[test]
fn the_cursor_is_the_numerically_highest_id_not_the_string_highest() {
    let mut cursor = MemberCursor::with_limit(Id::new(GUILD), 2);
    let page = [member(9, &[], false), member(10, &[], false)];
    cursor.advance(&page).unwrap();
    assert_eq!(cursor.after, Some(Id::new(10)));
    assert!(!cursor.done);
}

#[test]
fn repeats_across_pages_are_not_counted_twice() {
    let (g, targets) = setup();
    let mut audit =
        SeatAudit::with_cursor(MemberCursor::with_limit(Id::new(GUILD), 2), g, targets, 0);
    audit
        .feed(&[member(5, &[3], false), member(6, &[3], false)])
        .unwrap();
    // Discord answers with an overlap (membership changed between pages) and a repeat.
    let p = audit
        .feed(&[member(6, &[3], false), member(7, &[3], false)])
        .unwrap();
    assert_eq!(p, Progress::More);
    let p = audit.feed(&[member(7, &[3], false)]).unwrap();
    assert_eq!(p, Progress::Done(SeatCount::exact(3)));
}

#[test]
fn a_full_page_with_nothing_new_stops_with_an_error_instead_of_looping() {
    let (g, targets) = setup();
    let mut audit =
        SeatAudit::with_cursor(MemberCursor::with_limit(Id::new(GUILD), 2), g, targets, 0);
    audit
        .feed(&[member(5, &[3], false), member(6, &[3], false)])
        .unwrap();
    let err = audit
        .feed(&[member(5, &[3], false), member(6, &[3], false)])
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::MemberPagingStalled);
}

#[test]
fn bots_are_never_seats_and_a_member_seeing_two_targets_is_one_seat() {
    let (g, targets) = setup();
    let mut audit = SeatAudit::start(g, targets, 0);
    let done = audit
        .feed(&[
            member(5, &[3, 4], false),
            member(6, &[3], true),
            member(7, &[], false),
        ])
        .unwrap();
    assert_eq!(done, Progress::Done(SeatCount::exact(1)));
    assert_eq!(audit.bots, 1);
}

#[test]
fn no_mapped_target_means_no_seats_and_no_member_list() {
    let audit = SeatAudit::start(guild(VIEW, vec![]), vec![], 0);
    assert!(audit.next_request().is_none());
    assert_eq!(audit.progress(), Progress::Done(SeatCount::exact(0)));
}

#[test]
fn the_approximate_count_short_cut_records_an_upper_bound() {
    assert_eq!(
        plan_audit(Some(40), 50, true),
        AuditPlan::WithinLimit(SeatCount::at_most(40))
    );
    assert_eq!(
        plan_audit(Some(50), 50, true),
        AuditPlan::WithinLimit(SeatCount::at_most(50))
    );
    assert_eq!(plan_audit(Some(51), 50, true), AuditPlan::Full);
    assert_eq!(plan_audit(None, 50, true), AuditPlan::Full);
    assert_eq!(plan_audit(Some(1), 50, false), AuditPlan::Full);

    let mut s = Snapshot::default();
    s.record_count(SeatCount::at_most(40), 50, 0, 0);
    let view = s.view(50, 0, &FreshnessPolicy::default());
    assert_eq!(view.seats_used, Some(40));
    assert_eq!(view.seats_exact, Some(false));
    assert_eq!(view.over_limit, Some(false));
    // The limit lowered below the bound: unknown, not "over" and not "under".
    assert_eq!(
        s.usable(30, 0, &FreshnessPolicy::default()).unwrap().0,
        Verdict::Unknown
    );
    assert_eq!(
        s.view(30, 0, &FreshnessPolicy::default()).over_limit,
        Some(false)
    );
    assert_eq!(
        gate_state(Mode::Enforce, Some(&s), 30, 0, &FreshnessPolicy::default()),
        GateState::NoSnapshot
    );
}

fn discord_error(kind: DiscordKind, status: Option<u16>, code: Option<u32>) -> DiscordError {
    DiscordError {
        kind,
        error_code: Cow::Borrowed("discord_test"),
        message: "refused".into(),
        status,
        discord_code: code,
        errors: None,
        field: None,
        retry_at_ms: Some(5_000),
    }
}

#[test]
fn a_refused_member_list_is_member_list_forbidden_never_zero() {
    for code in [50001, 50013] {
        let f = classify_call(
            Call::MemberList,
            &discord_error(DiscordKind::Permanent, Some(403), Some(code)),
        );
        let CallFailure::Fail(err) = f else {
            panic!("{f:?}")
        };
        assert_eq!(err.error_code(), "member_list_forbidden");
        assert!(err.message.contains("GUILD_MEMBERS"));

        let mut s = Snapshot::default();
        s.record_error(err.clone(), 10);
        let view = s.view(5, 10, &FreshnessPolicy::default());
        assert_eq!(view.seats_used, None, "unknown, not zero");
        assert_eq!(view.over_limit, None);
        assert_eq!(view.status, None);
        assert_eq!(
            view.last_error.unwrap().code,
            ErrorCode::MemberListForbidden
        );
        let d = gate(GateInput {
            mode: Mode::Enforce,
            kill_switch: false,
            limit: 5,
            snapshot: Some(&s),
            now_ms: 10,
            policy: FreshnessPolicy::default(),
        });
        assert!(
            !d.deliver && d.audit_now,
            "no count: held, never sent as if zero"
        );
    }
}

#[test]
fn a_failed_audit_keeps_the_last_good_count_beside_the_error() {
    let mut s = Snapshot::default();
    s.record_count(SeatCount::exact(7), 10, 1_000, 2_000);
    s.record_error(GuildError::new(ErrorCode::MemberListForbidden, "x"), 60_000);
    assert_eq!(s.count, Some(SeatCount::exact(7)));
    assert_eq!(s.consecutive_failures, 1);
    assert_eq!(s.checked_at_ms, Some(1_000));
    s.record_count(SeatCount::exact(8), 10, 70_000, 71_000);
    assert_eq!(s.last_error, None);
    assert_eq!(s.consecutive_failures, 0);
}

#[test]
fn transient_failures_retry_without_an_error_and_other_calls_name_their_target() {
    assert_eq!(
        classify_call(
            Call::MemberList,
            &discord_error(DiscordKind::RateLimited, Some(429), None)
        ),
        CallFailure::Retry { at_ms: Some(5_000) }
    );
    assert_eq!(
        classify_call(
            Call::MemberList,
            &discord_error(DiscordKind::Transient, Some(502), None)
        ),
        CallFailure::Retry { at_ms: Some(5_000) }
    );
    let code = |call, status| match classify_call(
        call,
        &discord_error(DiscordKind::Permanent, Some(status), None),
    ) {
        CallFailure::Fail(e) => e.code,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        code(Call::Channel(Id::new(10)), 403),
        ErrorCode::TargetChannelForbidden
    );
    assert_eq!(
        code(Call::Channel(Id::new(10)), 404),
        ErrorCode::TargetChannelUnknown
    );
    assert_eq!(code(Call::Guild, 404), ErrorCode::GuildUnavailable);
    match classify_call(
        Call::MemberList,
        &discord_error(DiscordKind::Unauthorized, Some(401), None),
    ) {
        CallFailure::Fail(e) => assert_eq!(
            e.code,
            ErrorCode::AuditFailed,
            "a bad token is not a missing intent"
        ),
        other => panic!("{other:?}"),
    }
    match classify_call(
        Call::Guild,
        &discord_error(DiscordKind::Decode, Some(200), None),
    ) {
        CallFailure::Fail(e) => assert_eq!(e.code, ErrorCode::AuditFailed),
        other => panic!("{other:?}"),
    }
}

#[test]
fn freshness_windows_and_their_configuration() {
    let p = FreshnessPolicy::default();
    assert_eq!(p.classify(0, 90_000), Freshness::Fresh);
    assert_eq!(p.classify(0, 90_001), Freshness::Stale);
    assert_eq!(p.classify(0, 300_000), Freshness::Stale);
    assert_eq!(p.classify(0, 300_001), Freshness::Expired);
    assert_eq!(
        p.classify(10_000, 0),
        Freshness::Fresh,
        "clock went backwards"
    );
    let custom = FreshnessPolicy::new(10, 20).unwrap();
    assert_eq!(custom.classify(0, 15), Freshness::Stale);
    assert!(FreshnessPolicy::new(30, 20).is_err());
    assert!(FreshnessPolicy::new(-1, 20).is_err());
}

// ---- The gate table: one test per row (and per mode column). ----

const LIMIT: u64 = 10;
const NOW: i64 = 1_000_000;

fn snap(seats: u64, age_ms: i64) -> Snapshot {
    let mut s = Snapshot::default();
    s.record_count(SeatCount::exact(seats), LIMIT, NOW - age_ms, NOW - age_ms);
    s
}

fn run(mode: Mode, kill: bool, s: Option<&Snapshot>) -> GateDecision {
    gate(GateInput {
        mode,
        kill_switch: kill,
        limit: LIMIT,
        snapshot: s,
        now_ms: NOW,
        policy: FreshnessPolicy::default(),
    })
}

const SEND: GateDecision = GateDecision {
    deliver: true,
    audit_now: false,
    would_hold: false,
};
const HOLD: GateDecision = GateDecision {
    deliver: false,
    audit_now: false,
    would_hold: false,
};

#[test]
fn row_mode_off_sends_without_audits_whatever_the_snapshot() {
    assert_eq!(run(Mode::Off, false, None), SEND);
    assert_eq!(run(Mode::Off, false, Some(&snap(99, 0))), SEND);
    assert_eq!(
        gate_state(
            Mode::Off,
            Some(&snap(99, 0)),
            LIMIT,
            NOW,
            &FreshnessPolicy::default()
        ),
        GateState::Off
    );
}

#[test]
fn row_no_snapshot_yet() {
    assert_eq!(
        run(Mode::Enforce, false, None),
        GateDecision {
            deliver: false,
            audit_now: true,
            would_hold: false
        }
    );
    assert_eq!(
        run(Mode::Shadow, false, None),
        GateDecision {
            deliver: true,
            audit_now: true,
            would_hold: false
        }
    );
    // An expired count is no snapshot at all.
    assert_eq!(
        run(Mode::Enforce, false, Some(&snap(1, 300_001))),
        GateDecision {
            deliver: false,
            audit_now: true,
            would_hold: false
        }
    );
    assert_eq!(
        run(Mode::Shadow, false, Some(&snap(LIMIT + 1, 300_001))),
        GateDecision {
            deliver: true,
            audit_now: true,
            would_hold: false
        }
    );
}

#[test]
fn row_over_the_limit_fresh_or_stale() {
    for age in [0, 90_000, 90_001, 300_000] {
        let s = snap(LIMIT + 1, age);
        assert_eq!(run(Mode::Enforce, false, Some(&s)), HOLD, "age {age}");
        assert_eq!(
            run(Mode::Shadow, false, Some(&s)),
            GateDecision {
                deliver: true,
                audit_now: false,
                would_hold: true
            },
            "age {age}"
        );
    }
}

#[test]
fn row_stale_and_under_sends_and_audits_never_blocks() {
    let s = snap(LIMIT, 120_000);
    assert_eq!(
        run(Mode::Enforce, false, Some(&s)),
        GateDecision {
            deliver: true,
            audit_now: true,
            would_hold: false
        }
    );
    assert_eq!(run(Mode::Shadow, false, Some(&s)), SEND);
}

#[test]
fn row_fresh_and_under_sends() {
    let s = snap(LIMIT, 1_000);
    assert_eq!(run(Mode::Enforce, false, Some(&s)), SEND);
    assert_eq!(run(Mode::Shadow, false, Some(&s)), SEND);
}

#[test]
fn the_kill_switch_turns_every_enforcing_guild_to_shadow() {
    let over = snap(LIMIT + 5, 0);
    assert_eq!(
        run(Mode::Enforce, true, Some(&over)),
        GateDecision {
            deliver: true,
            audit_now: false,
            would_hold: true
        }
    );
    assert_eq!(
        run(Mode::Enforce, true, None),
        GateDecision {
            deliver: true,
            audit_now: true,
            would_hold: false
        }
    );
    assert_eq!(
        Mode::Off.effective(true),
        Mode::Off,
        "off stays off: no audits start"
    );
    assert_eq!(Mode::Shadow.effective(true), Mode::Shadow);
    assert_eq!(Mode::Enforce.effective(false), Mode::Enforce);
    assert_eq!(
        Mode::default(),
        Mode::Off,
        "existing guilds are off by default"
    );
}

// ---- Cadence ----

fn cadence(
    mode: Mode,
    removed: bool,
    s: Option<&Snapshot>,
    triggered: bool,
    in_progress: bool,
) -> Option<i64> {
    next_audit(
        CadenceInput {
            mode,
            removed,
            limit: LIMIT,
            snapshot: s,
            triggered,
            in_progress,
            now_ms: NOW,
        },
        &CadencePolicy::default(),
    )
}

#[test]
fn audits_every_60_s_and_every_30_s_while_over() {
    let under = snap(LIMIT, 0);
    let over = snap(LIMIT + 1, 0);
    assert_eq!(
        cadence(Mode::Enforce, false, Some(&under), false, false),
        Some(NOW + 60_000)
    );
    assert_eq!(
        cadence(Mode::Shadow, false, Some(&under), false, false),
        Some(NOW + 60_000)
    );
    assert_eq!(
        cadence(Mode::Enforce, false, Some(&over), false, false),
        Some(NOW + 30_000)
    );
}

#[test]
fn audits_at_once_after_a_change_a_refresh_a_first_time_or_mid_walk() {
    let under = snap(LIMIT, 0);
    assert_eq!(
        cadence(Mode::Enforce, false, Some(&under), true, false),
        Some(NOW)
    );
    assert_eq!(
        cadence(Mode::Enforce, false, Some(&under), false, true),
        Some(NOW)
    );
    assert_eq!(cadence(Mode::Enforce, false, None, false, false), Some(NOW));
}

#[test]
fn no_audit_ever_for_mode_off_or_a_removed_guild_even_when_triggered() {
    let over = snap(LIMIT + 1, 0);
    for (mode, removed) in [
        (Mode::Off, false),
        (Mode::Enforce, true),
        (Mode::Shadow, true),
    ] {
        for triggered in [false, true] {
            for in_progress in [false, true] {
                assert_eq!(
                    cadence(mode, removed, Some(&over), triggered, in_progress),
                    None
                );
                assert_eq!(cadence(mode, removed, None, triggered, in_progress), None);
            }
        }
    }
}

#[test]
fn failed_audits_back_off_to_ten_minutes() {
    let mut s = snap(LIMIT, 0);
    let mut seen = Vec::new();
    for _ in 0..8 {
        s.record_error(GuildError::new(ErrorCode::MemberListForbidden, "x"), NOW);
        seen.push(cadence(Mode::Enforce, false, Some(&s), false, false).unwrap() - NOW);
    }
    assert_eq!(
        seen,
        [60_000, 120_000, 240_000, 480_000, 600_000, 600_000, 600_000, 600_000]
    );
    assert_eq!(
        cadence(Mode::Enforce, false, Some(&s), true, false),
        Some(NOW),
        "refresh now still wins"
    );
}

// ---- Held jobs ----

const DAY: i64 = 24 * 3_600_000;

#[test]
fn held_jobs_leave_in_order_when_back_under() {
    let p = HoldPolicy::default();
    let mut q = HeldQueue::default();
    for (i, job) in ["a", "b", "c"].into_iter().enumerate() {
        assert_eq!(
            q.offer(job, i as i64, false, i as i64, &p),
            Released::default()
        );
    }
    assert_eq!(q.len(), 3);
    let out = q.release(100, &p);
    assert_eq!(out.deliver, vec!["a", "b", "c"]);
    assert!(q.is_empty());
}

#[test]
fn a_job_the_gate_lets_through_waits_behind_held_ones() {
    let p = HoldPolicy::default();
    let mut q = HeldQueue::default();
    q.offer("a", 0, false, 0, &p);
    q.offer("b", 1, false, 1, &p);
    let out = q.offer("c", 2, true, 2, &p);
    assert_eq!(out.deliver, vec!["a", "b", "c"]);
    assert!(q.is_empty());
    assert_eq!(q.offer("d", 3, true, 3, &p).deliver, vec!["d"]);
}

#[test]
fn jobs_older_than_the_max_age_are_dropped_as_expired_while_paused_and_counted() {
    let p = HoldPolicy::default();
    assert_eq!(p.max_age_ms, DAY);
    let mut q = HeldQueue::default();
    q.offer("old", 0, false, 0, &p);
    q.offer("edge", 1, false, 1, &p);
    q.offer("new", DAY, false, DAY, &p);
    // At DAY + 1: "old" is DAY + 1 old (dropped), "edge" exactly DAY (kept).
    let out = q.release(DAY + 1, &p);
    assert_eq!(out.deliver, vec!["edge", "new"]);
    assert_eq!(out.expired, vec!["old"]);
    assert_eq!(q.expired_total, 1);
    assert_eq!(EXPIRED_WHILE_PAUSED, "expired_while_paused");
}

#[test]
fn a_sweep_while_still_over_drops_only_the_too_old_and_survives_a_restart() {
    let p = HoldPolicy { max_age_ms: 100 };
    let mut q = HeldQueue::default();
    q.offer(1, 0, false, 0, &p);
    q.offer(2, 50, false, 50, &p);
    q.offer(3, 90, false, 90, &p);
    assert_eq!(q.next_expiry_ms(&p), Some(101));
    assert_eq!(q.sweep(140, &p), vec![1]);
    let q2: HeldQueue<i32> = serde_json::from_str(&serde_json::to_string(&q).unwrap()).unwrap();
    assert_eq!(q2, q);
    let mut q = q2;
    assert_eq!(q.expired_total, 1);
    assert_eq!(q.release(145, &p).deliver, vec![2, 3]);
    assert_eq!(q.oldest_created_at_ms(), None);
}

// ---- The notice ----

fn ch(ids: &[u64]) -> Vec<Id<twilight_model::id::marker::ChannelMarker>> {
    ids.iter().map(|i| Id::new(*i)).collect()
}

#[test]
fn the_notice_is_posted_once_per_channel_and_survives_a_restart() {
    let targets = ch(&[10, 11]);
    let mut n = NoticeState::default();
    assert_eq!(n.due(true, Some(Verdict::Over), &targets), targets);
    n.record_posted(Id::new(10));
    // The post in 11 failed: still due; 10 is not.
    assert_eq!(n.due(true, Some(Verdict::Over), &targets), ch(&[11]));
    n.record_posted(Id::new(11));
    let mut n: NoticeState = serde_json::from_str(&serde_json::to_string(&n).unwrap()).unwrap();
    assert!(
        n.due(true, Some(Verdict::Over), &targets).is_empty(),
        "restart does not repost"
    );
    // A stale/failed audit (no verdict) or a switch to shadow is not "back under".
    assert!(n.due(true, None, &targets).is_empty());
    assert!(n.due(false, Some(Verdict::Over), &targets).is_empty());
    assert!(n.due(true, Some(Verdict::Unknown), &targets).is_empty());
    assert!(n.due(true, Some(Verdict::Over), &targets).is_empty());
    // A target added while over gets its own notice.
    assert_eq!(
        n.due(true, Some(Verdict::Over), &ch(&[10, 11, 12])),
        ch(&[12])
    );
    // Back under, then over again: posted again.
    assert!(n.due(true, Some(Verdict::Under), &targets).is_empty());
    assert_eq!(n.due(true, Some(Verdict::Over), &targets), targets);
}

#[test]
fn shadow_mode_posts_no_notice() {
    let mut n = NoticeState::default();
    assert!(n.due(false, Some(Verdict::Over), &ch(&[10])).is_empty());
}

#[test]
fn the_notice_says_what_happened_and_what_to_do() {
    let t = notice_text(12, 10, 24);
    assert!(t.contains("Mirroring paused: seat limit exceeded"));
    assert!(t.contains("12 members"));
    assert!(t.contains("allows 10"));
    assert!(t.contains("at least 2 members"));
    assert!(t.contains("24 h"));
    assert!(t.chars().count() < 2_000);
    assert!(notice_text(11, 10, 24).contains("at least 1 member "));
}
