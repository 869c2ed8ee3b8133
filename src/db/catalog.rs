//! `catalog_guilds`, `catalog_channels`, `catalog_roles`: the bot's catalog. The refresh
//! object writes it (one guild snapshot at a time, diffed against what is stored); operators
//! read it and assign guilds to tenants; mapping validation asks which tenant a channel is in.

use relay_catalog::refresh::ListedGuild;
use relay_catalog::snapshot::{ChannelRow, GuildFacts, GuildSnapshot, RoleRow};
use relay_catalog::warnings::{channel_warnings, role_warnings};
use relay_catalog::{diff, is_target_type};
use relay_core::ids::{ChannelId, GuildId, RoleId, UserId};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::bind::{b, n, opt, s};
use super::handle::Db;

fn perms(v: &str) -> u64 {
    v.parse().unwrap_or(0)
}

#[derive(Debug, Clone, Deserialize)]
pub struct GuildRow {
    pub guild_id: String,
    pub name: String,
    pub owner_id: Option<String>,
    pub tenant_key: Option<String>,
    pub assigned_at: Option<i64>,
    pub active: i64,
    pub bot_permissions: String,
    pub bot_top_position: i64,
    pub bot_is_owner: i64,
    pub synced_at: Option<i64>,
    pub sync_error: Option<String>,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub inactive_since: Option<i64>,
    #[serde(default)]
    pub channels: Option<i64>,
    #[serde(default)]
    pub roles: Option<i64>,
}

impl GuildRow {
    pub fn facts(&self) -> Option<GuildFacts> {
        Some(GuildFacts {
            guild_id: GuildId::parse(&self.guild_id).ok()?,
            name: self.name.clone(),
            owner_id: self.owner_id.as_deref().and_then(|o| UserId::parse(o).ok()),
            bot_permissions: perms(&self.bot_permissions),
            bot_top_position: self.bot_top_position,
            bot_is_owner: self.bot_is_owner != 0,
        })
    }

    pub fn to_json(&self) -> Value {
        let facts = self.facts();
        let has = |p: u64| facts.as_ref().is_some_and(|f| f.bot_permissions & p == p);
        let mut warnings = Vec::new();
        if self.synced_at.is_some() && !has(1 << 28) {
            warnings.push(json!({"code": "bot_lacks_manage_roles", "message": relay_catalog::Warning::BotLacksManageRoles.message()}));
        }
        json!({
            "guild_id": self.guild_id,
            "name": self.name,
            "owner_id": self.owner_id,
            "tenant_key": self.tenant_key,
            "assigned_at": self.assigned_at,
            "active": self.active != 0,
            "bot_permissions": self.bot_permissions,
            "bot_top_position": self.bot_top_position,
            "bot_is_owner": self.bot_is_owner != 0,
            "synced_at": self.synced_at,
            "sync_error": self.sync_error,
            "first_seen_at": self.first_seen_at,
            "last_seen_at": self.last_seen_at,
            "inactive_since": self.inactive_since,
            "active_channels": self.channels,
            "active_roles": self.roles,
            "warnings": warnings,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoredChannel {
    pub channel_id: String,
    pub guild_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: i64,
    pub parent_id: Option<String>,
    pub position: i64,
    pub bot_permissions: String,
    pub webhook_count: Option<i64>,
    pub active: i64,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub inactive_since: Option<i64>,
    #[serde(default)]
    pub guild_name: Option<String>,
    #[serde(default)]
    pub parent_name: Option<String>,
}

impl StoredChannel {
    fn row(&self) -> Option<ChannelRow> {
        Some(ChannelRow {
            channel_id: ChannelId::parse(&self.channel_id).ok()?,
            name: self.name.clone(),
            kind: u8::try_from(self.kind).ok()?,
            parent_id: self
                .parent_id
                .as_deref()
                .and_then(|p| ChannelId::parse(p).ok()),
            position: self.position,
            bot_permissions: perms(&self.bot_permissions),
            webhook_count: self.webhook_count.and_then(|n| u32::try_from(n).ok()),
        })
    }

    pub fn to_json(&self) -> Value {
        let warnings: Vec<Value> = self
            .row()
            .map(|r| channel_warnings(&r))
            .unwrap_or_default()
            .into_iter()
            .map(|w| json!({"code": w.code(), "message": w.message()}))
            .collect();
        json!({
            "channel_id": self.channel_id,
            "guild_id": self.guild_id,
            "guild_name": self.guild_name,
            "name": self.name,
            "type": self.kind,
            "parent_id": self.parent_id,
            "parent_name": self.parent_name,
            "position": self.position,
            "targetable": u8::try_from(self.kind).is_ok_and(is_target_type),
            "bot_permissions": self.bot_permissions,
            "webhook_count": self.webhook_count,
            "active": self.active != 0,
            "first_seen_at": self.first_seen_at,
            "last_seen_at": self.last_seen_at,
            "inactive_since": self.inactive_since,
            "warnings": warnings,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoredRole {
    pub role_id: String,
    pub guild_id: String,
    pub name: String,
    pub position: i64,
    pub managed: i64,
    pub permissions: String,
    pub color: i64,
    pub active: i64,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub inactive_since: Option<i64>,
}

impl StoredRole {
    fn row(&self) -> Option<RoleRow> {
        Some(RoleRow {
            role_id: RoleId::parse(&self.role_id).ok()?,
            name: self.name.clone(),
            position: self.position,
            managed: self.managed != 0,
            permissions: perms(&self.permissions),
            color: u32::try_from(self.color).unwrap_or(0),
        })
    }

    /// With the warnings against its guild's facts (`None`: the guild was never read).
    pub fn to_json(&self, facts: Option<&GuildFacts>) -> Value {
        let warnings: Vec<Value> = match (self.row(), facts) {
            (Some(r), Some(f)) => role_warnings(&r, f)
                .into_iter()
                .map(|w| json!({"code": w.code(), "message": w.message()}))
                .collect(),
            _ => Vec::new(),
        };
        json!({
            "role_id": self.role_id,
            "guild_id": self.guild_id,
            "name": self.name,
            "position": self.position,
            "managed": self.managed != 0,
            "permissions": self.permissions,
            "color": self.color,
            "active": self.active != 0,
            "assignable": warnings.is_empty(),
            "first_seen_at": self.first_seen_at,
            "last_seen_at": self.last_seen_at,
            "inactive_since": self.inactive_since,
            "warnings": warnings,
        })
    }
}

/// Where a channel sits, for mapping validation.
#[derive(Debug, Clone, Deserialize)]
pub struct ChannelScope {
    pub guild_id: String,
    #[serde(rename = "type")]
    pub kind: i64,
    pub channel_active: i64,
    pub guild_active: i64,
    pub tenant_key: Option<String>,
}

/// What an assignment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    /// Now (or already) assigned to the tenant asked for.
    Done,
    NoSuchGuild,
    /// Assigned to another tenant: unassign it first.
    Elsewhere(String),
}

pub struct Catalog<'a> {
    pub(super) db: &'a Db,
}

const GUILD_COLS: &str = "g.guild_id, g.name, g.owner_id, g.tenant_key, g.assigned_at, g.active, \
     g.bot_permissions, g.bot_top_position, g.bot_is_owner, g.synced_at, g.sync_error, \
     g.first_seen_at, g.last_seen_at, g.inactive_since";
const CHANNEL_COLS: &str = "c.channel_id, c.guild_id, c.name, c.type, c.parent_id, c.position, \
     c.bot_permissions, c.webhook_count, c.active, c.first_seen_at, c.last_seen_at, c.inactive_since";
const ROLE_COLS: &str = "r.role_id, r.guild_id, r.name, r.position, r.managed, r.permissions, \
     r.color, r.active, r.first_seen_at, r.last_seen_at, r.inactive_since";

impl Catalog<'_> {
    /// Every guild, or only one tenant's, with its active channel and role counts.
    pub async fn guilds(&self, tenant: Option<&str>) -> Result<Vec<GuildRow>> {
        let sql = format!(
            "SELECT {GUILD_COLS}, \
             (SELECT COUNT(*) FROM catalog_channels c WHERE c.guild_id = g.guild_id AND c.active = 1) AS channels, \
             (SELECT COUNT(*) FROM catalog_roles r WHERE r.guild_id = g.guild_id AND r.active = 1) AS roles \
             FROM catalog_guilds g {} ORDER BY g.active DESC, g.name, g.guild_id",
            if tenant.is_some() {
                "WHERE g.tenant_key = ?1"
            } else {
                ""
            }
        );
        let args: Vec<_> = tenant.map(s).into_iter().collect();
        self.db.stmt(&sql, &args)?.all().await?.results()
    }

    pub async fn guild(&self, guild: &GuildId) -> Result<Option<GuildRow>> {
        self.db
            .stmt(
                &format!("SELECT {GUILD_COLS} FROM catalog_guilds g WHERE g.guild_id = ?1"),
                &[s(guild.as_str())],
            )?
            .first(None)
            .await
    }

    /// A guild's channels (inactive ones too, after the active), in Discord's order.
    pub async fn channels(&self, guild: &GuildId) -> Result<Vec<StoredChannel>> {
        self.db
            .stmt(
                &format!(
                    "SELECT {CHANNEL_COLS}, p.name AS parent_name FROM catalog_channels c \
                     LEFT JOIN catalog_channels p ON p.channel_id = c.parent_id \
                     WHERE c.guild_id = ?1 ORDER BY c.active DESC, c.position, c.channel_id"
                ),
                &[s(guild.as_str())],
            )?
            .all()
            .await?
            .results()
    }

    pub async fn roles(&self, guild: &GuildId) -> Result<Vec<StoredRole>> {
        self.db
            .stmt(
                &format!(
                    "SELECT {ROLE_COLS} FROM catalog_roles r WHERE r.guild_id = ?1 \
                     ORDER BY r.active DESC, r.position DESC, r.role_id"
                ),
                &[s(guild.as_str())],
            )?
            .all()
            .await?
            .results()
    }

    /// The active target-capable channels of the active guilds assigned to `tenant`.
    pub async fn tenant_channels(
        &self,
        tenant: &str,
        guild: Option<&GuildId>,
    ) -> Result<Vec<StoredChannel>> {
        let mut args = vec![s(tenant)];
        let mut filter = String::new();
        if let Some(g) = guild {
            args.push(s(g.as_str()));
            filter.push_str(" AND g.guild_id = ?2");
        }
        self.db
            .stmt(
                &format!(
                    "SELECT {CHANNEL_COLS}, g.name AS guild_name, p.name AS parent_name \
                     FROM catalog_channels c JOIN catalog_guilds g ON g.guild_id = c.guild_id \
                     LEFT JOIN catalog_channels p ON p.channel_id = c.parent_id \
                     WHERE g.tenant_key = ?1 AND g.active = 1 AND c.active = 1 \
                     AND c.type IN (0, 5, 15, 16){filter} \
                     ORDER BY g.name, g.guild_id, COALESCE(p.position, -1), c.position, c.channel_id"
                ),
                &args,
            )?
            .all()
            .await?
            .results()
    }

    /// The active roles of the active guilds assigned to `tenant`, with each guild's facts.
    pub async fn tenant_roles(
        &self,
        tenant: &str,
        guild: Option<&GuildId>,
    ) -> Result<Vec<(StoredRole, Option<GuildFacts>)>> {
        let guilds = self.guilds(Some(tenant)).await?;
        let mut out = Vec::new();
        for g in guilds.iter().filter(|g| g.active != 0) {
            let Ok(id) = GuildId::parse(&g.guild_id) else {
                continue;
            };
            if guild.is_some_and(|want| *want != id) {
                continue;
            }
            let facts = g.synced_at.and(g.facts());
            for r in self.roles(&id).await?.into_iter().filter(|r| r.active != 0) {
                out.push((r, facts.clone()));
            }
        }
        Ok(out)
    }

    pub async fn channel_scope(&self, channel: &ChannelId) -> Result<Option<ChannelScope>> {
        self.db
            .stmt(
                "SELECT c.guild_id, c.type, c.active AS channel_active, \
                 g.active AS guild_active, g.tenant_key FROM catalog_channels c \
                 JOIN catalog_guilds g ON g.guild_id = c.guild_id WHERE c.channel_id = ?1",
                &[s(channel.as_str())],
            )?
            .first(None)
            .await
    }

    pub async fn assign(&self, guild: &GuildId, tenant: &str, now: i64) -> Result<Assigned> {
        let changed = self
            .db
            .changes(
                "UPDATE catalog_guilds SET tenant_key = ?2, assigned_at = ?3, updated_at = ?3 \
                 WHERE guild_id = ?1 AND tenant_key IS NULL",
                &[s(guild.as_str()), s(tenant), n(now)],
            )
            .await?;
        if changed > 0 {
            return Ok(Assigned::Done);
        }
        Ok(match self.guild(guild).await? {
            None => Assigned::NoSuchGuild,
            Some(g) => match g.tenant_key {
                Some(t) if t == tenant => Assigned::Done,
                Some(t) => Assigned::Elsewhere(t),
                // Unassigned between the update and the read: the operator may try again.
                None => Assigned::Elsewhere(String::new()),
            },
        })
    }

    /// Clears the assignment; false when the guild was not assigned to `tenant`.
    pub async fn unassign(&self, guild: &GuildId, tenant: &str, now: i64) -> Result<bool> {
        Ok(self
            .db
            .changes(
                "UPDATE catalog_guilds SET tenant_key = NULL, assigned_at = NULL, updated_at = ?3 \
                 WHERE guild_id = ?1 AND tenant_key = ?2",
                &[s(guild.as_str()), s(tenant), n(now)],
            )
            .await?
            > 0)
    }

    /// How many of `tenant`'s mappings write into channels of `guild`.
    pub async fn mappings_into(&self, guild: &GuildId, tenant: &str) -> Result<i64> {
        #[derive(Deserialize)]
        struct Count {
            n: i64,
        }
        let c: Option<Count> = self
            .db
            .stmt(
                "SELECT COUNT(*) AS n FROM connector_mappings m \
                 JOIN catalog_channels c ON c.channel_id = m.target_channel_id \
                 WHERE m.tenant_key = ?1 AND c.guild_id = ?2",
                &[s(tenant), s(guild.as_str())],
            )?
            .first(None)
            .await?;
        Ok(c.map(|c| c.n).unwrap_or(0))
    }

    /// The distinct target channels of `tenant`'s mappings (every connector) that are channels
    /// of `guild` in the catalog: what a seat audit judges access to.
    pub async fn mapped_targets_in(&self, guild: &GuildId, tenant: &str) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Target {
            target_channel_id: String,
        }
        let rows: Vec<Target> = self
            .db
            .stmt(
                "SELECT DISTINCT m.target_channel_id FROM connector_mappings m \
                 JOIN catalog_channels c ON c.channel_id = m.target_channel_id \
                 WHERE m.tenant_key = ?1 AND c.guild_id = ?2 ORDER BY m.target_channel_id",
                &[s(tenant), s(guild.as_str())],
            )?
            .all()
            .await?
            .results()?;
        Ok(rows.into_iter().map(|t| t.target_channel_id).collect())
    }

    fn upsert_guild_stmt(&self, f: &GuildFacts, now: i64) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO catalog_guilds (guild_id, name, owner_id, active, bot_permissions, \
             bot_top_position, bot_is_owner, synced_at, sync_error, first_seen_at, last_seen_at, \
             inactive_since, updated_at) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, NULL, ?7, ?7, NULL, ?7) \
             ON CONFLICT (guild_id) DO UPDATE SET name = excluded.name, owner_id = excluded.owner_id, \
             active = 1, bot_permissions = excluded.bot_permissions, \
             bot_top_position = excluded.bot_top_position, bot_is_owner = excluded.bot_is_owner, \
             synced_at = excluded.synced_at, sync_error = NULL, last_seen_at = excluded.last_seen_at, \
             inactive_since = NULL, updated_at = excluded.updated_at",
            &[
                s(f.guild_id.as_str()),
                s(&f.name),
                opt(f.owner_id.as_ref().map(|o| o.as_str())),
                s(&f.bot_permissions.to_string()),
                n(f.bot_top_position),
                b(f.bot_is_owner),
                n(now),
            ],
        )
    }

    fn upsert_channel_stmt(
        &self,
        guild: &GuildId,
        c: &ChannelRow,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO catalog_channels (channel_id, guild_id, name, type, parent_id, position, \
             bot_permissions, webhook_count, active, first_seen_at, last_seen_at, inactive_since, \
             updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?9, NULL, ?9) \
             ON CONFLICT (channel_id) DO UPDATE SET guild_id = excluded.guild_id, \
             name = excluded.name, type = excluded.type, parent_id = excluded.parent_id, \
             position = excluded.position, bot_permissions = excluded.bot_permissions, \
             webhook_count = excluded.webhook_count, active = 1, \
             last_seen_at = excluded.last_seen_at, inactive_since = NULL, updated_at = excluded.updated_at",
            &[
                s(c.channel_id.as_str()),
                s(guild.as_str()),
                s(&c.name),
                n(i64::from(c.kind)),
                opt(c.parent_id.as_ref().map(|p| p.as_str())),
                n(c.position),
                s(&c.bot_permissions.to_string()),
                c.webhook_count
                    .map(|w| n(i64::from(w)))
                    .unwrap_or(wasm_bindgen::JsValue::NULL),
                n(now),
            ],
        )
    }

    fn upsert_role_stmt(
        &self,
        guild: &GuildId,
        r: &RoleRow,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO catalog_roles (role_id, guild_id, name, position, managed, permissions, \
             color, active, first_seen_at, last_seen_at, inactive_since, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?8, NULL, ?8) \
             ON CONFLICT (role_id) DO UPDATE SET guild_id = excluded.guild_id, name = excluded.name, \
             position = excluded.position, managed = excluded.managed, \
             permissions = excluded.permissions, color = excluded.color, active = 1, \
             last_seen_at = excluded.last_seen_at, inactive_since = NULL, updated_at = excluded.updated_at",
            &[
                s(r.role_id.as_str()),
                s(guild.as_str()),
                s(&r.name),
                n(r.position),
                b(r.managed),
                s(&r.permissions.to_string()),
                n(i64::from(r.color)),
                n(now),
            ],
        )
    }

    /// Writes one guild's snapshot: the guild, then what changed in its channels and roles
    /// (new, changed, back), then the gone ones made inactive, then last-seen for the rest.
    /// One batch: a reader sees the guild before or after, never half of it.
    pub async fn commit(&self, snap: &GuildSnapshot, now: i64) -> Result<CommitSummary> {
        let g = &snap.facts.guild_id;
        let stored_channels: Vec<(ChannelRow, bool)> = self
            .channels(g)
            .await?
            .iter()
            .filter_map(|c| Some((c.row()?, c.active != 0)))
            .collect();
        let stored_roles: Vec<(RoleRow, bool)> = self
            .roles(g)
            .await?
            .iter()
            .filter_map(|r| Some((r.row()?, r.active != 0)))
            .collect();
        let channels = diff(&stored_channels, &snap.channels);
        let roles = diff(&stored_roles, &snap.roles);
        let mut stmts = vec![self.upsert_guild_stmt(&snap.facts, now)?];
        for c in &channels.upserts {
            stmts.push(self.upsert_channel_stmt(g, c, now)?);
        }
        for r in &roles.upserts {
            stmts.push(self.upsert_role_stmt(g, r, now)?);
        }
        for id in &channels.deactivate {
            stmts.push(self.db.stmt(
                "UPDATE catalog_channels SET active = 0, inactive_since = ?2, updated_at = ?2 \
                 WHERE channel_id = ?1 AND active = 1",
                &[s(id.as_str()), n(now)],
            )?);
        }
        for id in &roles.deactivate {
            stmts.push(self.db.stmt(
                "UPDATE catalog_roles SET active = 0, inactive_since = ?2, updated_at = ?2 \
                 WHERE role_id = ?1 AND active = 1",
                &[s(id.as_str()), n(now)],
            )?);
        }
        // Every row still active was in this snapshot: the gone ones are inactive by now.
        stmts.push(self.db.stmt(
            "UPDATE catalog_channels SET last_seen_at = ?2 WHERE guild_id = ?1 AND active = 1",
            &[s(g.as_str()), n(now)],
        )?);
        stmts.push(self.db.stmt(
            "UPDATE catalog_roles SET last_seen_at = ?2 WHERE guild_id = ?1 AND active = 1",
            &[s(g.as_str()), n(now)],
        )?);
        self.db.batch(stmts).await?;
        Ok(CommitSummary {
            channels_written: channels.upserts.len(),
            channels_deactivated: channels.deactivate.len(),
            roles_written: roles.upserts.len(),
            roles_deactivated: roles.deactivate.len(),
        })
    }

    /// A listed guild whose channels or roles could not be read: it is known and active (the
    /// listing shows it), its stored rows stay as they were, and the error is kept.
    pub async fn record_failure(&self, guild: &ListedGuild, code: &str, now: i64) -> Result<()> {
        self.db
            .changes(
                "INSERT INTO catalog_guilds (guild_id, name, active, sync_error, first_seen_at, \
                 last_seen_at, updated_at) VALUES (?1, ?2, 1, ?3, ?4, ?4, ?4) \
                 ON CONFLICT (guild_id) DO UPDATE SET name = excluded.name, active = 1, \
                 sync_error = excluded.sync_error, last_seen_at = excluded.last_seen_at, \
                 inactive_since = NULL, updated_at = excluded.updated_at",
                &[s(guild.guild_id.as_str()), s(&guild.name), s(code), n(now)],
            )
            .await?;
        Ok(())
    }

    /// After a whole listing: guilds the bot is no longer in become inactive (assignment kept,
    /// so a bot re-invited to the guild serves the same tenant again).
    pub async fn finish(&self, listed: &[ListedGuild], now: i64) -> Result<usize> {
        #[derive(Deserialize)]
        struct Row {
            guild_id: String,
            active: i64,
        }
        let stored: Vec<Row> = self
            .db
            .stmt("SELECT guild_id, active FROM catalog_guilds", &[])?
            .all()
            .await?
            .results()?;
        let stored: Vec<(GuildId, bool)> = stored
            .iter()
            .filter_map(|r| Some((GuildId::parse(&r.guild_id).ok()?, r.active != 0)))
            .collect();
        let fresh: Vec<GuildId> = listed.iter().map(|g| g.guild_id.clone()).collect();
        let d = diff(&stored, &fresh);
        let mut stmts = Vec::new();
        for id in &d.deactivate {
            stmts.push(self.db.stmt(
                "UPDATE catalog_guilds SET active = 0, inactive_since = ?2, updated_at = ?2 \
                 WHERE guild_id = ?1 AND active = 1",
                &[s(id.as_str()), n(now)],
            )?);
        }
        let gone = stmts.len();
        if !stmts.is_empty() {
            self.db.batch(stmts).await?;
        }
        Ok(gone)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CommitSummary {
    pub channels_written: usize,
    pub channels_deactivated: usize,
    pub roles_written: usize,
    pub roles_deactivated: usize,
}
