//! Objects as Discord's API v10 returns them, with every property its OpenAPI description marks
//! required (nullable ones as `null`), ids and permissions as strings.

use crate::cdn;
use crate::state::{self, Channel, Guild, Member, Message, Role, State, User, Webhook};
use crate::util::iso8601;
use serde_json::{json, Value};

pub fn user(u: &User) -> Value {
    let mut v = json!({
        "id": u.id.to_string(),
        "username": u.username,
        "avatar": u.avatar,
        "discriminator": if u.bot { "0000" } else { "0" },
        "public_flags": 0,
        "flags": 0,
        "global_name": u.global_name,
        "primary_guild": null,
        "banner": null,
        "accent_color": null,
        "avatar_decoration_data": null,
        "collectibles": null,
    });
    if u.bot {
        v["bot"] = json!(true);
    }
    v
}

/// `/users/@me`: the user plus what the `identify` / `email` scopes reveal.
pub fn user_pii(u: &User, with_email: bool) -> Value {
    let mut v = user(u);
    v["mfa_enabled"] = json!(false);
    v["locale"] = json!("en-US");
    v["premium_type"] = json!(0);
    if with_email {
        v["email"] = json!(u.email);
        v["verified"] = json!(true);
    }
    v
}

pub fn role(r: &Role) -> Value {
    let mut v = json!({
        "id": r.id.to_string(),
        "name": r.name,
        "permissions": r.permissions.to_string(),
        "position": r.position,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": null, "tertiary_color": null},
        "hoist": r.hoist,
        "managed": r.managed,
        "mentionable": r.mentionable,
        "icon": null,
        "unicode_emoji": null,
        "flags": 0,
    });
    if let Some(t) = &r.tags {
        v["tags"] = t.clone();
    }
    v
}

pub fn member(st: &State, m: &Member) -> Value {
    let u = st.users.get(&m.user_id);
    json!({
        "avatar": null,
        "banner": null,
        "communication_disabled_until": null,
        "flags": 0,
        "joined_at": iso8601(m.joined_ms),
        "nick": m.nick,
        "pending": false,
        "premium_since": null,
        "roles": m.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "user": u.map(user).unwrap_or(Value::Null),
        "mute": false,
        "deaf": false,
    })
}

fn overwrites(c: &Channel) -> Value {
    c.overwrites
        .iter()
        .map(|o| {
            json!({
                "id": o.id.to_string(),
                "type": o.kind,
                "allow": o.allow.to_string(),
                "deny": o.deny.to_string(),
            })
        })
        .collect()
}

pub fn channel(c: &Channel) -> Value {
    let id = |x: Option<u64>| x.map(|v| v.to_string());
    if let Some(t) = &c.thread {
        return json!({
            "id": c.id.to_string(),
            "type": c.kind,
            "flags": 0,
            "guild_id": c.guild_id.to_string(),
            "name": c.name,
            "parent_id": id(c.parent_id),
            "last_message_id": id(c.last_message_id),
            "rate_limit_per_user": 0,
            "owner_id": t.owner_id.to_string(),
            "thread_metadata": {
                "archived": t.archived,
                "archive_timestamp": iso8601(t.created_ms),
                "auto_archive_duration": t.auto_archive_duration,
                "locked": t.locked,
                "create_timestamp": iso8601(t.created_ms),
            },
            "message_count": t.message_count,
            "member_count": 1,
            "total_message_sent": t.total_sent,
            "applied_tags": [],
        });
    }
    let mut v = json!({
        "id": c.id.to_string(),
        "type": c.kind,
        "flags": 0,
        "guild_id": c.guild_id.to_string(),
        "name": c.name,
        "parent_id": id(c.parent_id),
        "position": c.position,
        "permission_overwrites": overwrites(c),
    });
    match c.kind {
        state::CHANNEL_CATEGORY => {}
        state::CHANNEL_VOICE => {
            v["bitrate"] = json!(64000);
            v["user_limit"] = json!(0);
            v["rtc_region"] = Value::Null;
            v["rate_limit_per_user"] = json!(0);
            v["nsfw"] = json!(c.nsfw);
            v["last_message_id"] = json!(id(c.last_message_id));
        }
        state::CHANNEL_FORUM => {
            v["topic"] = json!(c.topic);
            v["nsfw"] = json!(c.nsfw);
            v["rate_limit_per_user"] = json!(0);
            v["last_message_id"] = json!(id(c.last_message_id));
            v["available_tags"] = json!([]);
            v["default_reaction_emoji"] = Value::Null;
            v["default_sort_order"] = Value::Null;
            v["default_forum_layout"] = json!(0);
            v["default_thread_rate_limit_per_user"] = json!(0);
        }
        _ => {
            v["topic"] = json!(c.topic);
            v["nsfw"] = json!(c.nsfw);
            v["rate_limit_per_user"] = json!(0);
            v["last_message_id"] = json!(id(c.last_message_id));
        }
    }
    v
}

pub fn guild(st: &State, g: &Guild, with_counts: bool) -> Value {
    let system_channel = st
        .channels
        .values()
        .find(|c| c.guild_id == g.id && c.name == "general")
        .map(|c| c.id.to_string());
    let mut roles: Vec<&Role> = g.roles.values().collect();
    roles.sort_by_key(|r| (r.position, r.id));
    let mut v = json!({
        "id": g.id.to_string(),
        "name": g.name,
        "icon": null,
        "description": null,
        "home_header": null,
        "splash": null,
        "discovery_splash": null,
        "features": [],
        "banner": null,
        "owner_id": g.owner_id.to_string(),
        "application_id": null,
        "region": "deprecated",
        "afk_channel_id": null,
        "afk_timeout": 300,
        "system_channel_id": system_channel,
        "system_channel_flags": 0,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 1,
        "roles": roles.into_iter().map(role).collect::<Vec<_>>(),
        "default_message_notifications": 1,
        "mfa_level": 0,
        "explicit_content_filter": 2,
        "max_presences": null,
        "max_members": 500000,
        "max_stage_video_channel_users": 50,
        "max_video_channel_users": 25,
        "vanity_url_code": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "rules_channel_id": null,
        "safety_alerts_channel_id": null,
        "public_updates_channel_id": null,
        "premium_progress_bar_enabled": false,
        "nsfw": false,
        "nsfw_level": 0,
        "emojis": [],
        "stickers": [],
        "incidents_data": null,
    });
    if with_counts {
        let n = g.members.len();
        v["approximate_member_count"] = json!(n);
        v["approximate_presence_count"] = json!(n.div_ceil(3));
    }
    v
}

/// An entry of `/users/@me/guilds`, with the caller's guild-level permissions.
pub fn my_guild(st: &State, g: &Guild, user_id: u64, with_counts: bool) -> Value {
    let perms = st.base_permissions(g.id, user_id).unwrap_or(0);
    let mut v = json!({
        "id": g.id.to_string(),
        "name": g.name,
        "icon": null,
        "banner": null,
        "owner": g.owner_id == user_id,
        "permissions": perms.to_string(),
        "features": [],
    });
    if with_counts {
        let n = g.members.len();
        v["approximate_member_count"] = json!(n);
        v["approximate_presence_count"] = json!(n.div_ceil(3));
    }
    v
}

pub fn webhook(st: &State, w: &Webhook, with_token: bool) -> Value {
    let mut v = json!({
        "application_id": w.application_id.map(|a| a.to_string()),
        "avatar": w.avatar,
        "channel_id": w.channel_id.to_string(),
        "guild_id": w.guild_id.to_string(),
        "id": w.id.to_string(),
        "name": w.name,
        "type": 1,
    });
    if let Some(u) = st.users.get(&w.creator_id) {
        v["user"] = user(u);
    }
    if with_token {
        v["token"] = json!(w.token);
        v["url"] = json!(format!("{}/api/webhooks/{}/{}", st.base_url, w.id, w.token));
    }
    v
}

/// A fresh signed URL for a stored attachment, valid for the configured TTL from `now_s`.
pub fn attachment_url(st: &State, channel_id: u64, id: u64, filename: &str, now_s: u64) -> String {
    let path = format!(
        "/cdn/attachments/{channel_id}/{id}/{}",
        form_urlencoded::byte_serialize(filename.as_bytes()).collect::<String>()
    );
    let q = cdn::sign(&st.cdn_secret, &path, now_s, now_s + st.settings.cdn_ttl_s);
    format!("{}{path}?{q}", st.base_url)
}

/// Mentions Discord would resolve in `content` under `allowed_mentions` (absent → parse all).
fn mentions(st: &State, m: &Message) -> (Vec<Value>, Vec<String>, bool) {
    let am = m.allowed_mentions.as_ref().filter(|v| v.is_object());
    let parse: Vec<&str> = match am {
        None => vec!["users", "roles", "everyone"],
        Some(a) => a
            .get("parse")
            .and_then(Value::as_array)
            .map(|p| p.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
    };
    let listed = |kind: &str, id: u64| {
        am.and_then(|a| a.get(kind))
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(&id.to_string())))
    };
    let mut users = vec![];
    let mut roles = vec![];
    let mut rest = m.content.as_str();
    while let Some(i) = rest.find("<@") {
        rest = &rest[i + 2..];
        let (is_role, body) = match rest.strip_prefix('&') {
            Some(b) => (true, b),
            None => (false, rest.strip_prefix('!').unwrap_or(rest)),
        };
        let Some(end) = body.find('>') else { break };
        if let Ok(id) = body[..end].parse::<u64>() {
            if is_role {
                if (parse.contains(&"roles") || listed("roles", id))
                    && !roles.contains(&id.to_string())
                {
                    roles.push(id.to_string());
                }
            } else if parse.contains(&"users") || listed("users", id) {
                if let Some(u) = st.users.get(&id) {
                    users.push(user(u));
                }
            }
        }
    }
    let everyone = parse.contains(&"everyone")
        && (m.content.contains("@everyone") || m.content.contains("@here"));
    (users, roles, everyone)
}

/// An embed as Discord echoes it: `type` set, fields with `inline`, and parts that lack their
/// required text (an author without `name`, a footer without `text`) dropped.
pub fn embed(e: &Value) -> Value {
    let mut e = e.clone();
    let Some(obj) = e.as_object_mut() else {
        return e;
    };
    obj.retain(|_, v| !v.is_null());
    if !obj.contains_key("type") {
        obj.insert("type".into(), json!("rich"));
    }
    for (part, key) in [("author", "name"), ("footer", "text"), ("provider", "name")] {
        if obj
            .get(part)
            .is_some_and(|p| !p.get(key).is_some_and(Value::is_string))
        {
            obj.remove(part);
        }
    }
    if let Some(Value::Array(fields)) = obj.get_mut("fields") {
        for f in fields.iter_mut().filter_map(Value::as_object_mut) {
            if f.get("inline").is_none_or(|i| !i.is_boolean()) {
                f.insert("inline".into(), json!(false));
            }
        }
    }
    e
}

pub fn message(st: &State, m: &Message, now_s: u64) -> Value {
    let mut v = basic_message(st, m, now_s);
    if let Some(original) = m.reply_to {
        v["type"] = json!(19);
        v["message_reference"] = json!({
            "type": 0,
            "channel_id": m.channel_id.to_string(),
            "message_id": original.to_string(),
            "guild_id": m.guild_id.to_string(),
        });
        // Discord sends the original one level deep, and null once it was deleted.
        v["referenced_message"] = st
            .messages
            .get(&original)
            .map(|o| basic_message(st, o, now_s))
            .unwrap_or(Value::Null);
    }
    v
}

fn basic_message(st: &State, m: &Message, now_s: u64) -> Value {
    let author = json!({
        "id": m.author_id.to_string(),
        "username": m.author_name,
        "avatar": m.author_avatar,
        "discriminator": if m.webhook_id.is_some() || m.author_bot { "0000" } else { "0" },
        "public_flags": 0,
        "flags": 0,
        "bot": m.author_bot || m.webhook_id.is_some(),
        "global_name": null,
        "primary_guild": null,
    });
    let attachments: Vec<Value> = m
        .attachments
        .iter()
        .map(|a| {
            let url = attachment_url(st, m.channel_id, a.id, &a.filename, now_s);
            let mut v = json!({
                "id": a.id.to_string(),
                "filename": a.filename,
                "size": a.size,
                "url": url,
                "proxy_url": url,
            });
            if let Some(ct) = &a.content_type {
                v["content_type"] = json!(ct);
            }
            if let Some(d) = &a.description {
                v["description"] = json!(d);
            }
            v
        })
        .collect();
    let embeds: Vec<Value> = m.embeds.iter().map(embed).collect();
    let (users, roles, everyone) = mentions(st, m);
    let mut v = json!({
        "type": 0,
        "content": m.content,
        "mentions": users,
        "mention_roles": roles,
        "attachments": attachments,
        "embeds": embeds,
        "timestamp": iso8601(m.created_ms),
        "edited_timestamp": m.edited_ms.map(iso8601),
        "flags": m.flags,
        "components": [],
        "id": m.id.to_string(),
        "channel_id": m.channel_id.to_string(),
        "author": author,
        "pinned": false,
        "mention_everyone": everyone,
        "tts": m.tts,
    });
    if let Some(w) = m.webhook_id {
        v["webhook_id"] = json!(w.to_string());
    }
    if let Some(a) = m.application_id {
        v["application_id"] = json!(a.to_string());
    }
    if let Some(n) = &m.nonce {
        v["nonce"] = n.clone();
    }
    if let Some(p) = m.position {
        v["position"] = json!(p);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{seed_id, Attachment, Settings};
    use serde::de::DeserializeOwned;

    fn state() -> State {
        State::new(Settings::new(), "http://127.0.0.1:1".into(), b"t".to_vec())
    }

    /// The client reads these objects with twilight-model: each must deserialize.
    fn reads_as<T: DeserializeOwned>(v: &Value) -> T {
        match serde_json::from_value::<T>(v.clone()) {
            Ok(t) => t,
            Err(e) => panic!("{} does not read {v}: {e}", std::any::type_name::<T>()),
        }
    }

    fn has_all(v: &Value, required: &[&str]) {
        for k in required {
            assert!(v.get(k).is_some(), "missing required {k} in {v}");
        }
    }

    #[test]
    fn objects_read_as_twilight_models() {
        use twilight_model::{channel, guild, user};
        let mut st = state();
        let g = &st.guilds[&st.guild_id];
        let gv = guild(&st, g, true);
        let parsed: guild::Guild = reads_as(&gv);
        assert_eq!(
            parsed.approximate_member_count,
            Some(g.members.len() as u64)
        );
        for r in g.roles.values() {
            let _: guild::Role = reads_as(&role(r));
        }
        for m in g.members.values() {
            let _: guild::Member = reads_as(&member(&st, m));
        }
        for c in st.channels.values() {
            let parsed: channel::Channel = reads_as(&channel(c));
            assert_eq!(parsed.id.get(), c.id);
        }
        let _: user::CurrentUserGuild = reads_as(&my_guild(&st, g, st.bot_id, true));
        let bot = &st.users[&st.bot_id];
        let _: user::CurrentUser = reads_as(&user_pii(bot, false));
        let _: user::User = reads_as(&user(bot));
        let mut m = st.messages.values().next().cloned().unwrap();
        m.embeds = vec![
            json!({"title": "t", "fields": [{"name": "a", "value": "b"}], "author": {"url": "x"}}),
        ];
        m.attachments = vec![Attachment {
            id: 9,
            filename: "a b.png".into(),
            description: None,
            content_type: Some("image/png".into()),
            size: 3,
        }];
        let mv = message(&st, &m, 1_000);
        let parsed: channel::Message = reads_as(&mv);
        assert_eq!(parsed.embeds[0].kind, "rich");
        assert!(
            mv["embeds"][0].get("author").is_none(),
            "an author without a name is dropped"
        );
        assert!(parsed.attachments[0].url.contains("/cdn/attachments/"));
        let w = crate::state::Webhook {
            id: 77,
            token: "tok".into(),
            channel_id: seed_id(45),
            guild_id: st.guild_id,
            name: "Relay".into(),
            avatar: None,
            creator_id: st.bot_id,
            application_id: Some(st.bot_id),
        };
        st.webhooks.insert(77, w.clone());
        let wv = webhook(&st, &w, true);
        let parsed: channel::Webhook = reads_as(&wv);
        assert_eq!(parsed.token.as_deref(), Some("tok"));
    }

    /// Required properties as Discord's OpenAPI description lists them for these responses.
    #[test]
    fn responses_carry_the_spec_required_properties() {
        let st = state();
        let g = &st.guilds[&st.guild_id];
        has_all(
            &guild(&st, g, false),
            &[
                "id",
                "name",
                "icon",
                "description",
                "home_header",
                "splash",
                "discovery_splash",
                "features",
                "banner",
                "owner_id",
                "application_id",
                "region",
                "afk_channel_id",
                "afk_timeout",
                "system_channel_id",
                "system_channel_flags",
                "widget_enabled",
                "widget_channel_id",
                "verification_level",
                "roles",
                "default_message_notifications",
                "mfa_level",
                "explicit_content_filter",
                "max_presences",
                "max_members",
                "max_stage_video_channel_users",
                "max_video_channel_users",
                "vanity_url_code",
                "premium_tier",
                "premium_subscription_count",
                "preferred_locale",
                "rules_channel_id",
                "safety_alerts_channel_id",
                "public_updates_channel_id",
                "premium_progress_bar_enabled",
                "nsfw",
                "nsfw_level",
                "emojis",
                "stickers",
                "incidents_data",
            ],
        );
        for r in g.roles.values() {
            has_all(
                &role(r),
                &[
                    "id",
                    "name",
                    "permissions",
                    "position",
                    "color",
                    "colors",
                    "hoist",
                    "managed",
                    "mentionable",
                    "icon",
                    "unicode_emoji",
                    "flags",
                ],
            );
        }
        let m = g.members.values().next().unwrap();
        has_all(
            &member(&st, m),
            &[
                "avatar",
                "banner",
                "communication_disabled_until",
                "flags",
                "joined_at",
                "nick",
                "pending",
                "premium_since",
                "roles",
                "user",
                "mute",
                "deaf",
            ],
        );
        has_all(
            &member(&st, m)["user"],
            &[
                "id",
                "username",
                "avatar",
                "discriminator",
                "public_flags",
                "flags",
                "global_name",
                "primary_guild",
            ],
        );
        for c in st.channels.values() {
            let v = channel(c);
            if c.thread.is_some() {
                has_all(
                    &v,
                    &[
                        "id",
                        "type",
                        "flags",
                        "guild_id",
                        "name",
                        "owner_id",
                        "thread_metadata",
                        "message_count",
                        "member_count",
                        "total_message_sent",
                    ],
                );
                has_all(
                    &v["thread_metadata"],
                    &[
                        "archived",
                        "archive_timestamp",
                        "auto_archive_duration",
                        "locked",
                    ],
                );
            } else {
                has_all(&v, &["id", "type", "flags", "guild_id", "name", "position"]);
            }
        }
        let msg = st.messages.values().next().unwrap();
        has_all(
            &message(&st, msg, 0),
            &[
                "type",
                "content",
                "mentions",
                "mention_roles",
                "attachments",
                "embeds",
                "timestamp",
                "edited_timestamp",
                "flags",
                "components",
                "id",
                "channel_id",
                "author",
                "pinned",
                "mention_everyone",
                "tts",
            ],
        );
        has_all(
            &my_guild(&st, g, st.bot_id, false),
            &[
                "id",
                "name",
                "icon",
                "banner",
                "owner",
                "permissions",
                "features",
            ],
        );
        has_all(
            &user_pii(&st.users[&st.bot_id], false),
            &[
                "id",
                "username",
                "avatar",
                "discriminator",
                "public_flags",
                "flags",
                "global_name",
                "mfa_enabled",
                "locale",
            ],
        );
    }

    #[test]
    fn allowed_mentions_decide_what_pings() {
        let st = state();
        let mut m = st.messages.values().next().cloned().unwrap();
        let bob = seed_id(4);
        let premium = seed_id(21);
        m.content = format!("@everyone <@{bob}> <@&{premium}>");
        m.allowed_mentions = None;
        let open = message(&st, &m, 0);
        assert_eq!(open["mention_everyone"], true);
        assert_eq!(open["mentions"][0]["id"], bob.to_string());
        assert_eq!(open["mention_roles"][0], premium.to_string());
        m.allowed_mentions = Some(json!({"parse": []}));
        let quiet = message(&st, &m, 0);
        assert_eq!(quiet["mention_everyone"], false);
        assert_eq!(quiet["mentions"], json!([]));
        assert_eq!(quiet["mention_roles"], json!([]));
    }
}
