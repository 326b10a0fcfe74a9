//! Secrets at rest: a reset token waiting for its webhook delivery is stored
//! sealed with ChaCha20-Poly1305, a fresh random nonce per value, and the
//! delivery's id as associated data (a sealed value copied to another row
//! does not open). The key lives outside the database
//! (`TOKEN_ENCRYPTION_KEY`, or a key file beside a SQLite database), so a
//! backup of the database alone holds no usable token. Each sealed value
//! names the key that sealed it by a short id, so a process that lacks that
//! key leaves the value for one that has it; a second key opens values
//! sealed with it, for rotations (see docs/operations.md).

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    ChaCha20Poly1305, Key, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use rand::{TryRng, rngs::SysRng};

use super::{Error, Result};

/// Bytes in a key.
pub const KEY_BYTES: usize = 32;
/// Bytes in a nonce.
const NONCE_BYTES: usize = 12;
/// What every sealed value starts with: the format's version (the key's id
/// follows).
const PREFIX: &str = "v2.";
/// What values sealed by an older version, without their key's id, start with.
const LEGACY_PREFIX: &str = "v1.";

/// A 256-bit key. `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SealingKey([u8; KEY_BYTES]);

impl SealingKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut key = [0u8; KEY_BYTES];
        SysRng
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

    /// The key's bytes, for deriving keys for other purposes from it.
    pub(crate) fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
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

/// The short, public name of a key: what a sealed value records of the key
/// that sealed it (never the key). Eight hex digits of a SHA-256 of the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// The id as written in sealed values and logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl SealingKey {
    /// The key's id: the first 8 hex digits of SHA-256 over a fixed label
    /// and the key, so it names the key and reveals nothing of it.
    pub fn id(&self) -> KeyId {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(b"pwreset token key id\0")
            .chain_update(self.0)
            .finalize();
        KeyId(crate::domain::hex::encode(&digest[..4]))
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// It was sealed with a key this process does not have: another process
    /// (or this one, given the key) can open it; nothing should give it up.
    #[error(
        "sealed with the key whose id is {0}, which this process does not have \
         (set it as TOKEN_ENCRYPTION_KEY or TOKEN_ENCRYPTION_KEY_OLD)"
    )]
    MissingKey(KeyId),
    /// It does not open with the key that sealed it: not a sealed value, or
    /// altered, or sealed for another row. No key will ever open it.
    #[error("a sealed token cannot be opened: it is damaged or belongs to another row")]
    Unreadable,
}

/// Seals with the current key; opens with the current key and the other
/// keys it was given (the previous one, or the next one during a rotation).
/// Each sealed value records the id of the key that sealed it (`v2.ID.…`),
/// so a process lacking that key can tell, and leave the value alone.
#[derive(Clone)]
pub struct TokenSealer {
    current: (KeyId, ChaCha20Poly1305),
    others: Vec<(KeyId, ChaCha20Poly1305)>,
    codes: super::codes::CodeKeys,
}

impl std::fmt::Debug for TokenSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSealer")
            .field("current", &self.current.0)
            .field(
                "others",
                &self.others.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl TokenSealer {
    /// A sealer with `current`, opening values sealed with `old` too.
    pub fn new(current: &SealingKey, old: Option<&SealingKey>) -> Self {
        let cipher = |key: &SealingKey| (key.id(), ChaCha20Poly1305::new(Key::from_slice(&key.0)));
        Self {
            current: cipher(current),
            others: old.map(cipher).into_iter().collect(),
            codes: super::codes::CodeKeys::new(current, old),
        }
    }

    /// The keys that digest one-time codes, derived from the same keys.
    pub fn codes(&self) -> &super::codes::CodeKeys {
        &self.codes
    }

    /// A sealer with a fresh key of its own (for tests and in-memory databases).
    pub fn ephemeral() -> Self {
        Self::new(&SealingKey::generate(), None)
    }

    /// The id of the key new values are sealed with.
    pub fn current_key(&self) -> &KeyId {
        &self.current.0
    }

    /// The ids of every key this sealer opens with, the current one first.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        std::iter::once(&self.current.0).chain(self.others.iter().map(|(id, _)| id))
    }

    /// `secret`, sealed for the row `context` names: `v2.`, the current key's
    /// id, `.`, and the base64 of a fresh nonce and the ciphertext.
    ///
    /// # Errors
    /// [`Error::Internal`] if the cipher fails (it does not, for any input).
    pub fn seal(&self, secret: &str, context: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_BYTES];
        SysRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| Error::Internal("no random nonce".into()))?;
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: context.as_bytes(),
        };
        let sealed = self
            .current
            .1
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| Error::Internal("sealing failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(format!(
            "{PREFIX}{}.{}",
            self.current.0,
            STANDARD.encode(bytes)
        ))
    }

    /// The id of the key `sealed` was sealed with; `None` for a value sealed
    /// by an older version (`v1.`, which did not record it) or not sealed.
    pub fn key_of(sealed: &str) -> Option<KeyId> {
        let rest = sealed.strip_prefix(PREFIX)?;
        let (id, _) = rest.split_once('.')?;
        Some(KeyId(id.to_owned()))
    }

    /// The secret in `sealed`, sealed for `context`.
    ///
    /// # Errors
    /// [`OpenError::MissingKey`] when it was sealed with a key this sealer
    /// does not have; [`OpenError::Unreadable`] when it does not open.
    pub fn open(&self, sealed: &str, context: &str) -> std::result::Result<String, OpenError> {
        let (ciphers, b64): (Vec<&ChaCha20Poly1305>, &str) =
            if let Some(b64) = sealed.strip_prefix(LEGACY_PREFIX) {
                // An older version's value: any key may have sealed it.
                (self.ciphers().collect(), b64)
            } else {
                let id = Self::key_of(sealed).ok_or(OpenError::Unreadable)?;
                let b64 = &sealed[PREFIX.len() + id.0.len() + 1..];
                let cipher = self
                    .key_ids()
                    .zip(self.ciphers())
                    .find(|(known, _)| **known == id)
                    .map(|(_, cipher)| cipher)
                    .ok_or(OpenError::MissingKey(id))?;
                (vec![cipher], b64)
            };
        let bytes = STANDARD
            .decode(b64)
            .ok()
            .filter(|b| b.len() > NONCE_BYTES)
            .ok_or(OpenError::Unreadable)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let open = |cipher: &ChaCha20Poly1305| {
            let payload = Payload {
                msg: ciphertext,
                aad: context.as_bytes(),
            };
            cipher.decrypt(Nonce::from_slice(nonce), payload).ok()
        };
        let plain = ciphers
            .into_iter()
            .find_map(open)
            .ok_or(OpenError::Unreadable)?;
        String::from_utf8(plain).map_err(|_| OpenError::Unreadable)
    }

    fn ciphers(&self) -> impl Iterator<Item = &ChaCha20Poly1305> {
        std::iter::once(&self.current.1).chain(self.others.iter().map(|(_, c)| c))
    }

    /// Whether `stored` is a value an older version left: in clear, or
    /// sealed without its key's id. [`TokenSealer::reseal`] brings it up to date.
    pub fn is_outdated(stored: &str) -> bool {
        !stored.starts_with(PREFIX)
    }

    /// `stored` (a secret an older version kept in clear, or sealed as
    /// `v1.`), sealed as this version seals; `None` when it is a `v1.` value
    /// none of this sealer's keys opens (a process that has the key will).
    ///
    /// # Errors
    /// [`Error::Internal`] if sealing fails.
    pub fn reseal(&self, stored: &str, context: &str) -> Result<Option<String>> {
        let secret = if stored.starts_with(LEGACY_PREFIX) {
            match self.open(stored, context) {
                Ok(secret) => secret,
                Err(_) => return Ok(None),
            }
        } else {
            stored.to_owned()
        };
        self.seal(&secret, context).map(Some)
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
    fn a_sealed_value_names_its_key_and_a_process_without_it_says_so() {
        let (k1, k2) = (SealingKey::generate(), SealingKey::generate());
        assert_ne!(k1.id(), k2.id());
        assert_eq!(k1.id().as_str().len(), 8);
        assert!(!k1.id().as_str().is_empty() && !k1.to_base64().contains(k1.id().as_str()));
        let sealed = TokenSealer::new(&k1, None)
            .seal("the token", "eml_1")
            .unwrap();
        assert!(sealed.starts_with(&format!("v2.{}.", k1.id())), "{sealed}");
        assert_eq!(TokenSealer::key_of(&sealed), Some(k1.id()));
        let other = TokenSealer::new(&k2, None);
        assert_eq!(
            other.open(&sealed, "eml_1"),
            Err(OpenError::MissingKey(k1.id()))
        );
        // During a rotation the second key opens it.
        let both = TokenSealer::new(&k2, Some(&k1));
        assert_eq!(both.open(&sealed, "eml_1").unwrap(), "the token");
        assert_eq!(
            both.key_ids().cloned().collect::<Vec<_>>(),
            [k2.id(), k1.id()]
        );
        assert_eq!(both.open(&sealed, "eml_2"), Err(OpenError::Unreadable));
    }

    /// `secret` sealed as the previous version did: `v1.` and no key id.
    fn sealed_by_v1(key: &SealingKey, secret: &str, context: &str) -> String {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&key.0));
        let nonce = [7u8; NONCE_BYTES];
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: context.as_bytes(),
        };
        let mut bytes = nonce.to_vec();
        bytes.extend(cipher.encrypt(Nonce::from_slice(&nonce), payload).unwrap());
        format!("v1.{}", STANDARD.encode(bytes))
    }

    #[test]
    fn values_an_older_version_stored_are_resealed_with_their_key_id() {
        let key = SealingKey::generate();
        let old = sealed_by_v1(&key, "the token", "whd_1");
        let sealer = TokenSealer::new(&key, None);
        assert!(TokenSealer::is_outdated(&old) && TokenSealer::is_outdated("in clear"));
        assert_eq!(sealer.open(&old, "whd_1").unwrap(), "the token");
        let resealed = sealer.reseal(&old, "whd_1").unwrap().unwrap();
        assert!(!TokenSealer::is_outdated(&resealed));
        assert_eq!(sealer.open(&resealed, "whd_1").unwrap(), "the token");
        let clear = sealer.reseal("the token", "whd_1").unwrap().unwrap();
        assert_eq!(sealer.open(&clear, "whd_1").unwrap(), "the token");
        // A v1 value none of its keys opens is left as it is, for a process that can.
        assert_eq!(
            TokenSealer::ephemeral().reseal(&old, "whd_1").unwrap(),
            None
        );
    }

    #[test]
    fn keys_read_back_from_base64() {
        let key = SealingKey::generate();
        assert_eq!(SealingKey::from_base64(&key.to_base64()).unwrap(), key);
        assert!(SealingKey::from_base64("c2hvcnQ=").is_err());
        assert!(!format!("{key:?}").contains(&key.to_base64()));
    }
}
