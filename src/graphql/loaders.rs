//! DataLoaders: many `customer` (or `email`, or `passwordHashOutdated`) fields in one
//! response cost one query.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;

use super::error::to_graphql;
use crate::{
    database::Reader,
    entity::{customer, reset_email},
    service::{customers, mail},
};

/// Loads customers by internal key, batching every key a response needs.
/// One is created per request, so nothing is cached across requests.
pub struct CustomerLoader {
    db: Reader,
}

impl CustomerLoader {
    /// A loader reading from `db`.
    pub fn new(db: Reader) -> Self {
        Self { db }
    }
}

impl Loader<i64> for CustomerLoader {
    type Value = customer::Shown;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        customers::load_many(&self.db, keys)
            .await
            .map_err(to_graphql)
    }
}

/// Loads customers' password digests by internal key, for
/// `passwordHashOutdated` only: the one field that needs a digest. One is
/// created per request.
pub struct PasswordDigestLoader {
    db: Reader,
}

impl PasswordDigestLoader {
    /// A loader reading from `db`.
    pub fn new(db: Reader) -> Self {
        Self { db }
    }
}

impl Loader<i64> for PasswordDigestLoader {
    type Value = Option<String>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        customers::password_digests(&self.db, keys)
            .await
            .map_err(to_graphql)
    }
}

/// Loads reset emails by their reset's internal key, batching every key a
/// response needs. One is created per request.
pub struct ResetEmailLoader {
    db: Reader,
}

impl ResetEmailLoader {
    /// A loader reading from `db`.
    pub fn new(db: Reader) -> Self {
        Self { db }
    }
}

impl Loader<i64> for ResetEmailLoader {
    type Value = reset_email::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        mail::of_resets(&self.db, keys).await.map_err(to_graphql)
    }
}
