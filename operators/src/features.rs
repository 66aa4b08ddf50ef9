//! The features of a segment (SEMANTICS §4, §8.7) as counts: how many of its data points give
//! each `(track, feature)`, so that a detection arriving or leaving changes a feature only when
//! its count moves between zero and one.
//!
//! A segment's data points are the detections whose start lies in its range (both ends
//! inclusive), on their track (`None`: video, every track), and its own and its label's
//! attributes (every track). [`SegmentFeatures`] also counts the detections of each track in
//! the segment, since a track a detection names is a track of the segment view even when the
//! detection has no attributes.

use std::hash::Hash;

use rustc_hash::FxHashMap;

use crate::compact::{DetKey, Feature, Track};

/// A feature on a track (`None`: every track).
pub type TrackFeature = (Option<Track>, Feature);

/// What changed in a segment's features: `(track, feature, +1 | -1)` or a track of its
/// detections appearing or going.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureChange {
    /// A feature appeared (`+1`) or went (`-1`).
    Feature(TrackFeature, isize),
    /// A track's first detection appeared in the segment (`+1`) or its last one went (`-1`).
    Track(Track, isize),
}

/// Moves the count of `key` by `delta`; returns `+1` when it rose from zero and `-1` when it
/// fell to zero, the only moves that change what is shown.
fn step<K: Copy + Hash + Eq>(counts: &mut FxHashMap<K, u32>, key: K, delta: i32) -> Option<isize> {
    let count = counts.entry(key).or_insert(0);
    let was = *count;
    *count = count.checked_add_signed(delta).expect("what is counted out was counted in");
    match (was, *count) {
        (0, 1) => Some(1),
        (1, 0) => {
            counts.remove(&key);
            Some(-1)
        }
        _ => None,
    }
}

/// The counted features of one segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentFeatures {
    counts: FxHashMap<TrackFeature, u32>,
    tracks: FxHashMap<Track, u32>,
}

impl SegmentFeatures {
    /// Adds (`delta` 1) or removes (`delta` -1) one data point's features.
    pub fn count(
        &mut self,
        track: Option<Track>,
        features: impl Iterator<Item = Feature>,
        delta: i32,
        changes: &mut Vec<FeatureChange>,
    ) {
        for feature in features {
            let key = (track, feature);
            if let Some(diff) = step(&mut self.counts, key, delta) {
                changes.push(FeatureChange::Feature(key, diff));
            }
        }
    }

    /// Adds or removes one detection.
    pub fn count_detection(&mut self, key: &DetKey, delta: i32, changes: &mut Vec<FeatureChange>) {
        self.count(key.track, Feature::of(key.plugin, key.attrs), delta, changes);
        if let Some(track) = key.track {
            if let Some(diff) = step(&mut self.tracks, track, delta) {
                changes.push(FeatureChange::Track(track, diff));
            }
        }
    }

    /// The changes from `self` to `new`.
    pub fn diff(&self, new: &SegmentFeatures) -> Vec<FeatureChange> {
        let mut changes: Vec<FeatureChange> = self
            .counts
            .keys()
            .filter(|key| !new.counts.contains_key(key))
            .map(|key| FeatureChange::Feature(*key, -1))
            .collect();
        changes.extend(
            new.counts
                .keys()
                .filter(|key| !self.counts.contains_key(key))
                .map(|key| FeatureChange::Feature(*key, 1)),
        );
        changes.extend(
            self.tracks
                .keys()
                .filter(|track| !new.tracks.contains_key(track))
                .map(|track| FeatureChange::Track(*track, -1)),
        );
        changes.extend(
            new.tracks
                .keys()
                .filter(|track| !self.tracks.contains_key(track))
                .map(|track| FeatureChange::Track(*track, 1)),
        );
        changes
    }

    /// The distinct features on `track` (its own and those of every track) that `wanted`
    /// accepts, sorted: what a replay needs of a segment is the few features its entries
    /// match, not the segment's many others.
    pub fn on_track(&self, track: Track, wanted: impl Fn(&Feature) -> bool) -> Vec<Feature> {
        let mut features: Vec<Feature> = self
            .counts
            .keys()
            .filter(|(t, feature)| t.is_none_or(|t| t == track) && wanted(feature))
            .map(|(_, feature)| *feature)
            .collect();
        features.sort_unstable();
        features.dedup();
        features
    }

    /// Every change that removes these features (the segment went).
    pub fn retractions(&self) -> Vec<FeatureChange> {
        self.diff(&SegmentFeatures::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::{AttrSet, Value};
    use crate::symbol::Sym;

    fn sym(text: &str) -> Sym {
        Sym::intern(text).unwrap()
    }

    fn detection(start: u32, track: Option<u32>, attrs: &[(&str, Value)]) -> DetKey {
        let mut attrs: Vec<_> = attrs.iter().map(|(n, v)| (sym(n), *v)).collect();
        attrs.sort_by_key(|(n, _)| n.text());
        DetKey {
            start,
            end: start,
            track: track.and_then(Track::new),
            plugin: sym("p"),
            label: None,
            attrs: AttrSet::intern(&attrs).unwrap(),
        }
    }

    fn ace() -> Feature {
        Feature { plugin: sym("p"), attribute: sym("Ace"), value: Value::Bool(true) }
    }

    #[test]
    fn a_feature_changes_only_between_zero_and_one() {
        let mut features = SegmentFeatures::default();
        let mut changes = Vec::new();
        let d1 = detection(1, None, &[("Ace", Value::Bool(true))]);
        let d2 = detection(2, None, &[("Ace", Value::Bool(true))]);
        features.count_detection(&d1, 1, &mut changes);
        features.count_detection(&d2, 1, &mut changes);
        assert_eq!(changes, vec![FeatureChange::Feature((None, ace()), 1)]);
        changes.clear();
        features.count_detection(&d1, -1, &mut changes);
        assert_eq!(changes, vec![], "another detection still gives it");
        features.count_detection(&d2, -1, &mut changes);
        assert_eq!(changes, vec![FeatureChange::Feature((None, ace()), -1)]);
        assert_eq!(features, SegmentFeatures::default());
    }

    #[test]
    fn a_track_detection_counts_even_without_attributes() {
        let mut features = SegmentFeatures::default();
        let mut changes = Vec::new();
        features.count_detection(&detection(1, Some(2), &[]), 1, &mut changes);
        assert_eq!(changes, vec![FeatureChange::Track(Track::new(2).unwrap(), 1)]);
    }

    #[test]
    fn features_on_a_track_include_those_of_every_track_once() {
        let mut features = SegmentFeatures::default();
        let mut changes = Vec::new();
        features.count_detection(
            &detection(1, None, &[("Ace", Value::Bool(true))]),
            1,
            &mut changes,
        );
        features.count_detection(
            &detection(1, Some(1), &[("Ace", Value::Bool(true))]),
            1,
            &mut changes,
        );
        features.count_detection(
            &detection(1, Some(2), &[("Loud", Value::Int(1))]),
            1,
            &mut changes,
        );
        assert_eq!(features.on_track(Track::new(1).unwrap(), |_| true), vec![ace()]);
        assert_eq!(features.on_track(Track::new(2).unwrap(), |_| true).len(), 2);
        let loud = |f: &Feature| f.attribute.text() == "Loud";
        assert_eq!(features.on_track(Track::new(2).unwrap(), loud).len(), 1);
        assert_eq!(features.retractions().len(), 5, "3 features and 2 tracks");
    }
}
