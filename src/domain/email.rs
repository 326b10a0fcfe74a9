//! Email addresses, as customers type them and as they are matched.

use super::{ErrorCode, ParseError};

/// The longest address SMTP allows (RFC 5321 forward-path limit).
const MAX_EMAIL_LEN: usize = 254;

/// A syntactically plausible email address, trimmed of surrounding white space.
///
/// Two addresses that differ only in letter case belong to the same customer:
/// [`Email::key`] is the form uniqueness and look-ups use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an address: one `@`, a non-empty local part of dot-separated
    /// atoms, a domain with a dot, none of RFC 5322's specials (`()<>[]:;\,"`:
    /// quoted local parts and address literals are refused), no white space or
    /// control characters, at most 254 bytes.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidEmail`] for anything else.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let email = raw.trim();
        let invalid = || ParseError::new(ErrorCode::InvalidEmail, "is not a valid email address");
        if email.is_empty() || email.len() > MAX_EMAIL_LEN {
            return Err(invalid());
        }
        if email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
        {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = !domain.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        // RFC 5322 specials outside a quoted string, and dots that do not
        // separate two atoms: no mail server would take such an address, so
        // a reset for it could never reach anyone.
        let specials =
            |part: &str| part.contains(['(', ')', '<', '>', '[', ']', ':', ';', '\\', ',', '"']);
        let local_ok = !local.starts_with('.') && !local.ends_with('.') && !local.contains("..");
        if local.is_empty()
            || local.contains('@')
            || !local_ok
            || specials(local)
            || specials(domain)
            || !domain_ok
        {
            return Err(invalid());
        }
        Ok(Self(email.to_owned()))
    }

    /// The address as the customer gave it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address folded to lower case: the key uniqueness and look-ups use.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Zero-width and bidirectional-override characters: invisible in an address,
/// and a way to make one address look like another.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_addresses_and_folds_case_for_the_key() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Ada.Lovelace@Example.COM");
        assert_eq!(email.key(), "ada.lovelace@example.com");
    }

    #[test]
    fn accepts_the_unusual_characters_addresses_may_have() {
        for raw in [
            "o'hara&co@example.com",
            "ada+tag@example.com",
            "a.b-c_d@sub.example.co.uk",
            "{ada}|~!#$%^*=?`/@example.com",
            "jürgen@例え.jp",
        ] {
            assert!(Email::parse(raw).is_ok(), "{raw:?} should be accepted");
        }
    }

    #[test]
    fn refuses_what_cannot_be_an_address() {
        for raw in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@@example.com",
            "ada@example..com",
            "<b>ada</b>@example.com",
            "\"ada\"@example.com",
            "a,da@example.com",
            "ada;@example.com",
            ".ada@example.com",
            "ada.@example.com",
            "a..da@example.com",
            "ada@[192.0.2.1]",
            "ada@exa(mple).com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be refused");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
