//! The HTTP route table, as a pure function from (method, path) to a route, so 404/405
//! behaviour is tested natively and the worker's dispatcher stays a flat `match`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    // Connector protocol
    RuntimeConfig {
        connector_id: String,
    },
    IngestMessages,
    IngestThread,
    IngestDiscovery,
    // Live feed
    FeedTicket,
    Feed,
    // Admin
    Tenants,
    CreateTenant,
    Tenant {
        tenant: String,
    },
    Connectors {
        tenant: String,
    },
    CreateConnector {
        tenant: String,
    },
    Connector {
        tenant: String,
        connector: String,
    },
    PatchConnector {
        tenant: String,
        connector: String,
    },
    RotateToken {
        tenant: String,
        connector: String,
    },
    Pause {
        tenant: String,
        connector: String,
    },
    Resume {
        tenant: String,
        connector: String,
    },
    Sources {
        tenant: String,
        connector: String,
    },
    PutSource {
        tenant: String,
        connector: String,
        channel: String,
    },
    DeleteSource {
        tenant: String,
        connector: String,
        channel: String,
    },
    Mappings {
        tenant: String,
        connector: String,
    },
    PutMapping {
        tenant: String,
        connector: String,
        source: String,
        target: String,
    },
    DeleteMapping {
        tenant: String,
        connector: String,
        source: String,
        target: String,
    },
    DiscoveryRequest {
        tenant: String,
        connector: String,
    },
    Guilds {
        tenant: String,
        connector: String,
    },
    Rejections {
        tenant: String,
        connector: String,
    },
    Channels {
        tenant: String,
        connector: String,
    },
    Signals {
        tenant: String,
    },
    Threads {
        tenant: String,
    },
    FeedStats {
        tenant: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    /// The path exists; `allow` lists its methods for the `Allow` header.
    MethodNotAllowed {
        allow: &'static str,
    },
}

fn pick(method: &str, allow: &'static str, options: &[(&str, Route)]) -> Result<Route, RouteError> {
    options
        .iter()
        .find(|(m, _)| *m == method)
        .map(|(_, r)| r.clone())
        .ok_or(RouteError::MethodNotAllowed { allow })
}

/// The first path segment of every API route. `wrangler.toml`'s `run_worker_first` must list
/// each (a test checks), so the platform never looks an API path up as a static asset; a
/// route whose first segment is missing here is unreachable.
pub const API_TOP_LEVEL: &[&str] = &["health", "connectors", "ingest", "v1"];

/// Matches a method and a path (without query string). `HEAD` is treated as `GET`.
pub fn match_route(method: &str, path: &str) -> Result<Route, RouteError> {
    let method = if method == "HEAD" { "GET" } else { method };
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    if !segs.first().is_some_and(|top| API_TOP_LEVEL.contains(top)) {
        return Err(RouteError::NotFound);
    }
    let s = |x: &str| x.to_string();
    match segs.as_slice() {
        ["health"] => pick(method, "GET", &[("GET", Route::Health)]),
        ["connectors", c, "runtime-config"] => pick(
            method,
            "GET",
            &[("GET", Route::RuntimeConfig { connector_id: s(c) })],
        ),
        ["ingest", "message-batch"] => pick(method, "POST", &[("POST", Route::IngestMessages)]),
        ["ingest", "thread"] => pick(method, "POST", &[("POST", Route::IngestThread)]),
        ["ingest", "channel-guild-sync"] => {
            pick(method, "POST", &[("POST", Route::IngestDiscovery)])
        }
        ["v1", "feed-tickets"] => pick(method, "POST", &[("POST", Route::FeedTicket)]),
        ["v1", "feed"] => pick(method, "GET", &[("GET", Route::Feed)]),
        ["v1", "admin", rest @ ..] => admin(method, rest),
        _ => Err(RouteError::NotFound),
    }
}

fn admin(method: &str, segs: &[&str]) -> Result<Route, RouteError> {
    let s = |x: &str| x.to_string();
    match segs {
        ["tenants"] => pick(
            method,
            "GET, POST",
            &[("GET", Route::Tenants), ("POST", Route::CreateTenant)],
        ),
        ["tenants", t] => pick(method, "GET", &[("GET", Route::Tenant { tenant: s(t) })]),
        ["tenants", t, "connectors"] => pick(
            method,
            "GET, POST",
            &[
                ("GET", Route::Connectors { tenant: s(t) }),
                ("POST", Route::CreateConnector { tenant: s(t) }),
            ],
        ),
        ["tenants", t, "connectors", c] => pick(
            method,
            "GET, PATCH",
            &[
                (
                    "GET",
                    Route::Connector {
                        tenant: s(t),
                        connector: s(c),
                    },
                ),
                (
                    "PATCH",
                    Route::PatchConnector {
                        tenant: s(t),
                        connector: s(c),
                    },
                ),
            ],
        ),
        ["tenants", t, "connectors", c, action] => {
            let (tenant, connector) = (s(t), s(c));
            match *action {
                "rotate-token" => pick(
                    method,
                    "POST",
                    &[("POST", Route::RotateToken { tenant, connector })],
                ),
                "pause" => pick(
                    method,
                    "POST",
                    &[("POST", Route::Pause { tenant, connector })],
                ),
                "resume" => pick(
                    method,
                    "POST",
                    &[("POST", Route::Resume { tenant, connector })],
                ),
                "sources" => pick(
                    method,
                    "GET",
                    &[("GET", Route::Sources { tenant, connector })],
                ),
                "mappings" => pick(
                    method,
                    "GET",
                    &[("GET", Route::Mappings { tenant, connector })],
                ),
                "discovery-requests" => pick(
                    method,
                    "POST",
                    &[("POST", Route::DiscoveryRequest { tenant, connector })],
                ),
                "guilds" => pick(
                    method,
                    "GET",
                    &[("GET", Route::Guilds { tenant, connector })],
                ),
                "rejections" => pick(
                    method,
                    "GET",
                    &[("GET", Route::Rejections { tenant, connector })],
                ),
                "channels" => pick(
                    method,
                    "GET",
                    &[("GET", Route::Channels { tenant, connector })],
                ),
                _ => Err(RouteError::NotFound),
            }
        }
        ["tenants", t, "connectors", c, "sources", ch] => {
            let (tenant, connector, channel) = (s(t), s(c), s(ch));
            pick(
                method,
                "PUT, DELETE",
                &[
                    (
                        "PUT",
                        Route::PutSource {
                            tenant: tenant.clone(),
                            connector: connector.clone(),
                            channel: channel.clone(),
                        },
                    ),
                    (
                        "DELETE",
                        Route::DeleteSource {
                            tenant,
                            connector,
                            channel,
                        },
                    ),
                ],
            )
        }
        ["tenants", t, "connectors", c, "mappings", src, dst] => {
            let (tenant, connector, source, target) = (s(t), s(c), s(src), s(dst));
            pick(
                method,
                "PUT, DELETE",
                &[
                    (
                        "PUT",
                        Route::PutMapping {
                            tenant: tenant.clone(),
                            connector: connector.clone(),
                            source: source.clone(),
                            target: target.clone(),
                        },
                    ),
                    (
                        "DELETE",
                        Route::DeleteMapping {
                            tenant,
                            connector,
                            source,
                            target,
                        },
                    ),
                ],
            )
        }
        ["tenants", t, "signals"] => {
            pick(method, "GET", &[("GET", Route::Signals { tenant: s(t) })])
        }
        ["tenants", t, "threads"] => {
            pick(method, "GET", &[("GET", Route::Threads { tenant: s(t) })])
        }
        ["tenants", t, "feed-stats"] => {
            pick(method, "GET", &[("GET", Route::FeedStats { tenant: s(t) })])
        }
        _ => Err(RouteError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_routes() {
        assert_eq!(
            match_route("GET", "/connectors/conn_01/runtime-config"),
            Ok(Route::RuntimeConfig {
                connector_id: "conn_01".into()
            })
        );
        assert_eq!(
            match_route("POST", "/ingest/message-batch"),
            Ok(Route::IngestMessages)
        );
        assert_eq!(
            match_route("POST", "/ingest/message-batch/"),
            Ok(Route::IngestMessages)
        );
        assert_eq!(
            match_route("GET", "/ingest/message-batch"),
            Err(RouteError::MethodNotAllowed { allow: "POST" })
        );
        assert_eq!(match_route("GET", "/nope"), Err(RouteError::NotFound));
        assert_eq!(match_route("GET", "/"), Err(RouteError::NotFound));
        assert_eq!(match_route("HEAD", "/health"), Ok(Route::Health));
    }

    #[test]
    fn admin_routes() {
        assert_eq!(match_route("GET", "/v1/admin/tenants"), Ok(Route::Tenants));
        assert_eq!(
            match_route("DELETE", "/v1/admin/tenants"),
            Err(RouteError::MethodNotAllowed { allow: "GET, POST" })
        );
        assert_eq!(
            match_route("PUT", "/v1/admin/tenants/t1/connectors/c1/mappings/1/2"),
            Ok(Route::PutMapping {
                tenant: "t1".into(),
                connector: "c1".into(),
                source: "1".into(),
                target: "2".into()
            })
        );
        assert_eq!(
            match_route("POST", "/v1/admin/tenants/t1/connectors/c1/pause"),
            Ok(Route::Pause {
                tenant: "t1".into(),
                connector: "c1".into()
            })
        );
        assert_eq!(
            match_route("GET", "/v1/admin/tenants/t1/connectors/c1/bogus"),
            Err(RouteError::NotFound)
        );
    }

    /// `run_worker_first` in wrangler.toml must cover every API path, or the platform looks it
    /// up as a static asset first (and a file could shadow it).
    #[test]
    fn wrangler_runs_the_worker_first_for_every_api_path() {
        let toml = include_str!("../../../wrangler.toml");
        let line = toml
            .lines()
            .find(|l| l.trim_start().starts_with("run_worker_first"))
            .expect("run_worker_first in wrangler.toml");
        let patterns: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        let covered = |path: &str| {
            patterns.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => path == *p,
            })
        };
        for top in API_TOP_LEVEL {
            let path = if *top == "health" {
                "/health".to_string()
            } else {
                format!("/{top}/x")
            };
            assert!(
                covered(&path),
                "{path} is not covered by run_worker_first {patterns:?}"
            );
        }
        // Pages stay with the asset handler.
        for page in ["/", "/admin/", "/dashboard/", "/app.js"] {
            assert!(!covered(page), "{page} would run the worker first");
        }
    }
}
