//! Scheduled maintenance: retention for every tenant's object and for the D1 projection, the
//! hourly start of the bot's catalog refresh (which runs in its own object, from alarms), and
//! the payments jobs (expiry sweep, Sell.app reconciliation: `crate::reconcile`).

use serde_json::json;
use worker::Env;

use crate::config::Config;
use crate::db::Db;
use crate::discord::Discord;
use crate::durable_objects::catalog::client::CatalogClient;
use crate::durable_objects::tenant::api;
use crate::durable_objects::tenant::client::TenantClient;
use crate::runtime::{log, new_correlation_id, now_ms};

pub async fn run(env: &Env, cron: &str) {
    let cid = new_correlation_id();
    start_catalog_refresh(env, &cid).await;
    let cfg = Config::from_env(env);
    let started = now_ms();
    let db = match Db::new(env) {
        Ok(db) => db,
        Err(e) => {
            log(
                "error",
                "maintenance: no database",
                json!({"correlation_id": cid, "error": e.to_string()}),
            );
            return;
        }
    };
    let tenants = match db.tenants().list().await {
        Ok(t) => t,
        Err(e) => {
            log(
                "error",
                "maintenance: tenant list failed",
                json!({"correlation_id": cid, "error": e.to_string()}),
            );
            return;
        }
    };
    // Used or expired Discord link states (10 minutes) are only garbage a day later.
    if let Err(e) = db.role_sync().purge_states(started).await {
        log(
            "error",
            "maintenance: link state purge failed",
            json!({"correlation_id": cid, "error": e.to_string()}),
        );
    }
    // Throttle windows last at most an hour; a day-old counter can only be garbage.
    if let Err(e) = db.throttle().purge_before(started - 86_400_000).await {
        log(
            "error",
            "maintenance: throttle purge failed",
            json!({"correlation_id": cid, "error": e.to_string()}),
        );
    }
    let mut failures = 0;
    for t in &tenants {
        let res = match TenantClient::new(env, &t.tenant_key, &cid) {
            Ok(client) => {
                client
                    .maintenance(&api::Maintenance {
                        retention_days: cfg.retention_days,
                    })
                    .await
            }
            Err(e) => Err(e),
        };
        match res {
            Ok(removed) => log(
                "info",
                "maintenance: tenant retention applied",
                json!({"correlation_id": cid, "tenant_key": t.tenant_key, "removed": removed}),
            ),
            Err(e) => {
                failures += 1;
                log(
                    "error",
                    "maintenance: tenant retention failed",
                    json!({"correlation_id": cid, "tenant_key": t.tenant_key, "error": e.to_string()}),
                );
            }
        }
        // The mirror's map follows the same rule (a record goes only with its signal).
        let mirrored =
            match crate::durable_objects::mirror::client::MirrorClient::new(env, &t.tenant_key) {
                Ok(m) => {
                    m.maintenance(&crate::durable_objects::mirror::api::Maintenance {
                        retention_days: cfg.retention_days,
                    })
                    .await
                }
                Err(e) => Err(e),
            };
        if let Err(e) = mirrored {
            log(
                "error",
                "maintenance: mirror retention failed",
                json!({"correlation_id": cid, "tenant_key": t.tenant_key, "error": e.to_string()}),
            );
        }
    }
    let media_retried = crate::media::sweep(env).await;
    // Payments: the expiry sweep and, with a Sell.app token, reconciliation.
    let keys: Vec<String> = tenants.iter().map(|t| t.tenant_key.clone()).collect();
    crate::reconcile::run(
        &crate::entitlement_changes::Ctx {
            env,
            now: started,
            cid: &cid,
        },
        &db,
        &keys,
    )
    .await;
    let cutoff = relay_core::time::days_before(started, cfg.retention_days);
    let projected = db.signals().purge_before(cutoff).await;
    let media_purged = crate::media::purge_before(env, cutoff).await;
    log(
        if failures == 0 && projected.is_ok() && media_purged.is_ok() {
            "info"
        } else {
            "error"
        },
        "maintenance finished",
        json!({
            "correlation_id": cid,
            "cron": cron,
            "tenants": tenants.len(),
            "failures": failures,
            "d1_rows_removed": projected.as_ref().ok(),
            "d1_error": projected.err().map(|e| e.to_string()),
            "retention_days": cfg.retention_days,
            "media_stored_on_retry": media_retried,
            "media_removed": media_purged.as_ref().ok(),
            "media_error": media_purged.as_ref().err().map(|e| e.to_string()),
            "ms": now_ms() - started,
        }),
    );
}

/// Asks the catalog object for a refresh; it runs from the object's alarms, so the scheduled
/// handler only starts it. Without a bot token there is nothing to read.
async fn start_catalog_refresh(env: &Env, cid: &str) {
    if Discord::from_env(env).is_none() {
        return;
    }
    let started = match CatalogClient::new(env) {
        Ok(client) => client.start("cron").await,
        Err(e) => Err(e),
    };
    match started {
        Ok(status) => log(
            "info",
            "maintenance: catalog refresh requested",
            json!({"correlation_id": cid, "state": status.state, "again": status.again}),
        ),
        Err(e) => log(
            "error",
            "maintenance: catalog refresh could not be requested",
            json!({"correlation_id": cid, "error": e.to_string()}),
        ),
    }
}
