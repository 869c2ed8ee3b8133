//! The flags every fake takes (`--host`, `--port`, `--public-url`, `--verbose`) and the
//! `--flag VALUE` / `--flag=VALUE` reading its own flags go through.

/// Where a fake listens and how it names itself in links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    /// Base URL used in links; `http://HOST:PORT` when not given.
    pub public_url: Option<String>,
    /// Log every request to stderr.
    pub verbose: bool,
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            host: "127.0.0.1".into(),
            port: 0,
            public_url: None,
            verbose: false,
        }
    }
}

/// A fake's command line: where it listens, and its service's settings.
#[derive(Debug, Clone)]
pub struct Config<S> {
    pub listen: Listen,
    pub settings: S,
}

/// Reads `args` over `settings` (the fake's defaults): the common flags into
/// [`Config::listen`], every other flag through `own(settings, name, value)`, which returns
/// `Ok(false)` for a flag it does not know (then the error names it, followed by `usage`).
/// `value()` takes the flag's value, inline or the next word.
pub fn parse<S>(
    args: &[String],
    usage: &str,
    mut settings: S,
    mut own: impl FnMut(
        &mut S,
        &str,
        &mut dyn FnMut() -> Result<String, String>,
    ) -> Result<bool, String>,
) -> Result<Config<S>, String> {
    let mut listen = Listen::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (flag.as_str(), None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name {
            "--host" => listen.host = value()?,
            "--port" => {
                listen.port = value()?
                    .parse()
                    .map_err(|_| "--port: not a port number".to_string())?
            }
            "--public-url" => listen.public_url = Some(value()?.trim_end_matches('/').to_string()),
            "--verbose" => listen.verbose = true,
            other => {
                if !own(&mut settings, other, &mut value)? {
                    return Err(format!("unknown flag {other}\n\n{usage}"));
                }
            }
        }
    }
    Ok(Config { listen, settings })
}

/// A command line from words, as `std::env::args` would give it (for tests).
pub fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_flags_inline_or_next_and_the_rest_to_the_fake() {
        let words = [
            "--port=9000",
            "--public-url",
            "http://x/",
            "--name",
            "n",
            "--verbose",
        ];
        let c = parse(&args(&words), "usage", Vec::new(), |seen, name, value| {
            seen.push((name.to_string(), value()?));
            Ok(name == "--name")
        })
        .unwrap();
        let l = &c.listen;
        assert_eq!((l.host.as_str(), l.port), ("127.0.0.1", 9000));
        assert_eq!(l.public_url.as_deref(), Some("http://x"));
        assert!(l.verbose);
        assert_eq!(c.settings, [("--name".to_string(), "n".to_string())]);
        let refuse = |_: &mut (), _: &str, _: &mut dyn FnMut() -> Result<String, String>| Ok(false);
        for bad in [
            &["--nope"][..],
            &["--port"],
            &["--port", "70000"],
            &["--port", "x"],
        ] {
            assert!(parse(&args(bad), "usage", (), refuse).is_err(), "{bad:?}");
        }
        let e = parse(&args(&["--nope"]), "the usage", (), refuse).unwrap_err();
        assert!(
            e.starts_with("unknown flag --nope") && e.ends_with("the usage"),
            "{e}"
        );
    }
}
