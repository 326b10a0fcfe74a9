//! Free-form data a merchant attaches to a record: `metadata` and `reference`.

use super::{ErrorCode, ParseError};

/// The largest metadata accepted, measured as compact JSON text.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// The longest reference accepted, in characters.
pub const MAX_REFERENCE_CHARS: usize = 255;

/// A JSON object of at most [`MAX_METADATA_BYTES`] bytes of compact JSON.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata(serde_json::Map<String, serde_json::Value>);

impl Metadata {
    /// Parses metadata sent by a client.
    ///
    /// # Errors
    /// [`ErrorCode::MetadataNotObject`] for a value that is not an object,
    /// [`ErrorCode::MetadataTooLarge`] for an object over the size limit.
    pub fn parse(value: serde_json::Value) -> Result<Self, ParseError> {
        let serde_json::Value::Object(map) = value else {
            return Err(ParseError::new(
                ErrorCode::MetadataNotObject,
                "must be a JSON object",
            ));
        };
        let size = serde_json::to_vec(&map)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > MAX_METADATA_BYTES {
            return Err(ParseError::new(
                ErrorCode::MetadataTooLarge,
                format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"),
            ));
        }
        Ok(Self(map))
    }

    /// The metadata as a JSON value, for storage.
    pub fn into_json(self) -> serde_json::Value {
        serde_json::Value::Object(self.0)
    }
}

/// A merchant's own reference for a record: at most 255 characters.
///
/// An empty or blank reference is stored as no reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference(Option<String>);

impl Reference {
    /// Parses a reference sent by a client.
    ///
    /// # Errors
    /// [`ErrorCode::ReferenceTooLong`] beyond [`MAX_REFERENCE_CHARS`] characters.
    pub fn parse(raw: Option<String>) -> Result<Self, ParseError> {
        let value = raw.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if value
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REFERENCE_CHARS)
        {
            return Err(ParseError::new(
                ErrorCode::ReferenceTooLong,
                format!("must be at most {MAX_REFERENCE_CHARS} characters"),
            ));
        }
        Ok(Self(value))
    }

    /// The reference for storage; `None` when there is none.
    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_must_be_a_bounded_object() {
        assert!(Metadata::parse(json!({"a": 1})).is_ok());
        for bad in [json!([1]), json!("x"), json!(null), json!(3)] {
            assert_eq!(
                Metadata::parse(bad).unwrap_err().code,
                ErrorCode::MetadataNotObject
            );
        }
        let big = json!({ "k": "x".repeat(MAX_METADATA_BYTES) });
        assert_eq!(
            Metadata::parse(big).unwrap_err().code,
            ErrorCode::MetadataTooLarge
        );
    }

    #[test]
    fn references_count_characters_and_blank_means_none() {
        assert_eq!(
            Reference::parse(Some("  ".into())).unwrap().into_inner(),
            None
        );
        assert!(Reference::parse(Some("é".repeat(255))).is_ok());
        assert!(Reference::parse(Some("é".repeat(256))).is_err());
    }
}
