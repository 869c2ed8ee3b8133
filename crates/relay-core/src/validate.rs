//! A small field walker over `serde_json::Value` that collects every problem with its path.
//!
//! serde's derive stops at the first error and names fields poorly; a connector operator needs
//! the whole list (`messages[3].created_at: must be an ISO-8601 timestamp`) to fix a plugin in
//! one round trip. Each accessor records a problem and returns `None`, so callers keep walking.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

use crate::ids::Snowflake;
use crate::time::Timestamp;

/// Stop collecting after this many problems: a garbage body should not produce a huge response.
pub const MAX_FIELD_ERRORS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

#[derive(Debug, Default)]
pub struct Problems {
    errors: Vec<FieldError>,
    truncated: bool,
}

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        if self.errors.len() < MAX_FIELD_ERRORS {
            self.errors.push(FieldError::new(field, problem));
        } else {
            self.truncated = true;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.errors
    }

    pub fn into_result<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}

pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Describes a JSON value's type for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Walks one JSON object, recording problems under `path`.
pub struct Obj<'a, 'p> {
    pub map: &'a Map<String, Value>,
    pub path: String,
    pub problems: &'p mut Problems,
}

impl<'a, 'p> Obj<'a, 'p> {
    /// Treats `value` as an object; records a problem (and returns `None`) when it is not.
    pub fn new(value: &'a Value, path: &str, problems: &'p mut Problems) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Obj {
                map,
                path: path.to_string(),
                problems,
            }),
            other => {
                let field = if path.is_empty() { "$" } else { path };
                problems.push(
                    field,
                    format!("must be an object, got {}", type_name(other)),
                );
                None
            }
        }
    }

    fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub fn problem(&mut self, key: &str, problem: impl Into<String>) {
        let field = self.field(key);
        self.problems.push(field, problem);
    }

    /// The raw value, treating JSON `null` as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn required_str(&mut self, key: &str, max_len: usize) -> Option<&'a str> {
        match self.get(key) {
            None => {
                self.problem(key, "is required");
                None
            }
            Some(v) => self.check_str(key, v, max_len, false),
        }
    }

    /// A required string that must not be empty or only whitespace.
    pub fn required_nonempty(&mut self, key: &str, max_len: usize) -> Option<&'a str> {
        match self.get(key) {
            None => {
                self.problem(key, "is required");
                None
            }
            Some(v) => self.check_str(key, v, max_len, true),
        }
    }

    pub fn optional_str(&mut self, key: &str, max_len: usize) -> Option<&'a str> {
        let v = self.get(key)?;
        self.check_str(key, v, max_len, false)
    }

    fn check_str(
        &mut self,
        key: &str,
        v: &'a Value,
        max_len: usize,
        nonempty: bool,
    ) -> Option<&'a str> {
        match v {
            Value::String(s) => {
                if nonempty && s.trim().is_empty() {
                    self.problem(key, "must not be empty");
                    None
                } else if s.chars().count() > max_len {
                    self.problem(key, format!("must be at most {max_len} characters"));
                    None
                } else {
                    Some(s.as_str())
                }
            }
            other => {
                self.problem(key, format!("must be a string, got {}", type_name(other)));
                None
            }
        }
    }

    pub fn required_snowflake<M>(&mut self, key: &str) -> Option<Snowflake<M>> {
        match self.get(key) {
            None => {
                self.problem(key, "is required");
                None
            }
            Some(v) => self.check_snowflake(key, v),
        }
    }

    pub fn optional_snowflake<M>(&mut self, key: &str) -> Option<Snowflake<M>> {
        let v = self.get(key)?;
        self.check_snowflake(key, v)
    }

    fn check_snowflake<M>(&mut self, key: &str, v: &Value) -> Option<Snowflake<M>> {
        match v {
            Value::String(s) => match Snowflake::parse(s) {
                Ok(id) => Some(id),
                Err(problem) => {
                    self.problem(key, problem);
                    None
                }
            },
            Value::Number(_) => {
                // Snowflakes exceed 2^53: a JSON number may already have lost digits.
                self.problem(
                    key,
                    "must be a decimal string (Discord ids do not fit a JSON number)",
                );
                None
            }
            other => {
                self.problem(
                    key,
                    format!("must be a decimal string, got {}", type_name(other)),
                );
                None
            }
        }
    }

    pub fn required_timestamp(&mut self, key: &str) -> Option<Timestamp> {
        match self.get(key) {
            None => {
                self.problem(key, "is required");
                None
            }
            Some(v) => self.check_timestamp(key, v),
        }
    }

    pub fn optional_timestamp(&mut self, key: &str) -> Option<Timestamp> {
        let v = self.get(key)?;
        self.check_timestamp(key, v)
    }

    fn check_timestamp(&mut self, key: &str, v: &Value) -> Option<Timestamp> {
        match v {
            Value::String(s) => match Timestamp::parse(s) {
                Some(t) => Some(t),
                None => {
                    self.problem(
                        key,
                        "must be an ISO-8601 timestamp with a UTC offset, e.g. 2025-01-31T12:00:00.000Z",
                    );
                    None
                }
            },
            other => {
                self.problem(
                    key,
                    format!("must be an ISO-8601 string, got {}", type_name(other)),
                );
                None
            }
        }
    }

    pub fn optional_bool(&mut self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.problem(key, format!("must be a boolean, got {}", type_name(other)));
                None
            }
        }
    }

    /// An optional integer within `[min, max]`.
    pub fn optional_int(&mut self, key: &str, min: i64, max: i64) -> Option<i64> {
        let v = self.get(key)?;
        match v.as_i64() {
            Some(n) if n >= min && n <= max => Some(n),
            Some(_) => {
                self.problem(key, format!("must be between {min} and {max}"));
                None
            }
            None => {
                let got = if v.is_number() {
                    "a non-integer number"
                } else {
                    type_name(v)
                };
                self.problem(key, format!("must be an integer, got {got}"));
                None
            }
        }
    }

    pub fn required_int(&mut self, key: &str, min: i64, max: i64) -> Option<i64> {
        if !self.has(key) {
            self.problem(key, "is required");
            return None;
        }
        self.optional_int(key, min, max)
    }

    /// An optional array; `Some(items)` when present and an array, with a length bound.
    pub fn optional_array(&mut self, key: &str, max_items: usize) -> Option<&'a Vec<Value>> {
        match self.get(key)? {
            Value::Array(items) => {
                if items.len() > max_items {
                    self.problem(key, format!("must have at most {max_items} items"));
                    None
                } else {
                    Some(items)
                }
            }
            other => {
                self.problem(key, format!("must be an array, got {}", type_name(other)));
                None
            }
        }
    }

    pub fn required_array(&mut self, key: &str, max_items: usize) -> Option<&'a Vec<Value>> {
        if !self.has(key) {
            self.problem(key, "is required");
            return None;
        }
        self.optional_array(key, max_items)
    }

    /// An optional array of snowflake strings.
    pub fn optional_snowflakes<M>(
        &mut self,
        key: &str,
        max_items: usize,
    ) -> Option<Vec<Snowflake<M>>> {
        let items = self.optional_array(key, max_items)?;
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let field = index(&self.field(key), i);
            match item {
                Value::String(s) => match Snowflake::parse(s) {
                    Ok(id) => out.push(id),
                    Err(problem) => {
                        self.problems.push(field, problem);
                        ok = false;
                    }
                },
                other => {
                    self.problems.push(
                        field,
                        format!("must be a decimal string, got {}", type_name(other)),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// A required string that must equal one of `allowed`.
    pub fn required_enum(&mut self, key: &str, allowed: &[&'static str]) -> Option<&'static str> {
        let s = self.required_str(key, 64)?;
        match allowed.iter().find(|a| **a == s) {
            Some(a) => Some(a),
            None => {
                self.problem(key, format!("must be one of {}", allowed.join(", ")));
                None
            }
        }
    }

    pub fn optional_enum(&mut self, key: &str, allowed: &[&'static str]) -> Option<&'static str> {
        let s = self.optional_str(key, 64)?;
        match allowed.iter().find(|a| **a == s) {
            Some(a) => Some(a),
            None => {
                self.problem(key, format!("must be one of {}", allowed.join(", ")));
                None
            }
        }
    }

    /// A nested object; records a problem and returns `None` when it is not one.
    pub fn child<'q>(&'q mut self, key: &str) -> Option<Obj<'a, 'q>> {
        let v = self.get(key)?;
        let path = self.field(key);
        Obj::new(v, &path, self.problems)
    }

    /// Any JSON object, kept as is (filters/transforms, raw embeds).
    pub fn optional_object(&mut self, key: &str) -> Option<&'a Map<String, Value>> {
        match self.get(key)? {
            Value::Object(m) => Some(m),
            other => {
                self.problem(key, format!("must be an object, got {}", type_name(other)));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_problem_with_paths() {
        let v = json!({"a": 5, "b": "x", "n": "1.5", "s": 12});
        let mut p = Problems::new();
        {
            let mut o = Obj::new(&v, "root", &mut p).unwrap();
            assert!(o.required_str("a", 10).is_none());
            assert!(o.required_str("missing", 10).is_none());
            assert_eq!(o.required_str("b", 10), Some("x"));
            assert!(o.required_snowflake::<crate::ids::AnyMarker>("s").is_none());
            assert!(o.optional_int("n", 0, 10).is_none());
        }
        let errs = p.into_vec();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["root.a", "root.missing", "root.s", "root.n"]);
        assert!(errs[2].problem.contains("decimal string"));
    }

    #[test]
    fn null_counts_as_absent() {
        let v = json!({"x": null});
        let mut p = Problems::new();
        let mut o = Obj::new(&v, "", &mut p).unwrap();
        assert!(o.optional_str("x", 5).is_none());
        assert!(!o.has("x"));
        assert!(p.is_empty());
    }

    #[test]
    fn non_object_root_is_reported() {
        let v = json!([1, 2]);
        let mut p = Problems::new();
        assert!(Obj::new(&v, "", &mut p).is_none());
        assert_eq!(p.into_vec()[0].field, "$");
    }

    #[test]
    fn problem_count_is_bounded() {
        let mut p = Problems::new();
        for i in 0..(MAX_FIELD_ERRORS + 10) {
            p.push(format!("f{i}"), "bad");
        }
        assert_eq!(p.into_vec().len(), MAX_FIELD_ERRORS);
    }
}
