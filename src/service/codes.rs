//! One-time codes: their settings, and how they are kept. A code of 8 digits
//! has only 10^8 values, so a plain digest of it would fall to a search of
//! every value in seconds; the database holds an HMAC-SHA256 of the code and
//! its reset's id under a key derived from the token key, which lives
//! outside the database. A copy of the database alone cannot recover a
//! code. Each digest names the key that made it, so a rotation keeps codes
//! working (the key's previous value checks the codes it made).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::sealing::{KEY_BYTES, KeyId, SealingKey};
use crate::{
    domain::{Delivery, MAX_CODE_DIGITS, MIN_CODE_DIGITS, Mode, ResetCode},
    flags,
};

/// How resets reach customers, and how their codes work: each field is a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "One-time codes")]
pub struct CodeSettings {
    /// How live resets reach the customer when a create does not say:
    /// `link`, `code` or `link_and_code`.
    #[arg(long = "reset-delivery", env = "RESET_DELIVERY", default_value = "link",
          value_parser = flags::one_of::<Delivery>(), ignore_case = true, global = true)]
    pub live: Delivery,
    /// How test resets reach the customer when a create does not say.
    #[arg(long = "test-reset-delivery", env = "TEST_RESET_DELIVERY", default_value = "link",
          value_parser = flags::one_of::<Delivery>(), ignore_case = true, global = true)]
    pub test: Delivery,
    /// Digits in a one-time code (6 to 10).
    #[arg(long = "reset-code-length", env = "RESET_CODE_LENGTH", default_value = "8",
          value_parser = clap::value_parser!(u8).range(i64::from(MIN_CODE_DIGITS)..=i64::from(MAX_CODE_DIGITS)),
          global = true)]
    pub digits: u8,
    /// How long a code works, in seconds (60 to 86400; 15 minutes by
    /// default), and never longer than the reset's token.
    #[arg(long = "reset-code-ttl-seconds", env = "RESET_CODE_TTL_SECONDS", default_value = "900",
          value_parser = flags::seconds(60..=86_400), global = true)]
    pub ttl: Duration,
    /// Wrong codes a reset takes, from any address, before it is voided
    /// and the customer must request a new one (1 to 10).
    #[arg(long = "reset-code-max-attempts", env = "RESET_CODE_MAX_ATTEMPTS", default_value = "5",
          value_parser = clap::value_parser!(u8).range(1..=10), global = true)]
    pub max_attempts: u8,
}

impl Default for CodeSettings {
    fn default() -> Self {
        flags::defaults()
    }
}

impl CodeSettings {
    /// How `mode`'s resets reach the customer when a create does not say.
    pub fn delivery(&self, mode: Mode) -> Delivery {
        match mode {
            Mode::Live => self.live,
            Mode::Test => self.test,
        }
    }

    /// How long a code works.
    pub fn ttl(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::MAX)
    }
}

/// The label the code key is derived under.
const CODE_KEY_LABEL: &[u8] = b"pwreset one-time code key v1";

/// The keys that digest codes: one derived from each token key.
#[derive(Clone)]
pub struct CodeKeys {
    keys: Vec<(KeyId, [u8; KEY_BYTES])>,
}

impl std::fmt::Debug for CodeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKeys([redacted])")
    }
}

impl CodeKeys {
    /// The code keys of the token keys `current` and `old`.
    pub(super) fn new(current: &SealingKey, old: Option<&SealingKey>) -> Self {
        let keys = std::iter::once(current)
            .chain(old)
            .map(|key| {
                // HMAC-SHA256 of a label under the token key: neither key
                // reveals the other.
                let mut mac =
                    <Hmac<Sha256> as KeyInit>::new_from_slice(key.bytes()).expect("any key length");
                mac.update(CODE_KEY_LABEL);
                (key.id(), mac.finalize().into_bytes().into())
            })
            .collect();
        Self { keys }
    }

    fn mac(key: &[u8; KEY_BYTES], code: &ResetCode, reset_id: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(reset_id.as_bytes());
        mac.update(b"\0");
        mac.update(code.expose().as_bytes());
        mac
    }

    /// What the database keeps of `code`, the code of the reset `reset_id`:
    /// the current key's id, `.`, and the hex HMAC.
    pub fn digest(&self, code: &ResetCode, reset_id: &str) -> String {
        let (id, key) = &self.keys[0];
        let tag = Self::mac(key, code, reset_id).finalize().into_bytes();
        let hex = crate::domain::hex::encode(&tag);
        format!("{id}.{hex}")
    }

    /// Whether `code` is the code `stored` keeps for the reset `reset_id`,
    /// compared in constant time. The same work is done when there is
    /// nothing stored, or its key is unknown: the answer is `false` then.
    pub fn matches(&self, stored: Option<&str>, code: &ResetCode, reset_id: &str) -> bool {
        let (id, hex) = stored.and_then(|s| s.split_once('.')).unwrap_or(("", ""));
        let known = self.keys.iter().find(|(k, _)| k.as_str() == id);
        let key = known.map_or(&self.keys[0].1, |(_, key)| key);
        let expected = crate::domain::hex::decode(hex).unwrap_or_default();
        let verified = Self::mac(key, code, reset_id)
            .verify_slice(&expected)
            .is_ok();
        verified && known.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_only_its_own_reset_under_a_key_it_knows() {
        let key = SealingKey::generate();
        let keys = CodeKeys::new(&key, None);
        let code = ResetCode::generate(8);
        let stored = keys.digest(&code, "cpr_1");
        assert!(!stored.contains(code.expose()));
        assert!(stored.starts_with(&format!("{}.", key.id())));
        assert!(keys.matches(Some(&stored), &code, "cpr_1"));
        assert!(
            !keys.matches(Some(&stored), &code, "cpr_2"),
            "another reset"
        );
        let other = ResetCode::from_client(if code.expose() == "00000000" {
            "1"
        } else {
            "00000000"
        });
        assert!(!keys.matches(Some(&stored), &other, "cpr_1"));
        assert!(!keys.matches(None, &code, "cpr_1"));
        assert!(!keys.matches(Some("junk"), &code, "cpr_1"));
        // Another key does not check it; after a rotation, the old key does.
        let next = SealingKey::generate();
        assert!(!CodeKeys::new(&next, None).matches(Some(&stored), &code, "cpr_1"));
        assert!(CodeKeys::new(&next, Some(&key)).matches(Some(&stored), &code, "cpr_1"));
    }

    #[test]
    fn the_defaults_are_links_and_eight_digits_for_fifteen_minutes() {
        let settings = CodeSettings::default();
        assert_eq!(settings.delivery(Mode::Live), Delivery::Link);
        assert_eq!(settings.digits, 8);
        assert_eq!(settings.ttl(), chrono::Duration::minutes(15));
        assert_eq!(settings.max_attempts, 5);
    }
}
