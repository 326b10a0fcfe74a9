//! One-time codes: how a reset reaches its customer (a link, a code typed on
//! the device the shop is open on, or both), and the code itself.

use std::fmt;

use rand::{RngExt, rngs::SysRng};

named! {
    /// How a reset reaches its customer. A code outlives mail scanners that
    /// open links, and works on another device than the one that read the
    /// email.
    #[derive(async_graphql::Enum)]
    #[strum(serialize_all = "snake_case", ascii_case_insensitive)]
    #[graphql(name = "ResetDelivery")]
    pub enum Delivery {
        /// A link holding the token (`RESET_URL`).
        Link,
        /// A one-time code of digits, completed with the customer's email.
        Code,
        /// Both: the link, and the code beside it.
        LinkAndCode,
    }
}

impl Delivery {
    /// Whether the customer gets a link.
    pub fn has_link(self) -> bool {
        matches!(self, Delivery::Link | Delivery::LinkAndCode)
    }

    /// Whether the customer gets a code.
    pub fn has_code(self) -> bool {
        matches!(self, Delivery::Code | Delivery::LinkAndCode)
    }
}

/// The shortest code a server may be configured to send.
pub const MIN_CODE_DIGITS: u8 = 6;
/// The longest.
pub const MAX_CODE_DIGITS: u8 = 10;

/// A one-time code: decimal digits, uniformly random. `Debug` prints
/// `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ResetCode(String);

impl ResetCode {
    /// A fresh code of `digits` digits from the OS CSPRNG.
    pub fn generate(digits: u8) -> Self {
        let mut rng = rand::rand_core::UnwrapErr(SysRng);
        let code = (0..digits)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect();
        Self(code)
    }

    /// Wraps a code a client sent, without the spaces and dashes people type
    /// between groups of digits. Any text is accepted: a wrong code is simply
    /// wrong.
    pub fn from_client(raw: &str) -> Self {
        Self(raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect())
    }

    /// Whether it is `digits` decimal digits: anything else cannot be a code
    /// this server sent.
    pub fn is_well_formed(&self, digits: u8) -> bool {
        self.0.len() == usize::from(digits) && self.0.bytes().all(|b| b.is_ascii_digit())
    }

    /// The code itself, to hand to its owner once (or to digest).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResetCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResetCode([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_digits_of_the_asked_length_and_redact_themselves() {
        for digits in MIN_CODE_DIGITS..=MAX_CODE_DIGITS {
            let code = ResetCode::generate(digits);
            assert!(code.is_well_formed(digits), "{}", code.expose());
            assert!(!code.is_well_formed(digits + 1));
            assert!(!format!("{code:?}").contains(code.expose()));
        }
        // Every digit turns up in every place over many codes.
        let codes: Vec<_> = (0..400).map(|_| ResetCode::generate(8)).collect();
        for place in 0..8 {
            let seen: std::collections::HashSet<u8> =
                codes.iter().map(|c| c.expose().as_bytes()[place]).collect();
            assert_eq!(seen.len(), 10, "place {place}");
        }
    }

    #[test]
    fn typed_codes_lose_their_separators_and_nothing_else() {
        assert_eq!(ResetCode::from_client("1234 5678").expose(), "12345678");
        assert_eq!(ResetCode::from_client("1234-5678").expose(), "12345678");
        assert!(!ResetCode::from_client("1234567a").is_well_formed(8));
        assert!(!ResetCode::from_client("１２３４５６７８").is_well_formed(8));
    }

    #[test]
    fn deliveries_read_in_any_letter_case() {
        assert_eq!(
            "LINK_AND_CODE".parse::<Delivery>(),
            Ok(Delivery::LinkAndCode)
        );
        assert_eq!(Delivery::LinkAndCode.as_str(), "link_and_code");
        assert!(Delivery::Code.has_code() && !Delivery::Code.has_link());
        assert!(Delivery::Link.has_link() && !Delivery::Link.has_code());
    }
}
