//! Runtime-config ETags. The tag is derived from exactly the two versions the protocol names,
//! so it changes when either changes and never otherwise.

pub fn runtime_config_etag(config_version: i64, discovery_version: i64) -> String {
    format!("\"cfg-{config_version}-disc-{discovery_version}\"")
}

/// RFC 9110 `If-None-Match` evaluation with weak comparison: `*`, a list, `W/` prefixes.
pub fn if_none_match_hits(header: Option<&str>, current: &str) -> bool {
    let Some(header) = header else {
        return false;
    };
    let current = strip_weak(current.trim());
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || (!candidate.is_empty() && strip_weak(candidate) == current)
    })
}

fn strip_weak(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_changes_with_either_version_only() {
        let a = runtime_config_etag(7, 3);
        assert_eq!(a, runtime_config_etag(7, 3));
        assert_ne!(a, runtime_config_etag(8, 3));
        assert_ne!(a, runtime_config_etag(7, 4));
        // No collisions between digit boundaries.
        assert_ne!(runtime_config_etag(1, 23), runtime_config_etag(12, 3));
    }

    #[test]
    fn if_none_match() {
        let tag = runtime_config_etag(7, 3);
        assert!(if_none_match_hits(Some(&tag), &tag));
        assert!(if_none_match_hits(Some(&format!("W/{tag}")), &tag));
        assert!(if_none_match_hits(Some(&format!("\"x\", {tag}")), &tag));
        assert!(if_none_match_hits(Some("*"), &tag));
        assert!(!if_none_match_hits(Some("\"cfg-7-disc-2\""), &tag));
        assert!(!if_none_match_hits(Some(""), &tag));
        assert!(!if_none_match_hits(None, &tag));
    }
}
