//! Who a customer is: the email as we compare it, the password policy, and the fingerprint that
//! names an operator credential in the audit trail without revealing it.

use relay_core::encoding::hex;
use relay_core::validate::FieldError;
use sha2::{Digest, Sha256};

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 256;
pub const EMAIL_MAX_CHARS: usize = 254;

/// Trimmed and lower-cased: `Alice@Example.com ` and `alice@example.com` are one account.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// A deliberately small check (one `@`, a dot in the domain, no spaces): the address is proven
/// by the mail that reaches it, not by a regex.
pub fn check_email(email: &str) -> Result<(), FieldError> {
    let bad = |m: &str| Err(FieldError::new("email", m));
    if email.is_empty() {
        return bad("is required");
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return bad("is too long");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("must be an email address");
    };
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return bad("must be an email address");
    }
    Ok(())
}

pub fn check_password(field: &'static str, password: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS {
        return Err(FieldError::new(
            field,
            format!("must be at least {PASSWORD_MIN_CHARS} characters"),
        ));
    }
    if n > PASSWORD_MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!("must be at most {PASSWORD_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

/// `admin:<12 hex>` of the token's SHA-256: stable per credential, useless to an attacker, and
/// a rotated token shows up as a different operator in the history.
pub fn operator_fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    format!("admin:{}", &hex(&digest)[..12])
}

/// The key throttling counts an email under: hashed so the table holds no addresses.
pub fn email_key(tenant: &str, email: &str) -> String {
    let digest = Sha256::digest(format!("{tenant}\n{}", normalize_email(email)).as_bytes());
    hex(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_compare_case_and_space_insensitively() {
        assert_eq!(normalize_email("  Alice@Example.COM "), "alice@example.com");
        assert_eq!(email_key("t", "A@b.co"), email_key("t", " a@B.CO"));
        assert_ne!(email_key("t1", "a@b.co"), email_key("t2", "a@b.co"));
    }

    #[test]
    fn email_shapes() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org"] {
            assert!(check_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@.co", "a@co.", "a@b@c.co",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_email(&format!("{}@b.co", "a".repeat(260))).is_err());
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        assert!(check_password("password", "short").is_err());
        assert!(check_password("password", "ééééééééé").is_err());
        assert!(check_password("password", "éééééééééé").is_ok());
        assert!(check_password("password", &"x".repeat(257)).is_err());
        assert_eq!(
            check_password("new_password", "x").unwrap_err().field,
            "new_password"
        );
    }

    #[test]
    fn operator_fingerprint_hides_the_token() {
        let f = operator_fingerprint("dev-admin-secret");
        assert!(f.starts_with("admin:") && f.len() == 18);
        assert!(!f.contains("secret"));
        assert_ne!(f, operator_fingerprint("dev-admin-secret2"));
    }
}
