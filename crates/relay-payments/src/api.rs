//! Sell.app's v2 REST API as reconciliation reads it: the URLs to call and the answers to
//! parse. No HTTP here; the runtime does the fetch with `Authorization: Bearer <token>`.

use crate::envelope::{parse_invoice, Invoice};
use crate::ids::OrderId;
use serde_json::Value;

/// Where the API lives unless `SELLAPP_API_BASE` says otherwise (the fake in tests).
pub const DEFAULT_API_BASE: &str = "https://sell.app/api/v2";
/// Invoices per page asked for while reconciling.
pub const PAGE_SIZE: u32 = 50;

pub fn invoice_url(api_base: &str, id: &OrderId) -> String {
    format!("{}/invoices/{}", api_base.trim_end_matches('/'), id)
}

pub fn invoices_page_url(api_base: &str, page: u32) -> String {
    format!(
        "{}/invoices?page={}&limit={PAGE_SIZE}",
        api_base.trim_end_matches('/'),
        page.max(1)
    )
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {}", token.trim())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiReadError {
    NotJson,
    /// The answer has no `data` of the expected shape.
    Shape(&'static str),
}

/// `GET /invoices/{id}` → `{"data": invoice}`.
pub fn parse_invoice_response(body: &[u8]) -> Result<Invoice, ApiReadError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| ApiReadError::NotJson)?;
    let data = v.get("data").ok_or(ApiReadError::Shape("data missing"))?;
    parse_invoice(data).ok_or(ApiReadError::Shape("data.id missing"))
}

/// One page of `GET /invoices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoicePage {
    pub invoices: Vec<Invoice>,
    /// Entries of `data` without a usable id (counted for the operator, not guessed at).
    pub skipped: usize,
    /// The next page to read, `None` on the last one.
    pub next_page: Option<u32>,
}

/// Reads Laravel-style paging: `meta.current_page` / `meta.last_page`, else `links.next`.
pub fn parse_invoice_page(body: &[u8]) -> Result<InvoicePage, ApiReadError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| ApiReadError::NotJson)?;
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or(ApiReadError::Shape("data is not a list"))?;
    let invoices: Vec<Invoice> = data.iter().filter_map(parse_invoice).collect();
    let skipped = data.len() - invoices.len();
    let meta = |k: &str| v.get("meta").and_then(|m| m.get(k)).and_then(Value::as_u64);
    let next_page = match (meta("current_page"), meta("last_page")) {
        (Some(cur), Some(last)) if cur < last => u32::try_from(cur + 1).ok(),
        (Some(_), Some(_)) => None,
        _ => {
            let has_next = v
                .get("links")
                .and_then(|l| l.get("next"))
                .is_some_and(|n| n.is_string());
            let cur = meta("current_page").unwrap_or(1);
            has_next.then(|| u32::try_from(cur + 1).ok()).flatten()
        }
    };
    Ok(InvoicePage {
        invoices,
        skipped,
        next_page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::InvoiceStatus;
    use serde_json::json;

    #[test]
    fn urls() {
        let id = OrderId::new("50001").unwrap();
        assert_eq!(
            invoice_url("http://127.0.0.1:9/api/v2/", &id),
            "http://127.0.0.1:9/api/v2/invoices/50001"
        );
        assert_eq!(
            invoices_page_url(DEFAULT_API_BASE, 0),
            "https://sell.app/api/v2/invoices?page=1&limit=50"
        );
        assert_eq!(bearer(" t "), "Bearer t");
    }

    #[test]
    fn pages_and_single_invoices() {
        let page = json!({
            "data": [
                {"id": 2, "status": {"status": {"status": "REFUNDED"}}},
                {"id": 1, "status": {"status": {"status": "COMPLETED"}}},
                {"no_id": true}
            ],
            "links": {"next": "http://x/invoices?page=2"},
            "meta": {"current_page": 1, "last_page": 2, "per_page": 3, "total": 4}
        });
        let p = parse_invoice_page(page.to_string().as_bytes()).unwrap();
        assert_eq!(p.invoices.len(), 2);
        assert_eq!(p.skipped, 1);
        assert_eq!(p.invoices[0].status, Some(InvoiceStatus::Refunded));
        assert_eq!(p.next_page, Some(2));
        let last = json!({"data": [], "meta": {"current_page": 2, "last_page": 2}});
        assert_eq!(
            parse_invoice_page(last.to_string().as_bytes())
                .unwrap()
                .next_page,
            None
        );
        let links_only = json!({"data": [], "links": {"next": null}});
        assert_eq!(
            parse_invoice_page(links_only.to_string().as_bytes())
                .unwrap()
                .next_page,
            None
        );
        assert_eq!(parse_invoice_page(b"<html>"), Err(ApiReadError::NotJson));
        assert!(parse_invoice_page(b"{\"data\": {}}").is_err());
        let one = json!({"data": {"id": 7, "customer_information": {"email": "A@b.io"}}});
        let inv = parse_invoice_response(one.to_string().as_bytes()).unwrap();
        assert_eq!(inv.email.unwrap().as_str(), "a@b.io");
        assert_eq!(
            parse_invoice_response(b"{\"message\":\"Not found.\"}"),
            Err(ApiReadError::Shape("data missing"))
        );
    }
}
