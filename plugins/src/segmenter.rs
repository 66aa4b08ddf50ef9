//! The `ExcitementSegmenter` classifier: segments around roars of the crowd.
//!
//! A segment opens when a roar is confirmed: it starts `pre_roll_ms` before the roar,
//! snapped to the nearest scene cut within `snap_ms` (a clip that opens on a cut looks
//! edited, not chopped), never before the end of the previous segment's clip. It is published
//! open at once (SEMANTICS §3) and completed once its end is known: `post_roll_ms` after the
//! last roar it holds, snapped to the nearest cut within `snap_ms`, and never longer than the
//! profile's `max_segment_length`. A roar that starts before the segment would end joins it.
//! The segmenter decides only about media already analysed (`advance`), so it gives the same
//! segments however the media is cut into chunks.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::loudness::Roar;
use crate::records::{tenths, Segment};

/// The classifier's plugin name.
pub const PLUGIN: &str = "ExcitementSegmenter";

/// Settings of the segmenter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmenterConfig {
    /// How long before a roar a segment starts, in milliseconds.
    pub pre_roll_ms: u64,
    /// How long after the last roar a segment ends, in milliseconds.
    pub post_roll_ms: u64,
    /// How far a bound may move to reach a scene cut, in milliseconds.
    pub snap_ms: u64,
    /// The longest segment (the profile's `max_segment_length`), in milliseconds.
    pub max_length_ms: u64,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        SegmenterConfig {
            pre_roll_ms: 5_000,
            post_roll_ms: 3_000,
            snap_ms: 2_000,
            max_length_ms: 30_000,
        }
    }
}

/// A segment being built.
#[derive(Clone, Debug)]
struct Open {
    start_ms: u64,
    roars: Vec<Roar>,
    /// A confirmed roar that has not ended yet.
    roaring: bool,
}

/// The segmenter of one event.
#[derive(Debug)]
pub struct Segmenter {
    config: SegmenterConfig,
    open: Option<Open>,
    /// Where the previous segment's clip ends: the next segment starts no earlier.
    floor_ms: u64,
}

impl Segmenter {
    /// A segmenter with `config`.
    pub fn new(config: SegmenterConfig) -> Self {
        Segmenter { config, open: None, floor_ms: 0 }
    }

    /// The start of the open segment, if one is open.
    pub fn open_start_ms(&self) -> Option<u64> {
        self.open.as_ref().map(|o| o.start_ms)
    }

    /// Notes that the previous segment's clip now ends at `end_ms` (after optimization).
    pub fn raise_floor(&mut self, end_ms: u64) {
        self.floor_ms = self.floor_ms.max(end_ms);
    }

    /// A roar was confirmed at `start_ms`; `cuts` are the scene cuts known so far (sorted).
    /// Returns the segment it opens, if it opens one.
    pub fn roar_confirmed(&mut self, start_ms: u64, cuts: &[u64]) -> Option<Segment> {
        if let Some(open) = &mut self.open {
            open.roaring = true;
            return None;
        }
        let wanted = start_ms.saturating_sub(self.config.pre_roll_ms);
        let snapped = nearest(cuts, wanted, self.config.snap_ms)
            .filter(|&cut| cut < start_ms)
            .unwrap_or(wanted);
        let start = snapped.max(self.floor_ms).min(start_ms);
        self.open = Some(Open { start_ms: start, roars: Vec::new(), roaring: true });
        Some(Segment { plugin: PLUGIN, start_ms: start, end_ms: None, attributes: BTreeMap::new() })
    }

    /// A confirmed roar ended.
    pub fn roar_ended(&mut self, roar: Roar) {
        if let Some(open) = &mut self.open {
            open.roars.push(roar);
            open.roaring = false;
        }
    }

    /// Media up to `known_ms` has been analysed (cuts included); completes the open segment
    /// if its end is now known. `finished` means no media follows.
    pub fn advance(&mut self, known_ms: u64, cuts: &[u64], finished: bool) -> Option<Segment> {
        let open = self.open.as_ref()?;
        let limit = open.start_ms + self.config.max_length_ms;
        let end = if open.roaring {
            if known_ms < limit && !finished {
                return None;
            }
            // Still roaring at the longest length: end there, on a cut just before if any.
            let cut = cuts
                .iter()
                .rev()
                .find(|&&c| c <= limit && c + self.config.snap_ms >= limit && c > open.start_ms);
            cut.copied().unwrap_or(limit.min(known_ms.max(open.start_ms + 1)))
        } else {
            let last = open.roars.last().map_or(open.start_ms, |r| r.end_ms);
            let wanted = last + self.config.post_roll_ms;
            if known_ms < wanted + self.config.snap_ms && !finished {
                return None;
            }
            let snapped = nearest(cuts, wanted, self.config.snap_ms)
                .filter(|&cut| cut > last)
                .unwrap_or(wanted);
            let end = snapped.min(limit);
            if finished {
                end.min(known_ms.max(open.start_ms + 1))
            } else {
                end
            }
        };
        let open = self.open.take()?;
        self.floor_ms = self.floor_ms.max(end);
        Some(complete(open, end))
    }
}

/// The complete segment `open` ending at `end_ms`, with its attributes.
fn complete(open: Open, end_ms: u64) -> Segment {
    let mut attributes = BTreeMap::new();
    let high = open.roars.iter().any(|r| r.high);
    attributes.insert("Excitement", Value::from(if high { "high" } else { "medium" }));
    let peak = open.roars.iter().map(Roar::excitement_lu).fold(f64::NAN, f64::max);
    if peak.is_finite() {
        attributes.insert("peak_lu_above_baseline", tenths(peak));
    }
    attributes.insert("roars", Value::from(open.roars.len()));
    Segment { plugin: PLUGIN, start_ms: open.start_ms, end_ms: Some(end_ms), attributes }
}

/// The point of `sorted` nearest to `target` within `window` (the earlier one on a tie).
pub(crate) fn nearest(sorted: &[u64], target: u64, window: u64) -> Option<u64> {
    sorted
        .iter()
        .copied()
        .filter(|&p| p.abs_diff(target) <= window)
        .min_by_key(|&p| (p.abs_diff(target), p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roar(start_ms: u64, end_ms: u64) -> Roar {
        Roar { start_ms, end_ms, peak_lufs: -10.0, baseline_lufs: -40.0, high: true }
    }

    #[test]
    fn a_roar_opens_a_segment_on_a_cut_and_completes_it_after_the_post_roll() {
        let mut segmenter = Segmenter::new(SegmenterConfig::default());
        let cuts = [14_000, 30_500];
        let open = segmenter.roar_confirmed(20_000, &cuts).unwrap();
        assert_eq!((open.start_ms, open.end_ms), (14_000, None), "15 s wanted, cut at 14 s");
        segmenter.roar_ended(roar(20_000, 26_000));
        assert_eq!(segmenter.advance(28_000, &cuts, false), None, "29 s + snap not analysed yet");
        let done = segmenter.advance(31_000, &cuts, false).unwrap();
        assert_eq!((done.start_ms, done.end_ms), (14_000, Some(30_500)), "on the cut nearest 29 s");
        assert_eq!(done.attributes["Excitement"], "high");
        // The next segment cannot start inside this one.
        let next = segmenter.roar_confirmed(31_000, &cuts).unwrap();
        assert_eq!(next.start_ms, 30_500);
    }

    #[test]
    fn a_long_roar_is_cut_at_the_longest_length() {
        let config = SegmenterConfig { max_length_ms: 10_000, ..SegmenterConfig::default() };
        let mut segmenter = Segmenter::new(config);
        segmenter.roar_confirmed(10_000, &[]).unwrap();
        assert_eq!(segmenter.advance(14_000, &[], false), None);
        let done = segmenter.advance(16_000, &[], false).unwrap();
        assert_eq!((done.start_ms, done.end_ms), (5_000, Some(15_000)));
    }

    #[test]
    fn a_second_roar_within_the_post_roll_joins_the_segment() {
        let mut segmenter = Segmenter::new(SegmenterConfig::default());
        segmenter.roar_confirmed(10_000, &[]).unwrap();
        segmenter.roar_ended(roar(10_000, 12_000));
        assert_eq!(segmenter.advance(13_000, &[], false), None);
        assert_eq!(segmenter.roar_confirmed(14_000, &[]), None);
        segmenter.roar_ended(roar(14_000, 15_000));
        let done = segmenter.advance(30_000, &[], false).unwrap();
        assert_eq!((done.start_ms, done.end_ms), (5_000, Some(18_000)));
        assert_eq!(done.attributes["roars"], 2);
    }
}
