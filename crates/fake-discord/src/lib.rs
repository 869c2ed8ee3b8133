//! A local stand-in for the parts of Discord that Signal Relay uses: REST API v10, OAuth2, the
//! attachment CDN, plus a control API for tests and a live web page for people.

pub mod api;
pub mod cdn;
pub mod config;
pub mod control;
pub mod error;
pub mod http;
pub mod multipart;
pub mod oauth;
pub mod pages;
pub mod perms;
pub mod ratelimit;
pub mod render;
pub mod server;
pub mod state;
pub mod util;
pub mod validate;
