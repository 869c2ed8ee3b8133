//! A local stand-in for Sell.app: it "sells" products at a checkout page, keeps the invoices,
//! signs and sends webhooks as Sell.app does (and, on command, unsigned, forged, with a stale
//! secret, duplicated, reordered, held or late), and serves the v2 invoices API that
//! reconciliation reads. A control API under `/_control` lets tests steer it.

pub mod config;
pub mod control;
pub mod http;
pub mod pages;
pub mod send;
pub mod server;
pub mod sign;
pub mod state;
pub mod time;
