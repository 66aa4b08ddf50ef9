//! Derived views, as the dataflow maintains them (SEMANTICS §6).
//!
//! These are the dataflow's own types (milliseconds, canonical values). Their JSON documents,
//! written to files and topics, are in [`crate::document`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::record::{EventStatus, Extra, ReplayMode, Verdict};
use crate::value::{AttrValue, Attributes};

/// One feature of a segment: an attribute value some plugin reported.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Feature {
    /// The plugin that reported it (a featurer, the classifier or the labeler).
    pub plugin: String,
    /// The attribute name.
    pub attribute: String,
    /// The attribute value.
    pub value: AttrValue,
}

/// A segment's label.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LabelView {
    /// The labeler.
    pub plugin: String,
    /// The label text.
    pub label: String,
    /// The labeler's attributes.
    pub attributes: Attributes,
}

/// Optimized clip bounds on one track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OptoBounds {
    /// In-point in milliseconds.
    pub opto_start_ms: u64,
    /// Out-point in milliseconds.
    pub opto_end_ms: u64,
}

/// Everything known about one segment `(event_id, start)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SegmentView {
    /// The event.
    pub event_id: String,
    /// Start in milliseconds.
    pub start_ms: u64,
    /// End in milliseconds; `None` while open without an end.
    pub end_ms: Option<u64>,
    /// Whether the segment is complete (`end > start`).
    pub complete: bool,
    /// The classifier.
    pub plugin: String,
    /// The classifier's attributes.
    pub attributes: Attributes,
    /// The label, if labelled.
    pub label: Option<LabelView>,
    /// Optimized bounds per track.
    pub optimizations: BTreeMap<u32, OptoBounds>,
    /// Features per track, sorted.
    pub features: BTreeMap<u32, Vec<Feature>>,
    /// Reviewer feedback per track (`like` or `dislike`; a reset removes it).
    pub feedback: BTreeMap<u32, Verdict>,
    /// Unknown fields of the segment record.
    pub extra: Extra,
}

/// What an event looks like now.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventView {
    /// The event's id.
    pub event_id: String,
    /// Its programme.
    pub program: Option<String>,
    /// The name of its profile.
    pub profile: String,
    /// Whether that profile is known.
    pub profile_known: bool,
    /// Whether that profile has an optimizer.
    pub has_optimizer: bool,
    /// Its lifecycle status.
    pub status: EventStatus,
    /// Frame rate in thousandths of a frame per second.
    pub frame_rate_milli: Option<u64>,
    /// Its audio tracks.
    pub audio_tracks: Vec<u32>,
    /// A human title.
    pub title: Option<String>,
    /// Unknown fields of the event record.
    pub extra: Extra,
}

/// Where a replay is in its life (SEMANTICS §8.11).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReplayStatus {
    /// Its event or the event's profile is unknown.
    WaitingForEvent,
    /// An after-event replay whose event has not ended.
    Queued,
    /// A catch-up replay whose event has not ended.
    InProgress,
    /// Its event has ended.
    Complete,
}

impl ReplayStatus {
    /// The status as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayStatus::WaitingForEvent => "waiting_for_event",
            ReplayStatus::Queued => "queued",
            ReplayStatus::InProgress => "in_progress",
            ReplayStatus::Complete => "complete",
        }
    }
}

/// One selected clip of a replay.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClipView {
    /// The segment's start in milliseconds (the range's start in timestamps mode).
    pub start_ms: u64,
    /// The segment's end in milliseconds.
    pub end_ms: u64,
    /// The clip's in-point: the optimized one when optimized for the replay's track.
    pub clip_start_ms: u64,
    /// The clip's out-point.
    pub clip_end_ms: u64,
    /// The sum of the weights of the matching priorities (duration mode only).
    pub score: Option<u64>,
    /// Selected because liked (with `include_liked`).
    pub forced: bool,
    /// The features that matched a priority, sorted.
    pub features: Vec<Feature>,
}

impl ClipView {
    /// The clip's duration in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.clip_end_ms - self.clip_start_ms
    }
}

/// A replay's current selection, without its version (versions are given per closed epoch by
/// the read model).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReplayView {
    /// The replay's id.
    pub replay_id: String,
    /// Its event.
    pub event_id: String,
    /// Its status.
    pub status: ReplayStatus,
    /// Its mode.
    pub mode: ReplayMode,
    /// Its track.
    pub track: u32,
    /// Whether it is a catch-up replay.
    pub catchup: bool,
    /// Sum of the selected clips' durations in milliseconds.
    pub total_duration_ms: u64,
    /// Sum of their scores (duration mode only).
    pub total_score: Option<u64>,
    /// The selected clips, by clip start (in the given order in timestamps mode).
    pub clips: Vec<ClipView>,
    /// Rendering settings of the replay record, as canonical JSON text (empty when absent).
    pub render: String,
}

impl ReplayView {
    /// The clip bounds, which decide whether a new version needs rendering.
    pub fn clip_bounds(&self) -> Vec<(u64, u64)> {
        self.clips.iter().map(|c| (c.clip_start_ms, c.clip_end_ms)).collect()
    }
}

/// A change in the views, as published on `reeltime.notifications` (SEMANTICS §6).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Notification {
    /// An input record was rejected.
    RecordRejected {
        /// Where it was.
        position: String,
        /// Why.
        reason: String,
    },
    /// An event's status became `started`.
    EventStarted {
        /// The event.
        event_id: String,
    },
    /// An event's status became `ended`.
    EventEnded {
        /// The event.
        event_id: String,
    },
    /// A segment became open (new, or reopened).
    SegmentStarted {
        /// The event.
        event_id: String,
        /// The segment's start in milliseconds.
        start_ms: u64,
    },
    /// A segment became complete, or its bounds changed while complete.
    SegmentCompleted {
        /// The event.
        event_id: String,
        /// Start in milliseconds.
        start_ms: u64,
        /// End in milliseconds.
        end_ms: u64,
    },
    /// A segment got new optimized bounds on a track.
    SegmentOptimized {
        /// The event.
        event_id: String,
        /// The segment's start in milliseconds.
        start_ms: u64,
        /// The track.
        track: u32,
        /// The optimized bounds.
        bounds: OptoBounds,
    },
    /// A replay's view changed and has a new version.
    ReplayUpdated {
        /// The replay.
        replay_id: String,
        /// Its event.
        event_id: String,
        /// The new version.
        version: u64,
        /// Its status.
        status: ReplayStatus,
        /// Whether the list of clip bounds changed (only then does it need rendering).
        clips_changed: bool,
        /// Number of clips.
        clip_count: usize,
        /// Total duration in milliseconds.
        total_duration_ms: u64,
    },
    /// A replay was deleted (or its event was).
    ReplayDeleted {
        /// The replay.
        replay_id: String,
        /// Its last version.
        version: u64,
    },
}
