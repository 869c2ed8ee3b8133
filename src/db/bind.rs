//! The one place a Rust value becomes a D1 parameter. Not `worker::D1Type`: its `Integer` is
//! an `i32`, and our times are Unix milliseconds; every number crosses as a JS double, which
//! holds them exactly (snowflakes never do: they are TEXT).

use wasm_bindgen::JsValue;

pub fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

pub fn n(v: i64) -> JsValue {
    JsValue::from_f64(v as f64)
}

pub fn b(v: bool) -> JsValue {
    JsValue::from_f64(if v { 1.0 } else { 0.0 })
}

pub fn opt(v: Option<&str>) -> JsValue {
    v.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

pub fn opt_n(v: Option<i64>) -> JsValue {
    v.map(n).unwrap_or(JsValue::NULL)
}
