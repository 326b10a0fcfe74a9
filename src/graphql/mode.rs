//! The mode every record shows.

use async_graphql::Enum;

/// The environment a record belongs to. A key sees only records of its own mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::Mode")]
pub enum Mode {
    /// Test data.
    Test,
    /// Live data.
    Live,
}

impl From<&str> for Mode {
    /// The mode of a stored row (`test` or `live`).
    fn from(stored: &str) -> Self {
        if stored == crate::domain::Mode::Live.as_str() {
            Mode::Live
        } else {
            Mode::Test
        }
    }
}
