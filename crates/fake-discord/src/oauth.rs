//! OAuth2 authorization-code flow: the sign-in page, the token exchange, refresh.

use crate::error::ApiError;
use crate::http::{Req, Resp};
use crate::pages;
use crate::state::{Grant, OAuthCode, State};
use base64::Engine;
use serde_json::json;

pub const TOKEN_TTL_S: u64 = 604_800;
const CODE_TTL_MS: u64 = 600_000;

/// With no registered URIs any loopback http(s) URL is accepted, so the local demo needs no
/// setup; registered URIs must match exactly, as on Discord.
pub fn redirect_allowed(st: &State, uri: &str) -> bool {
    if !st.settings.redirect_uris.is_empty() {
        return st.settings.redirect_uris.iter().any(|u| u == uri);
    }
    let rest = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"));
    let Some(rest) = rest else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']')
            .next()
            .map(|h| format!("[{h}]"))
            .unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or("").to_string()
    };
    matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]")
}

pub struct AuthorizeParams {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_type: String,
    pub scope: String,
    pub state: Option<String>,
}

fn params(pairs: &[(String, String)]) -> AuthorizeParams {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    AuthorizeParams {
        client_id: get("client_id").unwrap_or_default(),
        redirect_uri: get("redirect_uri").unwrap_or_default(),
        response_type: get("response_type").unwrap_or_else(|| "code".into()),
        scope: get("scope").unwrap_or_else(|| "identify".into()),
        state: get("state"),
    }
}

fn check(st: &State, p: &AuthorizeParams) -> Result<(), Resp> {
    if p.client_id != st.bot_id.to_string() {
        return Err(pages::oauth_error(
            "Unknown Application",
            "client_id is not an application of this fake Discord.",
        ));
    }
    if p.redirect_uri.is_empty() || !redirect_allowed(st, &p.redirect_uri) {
        return Err(pages::oauth_error(
            "Invalid OAuth2 redirect_uri",
            "The redirect_uri is not registered for this application.",
        ));
    }
    if p.response_type != "code" {
        return Err(pages::oauth_error(
            "Unsupported response_type",
            "Only response_type=code is supported.",
        ));
    }
    Ok(())
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", s.finish())
}

pub fn authorize_get(st: &State, req: &Req) -> Resp {
    let p = params(&req.query);
    if let Err(page) = check(st, &p) {
        return page;
    }
    pages::authorize(st, &p)
}

/// The sign-in form's submission: `user_id` approves as that user, `deny` cancels.
pub fn authorize_post(st: &mut State, req: &Req, now: u64) -> Resp {
    let form = req.form();
    let p = params(&form);
    if let Err(page) = check(st, &p) {
        return page;
    }
    let state_param = p.state.clone().unwrap_or_default();
    let mut extra: Vec<(&str, &str)> = vec![];
    if form.iter().any(|(k, _)| k == "deny") {
        extra.push(("error", "access_denied"));
        extra.push((
            "error_description",
            "The resource owner or authorization server denied the request",
        ));
        if p.state.is_some() {
            extra.push(("state", &state_param));
        }
        return Resp::redirect(&with_query(&p.redirect_uri, &extra));
    }
    let user_id = form
        .iter()
        .find(|(k, _)| k == "user_id")
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .filter(|u| st.users.get(u).is_some_and(|u| !u.bot));
    let Some(user_id) = user_id else {
        return pages::oauth_error(
            "Choose an account",
            "user_id must be one of the listed users.",
        );
    };
    let code = st.secret(30);
    st.codes.insert(
        code.clone(),
        OAuthCode {
            user_id,
            redirect_uri: p.redirect_uri.clone(),
            scope: p.scope.clone(),
            created_ms: now,
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if p.state.is_some() {
        pairs.push(("state", &state_param));
    }
    Resp::redirect(&with_query(&p.redirect_uri, &pairs))
}

fn oauth_err(status: u16, error: &str, description: &str) -> Resp {
    Resp::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// `POST /api/v10/oauth2/token`, form-encoded, client credentials in the body or Basic auth.
pub fn token(st: &mut State, req: &Req, now: u64) -> Result<Resp, ApiError> {
    if !req
        .content_type()
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Ok(oauth_err(
            400,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let form = req.form();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let basic = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    let (client_id, secret) = match basic {
        Some((id, secret)) => (id, secret),
        None => (
            get("client_id").unwrap_or_default().to_string(),
            get("client_secret").unwrap_or_default().to_string(),
        ),
    };
    if client_id != st.bot_id.to_string() || secret != st.settings.client_secret {
        return Ok(oauth_err(
            401,
            "invalid_client",
            "Invalid client credentials",
        ));
    }
    let (user_id, scope) = match get("grant_type") {
        Some("authorization_code") => {
            let code = get("code").unwrap_or_default();
            let Some(c) = st.codes.remove(code) else {
                return Ok(oauth_err(
                    400,
                    "invalid_grant",
                    "Invalid \"code\" in request.",
                ));
            };
            if now.saturating_sub(c.created_ms) > CODE_TTL_MS {
                return Ok(oauth_err(
                    400,
                    "invalid_grant",
                    "Invalid \"code\" in request.",
                ));
            }
            if get("redirect_uri") != Some(c.redirect_uri.as_str()) {
                return Ok(oauth_err(
                    400,
                    "invalid_grant",
                    "Invalid \"redirect_uri\" in request.",
                ));
            }
            (c.user_id, c.scope)
        }
        Some("refresh_token") => {
            let Some(g) = st
                .refresh_tokens
                .remove(get("refresh_token").unwrap_or_default())
            else {
                return Ok(oauth_err(
                    400,
                    "invalid_grant",
                    "Invalid \"refresh_token\" in request.",
                ));
            };
            (g.user_id, g.scope)
        }
        _ => {
            return Ok(oauth_err(
                400,
                "unsupported_grant_type",
                "Unsupported grant type",
            ))
        }
    };
    let access = st.secret(30);
    let refresh = st.secret(30);
    let grant = Grant {
        user_id,
        scope: scope.clone(),
        expires_ms: now + TOKEN_TTL_S * 1000,
    };
    st.tokens.insert(access.clone(), grant.clone());
    st.refresh_tokens.insert(refresh.clone(), grant);
    Ok(Resp::json(
        200,
        &json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_S,
            "refresh_token": refresh,
            "scope": scope,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{seed_id, Settings};

    fn state() -> State {
        State::new(Settings::new(), "http://127.0.0.1:1".into(), b"t".to_vec())
    }

    fn form_req(method: &str, url: &str, body: &str) -> Req {
        Req::new(
            method,
            url,
            vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body.as_bytes().to_vec(),
        )
    }

    #[test]
    fn loopback_redirects_are_accepted_until_some_are_registered() {
        let mut st = state();
        assert!(redirect_allowed(&st, "http://127.0.0.1:8787/cb"));
        assert!(redirect_allowed(&st, "http://localhost/cb?x=1"));
        assert!(redirect_allowed(&st, "http://[::1]:9/cb"));
        assert!(!redirect_allowed(&st, "https://evil.example/cb"));
        assert!(!redirect_allowed(&st, "http://127.0.0.1.evil.example/cb"));
        st.settings.redirect_uris = vec!["http://127.0.0.1:8787/cb".into()];
        assert!(redirect_allowed(&st, "http://127.0.0.1:8787/cb"));
        assert!(!redirect_allowed(&st, "http://127.0.0.1:8787/other"));
    }

    #[test]
    fn code_flow_is_single_use_and_checks_redirect_and_secret() {
        let mut st = state();
        let client = st.bot_id.to_string();
        let alice = seed_id(3);
        let redirect = "http://127.0.0.1:9/cb";
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &client)
            .append_pair("redirect_uri", redirect)
            .append_pair("scope", "identify guilds.join")
            .append_pair("state", "s1")
            .append_pair("user_id", &alice.to_string())
            .finish();
        let r = authorize_post(&mut st, &form_req("POST", "/oauth2/authorize", &q), 0);
        assert_eq!(r.status, 302);
        let loc = r.get_header("location").unwrap().to_string();
        assert!(loc.starts_with("http://127.0.0.1:9/cb?code="));
        assert!(loc.ends_with("&state=s1"));
        let code = loc
            .split("code=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let exchange = |st: &mut State, secret: &str, redirect: &str| {
            let body = form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", redirect)
                .append_pair("client_id", &client)
                .append_pair("client_secret", secret)
                .finish();
            token(st, &form_req("POST", "/api/v10/oauth2/token", &body), 1).unwrap()
        };
        assert_eq!(exchange(&mut st, "wrong", redirect).status, 401);
        let r = exchange(&mut st, "fake-discord-client-secret", redirect);
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["scope"], "identify guilds.join");
        let grant = &st.tokens[v["access_token"].as_str().unwrap()];
        assert_eq!(grant.user_id, alice);
        let again = exchange(&mut st, "fake-discord-client-secret", redirect);
        assert_eq!(again.status, 400, "codes are single-use");
        assert!(st.codes.is_empty());
    }

    #[test]
    fn redirect_uri_must_match_the_authorize_request() {
        let mut st = state();
        st.codes.insert(
            "c".into(),
            OAuthCode {
                user_id: seed_id(3),
                redirect_uri: "http://127.0.0.1:9/cb".into(),
                scope: "identify".into(),
                created_ms: 0,
            },
        );
        let body = format!(
            "grant_type=authorization_code&code=c&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fother&client_id={}&client_secret=fake-discord-client-secret",
            st.bot_id
        );
        let r = token(
            &mut st,
            &form_req("POST", "/api/v10/oauth2/token", &body),
            1,
        )
        .unwrap();
        assert_eq!(r.status, 400);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["error"], "invalid_grant");
    }

    #[test]
    fn unknown_client_or_redirect_shows_an_error_page() {
        let mut st = state();
        let r = authorize_get(
            &st,
            &Req::new(
                "GET",
                "/oauth2/authorize?client_id=1&redirect_uri=http://127.0.0.1/cb",
                vec![],
                vec![],
            ),
        );
        assert_eq!(r.status, 400);
        let ok = format!("/oauth2/authorize?client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&response_type=code&scope=identify", st.bot_id);
        let r = authorize_get(&st, &Req::new("GET", &ok, vec![], vec![]));
        assert_eq!(r.status, 200);
        let html = String::from_utf8(r.body).unwrap();
        assert!(html.contains("alice") && !html.contains("member0001"));
        st.settings.redirect_uris = vec!["http://127.0.0.1/other".into()];
        let r = authorize_get(&st, &Req::new("GET", &ok, vec![], vec![]));
        assert_eq!(r.status, 400);
    }
}
