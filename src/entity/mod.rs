//! SeaORM entities, one file per table. These are database rows, never the
//! public schema: `graphql` builds its own types from them, so a new column
//! (a password digest!) cannot leak. Enum columns are typed: the domain's
//! enums, stored by name (`text`).

pub mod api_key;
pub mod customer;
pub mod customer_password_reset;
pub mod persisted_query;
pub mod rate_limit_counter;
pub mod reset_audit_event;
pub mod reset_email;
pub mod reset_request;
pub mod row_count;
pub mod webhook;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_event;

mod projection;
mod text;

pub use projection::Projection;
use projection::{projection, table};
