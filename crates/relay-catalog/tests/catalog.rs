//! The catalog's rules with hand-computed cases: the bot's effective permissions per channel,
//! the warnings, the diff, and a refresh cursor walked through a whole run.

use proptest::prelude::*;
use relay_catalog::refresh::{Call, Cursor, ListedGuild, GUILD_PAGE};
use relay_catalog::warnings::{role_assignable, Warning};
use relay_catalog::{channel_warnings, diff, role_warnings, ChannelRow, GuildSnapshot, RoleRow};
use relay_core::ids::{ChannelId, GuildId, RoleId, UserId};
use serde_json::{json, Value};
use twilight_model::channel::Channel;
use twilight_model::guild::Role;
use twilight_model::user::CurrentUserGuild;

const GUILD: &str = "100000000000000001";
const BOT: &str = "200000000000000002";
const OWNER: &str = "200000000000000003";
const BOT_ROLE: &str = "300000000000000004";
const MOD_ROLE: &str = "300000000000000005";
const TIER: &str = "300000000000000006";
const BOOSTER: &str = "300000000000000007";

const VIEW: u64 = 1 << 10;
const SEND: u64 = 1 << 11;
const HISTORY: u64 = 1 << 16;
const MANAGE_ROLES: u64 = 1 << 28;
const MANAGE_WEBHOOKS: u64 = 1 << 29;
const ADMINISTRATOR: u64 = 1 << 3;

fn role(id: &str, name: &str, position: i64, permissions: u64, managed: bool) -> Role {
    serde_json::from_value(json!({
        "id": id, "name": name, "position": position, "permissions": permissions.to_string(),
        "managed": managed, "color": 0, "hoist": false, "mentionable": false, "flags": 0,
    }))
    .unwrap()
}

fn channel(id: &str, name: &str, kind: u8, parent: Option<&str>, overwrites: Value) -> Channel {
    serde_json::from_value(json!({
        "id": id, "name": name, "type": kind, "guild_id": GUILD, "position": 1,
        "parent_id": parent, "permission_overwrites": overwrites,
    }))
    .unwrap()
}

fn ow(id: &str, kind: u8, allow: u64, deny: u64) -> Value {
    json!({"id": id, "type": kind, "allow": allow.to_string(), "deny": deny.to_string()})
}

fn g() -> GuildId {
    GuildId::parse(GUILD).unwrap()
}
fn u(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}
fn r(s: &str) -> RoleId {
    RoleId::parse(s).unwrap()
}
fn c(s: &str) -> ChannelId {
    ChannelId::parse(s).unwrap()
}

fn roles(bot_role_perms: u64) -> Vec<Role> {
    vec![
        role(GUILD, "@everyone", 0, VIEW | SEND | HISTORY, false),
        role(TIER, "Premium", 1, 0, false),
        role(BOT_ROLE, "Signal Relay", 2, bot_role_perms, true),
        role(BOOSTER, "Server Booster", 1, 0, true),
        role(MOD_ROLE, "Moderators", 3, MANAGE_ROLES, false),
    ]
}

fn demo_channels() -> Vec<Channel> {
    vec![
        channel("400000000000000010", "general", 0, None, json!([])),
        channel("400000000000000011", "Signals", 4, None, json!([])),
        // Hidden from @everyone; the bot's role is allowed back in.
        channel(
            "400000000000000012",
            "signals-premium",
            0,
            Some("400000000000000011"),
            json!([
                ow(GUILD, 0, 0, VIEW),
                ow(BOT_ROLE, 0, VIEW, 0),
                ow(TIER, 0, VIEW, 0)
            ]),
        ),
        // Hidden from @everyone and nobody lets the bot in.
        channel(
            "400000000000000013",
            "mod-log",
            0,
            None,
            json!([ow(GUILD, 0, 0, VIEW), ow(MOD_ROLE, 0, VIEW, 0)]),
        ),
        // The bot's role keeps MANAGE_WEBHOOKS, a member overwrite takes it from the bot.
        channel(
            "400000000000000014",
            "announcements",
            5,
            None,
            json!([ow(BOT, 1, 0, MANAGE_WEBHOOKS)]),
        ),
        // A role overwrite denies it, the member overwrite allows it again: allowed.
        channel(
            "400000000000000015",
            "trade-ideas",
            15,
            Some("400000000000000011"),
            json!([
                ow(BOT_ROLE, 0, 0, MANAGE_WEBHOOKS),
                ow(BOT, 1, MANAGE_WEBHOOKS, 0)
            ]),
        ),
        channel("400000000000000016", "Lounge", 2, None, json!([])),
    ]
}

fn snapshot_with(bot_role_perms: u64, bot_roles: &[&str], owner: &str) -> GuildSnapshot {
    let bot_roles: Vec<RoleId> = bot_roles.iter().map(|s| r(s)).collect();
    GuildSnapshot::build(
        g(),
        "Demo",
        Some(u(owner)),
        &roles(bot_role_perms),
        &demo_channels(),
        &u(BOT),
        &bot_roles,
    )
}

fn perms_of(s: &GuildSnapshot, id: &str) -> u64 {
    s.channels
        .iter()
        .find(|ch| ch.channel_id.as_str() == id)
        .unwrap()
        .bot_permissions
}

fn row(s: &GuildSnapshot, id: &str) -> ChannelRow {
    s.channels
        .iter()
        .find(|ch| ch.channel_id.as_str() == id)
        .unwrap()
        .clone()
}

#[test]
fn channel_permissions_follow_discords_overwrite_order() {
    let s = snapshot_with(MANAGE_WEBHOOKS | MANAGE_ROLES, &[BOT_ROLE], OWNER);
    let base = VIEW | SEND | HISTORY | MANAGE_WEBHOOKS;
    // In a channel MANAGE_ROLES is "Manage Permissions" and stays.
    assert_eq!(perms_of(&s, "400000000000000010"), base | MANAGE_ROLES);
    assert_eq!(
        perms_of(&s, "400000000000000012"),
        base | MANAGE_ROLES,
        "@everyone denied VIEW, the bot's role allowed it back"
    );
    assert_eq!(
        perms_of(&s, "400000000000000013"),
        0,
        "no VIEW_CHANNEL means nothing at all"
    );
    assert_eq!(
        perms_of(&s, "400000000000000014"),
        (base | MANAGE_ROLES) & !MANAGE_WEBHOOKS,
        "a member overwrite deny wins over the role's grant"
    );
    assert_eq!(
        perms_of(&s, "400000000000000015") & MANAGE_WEBHOOKS,
        MANAGE_WEBHOOKS,
        "the member overwrite allow comes after the role overwrite deny"
    );
    assert_eq!(
        s.facts.bot_permissions,
        VIEW | SEND | HISTORY | MANAGE_WEBHOOKS | MANAGE_ROLES
    );
    assert_eq!(s.facts.bot_top_position, 2);
    assert!(!s.facts.bot_is_owner);
}

#[test]
fn voice_channels_are_dropped_and_categories_kept_without_warnings() {
    let s = snapshot_with(MANAGE_WEBHOOKS, &[BOT_ROLE], OWNER);
    let kinds: Vec<(String, u8)> = s
        .channels
        .iter()
        .map(|ch| (ch.name.clone(), ch.kind))
        .collect();
    assert!(!kinds.iter().any(|(n, _)| n == "Lounge"), "{kinds:?}");
    assert_eq!(s.channels.len(), 6);
    assert_eq!(channel_warnings(&row(&s, "400000000000000011")), vec![]);
    assert_eq!(
        row(&s, "400000000000000012").parent_id,
        Some(c("400000000000000011"))
    );
}

#[test]
fn channel_warnings_name_what_to_fix() {
    let s = snapshot_with(MANAGE_WEBHOOKS, &[BOT_ROLE], OWNER);
    assert_eq!(channel_warnings(&row(&s, "400000000000000010")), vec![]);
    assert_eq!(
        channel_warnings(&row(&s, "400000000000000013")),
        vec![Warning::BotCannotView]
    );
    assert_eq!(
        channel_warnings(&row(&s, "400000000000000014")),
        vec![Warning::BotLacksManageWebhooks]
    );
    let mut full = row(&s, "400000000000000010");
    full.webhook_count = Some(15);
    assert_eq!(channel_warnings(&full), vec![Warning::WebhookSlotsFull]);
    full.webhook_count = Some(14);
    assert_eq!(channel_warnings(&full), vec![]);
    // Without MANAGE_WEBHOOKS anywhere, every visible target warns.
    let s = snapshot_with(0, &[BOT_ROLE], OWNER);
    assert_eq!(
        channel_warnings(&row(&s, "400000000000000010")),
        vec![Warning::BotLacksManageWebhooks]
    );
}

#[test]
fn webhooks_are_listed_only_where_the_bot_may_list_them() {
    let s = snapshot_with(MANAGE_WEBHOOKS, &[BOT_ROLE], OWNER);
    let listable: Vec<String> = s.webhook_listable().iter().map(|x| x.to_string()).collect();
    assert_eq!(
        listable,
        vec![
            "400000000000000010",
            "400000000000000012",
            "400000000000000015"
        ],
        "not the category, not #mod-log (403), not #announcements (403)"
    );
}

#[test]
fn administrator_and_ownership_grant_everything() {
    let s = snapshot_with(ADMINISTRATOR, &[BOT_ROLE], OWNER);
    assert_eq!(
        perms_of(&s, "400000000000000013"),
        twilight_model::guild::Permissions::all().bits()
    );
    assert_eq!(channel_warnings(&row(&s, "400000000000000013")), vec![]);
    let s = snapshot_with(0, &[], BOT);
    assert!(s.facts.bot_is_owner);
    assert_eq!(channel_warnings(&row(&s, "400000000000000013")), vec![]);
    let mods = s
        .roles
        .iter()
        .find(|x| x.role_id.as_str() == MOD_ROLE)
        .unwrap();
    assert_eq!(
        role_warnings(mods, &s.facts),
        vec![],
        "the owner is above every role"
    );
}

#[test]
fn role_warnings_follow_the_hierarchy() {
    let s = snapshot_with(MANAGE_ROLES | MANAGE_WEBHOOKS, &[BOT_ROLE], OWNER);
    let w = |id: &str| {
        let role = s.roles.iter().find(|x| x.role_id.as_str() == id).unwrap();
        role_warnings(role, &s.facts)
    };
    assert_eq!(w(TIER), vec![], "position 1 is below the bot's 2");
    assert!(role_assignable(
        s.roles.iter().find(|x| x.role_id.as_str() == TIER).unwrap(),
        &s.facts
    ));
    assert_eq!(w(MOD_ROLE), vec![Warning::RoleAboveBot]);
    assert_eq!(
        w(BOT_ROLE),
        vec![Warning::RoleManaged, Warning::RoleAboveBot],
        "its own role is at, not below, its highest"
    );
    assert_eq!(w(BOOSTER), vec![Warning::RoleManaged]);
    assert_eq!(w(GUILD), vec![Warning::RoleIsEveryone]);
    // Without MANAGE_ROLES every role warns about it first.
    let s = snapshot_with(MANAGE_WEBHOOKS, &[BOT_ROLE], OWNER);
    let tier = s.roles.iter().find(|x| x.role_id.as_str() == TIER).unwrap();
    assert_eq!(
        role_warnings(tier, &s.facts),
        vec![Warning::BotLacksManageRoles]
    );
    // A role granting MANAGE_ROLES counts even when the bot's managed role does not.
    let s = snapshot_with(0, &[BOT_ROLE, MOD_ROLE], OWNER);
    assert_eq!(s.facts.bot_top_position, 3);
    let tier = s.roles.iter().find(|x| x.role_id.as_str() == TIER).unwrap();
    assert_eq!(role_warnings(tier, &s.facts), vec![]);
}

#[test]
fn warning_codes_are_stable() {
    let all = [
        (Warning::BotCannotView, "bot_cannot_view"),
        (Warning::BotLacksManageWebhooks, "bot_lacks_manage_webhooks"),
        (Warning::WebhookSlotsFull, "webhook_slots_full"),
        (Warning::BotLacksManageRoles, "bot_lacks_manage_roles"),
        (Warning::RoleManaged, "role_managed"),
        (Warning::RoleAboveBot, "role_above_bot"),
        (Warning::RoleIsEveryone, "role_is_everyone"),
    ];
    for (w, code) in all {
        assert_eq!(w.code(), code);
        assert_eq!(serde_json::to_value(w).unwrap(), json!(code));
        assert!(!w.message().is_empty());
    }
}

fn role_row(id: &str, name: &str, position: i64) -> RoleRow {
    RoleRow {
        role_id: r(id),
        name: name.into(),
        position,
        managed: false,
        permissions: 0,
        color: 0,
    }
}

#[test]
fn diff_upserts_new_changed_and_returning_rows_and_deactivates_the_gone() {
    let stored = vec![
        (role_row("1", "same", 1), true),
        (role_row("2", "renamed", 2), true),
        (role_row("3", "gone", 3), true),
        (role_row("4", "back", 4), false),
        (role_row("5", "still gone", 5), false),
    ];
    let fresh = vec![
        role_row("1", "same", 1),
        role_row("2", "renamed now", 2),
        role_row("4", "back", 4),
        role_row("6", "new", 6),
    ];
    let d = diff(&stored, &fresh);
    let ids = |v: &[RoleRow]| v.iter().map(|x| x.role_id.to_string()).collect::<Vec<_>>();
    assert_eq!(ids(&d.upserts), vec!["2", "4", "6"]);
    assert_eq!(d.deactivate, vec![r("3")]);
    assert_eq!(d.unchanged, vec![r("1")]);
    assert!(!d.is_quiet());
    let again = diff(
        &fresh.iter().map(|x| (x.clone(), true)).collect::<Vec<_>>(),
        &fresh,
    );
    assert!(
        again.is_quiet(),
        "a second refresh with no change writes nothing but last-seen"
    );
}

proptest! {
    /// Applying a diff makes the active rows exactly the fresh ones and keeps every row ever
    /// stored (nothing is deleted).
    #[test]
    fn applying_a_diff_converges(
        stored in proptest::collection::btree_map(1u64..40, (0i64..4, any::<bool>()), 0..30),
        fresh in proptest::collection::btree_map(1u64..40, 0i64..4, 0..30),
    ) {
        let stored_rows: Vec<(RoleRow, bool)> = stored
            .iter()
            .map(|(id, (pos, active))| (role_row(&id.to_string(), "r", *pos), *active))
            .collect();
        let fresh_rows: Vec<RoleRow> = fresh
            .iter()
            .map(|(id, pos)| role_row(&id.to_string(), "r", *pos))
            .collect();
        let d = diff(&stored_rows, &fresh_rows);
        let mut table: std::collections::BTreeMap<RoleId, (RoleRow, bool)> = stored_rows
            .iter()
            .map(|(x, a)| (x.role_id.clone(), (x.clone(), *a)))
            .collect();
        for up in &d.upserts {
            table.insert(up.role_id.clone(), (up.clone(), true));
        }
        for k in &d.deactivate {
            table.get_mut(k).unwrap().1 = false;
        }
        let active: Vec<RoleRow> = table.values().filter(|(_, a)| *a).map(|(x, _)| x.clone()).collect();
        let mut want = fresh_rows.clone();
        want.sort_by(|a, b| a.role_id.cmp(&b.role_id));
        prop_assert_eq!(active, want);
        for (x, _) in &stored_rows {
            prop_assert!(table.contains_key(&x.role_id));
        }
        // Nothing is both written and left alone.
        for up in &d.upserts {
            prop_assert!(!d.unchanged.contains(&up.role_id));
        }
    }
}

fn listed(id: &str) -> CurrentUserGuild {
    serde_json::from_value(json!({
        "id": id, "name": format!("guild {id}"), "icon": null, "owner": false,
        "permissions": "0", "features": [],
    }))
    .unwrap()
}

/// Feeds the cursor the demo guild's answers, checking each call it asks for, and that the
/// cursor survives a serialisation round trip between any two calls.
#[test]
fn a_cursor_walks_a_whole_run_and_resumes_from_storage() {
    let mut cur = Cursor::new(1_000);
    let round_trip = |c: &Cursor| -> Cursor {
        serde_json::from_str(&serde_json::to_string(c).unwrap()).unwrap()
    };
    assert_eq!(cur.next(), Call::CurrentUser);
    cur.on_current_user(u(BOT));
    cur = round_trip(&cur);
    assert_eq!(cur.next(), Call::ListGuilds { after: None });
    cur.on_guild_page(&[listed(GUILD), listed("100000000000000009")]);
    assert_eq!(cur.progress().guilds_listed, 2);
    assert!(cur.progress().listing_done, "a short page ends the listing");
    assert_eq!(cur.next(), Call::GetGuild { guild_id: g() });
    assert_eq!(cur.current_guild(), Some(&g()));
    cur.on_guild_parts("Demo", Some(u(OWNER)), &roles(MANAGE_WEBHOOKS));
    cur = round_trip(&cur);
    assert_eq!(
        cur.next(),
        Call::GetBotMember {
            guild_id: g(),
            user_id: u(BOT)
        }
    );
    cur.on_bot_roles(&[r(BOT_ROLE)]);
    cur = round_trip(&cur);
    assert_eq!(cur.next(), Call::GetChannels { guild_id: g() });
    cur.on_channels(&demo_channels());
    for id in [
        "400000000000000010",
        "400000000000000012",
        "400000000000000015",
    ] {
        cur = round_trip(&cur);
        assert_eq!(cur.next(), Call::ListWebhooks { channel_id: c(id) });
        cur.on_webhooks(if id.ends_with("12") { None } else { Some(15) });
    }
    let Call::Commit { snapshot } = cur.next() else {
        panic!("expected a commit, got {:?}", cur.next())
    };
    assert_eq!(snapshot.facts.name, "Demo");
    assert_eq!(snapshot.channels.len(), 6);
    assert_eq!(row(&snapshot, "400000000000000010").webhook_count, Some(15));
    assert_eq!(row(&snapshot, "400000000000000012").webhook_count, None);
    cur.on_committed();
    // The second guild fails for good: it is skipped, not the run.
    let second = GuildId::parse("100000000000000009").unwrap();
    assert_eq!(
        cur.next(),
        Call::GetGuild {
            guild_id: second.clone()
        }
    );
    cur.on_guild_failed("discord_missing_access");
    let Call::Finish { listed } = cur.next() else {
        panic!("expected finish")
    };
    assert_eq!(
        listed,
        vec![
            ListedGuild {
                guild_id: g(),
                name: format!("guild {GUILD}")
            },
            ListedGuild {
                guild_id: second.clone(),
                name: "guild 100000000000000009".into()
            },
        ]
    );
    assert_eq!(cur.failed.len(), 1);
    assert_eq!(cur.failed[0].guild_id, second);
    cur.on_finished();
    assert!(cur.is_done());
    assert_eq!(cur.next(), Call::Done);
    assert_eq!(cur.calls, 1 + 1 + 1 + 1 + 1 + 3 + 1);
}

#[test]
fn full_guild_pages_page_on_after_the_last_id() {
    let mut cur = Cursor::new(0);
    cur.on_current_user(u(BOT));
    let page: Vec<CurrentUserGuild> = (0..GUILD_PAGE)
        .map(|i| listed(&(100_000_000_000_000_000u64 + u64::from(i)).to_string()))
        .collect();
    cur.on_guild_page(&page);
    assert_eq!(
        cur.next(),
        Call::ListGuilds {
            after: Some(GuildId::parse("100000000000000199").unwrap())
        }
    );
    // A repeated full page (a misbehaving proxy) must not page for ever.
    cur.on_guild_page(&page);
    assert!(cur.progress().listing_done);
    assert_eq!(cur.progress().guilds_listed, 200);
}

#[test]
fn a_bot_in_no_guild_finishes_at_once() {
    let mut cur = Cursor::new(0);
    cur.on_current_user(u(BOT));
    cur.on_guild_page(&[]);
    assert_eq!(cur.next(), Call::Finish { listed: vec![] });
}
