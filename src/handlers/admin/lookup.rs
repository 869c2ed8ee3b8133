//! What every admin resource resolves first: its tenant and connector (404 with the same
//! `error_code` everywhere) and Discord ids given in the path or query.

use relay_core::ids::{check_slug, Snowflake};
use relay_core::validate::FieldError;
use relay_core::ApiError;

use crate::db::{ConnectorRow, Db, TenantRow};
use crate::http::{ApiResult, OrUnavailable};

pub async fn tenant(db: &Db, key: &str) -> ApiResult<TenantRow> {
    if check_slug(key).is_err() {
        return Err(ApiError::not_found("no such tenant").with_code("tenant_not_found"));
    }
    db.tenants()
        .get(key)
        .await
        .or_unavailable("tenant lookup")?
        .ok_or_else(|| ApiError::not_found("no such tenant").with_code("tenant_not_found"))
}

/// The connector, after its tenant: a missing tenant is reported as such.
pub async fn connector(db: &Db, t: &str, c: &str) -> ApiResult<ConnectorRow> {
    tenant(db, t).await?;
    let missing = || ApiError::not_found("no such connector").with_code("connector_not_found");
    if check_slug(c).is_err() {
        return Err(missing());
    }
    db.connectors()
        .get(t, c)
        .await
        .or_unavailable("connector lookup")?
        .ok_or_else(missing)
}

/// The connector as a write just left it (its `config_version` and status), without the
/// tenant and slug checks its lookup already passed.
pub async fn reload(db: &Db, t: &str, c: &str) -> ApiResult<ConnectorRow> {
    db.connectors()
        .get(t, c)
        .await
        .or_unavailable("connector lookup")?
        .ok_or_else(|| ApiError::not_found("no such connector").with_code("connector_not_found"))
}

pub fn snowflake<M>(field: &str, value: &str) -> ApiResult<Snowflake<M>> {
    Snowflake::parse(value).map_err(|p| ApiError::invalid_fields(vec![FieldError::new(field, p)]))
}
