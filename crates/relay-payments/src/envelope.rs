//! Sell.app's webhook envelope, `{"event": "...", "data": {...}, "store": <id>}`, and the
//! invoice inside it.
//!
//! Event names and invoice statuses are looked up in explicit tables: an exact (for statuses,
//! case-insensitive) match or `Unknown`, never a substring test — "INACTIVE" contains
//! "ACTIVE", and that mistake once granted access.
//!
//! Not confirmed (see the facts file): whether `data` holds the whole invoice or only its id.
//! Both parse: `data` as an object with `id` and whatever invoice fields it carries, or `data`
//! as a bare id. With only an id, [`Envelope::invoice`] is `None` and the runtime re-reads the
//! invoice from the API (when a token is configured) before deciding.

use crate::email::NormalizedEmail;
use crate::ids::{OrderId, ProductId, StoreId, VariantId};
use relay_core::encoding::hex;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;

/// What the envelope's `event` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum EventName {
    OrderCreated,
    OrderCompleted,
    OrderDisputed,
    /// Documented by Sell.app, deliberately not acted upon (products, feedback, tickets…).
    NotActedOn(String),
    Unknown(String),
}

/// Sell.app's documented events that carry no access decision.
const NOT_ACTED_ON: &[&str] = &[
    "cash_app.payment_requires_attention",
    "feedback.created",
    "product.created",
    "product.updated",
    "product.trashed",
    "variant.created",
    "variant.updated",
    "variant.sold_out",
    "ticket_message.created",
];

impl EventName {
    pub fn parse(raw: &str) -> EventName {
        match raw {
            "order.created" => EventName::OrderCreated,
            "order.completed" => EventName::OrderCompleted,
            "order.disputed" => EventName::OrderDisputed,
            other if NOT_ACTED_ON.contains(&other) => EventName::NotActedOn(other.to_string()),
            other => EventName::Unknown(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            EventName::OrderCreated => "order.created",
            EventName::OrderCompleted => "order.completed",
            EventName::OrderDisputed => "order.disputed",
            EventName::NotActedOn(s) | EventName::Unknown(s) => s,
        }
    }

    pub fn is_order_event(&self) -> bool {
        matches!(
            self,
            EventName::OrderCreated | EventName::OrderCompleted | EventName::OrderDisputed
        )
    }
}

/// An invoice's `status.status`, mapped explicitly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "raw")]
pub enum InvoiceStatus {
    /// Not (fully) paid yet: no access, and no revocation either.
    Pending,
    Completed,
    Refunded,
    Disputed,
    /// Voided or cancelled by the seller or the gateway.
    Cancelled,
    /// Anything else, kept verbatim: no change, recorded.
    Unknown(String),
}

impl InvoiceStatus {
    pub fn parse(raw: &str) -> InvoiceStatus {
        match raw.trim().to_ascii_uppercase().as_str() {
            "PENDING" | "AWAITING_CONFIRMATION" | "PARTIAL" | "PARTIALLY_COMPLETED" => {
                InvoiceStatus::Pending
            }
            "COMPLETED" => InvoiceStatus::Completed,
            "REFUNDED" => InvoiceStatus::Refunded,
            "DISPUTED" | "CHARGEBACK" => InvoiceStatus::Disputed,
            "VOIDED" | "CANCELLED" | "CANCELED" => InvoiceStatus::Cancelled,
            _ => InvoiceStatus::Unknown(raw.trim().to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            InvoiceStatus::Pending => "pending",
            InvoiceStatus::Completed => "completed",
            InvoiceStatus::Refunded => "refunded",
            InvoiceStatus::Disputed => "disputed",
            InvoiceStatus::Cancelled => "cancelled",
            InvoiceStatus::Unknown(s) => s,
        }
    }

    /// Statuses that take access away. Everything else (pending, unknown) leaves it alone: a
    /// failed renewal or an odd state is not a reason to cut a paying customer off.
    pub fn revokes(&self) -> bool {
        matches!(
            self,
            InvoiceStatus::Refunded | InvoiceStatus::Disputed | InvoiceStatus::Cancelled
        )
    }
}

/// An amount in minor units (cents) with its currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Money {
    pub minor: i64,
    pub currency: String,
}

/// What we read from an invoice. Every field but `id` is optional: the webhook may carry a
/// partial invoice, and the runtime re-reads the full one when it can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invoice {
    pub id: OrderId,
    /// `customer_information.email`, normalised; `None` when absent or not an address.
    pub email: Option<NormalizedEmail>,
    /// `customer_information.id`: Sell.app's customer, kept for the operator.
    pub sellapp_customer_id: Option<String>,
    pub status: Option<InvoiceStatus>,
    pub product_id: Option<ProductId>,
    pub variant_id: Option<VariantId>,
    /// More than one distinct product/variant line (a cart): we do not guess which to grant.
    pub multiple_lines: bool,
    pub total: Option<Money>,
    /// `store_id`: which Sell.app store sold it (reconciliation reads one API for every store
    /// its token sees, and keeps each tenant to its own).
    pub store_id: Option<StoreId>,
    /// `created_at` in Unix ms: how far back reconciliation pages.
    pub created_at: Option<i64>,
}

/// Paths read, in order of preference (all unconfirmed for the webhook; the REST invoice has
/// `customer_information` and `status`):
/// - email: `customer_information.email`, then `email`
/// - status: `status.status.status`, `status.status` (a string), `status` (a string)
/// - product/variant: `product_variant_id` | `variant_id` | `variant.id`, `product_id` |
///   `product.id`, then the entries of `deliverables` / `products` / `items`
/// - total: `payment.total`, `total`, `payment.full_price.total` — a decimal string or number
///   in major units; currency from `payment.currency`, `currency`, default `USD`.
pub fn parse_invoice(data: &Value) -> Option<Invoice> {
    let id = OrderId::from_json(data.get("id")?)?;
    let email = str_at(data, &["customer_information", "email"])
        .or_else(|| str_at(data, &["email"]))
        .and_then(NormalizedEmail::parse);
    let sellapp_customer_id = data
        .get("customer_information")
        .and_then(|c| c.get("id"))
        .and_then(|v| OrderId::from_json(v).map(|i| i.as_str().to_string()));
    let status = str_at(data, &["status", "status", "status"])
        .or_else(|| str_at(data, &["status", "status"]))
        .or_else(|| str_at(data, &["status"]))
        .map(InvoiceStatus::parse);
    let (product_id, variant_id, multiple_lines) = lines(data);
    let total = money(data);
    let store_id = data.get("store_id").and_then(StoreId::from_json);
    let created_at = str_at(data, &["created_at"])
        .and_then(relay_core::time::Timestamp::parse)
        .map(|t| t.ms());
    Some(Invoice {
        id,
        email,
        sellapp_customer_id,
        status,
        product_id,
        variant_id,
        multiple_lines,
        total,
        store_id,
        created_at,
    })
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_str()
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    Some(cur)
}

fn line_of(v: &Value) -> (Option<ProductId>, Option<VariantId>) {
    let variant = at(v, &["product_variant_id"])
        .or_else(|| at(v, &["variant_id"]))
        .or_else(|| at(v, &["variant", "id"]))
        .and_then(VariantId::from_json);
    let product = at(v, &["product_id"])
        .or_else(|| at(v, &["product", "id"]))
        .and_then(ProductId::from_json);
    (product, variant)
}

fn lines(data: &Value) -> (Option<ProductId>, Option<VariantId>, bool) {
    let (p, v) = line_of(data);
    if p.is_some() || v.is_some() {
        return (p, v, false);
    }
    for key in ["deliverables", "products", "items"] {
        if let Some(arr) = data.get(key).and_then(Value::as_array) {
            let mut found: Vec<(Option<ProductId>, Option<VariantId>)> = Vec::new();
            for item in arr {
                let l = line_of(item);
                if (l.0.is_some() || l.1.is_some()) && !found.contains(&l) {
                    found.push(l);
                }
            }
            match found.len() {
                0 => continue,
                1 => {
                    let (p, v) = found.pop().unwrap_or((None, None));
                    return (p, v, false);
                }
                _ => return (None, None, true),
            }
        }
    }
    (None, None, false)
}

fn money(data: &Value) -> Option<Money> {
    let amount = at(data, &["payment", "total"])
        .or_else(|| at(data, &["total"]))
        .or_else(|| at(data, &["payment", "full_price", "total"]))?;
    let minor = match amount {
        Value::String(s) => parse_decimal_minor(s)?,
        Value::Number(n) => parse_decimal_minor(&n.to_string())?,
        _ => return None,
    };
    let currency = str_at(data, &["payment", "currency"])
        .or_else(|| str_at(data, &["currency"]))
        .unwrap_or("USD")
        .trim()
        .to_ascii_uppercase();
    Some(Money { minor, currency })
}

/// "29.90" → 2990, "0" → 0, "5" → 500; at most two decimals, no sign, no exponent. Exact
/// (no float), so a zero-total trial is recognised by an integer compare.
pub fn parse_decimal_minor(s: &str) -> Option<i64> {
    let s = s.trim();
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() || whole.len() > 12 || frac.len() > 2 {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let w: i64 = whole.parse().ok()?;
    let f: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    Some(w * 100 + f)
}

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope {
    pub event: EventName,
    pub store: StoreId,
    /// `data.id` (or `data` itself when it is a bare id): the order for order events.
    pub subject_id: OrderId,
    /// `None` when `data` carried only the id.
    pub invoice: Option<Invoice>,
}

impl Envelope {
    pub fn key(&self) -> EventKey {
        EventKey::new(self.event.as_str(), &self.store, &self.subject_id)
    }
}

/// Why a (well-signed) body is not an envelope we understand. Recorded as `ignored`, never a
/// client error: the sender proved it holds the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum EnvelopeError {
    NotJson,
    NotAnObject,
    MissingEvent,
    MissingStore,
    MissingDataId,
}

impl EnvelopeError {
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::NotJson => "body_not_json",
            EnvelopeError::NotAnObject => "body_not_an_object",
            EnvelopeError::MissingEvent => "event_missing",
            EnvelopeError::MissingStore => "store_missing",
            EnvelopeError::MissingDataId => "data_id_missing",
        }
    }
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

pub fn parse_envelope(body: &[u8]) -> Result<Envelope, EnvelopeError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| EnvelopeError::NotJson)?;
    let obj = v.as_object().ok_or(EnvelopeError::NotAnObject)?;
    let event = obj
        .get("event")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 100)
        .ok_or(EnvelopeError::MissingEvent)?;
    let store = obj
        .get("store")
        .and_then(StoreId::from_json)
        .ok_or(EnvelopeError::MissingStore)?;
    let data = obj.get("data").ok_or(EnvelopeError::MissingDataId)?;
    let (subject_id, invoice) = match data {
        Value::Object(m) => {
            let id = m
                .get("id")
                .and_then(OrderId::from_json)
                .ok_or(EnvelopeError::MissingDataId)?;
            // An object holding nothing but its id is the "only the id" case too.
            let invoice = if m.len() > 1 {
                parse_invoice(data)
            } else {
                None
            };
            (id, invoice)
        }
        other => (
            OrderId::from_json(other).ok_or(EnvelopeError::MissingDataId)?,
            None,
        ),
    };
    Ok(Envelope {
        event: EventName::parse(event),
        store,
        subject_id,
        invoice,
    })
}

/// What identifies one Sell.app event (Sell.app sends no delivery id): event name + store +
/// the order id. `order.created` and `order.completed` of one order are two keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EventKey(String);

impl EventKey {
    pub fn new(event: &str, store: &StoreId, subject: &OrderId) -> EventKey {
        EventKey(format!("{event}|store:{store}|id:{subject}"))
    }

    /// The key of a status seen by reconciliation: recorded (and deduped) like a webhook, so
    /// a status change is decided once and shows in the event log, and re-reading an unchanged
    /// invoice on every run adds nothing.
    pub fn reconciliation(store: &StoreId, order: &OrderId, status: &InvoiceStatus) -> EventKey {
        EventKey(format!(
            "reconcile:{}|store:{store}|id:{order}",
            status.as_str().to_ascii_lowercase()
        ))
    }

    /// The key of a well-signed body that is not an envelope: its SHA-256, so a redelivery of
    /// the same bytes is still a duplicate.
    pub fn unparsed(body: &[u8]) -> EventKey {
        EventKey(format!("unparsed|sha256:{}", hex(&Sha256::digest(body))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(v: Value) -> Result<Envelope, EnvelopeError> {
        parse_envelope(v.to_string().as_bytes())
    }

    #[test]
    fn created_and_completed_of_one_order_are_two_events() {
        let a = env(json!({"event": "order.created", "data": {"id": 42}, "store": 7})).unwrap();
        let b = env(json!({"event": "order.completed", "data": {"id": 42}, "store": 7})).unwrap();
        let c = env(json!({"event": "order.completed", "data": {"id": 42}, "store": 8})).unwrap();
        assert_ne!(a.key(), b.key());
        assert_ne!(b.key(), c.key(), "the store is part of the key");
        let b2 = env(json!({"event": "order.completed", "data": 42, "store": "7"})).unwrap();
        assert_eq!(b.key(), b2.key(), "numeric and string ids are the same id");
        assert_eq!(b.key().as_str(), "order.completed|store:7|id:42");
    }

    #[test]
    fn data_may_be_the_full_invoice_or_only_its_id() {
        let full = env(json!({
            "event": "order.completed",
            "store": 7,
            "data": {
                "id": 42,
                "customer_information": {"id": 9, "email": " Bob@Example.com "},
                "status": {"status": {"status": "COMPLETED"}, "history": []},
                "product_variant_id": 2001,
                "product_id": 1001,
                "payment": {"total": "29.90", "currency": "eur"}
            }
        }))
        .unwrap();
        let inv = full.invoice.unwrap();
        assert_eq!(inv.email.unwrap().as_str(), "bob@example.com");
        assert_eq!(inv.status, Some(InvoiceStatus::Completed));
        assert_eq!(inv.variant_id.unwrap().as_str(), "2001");
        assert_eq!(inv.product_id.unwrap().as_str(), "1001");
        assert_eq!(
            inv.total,
            Some(Money {
                minor: 2990,
                currency: "EUR".into()
            })
        );
        assert_eq!(inv.sellapp_customer_id.as_deref(), Some("9"));

        for data in [json!(42), json!("42"), json!({"id": 42})] {
            let e = env(json!({"event": "order.completed", "store": 7, "data": data})).unwrap();
            assert_eq!(e.subject_id.as_str(), "42");
            assert!(e.invoice.is_none());
        }
    }

    #[test]
    fn status_shapes_and_lines() {
        let i = parse_invoice(&json!({"id": 1, "status": "refunded"})).unwrap();
        assert_eq!(i.status, Some(InvoiceStatus::Refunded));
        let i = parse_invoice(&json!({"id": 1, "status": {"status": "DISPUTED"}})).unwrap();
        assert_eq!(i.status, Some(InvoiceStatus::Disputed));
        let i = parse_invoice(&json!({"id": 1, "deliverables": [
            {"product_id": 5, "product_variant_id": 6}, {"product_id": 5, "product_variant_id": 6}
        ]}))
        .unwrap();
        assert_eq!(i.variant_id.unwrap().as_str(), "6");
        assert!(!i.multiple_lines);
        let i = parse_invoice(&json!({"id": 1, "products": [
            {"product_id": 5, "variant_id": 6}, {"product_id": 5, "variant_id": 7}
        ]}))
        .unwrap();
        assert!(i.multiple_lines && i.variant_id.is_none());
    }

    #[test]
    fn statuses_are_an_explicit_table() {
        assert_eq!(InvoiceStatus::parse("completed"), InvoiceStatus::Completed);
        assert_eq!(InvoiceStatus::parse(" VOIDED "), InvoiceStatus::Cancelled);
        // The predecessor's bug: substring matching.
        for s in [
            "INACTIVE",
            "ACTIVE",
            "NOT_COMPLETED",
            "COMPLETED_PENDING",
            "REFUND_FAILED",
            "",
        ] {
            assert!(
                matches!(InvoiceStatus::parse(s), InvoiceStatus::Unknown(_)),
                "{s}"
            );
            assert!(!InvoiceStatus::parse(s).revokes(), "{s}");
        }
        assert!(!InvoiceStatus::Pending.revokes());
    }

    #[test]
    fn event_names_are_an_explicit_table() {
        assert_eq!(
            EventName::parse("order.completed"),
            EventName::OrderCompleted
        );
        assert!(matches!(
            EventName::parse("product.updated"),
            EventName::NotActedOn(_)
        ));
        for s in [
            "order.completed.v2",
            "Order.Completed",
            "order.paid",
            "subscription.renewed",
            "order.disputed_closed",
        ] {
            assert!(matches!(EventName::parse(s), EventName::Unknown(_)), "{s}");
        }
    }

    #[test]
    fn malformed_envelopes_are_named() {
        assert_eq!(parse_envelope(b"nope"), Err(EnvelopeError::NotJson));
        assert_eq!(env(json!([1])), Err(EnvelopeError::NotAnObject));
        assert_eq!(
            env(json!({"data": {"id": 1}, "store": 1})),
            Err(EnvelopeError::MissingEvent)
        );
        assert_eq!(
            env(json!({"event": "order.created", "data": {"id": 1}})),
            Err(EnvelopeError::MissingStore)
        );
        assert_eq!(
            env(json!({"event": "order.created", "data": {}, "store": 1})),
            Err(EnvelopeError::MissingDataId)
        );
        assert_eq!(EventKey::unparsed(b"x"), EventKey::unparsed(b"x"));
        let (st, o) = (StoreId::new("7").unwrap(), OrderId::new("42").unwrap());
        let refunded = EventKey::reconciliation(&st, &o, &InvoiceStatus::Refunded);
        assert_eq!(refunded.as_str(), "reconcile:refunded|store:7|id:42");
        assert_ne!(
            refunded,
            EventKey::reconciliation(&st, &o, &InvoiceStatus::Disputed)
        );
        assert_ne!(
            EventKey::reconciliation(&st, &o, &InvoiceStatus::parse("WEIRD")),
            EventKey::reconciliation(&st, &o, &InvoiceStatus::parse("ODD"))
        );
        assert_ne!(EventKey::unparsed(b"x"), EventKey::unparsed(b"y"));
    }

    #[test]
    fn decimal_amounts_are_exact() {
        assert_eq!(parse_decimal_minor("0"), Some(0));
        assert_eq!(parse_decimal_minor("0.00"), Some(0));
        assert_eq!(parse_decimal_minor("29.9"), Some(2990));
        assert_eq!(parse_decimal_minor("1234.56"), Some(123456));
        for bad in ["", "-1", "1e3", "1.234", ".5", "abc", "1,00"] {
            assert_eq!(parse_decimal_minor(bad), None, "{bad}");
        }
    }
}
