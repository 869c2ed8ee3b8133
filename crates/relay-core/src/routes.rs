//! The HTTP route table, as a pure function from (method, path) to a route, so 404/405
//! behaviour is tested natively.
//!
//! Routes nest by area, then (under `/v1/admin`) by resource, and every leaf is an enum of the
//! actions on that resource. The worker matches each level without a catch-all arm, so a route
//! added here without a handler fails to compile instead of answering 500 at run time. Each
//! area's matcher sits beside its enum and sees only the segments below its prefix.
//!
//! Areas still to come, each a new [`Route`] variant with its own enum and matcher, its first
//! segment added to [`API_TOP_LEVEL`] and to `run_worker_first` in `wrangler.toml`:
//! - OAuth: `/oauth/discord/...`.

/// Every route the worker answers, by area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /health`
    Health,
    /// The connector protocol: `/connectors/...` and `/ingest/...`.
    Connector(ConnectorRoute),
    /// The live feed: `/v1/feed-tickets` and `/v1/feed`.
    Feed(FeedRoute),
    /// The operator API under `/v1/admin` (bearer `ADMIN_TOKEN` for the whole area).
    Admin(AdminRoute),
    /// The customer API of one tenant: `/v1/account/{tenant}/...` (session cookie).
    Account { tenant: String, route: AccountRoute },
    /// A tenant's public pages, `/t/{tenant}/{path}`: static assets the worker serves after
    /// checking the tenant exists, so one page build serves every tenant.
    Page { tenant: String, path: String },
    /// Deliveries from payment providers: `/webhooks/...` (authenticated by signature).
    Webhook(WebhookRoute),
    /// The media store's objects, `/media/...`: public, authorised by the link's signature.
    Media(MediaRoute),
    /// `/v1/shop/{tenant}[/...]`: the public shop's data and the checkout-return state.
    Shop { tenant: String, route: ShopRoute },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaRoute {
    /// `GET /media/{tenant}/{attachment}?exp=&sig=`
    Object {
        tenant: String,
        attachment_id: String,
    },
}

impl MediaRoute {
    /// `segs` follow `/media`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [t, a] if !t.is_empty() && !a.is_empty() => pick(
                method,
                "GET",
                [(
                    "GET",
                    Self::Object {
                        tenant: s(t),
                        attachment_id: s(a),
                    },
                )],
            ),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookRoute {
    /// `POST /webhooks/sellapp/{tenant}`
    Sellapp { tenant: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    /// The path exists; `allow` lists its methods for the `Allow` header.
    MethodNotAllowed {
        allow: &'static str,
    },
}

type Matched<T> = Result<T, RouteError>;

/// The route for `method` among one path's `options`; 405 naming `allow` when none has it.
fn pick<T, const N: usize>(
    method: &str,
    allow: &'static str,
    options: [(&str, T); N],
) -> Matched<T> {
    options
        .into_iter()
        .find(|(m, _)| *m == method)
        .map(|(_, r)| r)
        .ok_or(RouteError::MethodNotAllowed { allow })
}

fn s(segment: &str) -> String {
    segment.to_string()
}

/// The first path segment of every API route. `wrangler.toml`'s `run_worker_first` must list
/// each (a test checks), so the platform never looks an API path up as a static asset; a
/// route whose first segment is missing here is unreachable.
pub const API_TOP_LEVEL: &[&str] = &[
    "health",
    "connectors",
    "ingest",
    "v1",
    "t",
    "webhooks",
    "media",
];

/// Matches a method and a path (without query string). `HEAD` is treated as `GET`.
pub fn match_route(method: &str, path: &str) -> Matched<Route> {
    let method = if method == "HEAD" { "GET" } else { method };
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    if !segs.first().is_some_and(|top| API_TOP_LEVEL.contains(top)) {
        return Err(RouteError::NotFound);
    }
    match segs.as_slice() {
        ["health"] => pick(method, "GET", [("GET", Route::Health)]),
        ["connectors", ..] | ["ingest", ..] => {
            ConnectorRoute::matching(method, &segs).map(Route::Connector)
        }
        ["v1", "admin", rest @ ..] => AdminRoute::matching(method, rest).map(Route::Admin),
        // Before the feed area, which takes the rest of `/v1`.
        ["v1", "account", t, rest @ ..] => {
            AccountRoute::matching(method, rest).map(|route| Route::Account {
                tenant: s(t),
                route,
            })
        }
        ["v1", "shop", t, rest @ ..] if !t.is_empty() => {
            ShopRoute::matching(method, rest).map(|route| Route::Shop {
                tenant: s(t),
                route,
            })
        }
        ["v1", rest @ ..] => FeedRoute::matching(method, rest).map(Route::Feed),
        ["t", t, rest @ ..] if !t.is_empty() => pick(
            method,
            "GET",
            [(
                "GET",
                Route::Page {
                    tenant: s(t),
                    path: rest.join("/"),
                },
            )],
        ),
        ["webhooks", "sellapp", t] if !t.is_empty() => pick(
            method,
            "POST",
            [(
                "POST",
                Route::Webhook(WebhookRoute::Sellapp { tenant: s(t) }),
            )],
        ),
        ["media", rest @ ..] => MediaRoute::matching(method, rest).map(Route::Media),
        _ => Err(RouteError::NotFound),
    }
}

/// The connector protocol (bearer connector token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorRoute {
    /// `GET /connectors/{connector}/runtime-config`
    RuntimeConfig { connector_id: String },
    /// `POST /ingest/message-batch`
    IngestMessages,
    /// `POST /ingest/thread`
    IngestThread,
    /// `POST /ingest/channel-guild-sync`
    IngestDiscovery,
}

impl ConnectorRoute {
    /// `segs` is the whole path: the area spans two top-level segments.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            ["connectors", c, "runtime-config"] => pick(
                method,
                "GET",
                [("GET", Self::RuntimeConfig { connector_id: s(c) })],
            ),
            ["ingest", "message-batch"] => pick(method, "POST", [("POST", Self::IngestMessages)]),
            ["ingest", "thread"] => pick(method, "POST", [("POST", Self::IngestThread)]),
            ["ingest", "channel-guild-sync"] => {
                pick(method, "POST", [("POST", Self::IngestDiscovery)])
            }
            _ => Err(RouteError::NotFound),
        }
    }
}

/// The live feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedRoute {
    /// `POST /v1/feed-tickets`
    Ticket,
    /// `GET /v1/feed` (the WebSocket handshake)
    Connect,
}

impl FeedRoute {
    /// `segs` follow `/v1`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            ["feed-tickets"] => pick(method, "POST", [("POST", Self::Ticket)]),
            ["feed"] => pick(method, "GET", [("GET", Self::Connect)]),
            _ => Err(RouteError::NotFound),
        }
    }
}

/// The customer API under `/v1/account/{tenant}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRoute {
    /// `POST .../signup`
    Signup,
    /// `POST .../login`
    Login,
    /// `POST .../logout`
    Logout,
    /// `GET .../session`
    Session,
    /// `GET .../me`: the dashboard's account, access and channels.
    Me,
    /// `POST .../password`
    ChangePassword,
    /// `POST .../password-reset-requests` ("forgot password")
    RequestReset,
    /// `POST .../password-reset`
    Reset,
    /// `POST .../feed-tickets`
    FeedTicket,
    /// `GET .../signals`: history, paged with a cursor.
    Signals,
}

impl AccountRoute {
    /// `segs` follow `/v1/account/{t}`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        let post = |r: Self| pick(method, "POST", [("POST", r)]);
        let get = |r: Self| pick(method, "GET", [("GET", r)]);
        match segs {
            ["signup"] => post(Self::Signup),
            ["login"] => post(Self::Login),
            ["logout"] => post(Self::Logout),
            ["session"] => get(Self::Session),
            ["me"] => get(Self::Me),
            ["password"] => post(Self::ChangePassword),
            ["password-reset-requests"] => post(Self::RequestReset),
            ["password-reset"] => post(Self::Reset),
            ["feed-tickets"] => post(Self::FeedTicket),
            ["signals"] => get(Self::Signals),
            _ => Err(RouteError::NotFound),
        }
    }
}

/// The operator API, one variant per resource. The path parameters that scope a resource
/// (tenant, connector) sit here; the leaf enums carry only what identifies an item within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRoute {
    /// `/v1/admin/tenants[/{tenant}]`
    Tenants(TenantsRoute),
    /// `/v1/admin/tenants/{tenant}/connectors[/{connector}[/{action}]]`
    Connectors {
        tenant: String,
        route: ConnectorsRoute,
    },
    /// `.../connectors/{connector}/sources[/{channel}]`
    Sources {
        tenant: String,
        connector: String,
        route: SourcesRoute,
    },
    /// `.../connectors/{connector}/mappings[/{source}/{target}]`
    Mappings {
        tenant: String,
        connector: String,
        route: MappingsRoute,
    },
    /// `.../connectors/{connector}/{discovery-requests | guilds | channels}`
    Discovery {
        tenant: String,
        connector: String,
        route: DiscoveryRoute,
    },
    /// `.../connectors/{connector}/mirroring[/...]`
    Mirroring {
        tenant: String,
        connector: String,
        route: MirroringRoute,
    },
    /// `.../connectors/{connector}/rejections`
    Rejections {
        tenant: String,
        connector: String,
        route: RejectionsRoute,
    },
    /// `/v1/admin/tenants/{tenant}/signals`
    Signals { tenant: String, route: SignalsRoute },
    /// `/v1/admin/tenants/{tenant}/threads`
    Threads { tenant: String, route: ThreadsRoute },
    /// `/v1/admin/tenants/{tenant}/feed-stats`
    FeedStats {
        tenant: String,
        route: FeedStatsRoute,
    },
    /// `/v1/admin/tenants/{tenant}/tiers[/{tier}]`
    Tiers { tenant: String, route: TiersRoute },
    /// `/v1/admin/tenants/{tenant}/channel-visibility[/{channel}]`
    Visibility {
        tenant: String,
        route: VisibilityRoute,
    },
    /// `/v1/admin/tenants/{tenant}/customers[/{customer}[/...]]`
    Customers {
        tenant: String,
        route: CustomersRoute,
    },
    /// `/v1/admin/discord[/reset]`: the deployment's Discord client (not per tenant).
    Discord(DiscordRoute),
    /// `/v1/admin/catalog/...`: the bot's guilds, channels and roles (deployment-wide: one bot
    /// serves every tenant), their assignment to tenants, and the refresh.
    Catalog(CatalogRoute),
    /// `/v1/admin/tenants/{tenant}/catalog/...`: the catalog as one tenant may see it (only
    /// the guilds assigned to it), for pickers.
    TenantCatalog {
        tenant: String,
        route: TenantCatalogRoute,
    },
    /// `/v1/admin/tenants/{tenant}/payments/...`: Sell.app secret, policies, webhook events.
    Payments {
        tenant: String,
        route: PaymentsRoute,
    },
    /// `/v1/admin/tenants/{tenant}/media[/{attachment}/refetch]`: the media store's records.
    Media {
        tenant: String,
        route: AdminMediaRoute,
    },
    /// `/v1/admin/tenants/{tenant}/seats[/{guild}[/...]]`: seat limits, modes and snapshots of
    /// the tenant's customer guilds.
    Seats { tenant: String, route: SeatsRoute },
    /// `/v1/admin/seats/kill-switch`: the deployment-wide seat kill switch.
    SeatSwitch(SeatSwitchRoute),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminMediaRoute {
    /// `GET .../media[?status=]`
    List,
    /// `POST .../media/{attachment}/refetch`
    Refetch { attachment_id: String },
}

impl AdminMediaRoute {
    /// `segs` follow `/v1/admin/tenants/{t}/media`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::List)]),
            [a, "refetch"] => pick(
                method,
                "POST",
                [(
                    "POST",
                    Self::Refetch {
                        attachment_id: s(a),
                    },
                )],
            ),
            _ => Err(RouteError::NotFound),
        }
    }
}

impl AdminRoute {
    /// `segs` follow `/v1/admin`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            ["tenants", rest @ ..] if rest.len() <= 1 => {
                TenantsRoute::matching(method, rest).map(Self::Tenants)
            }
            ["tenants", t, "connectors", rest @ ..] => Self::under_connectors(method, t, rest),
            ["tenants", t, "signals", rest @ ..] => {
                SignalsRoute::matching(method, rest).map(|route| Self::Signals {
                    tenant: s(t),
                    route,
                })
            }
            ["tenants", t, "threads", rest @ ..] => {
                ThreadsRoute::matching(method, rest).map(|route| Self::Threads {
                    tenant: s(t),
                    route,
                })
            }
            ["tenants", t, "feed-stats", rest @ ..] => {
                FeedStatsRoute::matching(method, rest).map(|route| Self::FeedStats {
                    tenant: s(t),
                    route,
                })
            }
            ["tenants", t, "tiers", rest @ ..] => {
                TiersRoute::matching(method, rest).map(|route| Self::Tiers {
                    tenant: s(t),
                    route,
                })
            }
            ["tenants", t, "channel-visibility", rest @ ..] => {
                VisibilityRoute::matching(method, rest).map(|route| Self::Visibility {
                    tenant: s(t),
                    route,
                })
            }
            ["tenants", t, "customers", rest @ ..] => {
                CustomersRoute::matching(method, rest).map(|route| Self::Customers {
                    tenant: s(t),
                    route,
                })
            }
            ["discord", rest @ ..] => DiscordRoute::matching(method, rest).map(Self::Discord),
            ["catalog", rest @ ..] => CatalogRoute::matching(method, rest).map(Self::Catalog),
            ["tenants", t, "catalog", rest @ ..] => {
                TenantCatalogRoute::matching(method, rest).map(|route| Self::TenantCatalog {
                    tenant: s(t),
                    route,
                })
            }
            ["tenants", t, "payments", rest @ ..] => {
                PaymentsRoute::matching(method, rest).map(|route| Self::Payments {
                    tenant: s(t),
                    route,
                })
            }
            ["tenants", t, "media", rest @ ..] => {
                AdminMediaRoute::matching(method, rest).map(|route| Self::Media {
                    tenant: s(t),
                    route,
                })
            }
            ["tenants", t, "seats", rest @ ..] => {
                SeatsRoute::matching(method, rest).map(|route| Self::Seats {
                    tenant: s(t),
                    route,
                })
            }
            ["seats", rest @ ..] => SeatSwitchRoute::matching(method, rest).map(Self::SeatSwitch),
            _ => Err(RouteError::NotFound),
        }
    }

    /// `segs` follow `/v1/admin/tenants/{t}/connectors`: a connector's own actions, or one of
    /// the resources it scopes.
    fn under_connectors(method: &str, t: &str, segs: &[&str]) -> Matched<Self> {
        let scoped = |c: &str| (s(t), s(c));
        match segs {
            [c, "sources", rest @ ..] => SourcesRoute::matching(method, rest).map(|route| {
                let (tenant, connector) = scoped(c);
                Self::Sources {
                    tenant,
                    connector,
                    route,
                }
            }),
            [c, "mappings", rest @ ..] => MappingsRoute::matching(method, rest).map(|route| {
                let (tenant, connector) = scoped(c);
                Self::Mappings {
                    tenant,
                    connector,
                    route,
                }
            }),
            [c, "mirroring", rest @ ..] => MirroringRoute::matching(method, rest).map(|route| {
                let (tenant, connector) = scoped(c);
                Self::Mirroring {
                    tenant,
                    connector,
                    route,
                }
            }),
            [c, noun @ ("discovery-requests" | "guilds" | "channels")] => {
                DiscoveryRoute::matching(method, noun).map(|route| {
                    let (tenant, connector) = scoped(c);
                    Self::Discovery {
                        tenant,
                        connector,
                        route,
                    }
                })
            }
            [c, "rejections", rest @ ..] => RejectionsRoute::matching(method, rest).map(|route| {
                let (tenant, connector) = scoped(c);
                Self::Rejections {
                    tenant,
                    connector,
                    route,
                }
            }),
            _ => ConnectorsRoute::matching(method, segs).map(|route| Self::Connectors {
                tenant: s(t),
                route,
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantsRoute {
    /// `GET /v1/admin/tenants`
    List,
    /// `POST /v1/admin/tenants`
    Create,
    /// `GET /v1/admin/tenants/{tenant}`
    Get { tenant: String },
}

impl TenantsRoute {
    /// `segs` follow `/v1/admin/tenants`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(
                method,
                "GET, POST",
                [("GET", Self::List), ("POST", Self::Create)],
            ),
            [t] => pick(method, "GET", [("GET", Self::Get { tenant: s(t) })]),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorsRoute {
    /// `GET .../connectors`
    List,
    /// `POST .../connectors`
    Create,
    /// `GET .../connectors/{connector}`
    Get { connector: String },
    /// `PATCH .../connectors/{connector}`
    Patch { connector: String },
    /// `POST .../connectors/{connector}/rotate-token`
    RotateToken { connector: String },
    /// `POST .../connectors/{connector}/pause`
    Pause { connector: String },
    /// `POST .../connectors/{connector}/resume`
    Resume { connector: String },
}

impl ConnectorsRoute {
    /// `segs` follow `/v1/admin/tenants/{t}/connectors`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(
                method,
                "GET, POST",
                [("GET", Self::List), ("POST", Self::Create)],
            ),
            [c] => pick(
                method,
                "GET, PATCH",
                [
                    ("GET", Self::Get { connector: s(c) }),
                    ("PATCH", Self::Patch { connector: s(c) }),
                ],
            ),
            [c, "rotate-token"] => pick(
                method,
                "POST",
                [("POST", Self::RotateToken { connector: s(c) })],
            ),
            [c, "pause"] => pick(method, "POST", [("POST", Self::Pause { connector: s(c) })]),
            [c, "resume"] => pick(method, "POST", [("POST", Self::Resume { connector: s(c) })]),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourcesRoute {
    /// `GET .../sources`
    List,
    /// `PUT .../sources/{channel}`
    Put { channel: String },
    /// `DELETE .../sources/{channel}`
    Delete { channel: String },
}

impl SourcesRoute {
    /// `segs` follow `.../connectors/{c}/sources`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::List)]),
            [ch] => pick(
                method,
                "PUT, DELETE",
                [
                    ("PUT", Self::Put { channel: s(ch) }),
                    ("DELETE", Self::Delete { channel: s(ch) }),
                ],
            ),
            _ => Err(RouteError::NotFound),
        }
    }
}

/// A connector's mirroring panel (forwarding itself is `forward_enabled` on the connector).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirroringRoute {
    /// `GET .../mirroring`: targets, queue depth, retrying, dead letters, skips, recent jobs,
    /// latency over the last hour.
    Status,
    /// `POST .../mirroring/requeue`: every dead-lettered job (of one target with
    /// `{"target_channel_id"}`).
    RequeueAll,
    /// `POST .../mirroring/targets/{target}/dead/{job}/requeue`
    RequeueOne { target: String, job: String },
}

impl MirroringRoute {
    /// `segs` follow `.../connectors/{c}/mirroring`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::Status)]),
            ["requeue"] => pick(method, "POST", [("POST", Self::RequeueAll)]),
            ["targets", target, "dead", job, "requeue"] => pick(
                method,
                "POST",
                [(
                    "POST",
                    Self::RequeueOne {
                        target: s(target),
                        job: s(job),
                    },
                )],
            ),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingsRoute {
    /// `GET .../mappings`
    List,
    /// `PUT .../mappings/{source}/{target}`
    Put { source: String, target: String },
    /// `DELETE .../mappings/{source}/{target}`
    Delete { source: String, target: String },
}

impl MappingsRoute {
    /// `segs` follow `.../connectors/{c}/mappings`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::List)]),
            [src, dst] => pick(
                method,
                "PUT, DELETE",
                [
                    (
                        "PUT",
                        Self::Put {
                            source: s(src),
                            target: s(dst),
                        },
                    ),
                    (
                        "DELETE",
                        Self::Delete {
                            source: s(src),
                            target: s(dst),
                        },
                    ),
                ],
            ),
            _ => Err(RouteError::NotFound),
        }
    }
}

/// What the connector found in Discord, and asking it to look again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryRoute {
    /// `POST .../discovery-requests`
    Request,
    /// `GET .../guilds`
    Guilds,
    /// `GET .../channels`
    Channels,
}

impl DiscoveryRoute {
    /// `noun` is the segment after `.../connectors/{c}`: this resource spans three.
    fn matching(method: &str, noun: &str) -> Matched<Self> {
        match noun {
            "discovery-requests" => pick(method, "POST", [("POST", Self::Request)]),
            "guilds" => pick(method, "GET", [("GET", Self::Guilds)]),
            "channels" => pick(method, "GET", [("GET", Self::Channels)]),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectionsRoute {
    /// `GET .../connectors/{c}/rejections`
    Report,
}

impl RejectionsRoute {
    /// `segs` follow `.../connectors/{c}/rejections`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::Report)]),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalsRoute {
    /// `GET /v1/admin/tenants/{t}/signals`
    Recent,
}

impl SignalsRoute {
    /// `segs` follow `/v1/admin/tenants/{t}/signals`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::Recent)]),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadsRoute {
    /// `GET /v1/admin/tenants/{t}/threads`
    Recent,
}

impl ThreadsRoute {
    /// `segs` follow `/v1/admin/tenants/{t}/threads`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::Recent)]),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedStatsRoute {
    /// `GET /v1/admin/tenants/{t}/feed-stats`
    Get,
}

impl FeedStatsRoute {
    /// `segs` follow `/v1/admin/tenants/{t}/feed-stats`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::Get)]),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TiersRoute {
    /// `GET .../tiers`
    List,
    /// `POST .../tiers`
    Create,
    /// `PATCH .../tiers/{tier}`
    Patch { tier: String },
    /// `DELETE .../tiers/{tier}`
    Delete { tier: String },
}

impl TiersRoute {
    /// `segs` follow `/v1/admin/tenants/{t}/tiers`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(
                method,
                "GET, POST",
                [("GET", Self::List), ("POST", Self::Create)],
            ),
            [k] => pick(
                method,
                "PATCH, DELETE",
                [
                    ("PATCH", Self::Patch { tier: s(k) }),
                    ("DELETE", Self::Delete { tier: s(k) }),
                ],
            ),
            _ => Err(RouteError::NotFound),
        }
    }
}

/// `/v1/admin/discord`: the Discord client's rate-limit gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscordRoute {
    /// `GET /v1/admin/discord`: configured or not, and the gate's state and counters.
    Status,
    /// `POST /v1/admin/discord/reset`: the operator clears a 401 stop, the alert and a ban
    /// pause.
    Reset,
    /// `POST /v1/admin/discord/probe`: one `GET /users/@me` through the gate, to check the
    /// token and the way to Discord after a change.
    Probe,
}

impl DiscordRoute {
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::Status)]),
            ["reset"] => pick(method, "POST", [("POST", Self::Reset)]),
            ["probe"] => pick(method, "POST", [("POST", Self::Probe)]),
            _ => Err(RouteError::NotFound),
        }
    }
}

/// The bot's catalog, deployment-wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogRoute {
    /// `GET /v1/admin/catalog/guilds`
    Guilds,
    /// `GET /v1/admin/catalog/guilds/{guild}`: the guild with its channels and roles.
    Guild { guild: String },
    /// `PUT /v1/admin/catalog/guilds/{guild}/tenant`: assign the guild to a tenant.
    Assign { guild: String },
    /// `DELETE /v1/admin/catalog/guilds/{guild}/tenant`
    Unassign { guild: String },
    /// `GET /v1/admin/catalog/refresh`: running, next at, last result and error.
    RefreshStatus,
    /// `POST /v1/admin/catalog/refresh`: start a refresh now (or once more after the
    /// running one).
    Refresh,
}

impl CatalogRoute {
    /// `segs` follow `/v1/admin/catalog`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            ["guilds"] => pick(method, "GET", [("GET", Self::Guilds)]),
            ["guilds", g] => pick(method, "GET", [("GET", Self::Guild { guild: s(g) })]),
            ["guilds", g, "tenant"] => pick(
                method,
                "PUT, DELETE",
                [
                    ("PUT", Self::Assign { guild: s(g) }),
                    ("DELETE", Self::Unassign { guild: s(g) }),
                ],
            ),
            ["refresh"] => pick(
                method,
                "GET, POST",
                [("GET", Self::RefreshStatus), ("POST", Self::Refresh)],
            ),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisibilityRoute {
    /// `GET .../channel-visibility`
    List,
    /// `PUT .../channel-visibility/{channel}`
    Put { channel: String },
}

impl VisibilityRoute {
    /// `segs` follow `/v1/admin/tenants/{t}/channel-visibility`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::List)]),
            [ch] => pick(method, "PUT", [("PUT", Self::Put { channel: s(ch) })]),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomersRoute {
    /// `GET .../customers?q=`
    List,
    /// `GET .../customers/{c}`
    Get { customer: String },
    /// `GET .../customers/{c}/history`
    History { customer: String },
    /// `POST .../customers/{c}/grants`
    Grant { customer: String },
    /// `POST .../customers/{c}/entitlements/{e}/revoke`
    Revoke {
        customer: String,
        entitlement: String,
    },
    /// `POST .../customers/{c}/reset-link`
    ResetLink { customer: String },
    /// `POST .../customers/{c}/disable`
    Disable { customer: String },
    /// `POST .../customers/{c}/enable`
    Enable { customer: String },
    /// `POST .../customers/{c}/revoke-sessions`
    RevokeSessions { customer: String },
}

impl CustomersRoute {
    /// `segs` follow `/v1/admin/tenants/{t}/customers`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        let post = |r: Self| pick(method, "POST", [("POST", r)]);
        match segs {
            [] => pick(method, "GET", [("GET", Self::List)]),
            [c] => pick(method, "GET", [("GET", Self::Get { customer: s(c) })]),
            [c, "history"] => pick(method, "GET", [("GET", Self::History { customer: s(c) })]),
            [c, "grants"] => post(Self::Grant { customer: s(c) }),
            [c, "entitlements", e, "revoke"] => post(Self::Revoke {
                customer: s(c),
                entitlement: s(e),
            }),
            [c, "reset-link"] => post(Self::ResetLink { customer: s(c) }),
            [c, "disable"] => post(Self::Disable { customer: s(c) }),
            [c, "enable"] => post(Self::Enable { customer: s(c) }),
            [c, "revoke-sessions"] => post(Self::RevokeSessions { customer: s(c) }),
            _ => Err(RouteError::NotFound),
        }
    }
}

/// One tenant's view of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantCatalogRoute {
    /// `GET .../catalog/guilds`
    Guilds,
    /// `GET .../catalog/channels[?guild_id=]`: target channels with warnings.
    Channels,
    /// `GET .../catalog/roles[?guild_id=]`: roles with warnings (tier role pickers).
    Roles,
}

impl TenantCatalogRoute {
    /// `segs` follow `/v1/admin/tenants/{t}/catalog`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            ["guilds"] => pick(method, "GET", [("GET", Self::Guilds)]),
            ["channels"] => pick(method, "GET", [("GET", Self::Channels)]),
            ["roles"] => pick(method, "GET", [("GET", Self::Roles)]),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentsRoute {
    /// `GET .../payments/webhook-secret` (never the secret itself)
    SecretInfo,
    /// `PUT .../payments/webhook-secret`
    SetSecret,
    /// `GET .../payments/policies`
    Policies,
    /// `PUT .../payments/policies/{policy}`
    PutPolicy { policy: String },
    /// `DELETE .../payments/policies/{policy}`
    DeletePolicy { policy: String },
    /// `GET .../payments/events?outcome=`
    Events,
    /// `POST .../payments/events/{event}/replay`
    Replay { event: String },
    /// `POST .../payments/events/replay` (every failed or unmatched one)
    ReplayAll,
    /// `GET .../payments/store`: the tenant's Sell.app store id
    Store,
    /// `PUT .../payments/store`
    SetStore,
    /// `GET .../payments/reconciliation`: on/off and the last run
    Reconciliation,
    /// `GET .../payments/flags`: customers flagged for the operator
    Flags,
    /// `GET .../payments/catalog`: the shop's tier cards and purchase options
    Catalog,
    /// `PUT .../payments/catalog` (the whole catalog, validated as one)
    PutCatalog,
    /// `GET .../payments/sales`: figures for 7/30/90 days
    Sales,
}

impl PaymentsRoute {
    /// `segs` follow `/v1/admin/tenants/{t}/payments`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        let post = |r: Self| pick(method, "POST", [("POST", r)]);
        match segs {
            ["webhook-secret"] => pick(
                method,
                "GET, PUT",
                [("GET", Self::SecretInfo), ("PUT", Self::SetSecret)],
            ),
            ["policies"] => pick(method, "GET", [("GET", Self::Policies)]),
            ["policies", p] => pick(
                method,
                "PUT, DELETE",
                [
                    ("PUT", Self::PutPolicy { policy: s(p) }),
                    ("DELETE", Self::DeletePolicy { policy: s(p) }),
                ],
            ),
            ["events"] => pick(method, "GET", [("GET", Self::Events)]),
            // Before `events/{e}/replay`: `replay` is not an event id.
            ["events", "replay"] => post(Self::ReplayAll),
            ["events", e, "replay"] => post(Self::Replay { event: s(e) }),
            ["store"] => pick(
                method,
                "GET, PUT",
                [("GET", Self::Store), ("PUT", Self::SetStore)],
            ),
            ["reconciliation"] => pick(method, "GET", [("GET", Self::Reconciliation)]),
            ["flags"] => pick(method, "GET", [("GET", Self::Flags)]),
            ["catalog"] => pick(
                method,
                "GET, PUT",
                [("GET", Self::Catalog), ("PUT", Self::PutCatalog)],
            ),
            ["sales"] => pick(method, "GET", [("GET", Self::Sales)]),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShopRoute {
    /// `GET /v1/shop/{tenant}`: the storefront (public; personalised when signed in)
    Storefront,
    /// `GET /v1/shop/{tenant}/orders/{order}`: a signed-in customer's order state
    Order { order: String },
}

impl ShopRoute {
    /// `segs` follow `/v1/shop/{tenant}`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::Storefront)]),
            ["orders", o] => pick(method, "GET", [("GET", Self::Order { order: s(o) })]),
            _ => Err(RouteError::NotFound),
        }
    }
}

/// One tenant's seat enforcement (issue 15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatsRoute {
    /// `GET .../seats`: every configured guild with its snapshot.
    List,
    /// `GET .../seats/{guild}`
    Get { guild: String },
    /// `PUT .../seats/{guild}` `{limit, mode}`
    Put { guild: String },
    /// `DELETE .../seats/{guild}`: the guild is back to `off` and never audited.
    Delete { guild: String },
    /// `POST .../seats/{guild}/refresh`: audit now.
    Refresh { guild: String },
    /// `GET .../seats/{guild}/gate`: what the mirror gate reads and decides now.
    Gate { guild: String },
}

impl SeatsRoute {
    /// `segs` follow `/v1/admin/tenants/{t}/seats`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            [] => pick(method, "GET", [("GET", Self::List)]),
            [g] => pick(
                method,
                "GET, PUT, DELETE",
                [
                    ("GET", Self::Get { guild: s(g) }),
                    ("PUT", Self::Put { guild: s(g) }),
                    ("DELETE", Self::Delete { guild: s(g) }),
                ],
            ),
            [g, "refresh"] => pick(method, "POST", [("POST", Self::Refresh { guild: s(g) })]),
            [g, "gate"] => pick(method, "GET", [("GET", Self::Gate { guild: s(g) })]),
            _ => Err(RouteError::NotFound),
        }
    }
}

/// The deployment-wide seat switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatSwitchRoute {
    /// `GET /v1/admin/seats/kill-switch`
    Get,
    /// `PUT /v1/admin/seats/kill-switch` `{engaged}`
    Put,
}

impl SeatSwitchRoute {
    /// `segs` follow `/v1/admin/seats`.
    fn matching(method: &str, segs: &[&str]) -> Matched<Self> {
        match segs {
            ["kill-switch"] => pick(method, "GET, PUT", [("GET", Self::Get), ("PUT", Self::Put)]),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "t1";
    const C: &str = "c1";

    fn connectors(route: ConnectorsRoute) -> Route {
        Route::Admin(AdminRoute::Connectors {
            tenant: T.into(),
            route,
        })
    }

    fn sources(route: SourcesRoute) -> Route {
        Route::Admin(AdminRoute::Sources {
            tenant: T.into(),
            connector: C.into(),
            route,
        })
    }

    fn mappings(route: MappingsRoute) -> Route {
        Route::Admin(AdminRoute::Mappings {
            tenant: T.into(),
            connector: C.into(),
            route,
        })
    }

    fn mirroring(route: MirroringRoute) -> Route {
        Route::Admin(AdminRoute::Mirroring {
            tenant: T.into(),
            connector: C.into(),
            route,
        })
    }

    fn discovery(route: DiscoveryRoute) -> Route {
        Route::Admin(AdminRoute::Discovery {
            tenant: T.into(),
            connector: C.into(),
            route,
        })
    }

    fn account(route: AccountRoute) -> Route {
        Route::Account {
            tenant: T.into(),
            route,
        }
    }

    fn tiers(route: TiersRoute) -> Route {
        Route::Admin(AdminRoute::Tiers {
            tenant: T.into(),
            route,
        })
    }

    fn payments(route: PaymentsRoute) -> Route {
        Route::Admin(AdminRoute::Payments {
            tenant: T.into(),
            route,
        })
    }

    fn seats(route: SeatsRoute) -> Route {
        Route::Admin(AdminRoute::Seats {
            tenant: T.into(),
            route,
        })
    }

    fn customers(route: CustomersRoute) -> Route {
        Route::Admin(AdminRoute::Customers {
            tenant: T.into(),
            route,
        })
    }

    /// One value of every leaf variant, with the path parameters above.
    fn every_route() -> Vec<Route> {
        let c = || C.to_string();
        let cu = || "cus_1".to_string();
        let (ch, src, dst) = ("111", "222", "333");
        vec![
            Route::Health,
            Route::Connector(ConnectorRoute::RuntimeConfig { connector_id: c() }),
            Route::Connector(ConnectorRoute::IngestMessages),
            Route::Connector(ConnectorRoute::IngestThread),
            Route::Connector(ConnectorRoute::IngestDiscovery),
            Route::Feed(FeedRoute::Ticket),
            Route::Feed(FeedRoute::Connect),
            Route::Admin(AdminRoute::Tenants(TenantsRoute::List)),
            Route::Admin(AdminRoute::Tenants(TenantsRoute::Create)),
            Route::Admin(AdminRoute::Tenants(TenantsRoute::Get { tenant: T.into() })),
            connectors(ConnectorsRoute::List),
            connectors(ConnectorsRoute::Create),
            connectors(ConnectorsRoute::Get { connector: c() }),
            connectors(ConnectorsRoute::Patch { connector: c() }),
            connectors(ConnectorsRoute::RotateToken { connector: c() }),
            connectors(ConnectorsRoute::Pause { connector: c() }),
            connectors(ConnectorsRoute::Resume { connector: c() }),
            sources(SourcesRoute::List),
            sources(SourcesRoute::Put { channel: ch.into() }),
            sources(SourcesRoute::Delete { channel: ch.into() }),
            mappings(MappingsRoute::List),
            mappings(MappingsRoute::Put {
                source: src.into(),
                target: dst.into(),
            }),
            mappings(MappingsRoute::Delete {
                source: src.into(),
                target: dst.into(),
            }),
            mirroring(MirroringRoute::Status),
            mirroring(MirroringRoute::RequeueAll),
            mirroring(MirroringRoute::RequeueOne {
                target: dst.into(),
                job: "7".into(),
            }),
            discovery(DiscoveryRoute::Request),
            discovery(DiscoveryRoute::Guilds),
            discovery(DiscoveryRoute::Channels),
            Route::Admin(AdminRoute::Rejections {
                tenant: T.into(),
                connector: C.into(),
                route: RejectionsRoute::Report,
            }),
            Route::Admin(AdminRoute::Signals {
                tenant: T.into(),
                route: SignalsRoute::Recent,
            }),
            Route::Admin(AdminRoute::Threads {
                tenant: T.into(),
                route: ThreadsRoute::Recent,
            }),
            Route::Admin(AdminRoute::FeedStats {
                tenant: T.into(),
                route: FeedStatsRoute::Get,
            }),
            account(AccountRoute::Signup),
            account(AccountRoute::Login),
            account(AccountRoute::Logout),
            account(AccountRoute::Session),
            account(AccountRoute::Me),
            account(AccountRoute::ChangePassword),
            account(AccountRoute::RequestReset),
            account(AccountRoute::Reset),
            account(AccountRoute::FeedTicket),
            account(AccountRoute::Signals),
            Route::Page {
                tenant: T.into(),
                path: "login".into(),
            },
            tiers(TiersRoute::List),
            tiers(TiersRoute::Create),
            tiers(TiersRoute::Patch { tier: "pro".into() }),
            tiers(TiersRoute::Delete { tier: "pro".into() }),
            Route::Admin(AdminRoute::Visibility {
                tenant: T.into(),
                route: VisibilityRoute::List,
            }),
            Route::Admin(AdminRoute::Visibility {
                tenant: T.into(),
                route: VisibilityRoute::Put { channel: ch.into() },
            }),
            customers(CustomersRoute::List),
            customers(CustomersRoute::Get { customer: cu() }),
            customers(CustomersRoute::History { customer: cu() }),
            customers(CustomersRoute::Grant { customer: cu() }),
            customers(CustomersRoute::Revoke {
                customer: cu(),
                entitlement: "ent_1".into(),
            }),
            customers(CustomersRoute::ResetLink { customer: cu() }),
            customers(CustomersRoute::Disable { customer: cu() }),
            customers(CustomersRoute::Enable { customer: cu() }),
            customers(CustomersRoute::RevokeSessions { customer: cu() }),
            Route::Admin(AdminRoute::Discord(DiscordRoute::Status)),
            Route::Admin(AdminRoute::Discord(DiscordRoute::Reset)),
            Route::Admin(AdminRoute::Discord(DiscordRoute::Probe)),
            Route::Admin(AdminRoute::Catalog(CatalogRoute::Guilds)),
            Route::Admin(AdminRoute::Catalog(CatalogRoute::Guild {
                guild: "1".into(),
            })),
            Route::Admin(AdminRoute::Catalog(CatalogRoute::Assign {
                guild: "1".into(),
            })),
            Route::Admin(AdminRoute::Catalog(CatalogRoute::Unassign {
                guild: "1".into(),
            })),
            Route::Admin(AdminRoute::Catalog(CatalogRoute::RefreshStatus)),
            Route::Admin(AdminRoute::Catalog(CatalogRoute::Refresh)),
            Route::Admin(AdminRoute::TenantCatalog {
                tenant: T.into(),
                route: TenantCatalogRoute::Guilds,
            }),
            Route::Admin(AdminRoute::TenantCatalog {
                tenant: T.into(),
                route: TenantCatalogRoute::Channels,
            }),
            Route::Admin(AdminRoute::TenantCatalog {
                tenant: T.into(),
                route: TenantCatalogRoute::Roles,
            }),
            Route::Webhook(WebhookRoute::Sellapp { tenant: T.into() }),
            payments(PaymentsRoute::SecretInfo),
            payments(PaymentsRoute::SetSecret),
            payments(PaymentsRoute::Policies),
            payments(PaymentsRoute::PutPolicy {
                policy: "p1".into(),
            }),
            payments(PaymentsRoute::DeletePolicy {
                policy: "p1".into(),
            }),
            payments(PaymentsRoute::Events),
            payments(PaymentsRoute::Replay {
                event: "evt_1".into(),
            }),
            payments(PaymentsRoute::ReplayAll),
            Route::Media(MediaRoute::Object {
                tenant: T.into(),
                attachment_id: "42".into(),
            }),
            Route::Admin(AdminRoute::Media {
                tenant: T.into(),
                route: AdminMediaRoute::List,
            }),
            Route::Admin(AdminRoute::Media {
                tenant: T.into(),
                route: AdminMediaRoute::Refetch {
                    attachment_id: "42".into(),
                },
            }),
            seats(SeatsRoute::List),
            seats(SeatsRoute::Get { guild: "1".into() }),
            seats(SeatsRoute::Put { guild: "1".into() }),
            seats(SeatsRoute::Delete { guild: "1".into() }),
            seats(SeatsRoute::Refresh { guild: "1".into() }),
            seats(SeatsRoute::Gate { guild: "1".into() }),
            Route::Admin(AdminRoute::SeatSwitch(SeatSwitchRoute::Get)),
            Route::Admin(AdminRoute::SeatSwitch(SeatSwitchRoute::Put)),
            payments(PaymentsRoute::Store),
            payments(PaymentsRoute::SetStore),
            payments(PaymentsRoute::Reconciliation),
            payments(PaymentsRoute::Flags),
            payments(PaymentsRoute::Catalog),
            payments(PaymentsRoute::PutCatalog),
            payments(PaymentsRoute::Sales),
            Route::Shop {
                tenant: T.into(),
                route: ShopRoute::Storefront,
            },
            Route::Shop {
                tenant: T.into(),
                route: ShopRoute::Order {
                    order: "50001".into(),
                },
            },
        ]
    }

    /// The request that reaches `route`, written independently of the matchers. The match has
    /// no catch-all arm, so a new variant does not compile until it has a sample here; list it
    /// in [`every_route`] beside its siblings so the tests below reach it.
    fn sample(route: &Route) -> (&'static str, String) {
        match route {
            Route::Health => ("GET", "/health".into()),
            Route::Connector(r) => match r {
                ConnectorRoute::RuntimeConfig { connector_id } => {
                    ("GET", format!("/connectors/{connector_id}/runtime-config"))
                }
                ConnectorRoute::IngestMessages => ("POST", "/ingest/message-batch".into()),
                ConnectorRoute::IngestThread => ("POST", "/ingest/thread".into()),
                ConnectorRoute::IngestDiscovery => ("POST", "/ingest/channel-guild-sync".into()),
            },
            Route::Feed(r) => match r {
                FeedRoute::Ticket => ("POST", "/v1/feed-tickets".into()),
                FeedRoute::Connect => ("GET", "/v1/feed".into()),
            },
            Route::Admin(r) => {
                let (method, tail) = admin_sample(r);
                (method, format!("/v1/admin/{tail}"))
            }
            Route::Account { tenant, route } => {
                let (method, leaf) = match route {
                    AccountRoute::Signup => ("POST", "signup"),
                    AccountRoute::Login => ("POST", "login"),
                    AccountRoute::Logout => ("POST", "logout"),
                    AccountRoute::Session => ("GET", "session"),
                    AccountRoute::Me => ("GET", "me"),
                    AccountRoute::ChangePassword => ("POST", "password"),
                    AccountRoute::RequestReset => ("POST", "password-reset-requests"),
                    AccountRoute::Reset => ("POST", "password-reset"),
                    AccountRoute::FeedTicket => ("POST", "feed-tickets"),
                    AccountRoute::Signals => ("GET", "signals"),
                };
                (method, format!("/v1/account/{tenant}/{leaf}"))
            }
            Route::Page { tenant, path } => ("GET", format!("/t/{tenant}/{path}")),
            Route::Webhook(WebhookRoute::Sellapp { tenant }) => {
                ("POST", format!("/webhooks/sellapp/{tenant}"))
            }
            Route::Media(MediaRoute::Object {
                tenant,
                attachment_id,
            }) => ("GET", format!("/media/{tenant}/{attachment_id}")),
            Route::Shop { tenant, route } => match route {
                ShopRoute::Storefront => ("GET", format!("/v1/shop/{tenant}")),
                ShopRoute::Order { order } => ("GET", format!("/v1/shop/{tenant}/orders/{order}")),
            },
        }
    }

    fn admin_sample(route: &AdminRoute) -> (&'static str, String) {
        match route {
            AdminRoute::Tenants(r) => match r {
                TenantsRoute::List => ("GET", "tenants".into()),
                TenantsRoute::Create => ("POST", "tenants".into()),
                TenantsRoute::Get { tenant } => ("GET", format!("tenants/{tenant}")),
            },
            AdminRoute::Connectors { tenant, route } => {
                let base = format!("tenants/{tenant}/connectors");
                match route {
                    ConnectorsRoute::List => ("GET", base),
                    ConnectorsRoute::Create => ("POST", base),
                    ConnectorsRoute::Get { connector } => ("GET", format!("{base}/{connector}")),
                    ConnectorsRoute::Patch { connector } => {
                        ("PATCH", format!("{base}/{connector}"))
                    }
                    ConnectorsRoute::RotateToken { connector } => {
                        ("POST", format!("{base}/{connector}/rotate-token"))
                    }
                    ConnectorsRoute::Pause { connector } => {
                        ("POST", format!("{base}/{connector}/pause"))
                    }
                    ConnectorsRoute::Resume { connector } => {
                        ("POST", format!("{base}/{connector}/resume"))
                    }
                }
            }
            AdminRoute::Sources {
                tenant,
                connector,
                route,
            } => {
                let base = format!("tenants/{tenant}/connectors/{connector}/sources");
                match route {
                    SourcesRoute::List => ("GET", base),
                    SourcesRoute::Put { channel } => ("PUT", format!("{base}/{channel}")),
                    SourcesRoute::Delete { channel } => ("DELETE", format!("{base}/{channel}")),
                }
            }
            AdminRoute::Mappings {
                tenant,
                connector,
                route,
            } => {
                let base = format!("tenants/{tenant}/connectors/{connector}/mappings");
                match route {
                    MappingsRoute::List => ("GET", base),
                    MappingsRoute::Put { source, target } => {
                        ("PUT", format!("{base}/{source}/{target}"))
                    }
                    MappingsRoute::Delete { source, target } => {
                        ("DELETE", format!("{base}/{source}/{target}"))
                    }
                }
            }
            AdminRoute::Mirroring {
                tenant,
                connector,
                route,
            } => {
                let base = format!("tenants/{tenant}/connectors/{connector}/mirroring");
                match route {
                    MirroringRoute::Status => ("GET", base),
                    MirroringRoute::RequeueAll => ("POST", format!("{base}/requeue")),
                    MirroringRoute::RequeueOne { target, job } => (
                        "POST",
                        format!("{base}/targets/{target}/dead/{job}/requeue"),
                    ),
                }
            }
            AdminRoute::Discovery {
                tenant,
                connector,
                route,
            } => {
                let base = format!("tenants/{tenant}/connectors/{connector}");
                match route {
                    DiscoveryRoute::Request => ("POST", format!("{base}/discovery-requests")),
                    DiscoveryRoute::Guilds => ("GET", format!("{base}/guilds")),
                    DiscoveryRoute::Channels => ("GET", format!("{base}/channels")),
                }
            }
            AdminRoute::Rejections {
                tenant,
                connector,
                route,
            } => match route {
                RejectionsRoute::Report => (
                    "GET",
                    format!("tenants/{tenant}/connectors/{connector}/rejections"),
                ),
            },
            AdminRoute::Signals { tenant, route } => match route {
                SignalsRoute::Recent => ("GET", format!("tenants/{tenant}/signals")),
            },
            AdminRoute::Threads { tenant, route } => match route {
                ThreadsRoute::Recent => ("GET", format!("tenants/{tenant}/threads")),
            },
            AdminRoute::FeedStats { tenant, route } => match route {
                FeedStatsRoute::Get => ("GET", format!("tenants/{tenant}/feed-stats")),
            },
            AdminRoute::Tiers { tenant, route } => {
                let base = format!("tenants/{tenant}/tiers");
                match route {
                    TiersRoute::List => ("GET", base),
                    TiersRoute::Create => ("POST", base),
                    TiersRoute::Patch { tier } => ("PATCH", format!("{base}/{tier}")),
                    TiersRoute::Delete { tier } => ("DELETE", format!("{base}/{tier}")),
                }
            }
            AdminRoute::Visibility { tenant, route } => {
                let base = format!("tenants/{tenant}/channel-visibility");
                match route {
                    VisibilityRoute::List => ("GET", base),
                    VisibilityRoute::Put { channel } => ("PUT", format!("{base}/{channel}")),
                }
            }
            AdminRoute::Payments { tenant, route } => {
                let base = format!("tenants/{tenant}/payments");
                match route {
                    PaymentsRoute::SecretInfo => ("GET", format!("{base}/webhook-secret")),
                    PaymentsRoute::SetSecret => ("PUT", format!("{base}/webhook-secret")),
                    PaymentsRoute::Policies => ("GET", format!("{base}/policies")),
                    PaymentsRoute::PutPolicy { policy } => {
                        ("PUT", format!("{base}/policies/{policy}"))
                    }
                    PaymentsRoute::DeletePolicy { policy } => {
                        ("DELETE", format!("{base}/policies/{policy}"))
                    }
                    PaymentsRoute::Events => ("GET", format!("{base}/events")),
                    PaymentsRoute::Replay { event } => {
                        ("POST", format!("{base}/events/{event}/replay"))
                    }
                    PaymentsRoute::ReplayAll => ("POST", format!("{base}/events/replay")),
                    PaymentsRoute::Store => ("GET", format!("{base}/store")),
                    PaymentsRoute::SetStore => ("PUT", format!("{base}/store")),
                    PaymentsRoute::Reconciliation => ("GET", format!("{base}/reconciliation")),
                    PaymentsRoute::Flags => ("GET", format!("{base}/flags")),
                    PaymentsRoute::Catalog => ("GET", format!("{base}/catalog")),
                    PaymentsRoute::PutCatalog => ("PUT", format!("{base}/catalog")),
                    PaymentsRoute::Sales => ("GET", format!("{base}/sales")),
                }
            }
            AdminRoute::Seats { tenant, route } => {
                let base = format!("tenants/{tenant}/seats");
                match route {
                    SeatsRoute::List => ("GET", base),
                    SeatsRoute::Get { guild } => ("GET", format!("{base}/{guild}")),
                    SeatsRoute::Put { guild } => ("PUT", format!("{base}/{guild}")),
                    SeatsRoute::Delete { guild } => ("DELETE", format!("{base}/{guild}")),
                    SeatsRoute::Refresh { guild } => ("POST", format!("{base}/{guild}/refresh")),
                    SeatsRoute::Gate { guild } => ("GET", format!("{base}/{guild}/gate")),
                }
            }
            AdminRoute::SeatSwitch(route) => match route {
                SeatSwitchRoute::Get => ("GET", "seats/kill-switch".into()),
                SeatSwitchRoute::Put => ("PUT", "seats/kill-switch".into()),
            },
            AdminRoute::Customers { tenant, route } => {
                let base = format!("tenants/{tenant}/customers");
                match route {
                    CustomersRoute::List => ("GET", base),
                    CustomersRoute::Get { customer } => ("GET", format!("{base}/{customer}")),
                    CustomersRoute::History { customer } => {
                        ("GET", format!("{base}/{customer}/history"))
                    }
                    CustomersRoute::Grant { customer } => {
                        ("POST", format!("{base}/{customer}/grants"))
                    }
                    CustomersRoute::Revoke {
                        customer,
                        entitlement,
                    } => (
                        "POST",
                        format!("{base}/{customer}/entitlements/{entitlement}/revoke"),
                    ),
                    CustomersRoute::ResetLink { customer } => {
                        ("POST", format!("{base}/{customer}/reset-link"))
                    }
                    CustomersRoute::Disable { customer } => {
                        ("POST", format!("{base}/{customer}/disable"))
                    }
                    CustomersRoute::Enable { customer } => {
                        ("POST", format!("{base}/{customer}/enable"))
                    }
                    CustomersRoute::RevokeSessions { customer } => {
                        ("POST", format!("{base}/{customer}/revoke-sessions"))
                    }
                }
            }
            AdminRoute::Discord(route) => match route {
                DiscordRoute::Status => ("GET", "discord".into()),
                DiscordRoute::Reset => ("POST", "discord/reset".into()),
                DiscordRoute::Probe => ("POST", "discord/probe".into()),
            },
            AdminRoute::Catalog(route) => match route {
                CatalogRoute::Guilds => ("GET", "catalog/guilds".into()),
                CatalogRoute::Guild { guild } => ("GET", format!("catalog/guilds/{guild}")),
                CatalogRoute::Assign { guild } => ("PUT", format!("catalog/guilds/{guild}/tenant")),
                CatalogRoute::Unassign { guild } => {
                    ("DELETE", format!("catalog/guilds/{guild}/tenant"))
                }
                CatalogRoute::RefreshStatus => ("GET", "catalog/refresh".into()),
                CatalogRoute::Refresh => ("POST", "catalog/refresh".into()),
            },
            AdminRoute::TenantCatalog { tenant, route } => {
                let base = format!("tenants/{tenant}/catalog");
                match route {
                    TenantCatalogRoute::Guilds => ("GET", format!("{base}/guilds")),
                    TenantCatalogRoute::Channels => ("GET", format!("{base}/channels")),
                    TenantCatalogRoute::Roles => ("GET", format!("{base}/roles")),
                }
            }
            AdminRoute::Media { tenant, route } => {
                let base = format!("tenants/{tenant}/media");
                match route {
                    AdminMediaRoute::List => ("GET", base),
                    AdminMediaRoute::Refetch { attachment_id } => {
                        ("POST", format!("{base}/{attachment_id}/refetch"))
                    }
                }
            }
        }
    }

    const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    #[test]
    fn every_route_round_trips_its_sample_request() {
        let all = every_route();
        let mut requests: Vec<(&str, String)> = all.iter().map(sample).collect();
        for (route, (method, path)) in all.iter().zip(&requests) {
            assert_eq!(
                match_route(method, path).as_ref(),
                Ok(route),
                "{method} {path}"
            );
            assert_eq!(
                match_route(method, &format!("{path}/")).as_ref(),
                Ok(route),
                "{method} {path}/"
            );
            if *method == "GET" {
                assert_eq!(match_route("HEAD", path).as_ref(), Ok(route), "HEAD {path}");
            }
        }
        requests.sort();
        requests.dedup();
        assert_eq!(requests.len(), all.len(), "two routes share a request");
        // One per leaf variant: an entry dropped from the list fails here.
        // 30 connector/feed/admin, 11 account, 6 tiers and visibility, 9 customers, 3 Discord
        // client, 9 catalog, 1 Sell.app webhook, 8 + 7 payments, 1 media object + 2 admin media,
        // 8 seats, 2 shop, 3 mirroring.
        assert_eq!(
            all.len(),
            30 + 11 + 6 + 9 + 3 + 9 + 1 + 8 + 7 + 3 + 8 + 2 + 3
        );
    }

    /// Every other method on a route's path is refused with the path's full method list, and
    /// that list is exactly the methods the table routes there.
    #[test]
    fn other_methods_are_405_with_the_paths_allow_list() {
        let all = every_route();
        for route in &all {
            let (_, path) = sample(route);
            let routed: Vec<&str> = all
                .iter()
                .map(sample)
                .filter(|(_, p)| *p == path)
                .map(|(m, _)| m)
                .collect();
            let allow = routed.join(", ");
            for method in METHODS {
                let got = match_route(method, &path);
                if routed.contains(&method) {
                    assert!(got.is_ok(), "{method} {path}: {got:?}");
                } else {
                    match got {
                        Err(RouteError::MethodNotAllowed { allow: a }) => {
                            assert_eq!(a, allow, "{method} {path}")
                        }
                        other => panic!("{method} {path}: {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn discord_routes() {
        assert_eq!(
            match_route("GET", "/v1/admin/discord"),
            Ok(Route::Admin(AdminRoute::Discord(DiscordRoute::Status)))
        );
        assert_eq!(
            match_route("POST", "/v1/admin/discord/reset"),
            Ok(Route::Admin(AdminRoute::Discord(DiscordRoute::Reset)))
        );
        assert_eq!(
            match_route("GET", "/v1/admin/discord/reset"),
            Err(RouteError::MethodNotAllowed { allow: "POST" })
        );
        assert_eq!(
            match_route("GET", "/v1/admin/discord/gates/x"),
            Err(RouteError::NotFound)
        );
    }

    #[test]
    fn catalog_routes() {
        assert_eq!(
            match_route("PUT", "/v1/admin/catalog/guilds/9/tenant"),
            Ok(Route::Admin(AdminRoute::Catalog(CatalogRoute::Assign {
                guild: "9".into()
            })))
        );
        assert_eq!(
            match_route("POST", "/v1/admin/catalog/guilds/9/tenant"),
            Err(RouteError::MethodNotAllowed {
                allow: "PUT, DELETE"
            })
        );
        assert_eq!(
            match_route("GET", "/v1/admin/tenants/catalog"),
            Ok(Route::Admin(AdminRoute::Tenants(TenantsRoute::Get {
                tenant: "catalog".into()
            }))),
            "a tenant may be called catalog"
        );
        assert_eq!(
            match_route("GET", "/v1/admin/tenants/t1/catalog/channels"),
            Ok(Route::Admin(AdminRoute::TenantCatalog {
                tenant: T.into(),
                route: TenantCatalogRoute::Channels
            }))
        );
        for path in [
            "/v1/admin/catalog",
            "/v1/admin/catalog/guilds/9/channels",
            "/v1/admin/catalog/refresh/x",
            "/v1/admin/tenants/t1/catalog",
            "/v1/admin/tenants/t1/catalog/webhooks",
        ] {
            assert_eq!(
                match_route("GET", path),
                Err(RouteError::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn connector_routes() {
        assert_eq!(
            match_route("GET", "/connectors/conn_01/runtime-config"),
            Ok(Route::Connector(ConnectorRoute::RuntimeConfig {
                connector_id: "conn_01".into()
            }))
        );
        assert_eq!(
            match_route("POST", "/ingest/message-batch"),
            Ok(Route::Connector(ConnectorRoute::IngestMessages))
        );
        assert_eq!(
            match_route("POST", "/ingest/message-batch/"),
            Ok(Route::Connector(ConnectorRoute::IngestMessages))
        );
        assert_eq!(
            match_route("GET", "/ingest/message-batch"),
            Err(RouteError::MethodNotAllowed { allow: "POST" })
        );
        assert_eq!(match_route("GET", "/nope"), Err(RouteError::NotFound));
        assert_eq!(match_route("GET", "/"), Err(RouteError::NotFound));
        assert_eq!(match_route("HEAD", "/health"), Ok(Route::Health));
        assert_eq!(
            match_route("POST", "/health"),
            Err(RouteError::MethodNotAllowed { allow: "GET" })
        );
    }

    #[test]
    fn admin_routes() {
        assert_eq!(
            match_route("GET", "/v1/admin/tenants"),
            Ok(Route::Admin(AdminRoute::Tenants(TenantsRoute::List)))
        );
        assert_eq!(
            match_route("DELETE", "/v1/admin/tenants"),
            Err(RouteError::MethodNotAllowed { allow: "GET, POST" })
        );
        assert_eq!(
            match_route("PUT", "/v1/admin/tenants/t1/connectors/c1/mappings/1/2"),
            Ok(mappings(MappingsRoute::Put {
                source: "1".into(),
                target: "2".into()
            }))
        );
        assert_eq!(
            match_route("POST", "/v1/admin/tenants/t1/connectors/c1/pause"),
            Ok(connectors(ConnectorsRoute::Pause {
                connector: "c1".into()
            }))
        );
        assert_eq!(
            match_route("GET", "/v1/admin/tenants/t1/connectors/c1/bogus"),
            Err(RouteError::NotFound)
        );
    }

    /// A connector may be named like a resource below it; the position decides.
    #[test]
    fn path_parameters_may_spell_resource_names() {
        assert_eq!(
            match_route("GET", "/v1/admin/tenants/t1/connectors/sources"),
            Ok(connectors(ConnectorsRoute::Get {
                connector: "sources".into()
            }))
        );
        assert_eq!(
            match_route("GET", "/v1/admin/tenants/connectors"),
            Ok(Route::Admin(AdminRoute::Tenants(TenantsRoute::Get {
                tenant: "connectors".into()
            })))
        );
        assert_eq!(
            match_route("GET", "/v1/admin/tenants/t1/connectors/pause/sources"),
            Ok(Route::Admin(AdminRoute::Sources {
                tenant: T.into(),
                connector: "pause".into(),
                route: SourcesRoute::List,
            }))
        );
        assert_eq!(
            match_route(
                "DELETE",
                "/v1/admin/tenants/t1/connectors/c1/sources/guilds"
            ),
            Ok(sources(SourcesRoute::Delete {
                channel: "guilds".into()
            }))
        );
    }

    /// The account area is matched before the feed area takes the rest of `/v1`, and a tenant
    /// named like an account action stays a tenant.
    #[test]
    fn account_and_page_routes() {
        assert_eq!(
            match_route("POST", "/v1/account/feed-tickets/feed-tickets"),
            Ok(Route::Account {
                tenant: "feed-tickets".into(),
                route: AccountRoute::FeedTicket
            })
        );
        assert_eq!(
            match_route("GET", "/v1/account/t1/login"),
            Err(RouteError::MethodNotAllowed { allow: "POST" })
        );
        assert_eq!(
            match_route("GET", "/t/demo/"),
            Ok(Route::Page {
                tenant: "demo".into(),
                path: String::new()
            })
        );
        assert_eq!(
            match_route("GET", "/t/demo/reset/index.html"),
            Ok(Route::Page {
                tenant: "demo".into(),
                path: "reset/index.html".into()
            })
        );
        assert_eq!(
            match_route("POST", "/t/demo/login"),
            Err(RouteError::MethodNotAllowed { allow: "GET" })
        );
        for path in [
            "/t",
            "/t/",
            "/v1/account",
            "/v1/account/t1",
            "/v1/account/t1/nope",
        ] {
            assert_eq!(
                match_route("GET", path),
                Err(RouteError::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn seat_routes() {
        assert_eq!(
            match_route("POST", "/v1/admin/tenants/t1/seats/42/refresh"),
            Ok(seats(SeatsRoute::Refresh { guild: "42".into() }))
        );
        assert_eq!(
            match_route("PATCH", "/v1/admin/tenants/t1/seats/42"),
            Err(RouteError::MethodNotAllowed {
                allow: "GET, PUT, DELETE"
            })
        );
        assert_eq!(
            match_route("PUT", "/v1/admin/seats/kill-switch"),
            Ok(Route::Admin(AdminRoute::SeatSwitch(SeatSwitchRoute::Put)))
        );
        for path in [
            "/v1/admin/seats",
            "/v1/admin/seats/other",
            "/v1/admin/tenants/t1/seats/42/other",
            "/v1/admin/tenants/t1/seats/42/refresh/x",
        ] {
            assert_eq!(
                match_route("GET", path),
                Err(RouteError::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn unknown_paths_are_404() {
        let c = "/v1/admin/tenants/t1/connectors/c1";
        for path in [
            "/healthz",
            "/health/x",
            "/connectors",
            "/connectors/c1",
            "/connectors/c1/runtime-config/x",
            "/ingest",
            "/ingest/other",
            "/ingest/thread/x",
            "/v1",
            "/v1/feeds",
            "/v1/feed/x",
            "/v1/feed-tickets/x",
            "/v1/admin",
            "/v1/admin/other",
            "/v1/admin/tenants/t1/other",
            "/v1/admin/tenants/t1/connectors/c1/pause/x",
            "/v1/admin/tenants/t1/signals/x",
            "/v1/admin/tenants/t1/threads/x",
            "/v1/admin/tenants/t1/feed-stats/x",
            &format!("{c}/sources/1/2"),
            &format!("{c}/mappings/1"),
            &format!("{c}/mappings/1/2/3"),
            &format!("{c}/guilds/1"),
            &format!("{c}/channels/1"),
            &format!("{c}/discovery-requests/1"),
            &format!("{c}/rejections/1"),
            "/admin/",
            "/dashboard/",
            "/app.js",
        ] {
            for method in METHODS {
                assert_eq!(
                    match_route(method, path),
                    Err(RouteError::NotFound),
                    "{method} {path}"
                );
            }
        }
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
        // Every routed path's first segment is one the worker runs first for.
        for route in every_route() {
            let (_, path) = sample(&route);
            assert!(covered(&path), "{path} is not covered by run_worker_first");
        }
    }
}
