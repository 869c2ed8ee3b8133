//! Discord's CDN (image URLs, not API calls). The base is configurable per deployment
//! (`DISCORD_CDN_BASE`), so tests and the local demo point at the fake Discord's CDN.

/// Discord's CDN.
pub const DEFAULT_CDN_BASE: &str = "https://cdn.discordapp.com";

/// A user's avatar: `{base}/avatars/{user_id}/{hash}.{ext}`. Per Discord's image formatting
/// rules a hash starting with `a_` is animated and also offered as GIF (the PNG of it is its
/// first frame): it is linked as `.gif` so the mirror animates as the original does; any other
/// hash exists as PNG only.
pub fn avatar_url(base: &str, user_id: &str, hash: &str) -> String {
    let ext = if hash.starts_with("a_") { "gif" } else { "png" };
    format!(
        "{}/avatars/{user_id}/{hash}.{ext}",
        base.trim().trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_hashes_are_png_and_animated_ones_gif() {
        assert_eq!(
            avatar_url(DEFAULT_CDN_BASE, "80351110224678912", "8342729096ea3675442027381ff50dfe"),
            "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
        );
        assert_eq!(
            avatar_url(
                "http://127.0.0.1:4010/cdn/",
                "1",
                "a_1269e74af4df7417b13759eae50c83dc"
            ),
            "http://127.0.0.1:4010/cdn/avatars/1/a_1269e74af4df7417b13759eae50c83dc.gif"
        );
    }
}
