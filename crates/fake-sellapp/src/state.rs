//! What the fake remembers: its products, the invoices it "sold", and every webhook it prepared
//! or sent.

use crate::config::Settings;
use crate::sign::sign;
use crate::time::rfc3339;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Deliveries kept for `/_control/deliveries`; older ones are dropped.
pub const MAX_DELIVERIES: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub id: u64,
    pub title: String,
    /// Minor units (cents).
    pub price: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: u64,
    pub title: String,
    pub variants: Vec<Variant>,
}

/// Sell.app's invoice statuses (the subset we simulate; any uppercase word is accepted so a
/// test can send something odd).
pub const KNOWN_STATUSES: &[&str] = &[
    "PENDING",
    "COMPLETED",
    "REFUNDED",
    "DISPUTED",
    "VOIDED",
    "CANCELLED",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub id: u64,
    pub email: String,
    pub customer_id: u64,
    pub product_id: u64,
    pub variant_id: u64,
    pub total: i64,
    pub currency: String,
    /// (status, at) oldest first; the last one is the current status.
    pub history: Vec<(String, i64)>,
    pub created_at: i64,
}

impl Invoice {
    pub fn status(&self) -> &str {
        self.history
            .last()
            .map(|(s, _)| s.as_str())
            .unwrap_or("PENDING")
    }

    pub fn set_status(&mut self, status: &str, at: i64) {
        self.history.push((status.to_string(), at));
    }

    /// The invoice as the v2 API (and, we assume, the webhook's `data`) shows it.
    pub fn to_json(&self, store_id: u64) -> Value {
        let (status, set_at) = self
            .history
            .last()
            .cloned()
            .unwrap_or(("PENDING".into(), self.created_at));
        json!({
            "id": self.id,
            "store_id": store_id,
            "customer_information": {
                "id": self.customer_id,
                "email": self.email,
                "country": "NL",
                // The buyer's IP, as Sell.app records it; never the webhook sender's.
                "ip": "203.0.113.7",
            },
            "status": {
                "status": { "status": status, "setAt": rfc3339(set_at) },
                "history": self.history.iter().map(|(s, at)| json!({
                    "status": s, "details": null, "created_at": rfc3339(*at),
                })).collect::<Vec<_>>(),
            },
            "payment": {
                "gateway": { "type": if self.total == 0 { "FREE" } else { "STRIPE" } },
                "total": money(self.total),
                "currency": self.currency,
            },
            "product_id": self.product_id,
            "product_variant_id": self.variant_id,
            "subscription_id": null,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(set_at),
        })
    }

    pub fn deliverables_json(&self) -> Value {
        json!([{
            "product_id": self.product_id,
            "product_variant_id": self.variant_id,
            "additional_information": [],
        }])
    }
}

/// 2990 → "29.90".
pub fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// "29.9" / "29" / "0.00" → minor units.
pub fn parse_money(s: &str) -> Option<i64> {
    let (w, f) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    if w.is_empty() || f.len() > 2 || !w.bytes().chain(f.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac: i64 = if f.is_empty() {
        0
    } else {
        format!("{f:0<2}").parse().ok()?
    };
    Some(w.parse::<i64>().ok()? * 100 + frac)
}

/// How a delivery is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Signed,
    Unsigned,
    /// A signature of the right shape that matches nothing.
    Forged,
    /// Signed with the previous secret.
    Stale,
}

impl Signing {
    pub fn parse(s: &str) -> Option<Signing> {
        Some(match s {
            "signed" => Signing::Signed,
            "unsigned" => Signing::Unsigned,
            "forged" => Signing::Forged,
            "stale" => Signing::Stale,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Signing::Signed => "signed",
            Signing::Unsigned => "unsigned",
            Signing::Forged => "forged",
            Signing::Stale => "stale",
        }
    }
}

/// What `data` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    Full,
    IdOnly,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for `/_control/deliveries/release`.
    Held,
    /// Being sent, or waiting for its delay.
    Scheduled,
    Sent {
        status: u16,
        response: String,
    },
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub seq: u64,
    pub event: String,
    pub invoice_id: Option<u64>,
    pub signing: Signing,
    /// The exact bytes sent (built when the event happened: an `order.created` carries the
    /// invoice as it was then).
    pub body: Vec<u8>,
    pub signature: Option<String>,
    pub state: DeliveryState,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

impl Delivery {
    pub fn to_json(&self) -> Value {
        let (state, status, response, error) = match &self.state {
            DeliveryState::Held => ("held", None, None, None),
            DeliveryState::Scheduled => ("scheduled", None, None, None),
            DeliveryState::Sent { status, response } => {
                ("sent", Some(*status), Some(response.clone()), None)
            }
            DeliveryState::Failed { error } => ("failed", None, None, Some(error.clone())),
        };
        json!({
            "seq": self.seq,
            "event": self.event,
            "invoice_id": self.invoice_id,
            "signing": self.signing.as_str(),
            "signature": self.signature,
            "body": String::from_utf8_lossy(&self.body),
            "state": state,
            "status": status,
            "response": response,
            "error": error,
            "created_at": rfc3339(self.created_at),
            "sent_at": self.sent_at.map(rfc3339),
        })
    }
}

pub struct State {
    pub settings: Settings,
    pub initial: Settings,
    pub base_url: String,
    pub products: Vec<Product>,
    pub invoices: BTreeMap<u64, Invoice>,
    pub customers: BTreeMap<String, u64>,
    pub deliveries: Vec<Delivery>,
    pub next_invoice: u64,
    next_seq: u64,
    forge_counter: u64,
    /// Requests the invoices API answered, by outcome, for tests of reconciliation.
    pub api_requests: u64,
}

pub fn seed_products() -> Vec<Product> {
    let v = |id, title: &str, price| Variant {
        id,
        title: title.into(),
        price,
        currency: "USD".into(),
    };
    vec![
        Product {
            id: 1001,
            title: "Premium signals".into(),
            variants: vec![v(2001, "30 days", 2900), v(2002, "90 days", 7900)],
        },
        Product {
            id: 1002,
            title: "VIP signals".into(),
            variants: vec![v(2003, "30 days", 9900)],
        },
        Product {
            id: 1003,
            title: "Free trial".into(),
            variants: vec![v(2004, "3 days", 0)],
        },
    ]
}

impl State {
    pub fn new(settings: Settings, base_url: String) -> State {
        State {
            initial: settings.clone(),
            settings,
            base_url,
            products: seed_products(),
            invoices: BTreeMap::new(),
            customers: BTreeMap::new(),
            deliveries: Vec::new(),
            next_invoice: 50_001,
            next_seq: 1,
            forge_counter: 0,
            api_requests: 0,
        }
    }

    /// Invoices and deliveries gone, products and settings back to the start.
    pub fn reset(&mut self) {
        *self = State::new(self.initial.clone(), self.base_url.clone());
    }

    /// (product, variant) for a variant id, or a product id (its first variant).
    pub fn find(&self, product: Option<u64>, variant: Option<u64>) -> Option<(&Product, &Variant)> {
        self.products.iter().find_map(|p| {
            let v = match variant {
                Some(vid) => p.variants.iter().find(|v| v.id == vid)?,
                None if Some(p.id) == product => p.variants.first()?,
                None => return None,
            };
            (product.is_none() || product == Some(p.id)).then_some((p, v))
        })
    }

    /// A new PENDING invoice for `email`.
    pub fn open_invoice(
        &mut self,
        email: &str,
        product: u64,
        variant: u64,
        total: i64,
        currency: &str,
        now: i64,
    ) -> u64 {
        let next_customer = 7001 + self.customers.len() as u64;
        let customer_id = *self
            .customers
            .entry(email.trim().to_lowercase())
            .or_insert(next_customer);
        let id = self.next_invoice;
        self.next_invoice += 1;
        self.invoices.insert(
            id,
            Invoice {
                id,
                email: email.trim().to_string(),
                customer_id,
                product_id: product,
                variant_id: variant,
                total,
                currency: currency.to_string(),
                history: vec![("PENDING".into(), now)],
                created_at: now,
            },
        );
        id
    }

    /// The envelope Sell.app sends for `event` about `invoice` as it is now.
    pub fn envelope(&self, event: &str, invoice: u64, payload: Payload) -> Option<Vec<u8>> {
        let inv = self.invoices.get(&invoice)?;
        let data = match payload {
            Payload::Full => inv.to_json(self.settings.store_id),
            Payload::IdOnly => json!({ "id": inv.id }),
        };
        Some(
            json!({ "event": event, "data": data, "store": self.settings.store_id })
                .to_string()
                .into_bytes(),
        )
    }

    /// Records a delivery of `body`, signed as asked, and returns its seq.
    pub fn prepare(
        &mut self,
        event: &str,
        invoice_id: Option<u64>,
        body: Vec<u8>,
        signing: Signing,
        held: bool,
        now: i64,
    ) -> u64 {
        let signature = match signing {
            Signing::Signed => Some(sign(&self.settings.webhook_secret, &body)),
            Signing::Stale => Some(sign(&self.settings.stale_secret, &body)),
            Signing::Unsigned => None,
            Signing::Forged => {
                self.forge_counter += 1;
                Some(sign(&format!("forged-{}", self.forge_counter), &body))
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.deliveries.push(Delivery {
            seq,
            event: event.to_string(),
            invoice_id,
            signing,
            body,
            signature,
            state: if held {
                DeliveryState::Held
            } else {
                DeliveryState::Scheduled
            },
            created_at: now,
            sent_at: None,
        });
        if self.deliveries.len() > MAX_DELIVERIES {
            let drop = self.deliveries.len() - MAX_DELIVERIES;
            self.deliveries.drain(..drop);
        }
        seq
    }

    pub fn delivery(&self, seq: u64) -> Option<&Delivery> {
        self.deliveries.iter().find(|d| d.seq == seq)
    }

    pub fn delivery_mut(&mut self, seq: u64) -> Option<&mut Delivery> {
        self.deliveries.iter_mut().find(|d| d.seq == seq)
    }

    pub fn products_json(&self) -> Value {
        Value::Array(self.products.iter().map(|p| json!({
            "id": p.id,
            "title": p.title,
            "variants": p.variants.iter().map(|v| json!({
                "id": v.id,
                "title": v.title,
                "price": money(v.price),
                "currency": v.currency,
                "checkout_url": format!("{}{}/{}", self.base_url, self.settings.checkout_path, v.id),
            })).collect::<Vec<_>>(),
        })).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State::new(Settings::default(), "http://fake".into())
    }

    #[test]
    fn invoice_status_history() {
        let mut s = state();
        let id = s.open_invoice("Bob@Example.com", 1001, 2001, 2900, "USD", 1000);
        let inv = s.invoices.get_mut(&id).unwrap();
        assert_eq!(inv.status(), "PENDING");
        inv.set_status("COMPLETED", 2000);
        inv.set_status("REFUNDED", 3000);
        let j = inv.to_json(4242);
        assert_eq!(j["status"]["status"]["status"], "REFUNDED");
        assert_eq!(j["status"]["history"].as_array().unwrap().len(), 3);
        assert_eq!(j["customer_information"]["email"], "Bob@Example.com");
        assert_eq!(j["payment"]["total"], "29.00");
        assert_eq!(j["product_variant_id"], 2001);
        // The same customer (by email, case-insensitively) keeps its id.
        let again = s.open_invoice("bob@example.com", 1001, 2002, 7900, "USD", 4000);
        assert_eq!(s.invoices[&again].customer_id, s.invoices[&id].customer_id);
        assert_ne!(again, id);
    }

    #[test]
    fn signing_modes() {
        let mut s = state();
        let body = br#"{"event":"order.completed","data":{"id":1},"store":1}"#.to_vec();
        let a = s.prepare(
            "order.completed",
            None,
            body.clone(),
            Signing::Signed,
            false,
            0,
        );
        let b = s.prepare(
            "order.completed",
            None,
            body.clone(),
            Signing::Stale,
            false,
            0,
        );
        let c = s.prepare(
            "order.completed",
            None,
            body.clone(),
            Signing::Forged,
            false,
            0,
        );
        let d = s.prepare(
            "order.completed",
            None,
            body.clone(),
            Signing::Unsigned,
            true,
            0,
        );
        let sig = |q| s.delivery(q).unwrap().signature.clone();
        assert_eq!(sig(a), Some(sign("fake-sellapp-webhook-secret", &body)));
        assert_eq!(sig(b), Some(sign("fake-sellapp-previous-secret", &body)));
        let forged = sig(c).unwrap();
        assert_eq!(forged.len(), 64);
        assert_ne!(Some(forged), sig(a));
        assert_eq!(sig(d), None);
        assert_eq!(s.delivery(d).unwrap().state, DeliveryState::Held);
    }

    #[test]
    fn envelopes_and_lookups() {
        let mut s = state();
        let id = s.open_invoice("a@b.c", 1001, 2002, 7900, "USD", 0);
        let full: Value =
            serde_json::from_slice(&s.envelope("order.created", id, Payload::Full).unwrap())
                .unwrap();
        assert_eq!(full["event"], "order.created");
        assert_eq!(full["store"], 4242);
        assert_eq!(full["data"]["status"]["status"]["status"], "PENDING");
        let bare: Value =
            serde_json::from_slice(&s.envelope("order.completed", id, Payload::IdOnly).unwrap())
                .unwrap();
        assert_eq!(bare["data"], json!({ "id": id }));
        assert!(s.envelope("order.created", 1, Payload::Full).is_none());
        assert_eq!(s.find(None, Some(2002)).unwrap().1.price, 7900);
        assert_eq!(s.find(Some(1002), None).unwrap().1.id, 2003);
        assert!(
            s.find(Some(1002), Some(2001)).is_none(),
            "variant of another product"
        );
        assert!(s.find(None, Some(9)).is_none());
        assert_eq!(
            (parse_money("29.9"), parse_money("0"), parse_money("-1")),
            (Some(2990), Some(0), None)
        );
        assert_eq!(money(5), "0.05");
    }
}
