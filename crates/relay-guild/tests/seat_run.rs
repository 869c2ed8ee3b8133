//! The seat object's step machine: one guild's audit from the guild call to the notices, as
//! the object drives it (answers fed in, state serialised between every step as storage would).

mod common;

use common::*;
use relay_guild::error::ErrorCode;
use relay_guild::seats::*;
use relay_guild::GuildError;
use serde_json::json;
use twilight_model::channel::Channel;
use twilight_model::guild::{Guild, Member};
use twilight_model::id::Id;

const EVERYONE_VIEW: u64 = VIEW;

fn guild_obj(approx: u64) -> Guild {
    serde_json::from_value(json!({
        "id": GUILD.to_string(), "name": "g", "icon": null, "splash": null,
        "discovery_splash": null, "owner_id": OWNER.to_string(), "afk_channel_id": null,
        "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [
            {"id": GUILD.to_string(), "name": "@everyone", "color": 0, "hoist": false,
             "position": 0, "permissions": EVERYONE_VIEW.to_string(), "managed": false,
             "mentionable": false, "flags": 0},
            {"id": "3", "name": "premium", "color": 0, "hoist": false, "position": 1,
             "permissions": "0", "managed": false, "mentionable": false, "flags": 0}
        ],
        "emojis": [], "features": [], "mfa_level": 0, "application_id": null,
        "system_channel_id": null, "system_channel_flags": 0, "rules_channel_id": null,
        "vanity_url_code": null, "description": null, "banner": null, "premium_tier": 0,
        "preferred_locale": "en-US", "public_updates_channel_id": null, "nsfw_level": 0,
        "premium_progress_bar_enabled": false, "approximate_member_count": approx
    }))
    .expect("guild decodes")
}

/// Channel 10: everyone. Channel 11: @everyone denied, role 3 allowed. Thread 12 in 11.
fn channel(id: u64) -> Channel {
    match id {
        10 => text_channel(10, vec![]),
        11 => text_channel(
            11,
            vec![overwrite(GUILD, 0, 0, VIEW), overwrite(3, 0, VIEW, 0)],
        ),
        12 => thread(12, 11),
        _ => panic!("no channel {id}"),
    }
}

/// Members 1000.. : every 25th a bot, every 3rd has role 3.
fn members(n: u64) -> Vec<Member> {
    (0..n)
        .map(|i| {
            let roles: &[u64] = if i % 3 == 0 { &[3] } else { &[] };
            member(1000 + i, roles, i % 25 == 24)
        })
        .collect()
}

fn cx(now: i64) -> StepCx {
    StepCx {
        now_ms: now,
        kill_switch: false,
        shortcut: true,
    }
}

/// Round-trips through JSON, as the object's storage does between steps.
fn stored(g: &GuildSeats) -> GuildSeats {
    serde_json::from_str(&serde_json::to_string(g).unwrap()).unwrap()
}

/// Runs the audit to its end against a guild of `all`, answering each call as Discord would;
/// returns the notice channels posted to and the number of calls.
fn run(g: &mut GuildSeats, all: &[Member], targets: &[u64], step: StepCx) -> (Vec<u64>, usize) {
    g.begin(targets.iter().map(|t| Id::new(*t)).collect(), step.now_ms);
    let mut posted = Vec::new();
    let mut calls = 0;
    while let Some(call) = g.next_call() {
        calls += 1;
        assert!(calls < 100, "the audit does not end");
        match call {
            Call::Guild { .. } => {
                g.on_guild(&guild_obj(all.len() as u64), step);
            }
            Call::Channel { channel_id } => {
                g.on_channel(channel(channel_id.get()), step);
            }
            Call::Members(req) => {
                let after = req.after.map_or(0, |a| a.get());
                let page: Vec<Member> = all
                    .iter()
                    .filter(|m| m.user.id.get() > after)
                    .take(usize::from(req.limit))
                    .cloned()
                    .collect();
                g.on_members(&page, step);
            }
            Call::Notice {
                channel_id,
                text,
                nonce,
            } => {
                assert!(text.contains("Mirroring paused: seat limit exceeded"));
                assert!(nonce.len() <= 25);
                posted.push(channel_id.get());
                g.on_notice_posted();
            }
        }
        *g = stored(g);
    }
    (posted, calls)
}

fn seats(limit: u64, mode: Mode) -> GuildSeats {
    GuildSeats::new(Id::new(GUILD), SeatConfig { limit, mode })
}

#[test]
fn a_2500_member_guild_is_counted_exactly_in_three_pages() {
    let all = members(2_500);
    let mut g = seats(10, Mode::Enforce);
    let (_, calls) = run(&mut g, &all, &[10], cx(1_000));
    // guild + channel + 3 pages + 1 notice
    assert_eq!(calls, 6);
    assert_eq!(g.snapshot.count, Some(SeatCount::exact(2_400)));
    assert_eq!(g.snapshot.checked_at_ms, Some(1_000));
}

#[test]
fn threads_are_judged_by_their_parent_fetched_once() {
    let all = members(100);
    let mut g = seats(0, Mode::Shadow);
    let (posted, calls) = run(&mut g, &all, &[12, 11], cx(0));
    // guild, thread 12, its parent 11, one page (11 already fetched)
    assert_eq!(calls, 4);
    assert!(posted.is_empty(), "shadow posts nothing");
    // Role 3 holders that are not bots: i % 3 == 0 and i % 25 != 24.
    let expected = (0..100u64).filter(|i| i % 3 == 0 && i % 25 != 24).count() as u64;
    assert_eq!(g.snapshot.count, Some(SeatCount::exact(expected)));
}

#[test]
fn over_the_limit_posts_one_notice_per_target_once_until_back_under() {
    let all = members(200);
    let mut g = seats(50, Mode::Enforce);
    let (posted, _) = run(&mut g, &all, &[10, 11, 10], cx(0));
    assert_eq!(posted, vec![10, 11], "once per distinct target");
    assert!(!g.gate_view(false, SeatPolicy::default()).decide(1).deliver);

    // Still over (also after a "restart": the state is what storage kept): nothing again.
    let mut g = stored(&g);
    let (posted, _) = run(&mut g, &all, &[10, 11], cx(60_000));
    assert!(posted.is_empty());
    assert_eq!(g.notices_posted, 2);

    // Back under: the episode ends and the gate sends.
    let few = members(40);
    let (posted, _) = run(&mut g, &few, &[10, 11], cx(120_000));
    assert!(posted.is_empty());
    assert!(g.notice.posted.is_empty(), "the notice state resets");
    assert!(
        g.gate_view(false, SeatPolicy::default())
            .decide(120_001)
            .deliver
    );

    // Over again: a new notice.
    let (posted, _) = run(&mut g, &all, &[10, 11], cx(180_000));
    assert_eq!(posted, vec![10, 11]);
}

#[test]
fn the_shortcut_proves_within_limit_without_paging() {
    let all = members(30);
    let mut g = seats(30, Mode::Enforce);
    let (_, calls) = run(&mut g, &all, &[10], cx(0));
    assert_eq!(calls, 1);
    assert_eq!(g.snapshot.count, Some(SeatCount::at_most(30)));
    let mut no_shortcut = seats(30, Mode::Enforce);
    let step = StepCx {
        shortcut: false,
        ..cx(0)
    };
    let (_, calls) = run(&mut no_shortcut, &all, &[10], step);
    assert_eq!(calls, 3);
    assert_eq!(no_shortcut.snapshot.count, Some(SeatCount::exact(29)));
}

#[test]
fn the_kill_switch_turns_enforce_into_shadow_and_posts_nothing() {
    let all = members(200);
    let mut g = seats(50, Mode::Enforce);
    let step = StepCx {
        kill_switch: true,
        ..cx(0)
    };
    let (posted, _) = run(&mut g, &all, &[10], step);
    assert!(posted.is_empty());
    let view = g.gate_view(true, SeatPolicy::default());
    assert_eq!(view.effective_mode(), Mode::Shadow);
    let d = view.decide(1);
    assert!(d.deliver && d.would_hold);
    let d = g.gate_view(false, SeatPolicy::default()).decide(1);
    assert!(!d.deliver);
}

#[test]
fn a_refused_member_list_is_member_list_forbidden_never_zero() {
    let mut g = seats(10, Mode::Enforce);
    g.begin(vec![Id::new(10)], 0);
    g.on_guild(&guild_obj(500), cx(0));
    g.on_channel(channel(10), cx(0));
    assert!(matches!(g.next_call(), Some(Call::Members(_))));
    g.on_failure(
        Failure::Fail(GuildError::new(ErrorCode::MemberListForbidden, "403")),
        5,
    );
    assert_eq!(g.stage, None);
    assert_eq!(g.snapshot.count, None);
    assert_eq!(
        g.snapshot.last_error.as_ref().map(|e| e.code),
        Some(ErrorCode::MemberListForbidden)
    );
    let view = g.gate_view(false, SeatPolicy::default());
    assert_eq!(view.snapshot_view(6).seats_used, None);
    assert!(!view.decide(6).deliver, "enforce holds without a count");
    // Failures back off: the next audit is not at once.
    let due = g.due_at(5, &CadencePolicy::default()).unwrap();
    assert!(due > 5);
}

#[test]
fn a_wait_keeps_the_stage_and_sets_the_due_time() {
    let all = members(1_500);
    let mut g = seats(10, Mode::Enforce);
    g.begin(vec![Id::new(10)], 0);
    g.on_guild(&guild_obj(1_500), cx(0));
    g.on_channel(channel(10), cx(0));
    let page: Vec<Member> = all[..1000].to_vec();
    g.on_members(&page, cx(0));
    g.on_failure(Failure::Wait { at_ms: 7_000 }, 1);
    let g = stored(&g);
    assert_eq!(g.due_at(1, &CadencePolicy::default()), Some(7_000));
    match g.next_call() {
        Some(Call::Members(req)) => assert_eq!(req.after, Some(all[999].user.id)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn transient_faults_are_retried_a_bounded_number_of_times() {
    let mut g = seats(10, Mode::Enforce);
    g.begin(vec![Id::new(10)], 0);
    for i in 0..20 {
        if g.stage.is_none() {
            break;
        }
        g.on_failure(Failure::Retry { at_ms: i }, i);
    }
    assert_eq!(g.stage, None);
    assert_eq!(
        g.snapshot.last_error.as_ref().map(|e| e.code),
        Some(ErrorCode::AuditFailed)
    );
}

#[test]
fn mode_off_schedules_nothing_even_when_asked() {
    let mut g = seats(10, Mode::Off);
    assert_eq!(g.due_at(0, &CadencePolicy::default()), None);
    assert!(!g.trigger());
    assert_eq!(g.due_at(0, &CadencePolicy::default()), None);
    // Switching an auditing guild off drops the audit.
    g.configure(SeatConfig {
        limit: 10,
        mode: Mode::Enforce,
    });
    assert_eq!(g.due_at(0, &CadencePolicy::default()), Some(0));
    g.begin(vec![Id::new(10)], 0);
    g.configure(SeatConfig {
        limit: 10,
        mode: Mode::Off,
    });
    assert_eq!(g.stage, None);
    assert_eq!(g.due_at(0, &CadencePolicy::default()), None);
}

#[test]
fn cadence_is_60_s_30_s_while_over_and_at_once_when_triggered() {
    let c = CadencePolicy::default();
    let mut g = seats(1_000, Mode::Enforce);
    run(&mut g, &members(2_000), &[10], cx(0));
    assert_eq!(g.due_at(0, &c), Some(30_000), "over: 30 s");
    run(&mut g, &members(10), &[10], cx(30_000));
    assert_eq!(g.due_at(30_000, &c), Some(90_000), "under: 60 s");
    assert!(g.trigger());
    assert_eq!(g.due_at(30_001, &c), Some(30_001));
}

#[test]
fn a_refused_notice_is_skipped_and_stays_due_for_the_next_audit() {
    let all = members(200);
    let mut g = seats(50, Mode::Enforce);
    g.begin(vec![Id::new(10), Id::new(11)], 0);
    while let Some(call) = g.next_call() {
        match call {
            Call::Guild { .. } => {
                g.on_guild(&guild_obj(200), cx(0));
            }
            Call::Channel { channel_id } => {
                g.on_channel(channel(channel_id.get()), cx(0));
            }
            Call::Members(req) => {
                let after = req.after.map_or(0, |a| a.get());
                let page: Vec<Member> = all
                    .iter()
                    .filter(|m| m.user.id.get() > after)
                    .cloned()
                    .collect();
                g.on_members(&page, cx(0));
            }
            Call::Notice { channel_id, .. } if channel_id.get() == 10 => {
                g.on_failure(
                    Failure::Fail(GuildError::new(ErrorCode::AuditFailed, "403")),
                    0,
                );
            }
            Call::Notice { .. } => g.on_notice_posted(),
        }
    }
    assert_eq!(
        g.notice.posted.iter().map(|c| c.get()).collect::<Vec<_>>(),
        vec![11]
    );
    assert!(g.snapshot.last_error.is_none(), "a notice is not the audit");
    let (posted, _) = run(&mut g, &all, &[10, 11], cx(30_000));
    assert_eq!(posted, vec![10]);
}

#[test]
fn a_seat_config_is_an_integer_limit_and_one_of_three_modes() {
    assert_eq!(
        SeatConfig::from_json(&json!({"limit": 25, "mode": "shadow"})),
        Ok(SeatConfig {
            limit: 25,
            mode: Mode::Shadow
        })
    );
    assert_eq!(
        SeatConfig::from_json(&json!({"limit": 0, "mode": "enforce"})).map(|c| c.limit),
        Ok(0)
    );
    let fields = |v| {
        SeatConfig::from_json(&v)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        fields(json!({"limit": -1, "mode": "on"})),
        vec!["limit", "mode"]
    );
    assert_eq!(fields(json!({"limit": 2.5, "mode": "off"})), vec!["limit"]);
    assert_eq!(fields(json!({"limit": "10", "mode": "off"})), vec!["limit"]);
    assert_eq!(fields(json!({"mode": "off"})), vec!["limit"]);
    assert_eq!(
        fields(json!({"limit": 1, "mode": "off", "seats": 3})),
        vec!["seats"]
    );
    assert_eq!(fields(json!([])), vec!["body"]);
}

#[test]
fn a_guild_the_bot_left_is_not_audited_again_until_asked() {
    let c = CadencePolicy::default();
    let mut g = seats(10, Mode::Enforce);
    g.begin(vec![Id::new(10)], 0);
    g.detach("the bot is no longer in the guild", 5);
    assert_eq!(g.stage, None);
    assert_eq!(
        g.due_at(5, &c),
        None,
        "no audit re-queues for a removed guild"
    );
    assert_eq!(
        g.snapshot.last_error.as_ref().map(|e| e.code),
        Some(ErrorCode::GuildUnavailable)
    );
    let g2 = stored(&g);
    assert_eq!(g2.due_at(1_000_000, &c), None);
    assert!(g.trigger(), "an operator may ask again");
    assert_eq!(g.due_at(6, &c), Some(6));
}
