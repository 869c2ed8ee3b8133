//! Settings from `[vars]` and secrets, with defaults that match `wrangler.toml`.

use relay_core::protocol::Limits;
use worker::Env;

#[derive(Debug, Clone)]
pub struct Config {
    pub allowed_origins: Vec<String>,
    /// Days; fractions allowed (operators testing retention use minutes).
    pub retention_days: f64,
    pub max_body_bytes: usize,
    pub limits: Limits,
    pub ticket_ttl_ms: i64,
    /// How long an isolate may reuse a connector-token lookup for ingest.
    pub auth_cache_ms: i64,
    /// Log every request (`ACCESS_LOG = "all"`, the default) or only those answered with a
    /// 4xx/5xx (`"errors"`). The platform's own invocation logs already record each request;
    /// under `wrangler dev` every log line also crosses the inspector into wrangler's Node
    /// process, which costs more CPU than the request itself.
    pub log_all_requests: bool,
    /// Customer sessions: absolute lifetime and idle timeout.
    pub session_absolute_ms: i64,
    pub session_idle_ms: i64,
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|s| !s.trim().is_empty())
}

fn num<T: std::str::FromStr>(env: &Env, name: &str, default: T) -> T {
    var(env, name)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

impl Config {
    pub fn from_env(env: &Env) -> Self {
        let allowed_origins = var(env, "ALLOWED_ORIGINS")
            .map(|s| {
                s.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_string())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let limits = Limits {
            max_batch: num(env, "MAX_BATCH_MESSAGES", 100usize).clamp(1, 1_000),
            ..Limits::default()
        };
        Config {
            allowed_origins,
            retention_days: Some(num(env, "RETENTION_DAYS", 90f64))
                .filter(|d| d.is_finite() && *d > 0.0)
                .unwrap_or(90.0),
            max_body_bytes: num(env, "MAX_BODY_BYTES", 2 * 1024 * 1024usize).max(1024),
            limits,
            ticket_ttl_ms: num(env, "FEED_TICKET_TTL_SECONDS", 60i64).clamp(5, 3_600) * 1_000,
            auth_cache_ms: num(env, "AUTH_CACHE_SECONDS", 5i64).clamp(0, 300) * 1_000,
            log_all_requests: var(env, "ACCESS_LOG")
                .map(|v| !v.trim().eq_ignore_ascii_case("errors"))
                .unwrap_or(true),
            session_absolute_ms: num(env, "SESSION_ABSOLUTE_HOURS", 168f64)
                .clamp(0.0003, 8_760.0)
                .mul_add(3_600_000.0, 0.0) as i64,
            session_idle_ms: num(env, "SESSION_IDLE_MINUTES", 720f64)
                .clamp(0.01, 525_600.0)
                .mul_add(60_000.0, 0.0) as i64,
        }
    }
}

/// The tenant object's tunables, read once when an object starts (the edge does not need them
/// per request).
#[derive(Debug, Clone)]
pub struct ObjectSettings {
    /// How long commits gather before one projection round trip to D1.
    pub projection_debounce_ms: i64,
    /// Signals in a snapshot frame.
    pub snapshot_limit: usize,
    pub heartbeat_ms: i64,
    /// Events kept in the durable log; older cursors get a snapshot instead of a replay.
    pub event_log_max: u64,
    /// Signs the `media_url` of every attachment a socket is sent (none without a key).
    pub media_signer: Option<relay_media::link::Signer>,
    pub media_link_ttl_s: i64,
}

impl ObjectSettings {
    pub fn from_env(env: &Env) -> Self {
        ObjectSettings {
            projection_debounce_ms: num(env, "PROJECTION_DEBOUNCE_MS", 200i64).clamp(0, 60_000),
            snapshot_limit: num(env, "FEED_SNAPSHOT_LIMIT", 50i64).clamp(1, 500) as usize,
            heartbeat_ms: num(env, "HEARTBEAT_SECONDS", 30i64).clamp(1, 3_600) * 1_000,
            event_log_max: num(env, "FEED_EVENT_LOG_MAX", 50_000i64).clamp(10, 10_000_000) as u64,
            media_signer: relay_media::link::Signer::new(
                secret(env, "MEDIA_SIGNING_KEY").as_deref(),
            )
            .ok(),
            media_link_ttl_s: num(env, "MEDIA_LINK_TTL_SECONDS", 86_400i64).clamp(60, 30 * 86_400),
        }
    }
}

/// Seat enforcement's windows and cadence (issue 15), read by the seat object and the admin
/// API from `[vars]`; the defaults are the issue's.
#[derive(Debug, Clone, Copy)]
pub struct SeatSettings {
    pub policy: relay_guild::seats::SeatPolicy,
    pub cadence: relay_guild::seats::CadencePolicy,
    /// Skip paging when the approximate member count is within the limit.
    pub shortcut: bool,
}

impl SeatSettings {
    pub fn from_env(env: &Env) -> Self {
        use relay_guild::seats::{CadencePolicy, FreshnessPolicy, HoldPolicy, SeatPolicy};
        let fresh = num(env, "SEAT_FRESH_SECONDS", 90i64).clamp(1, 86_400) * 1_000;
        let stale = num(env, "SEAT_STALE_SECONDS", 300i64).clamp(1, 86_400) * 1_000;
        let freshness = FreshnessPolicy::new(fresh, stale.max(fresh)).unwrap_or_default();
        let interval = num(env, "SEAT_AUDIT_SECONDS", 60i64).clamp(1, 86_400) * 1_000;
        let over = num(env, "SEAT_AUDIT_OVER_SECONDS", 30i64).clamp(1, 86_400) * 1_000;
        SeatSettings {
            policy: SeatPolicy {
                freshness,
                hold: HoldPolicy {
                    max_age_ms: num(env, "SEAT_HOLD_MAX_HOURS", 24i64).clamp(1, 720) * 3_600_000,
                },
            },
            cadence: CadencePolicy {
                interval_ms: interval,
                over_interval_ms: over,
                ..CadencePolicy::default()
            },
            shortcut: var(env, "SEAT_COUNT_SHORTCUT").is_none_or(|v| v.trim() != "0"),
        }
    }
}

/// A secret, or `None` when unset or empty.
pub fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string())
        .or_else(|| var(env, name))
        .filter(|s| !s.is_empty())
}

/// Discord settings: where the API is and the app's credentials. Read where they are used
/// (the facade, the gate object), not per request of the rest of the worker.
#[derive(Clone)]
pub struct DiscordConfig {
    /// `DISCORD_API_BASE`: Discord's API, or an egress proxy in front of it, or the fake.
    pub api_base: String,
    /// `DISCORD_CDN_BASE`: Discord's CDN, which avatar URLs (a mirrored post's `avatar_url`)
    /// point at; the fake's CDN in tests and the local demo.
    pub cdn_base: String,
    pub bot_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// `DISCORD_INVALID_REQUEST_BUDGET`: 401/403/429s tolerated per 10 minutes before every
    /// Discord call pauses (Discord bans an IP at 10,000, and Workers share IPs).
    pub invalid_request_budget: u32,
}

// The secrets must not reach a log through `{:?}`.
impl std::fmt::Debug for DiscordConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordConfig")
            .field("api_base", &self.api_base)
            .field("cdn_base", &self.cdn_base)
            .field("bot_token", &self.bot_token.as_ref().map(|_| "<set>"))
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<set>"),
            )
            .field("invalid_request_budget", &self.invalid_request_budget)
            .finish()
    }
}

impl DiscordConfig {
    pub fn from_env(env: &Env) -> Self {
        DiscordConfig {
            api_base: var(env, "DISCORD_API_BASE")
                .map(|b| b.trim().trim_end_matches('/').to_string())
                .unwrap_or_else(|| relay_discord::DEFAULT_API_BASE.to_string()),
            cdn_base: var(env, "DISCORD_CDN_BASE")
                .map(|b| b.trim().trim_end_matches('/').to_string())
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| relay_discord::cdn::DEFAULT_CDN_BASE.to_string()),
            bot_token: secret(env, "DISCORD_BOT_TOKEN").map(|s| s.trim().to_string()),
            client_id: secret(env, "DISCORD_CLIENT_ID").map(|s| s.trim().to_string()),
            client_secret: secret(env, "DISCORD_CLIENT_SECRET"),
            invalid_request_budget: num(env, "DISCORD_INVALID_REQUEST_BUDGET", 1_000u32)
                .clamp(1, 9_000),
        }
    }

    /// The names of the secrets that are not set, for the admin API.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            ("DISCORD_BOT_TOKEN", self.bot_token.is_some()),
            ("DISCORD_CLIENT_ID", self.client_id.is_some()),
            ("DISCORD_CLIENT_SECRET", self.client_secret.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| !set)
        .map(|(name, _)| name)
        .collect()
    }

    pub fn limiter_config(&self) -> relay_discord::ratelimit::Config {
        relay_discord::ratelimit::Config {
            invalid_budget: self.invalid_request_budget,
            ..relay_discord::ratelimit::Config::default()
        }
    }
}

/// The media store (`MEDIA` bucket, `media_attachments`): signing, limits, where links point.
/// Read where it is used (the landing fetch, the media route, the tenant object's frames).
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// `MEDIA_SIGNING_KEY` (secret, ≥ 32 bytes). Without it nothing is signed or served.
    pub signer: std::result::Result<relay_media::link::Signer, relay_media::MediaError>,
    /// `MEDIA_PUBLIC_BASE`: the origin absolute links (a mirrored message's link) point at;
    /// https, or http on a loopback host.
    pub public_base: Option<relay_media::link::PublicBase>,
    /// `MEDIA_MAX_BYTES`, `MEDIA_FETCH_TIMEOUT_MS`.
    pub limits: relay_media::Limits,
    /// `MEDIA_LINK_TTL_SECONDS`: at least how long a link shown to a viewer lives.
    pub link_ttl_s: i64,
    /// `MEDIA_SOURCE_ORIGINS`: where the landing fetch may fetch from.
    pub source_origins: Vec<String>,
    pub policy: relay_media::claim::Policy,
}

impl MediaConfig {
    pub fn from_env(env: &Env) -> Self {
        let defaults = relay_media::Limits::default();
        let limits = relay_media::Limits {
            max_bytes: num(env, "MEDIA_MAX_BYTES", defaults.max_bytes).clamp(1, 100 * 1024 * 1024),
            timeout_ms: num(env, "MEDIA_FETCH_TIMEOUT_MS", defaults.timeout_ms).clamp(100, 60_000),
        };
        MediaConfig {
            signer: relay_media::link::Signer::new(secret(env, "MEDIA_SIGNING_KEY").as_deref()),
            public_base: var(env, "MEDIA_PUBLIC_BASE")
                .and_then(|b| relay_media::link::PublicBase::parse(b.trim())),
            limits,
            link_ttl_s: num(env, "MEDIA_LINK_TTL_SECONDS", 86_400i64).clamp(60, 30 * 86_400),
            source_origins: relay_media::source::origins(
                var(env, "MEDIA_SOURCE_ORIGINS").as_deref(),
            ),
            policy: relay_media::claim::Policy {
                // The lease outlives the fetch's timeout and the R2 write after it.
                lease_ms: limits.timeout_ms as i64 + 30_000,
                ..relay_media::claim::Policy::default()
            },
        }
    }
}
