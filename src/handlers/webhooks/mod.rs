//! `/webhooks/...`: deliveries from payment providers. No session or bearer: each delivery is
//! authenticated by its signature with the tenant's secret, and refused when none is set.

use relay_core::routes::WebhookRoute;
use worker::Request;

use crate::handlers::context::Cx;
use crate::http::ApiResult;

mod sellapp;

pub async fn handle(req: &mut Request, cx: &Cx, route: WebhookRoute) -> ApiResult {
    match route {
        WebhookRoute::Sellapp { tenant } => sellapp::receive(req, cx, &tenant).await,
    }
}
