//! Runs the real binary against a local receiver, and checks what arrives with the verifier and
//! parser the worker uses (relay-payments), so the fake and our code agree on the wire format.

use relay_payments::envelope::{parse_envelope, parse_invoice, EventName, InvoiceStatus};
use relay_payments::signature::{verify, SignatureError};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

const SECRET: &str = "whsec_integration";

struct Fake {
    child: Child,
    addr: String,
    seed: Value,
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One webhook as the receiver got it.
#[derive(Debug)]
struct Got {
    path: String,
    signature: Option<String>,
    body: Vec<u8>,
}

/// A receiver that records every request and answers 200.
fn receiver() -> (String, Receiver<Got>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhooks/sellapp/demo", l.local_addr().unwrap());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let (mut len, mut signature) = (0usize, None);
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap(),
                    "signature" => signature = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            let mut body = vec![0u8; len];
            r.read_exact(&mut body).unwrap();
            s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}",
            )
            .unwrap();
            if tx
                .send(Got {
                    path,
                    signature,
                    body,
                })
                .is_err()
            {
                return;
            }
        }
    });
    (url, rx)
}

fn start(target: &str) -> Fake {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-sellapp"))
        .args([
            "--port",
            "0",
            "--target",
            target,
            "--webhook-secret",
            SECRET,
            "--store-id",
            "77",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn fake-sellapp");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    out.read_line(&mut ready).unwrap();
    let base = ready
        .trim()
        .strip_prefix("fake-sellapp listening on ")
        .unwrap_or_else(|| panic!("unexpected ready line: {ready:?}"))
        .to_string();
    let mut seed = String::new();
    out.read_line(&mut seed).unwrap();
    let seed: Value =
        serde_json::from_str(seed.trim().strip_prefix("fake-sellapp seed ").unwrap()).unwrap();
    assert_eq!(seed["base_url"], base.as_str());
    Fake {
        child,
        addr: base.strip_prefix("http://").unwrap().to_string(),
        seed,
    }
}

impl Fake {
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        auth: Option<&str>,
    ) -> (u16, String, Vec<u8>) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = auth
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{auth}Connection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, head, raw[split + 4..].to_vec())
    }

    fn control(&self, path: &str, body: Value) -> Value {
        let (status, _, b) = self.call("POST", &format!("/_control/{path}"), Some(body), None);
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&b));
        serde_json::from_slice(&b).unwrap()
    }
}

fn take(rx: &Receiver<Got>, n: usize) -> Vec<Got> {
    // Control calls return after their deliveries were answered, so these are already queued;
    // the timeout only turns a bug into a failure instead of a hang.
    (0..n)
        .map(|_| {
            rx.recv_timeout(Duration::from_secs(20))
                .expect("a delivery")
        })
        .collect()
}

fn event_of(g: &Got) -> String {
    parse_envelope(&g.body).unwrap().event.as_str().to_string()
}

#[test]
fn a_purchase_sends_signed_created_then_completed() {
    let (target, rx) = receiver();
    let fake = start(&target);
    let r = fake.control(
        "purchase",
        json!({"email": " Alice@Example.com ", "variant_id": 2002}),
    );
    assert!(r["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["state"] == "sent" && d["status"] == 200));
    let got = take(&rx, 2);
    assert!(got.iter().all(|g| g.path == "/webhooks/sellapp/demo"));
    for g in &got {
        assert_eq!(
            verify(Some(SECRET.as_bytes()), g.signature.as_deref(), &g.body),
            Ok(())
        );
    }
    let created = parse_envelope(&got[0].body).unwrap();
    let completed = parse_envelope(&got[1].body).unwrap();
    assert_eq!(created.event, EventName::OrderCreated);
    assert_eq!(completed.event, EventName::OrderCompleted);
    assert_ne!(created.key(), completed.key());
    assert_eq!(completed.store.as_str(), "77");
    assert_eq!(
        created.invoice.unwrap().status,
        Some(InvoiceStatus::Pending)
    );
    let inv = completed.invoice.unwrap();
    assert_eq!(inv.status, Some(InvoiceStatus::Completed));
    assert_eq!(inv.email.unwrap().as_str(), "alice@example.com");
    assert_eq!(
        (
            inv.product_id.unwrap().as_str(),
            inv.variant_id.unwrap().as_str()
        ),
        ("1001", "2002")
    );
    assert_eq!(inv.total.unwrap().minor, 7900);
}

#[test]
fn bad_signatures_duplicates_reordering_and_id_only_data() {
    let (target, rx) = receiver();
    let fake = start(&target);
    let key = Some(SECRET.as_bytes());
    for (signing, want) in [
        ("unsigned", SignatureError::MissingHeader),
        ("forged", SignatureError::Mismatch),
        ("stale", SignatureError::Mismatch),
    ] {
        fake.control(
            "purchase",
            json!({"email": "a@b.io", "variant_id": 2001, "signing": signing, "complete": false}),
        );
        let g = take(&rx, 1).pop().unwrap();
        assert_eq!(
            verify(key, g.signature.as_deref(), &g.body),
            Err(want),
            "{signing}"
        );
    }
    fake.control(
        "purchase",
        json!({"email": "a@b.io", "variant_id": 2001, "duplicate": true, "reorder": true}),
    );
    let got = take(&rx, 4);
    let events: Vec<String> = got.iter().map(event_of).collect();
    assert_eq!(
        events,
        [
            "order.completed",
            "order.completed",
            "order.created",
            "order.created"
        ]
    );
    assert_eq!(got[0].body, got[1].body, "a duplicate is byte-identical");
    fake.control(
        "purchase",
        json!({"email": "a@b.io", "variant_id": 2001, "payload": "id_only", "complete": false}),
    );
    let g = take(&rx, 1).pop().unwrap();
    assert!(parse_envelope(&g.body).unwrap().invoice.is_none());
    // Held deliveries go out on release, newest first when asked: a late, reordered pair.
    let held = fake.control(
        "purchase",
        json!({"email": "late@b.io", "variant_id": 2003, "hold": true}),
    );
    assert!(held["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["state"] == "held"));
    assert!(rx.try_recv().is_err(), "nothing is sent while held");
    let released = fake.control("deliveries/release", json!({"reverse": true}));
    assert_eq!(released["deliveries"].as_array().unwrap().len(), 2);
    let events: Vec<String> = take(&rx, 2).iter().map(event_of).collect();
    assert_eq!(events, ["order.completed", "order.created"]);
    // Late: the call returns at once, the deliveries follow on their own thread.
    let late = fake.control(
        "purchase",
        json!({"email": "later@b.io", "variant_id": 2001, "delay_ms": 50}),
    );
    assert!(late["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["state"] == "scheduled"));
    let events: Vec<String> = take(&rx, 2).iter().map(event_of).collect();
    assert_eq!(events, ["order.created", "order.completed"]);
    // Any body, signed: a malformed envelope for the worker's "well-signed is never 4xx".
    fake.control("send-raw", json!({"body": "not json"}));
    let g = take(&rx, 1).pop().unwrap();
    assert_eq!(g.body, b"not json");
    assert_eq!(verify(key, g.signature.as_deref(), &g.body), Ok(()));
}

#[test]
fn status_changes_and_the_invoices_api() {
    let (target, rx) = receiver();
    let fake = start(&target);
    let token = fake.seed["api_token"].as_str().unwrap().to_string();
    let r = fake.control("purchase", json!({"email": "bob@b.io", "variant_id": 2001}));
    let id = r["invoice"]["id"].as_u64().unwrap();
    take(&rx, 2);
    // A refund is not announced by webhook; the API shows it.
    fake.control(
        &format!("invoices/{id}/status"),
        json!({"status": "refunded"}),
    );
    assert!(rx.try_recv().is_err());
    let (status, _, _) = fake.call("GET", &format!("/api/v2/invoices/{id}"), None, None);
    assert_eq!(status, 401);
    let (status, _, body) = fake.call("GET", &format!("/api/v2/invoices/{id}"), None, Some(&token));
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        parse_invoice(&v["data"]).unwrap().status,
        Some(InvoiceStatus::Refunded)
    );
    // A dispute is.
    fake.control(
        &format!("invoices/{id}/status"),
        json!({"status": "DISPUTED"}),
    );
    let g = take(&rx, 1).pop().unwrap();
    let e = parse_envelope(&g.body).unwrap();
    assert_eq!(
        (e.event, e.subject_id.as_str().to_string()),
        (EventName::OrderDisputed, id.to_string())
    );
    let (_, _, body) = fake.call("GET", "/api/v2/invoices?page=1&limit=1", None, Some(&token));
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["meta"]["total"], 1);
    // The checkout page pays and returns.
    let checkout = fake.seed["checkout_url"].as_str().unwrap();
    let path = format!(
        "{}/2004",
        checkout
            .strip_prefix(&format!("http://{}", fake.addr))
            .unwrap()
    );
    let mut s = TcpStream::connect(&fake.addr).unwrap();
    let form = "email=trial%40b.io&return_url=http%3A%2F%2F127.0.0.1%2Freturn";
    write!(s, "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}", form.len()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 303"), "{raw}");
    assert!(
        raw.contains("Location: http://127.0.0.1/return?invoice="),
        "{raw}"
    );
    let got = take(&rx, 2);
    let inv = parse_envelope(&got[1].body).unwrap().invoice.unwrap();
    assert_eq!(
        inv.total.unwrap().minor,
        0,
        "the trial variant is a zero-total order"
    );
}
