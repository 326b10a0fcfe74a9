//! The logic of the service: API keys, customers, password resets, webhooks,
//! and the background jobs that tie them together. Every function takes the
//! caller's mode (records of other modes do not exist for it) and, where time
//! matters, `now` from the injected [`Clock`]. Multi-step writes happen here,
//! each inside one transaction. Nothing here knows of GraphQL or HTTP.

pub mod api_keys;
pub mod audit;
pub mod breached;
pub mod captcha;
mod clock;
pub mod codes;
pub mod customers;
mod error;
pub mod jobs;
mod lease;
pub mod mail;
pub mod outbound;
pub mod pagination;
pub mod password;
pub mod password_resets;
pub mod persisted_queries;
pub mod rate_limits;
pub mod sealed;
pub mod sealing;
pub mod search;
pub mod secrets;
mod statement;
pub mod webhooks;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, ErrorCode, Result, UserError, database_unreachable};
