//! Why a record was rejected.

use serde::{de::Error as _, Deserialize, Deserializer, Serialize};
use thiserror::Error;

/// A record that cannot enter the computation, and why (SEMANTICS §7).
///
/// It serializes so that a rejection can travel with the rest of an epoch between the
/// processes of a cluster.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum RecordError {
    /// Larger than the configured limit; not parsed.
    #[error("record is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Size of the record in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Not valid UTF-8.
    #[error("not JSON: invalid UTF-8 at byte {offset}")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// Starts with a byte-order mark, which JSON text must not have.
    #[error("not JSON: starts with a byte-order mark")]
    ByteOrderMark,
    /// Not JSON (syntax, duplicate key, NaN, lone surrogate, trailing data).
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("not a JSON object")]
    NotObject,
    /// An object without a string `type`.
    #[error("missing field `type`")]
    MissingType,
    /// A `type` reeltime does not know.
    #[error("unknown type {0:?}; expected one of profile, event, chunk, segment, optimization, label, detection, replay, feedback, delete")]
    UnknownType(String),
    /// A field is missing, has the wrong type, or breaks a rule.
    #[error("{record_type} record: {message}")]
    Invalid {
        /// The record's `type`.
        #[serde(deserialize_with = "known_record_type")]
        record_type: RecordType,
        /// Which field and what rule, e.g. "field `end`: 5.0 is before `start` 10.0".
        message: String,
    },
}

/// A record's `type`, one of the ten the wire knows. (A name of its own also keeps serde from
/// borrowing the field from the input, as it would a `&'static str` written out.)
pub type RecordType = &'static str;

/// Every record `type`, as written on the wire.
const RECORD_TYPES: [&str; 10] = [
    "profile",
    "event",
    "chunk",
    "segment",
    "optimization",
    "label",
    "detection",
    "replay",
    "feedback",
    "delete",
];

/// A record type read back: one of [`RECORD_TYPES`], which the error holds as `'static`.
fn known_record_type<'de, D: Deserializer<'de>>(deserializer: D) -> Result<&'static str, D::Error> {
    let name = String::deserialize(deserializer)?;
    RECORD_TYPES
        .into_iter()
        .find(|known| *known == name)
        .ok_or_else(|| D::Error::custom(format!("unknown record type {name:?}")))
}

impl RecordError {
    /// A short stable name of the reason, for metrics and dashboards.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordError::TooLarge { .. } => "too_large",
            RecordError::NotUtf8 { .. } | RecordError::ByteOrderMark | RecordError::NotJson(_) => {
                "not_json"
            }
            RecordError::NotObject => "not_object",
            RecordError::MissingType => "missing_type",
            RecordError::UnknownType(_) => "unknown_type",
            RecordError::Invalid { .. } => "invalid",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_travels_as_json_and_comes_back_equal() {
        let errors = [
            RecordError::TooLarge { size: 9, limit: 8 },
            RecordError::NotJson("trailing characters at line 1 column 3".into()),
            RecordError::UnknownType("goal".into()),
            RecordError::Invalid { record_type: "segment", message: "field `end`: bad".into() },
        ];
        for error in errors {
            let text = serde_json::to_string(&error).unwrap();
            assert_eq!(serde_json::from_str::<RecordError>(&text).unwrap(), error);
        }
        let forged = r#"{"Invalid":{"record_type":"goal","message":"m"}}"#;
        assert!(serde_json::from_str::<RecordError>(forged).is_err());
    }
}
