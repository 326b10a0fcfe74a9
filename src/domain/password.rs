//! Passwords as customers choose them.

use std::fmt;

use super::{ParseError, ParseReason};

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most characters a password may have (NIST SP 800-63B asks for at least 64).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A new password that meets the length policy, counted in characters (Unicode
/// code points), never silently truncated. `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Parses a password a customer chose.
    ///
    /// # Errors
    /// [`ParseReason::PasswordTooShort`] under [`MIN_PASSWORD_CHARS`] characters,
    /// [`ParseReason::PasswordTooLong`] over [`MAX_PASSWORD_CHARS`].
    pub fn parse(raw: String) -> Result<Self, ParseError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(ParseError::new(
                ParseReason::PasswordTooShort,
                format!("must be at least {MIN_PASSWORD_CHARS} characters"),
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(ParseError::new(
                ParseReason::PasswordTooLong,
                format!("must be at most {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        Ok(Self(raw))
    }

    /// The password's bytes, for hashing only.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        // Seven characters, fourteen bytes: too short.
        assert_eq!(
            Password::parse("ééééééé".into()).unwrap_err().reason,
            ParseReason::PasswordTooShort
        );
        assert!(Password::parse("é".repeat(256)).is_ok());
        assert_eq!(
            Password::parse("a".repeat(257)).unwrap_err().reason,
            ParseReason::PasswordTooLong
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::parse("correct horse battery".into()).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
