//! Who is calling: the role and mode of the API key on the request.

use std::{fmt, str::FromStr};

use super::PublicId;

/// The environment a key and every record belong to. Modes never mix: a key
/// sees and touches only records of its own mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Test data, for development and staging.
    Test,
    /// Live data, for production.
    Live,
}

impl Mode {
    /// The mode as stored and as typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "test" => Ok(Mode::Test),
            "live" => Ok(Mode::Live),
            other => Err(format!("unknown mode {other:?} (expected test or live)")),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A trusted back-office integration: may do everything in its mode.
    Integration,
    /// A public key shipped inside a storefront: may only create and complete resets.
    SalesChannel,
}

impl Role {
    /// The role as stored and as typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Integration => "integration",
            Role::SalesChannel => "sales_channel",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "integration" => Ok(Role::Integration),
            "sales_channel" => Ok(Role::SalesChannel),
            other => Err(format!(
                "unknown role {other:?} (expected integration or sales_channel)"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
