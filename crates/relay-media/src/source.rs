//! Which URLs the landing fetch may follow. A connector names the URL; without this check a
//! compromised connector could make the worker fetch anything and store it as an image.

/// Discord's attachment CDN and media proxy.
pub const DEFAULT_ORIGINS: &[&str] =
    &["https://cdn.discordapp.com", "https://media.discordapp.net"];

/// Parses `MEDIA_SOURCE_ORIGINS` (comma-separated origins); empty or unset → the defaults.
pub fn origins(raw: Option<&str>) -> Vec<String> {
    let list: Vec<String> = raw
        .unwrap_or("")
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_string())
        .filter(|o| o.starts_with("https://") || o.starts_with("http://"))
        .collect();
    if list.is_empty() {
        DEFAULT_ORIGINS.iter().map(|o| o.to_string()).collect()
    } else {
        list
    }
}

/// `url` starts with one of `origins` followed by a path: the same scheme, host and port, so
/// `https://cdn.discordapp.com.evil.example/` and userinfo tricks do not match.
pub fn allowed(url: &str, origins: &[String]) -> bool {
    origins.iter().any(|o| {
        url.strip_prefix(o.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_origins() {
        let o = origins(None);
        assert!(allowed(
            "https://cdn.discordapp.com/attachments/1/2/a.png?ex=1",
            &o
        ));
        assert!(allowed(
            "https://media.discordapp.net/attachments/1/2/a.png",
            &o
        ));
        for bad in [
            "http://cdn.discordapp.com/attachments/1/2/a.png",
            "https://cdn.discordapp.com.evil.example/a.png",
            "https://cdn.discordapp.com@evil.example/a.png",
            "https://cdn.discordapp.com:8443/a.png",
            "https://cdn.discordapp.com",
            "https://evil.example/https://cdn.discordapp.com/a.png",
        ] {
            assert!(!allowed(bad, &o), "{bad}");
        }
    }

    #[test]
    fn a_local_fake_can_be_allowed() {
        let o = origins(Some(" http://127.0.0.1:4100/ , https://cdn.discordapp.com"));
        assert_eq!(
            o,
            vec!["http://127.0.0.1:4100", "https://cdn.discordapp.com"]
        );
        assert!(allowed(
            "http://127.0.0.1:4100/cdn/attachments/1/2/a.png",
            &o
        ));
        assert!(!allowed("http://127.0.0.1:41000/cdn/a.png", &o));
        assert_eq!(origins(Some("nonsense")), origins(None));
    }
}
