//! Where a tenant's attachment lives in the bucket. The tenant is the first path element under
//! a version prefix, so a tenant's objects can be listed (and deleted) as one prefix, and two
//! tenants that both see one Discord attachment keep separate copies.

use relay_core::ids::{check_slug, AttachmentId};

/// `media/v1/{tenant}/{attachment}`; `None` for a tenant key that is not a slug (it could
/// otherwise carry a `/` into another tenant's prefix).
pub fn object_key(tenant: &str, attachment: &AttachmentId) -> Option<String> {
    check_slug(tenant).ok()?;
    Some(format!("media/v1/{tenant}/{}", attachment.as_str()))
}

/// Every object of one tenant starts with this.
pub fn tenant_prefix(tenant: &str) -> Option<String> {
    check_slug(tenant).ok()?;
    Some(format!("media/v1/{tenant}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> AttachmentId {
        AttachmentId::parse(s).unwrap()
    }

    #[test]
    fn layout() {
        assert_eq!(
            object_key("acme", &id("1234")).as_deref(),
            Some("media/v1/acme/1234")
        );
        assert!(object_key("acme", &id("1"))
            .unwrap()
            .starts_with(&tenant_prefix("acme").unwrap()));
    }

    #[test]
    fn tenants_never_share_a_prefix() {
        let a = object_key("ab", &id("5")).unwrap();
        // "ab" is not a prefix of "abc"'s objects: the separator is part of the prefix.
        assert!(!a.starts_with(&tenant_prefix("abc").unwrap()));
        assert!(!object_key("abc", &id("5"))
            .unwrap()
            .starts_with(&tenant_prefix("ab").unwrap()));
    }

    #[test]
    fn a_tenant_that_is_not_a_slug_has_no_key() {
        for bad in ["", "a/b", "../x", "A", "a b"] {
            assert_eq!(object_key(bad, &id("1")), None, "{bad}");
        }
    }
}
