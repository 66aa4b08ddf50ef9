//! The incremental dataflow: every view of SEMANTICS §3–§5 as differential collections.
//!
//! [`views`] takes the collection of positioned input records and returns the event, segment
//! and replay views. It is built from `map`/`join`/`reduce`; the decisions inside it are the
//! plain functions of [`crate::selection`]. The shape:
//!
//! ```text
//! records -> latest record per key (reduce) -> minus what an event delete removed (join)
//!   events + profiles                     -> event views
//!   segments, labels, detections          -> feature rows (bucketed range join)
//!   segments + labels + optimizations + feedback + feature rows -> segment views (reduce)
//!   replay priorities x feature rows      -> matches (join on attribute and value)
//!   replays x segments + optimizations + feedback + matches     -> candidates (reduce)
//!   replays + event views + candidates    -> replay views (reduce, calls `replay_view`)
//! ```
//!
//! Each reduce recomputes one key (a segment, a replay-segment pair, a replay) when something
//! it depends on changes, so the work per input record does not grow with the event's length,
//! except for the final selection of a replay, which is linear in its candidates.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use differential_dataflow::{AsCollection, Hashable, VecCollection};
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;

use reeltime_schemas::record::{
    DeleteKind, Detection, Event, Label, Optimization, Profile, Record, Replay, ReplayMode,
    Segment, Seq, Verdict,
};
use reeltime_schemas::view::{EventView, Feature, LabelView, OptoBounds, ReplayView, SegmentView};

use crate::selection::{self, Candidate};

/// The timely timestamp: an ingest epoch (a batch of records), not media time.
pub type Epoch = u64;

/// A differential collection at epoch timestamps.
pub type Collection<'s, D> = VecCollection<'s, Epoch, D>;

/// The views the dataflow maintains.
pub struct ViewCollections<'s> {
    /// Live events by id.
    pub events: Collection<'s, (String, EventView)>,
    /// Live segments by `(event_id, start_ms)`.
    pub segments: Collection<'s, ((String, u64), SegmentView)>,
    /// Live replays by id.
    pub replays: Collection<'s, (String, ReplayView)>,
}

/// Builds the views over a collection of `(position, record)`.
pub fn views<'s>(records: Collection<'s, (Seq, Record)>) -> ViewCollections<'s> {
    let barriers = event_barriers(records.clone());
    let inputs = live_inputs(records, barriers);

    let events = event_views(inputs.events.clone(), inputs.profiles.clone());
    let in_segments = detections_in_segments(&inputs);
    let features = feature_rows(&inputs, in_segments.clone());
    let segments = segment_views(&inputs, events.clone(), features.clone(), in_segments);
    let replays = replay_views(&inputs, events.clone(), features);
    ViewCollections { events, segments, replays }
}

/// For each event, the position of its latest delete: records about it from before are gone.
fn event_barriers<'s>(records: Collection<'s, (Seq, Record)>) -> Collection<'s, (String, Seq)> {
    records
        .flat_map(|(seq, record)| match record {
            Record::Delete(d) if d.kind == DeleteKind::Event => Some((d.id, seq)),
            _ => None,
        })
        .reduce(|_event, positions, output| {
            let (latest, _) = positions[positions.len() - 1];
            output.push((*latest, 1));
        })
}

/// What latest-wins is decided on (SEMANTICS §3, §8.4–§8.6): the later record for the same
/// key replaces the earlier one. Deletes of profiles and replays compete under their target's
/// key, so whichever is later wins.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum RecordKey {
    Profile(String),
    Event(String),
    Replay(String),
    Segment(String, u64),
    Optimization(String, u64, u32),
    Label(String, u64),
    Detection(Detection),
    Feedback(String, u64, u32),
}

/// The key of a record; `None` for records that are not views' inputs (event deletes act as
/// barriers, chunks feed plugins).
fn record_key(record: &Record) -> Option<RecordKey> {
    Some(match record {
        Record::Profile(p) => RecordKey::Profile(p.name.clone()),
        Record::Event(e) => RecordKey::Event(e.event_id.clone()),
        Record::Replay(r) => RecordKey::Replay(r.replay_id.clone()),
        Record::Segment(s) => RecordKey::Segment(s.event_id.clone(), s.start_ms),
        Record::Optimization(o) => RecordKey::Optimization(o.event_id.clone(), o.start_ms, o.track),
        Record::Label(l) => RecordKey::Label(l.event_id.clone(), l.start_ms),
        Record::Detection(d) => RecordKey::Detection(d.identity()),
        Record::Feedback(f) => RecordKey::Feedback(f.event_id.clone(), f.start_ms, f.track),
        Record::Delete(d) => match d.kind {
            DeleteKind::Profile => RecordKey::Profile(d.id.clone()),
            DeleteKind::Replay => RecordKey::Replay(d.id.clone()),
            DeleteKind::Event => return None,
        },
        Record::Chunk(_) => return None,
    })
}

/// Whether a winning record makes its key present: a delete, a deleted segment or detection,
/// and a feedback reset make it absent.
fn is_present(record: &Record) -> bool {
    match record {
        Record::Delete(_) => false,
        Record::Segment(s) => !s.deleted,
        Record::Detection(d) => !d.deleted,
        Record::Feedback(f) => f.verdict != Verdict::Reset,
        _ => true,
    }
}

/// The record that wins each key, when it makes its key present, with its position.
///
/// The log is append-only (records are inserted, never retracted), so the winner of a key only
/// ever moves to a later position. That lets this operator keep just the current winner per
/// key, instead of the history of every record that a differential `reduce` would arrange:
/// records are exchanged by key, held until the input frontier passes their epoch, then
/// applied in epoch order; a later record retracts the earlier winner and asserts itself.
fn winners<'s>(records: Collection<'s, (Seq, Record)>) -> Collection<'s, (Seq, Record)> {
    type Update = ((RecordKey, (Seq, Record)), Epoch, isize);
    let keyed =
        records.flat_map(|(seq, record)| record_key(&record).map(|key| (key, (seq, record))));
    let by_key = Exchange::new(|update: &Update| update.0 .0.hashed());
    keyed
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<((Seq, Record), Epoch, isize)>>, _, _, _>(
            by_key,
            "LatestPerKey",
            |_capability, _info| {
                let mut pending: BTreeMap<Epoch, (Capability<Epoch>, Vec<Update>)> =
                    BTreeMap::new();
                let mut latest: HashMap<RecordKey, (Seq, Record)> = HashMap::new();
                move |(input, frontier), output| {
                    input.for_each_stamp(|capability, batches| {
                        if let Some(capability) = capability.retain_least(output.output_index()) {
                            let held = pending
                                .entry(*capability.time())
                                .or_insert_with(|| (capability, Vec::new()));
                            for batch in batches {
                                held.1.append(batch);
                            }
                        }
                    });
                    while let Some(entry) = pending.first_entry() {
                        if frontier.less_equal(entry.key()) {
                            break;
                        }
                        let (capability, mut updates) = entry.remove();
                        // Within an epoch, apply in log order so the last record wins.
                        updates.sort_by_key(|((_key, (seq, _record)), _time, _diff)| *seq);
                        let mut session = output.session(&capability);
                        for ((key, (seq, record)), time, diff) in updates {
                            debug_assert!(diff > 0, "the log is append-only");
                            if latest.get(&key).is_some_and(|(held, _)| *held >= seq) {
                                continue;
                            }
                            if let Some(earlier) = latest.insert(key, (seq, record.clone())) {
                                session.give((earlier, time, -1));
                            }
                            session.give(((seq, record), time, 1));
                        }
                    }
                }
            },
        )
        .as_collection()
        .flat_map(|(seq, record)| is_present(&record).then_some((seq, record)))
}

/// Drops each winner older than the latest delete of its event (SEMANTICS §8.12). For a
/// replay, its event is the one the winning replay record names.
fn after_barrier<'s>(
    winners: Collection<'s, (Seq, Record)>,
    barriers: Collection<'s, (String, Seq)>,
) -> Collection<'s, Record> {
    let by_event = winners
        .clone()
        .flat_map(|(seq, record)| record.event_id().map(str::to_owned).map(|e| (e, (seq, record))));
    let removed = by_event
        .clone()
        .join(barriers)
        .filter(|(_event, ((seq, _record), barrier))| seq < barrier)
        .map(|(event, (winner, _barrier))| (event, winner));
    let without_event = winners.filter(|(_seq, record)| record.event_id().is_none());
    by_event
        .concat(removed.negate())
        .map(|(_event, winner)| winner)
        .concat(without_event)
        .map(|(_seq, record)| record)
}

/// The live input records, one collection per kind, keyed by identity.
struct Inputs<'s> {
    profiles: Collection<'s, (String, Profile)>,
    events: Collection<'s, (String, Event)>,
    segments: Collection<'s, ((String, u64), Segment)>,
    optimizations: Collection<'s, ((String, u64, u32), Optimization)>,
    labels: Collection<'s, ((String, u64), Label)>,
    detections: Collection<'s, Detection>,
    replays: Collection<'s, (String, Replay)>,
    feedback: Collection<'s, ((String, u64, u32), Verdict)>,
}

fn live_inputs<'s>(
    records: Collection<'s, (Seq, Record)>,
    barriers: Collection<'s, (String, Seq)>,
) -> Inputs<'s> {
    let live = after_barrier(winners(records), barriers);
    Inputs {
        profiles: live.clone().flat_map(|record| match record {
            Record::Profile(p) => Some((p.name.clone(), p)),
            _ => None,
        }),
        events: live.clone().flat_map(|record| match record {
            Record::Event(e) => Some((e.event_id.clone(), e)),
            _ => None,
        }),
        segments: live.clone().flat_map(|record| match record {
            Record::Segment(s) => Some(((s.event_id.clone(), s.start_ms), s)),
            _ => None,
        }),
        optimizations: live.clone().flat_map(|record| match record {
            Record::Optimization(o) => Some(((o.event_id.clone(), o.start_ms, o.track), o)),
            _ => None,
        }),
        labels: live.clone().flat_map(|record| match record {
            Record::Label(l) => Some(((l.event_id.clone(), l.start_ms), l)),
            _ => None,
        }),
        detections: live.clone().flat_map(|record| match record {
            Record::Detection(d) => Some(d),
            _ => None,
        }),
        replays: live.clone().flat_map(|record| match record {
            Record::Replay(r) => Some((r.replay_id.clone(), r)),
            _ => None,
        }),
        feedback: live.flat_map(|record| match record {
            Record::Feedback(f) => Some(((f.event_id, f.start_ms, f.track), f.verdict)),
            _ => None,
        }),
    }
}

fn event_views<'s>(
    events: Collection<'s, (String, Event)>,
    profiles: Collection<'s, (String, Profile)>,
) -> Collection<'s, (String, EventView)> {
    let by_profile = events.map(|(id, event)| (event.profile.clone(), (id, event)));
    let has_optimizer = profiles.map(|(name, profile)| (name, profile.optimizer.is_some()));
    let known =
        by_profile.clone().join_map(has_optimizer.clone(), |_name, (id, event), has_optimizer| {
            (id.clone(), event_view(event, true, *has_optimizer))
        });
    let unknown = by_profile
        .antijoin(has_optimizer.map(|(name, _)| name))
        .map(|(_name, (id, event))| (id, event_view(&event, false, false)));
    known.concat(unknown)
}

fn event_view(event: &Event, profile_known: bool, has_optimizer: bool) -> EventView {
    EventView {
        event_id: event.event_id.clone(),
        program: event.program.clone(),
        profile: event.profile.clone(),
        profile_known,
        has_optimizer,
        status: event.status,
        frame_rate_milli: event.frame_rate_milli,
        audio_tracks: event.audio_tracks.clone(),
        title: event.title.clone(),
        extra: event.extra.clone(),
    }
}

/// A feature of a segment, tagged with the track it applies to (`None`: every track).
type FeatureRow = ((String, u64), (Option<u32>, Feature));

/// Buckets of the range join: a detection at `start` meets the segments whose range covers it.
///
/// Each segment picks the finest level at which its range spans at most [`MAX_BUCKETS`]
/// buckets of `2^(BASE_SHIFT + level)` ms, and is listed under each of them; a detection is
/// listed under its one bucket at every level some segment of its event uses. So a detection
/// meets only the segments near it, and a long segment costs a few rows, not thousands.
const BASE_SHIFT: u32 = 13;
const MAX_BUCKETS: u64 = 4;

fn bucket_level(start_ms: u64, end_ms: u64) -> u32 {
    (0..)
        .find(|level| {
            (end_ms >> (BASE_SHIFT + level)) - (start_ms >> (BASE_SHIFT + level)) < MAX_BUCKETS
        })
        .unwrap_or(0)
}

/// Every detection paired with every segment whose range holds its start.
fn detections_in_segments<'s>(inputs: &Inputs<'s>) -> Collection<'s, ((String, u64), Detection)> {
    let segment_buckets = inputs.segments.clone().flat_map(|((event_id, start), segment)| {
        let end = segment.range_end_ms();
        let level = bucket_level(start, end);
        let shift = BASE_SHIFT + level;
        ((start >> shift)..=(end >> shift))
            .map(move |bucket| ((event_id.clone(), level, bucket), (start, end)))
    });
    let levels_in_use = segment_buckets
        .clone()
        .map(|((event_id, level, _bucket), _range)| (event_id, level))
        .distinct();
    let detection_buckets = inputs
        .detections
        .clone()
        .map(|detection| (detection.event_id.clone(), detection))
        .join_map(levels_in_use, |event_id, detection, level| {
            let bucket = detection.start_ms >> (BASE_SHIFT + level);
            ((event_id.clone(), *level, bucket), detection.clone())
        });
    detection_buckets
        .join_map(segment_buckets, |(event_id, _, _), detection, (start, end)| {
            (event_id.clone(), *start, *end, detection.clone())
        })
        .filter(|(_event_id, start, end, detection)| {
            *start <= detection.start_ms && detection.start_ms <= *end
        })
        .map(|(event_id, start, _end, detection)| ((event_id, start), detection))
}

fn feature_rows<'s>(
    inputs: &Inputs<'s>,
    in_segments: Collection<'s, ((String, u64), Detection)>,
) -> Collection<'s, FeatureRow> {
    let detection_features = in_segments.flat_map(|(key, detection)| {
        let track = detection.track;
        let plugin = detection.plugin;
        detection.attributes.into_iter().map(move |(attribute, value)| {
            (key.clone(), (track, Feature { plugin: plugin.clone(), attribute, value }))
        })
    });
    let segment_features = inputs.segments.clone().flat_map(|(key, segment)| {
        let plugin = segment.plugin;
        segment.attributes.into_iter().map(move |(attribute, value)| {
            (key.clone(), (None, Feature { plugin: plugin.clone(), attribute, value }))
        })
    });
    let label_features = inputs.labels.clone().flat_map(|(key, label)| {
        let plugin = label.plugin;
        label.attributes.into_iter().map(move |(attribute, value)| {
            (key.clone(), (None, Feature { plugin: plugin.clone(), attribute, value }))
        })
    });
    detection_features.concat(segment_features).concat(label_features).distinct()
}

/// Everything that goes into one segment view.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum SegmentPart {
    Segment(Segment),
    Label(Label),
    Optimization(u32, OptoBounds),
    Feedback(u32, Verdict),
    Feature(Option<u32>, Feature),
    EventTracks(Vec<u32>),
    /// A detection of this track lies in the segment (it may have no attributes).
    TrackDetection(u32),
}

fn segment_views<'s>(
    inputs: &Inputs<'s>,
    events: Collection<'s, (String, EventView)>,
    features: Collection<'s, FeatureRow>,
    in_segments: Collection<'s, ((String, u64), Detection)>,
) -> Collection<'s, ((String, u64), SegmentView)> {
    let event_tracks = events.map(|(id, event)| (id, event.audio_tracks));
    let tracks = inputs
        .segments
        .clone()
        .map(|((event_id, start), _segment)| (event_id, start))
        .join_map(event_tracks, |event_id, start, tracks| {
            ((event_id.clone(), *start), SegmentPart::EventTracks(tracks.clone()))
        });
    let parts = inputs
        .segments
        .clone()
        .map(|(key, segment)| (key, SegmentPart::Segment(segment)))
        .concat(inputs.labels.clone().map(|(key, label)| (key, SegmentPart::Label(label))))
        .concat(inputs.optimizations.clone().map(|((event_id, start, track), o)| {
            let bounds = OptoBounds { opto_start_ms: o.opto_start_ms, opto_end_ms: o.opto_end_ms };
            ((event_id, start), SegmentPart::Optimization(track, bounds))
        }))
        .concat(inputs.feedback.clone().map(|((event_id, start, track), verdict)| {
            ((event_id, start), SegmentPart::Feedback(track, verdict))
        }))
        .concat(features.map(|(key, (track, feature))| (key, SegmentPart::Feature(track, feature))))
        .concat(tracks)
        .concat(in_segments.flat_map(|(key, detection)| {
            detection.track.map(|track| (key, SegmentPart::TrackDetection(track)))
        }));
    parts.reduce(|(event_id, start), parts, output| {
        if let Some(view) = segment_view(event_id, *start, parts.iter().map(|(part, _)| *part)) {
            output.push((view, 1));
        }
    })
}

fn segment_view<'a>(
    event_id: &str,
    start_ms: u64,
    parts: impl Iterator<Item = &'a SegmentPart>,
) -> Option<SegmentView> {
    let mut segment = None;
    let mut label = None;
    let mut optimizations = BTreeMap::new();
    let mut feedback = BTreeMap::new();
    let mut shared = BTreeSet::new();
    let mut per_track: BTreeMap<u32, BTreeSet<Feature>> = BTreeMap::new();
    let mut tracks = BTreeSet::new();
    let mut detection_tracks = Vec::new();
    for part in parts {
        match part {
            SegmentPart::Segment(s) => segment = Some(s),
            SegmentPart::Label(l) => label = Some(l),
            SegmentPart::Optimization(track, bounds) => {
                optimizations.insert(*track, *bounds);
            }
            SegmentPart::Feedback(track, verdict) => {
                feedback.insert(*track, *verdict);
            }
            SegmentPart::Feature(None, feature) => {
                shared.insert(feature.clone());
            }
            SegmentPart::Feature(Some(track), feature) => {
                per_track.entry(*track).or_default().insert(feature.clone());
            }
            SegmentPart::EventTracks(event_tracks) => tracks.extend(event_tracks.iter().copied()),
            SegmentPart::TrackDetection(track) => detection_tracks.push(*track),
        }
    }
    let segment = segment?;
    if tracks.is_empty() {
        tracks.insert(1);
    }
    tracks.extend(optimizations.keys().chain(feedback.keys()).chain(&detection_tracks));
    let features = tracks
        .into_iter()
        .map(|track| {
            let mut features: BTreeSet<Feature> = shared.clone();
            features.extend(per_track.get(&track).into_iter().flatten().cloned());
            (track, features.into_iter().collect())
        })
        .collect();
    Some(SegmentView {
        event_id: event_id.to_owned(),
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
        optimizations,
        features,
        feedback,
        extra: segment.extra.clone(),
    })
}

/// What a replay needs to know about a segment to decide whether it is a candidate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum CandidatePart {
    /// The replay's feedback settings and the segment's bounds.
    Pair { include_liked: bool, ignore_disliked: bool, start_ms: u64, end_ms: u64 },
    /// The segment's optimized bounds on the replay's track.
    Optimization(OptoBounds),
    /// The feedback on the replay's track.
    Feedback(Verdict),
    /// Priority entry `index` (with its weight) matched `feature`.
    Match { index: usize, weight: u32, feature: Feature },
}

/// Everything that goes into one replay view.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum ReplayPart {
    Replay(Box<(Replay, Option<EventView>)>),
    /// A candidate, and whether it is optimized on the replay's track.
    Candidate(bool, Candidate),
}

fn replay_views<'s>(
    inputs: &Inputs<'s>,
    events: Collection<'s, (String, EventView)>,
    features: Collection<'s, FeatureRow>,
) -> Collection<'s, (String, ReplayView)> {
    // Replays that choose among segments, keyed by event, with the track they look at.
    let choosing = inputs
        .replays
        .clone()
        .filter(|(_id, replay)| replay.mode != ReplayMode::Timestamps)
        .map(|(id, replay)| (replay.event_id.clone(), (id, replay)));

    let entries = choosing.clone().flat_map(|(event_id, (id, replay))| {
        let counting: Vec<_> = replay
            .priorities
            .iter()
            .enumerate()
            .filter(|(_, p)| selection::entry_counts(&replay, p))
            .map(|(index, p)| {
                let key = (event_id.clone(), p.attribute.clone(), p.value.clone());
                (key, (id.clone(), replay.track, index, p.plugin.clone(), p.weight.unwrap_or(0)))
            })
            .collect();
        counting
    });
    let matches = features
        .map(|((event_id, start), (track, feature))| {
            ((event_id, feature.attribute.clone(), feature.value.clone()), (start, track, feature))
        })
        .join_map(
            entries,
            |_key, (start, track, feature), (id, replay_track, index, plugin, weight)| {
                let applies = track.is_none_or(|t| t == *replay_track)
                    && plugin.as_ref().is_none_or(|p| *p == feature.plugin);
                (applies, (id.clone(), *start), *index, *weight, feature.clone())
            },
        )
        .filter(|(applies, ..)| *applies)
        .map(|(_, key, index, weight, feature)| {
            (key, CandidatePart::Match { index, weight, feature })
        });

    let pairs = choosing.clone().join_map(
        inputs
            .segments
            .clone()
            .filter(|(_key, segment)| segment.is_complete())
            .map(|((event_id, start), segment)| (event_id, (start, segment.range_end_ms()))),
        |_event_id, (id, replay), (start, end)| {
            let part = CandidatePart::Pair {
                include_liked: replay.include_liked,
                ignore_disliked: replay.ignore_disliked,
                start_ms: *start,
                end_ms: *end,
            };
            ((id.clone(), *start), part)
        },
    );

    let replay_tracks = choosing.map(|(event_id, (id, replay))| ((event_id, replay.track), id));
    let optimizations = inputs
        .optimizations
        .clone()
        .map(|((event_id, start, track), o)| {
            let bounds = OptoBounds { opto_start_ms: o.opto_start_ms, opto_end_ms: o.opto_end_ms };
            ((event_id, track), (start, bounds))
        })
        .join_map(replay_tracks.clone(), |_key, (start, bounds), id| {
            ((id.clone(), *start), CandidatePart::Optimization(*bounds))
        });
    let feedback = inputs
        .feedback
        .clone()
        .map(|((event_id, start, track), verdict)| ((event_id, track), (start, verdict)))
        .join_map(replay_tracks, |_key, (start, verdict), id| {
            ((id.clone(), *start), CandidatePart::Feedback(*verdict))
        });

    let candidates = pairs
        .concat(optimizations)
        .concat(feedback)
        .concat(matches)
        .reduce(|_key, parts, output| {
            if let Some(candidate) = candidate(parts.iter().map(|(part, _)| *part)) {
                output.push((candidate, 1));
            }
        })
        .map(|((id, _start), (optimized, candidate))| {
            (id, ReplayPart::Candidate(optimized, candidate))
        });

    let by_event =
        inputs.replays.clone().map(|(id, replay)| (replay.event_id.clone(), (id, replay)));
    let with_event = by_event.clone().join_map(events.clone(), |_event_id, (id, replay), event| {
        (id.clone(), ReplayPart::Replay(Box::new((replay.clone(), Some(event.clone())))))
    });
    let without_event = by_event
        .antijoin(events.map(|(event_id, _)| event_id))
        .map(|(_event_id, (id, replay))| (id, ReplayPart::Replay(Box::new((replay, None)))));

    with_event.concat(without_event).concat(candidates).reduce(|_id, parts, output| {
        let mut header = None;
        let mut candidates = Vec::new();
        for (part, _) in parts {
            match part {
                ReplayPart::Replay(header_part) => {
                    header = Some((&header_part.0, header_part.1.as_ref()))
                }
                ReplayPart::Candidate(optimized, candidate) => {
                    candidates.push((*optimized, candidate))
                }
            }
        }
        if let Some((replay, event)) = header {
            let needs_optimization = event.is_some_and(|e| e.has_optimizer);
            let candidates: Vec<Candidate> = candidates
                .into_iter()
                .filter(|(optimized, _)| *optimized || !needs_optimization)
                .map(|(_, candidate)| candidate.clone())
                .collect();
            output.push((selection::replay_view(replay, event, &candidates), 1));
        }
    })
}

/// Decides whether a replay-segment pair is a candidate (SEMANTICS §5, §8.8), and whether it
/// is optimized on the replay's track.
fn candidate<'a>(parts: impl Iterator<Item = &'a CandidatePart>) -> Option<(bool, Candidate)> {
    let mut pair = None;
    let mut optimization = None;
    let mut verdict = None;
    let mut matched: BTreeMap<usize, u32> = BTreeMap::new();
    let mut features = BTreeSet::new();
    for part in parts {
        match part {
            CandidatePart::Pair { .. } => pair = Some(part),
            CandidatePart::Optimization(bounds) => optimization = Some(*bounds),
            CandidatePart::Feedback(v) => verdict = Some(*v),
            CandidatePart::Match { index, weight, feature } => {
                matched.insert(*index, *weight);
                features.insert(feature.clone());
            }
        }
    }
    let Some(CandidatePart::Pair { include_liked, ignore_disliked, start_ms, end_ms }) = pair
    else {
        return None;
    };
    let forced = *include_liked && verdict == Some(Verdict::Like);
    if *ignore_disliked && verdict == Some(Verdict::Dislike) {
        return None;
    }
    if matched.is_empty() && !forced {
        return None;
    }
    let (clip_start_ms, clip_end_ms) =
        optimization.map_or((*start_ms, *end_ms), |b| (b.opto_start_ms, b.opto_end_ms));
    Some((
        optimization.is_some(),
        Candidate {
            start_ms: *start_ms,
            end_ms: *end_ms,
            clip_start_ms,
            clip_end_ms,
            score: matched.values().map(|w| u64::from(*w)).sum(),
            forced,
            features: features.into_iter().collect(),
        },
    ))
}
