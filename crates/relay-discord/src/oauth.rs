//! OAuth2 for account linking: the authorize URL we send the user to, the server-side code
//! exchange (the code is exchanged here, never trusted from the browser), and `users/@me`
//! with the user's token ([`crate::requests::GetCurrentUser::with_token`]).

use serde::Deserialize;
use twilight_model::id::marker::ApplicationMarker;
use twilight_model::id::Id;

use crate::error::DiscordError;
use crate::requests::{
    form_encode, percent_encode, Auth, Body, Endpoint, Method, Request, Resource,
};

/// Discord's authorization page. The fake Discord serves its own; production may keep this.
pub const DEFAULT_AUTHORIZE_URL: &str = "https://discord.com/oauth2/authorize";

const TOKEN: &str = "/oauth2/token";

/// `prompt=`: `none` skips the consent screen for a user who already authorised the scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Consent,
    None,
}

/// Builds `https://discord.com/oauth2/authorize?response_type=code&...`.
#[derive(Debug, Clone)]
pub struct AuthorizeUrl {
    pub authorize_url: String,
    pub client_id: Id<ApplicationMarker>,
    pub redirect_uri: String,
    /// For example `identify`, `guilds.join` (constants in `twilight_model::oauth::scope`).
    pub scopes: Vec<String>,
    /// Opaque, unguessable, bound to the user's session: checked on the callback (CSRF).
    pub state: String,
    pub prompt: Option<Prompt>,
}

impl AuthorizeUrl {
    pub fn new(
        client_id: Id<ApplicationMarker>,
        redirect_uri: impl Into<String>,
        scopes: &[&str],
        state: impl Into<String>,
    ) -> Self {
        AuthorizeUrl {
            authorize_url: DEFAULT_AUTHORIZE_URL.to_string(),
            client_id,
            redirect_uri: redirect_uri.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            state: state.into(),
            prompt: None,
        }
    }

    pub fn build(&self) -> Result<String, DiscordError> {
        check_redirect(&self.redirect_uri)?;
        if !(self.authorize_url.starts_with("https://")
            || self.authorize_url.starts_with("http://"))
            || self.authorize_url.contains('?')
        {
            return Err(DiscordError::invalid(
                "authorize_url_invalid",
                "authorize_url",
                "the authorize URL is an http(s) URL without a query",
            ));
        }
        if self.state.len() < 16 {
            return Err(DiscordError::invalid(
                "oauth_state_invalid",
                "state",
                "state must be an unguessable value of at least 16 characters",
            ));
        }
        let scope_ok = |s: &String| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
        };
        if self.scopes.is_empty() || !self.scopes.iter().all(scope_ok) {
            return Err(DiscordError::invalid(
                "oauth_scope_invalid",
                "scopes",
                "at least one scope, each like `identify` or `guilds.join`",
            ));
        }
        let mut url = format!(
            "{}?response_type=code&client_id={}&scope={}&state={}&redirect_uri={}",
            self.authorize_url,
            self.client_id,
            percent_encode(&self.scopes.join(" ")),
            percent_encode(&self.state),
            percent_encode(&self.redirect_uri),
        );
        match self.prompt {
            Some(Prompt::Consent) => url.push_str("&prompt=consent"),
            Some(Prompt::None) => url.push_str("&prompt=none"),
            None => {}
        }
        Ok(url)
    }
}

fn check_redirect(uri: &str) -> Result<(), DiscordError> {
    if uri.starts_with("https://") || uri.starts_with("http://") {
        Ok(())
    } else {
        Err(DiscordError::invalid(
            "redirect_uri_invalid",
            "redirect_uri",
            "redirect_uri must be an http(s) URL registered with the application",
        ))
    }
}

/// `POST /oauth2/token` with `grant_type=authorization_code`, as a form. Client credentials go
/// in the body (Discord accepts them there or as HTTP Basic).
#[derive(Clone)]
pub struct ExchangeCode {
    pub client_id: Id<ApplicationMarker>,
    pub client_secret: String,
    pub code: String,
    /// Must equal the one in the authorize URL.
    pub redirect_uri: String,
}

/// `POST /oauth2/token` with `grant_type=refresh_token`.
#[derive(Clone)]
pub struct RefreshToken {
    pub client_id: Id<ApplicationMarker>,
    pub client_secret: String,
    pub refresh_token: String,
}

impl std::fmt::Debug for ExchangeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeCode")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn token_request(pairs: &[(&str, &str)]) -> Request {
    let form = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut req = Request::new(
        Method::Post,
        TOKEN.to_string(),
        TOKEN,
        Resource::None,
        Auth::None,
    );
    req.body = Body::Form(form);
    req
}

fn non_empty(field: &'static str, value: &str) -> Result<(), DiscordError> {
    if value.is_empty() {
        return Err(DiscordError::invalid(
            "oauth_parameter_missing",
            field,
            format!("{field} is required"),
        ));
    }
    Ok(())
}

impl Endpoint for ExchangeCode {
    type Output = AccessToken;

    fn request(&self) -> Result<Request, DiscordError> {
        non_empty("code", &self.code)?;
        non_empty("client_secret", &self.client_secret)?;
        check_redirect(&self.redirect_uri)?;
        let client_id = self.client_id.to_string();
        Ok(token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &self.code),
            ("redirect_uri", &self.redirect_uri),
            ("client_id", &client_id),
            ("client_secret", &self.client_secret),
        ]))
    }
}

impl Endpoint for RefreshToken {
    type Output = AccessToken;

    fn request(&self) -> Result<Request, DiscordError> {
        non_empty("refresh_token", &self.refresh_token)?;
        non_empty("client_secret", &self.client_secret)?;
        let client_id = self.client_id.to_string();
        Ok(token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &self.refresh_token),
            ("client_id", &client_id),
            ("client_secret", &self.client_secret),
        ]))
    }
}

/// The token endpoint's answer.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: String,
    /// Seconds.
    pub expires_in: u64,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Space-separated granted scopes.
    #[serde(default)]
    pub scope: String,
}

impl AccessToken {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::Decode;

    fn id() -> Id<ApplicationMarker> {
        Id::new(1_234_567_890_123_456_789)
    }

    #[test]
    fn authorize_url_carries_scopes_state_and_redirect() {
        let mut a = AuthorizeUrl::new(
            id(),
            "https://relay.example/v1/discord/callback?x=1",
            &["identify", "guilds.join"],
            "st4te-0123456789abcdef",
        );
        assert_eq!(
            a.build().unwrap(),
            "https://discord.com/oauth2/authorize?response_type=code&client_id=1234567890123456789\
&scope=identify%20guilds.join&state=st4te-0123456789abcdef\
&redirect_uri=https%3A%2F%2Frelay.example%2Fv1%2Fdiscord%2Fcallback%3Fx%3D1"
        );
        a.prompt = Some(Prompt::None);
        a.authorize_url = "http://127.0.0.1:8790/oauth2/authorize".into();
        let url = a.build().unwrap();
        assert!(url.starts_with("http://127.0.0.1:8790/oauth2/authorize?"));
        assert!(url.ends_with("&prompt=none"));
    }

    #[test]
    fn authorize_url_refuses_weak_state_and_odd_scopes() {
        let mut a = AuthorizeUrl::new(id(), "https://r.example/cb", &["identify"], "short");
        assert_eq!(
            a.build().unwrap_err().error_code,
            "discord_oauth_state_invalid"
        );
        a.state = "x".repeat(32);
        a.scopes = vec!["identify email".into()];
        assert_eq!(
            a.build().unwrap_err().error_code,
            "discord_oauth_scope_invalid"
        );
        a.scopes = vec![];
        assert!(a.build().is_err());
        a.scopes = vec!["identify".into()];
        a.redirect_uri = "javascript:alert(1)".into();
        assert_eq!(
            a.build().unwrap_err().error_code,
            "discord_redirect_uri_invalid"
        );
    }

    #[test]
    fn code_exchange_is_a_form_post_without_auth() {
        let req = ExchangeCode {
            client_id: id(),
            client_secret: "s3cr/et".into(),
            code: "c0de+1".into(),
            redirect_uri: "https://r.example/cb".into(),
        }
        .request()
        .unwrap();
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.path, "/oauth2/token");
        assert_eq!(req.auth, Auth::None);
        assert!(!req.counts_against_global);
        assert_eq!(
            req.body.content_type(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            req.body,
            Body::Form(
                "grant_type=authorization_code&code=c0de%2B1\
&redirect_uri=https%3A%2F%2Fr.example%2Fcb&client_id=1234567890123456789&client_secret=s3cr%2Fet"
                    .into()
            )
        );
        let shown = format!("{req:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        let refresh = RefreshToken {
            client_id: id(),
            client_secret: "s".into(),
            refresh_token: "r t".into(),
        }
        .request()
        .unwrap();
        assert_eq!(
            refresh.body,
            Body::Form(
                "grant_type=refresh_token&refresh_token=r+t&client_id=1234567890123456789&client_secret=s"
                    .into()
            )
        );
    }

    #[test]
    fn token_response_decodes_and_hides_secrets() {
        let t = AccessToken::decode(
            200,
            br#"{"access_token":"6qrZcUqja7812RVdnEKjpzOL4CvHBFG","token_type":"Bearer","expires_in":604800,"refresh_token":"D43f5y0ahjqew82jZ4NViEr2YafMKhue","scope":"identify guilds.join"}"#,
        )
        .unwrap();
        assert_eq!(t.expires_in, 604_800);
        assert!(t.has_scope("guilds.join"));
        assert!(!t.has_scope("guilds"));
        assert!(!format!("{t:?}").contains("6qrZ"));
        assert_eq!(
            AccessToken::decode(200, b"<html>").unwrap_err().error_code,
            "discord_unexpected_response"
        );
    }
}
