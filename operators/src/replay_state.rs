//! One replay's candidates and selection, kept up to date segment by segment.
//!
//! [`candidate`] decides whether a segment is a candidate of a replay and with what clip,
//! score and matched features (SEMANTICS §5, §8.8), from the facts of that one segment.
//! [`ReplayState`] holds the candidates in rank order with the totals the budget needs, and
//! reselects at most once per epoch, only when a candidate came, went, or changed its clip,
//! score or forcing; a candidate whose matched features alone changed keeps the selection and
//! only changes the features listed with its clip. The selection is the one of
//! [`selection::within_budget`], whose walk stops once the budget is spent.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use reeltime_schemas::record::{ReplayMode, Verdict};
use reeltime_schemas::view::ReplayStatus;

use crate::compact::{Bounds, Feature, Ms, ReplayDef, SegmentRec};
use crate::ranked::{Ranked, RankedBlocks};
use crate::rows::{ClipRow, Row, RowChange};
use crate::selection::{self, Totals};
use crate::symbol::Sym;

/// A segment that is a candidate of a replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The segment's end.
    pub end: Ms,
    /// The clip on the replay's track: the optimized bounds, or the segment's.
    pub clip: Bounds,
    /// The sum of the weights of the matching entries (0 outside duration mode).
    pub score: u64,
    /// Liked, with the replay's `include_liked`.
    pub forced: bool,
    /// The segment's features that match a counting entry, sorted and distinct.
    pub matched: Vec<Feature>,
}

/// What a replay looks at of one segment on its track.
pub struct SegmentFacts<'a> {
    /// The segment's start.
    pub start: Ms,
    /// The segment record.
    pub segment: &'a SegmentRec,
    /// Its optimized bounds on the replay's track.
    pub optimization: Option<Bounds>,
    /// The feedback on the replay's track.
    pub verdict: Option<Verdict>,
    /// Its distinct features on the replay's track; those that match none of the replay's
    /// entries may be left out, as they play no part.
    pub features: &'a [Feature],
}

/// Whether a segment is a candidate of `replay` (SEMANTICS §3, §5, §8.8): complete,
/// optimized on the replay's track when the profile has an optimizer, not disliked when the
/// replay ignores dislikes, and matching a counting entry or forced by a like.
pub fn candidate(
    replay: &ReplayDef,
    has_optimizer: bool,
    facts: &SegmentFacts,
) -> Option<Candidate> {
    let end = facts.segment.end.filter(|_| facts.segment.is_complete(facts.start))?;
    if has_optimizer && facts.optimization.is_none() {
        return None;
    }
    let record = &replay.record;
    if record.ignore_disliked && facts.verdict == Some(Verdict::Dislike) {
        return None;
    }
    let forced = record.include_liked && facts.verdict == Some(Verdict::Like);
    let mut score = 0;
    let mut any = false;
    for entry in &replay.entries {
        if facts.features.iter().any(|feature| entry.matches(feature)) {
            score += entry.weight;
            any = true;
        }
    }
    if !any && !forced {
        return None;
    }
    let matched = facts
        .features
        .iter()
        .filter(|feature| replay.entries.iter().any(|entry| entry.matches(feature)))
        .copied()
        .collect();
    Some(Candidate {
        end,
        clip: facts.optimization.unwrap_or(Bounds { start: facts.start, end }),
        score,
        forced,
        matched,
    })
}

/// The rank of a candidate: forced first, then higher score, then earlier clip start, then
/// earlier segment start (SEMANTICS §5). The clip's end comes last, never deciding the order
/// (segment starts are distinct), so that the walk under the budget reads each candidate's
/// clip from its rank alone.
type Rank = (Reverse<bool>, Reverse<u64>, Ms, Ms, Ms);

impl Ranked for Rank {
    fn duration_ms(&self) -> u64 {
        u64::from(self.4.saturating_sub(self.2))
    }
}

fn rank(start: Ms, candidate: &Candidate) -> Rank {
    (
        Reverse(candidate.forced),
        Reverse(candidate.score),
        candidate.clip.start,
        start,
        candidate.clip.end,
    )
}

fn duration(candidate: &Candidate) -> u64 {
    u64::from(candidate.clip.end.saturating_sub(candidate.clip.start))
}

/// A multiset of numbers, for the shortest duration and the latest clip end.
#[derive(Debug, Default)]
struct Multiset(BTreeMap<u64, usize>);

impl Multiset {
    fn insert(&mut self, value: u64) {
        *self.0.entry(value).or_insert(0) += 1;
    }

    fn remove(&mut self, value: u64) {
        if let Some(count) = self.0.get_mut(&value) {
            *count -= 1;
            if *count == 0 {
                self.0.remove(&value);
            }
        }
    }
}

/// What one selected clip shows, as last emitted.
#[derive(Debug)]
struct Shown {
    row: ClipRow,
    features: Vec<Feature>,
}

/// A live replay: its definition, status, candidates and what it shows.
#[derive(Debug)]
pub struct ReplayState {
    id: Sym,
    def: Arc<ReplayDef>,
    status: ReplayStatus,
    candidates: BTreeMap<Ms, Candidate>,
    ranked: RankedBlocks<Rank>,
    total_ms: u64,
    durations: Multiset,
    clip_ends: Multiset,
    /// Candidates changed in this epoch.
    changed: BTreeSet<Ms>,
    /// Whether a change in this epoch may change which candidates are selected.
    reselect: bool,
    /// Whether the definition changed in this epoch (every clip is shown again).
    redefined: bool,
    /// Whether the last selection was every candidate (features mode, or all fit).
    selected_all: bool,
    /// The selected segment clips, by segment start.
    shown: BTreeMap<Ms, Shown>,
    /// The clips of timestamps mode.
    shown_ranges: Vec<ClipRow>,
    /// The replay row as last emitted.
    shown_row: Option<(Arc<ReplayDef>, ReplayStatus)>,
}

impl ReplayState {
    /// A replay with no candidates yet.
    pub fn new(def: Arc<ReplayDef>, status: ReplayStatus) -> ReplayState {
        ReplayState {
            id: def.id,
            def,
            status,
            candidates: BTreeMap::new(),
            ranked: RankedBlocks::default(),
            total_ms: 0,
            durations: Multiset::default(),
            clip_ends: Multiset::default(),
            changed: BTreeSet::new(),
            reselect: true,
            redefined: true,
            selected_all: false,
            shown: BTreeMap::new(),
            shown_ranges: Vec::new(),
            shown_row: None,
        }
    }

    /// The definition.
    pub fn def(&self) -> &Arc<ReplayDef> {
        &self.def
    }

    /// Whether the definition changed since the last [`ReplayState::finish`] (a new replay
    /// too): every segment must be evaluated again.
    pub fn is_redefined(&self) -> bool {
        self.redefined
    }

    /// Whether the replay chooses among segments (not timestamps mode).
    pub fn chooses_segments(&self) -> bool {
        self.def.record.mode != ReplayMode::Timestamps
    }

    /// Takes a new definition; the caller evaluates every segment again.
    pub fn redefine(&mut self, def: Arc<ReplayDef>) {
        self.def = def;
        self.reselect = true;
        self.redefined = true;
    }

    /// Takes the status of the replay's event.
    pub fn set_status(&mut self, status: ReplayStatus) {
        if status != self.status {
            self.status = status;
            self.reselect = true;
        }
    }

    /// The starts of the current candidates.
    pub fn candidate_starts(&self) -> Vec<Ms> {
        self.candidates.keys().copied().collect()
    }

    /// Sets whether the segment at `start` is a candidate, and as what.
    pub fn set(&mut self, start: Ms, candidate: Option<Candidate>) {
        let old = self.candidates.get(&start);
        if old == candidate.as_ref() {
            return;
        }
        let ranks_alike = match (old, &candidate) {
            (Some(old), Some(new)) => {
                old.clip == new.clip && old.score == new.score && old.forced == new.forced
            }
            _ => false,
        };
        if let Some(old) = self.candidates.remove(&start) {
            self.ranked.remove(&rank(start, &old));
            self.total_ms -= duration(&old);
            self.durations.remove(duration(&old));
            self.clip_ends.remove(old.clip.end.into());
        }
        if let Some(new) = candidate {
            self.ranked.insert(rank(start, &new));
            self.total_ms += duration(&new);
            self.durations.insert(duration(&new));
            self.clip_ends.insert(new.clip.end.into());
            self.candidates.insert(start, new);
        }
        self.changed.insert(start);
        if !ranks_alike {
            self.reselect = true;
        }
    }

    fn totals(&self) -> Totals {
        Totals {
            count: self.candidates.len(),
            total_ms: self.total_ms,
            min_duration_ms: self.durations.0.keys().next().copied().unwrap_or(0),
            max_clip_end_ms: self.clip_ends.0.keys().next_back().copied().unwrap_or(0),
        }
    }

    fn active(&self) -> bool {
        matches!(self.status, ReplayStatus::InProgress | ReplayStatus::Complete)
    }

    /// Ends the epoch: selects again when needed and emits what changed.
    pub fn finish(&mut self, rows: &mut Vec<RowChange>) {
        let shown_as_is = self
            .shown_row
            .as_ref()
            .is_some_and(|(def, status)| Arc::ptr_eq(def, &self.def) && *status == self.status);
        if shown_as_is && !self.reselect && !self.redefined && self.changed.is_empty() {
            return;
        }
        let row = (self.def.clone(), self.status);
        if self.shown_row.as_ref() != Some(&row) {
            if let Some((def, status)) = self.shown_row.take() {
                rows.push((Row::Replay(self.id, def, status), -1));
            }
            rows.push((Row::Replay(self.id, row.0.clone(), row.1), 1));
            self.shown_row = Some(row);
        }
        self.finish_ranges(rows);
        let changed = std::mem::take(&mut self.changed);
        let reselect = std::mem::replace(&mut self.reselect, false);
        let redefined = std::mem::replace(&mut self.redefined, false);
        if !self.active() || !self.chooses_segments() {
            self.selected_all = false;
            let starts: Vec<Ms> = self.shown.keys().copied().collect();
            for start in starts {
                self.show(start, false, rows);
            }
            return;
        }
        let all = self.def.record.mode == ReplayMode::Features
            || self.total_ms <= selection::budget_ms(&self.def.record);
        if all {
            // Every candidate is selected: when that was so before too, what changed is the
            // changed candidates alone.
            let starts: Vec<Ms> = if self.selected_all && !redefined {
                changed.into_iter().collect()
            } else {
                let all: BTreeSet<Ms> =
                    self.candidates.keys().chain(self.shown.keys()).copied().collect();
                all.into_iter().collect()
            };
            for start in starts {
                self.show(start, self.candidates.contains_key(&start), rows);
            }
            self.selected_all = true;
            return;
        }
        self.selected_all = false;
        if !reselect && !redefined {
            // The same candidates are selected; some changed only their matched features.
            for start in changed {
                self.show(start, self.shown.contains_key(&start), rows);
            }
            return;
        }
        let runs = self.ranked.runs().map(|(shortest_ms, run)| {
            let clips = run.iter().map(|&(_, _, clip_start, start, clip_end)| {
                (start, u64::from(clip_start), u64::from(clip_end))
            });
            (shortest_ms, clips)
        });
        let mut selected: Vec<Ms> = selection::within_budget(
            selection::budget_ms(&self.def.record),
            self.def.record.equal_distribution,
            runs,
            &self.totals(),
        );
        selected.sort_unstable();
        let is_selected = |start: &Ms| selected.binary_search(start).is_ok();
        // A clip both selected and shown before changed only if its candidate did: the rest
        // of a long selection is left alone, so the cost is what came, went or changed.
        let mut starts: Vec<Ms> = if redefined {
            selected.iter().chain(self.shown.keys()).chain(&changed).copied().collect()
        } else {
            let came = selected.iter().filter(|start| !self.shown.contains_key(start));
            let went = self.shown.keys().filter(|start| !is_selected(start));
            came.chain(went).chain(&changed).copied().collect()
        };
        starts.sort_unstable();
        starts.dedup();
        for start in starts {
            self.show(start, is_selected(&start), rows);
        }
    }

    /// Makes what the clip of the segment at `start` shows agree with its candidate, selected
    /// or not.
    fn show(&mut self, start: Ms, selected: bool, rows: &mut Vec<RowChange>) {
        let scored = self.def.record.mode == ReplayMode::Duration;
        let candidate = self.candidates.get(&start).filter(|_| selected);
        let row_of = |c: &Candidate| ClipRow {
            position: (c.clip.start, start),
            start,
            end: c.end,
            clip: c.clip,
            score: scored.then_some(c.score),
            forced: c.forced,
        };
        match (self.shown.get(&start), candidate) {
            (None, None) => return,
            (Some(old), Some(c)) if old.row == row_of(c) && old.features == c.matched => return,
            _ => {}
        }
        let wanted = candidate.map(|c| Shown { row: row_of(c), features: c.matched.clone() });
        let old = self.shown.remove(&start);
        let id = self.id;
        let old_features = old.as_ref().map_or(&[][..], |o| &o.features[..]);
        let new_features = wanted.as_ref().map_or(&[][..], |w| &w.features[..]);
        for feature in old_features.iter().filter(|f| !new_features.contains(f)) {
            rows.push((Row::ClipFeature(id, start, *feature), -1));
        }
        for feature in new_features.iter().filter(|f| !old_features.contains(f)) {
            rows.push((Row::ClipFeature(id, start, *feature), 1));
        }
        let old_row = old.as_ref().map(|o| o.row);
        let new_row = wanted.as_ref().map(|w| w.row);
        if old_row != new_row {
            if let Some(row) = old_row {
                rows.push((Row::Clip(id, row), -1));
            }
            if let Some(row) = new_row {
                rows.push((Row::Clip(id, row), 1));
            }
        }
        if let Some(wanted) = wanted {
            self.shown.insert(start, wanted);
        }
    }

    /// The clips of timestamps mode: its ranges, in order, while it is active.
    fn finish_ranges(&mut self, rows: &mut Vec<RowChange>) {
        let wanted: Vec<ClipRow> = if self.active() && !self.chooses_segments() {
            self.def
                .record
                .timestamps
                .iter()
                .enumerate()
                .map(|(index, range)| {
                    // Validated and converted to `Ms` with the replay.
                    let clip = Bounds { start: range.start_ms as Ms, end: range.end_ms as Ms };
                    ClipRow {
                        position: (index as Ms, 0),
                        start: clip.start,
                        end: clip.end,
                        clip,
                        score: None,
                        forced: false,
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        if wanted != self.shown_ranges {
            for row in self.shown_ranges.drain(..) {
                rows.push((Row::Clip(self.id, row), -1));
            }
            for row in &wanted {
                rows.push((Row::Clip(self.id, *row), 1));
            }
            self.shown_ranges = wanted;
        }
    }

    /// Retracts everything the replay shows (it was deleted).
    pub fn retract(mut self, rows: &mut Vec<RowChange>) {
        let starts: Vec<Ms> = self.shown.keys().copied().collect();
        for start in starts {
            self.show(start, false, rows);
        }
        for row in self.shown_ranges.drain(..) {
            rows.push((Row::Clip(self.id, row), -1));
        }
        if let Some((def, status)) = self.shown_row.take() {
            rows.push((Row::Replay(self.id, def, status), -1));
        }
    }
}
