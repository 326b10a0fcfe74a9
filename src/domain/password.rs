//! Passwords as customers choose them, under the NIST SP 800-63B policy:
//! length counted in Unicode code points after NFKC normalisation, no
//! composition rules, no silent truncation, no common passwords, nothing built
//! from the customer's own email.

use std::{collections::HashSet, fmt, sync::OnceLock};

use unicode_normalization::UnicodeNormalization;

use super::{Email, ErrorCode, ParseError};

/// The fewest characters a password may be configured to need.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most characters a password may have (NIST SP 800-63B asks for at least 64).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// The shortest email local part that passwords are checked against.
const MIN_CONTEXT_CHARS: usize = 3;

/// Common passwords (Django's list), refused outright.
static COMMON: &str = include_str!("../../assets/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// What a new password must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters, at least [`MIN_PASSWORD_CHARS`]. NIST recommends 15
    /// when the password is the only factor.
    pub min_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: MIN_PASSWORD_CHARS,
        }
    }
}

/// A password as a client sent it, not yet checked against any policy.
/// `Debug` prints `[redacted]`, so it cannot reach a log on its way down.
#[derive(Clone, PartialEq, Eq)]
pub struct RawPassword(String);

impl RawPassword {
    /// Wraps a password a client sent.
    pub fn new(raw: String) -> Self {
        Self(raw)
    }
}

impl From<&str> for RawPassword {
    fn from(raw: &str) -> Self {
        Self(raw.to_owned())
    }
}

impl fmt::Debug for RawPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawPassword([redacted])")
    }
}

/// A new password that meets the policy, NFKC-normalised (so that the same
/// characters typed on different keyboards hash alike). `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Parses a password a customer chose, given the customer's email (when
    /// known) as context.
    ///
    /// # Errors
    /// [`ErrorCode::PasswordTooShort`], [`ErrorCode::PasswordTooLong`],
    /// [`ErrorCode::PasswordTooCommon`] or [`ErrorCode::PasswordContainsEmail`].
    pub fn parse(
        raw: RawPassword,
        policy: &PasswordPolicy,
        email: Option<&Email>,
    ) -> Result<Self, ParseError> {
        let normalized: String = raw.0.nfkc().collect();
        let chars = normalized.chars().count();
        let min = policy.min_chars.max(MIN_PASSWORD_CHARS);
        if chars < min {
            return Err(ParseError::new(
                ErrorCode::PasswordTooShort,
                format!("must be at least {min} characters"),
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(ParseError::new(
                ErrorCode::PasswordTooLong,
                format!("must be at most {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        let folded = normalized.to_lowercase();
        if common_passwords().contains(folded.as_str()) {
            return Err(ParseError::new(
                ErrorCode::PasswordTooCommon,
                "is too common: it appears in lists of passwords attackers try first",
            ));
        }
        if let Some(email) = email {
            let key = email.key();
            let local = key.split('@').next().unwrap_or_default();
            let contains_local =
                local.chars().count() >= MIN_CONTEXT_CHARS && folded.contains(local);
            if folded.contains(&key) || contains_local {
                return Err(ParseError::new(
                    ErrorCode::PasswordContainsEmail,
                    "must not contain your email address",
                ));
            }
        }
        Ok(Self(normalized))
    }

    /// The password's bytes, for hashing only.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// `raw` as [`Password`] stores it: for checking a password against a digest.
pub fn normalize(raw: &str) -> String {
    raw.nfkc().collect()
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Password, ErrorCode> {
        Password::parse(raw.into(), &PasswordPolicy::default(), None).map_err(|e| e.code)
    }

    #[test]
    fn length_is_counted_in_code_points_after_nfkc() {
        // Seven characters, fourteen bytes: too short.
        assert_eq!(parse("ééééééé").unwrap_err(), ErrorCode::PasswordTooShort);
        assert!(parse(&"é".repeat(256)).is_ok());
        assert_eq!(
            parse(&"a".repeat(257)).unwrap_err(),
            ErrorCode::PasswordTooLong
        );
        // "ﬁ" (one code point) becomes "fi" (two) under NFKC: seven code points
        // as typed, eight as counted.
        assert!(parse("ﬁ123456").is_ok());
        assert_eq!(parse("ﬁ12345").unwrap_err(), ErrorCode::PasswordTooShort);
        let strict = PasswordPolicy { min_chars: 15 };
        assert!(Password::parse("fourteen chars".into(), &strict, None).is_err());
    }

    #[test]
    fn common_passwords_and_the_email_are_refused() {
        assert_eq!(
            parse("password1").unwrap_err(),
            ErrorCode::PasswordTooCommon
        );
        assert_eq!(
            parse("Qwertyuiop").unwrap_err(),
            ErrorCode::PasswordTooCommon
        );
        let email = Email::parse("Grace.Hopper@example.com").unwrap();
        let with = |p: &str| {
            Password::parse(p.into(), &PasswordPolicy::default(), Some(&email)).map_err(|e| e.code)
        };
        assert_eq!(
            with("my grace.hopper pass").unwrap_err(),
            ErrorCode::PasswordContainsEmail
        );
        assert_eq!(
            with("GRACE.HOPPER@EXAMPLE.COM").unwrap_err(),
            ErrorCode::PasswordContainsEmail
        );
        assert!(with("compiler pioneer 1906").is_ok());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
