//! The runtime's clock, entropy and log sink, behind small functions so domain code receives
//! plain values (a time, some bytes) and stays testable without a runtime.

use serde_json::{Map, Value};

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The Web Crypto source cannot fail in workerd; a zeroed buffer would be caught by tests
    // (tokens would collide), so a panic here is the honest outcome.
    getrandom::fill(&mut buf).expect("crypto.getRandomValues");
    buf
}

pub fn new_correlation_id() -> String {
    relay_core::correlation::uuid_v4(random_bytes::<16>())
}

/// One JSON object per line, so logs can be filtered by any field (`correlation_id` above all).
pub fn log(level: &str, msg: &str, fields: Value) {
    let mut obj = Map::new();
    obj.insert("level".into(), Value::from(level));
    obj.insert("msg".into(), Value::from(msg));
    obj.insert("ts".into(), Value::from(now_ms()));
    if let Value::Object(extra) = fields {
        obj.extend(extra);
    }
    let line = Value::Object(obj).to_string();
    match level {
        "error" => worker::console_error!("{line}"),
        "warn" => worker::console_warn!("{line}"),
        _ => worker::console_log!("{line}"),
    }
}
