//! What one sealed value holds: a reset's token, its one-time code, or both.
//! The two outboxes (reset emails, webhook deliveries) keep one sealed
//! value per row; a value with a token only is the token itself, as every
//! earlier version sealed it, and a value with a code is a small JSON object.

use serde::{Deserialize, Serialize};

/// The secrets one email or delivery carries to the customer or the merchant.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetSecrets {
    /// The token, for a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The one-time code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl std::fmt::Debug for ResetSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetSecrets")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl ResetSecrets {
    /// The text to seal: the token alone when there is no code (tokens are
    /// URL-safe base64, so never start with `{`), a JSON object otherwise.
    pub fn to_text(&self) -> String {
        match (&self.token, &self.code) {
            (Some(token), None) => token.clone(),
            _ => serde_json::to_string(self).unwrap_or_default(),
        }
    }

    /// The secrets in an opened value [`ResetSecrets::to_text`] wrote, or
    /// an earlier version's token.
    pub fn from_text(text: String) -> Self {
        if text.starts_with('{') {
            serde_json::from_str(&text).unwrap_or_default()
        } else {
            Self {
                token: Some(text),
                code: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_alone_is_sealed_as_before_and_a_code_travels_beside_it() {
        let token = ResetSecrets {
            token: Some("abc-_1".into()),
            code: None,
        };
        assert_eq!(token.to_text(), "abc-_1");
        assert_eq!(ResetSecrets::from_text("abc-_1".into()), token);
        let both = ResetSecrets {
            token: Some("abc".into()),
            code: Some("12345678".into()),
        };
        assert_eq!(ResetSecrets::from_text(both.to_text()), both);
        let code = ResetSecrets {
            token: None,
            code: Some("12345678".into()),
        };
        assert_eq!(code.to_text(), r#"{"code":"12345678"}"#);
        assert_eq!(ResetSecrets::from_text(code.to_text()), code);
        assert!(!format!("{both:?}").contains("12345678"));
    }
}
