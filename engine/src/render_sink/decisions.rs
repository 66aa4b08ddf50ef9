//! The render sink's decisions, as plain functions of plain data: whether an event's chunks
//! can serve a range, what to do with each clip and replay the views want (render now with
//! these chunks, wait, fail with a reason, or fail and try again when chunks come), which
//! renders are superseded, and when an event's playlists take a clip or end.
//!
//! The sink (`mod.rs`) acts on what these say: it queues jobs, cancels renders, writes
//! playlists and makes notifications. Nothing here does any of that, so each rule is tested
//! on its own below.

use std::collections::BTreeSet;

use reeltime_connectors::render::{
    Cancel, EventRange, RenderedClip, RenderedReplay, ReplayOptions,
};
use reeltime_schemas::record::Chunk;

use super::failure::RenderFailure;
use super::jobs::{Bounds, ClipKey, ReplayRequest};
use super::settings::replay_options;

/// Where a clip is.
pub(super) enum ClipState {
    /// Waiting for the chunks to reach its out-point.
    Waiting(EventRange),
    /// Queued or being cut.
    Rendering(EventRange),
    /// Cut.
    Done(EventRange, Box<RenderedClip>),
    /// Could not be cut. A late failure (the event ended before its chunks reached the clip)
    /// is tried again if more chunks come.
    Failed(EventRange, RenderFailure),
}

impl ClipState {
    /// The range the state is for.
    pub(super) fn range(&self) -> EventRange {
        match self {
            ClipState::Waiting(r)
            | ClipState::Rendering(r)
            | ClipState::Done(r, _)
            | ClipState::Failed(r, _) => *r,
        }
    }

    /// Whether the clip is still to come (waiting or rendering).
    pub(super) fn pending(&self) -> bool {
        matches!(self, ClipState::Waiting(_) | ClipState::Rendering(_))
    }
}

/// Where a replay's rendering is.
pub(super) enum ReplayStatus {
    /// Waiting for the chunks to reach its clips.
    Waiting,
    /// Queued or being rendered; the flag cancels it.
    Rendering(Cancel),
    /// Rendered.
    Done(Box<RenderedReplay>),
    /// Could not be rendered. A late failure is tried again if more chunks come.
    Failed(RenderFailure),
}

/// An event's chunks sorted by start, made once for the ranges of one plan.
pub(super) struct ChunkIndex<'a> {
    sorted: Vec<&'a Chunk>,
    /// Where the chunks reach in event time.
    covered_end: u64,
}

/// Whether the chunks of an event can serve a range yet.
#[derive(Debug)]
pub(super) enum Readiness {
    /// Yes, with these chunks.
    Ready(Vec<Chunk>),
    /// Not yet: the event goes on and its chunks do not reach the range.
    Wait,
    /// No: a chunk it needs is damaged, or the event ended before its chunks reached it (a
    /// late failure).
    Fail(RenderFailure),
}

impl<'a> ChunkIndex<'a> {
    /// The index of an event's chunks (the latest record of each).
    pub(super) fn new(chunks: impl IntoIterator<Item = &'a Chunk>) -> ChunkIndex<'a> {
        let mut sorted: Vec<&Chunk> = chunks.into_iter().collect();
        sorted.sort_by_key(|c| (c.start_ms, c.seq_no));
        let covered_end = sorted.iter().map(|c| c.start_ms + c.duration_ms).max().unwrap_or(0);
        ChunkIndex { sorted, covered_end }
    }

    /// Whether the chunks can serve `range` of an event that has `ended` or not.
    pub(super) fn readiness(&self, range: EventRange, ended: bool) -> Readiness {
        let short = |failure| if ended { Readiness::Fail(failure) } else { Readiness::Wait };
        if self.sorted.is_empty() {
            return short(RenderFailure::NoChunks);
        }
        if let Some(bad) = self.sorted.iter().find(|c| {
            c.error.is_some()
                && c.start_ms < range.end_ms
                && c.start_ms + c.duration_ms > range.start_ms
        }) {
            return Readiness::Fail(RenderFailure::DamagedChunk {
                seq_no: bad.seq_no,
                uri: bad.uri.clone(),
                reason: bad.error.clone().unwrap_or_default(),
            });
        }
        if self.covered_end < range.end_ms {
            return short(RenderFailure::EndedBeforeChunks {
                covered_end_ms: self.covered_end,
                clip_end_ms: range.end_ms,
            });
        }
        // The chunks the range overlaps, and the one before in case the first does not start
        // with a keyframe.
        let first = self.sorted.iter().rposition(|c| c.start_ms <= range.start_ms).unwrap_or(0);
        let needed = self.sorted[first.saturating_sub(1)..]
            .iter()
            .take_while(|c| c.start_ms < range.end_ms)
            .map(|c| (*c).clone())
            .collect();
        Readiness::Ready(needed)
    }
}

/// What to do with a clip the views want.
#[derive(Debug)]
pub(super) enum ClipAction {
    /// Nothing: it is rendering, done or failed, or late and still short of chunks (which
    /// was said already).
    Keep,
    /// Wait for the chunks.
    Wait,
    /// Render it from these chunks.
    Render(Vec<Chunk>),
    /// It fails (to be notified); a late failure is tried again when chunks come.
    Fail(RenderFailure),
}

/// What to do with a clip of `range` in `state` (`None`: new), after a plan in which chunks
/// of its event came (`fresh_chunks`) or not, given its event's chunks and whether it ended.
/// A clip is considered when new or waiting, and when late and chunks came.
pub(super) fn clip_action(
    state: Option<&ClipState>,
    fresh_chunks: bool,
    index: &ChunkIndex,
    range: EventRange,
    ended: bool,
) -> ClipAction {
    let was_late = match state {
        None | Some(ClipState::Waiting(_)) => false,
        Some(ClipState::Failed(_, failure)) if failure.is_late() && fresh_chunks => true,
        Some(_) => return ClipAction::Keep,
    };
    match index.readiness(range, ended) {
        Readiness::Ready(chunks) => ClipAction::Render(chunks),
        Readiness::Wait => ClipAction::Wait,
        Readiness::Fail(failure) if was_late && failure.is_late() => ClipAction::Keep,
        Readiness::Fail(failure) => ClipAction::Fail(failure),
    }
}

/// Whether a clip in `state` is superseded, its render (queued, done or failed) dropped:
/// the views now want another range for it (`wanted`), or none.
pub(super) fn clip_superseded(state: &ClipState, wanted: Option<&EventRange>) -> bool {
    wanted != Some(&state.range())
}

/// Whether a finished render of `range` is the one its clip (now in `state`) waits for; a
/// render whose clip was superseded or removed meanwhile is dropped.
pub(super) fn clip_render_current(state: Option<&ClipState>, range: EventRange) -> bool {
    matches!(state, Some(ClipState::Rendering(r)) if *r == range)
}

/// Whether a replay in `status` is planned again though its view did not change: a waiting
/// one when its event's views or chunks changed (`event_touched`), a late one when chunks of
/// its event came (`fresh_chunks`).
pub(super) fn replay_replanned(
    status: &ReplayStatus,
    event_touched: bool,
    fresh_chunks: bool,
) -> bool {
    match status {
        ReplayStatus::Waiting => event_touched,
        ReplayStatus::Failed(failure) if failure.is_late() => fresh_chunks,
        _ => false,
    }
}

/// What to do with a replay whose view asks for a render.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ReplayAction {
    /// Nothing: the same clip list is rendering, done or failed for good.
    Keep,
    /// Start it (again), cancelling a render in progress.
    Start {
        /// The same clip list as before: it keeps the version that first asked for it.
        same_request: bool,
        /// The same clip list failed late before: failing late again is not news.
        was_late: bool,
    },
}

/// What to do with a replay that asks for `wanted`, given what it asked for before and where
/// that is (`current`; `None` when it asked for nothing). Waiting and late renders start
/// again; any other of the same clip list stays as it is.
pub(super) fn replay_action(
    current: Option<(&ReplayRequest, &ReplayStatus)>,
    wanted: &ReplayRequest,
) -> ReplayAction {
    let Some((request, status)) = current else {
        return ReplayAction::Start { same_request: false, was_late: false };
    };
    let same_request = request == wanted;
    let late = matches!(status, ReplayStatus::Failed(f) if f.is_late());
    let again = late || matches!(status, ReplayStatus::Waiting);
    if same_request && !again {
        ReplayAction::Keep
    } else {
        ReplayAction::Start { same_request, was_late: same_request && late }
    }
}

/// How a replay render starts.
#[derive(Debug)]
pub(super) enum ReplayStart {
    /// Render it from these chunks (sorted by number, each once) with these options.
    Render {
        /// The chunks of all its clips.
        chunks: Vec<Chunk>,
        /// Its `render` object's options.
        options: ReplayOptions,
    },
    /// Wait for the chunks to reach its clips.
    Wait,
    /// It fails: bad settings, or a clip that cannot be served (late or not).
    Fail(RenderFailure),
}

/// How the render of `request` starts, given its event's chunks and whether it ended.
pub(super) fn replay_start(
    request: &ReplayRequest,
    index: &ChunkIndex,
    ended: bool,
) -> ReplayStart {
    let options = match replay_options(&request.render) {
        Ok(Some(options)) => options,
        Ok(None) => return ReplayStart::Fail(RenderFailure::NothingToRender),
        Err(reason) => return ReplayStart::Fail(RenderFailure::ReplaySettings(reason)),
    };
    let mut chunks: Vec<Chunk> = Vec::new();
    for range in &request.clips {
        match index.readiness(*range, ended) {
            Readiness::Ready(more) => chunks.extend(more),
            Readiness::Wait => return ReplayStart::Wait,
            Readiness::Fail(failure) => {
                return ReplayStart::Fail(RenderFailure::ReplayClip {
                    range: *range,
                    failure: Box::new(failure),
                })
            }
        }
    }
    chunks.sort_by_key(|c| c.seq_no);
    chunks.dedup_by_key(|c| c.seq_no);
    ReplayStart::Render { chunks, options }
}

/// The failure to count and notify of a replay that just started into `status`: any
/// failure, except a late one of a clip list that was late already.
pub(super) fn replay_failure_news(status: &ReplayStatus, was_late: bool) -> Option<&RenderFailure> {
    match status {
        ReplayStatus::Failed(failure) if !(was_late && failure.is_late()) => Some(failure),
        _ => None,
    }
}

/// Whether an event's playlist takes a clip of these bounds as soon as it is cut: its
/// optimized clip, or its original one when the event's profile has no optimizer.
pub(super) fn playlist_takes(bounds: Bounds, has_optimizer: bool) -> bool {
    bounds == Bounds::Optimized || !has_optimizer
}

/// What an ended event's playlists need before they end, from the event's clips: `None`
/// while a clip is pending (they end later); otherwise the original clips that are cut and
/// never got optimized bounds on their track, which go in as their segments' clips before
/// the playlists end.
pub(super) fn settle<'a>(
    clips: impl IntoIterator<Item = (&'a ClipKey, &'a ClipState)>,
) -> Option<Vec<ClipKey>> {
    let clips: Vec<(&ClipKey, &ClipState)> = clips.into_iter().collect();
    if clips.iter().any(|(_, state)| state.pending()) {
        return None;
    }
    let optimized: BTreeSet<(u64, u32)> = clips
        .iter()
        .filter(|(k, _)| k.bounds == Bounds::Optimized)
        .map(|(k, _)| (k.start_ms, k.track))
        .collect();
    Some(
        clips
            .iter()
            .filter(|(k, s)| k.bounds == Bounds::Original && matches!(s, ClipState::Done(..)))
            .filter(|(k, _)| !optimized.contains(&(k.start_ms, k.track)))
            .map(|(k, _)| (*k).clone())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use reeltime_schemas::record::Extra;

    use super::*;

    /// Chunk `seq_no` of 4 s at `4 * seq_no` s, damaged with `error` if given.
    fn chunk(seq_no: u64, error: Option<&str>) -> Chunk {
        Chunk {
            event_id: "final".into(),
            seq_no,
            uri: format!("chunk-{seq_no}.ts"),
            start_ms: seq_no * 4_000,
            duration_ms: 4_000,
            pts_start_ms: None,
            error: error.map(str::to_owned),
            extra: Extra::default(),
        }
    }

    fn seq_nos(chunks: &[Chunk]) -> Vec<u64> {
        chunks.iter().map(|c| c.seq_no).collect()
    }

    fn range(start_ms: u64, end_ms: u64) -> EventRange {
        EventRange::new(start_ms, end_ms)
    }

    fn late() -> RenderFailure {
        RenderFailure::EndedBeforeChunks { covered_end_ms: 8_000, clip_end_ms: 10_000 }
    }

    fn damaged() -> RenderFailure {
        RenderFailure::DamagedChunk { seq_no: 1, uri: "chunk-1.ts".into(), reason: "bad".into() }
    }

    fn clip(start_ms: u64, track: u32, bounds: Bounds) -> ClipKey {
        ClipKey { event_id: "final".into(), start_ms, track, bounds }
    }

    fn done(range: EventRange) -> ClipState {
        let rendered = RenderedClip {
            name: "clip".into(),
            requested: range,
            actual: range,
            mp4: None,
            hls_segments: Vec::new(),
            codecs: String::new(),
            reencoded: false,
            thumbnail: None,
            manifest: PathBuf::new(),
            reused: false,
        };
        ClipState::Done(range, Box::new(rendered))
    }

    fn request(clips: Vec<EventRange>, render: &str) -> ReplayRequest {
        ReplayRequest { clips, track: 1, render: render.into() }
    }

    #[test]
    fn a_range_is_served_by_the_chunks_it_overlaps_and_the_one_before() {
        let chunks: Vec<Chunk> = (0..4).rev().map(|n| chunk(n, None)).collect();
        let index = ChunkIndex::new(&chunks);
        let Readiness::Ready(needed) = index.readiness(range(5_000, 9_000), false) else {
            panic!("ready")
        };
        assert_eq!(seq_nos(&needed), [0, 1, 2]);
        // A range on a chunk's start needs that chunk and the one before only.
        let Readiness::Ready(needed) = index.readiness(range(8_000, 12_000), true) else {
            panic!("ready")
        };
        assert_eq!(seq_nos(&needed), [1, 2]);
        let Readiness::Ready(needed) = index.readiness(range(0, 2_000), false) else {
            panic!("ready")
        };
        assert_eq!(seq_nos(&needed), [0]);
    }

    #[test]
    fn a_range_beyond_the_chunks_waits_while_the_event_goes_on_and_fails_late_once_it_ended() {
        let chunks = [chunk(0, None), chunk(1, None)];
        let index = ChunkIndex::new(&chunks);
        assert!(matches!(index.readiness(range(6_000, 10_000), false), Readiness::Wait));
        let Readiness::Fail(failure) = index.readiness(range(6_000, 10_000), true) else {
            panic!("fails")
        };
        assert!(failure.is_late());
        assert_eq!(
            failure.to_string(),
            "the event ended with its chunks reaching 8 s, before the clip's end at 10 s"
        );
        let none = ChunkIndex::new([]);
        assert!(matches!(none.readiness(range(0, 1_000), false), Readiness::Wait));
        let Readiness::Fail(failure) = none.readiness(range(0, 1_000), true) else {
            panic!("fails")
        };
        assert_eq!(failure.to_string(), "the event ended without chunks");
    }

    #[test]
    fn a_damaged_chunk_fails_the_ranges_it_overlaps_even_before_the_chunks_reach_them() {
        let chunks = [chunk(0, None), chunk(1, Some("damaged media: a corrupt packet"))];
        let index = ChunkIndex::new(&chunks);
        for ended in [false, true] {
            let Readiness::Fail(failure) = index.readiness(range(3_000, 20_000), ended) else {
                panic!("fails")
            };
            assert!(!failure.is_late());
            assert_eq!(
                failure.to_string(),
                "chunk 1 (chunk-1.ts) cannot be used: damaged media: a corrupt packet"
            );
        }
        // Ranges that end where the damaged chunk starts do not need it.
        assert!(matches!(index.readiness(range(0, 4_000), false), Readiness::Ready(_)));
    }

    #[test]
    fn new_and_waiting_clips_are_considered_and_the_others_kept() {
        let chunks = [chunk(0, None), chunk(1, None)];
        let index = ChunkIndex::new(&chunks);
        let r = range(1_000, 6_000);
        for state in [None, Some(ClipState::Waiting(r))] {
            let action = clip_action(state.as_ref(), false, &index, r, false);
            assert!(
                matches!(action, ClipAction::Render(ref c) if seq_nos(c) == [0, 1]),
                "{action:?}"
            );
        }
        let far = range(6_000, 12_000);
        assert!(matches!(clip_action(None, false, &index, far, false), ClipAction::Wait));
        for state in [ClipState::Rendering(r), done(r), ClipState::Failed(r, damaged())] {
            for fresh in [false, true] {
                assert!(matches!(
                    clip_action(Some(&state), fresh, &index, r, true),
                    ClipAction::Keep
                ));
            }
        }
    }

    #[test]
    fn a_clip_fails_late_once_and_is_tried_again_when_chunks_come() {
        let r = range(6_000, 10_000);
        let two = [chunk(0, None), chunk(1, None)];
        let index = ChunkIndex::new(&two);
        let action = clip_action(None, true, &index, r, true);
        assert!(matches!(action, ClipAction::Fail(ref f) if f.is_late()), "{action:?}");
        let state = ClipState::Failed(r, late());
        // No chunks came: not considered.
        assert!(matches!(clip_action(Some(&state), false, &index, r, true), ClipAction::Keep));
        // Chunks came but still short of the clip: failed already, not news.
        assert!(matches!(clip_action(Some(&state), true, &index, r, true), ClipAction::Keep));
        let three = [chunk(0, None), chunk(1, None), chunk(2, None)];
        let index = ChunkIndex::new(&three);
        let action = clip_action(Some(&state), true, &index, r, true);
        assert!(
            matches!(action, ClipAction::Render(ref c) if seq_nos(c) == [0, 1, 2]),
            "{action:?}"
        );
        // Chunks came with a damaged one: a new failure.
        let damaged_chunks = [chunk(0, None), chunk(1, None), chunk(2, Some("bad"))];
        let index = ChunkIndex::new(&damaged_chunks);
        let action = clip_action(Some(&state), true, &index, r, true);
        assert!(matches!(action, ClipAction::Fail(ref f) if !f.is_late()), "{action:?}");
    }

    #[test]
    fn a_clip_is_superseded_when_the_views_want_another_range_or_none() {
        let r = range(0, 4_000);
        for state in [ClipState::Rendering(r), done(r), ClipState::Failed(r, damaged())] {
            assert!(!clip_superseded(&state, Some(&r)));
            assert!(clip_superseded(&state, Some(&range(0, 5_000))));
            assert!(clip_superseded(&state, None));
        }
    }

    #[test]
    fn a_finished_clip_render_counts_only_while_its_clip_waits_for_it() {
        let r = range(0, 4_000);
        assert!(clip_render_current(Some(&ClipState::Rendering(r)), r));
        assert!(!clip_render_current(Some(&ClipState::Rendering(range(0, 5_000))), r));
        assert!(!clip_render_current(Some(&done(r)), r));
        assert!(!clip_render_current(None, r));
    }

    #[test]
    fn waiting_replays_follow_their_event_and_late_ones_its_chunks() {
        let waiting = ReplayStatus::Waiting;
        assert!(replay_replanned(&waiting, true, false));
        assert!(!replay_replanned(&waiting, false, false));
        let late = ReplayStatus::Failed(late());
        assert!(replay_replanned(&late, true, true));
        assert!(!replay_replanned(&late, true, false));
        let failed = ReplayStatus::Failed(damaged());
        assert!(!replay_replanned(&failed, true, true));
        assert!(!replay_replanned(&ReplayStatus::Rendering(Cancel::new()), true, true));
    }

    #[test]
    fn a_replay_starts_for_a_new_clip_list_and_again_when_waiting_or_late() {
        let list = request(vec![range(0, 4_000)], r#"{"mp4":true}"#);
        let other = request(vec![range(0, 5_000)], r#"{"mp4":true}"#);
        let start = |same_request, was_late| ReplayAction::Start { same_request, was_late };
        assert_eq!(replay_action(None, &list), start(false, false));
        let rendering = ReplayStatus::Rendering(Cancel::new());
        let failed = ReplayStatus::Failed(damaged());
        for status in [&rendering, &failed] {
            assert_eq!(replay_action(Some((&list, status)), &list), ReplayAction::Keep);
            assert_eq!(replay_action(Some((&list, status)), &other), start(false, false));
        }
        let waiting = ReplayStatus::Waiting;
        assert_eq!(replay_action(Some((&list, &waiting)), &list), start(true, false));
        let late = ReplayStatus::Failed(late());
        assert_eq!(replay_action(Some((&list, &late)), &list), start(true, true));
        assert_eq!(replay_action(Some((&list, &late)), &other), start(false, false));
    }

    #[test]
    fn a_replay_renders_from_the_chunks_of_all_its_clips_or_says_why_not() {
        let chunks: Vec<Chunk> = (0..4).map(|n| chunk(n, None)).collect();
        let index = ChunkIndex::new(&chunks);
        let clips = vec![range(9_000, 11_000), range(1_000, 3_000), range(10_000, 12_000)];
        let ReplayStart::Render { chunks, options } =
            replay_start(&request(clips.clone(), r#"{"hls":false}"#), &index, false)
        else {
            panic!("renders")
        };
        assert_eq!(seq_nos(&chunks), [0, 1, 2]);
        assert!(options.mp4 && !options.hls);
        let beyond = vec![range(1_000, 3_000), range(14_000, 18_000)];
        let waiting = replay_start(&request(beyond.clone(), "{}"), &index, false);
        assert!(matches!(waiting, ReplayStart::Wait));
        let ReplayStart::Fail(failure) = replay_start(&request(beyond, "{}"), &index, true) else {
            panic!("fails")
        };
        assert!(failure.is_late());
        assert_eq!(
            failure.to_string(),
            "clip [14000 ms, 18000 ms): the event ended with its chunks reaching 16 s, before the clip's end at 18 s"
        );
        let off =
            replay_start(&request(clips.clone(), r#"{"mp4":false,"hls":false}"#), &index, true);
        assert!(matches!(off, ReplayStart::Fail(RenderFailure::NothingToRender)));
        let ReplayStart::Fail(failure) =
            replay_start(&request(clips, r#"{"resolutions":[]}"#), &index, true)
        else {
            panic!("fails")
        };
        assert_eq!(failure.to_string(), "the replay's `render.resolutions` is empty");
    }

    #[test]
    fn a_replay_failure_is_news_unless_the_same_clip_list_was_late_already() {
        let failed = ReplayStatus::Failed(damaged());
        assert!(replay_failure_news(&failed, false).is_some());
        assert!(replay_failure_news(&failed, true).is_some());
        let late = ReplayStatus::Failed(late());
        assert!(replay_failure_news(&late, false).is_some());
        assert!(replay_failure_news(&late, true).is_none());
        assert!(replay_failure_news(&ReplayStatus::Waiting, false).is_none());
    }

    #[test]
    fn the_playlist_takes_optimized_clips_and_original_ones_without_an_optimizer() {
        assert!(playlist_takes(Bounds::Optimized, true));
        assert!(playlist_takes(Bounds::Optimized, false));
        assert!(playlist_takes(Bounds::Original, false));
        assert!(!playlist_takes(Bounds::Original, true));
    }

    #[test]
    fn playlists_end_once_no_clip_is_pending_with_the_originals_never_optimized() {
        let r = range(0, 4_000);
        let optimized = [
            (clip(0, 1, Bounds::Original), done(r)),
            (clip(0, 1, Bounds::Optimized), done(r)),
            (clip(0, 2, Bounds::Original), done(r)),
            (clip(8_000, 1, Bounds::Original), ClipState::Failed(r, damaged())),
            (clip(16_000, 1, Bounds::Original), done(r)),
            (clip(16_000, 1, Bounds::Optimized), ClipState::Failed(r, damaged())),
        ];
        let settled = settle(optimized.iter().map(|(k, s)| (k, s))).expect("nothing pending");
        assert_eq!(settled, [clip(0, 2, Bounds::Original)]);
        for pending in [ClipState::Waiting(r), ClipState::Rendering(r)] {
            let clips =
                [(clip(0, 1, Bounds::Original), done(r)), (clip(0, 1, Bounds::Optimized), pending)];
            assert_eq!(settle(clips.iter().map(|(k, s)| (k, s))), None);
        }
        assert_eq!(settle([]), Some(Vec::new()));
    }
}
