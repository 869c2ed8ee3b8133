//! What every request type shares: methods, auth, bodies, route keys, the `Endpoint` trait,
//! query strings and audit-log reasons.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

use crate::error::DiscordError;
use crate::multipart::Form;
use crate::transport::Response;

/// The HTTP methods Discord's REST API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the transport authenticates a request.
///
/// The bot token never appears in a [`Request`]: the transport owns it and adds
/// `Authorization: Bot <token>` for [`Auth::Bot`]. A user's OAuth access token is per request,
/// so it travels here. Webhook requests carry their token in the path and need no header.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    Bot,
    Bearer(String),
    None,
}

impl Auth {
    pub fn kind(&self) -> AuthKind {
        match self {
            Auth::Bot => AuthKind::Bot,
            Auth::Bearer(_) => AuthKind::Bearer,
            Auth::None => AuthKind::None,
        }
    }

    /// The `Authorization` header value, given the bot token (which only the transport holds).
    pub fn header_value(&self, bot_token: &str) -> Option<String> {
        match self {
            Auth::Bot => Some(format!("Bot {bot_token}")),
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
            Auth::None => None,
        }
    }
}

// Tokens must not end up in logs through `{:?}`.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Bot => f.write_str("Bot"),
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Auth::None => f.write_str("None"),
        }
    }
}

/// [`Auth`] without the secret: what the rate limiter needs to know about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    Bot,
    Bearer,
    None,
}

/// A request body, still structured: multipart needs a boundary the transport chooses.
#[derive(Clone, PartialEq)]
pub enum Body {
    None,
    /// `application/json`.
    Json(Vec<u8>),
    /// `application/x-www-form-urlencoded` (the OAuth2 token exchange).
    Form(String),
    /// `multipart/form-data`: encode with [`Form::encode`] and a random boundary.
    Multipart(Form),
}

impl Body {
    /// The content type, or `None` for multipart (whose type names the boundary) and no body.
    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            Body::None | Body::Multipart(_) => None,
            Body::Json(_) => Some("application/json"),
            Body::Form(_) => Some("application/x-www-form-urlencoded"),
        }
    }
}

// Form bodies hold the OAuth code and client secret; JSON bodies may hold a user's access token
// (adding a guild member). Show sizes only.
impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::None => f.write_str("None"),
            Body::Json(b) => write!(f, "Json({} bytes)", b.len()),
            Body::Form(b) => write!(f, "Form({} bytes)", b.len()),
            Body::Multipart(form) => write!(f, "Multipart({} files)", form.files().len()),
        }
    }
}

/// The top-level resource of a route: Discord buckets per route *and* per these ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Channel(u64),
    Guild(u64),
    /// A webhook's id and token. The key keeps a digest of the token, not the token: rate-limit
    /// state is persisted and shown to operators.
    Webhook {
        id: u64,
        token: String,
    },
    /// A user's OAuth token: user-token limits are per user.
    UserToken(String),
    /// Routes without a top-level resource (`/users/@me`, `/oauth2/token`).
    None,
}

impl Resource {
    fn key(&self) -> String {
        match self {
            Resource::Channel(id) => format!("channel:{id}"),
            Resource::Guild(id) => format!("guild:{id}"),
            Resource::Webhook { id, token } => format!("webhook:{id}:{}", digest(token)),
            Resource::UserToken(token) => format!("user:{}", digest(token)),
            Resource::None => String::from("-"),
        }
    }
}

fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// What a request is rate limited as: method + route template + top-level resource, e.g.
/// `POST /channels/{channel_id}/messages channel:123`. Until Discord names a route's bucket
/// (`X-RateLimit-Bucket`), the route key is the bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RouteKey(String);

impl RouteKey {
    pub fn new(method: Method, template: &str, resource: &Resource) -> Self {
        RouteKey(format!("{method} {template} {}", resource.key()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The top-level resource part (`channel:123`), which buckets sharing a Discord bucket id
    /// are still split by.
    pub fn resource(&self) -> &str {
        self.0.rsplit(' ').next().unwrap_or("-")
    }
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the rate limiter needs to know about a request, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateKey {
    pub route: RouteKey,
    pub auth: AuthKind,
    pub counts_against_global: bool,
}

/// A request ready for a transport. `path` is relative to the API base (for example
/// `https://discord.com/api/v10`) and includes the query string.
#[derive(Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub route: RouteKey,
    pub body: Body,
    /// Extra headers (for example `X-Audit-Log-Reason`), already encoded.
    pub headers: Vec<(String, String)>,
    pub auth: Auth,
    /// Whether the request counts against the bot token's global limit: requests authenticated
    /// by a webhook's token carry no bot token, and Discord does not count them.
    pub counts_against_global: bool,
    /// `path` with any token in it replaced, for logs.
    log_path: String,
}

impl Request {
    pub(crate) fn new(
        method: Method,
        path: String,
        template: &'static str,
        resource: Resource,
        auth: Auth,
    ) -> Self {
        let log_path = match &resource {
            Resource::Webhook { token, .. } if !token.is_empty() => {
                path.replace(token.as_str(), "<token>")
            }
            _ => path.clone(),
        };
        let counts_against_global = matches!(auth, Auth::Bot);
        Request {
            method,
            route: RouteKey::new(method, template, &resource),
            path,
            body: Body::None,
            headers: Vec::new(),
            auth,
            counts_against_global,
            log_path,
        }
    }

    pub(crate) fn json<T: Serialize>(mut self, body: &T) -> Result<Self, DiscordError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| DiscordError::internal(format!("encoding the request body: {e}")))?;
        self.body = Body::Json(bytes);
        Ok(self)
    }

    pub(crate) fn header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_string(), value));
        self
    }

    /// The path with tokens redacted.
    pub fn log_path(&self) -> &str {
        &self.log_path
    }

    pub fn rate_key(&self) -> RateKey {
        RateKey {
            route: self.route.clone(),
            auth: self.auth.kind(),
            counts_against_global: self.counts_against_global,
        }
    }

    /// The absolute URL under `api_base` (no trailing slash expected, one tolerated).
    pub fn url(&self, api_base: &str) -> String {
        format!("{}{}", api_base.trim_end_matches('/'), self.path)
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.log_path)
            .field("route", &self.route)
            .field("body", &self.body)
            .field("headers", &self.headers)
            .field("auth", &self.auth)
            .field("counts_against_global", &self.counts_against_global)
            .finish()
    }
}

/// A typed Discord call: builds its [`Request`] and decodes its successful response.
pub trait Endpoint {
    type Output: Decode;

    /// Validates and builds the request; an error means nothing should be sent.
    fn request(&self) -> Result<Request, DiscordError>;

    /// Decodes a 2xx response. Classify non-2xx responses with [`crate::error::classify`].
    fn decode(response: &Response) -> Result<Self::Output, DiscordError> {
        Self::Output::decode(response.status, &response.body)
    }
}

/// Decoding of a successful response body.
pub trait Decode: Sized {
    fn decode(status: u16, body: &[u8]) -> Result<Self, DiscordError>;
}

/// The `204 No Content` of role changes, kicks and deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoContent;

impl Decode for NoContent {
    fn decode(_status: u16, _body: &[u8]) -> Result<Self, DiscordError> {
        Ok(NoContent)
    }
}

pub(crate) fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, DiscordError> {
    serde_json::from_slice(body).map_err(|e| DiscordError::decode(e.to_string()))
}

macro_rules! json_decode {
    ($($t:ty),* $(,)?) => {
        $(impl Decode for $t {
            fn decode(_status: u16, body: &[u8]) -> Result<Self, DiscordError> {
                decode_json(body)
            }
        })*
    };
}

use twilight_model::channel::{Channel, Message, Webhook};
use twilight_model::guild::{Guild, Member, Role};
use twilight_model::user::{CurrentUser, CurrentUserGuild, User};

json_decode!(
    Channel,
    Vec<Channel>,
    Message,
    Vec<Message>,
    Webhook,
    Vec<Webhook>,
    Guild,
    Member,
    Vec<Member>,
    Vec<Role>,
    CurrentUser,
    Vec<CurrentUserGuild>,
    User,
    crate::oauth::AccessToken,
);

/// Query string builder: `?a=1&b=2`, values percent-encoded.
#[derive(Default)]
pub(crate) struct Query {
    out: String,
}

impl Query {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn push(&mut self, key: &str, value: impl fmt::Display) -> &mut Self {
        self.out.push(if self.out.is_empty() { '?' } else { '&' });
        self.out.push_str(key);
        self.out.push('=');
        self.out.push_str(&percent_encode(&value.to_string()));
        self
    }

    pub(crate) fn push_opt(&mut self, key: &str, value: Option<impl fmt::Display>) -> &mut Self {
        if let Some(v) = value {
            self.push(key, v);
        }
        self
    }

    pub(crate) fn finish(&self) -> &str {
        &self.out
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, as Discord expects of
/// `X-Audit-Log-Reason`, path segments and query values.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `application/x-www-form-urlencoded` encoding of one value (space as `+`).
pub fn form_encode(s: &str) -> String {
    percent_encode(s).replace("%20", "+")
}

/// The `X-Audit-Log-Reason` header: 1–512 characters, sent URL-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AuditReason(String);

impl AuditReason {
    pub const MAX_CHARS: usize = 512;
    pub const HEADER: &'static str = "X-Audit-Log-Reason";

    pub fn new(reason: impl Into<String>) -> Result<Self, DiscordError> {
        let reason = reason.into();
        let n = reason.chars().count();
        if n == 0 || n > Self::MAX_CHARS {
            return Err(DiscordError::invalid(
                "audit_reason_invalid",
                "reason",
                format!("audit log reason must be 1-512 characters, got {n}"),
            ));
        }
        Ok(AuditReason(reason))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn header_value(&self) -> String {
        percent_encode(&self.0)
    }
}

impl TryFrom<String> for AuditReason {
    type Error = DiscordError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        AuditReason::new(s)
    }
}

impl From<AuditReason> for String {
    fn from(r: AuditReason) -> String {
        r.0
    }
}

pub(crate) fn with_reason(request: Request, reason: Option<&AuditReason>) -> Request {
    match reason {
        Some(r) => request.header(AuditReason::HEADER, r.header_value()),
        None => request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_keys_split_by_resource_and_hide_webhook_tokens() {
        let a = RouteKey::new(
            Method::Post,
            "/webhooks/{webhook_id}/{webhook_token}",
            &Resource::Webhook {
                id: 1,
                token: "secret-token".into(),
            },
        );
        assert!(a
            .as_str()
            .starts_with("POST /webhooks/{webhook_id}/{webhook_token} webhook:1:"));
        assert!(!a.as_str().contains("secret-token"));
        assert_eq!(a.resource().len(), "webhook:1:".len() + 16);
        let b = RouteKey::new(
            Method::Post,
            "/webhooks/{webhook_id}/{webhook_token}",
            &Resource::Webhook {
                id: 1,
                token: "other-token".into(),
            },
        );
        assert_ne!(a, b, "a re-created webhook's token is its own bucket");
        assert_eq!(
            RouteKey::new(Method::Get, "/users/@me", &Resource::None).as_str(),
            "GET /users/@me -"
        );
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(percent_encode("a b/c?d=é~"), "a%20b%2Fc%3Fd%3D%C3%A9~");
        assert_eq!(form_encode("a b&c"), "a+b%26c");
    }

    #[test]
    fn audit_reason_limits() {
        assert!(AuditReason::new("").is_err());
        assert!(AuditReason::new("é".repeat(512)).is_ok());
        let err = AuditReason::new("x".repeat(513)).unwrap_err();
        assert_eq!(err.error_code, "discord_audit_reason_invalid");
        assert_eq!(
            AuditReason::new("tier: gold / renewal")
                .unwrap()
                .header_value(),
            "tier%3A%20gold%20%2F%20renewal"
        );
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let req = Request::new(
            Method::Get,
            "/webhooks/1/tok".into(),
            "/webhooks/{webhook_id}/{webhook_token}",
            Resource::Webhook {
                id: 1,
                token: "tok".into(),
            },
            Auth::None,
        );
        let shown = format!("{req:?}");
        assert!(!shown.contains("/1/tok"), "{shown}");
        assert!(format!("{:?}", Auth::Bearer("abc".into())).contains("redacted"));
    }
}
