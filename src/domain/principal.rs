//! Who is calling: the role and mode of the API key on the request. Modes
//! and roles are stored, and typed on the command line, by their snake-case
//! names (`test`, `sales_channel`).

use super::PublicId;

/// The environment a key and every record belong to. Modes never mix: a key
/// sees and touches only records of its own mode.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
    async_graphql::Enum,
)]
#[strum(serialize_all = "snake_case")]
pub enum Mode {
    /// Test data, for development and staging.
    Test,
    /// Live data, for production.
    Live,
}

impl Mode {
    /// The mode as stored and as typed on the command line.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What an API key may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// A trusted back-office integration: may do everything in its mode.
    Integration,
    /// A public key shipped inside a storefront: may only create and complete resets.
    SalesChannel,
}

impl Role {
    /// The role as stored and as typed on the command line.
    pub fn as_str(self) -> &'static str {
        self.into()
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
