//! Command-line flags.

use crate::ratelimit::Window;
use crate::state::Settings;

pub type Config = fake_http::Config<Settings>;

pub const USAGE: &str = "\
fake-discord: a local stand-in for Discord's REST API, OAuth2 and CDN

USAGE: fake-discord [FLAGS]

  --host ADDR                  listen address (default 127.0.0.1)
  --port N                     port, 0 picks a free one (default 0)
  --public-url URL             base URL used in links (default http://HOST:PORT)
  --bot-token TOKEN            the bot token accepted as `Authorization: Bot TOKEN`
  --client-secret SECRET       OAuth2 client secret (client id = the bot's id)
  --redirect-uri URI           allowed OAuth2 redirect URI, repeatable
                               (none: any http(s) URL on 127.0.0.1/localhost/[::1])
  --members N                  bulk members in the demo guild (default 40)
  --no-guild-members-intent    start with the GUILD_MEMBERS intent off
  --limit-webhook L/MS         per webhook (default 5/2000)
  --limit-channel L/MS         bot posts per channel (default 30/60000)
  --limit-channel-webhooks L/MS  unadvertised webhook posts per channel, scope shared
                               (default 30/60000; 0/1 switches it off)
  --limit-global L/MS          per bot token, webhook executions excluded (default 50/1000)
  --limit-route L/MS           every other route, per route + major resource (default 50/1000)
  --ban-threshold N            invalid requests (401/403/429) tolerated per window (default 10000)
  --invalid-window-ms MS       window of that count (default 600000)
  --ban-ms MS                  how long the Cloudflare 1015 ban lasts (default 3600000)
  --file-limit BYTES           per-file upload limit (default 10485760)
  --cdn-ttl-s S                lifetime of signed CDN URLs (default 86400)
  --verbose                    log every request to stderr
  --help                       this text
";

pub fn parse(args: &[String]) -> Result<Config, String> {
    let cfg = fake_http::flags::parse(args, USAGE, Settings::new(), |s, name, value| {
        let num = |v: String| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: not a number: {v}"))
        };
        let win = |v: String| -> Result<Window, String> {
            Window::parse(&v).ok_or_else(|| format!("{name}: expected LIMIT/WINDOW_MS, got {v}"))
        };
        match name {
            "--bot-token" => s.bot_token = value()?,
            "--client-secret" => s.client_secret = value()?,
            "--redirect-uri" => s.redirect_uris.push(value()?),
            "--members" => s.generated_members = num(value()?)? as usize,
            "--no-guild-members-intent" => s.guild_members_intent = false,
            "--limit-webhook" => s.limits.webhook = win(value()?)?,
            "--limit-channel" => s.limits.channel_messages = win(value()?)?,
            "--limit-channel-webhooks" => s.limits.channel_webhooks = win(value()?)?,
            "--limit-global" => s.limits.global = win(value()?)?,
            "--limit-route" => s.limits.route = win(value()?)?,
            "--ban-threshold" => {
                s.limits.invalid_threshold = u32::try_from(num(value()?)?)
                    .map_err(|_| "--ban-threshold: too large".to_string())?
            }
            "--invalid-window-ms" => s.limits.invalid_window_ms = num(value()?)?.max(1),
            "--ban-ms" => s.limits.ban_ms = num(value()?)?,
            "--file-limit" => s.file_limit = num(value()?)? as usize,
            "--cdn-ttl-s" => s.cdn_ttl_s = num(value()?)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    if cfg.settings.bot_token.trim().is_empty() {
        return Err("--bot-token must not be empty".into());
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake_http::flags::args;

    #[test]
    fn defaults_and_flags() {
        let c = parse(&[]).unwrap();
        assert_eq!((c.listen.host.as_str(), c.listen.port), ("127.0.0.1", 0));
        assert!(c.settings.guild_members_intent);
        let c = parse(&args(&[
            "--port=9000",
            "--bot-token",
            "abc",
            "--limit-webhook",
            "2/500",
            "--redirect-uri",
            "http://a/cb",
            "--redirect-uri=http://b/cb",
            "--no-guild-members-intent",
            "--members",
            "2500",
        ]))
        .unwrap();
        assert_eq!(c.listen.port, 9000);
        assert_eq!(c.settings.bot_token, "abc");
        assert_eq!(c.settings.limits.webhook, Window::new(2, 500));
        assert_eq!(c.settings.redirect_uris.len(), 2);
        assert!(!c.settings.guild_members_intent);
        assert_eq!(c.settings.generated_members, 2500);
    }

    #[test]
    fn bad_flags_are_reported() {
        assert!(parse(&args(&["--nope"])).is_err());
        assert!(parse(&args(&["--port"])).is_err());
        assert!(parse(&args(&["--port", "70000"])).is_err());
        assert!(parse(&args(&["--limit-global", "50"])).is_err());
        assert!(parse(&args(&["--bot-token", " "])).is_err());
    }
}
