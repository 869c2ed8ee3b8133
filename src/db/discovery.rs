//! `discovered_guilds`, `discovered_channels`: what the connector reported of its source
//! account, names for the admin pickers.

use relay_core::protocol::DiscoverySync;
use serde::{Deserialize, Serialize};
use worker::Result;

use super::bind::{n, opt, opt_n, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GuildRow {
    pub guild_id: String,
    pub name: String,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ChannelRow {
    pub channel_id: String,
    pub guild_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<i64>,
    pub parent_id: Option<String>,
    pub position: Option<i64>,
    pub updated_at: i64,
}

pub struct Discovery<'a> {
    pub(super) db: &'a Db,
}

impl Discovery<'_> {
    pub async fn store(&self, sync: &DiscoverySync, now: i64) -> Result<(usize, usize)> {
        let (t, c) = (sync.tenant_key.as_str(), sync.connector_id.as_str());
        let mut stmts = Vec::with_capacity(sync.guilds.len() + sync.channels.len());
        for g in &sync.guilds {
            stmts.push(self.db.stmt(
                "INSERT INTO discovered_guilds (tenant_key, connector_id, guild_id, name, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant_key, connector_id, guild_id) \
                 DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
                &[s(t), s(c), s(g.discord_guild_id.as_str()), s(&g.name), n(now)],
            )?);
        }
        for ch in &sync.channels {
            stmts.push(self.db.stmt(
                "INSERT INTO discovered_channels (tenant_key, connector_id, channel_id, guild_id, name, \
                 type, parent_id, position, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (tenant_key, connector_id, channel_id) DO UPDATE SET \
                 guild_id = excluded.guild_id, name = excluded.name, type = excluded.type, \
                 parent_id = excluded.parent_id, position = excluded.position, \
                 updated_at = excluded.updated_at",
                &[
                    s(t),
                    s(c),
                    s(ch.discord_channel_id.as_str()),
                    s(ch.guild_id.as_str()),
                    s(&ch.name),
                    opt_n(ch.kind),
                    opt(ch.parent_id.as_ref().map(|p| p.as_str())),
                    opt_n(ch.position),
                    n(now),
                ],
            )?);
        }
        stmts.push(self.db.connectors().mark_discovery_synced_stmt(t, c, now)?);
        self.db.d1.batch(stmts).await?;
        Ok((sync.guilds.len(), sync.channels.len()))
    }

    pub async fn guilds(&self, tenant: &str, connector: &str) -> Result<Vec<GuildRow>> {
        self.db
            .stmt(
                "SELECT guild_id, name, updated_at FROM discovered_guilds \
             WHERE tenant_key = ?1 AND connector_id = ?2 ORDER BY name COLLATE NOCASE, guild_id",
                &[s(tenant), s(connector)],
            )?
            .all()
            .await?
            .results()
    }

    pub async fn channels(
        &self,
        tenant: &str,
        connector: &str,
        guild: Option<&str>,
    ) -> Result<Vec<ChannelRow>> {
        self.db
            .stmt(
                "SELECT channel_id, guild_id, name, type, parent_id, position, updated_at \
             FROM discovered_channels WHERE tenant_key = ?1 AND connector_id = ?2 \
             AND (?3 IS NULL OR guild_id = ?3) ORDER BY guild_id, position, name COLLATE NOCASE",
                &[s(tenant), s(connector), opt(guild)],
            )?
            .all()
            .await?
            .results()
    }
}
