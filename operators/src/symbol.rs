//! Interned strings: what the dataflow holds instead of `String`s.
//!
//! A [`Sym`] is the 64-bit xxh3 hash of a string's bytes (zero mapped to one, so that
//! `Option<Sym>` costs nothing). The hash is stable: the same text gives the same symbol in
//! every worker, every process and every run, so symbols can be compared, hashed and used to
//! route records without any coordination. A process-wide table maps each symbol back to its
//! text, and [`Sym::intern`] checks every new symbol against it: two different texts with the
//! same hash are a [`Collision`], which the caller turns into a rejected record instead of
//! silently merging two ids (about one chance in 2^64 per pair of distinct strings).
//!
//! Interned texts live as long as the process: an id that is deleted stays in the table. That
//! is a few dozen bytes per distinct id, plugin, attribute name or string value ever seen.
//!
//! Symbols serialize as their text and deserialize by interning it, so records exchanged
//! between processes carry the strings and are interned again on arrival; within a process
//! timely moves them without serializing.

use std::fmt;
use std::num::NonZeroU64;
use std::sync::{LazyLock, RwLock};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An interned string (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sym(NonZeroU64);

/// Two different texts with the same symbol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the text {new:?} has the same 64-bit symbol as {held:?}; rename one of them")]
pub struct Collision {
    /// The text interned first.
    pub held: String,
    /// The text that collides with it.
    pub new: String,
}

/// The number of independently locked parts of the table, so that workers interning at the
/// same time rarely wait for each other.
const SHARDS: usize = 16;

/// A process-wide table from hashes to the values interned under them, in [`SHARDS`] parts.
pub(crate) struct Table<V: 'static + ?Sized> {
    // Its keys are hashes already: hashing them again with SipHash would only cost time.
    shards: [RwLock<FxHashMap<u64, &'static V>>; SHARDS],
}

impl<V: 'static + ?Sized + PartialEq> Table<V> {
    pub(crate) fn new() -> Self {
        Table { shards: std::array::from_fn(|_| RwLock::new(FxHashMap::default())) }
    }

    /// Interns `value` under `hash`: returns the held value when it is equal, `Err` with it
    /// when it differs, and leaks a copy (made by `own`) into the table when the hash is new.
    pub(crate) fn intern(
        &self,
        hash: u64,
        value: &V,
        own: impl FnOnce(&V) -> &'static V,
    ) -> Result<&'static V, &'static V> {
        let shard = &self.shards[(hash % SHARDS as u64) as usize];
        if let Some(held) = shard.read().unwrap_or_else(|e| e.into_inner()).get(&hash) {
            return if **held == *value { Ok(*held) } else { Err(*held) };
        }
        let mut shard = shard.write().unwrap_or_else(|e| e.into_inner());
        let held = *shard.entry(hash).or_insert_with(|| own(value));
        if *held == *value {
            Ok(held)
        } else {
            Err(held)
        }
    }

    /// The value interned under `hash`.
    pub(crate) fn get(&self, hash: u64) -> Option<&'static V> {
        let shard = &self.shards[(hash % SHARDS as u64) as usize];
        shard.read().unwrap_or_else(|e| e.into_inner()).get(&hash).copied()
    }
}

static STRINGS: LazyLock<Table<str>> = LazyLock::new(Table::new);

/// The stable hash of some bytes, never zero.
pub(crate) fn stable_hash(bytes: &[u8]) -> NonZeroU64 {
    NonZeroU64::new(xxhash_rust::xxh3::xxh3_64(bytes)).unwrap_or(NonZeroU64::MIN)
}

impl Sym {
    /// The symbol of `text`, interning it on first sight.
    pub fn intern(text: &str) -> Result<Sym, Collision> {
        let hash = stable_hash(text.as_bytes());
        STRINGS
            .intern(hash.get(), text, |text| Box::leak(text.into()))
            .map(|_| Sym(hash))
            .map_err(|held| Collision { held: held.to_owned(), new: text.to_owned() })
    }

    /// The symbol of `text` when it has been interned; nothing is interned.
    pub fn lookup(text: &str) -> Option<Sym> {
        let hash = stable_hash(text.as_bytes());
        STRINGS.get(hash.get()).filter(|held| **held == *text).map(|_| Sym(hash))
    }

    /// The text of the symbol.
    pub fn text(self) -> &'static str {
        // A `Sym` is only made by `intern`, which put its text in the table first.
        STRINGS.get(self.0.get()).expect("every symbol was interned before it was made")
    }

    /// A bound below every symbol, for ranges of keys; it has no text.
    pub(crate) fn least() -> Sym {
        Sym(NonZeroU64::MIN)
    }

    /// A bound above every symbol, for ranges of keys; it has no text.
    pub(crate) fn greatest() -> Sym {
        Sym(NonZeroU64::MAX)
    }

    /// The symbol's hash, for routing records to workers.
    pub fn hash64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match STRINGS.get(self.0.get()) {
            Some(text) => write!(f, "{text:?}"),
            None => write!(f, "<bound {:#x}>", self.0),
        }
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl Serialize for Sym {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.text())
    }
}

impl<'de> Deserialize<'de> for Sym {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Sym::intern(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_the_same_symbol_and_resolves_back() {
        let a = Sym::intern("wimbledon-sf1").unwrap();
        let b = Sym::intern(&String::from("wimbledon-sf1")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.text(), "wimbledon-sf1");
        assert_ne!(a, Sym::intern("wimbledon-sf2").unwrap());
        assert_eq!(Sym::intern("").unwrap().text(), "");
    }

    #[test]
    fn symbols_are_stable_across_runs() {
        // The value is xxh3-64 of the bytes: a change of hash function would move every
        // symbol, and with it the worker that owns each event.
        assert_eq!(Sym::intern("e1").unwrap().hash64(), xxhash_rust::xxh3::xxh3_64(b"e1"));
    }

    #[test]
    fn a_collision_is_reported_not_merged() {
        let table: Table<str> = Table::new();
        assert_eq!(table.intern(7, "first", |t| Box::leak(t.into())), Ok("first"));
        assert_eq!(table.intern(7, "first", |t| Box::leak(t.into())), Ok("first"));
        assert_eq!(table.intern(7, "second", |t| Box::leak(t.into())), Err("first"));
    }

    #[test]
    fn symbols_are_interned_from_every_thread_alike() {
        let symbols: Vec<Sym> = (0..4)
            .map(|_| std::thread::spawn(|| Sym::intern("shared across workers").unwrap()))
            .map(|handle| handle.join().unwrap())
            .collect();
        assert!(symbols.windows(2).all(|pair| pair[0] == pair[1]));
    }

    #[test]
    fn symbols_travel_as_their_text() {
        let sym = Sym::intern("Ace").unwrap();
        let json = serde_json::to_string(&sym).unwrap();
        assert_eq!(json, "\"Ace\"");
        assert_eq!(serde_json::from_str::<Sym>(&json).unwrap(), sym);
    }
}
