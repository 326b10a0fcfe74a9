//! Public identifiers: opaque, random, non-sequential, with a type prefix.

use rand::{RngExt, distr::Alphanumeric};

/// Prefix of customer ids (`cus_…`).
pub const CUSTOMER_ID_PREFIX: &str = "cus";
/// Prefix of customer password reset ids (`cpr_…`).
pub const RESET_ID_PREFIX: &str = "cpr";
/// Prefix of API key ids (`key_…`).
pub const API_KEY_ID_PREFIX: &str = "key";

/// Prefix of password reset audit event ids (`aud_…`).
pub const AUDIT_EVENT_ID_PREFIX: &str = "aud";

/// Prefix of webhook ids (`wh_…`).
pub const WEBHOOK_ID_PREFIX: &str = "wh";
/// Prefix of webhook event ids (`evt_…`).
pub const EVENT_ID_PREFIX: &str = "evt";
/// Prefix of webhook delivery ids (`whd_…`).
pub const DELIVERY_ID_PREFIX: &str = "whd";

/// Random characters after the prefix: 24 alphanumerics carry about 142 bits.
const RANDOM_LEN: usize = 24;

/// A public id such as `cpr_4fT0…`: what the API shows instead of internal keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicId(String);

impl PublicId {
    /// A fresh random id with the given type prefix.
    pub fn generate(prefix: &str) -> Self {
        let random: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(RANDOM_LEN)
            .map(char::from)
            .collect();
        Self(format!("{prefix}_{random}"))
    }

    /// Reads an id a client sent, if it has the given prefix and a well-formed body.
    ///
    /// Returns `None` for anything else, which callers treat as "no such record".
    pub fn parse(prefix: &str, raw: &str) -> Option<Self> {
        let body = raw.strip_prefix(prefix)?.strip_prefix('_')?;
        (body.len() == RANDOM_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| Self(raw.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_prefixed_distinct_and_parse_back() {
        let a = PublicId::generate(RESET_ID_PREFIX);
        let b = PublicId::generate(RESET_ID_PREFIX);
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("cpr_"));
        assert_eq!(
            PublicId::parse(RESET_ID_PREFIX, a.as_str()),
            Some(a.clone())
        );
        assert_eq!(PublicId::parse(CUSTOMER_ID_PREFIX, a.as_str()), None);
        assert_eq!(PublicId::parse(RESET_ID_PREFIX, "cpr_1"), None);
        assert_eq!(
            PublicId::parse(RESET_ID_PREFIX, "cpr_' OR 1=1 --------------"),
            None
        );
    }
}
