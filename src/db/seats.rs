//! `seat_configs` (per tenant and customer guild: limit, mode) and `seat_settings` (the kill
//! switch): written by the admin API, read by the admin API and by the seat object when its
//! storage is empty.

use serde::Deserialize;
use worker::{D1PreparedStatement, Result};

use super::bind::{n, s};
use super::handle::Db;

#[derive(Debug, Clone, Deserialize)]
pub struct ConfigRow {
    pub tenant_key: String,
    pub guild_id: String,
    pub seat_limit: i64,
    pub mode: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const KILL_SWITCH: &str = "kill_switch";

pub struct Seats<'a> {
    pub(super) db: &'a Db,
}

impl Seats<'_> {
    pub async fn list(&self, tenant: &str) -> Result<Vec<ConfigRow>> {
        self.db
            .stmt(
                "SELECT tenant_key, guild_id, seat_limit, mode, created_at, updated_at \
                 FROM seat_configs WHERE tenant_key = ?1 ORDER BY guild_id",
                &[s(tenant)],
            )?
            .all()
            .await?
            .results()
    }

    pub async fn get(&self, tenant: &str, guild: &str) -> Result<Option<ConfigRow>> {
        self.db
            .stmt(
                "SELECT tenant_key, guild_id, seat_limit, mode, created_at, updated_at \
                 FROM seat_configs WHERE tenant_key = ?1 AND guild_id = ?2",
                &[s(tenant), s(guild)],
            )?
            .first(None)
            .await
    }

    pub async fn upsert(
        &self,
        tenant: &str,
        guild: &str,
        limit: u64,
        mode: &str,
        now: i64,
    ) -> Result<()> {
        self.db
            .stmt(
                "INSERT INTO seat_configs (tenant_key, guild_id, seat_limit, mode, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (tenant_key, guild_id) DO UPDATE SET \
                 seat_limit = excluded.seat_limit, mode = excluded.mode, updated_at = excluded.updated_at",
                &[s(tenant), s(guild), n(limit as i64), s(mode), n(now)],
            )?
            .run()
            .await?;
        Ok(())
    }

    pub fn delete_stmt(&self, tenant: &str, guild: &str) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "DELETE FROM seat_configs WHERE tenant_key = ?1 AND guild_id = ?2",
            &[s(tenant), s(guild)],
        )
    }

    /// The tenants with at least one seat config (the kill switch is pushed to their objects).
    pub async fn tenants(&self) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct T {
            tenant_key: String,
        }
        let rows: Vec<T> = self
            .db
            .stmt(
                "SELECT DISTINCT tenant_key FROM seat_configs ORDER BY tenant_key",
                &[],
            )?
            .all()
            .await?
            .results()?;
        Ok(rows.into_iter().map(|t| t.tenant_key).collect())
    }

    /// The kill switch and when it was last set.
    pub async fn kill_switch(&self) -> Result<(bool, Option<i64>)> {
        #[derive(Deserialize)]
        struct Setting {
            value: String,
            updated_at: i64,
        }
        let row: Option<Setting> = self
            .db
            .stmt(
                "SELECT value, updated_at FROM seat_settings WHERE key = ?1",
                &[s(KILL_SWITCH)],
            )?
            .first(None)
            .await?;
        Ok(row.map_or((false, None), |r| (r.value == "1", Some(r.updated_at))))
    }

    pub async fn set_kill_switch(&self, engaged: bool, now: i64) -> Result<()> {
        self.db
            .stmt(
                "INSERT INTO seat_settings (key, value, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                &[s(KILL_SWITCH), s(if engaged { "1" } else { "0" }), n(now)],
            )?
            .run()
            .await?;
        Ok(())
    }
}
