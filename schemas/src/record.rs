//! Input records after validation: the normalised form the dataflow computes on.
//!
//! Times are integer milliseconds of event time, rates are thousandths of a frame per second,
//! attribute values are canonical ([`AttrValue`](crate::value::AttrValue)). Every type derives
//! its serde form so it can be exchanged between workers; the JSON wire form lives in
//! [`crate::wire`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::value::Attributes;

/// Fields a record carried that reeltime does not know, as canonical JSON text of an object.
///
/// They are kept for exports and ignored by the computation (SEMANTICS §2). Empty when the
/// record had none.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Extra(pub String);

impl Extra {
    /// The unknown fields as a JSON object (empty when there were none).
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        if self.0.is_empty() {
            return serde_json::Map::new();
        }
        serde_json::from_str(&self.0).unwrap_or_default()
    }
}

/// A position in the input log: the line number of a log file or an ingest order for Kafka.
///
/// "Latest" in SEMANTICS always means the highest position.
pub type Seq = u64;

/// One validated input record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Record {
    /// A processing recipe.
    Profile(Profile),
    /// An event (a match) and its lifecycle status.
    Event(Event),
    /// A chunk of the event's video.
    Chunk(Chunk),
    /// A classifier result: a segment (clip), open or complete.
    Segment(Segment),
    /// An optimizer result: new clip bounds of a segment on one track.
    Optimization(Optimization),
    /// A labeler result: a label and attributes for a segment.
    Label(Label),
    /// A featurer result: something detected in the media.
    Detection(Detection),
    /// A replay (highlight reel) request.
    Replay(Replay),
    /// A reviewer's verdict on a segment.
    Feedback(Feedback),
    /// A delete of an event, replay or profile.
    Delete(Delete),
}

impl Record {
    /// The record's `type` as written on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            Record::Profile(_) => "profile",
            Record::Event(_) => "event",
            Record::Chunk(_) => "chunk",
            Record::Segment(_) => "segment",
            Record::Optimization(_) => "optimization",
            Record::Label(_) => "label",
            Record::Detection(_) => "detection",
            Record::Replay(_) => "replay",
            Record::Feedback(_) => "feedback",
            Record::Delete(_) => "delete",
        }
    }

    /// The event the record is about, if it is about one.
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Record::Profile(_) | Record::Delete(_) => None,
            Record::Event(r) => Some(&r.event_id),
            Record::Chunk(r) => Some(&r.event_id),
            Record::Segment(r) => Some(&r.event_id),
            Record::Optimization(r) => Some(&r.event_id),
            Record::Label(r) => Some(&r.event_id),
            Record::Detection(r) => Some(&r.event_id),
            Record::Replay(r) => Some(&r.event_id),
            Record::Feedback(r) => Some(&r.event_id),
        }
    }
}

/// A plugin in a profile slot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PluginSlot {
    /// The plugin's name.
    pub plugin: String,
    /// Its configuration, as canonical JSON text (empty when absent).
    pub config: String,
}

/// The optimizer slot of a profile.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OptimizerSlot {
    /// The plugin and its configuration.
    pub slot: PluginSlot,
    /// How far the optimizer may move an in or out point, in milliseconds.
    pub search_window_ms: Option<u64>,
}

/// Which media a featurer analyses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Media {
    /// The picture, once per event.
    Video,
    /// Sound, once per audio track.
    Audio,
}

/// A featurer slot of a profile.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FeaturerSlot {
    /// The plugin and its configuration.
    pub slot: PluginSlot,
    /// Featurers that must run before this one on a chunk.
    pub depends_on: Vec<String>,
    /// A scheduling hint for plugins: run before the classifier (not a filter on features).
    pub priority_for_replay: bool,
    /// The media it analyses, when stated.
    pub media: Option<Media>,
}

/// A processing recipe, identified by its name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Profile {
    /// The profile's name (its identity).
    pub name: String,
    /// Chunk length the ingest produces, in milliseconds.
    pub chunk_size_ms: u64,
    /// Frames per second the featurers sample, in thousandths.
    pub processing_fps_milli: u64,
    /// Longest segment the classifier makes, in milliseconds.
    pub max_segment_length_ms: u64,
    /// The classifier (segmenter).
    pub classifier: PluginSlot,
    /// The optimizer, if any: then segments are replay candidates only once optimized.
    pub optimizer: Option<OptimizerSlot>,
    /// The labeler, if any.
    pub labeler: Option<PluginSlot>,
    /// The featurers.
    pub featurers: Vec<FeaturerSlot>,
    /// Unknown fields.
    pub extra: Extra,
}

/// Lifecycle status of an event.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Not started yet.
    Scheduled,
    /// Running (live) or being processed.
    Started,
    /// Over: after-event replays are computed.
    Ended,
}

impl EventStatus {
    /// The status as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Scheduled => "scheduled",
            EventStatus::Started => "started",
            EventStatus::Ended => "ended",
        }
    }
}

/// An event (a match, a programme).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Event {
    /// The event's id.
    pub event_id: String,
    /// The programme (e.g. a tournament) it belongs to.
    pub program: Option<String>,
    /// The name of its profile.
    pub profile: String,
    /// Its lifecycle status.
    pub status: EventStatus,
    /// Frame rate of its video in thousandths of a frame per second (29970 for 29.97).
    pub frame_rate_milli: Option<u64>,
    /// Its audio tracks (default `[1]`).
    pub audio_tracks: Vec<u32>,
    /// A human title.
    pub title: Option<String>,
    /// Unknown fields.
    pub extra: Extra,
}

/// A chunk of an event's video.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Chunk {
    /// The event.
    pub event_id: String,
    /// The chunk number.
    pub seq_no: u64,
    /// Where the chunk's media is.
    pub uri: String,
    /// Event time of its first frame, in milliseconds.
    pub start_ms: u64,
    /// Its duration in milliseconds.
    pub duration_ms: u64,
    /// Presentation time of its first frame in the source, in milliseconds.
    pub pts_start_ms: Option<u64>,
    /// Why the chunk cannot be used, when it cannot.
    pub error: Option<String>,
    /// Unknown fields.
    pub extra: Extra,
}

/// A classifier result: the segment `(event_id, start)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Segment {
    /// The event.
    pub event_id: String,
    /// The classifier that made it.
    pub plugin: String,
    /// Its start in milliseconds (its identity within the event).
    pub start_ms: u64,
    /// Its end in milliseconds; absent while the segment is open.
    pub end_ms: Option<u64>,
    /// The classifier's attributes.
    pub attributes: Attributes,
    /// True when this record removes the segment.
    pub deleted: bool,
    /// Unknown fields.
    pub extra: Extra,
}

impl Segment {
    /// A segment is complete when its end is after its start (SEMANTICS §3).
    pub fn is_complete(&self) -> bool {
        self.end_ms.is_some_and(|end| end > self.start_ms)
    }

    /// The end used for ranges: the start while open.
    pub fn range_end_ms(&self) -> u64 {
        self.end_ms.unwrap_or(self.start_ms)
    }
}

/// An optimizer result for the segment `(event_id, start)` on one track.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Optimization {
    /// The event.
    pub event_id: String,
    /// The optimizer.
    pub plugin: String,
    /// The segment's start in milliseconds.
    pub start_ms: u64,
    /// The audio track (default 1).
    pub track: u32,
    /// The optimized in-point in milliseconds.
    pub opto_start_ms: u64,
    /// The optimized out-point in milliseconds (after the in-point).
    pub opto_end_ms: u64,
    /// Unknown fields.
    pub extra: Extra,
}

/// A labeler result for the segment `(event_id, start)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Label {
    /// The event.
    pub event_id: String,
    /// The labeler.
    pub plugin: String,
    /// The segment's start in milliseconds.
    pub start_ms: u64,
    /// The label text.
    pub label: String,
    /// The labeler's attributes.
    pub attributes: Attributes,
    /// Unknown fields.
    pub extra: Extra,
}

/// A featurer result. Two detections with the same fields are one fact (SEMANTICS §8.6).
///
/// Unknown fields are not part of a detection's identity and are not kept.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Detection {
    /// The event.
    pub event_id: String,
    /// The featurer.
    pub plugin: String,
    /// Its start in milliseconds.
    pub start_ms: u64,
    /// Its end in milliseconds (the start when the record had none).
    pub end_ms: u64,
    /// The audio track it applies to; `None` for video, which applies to every track.
    pub track: Option<u32>,
    /// A label.
    pub label: Option<String>,
    /// What was detected.
    pub attributes: Attributes,
    /// True when this record removes the identical earlier detection. Not part of the
    /// detection's identity: see [`Detection::identity`].
    pub deleted: bool,
}

impl Detection {
    /// The fact this record adds or removes (the record with `deleted` cleared).
    pub fn identity(&self) -> Detection {
        Detection { deleted: false, ..self.clone() }
    }
}

/// How a replay chooses its clips.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReplayMode {
    /// The best segments under a duration budget.
    Duration,
    /// Every segment with one of the chosen features.
    Features,
    /// Clips given as time ranges.
    Timestamps,
}

impl ReplayMode {
    /// The mode as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayMode::Duration => "duration",
            ReplayMode::Features => "features",
            ReplayMode::Timestamps => "timestamps",
        }
    }
}

/// A feature a replay looks for, with its weight.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Priority {
    /// Only features of this plugin match; any plugin when absent.
    pub plugin: Option<String>,
    /// The attribute name.
    pub attribute: String,
    /// The attribute value (default `true`).
    pub value: crate::value::AttrValue,
    /// Weight 1..100 (required in duration mode).
    pub weight: Option<u32>,
    /// Whether the entry counts in features mode (default true).
    pub include: bool,
}

/// A clip given by time in timestamps mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TimeRange {
    /// Start in milliseconds.
    pub start_ms: u64,
    /// End in milliseconds (after the start).
    pub end_ms: u64,
}

/// A replay (highlight reel) request; the latest record for a `replay_id` defines it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Replay {
    /// The replay's id.
    pub replay_id: String,
    /// The event it summarises.
    pub event_id: String,
    /// How clips are chosen.
    pub mode: ReplayMode,
    /// Maintained continuously while the event runs (catch-up) or computed after it ends.
    pub catchup: bool,
    /// Duration budget in milliseconds (duration mode).
    pub duration_ms: Option<u64>,
    /// How far the budget may be exceeded, in milliseconds (default 30 s).
    pub tolerance_ms: u64,
    /// Spread the selection over the event's timeline.
    pub equal_distribution: bool,
    /// The audio track whose clips and features count (default 1).
    pub track: u32,
    /// The features looked for.
    pub priorities: Vec<Priority>,
    /// Liked segments are always candidates, ranked first.
    pub include_liked: bool,
    /// Disliked segments are never candidates.
    pub ignore_disliked: bool,
    /// The clips of timestamps mode, in order.
    pub timestamps: Vec<TimeRange>,
    /// Rendering settings, as canonical JSON text (empty when absent).
    pub render: String,
    /// Unknown fields.
    pub extra: Extra,
}

/// A reviewer's verdict.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Thumbs up.
    Like,
    /// Thumbs down.
    Dislike,
    /// Clears the earlier verdict.
    Reset,
}

impl Verdict {
    /// The verdict as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Like => "like",
            Verdict::Dislike => "dislike",
            Verdict::Reset => "reset",
        }
    }
}

/// A reviewer's verdict on the segment `(event_id, start)` on one track.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Feedback {
    /// The event.
    pub event_id: String,
    /// The segment's start in milliseconds.
    pub start_ms: u64,
    /// The track (default 1).
    pub track: u32,
    /// The verdict.
    pub verdict: Verdict,
}

/// What a delete removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DeleteKind {
    /// An event and everything about it received so far.
    Event,
    /// A replay.
    Replay,
    /// A profile.
    Profile,
}

/// A delete of an event, replay or profile.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Delete {
    /// What is deleted.
    pub kind: DeleteKind,
    /// Its id (event id, replay id or profile name).
    pub id: String,
}
