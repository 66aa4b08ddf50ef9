//! Latest wins (SEMANTICS §3, §8.4–§8.6, §8.12) as keyed state: the record with the highest
//! log position holds each key, and a delete of the event removes everything received before
//! it.
//!
//! [`Latest`] keeps, per key, the position of the winning record and what it says: `Some`
//! value, or `None` for a record that makes the key absent (a deleted segment or detection, a
//! feedback reset, a delete record). Records may arrive out of position order (Kafka topics are
//! merged by append time), so a record loses to one already held at a later position. Within
//! an epoch it remembers each touched key's value from before the epoch, so that
//! [`Latest::take_changes`] yields net changes only: a duplicate, or a change undone within the
//! epoch, changes nothing.

use std::collections::BTreeMap;

use reeltime_schemas::record::Seq;

/// The winning record of each key, and what an epoch changed (see the module documentation).
#[derive(Debug)]
pub struct Latest<K, V> {
    held: BTreeMap<K, (Seq, Option<V>)>,
    /// The value each key touched in this epoch had before it.
    before: BTreeMap<K, Option<V>>,
}

impl<K, V> Default for Latest<K, V> {
    fn default() -> Self {
        Latest { held: BTreeMap::new(), before: BTreeMap::new() }
    }
}

impl<K: Ord + Copy, V: Clone + PartialEq> Latest<K, V> {
    /// Takes in the record at `seq` for `key`, saying `value` (`None`: the key is absent),
    /// unless a later record holds the key or a delete at `barrier` removed it already.
    /// Returns whether it became the winner.
    pub fn apply(&mut self, key: K, seq: Seq, value: Option<V>, barrier: Seq) -> bool {
        if seq < barrier {
            return false;
        }
        let held = self.held.get(&key);
        if held.is_some_and(|(held_seq, _)| *held_seq >= seq) {
            return false;
        }
        let was = held.and_then(|(_, v)| v.clone());
        self.before.entry(key).or_insert(was);
        self.held.insert(key, (seq, value));
        true
    }

    /// Removes every record before `barrier` (a delete of the event at that position).
    pub fn purge(&mut self, barrier: Seq) {
        let before = &mut self.before;
        self.held.retain(|key, (seq, value)| {
            if *seq > barrier {
                return true;
            }
            before.entry(*key).or_insert_with(|| value.take());
            false
        });
    }

    /// The live value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.held.get(key).and_then(|(_, value)| value.as_ref())
    }

    /// The position of the record that holds `key`, live or not.
    pub fn seq(&self, key: &K) -> Option<Seq> {
        self.held.get(key).map(|(seq, _)| *seq)
    }

    /// The live values of the keys in `range`, in key order.
    pub fn range<R: std::ops::RangeBounds<K>>(&self, range: R) -> impl Iterator<Item = (&K, &V)> {
        self.held.range(range).filter_map(|(key, (_, value))| Some((key, value.as_ref()?)))
    }

    /// Every live key and value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.range(..)
    }

    /// The net changes of this epoch, `(key, before, after)` with `before != after`, in key
    /// order; the epoch is over afterwards.
    pub fn take_changes(&mut self) -> Vec<(K, Option<V>, Option<V>)> {
        let before = std::mem::take(&mut self.before);
        before
            .into_iter()
            .filter_map(|(key, was)| {
                let is = self.get(&key).cloned();
                (was != is).then_some((key, was, is))
            })
            .collect()
    }

    /// Every key whose winning record was replaced in this epoch, `(key, before, after)`,
    /// even when the new record says what the old one did (its position is then news); the
    /// epoch is over afterwards.
    pub fn take_replaced(&mut self) -> Vec<(K, Option<V>, Option<V>)> {
        let before = std::mem::take(&mut self.before);
        before.into_iter().map(|(key, was)| (key, was, self.get(&key).cloned())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_record_wins_whatever_the_arrival_order() {
        let mut latest: Latest<u32, &str> = Latest::default();
        assert!(latest.apply(1, 10, Some("b"), 0));
        assert!(!latest.apply(1, 5, Some("a"), 0), "an earlier record loses");
        assert_eq!(latest.get(&1), Some(&"b"));
        assert_eq!(latest.take_changes(), vec![(1, None, Some("b"))]);
    }

    #[test]
    fn a_duplicate_or_an_undone_change_is_no_change() {
        let mut latest: Latest<u32, &str> = Latest::default();
        latest.apply(1, 1, Some("a"), 0);
        latest.take_changes();
        latest.apply(1, 2, Some("a"), 0);
        assert_eq!(latest.take_changes(), vec![], "the same value again");
        latest.apply(1, 3, None, 0);
        latest.apply(1, 4, Some("a"), 0);
        assert_eq!(latest.take_changes(), vec![], "deleted and back within one epoch");
        latest.apply(1, 5, None, 0);
        assert_eq!(latest.take_changes(), vec![(1, Some("a"), None)]);
        assert_eq!(latest.get(&1), None);
    }

    #[test]
    fn a_barrier_removes_what_came_before_it_only() {
        let mut latest: Latest<u32, &str> = Latest::default();
        latest.apply(1, 1, Some("old"), 0);
        latest.apply(2, 9, Some("after"), 0);
        latest.take_changes();
        latest.purge(5);
        assert!(!latest.apply(3, 4, Some("late"), 5), "received before the delete");
        assert!(latest.apply(1, 6, Some("new"), 5));
        assert_eq!(latest.take_changes(), vec![(1, Some("old"), Some("new"))]);
        assert_eq!(latest.get(&2), Some(&"after"));
        assert_eq!(latest.get(&3), None);
    }
}
