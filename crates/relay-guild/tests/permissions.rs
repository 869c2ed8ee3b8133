//! Who can VIEW a channel, against cases computed by hand from Discord's algorithm.

mod common;

use common::*;
use relay_guild::access::{ChannelAccess, GuildFacts};
use relay_guild::ErrorCode;
use serde_json::json;
use twilight_model::guild::Guild;
use twilight_model::id::Id;

#[test]
fn the_owner_sees_a_channel_everyone_is_denied() {
    let g = guild(VIEW, vec![]);
    let chans = [text_channel(10, vec![overwrite(GUILD, 0, 0, VIEW)])];
    let c = access(&chans, 10);
    assert!(g.can_view(&facts(OWNER, &[]), &c));
    assert!(!g.can_view(&facts(200, &[]), &c));
}

#[test]
fn administrator_ignores_every_overwrite() {
    let g = guild(0, vec![role(2, ADMIN, 1)]);
    let chans = [text_channel(
        10,
        vec![
            overwrite(GUILD, 0, 0, VIEW),
            overwrite(2, 0, 0, VIEW),
            overwrite(201, 1, 0, VIEW),
        ],
    )];
    let c = access(&chans, 10);
    assert!(g.can_view(&facts(201, &[2]), &c));
    assert!(!g.can_view(&facts(202, &[]), &c));
}

#[test]
fn everyone_denied_and_a_role_allowed() {
    let g = guild(VIEW, vec![role(3, 0, 1)]);
    let chans = [text_channel(
        10,
        vec![overwrite(GUILD, 0, 0, VIEW), overwrite(3, 0, VIEW, 0)],
    )];
    let c = access(&chans, 10);
    assert!(g.can_view(&facts(201, &[3]), &c));
    assert!(!g.can_view(&facts(202, &[]), &c));
}

#[test]
fn a_member_overwrite_denies_one_member() {
    let g = guild(VIEW, vec![]);
    let chans = [text_channel(10, vec![overwrite(201, 1, 0, VIEW)])];
    let c = access(&chans, 10);
    assert!(!g.can_view(&facts(201, &[]), &c));
    assert!(g.can_view(&facts(202, &[]), &c));
}

#[test]
fn a_member_allow_beats_a_role_deny() {
    let g = guild(VIEW, vec![role(3, 0, 1)]);
    let chans = [text_channel(
        10,
        vec![overwrite(3, 0, 0, VIEW), overwrite(202, 1, VIEW, 0)],
    )];
    let c = access(&chans, 10);
    assert!(g.can_view(&facts(202, &[3]), &c));
    assert!(!g.can_view(&facts(203, &[3]), &c));
}

#[test]
fn role_overwrites_are_ored_and_allow_wins_among_roles() {
    let g = guild(VIEW, vec![role(3, 0, 1), role(4, 0, 2)]);
    let chans = [text_channel(
        10,
        vec![overwrite(3, 0, 0, VIEW), overwrite(4, 0, VIEW, 0)],
    )];
    let c = access(&chans, 10);
    assert!(g.can_view(&facts(201, &[3, 4]), &c));
    assert!(!g.can_view(&facts(202, &[3]), &c));
}

#[test]
fn a_member_deny_beats_a_role_allow() {
    let g = guild(0, vec![role(3, 0, 1)]);
    let chans = [text_channel(
        10,
        vec![overwrite(3, 0, VIEW, 0), overwrite(201, 1, 0, VIEW)],
    )];
    let c = access(&chans, 10);
    assert!(!g.can_view(&facts(201, &[3]), &c));
    assert!(g.can_view(&facts(202, &[3]), &c));
}

#[test]
fn guild_level_view_comes_from_everyone_or_a_role() {
    let g = guild(0, vec![role(5, VIEW, 1)]);
    let chans = [text_channel(10, vec![])];
    let c = access(&chans, 10);
    assert!(g.can_view(&facts(201, &[5]), &c));
    assert!(!g.can_view(&facts(202, &[]), &c));
    // An @everyone overwrite can open a channel the guild level does not.
    let chans = [text_channel(11, vec![overwrite(GUILD, 0, VIEW, 0)])];
    assert!(g.can_view(&facts(202, &[]), &access(&chans, 11)));
}

#[test]
fn a_deleted_role_grants_nothing() {
    let g = guild(0, vec![]);
    let chans = [text_channel(10, vec![])];
    assert!(!g.can_view(&facts(201, &[77]), &access(&chans, 10)));
}

#[test]
fn threads_inherit_their_parent() {
    let g = guild(VIEW, vec![role(3, 0, 1)]);
    let chans = [
        text_channel(
            10,
            vec![overwrite(GUILD, 0, 0, VIEW), overwrite(3, 0, VIEW, 0)],
        ),
        thread(20, 10),
    ];
    let t = access(&chans, 20);
    assert_eq!(t.channel_id, Id::new(20));
    assert_eq!(t.source_id, Id::new(10));
    assert!(g.can_view(&facts(201, &[3]), &t));
    assert!(
        !g.can_view(&facts(202, &[]), &t),
        "a thread is as closed as its parent"
    );
}

#[test]
fn a_thread_whose_parent_is_unknown_is_an_error_not_open() {
    let chans = [thread(20, 10)];
    let err = ChannelAccess::resolve(Id::new(20), &chans).unwrap_err();
    assert_eq!(err.code, ErrorCode::ThreadParentUnknown);
    let err = ChannelAccess::resolve(Id::new(99), &chans).unwrap_err();
    assert_eq!(err.error_code(), "target_channel_unknown");
}

#[test]
fn guild_facts_come_from_discords_guild_object() {
    let g: Guild = serde_json::from_value(json!({
        "id": "1", "name": "g", "icon": null, "splash": null, "discovery_splash": null,
        "owner_id": "100", "afk_channel_id": null, "afk_timeout": 300, "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0,
        "roles": [
            {"id": "1", "name": "@everyone", "color": 0, "hoist": false, "position": 0,
             "permissions": "1024", "managed": false, "mentionable": false, "flags": 0},
            {"id": "2", "name": "bot", "color": 0, "hoist": false, "position": 3,
             "permissions": "268435456", "managed": true, "mentionable": false, "flags": 0}
        ],
        "emojis": [], "features": [], "mfa_level": 0, "application_id": null,
        "system_channel_id": null, "system_channel_flags": 0, "rules_channel_id": null,
        "vanity_url_code": null, "description": null, "banner": null, "premium_tier": 0,
        "preferred_locale": "en-US", "public_updates_channel_id": null, "nsfw_level": 0,
        "premium_progress_bar_enabled": false, "approximate_member_count": 2500
    }))
    .expect("guild decodes");
    let facts = GuildFacts::from_guild(&g);
    assert_eq!(facts.owner_id, Id::new(100));
    assert_eq!(facts.roles.len(), 2);
    assert!(facts.roles[&Id::new(2)].managed);
    assert!(facts.can_view(
        &common::facts(5, &[]),
        &access(&[text_channel(10, vec![])], 10)
    ));
}
