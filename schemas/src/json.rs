//! Strict JSON: what serde_json accepts, minus duplicate keys, byte-order marks and oversized
//! records (SEMANTICS §8.2).
//!
//! [`check`] walks the whole text once without building values, rejects what is not strict
//! JSON, and returns the record's `type`; the typed parse then reads the same text directly.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::RecordError;

/// The default record size limit: 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// A strict JSON object with a string `type`: its text and its type.
#[derive(Debug)]
pub struct Checked<'a> {
    /// The record's text.
    pub text: &'a str,
    /// The value of its `type` field.
    pub record_type: String,
}

/// Checks that `bytes` is one strict JSON object with a string `type`.
pub fn check(bytes: &[u8], max_bytes: usize) -> Result<Checked<'_>, RecordError> {
    if bytes.len() > max_bytes {
        return Err(RecordError::TooLarge { size: bytes.len(), limit: max_bytes });
    }
    let text =
        std::str::from_utf8(bytes).map_err(|e| RecordError::NotUtf8 { offset: e.valid_up_to() })?;
    if text.starts_with('\u{feff}') {
        return Err(RecordError::ByteOrderMark);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let outcome = TopLevel.deserialize(&mut deserializer).and_then(|t| {
        deserializer.end()?;
        Ok(t)
    });
    match outcome {
        Ok(TopLevelOutcome::Object(Some(record_type))) => Ok(Checked { text, record_type }),
        Ok(TopLevelOutcome::Object(None)) => Err(RecordError::MissingType),
        Ok(TopLevelOutcome::NotObject) => Err(RecordError::NotObject),
        Err(e) => Err(RecordError::NotJson(e.to_string())),
    }
}

enum TopLevelOutcome {
    Object(Option<String>),
    NotObject,
}

struct TopLevel;

impl<'de> DeserializeSeed<'de> for TopLevel {
    type Value = TopLevelOutcome;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevelOutcome;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys = HashSet::new();
        let mut record_type = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "type" {
                record_type = map.next_value_seed(TypeField)?;
            } else {
                map.next_value_seed(Strict)?;
            }
            if !keys.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
        }
        Ok(TopLevelOutcome::Object(record_type))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element_seed(Strict)?.is_some() {}
        Ok(TopLevelOutcome::NotObject)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(TopLevelOutcome::NotObject)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(TopLevelOutcome::NotObject)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(TopLevelOutcome::NotObject)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(TopLevelOutcome::NotObject)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(TopLevelOutcome::NotObject)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(TopLevelOutcome::NotObject)
    }
}

/// The `type` field: a string, or anything else (then the record has no usable type).
struct TypeField;

impl<'de> DeserializeSeed<'de> for TypeField {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        struct TypeVisitor;
        impl<'de> Visitor<'de> for TypeVisitor {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Some(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                StrictVisitor.visit_map(map).map(|_| None)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                StrictVisitor.visit_seq(seq).map(|_| None)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
        }
        deserializer.deserialize_any(TypeVisitor)
    }
}

/// Any JSON value, checked for duplicate keys at every depth.
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value_seed(Strict)?;
            if !keys.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Strict)?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(text: &str) -> Result<String, RecordError> {
        check(text.as_bytes(), DEFAULT_MAX_RECORD_BYTES).map(|c| c.record_type)
    }

    #[test]
    fn finds_the_type() {
        assert_eq!(checked(r#"{"a":1,"type":"event","b":[1,{"c":2}]}"#).unwrap(), "event");
    }

    #[test]
    fn rejects_duplicate_keys_at_any_depth() {
        assert!(matches!(checked(r#"{"type":"x","type":"y"}"#), Err(RecordError::NotJson(_))));
        assert!(matches!(
            checked(r#"{"type":"x","a":[{"b":1,"b":2}]}"#),
            Err(RecordError::NotJson(_))
        ));
    }

    #[test]
    fn rejects_what_is_not_json() {
        assert_eq!(checked("\u{feff}{\"type\":\"x\"}"), Err(RecordError::ByteOrderMark));
        assert!(matches!(checked(r#"{"type":"x","a":NaN}"#), Err(RecordError::NotJson(_))));
        assert!(matches!(checked(r#"{"type":"x","a":Infinity}"#), Err(RecordError::NotJson(_))));
        assert!(matches!(checked(r#"{"type":"x","a":"\ud800"}"#), Err(RecordError::NotJson(_))));
        assert!(matches!(checked(r#"{"type":"x"} x"#), Err(RecordError::NotJson(_))));
        assert!(matches!(checked(r#"{"type":"x""#), Err(RecordError::NotJson(_))));
        assert_eq!(
            check(b"{\"type\":\"x\xff\"}", 100).map(|c| c.record_type),
            Err(RecordError::NotUtf8 { offset: 10 })
        );
    }

    #[test]
    fn paired_surrogates_are_fine() {
        assert_eq!(checked(r#"{"type":"x","a":"\ud83c\udfbe"}"#).unwrap(), "x");
    }

    #[test]
    fn needs_an_object_with_a_string_type() {
        assert_eq!(checked("[1,2]"), Err(RecordError::NotObject));
        assert_eq!(checked("3"), Err(RecordError::NotObject));
        assert_eq!(checked(r#"{"a":1}"#), Err(RecordError::MissingType));
        assert_eq!(checked(r#"{"type":1}"#), Err(RecordError::MissingType));
    }

    #[test]
    fn enforces_the_size_limit_before_parsing() {
        assert_eq!(
            check(b"not json at all", 5).map(|c| c.record_type),
            Err(RecordError::TooLarge { size: 15, limit: 5 })
        );
    }
}
