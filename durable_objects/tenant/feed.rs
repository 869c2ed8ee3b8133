//! Live feed: hibernatable WebSockets, initial frames (snapshot or replay), fan-out, heartbeats.
//!
//! Every socket is tagged with its channel filter (`f:<id>`); the filter's channel list lives in
//! SQLite. A broadcast builds each distinct frame once per filter and sends the same JS string to
//! every socket of that filter, so its cost is one `send` per socket and not one serialisation.
//! Frames committed while a broadcast is deferred travel together as one `batch` frame.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::rc::Rc;

use relay_core::encoding::hex;
use relay_core::fanout;
use relay_core::frames::{batch_frame, ping_frame, snapshot_frame, SnapshotReason};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use wasm_bindgen::JsValue;
use worker::{Request, Response, Result, WebSocket, WebSocketIncomingMessage, WebSocketPair};

use super::sql::{si, so, sv};
use super::state::Shared;
use crate::durable_objects::js;

/// Frames kept in memory for fast resume; older cursors are served from SQLite.
const RING_MAX: usize = 8_192;
/// Most events per `batch` frame during a replay.
const REPLAY_CHUNK: usize = 500;
/// Initial-frame cache entries kept for the current `seq` (reconnect storms share them).
const INITIAL_CACHE_MAX: usize = 64;
/// A socket that has not pinged for this many heartbeat intervals is closed.
const DEAD_AFTER_INTERVALS: i64 = 3;
pub const ALL: &str = "all";

/// One visible change, as logged and as sent.
#[derive(Clone)]
pub struct LogEntry {
    pub seq: u64,
    pub channel: Option<String>,
    pub frame: Rc<str>,
}

/// Subscriber channel filter; `None` = every channel.
pub type Filter = Option<HashSet<String>>;

/// The feed's in-memory state. Every part can be rebuilt from storage and the sockets' tags
/// and attachments, so eviction loses nothing.
#[derive(Default)]
pub struct FeedState {
    /// Frames committed but not yet sent to sockets.
    pub pending: Vec<LogEntry>,
    /// Filter id → channels, loaded lazily from `feed_filters`.
    pub filters: Option<BTreeMap<String, Filter>>,
    /// Recent frames; complete for every seq above `ring_floor`.
    pub ring: VecDeque<LogEntry>,
    pub ring_floor: u64,
    /// Initial frames already built for the current `seq`, by (filter, since).
    pub initial_cache: HashMap<(String, Option<u64>), Rc<Vec<JsValue>>>,
    pub initial_cache_seq: u64,
    /// The media-link expiry the cached frames were signed with.
    pub initial_cache_exp: i64,
    /// Coalesces frames while a broadcast round is in flight.
    pub pacer: fanout::Pacer,
    /// When the next alarm is known to be due (skips redundant alarm reads on connect).
    pub alarm_at: Option<i64>,
}

impl FeedState {
    pub fn new(seq: u64) -> Self {
        FeedState {
            ring_floor: seq,
            initial_cache_seq: seq,
            initial_cache_exp: 0,
            ..FeedState::default()
        }
    }

    /// Drops cached initial frames (after a purge they may show deleted rows).
    pub fn forget_initial_frames(&mut self) {
        self.initial_cache.clear();
    }
}

#[derive(Serialize, Deserialize)]
struct Attachment {
    sub: String,
    filter: String,
    connected_at: i64,
    #[serde(default)]
    last_message_at: i64,
    /// The customer the ticket was issued to (their sockets carry the tag `c:<id>` too).
    #[serde(default)]
    customer: Option<String>,
    /// When the customer's access may change by itself; the heartbeat closes the socket then
    /// (4409) so the page re-tickets with the scope that holds from that instant.
    #[serde(default)]
    until: Option<i64>,
}

fn tag(filter_id: &str) -> String {
    format!("f:{filter_id}")
}

fn customer_tag(customer: &str) -> String {
    format!("c:{customer}")
}

/// Close codes a customer's page acts on (documented in docs/api.md).
pub const CLOSE_SESSION_REVOKED: u16 = 4401;
pub const CLOSE_ACCESS_REVOKED: u16 = 4403;
pub const CLOSE_ACCESS_CHANGED: u16 = 4409;

/// Applies a customer's current access to their open sockets: a socket whose channel scope is
/// still exactly right stays open (an extension, a change elsewhere); one whose scope changed
/// closes with 4409 so the page reconnects with `since` and a new ticket (narrowed or
/// widened); no access closes with 4403, revoked sessions with 4401. Closing is immediate:
/// nothing more is sent to a closed socket, so a narrowed scope never leaks a frame.
pub fn enforce_access(sh: &Rc<Shared>, body: &super::api::EnforceAccess) -> super::api::Enforced {
    let sockets = sh
        .state
        .get_websockets_with_tag(&customer_tag(&body.customer_id));
    let wanted = body.channels.as_ref().map(|c| filter_id(&Some(c.clone())));
    let (mut closed, mut kept) = (0, 0);
    for ws in &sockets {
        let att: Option<Attachment> = ws.deserialize_attachment().ok().flatten();
        let close = if body.sessions_revoked {
            Some((CLOSE_SESSION_REVOKED, "session_revoked"))
        } else {
            match (&wanted, &att) {
                (None, _) => Some((CLOSE_ACCESS_REVOKED, "access_revoked")),
                (Some(w), Some(a)) if *w == a.filter => None,
                (Some(_), _) => Some((CLOSE_ACCESS_CHANGED, "access_changed")),
            }
        };
        match close {
            Some((code, reason)) => {
                let _ = ws.close(Some(code), Some(reason));
                closed += 1;
            }
            None => {
                if let Some(mut a) = att {
                    a.until = body.until;
                    let _ = ws.serialize_attachment(a);
                }
                kept += 1;
            }
        }
    }
    if kept > 0 {
        ensure_heartbeat(sh.clone(), crate::runtime::now_ms(), body.until);
    }
    super::api::Enforced { closed, kept }
}

/// A stable id for a channel set: sockets with the same scope share frames.
fn filter_id(channels: &Option<Vec<String>>) -> String {
    match channels {
        None => ALL.to_string(),
        Some(list) => {
            let mut sorted = list.clone();
            sorted.sort();
            sorted.dedup();
            hex(&Sha256::digest(sorted.join(",").as_bytes())[..8])
        }
    }
}

fn load_filters(sh: &Shared) -> Result<()> {
    if sh.feed.borrow().filters.is_some() {
        return Ok(());
    }
    #[derive(Deserialize)]
    struct Row {
        filter_id: String,
        channels_json: Option<String>,
    }
    let rows: Vec<Row> = sh
        .sql
        .exec("SELECT filter_id, channels_json FROM feed_filters", None)?
        .to_array()?;
    let mut map = BTreeMap::new();
    for r in rows {
        let filter: Filter = r
            .channels_json
            .and_then(|j| serde_json::from_str::<Vec<String>>(&j).ok())
            .map(|v| v.into_iter().collect());
        map.insert(r.filter_id, filter);
    }
    sh.feed.borrow_mut().filters = Some(map);
    Ok(())
}

fn register_filter(sh: &Shared, id: &str, channels: &Option<Vec<String>>, now: i64) -> Result<()> {
    load_filters(sh)?;
    if sh
        .feed
        .borrow()
        .filters
        .as_ref()
        .is_some_and(|f| f.contains_key(id))
    {
        return Ok(());
    }
    let channels_json = channels
        .as_ref()
        .map(|c| serde_json::to_string(c).unwrap_or_default());
    sh.sql.exec(
        "INSERT INTO feed_filters (filter_id, channels_json, created_at_ms) VALUES (?, ?, ?) \
         ON CONFLICT (filter_id) DO NOTHING",
        vec![sv(id), so(channels_json.as_deref()), si(now)],
    )?;
    let filter: Filter = channels.as_ref().map(|c| c.iter().cloned().collect());
    if let Some(map) = sh.feed.borrow_mut().filters.as_mut() {
        map.insert(id.to_string(), filter);
    }
    Ok(())
}

fn matches(filter: &Filter, channel: &Option<String>) -> bool {
    match (filter, channel) {
        (None, _) => true,
        (Some(set), Some(ch)) => set.contains(ch),
        (Some(_), None) => false,
    }
}

/// The connect URL's parameters, parsed once (first occurrence wins).
fn query_params(req: &Request) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Ok(url) = req.url() {
        for (k, v) in url.query_pairs() {
            out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    out
}

/// Accepts a subscriber. Pending frames are flushed first so the new socket neither misses nor
/// duplicates anything: its initial frames cover exactly up to the current `seq`, and every
/// later frame reaches it through the broadcast.
pub fn accept(sh: &Rc<Shared>, req: &Request) -> Result<Response> {
    let upgrade = req.headers().get("upgrade")?.unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        let err = relay_core::ApiError::new(
            relay_core::ErrorKind::UpgradeRequired,
            "expected a WebSocket upgrade",
        );
        return Ok(Response::from_json(&err.body("internal"))?.with_status(426));
    }
    let now = crate::runtime::now_ms();
    let mut params = query_params(req);
    let since = params.get("since").and_then(|s| s.parse::<u64>().ok());
    let channels: Option<Vec<String>> = params.get("channels").map(|s| {
        s.split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    });
    let sub = params.remove("sub").unwrap_or_default();
    let customer = params.remove("customer").filter(|c| {
        !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    let until = params.get("until").and_then(|u| u.parse::<i64>().ok());

    flush(sh);
    let fid = filter_id(&channels);
    register_filter(sh, &fid, &channels, now)?;

    let pair = WebSocketPair::new()?;
    let server = pair.server;
    let mut tags = vec![tag(&fid)];
    if let Some(c) = &customer {
        tags.push(customer_tag(c));
    }
    let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    sh.state.accept_websocket_with_tags(&server, &tag_refs);
    server.serialize_attachment(Attachment {
        sub,
        filter: fid.clone(),
        connected_at: now,
        last_message_at: 0,
        customer,
        until,
    })?;
    for frame in initial_frames(sh, &fid, since)?.iter() {
        js::send_shared(&server, frame);
    }
    ensure_heartbeat(sh.clone(), now, until);
    Response::from_websocket(pair.client)
}

/// Frames a new socket needs before live traffic: a snapshot, or the exact events after
/// `since`. Cached per (filter, since) for the current `seq`, so a reconnect storm costs one
/// query and one serialisation.
fn initial_frames(sh: &Shared, fid: &str, since: Option<u64>) -> Result<Rc<Vec<JsValue>>> {
    let seq = sh.seq();
    let links = media_links(sh);
    {
        let mut inner = sh.feed.borrow_mut();
        // Cached frames carry links of one expiry: a new expiry is a new cache.
        let exp = links.as_ref().map(|l| l.exp).unwrap_or(0);
        if inner.initial_cache_seq != seq || inner.initial_cache_exp != exp {
            inner.initial_cache.clear();
            inner.initial_cache_seq = seq;
            inner.initial_cache_exp = exp;
        }
        if let Some(hit) = inner.initial_cache.get(&(fid.to_string(), since)) {
            return Ok(hit.clone());
        }
    }
    let filter: Filter = sh
        .feed
        .borrow()
        .filters
        .as_ref()
        .and_then(|f| f.get(fid).cloned())
        .flatten();
    let frames: Vec<String> = match since {
        None => vec![snapshot(sh, &filter, seq, SnapshotReason::Initial)?],
        Some(s) if s > seq => vec![snapshot(sh, &filter, seq, SnapshotReason::CursorAhead)?],
        Some(s) if s == seq => Vec::new(),
        Some(s) => match replay(sh, &filter, s, seq)? {
            Some(frames) => frames,
            None => vec![snapshot(sh, &filter, seq, SnapshotReason::CursorExpired)?],
        },
    };
    let values: Rc<Vec<JsValue>> = Rc::new(
        frames
            .iter()
            .map(|f| JsValue::from_str(&with_links(&links, f)))
            .collect(),
    );
    let mut inner = sh.feed.borrow_mut();
    if inner.initial_cache.len() >= INITIAL_CACHE_MAX {
        inner.initial_cache.clear();
    }
    inner
        .initial_cache
        .insert((fid.to_string(), since), values.clone());
    Ok(values)
}

fn channel_clause(filter: &Filter, column: &str) -> (String, Vec<worker::SqlStorageValue>) {
    match filter {
        None => (String::new(), Vec::new()),
        Some(set) => {
            let mut chans: Vec<&String> = set.iter().collect();
            chans.sort();
            let marks = vec!["?"; chans.len()].join(", ");
            (
                format!(" AND {column} IN ({marks})"),
                chans.into_iter().map(|c| sv(c)).collect(),
            )
        }
    }
}

fn snapshot(sh: &Shared, filter: &Filter, seq: u64, reason: SnapshotReason) -> Result<String> {
    #[derive(Deserialize)]
    struct Row {
        view_json: String,
    }
    let limit = sh.settings.snapshot_limit as i64;
    let (clause, mut args) = channel_clause(filter, "channel_id");
    args.push(si(limit));
    let signals: Vec<Row> = sh
        .sql
        .exec(
            &format!(
                "SELECT view_json FROM signals WHERE visible = 1{clause} \
                 ORDER BY created_at_ms DESC, message_id DESC LIMIT ?"
            ),
            args,
        )?
        .to_array()?;
    let (clause, mut args) = channel_clause(filter, "parent_channel_id");
    args.push(si(100));
    let threads: Vec<Row> = sh
        .sql
        .exec(
            &format!(
                "SELECT view_json FROM threads WHERE deleted = 0{clause} \
                 ORDER BY updated_at_ms DESC LIMIT ?"
            ),
            args,
        )?
        .to_array()?;
    let signals: Vec<String> = signals.into_iter().map(|r| r.view_json).collect();
    let threads: Vec<String> = threads.into_iter().map(|r| r.view_json).collect();
    Ok(snapshot_frame(seq, reason, &signals, &threads))
}

/// The events after `since` up to `upto`, chunked into frames; `None` when the log no longer
/// reaches back that far.
fn replay(sh: &Shared, filter: &Filter, since: u64, upto: u64) -> Result<Option<Vec<String>>> {
    let from_ring = {
        let inner = sh.feed.borrow();
        if since >= inner.ring_floor {
            Some(
                inner
                    .ring
                    .iter()
                    .filter(|e| e.seq > since && e.seq <= upto && matches(filter, &e.channel))
                    .cloned()
                    .collect::<Vec<LogEntry>>(),
            )
        } else {
            None
        }
    };
    let entries = match from_ring {
        Some(entries) => entries,
        None => {
            #[derive(Deserialize)]
            struct Row {
                seq: i64,
                channel_id: Option<String>,
                frame: String,
            }
            #[derive(Deserialize)]
            struct Min {
                m: Option<i64>,
            }
            let min: Vec<Min> = sh
                .sql
                .exec("SELECT MIN(seq) AS m FROM events", None)?
                .to_array()?;
            let oldest = min.first().and_then(|m| m.m).unwrap_or(0) as u64;
            // Complete only when the first missed event (since + 1) is still in the log.
            if oldest == 0 || since + 1 < oldest {
                return Ok(None);
            }
            let rows: Vec<Row> = sh
                .sql
                .exec(
                    "SELECT seq, channel_id, frame FROM events WHERE seq > ? AND seq <= ? ORDER BY seq",
                    vec![si(since as i64), si(upto as i64)],
                )?
                .to_array()?;
            rows.into_iter()
                .map(|r| LogEntry {
                    seq: r.seq as u64,
                    channel: r.channel_id,
                    frame: Rc::from(r.frame),
                })
                .filter(|e| matches(filter, &e.channel))
                .collect()
        }
    };
    Ok(Some(
        entries
            .chunks(REPLAY_CHUNK)
            .map(|chunk| {
                if chunk.len() == 1 {
                    chunk[0].frame.to_string()
                } else {
                    let frames: Vec<&str> = chunk.iter().map(|e| &*e.frame).collect();
                    batch_frame(chunk[chunk.len() - 1].seq, &frames)
                }
            })
            .collect(),
    ))
}

/// Queues committed frames: they leave now, or — while the previous round is still being
/// written — together with everything else committed meanwhile, as soon as it drains
/// (see `relay_core::fanout`).
pub fn enqueue(sh: &Rc<Shared>, frames: Vec<LogEntry>) {
    let action = {
        let mut inner = sh.feed.borrow_mut();
        for f in &frames {
            inner.ring.push_back(f.clone());
        }
        let cap = RING_MAX.min(sh.settings.event_log_max as usize);
        while inner.ring.len() > cap {
            if let Some(old) = inner.ring.pop_front() {
                inner.ring_floor = old.seq;
            }
        }
        inner.pending.extend(frames);
        inner.pacer.on_commit()
    };
    if action == fanout::Action::Broadcast {
        broadcast_round(sh);
    }
}

/// Sends the pending frames and watches for the event loop to drain the round: a zero-delay
/// timer runs only once the queued write work is done.
fn broadcast_round(sh: &Rc<Shared>) {
    send_pending(sh);
    let sh = sh.clone();
    wasm_bindgen_futures::spawn_local(async move {
        worker::Delay::from(std::time::Duration::ZERO).await;
        let action = sh.feed.borrow_mut().pacer.on_drained();
        if action == fanout::Action::Broadcast {
            broadcast_round(&sh);
        }
    });
}

/// Sends whatever is pending right away, outside the pacing (before accepting a subscriber,
/// and from the alarm).
pub fn flush(sh: &Shared) {
    sh.feed.borrow_mut().pacer.on_forced_flush();
    send_pending(sh);
}

/// What signs the media links of frames sent now: stored frames carry none (a link expires,
/// a frame is replayed later), so each is added on the way out, once per frame and filter.
struct MediaLinks<'a> {
    signer: &'a relay_media::link::Signer,
    tenant: String,
    exp: i64,
}

fn media_links(sh: &Shared) -> Option<MediaLinks<'_>> {
    Some(MediaLinks {
        signer: sh.settings.media_signer.as_ref()?,
        tenant: sh.tenant_key()?,
        exp: relay_media::link::expiry(
            crate::runtime::now_ms() / 1000,
            sh.settings.media_link_ttl_s,
        ),
    })
}

fn with_links<'f>(links: &Option<MediaLinks<'_>>, frame: &'f str) -> std::borrow::Cow<'f, str> {
    links
        .as_ref()
        .and_then(|l| relay_media::decorate::frame(frame, l.signer, &l.tenant, l.exp))
        .map(std::borrow::Cow::Owned)
        .unwrap_or(std::borrow::Cow::Borrowed(frame))
}

/// Sends every pending frame to the sockets whose filter admits it.
fn send_pending(sh: &Shared) {
    let pending = std::mem::take(&mut sh.feed.borrow_mut().pending);
    if pending.is_empty() {
        return;
    }
    if let Err(e) = load_filters(sh) {
        crate::runtime::log(
            "error",
            "feed filters unavailable",
            json!({"error": e.to_string()}),
        );
    }
    let filters: Vec<(String, Filter)> = sh
        .feed
        .borrow()
        .filters
        .as_ref()
        .map(|f| f.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let links = media_links(sh);
    for (fid, filter) in &filters {
        let sockets = sh.state.get_websockets_with_tag(&tag(fid));
        if sockets.is_empty() {
            continue;
        }
        let selected: Vec<&LogEntry> = pending
            .iter()
            .filter(|e| matches(filter, &e.channel))
            .collect();
        let payload = match selected.as_slice() {
            [] => continue,
            [one] => JsValue::from_str(&with_links(&links, &one.frame)),
            many => {
                let frames: Vec<&str> = many.iter().map(|e| &*e.frame).collect();
                JsValue::from_str(&with_links(
                    &links,
                    &batch_frame(many[many.len() - 1].seq, &frames),
                ))
            }
        };
        for ws in &sockets {
            // A failed send means the socket is closing; its close event cleans up.
            js::send_shared(ws, &payload);
        }
    }
}

/// Makes sure an alarm will come to send pings and drop dead sockets — by the next heartbeat,
/// or by `until` when a customer's access changes by itself before that.
fn ensure_heartbeat(sh: Rc<Shared>, now: i64, until: Option<i64>) {
    let due = {
        let mut inner = sh.feed.borrow_mut();
        let due = until
            .filter(|u| *u > now)
            .map_or(now + sh.settings.heartbeat_ms, |u| {
                u.min(now + sh.settings.heartbeat_ms)
            });
        if inner.alarm_at.is_some_and(|at| at > now && at <= due) {
            return;
        }
        // Claimed before the await so a burst of connects schedules one alarm.
        inner.alarm_at = Some(due);
        due
    };
    wasm_bindgen_futures::spawn_local(async move {
        let storage = sh.state.storage();
        match storage.get_alarm().await {
            Ok(Some(at)) if at <= due => {
                sh.feed.borrow_mut().alarm_at = Some(at);
            }
            _ => {
                let at = js_sys::Date::new(&JsValue::from_f64(due as f64));
                if let Err(e) = storage.set_alarm(worker::ScheduledTime::new(at)).await {
                    sh.feed.borrow_mut().alarm_at = None;
                    crate::runtime::log(
                        "error",
                        "heartbeat alarm",
                        json!({"error": e.to_string()}),
                    );
                }
            }
        }
    });
}

/// Pings every socket, closes those whose client stopped pinging and those whose customer's
/// access changed by itself. Returns the sockets left and the earliest such change still ahead.
pub fn heartbeat(sh: &Shared, now: i64) -> (usize, Option<i64>) {
    let sockets = sh.state.get_websockets();
    let (seq, interval) = (sh.seq(), sh.settings.heartbeat_ms);
    let ping = JsValue::from_str(&ping_frame(seq, now));
    let dead_after = interval * DEAD_AFTER_INTERVALS;
    let mut alive = 0;
    let mut next_until = None;
    let mut live_filters: HashSet<String> = HashSet::new();
    for ws in &sockets {
        let att: Option<Attachment> = ws.deserialize_attachment().ok().flatten();
        let connected = att
            .as_ref()
            .map(|a| a.connected_at.max(a.last_message_at))
            .unwrap_or(0);
        let last = js::auto_response_ms(&sh.state, ws)
            .unwrap_or(0)
            .max(connected);
        if now - last > dead_after {
            let _ = ws.close(Some(4000), Some("heartbeat timeout"));
            continue;
        }
        if att.as_ref().and_then(|a| a.until).is_some_and(|u| u <= now) {
            let _ = ws.close(Some(CLOSE_ACCESS_CHANGED), Some("access_changed"));
            continue;
        }
        if let Some(a) = att {
            if let Some(u) = a.until {
                next_until = Some(next_until.map_or(u, |n: i64| n.min(u)));
            }
            live_filters.insert(a.filter);
        }
        js::send_shared(ws, &ping);
        alive += 1;
    }
    prune_filters(sh, &live_filters);
    (alive, next_until)
}

/// Forgets filters no socket uses any more, so broadcasts do not iterate dead scopes.
fn prune_filters(sh: &Shared, live: &HashSet<String>) {
    if load_filters(sh).is_err() {
        return;
    }
    let stale: Vec<String> = sh
        .feed
        .borrow()
        .filters
        .as_ref()
        .map(|f| f.keys().filter(|k| !live.contains(*k)).cloned().collect())
        .unwrap_or_default();
    for id in stale {
        if sh
            .sql
            .exec(
                "DELETE FROM feed_filters WHERE filter_id = ?",
                vec![sv(&id)],
            )
            .is_ok()
        {
            if let Some(map) = sh.feed.borrow_mut().filters.as_mut() {
                map.remove(&id);
            }
        }
    }
}

pub fn on_message(sh: &Shared, ws: &WebSocket, message: WebSocketIncomingMessage) {
    let now = crate::runtime::now_ms();
    if let Ok(Some(mut att)) = ws.deserialize_attachment::<Attachment>() {
        att.last_message_at = now;
        let _ = ws.serialize_attachment(att);
    }
    let text = match message {
        WebSocketIncomingMessage::String(s) => s,
        WebSocketIncomingMessage::Binary(_) => return,
    };
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if parsed["type"] == "ping" {
        let seq = sh.seq();
        let _ = ws.send_with_str(format!("{{\"type\":\"pong\",\"seq\":{seq}}}"));
    }
}

pub fn on_close(ws: &WebSocket, code: usize) {
    // Complete the closing handshake the peer started (an error means it is already done).
    let reply = match code {
        1005 | 1006 | 1015 => 1000,
        c if (1000..=4999).contains(&c) => c as u16,
        _ => 1000,
    };
    let _ = ws.close(Some(reply), Some("bye"));
}
