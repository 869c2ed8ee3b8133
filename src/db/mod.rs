//! D1 access: the system of record for tenants, connectors, their configuration, discovery
//! snapshots, and the projection of signals and threads written by tenant objects.
//!
//! One module per aggregate, each the only owner of its tables (its SQL is nowhere else):
//! `tenants`, `connectors`, `sources` (connector_sources), `mappings` (connector_mappings),
//! `discovery` (discovered_guilds, discovered_channels), `signals` (signals, threads), `catalog`
//! (catalog_guilds, catalog_channels, catalog_roles: the bot's guilds); for customers
//! `customers`, `sessions` (customer_sessions), `tiers`, `visibility` (channel_visibility),
//! `entitlements`, `resets` (password_resets), `throttle` (auth_throttle) and `audit`
//! (account_audit); for payments `sellapp_secrets`, `webhook_events`, `policies`
//! (payment_policies), `held_orders`, `trial_claims` and `flags` (customer_flags); for the media store `media`
//! (media_attachments); for seats `seats` (seat_configs, seat_settings) and `seat_snapshots`; for the shop
//! and reconciliation `payment_settings`, `shop` (shop_cards, shop_options), `sales`
//! (payment_sales) and `reconciliation_runs`; for role sync `role_sync` (discord_links,
//! discord_link_states, role_sync_settings, role_mappings, role_states, role_changes). A change
//! that spans tables — a source removed with its mappings and a config bump — is one `batch`
//! (a transaction) composed from each owner's statement builders, so it lands together or not
//! at all.

pub mod audit;
pub mod bind;
pub mod catalog;
pub mod connectors;
pub mod customers;
pub mod discovery;
pub mod entitlements;
pub mod flags;
mod handle;
pub mod held_orders;
pub mod mappings;
pub mod media;
pub mod policies;
pub mod resets;
pub mod role_sync;
pub mod seat_snapshots;
pub mod seats;
pub mod sellapp_secrets;
pub mod sessions;
pub mod signals;
pub mod sources;
pub mod tenants;
pub mod throttle;
pub mod tiers;
pub mod trial_claims;
pub mod visibility;
pub mod webhook_events;

pub mod payment_settings;
pub mod reconciliation_runs;
pub mod sales;
pub mod shop;

pub use connectors::ConnectorRow;
pub use handle::Db;
pub use tenants::TenantRow;
