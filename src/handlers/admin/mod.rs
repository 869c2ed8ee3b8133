//! Operator API under `/v1/admin` (bearer `ADMIN_TOKEN`, checked by the dispatcher for the
//! whole area): one module per resource, each with a `handle` matching its route enum.

use relay_core::routes::AdminRoute;
use worker::Request;

use crate::db::Db;
use crate::handlers::context::Cx;
use crate::http::{ApiResult, OrUnavailable};

mod catalog;
mod connectors;
mod customers;
mod discord;
mod discovery;
mod feed_stats;
mod lookup;
mod mappings;
mod media;
mod mirroring;
mod payments;
mod rejections;
mod role_sync;
mod seats;
mod shop_admin;
mod signals;
mod sources;
mod tenants;
mod threads;
mod tiers;
mod visibility;

pub async fn handle(req: &mut Request, cx: &Cx, route: AdminRoute) -> ApiResult {
    // The Discord area is deployment-wide and reads no D1: it must answer while D1 is down.
    let route = match route {
        AdminRoute::Discord(route) => return discord::handle(cx, route).await,
        other => other,
    };
    // Every other admin route reads D1: without it none can answer, so say so before parsing
    // anything.
    let db = Db::new(&cx.env).or_unavailable("database")?;
    match route {
        AdminRoute::Discord(route) => discord::handle(cx, route).await,
        AdminRoute::Catalog(route) => catalog::handle(req, cx, &db, route).await,
        AdminRoute::TenantCatalog { tenant, route } => {
            catalog::handle_tenant(req, cx, &db, &tenant, route).await
        }
        AdminRoute::Tenants(route) => tenants::handle(req, cx, &db, route).await,
        AdminRoute::Connectors { tenant, route } => {
            connectors::handle(req, cx, &db, &tenant, route).await
        }
        AdminRoute::Sources {
            tenant,
            connector,
            route,
        } => sources::handle(req, cx, &db, &tenant, &connector, route).await,
        AdminRoute::Mappings {
            tenant,
            connector,
            route,
        } => mappings::handle(req, cx, &db, &tenant, &connector, route).await,
        AdminRoute::Mirroring {
            tenant,
            connector,
            route,
        } => mirroring::handle(req, cx, &db, &tenant, &connector, route).await,
        AdminRoute::Discovery {
            tenant,
            connector,
            route,
        } => discovery::handle(req, cx, &db, &tenant, &connector, route).await,
        AdminRoute::Rejections {
            tenant,
            connector,
            route,
        } => rejections::handle(cx, &db, &tenant, &connector, route).await,
        AdminRoute::Signals { tenant, route } => {
            signals::handle(req, cx, &db, &tenant, route).await
        }
        AdminRoute::Threads { tenant, route } => threads::handle(cx, &db, &tenant, route).await,
        AdminRoute::FeedStats { tenant, route } => {
            feed_stats::handle(cx, &db, &tenant, route).await
        }
        AdminRoute::Tiers { tenant, route } => tiers::handle(req, cx, &db, &tenant, route).await,
        AdminRoute::Visibility { tenant, route } => {
            visibility::handle(req, cx, &db, &tenant, route).await
        }
        AdminRoute::Customers { tenant, route } => {
            customers::handle(req, cx, &db, &tenant, route).await
        }
        AdminRoute::Payments { tenant, route } => {
            payments::handle(req, cx, &db, &tenant, route).await
        }
        AdminRoute::Media { tenant, route } => media::handle(req, cx, &db, &tenant, route).await,
        AdminRoute::Seats { tenant, route } => seats::handle(req, cx, &db, &tenant, route).await,
        AdminRoute::SeatSwitch(route) => seats::handle_switch(req, cx, &db, route).await,
        AdminRoute::RoleSync { tenant, route } => {
            role_sync::handle(req, cx, &db, &tenant, route).await
        }
    }
}
