//! The replay decision of SEMANTICS §5 as plain functions: which priority entries count and
//! match, how candidate segments rank, which of them fit a replay's duration budget, and the
//! whole replay view (status, clips, totals).
//!
//! The dataflow calls these inside its per-replay `reduce`, and the from-scratch reference in
//! [`crate::reference`] calls them too, so the decision itself is held to the worked examples
//! of SEMANTICS §5.1 by the unit tests below rather than by comparing two copies of it.

use std::cmp::Ordering;

use reeltime_schemas::record::{EventStatus, Priority, Replay, ReplayMode};
use reeltime_schemas::view::{ClipView, EventView, Feature, ReplayStatus, ReplayView};
use serde::{Deserialize, Serialize};

/// One hour in milliseconds: the unit of the group count of equal distribution.
const HOUR_MS: u64 = 3_600_000;

/// A segment that may go into a replay.
///
/// The caller has already filtered it: complete, optimized where the profile requires, matching
/// at least one counting priority or forced, not excluded by `ignore_disliked`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Candidate {
    /// The segment's start in milliseconds.
    pub start_ms: u64,
    /// The segment's end in milliseconds.
    pub end_ms: u64,
    /// The clip's in-point on the replay's track, in milliseconds.
    pub clip_start_ms: u64,
    /// The clip's out-point on the replay's track, in milliseconds.
    pub clip_end_ms: u64,
    /// The sum of the weights of the matching entries (0 in features mode).
    pub score: u64,
    /// Liked, with the replay's `include_liked`: ranked before every other candidate.
    pub forced: bool,
    /// The features that match a counting entry, sorted and distinct.
    pub features: Vec<Feature>,
}

impl Candidate {
    /// The clip's duration in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.clip_end_ms.saturating_sub(self.clip_start_ms)
    }
}

/// Rank order: forced first, then higher score, then earlier clip start, then earlier segment
/// start.
pub fn rank_cmp(a: &Candidate, b: &Candidate) -> Ordering {
    b.forced
        .cmp(&a.forced)
        .then_with(|| b.score.cmp(&a.score))
        .then_with(|| a.clip_start_ms.cmp(&b.clip_start_ms))
        .then_with(|| a.start_ms.cmp(&b.start_ms))
        // Segment starts are unique within an event, so this only orders candidates a caller
        // should never produce; it keeps the result independent of the input order anyway.
        .then_with(|| a.cmp(b))
}

/// The order a selection is listed in: by clip start, ties by segment start (SEMANTICS §8.9).
fn clip_cmp(a: &Candidate, b: &Candidate) -> Ordering {
    a.clip_start_ms
        .cmp(&b.clip_start_ms)
        .then_with(|| a.start_ms.cmp(&b.start_ms))
        .then_with(|| a.cmp(b))
}

/// The selected candidates of a duration-mode replay (with or without equal distribution,
/// SEMANTICS §5 and §8.9) or a features-mode replay, listed by clip start (ties by segment
/// start).
///
/// Timestamps mode selects no segments: its clips are its time ranges (see [`replay_view`]).
pub fn select(replay: &Replay, candidates: &[Candidate]) -> Vec<Candidate> {
    let mut selected = match replay.mode {
        ReplayMode::Duration => {
            let mut ranked: Vec<&Candidate> = candidates.iter().collect();
            ranked.sort_by(|a, b| rank_cmp(a, b));
            let totals = Totals::of(ranked.iter().map(|c| (c.clip_start_ms, c.clip_end_ms)));
            // One run of every candidate.
            let run = ranked.iter().enumerate().map(|(i, c)| (i, c.clip_start_ms, c.clip_end_ms));
            let runs = std::iter::once((totals.min_duration_ms, run));
            within_budget(budget_ms(replay), replay.equal_distribution, runs, &totals)
                .into_iter()
                .map(|position| ranked[position].clone())
                .collect()
        }
        ReplayMode::Features => candidates.to_vec(),
        ReplayMode::Timestamps => Vec::new(),
    };
    selected.sort_by(clip_cmp);
    selected
}

/// The limit `L = duration + tolerance` of a duration-mode replay, in milliseconds.
pub fn budget_ms(replay: &Replay) -> u64 {
    // Validation makes `duration` required in duration mode; without one the budget is the
    // tolerance alone.
    replay.duration_ms.unwrap_or(0).saturating_add(replay.tolerance_ms)
}

/// What the budget needs to know of a replay's candidates as a whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// How many there are.
    pub count: usize,
    /// The sum of their clip durations.
    pub total_ms: u64,
    /// The shortest clip duration (0 when there are none).
    pub min_duration_ms: u64,
    /// The latest clip end, `T` of equal distribution.
    pub max_clip_end_ms: u64,
}

impl Totals {
    /// The totals of clips given as `(clip_start_ms, clip_end_ms)`.
    pub fn of(clips: impl Iterator<Item = (u64, u64)>) -> Totals {
        let mut totals = Totals { min_duration_ms: u64::MAX, ..Totals::default() };
        for (start, end) in clips {
            let duration = end.saturating_sub(start);
            totals.count += 1;
            totals.total_ms += duration;
            totals.min_duration_ms = totals.min_duration_ms.min(duration);
            totals.max_clip_end_ms = totals.max_clip_end_ms.max(end);
        }
        if totals.count == 0 {
            totals.min_duration_ms = 0;
        }
        totals
    }
}

/// Which candidates fit in `limit_ms` (SEMANTICS §5, §8.9), in no particular order.
///
/// The candidates come in rank order, as runs of `(id, clip_start_ms, clip_end_ms)`, each run
/// with the shortest clip duration in it; the ids of those selected are returned.
///
/// When everything fits, every id, without looking at the clips. Otherwise, without equal
/// distribution, the walk in rank order takes each candidate that still fits, passes over a
/// whole run whose shortest clip is too long for what is left, and stops as soon as what is
/// left is shorter than the shortest candidate of all; so its work is bounded by the budget
/// and the number of runs rather than by the number of candidates. Equal distribution needs
/// every candidate's group, so it walks them all once, then takes them group by group in
/// passes that stop on the same condition.
pub fn within_budget<T, I>(
    limit_ms: u64,
    equal_distribution: bool,
    runs: impl Iterator<Item = (u64, I)>,
    totals: &Totals,
) -> Vec<T>
where
    T: Copy,
    I: Iterator<Item = (T, u64, u64)>,
{
    if totals.total_ms <= limit_ms {
        return runs.flat_map(|(_, run)| run.map(|(id, _, _)| id)).collect();
    }
    let mut left_ms = limit_ms;
    let mut selected = Vec::new();
    if !equal_distribution {
        for (shortest_ms, run) in runs {
            if shortest_ms > left_ms {
                continue;
            }
            for (id, start, end) in run {
                take_if_fits(id, end.saturating_sub(start), &mut left_ms, &mut selected);
            }
            if left_ms < totals.min_duration_ms {
                break;
            }
        }
        return selected;
    }
    // The total exceeds the budget, so some clip has a positive duration and the span is
    // positive: the group arithmetic never divides by zero.
    let span_ms = totals.max_clip_end_ms;
    let groups = group_count(span_ms);
    let mut members: Vec<(u64, usize, T, u64)> = runs
        .flat_map(|(_, run)| run)
        .enumerate()
        .map(|(position, (id, start, end))| {
            let group = (u128::from(start) * u128::from(groups) / u128::from(span_ms))
                .min(u128::from(groups - 1)) as u64;
            (group, position, id, end.saturating_sub(start))
        })
        .collect();
    // A stable sort by group keeps every group in rank order.
    members.sort_by_key(|(group, ..)| *group);
    let members: Vec<&[(u64, usize, T, u64)]> = members.chunk_by(|a, b| a.0 == b.0).collect();
    let mut picks: Vec<(usize, T, u64)> = Vec::with_capacity(members.len());
    for pass in 0.. {
        // Nothing left fits once what is left is shorter than the shortest candidate.
        if left_ms < totals.min_duration_ms {
            break;
        }
        picks.clear();
        picks.extend(
            members
                .iter()
                .filter_map(|group| group.get(pass))
                .map(|&(_, position, id, duration)| (position, id, duration)),
        );
        if picks.is_empty() {
            break;
        }
        // Positions are rank order.
        picks.sort_unstable_by_key(|(position, _, _)| *position);
        for &(_, id, duration) in &picks {
            take_if_fits(id, duration, &mut left_ms, &mut selected);
        }
    }
    selected
}

/// The number of equal-distribution groups for a timeline of `span_ms`: 2 up to an hour, else
/// two per started hour plus two.
fn group_count(span_ms: u64) -> u64 {
    if span_ms <= HOUR_MS {
        2
    } else {
        span_ms.div_ceil(HOUR_MS) * 2 + 2
    }
}

/// Takes the candidate `id` when its duration still fits in `left_ms`.
fn take_if_fits<T>(id: T, duration_ms: u64, left_ms: &mut u64, selected: &mut Vec<T>) {
    if duration_ms <= *left_ms {
        *left_ms -= duration_ms;
        selected.push(id);
    }
}

/// The status of a replay (SEMANTICS §8.11) from its event: `None` when the event is not
/// known, else whether the event's profile is known and whether the event has ended. Waiting
/// for an unknown event or profile, then queued (after-event) or in progress (catch-up) until
/// the event has ended, then complete.
pub fn status(catchup: bool, event: Option<(bool, bool)>) -> ReplayStatus {
    let Some((true, ended)) = event else {
        return ReplayStatus::WaitingForEvent;
    };
    match (ended, catchup) {
        (true, _) => ReplayStatus::Complete,
        (false, true) => ReplayStatus::InProgress,
        (false, false) => ReplayStatus::Queued,
    }
}

fn replay_status(replay: &Replay, event: Option<&EventView>) -> ReplayStatus {
    status(
        replay.catchup,
        event.map(|event| (event.profile_known, event.status == EventStatus::Ended)),
    )
}

/// The whole view of `replay`, given the live view of its event (`None` when there is none)
/// and its candidates.
///
/// Clips are empty while the replay waits for its event or is queued; in timestamps mode they
/// are the replay's time ranges in the given order, otherwise the candidates [`select`]
/// chooses. Scores are given in duration mode only.
pub fn replay_view(
    replay: &Replay,
    event: Option<&EventView>,
    candidates: &[Candidate],
) -> ReplayView {
    let status = replay_status(replay, event);
    let clips = match status {
        ReplayStatus::WaitingForEvent | ReplayStatus::Queued => Vec::new(),
        ReplayStatus::InProgress | ReplayStatus::Complete => clips(replay, candidates),
    };
    let scored = replay.mode == ReplayMode::Duration;
    ReplayView {
        replay_id: replay.replay_id.clone(),
        event_id: replay.event_id.clone(),
        status,
        mode: replay.mode,
        track: replay.track,
        catchup: replay.catchup,
        total_duration_ms: clips.iter().map(ClipView::duration_ms).sum(),
        total_score: scored.then(|| clips.iter().filter_map(|clip| clip.score).sum()),
        clips,
        render: replay.render.clone(),
    }
}

/// The clips of a replay that is in progress or complete.
fn clips(replay: &Replay, candidates: &[Candidate]) -> Vec<ClipView> {
    if replay.mode == ReplayMode::Timestamps {
        return replay
            .timestamps
            .iter()
            .map(|range| ClipView {
                start_ms: range.start_ms,
                end_ms: range.end_ms,
                clip_start_ms: range.start_ms,
                clip_end_ms: range.end_ms,
                score: None,
                forced: false,
                features: Vec::new(),
            })
            .collect();
    }
    let scored = replay.mode == ReplayMode::Duration;
    select(replay, candidates)
        .into_iter()
        .map(|candidate| ClipView {
            start_ms: candidate.start_ms,
            end_ms: candidate.end_ms,
            clip_start_ms: candidate.clip_start_ms,
            clip_end_ms: candidate.clip_end_ms,
            score: scored.then_some(candidate.score),
            forced: candidate.forced,
            features: candidate.features,
        })
        .collect()
}

/// Whether a priority entry matches a feature: same attribute, equal value (values are
/// canonical, so `1` equals `1.0` and `true` never equals `1`), and the same plugin when the
/// entry names one.
pub fn entry_matches(priority: &Priority, feature: &Feature) -> bool {
    priority.attribute == feature.attribute
        && priority.value == feature.value
        && priority.plugin.as_ref().is_none_or(|plugin| *plugin == feature.plugin)
}

/// Whether a priority entry counts for this replay's mode: every entry in duration mode (all
/// have weights), entries with `include` in features mode, none in timestamps mode.
pub fn entry_counts(replay: &Replay, priority: &Priority) -> bool {
    match replay.mode {
        ReplayMode::Duration => true,
        ReplayMode::Features => priority.include,
        ReplayMode::Timestamps => false,
    }
}

#[cfg(test)]
mod tests {
    use reeltime_schemas::record::{Extra, TimeRange};
    use reeltime_schemas::value::AttrValue;

    use super::*;

    fn replay(mode: ReplayMode, duration_s: u64, tolerance_s: u64, equal: bool) -> Replay {
        Replay {
            replay_id: "r1".into(),
            event_id: "e1".into(),
            mode,
            catchup: true,
            duration_ms: Some(duration_s * 1000),
            tolerance_ms: tolerance_s * 1000,
            equal_distribution: equal,
            track: 1,
            priorities: Vec::new(),
            include_liked: false,
            ignore_disliked: false,
            timestamps: Vec::new(),
            render: String::new(),
            extra: Extra::default(),
        }
    }

    fn candidate(start_s: u64, end_s: u64, score: u64) -> Candidate {
        Candidate {
            start_ms: start_s * 1000,
            end_ms: end_s * 1000,
            clip_start_ms: start_s * 1000,
            clip_end_ms: end_s * 1000,
            score,
            forced: false,
            features: Vec::new(),
        }
    }

    fn starts_s(selected: &[Candidate]) -> Vec<u64> {
        selected.iter().map(|c| c.start_ms / 1000).collect()
    }

    /// The candidates of SEMANTICS §5.1.
    fn worked_example() -> Vec<Candidate> {
        vec![
            candidate(10, 30, 50),
            candidate(40, 55, 90),
            candidate(60, 100, 30),
            candidate(120, 130, 100),
            candidate(150, 175, 40),
        ]
    }

    fn event(status: EventStatus, profile_known: bool) -> EventView {
        EventView {
            event_id: "e1".into(),
            program: None,
            profile: "p".into(),
            profile_known,
            has_optimizer: false,
            status,
            frame_rate_milli: None,
            audio_tracks: vec![1],
            title: None,
            extra: Extra::default(),
        }
    }

    fn priority(plugin: Option<&str>, attribute: &str, value: AttrValue) -> Priority {
        Priority {
            plugin: plugin.map(str::to_owned),
            attribute: attribute.into(),
            value,
            weight: Some(10),
            include: true,
        }
    }

    fn feature(plugin: &str, attribute: &str, value: AttrValue) -> Feature {
        Feature { plugin: plugin.into(), attribute: attribute.into(), value }
    }

    #[test]
    fn worked_examples_of_semantics() {
        let cases = [
            (60, 30, false, vec![10, 40, 120, 150]),
            (30, 1, false, vec![40, 120]),
            (40, 5, true, vec![10, 40, 120]),
            (200, 30, false, vec![10, 40, 60, 120, 150]),
        ];
        for (duration, tolerance, equal, expected) in cases {
            let replay = replay(ReplayMode::Duration, duration, tolerance, equal);
            let selected = select(&replay, &worked_example());
            assert_eq!(starts_s(&selected), expected, "duration {duration} tolerance {tolerance}");
        }
    }

    #[test]
    fn everything_fits_comes_first_with_equal_distribution() {
        // Total 110 s fits in 120 s: all five, without grouping them.
        let replay = replay(ReplayMode::Duration, 100, 20, true);
        assert_eq!(starts_s(&select(&replay, &worked_example())), vec![10, 40, 60, 120, 150]);
    }

    #[test]
    fn forced_candidates_rank_first_and_still_have_to_fit() {
        let mut liked_short = candidate(200, 205, 0);
        liked_short.forced = true;
        let mut liked_long = candidate(300, 400, 0);
        liked_long.forced = true;
        let mut candidates = worked_example();
        candidates.push(liked_short.clone());
        candidates.push(liked_long.clone());
        assert_eq!(rank_cmp(&liked_short, &candidate(120, 130, 100)), Ordering::Less);
        // L = 31 s: the short liked clip (5 s) goes first, then S4 (10 s) and S2 (15 s); the
        // long liked clip (100 s) does not fit.
        let replay = replay(ReplayMode::Duration, 30, 1, false);
        assert_eq!(starts_s(&select(&replay, &candidates)), vec![40, 120, 200]);
        // Without the short one, the budget left after S4 and S2 is 6 s: S1 (20 s) does not fit.
        candidates.retain(|c| c.start_ms != 200_000);
        assert_eq!(starts_s(&select(&replay, &candidates)), vec![40, 120]);
    }

    #[test]
    fn ties_break_by_clip_start_then_segment_start() {
        let later_clip = candidate(5, 15, 10);
        let mut earlier_clip = candidate(50, 60, 10);
        earlier_clip.clip_start_ms = 2_000;
        earlier_clip.clip_end_ms = 12_000;
        assert_eq!(rank_cmp(&earlier_clip, &later_clip), Ordering::Less);
        let replay = replay(ReplayMode::Duration, 10, 0, false);
        let selected = select(&replay, &[later_clip.clone(), earlier_clip.clone()]);
        assert_eq!(starts_s(&selected), vec![50]);

        // Same clip bounds (moved by an optimizer), same score: the earlier segment wins.
        let mut first = candidate(21, 40, 10);
        let mut second = candidate(20, 40, 10);
        for c in [&mut first, &mut second] {
            c.clip_start_ms = 22_000;
            c.clip_end_ms = 32_000;
        }
        assert_eq!(rank_cmp(&second, &first), Ordering::Less);
        assert_eq!(starts_s(&select(&replay, &[first, second])), vec![20]);
    }

    #[test]
    fn selection_is_listed_by_clip_start_then_segment_start() {
        let mut moved = candidate(100, 110, 10);
        moved.clip_start_ms = 1_000;
        moved.clip_end_ms = 9_000;
        let mut same_clip = candidate(99, 110, 10);
        same_clip.clip_start_ms = 1_000;
        same_clip.clip_end_ms = 9_000;
        let replay = replay(ReplayMode::Duration, 100, 0, false);
        let selected = select(&replay, &[moved, candidate(50, 60, 90), same_clip]);
        assert_eq!(starts_s(&selected), vec![99, 100, 50]);
    }

    #[test]
    fn group_count_grows_after_an_hour() {
        assert_eq!(group_count(1), 2);
        assert_eq!(group_count(3_600_000), 2);
        assert_eq!(group_count(3_600_001), 6);
        assert_eq!(group_count(7_200_000), 6);
        assert_eq!(group_count(9_000_000), 8);
    }

    #[test]
    fn equal_distribution_over_more_than_an_hour() {
        // T = 9000 s, so G = ceil(2.5) * 2 + 2 = 8 groups of 1125 s.
        let candidates = vec![
            candidate(0, 60, 100),     // group 0
            candidate(100, 160, 90),   // group 0
            candidate(200, 260, 80),   // group 0
            candidate(3000, 3060, 10), // group 2
            candidate(8940, 9000, 5),  // group 7
        ];
        let spread = replay(ReplayMode::Duration, 180, 0, true);
        assert_eq!(starts_s(&select(&spread, &candidates)), vec![0, 3000, 8940]);
        let greedy = replay(ReplayMode::Duration, 180, 0, false);
        assert_eq!(starts_s(&select(&greedy, &candidates)), vec![0, 100, 200]);
    }

    #[test]
    fn equal_distribution_takes_later_passes_while_budget_is_left() {
        // T = 175 s, G = 2; group 0 = {S2, S1, S3}, group 1 = {S4, S5} in rank order.
        // L = 75 s: pass 0 takes S4 and S2 (25 s), pass 1 takes S1 and S5 (45 s), pass 2
        // cannot take S3 (40 s) with 5 s left.
        let replay = replay(ReplayMode::Duration, 70, 5, true);
        assert_eq!(starts_s(&select(&replay, &worked_example())), vec![10, 40, 120, 150]);
    }

    #[test]
    fn features_mode_lists_every_candidate_by_clip_start() {
        let mut candidates = worked_example();
        candidates.reverse();
        for c in &mut candidates {
            c.score = 0;
        }
        // The duration budget does not apply in features mode.
        let replay = replay(ReplayMode::Features, 1, 0, false);
        assert_eq!(starts_s(&select(&replay, &candidates)), vec![10, 40, 60, 120, 150]);
        let view = replay_view(&replay, Some(&event(EventStatus::Started, true)), &candidates);
        assert_eq!(view.clips.len(), 5);
        assert!(view.clips.iter().all(|clip| clip.score.is_none()));
        assert_eq!(view.total_score, None);
        assert_eq!(view.total_duration_ms, 110_000);
    }

    #[test]
    fn statuses() {
        use EventStatus::{Ended, Scheduled, Started};
        use ReplayStatus::{Complete, InProgress, Queued, WaitingForEvent};
        let cases = [
            (false, None, WaitingForEvent),
            (true, None, WaitingForEvent),
            (false, Some(event(Ended, false)), WaitingForEvent),
            (true, Some(event(Started, false)), WaitingForEvent),
            (false, Some(event(Scheduled, true)), Queued),
            (false, Some(event(Started, true)), Queued),
            (false, Some(event(Ended, true)), Complete),
            (true, Some(event(Scheduled, true)), InProgress),
            (true, Some(event(Started, true)), InProgress),
            (true, Some(event(Ended, true)), Complete),
        ];
        for (catchup, event, status) in cases {
            let mut replay = replay(ReplayMode::Duration, 60, 30, false);
            replay.catchup = catchup;
            let view = replay_view(&replay, event.as_ref(), &worked_example());
            assert_eq!(view.status, status, "catchup {catchup}, event {event:?}");
            let has_clips = matches!(status, InProgress | Complete);
            assert_eq!(!view.clips.is_empty(), has_clips, "catchup {catchup}, event {event:?}");
            if !has_clips {
                assert_eq!(view.total_duration_ms, 0);
                assert_eq!(view.total_score, Some(0));
            }
        }
    }

    #[test]
    fn duration_mode_view_has_scores_and_copies_the_replay() {
        let mut replay = replay(ReplayMode::Duration, 60, 30, false);
        replay.track = 2;
        replay.render = r#"{"mp4":true}"#.into();
        let view = replay_view(&replay, Some(&event(EventStatus::Ended, true)), &worked_example());
        assert_eq!(view.replay_id, "r1");
        assert_eq!(view.event_id, "e1");
        assert_eq!(view.mode, ReplayMode::Duration);
        assert_eq!(view.track, 2);
        assert!(view.catchup);
        assert_eq!(view.render, r#"{"mp4":true}"#);
        let scores: Vec<Option<u64>> = view.clips.iter().map(|clip| clip.score).collect();
        assert_eq!(scores, vec![Some(50), Some(90), Some(100), Some(40)]);
        assert_eq!(view.total_score, Some(280));
        assert_eq!(view.total_duration_ms, 70_000);
        assert_eq!(
            view.clip_bounds(),
            vec![(10_000, 30_000), (40_000, 55_000), (120_000, 130_000), (150_000, 175_000)]
        );
    }

    #[test]
    fn timestamps_mode_clips_are_the_ranges_in_order() {
        let mut replay = replay(ReplayMode::Timestamps, 1, 0, false);
        replay.duration_ms = None;
        replay.timestamps = vec![
            TimeRange { start_ms: 50_000, end_ms: 60_000 },
            TimeRange { start_ms: 10_000, end_ms: 12_500 },
        ];
        assert!(select(&replay, &worked_example()).is_empty());
        let view =
            replay_view(&replay, Some(&event(EventStatus::Started, true)), &worked_example());
        let expected = vec![
            ClipView {
                start_ms: 50_000,
                end_ms: 60_000,
                clip_start_ms: 50_000,
                clip_end_ms: 60_000,
                score: None,
                forced: false,
                features: Vec::new(),
            },
            ClipView {
                start_ms: 10_000,
                end_ms: 12_500,
                clip_start_ms: 10_000,
                clip_end_ms: 12_500,
                score: None,
                forced: false,
                features: Vec::new(),
            },
        ];
        assert_eq!(view.clips, expected);
        assert_eq!(view.total_duration_ms, 12_500);
        assert_eq!(view.total_score, None);
        // Queued until the event ends when not catch-up, like the other modes.
        replay.catchup = false;
        let queued = replay_view(&replay, Some(&event(EventStatus::Started, true)), &[]);
        assert_eq!(queued.status, ReplayStatus::Queued);
        assert!(queued.clips.is_empty());
    }

    #[test]
    fn entries_match_by_attribute_value_and_plugin() {
        let ace = feature("scoreboard", "Ace", AttrValue::Bool(true));
        assert!(entry_matches(&priority(None, "Ace", AttrValue::Bool(true)), &ace));
        assert!(entry_matches(&priority(Some("scoreboard"), "Ace", AttrValue::Bool(true)), &ace));
        assert!(!entry_matches(&priority(Some("crowd"), "Ace", AttrValue::Bool(true)), &ace));
        assert!(!entry_matches(&priority(None, "Ace", AttrValue::Bool(false)), &ace));
        assert!(!entry_matches(&priority(None, "Goal", AttrValue::Bool(true)), &ace));
        let one = feature("scoreboard", "Sets", AttrValue::Int(1));
        assert!(entry_matches(&priority(None, "Sets", AttrValue::Int(1)), &one));
        assert!(!entry_matches(&priority(None, "Sets", AttrValue::Bool(true)), &one));
    }

    #[test]
    fn which_entries_count_per_mode() {
        let included = priority(None, "Ace", AttrValue::Bool(true));
        let mut excluded = included.clone();
        excluded.include = false;
        let duration = replay(ReplayMode::Duration, 60, 30, false);
        assert!(entry_counts(&duration, &included));
        assert!(entry_counts(&duration, &excluded));
        let features = replay(ReplayMode::Features, 60, 30, false);
        assert!(entry_counts(&features, &included));
        assert!(!entry_counts(&features, &excluded));
        let timestamps = replay(ReplayMode::Timestamps, 60, 30, false);
        assert!(!entry_counts(&timestamps, &included));
    }

    #[test]
    fn passing_over_runs_of_long_clips_selects_the_same() {
        // Random candidates (a small linear congruential generator keeps the test
        // deterministic), cut into runs of 3 with their shortest clip, against one run of all.
        let mut seed = 12_345u64;
        let mut next = move |bound: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % bound
        };
        for _ in 0..500 {
            let clips: Vec<(usize, u64, u64)> = (0..next(40) as usize)
                .map(|i| {
                    let start = next(100_000);
                    (i, start, start + 1 + next(30_000))
                })
                .collect();
            let totals = Totals::of(clips.iter().map(|&(_, start, end)| (start, end)));
            let limit = next(200_000);
            for equal in [false, true] {
                let whole = std::iter::once((totals.min_duration_ms, clips.iter().copied()));
                let mut expected = within_budget(limit, equal, whole, &totals);
                let runs = clips.chunks(3).map(|run| {
                    let shortest = run.iter().map(|&(_, s, e)| e - s).min().unwrap_or(0);
                    (shortest, run.iter().copied())
                });
                let mut got = within_budget(limit, equal, runs, &totals);
                expected.sort_unstable();
                got.sort_unstable();
                assert_eq!(got, expected, "limit {limit}, equal {equal}, clips {clips:?}");
            }
        }
    }
}
