//! Secrets at rest: a reset token waiting for its webhook delivery is stored
//! sealed with ChaCha20-Poly1305, a fresh random nonce per value, and the
//! delivery's id as associated data (a sealed value copied to another row
//! does not open). The key lives outside the database
//! (`TOKEN_ENCRYPTION_KEY`, or a key file beside a SQLite database), so a
//! backup of the database alone holds no usable token. An old key can be
//! kept for opening while values sealed with it drain (rotation).

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    ChaCha20Poly1305, Key, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use rand::{TryRngCore, rngs::OsRng};

use super::{Error, Result};

/// Bytes in a key.
pub const KEY_BYTES: usize = 32;
/// Bytes in a nonce.
const NONCE_BYTES: usize = 12;
/// What every sealed value starts with: the format's version.
const PREFIX: &str = "v1.";

/// A 256-bit key. `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SealingKey([u8; KEY_BYTES]);

impl SealingKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut key = [0u8; KEY_BYTES];
        OsRng
            .try_fill_bytes(&mut key)
            .expect("the operating system's random number generator failed");
        Self(key)
    }

    /// Reads a key written as base64 (standard alphabet, padded or not).
    ///
    /// # Errors
    /// A message (never holding the text) when it is not base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| "is not base64".to_owned())?;
        let key: [u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| format!("must be base64 of {KEY_BYTES} bytes"))?;
        Ok(Self(key))
    }

    /// The key as base64, to write to a key file.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

/// The key in the file at `path`, or, when there is no such file, a fresh key
/// written to a new one readable by its owner only (mode 0600). Returns the
/// key and whether the file was created now.
///
/// # Errors
/// An I/O error, or a message when the file holds no key.
pub fn key_file(path: &std::path::Path) -> std::io::Result<(SealingKey, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => SealingKey::from_base64(&text)
            .map(|key| (key, false))
            .map_err(|why| std::io::Error::other(format!("{}: the key {why}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SealingKey::generate();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path)?;
            std::io::Write::write_all(&mut file, format!("{}\n", key.to_base64()).as_bytes())?;
            file.sync_all()?;
            Ok((key, true))
        }
        Err(e) => Err(e),
    }
}

/// Seals and opens secrets with the current key; opens with the old key too.
#[derive(Clone)]
pub struct TokenSealer {
    current: ChaCha20Poly1305,
    old: Option<ChaCha20Poly1305>,
}

impl std::fmt::Debug for TokenSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSealer")
            .field("old_key", &self.old.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenSealer {
    /// A sealer with `current`, opening values sealed with `old` too.
    pub fn new(current: &SealingKey, old: Option<&SealingKey>) -> Self {
        let cipher = |key: &SealingKey| ChaCha20Poly1305::new(Key::from_slice(&key.0));
        Self {
            current: cipher(current),
            old: old.map(cipher),
        }
    }

    /// A sealer with a fresh key of its own (for tests and in-memory databases).
    pub fn ephemeral() -> Self {
        Self::new(&SealingKey::generate(), None)
    }

    /// `secret`, sealed for the row `context` names: `v1.` and the base64 of
    /// a fresh nonce and the ciphertext.
    ///
    /// # Errors
    /// [`Error::Internal`] if the cipher fails (it does not, for any input).
    pub fn seal(&self, secret: &str, context: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| Error::Internal("no random nonce".into()))?;
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: context.as_bytes(),
        };
        let sealed = self
            .current
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| Error::Internal("sealing failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// The secret in `sealed`, sealed for `context` with the current or the
    /// old key.
    ///
    /// # Errors
    /// [`Error::Internal`] when it was sealed with another key, for another
    /// row, or is not a sealed value at all.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String> {
        let unusable = || {
            Error::Internal(
                "a sealed token cannot be opened: was TOKEN_ENCRYPTION_KEY changed without \
                 keeping the old one in TOKEN_ENCRYPTION_KEY_OLD?"
                    .into(),
            )
        };
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|b| b.len() > NONCE_BYTES)
            .ok_or_else(unusable)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let open = |cipher: &ChaCha20Poly1305| {
            let payload = Payload {
                msg: ciphertext,
                aad: context.as_bytes(),
            };
            cipher.decrypt(Nonce::from_slice(nonce), payload).ok()
        };
        let plain = open(&self.current)
            .or_else(|| self.old.as_ref().and_then(open))
            .ok_or_else(unusable)?;
        String::from_utf8(plain).map_err(|_| unusable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_row() {
        let key = SealingKey::generate();
        let sealer = TokenSealer::new(&key, None);
        let sealed = sealer.seal("the token", "whd_1").unwrap();
        assert!(!sealed.contains("the token"));
        assert_ne!(
            sealed,
            sealer.seal("the token", "whd_1").unwrap(),
            "fresh nonce"
        );
        assert_eq!(sealer.open(&sealed, "whd_1").unwrap(), "the token");
        assert!(sealer.open(&sealed, "whd_2").is_err(), "another row");
        assert!(TokenSealer::ephemeral().open(&sealed, "whd_1").is_err());
        // Rotation: the old key still opens what it sealed.
        let rotated = TokenSealer::new(&SealingKey::generate(), Some(&key));
        assert_eq!(rotated.open(&sealed, "whd_1").unwrap(), "the token");
        assert!(sealer.open("the token", "whd_1").is_err());
    }

    #[test]
    fn keys_read_back_from_base64() {
        let key = SealingKey::generate();
        assert_eq!(SealingKey::from_base64(&key.to_base64()).unwrap(), key);
        assert!(SealingKey::from_base64("c2hvcnQ=").is_err());
        assert!(!format!("{key:?}").contains(&key.to_base64()));
    }
}
