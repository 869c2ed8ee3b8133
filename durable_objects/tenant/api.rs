//! The tenant object's protocol: every path it serves, with the request and response types
//! both sides use. The edge calls it only through [`super::client::TenantClient`]; the object
//! decodes the same types in its router, so a change here is a change on both sides at once.

use relay_core::protocol::{MessageEvent, ThreadEvent};
use relay_core::rejection::{IngestRoute, RejectedItem};
use serde::{Deserialize, Serialize};

pub const INGEST_MESSAGES: &str = "/ingest/messages";
pub const INGEST_THREAD: &str = "/ingest/thread";
pub const REJECTIONS: &str = "/rejections";
pub const FEED: &str = "/feed";
pub const STATS: &str = "/stats";
pub const MAINTENANCE: &str = "/maintenance";
pub const ENFORCE_ACCESS: &str = "/customers/enforce";
pub const ROUTING_CHANGED: &str = "/mirror/routing-changed";

/// `POST /ingest/messages`: the valid events of one batch, committed in one transaction with
/// the batch's rejections.
#[derive(Debug, Serialize, Deserialize)]
pub struct IngestMessages {
    pub connector_id: String,
    pub messages: Vec<MessageEvent>,
    /// Positions in `messages` whose `created_at` the edge replaced by the id's time.
    #[serde(default)]
    pub corrected: Vec<usize>,
    #[serde(default)]
    pub rejected: Vec<RejectedItem>,
    /// What the edge knows of the connector's mirroring (from the row it authenticated
    /// with): the object hands changes of mapped source channels to the mirror object.
    #[serde(default)]
    pub mirror: Option<MirrorRouting>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct MirrorRouting {
    pub forward_enabled: bool,
    /// Bumped by every mapping edit: the object reloads the mapped source channels then.
    pub config_version: i64,
}

/// `POST /ingest/thread`.
#[derive(Debug, Serialize, Deserialize)]
pub struct IngestThread {
    pub connector_id: String,
    pub event: ThreadEvent,
    #[serde(default)]
    pub rejected: Vec<RejectedItem>,
}

/// The answer to both ingest calls.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct IngestOutcome {
    pub accepted: u64,
    pub deduped: u64,
    /// The tenant's last assigned sequence number after the commit.
    pub seq: u64,
}

/// `POST /rejections`: records items a route refused that reached no other object call (a
/// discovery snapshot is stored in D1, not here).
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordRejections {
    pub connector_id: String,
    pub rejected: Vec<RejectedItem>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Recorded {
    /// Rejections not seen before (a resent request records nothing new).
    pub recorded: u64,
}

/// `GET /rejections?connector_id=`: what a connector sent wrong.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RejectionReport {
    /// Distinct rejected items ever recorded for the connector.
    pub total: u64,
    pub last_at: Option<i64>,
    /// Accepted messages whose `created_at` was replaced by the time their id encodes.
    pub created_at_corrected: u64,
    /// Newest first.
    pub recent: Vec<RecordedRejection>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedRejection {
    pub at: i64,
    pub route: IngestRoute,
    pub index: usize,
    pub idempotency_key: Option<String>,
    pub error_code: String,
    pub message: String,
    pub fields: Vec<relay_core::validate::FieldError>,
}

/// `POST /mirror/routing-changed`: a connector's mappings, sources or forwarding changed
/// (its config is now at `config_version`). Ingest may carry an older version for a few
/// seconds (connector rows are cached per isolate), so the object takes the newest it knows.
#[derive(Debug, Serialize, Deserialize)]
pub struct RoutingChanged {
    pub connector_id: String,
    pub config_version: i64,
    pub forward_enabled: bool,
}

/// `POST /maintenance`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Maintenance {
    pub retention_days: f64,
}

/// Rows removed by retention.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Retention {
    pub signals: usize,
    pub threads: usize,
    pub events: usize,
    pub receipts: usize,
}

/// `GET /stats`: the object's own view, for operators.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub tenant_key: Option<String>,
    pub seq: u64,
    pub sockets: usize,
    pub filters: Option<usize>,
    pub ring: usize,
    pub signals: i64,
    pub visible_signals: i64,
    pub threads: i64,
    pub events: i64,
    pub receipts: i64,
    pub outbox: i64,
    pub storage_bytes: usize,
}

/// `POST /customers/enforce`: what one customer may see now, sent by the edge after every
/// change to their entitlements, their tier's channels, their sessions or their account.
#[derive(Debug, Serialize, Deserialize)]
pub struct EnforceAccess {
    pub customer_id: String,
    /// The channels the customer's tier sees; `None` = no access (sockets close with 4403).
    pub channels: Option<Vec<String>>,
    /// When the access may change by itself next (an entitlement window opening or closing).
    pub until: Option<i64>,
    /// Sessions were revoked: every socket closes (4401), whatever the access.
    #[serde(default)]
    pub sessions_revoked: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Enforced {
    /// Sockets closed (their scope changed or access ended).
    pub closed: usize,
    /// Sockets left open (their scope is still exactly right).
    pub kept: usize,
}
