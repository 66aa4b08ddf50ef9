//! Strict JSON: what serde_json accepts, minus duplicate keys, byte-order marks and oversized
//! records (SEMANTICS §8.2), read in one pass over the text.
//!
//! `parse` reads a record's text once, with serde_json's parser, into a tree (`Node`) whose
//! strings borrow from the text wherever they have no escapes, and rejects duplicate keys in
//! each object as it is read. The whole text is read before anything looks at the record's
//! fields, so what is not strict JSON anywhere in it is rejected as such, whatever else is wrong
//! with the record; the errors and their positions are serde_json's own.
//!
//! The typed record is then read from the tree, not from the text: `Node::deserializer` is a
//! serde `Deserializer` that makes the same visitor calls as serde_json's, and gives the same
//! messages for what does not fit (SEMANTICS §7 reasons name the field and the rule).

mod deserializer;

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::RecordError;

pub(crate) use deserializer::NodeDeserializer;

/// The default record size limit: 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Objects with up to this many keys are checked for duplicates by comparing each new key with
/// the earlier ones, which is faster than hashing for the few keys of a record; larger ones
/// (only adversarial records have them) with a hash set, so that the check stays linear.
const KEYS_COMPARED: usize = 16;

/// A JSON value read from one record's text, its strings borrowed from the text when they have
/// no escapes.
#[derive(Debug, PartialEq)]
pub(crate) enum Node<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number that serde_json reads as a non-negative integer (one that fits a `u64`).
    U64(u64),
    /// A number that serde_json reads as a negative integer (one that fits an `i64`).
    I64(i64),
    /// Any other number.
    F64(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// An array.
    Array(Vec<Node<'a>>),
    /// An object: its entries in text order, every key once.
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// A serde `Deserializer` that reads a typed value from this node.
    pub(crate) fn deserializer(&self) -> NodeDeserializer<'_, 'a> {
        NodeDeserializer::new(self)
    }

    /// The value of `key`, if this is an object that has it.
    pub(crate) fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The element at `index`, if this is an array that long.
    pub(crate) fn at(&self, index: usize) -> Option<&Node<'a>> {
        match self {
            Node::Array(items) => items.get(index),
            _ => None,
        }
    }
}

/// A record read from its text: a strict JSON object with a string `type`.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    /// The object, `type` included.
    pub(crate) root: Node<'a>,
    /// The value of its `type` field.
    pub(crate) record_type: Cow<'a, str>,
}

/// Reads `bytes` as one strict JSON object with a string `type`.
pub(crate) fn parse(bytes: &[u8], max_bytes: usize) -> Result<Parsed<'_>, RecordError> {
    if bytes.len() > max_bytes {
        return Err(RecordError::TooLarge { size: bytes.len(), limit: max_bytes });
    }
    let text =
        std::str::from_utf8(bytes).map_err(|e| RecordError::NotUtf8 { offset: e.valid_up_to() })?;
    if text.starts_with('\u{feff}') {
        return Err(RecordError::ByteOrderMark);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let root = NodeSeed.deserialize(&mut deserializer).and_then(|root| {
        deserializer.end()?;
        Ok(root)
    });
    let root = root.map_err(|e| RecordError::NotJson(e.to_string()))?;
    if !matches!(root, Node::Object(_)) {
        return Err(RecordError::NotObject);
    }
    let Some(Node::Str(record_type)) = root.get("type") else {
        return Err(RecordError::MissingType);
    };
    let record_type = record_type.clone();
    Ok(Parsed { root, record_type })
}

/// Reads any JSON value into a [`Node`].
struct NodeSeed;

impl<'de> DeserializeSeed<'de> for NodeSeed {
    type Value = Node<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node<'de>, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::U64(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::I64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        Ok(Node::F64(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(NodeSeed)? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut entries: Vec<(Cow<'de, str>, Node<'de>)> = Vec::new();
        let mut hashed: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            // A duplicate is found once its value is read: an error inside the value comes
            // first, and the position in the duplicate's message is the end of its value.
            let value = map.next_value_seed(NodeSeed)?;
            let duplicate = match &mut hashed {
                Some(keys) => !keys.insert(key.clone()),
                None => entries.iter().any(|(earlier, _)| *earlier == key),
            };
            if duplicate {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            entries.push((key, value));
            if hashed.is_none() && entries.len() == KEYS_COMPARED {
                hashed = Some(entries.iter().map(|(key, _)| key.clone()).collect());
            }
        }
        Ok(Node::Object(entries))
    }
}

/// Reads an object's key, borrowed from the text when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_type(text: &str) -> Result<String, RecordError> {
        parse(text.as_bytes(), DEFAULT_MAX_RECORD_BYTES).map(|p| p.record_type.into_owned())
    }

    #[test]
    fn finds_the_type() {
        assert_eq!(record_type(r#"{"a":1,"type":"event","b":[1,{"c":2}]}"#).unwrap(), "event");
        assert_eq!(record_type(r#"{"\u0074ype":"ev\u0065nt"}"#).unwrap(), "event");
    }

    #[test]
    fn reads_the_whole_record() {
        let text = r#"{"type":"x","n":[1,-2,2.5,null,true],"s":"a\"b","o":{}}"#;
        let parsed = parse(text.as_bytes(), DEFAULT_MAX_RECORD_BYTES).unwrap();
        let expected = Node::Object(vec![
            ("type".into(), Node::Str("x".into())),
            (
                "n".into(),
                Node::Array(vec![
                    Node::U64(1),
                    Node::I64(-2),
                    Node::F64(2.5),
                    Node::Null,
                    Node::Bool(true),
                ]),
            ),
            ("s".into(), Node::Str(Cow::Owned("a\"b".into()))),
            ("o".into(), Node::Object(vec![])),
        ]);
        assert_eq!(parsed.root, expected);
        // Strings without escapes point into the text.
        assert!(matches!(parsed.root.get("type"), Some(Node::Str(Cow::Borrowed("x")))));
        assert_eq!(parsed.root.get("n").and_then(|n| n.at(1)), Some(&Node::I64(-2)));
    }

    #[test]
    fn rejects_duplicate_keys_at_any_depth() {
        let not_json = |text: &str| match record_type(text) {
            Err(RecordError::NotJson(message)) => message,
            other => panic!("{text}: {other:?}"),
        };
        assert!(not_json(r#"{"type":"x","type":"y"}"#).starts_with(r#"duplicate key "type""#));
        assert!(not_json(r#"{"type":"x","a":[{"b":1,"b":2}]}"#).contains(r#"key "b""#));
        // Escapes are read before keys are compared.
        assert!(not_json(r#"{"type":"x","a":1,"\u0061":2}"#).contains(r#"key "a""#));
        // In an object too large to compare every pair of keys, and after its first keys.
        let mut many: String = (0..100).map(|i| format!(r#""k{i}":{i},"#)).collect();
        many.push_str(r#""k50":0"#);
        assert!(not_json(&format!(r#"{{"type":"x",{many}}}"#)).contains(r#"key "k50""#));
        let mut first: String = (0..100).map(|i| format!(r#""k{i}":{i},"#)).collect();
        first.push_str(r#""k0":0"#);
        assert!(not_json(&format!(r#"{{"type":"x",{first}}}"#)).contains(r#"key "k0""#));
    }

    #[test]
    fn rejects_what_is_not_json() {
        assert_eq!(record_type("\u{feff}{\"type\":\"x\"}"), Err(RecordError::ByteOrderMark));
        for text in [
            r#"{"type":"x","a":NaN}"#,
            r#"{"type":"x","a":Infinity}"#,
            r#"{"type":"x","a":"\ud800"}"#,
            r#"{"type":"x"} x"#,
            r#"{"type":"x""#,
            r#"{"type":"x","a":1e400}"#,
        ] {
            assert!(matches!(record_type(text), Err(RecordError::NotJson(_))), "{text}");
        }
        assert_eq!(
            parse(b"{\"type\":\"x\xff\"}", 100).map(|p| p.record_type),
            Err(RecordError::NotUtf8 { offset: 10 })
        );
    }

    #[test]
    fn deep_nesting_is_not_json_and_does_not_overflow() {
        let deep = format!(r#"{{"type":"x","a":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        match record_type(&deep) {
            Err(RecordError::NotJson(message)) => assert!(message.contains("recursion limit")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_deepest_record_json_allows_decodes() {
        // serde_json allows 127 levels of nesting: the record and 126 in its unknown field,
        // which is read from the tree into a `serde_json::Value` to be kept.
        let deep = format!(
            r#"{{"type":"segment","event_id":"e","plugin":"p","start":1,"x":{}1{}}}"#,
            r#"{"a":"#.repeat(126),
            "}".repeat(126)
        );
        match crate::decode(deep.as_bytes(), DEFAULT_MAX_RECORD_BYTES) {
            Ok(crate::Record::Segment(segment)) => assert!(segment.extra.0.contains(r#"{"a":1}"#)),
            other => panic!("{other:?}"),
        }
        let deeper = deep.replacen(r#""x":"#, r#""x":{"a":"#, 1).replacen('}', "}}", 1);
        match crate::decode(deeper.as_bytes(), DEFAULT_MAX_RECORD_BYTES) {
            Err(RecordError::NotJson(message)) => assert!(message.contains("recursion limit")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn paired_surrogates_are_fine() {
        assert_eq!(record_type(r#"{"type":"x","a":"\ud83c\udfbe"}"#).unwrap(), "x");
    }

    #[test]
    fn needs_an_object_with_a_string_type() {
        assert_eq!(record_type("[1,2]"), Err(RecordError::NotObject));
        assert_eq!(record_type("3"), Err(RecordError::NotObject));
        assert_eq!(record_type(r#"{"a":1}"#), Err(RecordError::MissingType));
        assert_eq!(record_type(r#"{"type":1}"#), Err(RecordError::MissingType));
    }

    #[test]
    fn enforces_the_size_limit_before_parsing() {
        assert_eq!(
            parse(b"not json at all", 5).map(|p| p.record_type),
            Err(RecordError::TooLarge { size: 15, limit: 5 })
        );
    }
}
