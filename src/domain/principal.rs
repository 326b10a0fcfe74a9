//! Who is calling: the role and mode of the API key on the request. Modes
//! and roles are stored, and typed on the command line, by their snake-case
//! names (`test`, `sales_channel`).

use super::PublicId;

named! {
    /// The environment a key and every record belong to. Modes never mix: a key
    /// sees and touches only records of its own mode.
    #[derive(async_graphql::Enum)]
    #[strum(serialize_all = "snake_case")]
    pub enum Mode {
        /// Test data, for development and staging.
        Test,
        /// Live data, for production.
        Live,
    }
}

named! {
    /// What an API key may do.
    #[strum(serialize_all = "snake_case")]
    pub enum Role {
        /// A trusted back-office integration: may do everything in its mode.
        Integration,
        /// A public key shipped inside a storefront: may only create and complete resets.
        SalesChannel,
    }
}

/// An authenticated caller: the key that signed the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's public id.
    pub key_id: PublicId,
    /// What the key may do.
    pub role: Role,
    /// The only mode of records the key sees.
    pub mode: Mode,
}
