//! The rows the dataflow emits: the views in normalized form.
//!
//! The dataflow does not build documents. Each closed epoch it emits `(Row, +1 | -1)` changes
//! (a changed row is its old version retracted and its new one asserted), every change net
//! (nothing retracted and asserted again unchanged), and the read model
//! ([`crate::read_model`]) assembles the documents of what an epoch touched. Rows hold
//! compact data: symbols, milliseconds, and the rare big records behind an `Arc`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use reeltime_schemas::record::{Chunk, Profile, Verdict};
use reeltime_schemas::view::ReplayStatus;

use crate::compact::{
    Bounds, DetKey, EventDef, Feature, LabelRec, Ms, ReplayDef, SegmentRec, Track,
};
use crate::symbol::Sym;

/// A live event with what its profile says (SEMANTICS §8.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    /// The latest event record.
    pub def: Arc<EventDef>,
    /// Whether its profile is known.
    pub profile_known: bool,
    /// Whether its profile has an optimizer.
    pub has_optimizer: bool,
}

/// A selected clip of a replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClipRow {
    /// Where it is listed: `(clip_start, start)` for a segment, `(index, 0)` for a time range
    /// of timestamps mode.
    pub position: (Ms, Ms),
    /// The segment's start (the range's start in timestamps mode).
    pub start: Ms,
    /// The segment's end.
    pub end: Ms,
    /// The clip's bounds.
    pub clip: Bounds,
    /// The score (duration mode only).
    pub score: Option<u64>,
    /// Selected because liked.
    pub forced: bool,
}

impl ClipRow {
    /// A bound below every clip, for ranges of keys.
    pub(crate) fn least() -> ClipRow {
        ClipRow {
            position: (0, 0),
            start: 0,
            end: 0,
            clip: Bounds { start: 0, end: 0 },
            score: None,
            forced: false,
        }
    }

    /// A bound above every clip, for ranges of keys.
    pub(crate) fn greatest() -> ClipRow {
        ClipRow {
            position: (Ms::MAX, Ms::MAX),
            start: Ms::MAX,
            end: Ms::MAX,
            clip: Bounds { start: Ms::MAX, end: Ms::MAX },
            score: Some(u64::MAX),
            forced: true,
        }
    }
}

/// One row of the views (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Row {
    /// A live profile, by name.
    Profile(Sym, Arc<Profile>),
    /// A live event.
    Event(Sym, EventRow),
    /// A live segment `(event, start)`.
    Segment(Sym, Ms, SegmentRec),
    /// The label of `(event, start)`.
    Label(Sym, Ms, LabelRec),
    /// The optimized bounds of `(event, start)` on a track.
    Optimization(Sym, Ms, Track, Bounds),
    /// A like or dislike of `(event, start)` on a track.
    Feedback(Sym, Ms, Track, Verdict),
    /// A feature of the live segment `(event, start)` on a track (`None`: every track).
    Feature(Sym, Ms, Option<Track>, Feature),
    /// A track some detection in the live segment `(event, start)` names.
    SegmentTrack(Sym, Ms, Track),
    /// A live detection of an event.
    Detection(Sym, DetKey),
    /// The latest chunk record of an event and sequence number.
    Chunk(Sym, Arc<Chunk>),
    /// A live replay, by id, with its status.
    Replay(Sym, Arc<ReplayDef>, ReplayStatus),
    /// A selected clip of a replay.
    Clip(Sym, ClipRow),
    /// A feature of a selected clip that matches one of the replay's entries, by the replay
    /// and the segment's start.
    ClipFeature(Sym, Ms, Feature),
}

/// A change of a row.
pub type RowChange = (Row, isize);
