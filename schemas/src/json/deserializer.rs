//! A serde `Deserializer` over a [`Node`]: it reads typed values from a record's tree the way
//! `serde_json::Deserializer` reads them from the record's text.
//!
//! The same way means the same visitor calls for each kind of value (a struct may be read from
//! an array, an enum from a string or from an object of one entry, `null` is `None`, a number is
//! offered as the `u64`, `i64` or `f64` serde_json read), and for a value that does not fit, the
//! same message: errors are `serde_json::Error`s, which word types and numbers as serde_json
//! does. Only the position (" at line 1 column N") is missing, as a tree has none; decoding names
//! the field instead.
//!
//! Map keys are strings, as every map of the wire types is keyed by strings (serde_json would
//! also read numbers and booleans out of keys); `i128`, `u128` and `f32`, which no wire type
//! reads, are read like the other numbers.

use std::borrow::Cow;
use std::slice;

use serde::de::{self, DeserializeSeed, Deserializer, Expected, Unexpected, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Error;

use super::Node;

/// Reads a typed value from a [`Node`] (see the module's documentation).
#[derive(Clone, Copy)]
pub(crate) struct NodeDeserializer<'t, 'a> {
    node: &'t Node<'a>,
}

impl<'t, 'a> NodeDeserializer<'t, 'a> {
    pub(super) fn new(node: &'t Node<'a>) -> Self {
        NodeDeserializer { node }
    }

    #[cold]
    fn invalid_type(self, expected: &dyn Expected) -> Error {
        let unexpected = match self.node {
            Node::Null => Unexpected::Unit,
            Node::Bool(b) => Unexpected::Bool(*b),
            Node::U64(n) => Unexpected::Unsigned(*n),
            Node::I64(n) => Unexpected::Signed(*n),
            Node::F64(n) => Unexpected::Float(*n),
            Node::Str(s) => Unexpected::Str(s),
            Node::Array(_) => Unexpected::Seq,
            Node::Object(_) => Unexpected::Map,
        };
        de::Error::invalid_type(unexpected, expected)
    }

    fn number<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::U64(n) => visitor.visit_u64(*n),
            Node::I64(n) => visitor.visit_i64(*n),
            Node::F64(n) => visitor.visit_f64(*n),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
}

/// serde_json's message where it expects a value and finds something else: an enum that is
/// neither a string nor an object of one entry.
fn expected_value() -> Error {
    de::Error::custom("expected value")
}

/// An array's elements, visited as a sequence; every element must be taken, as serde_json
/// rejects an array with elements left over ("trailing characters").
fn visit_array<'t, 'a, V: Visitor<'t>>(
    items: &'t [Node<'a>],
    visitor: V,
) -> Result<V::Value, Error> {
    let mut seq = Items { items: items.iter() };
    let value = visitor.visit_seq(&mut seq)?;
    match seq.items.len() {
        0 => Ok(value),
        _ => Err(de::Error::custom("trailing characters")),
    }
}

/// An object's entries, visited as a map; every entry must be taken, as serde_json rejects an
/// object with entries left over.
fn visit_object<'t, 'a, V: Visitor<'t>>(
    entries: &'t [(Cow<'a, str>, Node<'a>)],
    visitor: V,
) -> Result<V::Value, Error> {
    let mut map = Entries { entries: entries.iter(), value: None };
    let value = visitor.visit_map(&mut map)?;
    if map.value.is_some() {
        // serde_json finds the `:` before the value where it expects the end of the object.
        Err(de::Error::custom("trailing characters"))
    } else if map.entries.len() > 0 {
        // It finds the `,` before the next entry.
        Err(de::Error::custom("trailing comma"))
    } else {
        Ok(value)
    }
}

impl<'t> Deserializer<'t> for NodeDeserializer<'t, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(*b),
            Node::U64(n) => visitor.visit_u64(*n),
            Node::I64(n) => visitor.visit_i64(*n),
            Node::F64(n) => visitor.visit_f64(*n),
            Node::Str(s) => visitor.visit_borrowed_str(s),
            Node::Array(items) => visit_array(items, visitor),
            Node::Object(entries) => visit_object(entries, visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Bool(b) => visitor.visit_bool(*b),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_i8<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
    fn deserialize_i16<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
    fn deserialize_i32<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
    fn deserialize_i64<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
    fn deserialize_i128<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
    fn deserialize_u8<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
    fn deserialize_u16<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
    fn deserialize_u32<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
    fn deserialize_u64<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
    fn deserialize_u128<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
    fn deserialize_f32<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
    fn deserialize_f64<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_char<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_str<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Str(s) => visitor.visit_borrowed_str(s),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
    fn deserialize_string<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_identifier<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Str(s) => visitor.visit_borrowed_bytes(s.as_bytes()),
            Node::Array(items) => visit_array(items, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
    fn deserialize_byte_buf<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Null => visitor.visit_unit(),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
    fn deserialize_unit_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Array(items) => visit_array(items, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
    fn deserialize_tuple<V: Visitor<'t>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Object(entries) => visit_object(entries, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.node {
            Node::Array(items) => visit_array(items, visitor),
            Node::Object(entries) => visit_object(entries, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'t>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.node {
            Node::Str(variant) => visitor.visit_enum(UnitVariant(variant)),
            Node::Object(entries) => match entries.as_slice() {
                [(variant, value), rest @ ..] => {
                    let value = visitor.visit_enum(Variant { variant, value })?;
                    match rest {
                        [] => Ok(value),
                        _ => Err(expected_value()),
                    }
                }
                [] => Err(expected_value()),
            },
            _ => Err(expected_value()),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// The elements of an array.
struct Items<'t, 'a> {
    items: slice::Iter<'t, Node<'a>>,
}

impl<'t> de::SeqAccess<'t> for Items<'t, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'t>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            Some(item) => seed.deserialize(NodeDeserializer::new(item)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// The entries of an object, and the value of the key just read.
struct Entries<'t, 'a> {
    entries: slice::Iter<'t, (Cow<'a, str>, Node<'a>)>,
    value: Option<&'t Node<'a>>,
}

impl<'t> de::MapAccess<'t> for Entries<'t, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'t>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(KeyDeserializer(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'t>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(NodeDeserializer::new(value)),
            // serde_json finds the next key (or the end) where it expects the `:` of a value.
            None => Err(de::Error::custom("expected `:`")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A map key, or the name of an enum's variant.
struct KeyDeserializer<'t>(&'t str);

impl<'t> Deserializer<'t> for KeyDeserializer<'t> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_bytes<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_bytes(self.0.as_bytes())
    }
    fn deserialize_byte_buf<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    // A key is never `null`.
    fn deserialize_option<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'t>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(UnitVariant(self.0))
    }

    forward_to_deserialize_any! {
        <V: Visitor<'t>>
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string unit unit_struct
        seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// An enum written as a string: a unit variant.
struct UnitVariant<'t>(&'t str);

impl<'t> de::EnumAccess<'t> for UnitVariant<'t> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'t>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        Ok((seed.deserialize(KeyDeserializer(self.0))?, self))
    }
}

impl<'t> de::VariantAccess<'t> for UnitVariant<'t> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'t>>(self, _seed: T) -> Result<T::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"newtype variant"))
    }

    fn tuple_variant<V: Visitor<'t>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"tuple variant"))
    }

    fn struct_variant<V: Visitor<'t>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"struct variant"))
    }
}

/// An enum written as an object of one entry: the variant's name and its content.
struct Variant<'t, 'a> {
    variant: &'t str,
    value: &'t Node<'a>,
}

impl<'t, 'a> de::EnumAccess<'t> for Variant<'t, 'a> {
    type Error = Error;
    type Variant = NodeDeserializer<'t, 'a>;

    fn variant_seed<V: DeserializeSeed<'t>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDeserializer<'t, 'a>), Error> {
        Ok((seed.deserialize(KeyDeserializer(self.variant))?, NodeDeserializer::new(self.value)))
    }
}

impl<'t> de::VariantAccess<'t> for NodeDeserializer<'t, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'t>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'t>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'t>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_struct("", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use crate::json::{parse, DEFAULT_MAX_RECORD_BYTES};

    /// Reads `T` from the `v` field of `{"type":"t","v":<value>}` through the tree and straight
    /// from the text, and returns both results, errors as their messages without position.
    fn both<T: for<'de> Deserialize<'de>>(value: &str) -> (Result<T, String>, Result<T, String>) {
        #[derive(Deserialize)]
        struct Record<T> {
            v: T,
        }
        let text = format!(r#"{{"type":"t","v":{value}}}"#);
        let parsed = parse(text.as_bytes(), DEFAULT_MAX_RECORD_BYTES).unwrap();
        let from_tree = Record::<T>::deserialize(parsed.root.deserializer())
            .map(|r| r.v)
            .map_err(|e| e.to_string());
        let from_text = serde_json::from_str::<Record<T>>(&text).map(|r| r.v).map_err(|e| {
            let message = e.to_string();
            message[..message.rfind(" at line ").unwrap_or(message.len())].to_owned()
        });
        (from_tree, from_text)
    }

    #[track_caller]
    fn same<T: for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(values: &[&str]) {
        for value in values {
            let (from_tree, from_text) = both::<T>(value);
            assert_eq!(from_tree, from_text, "{value} as {}", std::any::type_name::<T>());
        }
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Status {
        Started,
        Ended,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Slot {
        plugin: String,
        #[serde(default)]
        config: Option<serde_json::Value>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct WithExtra {
        plugin: String,
        #[serde(flatten)]
        extra: BTreeMap<String, serde_json::Value>,
    }

    const VALUES: &[&str] = &[
        "null",
        "true",
        "0",
        "-0",
        "-5",
        "7",
        "1.0",
        "2.5",
        "-0.0",
        "1e2",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775809",
        r#""x""#,
        r#""a\"b""#,
        r#""started""#,
        "[]",
        "[1]",
        r#"["seg"]"#,
        r#"["seg",{"a":1}]"#,
        r#"["seg",{"a":1},3]"#,
        "{}",
        r#"{"plugin":"p"}"#,
        r#"{"plugin":"p","x":[1,{"y":null}]}"#,
        r#"{"started":null}"#,
        r#"{"started":1}"#,
        r#"{"started":null,"ended":null}"#,
        r#"{"live":null}"#,
    ];

    #[test]
    fn reads_like_serde_json_from_text() {
        same::<serde_json::Value>(VALUES);
        same::<Option<u32>>(VALUES);
        same::<u64>(VALUES);
        same::<i64>(VALUES);
        same::<f64>(VALUES);
        same::<bool>(VALUES);
        same::<String>(VALUES);
        same::<Option<Status>>(VALUES);
        same::<Status>(VALUES);
        same::<Vec<u32>>(VALUES);
        same::<Option<Slot>>(VALUES);
        same::<WithExtra>(VALUES);
        same::<BTreeMap<String, serde_json::Value>>(VALUES);
        same::<()>(VALUES);
        same::<(String, u8)>(VALUES);
        same::<serde::de::IgnoredAny>(VALUES);
    }
}
