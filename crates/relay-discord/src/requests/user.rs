//! Users: the bot itself, its guilds, other users (avatars), and a linked user by their own
//! OAuth token.

use twilight_model::id::marker::{GuildMarker, UserMarker};
use twilight_model::id::Id;
use twilight_model::user::{CurrentUser, CurrentUserGuild, User};

use super::base::{Auth, Endpoint, Method, Query, Request, Resource};
use super::validate;
use crate::error::DiscordError;

const ME: &str = "/users/@me";
const MY_GUILDS: &str = "/users/@me/guilds";
const USER: &str = "/users/{user_id}";

/// Whose `@me`: the bot's, or a user's by the access token they granted us.
fn me_request(rest: &str, template: &'static str, user_token: Option<&str>) -> Request {
    let (auth, resource) = match user_token {
        Some(t) => (
            Auth::Bearer(t.to_string()),
            Resource::UserToken(t.to_string()),
        ),
        None => (Auth::Bot, Resource::None),
    };
    Request::new(
        Method::Get,
        format!("/users/@me{rest}"),
        template,
        resource,
        auth,
    )
}

/// `GET /users/@me`: the bot user, or (with a user's token, scope `identify`) that user.
#[derive(Clone, Default)]
pub struct GetCurrentUser {
    pub user_token: Option<String>,
}

impl std::fmt::Debug for GetCurrentUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetCurrentUser")
            .field(
                "user_token",
                &self.user_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl GetCurrentUser {
    pub fn bot() -> Self {
        GetCurrentUser { user_token: None }
    }

    pub fn with_token(access_token: impl Into<String>) -> Self {
        GetCurrentUser {
            user_token: Some(access_token.into()),
        }
    }
}

impl Endpoint for GetCurrentUser {
    type Output = CurrentUser;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(me_request("", ME, self.user_token.as_deref()))
    }
}

/// `GET /users/@me/guilds?limit=&after=&with_counts=`: the bot's guilds, one page (up to 200),
/// in id order.
#[derive(Debug, Clone, Default)]
pub struct GetCurrentUserGuilds {
    /// 1–200; Discord's default (200) when `None`.
    pub limit: Option<u16>,
    pub after: Option<Id<GuildMarker>>,
    pub with_counts: bool,
}

impl Endpoint for GetCurrentUserGuilds {
    type Output = Vec<CurrentUserGuild>;

    fn request(&self) -> Result<Request, DiscordError> {
        if let Some(limit) = self.limit {
            validate::range("limit", limit, 1, 200)?;
        }
        let mut query = Query::new();
        query
            .push_opt("limit", self.limit)
            .push_opt("after", self.after);
        if self.with_counts {
            query.push("with_counts", true);
        }
        Ok(me_request(
            &format!("/guilds{}", query.finish()),
            MY_GUILDS,
            None,
        ))
    }
}

/// `GET /users/{user_id}`.
#[derive(Debug, Clone)]
pub struct GetUser {
    pub user_id: Id<UserMarker>,
}

impl Endpoint for GetUser {
    type Output = User;

    fn request(&self) -> Result<Request, DiscordError> {
        Ok(Request::new(
            Method::Get,
            format!("/users/{}", self.user_id),
            USER,
            Resource::None,
            Auth::Bot,
        ))
    }
}
