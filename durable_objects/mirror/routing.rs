//! Which target channels a source channel mirrors to, with each mapping's rules and what the
//! target is (its guild, its channel type) and whether the bot can read the source, loaded from D1 through the tables' owners. Cached
//! in memory per connector's `config_version` (every mapping and flag edit bumps it, and each
//! delivery carries the version the tenant object saw) and for at most [`MAX_AGE_MS`] on the
//! alarm path, where no delivery tells us.

use std::collections::BTreeMap;

use relay_core::ids::{ChannelId, GuildId};
use relay_mirror::rules::MappingRules;
use serde_json::Value;

use crate::db::Db;

pub const MAX_AGE_MS: i64 = 60_000;
/// Discord channel types a webhook posts into only with `thread_name` (forum, media).
const FORUM_TYPES: [i64; 2] = [15, 16];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadMode {
    Include,
    Exclude,
    Only,
}

impl ThreadMode {
    fn parse(s: &str) -> Self {
        match s {
            "exclude" => ThreadMode::Exclude,
            "only" => ThreadMode::Only,
            _ => ThreadMode::Include,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Mapping {
    pub connector_id: String,
    pub source: ChannelId,
    pub target: ChannelId,
    pub rules: MappingRules,
    pub target_guild: Option<GuildId>,
    pub target_is_forum: bool,
    /// The bot's catalog knows the source channel (the bot is in the source guild), so it
    /// can read a message back to learn what it replies to.
    pub source_readable: bool,
}

#[derive(Debug, Clone)]
pub struct ConnectorRoutes {
    pub forward_enabled: bool,
    pub config_version: i64,
    pub thread_modes: BTreeMap<ChannelId, ThreadMode>,
}

#[derive(Debug, Clone, Default)]
pub struct Routes {
    pub connectors: BTreeMap<String, ConnectorRoutes>,
    pub mappings: Vec<Mapping>,
    pub loaded_at_ms: i64,
}

impl Routes {
    pub fn stale(&self, now: i64) -> bool {
        now - self.loaded_at_ms > MAX_AGE_MS
    }

    pub fn version_differs(&self, connector: &str, version: i64) -> bool {
        self.connectors
            .get(connector)
            .is_none_or(|c| c.config_version != version)
    }

    pub fn targets_of<'a>(
        &'a self,
        connector: &'a str,
        source: &'a ChannelId,
    ) -> impl Iterator<Item = &'a Mapping> + 'a {
        self.mappings
            .iter()
            .filter(move |m| m.connector_id == connector && &m.source == source)
    }

    pub fn mapping<'a>(
        &'a self,
        connector: &'a str,
        source: &'a ChannelId,
        target: &str,
    ) -> Option<&'a Mapping> {
        self.targets_of(connector, source)
            .find(|m| m.target.as_str() == target)
    }

    pub fn thread_mode(&self, connector: &str, source: &ChannelId) -> ThreadMode {
        self.connectors
            .get(connector)
            .and_then(|c| c.thread_modes.get(source).copied())
            .unwrap_or(ThreadMode::Include)
    }

    pub fn forwarding(&self, connector: &str) -> bool {
        self.connectors
            .get(connector)
            .is_some_and(|c| c.forward_enabled)
    }

    /// Source channel → its mirror in `guild` (channel mentions are mapped through it).
    pub fn channel_map(
        &self,
        connector: &str,
        guild: Option<&GuildId>,
    ) -> BTreeMap<ChannelId, ChannelId> {
        let mut out = BTreeMap::new();
        for m in self.mappings.iter().filter(|m| m.connector_id == connector) {
            if m.target_guild.as_ref() == guild && guild.is_some() {
                out.entry(m.source.clone())
                    .or_insert_with(|| m.target.clone());
            }
        }
        out
    }

    /// Every target channel of a connector.
    pub fn targets(&self, connector: &str) -> Vec<String> {
        let mut t: Vec<String> = self
            .mappings
            .iter()
            .filter(|m| m.connector_id == connector)
            .map(|m| m.target.as_str().to_string())
            .collect();
        t.sort();
        t.dedup();
        t
    }
}

pub async fn load(db: &Db, tenant: &str, now: i64) -> worker::Result<Routes> {
    let mut routes = Routes {
        loaded_at_ms: now,
        ..Routes::default()
    };
    let mut scopes: BTreeMap<String, Option<(Option<GuildId>, bool)>> = BTreeMap::new();
    let mut readable: BTreeMap<String, bool> = BTreeMap::new();
    for c in db.connectors().list(tenant).await? {
        let sources = db.sources().list(tenant, &c.connector_id).await?;
        let mut thread_modes = BTreeMap::new();
        let mut declared_guild = BTreeMap::new();
        for s in &sources {
            if let Ok(ch) = ChannelId::parse(&s.channel_id) {
                thread_modes.insert(ch.clone(), ThreadMode::parse(&s.thread_mode));
                declared_guild.insert(ch, GuildId::parse(&s.guild_id).ok());
            }
        }
        for m in db.mappings().list(tenant, &c.connector_id).await? {
            let (Ok(source), Ok(target)) = (
                ChannelId::parse(&m.source_channel_id),
                ChannelId::parse(&m.target_channel_id),
            ) else {
                continue;
            };
            let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
            let rules =
                match MappingRules::from_stored(&parse(&m.filters_json), &parse(&m.transform_json))
                {
                    Ok(r) => r,
                    Err(errors) => {
                        // The admin API refuses invalid rules; a stored one that no longer parses
                        // mirrors nothing rather than something unfiltered.
                        crate::runtime::log(
                            "error",
                            "mirror: stored mapping rules do not parse",
                            serde_json::json!({"tenant_key": tenant, "connector_id": c.connector_id,
                            "target_channel_id": target.as_str(), "errors": format!("{errors:?}")}),
                        );
                        continue;
                    }
                };
            if !scopes.contains_key(target.as_str()) {
                let scope = db.catalog().channel_scope(&target).await?;
                scopes.insert(
                    target.as_str().to_string(),
                    scope.map(|s| {
                        (
                            GuildId::parse(&s.guild_id).ok(),
                            FORUM_TYPES.contains(&s.kind),
                        )
                    }),
                );
            }
            if !readable.contains_key(source.as_str()) {
                // Another tenant's guild is never read, even when the bot is in it.
                let known = db.catalog().channel_scope(&source).await?.is_some_and(|s| {
                    s.channel_active != 0
                        && s.guild_active != 0
                        && s.tenant_key.as_deref().is_none_or(|t| t == tenant)
                });
                readable.insert(source.as_str().to_string(), known);
            }
            let (guild, forum) = match scopes.get(target.as_str()).cloned().flatten() {
                Some((g, f)) => (g, f),
                None => (declared_guild.get(&target).cloned().flatten(), false),
            };
            let source_readable = readable.get(source.as_str()).copied().unwrap_or(false);
            routes.mappings.push(Mapping {
                connector_id: c.connector_id.clone(),
                source,
                target,
                rules,
                target_guild: guild,
                target_is_forum: forum,
                source_readable,
            });
        }
        routes.connectors.insert(
            c.connector_id.clone(),
            ConnectorRoutes {
                forward_enabled: c.forward_enabled != 0,
                config_version: c.config_version,
                thread_modes,
            },
        );
    }
    Ok(routes)
}
