//! The HTTP server around a fake's handler: a pool of threads on one `tiny_http` listener,
//! bodies read up to a cap, answers always with a Content-Length.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::flags::Listen;
use crate::message::{Req, Resp};

/// Why a request reached the handler without its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    Unreadable,
    /// Longer than the cap: not read further.
    TooLarge,
}

pub struct Bound {
    server: tiny_http::Server,
    pub base_url: String,
}

/// Listens where `listen` says; the base URL is `--public-url` or the address bound.
pub fn bind(listen: &Listen) -> std::io::Result<Bound> {
    let server = tiny_http::Server::http((listen.host.as_str(), listen.port))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .unwrap_or(listen.port);
    let base_url = listen
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{port}", listen.host));
    Ok(Bound { server, base_url })
}

impl Bound {
    /// The two stdout lines a harness waits for: `NAME listening on URL`, then
    /// `NAME seed {json}` with what it needs to point the worker at the fake.
    pub fn announce(&self, name: &str, seed: &Value) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{name} listening on {}", self.base_url)?;
        writeln!(out, "{name} seed {seed}")?;
        out.flush()
    }

    /// Serves until the process ends, `workers` requests at a time.
    pub fn serve(
        self,
        name: &'static str,
        workers: usize,
        max_body: usize,
        verbose: bool,
        handler: impl Fn(Result<Req, BodyError>) -> Resp + Send + Sync + 'static,
    ) -> std::io::Result<()> {
        let server = Arc::new(self.server);
        let handler = Arc::new(handler);
        let threads: Vec<_> = (0..workers)
            .map(|_| {
                let server = Arc::clone(&server);
                let handler = Arc::clone(&handler);
                std::thread::spawn(move || loop {
                    match server.recv() {
                        Ok(rq) => serve_one(rq, max_body, verbose, &*handler),
                        Err(e) => {
                            eprintln!("{name}: accept failed: {e}");
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
        Ok(())
    }
}

fn serve_one(
    mut rq: tiny_http::Request,
    max_body: usize,
    verbose: bool,
    handler: &dyn Fn(Result<Req, BodyError>) -> Resp,
) {
    let method = rq.method().as_str().to_string();
    let url = rq.url().to_string();
    let headers: Vec<(String, String)> = rq
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let mut body = Vec::new();
    let read = rq
        .as_reader()
        .take(max_body as u64 + 1)
        .read_to_end(&mut body);
    let resp = handler(if read.is_err() {
        Err(BodyError::Unreadable)
    } else if body.len() > max_body {
        Err(BodyError::TooLarge)
    } else {
        Ok(Req::new(&method, &url, headers, body))
    });
    if verbose {
        eprintln!("{method} {url} -> {}", resp.status);
    }
    // Always a Content-Length, never chunked: simpler for every client a test might use.
    let mut out = tiny_http::Response::from_data(resp.body)
        .with_status_code(resp.status)
        .with_chunked_threshold(usize::MAX);
    for (k, v) in resp.headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            out.add_header(h);
        }
    }
    // The client may have gone away; nothing useful can be done about it here.
    let _ = rq.respond(out);
}
