//! Webhooks, a generic transactional outbox that knows nothing of resets:
//! - `subscriptions`: integration keys subscribe callback URLs to topics;
//! - `outbox`: an event is recorded in the same transaction as the change it
//!   reports, with one delivery per subscribed webhook;
//! - `delivery`: due deliveries are leased, POSTed signed, retried with
//!   backoff, and every attempt is recorded;
//! - `signature`: Commerce Layer's and Standard Webhooks' signatures;
//! - `target`: which addresses a callback may reach (SSRF).

mod delivery;
mod outbox;
mod signature;
mod subscriptions;
mod target;

pub use delivery::{Deliverer, MAX_ATTEMPTS, backoff};
pub use outbox::{SealedAttribute, expire_secrets, record_event, seal_clear_secrets, subscribers};
pub use signature::{commerce_layer_signature, standard_signature};
pub use subscriptions::{
    NewWebhook, WebhookChanges, attempts, create, delete, deliveries, events, get, list,
    reset_circuit, update,
};

/// Consecutive failed attempts that open a webhook's circuit.
pub const CIRCUIT_THRESHOLD: i32 = 30;

/// How webhooks behave on this server.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    /// Whether callback URLs may point at private, loopback or link-local
    /// addresses (local development and tests only).
    pub allow_private_targets: bool,
    /// How often the background jobs look for work; `None` runs none.
    pub poll_interval: Option<std::time::Duration>,
    /// A proxy every webhook call goes through; `None`: none, whatever the
    /// environment's `HTTP(S)_PROXY` says (a proxy resolves the target itself,
    /// out of reach of the guard against private addresses).
    pub proxy: Option<String>,
}
