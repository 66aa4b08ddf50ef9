//! A from-scratch reference of the whole computation: the views over a log prefix, computed by
//! reading every record once, deciding each key's winning record, and deriving every view
//! directly from SEMANTICS §3–§5 and §8 and `docs/semantics-decisions.md`.
//!
//! Property tests hold the incremental dataflow to [`compute`] at every epoch. It is written to
//! be obviously right rather than fast, and shares nothing with the dataflow but the replay
//! decision of [`crate::selection`] (ranking and budgeting, tested on its own).

use std::collections::{BTreeMap, BTreeSet};

use reeltime_schemas::record::{
    DeleteKind, Detection, Event, Label, Optimization, Profile, Record, Replay, ReplayMode,
    Segment, Seq, Verdict,
};
use reeltime_schemas::view::{EventView, Feature, LabelView, OptoBounds, SegmentView};

use crate::selection::{self, Candidate};
use crate::views::Views;

/// The views over the log so far, computed from scratch. `log` is in position order (`seq`
/// strictly increasing).
pub fn compute(log: &[(Seq, Record)]) -> Views {
    let live = Live::read(log);
    let events: BTreeMap<String, EventView> = live
        .events
        .values()
        .map(|event| (event.event_id.clone(), live.event_view(event)))
        .collect();
    let segments = live
        .segments
        .iter()
        .map(|(key, segment)| (key.clone(), live.segment_view(segment)))
        .collect();
    let replays = live
        .replays
        .values()
        .map(|replay| {
            let event = events.get(&replay.event_id);
            let candidates = live.candidates(replay, event.is_some_and(|e| e.has_optimizer));
            (replay.replay_id.clone(), selection::replay_view(replay, event, &candidates))
        })
        .collect();
    Views { events, segments, replays }
}

/// The records in force: each key's winning record, without those removed by a `deleted`
/// flag, a delete record, or a later delete of their event.
struct Live {
    /// Profiles by name.
    profiles: BTreeMap<String, Profile>,
    /// Events by id.
    events: BTreeMap<String, Event>,
    /// Segments by `(event_id, start_ms)`.
    segments: BTreeMap<(String, u64), Segment>,
    /// Optimizations by `(event_id, start_ms, track)`.
    optimizations: BTreeMap<(String, u64, u32), Optimization>,
    /// Labels by `(event_id, start_ms)`.
    labels: BTreeMap<(String, u64), Label>,
    /// Likes and dislikes by `(event_id, start_ms, track)`; a reset leaves no entry.
    feedback: BTreeMap<(String, u64, u32), Verdict>,
    /// Detections by event, then by start (several facts may share a start).
    detections: BTreeMap<String, BTreeMap<u64, Vec<Detection>>>,
    /// Replays by id.
    replays: BTreeMap<String, Replay>,
}

impl Live {
    fn read(log: &[(Seq, Record)]) -> Live {
        // Each map holds the latest record of its key with its position. The log is in position
        // order, so the record inserted last is the latest; `None` is a delete that won.
        let mut event_deleted_at: BTreeMap<String, Seq> = BTreeMap::new();
        let mut profiles: BTreeMap<String, (Seq, Option<&Profile>)> = BTreeMap::new();
        let mut events: BTreeMap<String, (Seq, &Event)> = BTreeMap::new();
        let mut segments: BTreeMap<(String, u64), (Seq, &Segment)> = BTreeMap::new();
        let mut optimizations: BTreeMap<(String, u64, u32), (Seq, &Optimization)> = BTreeMap::new();
        let mut labels: BTreeMap<(String, u64), (Seq, &Label)> = BTreeMap::new();
        let mut feedback: BTreeMap<(String, u64, u32), (Seq, Verdict)> = BTreeMap::new();
        let mut detections: BTreeMap<Detection, (Seq, bool)> = BTreeMap::new();
        let mut replays: BTreeMap<String, (Seq, Option<&Replay>)> = BTreeMap::new();
        for (seq, record) in log {
            let seq = *seq;
            match record {
                Record::Profile(p) => {
                    profiles.insert(p.name.clone(), (seq, Some(p)));
                }
                Record::Event(e) => {
                    events.insert(e.event_id.clone(), (seq, e));
                }
                // Chunks feed rendering, not the views.
                Record::Chunk(_) => {}
                Record::Segment(s) => {
                    segments.insert((s.event_id.clone(), s.start_ms), (seq, s));
                }
                Record::Optimization(o) => {
                    optimizations.insert((o.event_id.clone(), o.start_ms, o.track), (seq, o));
                }
                Record::Label(l) => {
                    labels.insert((l.event_id.clone(), l.start_ms), (seq, l));
                }
                Record::Detection(d) => {
                    detections.insert(d.identity(), (seq, d.deleted));
                }
                Record::Replay(r) => {
                    replays.insert(r.replay_id.clone(), (seq, Some(r)));
                }
                Record::Feedback(f) => {
                    feedback.insert((f.event_id.clone(), f.start_ms, f.track), (seq, f.verdict));
                }
                Record::Delete(d) => match d.kind {
                    DeleteKind::Event => {
                        event_deleted_at.insert(d.id.clone(), seq);
                    }
                    DeleteKind::Profile => {
                        profiles.insert(d.id.clone(), (seq, None));
                    }
                    DeleteKind::Replay => {
                        replays.insert(d.id.clone(), (seq, None));
                    }
                },
            }
        }
        // A winner older than the latest delete of its event was received before that delete,
        // so the delete removed it.
        let survives = |event_id: &str, seq: Seq| {
            event_deleted_at.get(event_id).is_none_or(|deleted_at| seq > *deleted_at)
        };

        let mut live_detections: BTreeMap<String, BTreeMap<u64, Vec<Detection>>> = BTreeMap::new();
        for (detection, (seq, deleted)) in detections {
            if !deleted && survives(&detection.event_id, seq) {
                live_detections
                    .entry(detection.event_id.clone())
                    .or_default()
                    .entry(detection.start_ms)
                    .or_default()
                    .push(detection);
            }
        }
        Live {
            profiles: profiles
                .into_iter()
                .filter_map(|(name, (_, profile))| Some((name, profile?.clone())))
                .collect(),
            events: events
                .into_iter()
                .filter(|(id, (seq, _))| survives(id, *seq))
                .map(|(id, (_, event))| (id, event.clone()))
                .collect(),
            segments: segments
                .into_iter()
                .filter(|((event_id, _), (seq, segment))| {
                    !segment.deleted && survives(event_id, *seq)
                })
                .map(|(key, (_, segment))| (key, segment.clone()))
                .collect(),
            optimizations: optimizations
                .into_iter()
                .filter(|((event_id, _, _), (seq, _))| survives(event_id, *seq))
                .map(|(key, (_, optimization))| (key, optimization.clone()))
                .collect(),
            labels: labels
                .into_iter()
                .filter(|((event_id, _), (seq, _))| survives(event_id, *seq))
                .map(|(key, (_, label))| (key, label.clone()))
                .collect(),
            feedback: feedback
                .into_iter()
                .filter(|((event_id, _, _), (seq, verdict))| {
                    *verdict != Verdict::Reset && survives(event_id, *seq)
                })
                .map(|(key, (_, verdict))| (key, verdict))
                .collect(),
            detections: live_detections,
            replays: replays
                .into_iter()
                .filter_map(|(id, (seq, replay))| {
                    let replay = replay?;
                    survives(&replay.event_id, seq).then(|| (id, replay.clone()))
                })
                .collect(),
        }
    }

    fn event_view(&self, event: &Event) -> EventView {
        let profile = self.profiles.get(&event.profile);
        EventView {
            event_id: event.event_id.clone(),
            program: event.program.clone(),
            profile: event.profile.clone(),
            profile_known: profile.is_some(),
            has_optimizer: profile.is_some_and(|p| p.optimizer.is_some()),
            status: event.status,
            frame_rate_milli: event.frame_rate_milli,
            audio_tracks: event.audio_tracks.clone(),
            title: event.title.clone(),
            extra: event.extra.clone(),
        }
    }

    fn segment_view(&self, segment: &Segment) -> SegmentView {
        let event_id = &segment.event_id;
        let start_ms = segment.start_ms;
        let optimizations: BTreeMap<u32, OptoBounds> = self
            .optimizations
            .range((event_id.clone(), start_ms, 0)..=(event_id.clone(), start_ms, u32::MAX))
            .map(|((_, _, track), o)| {
                (*track, OptoBounds { opto_start_ms: o.opto_start_ms, opto_end_ms: o.opto_end_ms })
            })
            .collect();
        let feedback: BTreeMap<u32, Verdict> = self
            .feedback
            .range((event_id.clone(), start_ms, 0)..=(event_id.clone(), start_ms, u32::MAX))
            .map(|((_, _, track), verdict)| (*track, *verdict))
            .collect();

        // Tracks: the event's audio tracks (track 1 when unknown or video-only), and every
        // track something about this segment names.
        let mut tracks: BTreeSet<u32> = self
            .events
            .get(event_id)
            .map(|event| event.audio_tracks.clone())
            .filter(|tracks| !tracks.is_empty())
            .unwrap_or_else(|| vec![1])
            .into_iter()
            .collect();
        tracks.extend(optimizations.keys());
        tracks.extend(feedback.keys());
        tracks.extend(self.data_point_detections(segment).filter_map(|d| d.track));

        let label = self.labels.get(&(event_id.clone(), start_ms));
        SegmentView {
            event_id: event_id.clone(),
            start_ms,
            end_ms: segment.end_ms,
            complete: segment.is_complete(),
            plugin: segment.plugin.clone(),
            attributes: segment.attributes.clone(),
            label: label.map(|l| LabelView {
                plugin: l.plugin.clone(),
                label: l.label.clone(),
                attributes: l.attributes.clone(),
            }),
            features: tracks
                .into_iter()
                .map(|track| (track, self.features(segment, track)))
                .collect(),
            optimizations,
            feedback,
            extra: segment.extra.clone(),
        }
    }

    /// The detections of the segment's event that start within its original bounds (both
    /// inclusive; an open segment's range is its start alone), on any track.
    fn data_point_detections<'a>(
        &'a self,
        segment: &Segment,
    ) -> impl Iterator<Item = &'a Detection> + 'a {
        let range = segment.start_ms..=segment.range_end_ms();
        self.detections
            .get(&segment.event_id)
            .into_iter()
            .flat_map(move |by_start| by_start.range(range.clone()))
            .flat_map(|(_, detections)| detections)
    }

    /// The features of a segment on a track (SEMANTICS §4, §8.7), sorted and distinct.
    fn features(&self, segment: &Segment, track: u32) -> Vec<Feature> {
        let mut features = BTreeSet::new();
        let mut add = |plugin: &str, attributes: &reeltime_schemas::value::Attributes| {
            for (attribute, value) in attributes {
                features.insert(Feature {
                    plugin: plugin.to_owned(),
                    attribute: attribute.clone(),
                    value: value.clone(),
                });
            }
        };
        for detection in self.data_point_detections(segment) {
            if detection.track.is_none_or(|t| t == track) {
                add(&detection.plugin, &detection.attributes);
            }
        }
        add(&segment.plugin, &segment.attributes);
        if let Some(label) = self.labels.get(&(segment.event_id.clone(), segment.start_ms)) {
            add(&label.plugin, &label.attributes);
        }
        features.into_iter().collect()
    }

    /// The candidates of a replay (SEMANTICS §5): its event's complete segments (optimized for
    /// its track when the profile has an optimizer) that match a counting entry or are forced,
    /// without the disliked ones when it ignores them.
    fn candidates(&self, replay: &Replay, has_optimizer: bool) -> Vec<Candidate> {
        let track = replay.track;
        let counting: Vec<_> =
            replay.priorities.iter().filter(|p| selection::entry_counts(replay, p)).collect();
        let event_id = &replay.event_id;
        let mut candidates = Vec::new();
        for ((_, start_ms), segment) in
            self.segments.range((event_id.clone(), 0)..=(event_id.clone(), u64::MAX))
        {
            let Some(end_ms) = segment.end_ms.filter(|_| segment.is_complete()) else {
                continue;
            };
            let optimization = self.optimizations.get(&(event_id.clone(), *start_ms, track));
            if has_optimizer && optimization.is_none() {
                continue;
            }
            let verdict = self.feedback.get(&(event_id.clone(), *start_ms, track));
            if replay.ignore_disliked && verdict == Some(&Verdict::Dislike) {
                continue;
            }
            let forced = replay.include_liked && verdict == Some(&Verdict::Like);
            let features = self.features(segment, track);
            let matching: Vec<_> = counting
                .iter()
                .filter(|p| features.iter().any(|f| selection::entry_matches(p, f)))
                .collect();
            if matching.is_empty() && !forced {
                continue;
            }
            let score = match replay.mode {
                ReplayMode::Duration => {
                    matching.iter().map(|p| u64::from(p.weight.unwrap_or(0))).sum()
                }
                ReplayMode::Features | ReplayMode::Timestamps => 0,
            };
            let (clip_start_ms, clip_end_ms) =
                optimization.map_or((*start_ms, end_ms), |o| (o.opto_start_ms, o.opto_end_ms));
            candidates.push(Candidate {
                start_ms: *start_ms,
                end_ms,
                clip_start_ms,
                clip_end_ms,
                score,
                forced,
                features: features
                    .into_iter()
                    .filter(|f| counting.iter().any(|p| selection::entry_matches(p, f)))
                    .collect(),
            });
        }
        candidates
    }
}

#[cfg(test)]
mod tests {
    use reeltime_schemas::record::EventStatus;
    use reeltime_schemas::value::AttrValue;
    use reeltime_schemas::view::{ReplayStatus, ReplayView};

    use super::*;

    const PROFILE: &str = r#"{"type":"profile","name":"p","chunk_size":10,"processing_fps":5,"max_segment_length":120,"classifier":{"plugin":"seg"}}"#;
    const PROFILE_WITH_OPTIMIZER: &str = r#"{"type":"profile","name":"p","chunk_size":10,"processing_fps":5,"max_segment_length":120,"classifier":{"plugin":"seg"},"optimizer":{"plugin":"opt"}}"#;
    const EVENT: &str = r#"{"type":"event","event_id":"e1","profile":"p","status":"started"}"#;
    const REPLAY: &str = r#"{"type":"replay","replay_id":"r1","event_id":"e1","catchup":true,"duration":60,"priorities":[{"attribute":"Ace","weight":50}]}"#;

    /// Decodes one record per line; positions are 1-based line numbers.
    fn log(lines: &[&str]) -> Vec<(Seq, Record)> {
        lines
            .iter()
            .zip(1..)
            .map(|(line, seq)| {
                let record = reeltime_schemas::decode(line.as_bytes(), 1 << 20)
                    .unwrap_or_else(|e| panic!("line {seq} is not a valid record: {e}: {line}"));
                (seq, record)
            })
            .collect()
    }

    fn views(lines: &[&str]) -> Views {
        compute(&log(lines))
    }

    fn segment(start: u32, end: u32) -> String {
        format!(
            r#"{{"type":"segment","event_id":"e1","plugin":"seg","start":{start},"end":{end}}}"#
        )
    }

    fn ace(start: u32) -> String {
        format!(
            r#"{{"type":"detection","event_id":"e1","plugin":"score","start":{start},"attributes":{{"Ace":true}}}}"#
        )
    }

    fn feedback(start: u32, verdict: &str) -> String {
        format!(r#"{{"type":"feedback","event_id":"e1","start":{start},"verdict":"{verdict}"}}"#)
    }

    fn feature(plugin: &str, attribute: &str, value: AttrValue) -> Feature {
        Feature { plugin: plugin.into(), attribute: attribute.into(), value }
    }

    fn ace_feature() -> Feature {
        feature("score", "Ace", AttrValue::Bool(true))
    }

    fn seg_view(views: &Views, start_s: u64) -> &SegmentView {
        &views.segments[&("e1".to_owned(), start_s * 1000)]
    }

    fn replay<'a>(views: &'a Views, id: &str) -> &'a ReplayView {
        &views.replays[id]
    }

    /// The selected clips as `(start, clip_start, clip_end)` in seconds.
    fn clips_s(view: &ReplayView) -> Vec<(u64, u64, u64)> {
        view.clips
            .iter()
            .map(|c| (c.start_ms / 1000, c.clip_start_ms / 1000, c.clip_end_ms / 1000))
            .collect()
    }

    #[test]
    fn corrections_and_reopen_follow_the_latest_segment_record() {
        let open = r#"{"type":"segment","event_id":"e1","plugin":"seg","start":10}"#;
        let first = segment(10, 30);
        let corrected = segment(10, 25);
        let detection_at_start = ace(10);
        let detection_inside = r#"{"type":"detection","event_id":"e1","plugin":"crowd","start":12,"attributes":{"Loud":true}}"#;
        let mut lines = vec![PROFILE, EVENT, REPLAY, open, &detection_at_start, detection_inside];

        let v = views(&lines);
        let s = seg_view(&v, 10);
        assert!(!s.complete);
        assert_eq!(s.end_ms, None);
        // An open segment's range is [start, start]: only the detection at 10 is a data point.
        assert_eq!(s.features[&1], vec![ace_feature()]);
        assert!(replay(&v, "r1").clips.is_empty());

        lines.push(&first);
        let v = views(&lines);
        assert!(seg_view(&v, 10).complete);
        assert_eq!(seg_view(&v, 10).features[&1].len(), 2);
        assert_eq!(clips_s(replay(&v, "r1")), vec![(10, 10, 30)]);

        lines.push(&corrected);
        let v = views(&lines);
        assert_eq!(seg_view(&v, 10).end_ms, Some(25_000));
        assert_eq!(clips_s(replay(&v, "r1")), vec![(10, 10, 25)]);
        assert_eq!(replay(&v, "r1").total_duration_ms, 15_000);

        // Reopened: no end, or an end equal to the start.
        for reopen in [open.to_owned(), segment(10, 10)] {
            let mut reopened = lines.clone();
            reopened.push(&reopen);
            let v = views(&reopened);
            assert!(!seg_view(&v, 10).complete);
            assert_eq!(seg_view(&v, 10).features[&1], vec![ace_feature()]);
            assert!(replay(&v, "r1").clips.is_empty());
        }
    }

    #[test]
    fn duplicates_never_change_a_result() {
        let seg = segment(10, 30);
        let det = ace(12);
        let once = views(&[PROFILE, EVENT, REPLAY, &seg, &det]);
        let twice = views(&[PROFILE, EVENT, REPLAY, &seg, &det, &seg, &det, EVENT, REPLAY]);
        assert_eq!(once, twice);
        assert_eq!(seg_view(&once, 10).features[&1], vec![ace_feature()]);
        assert_eq!(replay(&once, "r1").total_score, Some(50));
    }

    #[test]
    fn detection_delete_and_re_add() {
        let seg = segment(10, 30);
        let det = ace(12);
        let delete = r#"{"type":"detection","event_id":"e1","plugin":"score","start":12,"attributes":{"Ace":true},"deleted":true}"#;
        let delete_other = r#"{"type":"detection","event_id":"e1","plugin":"score","start":13,"attributes":{"Ace":true},"deleted":true}"#;
        let base = [PROFILE, EVENT, REPLAY, &seg, &det];

        // Deleting a detection that is not there does nothing.
        let v = views(&[&base[..], &[delete_other]].concat());
        assert_eq!(v, views(&base));

        let v = views(&[&base[..], &[delete]].concat());
        assert!(seg_view(&v, 10).features[&1].is_empty());
        assert!(replay(&v, "r1").clips.is_empty());

        let v = views(&[&base[..], &[delete, &det]].concat());
        assert_eq!(v, views(&base));

        // A delete before the detection arrives removes nothing that comes later.
        let v = views(&[PROFILE, EVENT, REPLAY, &seg, delete, &det]);
        assert_eq!(clips_s(replay(&v, "r1")), vec![(10, 10, 30)]);
    }

    #[test]
    fn late_detection_updates_features_and_replays() {
        let seg = segment(10, 30);
        let late = ace(30);
        let outside = ace(31);
        let v = views(&[PROFILE, EVENT, REPLAY, &seg, &outside]);
        assert!(replay(&v, "r1").clips.is_empty());
        // The end is inclusive.
        let v = views(&[PROFILE, EVENT, REPLAY, &seg, &outside, &late]);
        assert_eq!(clips_s(replay(&v, "r1")), vec![(10, 10, 30)]);
        assert_eq!(replay(&v, "r1").clips[0].features, vec![ace_feature()]);
    }

    #[test]
    fn event_delete_removes_everything_received_before_it() {
        let old = segment(10, 30);
        let old_det = ace(12);
        let new = segment(40, 50);
        let new_det = ace(41);
        let delete = r#"{"type":"delete","kind":"event","id":"e1"}"#;
        let opt_old = r#"{"type":"optimization","event_id":"e1","plugin":"opt","start":10,"opto_start":9,"opto_end":31}"#;
        let lines = [PROFILE, EVENT, REPLAY, &old, &old_det, opt_old, delete, &new, &new_det];

        let v = views(&lines);
        assert!(v.events.is_empty());
        assert!(v.replays.is_empty());
        // Segments after the delete start afresh, even without an event record.
        assert_eq!(v.segments.keys().map(|(_, s)| *s).collect::<Vec<_>>(), vec![40_000]);
        assert_eq!(seg_view(&v, 40).features[&1], vec![ace_feature()]);

        // A replay sent again waits for the event, which comes back with a new record. The
        // segment sent again starts afresh: the optimization and the detection received before
        // the delete stay gone.
        let v = views(&[&lines[..], &[REPLAY]].concat());
        assert_eq!(replay(&v, "r1").status, ReplayStatus::WaitingForEvent);
        let v = views(&[&lines[..], &[REPLAY, EVENT, &old]].concat());
        assert_eq!(replay(&v, "r1").status, ReplayStatus::InProgress);
        assert_eq!(clips_s(replay(&v, "r1")), vec![(40, 40, 50)]);
        assert!(seg_view(&v, 10).optimizations.is_empty());
        assert!(seg_view(&v, 10).features[&1].is_empty());
    }

    #[test]
    fn event_delete_applies_to_the_event_the_winning_replay_names() {
        let event2 = r#"{"type":"event","event_id":"e2","profile":"p","status":"started"}"#;
        let moved = r#"{"type":"replay","replay_id":"r1","event_id":"e2","catchup":true,"duration":60,"priorities":[{"attribute":"Ace","weight":50}]}"#;
        let delete1 = r#"{"type":"delete","kind":"event","id":"e1"}"#;
        let delete2 = r#"{"type":"delete","kind":"event","id":"e2"}"#;
        // Moved to e2, then e1 deleted: the replay lives on e2.
        let v = views(&[PROFILE, EVENT, event2, REPLAY, moved, delete1]);
        assert_eq!(replay(&v, "r1").event_id, "e2");
        // Moved to e2, then e2 deleted: gone, not back on e1.
        let v = views(&[PROFILE, EVENT, event2, REPLAY, moved, delete2]);
        assert!(v.replays.is_empty());
        assert_eq!(v.events.keys().collect::<Vec<_>>(), vec!["e1"]);
    }

    #[test]
    fn profile_delete_makes_replays_wait() {
        let seg = segment(10, 30);
        let det = ace(12);
        let delete = r#"{"type":"delete","kind":"profile","id":"p"}"#;
        let base = [PROFILE, EVENT, REPLAY, &seg, &det];
        let v = views(&base);
        assert!(v.events["e1"].profile_known);
        assert_eq!(replay(&v, "r1").status, ReplayStatus::InProgress);

        let v = views(&[&base[..], &[delete]].concat());
        assert!(!v.events["e1"].profile_known);
        assert_eq!(replay(&v, "r1").status, ReplayStatus::WaitingForEvent);
        assert!(replay(&v, "r1").clips.is_empty());

        let v = views(&[&base[..], &[delete, PROFILE]].concat());
        assert_eq!(v, views(&base));

        // A replay of an unknown event waits too.
        let v = views(&[PROFILE, REPLAY, &seg, &det]);
        assert_eq!(replay(&v, "r1").status, ReplayStatus::WaitingForEvent);
    }

    #[test]
    fn replay_delete_and_recreate() {
        let seg = segment(10, 30);
        let det = ace(12);
        let delete = r#"{"type":"delete","kind":"replay","id":"r1"}"#;
        let delete_unknown = r#"{"type":"delete","kind":"replay","id":"nope"}"#;
        let base = [PROFILE, EVENT, REPLAY, &seg, &det];
        let v = views(&[&base[..], &[delete]].concat());
        assert!(v.replays.is_empty());
        let v = views(&[&base[..], &[delete, delete_unknown, REPLAY]].concat());
        assert_eq!(v, views(&base));
    }

    #[test]
    fn replay_settings_follow_the_latest_record() {
        let seg = segment(10, 30);
        let det = ace(12);
        let after_event = r#"{"type":"replay","replay_id":"r1","event_id":"e1","duration":60,"priorities":[{"attribute":"Ace","weight":20}]}"#;
        let ended = r#"{"type":"event","event_id":"e1","profile":"p","status":"ended"}"#;
        let v = views(&[PROFILE, EVENT, REPLAY, &seg, &det, after_event]);
        assert_eq!(replay(&v, "r1").status, ReplayStatus::Queued);
        let v = views(&[PROFILE, EVENT, REPLAY, &seg, &det, after_event, ended]);
        assert_eq!(replay(&v, "r1").status, ReplayStatus::Complete);
        assert_eq!(replay(&v, "r1").total_score, Some(20));
        assert_eq!(v.events["e1"].status, EventStatus::Ended);
        // A later `started` reopens the event.
        let v = views(&[PROFILE, EVENT, REPLAY, &seg, &det, after_event, ended, EVENT]);
        assert_eq!(replay(&v, "r1").status, ReplayStatus::Queued);
    }

    #[test]
    fn liked_and_disliked_segments() {
        let (a, b, c) = (segment(10, 20), segment(30, 40), segment(50, 60));
        let (ace_a, ace_c) = (ace(11), ace(51));
        let (like_b, dislike_c) = (feedback(30, "like"), feedback(50, "dislike"));
        let reset_b = feedback(30, "reset");
        let like_b_track2 =
            r#"{"type":"feedback","event_id":"e1","start":30,"track":2,"verdict":"like"}"#;
        let both = r#"{"type":"replay","replay_id":"r1","event_id":"e1","catchup":true,"duration":60,"include_liked":true,"ignore_disliked":true,"priorities":[{"attribute":"Ace","weight":50}]}"#;
        let base = [PROFILE, EVENT, &a, &b, &c, &ace_a, &ace_c, &like_b, &dislike_c];

        let v = views(&[&base[..], &[REPLAY]].concat());
        assert_eq!(seg_view(&v, 30).feedback[&1], Verdict::Like);
        assert_eq!(starts(replay(&v, "r1")), vec![10, 50]);

        let v = views(&[&base[..], &[both]].concat());
        let view = replay(&v, "r1");
        assert_eq!(starts(view), vec![10, 30]);
        let liked = &view.clips[1];
        assert!(liked.forced);
        assert_eq!(liked.score, Some(0));
        assert!(liked.features.is_empty());

        // A reset clears the like; a like on track 2 does not count for a track-1 replay.
        let v = views(&[&base[..], &[both, &reset_b, like_b_track2]].concat());
        assert_eq!(starts(replay(&v, "r1")), vec![10]);
        let s = seg_view(&v, 30);
        assert_eq!(s.feedback, BTreeMap::from([(2, Verdict::Like)]));
        assert_eq!(s.features.keys().copied().collect::<Vec<_>>(), vec![1, 2]);
    }

    fn starts(view: &ReplayView) -> Vec<u64> {
        view.clips.iter().map(|c| c.start_ms / 1000).collect()
    }

    #[test]
    fn optimizer_gates_candidates_and_moves_clip_bounds() {
        let (a, b) = (segment(10, 30), segment(40, 50));
        let (ace_a, ace_b) = (ace(11), ace(41));
        let opt_a = r#"{"type":"optimization","event_id":"e1","plugin":"opt","start":10,"opto_start":9.5,"opto_end":30.25}"#;
        let opt_b_track2 = r#"{"type":"optimization","event_id":"e1","plugin":"opt","start":40,"track":2,"opto_start":39,"opto_end":51}"#;
        let lines = [EVENT, &a, &b, &ace_a, &ace_b, opt_a, opt_b_track2, REPLAY];

        let v = views(&[&[PROFILE_WITH_OPTIMIZER][..], &lines].concat());
        assert!(v.events["e1"].has_optimizer);
        let view = replay(&v, "r1");
        assert_eq!(view.clips.len(), 1);
        assert_eq!((view.clips[0].clip_start_ms, view.clips[0].clip_end_ms), (9_500, 30_250));
        assert_eq!((view.clips[0].start_ms, view.clips[0].end_ms), (10_000, 30_000));
        assert_eq!(seg_view(&v, 40).features.keys().copied().collect::<Vec<_>>(), vec![1, 2]);

        // Without an optimizer every complete segment counts, and an optimization still
        // moves the clip bounds.
        let v = views(&[&[PROFILE][..], &lines].concat());
        assert!(!v.events["e1"].has_optimizer);
        assert_eq!(clips_s(replay(&v, "r1")), vec![(10, 9, 30), (40, 40, 50)]);
    }

    #[test]
    fn label_and_segment_attributes_are_features() {
        let seg = r#"{"type":"segment","event_id":"e1","plugin":"seg","start":10,"end":30,"attributes":{"Rally":3}}"#;
        let label = r#"{"type":"label","event_id":"e1","plugin":"lab","start":10,"label":"Goal!","attributes":{"Goal":true}}"#;
        let wants_goal = r#"{"type":"replay","replay_id":"r1","event_id":"e1","catchup":true,"duration":60,"priorities":[{"plugin":"lab","attribute":"Goal","weight":40},{"plugin":"seg","attribute":"Rally","value":3,"weight":30},{"plugin":"seg","attribute":"Goal","weight":100}]}"#;
        let v = views(&[PROFILE, EVENT, seg, label, wants_goal]);
        let s = seg_view(&v, 10);
        assert_eq!(s.label.as_ref().map(|l| l.label.as_str()), Some("Goal!"));
        let expected = vec![
            feature("lab", "Goal", AttrValue::Bool(true)),
            feature("seg", "Rally", AttrValue::Int(3)),
        ];
        assert_eq!(s.features[&1], expected);
        let view = replay(&v, "r1");
        assert_eq!(view.total_score, Some(70));
        assert_eq!(view.clips[0].features, expected);

        // A label outlives a deleted segment and applies again when the segment comes back.
        let deleted =
            r#"{"type":"segment","event_id":"e1","plugin":"seg","start":10,"deleted":true}"#;
        let back = segment(10, 20);
        let v = views(&[PROFILE, EVENT, seg, label, wants_goal, deleted]);
        assert!(v.segments.is_empty());
        assert!(replay(&v, "r1").clips.is_empty());
        let v = views(&[PROFILE, EVENT, seg, label, wants_goal, deleted, &back]);
        assert_eq!(
            seg_view(&v, 10).features[&1],
            vec![feature("lab", "Goal", AttrValue::Bool(true))]
        );
        assert_eq!(replay(&v, "r1").total_score, Some(40));
    }

    #[test]
    fn values_compare_as_json_values() {
        let seg = segment(10, 30);
        let one_point_zero = r#"{"type":"detection","event_id":"e1","plugin":"score","start":12,"attributes":{"Sets":1.0}}"#;
        let wants_one = r#"{"type":"replay","replay_id":"one","event_id":"e1","catchup":true,"duration":60,"priorities":[{"attribute":"Sets","value":1,"weight":10}]}"#;
        let wants_true = r#"{"type":"replay","replay_id":"true","event_id":"e1","catchup":true,"duration":60,"priorities":[{"attribute":"Sets","weight":10}]}"#;
        let v = views(&[PROFILE, EVENT, &seg, one_point_zero, wants_one, wants_true]);
        assert_eq!(
            seg_view(&v, 10).features[&1],
            vec![feature("score", "Sets", AttrValue::Int(1))]
        );
        assert_eq!(starts(replay(&v, "one")), vec![10]);
        assert!(replay(&v, "true").clips.is_empty());
    }

    #[test]
    fn identical_entries_each_count_and_features_mode_has_no_score() {
        let seg = segment(10, 30);
        let det = ace(12);
        let twice = r#"{"type":"replay","replay_id":"r1","event_id":"e1","catchup":true,"duration":60,"priorities":[{"attribute":"Ace","weight":50},{"attribute":"Ace","weight":50}]}"#;
        let features = r#"{"type":"replay","replay_id":"f","event_id":"e1","catchup":true,"mode":"features","priorities":[{"attribute":"Ace","include":false},{"attribute":"Ace","plugin":"score"}]}"#;
        let excluded = r#"{"type":"replay","replay_id":"x","event_id":"e1","catchup":true,"mode":"features","priorities":[{"attribute":"Ace","include":false}]}"#;
        let v = views(&[PROFILE, EVENT, &seg, &det, twice, features, excluded]);
        assert_eq!(replay(&v, "r1").total_score, Some(100));
        assert_eq!(replay(&v, "f").clips[0].score, None);
        assert_eq!(replay(&v, "f").total_score, None);
        // `include: false` does not count, and does not exclude either.
        assert!(replay(&v, "x").clips.is_empty());
    }

    #[test]
    fn tracks_of_a_segment_view() {
        let seg = segment(10, 30);
        let two_tracks = r#"{"type":"event","event_id":"e1","profile":"p","status":"started","audio_tracks":[1,2]}"#;
        let video_only = r#"{"type":"event","event_id":"e1","profile":"p","status":"started","audio_tracks":[]}"#;
        let on_track_3 = r#"{"type":"detection","event_id":"e1","plugin":"audio","start":20,"track":3,"attributes":{"Cheer":true}}"#;
        let on_track_5_outside = r#"{"type":"detection","event_id":"e1","plugin":"audio","start":40,"track":5,"attributes":{"Cheer":true}}"#;
        let opt_track_4 = r#"{"type":"optimization","event_id":"e1","plugin":"opt","start":10,"track":4,"opto_start":9,"opto_end":31}"#;
        let video = ace(15);
        let tracks = |v: &Views| seg_view(v, 10).features.keys().copied().collect::<Vec<_>>();

        assert_eq!(tracks(&views(&[two_tracks, &seg])), vec![1, 2]);
        assert_eq!(tracks(&views(&[video_only, &seg])), vec![1]);
        // Without an event record the segment still has a view, on track 1.
        assert_eq!(tracks(&views(&[&seg])), vec![1]);

        let v = views(&[two_tracks, &seg, on_track_3, on_track_5_outside, opt_track_4, &video]);
        assert_eq!(tracks(&v), vec![1, 2, 3, 4]);
        let cheer = feature("audio", "Cheer", AttrValue::Bool(true));
        let s = seg_view(&v, 10);
        assert_eq!(s.features[&1], vec![ace_feature()]);
        assert_eq!(s.features[&3], vec![cheer, ace_feature()]);
        assert_eq!(s.features[&4], vec![ace_feature()]);
    }
}
