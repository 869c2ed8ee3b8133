//! Signal Relay payments: Sell.app webhooks in, entitlement changes out.
//!
//! Plain Rust with no runtime dependency (it builds for `wasm32-unknown-unknown` and natively);
//! the worker is glue around it. Modules, in the order a delivery meets them:
//!
//! - [`signature`]: the `signature` header (hex HMAC-SHA256 of the raw body), constant-time,
//!   fail closed, body cap.
//! - [`envelope`]: `{"event", "data", "store"}`, tolerant of `data` being the whole invoice or
//!   only its id; the [`envelope::EventKey`] (event + store + order id); explicit tables for
//!   event names and invoice statuses.
//! - [`webhook`]: the two together ([`webhook::receive`]).
//! - [`email`]: the normalisation customers are matched by.
//! - [`policy`] and [`catalog`]: variant/product → tier + days; the shop's cards and options,
//!   publishable only when linked to an enabled policy.
//! - [`lifecycle`]: the pure decision ([`lifecycle::decide`]) from (entitlements, event, now)
//!   to [`lifecycle::Change`]s, and the expiry sweep.
//! - [`outcome`]: applied / ignored / unmatched / failed, with stable reason codes, and the
//!   HTTP status each answers (never a 4xx for a verified delivery).
//! - [`sales`]: the console's figures from our own log.
//! - [`api`]: the v2 invoices API reconciliation reads (URLs, answers, paging).
//! - [`checkout`]: the shop's checkout link and the checkout-return page's state.
//! - [`reconcile`]: which re-read invoices a tenant decides again (store scope, once per
//!   status, paging horizon).
//! - [`retention`]: event keys are kept for ever; only bodies that need no replay expire.
//!
//! # Independence from the customers issue
//!
//! Accounts, tiers and entitlements belong to the customers issue (issue 12, crate
//! `relay-accounts`). This crate models only what it needs, as plain types: a tier key
//! ([`ids::TierKey`]), an account id ([`ids::AccountId`]), a duration in days, an entitlement
//! window `{starts_at, ends_at}` ([`lifecycle::Window`], Unix ms, active iff
//! `starts_at <= now < ends_at`) and a source ([`lifecycle::Source::Sellapp`] with the order id
//! as reference). Mapping to and from that crate's types is the runtime's job.
//!
//! # Integration points (what the runtime has to do)
//!
//! 1. **Route** `POST /webhooks/sellapp/{tenant_key}` (add the `webhooks` area to
//!    `relay_core::routes`). Read the body with a cap of [`signature::MAX_BODY_BYTES`] (stop
//!    reading past it), load the tenant's webhook secret (`None` when unset), then
//!    [`webhook::receive`]. `Err(e)` → answer `e.to_api_error()` and store nothing.
//! 2. **Dedup before apply.** `INSERT` the [`envelope::EventKey`] with the raw body, store id and
//!    `received_at` into the tenant's webhook-event table (unique on tenant + key) *before*
//!    deciding. A conflict means a repeat: answer 200 [`outcome::answer_body`]`(None)`
//!    (`deduped`) and change nothing. Keep event rows for as long as the orders they name can
//!    matter — never prune them on a short retention (the predecessor's 30-day retention shrank
//!    the idempotency window); a row may be compacted (body dropped) but its key must stay.
//! 3. **Freshest invoice.** With `SELLAPP_API_TOKEN` set, re-read `GET /v2/invoices/{id}` for
//!    order events and pass it to [`envelope::parse_invoice`]; otherwise use
//!    [`envelope::Envelope::invoice`] (possibly `None`: then the outcome is `unmatched /
//!    invoice_details_missing`, replayable once a token is configured). A failed re-read is our
//!    transient fault: outcome `failed`, answer 503, Sell.app redelivers.
//! 4. **Customer.** Look the account up by the invoice's [`email::NormalizedEmail`] (accounts
//!    must store the same normalisation). Load its entitlements, the tenant's trial claims
//!    matching the account, the email or the linked Discord id, and the orders held for that
//!    email; build a [`lifecycle::Customer`].
//! 5. **Decide and write.** [`lifecycle::decide`] with
//!    [`lifecycle::Trigger::Webhook`]`(envelope.event)`; write every [`lifecycle::Change`] and the
//!    outcome (`outcome.as_str()`, `reason_code()`, the serialized reason) on the event row in
//!    one D1 batch. `Grant` creates an entitlement with source `sellapp`, reference = order id
//!    (unique on tenant + source + reference, so a race of two deliveries cannot grant twice);
//!    `ClaimTrial` inserts the claim (unique per tenant on each non-null key);
//!    `HoldPending` / `ReleasePending` maintain the held-order table (order id, email, invoice
//!    JSON); `FlagCustomer` sets the operator flag. Answer `outcome.http_status()` with
//!    [`outcome::answer_body`]`(Some(&outcome))`.
//! 6. **Signup.** When an account is created (or its email verified), load the orders held for
//!    its email and decide each with [`lifecycle::Trigger::AccountCreated`] and the stored
//!    invoice — one after the other, reloading the customer between them (two held trial
//!    orders must see each other's claim). **Discord link:** when an account links Discord,
//!    write the Discord id onto that account's trial claims, so another account linked to the
//!    same Discord user is refused a second trial. The shop hides trial options when
//!    [`lifecycle::trial_used`] finds a claim for the signed-in customer.
//! 7. **Replay** (admin API and console): one event, or all whose outcome
//!    [`outcome::Outcome::is_replayable`]; re-run steps 3–5 on the stored body with the current
//!    policies, and overwrite the event's outcome.
//! 8. **Scheduled handler.** Reconciliation: with a token, page through recent invoices
//!    ([`api::invoices_page_url`], [`api::parse_invoice_page`] until `next_page` is `None` or
//!    the invoices are older than the reconciliation horizon) and, for each invoice with a
//!    status, record [`envelope::EventKey::reconciliation`] like a webhook (a conflict = this
//!    status was already decided: skip), then decide with
//!    [`lifecycle::Trigger::Reconciliation`] (refunded, cancelled, disputed revoke; completed
//!    grants an order whose webhook never came). Without a token, report "reconciliation off"
//!    to operators. Expiry: [`lifecycle::sweep_expired`] → `Close` changes (access already stops
//!    at read time via [`lifecycle::Entitlement::is_active`]); role sync follows the changes.
//! 9. **Policies and shop.** Admin writes of policies go through [`policy::PolicySet::new`];
//!    publishing the catalog through [`catalog::validate_catalog`] (400 with the named fields).
//! 10. **Shop pages.** The checkout button opens [`checkout::checkout_link`]; the return page
//!     polls the order's state, [`checkout::checkout_state`] (pending → active, held, failed).
//! 11. **Retention.** Event rows follow [`retention::retain`]: keys for ever, bodies of
//!     applied/ignored events dropped after a long time, replayable ones kept whole.
//! 12. **Sales.** Build [`sales::SaleEvent`]s from applied order events (revoked = a later
//!     revoke of the same order) and call [`sales::report`].

pub mod api;
pub mod catalog;
pub mod checkout;
pub mod email;
pub mod envelope;
pub mod ids;
pub mod lifecycle;
pub mod outcome;
pub mod policy;
pub mod reconcile;
pub mod retention;
pub mod sales;
pub mod signature;
pub mod webhook;
