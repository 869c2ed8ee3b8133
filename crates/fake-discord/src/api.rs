//! The Discord REST routes we depend on, under `/api/v10` (and unversioned `/api`).

use crate::error::{ApiError, FieldErrors};
use crate::http::{JsonBody, Req, Resp};
use crate::multipart;
use crate::perms;
use crate::render;
use crate::state::{
    self, Attachment, Channel, Grant, Member, Message, State, StoredFile, ThreadMeta, Webhook,
};
use crate::util::short_hash;
use crate::validate::{self, Kind};
use serde_json::{json, Value};
use twilight_model::guild::Permissions as P;

/// Which limit a route's bucket follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Execute / edit / delete through a webhook token: about 5 per 2 s per webhook.
    Webhook,
    /// Bot posts in a channel: about 30 per 60 s per channel.
    ChannelMessages,
    Route,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    Bot,
    BotOrBearer,
    /// Webhook-token routes and the OAuth2 token exchange carry no bot token.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ep {
    GetGuild(u64),
    GuildChannels(u64),
    GuildRoles(u64),
    ListMembers(u64),
    GetMember(u64, u64),
    AddMember(u64, u64),
    KickMember(u64, u64),
    AddMemberRole(u64, u64, u64),
    RemoveMemberRole(u64, u64, u64),
    GetChannel(u64),
    ListMessages(u64),
    CreateMessage(u64),
    GetMessage(u64, u64),
    EditMessage(u64, u64),
    DeleteMessage(u64, u64),
    CreateThread(u64),
    ListWebhooks(u64),
    CreateWebhook(u64),
    GetWebhook(u64),
    DeleteWebhook(u64),
    GetWebhookWithToken(u64, String),
    DeleteWebhookWithToken(u64, String),
    Execute(u64, String),
    GetWebhookMessage(u64, String, u64),
    EditWebhookMessage(u64, String, u64),
    DeleteWebhookMessage(u64, String, u64),
    Me,
    MyGuilds,
    GetUser(u64),
    OAuthToken,
}

fn snowflake_param(name: &str, s: &str) -> Result<u64, ApiError> {
    s.parse::<u64>().map_err(|_| {
        let mut e = FieldErrors::default();
        e.add(
            &[name],
            "NUMBER_TYPE_COERCE",
            format!("Value \"{s}\" is not snowflake."),
        );
        ApiError::invalid_form(e)
    })
}

impl Ep {
    /// Parses the path after `/api[/v10]`.
    pub fn parse(method: &str, segs: &[&str]) -> Result<Ep, ApiError> {
        let id = snowflake_param;
        let m = method;
        let ep = match segs {
            ["guilds", g] => match m {
                "GET" => Ep::GetGuild(id("guild_id", g)?),
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["guilds", g, "channels"] => match m {
                "GET" => Ep::GuildChannels(id("guild_id", g)?),
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["guilds", g, "roles"] => match m {
                "GET" => Ep::GuildRoles(id("guild_id", g)?),
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["guilds", g, "members"] => match m {
                "GET" => Ep::ListMembers(id("guild_id", g)?),
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["guilds", g, "members", u] => {
                let (g, u) = (id("guild_id", g)?, id("user_id", u)?);
                match m {
                    "GET" => Ep::GetMember(g, u),
                    "PUT" => Ep::AddMember(g, u),
                    "DELETE" => Ep::KickMember(g, u),
                    _ => return Err(ApiError::method_not_allowed()),
                }
            }
            ["guilds", g, "members", u, "roles", r] => {
                let (g, u, r) = (id("guild_id", g)?, id("user_id", u)?, id("role_id", r)?);
                match m {
                    "PUT" => Ep::AddMemberRole(g, u, r),
                    "DELETE" => Ep::RemoveMemberRole(g, u, r),
                    _ => return Err(ApiError::method_not_allowed()),
                }
            }
            ["channels", c] => match m {
                "GET" => Ep::GetChannel(id("channel_id", c)?),
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["channels", c, "messages"] => match m {
                "GET" => Ep::ListMessages(id("channel_id", c)?),
                "POST" => Ep::CreateMessage(id("channel_id", c)?),
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["channels", c, "messages", msg] => match m {
                "GET" => Ep::GetMessage(id("channel_id", c)?, id("message_id", msg)?),
                "PATCH" => Ep::EditMessage(id("channel_id", c)?, id("message_id", msg)?),
                "DELETE" => Ep::DeleteMessage(id("channel_id", c)?, id("message_id", msg)?),
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["channels", c, "threads"] => match m {
                "POST" => Ep::CreateThread(id("channel_id", c)?),
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["channels", c, "webhooks"] => match m {
                "GET" => Ep::ListWebhooks(id("channel_id", c)?),
                "POST" => Ep::CreateWebhook(id("channel_id", c)?),
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["webhooks", w] => match m {
                "GET" => Ep::GetWebhook(id("webhook_id", w)?),
                "DELETE" => Ep::DeleteWebhook(id("webhook_id", w)?),
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["webhooks", w, t] => {
                let (w, t) = (id("webhook_id", w)?, t.to_string());
                match m {
                    "GET" => Ep::GetWebhookWithToken(w, t),
                    "DELETE" => Ep::DeleteWebhookWithToken(w, t),
                    "POST" => Ep::Execute(w, t),
                    _ => return Err(ApiError::method_not_allowed()),
                }
            }
            ["webhooks", w, t, "messages", msg] => {
                let (w, t, msg) = (id("webhook_id", w)?, t.to_string(), id("message_id", msg)?);
                match m {
                    "GET" => Ep::GetWebhookMessage(w, t, msg),
                    "PATCH" => Ep::EditWebhookMessage(w, t, msg),
                    "DELETE" => Ep::DeleteWebhookMessage(w, t, msg),
                    _ => return Err(ApiError::method_not_allowed()),
                }
            }
            ["users", "@me"] => match m {
                "GET" => Ep::Me,
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["users", "@me", "guilds"] => match m {
                "GET" => Ep::MyGuilds,
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["users", u] => match m {
                "GET" => Ep::GetUser(id("user_id", u)?),
                _ => return Err(ApiError::method_not_allowed()),
            },
            ["oauth2", "token"] => match m {
                "POST" => Ep::OAuthToken,
                _ => return Err(ApiError::method_not_allowed()),
            },
            _ => return Err(ApiError::not_found()),
        };
        Ok(ep)
    }

    pub fn template(&self) -> &'static str {
        match self {
            Ep::GetGuild(_) => "GET /guilds/{guild_id}",
            Ep::GuildChannels(_) => "GET /guilds/{guild_id}/channels",
            Ep::GuildRoles(_) => "GET /guilds/{guild_id}/roles",
            Ep::ListMembers(_) => "GET /guilds/{guild_id}/members",
            Ep::GetMember(..) => "GET /guilds/{guild_id}/members/{user_id}",
            Ep::AddMember(..) => "PUT /guilds/{guild_id}/members/{user_id}",
            Ep::KickMember(..) => "DELETE /guilds/{guild_id}/members/{user_id}",
            Ep::AddMemberRole(..) => "PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            Ep::RemoveMemberRole(..) => {
                "DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}"
            }
            Ep::GetChannel(_) => "GET /channels/{channel_id}",
            Ep::ListMessages(_) => "GET /channels/{channel_id}/messages",
            Ep::CreateMessage(_) => "POST /channels/{channel_id}/messages",
            Ep::GetMessage(..) => "GET /channels/{channel_id}/messages/{message_id}",
            Ep::EditMessage(..) => "PATCH /channels/{channel_id}/messages/{message_id}",
            Ep::DeleteMessage(..) => "DELETE /channels/{channel_id}/messages/{message_id}",
            Ep::CreateThread(_) => "POST /channels/{channel_id}/threads",
            Ep::ListWebhooks(_) => "GET /channels/{channel_id}/webhooks",
            Ep::CreateWebhook(_) => "POST /channels/{channel_id}/webhooks",
            Ep::GetWebhook(_) => "GET /webhooks/{webhook_id}",
            Ep::DeleteWebhook(_) => "DELETE /webhooks/{webhook_id}",
            Ep::GetWebhookWithToken(..) => "GET /webhooks/{webhook_id}/{webhook_token}",
            Ep::DeleteWebhookWithToken(..) => "DELETE /webhooks/{webhook_id}/{webhook_token}",
            Ep::Execute(..) => "POST /webhooks/{webhook_id}/{webhook_token}",
            Ep::GetWebhookMessage(..) => {
                "GET /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
            }
            Ep::EditWebhookMessage(..) => {
                "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
            }
            Ep::DeleteWebhookMessage(..) => {
                "DELETE /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
            }
            Ep::Me => "GET /users/@me",
            Ep::MyGuilds => "GET /users/@me/guilds",
            Ep::GetUser(_) => "GET /users/{user_id}",
            Ep::OAuthToken => "POST /oauth2/token",
        }
    }

    /// The top-level resource that splits a bucket (guild, channel, webhook id + token).
    pub fn major(&self) -> String {
        match self {
            Ep::GetGuild(g)
            | Ep::GuildChannels(g)
            | Ep::GuildRoles(g)
            | Ep::ListMembers(g)
            | Ep::GetMember(g, _)
            | Ep::AddMember(g, _)
            | Ep::KickMember(g, _)
            | Ep::AddMemberRole(g, ..)
            | Ep::RemoveMemberRole(g, ..) => format!("guild:{g}"),
            Ep::GetChannel(c)
            | Ep::ListMessages(c)
            | Ep::CreateMessage(c)
            | Ep::GetMessage(c, _)
            | Ep::EditMessage(c, _)
            | Ep::DeleteMessage(c, _)
            | Ep::CreateThread(c)
            | Ep::ListWebhooks(c)
            | Ep::CreateWebhook(c) => format!("channel:{c}"),
            Ep::GetWebhook(w) | Ep::DeleteWebhook(w) => format!("webhook:{w}"),
            Ep::GetWebhookWithToken(w, t)
            | Ep::DeleteWebhookWithToken(w, t)
            | Ep::Execute(w, t)
            | Ep::GetWebhookMessage(w, t, _)
            | Ep::EditWebhookMessage(w, t, _)
            | Ep::DeleteWebhookMessage(w, t, _) => format!("webhook:{w}/{t}"),
            Ep::Me | Ep::MyGuilds | Ep::GetUser(_) | Ep::OAuthToken => String::new(),
        }
    }

    pub fn class(&self) -> Class {
        match self {
            Ep::Execute(..) | Ep::EditWebhookMessage(..) | Ep::DeleteWebhookMessage(..) => {
                Class::Webhook
            }
            Ep::CreateMessage(_) => Class::ChannelMessages,
            _ => Class::Route,
        }
    }

    /// The `X-RateLimit-Bucket` id: the webhook message routes share one, as on Discord.
    pub fn bucket_hash(&self) -> String {
        match self.class() {
            Class::Webhook => short_hash("webhook messages", 32),
            _ => short_hash(self.template(), 32),
        }
    }

    pub fn auth(&self) -> AuthKind {
        match self {
            Ep::GetWebhookWithToken(..)
            | Ep::DeleteWebhookWithToken(..)
            | Ep::Execute(..)
            | Ep::GetWebhookMessage(..)
            | Ep::EditWebhookMessage(..)
            | Ep::DeleteWebhookMessage(..)
            | Ep::OAuthToken => AuthKind::None,
            Ep::Me | Ep::MyGuilds => AuthKind::BotOrBearer,
            _ => AuthKind::Bot,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Auth {
    Bot,
    Bearer(Grant),
    Anonymous,
}

pub struct Ctx {
    pub now: u64,
    pub seq: u64,
    pub auth: Auth,
}

impl Ctx {
    fn now_s(&self) -> u64 {
        self.now / 1000
    }
}

type Res = Result<Resp, ApiError>;

fn ok(v: Value) -> Res {
    Ok(Resp::json(200, &v))
}

fn no_content() -> Res {
    Ok(Resp::new(204))
}

pub fn handle(st: &mut State, ep: &Ep, req: &Req, ctx: &Ctx) -> Res {
    match ep {
        Ep::GetGuild(g) => get_guild(st, *g, req),
        Ep::GuildChannels(g) => {
            bot_guild(st, *g)?;
            let mut chans: Vec<&Channel> = st
                .channels
                .values()
                .filter(|c| c.guild_id == *g && !state::is_thread(c.kind))
                .collect();
            chans.sort_by_key(|c| (c.position, c.id));
            ok(chans.into_iter().map(render::channel).collect())
        }
        Ep::GuildRoles(g) => {
            let guild = bot_guild(st, *g)?;
            let mut roles: Vec<_> = guild.roles.values().collect();
            roles.sort_by_key(|r| (r.position, r.id));
            ok(roles.into_iter().map(render::role).collect())
        }
        Ep::ListMembers(g) => list_members(st, *g, req),
        Ep::GetMember(g, u) => {
            let guild = bot_guild(st, *g)?;
            let m = guild.members.get(u).ok_or_else(ApiError::unknown_member)?;
            ok(render::member(st, m))
        }
        Ep::AddMember(g, u) => add_member(st, *g, *u, req, ctx),
        Ep::KickMember(g, u) => kick(st, *g, *u),
        Ep::AddMemberRole(g, u, r) => member_role(st, *g, *u, *r, true),
        Ep::RemoveMemberRole(g, u, r) => member_role(st, *g, *u, *r, false),
        Ep::GetChannel(c) => {
            let ch = visible_channel(st, *c)?;
            ok(render::channel(ch))
        }
        Ep::ListMessages(c) => list_messages(st, *c, req, ctx),
        Ep::GetMessage(c, m) => {
            visible_channel(st, *c)?;
            require(st, *c, P::READ_MESSAGE_HISTORY)?;
            let msg = st
                .messages
                .get(m)
                .filter(|x| x.channel_id == *c)
                .ok_or_else(ApiError::unknown_message)?;
            ok(render::message(st, msg, ctx.now_s()))
        }
        Ep::EditMessage(c, m) => {
            visible_channel(st, *c)?;
            let msg = st
                .messages
                .get(m)
                .filter(|x| x.channel_id == *c)
                .ok_or_else(ApiError::unknown_message)?
                .clone();
            // Only the author edits a message; the bot's own posts carry no webhook id.
            if msg.author_id != st.bot_id || msg.webhook_id.is_some() {
                return Err(ApiError::new(
                    403,
                    50005,
                    "Cannot edit a message authored by another user",
                ));
            }
            apply_edit(st, msg, req, ctx)
        }
        Ep::DeleteMessage(c, m) => {
            visible_channel(st, *c)?;
            let msg = st
                .messages
                .get(m)
                .filter(|x| x.channel_id == *c)
                .ok_or_else(ApiError::unknown_message)?;
            // Another author's message needs MANAGE_MESSAGES, which the fake does not model.
            if msg.author_id != st.bot_id || msg.webhook_id.is_some() {
                return Err(ApiError::missing_permissions());
            }
            st.messages.remove(m);
            no_content()
        }
        Ep::CreateMessage(c) => create_message(st, *c, req, ctx),
        Ep::CreateThread(c) => create_thread(st, *c, req, ctx),
        Ep::ListWebhooks(c) => {
            webhook_channel(st, *c)?;
            let hooks: Vec<Value> = st
                .webhooks
                .values()
                .filter(|w| w.channel_id == *c)
                .map(|w| render::webhook(st, w, true))
                .collect();
            ok(Value::Array(hooks))
        }
        Ep::CreateWebhook(c) => create_webhook(st, *c, req, ctx),
        Ep::GetWebhook(w) => {
            let hook = st.webhooks.get(w).ok_or_else(ApiError::unknown_webhook)?;
            webhook_channel(st, hook.channel_id)?;
            ok(render::webhook(st, hook, true))
        }
        Ep::DeleteWebhook(w) => {
            let hook = st.webhooks.get(w).ok_or_else(ApiError::unknown_webhook)?;
            webhook_channel(st, hook.channel_id)?;
            st.webhooks.remove(w);
            no_content()
        }
        Ep::GetWebhookWithToken(w, t) => {
            let hook = webhook_by_token(st, *w, t)?;
            let mut v = render::webhook(st, hook, true);
            if let Some(o) = v.as_object_mut() {
                o.remove("user");
            }
            ok(v)
        }
        Ep::DeleteWebhookWithToken(w, t) => {
            webhook_by_token(st, *w, t)?;
            st.webhooks.remove(w);
            no_content()
        }
        Ep::Execute(w, t) => execute(st, *w, t, req, ctx),
        Ep::GetWebhookMessage(w, t, m) => {
            let hook = webhook_by_token(st, *w, t)?.clone();
            let msg = webhook_message(st, &hook, *m, req)?;
            ok(render::message(st, msg, ctx.now_s()))
        }
        Ep::EditWebhookMessage(w, t, m) => edit_webhook_message(st, *w, t, *m, req, ctx),
        Ep::DeleteWebhookMessage(w, t, m) => {
            let hook = webhook_by_token(st, *w, t)?.clone();
            let id = webhook_message(st, &hook, *m, req)?.id;
            st.messages.remove(&id);
            no_content()
        }
        Ep::Me => match &ctx.auth {
            Auth::Bot => {
                let bot = st
                    .users
                    .get(&st.bot_id)
                    .ok_or_else(ApiError::unauthorized)?;
                let mut v = render::user_pii(bot, false);
                v["verified"] = json!(true);
                v["email"] = Value::Null;
                ok(v)
            }
            Auth::Bearer(g) => {
                if !g.has_scope("identify") {
                    return Err(ApiError::unauthorized());
                }
                let u = st
                    .users
                    .get(&g.user_id)
                    .ok_or_else(ApiError::unauthorized)?;
                ok(render::user_pii(u, g.has_scope("email")))
            }
            Auth::Anonymous => Err(ApiError::unauthorized()),
        },
        Ep::MyGuilds => my_guilds(st, req, ctx),
        Ep::GetUser(u) => {
            let user = st.users.get(u).ok_or_else(ApiError::unknown_user)?;
            ok(render::user(user))
        }
        Ep::OAuthToken => crate::oauth::token(st, req, ctx.now),
    }
}

fn get_guild(st: &State, g: u64, req: &Req) -> Res {
    let guild = bot_guild(st, g)?;
    ok(render::guild(st, guild, req.q_bool("with_counts")))
}

fn bot_guild(st: &State, g: u64) -> Result<&state::Guild, ApiError> {
    let guild = st.guilds.get(&g).ok_or_else(ApiError::unknown_guild)?;
    if !guild.members.contains_key(&st.bot_id) {
        return Err(ApiError::missing_access());
    }
    Ok(guild)
}

fn bot_has_guild(st: &State, g: u64, p: P) -> Result<(), ApiError> {
    bot_guild(st, g)?;
    let base = st.base_permissions(g, st.bot_id).unwrap_or(0);
    if perms::has(base, p) {
        Ok(())
    } else {
        Err(ApiError::missing_permissions())
    }
}

/// A channel the bot can see: unknown → 10003, no VIEW_CHANNEL → 50001.
fn visible_channel(st: &State, c: u64) -> Result<&Channel, ApiError> {
    let ch = st.channels.get(&c).ok_or_else(ApiError::unknown_channel)?;
    bot_guild(st, ch.guild_id)?;
    let p = st.channel_permissions(c, st.bot_id).unwrap_or(0);
    if !perms::has(p, P::VIEW_CHANNEL) {
        return Err(ApiError::missing_access());
    }
    Ok(ch)
}

fn require(st: &State, c: u64, p: P) -> Result<(), ApiError> {
    let have = st.channel_permissions(c, st.bot_id).unwrap_or(0);
    if perms::has(have, p) {
        Ok(())
    } else {
        Err(ApiError::missing_permissions())
    }
}

fn webhook_channel(st: &State, c: u64) -> Result<&Channel, ApiError> {
    let ch = visible_channel(st, c)?;
    require(st, c, P::MANAGE_WEBHOOKS)?;
    Ok(ch)
}

fn webhook_by_token<'a>(st: &'a State, w: u64, token: &str) -> Result<&'a Webhook, ApiError> {
    let hook = st.webhooks.get(&w).ok_or_else(ApiError::unknown_webhook)?;
    if hook.token != token {
        return Err(ApiError::invalid_webhook_token());
    }
    Ok(hook)
}

fn int_query(req: &Req, key: &str, default: i64, min: i64, max: i64) -> Result<i64, ApiError> {
    let Some(raw) = req.q(key) else {
        return Ok(default);
    };
    let mut e = FieldErrors::default();
    match raw.parse::<i64>() {
        Ok(n) if n < min => e.add(
            &[key],
            "NUMBER_TYPE_MIN",
            format!("int value should be greater than or equal to {min}."),
        ),
        Ok(n) if n > max => e.add(
            &[key],
            "NUMBER_TYPE_MAX",
            format!("int value should be less than or equal to {max}."),
        ),
        Ok(n) => return Ok(n),
        Err(_) => e.add(
            &[key],
            "NUMBER_TYPE_COERCE",
            format!("Value \"{raw}\" is not int."),
        ),
    }
    Err(ApiError::invalid_form(e))
}

fn snowflake_query(req: &Req, key: &str) -> Result<Option<u64>, ApiError> {
    req.q(key).map(|v| snowflake_param(key, v)).transpose()
}

fn list_members(st: &State, g: u64, req: &Req) -> Res {
    let guild = bot_guild(st, g)?;
    if !st.settings.guild_members_intent {
        // Without the GUILD_MEMBERS privileged intent Discord refuses the list over REST too.
        return Err(ApiError::missing_access());
    }
    let limit = int_query(req, "limit", 1, 1, 1000)? as usize;
    let after = snowflake_query(req, "after")?.unwrap_or(0);
    let page: Vec<Value> = guild
        .members
        .range(after.saturating_add(1)..)
        .take(limit)
        .map(|(_, m)| render::member(st, m))
        .collect();
    ok(Value::Array(page))
}

fn add_member(st: &mut State, g: u64, u: u64, req: &Req, ctx: &Ctx) -> Res {
    bot_has_guild(st, g, P::CREATE_INVITE)?;
    let body = req.json()?;
    let mut e = FieldErrors::default();
    let token = match body.get("access_token").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None => {
            e.add(
                &["access_token"],
                "BASE_TYPE_REQUIRED",
                "This field is required",
            );
            return Err(ApiError::invalid_form(e));
        }
    };
    let grant = st
        .tokens
        .get(&token)
        .filter(|gr| gr.expires_ms > ctx.now && gr.user_id == u && gr.has_scope("guilds.join"))
        .cloned()
        .ok_or_else(|| ApiError::new(403, 50025, "Invalid OAuth2 access token"))?;
    let roles: Vec<u64> = body
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    let bot_top = st.top_position(g, st.bot_id);
    let guild = st.guilds.get(&g).ok_or_else(ApiError::unknown_guild)?;
    if guild.members.contains_key(&grant.user_id) {
        return no_content();
    }
    if !roles.is_empty() {
        let base = st.base_permissions(g, st.bot_id).unwrap_or(0);
        if !perms::has(base, P::MANAGE_ROLES) {
            return Err(ApiError::missing_permissions());
        }
        for r in &roles {
            let role = guild.roles.get(r).ok_or_else(ApiError::unknown_role)?;
            if role.managed || !perms::outranks(false, bot_top, role.position) {
                return Err(ApiError::missing_permissions());
            }
        }
    }
    let member = Member {
        user_id: grant.user_id,
        roles,
        nick: body.get("nick").and_then(Value::as_str).map(Into::into),
        joined_ms: ctx.now,
    };
    let v = render::member(st, &member);
    if let Some(guild) = st.guilds.get_mut(&g) {
        guild.members.insert(grant.user_id, member);
    }
    Ok(Resp::json(201, &v))
}

fn kick(st: &mut State, g: u64, u: u64) -> Res {
    bot_has_guild(st, g, P::KICK_MEMBERS)?;
    let guild = st.guilds.get(&g).ok_or_else(ApiError::unknown_guild)?;
    if !guild.members.contains_key(&u) {
        return Err(ApiError::unknown_member());
    }
    let bot_top = st.top_position(g, st.bot_id);
    if guild.owner_id == u
        || u == st.bot_id
        || !perms::outranks(false, bot_top, st.top_position(g, u))
    {
        return Err(ApiError::missing_permissions());
    }
    if let Some(guild) = st.guilds.get_mut(&g) {
        guild.members.remove(&u);
    }
    no_content()
}

fn member_role(st: &mut State, g: u64, u: u64, r: u64, add: bool) -> Res {
    bot_has_guild(st, g, P::MANAGE_ROLES)?;
    let bot_top = st.top_position(g, st.bot_id);
    let guild = st.guilds.get(&g).ok_or_else(ApiError::unknown_guild)?;
    let role = guild
        .roles
        .get(&r)
        .filter(|role| role.id != g)
        .ok_or_else(ApiError::unknown_role)?;
    if !guild.members.contains_key(&u) {
        return Err(ApiError::unknown_member());
    }
    // Managed roles belong to an integration; neither they nor roles at or above the bot's
    // highest role can be assigned by it.
    if role.managed || !perms::outranks(false, bot_top, role.position) {
        return Err(ApiError::missing_permissions());
    }
    if let Some(m) = st.guilds.get_mut(&g).and_then(|g| g.members.get_mut(&u)) {
        if add {
            if !m.roles.contains(&r) {
                m.roles.push(r);
            }
        } else {
            m.roles.retain(|x| *x != r);
        }
    }
    no_content()
}

fn list_messages(st: &State, c: u64, req: &Req, ctx: &Ctx) -> Res {
    visible_channel(st, c)?;
    let limit = int_query(req, "limit", 50, 1, 100)? as usize;
    if require(st, c, P::READ_MESSAGE_HISTORY).is_err() {
        return ok(json!([]));
    }
    let before = snowflake_query(req, "before")?;
    let after = snowflake_query(req, "after")?;
    let around = snowflake_query(req, "around")?;
    let in_channel = || st.messages.values().filter(move |m| m.channel_id == c);
    let mut picked: Vec<&Message> = if let Some(a) = around {
        let mut older: Vec<&Message> = in_channel().filter(|m| m.id <= a).collect();
        older.reverse();
        older.truncate(limit.div_ceil(2));
        let newer: Vec<&Message> = in_channel().filter(|m| m.id > a).take(limit / 2).collect();
        older.into_iter().chain(newer).collect()
    } else if let Some(a) = after {
        in_channel().filter(|m| m.id > a).take(limit).collect()
    } else {
        let mut v: Vec<&Message> = in_channel()
            .filter(|m| before.is_none_or(|b| m.id < b))
            .collect();
        v.reverse();
        v.truncate(limit);
        v
    };
    picked.sort_by_key(|m| std::cmp::Reverse(m.id));
    ok(picked
        .into_iter()
        .map(|m| render::message(st, m, ctx.now_s()))
        .collect())
}

/// A parsed message body: JSON, or multipart with `payload_json` and uploaded files.
struct Payload {
    body: Value,
    files: Vec<(u64, multipart::Part)>,
}

fn payload(st: &State, req: &Req) -> Result<Payload, ApiError> {
    if !req.is_multipart() {
        return Ok(Payload {
            body: req.json()?,
            files: vec![],
        });
    }
    let parts = multipart::parse(req.content_type(), &req.body).map_err(|_| {
        let mut e = FieldErrors::default();
        e.add(
            &["_multipart"],
            "MULTIPART_INVALID",
            "Invalid multipart body",
        );
        ApiError::invalid_form(e)
    })?;
    let mut body = Value::Object(Default::default());
    let mut files = vec![];
    let mut next_index = 0u64;
    for p in parts {
        if p.name == "payload_json" {
            body = serde_json::from_slice(&p.data).map_err(|_| ApiError::invalid_json())?;
        } else if p.filename.is_some() {
            if p.data.len() > st.settings.file_limit {
                return Err(ApiError::too_large());
            }
            let idx = multipart::file_index(&p.name).unwrap_or(next_index);
            next_index = idx + 1;
            files.push((idx, p));
        } else if let Ok(text) = String::from_utf8(p.data.clone()) {
            // Plain form fields (content=..., username=...) are accepted as Discord does.
            if let Some(obj) = body.as_object_mut() {
                obj.insert(p.name.clone(), Value::String(text));
            }
        }
    }
    if files.len() > validate::MAX_ATTACHMENTS {
        let mut e = FieldErrors::default();
        e.add(
            &["attachments"],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {} or fewer in length.", validate::MAX_ATTACHMENTS),
        );
        return Err(ApiError::invalid_form(e));
    }
    Ok(Payload { body, files })
}

/// Stores uploaded files on the fake CDN and describes them as attachments, taking filename
/// and description from the matching `attachments[]` entry (`id` = the `n` of `files[n]`).
fn store_files(
    st: &mut State,
    channel_id: u64,
    body: &Value,
    files: Vec<(u64, multipart::Part)>,
    now: u64,
) -> Vec<Attachment> {
    let meta = body.get("attachments").and_then(Value::as_array);
    let find_meta = |idx: u64| {
        meta.and_then(|m| {
            m.iter().find(|a| match a.get("id") {
                Some(Value::Number(n)) => n.as_u64() == Some(idx),
                Some(Value::String(s)) => s.parse::<u64>().ok() == Some(idx),
                _ => false,
            })
        })
    };
    let mut out = vec![];
    for (idx, part) in files {
        let m = find_meta(idx);
        let filename = m
            .and_then(|m| m.get("filename"))
            .and_then(Value::as_str)
            .map(String::from)
            .or(part.filename.clone())
            .unwrap_or_else(|| format!("file{idx}"));
        let content_type = part
            .content_type
            .clone()
            .unwrap_or_else(|| guess_type(&filename).to_string());
        let id = st.ids.next(now);
        out.push(Attachment {
            id,
            filename: filename.clone(),
            description: m
                .and_then(|m| m.get("description"))
                .and_then(Value::as_str)
                .map(String::from),
            content_type: Some(content_type.clone()),
            size: part.data.len(),
        });
        st.files.insert(
            id,
            StoredFile {
                channel_id,
                filename,
                content_type,
                data: part.data,
                fetches: 0,
                expired: false,
            },
        );
    }
    out
}

pub fn guess_type(filename: &str) -> &'static str {
    let ext = filename
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "txt" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

fn validate_body(body: &Value, kind: Kind) -> Result<(), ApiError> {
    if !body.is_object() {
        let mut e = FieldErrors::default();
        e.add(
            &[],
            "MODEL_TYPE_CONVERT",
            "Only dictionaries may be used in a ModelType",
        );
        return Err(ApiError::invalid_form(e));
    }
    let mut e = FieldErrors::default();
    validate::message(&mut e, body, kind);
    e.into_result()
}

fn str_field(body: &Value, key: &str) -> String {
    body.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn embeds_of(body: &Value) -> Vec<Value> {
    body.get("embeds")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn has_poll(body: &Value) -> bool {
    body.get("poll").is_some_and(|p| !p.is_null())
}

fn allowed_mentions_of(body: &Value) -> Option<Value> {
    body.get("allowed_mentions")
        .filter(|v| !v.is_null())
        .cloned()
}

fn flags_of(body: &Value) -> u64 {
    body.get("flags").and_then(Value::as_u64).unwrap_or(0) & validate::SETTABLE_FLAGS
}

fn text_capable(kind: u8) -> bool {
    matches!(
        kind,
        state::CHANNEL_TEXT | state::CHANNEL_VOICE | state::CHANNEL_ANNOUNCEMENT | 10..=12
    )
}

fn posted(st: &mut State, m: Message) -> Message {
    if let Some(c) = st.channels.get_mut(&m.channel_id) {
        c.last_message_id = Some(m.id);
        if let Some(t) = c.thread.as_mut() {
            t.message_count += 1;
            t.total_sent += 1;
        }
    }
    st.messages.insert(m.id, m.clone());
    m
}

fn create_message(st: &mut State, c: u64, req: &Req, ctx: &Ctx) -> Res {
    let ch = visible_channel(st, c)?.clone();
    if !text_capable(ch.kind) {
        return Err(ApiError::new(
            400,
            50008,
            "Cannot send messages in a non-text channel",
        ));
    }
    let send = if state::is_thread(ch.kind) {
        P::SEND_MESSAGES_IN_THREADS
    } else {
        P::SEND_MESSAGES
    };
    require(st, c, send)?;
    let Payload { body, files } = payload(st, req)?;
    validate_body(&body, Kind::BotMessage)?;
    if ch.thread.as_ref().is_some_and(|t| t.locked) {
        return Err(ApiError::new(400, 50083, "Thread is archived"));
    }
    let nonce = body.get("nonce").filter(|n| !n.is_null()).cloned();
    let enforce = body.get("enforce_nonce").and_then(Value::as_bool) == Some(true);
    let nonce_key = nonce.as_ref().map(|n| match n {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    if let (true, Some(key)) = (enforce, nonce_key.as_ref()) {
        let k = (c, st.bot_id, key.clone());
        if let Some(&(id, at)) = st.nonces.get(&k) {
            if ctx.now.saturating_sub(at) < st.settings.nonce_window_ms {
                if let Some(m) = st.messages.get(&id) {
                    return ok(render::message(st, m, ctx.now_s()));
                }
            }
        }
    }
    let content = str_field(&body, "content");
    let embeds = embeds_of(&body);
    if validate::is_empty(&content, embeds.len(), files.len(), has_poll(&body)) {
        return Err(ApiError::empty_message());
    }
    let reply_to = reply_reference(st, c, &body)?;
    let am = allowed_mentions_of(&body);
    let id = st.ids.next(ctx.now);
    if am.is_none() {
        st.record_check(ctx.seq, &req.method, &req.path, Some(id));
    }
    let attachments = store_files(st, c, &body, files, ctx.now);
    let bot = st.users.get(&st.bot_id).cloned();
    let m = Message {
        id,
        channel_id: c,
        guild_id: ch.guild_id,
        author_id: st.bot_id,
        author_name: bot.as_ref().map(|u| u.username.clone()).unwrap_or_default(),
        author_avatar: bot.and_then(|u| u.avatar),
        avatar_url: None,
        author_bot: true,
        webhook_id: None,
        application_id: None,
        content,
        embeds,
        attachments,
        flags: flags_of(&body),
        tts: body.get("tts").and_then(Value::as_bool).unwrap_or(false),
        nonce,
        created_ms: ctx.now,
        edited_ms: None,
        allowed_mentions: am,
        position: ch.thread.as_ref().map(|t| t.total_sent),
        reply_to,
    };
    if let (true, Some(key)) = (enforce, nonce_key) {
        st.nonces.insert((c, st.bot_id, key), (id, ctx.now));
    }
    let m = posted(st, m);
    ok(render::message(st, &m, ctx.now_s()))
}

/// A bot message's `message_reference`: a reply to a message of the same channel. Discord
/// refuses an unknown original unless `fail_if_not_exists` is false, which posts it as a plain
/// message.
fn reply_reference(st: &State, c: u64, body: &Value) -> Result<Option<u64>, ApiError> {
    let Some(r) = body.get("message_reference").filter(|r| !r.is_null()) else {
        return Ok(None);
    };
    let mut e = FieldErrors::default();
    let id = r
        .get("message_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<u64>().ok());
    let Some(id) = id else {
        e.add(
            &["message_reference", "message_id"],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
        return Err(ApiError::invalid_form(e));
    };
    let channel = r
        .get("channel_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(c);
    let known = channel == c && st.messages.get(&id).is_some_and(|m| m.channel_id == c);
    if known {
        return Ok(Some(id));
    }
    if r.get("fail_if_not_exists").and_then(Value::as_bool) == Some(false) {
        return Ok(None);
    }
    e.add(
        &["message_reference"],
        "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
        "Unknown message",
    );
    Err(ApiError::invalid_form(e))
}

fn thread_name(body: &Value) -> Result<String, ApiError> {
    let mut e = FieldErrors::default();
    match body.get("name") {
        Some(Value::String(s)) if (1..=100).contains(&s.chars().count()) => return Ok(s.clone()),
        Some(Value::String(_)) => e.add(
            &["name"],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ),
        _ => e.add(&["name"], "BASE_TYPE_REQUIRED", "This field is required"),
    }
    Err(ApiError::invalid_form(e))
}

fn new_thread(
    st: &mut State,
    id: u64,
    parent: &Channel,
    name: String,
    kind: u8,
    archive: u32,
    now: u64,
) -> Channel {
    let t = Channel {
        id,
        guild_id: parent.guild_id,
        kind,
        name,
        position: 0,
        parent_id: Some(parent.id),
        topic: None,
        nsfw: parent.nsfw,
        overwrites: vec![],
        thread: Some(ThreadMeta {
            owner_id: st.bot_id,
            archived: false,
            locked: false,
            auto_archive_duration: archive,
            created_ms: now,
            message_count: 0,
            total_sent: 0,
        }),
        last_message_id: None,
    };
    st.channels.insert(id, t.clone());
    t
}

fn create_thread(st: &mut State, c: u64, req: &Req, ctx: &Ctx) -> Res {
    let parent = visible_channel(st, c)?.clone();
    let Payload { body, files } = payload(st, req)?;
    let name = thread_name(&body)?;
    let archive = body
        .get("auto_archive_duration")
        .and_then(Value::as_u64)
        .filter(|d| [60, 1440, 4320, 10080].contains(d))
        .unwrap_or(4320) as u32;
    match parent.kind {
        state::CHANNEL_FORUM => {
            require(st, c, P::SEND_MESSAGES)?;
            let msg = body.get("message").cloned().unwrap_or(Value::Null);
            if !msg.is_object() {
                let mut e = FieldErrors::default();
                e.add(&["message"], "BASE_TYPE_REQUIRED", "This field is required");
                return Err(ApiError::invalid_form(e));
            }
            let mut e = FieldErrors::default();
            validate::message(&mut e, &msg, Kind::BotMessage);
            if !e.is_empty() {
                let mut wrapped = serde_json::Map::new();
                wrapped.insert("message".into(), e.into_value());
                return Err(ApiError {
                    errors: Some(Value::Object(wrapped)),
                    ..ApiError::invalid_form(FieldErrors::default())
                });
            }
            let content = str_field(&msg, "content");
            let embeds = embeds_of(&msg);
            if validate::is_empty(&content, embeds.len(), files.len(), false) {
                return Err(ApiError::empty_message());
            }
            let id = st.ids.next(ctx.now);
            let thread = new_thread(
                st,
                id,
                &parent,
                name,
                state::CHANNEL_PUBLIC_THREAD,
                archive,
                ctx.now,
            );
            let am = allowed_mentions_of(&msg);
            if am.is_none() {
                st.record_check(ctx.seq, &req.method, &req.path, Some(id));
            }
            let attachments = store_files(st, id, &msg, files, ctx.now);
            let bot = st.users.get(&st.bot_id).cloned();
            // A forum post's starter message shares the thread's id.
            posted(
                st,
                Message {
                    id,
                    channel_id: id,
                    guild_id: parent.guild_id,
                    author_id: st.bot_id,
                    author_name: bot.as_ref().map(|u| u.username.clone()).unwrap_or_default(),
                    author_avatar: bot.and_then(|u| u.avatar),
                    avatar_url: None,
                    author_bot: true,
                    webhook_id: None,
                    application_id: None,
                    content,
                    embeds,
                    attachments,
                    flags: flags_of(&msg),
                    tts: false,
                    nonce: None,
                    created_ms: ctx.now,
                    edited_ms: None,
                    allowed_mentions: am,
                    position: Some(0),
                    reply_to: None,
                },
            );
            if let Some(p) = st.channels.get_mut(&c) {
                p.last_message_id = Some(id);
            }
            let thread = st.channels.get(&thread.id).cloned().unwrap_or(thread);
            Ok(Resp::json(201, &render::channel(&thread)))
        }
        state::CHANNEL_TEXT | state::CHANNEL_ANNOUNCEMENT => {
            // API v10 makes a private thread unless told otherwise.
            let kind = match body.get("type").and_then(Value::as_u64) {
                None => state::CHANNEL_PRIVATE_THREAD,
                Some(11) => state::CHANNEL_PUBLIC_THREAD,
                Some(12) => state::CHANNEL_PRIVATE_THREAD,
                Some(10) if parent.kind == state::CHANNEL_ANNOUNCEMENT => 10,
                Some(_) => {
                    let mut e = FieldErrors::default();
                    e.add(
                        &["type"],
                        "BASE_TYPE_CHOICES",
                        "Value must be one of {10, 11, 12}.",
                    );
                    return Err(ApiError::invalid_form(e));
                }
            };
            let needed = if kind == state::CHANNEL_PRIVATE_THREAD {
                P::CREATE_PRIVATE_THREADS
            } else {
                P::CREATE_PUBLIC_THREADS
            };
            require(st, c, needed)?;
            let id = st.ids.next(ctx.now);
            let t = new_thread(st, id, &parent, name, kind, archive, ctx.now);
            Ok(Resp::json(201, &render::channel(&t)))
        }
        _ => Err(ApiError::new(
            400,
            50024,
            "Cannot execute action on this channel type",
        )),
    }
}

fn create_webhook(st: &mut State, c: u64, req: &Req, ctx: &Ctx) -> Res {
    let ch = webhook_channel(st, c)?.clone();
    if !matches!(
        ch.kind,
        state::CHANNEL_TEXT
            | state::CHANNEL_ANNOUNCEMENT
            | state::CHANNEL_FORUM
            | state::CHANNEL_VOICE
    ) {
        return Err(ApiError::new(
            400,
            50024,
            "Cannot execute action on this channel type",
        ));
    }
    let body = req.json()?;
    let mut e = FieldErrors::default();
    validate::webhook_name(&mut e, "name", body.get("name"), true);
    e.into_result()?;
    if st.webhooks.values().filter(|w| w.channel_id == c).count()
        >= validate::MAX_WEBHOOKS_PER_CHANNEL
    {
        return Err(ApiError::max_webhooks());
    }
    if st
        .webhooks
        .values()
        .filter(|w| w.guild_id == ch.guild_id)
        .count()
        >= 1000
    {
        return Err(ApiError::new(
            400,
            30058,
            "Maximum number of webhooks per guild reached (1000)",
        ));
    }
    let id = st.ids.next(ctx.now);
    let token = st.secret(68);
    let hook = Webhook {
        id,
        token,
        channel_id: c,
        guild_id: ch.guild_id,
        name: str_field(&body, "name"),
        avatar: body
            .get("avatar")
            .and_then(Value::as_str)
            .map(State::avatar_hash),
        creator_id: st.bot_id,
        application_id: Some(st.bot_id),
    };
    st.webhooks.insert(id, hook.clone());
    ok(render::webhook(st, &hook, true))
}

/// Where a webhook message goes: the webhook's channel, or a thread in it (`thread_id`), or a
/// new forum post (`thread_name`).
enum Target {
    Channel(u64),
    Thread(u64),
    NewForumPost(String),
}

fn execute(st: &mut State, w: u64, t: &str, req: &Req, ctx: &Ctx) -> Res {
    let hook = webhook_by_token(st, w, t)?.clone();
    let Payload { body, files } = payload(st, req)?;
    validate_body(&body, Kind::WebhookExecute)?;
    let parent = st
        .channels
        .get(&hook.channel_id)
        .cloned()
        .ok_or_else(ApiError::unknown_webhook)?;
    let thread_id = snowflake_query(req, "thread_id")?;
    let thread_name = body
        .get("thread_name")
        .and_then(Value::as_str)
        .map(String::from);
    let is_forum = parent.kind == state::CHANNEL_FORUM;
    let target =
        match (thread_id, thread_name) {
            (Some(_), Some(_)) if is_forum => return Err(ApiError::new(
                400,
                220002,
                "Webhooks posted to forum channels cannot have both a thread_name and thread_id",
            )),
            (Some(tid), _) => {
                let th = st
                    .channels
                    .get(&tid)
                    .filter(|c| c.parent_id == Some(parent.id) && state::is_thread(c.kind))
                    .ok_or_else(ApiError::unknown_channel)?;
                if th.thread.as_ref().is_some_and(|m| m.locked) {
                    return Err(ApiError::new(400, 50083, "Thread is archived"));
                }
                Target::Thread(tid)
            }
            (None, Some(name)) if is_forum => Target::NewForumPost(name),
            (None, Some(_)) => {
                return Err(ApiError::new(
                    400,
                    220003,
                    "Webhooks can only create threads in forum channels",
                ))
            }
            (None, None) if is_forum => {
                return Err(ApiError::new(
                    400,
                    220001,
                    "Webhooks posted to forum channels must have a thread_name or thread_id",
                ))
            }
            (None, None) => Target::Channel(parent.id),
        };
    let content = str_field(&body, "content");
    let embeds = embeds_of(&body);
    if validate::is_empty(&content, embeds.len(), files.len(), has_poll(&body)) {
        return Err(ApiError::empty_message());
    }
    let shared = st.settings.limits.channel_webhooks;
    let d = st
        .limiter
        .hit(&format!("channel-webhooks:{}", parent.id), shared, ctx.now);
    if !d.allowed {
        // Discord's per-channel write limit is not in the headers the webhook bucket shows.
        return Ok(crate::server::rate_limited(
            d.reset_after_ms,
            "shared",
            false,
            Some(20028),
            "The write action you are performing on the channel has hit the write rate limit.",
        ));
    }
    let id = st.ids.next(ctx.now);
    let channel_id = match target {
        Target::Channel(c) => c,
        Target::Thread(t) => {
            if let Some(m) = st.channels.get_mut(&t).and_then(|c| c.thread.as_mut()) {
                m.archived = false;
            }
            t
        }
        Target::NewForumPost(name) => {
            new_thread(
                st,
                id,
                &parent,
                name,
                state::CHANNEL_PUBLIC_THREAD,
                4320,
                ctx.now,
            );
            if let Some(p) = st.channels.get_mut(&parent.id) {
                p.last_message_id = Some(id);
            }
            id
        }
    };
    let am = allowed_mentions_of(&body);
    if am.is_none() {
        st.record_check(ctx.seq, &req.method, &req.path, Some(id));
    }
    let attachments = store_files(st, channel_id, &body, files, ctx.now);
    let avatar_url = body
        .get("avatar_url")
        .and_then(Value::as_str)
        .map(String::from);
    let position = st
        .channels
        .get(&channel_id)
        .and_then(|c| c.thread.as_ref())
        .map(|t| t.total_sent);
    let m = Message {
        id,
        channel_id,
        guild_id: hook.guild_id,
        author_id: hook.id,
        author_name: body
            .get("username")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| hook.name.clone()),
        author_avatar: avatar_url
            .as_deref()
            .map(State::avatar_hash)
            .or(hook.avatar.clone()),
        avatar_url,
        author_bot: true,
        webhook_id: Some(hook.id),
        application_id: hook.application_id,
        content,
        embeds,
        attachments,
        flags: flags_of(&body),
        tts: body.get("tts").and_then(Value::as_bool).unwrap_or(false),
        nonce: None,
        created_ms: ctx.now,
        edited_ms: None,
        allowed_mentions: am,
        position,
        reply_to: None,
    };
    let m = posted(st, m);
    if req.q_bool("wait") {
        ok(render::message(st, &m, ctx.now_s()))
    } else {
        no_content()
    }
}

/// A message sent by this webhook; one in a thread is only found with that `thread_id`.
fn webhook_message<'a>(
    st: &'a State,
    hook: &Webhook,
    m: u64,
    req: &Req,
) -> Result<&'a Message, ApiError> {
    let thread_id = snowflake_query(req, "thread_id")?;
    let msg = st
        .messages
        .get(&m)
        .filter(|x| x.webhook_id == Some(hook.id))
        .ok_or_else(ApiError::unknown_message)?;
    let expected = thread_id.unwrap_or(hook.channel_id);
    if msg.channel_id != expected {
        return Err(ApiError::unknown_message());
    }
    Ok(msg)
}

fn edit_webhook_message(st: &mut State, w: u64, t: &str, m: u64, req: &Req, ctx: &Ctx) -> Res {
    let hook = webhook_by_token(st, w, t)?.clone();
    let msg = webhook_message(st, &hook, m, req)?.clone();
    apply_edit(st, msg, req, ctx)
}

/// A message edit, by its webhook or by its author.
fn apply_edit(st: &mut State, mut msg: Message, req: &Req, ctx: &Ctx) -> Res {
    let Payload { body, files } = payload(st, req)?;
    validate_body(&body, Kind::WebhookEdit)?;
    if let Some(c) = body.get("content") {
        msg.content = c.as_str().unwrap_or_default().to_string();
    }
    if body.get("embeds").is_some() {
        msg.embeds = embeds_of(&body);
    }
    if let Some(f) = body.get("flags").and_then(Value::as_u64) {
        msg.flags = f & validate::SETTABLE_FLAGS;
    }
    // On edit `attachments` lists every attachment to keep; new uploads are added to them.
    if let Some(list) = body.get("attachments").and_then(Value::as_array) {
        let keep: Vec<u64> = list
            .iter()
            .filter_map(|a| match a.get("id") {
                Some(Value::String(s)) => s.parse().ok(),
                Some(Value::Number(n)) => n.as_u64(),
                _ => None,
            })
            .collect();
        msg.attachments.retain(|a| keep.contains(&a.id));
    }
    let added = store_files(st, msg.channel_id, &body, files, ctx.now);
    msg.attachments.extend(added);
    if validate::is_empty(&msg.content, msg.embeds.len(), msg.attachments.len(), false) {
        return Err(ApiError::empty_message());
    }
    // Without `allowed_mentions` on the edit, Discord parses mentions in the new content again.
    msg.allowed_mentions = allowed_mentions_of(&body);
    if msg.allowed_mentions.is_none() {
        st.record_check(ctx.seq, &req.method, &req.path, Some(msg.id));
    }
    msg.edited_ms = Some(ctx.now);
    st.messages.insert(msg.id, msg.clone());
    ok(render::message(st, &msg, ctx.now_s()))
}

fn my_guilds(st: &State, req: &Req, ctx: &Ctx) -> Res {
    let user_id = match &ctx.auth {
        Auth::Bot => st.bot_id,
        Auth::Bearer(g) if g.has_scope("guilds") => g.user_id,
        _ => return Err(ApiError::unauthorized()),
    };
    let limit = int_query(req, "limit", 200, 1, 200)? as usize;
    let after = snowflake_query(req, "after")?.unwrap_or(0);
    let before = snowflake_query(req, "before")?.unwrap_or(u64::MAX);
    let with_counts = req.q_bool("with_counts");
    let list: Vec<Value> = st
        .guilds
        .values()
        .filter(|g| g.id > after && g.id < before && g.members.contains_key(&user_id))
        .take(limit)
        .map(|g| render::my_guild(st, g, user_id, with_counts))
        .collect();
    ok(Value::Array(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{seed_id, Settings};

    fn state() -> State {
        State::new(Settings::new(), "http://127.0.0.1:1".into(), b"t".to_vec())
    }

    fn bot_ctx() -> Ctx {
        Ctx {
            now: 1_800_000_000_000,
            seq: 1,
            auth: Auth::Bot,
        }
    }

    fn call(st: &mut State, method: &str, url: &str, body: Value) -> Resp {
        let req = Req::new(
            method,
            url,
            vec![("content-type".into(), "application/json".into())],
            body.to_string().into_bytes(),
        );
        let segs: Vec<&str> = req.segs.iter().skip(2).map(String::as_str).collect();
        match Ep::parse(&req.method, &segs) {
            Ok(ep) => handle(st, &ep, &req, &bot_ctx()).unwrap_or_else(Resp::from),
            Err(e) => e.into(),
        }
    }

    fn body(r: &Resp) -> Value {
        serde_json::from_slice(&r.body).unwrap_or(Value::Null)
    }

    #[test]
    fn routes_parse_with_templates_and_majors() {
        let ep = Ep::parse("POST", &["webhooks", "12", "tok"]).unwrap();
        assert_eq!(ep, Ep::Execute(12, "tok".into()));
        assert_eq!(ep.major(), "webhook:12/tok");
        assert_eq!(ep.class(), Class::Webhook);
        assert_eq!(ep.auth(), AuthKind::None);
        let edit = Ep::parse("PATCH", &["webhooks", "12", "tok", "messages", "5"]).unwrap();
        assert_eq!(edit.bucket_hash(), ep.bucket_hash());
        assert_eq!(Ep::parse("GET", &["guilds", "x"]).unwrap_err().code, 50035);
        assert_eq!(Ep::parse("GET", &["nope"]).unwrap_err().status, 404);
        assert_eq!(
            Ep::parse("PATCH", &["guilds", "1"]).unwrap_err().status,
            405
        );
    }

    #[test]
    fn members_page_by_user_id_up_to_1000() {
        let mut st = state();
        st.set_generated_members(2_500);
        let g = st.guild_id;
        let mut seen = vec![];
        let mut after = 0u64;
        loop {
            let r = call(
                &mut st,
                "GET",
                &format!("/api/v10/guilds/{g}/members?limit=1000&after={after}"),
                json!(null),
            );
            assert_eq!(r.status, 200);
            let page = body(&r);
            let page = page.as_array().unwrap();
            for m in page {
                seen.push(m["user"]["id"].as_str().unwrap().parse::<u64>().unwrap());
            }
            if page.len() < 1000 {
                break;
            }
            after = *seen.last().unwrap();
        }
        assert_eq!(seen.len(), 2_505);
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "ascending, no repeats"
        );
        let r = call(
            &mut st,
            "GET",
            &format!("/api/v10/guilds/{g}/members?limit=1001"),
            json!(null),
        );
        assert_eq!(
            body(&r)["errors"]["limit"]["_errors"][0]["code"],
            "NUMBER_TYPE_MAX"
        );
        st.settings.guild_members_intent = false;
        let r = call(
            &mut st,
            "GET",
            &format!("/api/v10/guilds/{g}/members"),
            json!(null),
        );
        assert_eq!((r.status, body(&r)["code"].as_u64()), (403, Some(50001)));
    }

    #[test]
    fn role_changes_obey_the_hierarchy() {
        let mut st = state();
        let g = st.guild_id;
        let bob = seed_id(4);
        let premium = seed_id(21);
        let mods = seed_id(24);
        let booster = seed_id(22);
        let url = |r: u64| format!("/api/v10/guilds/{g}/members/{bob}/roles/{r}");
        assert_eq!(call(&mut st, "PUT", &url(premium), json!(null)).status, 204);
        assert!(st.guilds[&g].members[&bob].roles.contains(&premium));
        let above = call(&mut st, "PUT", &url(mods), json!(null));
        assert_eq!(
            (above.status, body(&above)["code"].as_u64()),
            (403, Some(50013))
        );
        let managed = call(&mut st, "PUT", &url(booster), json!(null));
        assert_eq!(managed.status, 403);
        assert_eq!(
            call(&mut st, "DELETE", &url(premium), json!(null)).status,
            204
        );
        assert!(!st.guilds[&g].members[&bob].roles.contains(&premium));
        let bot_role = seed_id(23);
        st.guilds
            .get_mut(&g)
            .unwrap()
            .roles
            .get_mut(&bot_role)
            .unwrap()
            .permissions &= !P::MANAGE_ROLES.bits();
        let r = call(&mut st, "PUT", &url(premium), json!(null));
        assert_eq!(body(&r)["code"], 50013);
    }

    #[test]
    fn kick_refuses_owner_and_higher_members() {
        let mut st = state();
        let g = st.guild_id;
        let owner = seed_id(1);
        let moder = seed_id(7);
        let bob = seed_id(4);
        let k = |u: u64| format!("/api/v10/guilds/{g}/members/{u}");
        assert_eq!(call(&mut st, "DELETE", &k(owner), json!(null)).status, 403);
        assert_eq!(call(&mut st, "DELETE", &k(moder), json!(null)).status, 403);
        assert_eq!(call(&mut st, "DELETE", &k(bob), json!(null)).status, 204);
        assert_eq!(
            body(&call(&mut st, "DELETE", &k(bob), json!(null)))["code"],
            10007
        );
    }

    #[test]
    fn webhook_creation_rules() {
        let mut st = state();
        let c = seed_id(45);
        let url = format!("/api/v10/channels/{c}/webhooks");
        let r = call(&mut st, "POST", &url, json!({"name": "Clyde relay"}));
        assert_eq!(
            body(&r)["errors"]["name"]["_errors"][0]["code"],
            "USERNAME_INVALID_CONTAINS"
        );
        for i in 0..15 {
            let r = call(&mut st, "POST", &url, json!({"name": format!("Relay {i}")}));
            assert_eq!(r.status, 200, "{:?}", body(&r));
            assert_eq!(body(&r)["token"].as_str().map(str::len), Some(68));
        }
        let r = call(&mut st, "POST", &url, json!({"name": "one too many"}));
        assert_eq!((r.status, body(&r)["code"].as_u64()), (400, Some(30007)));
        let listed = body(&call(&mut st, "GET", &url, json!(null)));
        assert_eq!(listed.as_array().map(Vec::len), Some(15));
        let hidden = format!("/api/v10/channels/{}/webhooks", seed_id(48));
        assert_eq!(
            body(&call(&mut st, "POST", &hidden, json!({"name": "x"})))["code"],
            50001
        );
        let general = format!("/api/v10/channels/{}/webhooks", seed_id(47));
        let g = st.guild_id;
        let bot_role = st
            .guilds
            .get_mut(&g)
            .unwrap()
            .roles
            .get_mut(&seed_id(23))
            .unwrap();
        bot_role.permissions &= !P::MANAGE_WEBHOOKS.bits();
        assert_eq!(
            body(&call(&mut st, "POST", &general, json!({"name": "x"})))["code"],
            50013
        );
    }

    #[test]
    fn forum_execution_needs_a_thread() {
        let mut st = state();
        let forum = seed_id(46);
        let r = call(
            &mut st,
            "POST",
            &format!("/api/v10/channels/{forum}/webhooks"),
            json!({"name": "Ideas"}),
        );
        let hook = body(&r);
        let (id, tok) = (
            hook["id"].as_str().unwrap().to_string(),
            hook["token"].as_str().unwrap().to_string(),
        );
        let exec = format!("/api/v10/webhooks/{id}/{tok}?wait=true");
        let r = call(
            &mut st,
            "POST",
            &exec,
            json!({"content": "x", "allowed_mentions": {"parse": []}}),
        );
        assert_eq!(body(&r)["code"], 220001);
        let r = call(
            &mut st,
            "POST",
            &exec,
            json!({"content": "BTC long", "thread_name": "BTC", "allowed_mentions": {"parse": []}}),
        );
        assert_eq!(r.status, 200);
        let m = body(&r);
        let thread: u64 = m["channel_id"].as_str().unwrap().parse().unwrap();
        assert_eq!(st.channels[&thread].parent_id, Some(forum));
        let r = call(
            &mut st,
            "POST",
            &format!("{exec}&thread_id={thread}"),
            json!({"content": "update", "allowed_mentions": {"parse": []}}),
        );
        assert_eq!(
            body(&r)["channel_id"].as_str(),
            Some(thread.to_string().as_str())
        );
        let msg = body(&r)["id"].as_str().unwrap().to_string();
        let edit = format!("/api/v10/webhooks/{id}/{tok}/messages/{msg}");
        assert_eq!(
            body(&call(&mut st, "PATCH", &edit, json!({"content": "y"})))["code"],
            10008,
            "thread messages need thread_id"
        );
        let r = call(
            &mut st,
            "PATCH",
            &format!("{edit}?thread_id={thread}"),
            json!({"content": "y", "allowed_mentions": {"parse": []}}),
        );
        assert_eq!(r.status, 200);
        assert!(st.checks.is_empty());
    }

    #[test]
    fn a_reply_reads_back_with_its_reference_and_original_and_an_unknown_original_is_refused() {
        let mut st = state();
        let c = seed_id(45);
        let url = format!("/api/v10/channels/{c}/messages");
        let none = json!({"parse": []});
        let original = body(&call(
            &mut st,
            "POST",
            &url,
            json!({"content": "BTC long 64k", "allowed_mentions": none}),
        ));
        let oid = original["id"].as_str().unwrap().to_string();
        let reply = body(&call(
            &mut st,
            "POST",
            &url,
            json!({"content": "TP1 hit", "allowed_mentions": none,
                   "message_reference": {"message_id": oid}}),
        ));
        let rid = reply["id"].as_str().unwrap();
        let got = body(&call(&mut st, "GET", &format!("{url}/{rid}"), json!(null)));
        assert_eq!(got["type"], 19);
        assert_eq!(got["message_reference"]["message_id"], oid.as_str());
        assert_eq!(got["referenced_message"]["content"], "BTC long 64k");
        let typed: twilight_model::channel::Message = serde_json::from_value(got).unwrap();
        assert_eq!(
            typed.kind,
            twilight_model::channel::message::MessageType::Reply
        );
        assert!(typed.referenced_message.is_some());

        let unknown = json!({"content": "x", "allowed_mentions": none,
                             "message_reference": {"message_id": "1"}});
        let r = call(&mut st, "POST", &url, unknown);
        assert_eq!(r.status, 400);
        assert_eq!(body(&r)["code"], 50035);
        let lenient = json!({"content": "x", "allowed_mentions": none,
                             "message_reference": {"message_id": "1", "fail_if_not_exists": false}});
        let plain = body(&call(&mut st, "POST", &url, lenient));
        assert_eq!(plain["type"], 0);

        call(&mut st, "DELETE", &format!("{url}/{oid}"), json!(null));
        let orphan = body(&call(&mut st, "GET", &format!("{url}/{rid}"), json!(null)));
        assert_eq!(orphan["type"], 19);
        assert!(orphan["referenced_message"].is_null());
    }

    #[test]
    fn bot_posts_dedupe_on_enforced_nonce() {
        let mut st = state();
        let c = seed_id(45);
        let url = format!("/api/v10/channels/{c}/messages");
        let post = json!({"content": "hi", "nonce": "sig-1", "enforce_nonce": true, "allowed_mentions": {"parse": []}});
        let a = body(&call(&mut st, "POST", &url, post.clone()));
        let b = body(&call(&mut st, "POST", &url, post));
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["nonce"], "sig-1");
        let c2 = body(&call(
            &mut st,
            "POST",
            &url,
            json!({"content": "hi", "nonce": "sig-1", "allowed_mentions": {"parse": []}}),
        ));
        assert_ne!(
            c2["id"], a["id"],
            "without enforce_nonce the nonce does not dedupe"
        );
        let recent = body(&call(
            &mut st,
            "GET",
            &format!("{url}?limit=1"),
            json!(null),
        ));
        assert_eq!(recent[0]["id"], c2["id"]);
        let r = call(
            &mut st,
            "POST",
            &url,
            json!({"content": "no mentions field"}),
        );
        assert_eq!(r.status, 200);
        assert_eq!(st.checks.len(), 1);
    }

    #[test]
    fn channel_write_limit_is_shared_by_webhooks_and_hidden_from_their_headers() {
        let mut st = state();
        st.settings.limits.channel_webhooks = crate::ratelimit::Window::new(2, 60_000);
        let c = seed_id(44);
        let url = format!("/api/v10/channels/{c}/webhooks");
        let hooks: Vec<Value> = (0..2)
            .map(|i| {
                body(&call(
                    &mut st,
                    "POST",
                    &url,
                    json!({"name": format!("Relay {i}")}),
                ))
            })
            .collect();
        let exec = |h: &Value| {
            format!(
                "/api/v10/webhooks/{}/{}?wait=true",
                h["id"].as_str().unwrap(),
                h["token"].as_str().unwrap()
            )
        };
        let post = json!({"content": "x", "allowed_mentions": {"parse": []}});
        assert_eq!(
            call(&mut st, "POST", &exec(&hooks[0]), post.clone()).status,
            200
        );
        assert_eq!(
            call(&mut st, "POST", &exec(&hooks[1]), post.clone()).status,
            200
        );
        let r = call(&mut st, "POST", &exec(&hooks[0]), post);
        assert_eq!(r.status, 429);
        assert_eq!(r.get_header("X-RateLimit-Scope"), Some("shared"));
        assert_eq!(body(&r)["code"], 20028);
    }

    #[test]
    fn oversized_files_and_empty_messages_are_refused() {
        let mut st = state();
        st.settings.file_limit = 4;
        let c = seed_id(45);
        let hook = body(&call(
            &mut st,
            "POST",
            &format!("/api/v10/channels/{c}/webhooks"),
            json!({"name": "Relay"}),
        ));
        let exec = format!(
            "/api/v10/webhooks/{}/{}?wait=true",
            hook["id"].as_str().unwrap(),
            hook["token"].as_str().unwrap()
        );
        let multipart = |data: &[u8]| {
            let mut b = b"--B\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.txt\"\r\n\r\n".to_vec();
            b.extend_from_slice(data);
            b.extend_from_slice(b"\r\n--B--\r\n");
            Req::new(
                "POST",
                &exec,
                vec![(
                    "content-type".into(),
                    "multipart/form-data; boundary=B".into(),
                )],
                b,
            )
        };
        let ctx = bot_ctx();
        let ep = Ep::parse(
            "POST",
            &[
                "webhooks",
                hook["id"].as_str().unwrap(),
                hook["token"].as_str().unwrap(),
            ],
        )
        .unwrap();
        let big = handle(&mut st, &ep, &multipart(b"12345"), &ctx).unwrap_err();
        assert_eq!((big.status, big.code), (413, 40005));
        let ok = handle(&mut st, &ep, &multipart(b"1234"), &ctx).unwrap();
        assert_eq!(body(&ok)["attachments"][0]["size"], 4);
        assert_eq!(
            st.checks.len(),
            1,
            "a file-only post without allowed_mentions is flagged"
        );
        let empty = call(
            &mut st,
            "POST",
            &exec,
            json!({"content": "", "allowed_mentions": {"parse": []}}),
        );
        assert_eq!(body(&empty)["code"], 50006);
        let unknown = call(
            &mut st,
            "POST",
            "/api/v10/webhooks/1/x",
            json!({"content": "x"}),
        );
        assert_eq!(
            (unknown.status, body(&unknown)["code"].as_u64()),
            (404, Some(10015))
        );
        let bad_token = call(
            &mut st,
            "POST",
            &format!("/api/v10/webhooks/{}/wrong", hook["id"].as_str().unwrap()),
            json!({"content": "x"}),
        );
        assert_eq!(
            (bad_token.status, body(&bad_token)["code"].as_u64()),
            (401, Some(50027))
        );
    }

    #[test]
    fn malformed_bodies_never_panic_or_answer_5xx() {
        let mut st = state();
        let c = seed_id(45);
        let forum = seed_id(46);
        let hook = body(&call(
            &mut st,
            "POST",
            &format!("/api/v10/channels/{c}/webhooks"),
            json!({"name": "Relay"}),
        ));
        let exec = format!(
            "/api/v10/webhooks/{}/{}",
            hook["id"].as_str().unwrap(),
            hook["token"].as_str().unwrap()
        );
        let sent = body(&call(
            &mut st,
            "POST",
            &format!("{exec}?wait=true"),
            json!({"content": "x", "allowed_mentions": {"parse": []}}),
        ));
        let msg = sent["id"].as_str().unwrap().to_string();
        let g = st.guild_id;
        let bob = seed_id(4);
        let routes = [
            ("POST", format!("{exec}?wait=true")),
            ("PATCH", format!("{exec}/messages/{msg}")),
            ("POST", format!("/api/v10/channels/{c}/messages")),
            ("POST", format!("/api/v10/channels/{c}/threads")),
            ("POST", format!("/api/v10/channels/{forum}/threads")),
            ("POST", format!("/api/v10/channels/{c}/webhooks")),
            ("PUT", format!("/api/v10/guilds/{g}/members/{bob}")),
        ];
        let bodies = [
            json!([]),
            json!("text"),
            json!(7),
            json!({"content": 5, "embeds": "x", "allowed_mentions": 3, "attachments": {}, "name": 1, "message": [], "access_token": 2}),
            json!({"embeds": [1, "x", {"fields": [1, "x", {"name": 2}]}], "allowed_mentions": {"parse": "all", "users": 1}}),
            json!({"name": "t", "message": {"content": "x", "embeds": [{"fields": ["x"]}]}}),
        ];
        for (method, url) in &routes {
            for b in &bodies {
                let r = call(&mut st, method, url, b.clone());
                assert!(r.status < 500, "{method} {url} {b} -> {}", r.status);
            }
            let junk = Req::new(method, url, vec![("content-type".into(), "multipart/form-data; boundary=B".into())],
                b"--B\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n[1]\r\n--B\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\nx\r\n--B--".to_vec());
            let segs: Vec<&str> = junk.segs.iter().skip(2).map(String::as_str).collect();
            let ep = Ep::parse(&junk.method, &segs).unwrap();
            let r = handle(&mut st, &ep, &junk, &bot_ctx()).unwrap_or_else(Resp::from);
            assert!(
                (400..500).contains(&r.status),
                "multipart {method} {url} -> {}",
                r.status
            );
        }
    }
}
