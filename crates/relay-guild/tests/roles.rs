//! Role sync: desired roles, the diff and its ledger, lapse, manageability, reasons, relink and
//! the drift pass.

mod common;

use common::*;
use relay_guild::roles::*;
use relay_guild::ErrorCode;
use std::collections::BTreeSet;
use twilight_model::id::marker::RoleMarker;
use twilight_model::id::Id;

fn set(ids: &[u64]) -> BTreeSet<Id<RoleMarker>> {
    ids.iter().map(|i| Id::new(*i)).collect()
}

fn roles(ids: &[u64]) -> Desired {
    Desired::Roles { roles: set(ids) }
}

fn ledger(ids: &[u64]) -> Ledger {
    Ledger {
        granted: set(ids),
        kicked_for_lapse_at_ms: None,
    }
}

// ---- Desired roles ----

#[test]
fn roles_are_per_tenant_and_per_guild_never_global() {
    let gold = TierId::new("gold");
    let mut map = TierRoleMap::default();
    map.set("acme", Id::new(1), gold.clone(), [Id::new(11)]);
    map.set("acme", Id::new(2), gold.clone(), [Id::new(21)]);
    map.set("other", Id::new(1), gold.clone(), [Id::new(31)]);
    map.set("acme", Id::new(1), TierId::new("silver"), [Id::new(12)]);
    assert_eq!(map.roles("acme", Id::new(1), &gold), set(&[11]));
    assert_eq!(map.roles("acme", Id::new(2), &gold), set(&[21]));
    assert_eq!(map.roles("other", Id::new(1), &gold), set(&[31]));
    assert_eq!(map.roles("other", Id::new(2), &gold), set(&[]));
    assert_eq!(
        map.roles("acme", Id::new(1), &TierId::new("bronze")),
        set(&[])
    );
    assert_eq!(map.all_roles("acme", Id::new(1)), set(&[11, 12]));
}

#[test]
fn desired_state_follows_standing_and_lapse_action() {
    let mut map = TierRoleMap::default();
    map.set("t", Id::new(1), TierId::new("gold"), [Id::new(11)]);
    let entitled = Standing::Entitled {
        tier: TierId::new("gold"),
        grace_until_ms: None,
    };
    let lapsed = Standing::Lapsed {
        since_ms: 500,
        cause: EndCause::NonPayment,
    };
    let d = |s: &Standing, a| desired_for(s, a, &map, "t", Id::new(1));
    assert_eq!(d(&entitled, LapseAction::Kick), roles(&[11]));
    assert_eq!(d(&lapsed, LapseAction::RemoveRoles), roles(&[]));
    assert_eq!(
        d(&lapsed, LapseAction::Kick),
        Desired::Kick { lapse_at_ms: 500 }
    );
    assert_eq!(d(&lapsed, LapseAction::Nothing), Desired::Untouched);
    assert_eq!(d(&Standing::Never, LapseAction::Nothing), roles(&[]));
    assert_eq!(LapseAction::default(), LapseAction::RemoveRoles);
}

// ---- The diff ----

#[test]
fn grants_what_is_missing_and_records_it() {
    let plan = converge(&roles(&[11]), Some(&set(&[])), &Ledger::default());
    assert_eq!(plan.grants().collect::<Vec<_>>(), vec![Id::new(11)]);
    let mut actual = Some(set(&[]));
    let mut l = Ledger::default();
    plan.apply_to(&mut actual, &mut l);
    assert_eq!(l.granted, set(&[11]));
    assert!(converge(&roles(&[11]), actual.as_ref(), &l).is_empty());
}

#[test]
fn a_hand_given_role_survives_a_lapse() {
    // 11 was given by an admin (not in the ledger), 12 by us.
    let plan = converge(&roles(&[]), Some(&set(&[11, 12, 99])), &ledger(&[12]));
    assert_eq!(plan.revokes().collect::<Vec<_>>(), vec![Id::new(12)]);
    assert_eq!(plan.grants().count(), 0);
}

#[test]
fn a_desired_role_already_held_by_hand_is_not_adopted() {
    let plan = converge(&roles(&[11]), Some(&set(&[11])), &Ledger::default());
    assert!(
        plan.is_empty(),
        "not granted by us, so not ours to take later"
    );
    let later = converge(&roles(&[]), Some(&set(&[11])), &Ledger::default());
    assert!(later.is_empty());
}

#[test]
fn an_upgrade_swaps_roles() {
    let plan = converge(&roles(&[21]), Some(&set(&[11, 5])), &ledger(&[11]));
    assert_eq!(plan.grants().collect::<Vec<_>>(), vec![Id::new(21)]);
    assert_eq!(plan.revokes().collect::<Vec<_>>(), vec![Id::new(11)]);
}

#[test]
fn an_admin_removed_role_we_granted_is_granted_again_or_forgotten() {
    let plan = converge(&roles(&[11]), Some(&set(&[])), &ledger(&[11]));
    assert_eq!(plan.grants().collect::<Vec<_>>(), vec![Id::new(11)]);
    let plan = converge(&roles(&[]), Some(&set(&[])), &ledger(&[11]));
    assert!(!plan.has_calls());
    assert_eq!(plan.forget, set(&[11]));
}

#[test]
fn nothing_is_planned_for_someone_not_in_the_guild() {
    assert!(converge(&roles(&[11]), None, &ledger(&[12])).is_empty());
    assert!(converge(&Desired::Kick { lapse_at_ms: 1 }, None, &ledger(&[12])).is_empty());
}

#[test]
fn lapse_action_nothing_leaves_the_member_alone() {
    assert!(converge(&Desired::Untouched, Some(&set(&[11])), &ledger(&[11])).is_empty());
}

#[test]
fn kick_happens_once_per_lapse() {
    let d = Desired::Kick { lapse_at_ms: 500 };
    let plan = converge(&d, Some(&set(&[11])), &ledger(&[11]));
    assert_eq!(plan.kick, Some(500));
    assert!(plan.changes.is_empty());
    let mut actual = Some(set(&[11]));
    let mut l = ledger(&[11]);
    plan.apply_to(&mut actual, &mut l);
    assert_eq!(actual, None);
    assert_eq!(l.kicked_for_lapse_at_ms, Some(500));
    assert!(l.granted.is_empty());
    // They come back (say as a free member): not kicked again for the same lapse.
    let back = converge(&d, Some(&set(&[])), &l);
    assert!(back.is_empty());
    // A later lapse (after a new purchase ended) kicks again.
    assert_eq!(
        converge(&Desired::Kick { lapse_at_ms: 900 }, Some(&set(&[])), &l).kick,
        Some(900)
    );
}

// ---- Lapse ----

const DAY: i64 = 86_400_000;

fn ent(tier: &str, start: i64, end: Option<i64>, cause: Option<EndCause>) -> Entitlement {
    Entitlement {
        tier: TierId::new(tier),
        starts_at_ms: start,
        ends_at_ms: end,
        end_cause: cause,
    }
}

fn rank(t: &TierId) -> i64 {
    match t.0.as_str() {
        "gold" => 2,
        "silver" => 1,
        _ => 0,
    }
}

fn settings(grace_days: u32) -> LapseSettings {
    LapseSettings {
        action: LapseAction::RemoveRoles,
        grace_days,
    }
}

#[test]
fn non_payment_keeps_the_tier_through_the_grace_period() {
    let h = [ent("gold", 0, Some(10 * DAY), Some(EndCause::NonPayment))];
    let s = settings(3);
    let e = evaluate(&h, 5 * DAY, &s, rank);
    assert_eq!(
        e.standing,
        Standing::Entitled {
            tier: TierId::new("gold"),
            grace_until_ms: None
        }
    );
    assert_eq!(e.next_change_at_ms, Some(13 * DAY));
    let e = evaluate(&h, 11 * DAY, &s, rank);
    assert_eq!(
        e.standing,
        Standing::Entitled {
            tier: TierId::new("gold"),
            grace_until_ms: Some(13 * DAY)
        }
    );
    let e = evaluate(&h, 13 * DAY, &s, rank);
    assert_eq!(
        e.standing,
        Standing::Lapsed {
            since_ms: 13 * DAY,
            cause: EndCause::NonPayment
        }
    );
    assert_eq!(e.next_change_at_ms, None);
    // An end with no cause is a period that ran out: non-payment, with grace.
    let h = [ent("gold", 0, Some(10 * DAY), None)];
    assert!(matches!(
        evaluate(&h, 12 * DAY, &s, rank).standing,
        Standing::Entitled { .. }
    ));
    // Grace 0: lapsed at the end.
    assert!(matches!(
        evaluate(&h, 10 * DAY, &settings(0), rank).standing,
        Standing::Lapsed { .. }
    ));
}

#[test]
fn a_dispute_or_an_operator_revocation_acts_at_once() {
    for cause in [EndCause::Dispute, EndCause::OperatorRevoked] {
        let h = [ent("gold", 0, Some(10 * DAY), Some(cause))];
        let e = evaluate(&h, 10 * DAY, &settings(7), rank);
        assert_eq!(
            e.standing,
            Standing::Lapsed {
                since_ms: 10 * DAY,
                cause
            }
        );
        assert!(matches!(
            evaluate(&h, 10 * DAY - 1, &settings(7), rank).standing,
            Standing::Entitled { .. }
        ));
    }
}

#[test]
fn the_highest_ranked_active_tier_decides() {
    let h = [
        ent("silver", 0, Some(30 * DAY), None),
        ent("gold", 10 * DAY, None, None),
    ];
    assert_eq!(
        evaluate(&h, 5 * DAY, &settings(0), rank).standing,
        Standing::Entitled {
            tier: TierId::new("silver"),
            grace_until_ms: None
        }
    );
    assert_eq!(
        evaluate(&h, 5 * DAY, &settings(0), rank).next_change_at_ms,
        Some(10 * DAY)
    );
    assert_eq!(
        evaluate(&h, 11 * DAY, &settings(0), rank).standing,
        Standing::Entitled {
            tier: TierId::new("gold"),
            grace_until_ms: None
        }
    );
}

#[test]
fn never_entitled_and_not_yet_started() {
    assert_eq!(
        evaluate(&[], 0, &settings(3), rank).standing,
        Standing::Never
    );
    let h = [ent("gold", 100, None, None)];
    let e = evaluate(&h, 50, &settings(3), rank);
    assert_eq!(e.standing, Standing::Never);
    assert_eq!(e.next_change_at_ms, Some(100));
}

// ---- Manageability ----

fn bot_guild(bot_perms: u64) -> relay_guild::access::GuildFacts {
    let mut managed = role(40, 0, 1);
    managed.managed = true;
    guild(
        0,
        vec![
            role(2, bot_perms, 5), // the bot's role
            role(11, 0, 3),        // below
            role(12, 0, 7),        // above
            role(13, 0, 5),        // same position, higher id than 2: below
            managed,
        ],
    )
}

#[test]
fn roles_the_bot_cannot_manage_are_named() {
    let g = bot_guild(MANAGE_ROLES);
    let bot = facts(900, &[2]);
    let code = |r| role_problem(&g, &bot, Id::new(r)).map(|e| e.code);
    assert_eq!(code(11), None);
    assert_eq!(code(13), None, "equal position, younger role ranks lower");
    assert_eq!(code(12), Some(ErrorCode::RoleAboveBot));
    assert_eq!(code(2), Some(ErrorCode::RoleAboveBot), "its own top role");
    assert_eq!(code(40), Some(ErrorCode::RoleManaged));
    assert_eq!(code(GUILD), Some(ErrorCode::RoleEveryone));
    assert_eq!(code(77), Some(ErrorCode::RoleUnknown));
    let no_perm = bot_guild(0);
    assert_eq!(
        role_problem(&no_perm, &bot, Id::new(11)).map(|e| e.code),
        Some(ErrorCode::RoleMissingManageRoles)
    );
    let admin = bot_guild(ADMIN);
    assert_eq!(role_problem(&admin, &bot, Id::new(11)), None);
    assert_eq!(
        role_problem(&admin, &bot, Id::new(12)).map(|e| e.code),
        Some(ErrorCode::RoleAboveBot),
        "administrator does not lift the hierarchy"
    );
}

#[test]
fn an_unmanageable_role_is_reported_and_the_rest_goes_on() {
    let g = bot_guild(MANAGE_ROLES | KICK);
    let bot = facts(900, &[2]);
    let who = facts(500, &[12]);
    let plan = converge(&roles(&[11, 12]), Some(&set(&[5])), &ledger(&[5]));
    let s = screen(plan, &g, &bot, &who);
    assert_eq!(s.plan.grants().collect::<Vec<_>>(), vec![Id::new(11)]);
    assert_eq!(s.plan.revokes().count(), 0);
    assert_eq!(s.blocked.len(), 2, "12 above the bot, 5 unknown");
    assert!(s
        .blocked
        .iter()
        .any(|e| e.code == ErrorCode::RoleAboveBot && e.message.contains("12")));
    assert!(s.blocked.iter().any(|e| e.code == ErrorCode::RoleUnknown));
}

#[test]
fn kicks_the_bot_cannot_make_are_named() {
    let g = bot_guild(KICK);
    let bot = facts(900, &[2]);
    assert_eq!(kick_problem(&g, &bot, &facts(500, &[11])), None);
    assert_eq!(kick_problem(&g, &bot, &facts(500, &[])), None);
    assert_eq!(
        kick_problem(&g, &bot, &facts(500, &[12])).map(|e| e.code),
        Some(ErrorCode::KickForbidden)
    );
    assert_eq!(
        kick_problem(&g, &bot, &facts(OWNER, &[])).map(|e| e.code),
        Some(ErrorCode::KickForbidden)
    );
    assert!(kick_problem(&bot_guild(0), &bot, &facts(500, &[])).is_some());
    let plan = converge(
        &Desired::Kick { lapse_at_ms: 1 },
        Some(&set(&[12])),
        &Ledger::default(),
    );
    let s = screen(plan, &g, &bot, &facts(500, &[12]));
    assert_eq!(s.plan.kick, None);
    assert_eq!(s.blocked[0].code, ErrorCode::KickForbidden);
}

// ---- Audit reasons ----

#[test]
fn the_audit_reason_names_the_customer_and_why() {
    let r = audit_reason(
        "Ada",
        "cus_42",
        &ChangeReason::Entitled {
            tier: TierId::new("gold"),
        },
    );
    assert_eq!(
        r.as_str(),
        "Signal Relay: customer Ada (cus_42): entitled to tier gold"
    );
    let r = audit_reason(
        "Ada",
        "cus_42",
        &ChangeReason::Lapsed {
            cause: EndCause::Dispute,
        },
    );
    assert!(r.as_str().ends_with("entitlement ended (dispute)"));
}

#[test]
fn the_audit_reason_fits_512_characters_once_url_encoded() {
    let name = "🚀".repeat(300);
    let r = audit_reason(
        &name,
        "cus_42",
        &ChangeReason::TierChanged {
            tier: TierId::new("x".repeat(600)),
        },
    );
    assert!(r.header_value().len() <= 512, "{}", r.header_value().len());
    assert!(r.as_str().contains("(cus_42)"), "the id is never cut");
    assert!(r.as_str().contains("tier changed to x"));
    let r = audit_reason("a\nb", "c", &ChangeReason::Unlinked);
    assert!(!r.as_str().contains('\n'));
}

// ---- Relink / unlink ----

#[test]
fn unlinking_removes_only_what_we_granted() {
    let plan = unlink(Some(&set(&[11, 12])), &ledger(&[11]));
    assert_eq!(plan.revokes().collect::<Vec<_>>(), vec![Id::new(11)]);
    assert_eq!(plan.grants().count(), 0);
}

#[test]
fn relinking_moves_the_roles_to_the_new_account() {
    let (new, old) = relink(
        &roles(&[11]),
        Some(&set(&[])),
        &Ledger::default(),
        Some(&set(&[11, 7])),
        &ledger(&[11]),
    );
    assert_eq!(new.grants().collect::<Vec<_>>(), vec![Id::new(11)]);
    assert_eq!(old.revokes().collect::<Vec<_>>(), vec![Id::new(11)]);
    assert_eq!(old.grants().count(), 0);
}

// ---- The drift pass ----

#[test]
fn the_reconciliation_pass_catches_rejoins_and_removed_roles_and_leaves_others_alone() {
    use relay_guild::paging::MemberCursor;
    let all = [
        member(5, &[], false),      // linked, rejoined: lost role 11
        member(6, &[11, 3], false), // linked, fine
        member(7, &[3], false),     // linked, admin removed our 12
        member(8, &[11], false),    // not linked: not ours
        member(9, &[], true),       // a bot
        member(10, &[11], false),   // linked, lapsed: we granted 11
    ];
    let linked = |u: Id<twilight_model::id::marker::UserMarker>| match u.get() {
        5 | 6 => Some(Linked {
            desired: roles(&[11]),
            ledger: ledger(&[11]),
        }),
        7 => Some(Linked {
            desired: roles(&[12]),
            ledger: ledger(&[12]),
        }),
        9 => Some(Linked {
            desired: roles(&[11]),
            ledger: Ledger::default(),
        }),
        10 => Some(Linked {
            desired: roles(&[]),
            ledger: ledger(&[11]),
        }),
        _ => None,
    };
    let mut pass = Reconciliation::with_cursor(MemberCursor::with_limit(Id::new(GUILD), 4), 0);
    let mut plans = Vec::new();
    let stored = serde_json::to_string(&pass).unwrap();
    pass = serde_json::from_str(&stored).unwrap();
    while let Some(req) = pass.next_request() {
        let page: Vec<_> = all
            .iter()
            .filter(|m| m.user.id.get() > req.after.map_or(0, |a| a.get()))
            .take(usize::from(req.limit))
            .cloned()
            .collect();
        plans.extend(pass.feed(&page, linked).unwrap());
    }
    assert!(pass.is_done());
    let by_user: Vec<_> = plans
        .iter()
        .map(|p| {
            (
                p.user_id.get(),
                p.plan.grants().map(|r| r.get()).collect::<Vec<_>>(),
                p.plan.revokes().map(|r| r.get()).collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        by_user,
        vec![
            (5, vec![11], vec![]),
            (7, vec![12], vec![]),
            (10, vec![], vec![11])
        ]
    );
    assert_eq!(pass.linked_seen, 4);
    assert_eq!(pass.members_changed, 3);
}

#[test]
fn a_plan_becomes_calls_with_reasons_grants_first() {
    let plan = converge(&roles(&[21]), Some(&set(&[11])), &ledger(&[11]));
    let made = calls(Id::new(GUILD), Id::new(5), &plan, |c| {
        let why = match c {
            Some((_, RoleChange::Grant)) => ChangeReason::Entitled {
                tier: TierId::new("gold"),
            },
            _ => ChangeReason::TierChanged {
                tier: TierId::new("gold"),
            },
        };
        audit_reason("Ada", "cus_1", &why)
    });
    use relay_discord::Endpoint;
    let reqs: Vec<_> = made
        .iter()
        .map(|c| match c {
            RoleCall::Grant(e) => e.request().unwrap(),
            RoleCall::Revoke(e) => e.request().unwrap(),
            RoleCall::Kick(e) => e.request().unwrap(),
        })
        .collect();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].path, "/guilds/1/members/5/roles/21");
    assert_eq!(reqs[1].path, "/guilds/1/members/5/roles/11");
    let reason = |r: &relay_discord::Request| {
        r.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("X-Audit-Log-Reason"))
            .map(|(_, v)| v.clone())
    };
    assert!(reason(&reqs[0])
        .unwrap()
        .contains("entitled%20to%20tier%20gold"));
    assert!(reason(&reqs[1]).unwrap().contains("cus_1"));

    let kick = converge(
        &Desired::Kick { lapse_at_ms: 3 },
        Some(&set(&[])),
        &Ledger::default(),
    );
    let c = calls(Id::new(GUILD), Id::new(5), &kick, |_| {
        audit_reason(
            "Ada",
            "cus_1",
            &ChangeReason::Lapsed {
                cause: EndCause::NonPayment,
            },
        )
    });
    assert!(matches!(c.as_slice(), [RoleCall::Kick(_)]));
}

#[test]
fn the_picker_lists_roles_highest_first_with_warnings() {
    let g = bot_guild(MANAGE_ROLES);
    let bot = facts(900, &[2]);
    let opts = role_options(&g, &bot);
    let order: Vec<_> = opts.iter().map(|o| o.id.get()).collect();
    assert_eq!(order, vec![12, 2, 13, 11, 40]);
    let problem = |id: u64| {
        opts.iter()
            .find(|o| o.id.get() == id)
            .unwrap()
            .problem
            .as_ref()
            .map(|e| e.code)
    };
    assert_eq!(problem(12), Some(ErrorCode::RoleAboveBot));
    assert_eq!(problem(11), None);
    assert_eq!(problem(40), Some(ErrorCode::RoleManaged));
}

fn refused(
    kind: relay_discord::ErrorKind,
    status: u16,
    code: Option<u32>,
) -> relay_discord::DiscordError {
    relay_discord::DiscordError {
        kind,
        error_code: std::borrow::Cow::Borrowed("discord_test"),
        message: "no".into(),
        status: Some(status),
        discord_code: code,
        errors: None,
        field: None,
        retry_at_ms: Some(42),
    }
}

#[test]
fn only_an_accepted_change_moves_the_ledger() {
    use relay_discord::ErrorKind as K;
    let r = Id::new(11);
    let mut l = Ledger::default();
    assert_eq!(
        record_outcome(&mut l, Made::Role(r, RoleChange::Grant), Ok(())),
        ChangeResult::Done
    );
    assert_eq!(l.granted, set(&[11]));

    let mut l2 = l.clone();
    assert_eq!(
        record_outcome(
            &mut l2,
            Made::Role(r, RoleChange::Revoke),
            Err(&refused(K::RateLimited, 429, None))
        ),
        ChangeResult::Retry { at_ms: Some(42) }
    );
    assert_eq!(l2, l);
    match record_outcome(
        &mut l2,
        Made::Role(r, RoleChange::Revoke),
        Err(&refused(K::Permanent, 403, Some(50013))),
    ) {
        ChangeResult::Failed(e) => assert_eq!(e.code, ErrorCode::RoleChangeRefused),
        other => panic!("{other:?}"),
    }
    assert_eq!(l2, l);
    assert_eq!(
        record_outcome(
            &mut l2,
            Made::Role(r, RoleChange::Grant),
            Err(&refused(K::Permanent, 404, Some(10007)))
        ),
        ChangeResult::MemberGone
    );
    match record_outcome(
        &mut l2,
        Made::Role(r, RoleChange::Grant),
        Err(&refused(K::Permanent, 404, Some(10011))),
    ) {
        ChangeResult::Failed(e) => assert_eq!(e.code, ErrorCode::RoleUnknown),
        other => panic!("{other:?}"),
    }
    assert_eq!(l2, l);
    // A kick of someone already gone is done.
    assert_eq!(
        record_outcome(
            &mut l2,
            Made::Kick(7),
            Err(&refused(K::Permanent, 404, Some(10007)))
        ),
        ChangeResult::Done
    );
    assert_eq!(l2.kicked_for_lapse_at_ms, Some(7));
    assert!(l2.granted.is_empty());
}
