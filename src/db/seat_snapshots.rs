//! `seat_snapshots`: the seat object's projection of each guild's last audit, for the console.
//! Only the seat object writes it (and the admin API deletes a removed guild's row with its
//! config).

use serde::{Deserialize, Serialize};
use worker::{D1PreparedStatement, Result};

use super::bind::{n, opt, opt_n, s};
use super::handle::Db;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotRow {
    pub tenant_key: String,
    pub guild_id: String,
    pub seats_used: Option<i64>,
    pub seats_exact: Option<i64>,
    pub seat_limit: i64,
    pub over_limit: Option<i64>,
    pub checked_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub next_check_at: Option<i64>,
    pub state: String,
    pub last_error_code: Option<String>,
    pub last_error_message: Option<String>,
    pub consecutive_failures: i64,
    pub notices_posted: i64,
    pub audits: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "tenant_key, guild_id, seats_used, seats_exact, seat_limit, over_limit, \
    checked_at, last_attempt_at, next_check_at, state, last_error_code, last_error_message, \
    consecutive_failures, notices_posted, audits, updated_at";

pub struct SeatSnapshots<'a> {
    pub(super) db: &'a Db,
}

impl SeatSnapshots<'_> {
    pub async fn list(&self, tenant: &str) -> Result<Vec<SnapshotRow>> {
        self.db
            .stmt(
                &format!("SELECT {COLUMNS} FROM seat_snapshots WHERE tenant_key = ?1"),
                &[s(tenant)],
            )?
            .all()
            .await?
            .results()
    }

    /// Upserts rows; a row is only ever replaced by a newer one (`updated_at`), so a late
    /// projection never regresses the console.
    pub async fn upsert(&self, rows: &[SnapshotRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut stmts = Vec::with_capacity(rows.len());
        for r in rows {
            stmts.push(self.db.stmt(
                &format!(
                    "INSERT INTO seat_snapshots ({COLUMNS}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
                     ON CONFLICT (tenant_key, guild_id) DO UPDATE SET \
                     seats_used = excluded.seats_used, seats_exact = excluded.seats_exact, \
                     seat_limit = excluded.seat_limit, over_limit = excluded.over_limit, \
                     checked_at = excluded.checked_at, last_attempt_at = excluded.last_attempt_at, \
                     next_check_at = excluded.next_check_at, state = excluded.state, \
                     last_error_code = excluded.last_error_code, \
                     last_error_message = excluded.last_error_message, \
                     consecutive_failures = excluded.consecutive_failures, \
                     notices_posted = excluded.notices_posted, audits = excluded.audits, \
                     updated_at = excluded.updated_at \
                     WHERE excluded.updated_at >= seat_snapshots.updated_at"
                ),
                &[
                    s(&r.tenant_key),
                    s(&r.guild_id),
                    opt_n(r.seats_used),
                    opt_n(r.seats_exact),
                    n(r.seat_limit),
                    opt_n(r.over_limit),
                    opt_n(r.checked_at),
                    opt_n(r.last_attempt_at),
                    opt_n(r.next_check_at),
                    s(&r.state),
                    opt(r.last_error_code.as_deref()),
                    opt(r.last_error_message.as_deref()),
                    n(r.consecutive_failures),
                    n(r.notices_posted),
                    n(r.audits),
                    n(r.updated_at),
                ],
            )?);
        }
        self.db.batch(stmts).await
    }

    pub fn delete_stmt(&self, tenant: &str, guild: &str) -> Result<D1PreparedStatement> {
        self.db.stmt(
            "DELETE FROM seat_snapshots WHERE tenant_key = ?1 AND guild_id = ?2",
            &[s(tenant), s(guild)],
        )
    }
}
