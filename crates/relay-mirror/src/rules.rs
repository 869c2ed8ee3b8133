//! Per-mapping rules: `filters_json` and `transform_json`.
//!
//! Both are parsed into typed structs with every problem named by its path
//! (`transform_json.replacements[2].pattern`), so the admin API can refuse a bad rule whole
//! before anything is written, and [`Filters::to_json`] / [`Transform::to_json`] give the one
//! normalised form that is stored (defaults omitted, keywords lower-cased and de-duplicated,
//! domains reduced to their host, colours as integers). Parsing the normalised form again gives
//! the same rules.
//!
//! Regular expressions come from the `regex` crate: matching is linear in the text, and each
//! pattern is bounded in length and in compiled size, so no rule can make mirroring slow.

use regex::{Regex, RegexBuilder};
use relay_core::ids::{RoleId, UserId};
use relay_core::validate::{index, join, type_name, FieldError, Obj, Problems};
use serde_json::{json, Map, Value};

pub const MAX_KEYWORDS: usize = 100;
pub const MAX_KEYWORD_CHARS: usize = 100;
pub const MAX_DOMAINS: usize = 100;
pub const MAX_IGNORED_AUTHORS: usize = 500;
pub const MAX_REPLACEMENTS: usize = 20;
pub const MAX_PATTERN_CHARS: usize = 256;
pub const MAX_REPLACEMENT_CHARS: usize = 512;
pub const MAX_FOOTER_CHARS: usize = 200;
pub const MAX_CARD_TITLE_CHARS: usize = 256;
/// Compiled-program bound for one replacement pattern (the `regex` crate's `size_limit`).
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Lazy-DFA cache bound per pattern.
pub const REGEX_DFA_SIZE_LIMIT: usize = 1024 * 1024;
pub const REGEX_NEST_LIMIT: u32 = 32;
/// Keyword lists compile to one alternation each; Unicode case folding makes them larger.
const KEYWORD_REGEX_SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// What a blocked match does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FilterMode {
    /// Drop the whole message (recorded as skipped, with the rule).
    #[default]
    Skip,
    /// Cut the matched words and links out and mirror the rest.
    Remove,
}

impl FilterMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FilterMode::Skip => "skip",
            FilterMode::Remove => "remove",
        }
    }
}

/// `filters_json`, parsed. Matching is case-insensitive and on word boundaries; a domain
/// matches itself and every subdomain.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// When not empty, a message must contain at least one of these, or it is skipped.
    pub allowed_keywords: Vec<String>,
    pub blocked_keywords: Vec<String>,
    /// When not empty, every link (`http(s)://`) must point into one of these domains; other
    /// links count as blocked.
    pub allowed_domains: Vec<String>,
    /// Links and bare host names in these domains are blocked.
    pub blocked_domains: Vec<String>,
    pub ignored_author_ids: Vec<UserId>,
    pub mode: FilterMode,
    pub(crate) allowed_re: Option<Regex>,
    pub(crate) blocked_re: Option<Regex>,
}

impl PartialEq for Filters {
    fn eq(&self, o: &Self) -> bool {
        self.allowed_keywords == o.allowed_keywords
            && self.blocked_keywords == o.blocked_keywords
            && self.allowed_domains == o.allowed_domains
            && self.blocked_domains == o.blocked_domains
            && self.ignored_author_ids == o.ignored_author_ids
            && self.mode == o.mode
    }
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }

    /// The normalised, stored form (defaults omitted: no rules is `{}`).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut list = |k: &str, v: &[String]| {
            if !v.is_empty() {
                m.insert(k.into(), json!(v));
            }
        };
        list("allowed_keywords", &self.allowed_keywords);
        list("blocked_keywords", &self.blocked_keywords);
        list("allowed_domains", &self.allowed_domains);
        list("blocked_domains", &self.blocked_domains);
        if !self.ignored_author_ids.is_empty() {
            m.insert("ignored_author_ids".into(), json!(self.ignored_author_ids));
        }
        if self.mode != FilterMode::default() {
            m.insert("mode".into(), json!(self.mode.as_str()));
        }
        m
    }
}

/// One text replacement, applied in order to the text and to embed text.
#[derive(Debug, Clone)]
pub struct Replacement {
    pub pattern: String,
    pub replacement: String,
    /// `pattern` is a regular expression (and `replacement` may use `$1`, `${name}`).
    pub regex: bool,
    pub ignore_case: bool,
    pub(crate) compiled: Regex,
}

impl PartialEq for Replacement {
    fn eq(&self, o: &Self) -> bool {
        self.pattern == o.pattern
            && self.replacement == o.replacement
            && self.regex == o.regex
            && self.ignore_case == o.ignore_case
    }
}

/// The branded card of the `embed` style.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CardStyle {
    pub title: Option<String>,
    /// 0xRRGGBB.
    pub color: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Style {
    /// Posted through the target channel's webhook under the analyst's name and avatar.
    #[default]
    Webhook,
    /// Posted by the bot as a card.
    Embed(CardStyle),
}

/// `transform_json`, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transform {
    pub replacements: Vec<Replacement>,
    /// Mentioned, and allowed to ping, on the first post of each message only.
    pub role_ping_id: Option<RoleId>,
    pub style: Style,
    /// A line under the text (webhook style) or the card's footer (embed style).
    pub footer: Option<String>,
}

impl Transform {
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if !self.replacements.is_empty() {
            let list: Vec<Value> = self
                .replacements
                .iter()
                .map(|r| {
                    let mut o = Map::new();
                    o.insert("pattern".into(), json!(r.pattern));
                    o.insert("replacement".into(), json!(r.replacement));
                    if r.regex {
                        o.insert("regex".into(), json!(true));
                    }
                    if r.ignore_case {
                        o.insert("ignore_case".into(), json!(true));
                    }
                    Value::Object(o)
                })
                .collect();
            m.insert("replacements".into(), Value::Array(list));
        }
        if let Some(r) = &self.role_ping_id {
            m.insert("role_ping_id".into(), json!(r));
        }
        if let Style::Embed(card) = &self.style {
            m.insert("style".into(), json!("embed"));
            let mut e = Map::new();
            if let Some(t) = &card.title {
                e.insert("title".into(), json!(t));
            }
            if let Some(c) = card.color {
                e.insert("color".into(), json!(c));
            }
            if !e.is_empty() {
                m.insert("embed".into(), Value::Object(e));
            }
        }
        if let Some(f) = &self.footer {
            m.insert("footer".into(), json!(f));
        }
        m
    }
}

/// Both rule sets of one mapping, ready to apply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappingRules {
    pub filters: Filters,
    pub transform: Transform,
}

impl MappingRules {
    /// Rules as stored in `connector_mappings`. Rows written before validation existed may be
    /// invalid: the caller must not mirror through them (the error names the field).
    pub fn from_stored(filters: &Value, transform: &Value) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::new();
        let f = parse_filters(filters, "filters_json", &mut p);
        let t = parse_transform(transform, "transform_json", &mut p);
        match (f, t) {
            (Some(filters), Some(transform)) if p.is_empty() => {
                Ok(MappingRules { filters, transform })
            }
            _ => Err(p.into_vec()),
        }
    }
}

fn check_keys(o: &mut Obj<'_, '_>, allowed: &[&str]) {
    let unknown: Vec<String> = o
        .map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in unknown {
        o.problem(
            &k,
            format!("unknown field; expected one of {}", allowed.join(", ")),
        );
    }
}

/// A list of non-empty strings, each at most `max_chars`.
fn strings(o: &mut Obj<'_, '_>, key: &str, max_items: usize, max_chars: usize) -> Vec<String> {
    let Some(items) = o.optional_array(key, max_items) else {
        return Vec::new();
    };
    let base = join(&o.path, key);
    let mut out = Vec::new();
    for (i, v) in items.iter().enumerate() {
        let field = index(&base, i);
        match v {
            Value::String(s) if s.trim().is_empty() => o.problems.push(field, "must not be empty"),
            Value::String(s) if s.chars().count() > max_chars => o
                .problems
                .push(field, format!("must be at most {max_chars} characters")),
            Value::String(s) => out.push(s.clone()),
            other => o
                .problems
                .push(field, format!("must be a string, got {}", type_name(other))),
        }
    }
    out
}

fn normalise_keyword(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    for s in v {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Reduces `https://Sub.Example.com/path`, `*.example.com` or `example.com.` to
/// `sub.example.com` / `example.com`; refuses anything that is not a host name.
pub fn normalise_domain(raw: &str) -> Result<String, &'static str> {
    let mut s = raw.trim().to_ascii_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = s.strip_prefix(scheme) {
            s = rest.to_string();
        }
    }
    if let Some(cut) = s.find(['/', '?', '#']) {
        s.truncate(cut);
    }
    let s = s.trim_start_matches("*.").trim_end_matches('.');
    if !s.is_ascii() {
        return Err("must be an ASCII host name (use the punycode form, xn--…)");
    }
    if s.len() > 253 {
        return Err("must be at most 253 characters");
    }
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 {
        return Err("must be a domain such as example.com");
    }
    for l in &labels {
        let ok = !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-');
        if !ok {
            return Err("must be a domain such as example.com (letters, digits, '-' and dots)");
        }
    }
    Ok(s.to_string())
}

/// One case-insensitive alternation over keywords, with any run of whitespace inside a
/// keyword matching any whitespace. Word boundaries are checked by [`keyword_matches`] rather
/// than with `\b`: a Unicode `\b` keeps the regex engine off its fast DFA on non-ASCII text.
pub(crate) fn keyword_regex(keywords: &[String]) -> Result<Option<Regex>, regex::Error> {
    if keywords.is_empty() {
        return Ok(None);
    }
    let alts: Vec<String> = keywords
        .iter()
        .map(|k| {
            k.split(' ')
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"\s+")
        })
        .collect();
    RegexBuilder::new(&format!("(?:{})", alts.join("|")))
        .case_insensitive(true)
        .size_limit(KEYWORD_REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map(Some)
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Keyword matches in `text` that stand on word boundaries: where a match starts (ends) with
/// a word character, the character before (after) it must not be one. A keyword such as
/// `$btc` or `🚀` has no boundary to respect on its symbol side. After a match that fails the
/// check, the search resumes one character later, so an overlapping match is not missed.
pub(crate) fn keyword_matches(re: &Regex, text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at <= text.len() {
        let Some(m) = re.find_at(text, at) else { break };
        let s = &text[m.range()];
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        let ok_start = !is_word(s.chars().next()) || !is_word(before);
        let ok_end = !is_word(s.chars().next_back()) || !is_word(after);
        if ok_start && ok_end && !m.is_empty() {
            out.push(m.range());
            at = m.end();
        } else {
            at = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

pub fn parse_filters(v: &Value, path: &str, p: &mut Problems) -> Option<Filters> {
    let mut o = Obj::new(v, path, p)?;
    check_keys(
        &mut o,
        &[
            "allowed_keywords",
            "blocked_keywords",
            "allowed_domains",
            "blocked_domains",
            "ignored_author_ids",
            "mode",
        ],
    );
    let keywords = |o: &mut Obj<'_, '_>, key: &str| {
        dedup(
            strings(o, key, MAX_KEYWORDS, MAX_KEYWORD_CHARS)
                .iter()
                .map(|s| normalise_keyword(s))
                .collect(),
        )
    };
    let allowed_keywords = keywords(&mut o, "allowed_keywords");
    let blocked_keywords = keywords(&mut o, "blocked_keywords");
    let domains = |o: &mut Obj<'_, '_>, key: &str| {
        let Some(items) = o.optional_array(key, MAX_DOMAINS) else {
            return Vec::new();
        };
        let base = join(&o.path, key);
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let field = index(&base, i);
            match item {
                Value::String(s) => match normalise_domain(s) {
                    Ok(d) => out.push(d),
                    Err(problem) => o.problems.push(field, problem),
                },
                other => o
                    .problems
                    .push(field, format!("must be a string, got {}", type_name(other))),
            }
        }
        dedup(out)
    };
    let allowed_domains = domains(&mut o, "allowed_domains");
    let blocked_domains = domains(&mut o, "blocked_domains");
    let mut ignored_author_ids: Vec<UserId> = o
        .optional_snowflakes("ignored_author_ids", MAX_IGNORED_AUTHORS)
        .unwrap_or_default();
    ignored_author_ids.sort();
    ignored_author_ids.dedup();
    let mode = match o.optional_enum("mode", &["skip", "remove"]) {
        Some("remove") => FilterMode::Remove,
        _ => FilterMode::Skip,
    };
    let compile = |o: &mut Obj<'_, '_>, key: &str, kws: &[String]| match keyword_regex(kws) {
        Ok(r) => r,
        Err(_) => {
            o.problem(
                key,
                "these keywords together are too large to match efficiently; use fewer or shorter ones",
            );
            None
        }
    };
    let allowed_re = compile(&mut o, "allowed_keywords", &allowed_keywords);
    let blocked_re = compile(&mut o, "blocked_keywords", &blocked_keywords);
    Some(Filters {
        allowed_keywords,
        blocked_keywords,
        allowed_domains,
        blocked_domains,
        ignored_author_ids,
        mode,
        allowed_re,
        blocked_re,
    })
}

/// Compiles one replacement pattern within the size bounds.
pub(crate) fn compile_pattern(
    pattern: &str,
    regex: bool,
    ignore_case: bool,
) -> Result<Regex, String> {
    let source = if regex {
        pattern.to_string()
    } else {
        regex::escape(pattern)
    };
    RegexBuilder::new(&source)
        .case_insensitive(ignore_case)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => {
                "compiles to a program too large to run on every message; simplify it".to_string()
            }
            regex::Error::Syntax(s) => {
                // The crate's message spans lines (pattern, caret, reason); keep the reason.
                let reason = s.lines().last().unwrap_or("invalid").trim().to_string();
                format!("is not a valid regular expression: {reason}")
            }
            _ => "is not a valid regular expression".to_string(),
        })
}

fn parse_replacement(v: &Value, path: &str, p: &mut Problems) -> Option<Replacement> {
    let mut o = Obj::new(v, path, p)?;
    check_keys(&mut o, &["pattern", "replacement", "regex", "ignore_case"]);
    let pattern = o.required_nonempty("pattern", MAX_PATTERN_CHARS);
    let replacement = o.optional_str("replacement", MAX_REPLACEMENT_CHARS);
    let regex = o.optional_bool("regex").unwrap_or(false);
    let ignore_case = o.optional_bool("ignore_case").unwrap_or(false);
    let pattern = pattern?.to_string();
    let compiled = match compile_pattern(&pattern, regex, ignore_case) {
        Ok(c) => c,
        Err(problem) => {
            o.problem("pattern", problem);
            return None;
        }
    };
    if regex && compiled.is_match("") {
        // A pattern that matches nothing at all would insert its replacement between every
        // character.
        o.problem(
            "pattern",
            "matches the empty string; it must match at least one character",
        );
        return None;
    }
    Some(Replacement {
        pattern,
        replacement: replacement.unwrap_or("").to_string(),
        regex,
        ignore_case,
        compiled,
    })
}

fn parse_color(o: &mut Obj<'_, '_>, key: &str) -> Option<u32> {
    let v = o.get(key)?;
    let parsed = match v {
        Value::Number(n) => n.as_u64().filter(|c| *c <= 0xFF_FFFF).map(|c| c as u32),
        Value::String(s) => {
            let hex = s.trim().trim_start_matches('#');
            if hex.len() == 6 {
                u32::from_str_radix(hex, 16).ok()
            } else {
                None
            }
        }
        _ => None,
    };
    if parsed.is_none() {
        o.problem(
            key,
            "must be a colour: an integer 0–16777215 or \"#rrggbb\"",
        );
    }
    parsed
}

fn one_line(o: &mut Obj<'_, '_>, key: &str, max: usize) -> Option<String> {
    let s = o.optional_str(key, max)?;
    if s.contains(['\n', '\r']) {
        o.problem(key, "must be a single line");
        return None;
    }
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

pub fn parse_transform(v: &Value, path: &str, p: &mut Problems) -> Option<Transform> {
    let mut o = Obj::new(v, path, p)?;
    check_keys(
        &mut o,
        &["replacements", "role_ping_id", "style", "embed", "footer"],
    );
    let mut replacements = Vec::new();
    if let Some(items) = o.optional_array("replacements", MAX_REPLACEMENTS) {
        let base = join(&o.path, "replacements");
        for (i, item) in items.iter().enumerate() {
            if let Some(r) = parse_replacement(item, &index(&base, i), o.problems) {
                replacements.push(r);
            }
        }
    }
    let role_ping_id = o.optional_snowflake("role_ping_id");
    let style = o.optional_enum("style", &["webhook", "embed"]);
    let mut card = CardStyle::default();
    if o.get("embed").is_some() {
        if style != Some("embed") {
            o.problem("embed", "is only used with \"style\": \"embed\"");
        } else if let Some(mut e) = o.child("embed") {
            check_keys(&mut e, &["title", "color"]);
            card.title = one_line(&mut e, "title", MAX_CARD_TITLE_CHARS);
            card.color = parse_color(&mut e, "color");
        }
    }
    let footer = one_line(&mut o, "footer", MAX_FOOTER_CHARS);
    Some(Transform {
        replacements,
        role_ping_id,
        style: if style == Some("embed") {
            Style::Embed(card)
        } else {
            Style::Webhook
        },
        footer,
    })
}

/// Validates and normalises `filters_json` (the admin API's hook).
pub fn normalise_filters(v: &Value, path: &str, p: &mut Problems) -> Option<Map<String, Value>> {
    parse_filters(v, path, p).map(|f| f.to_json())
}

/// Validates and normalises `transform_json` (the admin API's hook).
pub fn normalise_transform(v: &Value, path: &str, p: &mut Problems) -> Option<Map<String, Value>> {
    parse_transform(v, path, p).map(|t| t.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(v: Value) -> Result<Filters, Vec<FieldError>> {
        let mut p = Problems::new();
        let f = parse_filters(&v, "filters_json", &mut p);
        match f {
            Some(f) if p.is_empty() => Ok(f),
            _ => Err(p.into_vec()),
        }
    }

    fn transform(v: Value) -> Result<Transform, Vec<FieldError>> {
        let mut p = Problems::new();
        let t = parse_transform(&v, "transform_json", &mut p);
        match t {
            Some(t) if p.is_empty() => Ok(t),
            _ => Err(p.into_vec()),
        }
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn empty_rules_normalise_to_empty_objects() {
        assert!(filters(json!({})).unwrap().to_json().is_empty());
        assert!(transform(json!({})).unwrap().to_json().is_empty());
        assert!(filters(json!({"mode": "skip"}))
            .unwrap()
            .to_json()
            .is_empty());
        assert!(transform(json!({"style": "webhook"}))
            .unwrap()
            .to_json()
            .is_empty());
    }

    #[test]
    fn filters_normalise_and_round_trip() {
        let f = filters(json!({
            "allowed_keywords": ["  BTC ", "btc", "Long   Entry"],
            "blocked_domains": ["https://Pump.Example.com/join", "*.spam.io", "spam.io."],
            "ignored_author_ids": ["30", "20", "30"],
            "mode": "remove",
        }))
        .unwrap();
        let n = f.to_json();
        assert_eq!(
            Value::Object(n.clone()),
            json!({
                "allowed_keywords": ["btc", "long entry"],
                "blocked_domains": ["pump.example.com", "spam.io"],
                "ignored_author_ids": ["20", "30"],
                "mode": "remove",
            })
        );
        let again = filters(Value::Object(n.clone())).unwrap();
        assert_eq!(again, f);
        assert_eq!(again.to_json(), n);
    }

    #[test]
    fn filter_problems_are_named_by_path() {
        let errs = filters(json!({
            "blocked_keywords": ["ok", "", 5],
            "blocked_domains": ["example.com", "not a domain", "localhost"],
            "ignored_author_ids": ["x"],
            "mode": "drop",
            "contains": ["BTC"],
        }))
        .unwrap_err();
        let f = fields(&errs);
        for want in [
            "filters_json.blocked_keywords[1]",
            "filters_json.blocked_keywords[2]",
            "filters_json.blocked_domains[1]",
            "filters_json.blocked_domains[2]",
            "filters_json.mode",
            "filters_json.contains",
        ] {
            assert!(f.contains(&want), "{want} missing from {f:?}");
        }
        assert!(f
            .iter()
            .any(|x| x.starts_with("filters_json.ignored_author_ids")));
        assert!(filters(json!([])).is_err());
        assert!(filters(json!({"blocked_keywords": ["x".repeat(101)]})).is_err());
        let too_many: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
        assert!(filters(json!({ "blocked_keywords": too_many })).is_err());
    }

    #[test]
    fn transforms_normalise_and_round_trip() {
        let t = transform(json!({
            "replacements": [
                {"pattern": "BrandX", "replacement": "", "ignore_case": true},
                {"pattern": r"\bTP(\d)\b", "replacement": "Target $1", "regex": true},
            ],
            "role_ping_id": "555",
            "style": "embed",
            "embed": {"title": " VIP signal ", "color": "#5865F2"},
            "footer": "Powered by G3",
        }))
        .unwrap();
        let n = t.to_json();
        assert_eq!(
            Value::Object(n.clone()),
            json!({
                "replacements": [
                    {"pattern": "BrandX", "replacement": "", "ignore_case": true},
                    {"pattern": r"\bTP(\d)\b", "replacement": "Target $1", "regex": true},
                ],
                "role_ping_id": "555",
                "style": "embed",
                "embed": {"title": "VIP signal", "color": 0x5865F2},
                "footer": "Powered by G3",
            })
        );
        assert_eq!(transform(Value::Object(n)).unwrap(), t);
    }

    #[test]
    fn transform_problems_are_named_by_path() {
        let errs = transform(json!({
            "replacements": [
                {"pattern": "ok"},
                {"pattern": "ok", "replacement": 3},
                {"pattern": "(unclosed", "regex": true},
                {"pattern": "a*", "regex": true},
                {"replacement": "x"},
                {"pattern": "x", "flags": "g"},
            ],
            "role_ping_id": 5,
            "style": "card",
            "embed": {"title": "x"},
            "footer": "two\nlines",
        }))
        .unwrap_err();
        let f = fields(&errs);
        for want in [
            "transform_json.replacements[1].replacement",
            "transform_json.replacements[2].pattern",
            "transform_json.replacements[3].pattern",
            "transform_json.replacements[4].pattern",
            "transform_json.replacements[5].flags",
            "transform_json.role_ping_id",
            "transform_json.style",
            "transform_json.embed",
            "transform_json.footer",
        ] {
            assert!(f.contains(&want), "{want} missing from {f:?}");
        }
        let e = errs
            .iter()
            .find(|e| e.field == "transform_json.replacements[2].pattern")
            .unwrap();
        assert!(e.problem.contains("regular expression"), "{}", e.problem);
        let errs = transform(json!({"style": "embed", "embed": {"color": "#12345", "size": 1}}))
            .unwrap_err();
        assert_eq!(
            fields(&errs),
            vec!["transform_json.embed.size", "transform_json.embed.color"]
        );
    }

    #[test]
    fn regex_size_is_bounded() {
        // Nested counted repetition explodes the compiled program: refused, not run.
        let errs = transform(json!({"replacements": [
            {"pattern": r"(\w{50}){50}", "regex": true}
        ]}))
        .unwrap_err();
        assert_eq!(errs[0].field, "transform_json.replacements[0].pattern");
        assert!(errs[0].problem.contains("too large"), "{}", errs[0].problem);
        // Patterns are bounded in length too.
        assert!(transform(json!({"replacements": [{"pattern": "x".repeat(257)}]})).is_err());
        let many: Vec<Value> = (0..21)
            .map(|i| json!({"pattern": format!("p{i}")}))
            .collect();
        assert!(transform(json!({ "replacements": many })).is_err());
    }

    #[test]
    fn stored_rules_load_or_name_the_bad_field() {
        let r =
            MappingRules::from_stored(&json!({"blocked_keywords": ["x"]}), &json!({"footer": "f"}))
                .unwrap();
        assert_eq!(r.filters.blocked_keywords, vec!["x"]);
        let errs =
            MappingRules::from_stored(&json!({"contains": ["BTC"]}), &json!({})).unwrap_err();
        assert_eq!(errs[0].field, "filters_json.contains");
    }

    #[test]
    fn domains() {
        assert_eq!(normalise_domain("Example.COM").unwrap(), "example.com");
        assert_eq!(
            normalise_domain("http://a.b.example.com:443/x").ok(),
            None,
            "a port is not a host name"
        );
        assert_eq!(normalise_domain("https://t.me/joinchat").unwrap(), "t.me");
        assert!(normalise_domain("bücher.de").is_err());
        assert!(normalise_domain("-bad.com").is_err());
    }
}
