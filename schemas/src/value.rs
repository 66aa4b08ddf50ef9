//! Attribute values: the booleans, numbers and strings that plugins attach to their results.
//!
//! Values are compared as JSON values (SEMANTICS §5): `true` never equals `1`, and `1` equals
//! `1.0`. To make that equality structural (so values can be hashed, sorted and joined on), a
//! number with an integral value is always held as an integer, whichever way it was written.
//!
//! [`AttrValue`] derives its serde form for the dataflow's own exchange; [`JsonValue`] is the
//! JSON form read from and written to the wire.

use std::collections::BTreeMap;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One attribute value, in canonical form.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AttrValue {
    /// A JSON boolean.
    Bool(bool),
    /// A number with an integral value (`1`, `1.0` and `1e0` are all `Int(1)`).
    Int(i128),
    /// A number with a fractional part, as the bits of its `f64` (never integral, never NaN).
    Float(FloatBits),
    /// A JSON string.
    String(String),
}

/// A finite, non-integral `f64` held by its bits so that it can be compared and hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FloatBits(u64);

impl FloatBits {
    /// The number.
    pub fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

impl PartialOrd for FloatBits {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FloatBits {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.get().total_cmp(&other.get())
    }
}

impl AttrValue {
    /// The canonical value of a finite `f64`; integral values become [`AttrValue::Int`].
    pub fn from_f64(number: f64) -> Option<AttrValue> {
        if !number.is_finite() {
            return None;
        }
        // Integral doubles below 2^100 convert to i128 exactly.
        if number.fract() == 0.0 && number.abs() < 1e30 {
            Some(AttrValue::Int(number as i128))
        } else {
            Some(AttrValue::Float(FloatBits(number.to_bits())))
        }
    }

    /// The value as a `serde_json::Value`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            AttrValue::Bool(b) => serde_json::Value::Bool(*b),
            AttrValue::Int(i) => match (i64::try_from(*i), u64::try_from(*i)) {
                (Ok(i), _) => i.into(),
                (_, Ok(u)) => u.into(),
                _ => serde_json::Value::from(*i as f64),
            },
            AttrValue::Float(f) => serde_json::Value::from(f.get()),
            AttrValue::String(s) => serde_json::Value::String(s.clone()),
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// The JSON form of an attribute value: a boolean, a number or a string.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JsonValue(pub AttrValue);

impl Serialize for JsonValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl Visitor<'_> for ValueVisitor {
            type Value = AttrValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean, a number or a string")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AttrValue, E> {
                Ok(AttrValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AttrValue, E> {
                Ok(AttrValue::Int(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AttrValue, E> {
                Ok(AttrValue::Int(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<AttrValue, E> {
                AttrValue::from_f64(v).ok_or_else(|| E::custom("not a finite number"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AttrValue, E> {
                Ok(AttrValue::String(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<AttrValue, E> {
                Ok(AttrValue::String(v))
            }
            // Said in words of its own: a null attribute value is invalid, not a missing field.
            fn visit_unit<E: de::Error>(self) -> Result<AttrValue, E> {
                Err(E::custom("null is not an attribute value (a boolean, a number or a string)"))
            }
        }
        deserializer.deserialize_any(ValueVisitor).map(JsonValue)
    }
}

impl JsonSchema for JsonValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AttrValue".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["boolean", "number", "string"],
            "description": "An attribute value; compared as JSON values (1 equals 1.0, true never equals 1)"
        })
    }
}

/// Named attribute values of a segment, label or detection.
pub type Attributes = BTreeMap<String, AttrValue>;

/// Named attribute values in their JSON form.
pub type JsonAttributes = BTreeMap<String, JsonValue>;

/// Converts attributes read from JSON to their canonical form.
pub fn from_json_attributes(attributes: JsonAttributes) -> Attributes {
    attributes.into_iter().map(|(name, value)| (name, value.0)).collect()
}

/// Converts attributes to their JSON form.
pub fn to_json_attributes(attributes: &Attributes) -> JsonAttributes {
    attributes.iter().map(|(name, value)| (name.clone(), JsonValue(value.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> AttrValue {
        serde_json::from_str::<JsonValue>(text).unwrap().0
    }

    #[test]
    fn numbers_compare_as_json_values() {
        assert_eq!(parse("1"), parse("1.0"));
        assert_eq!(parse("1e0"), parse("1"));
        assert_ne!(parse("true"), parse("1"));
        assert_ne!(parse("1.5"), parse("1"));
        assert_eq!(parse("-0.0"), parse("0"));
        assert_ne!(parse("\"1\""), parse("1"));
    }

    #[test]
    fn rejects_null_lists_and_objects() {
        assert!(serde_json::from_str::<JsonValue>("null").is_err());
        assert!(serde_json::from_str::<JsonValue>("[1]").is_err());
        assert!(serde_json::from_str::<JsonValue>("{}").is_err());
    }

    #[test]
    fn writes_integral_numbers_as_integers() {
        assert_eq!(serde_json::to_string(&JsonValue(parse("2.0"))).unwrap(), "2");
        assert_eq!(serde_json::to_string(&JsonValue(parse("2.5"))).unwrap(), "2.5");
        assert_eq!(
            serde_json::to_string(&JsonValue(parse("18446744073709551615"))).unwrap(),
            "18446744073709551615"
        );
    }
}
