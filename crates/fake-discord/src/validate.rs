//! Discord's form rules for what we send: webhook names, message content, embeds, mentions.
//! Every failure lands in a `FieldErrors` tree, answered as a 50035 like Discord's.

use crate::error::FieldErrors;
use serde_json::Value;

pub const MAX_CONTENT: usize = 2000;
pub const MAX_EMBEDS: usize = 10;
pub const MAX_EMBED_TOTAL: usize = 6000;
pub const MAX_ATTACHMENTS: usize = 10;
pub const MAX_WEBHOOKS_PER_CHANNEL: usize = 15;

/// Only these flags may be set on a webhook or bot message: SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS.
pub const SETTABLE_FLAGS: u64 = (1 << 2) | (1 << 12);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    WebhookExecute,
    WebhookEdit,
    BotMessage,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn max_len(errors: &mut FieldErrors, path: &[&str], v: Option<&Value>, max: usize) {
    match v {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            if chars(s) > max {
                errors.add(
                    path,
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {max} or fewer in length."),
                );
            }
        }
        Some(other) => errors.add(
            path,
            "BASE_TYPE_STRING",
            format!("Could not interpret \"{other}\" as string."),
        ),
    }
}

/// Webhook names (and per-message `username` overrides): 1–80 characters, and Discord refuses
/// any containing "clyde" or "discord", in any case.
pub fn webhook_name(errors: &mut FieldErrors, field: &str, v: Option<&Value>, required: bool) {
    let s = match v {
        None | Some(Value::Null) => {
            if required {
                errors.add(&[field], "BASE_TYPE_REQUIRED", "This field is required");
            }
            return;
        }
        Some(Value::String(s)) => s,
        Some(other) => {
            errors.add(
                &[field],
                "BASE_TYPE_STRING",
                format!("Could not interpret \"{other}\" as string."),
            );
            return;
        }
    };
    let n = chars(s);
    if !(1..=80).contains(&n) {
        errors.add(
            &[field],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 80 in length.",
        );
    }
    let lower = s.to_lowercase();
    for banned in ["clyde", "discord"] {
        if lower.contains(banned) {
            errors.add(
                &[field],
                "USERNAME_INVALID_CONTAINS",
                format!("Username cannot contain \"{banned}\""),
            );
        }
    }
}

/// The characters Discord counts towards the 6,000 limit: titles, descriptions, field names and
/// values, footer texts and author names, over every embed of the message.
pub fn embed_chars(embed: &Value) -> usize {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(chars).unwrap_or(0);
    let mut n = s(embed.get("title")) + s(embed.get("description"));
    n += s(embed.get("footer").and_then(|f| f.get("text")));
    n += s(embed.get("author").and_then(|a| a.get("name")));
    if let Some(fields) = embed.get("fields").and_then(Value::as_array) {
        for f in fields {
            n += s(f.get("name")) + s(f.get("value"));
        }
    }
    n
}

fn embed(errors: &mut FieldErrors, i: &str, e: &Value) {
    if !e.is_object() {
        errors.add(
            &["embeds", i],
            "MODEL_TYPE_CONVERT",
            "Only dictionaries may be used in a ModelType",
        );
        return;
    }
    max_len(errors, &["embeds", i, "title"], e.get("title"), 256);
    max_len(
        errors,
        &["embeds", i, "description"],
        e.get("description"),
        4096,
    );
    max_len(errors, &["embeds", i, "url"], e.get("url"), 2048);
    if let Some(f) = e.get("footer") {
        max_len(
            errors,
            &["embeds", i, "footer", "text"],
            f.get("text"),
            2048,
        );
    }
    if let Some(a) = e.get("author") {
        max_len(errors, &["embeds", i, "author", "name"], a.get("name"), 256);
    }
    match e.get("fields") {
        None | Some(Value::Null) => {}
        Some(Value::Array(fields)) => {
            if fields.len() > 25 {
                errors.add(
                    &["embeds", i, "fields"],
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 25 or fewer in length.",
                );
            }
            for (j, f) in fields.iter().enumerate() {
                let j = j.to_string();
                for (key, max) in [("name", 256), ("value", 1024)] {
                    match f.get(key) {
                        None | Some(Value::Null) => errors.add(
                            &["embeds", i, "fields", &j, key],
                            "BASE_TYPE_REQUIRED",
                            "This field is required",
                        ),
                        v => max_len(errors, &["embeds", i, "fields", &j, key], v, max),
                    }
                }
            }
        }
        Some(_) => errors.add(
            &["embeds", i, "fields"],
            "BASE_TYPE_LIST",
            "Must be a list.",
        ),
    }
}

fn allowed_mentions(errors: &mut FieldErrors, v: Option<&Value>) {
    let Some(am) = v else { return };
    if am.is_null() {
        return;
    }
    let Some(obj) = am.as_object() else {
        errors.add(
            &["allowed_mentions"],
            "MODEL_TYPE_CONVERT",
            "Only dictionaries may be used in a ModelType",
        );
        return;
    };
    let parse: Vec<&str> = obj
        .get("parse")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(items) = obj.get("parse").and_then(Value::as_array) {
        for (i, p) in items.iter().enumerate() {
            if !matches!(p.as_str(), Some("roles" | "users" | "everyone")) {
                errors.add(
                    &["allowed_mentions", "parse", &i.to_string()],
                    "ENUM_TYPE_COERCE",
                    format!("Value \"{}\" is not a valid enum value.", p),
                );
            }
        }
    }
    for kind in ["users", "roles"] {
        let listed = obj
            .get(kind)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if listed && parse.contains(&kind) {
            errors.add(
                &["allowed_mentions"],
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                format!("parse:[\"{kind}\"] and {kind}: [ids...] are mutually exclusive."),
            );
        }
    }
}

/// Checks a message body (JSON or `payload_json`) against Discord's limits for `kind`.
pub fn message(errors: &mut FieldErrors, body: &Value, kind: Kind) {
    max_len(errors, &["content"], body.get("content"), MAX_CONTENT);
    match body.get("embeds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(embeds)) => {
            if embeds.len() > MAX_EMBEDS {
                errors.add(
                    &["embeds"],
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {MAX_EMBEDS} or fewer in length."),
                );
            }
            for (i, e) in embeds.iter().enumerate() {
                embed(errors, &i.to_string(), e);
            }
            let total: usize = embeds.iter().map(embed_chars).sum();
            if total > MAX_EMBED_TOTAL {
                errors.add(
                    &["embeds"],
                    "MAX_EMBED_SIZE_EXCEEDED",
                    format!("Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"),
                );
            }
        }
        Some(_) => errors.add(&["embeds"], "BASE_TYPE_LIST", "Must be a list."),
    }
    if let Some(a) = body.get("attachments").and_then(Value::as_array) {
        if a.len() > MAX_ATTACHMENTS {
            errors.add(
                &["attachments"],
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {MAX_ATTACHMENTS} or fewer in length."),
            );
        }
    }
    allowed_mentions(errors, body.get("allowed_mentions"));
    match kind {
        Kind::WebhookExecute => {
            webhook_name(errors, "username", body.get("username"), false);
            max_len(errors, &["avatar_url"], body.get("avatar_url"), 2048);
            if let Some(t) = body.get("thread_name") {
                max_len(errors, &["thread_name"], Some(t), 100);
                if t.as_str().is_some_and(|s| s.trim().is_empty()) {
                    errors.add(
                        &["thread_name"],
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    );
                }
            }
        }
        Kind::BotMessage => match body.get("nonce") {
            None | Some(Value::Null) | Some(Value::Number(_)) => {}
            Some(Value::String(s)) if chars(s) <= 25 => {}
            Some(_) => errors.add(
                &["nonce"],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            ),
        },
        Kind::WebhookEdit => {}
    }
}

/// A message with nothing to show: Discord answers 50006.
pub fn is_empty(content: &str, embeds: usize, attachments: usize, has_poll: bool) -> bool {
    content.trim().is_empty() && embeds == 0 && attachments == 0 && !has_poll
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(body: Value, kind: Kind) -> Value {
        let mut e = FieldErrors::default();
        message(&mut e, &body, kind);
        e.into_value()
    }

    #[test]
    fn content_limit_is_2000_characters_not_bytes() {
        let ok = "é".repeat(2000);
        assert_eq!(
            check(json!({"content": ok}), Kind::WebhookExecute),
            json!({})
        );
        let e = check(json!({"content": "a".repeat(2001)}), Kind::WebhookExecute);
        assert_eq!(e["content"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");
        assert_eq!(
            e["content"]["_errors"][0]["message"],
            "Must be 2000 or fewer in length."
        );
    }

    #[test]
    fn eleven_embeds_are_refused() {
        let embeds: Vec<Value> = (0..11).map(|i| json!({"title": i.to_string()})).collect();
        let e = check(json!({"embeds": embeds}), Kind::WebhookExecute);
        assert_eq!(e["embeds"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");
        let ten: Vec<Value> = (0..10).map(|i| json!({"title": i.to_string()})).collect();
        assert_eq!(
            check(json!({"embeds": ten}), Kind::WebhookExecute),
            json!({})
        );
    }

    #[test]
    fn embed_total_counts_every_text_part_across_embeds() {
        let e1 = json!({"title": "t".repeat(256), "description": "d".repeat(2000),
            "footer": {"text": "f".repeat(100)}, "author": {"name": "a".repeat(44)},
            "fields": [{"name": "n".repeat(100), "value": "v".repeat(500)}]});
        assert_eq!(embed_chars(&e1), 3000);
        let at_limit = check(
            json!({"embeds": [e1.clone(), e1.clone()]}),
            Kind::WebhookEdit,
        );
        assert_eq!(at_limit, json!({}));
        let mut e2 = e1.clone();
        e2["title"] = json!("t");
        e2["description"] = json!("d".repeat(2256));
        let over = json!({"embeds": [e1, e2, {"title": "x"}]});
        let e = check(over, Kind::WebhookExecute);
        assert_eq!(e["embeds"]["_errors"][0]["code"], "MAX_EMBED_SIZE_EXCEEDED");
    }

    #[test]
    fn per_embed_field_limits_nest_under_the_index() {
        let e = check(
            json!({"embeds": [{}, {"title": "x".repeat(257), "fields": [{"name": "n"}]}]}),
            Kind::BotMessage,
        );
        assert_eq!(
            e["embeds"]["1"]["title"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
        assert_eq!(
            e["embeds"]["1"]["fields"]["0"]["value"]["_errors"][0]["code"],
            "BASE_TYPE_REQUIRED"
        );
        assert!(e["embeds"].get("0").is_none());
    }

    #[test]
    fn webhook_names_follow_discords_rules() {
        let run = |v: Option<Value>, req: bool| {
            let mut e = FieldErrors::default();
            webhook_name(&mut e, "name", v.as_ref(), req);
            e.into_value()
        };
        assert_eq!(run(Some(json!("Signal Relay")), true), json!({}));
        assert_eq!(run(Some(json!("x".repeat(80))), true), json!({}));
        assert_eq!(
            run(Some(json!("x".repeat(81))), true)["name"]["_errors"][0]["code"],
            "BASE_TYPE_BAD_LENGTH"
        );
        assert_eq!(
            run(Some(json!("")), true)["name"]["_errors"][0]["code"],
            "BASE_TYPE_BAD_LENGTH"
        );
        let clyde = run(Some(json!("My CLYDE bot")), true);
        assert_eq!(
            clyde["name"]["_errors"][0]["message"],
            "Username cannot contain \"clyde\""
        );
        let discord = run(Some(json!("discordian")), true);
        assert_eq!(
            discord["name"]["_errors"][0]["code"],
            "USERNAME_INVALID_CONTAINS"
        );
        assert_eq!(
            run(None, true)["name"]["_errors"][0]["code"],
            "BASE_TYPE_REQUIRED"
        );
        assert_eq!(run(None, false), json!({}));
    }

    #[test]
    fn username_override_obeys_the_same_rules_on_execute_only() {
        let e = check(
            json!({"content": "x", "username": "Discord"}),
            Kind::WebhookExecute,
        );
        assert_eq!(
            e["username"]["_errors"][0]["code"],
            "USERNAME_INVALID_CONTAINS"
        );
    }

    #[test]
    fn allowed_mentions_values_and_exclusivity() {
        let e = check(
            json!({"content": "x", "allowed_mentions": {"parse": ["users", "bogus"], "users": ["1"]}}),
            Kind::WebhookExecute,
        );
        assert_eq!(
            e["allowed_mentions"]["parse"]["1"]["_errors"][0]["code"],
            "ENUM_TYPE_COERCE"
        );
        assert_eq!(
            e["allowed_mentions"]["_errors"][0]["code"],
            "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"
        );
        let ok = check(
            json!({"content": "x", "allowed_mentions": {"parse": []}}),
            Kind::WebhookEdit,
        );
        assert_eq!(ok, json!({}));
    }

    #[test]
    fn bot_nonce_is_at_most_25_characters() {
        let ok = check(
            json!({"content": "x", "nonce": "a".repeat(25)}),
            Kind::BotMessage,
        );
        assert_eq!(ok, json!({}));
        let e = check(
            json!({"content": "x", "nonce": "a".repeat(26)}),
            Kind::BotMessage,
        );
        assert_eq!(e["nonce"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");
    }

    #[test]
    fn empty_means_nothing_visible() {
        assert!(is_empty("", 0, 0, false));
        assert!(is_empty("   ", 0, 0, false));
        assert!(!is_empty("hi", 0, 0, false));
        assert!(!is_empty("", 1, 0, false));
        assert!(!is_empty("", 0, 1, false));
    }
}
