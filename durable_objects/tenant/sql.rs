//! Binders for the object's SQLite storage: the one place a Rust value becomes a bound
//! parameter, so every table's owner writes values the same way.

use worker::SqlStorageValue;

pub fn sv(s: &str) -> SqlStorageValue {
    SqlStorageValue::String(s.to_string())
}

pub fn si(n: i64) -> SqlStorageValue {
    SqlStorageValue::Integer(n)
}

pub fn so(s: Option<&str>) -> SqlStorageValue {
    s.map(sv).unwrap_or(SqlStorageValue::Null)
}
