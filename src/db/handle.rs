//! The D1 binding and the per-aggregate handles over it.

use serde_json::Value;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env, Result};

use super::{
    audit, catalog, connectors, customers, discovery, entitlements, flags, held_orders, mappings,
    media, policies, resets, role_sync, seat_snapshots, seats, sellapp_secrets, sessions, signals,
    sources, tenants, throttle, tiers, trial_claims, visibility, webhook_events,
};
use super::{payment_settings, reconciliation_runs, sales, shop};

pub struct Db {
    pub(super) d1: D1Database,
}

impl Db {
    pub fn new(env: &Env) -> Result<Self> {
        Ok(Db { d1: env.d1("DB")? })
    }

    pub(super) fn stmt(&self, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement> {
        self.d1.prepare(sql).bind(args)
    }

    pub(super) async fn changes(&self, sql: &str, args: &[JsValue]) -> Result<usize> {
        let res = self.stmt(sql, args)?.run().await?;
        Ok(res.meta()?.and_then(|m| m.changes).unwrap_or(0))
    }

    /// Runs statements as one transaction and returns how many rows each changed.
    pub(super) async fn batch_changes(
        &self,
        stmts: Vec<D1PreparedStatement>,
    ) -> Result<Vec<usize>> {
        let results = self.d1.batch(stmts).await?;
        Ok(results
            .iter()
            .map(|r| r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0))
            .collect())
    }

    /// Runs statements from any owners as one transaction.
    pub async fn batch(&self, stmts: Vec<D1PreparedStatement>) -> Result<()> {
        self.d1.batch(stmts).await?;
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        self.d1
            .prepare("SELECT 1 AS one")
            .first::<Value>(None)
            .await?;
        Ok(())
    }

    pub fn tenants(&self) -> tenants::Tenants<'_> {
        tenants::Tenants { db: self }
    }

    pub fn connectors(&self) -> connectors::Connectors<'_> {
        connectors::Connectors { db: self }
    }

    pub fn sources(&self) -> sources::Sources<'_> {
        sources::Sources { db: self }
    }

    pub fn mappings(&self) -> mappings::Mappings<'_> {
        mappings::Mappings { db: self }
    }

    pub fn discovery(&self) -> discovery::Discovery<'_> {
        discovery::Discovery { db: self }
    }

    pub fn catalog(&self) -> catalog::Catalog<'_> {
        catalog::Catalog { db: self }
    }

    pub fn signals(&self) -> signals::Signals<'_> {
        signals::Signals { db: self }
    }

    pub fn customers(&self) -> customers::Customers<'_> {
        customers::Customers { db: self }
    }

    pub fn sessions(&self) -> sessions::Sessions<'_> {
        sessions::Sessions { db: self }
    }

    pub fn tiers(&self) -> tiers::Tiers<'_> {
        tiers::Tiers { db: self }
    }

    pub fn visibility(&self) -> visibility::Visibility<'_> {
        visibility::Visibility { db: self }
    }

    pub fn entitlements(&self) -> entitlements::Entitlements<'_> {
        entitlements::Entitlements { db: self }
    }

    pub fn resets(&self) -> resets::Resets<'_> {
        resets::Resets { db: self }
    }

    pub fn throttle(&self) -> throttle::Throttle<'_> {
        throttle::Throttle { db: self }
    }

    pub fn audit(&self) -> audit::Audit<'_> {
        audit::Audit { db: self }
    }

    pub fn sellapp_secrets(&self) -> sellapp_secrets::SellappSecrets<'_> {
        sellapp_secrets::SellappSecrets { db: self }
    }

    pub fn webhook_events(&self) -> webhook_events::WebhookEvents<'_> {
        webhook_events::WebhookEvents { db: self }
    }

    pub fn policies(&self) -> policies::Policies<'_> {
        policies::Policies { db: self }
    }

    pub fn held_orders(&self) -> held_orders::HeldOrders<'_> {
        held_orders::HeldOrders { db: self }
    }

    pub fn trial_claims(&self) -> trial_claims::TrialClaims<'_> {
        trial_claims::TrialClaims { db: self }
    }

    pub fn seats(&self) -> seats::Seats<'_> {
        seats::Seats { db: self }
    }

    pub fn seat_snapshots(&self) -> seat_snapshots::SeatSnapshots<'_> {
        seat_snapshots::SeatSnapshots { db: self }
    }

    pub fn role_sync(&self) -> role_sync::RoleSync<'_> {
        role_sync::RoleSync { db: self }
    }

    pub fn flags(&self) -> flags::Flags<'_> {
        flags::Flags { db: self }
    }

    pub fn media(&self) -> media::Media<'_> {
        media::Media { db: self }
    }

    pub fn payment_settings(&self) -> payment_settings::PaymentSettings<'_> {
        payment_settings::PaymentSettings { db: self }
    }

    pub fn shop(&self) -> shop::Shop<'_> {
        shop::Shop { db: self }
    }

    pub fn sales(&self) -> sales::Sales<'_> {
        sales::Sales { db: self }
    }

    pub fn reconciliation_runs(&self) -> reconciliation_runs::ReconciliationRuns<'_> {
        reconciliation_runs::ReconciliationRuns { db: self }
    }
}
