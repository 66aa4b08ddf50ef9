//! Why a record was rejected.

use thiserror::Error;

/// A record that cannot enter the computation, and why (SEMANTICS §7).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
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
        record_type: &'static str,
        /// Which field and what rule, e.g. "field `end`: 5.0 is before `start` 10.0".
        message: String,
    },
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
