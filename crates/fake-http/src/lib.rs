//! What the fakes we own (`fake-discord`, `fake-sellapp`) share: requests and responses as
//! their handlers see them ([`Req`], [`Resp`]), the HTTP server around a handler
//! ([`server`]), the command-line flags every fake takes ([`flags`]), its `main`, a lock that
//! survives a panicking handler ([`Locked`]) and calendar arithmetic ([`time`]). Each fake
//! keeps only what is its service's own: routes, error shapes, state.

pub mod flags;
pub mod message;
pub mod server;
pub mod time;

pub use flags::{Config, Listen};
pub use message::{Req, Resp};

use std::sync::{Mutex, MutexGuard};

/// A fake's state behind one lock.
#[derive(Debug, Default)]
pub struct Locked<T>(Mutex<T>);

impl<T> Locked<T> {
    pub fn new(value: T) -> Self {
        Locked(Mutex::new(value))
    }

    /// A handler that panicked must not take the whole fake down with a poisoned lock.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A fake's `main`: `--help` prints `usage`; a bad flag exits 2, a server failure 1.
pub fn main<C>(
    name: &str,
    usage: &str,
    parse: impl FnOnce(&[String]) -> Result<C, String>,
    run: impl FnOnce(C) -> std::io::Result<()>,
) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{usage}");
        return;
    }
    let cfg = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(cfg) {
        eprintln!("{name}: {e}");
        std::process::exit(1);
    }
}
