//! Delivering one webhook: a minimal HTTP/1.1 POST over a TCP socket (the target is local and
//! plain http; a client library would be more than this needs).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// Path and query.
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("target must be an http:// URL, got {url}"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h,
                p.parse::<u16>().map_err(|_| format!("bad port in {url}"))?,
            ),
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("no host in {url}"));
        }
        Ok(Target {
            host: host.trim_matches(['[', ']']).to_string(),
            port,
            path: path.to_string(),
        })
    }
}

/// The receiver's answer: its status and the start of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// POSTs `body` with the given extra headers; `Err` for a connection or protocol failure.
pub fn post(url: &str, headers: &[(String, String)], body: &[u8]) -> Result<Answer, String> {
    let t = Target::parse(url)?;
    let mut stream = TcpStream::connect((t.host.as_str(), t.port))
        .map_err(|e| format!("connect {}:{}: {e}", t.host, t.port))?;
    stream.set_read_timeout(Some(TIMEOUT)).ok();
    stream.set_write_timeout(Some(TIMEOUT)).ok();
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nUser-Agent: fake-sellapp\r\nConnection: close\r\n",
        t.path,
        t.host,
        t.port,
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body))
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .take(64 * 1024)
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| {
            format!(
                "no HTTP status in the answer: {:?}",
                text.chars().take(80).collect::<String>()
            )
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.chars().take(500).collect())
        .unwrap_or_default();
    Ok(Answer { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("http://127.0.0.1:8787/webhooks/sellapp/demo?x=1").unwrap(),
            Target {
                host: "127.0.0.1".into(),
                port: 8787,
                path: "/webhooks/sellapp/demo?x=1".into()
            }
        );
        assert_eq!(Target::parse("http://localhost").unwrap().port, 80);
        assert_eq!(Target::parse("http://[::1]:9/").unwrap().host, "::1");
        assert!(Target::parse("https://x/").is_err());
        assert!(Target::parse("http://:80/").is_err());
        assert!(Target::parse("http://x:99999/").is_err());
    }

    #[test]
    fn posts_and_reads_the_status() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !String::from_utf8_lossy(&got).contains("{\"a\":1}") {
                let n = s.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            String::from_utf8(got).unwrap()
        });
        let a = post(
            &format!("http://127.0.0.1:{port}/h"),
            &[("signature".into(), "ab".into())],
            br#"{"a":1}"#,
        )
        .unwrap();
        assert_eq!(
            a,
            Answer {
                status: 202,
                body: "ok".into()
            }
        );
        let req = t.join().unwrap();
        assert!(req.starts_with("POST /h HTTP/1.1\r\n"));
        assert!(req.contains("\r\nsignature: ab\r\n"));
        assert!(post("http://127.0.0.1:1/", &[], b"").is_err());
    }
}
