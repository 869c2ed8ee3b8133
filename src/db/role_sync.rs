//! Discord linking and role sync (migration 0008): `discord_links`, `discord_link_states`,
//! `role_sync_settings`, `role_mappings` (written by the customer and operator APIs) and the
//! RoleSync object's projection, `role_states` and `role_changes` (written only by that
//! object).

use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::bind::{n, opt, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct LinkRow {
    pub customer_id: String,
    pub discord_user_id: String,
    pub username: String,
    pub global_name: Option<String>,
    pub linked_at: i64,
}

impl LinkRow {
    pub fn to_json(&self) -> Value {
        json!({
            "discord_user_id": self.discord_user_id,
            "username": self.username,
            "global_name": self.global_name,
            "linked_at_ms": self.linked_at,
            "linked_at": relay_core::time::Timestamp::from_ms(self.linked_at).to_rfc3339(),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct StateRow {
    pub tenant_key: String,
    pub customer_id: String,
    pub session_hash: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SettingsRow {
    pub lapse_action: String,
    pub grace_ms: i64,
    pub auto_join: i64,
    pub drift_interval_ms: i64,
    pub updated_at: i64,
}

/// Defaults when a tenant never saved settings: remove roles, no grace, no auto-join, a drift
/// pass every 10 minutes.
pub const DEFAULT_DRIFT_MS: i64 = 600_000;

impl SettingsRow {
    pub fn default_row() -> Self {
        SettingsRow {
            lapse_action: "remove_roles".into(),
            grace_ms: 0,
            auto_join: 0,
            drift_interval_ms: DEFAULT_DRIFT_MS,
            updated_at: 0,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "lapse_action": self.lapse_action,
            "grace_days": self.grace_ms as f64 / relay_core::time::DAY_MS as f64,
            "grace_ms": self.grace_ms,
            "auto_join": self.auto_join != 0,
            "drift_interval_seconds": self.drift_interval_ms / 1000,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct MappingRow {
    pub guild_id: String,
    pub tier_key: String,
    pub role_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RoleStateRow {
    pub guild_id: String,
    pub discord_user_id: String,
    pub customer_id: Option<String>,
    pub desired_json: String,
    pub actual_json: Option<String>,
    pub granted_json: String,
    pub status: String,
    pub errors_json: String,
    pub last_sync_at: i64,
}

fn parse(v: &str) -> Value {
    serde_json::from_str(v).unwrap_or(Value::Null)
}

impl RoleStateRow {
    pub fn to_json(&self) -> Value {
        json!({
            "guild_id": self.guild_id,
            "discord_user_id": self.discord_user_id,
            "customer_id": self.customer_id,
            "desired": parse(&self.desired_json),
            "actual": self.actual_json.as_deref().map(parse),
            "granted_by_us": parse(&self.granted_json),
            "status": self.status,
            "errors": parse(&self.errors_json),
            "last_sync_at_ms": self.last_sync_at,
        })
    }
}

pub struct NewState<'a> {
    pub tenant: &'a str,
    pub guild_id: &'a str,
    pub discord_user_id: &'a str,
    pub customer_id: Option<&'a str>,
    pub desired_json: &'a str,
    pub actual_json: Option<&'a str>,
    pub granted_json: &'a str,
    pub status: &'a str,
    pub errors_json: &'a str,
    pub now: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChangeRow {
    pub change_id: i64,
    pub guild_id: String,
    pub discord_user_id: String,
    pub customer_id: Option<String>,
    pub action: String,
    pub role_id: Option<String>,
    pub reason: String,
    pub outcome: String,
    pub error_code: Option<String>,
    pub at: i64,
}

impl ChangeRow {
    pub fn to_json(&self) -> Value {
        json!({
            "change_id": self.change_id, "guild_id": self.guild_id,
            "discord_user_id": self.discord_user_id, "customer_id": self.customer_id,
            "action": self.action, "role_id": self.role_id, "reason": self.reason,
            "outcome": self.outcome, "error_code": self.error_code, "at_ms": self.at,
        })
    }
}

pub struct NewChange<'a> {
    pub tenant: &'a str,
    pub guild_id: &'a str,
    pub discord_user_id: &'a str,
    pub customer_id: Option<&'a str>,
    pub action: &'a str,
    pub role_id: Option<&'a str>,
    pub reason: &'a str,
    pub outcome: &'a str,
    pub error_code: Option<&'a str>,
    pub now: i64,
}

pub struct RoleSync<'a> {
    pub(super) db: &'a Db,
}

const LINK_COLS: &str = "customer_id, discord_user_id, username, global_name, linked_at";
const STATE_COLS: &str = "guild_id, discord_user_id, customer_id, desired_json, actual_json, \
     granted_json, status, errors_json, last_sync_at";
const CHANGE_COLS: &str = "change_id, guild_id, discord_user_id, customer_id, action, role_id, \
     reason, outcome, error_code, at";

impl RoleSync<'_> {
    // --- links ---

    pub async fn link(&self, tenant: &str, customer: &str) -> Result<Option<LinkRow>> {
        self.db
            .stmt(
                &format!("SELECT {LINK_COLS} FROM discord_links WHERE tenant_key = ?1 AND customer_id = ?2"),
                &[s(tenant), s(customer)],
            )?
            .first(None)
            .await
    }

    pub async fn link_by_user(&self, tenant: &str, user: &str) -> Result<Option<LinkRow>> {
        self.db
            .stmt(
                &format!("SELECT {LINK_COLS} FROM discord_links WHERE tenant_key = ?1 AND discord_user_id = ?2"),
                &[s(tenant), s(user)],
            )?
            .first(None)
            .await
    }

    pub async fn links(&self, tenant: &str) -> Result<Vec<LinkRow>> {
        self.db
            .stmt(
                &format!("SELECT {LINK_COLS} FROM discord_links WHERE tenant_key = ?1 ORDER BY linked_at"),
                &[s(tenant)],
            )?
            .all()
            .await?
            .results()
    }

    /// Replaces the customer's link (a relink); the UNIQUE key refuses an account another
    /// customer of the tenant holds, so a race between two claims cannot produce two owners.
    pub fn put_link(
        &self,
        tenant: &str,
        customer: &str,
        user: &str,
        username: &str,
        global_name: Option<&str>,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO discord_links (tenant_key, customer_id, discord_user_id, username, global_name, linked_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (tenant_key, customer_id) DO UPDATE SET discord_user_id = excluded.discord_user_id, \
             username = excluded.username, global_name = excluded.global_name, linked_at = excluded.linked_at",
            &[s(tenant), s(customer), s(user), s(username), opt(global_name), n(now)],
        )
    }

    pub fn delete_link(&self, tenant: &str, customer: &str) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "DELETE FROM discord_links WHERE tenant_key = ?1 AND customer_id = ?2",
            &[s(tenant), s(customer)],
        )
    }

    // --- OAuth state ---

    pub fn put_state(
        &self,
        hash: &str,
        tenant: &str,
        customer: &str,
        session_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO discord_link_states (state_hash, tenant_key, customer_id, session_hash, expires_at, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[s(hash), s(tenant), s(customer), s(session_hash), n(expires_at), n(now)],
        )
    }

    pub async fn state(&self, hash: &str) -> Result<Option<StateRow>> {
        self.db
            .stmt(
                "SELECT tenant_key, customer_id, session_hash, expires_at, used_at FROM discord_link_states WHERE state_hash = ?1",
                &[s(hash)],
            )?
            .first(None)
            .await
    }

    /// Marks the state used; 0 changes means someone used it first (single use, race-free).
    pub async fn use_state(&self, hash: &str, now: i64) -> Result<usize> {
        self.db
            .changes(
                "UPDATE discord_link_states SET used_at = ?2 WHERE state_hash = ?1 AND used_at IS NULL",
                &[s(hash), n(now)],
            )
            .await
    }

    pub async fn purge_states(&self, now: i64) -> Result<usize> {
        self.db
            .changes(
                "DELETE FROM discord_link_states WHERE expires_at < ?1",
                &[n(now - 86_400_000)],
            )
            .await
    }

    // --- settings and mappings ---

    pub async fn settings(&self, tenant: &str) -> Result<SettingsRow> {
        Ok(self
            .db
            .stmt(
                "SELECT lapse_action, grace_ms, auto_join, drift_interval_ms, updated_at FROM role_sync_settings WHERE tenant_key = ?1",
                &[s(tenant)],
            )?
            .first(None)
            .await?
            .unwrap_or_else(SettingsRow::default_row))
    }

    pub async fn put_settings(&self, tenant: &str, row: &SettingsRow) -> Result<()> {
        self.db
            .stmt(
                "INSERT INTO role_sync_settings (tenant_key, lapse_action, grace_ms, auto_join, drift_interval_ms, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (tenant_key) DO UPDATE SET \
                 lapse_action = excluded.lapse_action, grace_ms = excluded.grace_ms, auto_join = excluded.auto_join, \
                 drift_interval_ms = excluded.drift_interval_ms, updated_at = excluded.updated_at",
                &[s(tenant), s(&row.lapse_action), n(row.grace_ms), n(row.auto_join), n(row.drift_interval_ms), n(row.updated_at)],
            )?
            .run()
            .await?;
        Ok(())
    }

    pub async fn mappings(&self, tenant: &str) -> Result<Vec<MappingRow>> {
        self.db
            .stmt(
                "SELECT guild_id, tier_key, role_id FROM role_mappings WHERE tenant_key = ?1 ORDER BY guild_id, tier_key, role_id",
                &[s(tenant)],
            )?
            .all()
            .await?
            .results()
    }

    /// The statements that make (guild, tier) map to exactly `roles`.
    pub fn replace_mapping(
        &self,
        tenant: &str,
        guild: &str,
        tier: &str,
        roles: &[String],
        now: i64,
    ) -> Result<Vec<D1PreparedStatement>> {
        let mut out = vec![self.db.stmt(
            "DELETE FROM role_mappings WHERE tenant_key = ?1 AND guild_id = ?2 AND tier_key = ?3",
            &[s(tenant), s(guild), s(tier)],
        )?];
        for r in roles {
            out.push(self.db.stmt(
                "INSERT INTO role_mappings (tenant_key, guild_id, tier_key, role_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                &[s(tenant), s(guild), s(tier), s(r), n(now)],
            )?);
        }
        Ok(out)
    }

    // --- the RoleSync object's projection ---

    pub fn put_state_row(&self, st: &NewState) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO role_states (tenant_key, guild_id, discord_user_id, customer_id, desired_json, actual_json, granted_json, status, errors_json, last_sync_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (tenant_key, guild_id, discord_user_id) DO UPDATE SET \
             customer_id = excluded.customer_id, desired_json = excluded.desired_json, actual_json = excluded.actual_json, \
             granted_json = excluded.granted_json, status = excluded.status, errors_json = excluded.errors_json, last_sync_at = excluded.last_sync_at",
            &[
                s(st.tenant), s(st.guild_id), s(st.discord_user_id), opt(st.customer_id), s(st.desired_json),
                opt(st.actual_json), s(st.granted_json), s(st.status), s(st.errors_json), n(st.now),
            ],
        )
    }

    pub fn delete_state_row(
        &self,
        tenant: &str,
        guild: &str,
        user: &str,
    ) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "DELETE FROM role_states WHERE tenant_key = ?1 AND guild_id = ?2 AND discord_user_id = ?3",
            &[s(tenant), s(guild), s(user)],
        )
    }

    pub fn record_change(&self, c: &NewChange) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "INSERT INTO role_changes (tenant_key, guild_id, discord_user_id, customer_id, action, role_id, reason, outcome, error_code, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            &[
                s(c.tenant), s(c.guild_id), s(c.discord_user_id), opt(c.customer_id), s(c.action),
                opt(c.role_id), s(c.reason), s(c.outcome), opt(c.error_code), n(c.now),
            ],
        )
    }

    pub async fn states(&self, tenant: &str, customer: Option<&str>) -> Result<Vec<RoleStateRow>> {
        let (sql, args) = match customer {
            Some(c) => (
                format!("SELECT {STATE_COLS} FROM role_states WHERE tenant_key = ?1 AND customer_id = ?2 ORDER BY guild_id"),
                vec![s(tenant), s(c)],
            ),
            None => (
                format!("SELECT {STATE_COLS} FROM role_states WHERE tenant_key = ?1 ORDER BY customer_id, guild_id"),
                vec![s(tenant)],
            ),
        };
        self.db.stmt(&sql, &args)?.all().await?.results()
    }

    pub async fn changes(
        &self,
        tenant: &str,
        customer: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ChangeRow>> {
        let (sql, args) = match customer {
            Some(c) => (
                format!("SELECT {CHANGE_COLS} FROM role_changes WHERE tenant_key = ?1 AND customer_id = ?2 ORDER BY change_id DESC LIMIT ?3"),
                vec![s(tenant), s(c), n(limit)],
            ),
            None => (
                format!("SELECT {CHANGE_COLS} FROM role_changes WHERE tenant_key = ?1 ORDER BY change_id DESC LIMIT ?2"),
                vec![s(tenant), n(limit)],
            ),
        };
        self.db.stmt(&sql, &args)?.all().await?.results()
    }
}
