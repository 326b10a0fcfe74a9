//! Bearer secrets: reset tokens and API keys. Both are 256 random bits from the
//! operating system's CSPRNG, URL-safe base64, stored only as SHA-256 digests
//! (a digest of a 256-bit random value cannot be reversed or guessed, so no salt
//! or slow hash is needed), and redacted in `Debug`.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::{TryRng, rngs::SysRng};
use sha2::{Digest, Sha256};

use super::{Mode, Role};

/// Random bytes in every token and key.
const SECRET_BYTES: usize = 32;

fn random_text() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    // The OS CSPRNG failing is not recoverable: nothing safe can be issued.
    SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A webhook shared secret in the Standard Webhooks format: `whsec_` and the
/// base64 of 32 random bytes.
pub fn webhook_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random number generator failed");
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The hex SHA-256 digest of a secret: what the database stores and looks up.
pub fn digest(secret: &str) -> String {
    super::hex::encode(&Sha256::digest(secret.as_bytes()))
}

/// A password reset token: 43 URL-safe characters. `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ResetToken(String);

impl ResetToken {
    /// A fresh token from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(random_text())
    }

    /// Wraps a token a client sent. Any text is accepted: an unknown token is
    /// simply not found.
    pub fn from_client(raw: String) -> Self {
        Self(raw)
    }

    /// The digest stored in place of the token.
    pub fn digest(&self) -> String {
        digest(&self.0)
    }

    /// The token itself, to hand to its owner exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResetToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResetToken([redacted])")
    }
}

/// An API key such as `pwr_test_int_…`: the prefix tells humans (and secret
/// scanners) what it is; only the digest identifies it. `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// A fresh key for the given role and mode.
    pub fn generate(role: Role, mode: Mode) -> Self {
        let role = match role {
            Role::Integration => "int",
            Role::SalesChannel => "sc",
        };
        Self(format!("pwr_{mode}_{role}_{}", random_text()))
    }

    /// Wraps a key taken from an `Authorization` header.
    pub fn from_client(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The digest stored in place of the key.
    pub fn digest(&self) -> String {
        digest(&self.0)
    }

    /// The key itself, to print exactly once when it is created.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_lowercase_hex_sha256_as_stored() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn tokens_are_long_url_safe_distinct_and_redacted() {
        let a = ResetToken::generate();
        let b = ResetToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a.digest(), a.expose());
        assert_eq!(a.digest().len(), 64);
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn api_keys_say_what_they_are() {
        let key = ApiKeySecret::generate(Role::SalesChannel, Mode::Live);
        assert!(key.expose().starts_with("pwr_live_sc_"));
        assert!(!format!("{key:?}").contains(key.expose()));
    }
}
