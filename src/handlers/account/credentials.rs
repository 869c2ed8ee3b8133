//! Signup, login, logout, password change and reset. Answers never say whether an email has an
//! account: signup and reset requests always answer 202, login failures are one
//! `invalid_credentials`, throttling keys on the email as typed, and an unknown email costs the
//! same argon2 work as a wrong password.

use std::cell::RefCell;

use relay_accounts::identity::{check_email, check_password, email_key, normalize_email};
use relay_accounts::password::{self, Cost};
use relay_accounts::throttle::{self, rules, Decision, Rule};
use relay_accounts::{reset as reset_tokens, session};
use relay_core::time::Timestamp;
use relay_core::validate::FieldError;
use relay_core::{ApiError, ErrorKind};
use serde_json::{json, Value};
use worker::{Request, Response};

use super::guard::{client_ip, own_origin, policy, signed_in, signed_in_for_change, Signed};
use crate::accounts::{self, new_id};
use crate::db::audit::Entry;
use crate::db::sessions::SessionRow;
use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{self, ApiResult, OrUnavailable};
use crate::mail::{self, Mail};
use crate::runtime::random_bytes;

thread_local! {
    static DECOY: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn decoy() -> String {
    DECOY.with(|d| {
        d.borrow_mut()
            .get_or_insert_with(|| password::decoy_hash(Cost::OWASP))
            .clone()
    })
}

fn str_field<'a>(body: &'a Value, name: &'static str, errors: &mut Vec<FieldError>) -> &'a str {
    match body.get(name) {
        Some(Value::String(s)) => s,
        _ => {
            errors.push(FieldError::new(name, "is required (a string)"));
            ""
        }
    }
}

fn invalid(errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(errors))
    }
}

/// Counts the attempt in every bucket (so a refused attempt still counts) and refuses if any
/// is over its limit, with the longest wait.
async fn throttled(db: &Db, cx: &Cx, buckets: &[(String, Rule)]) -> ApiResult<()> {
    let mut wait = 0i64;
    for (bucket, rule) in buckets {
        let counter = db
            .throttle()
            .hit(bucket, *rule, cx.now)
            .await
            .or_unavailable("throttle")?;
        if let Decision::Refuse { retry_after_ms } = throttle::verdict(*rule, counter, cx.now) {
            wait = wait.max(retry_after_ms);
        }
    }
    if wait > 0 {
        let mut err = ApiError::new(
            ErrorKind::TooManyRequests,
            "too many attempts; wait and retry",
        );
        err.details = vec![FieldError::new(
            "retry_after_seconds",
            ((wait + 999) / 1000).to_string(),
        )];
        return Err(err);
    }
    Ok(())
}

fn with_cookie(resp: Response, cookie: &str) -> Response {
    let h = resp.headers().clone();
    let _ = h.append("set-cookie", cookie);
    resp.with_headers(h)
}

fn session_json(cx: &Cx, row: &SessionRow) -> Value {
    let p = policy(cx);
    let l = row.lifetime();
    json!({
        "expires_at": Timestamp::from_ms(l.absolute_expiry(&p)).to_rfc3339(),
        "idle_expires_at": Timestamp::from_ms(l.idle_expiry(&p)).to_rfc3339(),
    })
}

/// A new session row and its cookie token.
fn new_session(cx: &Cx, tenant: &str, customer: &str) -> (String, SessionRow) {
    let token = session::new_token(&random_bytes::<{ session::TOKEN_BYTES }>());
    let row = SessionRow {
        token_hash: session::token_hash(&token),
        tenant_key: tenant.to_string(),
        customer_id: customer.to_string(),
        csrf_token: session::new_token(&random_bytes::<{ session::TOKEN_BYTES }>()),
        created_at: cx.now,
        last_seen_at: cx.now,
        revoked_at: None,
    };
    (token, row)
}

fn signed_response(
    cx: &Cx,
    status: u16,
    customer: &Value,
    token: &str,
    row: &SessionRow,
) -> Response {
    let resp = http::ok(
        &cx.cid,
        status,
        json!({"customer": customer, "csrf_token": row.csrf_token, "session": session_json(cx, row)}),
    );
    with_cookie(
        resp,
        &session::set_cookie(token, policy(cx).absolute_ms / 1000),
    )
}

fn audit<'a>(
    tenant: &'a str,
    customer: &'a str,
    action: &'a str,
    detail: Value,
    cx: &Cx,
) -> Entry<'a> {
    Entry {
        tenant_key: tenant,
        customer_id: Some(customer),
        at: cx.now,
        action,
        detail,
        reason: None,
        actor: "customer",
    }
}

pub async fn signup(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let body = http::read_json(req, &cx.cfg).await?;
    let mut errors = Vec::new();
    let email = normalize_email(str_field(&body, "email", &mut errors));
    let pw = str_field(&body, "password", &mut errors).to_string();
    if body.get("email").is_some_and(Value::is_string) {
        if let Err(e) = check_email(&email) {
            errors.push(e);
        }
    }
    if body.get("password").is_some_and(Value::is_string) {
        if let Err(e) = check_password("password", &pw) {
            errors.push(e);
        }
    }
    invalid(errors)?;
    throttled(
        db,
        cx,
        &[
            (
                format!("signup:ip:{tenant}:{}", client_ip(req)),
                rules::SIGNUP_PER_IP,
            ),
            (
                format!("signup:acct:{}", email_key(tenant, &email)),
                rules::SIGNUP_PER_ACCOUNT,
            ),
        ],
    )
    .await?;
    // Hashed whether or not the email is taken, so both answers take the same time.
    let hash = password::hash(
        &pw,
        &random_bytes::<{ password::SALT_BYTES }>(),
        Cost::OWASP,
    )
    .map_err(|_| ApiError::internal("password hashing failed"))?;
    let id = new_id("cus");
    let created = db
        .customers()
        .insert(tenant, &id, &email, &hash, cx.now)
        .await
        .or_unavailable("customer insert")?;
    if created {
        db.batch(vec![db
            .audit()
            .record(&audit(tenant, &id, "signup", json!({}), cx))
            .or_unavailable("audit")?])
            .await
            .or_unavailable("audit")?;
        // Orders paid before the account existed apply now (the same decision path as the
        // webhook). A failure is logged; the orders stay held for a replay.
        crate::payments::apply_held(&crate::entitlement_changes::Ctx::of(cx), db, tenant, &email)
            .await;
    }
    Ok(http::ok(
        &cx.cid,
        202,
        json!({"status": "accepted", "message": "If this address can be used, your account is ready: sign in."}),
    ))
}

pub async fn login(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let body = http::read_json(req, &cx.cfg).await?;
    let mut errors = Vec::new();
    let email = normalize_email(str_field(&body, "email", &mut errors));
    let pw = str_field(&body, "password", &mut errors).to_string();
    if pw.chars().count() > relay_accounts::identity::PASSWORD_MAX_CHARS {
        errors.push(FieldError::new("password", "is too long"));
    }
    invalid(errors)?;
    let account_bucket = format!("login:acct:{}", email_key(tenant, &email));
    throttled(
        db,
        cx,
        &[
            (
                format!("login:ip:{tenant}:{}", client_ip(req)),
                rules::LOGIN_PER_IP,
            ),
            (account_bucket.clone(), rules::LOGIN_PER_ACCOUNT),
        ],
    )
    .await?;
    let customer = db
        .customers()
        .by_email(tenant, &email)
        .await
        .or_unavailable("customer lookup")?;
    let stored = customer
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(decoy);
    let matches = password::verify(&pw, &stored).unwrap_or(false);
    let customer = match customer {
        Some(c) if matches && c.is_active() => c,
        _ => {
            return Err(ApiError::unauthorized("email or password is wrong")
                .with_code("invalid_credentials"))
        }
    };
    db.throttle()
        .clear(&account_bucket)
        .await
        .or_unavailable("throttle")?;
    let (token, row) = new_session(cx, tenant, &customer.customer_id);
    let mut stmts = vec![db.sessions().insert(&row).or_unavailable("session")?];
    if password::needs_rehash(&customer.password_hash, Cost::OWASP) {
        let hash = password::hash(
            &pw,
            &random_bytes::<{ password::SALT_BYTES }>(),
            Cost::OWASP,
        )
        .map_err(|_| ApiError::internal("password hashing failed"))?;
        stmts.push(
            db.customers()
                .set_password(tenant, &customer.customer_id, &hash, cx.now)
                .or_unavailable("rehash")?,
        );
    }
    db.batch(stmts).await.or_unavailable("session insert")?;
    Ok(signed_response(cx, 200, &customer.to_json(), &token, &row))
}

pub async fn logout(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let Signed { session: s, .. } = signed_in_for_change(req, cx, db, tenant).await?;
    db.batch(vec![db
        .sessions()
        .revoke(&s.token_hash, cx.now)
        .or_unavailable("logout")?])
        .await
        .or_unavailable("logout")?;
    Ok(with_cookie(
        http::empty(&cx.cid, 204),
        &session::clear_cookie(),
    ))
}

pub async fn session(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let s = signed_in(req, cx, db, tenant).await?;
    Ok(http::ok(
        &cx.cid,
        200,
        json!({
            "customer": s.customer.to_json(),
            "csrf_token": s.session.csrf_token,
            "session": session_json(cx, &s.session),
        }),
    ))
}

pub async fn change_password(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let s = signed_in_for_change(req, cx, db, tenant).await?;
    let body = http::read_json(req, &cx.cfg).await?;
    let mut errors = Vec::new();
    let current = str_field(&body, "current_password", &mut errors).to_string();
    let new = str_field(&body, "new_password", &mut errors).to_string();
    if body.get("new_password").is_some_and(Value::is_string) {
        if let Err(e) = check_password("new_password", &new) {
            errors.push(e);
        }
    }
    invalid(errors)?;
    if !password::verify(&current, &s.customer.password_hash).unwrap_or(false) {
        return Err(ApiError::unauthorized("the current password is wrong")
            .with_code("invalid_credentials"));
    }
    let id = &s.customer.customer_id;
    let hash = password::hash(
        &new,
        &random_bytes::<{ password::SALT_BYTES }>(),
        Cost::OWASP,
    )
    .map_err(|_| ApiError::internal("password hashing failed"))?;
    let (token, row) = new_session(cx, tenant, id);
    db.batch(vec![
        db.customers()
            .set_password(tenant, id, &hash, cx.now)
            .or_unavailable("password")?,
        db.sessions()
            .revoke_all(tenant, id, cx.now)
            .or_unavailable("sessions")?,
        db.sessions().insert(&row).or_unavailable("session")?,
        db.audit()
            .record(&audit(
                tenant,
                id,
                "password_changed",
                json!({"sessions_revoked": true}),
                cx,
            ))
            .or_unavailable("audit")?,
    ])
    .await
    .or_unavailable("password change")?;
    // Sockets opened under the old sessions close; this device reconnects with its new one.
    let _ = accounts::enforce(cx, db, tenant, id, accounts::Cause::Sessions).await;
    Ok(signed_response(
        cx,
        200,
        &s.customer.to_json(),
        &token,
        &row,
    ))
}

pub async fn request_reset(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let body = http::read_json(req, &cx.cfg).await?;
    let mut errors = Vec::new();
    let email = normalize_email(str_field(&body, "email", &mut errors));
    if body.get("email").is_some_and(Value::is_string) {
        if let Err(e) = check_email(&email) {
            errors.push(e);
        }
    }
    invalid(errors)?;
    throttled(
        db,
        cx,
        &[
            (
                format!("reset:ip:{tenant}:{}", client_ip(req)),
                rules::RESET_PER_IP,
            ),
            (
                format!("reset:acct:{}", email_key(tenant, &email)),
                rules::RESET_PER_ACCOUNT,
            ),
        ],
    )
    .await?;
    if let Some(c) = db
        .customers()
        .by_email(tenant, &email)
        .await
        .or_unavailable("customer lookup")?
        .filter(|c| c.is_active())
    {
        let url = issue_reset(
            cx,
            db,
            tenant,
            &c.customer_id,
            &own_origin(req)?,
            "customer",
            None,
        )
        .await?;
        let text = format!(
            "Someone asked to reset the password of your account.\n\nOpen this link within an hour to choose a new one:\n{url}\n\nIf it was not you, ignore this message."
        );
        mail::send_logged(
            &cx.env,
            &Mail {
                to: &c.email,
                subject: "Reset your password",
                text: &text,
            },
        )
        .await;
    }
    Ok(http::ok(
        &cx.cid,
        202,
        json!({"status": "accepted", "message": "If an account uses this address, a reset link is on its way."}),
    ))
}

/// Stores a new single-use token and returns its link. Shared with the operator's reset link.
pub async fn issue_reset(
    cx: &Cx,
    db: &Db,
    tenant: &str,
    customer: &str,
    origin: &str,
    by: &str,
    reason: Option<&str>,
) -> ApiResult<String> {
    let token = reset_tokens::new_token(&random_bytes::<{ reset_tokens::TOKEN_BYTES }>());
    let expires = cx.now + reset_tokens::DEFAULT_TTL_MS;
    db.batch(vec![
        db.resets()
            .insert(
                &reset_tokens::token_hash(&token),
                tenant,
                customer,
                expires,
                by,
                cx.now,
            )
            .or_unavailable("reset")?,
        db.audit()
            .record(&Entry {
                tenant_key: tenant,
                customer_id: Some(customer),
                at: cx.now,
                action: "reset_link_issued",
                detail: json!({"expires_at": Timestamp::from_ms(expires).to_rfc3339()}),
                reason,
                actor: by,
            })
            .or_unavailable("audit")?,
    ])
    .await
    .or_unavailable("reset insert")?;
    Ok(reset_tokens::link(origin, tenant, &token))
}

pub async fn reset(req: &mut Request, cx: &Cx, db: &Db, tenant: &str) -> ApiResult {
    let body = http::read_json(req, &cx.cfg).await?;
    let mut errors = Vec::new();
    let token = str_field(&body, "token", &mut errors).trim().to_string();
    let new = str_field(&body, "new_password", &mut errors).to_string();
    if body.get("new_password").is_some_and(Value::is_string) {
        if let Err(e) = check_password("new_password", &new) {
            errors.push(e);
        }
    }
    invalid(errors)?;
    let refused = || {
        ApiError::bad_request("this reset link is not valid any more; ask for a new one")
            .with_code("reset_token_invalid")
    };
    let hash = reset_tokens::token_hash(&token);
    let row = db
        .resets()
        .get(tenant, &hash)
        .await
        .or_unavailable("reset lookup")?;
    reset_tokens::redeemable(
        row.as_ref().map(|r| reset_tokens::Stored {
            expires_at: r.expires_at,
            used_at: r.used_at,
        }),
        cx.now,
    )
    .map_err(|_| refused())?;
    let row = row.ok_or_else(refused)?;
    let new_hash = password::hash(
        &new,
        &random_bytes::<{ password::SALT_BYTES }>(),
        Cost::OWASP,
    )
    .map_err(|_| ApiError::internal("password hashing failed"))?;
    // The conditional update is the single-use guarantee: of two redemptions one changes a row.
    if db
        .resets()
        .consume(tenant, &hash, cx.now)
        .await
        .or_unavailable("reset")?
        != 1
    {
        return Err(refused());
    }
    let id = &row.customer_id;
    db.batch(vec![
        db.customers()
            .set_password(tenant, id, &new_hash, cx.now)
            .or_unavailable("password")?,
        db.sessions()
            .revoke_all(tenant, id, cx.now)
            .or_unavailable("sessions")?,
        db.resets()
            .retire_others(tenant, id, cx.now)
            .or_unavailable("resets")?,
        db.audit()
            .record(&audit(
                tenant,
                id,
                "password_reset",
                json!({"sessions_revoked": true}),
                cx,
            ))
            .or_unavailable("audit")?,
    ])
    .await
    .or_unavailable("password reset")?;
    let _ = accounts::enforce(cx, db, tenant, id, accounts::Cause::Sessions).await;
    Ok(http::empty(&cx.cid, 204))
}
