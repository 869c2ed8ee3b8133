//! The fake against a reference receiver built from relay-payments exactly as the crate docs
//! tell the runtime to: verify + parse, record the event key before deciding (a repeat is
//! `deduped`), decide, apply. It runs the end-to-end stories of issue 13 natively, so the crate's
//! integration points are known to compose before the worker wires them.

use relay_payments::api::{invoice_url, parse_invoice_response};
use relay_payments::email::NormalizedEmail;
use relay_payments::envelope::{EventKey, Invoice};
use relay_payments::ids::{AccountId, OrderId, ProductId, TierKey, VariantId};
use relay_payments::lifecycle::{
    apply, decide, Change, Customer, Entitlement, TrialClaim, Trigger,
};
use relay_payments::outcome::{answer_body, Outcome};
use relay_payments::policy::{Policy, PolicySet};
use relay_payments::webhook::receive;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

const SECRET: &str = "whsec_pipeline";

fn policy(id: &str, product: &str, variant: &str, tier: &str, days: u32) -> Policy {
    Policy {
        id: id.into(),
        product_id: ProductId::new(product).unwrap(),
        variant_id: VariantId::new(variant),
        tier: TierKey::new(tier).unwrap(),
        duration_days: days,
        enabled: true,
        trial: false,
    }
}

/// The tenant's tables, in memory.
#[derive(Default)]
struct Tenant {
    policies: Vec<Policy>,
    accounts: BTreeMap<String, AccountId>,
    entitlements: BTreeMap<String, Vec<Entitlement>>,
    claims: Vec<TrialClaim>,
    held: Vec<(OrderId, Invoice)>,
    /// The event log: key → (raw body, outcome).
    events: BTreeMap<EventKey, (Vec<u8>, Outcome)>,
    refused: u32,
    next_id: u32,
}

impl Tenant {
    fn decide(
        &mut self,
        trigger: Trigger,
        order: &OrderId,
        inv: Option<&Invoice>,
        now: i64,
    ) -> Outcome {
        let email = inv
            .and_then(|i| i.email.as_ref())
            .map(|e| e.as_str().to_string())
            .unwrap_or_default();
        let account = self.accounts.get(&email).cloned();
        let ents = account
            .as_ref()
            .and_then(|a| self.entitlements.get(a.as_str()))
            .cloned()
            .unwrap_or_default();
        let held: Vec<OrderId> = self.held.iter().map(|(o, _)| o.clone()).collect();
        let set = PolicySet::new(self.policies.clone()).unwrap();
        let customer = Customer {
            account: account.as_ref(),
            discord_id: None,
            entitlements: &ents,
            trial_claims: &self.claims,
            held_orders: &held,
        };
        let d = decide(&trigger, order, inv, &customer, &set, now);
        for c in &d.changes {
            match c {
                Change::ClaimTrial(claim) => self.claims.push(claim.clone()),
                Change::HoldPending { order_id, .. } => {
                    self.held.push((order_id.clone(), inv.cloned().unwrap()))
                }
                Change::ReleasePending { order_id } => self.held.retain(|(o, _)| o != order_id),
                _ => {}
            }
        }
        if let Some(a) = account {
            let next = &mut self.next_id;
            apply(
                self.entitlements.entry(a.as_str().to_string()).or_default(),
                &d.changes,
                || {
                    *next += 1;
                    format!("e{next}")
                },
            );
        }
        d.outcome
    }

    /// `POST /webhooks/sellapp/{tenant}` → (status, body).
    fn webhook(&mut self, signature: Option<&str>, body: &[u8]) -> (u16, Value) {
        let received = match receive(Some(SECRET.as_bytes()), signature, body) {
            Ok(r) => r,
            Err(e) => {
                self.refused += 1;
                let err = e.to_api_error();
                return (err.status(), json!({"ok": false, "error_code": err.code}));
            }
        };
        if self.events.contains_key(&received.key) {
            return (200, answer_body(None));
        }
        let outcome = match &received.envelope {
            Err(e) => Outcome::malformed(e),
            Ok(env) => self.decide(
                Trigger::Webhook(env.event.clone()),
                &env.subject_id,
                env.invoice.as_ref(),
                0,
            ),
        };
        self.events
            .insert(received.key, (body.to_vec(), outcome.clone()));
        (outcome.http_status(), answer_body(Some(&outcome)))
    }

    /// The operator's "replay all unmatched/failed".
    fn replay(&mut self) -> Vec<Outcome> {
        let keys: Vec<EventKey> = self
            .events
            .iter()
            .filter(|(_, (_, o))| o.is_replayable())
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter()
            .map(|k| {
                let body = self.events[&k].0.clone();
                let env = receive(Some(SECRET.as_bytes()), Some(&sign(&body)), &body)
                    .unwrap()
                    .envelope
                    .unwrap();
                let o = self.decide(
                    Trigger::Webhook(env.event.clone()),
                    &env.subject_id,
                    env.invoice.as_ref(),
                    0,
                );
                self.events.get_mut(&k).unwrap().1 = o.clone();
                o
            })
            .collect()
    }

    fn signup(&mut self, email: &str, account: &str) -> Vec<Outcome> {
        let email = NormalizedEmail::parse(email).unwrap();
        self.accounts
            .insert(email.as_str().to_string(), AccountId::new(account).unwrap());
        let held: Vec<(OrderId, Invoice)> = self
            .held
            .iter()
            .filter(|(_, i)| i.email.as_ref() == Some(&email))
            .cloned()
            .collect();
        held.into_iter()
            .map(|(o, inv)| self.decide(Trigger::AccountCreated, &o, Some(&inv), 0))
            .collect()
    }

    fn tiers(&self, account: &str) -> Vec<String> {
        let mut t: Vec<String> = self
            .entitlements
            .get(account)
            .into_iter()
            .flatten()
            .filter(|e| e.is_active(1))
            .map(|e| e.tier.to_string())
            .collect();
        t.sort();
        t
    }

    fn outcomes(&self) -> BTreeSet<String> {
        self.events
            .values()
            .map(|(_, o)| format!("{}:{}", o.as_str(), o.reason_code().unwrap_or("-")))
            .collect()
    }
}

fn sign(body: &[u8]) -> String {
    relay_payments::signature::sign(SECRET.as_bytes(), body)
}

fn serve(tenant: Arc<Mutex<Tenant>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhooks/sellapp/demo", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let (mut len, mut sig) = (0usize, None);
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                let h = h.trim_end().to_string();
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap(),
                    "signature" => sig = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            let mut body = vec![0u8; len];
            r.read_exact(&mut body).unwrap();
            let (status, answer) = tenant.lock().unwrap().webhook(sig.as_deref(), &body);
            let answer = answer.to_string();
            write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .unwrap();
        }
    });
    url
}

struct Fake {
    child: Child,
    addr: String,
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Fake {
    fn start(target: &str) -> Fake {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fake-sellapp"))
            .args([
                "--port",
                "0",
                "--target",
                target,
                "--webhook-secret",
                SECRET,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut ready = String::new();
        out.read_line(&mut ready).unwrap();
        let addr = ready
            .trim()
            .strip_prefix("fake-sellapp listening on http://")
            .unwrap()
            .to_string();
        // Read the seed line too: closing the pipe before it is written stops the fake.
        let mut seed = String::new();
        out.read_line(&mut seed).unwrap();
        assert!(seed.starts_with("fake-sellapp seed {"), "{seed}");
        Fake { child, addr }
    }

    fn http(&self, method: &str, path: &str, body: &str, auth: bool) -> (u16, Vec<u8>) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        let auth = if auth {
            "Authorization: Bearer fake-sellapp-api-token\r\n"
        } else {
            ""
        };
        write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n{auth}Connection: close\r\n\r\n{body}", body.len()).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let status = String::from_utf8_lossy(&raw[..split])
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        (status, raw[split + 4..].to_vec())
    }

    /// A control call; returns the statuses our receiver answered, in delivery order.
    fn control(&self, path: &str, body: Value) -> (Value, Vec<u64>) {
        let (status, b) = self.http(
            "POST",
            &format!("/_control/{path}"),
            &body.to_string(),
            false,
        );
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&b));
        let v: Value = serde_json::from_slice(&b).unwrap();
        let statuses = v["deliveries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d["status"].as_u64().unwrap_or(0))
            .collect();
        (v, statuses)
    }
}

fn setup() -> (Arc<Mutex<Tenant>>, Fake) {
    let tenant = Arc::new(Mutex::new(Tenant {
        policies: vec![
            policy("p30", "1001", "2001", "premium", 30),
            policy("vip", "1002", "2003", "vip", 30),
            policy("trial", "1003", "2004", "premium", 3),
        ],
        ..Tenant::default()
    }));
    let fake = Fake::start(&serve(Arc::clone(&tenant)));
    (tenant, fake)
}

#[test]
fn forged_unsigned_stale_and_replayed_deliveries_change_nothing() {
    let (t, fake) = setup();
    t.lock().unwrap().signup("alice@example.com", "acc-a");
    for signing in ["unsigned", "forged", "stale"] {
        let (_, st) = fake.control(
            "purchase",
            json!({"email": "alice@example.com", "variant_id": 2001, "signing": signing}),
        );
        assert_eq!(st, [401, 401], "{signing}");
    }
    assert_eq!(t.lock().unwrap().refused, 6);
    assert!(t.lock().unwrap().tiers("acc-a").is_empty());
    assert!(
        t.lock().unwrap().events.is_empty(),
        "a refused delivery records nothing"
    );
    let (v, st) = fake.control(
        "purchase",
        json!({"email": "alice@example.com", "variant_id": 2001, "duplicate": 3}),
    );
    assert_eq!(st, [200; 6]);
    let results: Vec<&str> = v["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["response"].as_str().unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.contains("deduped")).count(),
        4,
        "{results:?}"
    );
    let id = v["invoice"]["id"].as_u64().unwrap();
    // A later replay of the same event (and a forged copy of it) changes nothing either.
    let (_, st) = fake.control(
        &format!("invoices/{id}/send"),
        json!({"event": "order.completed"}),
    );
    assert_eq!(st, [200]);
    let (_, st) = fake.control(
        &format!("invoices/{id}/send"),
        json!({"event": "order.completed", "signing": "forged"}),
    );
    assert_eq!(st, [401]);
    let t = t.lock().unwrap();
    assert_eq!(t.entitlements["acc-a"].len(), 1, "applied once");
    assert_eq!(t.tiers("acc-a"), ["premium"]);
}

#[test]
fn completed_before_created_unknown_product_then_replay_and_order_before_signup() {
    let (t, fake) = setup();
    t.lock().unwrap().signup("bob@example.com", "acc-b");
    let (_, st) = fake.control(
        "purchase",
        json!({"email": "bob@example.com", "variant_id": 2003, "reorder": true}),
    );
    assert_eq!(st, [200, 200]);
    assert_eq!(t.lock().unwrap().tiers("acc-b"), ["vip"]);
    assert!(
        t.lock()
            .unwrap()
            .outcomes()
            .contains("ignored:already_applied"),
        "the late order.created did nothing"
    );

    // No policy for the 90-day variant yet: unmatched (200), then a policy and a replay.
    let (_, st) = fake.control(
        "purchase",
        json!({"email": "bob@example.com", "variant_id": 2002}),
    );
    assert_eq!(st, [200, 200]);
    assert!(t.lock().unwrap().outcomes().contains("unmatched:no_policy"));
    t.lock()
        .unwrap()
        .policies
        .push(policy("p90", "1001", "2002", "premium", 90));
    let replayed = t.lock().unwrap().replay();
    assert_eq!(replayed, [Outcome::Applied]);
    assert_eq!(t.lock().unwrap().tiers("acc-b"), ["premium", "vip"]);

    // Paid before signing up: held, applied at signup.
    let (_, st) = fake.control(
        "purchase",
        json!({"email": "Carol@Example.com ", "variant_id": 2001}),
    );
    assert_eq!(st, [200, 200]);
    assert!(t
        .lock()
        .unwrap()
        .outcomes()
        .contains("unmatched:no_account_yet"));
    assert_eq!(
        t.lock().unwrap().signup("carol@example.com", "acc-c"),
        [Outcome::Applied]
    );
    assert_eq!(t.lock().unwrap().tiers("acc-c"), ["premium"]);
}

#[test]
fn trials_once_disputes_and_refunds_found_by_reconciliation() {
    let (t, fake) = setup();
    for (email, acc) in [("d@x.io", "acc-d"), ("e@x.io", "acc-e")] {
        t.lock().unwrap().signup(email, acc);
    }
    // Every fake invoice carries the same buyer IP: a lock keyed by IP would refuse e@.
    for email in ["d@x.io", "e@x.io", "d@x.io"] {
        fake.control("purchase", json!({"email": email, "variant_id": 2004}));
    }
    assert_eq!(t.lock().unwrap().tiers("acc-d"), ["premium"]);
    assert_eq!(t.lock().unwrap().tiers("acc-e"), ["premium"]);
    assert_eq!(t.lock().unwrap().claims.len(), 2);
    assert!(t
        .lock()
        .unwrap()
        .outcomes()
        .contains("ignored:trial_already_used"));

    let (v, _) = fake.control("purchase", json!({"email": "e@x.io", "variant_id": 2003}));
    let disputed = v["invoice"]["id"].as_u64().unwrap();
    assert_eq!(t.lock().unwrap().tiers("acc-e"), ["premium", "vip"]);
    let (_, st) = fake.control(
        &format!("invoices/{disputed}/status"),
        json!({"status": "DISPUTED"}),
    );
    assert_eq!(st, [200]);
    assert_eq!(t.lock().unwrap().tiers("acc-e"), ["premium"]);

    let (v, _) = fake.control("purchase", json!({"email": "d@x.io", "variant_id": 2003}));
    let refunded = v["invoice"]["id"].as_u64().unwrap();
    let (_, st) = fake.control(
        &format!("invoices/{refunded}/status"),
        json!({"status": "REFUNDED"}),
    );
    assert!(st.is_empty(), "refunds are not announced");
    assert_eq!(t.lock().unwrap().tiers("acc-d"), ["premium", "vip"]);
    // Reconciliation reads the invoice from the API and decides what changed.
    let order = OrderId::new(&refunded.to_string()).unwrap();
    let url = invoice_url("/api/v2", &order);
    let (status, body) = fake.http("GET", &url, "", true);
    assert_eq!(status, 200);
    let inv = parse_invoice_response(&body).unwrap();
    assert_eq!(
        t.lock()
            .unwrap()
            .decide(Trigger::Reconciliation, &order, Some(&inv), 1),
        Outcome::Applied
    );
    assert_eq!(t.lock().unwrap().tiers("acc-d"), ["premium"]);
}
