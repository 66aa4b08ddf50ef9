//! Everything about one event, kept by the worker that owns it: the latest record of every
//! key, the features of its segments, and its replays' candidates and selections.
//!
//! Every record about an event is exchanged to one worker, so the whole computation of an
//! event is local state there. [`EventState::apply`] takes the event's records of an epoch in
//! any order (latest wins by log position, [`Latest`]); [`EventState::finish`] then derives
//! what the epoch changed, in this order, and emits it as [`Row`] changes:
//!
//! 1. the event row (with what its profile says) and the rows of the records themselves
//!    (segments, labels, optimizations, feedback, detections, chunks);
//! 2. features: a segment whose record or label changed is counted again from its range of
//!    detections; a detection that came or went counts in (or out of) each other segment that
//!    covers its start (SEMANTICS §4), changing a feature only between zero and one;
//! 3. candidates: each replay evaluates again only the segments whose bounds, features it
//!    looks for, optimization or feedback on its track changed (every segment when the replay
//!    itself or the profile's optimizer changed), then selects at most once
//!    ([`ReplayState::finish`]).
//!
//! A delete of the event (SEMANTICS §8.12) removes everything received before it; it is rare,
//! so it is the one step that walks the whole event.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use reeltime_schemas::record::{Chunk, EventStatus, Profile, Seq, Verdict};

use crate::compact::{
    Bounds, DetKey, EventDef, EventInput, Feature, LabelRec, Ms, ReplayDef, SegmentRec, Track,
};
use crate::features::{FeatureChange, SegmentFeatures};
use crate::latest::Latest;
use crate::replay_state::{candidate, ReplayState, SegmentFacts};
use crate::rows::{EventRow, Row, RowChange};
use crate::selection;
use crate::symbol::Sym;

/// The live profiles, by name.
pub type Profiles = FxHashMap<Sym, Arc<Profile>>;

/// One event's state (see the module documentation).
#[derive(Debug)]
pub struct EventState {
    id: Sym,
    /// The position of the latest delete of the event (0: none).
    barrier: Seq,
    event: Latest<(), Arc<EventDef>>,
    segments: Latest<Ms, SegmentRec>,
    labels: Latest<Ms, LabelRec>,
    optimizations: Latest<(Ms, Track), Bounds>,
    feedback: Latest<(Ms, Track), Verdict>,
    detections: Latest<DetKey, ()>,
    chunks: Latest<u64, Arc<Chunk>>,
    replays: Latest<Sym, Arc<ReplayDef>>,
    /// The features of every live segment.
    features: BTreeMap<Ms, SegmentFeatures>,
    /// An upper bound of `end - start` over the live segments, to find the segments that
    /// cover a time.
    longest_range: Ms,
    replay_states: BTreeMap<Sym, ReplayState>,
    shown_event: Option<EventRow>,
}

impl EventState {
    /// The state of an event nothing is known about yet.
    pub fn new(id: Sym) -> EventState {
        EventState {
            id,
            barrier: 0,
            event: Latest::default(),
            segments: Latest::default(),
            labels: Latest::default(),
            optimizations: Latest::default(),
            feedback: Latest::default(),
            detections: Latest::default(),
            chunks: Latest::default(),
            replays: Latest::default(),
            features: BTreeMap::new(),
            longest_range: 0,
            replay_states: BTreeMap::new(),
            shown_event: None,
        }
    }

    /// Takes in a record about the event at position `seq`.
    pub fn apply(&mut self, seq: Seq, input: EventInput) {
        let barrier = self.barrier;
        match input {
            EventInput::Delete => {
                if seq > barrier {
                    self.barrier = seq;
                    self.purge();
                }
            }
            EventInput::Event(def) => {
                self.event.apply((), seq, Some(def), barrier);
            }
            EventInput::Chunk(chunk) => {
                self.chunks.apply(chunk.seq_no, seq, Some(chunk), barrier);
            }
            EventInput::Segment { start, rec, deleted } => {
                self.segments.apply(start, seq, (!deleted).then_some(rec), barrier);
            }
            EventInput::Optimization { start, track, bounds } => {
                self.optimizations.apply((start, track), seq, Some(bounds), barrier);
            }
            EventInput::Label { start, rec } => {
                self.labels.apply(start, seq, Some(rec), barrier);
            }
            EventInput::Detection { key, deleted } => {
                self.detections.apply(key, seq, (!deleted).then_some(()), barrier);
            }
            EventInput::Feedback { start, track, verdict } => {
                let verdict = (verdict != Verdict::Reset).then_some(verdict);
                self.feedback.apply((start, track), seq, verdict, barrier);
            }
        }
    }

    /// Takes in a change of the replay `id`'s winning record at position `seq`: its
    /// definition when it is about this event, `None` when it no longer is (deleted, or moved
    /// to another event).
    pub fn apply_replay(&mut self, seq: Seq, id: Sym, def: Option<Arc<ReplayDef>>) {
        self.replays.apply(id, seq, def, self.barrier);
    }

    fn purge(&mut self) {
        let barrier = self.barrier;
        self.event.purge(barrier);
        self.segments.purge(barrier);
        self.labels.purge(barrier);
        self.optimizations.purge(barrier);
        self.feedback.purge(barrier);
        self.detections.purge(barrier);
        self.chunks.purge(barrier);
        self.replays.purge(barrier);
    }

    /// The name of the live event's profile.
    pub fn profile(&self) -> Option<Sym> {
        self.event.get(&()).map(|def| def.profile)
    }

    /// Derives and emits what the records taken in since the last call changed (see the module
    /// documentation), with `profiles` the live profiles.
    pub fn finish(&mut self, profiles: &Profiles, rows: &mut Vec<RowChange>) {
        let id = self.id;
        self.event.take_changes();
        let event_row = self.event.get(&()).map(|def| {
            let profile = profiles.get(&def.profile);
            EventRow {
                def: def.clone(),
                profile_known: profile.is_some(),
                has_optimizer: profile.is_some_and(|p| p.optimizer.is_some()),
            }
        });
        let had_optimizer = self.shown_event.as_ref().is_some_and(|row| row.has_optimizer);
        let event_status_before = self
            .shown_event
            .as_ref()
            .map(|row| (row.profile_known, row.def.record.status == EventStatus::Ended));
        let has_optimizer = event_row.as_ref().is_some_and(|row| row.has_optimizer);
        let event_status = event_row
            .as_ref()
            .map(|row| (row.profile_known, row.def.record.status == EventStatus::Ended));
        if event_row != self.shown_event {
            if let Some(old) = self.shown_event.take() {
                rows.push((Row::Event(id, old), -1));
            }
            if let Some(new) = &event_row {
                rows.push((Row::Event(id, new.clone()), 1));
            }
            self.shown_event = event_row;
        }

        let segments = self.segments.take_changes();
        emit(rows, &segments, |start, rec| Row::Segment(id, start, rec));
        let labels = self.labels.take_changes();
        emit(rows, &labels, |start, rec| Row::Label(id, start, rec));
        let optimizations = self.optimizations.take_changes();
        emit(rows, &optimizations, |(start, track), bounds| {
            Row::Optimization(id, start, track, bounds)
        });
        let feedback = self.feedback.take_changes();
        emit(rows, &feedback, |(start, track), verdict| Row::Feedback(id, start, track, verdict));
        let detections = self.detections.take_changes();
        emit(rows, &detections, |key, ()| Row::Detection(id, key));
        let chunks = self.chunks.take_changes();
        emit(rows, &chunks, |_, chunk| Row::Chunk(id, chunk));
        let replays = self.replays.take_changes();
        // A replay is new or redefined only through these changes.
        let replays_changed = !replays.is_empty();

        let changed_features = self.update_features(&segments, &labels, &detections, rows);

        for (replay_id, _, def) in replays {
            match def {
                Some(def) => match self.replay_states.get_mut(&replay_id) {
                    Some(state) => state.redefine(def),
                    None => {
                        let status = selection::status(def.record.catchup, event_status);
                        self.replay_states.insert(replay_id, ReplayState::new(def, status));
                    }
                },
                None => {
                    if let Some(state) = self.replay_states.remove(&replay_id) {
                        state.retract(rows);
                    }
                }
            }
        }
        // Most epochs of a live match bring detections that change no feature a replay looks
        // at: then no replay has anything to do.
        let replays_untouched = !replays_changed
            && segments.is_empty()
            && optimizations.is_empty()
            && feedback.is_empty()
            && changed_features.is_empty()
            && event_status == event_status_before
            && had_optimizer == has_optimizer;
        if replays_untouched {
            return;
        }
        let changed_segments: BTreeSet<Ms> = segments.iter().map(|(start, _, _)| *start).collect();
        // Out of `self` while they are updated, since evaluating a candidate reads `self`.
        let mut states = std::mem::take(&mut self.replay_states);
        for state in states.values_mut() {
            state.set_status(selection::status(state.def().record.catchup, event_status));
            if state.chooses_segments() {
                let track = state.def().track;
                let starts: BTreeSet<Ms> = if state_needs_all(state, had_optimizer, has_optimizer) {
                    let mut all: BTreeSet<Ms> = state.candidate_starts().into_iter().collect();
                    all.extend(self.segments.iter().map(|(start, _)| *start));
                    all
                } else {
                    let def = state.def();
                    let mut starts = changed_segments.clone();
                    starts.extend(
                        optimizations
                            .iter()
                            .filter(|((_, t), _, _)| *t == track)
                            .map(|((s, _), _, _)| *s),
                    );
                    if def.record.include_liked || def.record.ignore_disliked {
                        starts.extend(
                            feedback
                                .iter()
                                .filter(|((_, t), _, _)| *t == track)
                                .map(|((s, _), _, _)| *s),
                        );
                    }
                    starts.extend(changed_features.iter().filter_map(|(start, change)| {
                        let FeatureChange::Feature((on, feature), _) = change else { return None };
                        let relevant = on.is_none_or(|on| on == track)
                            && def.entries.iter().any(|entry| entry.matches(feature));
                        relevant.then_some(*start)
                    }));
                    starts
                };
                for start in starts {
                    let candidate = self.candidate(state.def(), has_optimizer, start);
                    state.set(start, candidate);
                }
            }
            state.finish(rows);
        }
        self.replay_states = states;
    }

    /// Whether a segment at `start` is a candidate of `def`, and as what.
    fn candidate(
        &self,
        def: &ReplayDef,
        has_optimizer: bool,
        start: Ms,
    ) -> Option<crate::replay_state::Candidate> {
        let segment = self.segments.get(&start)?;
        let track = def.track;
        let matching = |feature: &Feature| def.entries.iter().any(|entry| entry.matches(feature));
        let features = self
            .features
            .get(&start)
            .map(|features| features.on_track(track, matching))
            .unwrap_or_default();
        candidate(
            def,
            has_optimizer,
            &SegmentFacts {
                start,
                segment,
                optimization: self.optimizations.get(&(start, track)).copied(),
                verdict: self.feedback.get(&(start, track)).copied(),
                features: &features,
            },
        )
    }

    /// Brings the features of the segments up to date with an epoch's changes of segments,
    /// labels and detections; emits them and returns them by segment start.
    fn update_features(
        &mut self,
        segments: &[(Ms, Option<SegmentRec>, Option<SegmentRec>)],
        labels: &[(Ms, Option<LabelRec>, Option<LabelRec>)],
        detections: &[(DetKey, Option<()>, Option<()>)],
        rows: &mut Vec<RowChange>,
    ) -> Vec<(Ms, FeatureChange)> {
        let mut changed = Vec::new();
        for (start, _, rec) in segments {
            if let Some(rec) = rec {
                self.longest_range = self.longest_range.max(rec.range_end(*start) - start);
            }
        }
        let recounted: BTreeSet<Ms> = segments
            .iter()
            .map(|(start, _, _)| *start)
            .chain(labels.iter().map(|(start, _, _)| *start))
            .collect();
        for &start in &recounted {
            let new = self.count_features(start);
            let old = self.features.remove(&start).unwrap_or_default();
            changed.extend(old.diff(&new).into_iter().map(|change| (start, change)));
            if self.segments.get(&start).is_some() {
                self.features.insert(start, new);
            }
        }
        let mut changes = Vec::new();
        for (key, _, now) in detections {
            let delta = if now.is_some() { 1 } else { -1 };
            let from = key.start.saturating_sub(self.longest_range);
            for (start, rec) in self.segments.range(from..=key.start) {
                if rec.range_end(*start) < key.start || recounted.contains(start) {
                    continue;
                }
                let features = self.features.entry(*start).or_default();
                features.count_detection(key, delta, &mut changes);
                changed.extend(changes.drain(..).map(|change| (*start, change)));
            }
        }
        let id = self.id;
        for (start, change) in &changed {
            rows.push(match *change {
                FeatureChange::Feature((track, feature), diff) => {
                    (Row::Feature(id, *start, track, feature), diff)
                }
                FeatureChange::Track(track, diff) => (Row::SegmentTrack(id, *start, track), diff),
            });
        }
        changed
    }

    /// The features of the live segment at `start`, counted from scratch (none when it is not
    /// live).
    fn count_features(&self, start: Ms) -> SegmentFeatures {
        let mut features = SegmentFeatures::default();
        let Some(segment) = self.segments.get(&start) else {
            return features;
        };
        let mut ignored = Vec::new();
        let range = DetKey::first_at(start)..=DetKey::last_at(segment.range_end(start));
        for (key, ()) in self.detections.range(range) {
            features.count_detection(key, 1, &mut ignored);
        }
        features.count(None, Feature::of(segment.plugin, segment.attrs), 1, &mut ignored);
        if let Some(label) = self.labels.get(&start) {
            features.count(None, Feature::of(label.plugin, label.attrs), 1, &mut ignored);
        }
        features
    }
}

/// Whether a replay must evaluate every segment: it is new or redefined, or the profile's
/// optimizer came or went (which gates every candidate).
fn state_needs_all(state: &ReplayState, had_optimizer: bool, has_optimizer: bool) -> bool {
    state.is_redefined() || had_optimizer != has_optimizer
}

/// Emits the net changes of some keyed records as rows.
fn emit<K: Copy, V: Clone>(
    rows: &mut Vec<RowChange>,
    changes: &[(K, Option<V>, Option<V>)],
    row: impl Fn(K, V) -> Row,
) {
    for (key, old, new) in changes {
        if let Some(old) = old {
            rows.push((row(*key, old.clone()), -1));
        }
        if let Some(new) = new {
            rows.push((row(*key, new.clone()), 1));
        }
    }
}
