//! `reconciliation_runs`: the last scheduled reconciliation of each tenant, for the console.

use serde::Deserialize;
use serde_json::{json, Value};
use worker::Result;

use super::bind::{n, opt, s};
use super::handle::Db;
use relay_core::time::Timestamp;

#[derive(Debug, Clone, Deserialize)]
pub struct RunRow {
    pub started_at: i64,
    pub finished_at: i64,
    pub invoices_seen: i64,
    pub decided: i64,
    pub revoked: i64,
    pub error: Option<String>,
    pub correlation_id: String,
}

impl RunRow {
    pub fn to_json(&self) -> Value {
        json!({
            "started_at": Timestamp::from_ms(self.started_at).to_rfc3339(),
            "finished_at": Timestamp::from_ms(self.finished_at).to_rfc3339(),
            "finished_at_ms": self.finished_at,
            "invoices_seen": self.invoices_seen,
            "decided": self.decided,
            "revoked": self.revoked,
            "error": self.error,
            "correlation_id": self.correlation_id,
        })
    }
}

pub struct ReconciliationRuns<'a> {
    pub(super) db: &'a Db,
}

impl ReconciliationRuns<'_> {
    pub async fn last(&self, tenant: &str) -> Result<Option<RunRow>> {
        self.db
            .stmt(
                "SELECT started_at, finished_at, invoices_seen, decided, revoked, error, correlation_id \
                 FROM reconciliation_runs WHERE tenant_key = ?1",
                &[s(tenant)],
            )?
            .first(None)
            .await
    }

    pub async fn record(&self, tenant: &str, r: &RunRow) -> Result<()> {
        self.db
            .stmt(
                "INSERT INTO reconciliation_runs (tenant_key, started_at, finished_at, invoices_seen, decided, revoked, error, correlation_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (tenant_key) DO UPDATE SET started_at = excluded.started_at, \
                 finished_at = excluded.finished_at, invoices_seen = excluded.invoices_seen, decided = excluded.decided, \
                 revoked = excluded.revoked, error = excluded.error, correlation_id = excluded.correlation_id",
                &[
                    s(tenant), n(r.started_at), n(r.finished_at), n(r.invoices_seen), n(r.decided),
                    n(r.revoked), opt(r.error.as_deref()), s(&r.correlation_id),
                ],
            )?
            .run()
            .await?;
        Ok(())
    }
}
