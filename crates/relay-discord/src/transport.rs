//! The boundary where bytes leave: the worker implements [`Transport`] with `fetch`, tests with
//! a scripted fake. Everything on this side of it is plain data.

use std::future::Future;

use crate::requests::Request;

/// A response as the transport received it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    pub status: u16,
    /// Header names in any case; [`Response::header`] looks them up case-insensitively.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The request was aborted at its deadline (the rate limiter's permit deadline).
    Timeout,
    /// Connection failure, DNS, TLS: it may or may not have reached Discord.
    Network(String),
}

/// Sends a [`Request`] to `api_base` + `request.path`, adding `Authorization` from
/// [`crate::requests::Auth::header_value`] with the bot token it holds, the body's content type,
/// and for multipart bodies a fresh random boundary ([`crate::multipart::Form::encode`]).
///
/// The future is not required to be `Send`: the worker's `fetch` is not.
pub trait Transport {
    fn send(&self, request: &Request) -> impl Future<Output = Result<Response, TransportError>>;
}
