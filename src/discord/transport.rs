//! [`relay_discord::Transport`] over the runtime's `fetch`: the one place a Discord request
//! becomes bytes on the wire, with the bot token only this side holds.

use futures_util::future::{select, Either};
use relay_discord::requests::Body;
use relay_discord::transport::{Response, Transport, TransportError};
use relay_discord::Request;
use std::pin::pin;
use std::time::Duration;
use worker::{AbortController, Fetch, Headers, RequestInit};

/// Discord asks for `DiscordBot ($url, $version)`; requests without it may be refused.
const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/signal-relay/signal-relay, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);

pub struct FetchTransport<'a> {
    pub api_base: &'a str,
    pub bot_token: &'a str,
    /// The permit's deadline: the request and the reading of its answer are abandoned then.
    pub deadline_ms: i64,
}

fn boundary() -> String {
    let bytes = crate::runtime::random_bytes::<16>();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("signal-relay-{hex}")
}

fn network(e: impl std::fmt::Display) -> TransportError {
    TransportError::Network(e.to_string())
}

impl Transport for FetchTransport<'_> {
    async fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let headers = Headers::new();
        let set = |k: &str, v: &str| headers.set(k, v).map_err(network);
        set("user-agent", USER_AGENT)?;
        if let Some(auth) = request.auth.header_value(self.bot_token) {
            set("authorization", &auth)?;
        }
        for (k, v) in &request.headers {
            set(k, v)?;
        }
        let mut init = RequestInit::new();
        init.with_method(worker::Method::from(request.method.as_str().to_string()));
        match &request.body {
            Body::None => {}
            Body::Json(bytes) => {
                set("content-type", "application/json")?;
                init.with_body(Some(js_sys::Uint8Array::from(&bytes[..]).into()));
            }
            Body::Form(text) => {
                set("content-type", "application/x-www-form-urlencoded")?;
                init.with_body(Some(text.as_str().into()));
            }
            Body::Multipart(form) => {
                // A multipart body we cannot encode is a bug of ours, never sent.
                let encoded = form
                    .encode(&boundary())
                    .map_err(|e| TransportError::Network(e.to_string()))?;
                set("content-type", &encoded.content_type)?;
                init.with_body(Some(js_sys::Uint8Array::from(&encoded.body[..]).into()));
            }
        }
        init.with_headers(headers);
        let req =
            worker::Request::new_with_init(&request.url(self.api_base), &init).map_err(network)?;

        let controller = AbortController::default();
        let signal = controller.signal();
        let exchange = async {
            let mut resp = Fetch::Request(req)
                .send_with_signal(&signal)
                .await
                .map_err(network)?;
            let status = resp.status_code();
            let headers: Vec<(String, String)> = resp.headers().entries().collect();
            let body = resp.bytes().await.map_err(network)?;
            Ok(Response {
                status,
                headers,
                body,
            })
        };
        let left = (self.deadline_ms - crate::runtime::now_ms()).max(1) as u64;
        let timer = worker::Delay::from(Duration::from_millis(left));
        let outcome = match select(pin!(exchange), pin!(timer)).await {
            Either::Left((result, _)) => result,
            Either::Right(((), _)) => {
                controller.abort();
                Err(TransportError::Timeout)
            }
        };
        outcome
    }
}
