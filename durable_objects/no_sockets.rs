//! For the objects that take no WebSockets. The runtime may still hand one to a socket
//! handler, and the trait's defaults panic (killing the object), so each object implements
//! them by closing the socket, the same way everywhere.

use worker::{Result, WebSocket};

/// A message on a socket the object never accepted: policy violation (1008).
pub fn refuse(ws: &WebSocket, reason: &str) -> Result<()> {
    ws.close(Some(1008), Some(reason))
}

/// An error on such a socket: logged with the object's `label`, then closed (1011).
pub fn on_error(ws: &WebSocket, label: &str, error: worker::Error) -> Result<()> {
    crate::runtime::log(
        "warn",
        &format!("{label} socket error"),
        serde_json::json!({"error": error.to_string()}),
    );
    ws.close(Some(1011), Some("error"))
}
