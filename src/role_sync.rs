//! Role sync's glue at the edge: telling a tenant's RoleSync object that a customer's
//! entitlements or link changed. The object recomputes everything from D1, so a notification
//! carries only who; a lost one is caught by the next drift pass.

use serde_json::json;
use worker::Env;

use crate::db::Db;
use crate::durable_objects::role_sync::client::RoleSyncClient;
use crate::runtime::log;

/// Reconcile these Discord users now (the new account of a relink first).
pub async fn sync_users(env: &Env, tenant: &str, users: Vec<String>, reason: &str) {
    if users.is_empty() {
        return;
    }
    let r = match RoleSyncClient::new(env, tenant) {
        Ok(c) => c.sync(users.clone(), reason).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = r {
        log(
            "error",
            "role sync notification failed",
            json!({"tenant_key": tenant, "users": users, "reason": reason, "error": e.to_string()}),
        );
    }
}

/// A customer's entitlements changed (payment settled, operator grant or revocation): if they
/// linked Discord, their roles are reconciled at once.
pub async fn customer_changed(env: &Env, db: &Db, tenant: &str, customer: &str, reason: &str) {
    match db.role_sync().link(tenant, customer).await {
        Ok(Some(link)) => sync_users(env, tenant, vec![link.discord_user_id], reason).await,
        Ok(None) => {}
        Err(e) => log(
            "error",
            "role sync link lookup failed",
            json!({"tenant_key": tenant, "customer_id": customer, "error": e.to_string()}),
        ),
    }
}
