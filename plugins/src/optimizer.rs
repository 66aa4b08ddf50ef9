//! The `CutOptimizer`: clip bounds moved onto a nearby safe point.
//!
//! A safe point is a scene cut, or the start or end of a silence: cutting there is invisible
//! or inaudible. Each bound of a complete segment moves to the nearest safe point within
//! `search_window_ms` and stays where it is when there is none. The in-point never moves
//! before the end of the previous clip, and the out-point never moves past the start of the
//! next segment, so optimized clips never overlap their neighbours.

use crate::records::Optimization;
use crate::segmenter::nearest;

/// The optimizer's plugin name.
pub const PLUGIN: &str = "CutOptimizer";

/// Clip bounds of the segment `start_ms..end_ms` on each of `tracks`.
///
/// `safe_points` are sorted; `previous_end_ms` is where the previous clip ends and
/// `next_start_ms` where the next segment starts, if known.
pub fn optimize(
    start_ms: u64,
    end_ms: u64,
    safe_points: &[u64],
    search_window_ms: u64,
    previous_end_ms: u64,
    next_start_ms: Option<u64>,
    tracks: &[u32],
) -> Vec<Optimization> {
    let opto_start = nearest(safe_points, start_ms, search_window_ms)
        .filter(|&p| p >= previous_end_ms && p < end_ms)
        .unwrap_or(start_ms);
    let ceiling = next_start_ms.unwrap_or(u64::MAX);
    let opto_end = nearest(safe_points, end_ms, search_window_ms)
        .filter(|&p| p > opto_start && p <= ceiling)
        .unwrap_or(end_ms);
    let tracks: &[u32] = if tracks.is_empty() { &[1] } else { tracks };
    tracks
        .iter()
        .map(|&track| Optimization {
            plugin: PLUGIN,
            start_ms,
            track,
            opto_start_ms: opto_start,
            opto_end_ms: opto_end,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_move_to_the_nearest_safe_point_within_the_window() {
        let points = [9_000, 9_600, 31_500, 40_000];
        let found = optimize(10_000, 30_000, &points, 2_000, 0, None, &[1]);
        let [o] = &found[..] else { panic!("{found:?}") };
        assert_eq!((o.opto_start_ms, o.opto_end_ms), (9_600, 31_500));
    }

    #[test]
    fn bounds_never_overlap_the_neighbours_and_stay_without_a_safe_point() {
        let points = [9_600, 31_500];
        let found = optimize(10_000, 30_000, &points, 2_000, 9_800, Some(31_000), &[1, 2]);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|o| (o.opto_start_ms, o.opto_end_ms) == (10_000, 30_000)));
        assert_eq!(found[1].track, 2);
    }
}
