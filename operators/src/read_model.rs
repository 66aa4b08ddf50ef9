//! The read model: the views as of the last closed epoch, in the normalized form the dataflow
//! emits ([`Row`]s), their replay versions, and the notifications each epoch's changes make
//! (SEMANTICS §6, docs/semantics-decisions.md).
//!
//! [`ReadModel::apply`] takes one closed epoch's row changes and says what they changed
//! ([`Changes`]): the notifications, and the events, segments and replays whose documents
//! differ. Documents are assembled on demand from the rows ([`ReadModel::segment_view`],
//! [`ReadModel::event_view`], [`ReadModel::views`]), so only what an epoch touched is ever
//! built again. A replay's view is kept assembled, since every change of it gets a version.
//! The read model also serves what the exports and the render sink read: profiles, replay
//! definitions, live detections and chunks, all of them rows of the dataflow.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use reeltime_schemas::record::{Chunk, EventStatus, Profile, Replay, ReplayMode, Verdict};
use reeltime_schemas::view::{
    ClipView, EventView, Feature as FeatureView, LabelView, Notification, OptoBounds, ReplayStatus,
    ReplayView, SegmentView,
};

use crate::compact::{
    extra_of, Bounds, DetKey, Feature, LabelRec, Ms, ReplayDef, SegmentRec, Track,
};
use crate::rows::{ClipRow, EventRow, Row, RowChange};
use crate::symbol::Sym;
use crate::views::Views;

/// What one epoch changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The notifications, in the documented order.
    pub notifications: Vec<Notification>,
    /// Events whose event view, segments or chunks changed.
    pub events: BTreeSet<String>,
    /// Events whose event view changed (status, tracks, profile...).
    pub event_views: BTreeSet<String>,
    /// Segments whose view changed or that were removed, by `(event_id, start_ms)`.
    pub segments: BTreeSet<(String, u64)>,
    /// Replays whose view changed or that were removed.
    pub replays: BTreeSet<String>,
    /// Events whose chunks changed.
    pub chunk_events: BTreeSet<String>,
    /// Events whose live detections changed (their exports list them).
    pub detection_events: BTreeSet<String>,
    /// Chunks that newly say they cannot be used (a new error, not one said before).
    pub failed_chunks: Vec<Arc<Chunk>>,
}

/// A live segment's bounds and its optimized bounds per track: what clips are cut from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentBounds {
    /// The segment's start in milliseconds.
    pub start_ms: u64,
    /// Its end in milliseconds when it is complete.
    pub complete_end_ms: Option<u64>,
    /// Its optimized bounds by track.
    pub optimizations: BTreeMap<u32, OptoBounds>,
}

/// A replay's header and clip bounds before an epoch.
type ReplayBefore = (ReplayHeader, Vec<(Ms, Ms)>);

/// What a replay's view shows besides its clips, to tell whether a replay row changed it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ReplayHeader {
    event_id: &'static str,
    status: ReplayStatus,
    mode: ReplayMode,
    track: u32,
    catchup: bool,
    render: String,
}

/// A segment's summary, what its notifications are decided on.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SegmentSummary {
    complete: bool,
    end: Option<Ms>,
    optimizations: Vec<(Track, Bounds)>,
}

/// The views after each closed epoch, with the version of every replay.
#[derive(Debug, Default)]
pub struct ReadModel {
    profiles: BTreeMap<Sym, Arc<Profile>>,
    events: BTreeMap<Sym, EventRow>,
    segments: BTreeMap<(Sym, Ms), SegmentRec>,
    labels: BTreeMap<(Sym, Ms), LabelRec>,
    optimizations: BTreeMap<(Sym, Ms, Track), Bounds>,
    feedback: BTreeMap<(Sym, Ms, Track), Verdict>,
    features: BTreeSet<(Sym, Ms, Option<Track>, Feature)>,
    segment_tracks: BTreeSet<(Sym, Ms, Track)>,
    detections: BTreeSet<(Sym, DetKey)>,
    chunks: BTreeMap<(Sym, u64), Arc<Chunk>>,
    replays: BTreeMap<Sym, (Arc<ReplayDef>, ReplayStatus)>,
    clips: BTreeSet<(Sym, ClipRow)>,
    clip_features: BTreeSet<(Sym, Ms, Feature)>,
    /// The last version given to each replay id; kept after a delete so versions never repeat.
    versions: BTreeMap<String, u64>,
}

fn set<K: Ord>(set: &mut BTreeSet<K>, key: K, diff: isize) {
    if diff > 0 {
        set.insert(key);
    } else {
        set.remove(&key);
    }
}

fn map<K: Ord, V: PartialEq>(map: &mut BTreeMap<K, V>, key: K, value: V, diff: isize) {
    if diff > 0 {
        map.insert(key, value);
    } else if map.get(&key) == Some(&value) {
        map.remove(&key);
    }
}

/// The symbols of `(event, start)` keys as text.
fn segment_key(event: Sym, start: Ms) -> (String, u64) {
    (event.text().to_owned(), start.into())
}

impl ReadModel {
    /// Applies one closed epoch's row changes, returning what changed.
    pub fn apply(&mut self, mut rows: Vec<RowChange>) -> Changes {
        // Retractions first, so that a changed row (old retracted, new asserted) is left new.
        rows.sort_by_key(|(_, diff)| *diff);
        let mut changes = Changes::default();
        let mut events: BTreeSet<Sym> = BTreeSet::new();
        let mut tracks_changed: BTreeSet<Sym> = BTreeSet::new();
        let mut segments: BTreeSet<(Sym, Ms)> = BTreeSet::new();
        let mut replays: BTreeSet<Sym> = BTreeSet::new();
        let mut chunk_events: BTreeSet<Sym> = BTreeSet::new();
        let mut detection_events: BTreeSet<Sym> = BTreeSet::new();
        for (row, _) in &rows {
            match row {
                Row::Event(event, _) => {
                    events.insert(*event);
                }
                Row::Segment(event, start, _)
                | Row::Label(event, start, _)
                | Row::Optimization(event, start, _, _)
                | Row::Feedback(event, start, _, _)
                | Row::Feature(event, start, _, _)
                | Row::SegmentTrack(event, start, _) => {
                    segments.insert((*event, *start));
                }
                Row::Chunk(event, _) => {
                    chunk_events.insert(*event);
                }
                Row::Replay(replay, _, _)
                | Row::Clip(replay, _)
                | Row::ClipFeature(replay, _, _) => {
                    replays.insert(*replay);
                }
                Row::Detection(event, _) => {
                    detection_events.insert(*event);
                }
                Row::Profile(..) => {}
            }
        }
        let old_events: BTreeMap<Sym, Option<EventRow>> =
            events.iter().map(|e| (*e, self.events.get(e).cloned())).collect();
        let old_segments: BTreeMap<(Sym, Ms), Option<SegmentSummary>> =
            segments.iter().map(|&(e, s)| ((e, s), self.summary(e, s))).collect();
        let mut known_errors: BTreeMap<(Sym, u64), Option<String>> = BTreeMap::new();
        // What a replay's notification compares: its view's header, and its clip bounds.
        let old_replays: BTreeMap<Sym, Option<ReplayBefore>> = replays
            .iter()
            .map(|&r| (r, self.replay_header(r).map(|header| (header, self.clip_bounds(r)))))
            .collect();
        let clips_touched: BTreeSet<Sym> = rows
            .iter()
            .filter_map(|(row, _)| match row {
                Row::Clip(replay, _) | Row::ClipFeature(replay, _, _) => Some(*replay),
                _ => None,
            })
            .collect();

        for (row, diff) in rows {
            match row {
                Row::Profile(name, profile) => map(&mut self.profiles, name, profile, diff),
                Row::Event(event, row) => map(&mut self.events, event, row, diff),
                Row::Segment(event, start, rec) => {
                    map(&mut self.segments, (event, start), rec, diff)
                }
                Row::Label(event, start, rec) => map(&mut self.labels, (event, start), rec, diff),
                Row::Optimization(event, start, track, bounds) => {
                    map(&mut self.optimizations, (event, start, track), bounds, diff)
                }
                Row::Feedback(event, start, track, verdict) => {
                    map(&mut self.feedback, (event, start, track), verdict, diff)
                }
                Row::Feature(event, start, track, feature) => {
                    set(&mut self.features, (event, start, track, feature), diff)
                }
                Row::SegmentTrack(event, start, track) => {
                    set(&mut self.segment_tracks, (event, start, track), diff)
                }
                Row::Detection(event, key) => set(&mut self.detections, (event, key), diff),
                Row::Chunk(event, chunk) => {
                    let key = (event, chunk.seq_no);
                    if diff < 0 {
                        known_errors.entry(key).or_insert_with(|| chunk.error.clone());
                    } else if chunk.error.is_some()
                        && known_errors.get(&key).is_none_or(|known| *known != chunk.error)
                    {
                        changes.failed_chunks.push(chunk.clone());
                    }
                    map(&mut self.chunks, key, chunk, diff)
                }
                Row::Replay(replay, def, status) => {
                    map(&mut self.replays, replay, (def, status), diff)
                }
                Row::Clip(replay, clip) => set(&mut self.clips, (replay, clip), diff),
                Row::ClipFeature(replay, start, feature) => {
                    set(&mut self.clip_features, (replay, start, feature), diff)
                }
            }
        }

        let mut event_order: Vec<Sym> = events.iter().copied().collect();
        event_order.sort_by_key(|e| e.text());
        for event in event_order {
            let old = &old_events[&event];
            let new = self.events.get(&event);
            let old_tracks = old.as_ref().map(|row| &row.def.record.audio_tracks);
            if old_tracks != new.map(|row| &row.def.record.audio_tracks) {
                tracks_changed.insert(event);
            }
            let was = old.as_ref().map(|row| row.def.record.status);
            let is = new.map(|row| row.def.record.status);
            if was != is {
                let event_id = event.text().to_owned();
                match is {
                    Some(EventStatus::Started) => {
                        changes.notifications.push(Notification::EventStarted { event_id })
                    }
                    Some(EventStatus::Ended) => {
                        changes.notifications.push(Notification::EventEnded { event_id })
                    }
                    _ => {}
                }
            }
            changes.events.insert(event.text().to_owned());
            changes.event_views.insert(event.text().to_owned());
        }

        let mut segment_order: Vec<(Sym, Ms)> = segments.iter().copied().collect();
        segment_order.sort_by_key(|(e, s)| (e.text(), *s));
        for (event, start) in segment_order {
            let old = &old_segments[&(event, start)];
            let new = self.summary(event, start);
            if old.is_none() && new.is_none() {
                continue;
            }
            changes.segments.insert(segment_key(event, start));
            changes.events.insert(event.text().to_owned());
            let Some(new) = new else { continue };
            self.segment_notifications(
                event,
                start,
                old.as_ref(),
                &new,
                &mut changes.notifications,
            );
        }
        for event in tracks_changed {
            // The event's tracks are the tracks of every segment view.
            let of_event: Vec<Ms> =
                self.segments.range((event, 0)..=(event, Ms::MAX)).map(|((_, s), _)| *s).collect();
            for start in of_event {
                changes.segments.insert(segment_key(event, start));
            }
        }
        for event in chunk_events {
            changes.chunk_events.insert(event.text().to_owned());
            changes.events.insert(event.text().to_owned());
        }
        changes.detection_events.extend(detection_events.iter().map(|e| e.text().to_owned()));

        let mut replay_order: Vec<Sym> = replays.into_iter().collect();
        replay_order.sort_by_key(|r| r.text());
        for replay in replay_order {
            let old = &old_replays[&replay];
            let new = self.replay_header(replay);
            let replay_id = replay.text().to_owned();
            let Some(header) = new else {
                if old.is_some() {
                    changes.replays.insert(replay_id.clone());
                    let version = self.versions.get(&replay_id).copied().unwrap_or(0);
                    changes.notifications.push(Notification::ReplayDeleted { replay_id, version });
                }
                continue;
            };
            // Clip rows change only when a clip, its score or its features change, so a
            // touched clip is a changed view; a replay row alone may change nothing the view
            // shows (its priorities, say).
            let changed = clips_touched.contains(&replay)
                || old.as_ref().is_none_or(|(old_header, _)| *old_header != header);
            if !changed {
                continue;
            }
            changes.replays.insert(replay_id.clone());
            let bounds = self.clip_bounds(replay);
            let version = self.versions.entry(replay_id.clone()).or_insert(0);
            *version += 1;
            let clip_count = bounds.len();
            let total_duration_ms = bounds.iter().map(|(s, e)| u64::from(e - s)).sum();
            changes.notifications.push(Notification::ReplayUpdated {
                replay_id,
                event_id: header.event_id.to_owned(),
                version: *version,
                status: header.status,
                clips_changed: old.as_ref().is_none_or(|(_, old_bounds)| *old_bounds != bounds),
                clip_count,
                total_duration_ms,
            });
        }
        changes
    }

    /// What a replay's view shows besides its clips.
    fn replay_header(&self, replay: Sym) -> Option<ReplayHeader> {
        let (def, status) = self.replays.get(&replay)?;
        let record = &def.record;
        Some(ReplayHeader {
            event_id: def.event.text(),
            status: *status,
            mode: record.mode,
            track: record.track,
            catchup: record.catchup,
            render: record.render.clone(),
        })
    }

    /// A replay's selected clips' bounds, in order.
    fn clip_bounds(&self, replay: Sym) -> Vec<(Ms, Ms)> {
        self.clips
            .range((replay, ClipRow::least())..=(replay, ClipRow::greatest()))
            .map(|(_, clip)| (clip.clip.start, clip.clip.end))
            .collect()
    }

    /// The notifications of a segment that is live after the epoch.
    fn segment_notifications(
        &self,
        event: Sym,
        start: Ms,
        old: Option<&SegmentSummary>,
        new: &SegmentSummary,
        notifications: &mut Vec<Notification>,
    ) {
        let event_id = || event.text().to_owned();
        let start_ms = u64::from(start);
        let was_open = old.is_some_and(|s| !s.complete);
        if !new.complete && !was_open {
            notifications.push(Notification::SegmentStarted { event_id: event_id(), start_ms });
        }
        if let (true, Some(end)) = (new.complete, new.end) {
            let old_end = old.filter(|s| s.complete).and_then(|s| s.end);
            if old_end != Some(end) {
                notifications.push(Notification::SegmentCompleted {
                    event_id: event_id(),
                    start_ms,
                    end_ms: end.into(),
                });
            }
        }
        for (track, bounds) in &new.optimizations {
            let old_bounds =
                old.and_then(|s| s.optimizations.iter().find(|(t, _)| t == track)).map(|(_, b)| b);
            if old_bounds != Some(bounds) {
                notifications.push(Notification::SegmentOptimized {
                    event_id: event_id(),
                    start_ms,
                    track: track.get(),
                    bounds: opto(*bounds),
                });
            }
        }
    }

    fn summary(&self, event: Sym, start: Ms) -> Option<SegmentSummary> {
        let segment = self.segments.get(&(event, start))?;
        Some(SegmentSummary {
            complete: segment.is_complete(start),
            end: segment.end,
            optimizations: self
                .optimizations
                .range((event, start, Track::MIN)..=(event, start, Track::MAX))
                .map(|((_, _, track), bounds)| (*track, *bounds))
                .collect(),
        })
    }

    /// Takes the replay versions last published, keyed by replay id (Kafka mode, after the
    /// state was rebuilt from the inputs): the next change of a replay gets the version after
    /// its published one. A replay without a published version keeps its own.
    pub fn restore_versions(&mut self, published: BTreeMap<String, u64>) {
        self.versions.extend(published);
    }

    /// The current version of a live replay.
    pub fn version(&self, replay_id: &str) -> Option<u64> {
        let replay = Sym::lookup(replay_id)?;
        self.replays.get(&replay).and_then(|_| self.versions.get(replay_id).copied())
    }

    /// The live view of an event.
    pub fn event_view(&self, event_id: &str) -> Option<EventView> {
        let event = Sym::lookup(event_id)?;
        self.events.get(&event).map(event_view)
    }

    /// The ids of the events with a live event view or live segments, sorted.
    pub fn event_ids(&self) -> Vec<String> {
        let mut ids: BTreeSet<Sym> = self.events.keys().copied().collect();
        ids.extend(self.segments.keys().map(|(event, _)| *event));
        let mut ids: Vec<String> = ids.into_iter().map(|e| e.text().to_owned()).collect();
        ids.sort();
        ids
    }

    /// How many events have a live event view.
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// How many segments are live.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The ids of the live replays, sorted.
    pub fn replay_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.replays.keys().map(|r| r.text().to_owned()).collect();
        ids.sort();
        ids
    }

    /// The live view of the segment `(event_id, start_ms)`.
    pub fn segment_view(&self, event_id: &str, start_ms: u64) -> Option<SegmentView> {
        let event = Sym::lookup(event_id)?;
        let start = Ms::try_from(start_ms).ok()?;
        let segment = self.segments.get(&(event, start))?;
        Some(self.assemble_segment(event, start, segment))
    }

    /// The live segments of an event, by start.
    pub fn segment_views(&self, event_id: &str) -> Vec<SegmentView> {
        let Some(event) = Sym::lookup(event_id) else { return Vec::new() };
        self.segments
            .range((event, 0)..=(event, Ms::MAX))
            .map(|((_, start), segment)| self.assemble_segment(event, *start, segment))
            .collect()
    }

    /// The bounds of the live segments of an event, by start, without assembling their
    /// views.
    pub fn segment_bounds(&self, event_id: &str) -> Vec<SegmentBounds> {
        let Some(event) = Sym::lookup(event_id) else { return Vec::new() };
        self.segments
            .range((event, 0)..=(event, Ms::MAX))
            .map(|(&(_, start), segment)| self.bounds(event, start, segment))
            .collect()
    }

    fn bounds(&self, event: Sym, start: Ms, segment: &SegmentRec) -> SegmentBounds {
        SegmentBounds {
            start_ms: start.into(),
            complete_end_ms: segment.end.filter(|_| segment.is_complete(start)).map(u64::from),
            optimizations: self
                .optimizations
                .range((event, start, Track::MIN)..=(event, start, Track::MAX))
                .map(|((_, _, track), bounds)| (track.get(), opto(*bounds)))
                .collect(),
        }
    }

    /// The bounds of the live segments among `starts_ms` of an event.
    pub fn segment_bounds_at(
        &self,
        event_id: &str,
        starts_ms: impl IntoIterator<Item = u64>,
    ) -> Vec<SegmentBounds> {
        let Some(event) = Sym::lookup(event_id) else { return Vec::new() };
        starts_ms
            .into_iter()
            .filter_map(|start_ms| {
                let start = Ms::try_from(start_ms).ok()?;
                let segment = self.segments.get(&(event, start))?;
                Some(self.bounds(event, start, segment))
            })
            .collect()
    }

    /// The live view of a replay, without its version.
    pub fn replay_view(&self, replay_id: &str) -> Option<ReplayView> {
        self.assemble_replay(Sym::lookup(replay_id)?)
    }

    /// The event of a live replay.
    pub fn replay_event(&self, replay_id: &str) -> Option<&'static str> {
        self.replays.get(&Sym::lookup(replay_id)?).map(|(def, _)| def.event.text())
    }

    /// The latest record of a live replay.
    pub fn replay_record(&self, replay_id: &str) -> Option<&Replay> {
        self.replays.get(&Sym::lookup(replay_id)?).map(|(def, _)| &def.record)
    }

    /// The latest record of a live profile.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(&Sym::lookup(name)?).map(|profile| &**profile)
    }

    /// The number of live replays.
    pub fn replay_count(&self) -> usize {
        self.replays.len()
    }

    /// The live profiles, by name.
    pub fn profiles(&self) -> Vec<&Profile> {
        let mut profiles: Vec<&Profile> = self.profiles.values().map(|p| &**p).collect();
        profiles.sort_by(|a, b| a.name.cmp(&b.name));
        profiles
    }

    /// Whether an event has live segments.
    pub fn has_segments(&self, event_id: &str) -> bool {
        Sym::lookup(event_id).is_some_and(|event| {
            self.segments.range((event, 0)..=(event, Ms::MAX)).next().is_some()
        })
    }

    /// Whether an event has live detections.
    pub fn has_detections(&self, event_id: &str) -> bool {
        Sym::lookup(event_id).is_some_and(|event| {
            let from = (event, DetKey::first_at(0));
            self.detections.range(from..=(event, DetKey::last_at(Ms::MAX))).next().is_some()
        })
    }

    /// The ids of the events with live detections, sorted.
    pub fn events_with_detections(&self) -> Vec<String> {
        let ids: BTreeSet<&str> = self.detections.iter().map(|(event, _)| event.text()).collect();
        ids.into_iter().map(str::to_owned).collect()
    }

    /// The live detections of an event, by start, then plugin (then the rest of their
    /// identity, as [`DetKey::cmp_as_record`] orders them).
    pub fn detections(&self, event_id: &str) -> Vec<DetKey> {
        let Some(event) = Sym::lookup(event_id) else { return Vec::new() };
        let from = (event, DetKey::first_at(0));
        let to = (event, DetKey::last_at(Ms::MAX));
        let mut detections: Vec<DetKey> =
            self.detections.range(from..=to).map(|(_, key)| *key).collect();
        detections.sort_by(DetKey::cmp_as_record);
        detections
    }

    /// The latest chunk records of an event, by sequence number.
    pub fn chunks(&self, event_id: &str) -> Vec<&Chunk> {
        let Some(event) = Sym::lookup(event_id) else { return Vec::new() };
        self.chunks.range((event, 0)..=(event, u64::MAX)).map(|(_, chunk)| &**chunk).collect()
    }

    /// Every view, assembled (for tests and whole rewrites).
    pub fn views(&self) -> Views {
        let events = self
            .events
            .iter()
            .map(|(event, row)| (event.text().to_owned(), event_view(row)))
            .collect();
        let segments = self
            .segments
            .iter()
            .map(|(&(event, start), segment)| {
                (segment_key(event, start), self.assemble_segment(event, start, segment))
            })
            .collect();
        let replays = self
            .replays
            .keys()
            .filter_map(|&replay| Some((replay.text().to_owned(), self.assemble_replay(replay)?)))
            .collect();
        Views { events, segments, replays }
    }

    fn assemble_segment(&self, event: Sym, start: Ms, segment: &SegmentRec) -> SegmentView {
        let optimizations: BTreeMap<u32, OptoBounds> = self
            .optimizations
            .range((event, start, Track::MIN)..=(event, start, Track::MAX))
            .map(|((_, _, track), bounds)| (track.get(), opto(*bounds)))
            .collect();
        let feedback: BTreeMap<u32, Verdict> = self
            .feedback
            .range((event, start, Track::MIN)..=(event, start, Track::MAX))
            .map(|((_, _, track), verdict)| (track.get(), *verdict))
            .collect();
        let mut tracks: BTreeSet<u32> = self
            .events
            .get(&event)
            .map(|row| row.def.record.audio_tracks.clone())
            .filter(|tracks| !tracks.is_empty())
            .unwrap_or_else(|| vec![1])
            .into_iter()
            .collect();
        tracks.extend(optimizations.keys());
        tracks.extend(feedback.keys());
        tracks.extend(
            self.segment_tracks
                .range((event, start, Track::MIN)..=(event, start, Track::MAX))
                .map(|(_, _, track)| track.get()),
        );
        let mut shared: BTreeSet<FeatureView> = BTreeSet::new();
        let mut per_track: BTreeMap<u32, BTreeSet<FeatureView>> = BTreeMap::new();
        let least = Feature::least();
        let greatest = Feature::greatest();
        for (_, _, track, feature) in self
            .features
            .range((event, start, None, least)..=(event, start, Some(Track::MAX), greatest))
        {
            match track {
                None => shared.insert(feature.to_view()),
                Some(track) => per_track.entry(track.get()).or_default().insert(feature.to_view()),
            };
        }
        let features = tracks
            .into_iter()
            .map(|track| {
                let mut features = shared.clone();
                features.extend(per_track.get(&track).into_iter().flatten().cloned());
                (track, features.into_iter().collect())
            })
            .collect();
        let label = self.labels.get(&(event, start)).map(|label| LabelView {
            plugin: label.plugin.text().to_owned(),
            label: label.label.text().to_owned(),
            attributes: label.attrs.to_attributes(),
        });
        SegmentView {
            event_id: event.text().to_owned(),
            start_ms: start.into(),
            end_ms: segment.end.map(u64::from),
            complete: segment.is_complete(start),
            plugin: segment.plugin.text().to_owned(),
            attributes: segment.attrs.to_attributes(),
            label,
            optimizations,
            features,
            feedback,
            extra: extra_of(segment.extra),
        }
    }

    fn assemble_replay(&self, replay: Sym) -> Option<ReplayView> {
        let (def, status) = self.replays.get(&replay)?;
        let record = &def.record;
        let scored = record.mode == ReplayMode::Duration;
        let clips: Vec<ClipView> = self
            .clips
            .range((replay, ClipRow::least())..=(replay, ClipRow::greatest()))
            .map(|(_, clip)| {
                let segment_clip = record.mode != ReplayMode::Timestamps;
                let mut features: Vec<FeatureView> = if segment_clip {
                    self.clip_features
                        .range(
                            (replay, clip.start, Feature::least())
                                ..=(replay, clip.start, Feature::greatest()),
                        )
                        .map(|(_, _, feature)| feature.to_view())
                        .collect()
                } else {
                    Vec::new()
                };
                features.sort();
                ClipView {
                    start_ms: clip.start.into(),
                    end_ms: clip.end.into(),
                    clip_start_ms: clip.clip.start.into(),
                    clip_end_ms: clip.clip.end.into(),
                    score: clip.score,
                    forced: clip.forced,
                    features,
                }
            })
            .collect();
        Some(ReplayView {
            replay_id: record.replay_id.clone(),
            event_id: record.event_id.clone(),
            status: *status,
            mode: record.mode,
            track: record.track,
            catchup: record.catchup,
            total_duration_ms: clips.iter().map(ClipView::duration_ms).sum(),
            total_score: scored.then(|| clips.iter().filter_map(|clip| clip.score).sum()),
            clips,
            render: record.render.clone(),
        })
    }
}

fn opto(bounds: Bounds) -> OptoBounds {
    OptoBounds { opto_start_ms: bounds.start.into(), opto_end_ms: bounds.end.into() }
}

fn event_view(row: &EventRow) -> EventView {
    let event = &row.def.record;
    EventView {
        event_id: event.event_id.clone(),
        program: event.program.clone(),
        profile: event.profile.clone(),
        profile_known: row.profile_known,
        has_optimizer: row.has_optimizer,
        status: event.status,
        frame_rate_milli: event.frame_rate_milli,
        audio_tracks: event.audio_tracks.clone(),
        title: event.title.clone(),
        extra: event.extra.clone(),
    }
}
