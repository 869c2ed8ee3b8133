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

/// The three socket handlers of an object that takes no WebSockets, for its
/// `impl DurableObject`: a message is refused with `reason`, a close needs nothing, an error is
/// logged under `label`.
macro_rules! refuse_sockets {
    ($label:expr, $reason:expr) => {
        async fn websocket_message(
            &self,
            ws: worker::WebSocket,
            _message: worker::WebSocketIncomingMessage,
        ) -> worker::Result<()> {
            $crate::durable_objects::no_sockets::refuse(&ws, $reason)
        }

        async fn websocket_close(
            &self,
            _ws: worker::WebSocket,
            _code: usize,
            _reason: String,
            _was_clean: bool,
        ) -> worker::Result<()> {
            Ok(())
        }

        async fn websocket_error(
            &self,
            ws: worker::WebSocket,
            error: worker::Error,
        ) -> worker::Result<()> {
            $crate::durable_objects::no_sockets::on_error(&ws, $label, error)
        }
    };
}
pub(crate) use refuse_sockets;
