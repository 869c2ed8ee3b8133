//! Everything the fake knows: the seeded demo guild, what clients created, and the test knobs.

use crate::perms::{self, Overwrite};
use crate::ratelimit::{InvalidCounter, Limiter, Window};
use crate::util::{hex, snowflake, IdGen};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use twilight_model::guild::Permissions as P;

/// 2024-01-01T00:00:00Z: seeded objects get fixed ids derived from it, the same on every run.
pub const SEED_MS: u64 = 1_704_067_200_000;

pub fn seed_id(k: u64) -> u64 {
    snowflake(SEED_MS + k, 0)
}

pub const OWNER_ID_K: u64 = 1;
pub const BOT_ID_K: u64 = 2;
pub const GUILD_ID_K: u64 = 10;

pub const CHANNEL_TEXT: u8 = 0;
pub const CHANNEL_VOICE: u8 = 2;
pub const CHANNEL_CATEGORY: u8 = 4;
pub const CHANNEL_ANNOUNCEMENT: u8 = 5;
pub const CHANNEL_PUBLIC_THREAD: u8 = 11;
pub const CHANNEL_PRIVATE_THREAD: u8 = 12;
pub const CHANNEL_FORUM: u8 = 15;

pub fn is_thread(kind: u8) -> bool {
    matches!(kind, 10..=12)
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub webhook: Window,
    pub channel_messages: Window,
    /// Discord's unadvertised per-channel cap on webhook posts: hits answer scope `shared`.
    pub channel_webhooks: Window,
    pub global: Window,
    pub route: Window,
    pub invalid_threshold: u32,
    pub invalid_window_ms: u64,
    pub ban_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            webhook: Window::new(5, 2_000),
            channel_messages: Window::new(30, 60_000),
            channel_webhooks: Window::new(30, 60_000),
            global: Window::new(50, 1_000),
            route: Window::new(50, 1_000),
            invalid_threshold: 10_000,
            invalid_window_ms: 600_000,
            ban_ms: 3_600_000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub bot_token: String,
    pub client_secret: String,
    /// Exact redirect URIs accepted by the OAuth2 flow; empty accepts any loopback http URL.
    pub redirect_uris: Vec<String>,
    pub guild_members_intent: bool,
    pub limits: Limits,
    pub file_limit: usize,
    pub cdn_ttl_s: u64,
    pub nonce_window_ms: u64,
    pub generated_members: usize,
}

impl Settings {
    pub fn new() -> Self {
        let bot_id = seed_id(BOT_ID_K);
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bot_id.to_string());
        Settings {
            bot_token: format!("{b64}.ZmFrZQ.fake-discord-bot-token"),
            client_secret: "fake-discord-client-secret".into(),
            redirect_uris: vec![],
            guild_members_intent: true,
            limits: Limits::default(),
            file_limit: 10 * 1024 * 1024,
            cdn_ttl_s: 86_400,
            nonce_window_ms: 300_000,
            generated_members: 40,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub username: String,
    pub global_name: Option<String>,
    pub avatar: Option<String>,
    pub bot: bool,
    pub email: Option<String>,
    /// Index of a generated (bulk) member; those are not offered on the sign-in page.
    pub generated: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub id: u64,
    pub name: String,
    pub permissions: u64,
    pub position: i64,
    pub color: u32,
    pub hoist: bool,
    pub managed: bool,
    pub mentionable: bool,
    pub tags: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: u64,
    pub roles: Vec<u64>,
    pub nick: Option<String>,
    pub joined_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Guild {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    pub roles: BTreeMap<u64, Role>,
    pub members: BTreeMap<u64, Member>,
}

#[derive(Debug, Clone)]
pub struct ThreadMeta {
    pub owner_id: u64,
    pub archived: bool,
    pub locked: bool,
    pub auto_archive_duration: u32,
    pub created_ms: u64,
    pub message_count: u32,
    pub total_sent: u32,
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub id: u64,
    pub guild_id: u64,
    pub kind: u8,
    pub name: String,
    pub position: i64,
    pub parent_id: Option<u64>,
    pub topic: Option<String>,
    pub nsfw: bool,
    pub overwrites: Vec<Overwrite>,
    pub thread: Option<ThreadMeta>,
    pub last_message_id: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: u64,
    pub token: String,
    pub channel_id: u64,
    pub guild_id: u64,
    pub name: String,
    pub avatar: Option<String>,
    pub creator_id: u64,
    pub application_id: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: u64,
    pub filename: String,
    pub description: Option<String>,
    pub content_type: Option<String>,
    pub size: usize,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: u64,
    pub channel_id: u64,
    pub guild_id: u64,
    pub author_id: u64,
    pub author_name: String,
    pub author_avatar: Option<String>,
    /// The `avatar_url` a webhook execution asked for, shown by the web page.
    pub avatar_url: Option<String>,
    pub author_bot: bool,
    pub webhook_id: Option<u64>,
    pub application_id: Option<u64>,
    pub content: String,
    pub embeds: Vec<Value>,
    pub attachments: Vec<Attachment>,
    pub flags: u64,
    pub tts: bool,
    pub nonce: Option<Value>,
    pub created_ms: u64,
    pub edited_ms: Option<u64>,
    pub allowed_mentions: Option<Value>,
    pub position: Option<u32>,
    /// The message this one replies to (same channel): Discord's type 19 with a
    /// `message_reference` and, while the original exists, `referenced_message`.
    pub reply_to: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct StoredFile {
    pub channel_id: u64,
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
    /// CDN downloads served (GET with a valid link), for "fetched once" tests.
    pub fetches: u64,
    /// Every link to it answers as expired (`POST /_control/attachments/{id}/expire`).
    pub expired: bool,
}

#[derive(Debug, Clone)]
pub struct OAuthCode {
    pub user_id: u64,
    pub redirect_uri: String,
    pub scope: String,
    pub created_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub user_id: u64,
    pub scope: String,
    pub expires_ms: u64,
}

impl Grant {
    pub fn has_scope(&self, s: &str) -> bool {
        self.scope.split_whitespace().any(|x| x == s)
    }
}

#[derive(Debug, Clone)]
pub enum FaultKind {
    Status {
        status: u16,
        body: Option<String>,
        content_type: Option<String>,
    },
    Latency {
        ms: u64,
    },
    /// The request takes effect, then its answer is held back `ms` (a lost or late
    /// response: the client may give up while the message exists).
    Hold {
        ms: u64,
    },
    RateLimit {
        retry_after_ms: u64,
        scope: String,
        global: bool,
        code: Option<u64>,
    },
}

/// An injected failure for the next `remaining` requests matching `method` / `path`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub id: u64,
    pub kind: FaultKind,
    pub method: Option<String>,
    pub path: Option<String>,
    pub remaining: u32,
}

impl Fault {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.remaining > 0
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path.as_deref().is_none_or(|p| path.contains(p))
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub seq: u64,
    pub at_ms: u64,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub status: u16,
}

pub const MAX_RECORDED: usize = 50_000;

pub struct State {
    pub settings: Settings,
    pub base_url: String,
    pub cdn_secret: Vec<u8>,
    pub bot_id: u64,
    pub guild_id: u64,
    pub users: BTreeMap<u64, User>,
    pub guilds: BTreeMap<u64, Guild>,
    pub channels: BTreeMap<u64, Channel>,
    pub webhooks: BTreeMap<u64, Webhook>,
    pub messages: BTreeMap<u64, Message>,
    pub files: HashMap<u64, StoredFile>,
    pub codes: HashMap<String, OAuthCode>,
    pub tokens: HashMap<String, Grant>,
    pub refresh_tokens: HashMap<String, Grant>,
    pub nonces: HashMap<(u64, u64, String), (u64, u64)>,
    pub ids: IdGen,
    pub limiter: Limiter,
    pub invalid: InvalidCounter,
    pub faults: Vec<Fault>,
    pub next_fault_id: u64,
    pub requests: VecDeque<Recorded>,
    pub next_seq: u64,
    pub checks: Vec<Value>,
    secret_counter: u64,
    entropy: Vec<u8>,
}

const EVERYONE_PERMS: P = P::CREATE_INVITE
    .union(P::VIEW_CHANNEL)
    .union(P::SEND_MESSAGES)
    .union(P::READ_MESSAGE_HISTORY)
    .union(P::EMBED_LINKS)
    .union(P::ATTACH_FILES)
    .union(P::ADD_REACTIONS)
    .union(P::USE_EXTERNAL_EMOJIS)
    .union(P::CONNECT)
    .union(P::SPEAK)
    .union(P::CHANGE_NICKNAME)
    .union(P::CREATE_PUBLIC_THREADS)
    .union(P::SEND_MESSAGES_IN_THREADS);

const BOT_PERMS: P = P::CREATE_INVITE
    .union(P::KICK_MEMBERS)
    .union(P::VIEW_CHANNEL)
    .union(P::SEND_MESSAGES)
    .union(P::EMBED_LINKS)
    .union(P::ATTACH_FILES)
    .union(P::READ_MESSAGE_HISTORY)
    .union(P::MANAGE_ROLES)
    .union(P::MANAGE_WEBHOOKS)
    .union(P::MANAGE_THREADS)
    .union(P::CREATE_PUBLIC_THREADS)
    .union(P::CREATE_PRIVATE_THREADS)
    .union(P::SEND_MESSAGES_IN_THREADS);

impl State {
    pub fn new(settings: Settings, base_url: String, entropy: Vec<u8>) -> State {
        let mut st = State {
            settings,
            base_url,
            cdn_secret: Sha256::digest([entropy.as_slice(), b"cdn"].concat()).to_vec(),
            bot_id: seed_id(BOT_ID_K),
            guild_id: seed_id(GUILD_ID_K),
            users: BTreeMap::new(),
            guilds: BTreeMap::new(),
            channels: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            messages: BTreeMap::new(),
            files: HashMap::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            nonces: HashMap::new(),
            ids: IdGen::default(),
            limiter: Limiter::default(),
            invalid: InvalidCounter::new(0, 1, 0),
            faults: vec![],
            next_fault_id: 1,
            requests: VecDeque::new(),
            next_seq: 1,
            checks: vec![],
            secret_counter: 0,
            entropy,
        };
        st.apply_invalid_limits();
        st.seed();
        st
    }

    pub fn apply_invalid_limits(&mut self) {
        let l = &self.settings.limits;
        self.invalid.threshold = l.invalid_threshold;
        self.invalid.window_ms = l.invalid_window_ms;
        self.invalid.ban_ms = l.ban_ms;
    }

    /// Unguessable tokens without a random-number crate: SHA-256 over process entropy and a counter.
    pub fn secret(&mut self, len: usize) -> String {
        self.secret_counter += 1;
        let mut h = Sha256::new();
        h.update(&self.entropy);
        h.update(self.secret_counter.to_le_bytes());
        let mut out = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize());
        while out.len() < len {
            let more = Sha256::digest(out.as_bytes());
            out.push_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(more));
        }
        out.truncate(len);
        out
    }

    fn add_user(&mut self, k: u64, username: &str, global: Option<&str>, bot: bool) -> u64 {
        let id = seed_id(k);
        self.users.insert(
            id,
            User {
                id,
                username: username.into(),
                global_name: global.map(Into::into),
                avatar: None,
                bot,
                email: (!bot).then(|| format!("{username}@example.test")),
                generated: None,
            },
        );
        id
    }

    fn seed(&mut self) {
        let g = self.guild_id;
        let owner = self.add_user(OWNER_ID_K, "guildowner", Some("Guild Owner"), false);
        let bot = self.add_user(BOT_ID_K, "Signal Relay", None, true);
        let alice = self.add_user(3, "alice", Some("Alice"), false);
        let bob = self.add_user(4, "bob", Some("Bob"), false);
        self.add_user(5, "carol", Some("Carol"), false);
        self.add_user(6, "dave", Some("Dave"), false);
        let moder = self.add_user(7, "mod_maria", Some("Maria (mod)"), false);
        if let Some(u) = self.users.get_mut(&bot) {
            u.avatar = Some(crate::util::short_hash("bot-avatar", 32));
        }

        let role = |k: u64, name: &str, perms: P, position: i64, color: u32| Role {
            id: seed_id(k),
            name: name.into(),
            permissions: perms.bits(),
            position,
            color,
            hoist: false,
            managed: false,
            mentionable: false,
            tags: None,
        };
        let mut roles = BTreeMap::new();
        let mut everyone = role(GUILD_ID_K, "@everyone", EVERYONE_PERMS, 0, 0);
        everyone.id = g;
        let basic = role(20, "Basic", P::empty(), 1, 0x3498db);
        let premium = role(21, "Premium", P::empty(), 2, 0xf1c40f);
        let mut booster = role(22, "Server Booster", P::empty(), 3, 0xf47fff);
        booster.managed = true;
        booster.tags = Some(json!({"premium_subscriber": null}));
        let mut bot_role = role(23, "Signal Relay", BOT_PERMS, 4, 0);
        bot_role.managed = true;
        bot_role.tags = Some(json!({"bot_id": bot.to_string()}));
        let mods = role(
            24,
            "Moderators",
            P::KICK_MEMBERS | P::MANAGE_MESSAGES,
            5,
            0x2ecc71,
        );
        let admin = role(25, "Admin", P::ADMINISTRATOR, 6, 0xe74c3c);
        let (basic_id, premium_id, bot_role_id, mods_id, admin_id) =
            (basic.id, premium.id, bot_role.id, mods.id, admin.id);
        for r in [everyone, basic, premium, booster, bot_role, mods, admin] {
            roles.insert(r.id, r);
        }
        let mut guild = Guild {
            id: g,
            name: "Demo Trading Community".into(),
            owner_id: owner,
            roles,
            members: BTreeMap::new(),
        };
        for (user, roles) in [
            (owner, vec![admin_id]),
            (bot, vec![bot_role_id]),
            (alice, vec![premium_id]),
            (bob, vec![basic_id]),
            (moder, vec![mods_id]),
        ] {
            guild.members.insert(
                user,
                Member {
                    user_id: user,
                    roles,
                    nick: None,
                    joined_ms: crate::util::snowflake_ms(user) + 3_600_000,
                },
            );
        }
        self.guilds.insert(g, guild);

        let view = P::VIEW_CHANNEL.bits();
        let bot_allow = (P::VIEW_CHANNEL | P::SEND_MESSAGES | P::MANAGE_WEBHOOKS).bits();
        let ow = |id: u64, allow: u64, deny: u64| Overwrite {
            id,
            kind: 0,
            allow,
            deny,
        };
        let ch = |k: u64, kind: u8, name: &str, position: i64, parent: Option<u64>| Channel {
            id: seed_id(k),
            guild_id: g,
            kind,
            name: name.into(),
            position,
            parent_id: parent,
            topic: None,
            nsfw: false,
            overwrites: vec![],
            thread: None,
            last_message_id: None,
        };
        let info = ch(40, CHANNEL_CATEGORY, "Information", 0, None);
        let signals = ch(41, CHANNEL_CATEGORY, "Signals", 1, None);
        let mut welcome = ch(42, CHANNEL_TEXT, "welcome", 0, Some(info.id));
        welcome.topic = Some("Start here".into());
        welcome.overwrites = vec![ow(g, 0, P::SEND_MESSAGES.bits())];
        let mut announcements = ch(43, CHANNEL_ANNOUNCEMENT, "announcements", 1, Some(info.id));
        announcements.overwrites = vec![ow(g, 0, P::SEND_MESSAGES.bits())];
        let mut basic_ch = ch(44, CHANNEL_TEXT, "signals-basic", 2, Some(signals.id));
        basic_ch.topic = Some("Signals for Basic and Premium members".into());
        basic_ch.overwrites = vec![
            ow(g, 0, view),
            ow(basic_id, view, 0),
            ow(premium_id, view, 0),
            ow(bot_role_id, bot_allow, 0),
        ];
        let mut premium_ch = ch(45, CHANNEL_TEXT, "signals-premium", 3, Some(signals.id));
        premium_ch.topic = Some("Premium signals".into());
        premium_ch.overwrites = vec![
            ow(g, 0, view),
            ow(premium_id, view, 0),
            ow(bot_role_id, bot_allow, 0),
        ];
        let mut forum = ch(46, CHANNEL_FORUM, "trade-ideas", 4, Some(signals.id));
        forum.topic = Some("One post per idea".into());
        forum.overwrites = vec![
            ow(g, 0, view),
            ow(premium_id, view, 0),
            ow(bot_role_id, bot_allow, 0),
        ];
        let general = ch(47, CHANNEL_TEXT, "general", 5, None);
        let mut mod_log = ch(48, CHANNEL_TEXT, "mod-log", 6, None);
        mod_log.overwrites = vec![ow(g, 0, view), ow(mods_id, view, 0)];
        let voice = ch(49, CHANNEL_VOICE, "Lounge", 7, None);
        let (general_id, forum_id) = (general.id, forum.id);
        for c in [
            info,
            signals,
            welcome,
            announcements,
            basic_ch,
            premium_ch,
            forum,
            general,
            mod_log,
            voice,
        ] {
            self.channels.insert(c.id, c);
        }

        let hello = self.seed_message(80, general_id, owner, "Welcome to the demo community!");
        if let Some(c) = self.channels.get_mut(&general_id) {
            c.last_message_id = Some(hello);
        }
        let thread_id = seed_id(81);
        self.channels.insert(
            thread_id,
            Channel {
                id: thread_id,
                guild_id: g,
                kind: CHANNEL_PUBLIC_THREAD,
                name: "How to post an idea".into(),
                position: 0,
                parent_id: Some(forum_id),
                topic: None,
                nsfw: false,
                overwrites: vec![],
                thread: Some(ThreadMeta {
                    owner_id: owner,
                    archived: false,
                    locked: false,
                    auto_archive_duration: 10080,
                    created_ms: crate::util::snowflake_ms(thread_id),
                    message_count: 0,
                    total_sent: 0,
                }),
                last_message_id: None,
            },
        );
        self.seed_message(
            81,
            thread_id,
            owner,
            "Title, entry, stop, target. One idea per post.",
        );
        self.set_generated_members(self.settings.generated_members);
    }

    fn seed_message(&mut self, k: u64, channel_id: u64, author: u64, content: &str) -> u64 {
        let id = seed_id(k);
        let name = self
            .users
            .get(&author)
            .map(|u| u.username.clone())
            .unwrap_or_default();
        self.messages.insert(
            id,
            Message {
                id,
                channel_id,
                guild_id: self.guild_id,
                author_id: author,
                author_name: name,
                author_avatar: None,
                avatar_url: None,
                author_bot: false,
                webhook_id: None,
                application_id: None,
                content: content.into(),
                embeds: vec![],
                attachments: vec![],
                flags: 0,
                tts: false,
                nonce: None,
                created_ms: crate::util::snowflake_ms(id),
                edited_ms: None,
                allowed_mentions: Some(json!({"parse": []})),
                position: None,
                reply_to: None,
            },
        );
        if let Some(c) = self.channels.get_mut(&channel_id) {
            c.last_message_id = Some(id);
            if let Some(t) = c.thread.as_mut() {
                t.message_count += 1;
                t.total_sent += 1;
            }
        }
        id
    }

    /// Sets the number of bulk members (for paging tests): ids increase with the index, one in
    /// 25 is a bot, and they alternate between Premium, Basic and no tier role.
    pub fn set_generated_members(&mut self, n: usize) {
        self.settings.generated_members = n;
        let g = self.guild_id;
        let (premium, basic) = (seed_id(21), seed_id(20));
        let stale: Vec<u64> = self
            .users
            .values()
            .filter(|u| u.generated.is_some_and(|i| i >= n))
            .map(|u| u.id)
            .collect();
        for id in stale {
            self.users.remove(&id);
            if let Some(guild) = self.guilds.get_mut(&g) {
                guild.members.remove(&id);
            }
        }
        for i in 0..n {
            let id = snowflake(SEED_MS + 86_400_000 + (i as u64) * 60_000, 0);
            if self.users.contains_key(&id) {
                continue;
            }
            let bot = i % 25 == 24;
            self.users.insert(
                id,
                User {
                    id,
                    username: format!("member{:04}", i + 1),
                    global_name: Some(format!("Member {}", i + 1)),
                    avatar: None,
                    bot,
                    email: None,
                    generated: Some(i),
                },
            );
            let roles = match i % 3 {
                0 if !bot => vec![premium],
                1 if !bot => vec![basic],
                _ => vec![],
            };
            if let Some(guild) = self.guilds.get_mut(&g) {
                guild.members.insert(
                    id,
                    Member {
                        user_id: id,
                        roles,
                        nick: None,
                        joined_ms: crate::util::snowflake_ms(id),
                    },
                );
            }
        }
    }

    pub fn guild_of_channel(&self, channel_id: u64) -> Option<&Guild> {
        self.channels
            .get(&channel_id)
            .and_then(|c| self.guilds.get(&c.guild_id))
    }

    /// Guild-level permissions of `user_id`, `None` when not a member.
    pub fn base_permissions(&self, guild_id: u64, user_id: u64) -> Option<u64> {
        let g = self.guilds.get(&guild_id)?;
        let m = g.members.get(&user_id)?;
        let everyone = g.roles.get(&g.id).map(|r| r.permissions).unwrap_or(0);
        let role_perms: Vec<u64> = m
            .roles
            .iter()
            .filter_map(|r| g.roles.get(r))
            .map(|r| r.permissions)
            .collect();
        Some(perms::base(g.owner_id == user_id, everyone, &role_perms))
    }

    /// Permissions of `user_id` in a channel; threads use their parent's overwrites.
    pub fn channel_permissions(&self, channel_id: u64, user_id: u64) -> Option<u64> {
        let c = self.channels.get(&channel_id)?;
        let source = if is_thread(c.kind) {
            c.parent_id.and_then(|p| self.channels.get(&p)).unwrap_or(c)
        } else {
            c
        };
        let base = self.base_permissions(c.guild_id, user_id)?;
        let roles = &self.guilds.get(&c.guild_id)?.members.get(&user_id)?.roles;
        Some(perms::in_channel(
            base,
            c.guild_id,
            roles,
            user_id,
            &source.overwrites,
        ))
    }

    /// Position of the member's highest role (@everyone's 0 when they have none).
    pub fn top_position(&self, guild_id: u64, user_id: u64) -> i64 {
        let Some(g) = self.guilds.get(&guild_id) else {
            return 0;
        };
        g.members
            .get(&user_id)
            .map(|m| {
                m.roles
                    .iter()
                    .filter_map(|r| g.roles.get(r))
                    .map(|r| r.position)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    }

    pub fn record_check(&mut self, seq: u64, method: &str, path: &str, message_id: Option<u64>) {
        self.checks.push(json!({
            "check": "allowed_mentions_missing",
            "request_seq": seq,
            "method": method,
            "path": path,
            "message_id": message_id.map(|m| m.to_string()),
        }));
    }

    pub fn avatar_hash(url: &str) -> String {
        hex(&Sha256::digest(url.as_bytes())[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State::new(Settings::new(), "http://x".into(), b"t".to_vec())
    }

    #[test]
    fn seed_has_hierarchy_overwrites_and_members() {
        let st = state();
        let g = &st.guilds[&st.guild_id];
        let bot_top = st.top_position(g.id, st.bot_id);
        assert!(g.roles.values().any(|r| r.position > bot_top));
        assert!(g.roles.values().any(|r| r.managed && r.tags.is_some()));
        assert_eq!(g.members.len(), 5 + 40);
        let premium_ch = seed_id(45);
        let alice = seed_id(3);
        let bob = seed_id(4);
        let view = P::VIEW_CHANNEL.bits();
        assert_ne!(st.channel_permissions(premium_ch, alice).unwrap() & view, 0);
        assert_eq!(st.channel_permissions(premium_ch, bob).unwrap() & view, 0);
        assert!(perms::has(
            st.channel_permissions(premium_ch, st.bot_id).unwrap(),
            P::MANAGE_WEBHOOKS
        ));
        assert_eq!(
            st.channel_permissions(seed_id(48), st.bot_id).unwrap() & view,
            0,
            "the bot cannot see #mod-log"
        );
    }

    #[test]
    fn generated_members_grow_and_shrink_with_increasing_ids() {
        let mut st = state();
        st.set_generated_members(2_500);
        let g = &st.guilds[&st.guild_id];
        assert_eq!(g.members.len(), 2_505);
        st.set_generated_members(3);
        assert_eq!(st.guilds[&st.guild_id].members.len(), 8);
        assert_eq!(
            st.users.values().filter(|u| u.generated.is_some()).count(),
            3
        );
    }
}
