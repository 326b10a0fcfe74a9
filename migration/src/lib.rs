//! Database migrations for the password reset server.
//!
//! One change per file, frozen once released: a migration is history and never
//! imports the application's entities, so it cannot change when an entity does.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_create_api_keys;
mod m20261127_000002_create_customers;
mod m20261127_000003_create_customer_password_resets;
mod m20261127_000004_create_persisted_queries;
mod m20261127_000005_create_webhooks;
mod m20261127_000006_abuse_resistance;
mod m20261129_000007_fair_storefront_queue;
mod m20261129_000008_bounded_persisted_queries;
mod m20261129_000009_one_open_reset_per_customer;
mod m20261129_000010_reset_emails;
mod m20261204_000011_token_key_ids;
mod m20261205_000012_queue_networks;
mod m20261205_000013_password_changed_email;
mod m20261206_000014_reset_codes;
mod m20261207_000015_trace_links;
mod m20261208_000016_row_counts;

/// Every migration of the schema, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_api_keys::Migration),
            Box::new(m20261127_000002_create_customers::Migration),
            Box::new(m20261127_000003_create_customer_password_resets::Migration),
            Box::new(m20261127_000004_create_persisted_queries::Migration),
            Box::new(m20261127_000005_create_webhooks::Migration),
            Box::new(m20261127_000006_abuse_resistance::Migration),
            Box::new(m20261129_000007_fair_storefront_queue::Migration),
            Box::new(m20261129_000008_bounded_persisted_queries::Migration),
            Box::new(m20261129_000009_one_open_reset_per_customer::Migration),
            Box::new(m20261129_000010_reset_emails::Migration),
            Box::new(m20261204_000011_token_key_ids::Migration),
            Box::new(m20261205_000012_queue_networks::Migration),
            Box::new(m20261205_000013_password_changed_email::Migration),
            Box::new(m20261206_000014_reset_codes::Migration),
            Box::new(m20261207_000015_trace_links::Migration),
            Box::new(m20261208_000016_row_counts::Migration),
        ]
    }
}
