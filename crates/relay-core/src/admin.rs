//! Admin API payloads: tenants, connectors, sources, mappings, discovery requests, feed tickets.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{check_slug, ChannelId, GuildId};
use crate::validate::{FieldError, Obj, Problems};

fn slug(o: &mut Obj<'_, '_>, key: &str) -> Option<String> {
    let s = o.required_str(key, 64)?;
    match check_slug(s) {
        Ok(()) => Some(s.to_string()),
        Err(problem) => {
            o.problem(key, problem);
            None
        }
    }
}

fn finish<T>(problems: Problems, value: Option<T>) -> Result<T, Vec<FieldError>> {
    match value {
        Some(v) if problems.is_empty() => Ok(v),
        _ => {
            let errs = problems.into_vec();
            if errs.is_empty() {
                Err(vec![FieldError::new("$", "invalid payload")])
            } else {
                Err(errs)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTenant {
    pub tenant_key: String,
    pub name: String,
}

pub fn parse_new_tenant(body: &Value) -> Result<NewTenant, Vec<FieldError>> {
    let mut p = Problems::new();
    let parsed = Obj::new(body, "", &mut p).and_then(|mut o| {
        let key = slug(&mut o, "tenant_key");
        let name = o.optional_str("name", 200).map(str::to_string);
        Some(NewTenant {
            name: name.unwrap_or_else(|| key.clone().unwrap_or_default()),
            tenant_key: key?,
        })
    });
    finish(p, parsed)
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewConnector {
    pub connector_id: String,
    pub name: String,
}

pub fn parse_new_connector(body: &Value) -> Result<NewConnector, Vec<FieldError>> {
    let mut p = Problems::new();
    let parsed = Obj::new(body, "", &mut p).and_then(|mut o| {
        let id = slug(&mut o, "connector_id");
        let name = o.optional_str("name", 200).map(str::to_string);
        Some(NewConnector {
            name: name.unwrap_or_default(),
            connector_id: id?,
        })
    });
    finish(p, parsed)
}

/// Partial update of a connector's settings. Every field is optional; at least one is needed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectorPatch {
    pub name: Option<String>,
    pub ingest_enabled: Option<bool>,
    pub forward_enabled: Option<bool>,
}

impl ConnectorPatch {
    /// Whether the change is visible in the runtime config (and so must bump its version).
    pub fn touches_runtime_config(&self) -> bool {
        self.ingest_enabled.is_some() || self.forward_enabled.is_some()
    }
}

pub fn parse_connector_patch(body: &Value) -> Result<ConnectorPatch, Vec<FieldError>> {
    let mut p = Problems::new();
    let parsed = Obj::new(body, "", &mut p).map(|mut o| {
        let patch = ConnectorPatch {
            name: o.optional_str("name", 200).map(str::to_string),
            ingest_enabled: o.optional_bool("ingest_enabled"),
            forward_enabled: o.optional_bool("forward_enabled"),
        };
        if patch == ConnectorPatch::default() && o.problems.is_empty() {
            o.problems.push(
                "$",
                "nothing to change: give name, ingest_enabled or forward_enabled",
            );
        }
        patch
    });
    finish(p, parsed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadMode {
    Include,
    Exclude,
    Only,
}

impl ThreadMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadMode::Include => "include",
            ThreadMode::Exclude => "exclude",
            ThreadMode::Only => "only",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "include" => Some(ThreadMode::Include),
            "exclude" => Some(ThreadMode::Exclude),
            "only" => Some(ThreadMode::Only),
            _ => None,
        }
    }
}

/// A source (an "available channel" in the operator UI): a channel the connector may read
/// from (`is_source`) and/or mirror into (`is_target`).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceUpsert {
    pub guild_id: GuildId,
    pub is_source: bool,
    pub is_target: bool,
    pub thread_mode: ThreadMode,
    pub is_enabled: bool,
}

pub fn parse_source_upsert(body: &Value) -> Result<SourceUpsert, Vec<FieldError>> {
    let mut p = Problems::new();
    let parsed = Obj::new(body, "", &mut p).and_then(|mut o| {
        let guild_id = o.required_snowflake("guild_id");
        let is_source = o.optional_bool("is_source").unwrap_or(true);
        let is_target = o.optional_bool("is_target").unwrap_or(false);
        let thread_mode = o
            .optional_enum("thread_mode", &["include", "exclude", "only"])
            .and_then(ThreadMode::parse)
            .unwrap_or(ThreadMode::Include);
        let is_enabled = o.optional_bool("is_enabled").unwrap_or(true);
        Some(SourceUpsert {
            guild_id: guild_id?,
            is_source,
            is_target,
            thread_mode,
            is_enabled,
        })
    });
    finish(p, parsed)
}

/// A mapping upsert. Absent fields keep what is stored (defaults on insert: `{}`, `{}`, 0):
/// editing the priority in one place must not wipe rules set in another.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingUpsert {
    /// Normalised by the rule checker.
    pub filters_json: Option<Map<String, Value>>,
    pub transform_json: Option<Map<String, Value>>,
    pub priority: Option<i64>,
}

/// Validates one rule object found at `path`, recording every problem under it, and returns
/// its normalised form. The mirroring crate provides these; relay-core stays free of it.
pub type RuleNormaliser = fn(&Value, &str, &mut Problems) -> Option<Map<String, Value>>;

#[derive(Clone, Copy)]
pub struct MappingRuleCheck {
    pub filters: RuleNormaliser,
    pub transform: RuleNormaliser,
}

/// Parses a mapping upsert; the rules are validated and normalised by `check`, and any
/// problem anywhere refuses the whole request.
pub fn parse_mapping_upsert(
    body: &Value,
    check: &MappingRuleCheck,
) -> Result<MappingUpsert, Vec<FieldError>> {
    let mut p = Problems::new();
    let parsed = Obj::new(body, "", &mut p).map(|mut o| {
        let rules = |o: &mut Obj<'_, '_>, key: &str, normalise: RuleNormaliser| {
            let v = o.get(key)?;
            let path = crate::validate::join(&o.path, key);
            normalise(v, &path, o.problems)
        };
        MappingUpsert {
            filters_json: rules(&mut o, "filters_json", check.filters),
            transform_json: rules(&mut o, "transform_json", check.transform),
            priority: o.optional_int("priority", -1_000_000, 1_000_000),
        }
    });
    finish(p, parsed)
}

/// `{"guild_id": "…"}` asks for one guild's channels; `{}` or `{"guild_id": null}` for all guilds.
pub fn parse_discovery_request(body: &Value) -> Result<Option<GuildId>, Vec<FieldError>> {
    let mut p = Problems::new();
    let parsed = Obj::new(body, "", &mut p).map(|mut o| o.optional_snowflake("guild_id"));
    finish(p, parsed)
}

#[derive(Debug, Clone, PartialEq)]
pub struct TicketRequest {
    pub tenant_key: String,
    pub channels: Option<Vec<ChannelId>>,
    pub ttl_seconds: Option<i64>,
}

pub fn parse_ticket_request(body: &Value) -> Result<TicketRequest, Vec<FieldError>> {
    let mut p = Problems::new();
    let parsed = Obj::new(body, "", &mut p).and_then(|mut o| {
        let tenant_key = slug(&mut o, "tenant_key");
        let channels = o.optional_snowflakes("channels", 500);
        if let Some(ch) = &channels {
            if ch.is_empty() {
                o.problem(
                    "channels",
                    "must list at least one channel (omit it for all channels)",
                );
            }
        }
        let ttl_seconds = o.optional_int("ttl_seconds", 5, 3_600);
        Some(TicketRequest {
            tenant_key: tenant_key?,
            channels,
            ttl_seconds,
        })
    });
    finish(p, parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tenants_and_connectors() {
        let t = parse_new_tenant(&json!({"tenant_key": "demo", "name": "Demo"})).unwrap();
        assert_eq!(t.name, "Demo");
        assert_eq!(
            parse_new_tenant(&json!({"tenant_key": "demo"}))
                .unwrap()
                .name,
            "demo"
        );
        let errs = parse_new_tenant(&json!({"tenant_key": "Bad Key"})).unwrap_err();
        assert_eq!(errs[0].field, "tenant_key");
        assert!(parse_new_connector(&json!({"connector_id": "conn_01"})).is_ok());
        assert!(parse_new_connector(&json!({})).is_err());
    }

    #[test]
    fn connector_patch_needs_something() {
        assert!(parse_connector_patch(&json!({})).is_err());
        let p = parse_connector_patch(&json!({"ingest_enabled": false})).unwrap();
        assert!(p.touches_runtime_config());
        let p = parse_connector_patch(&json!({"name": "x"})).unwrap();
        assert!(!p.touches_runtime_config());
        let errs = parse_connector_patch(&json!({"ingest_enabled": "no"})).unwrap_err();
        assert_eq!(errs[0].field, "ingest_enabled");
    }

    #[test]
    fn sources_and_mappings() {
        let s = parse_source_upsert(
            &json!({"guild_id": "1", "is_target": true, "thread_mode": "only"}),
        )
        .unwrap();
        assert!(s.is_source && s.is_target && s.is_enabled);
        assert_eq!(s.thread_mode, ThreadMode::Only);
        let errs = parse_source_upsert(&json!({"thread_mode": "all"})).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["guild_id", "thread_mode"]);
        // A checker that accepts objects with only a "k" string, upper-casing it.
        fn upper(v: &Value, path: &str, p: &mut Problems) -> Option<Map<String, Value>> {
            let mut o = Obj::new(v, path, p)?;
            let k = o.required_str("k", 10)?.to_uppercase();
            Some(json!({ "k": k }).as_object().unwrap().clone())
        }
        let check = MappingRuleCheck {
            filters: upper,
            transform: upper,
        };
        let m = parse_mapping_upsert(
            &json!({"filters_json": {"k": "btc"}, "priority": 2}),
            &check,
        )
        .unwrap();
        assert_eq!(m.priority, Some(2));
        assert_eq!(
            m.filters_json.unwrap()["k"],
            "BTC",
            "the normalised form is kept"
        );
        assert_eq!(m.transform_json, None, "absent: keep what is stored");
        let m = parse_mapping_upsert(&json!({"transform_json": null}), &check).unwrap();
        assert_eq!(
            m,
            MappingUpsert {
                filters_json: None,
                transform_json: None,
                priority: None
            }
        );
        let errs = parse_mapping_upsert(
            &json!({"filters_json": "x", "transform_json": {"k": 5}, "priority": 2}),
            &check,
        )
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["filters_json", "transform_json.k"]);
    }

    #[test]
    fn tickets_and_discovery() {
        assert_eq!(parse_discovery_request(&json!({})).unwrap(), None);
        assert_eq!(
            parse_discovery_request(&json!({"guild_id": "5"}))
                .unwrap()
                .unwrap()
                .as_str(),
            "5"
        );
        assert!(parse_discovery_request(&json!({"guild_id": 5})).is_err());
        let t = parse_ticket_request(&json!({"tenant_key": "demo", "channels": ["1"]})).unwrap();
        assert_eq!(t.channels.unwrap().len(), 1);
        assert!(parse_ticket_request(&json!({"tenant_key": "demo", "channels": []})).is_err());
        assert!(parse_ticket_request(&json!({"channels": ["1"]})).is_err());
    }
}
