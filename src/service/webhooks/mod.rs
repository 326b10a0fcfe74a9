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
pub use outbox::{SealedAttribute, expire_secrets, record_event, subscribers};
pub use signature::{commerce_layer_signature, standard_signature};
pub use subscriptions::{
    NewWebhook, WebhookChanges, attempts, create, delete, deliveries, events, get, list,
    reset_circuit, update,
};

/// Consecutive failed attempts that open a webhook's circuit.
pub const CIRCUIT_THRESHOLD: i32 = 30;

/// How webhooks, and the background jobs that deliver them, behave on this
/// server: each field is a flag.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Webhooks and background jobs")]
pub struct WebhookSettings {
    /// Let webhook callback URLs point at private, loopback and link-local
    /// addresses. For local development and tests only: it opens the server to SSRF.
    #[arg(long = "webhook-allow-private-targets", env = "WEBHOOK_ALLOW_PRIVATE_TARGETS",
          default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub allow_private_targets: bool,
    /// How often the background jobs look for work (queued storefront
    /// requests, due deliveries and emails), in milliseconds. (`None`, in
    /// tests and benchmarks only: no background jobs run.)
    #[arg(long = "webhook-poll-interval-ms", env = "WEBHOOK_POLL_INTERVAL_MS", default_value = "1000",
          value_parser = crate::flags::millis(10..=3_600_000), global = true)]
    pub poll_interval: Option<std::time::Duration>,
    /// A proxy every webhook call goes through (`http://proxy:3128`). Without it
    /// no proxy is used, whatever HTTP_PROXY or HTTPS_PROXY say: a proxy resolves
    /// the target itself, so it must then refuse private addresses itself.
    #[arg(long = "webhook-proxy", env = "WEBHOOK_PROXY", value_parser = crate::flags::base_url, global = true)]
    pub proxy: Option<String>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        crate::flags::defaults()
    }
}
