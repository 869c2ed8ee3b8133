//! Outgoing email through a configurable HTTP API: `POST {MAIL_API_BASE}/send` with
//! `Authorization: Bearer {MAIL_API_TOKEN}` and `{"from","to","subject","text"}`. Under
//! `script/server` and in tests the base is the fake mail sink (`harness/mail-sink.mjs`).

use serde_json::json;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

use crate::config::secret;
use crate::runtime::log;

pub struct Mail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
}

#[derive(Debug)]
pub enum MailError {
    NotConfigured,
    Failed(String),
}

/// Sends one message. Never logs the body (it carries a reset link).
pub async fn send(env: &Env, mail: &Mail<'_>) -> Result<(), MailError> {
    let base = secret(env, "MAIL_API_BASE").ok_or(MailError::NotConfigured)?;
    let from =
        secret(env, "MAIL_FROM").unwrap_or_else(|| "Signal Relay <no-reply@localhost>".into());
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    if let Some(token) = secret(env, "MAIL_API_TOKEN") {
        let _ = headers.set("authorization", &format!("Bearer {token}"));
    }
    let body = json!({"from": from, "to": mail.to, "subject": mail.subject, "text": mail.text});
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.to_string().into()));
    let url = format!("{}/send", base.trim_end_matches('/'));
    let req = Request::new_with_init(&url, &init).map_err(|e| MailError::Failed(e.to_string()))?;
    let resp = Fetch::Request(req)
        .send()
        .await
        .map_err(|e| MailError::Failed(e.to_string()))?;
    let status = resp.status_code();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(MailError::Failed(format!("mail API answered {status}")))
    }
}

/// Sends, logging a failure with the subject only.
pub async fn send_logged(env: &Env, mail: &Mail<'_>) -> bool {
    match send(env, mail).await {
        Ok(()) => true,
        Err(e) => {
            let error = match e {
                MailError::NotConfigured => "MAIL_API_BASE is unset".to_string(),
                MailError::Failed(why) => why,
            };
            log(
                "error",
                "mail not sent",
                json!({"subject": mail.subject, "error": error}),
            );
            false
        }
    }
}
