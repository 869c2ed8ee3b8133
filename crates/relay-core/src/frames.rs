//! Live-feed frames. Every frame is a JSON object with `type` and `seq`.
//!
//! Frames are built once, as strings, and the same string is sent to every socket that should
//! see it: serialising per socket would multiply the cost of a broadcast by the subscriber
//! count. Stored views are already JSON, so snapshots and batches are assembled by
//! concatenation rather than re-encoded.

use serde::Serialize;

use crate::convergence::SignalView;
use crate::protocol::MemberDelta;
use crate::thread::ThreadView;

#[derive(Serialize)]
struct SignalFrame<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    seq: u64,
    signal: &'a SignalView,
}

pub fn signal_frame(kind: &str, seq: u64, signal: &SignalView) -> String {
    serde_json::to_string(&SignalFrame { kind, seq, signal }).unwrap_or_default()
}

#[derive(Serialize)]
struct ThreadFrame<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    seq: u64,
    thread: &'a ThreadView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    member_delta: Option<&'a MemberDelta>,
}

pub fn thread_frame(
    kind: &str,
    seq: u64,
    thread: &ThreadView<'_>,
    member_delta: Option<&MemberDelta>,
) -> String {
    serde_json::to_string(&ThreadFrame {
        kind,
        seq,
        thread,
        member_delta,
    })
    .unwrap_or_default()
}

/// Why a snapshot was sent instead of (or before) a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotReason {
    /// Fresh connection without `since`.
    Initial,
    /// `since` is older than the retained event log: the client missed more than we keep.
    CursorExpired,
    /// `since` is ahead of anything this tenant has produced (a cursor from elsewhere).
    CursorAhead,
}

impl SnapshotReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotReason::Initial => "initial",
            SnapshotReason::CursorExpired => "cursor_expired",
            SnapshotReason::CursorAhead => "cursor_ahead",
        }
    }
}

/// `signals_json` and `threads_json` are JSON arrays' elements, already encoded.
pub fn snapshot_frame(
    seq: u64,
    reason: SnapshotReason,
    signals_json: &[String],
    threads_json: &[String],
) -> String {
    let mut out = String::with_capacity(
        96 + signals_json.iter().map(|s| s.len() + 1).sum::<usize>()
            + threads_json.iter().map(|s| s.len() + 1).sum::<usize>(),
    );
    out.push_str("{\"type\":\"snapshot\",\"seq\":");
    out.push_str(&seq.to_string());
    out.push_str(",\"reason\":\"");
    out.push_str(reason.as_str());
    out.push_str("\",\"signals\":[");
    out.push_str(&signals_json.join(","));
    out.push_str("],\"threads\":[");
    out.push_str(&threads_json.join(","));
    out.push_str("]}");
    out
}

/// Several frames travelling as one message. `seq` is the last contained frame's.
pub fn batch_frame<S: AsRef<str>>(last_seq: u64, frames: &[S]) -> String {
    let len: usize = frames.iter().map(|f| f.as_ref().len() + 1).sum();
    let mut out = String::with_capacity(48 + len);
    out.push_str("{\"type\":\"batch\",\"seq\":");
    out.push_str(&last_seq.to_string());
    out.push_str(",\"events\":[");
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(f.as_ref());
    }
    out.push_str("]}");
    out
}

pub fn ping_frame(seq: u64, now_ms: i64) -> String {
    format!("{{\"type\":\"ping\",\"seq\":{seq},\"ts\":{now_ms}}}")
}

/// The reply to a client's `{"type":"ping"}`, answered by the runtime without waking the
/// object (hibernation auto-response), so it cannot carry a live `seq`.
pub const CLIENT_PING: &str = "{\"type\":\"ping\"}";
pub const CLIENT_PONG: &str = "{\"type\":\"pong\"}";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn assembled_frames_are_valid_json() {
        let snap = snapshot_frame(
            9,
            SnapshotReason::CursorExpired,
            &["{\"a\":1}".to_string(), "{\"b\":2}".to_string()],
            &[],
        );
        let v: Value = serde_json::from_str(&snap).unwrap();
        assert_eq!(v["type"], "snapshot");
        assert_eq!(v["seq"], 9);
        assert_eq!(v["reason"], "cursor_expired");
        assert_eq!(v["signals"][1]["b"], 2);

        let batch = batch_frame(
            12,
            &["{\"type\":\"x\",\"seq\":11}", "{\"type\":\"y\",\"seq\":12}"],
        );
        let v: Value = serde_json::from_str(&batch).unwrap();
        assert_eq!(v["type"], "batch");
        assert_eq!(v["seq"], 12);
        assert_eq!(v["events"][0]["seq"], 11);

        let v: Value = serde_json::from_str(&ping_frame(3, 1_700_000_000_000)).unwrap();
        assert_eq!(v["type"], "ping");
        assert_eq!(v["seq"], 3);
    }
}
