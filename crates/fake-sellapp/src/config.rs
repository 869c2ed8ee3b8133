//! Command-line flags.

pub type Config = fake_http::Config<Settings>;

/// What the control API can change at run time too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where webhooks go; `None` until configured (sends are then recorded as failed).
    pub target_url: Option<String>,
    pub webhook_secret: String,
    /// The secret before a rotation: `stale` sends sign with it.
    pub stale_secret: String,
    pub api_token: String,
    pub store_id: u64,
    /// Path of the checkout pages (`{checkout_path}/{variant_id}`).
    pub checkout_path: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            target_url: None,
            webhook_secret: "fake-sellapp-webhook-secret".into(),
            stale_secret: "fake-sellapp-previous-secret".into(),
            api_token: "fake-sellapp-api-token".into(),
            store_id: 4242,
            checkout_path: "/checkout".into(),
        }
    }
}

pub const USAGE: &str = "\
fake-sellapp: a local stand-in for Sell.app (webhooks, invoices API, checkout)

USAGE: fake-sellapp [FLAGS]

  --host ADDR              listen address (default 127.0.0.1)
  --port N                 port, 0 picks a free one (default 0)
  --public-url URL         base URL used in links (default http://HOST:PORT)
  --target URL             where webhooks are POSTed (http only; also settable at run time)
  --webhook-secret S       the store's webhook secret (default fake-sellapp-webhook-secret)
  --stale-secret S         a previous secret, for `stale` sends (default fake-sellapp-previous-secret)
  --api-token T            the API token accepted as `Authorization: Bearer T`
                           (default fake-sellapp-api-token)
  --store-id N             the envelope's `store` (default 4242)
  --checkout-path P        path of the checkout pages (default /checkout)
  --verbose                log every request to stderr
  --help                   this text
";

pub fn parse(args: &[String]) -> Result<Config, String> {
    let cfg = fake_http::flags::parse(args, USAGE, Settings::default(), |s, name, value| {
        match name {
            "--target" => {
                let v = value()?;
                crate::send::Target::parse(&v)?;
                s.target_url = Some(v);
            }
            "--webhook-secret" => s.webhook_secret = value()?,
            "--stale-secret" => s.stale_secret = value()?,
            "--api-token" => s.api_token = value()?,
            "--store-id" => {
                s.store_id = value()?
                    .parse()
                    .map_err(|_| "--store-id: not a number".to_string())?
            }
            "--checkout-path" => {
                let v = value()?;
                let v = format!("/{}", v.trim_matches('/'));
                if v == "/" || v.starts_with("/_control") || v.starts_with("/api") {
                    return Err("--checkout-path: must be a path of its own".into());
                }
                s.checkout_path = v;
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    for (flag, v) in [
        ("--webhook-secret", &cfg.settings.webhook_secret),
        ("--api-token", &cfg.settings.api_token),
    ] {
        if v.trim().is_empty() {
            return Err(format!("{flag} must not be empty"));
        }
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake_http::flags::args;

    #[test]
    fn flags() {
        let c = parse(&args(&[
            "--port=0",
            "--target",
            "http://127.0.0.1:9/hook",
            "--store-id",
            "7",
            "--checkout-path",
            "buy/",
        ]))
        .unwrap();
        assert_eq!(
            c.settings.target_url.as_deref(),
            Some("http://127.0.0.1:9/hook")
        );
        assert_eq!(c.settings.store_id, 7);
        assert_eq!(c.settings.checkout_path, "/buy");
        for bad in [
            &["--nope"][..],
            &["--target", "https://x/"],
            &["--api-token", " "],
            &["--checkout-path", "/_control"],
            &["--port", "x"],
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
