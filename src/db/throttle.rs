//! `auth_throttle`: attempt counters for login, signup and reset requests.

use relay_accounts::throttle::{Counter, Rule};
use serde::Deserialize;
use worker::Result;

use super::bind::{n, s};
use super::handle::Db;

pub struct Throttle<'a> {
    pub(super) db: &'a Db,
}

impl Throttle<'_> {
    /// Counts one attempt atomically — the SQL mirrors `relay_accounts::throttle::attempt` — and
    /// returns the counter including it, for `throttle::verdict`.
    pub async fn hit(&self, bucket: &str, rule: Rule, now: i64) -> Result<Counter> {
        #[derive(Deserialize)]
        struct Row {
            window_start: i64,
            count: i64,
        }
        let row: Option<Row> = self
            .db
            .stmt(
                "INSERT INTO auth_throttle (bucket, window_start, count) VALUES (?1, ?2, 1) \
                 ON CONFLICT (bucket) DO UPDATE SET \
                   count = CASE WHEN ?2 < window_start OR ?2 >= window_start + ?3 THEN 1 ELSE count + 1 END, \
                   window_start = CASE WHEN ?2 < window_start OR ?2 >= window_start + ?3 THEN ?2 ELSE window_start END \
                 RETURNING window_start, count",
                &[s(bucket), n(now), n(rule.window_ms)],
            )?
            .first(None)
            .await?;
        let row = row.unwrap_or(Row {
            window_start: now,
            count: 1,
        });
        Ok(Counter {
            window_start: row.window_start,
            count: row.count.clamp(0, u32::MAX as i64) as u32,
        })
    }

    /// A successful login clears the account's counter (not the IP's).
    pub async fn clear(&self, bucket: &str) -> Result<()> {
        self.db
            .changes("DELETE FROM auth_throttle WHERE bucket = ?1", &[s(bucket)])
            .await?;
        Ok(())
    }

    /// Maintenance: counters whose window ended long ago.
    pub async fn purge_before(&self, cutoff: i64) -> Result<usize> {
        self.db
            .changes(
                "DELETE FROM auth_throttle WHERE window_start < ?1",
                &[n(cutoff)],
            )
            .await
    }
}
