//! The JSON documents of the views (SEMANTICS §6): `segments.json`, `selection.json`,
//! notification lines and dead-letter lines. Times are seconds with at most 3 decimals.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::record::{EventStatus, ReplayMode, Verdict};
use crate::time::Seconds;
use crate::value::{to_json_attributes, JsonAttributes, JsonValue};
use crate::view::{
    ClipView, EventView, Feature, Notification, OptoBounds, ReplayStatus, ReplayView, SegmentView,
};

/// A feature: `{"plugin", "attribute", "value"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FeatureDoc {
    /// The plugin that reported it.
    pub plugin: String,
    /// The attribute name.
    pub attribute: String,
    /// The attribute value.
    pub value: JsonValue,
}

impl From<&Feature> for FeatureDoc {
    fn from(f: &Feature) -> Self {
        FeatureDoc {
            plugin: f.plugin.clone(),
            attribute: f.attribute.clone(),
            value: JsonValue(f.value.clone()),
        }
    }
}

/// Optimized bounds on one track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OptoDoc {
    /// In-point in seconds.
    pub opto_start: Seconds,
    /// Out-point in seconds.
    pub opto_end: Seconds,
}

impl From<&OptoBounds> for OptoDoc {
    fn from(b: &OptoBounds) -> Self {
        OptoDoc { opto_start: Seconds(b.opto_start_ms), opto_end: Seconds(b.opto_end_ms) }
    }
}

/// One segment in `segments.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentDoc {
    /// Start in seconds.
    pub start: Seconds,
    /// End in seconds; null while open without an end.
    pub end: Option<Seconds>,
    /// Whether the segment is complete.
    pub complete: bool,
    /// The classifier.
    pub plugin: String,
    /// The classifier's attributes.
    pub attributes: JsonAttributes,
    /// The label, or null.
    pub label: Option<String>,
    /// The labeler, or null.
    pub label_plugin: Option<String>,
    /// The labeler's attributes.
    pub label_attributes: JsonAttributes,
    /// Optimized bounds per track (keys are track numbers).
    pub optimizations: BTreeMap<String, OptoDoc>,
    /// Features per track, sorted by plugin, attribute, value.
    pub features: BTreeMap<String, Vec<FeatureDoc>>,
    /// Feedback per track: `like` or `dislike`.
    pub feedback: BTreeMap<String, Verdict>,
    /// Rendered clips per track (keys are track numbers), once rendering made them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clips: BTreeMap<String, TrackClipsDoc>,
}

impl From<&SegmentView> for SegmentDoc {
    fn from(s: &SegmentView) -> Self {
        SegmentDoc {
            start: Seconds(s.start_ms),
            end: s.end_ms.map(Seconds),
            complete: s.complete,
            plugin: s.plugin.clone(),
            attributes: to_json_attributes(&s.attributes),
            label: s.label.as_ref().map(|l| l.label.clone()),
            label_plugin: s.label.as_ref().map(|l| l.plugin.clone()),
            label_attributes: s
                .label
                .as_ref()
                .map(|l| to_json_attributes(&l.attributes))
                .unwrap_or_default(),
            optimizations: s.optimizations.iter().map(|(t, b)| (t.to_string(), b.into())).collect(),
            features: s
                .features
                .iter()
                .map(|(t, fs)| (t.to_string(), fs.iter().map(FeatureDoc::from).collect()))
                .collect(),
            feedback: s.feedback.iter().map(|(t, v)| (t.to_string(), *v)).collect(),
            clips: BTreeMap::new(),
        }
    }
}

/// A rendered clip of a segment on one track. Paths are relative to the output directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenderedClipDoc {
    /// The in-point asked for, in seconds.
    pub requested_start: Seconds,
    /// The out-point asked for, in seconds.
    pub requested_end: Seconds,
    /// The event time of the clip's first frame: the keyframe at or before the in-point when
    /// stream-copied.
    pub start: Seconds,
    /// The event time of the end of its last frame.
    pub end: Seconds,
    /// The MP4 file.
    pub mp4: String,
    /// The JPEG thumbnail.
    pub thumbnail: Option<String>,
    /// True when re-encoded (asked for, or chunks that cannot be joined by stream copy).
    pub reencoded: bool,
}

/// The clips of a segment on one track: of its original bounds, and of its optimized bounds
/// when optimized on that track.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrackClipsDoc {
    /// The clip of the segment's bounds.
    pub original: Option<RenderedClipDoc>,
    /// The clip of the optimized bounds.
    pub optimized: Option<RenderedClipDoc>,
    /// Why a clip of the current bounds could not be rendered.
    pub error: Option<String>,
}

/// `events/<event_id>/segments.json`: every segment of an event, by start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentsDoc {
    /// The event.
    pub event_id: String,
    /// Its segments, by start.
    pub segments: Vec<SegmentDoc>,
}

/// One selected clip in `selection.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClipDoc {
    /// The segment's start in seconds.
    pub start: Seconds,
    /// The segment's end in seconds.
    pub end: Seconds,
    /// The clip's in-point (optimized when optimized for the replay's track).
    pub clip_start: Seconds,
    /// The clip's out-point.
    pub clip_end: Seconds,
    /// Sum of the matching priorities' weights; null in features and timestamps mode.
    pub score: Option<u64>,
    /// Selected because liked.
    pub forced: bool,
    /// The features that matched a priority.
    pub features: Vec<FeatureDoc>,
}

impl From<&ClipView> for ClipDoc {
    fn from(c: &ClipView) -> Self {
        ClipDoc {
            start: Seconds(c.start_ms),
            end: Seconds(c.end_ms),
            clip_start: Seconds(c.clip_start_ms),
            clip_end: Seconds(c.clip_end_ms),
            score: c.score,
            forced: c.forced,
            features: c.features.iter().map(FeatureDoc::from).collect(),
        }
    }
}

/// `replays/<replay_id>/selection.json`: the latest version of a replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SelectionDoc {
    /// The replay.
    pub replay_id: String,
    /// Its event.
    pub event_id: String,
    /// Its version: 1, 2, ... one per change of the view.
    pub version: u64,
    /// `waiting_for_event`, `queued`, `in_progress` or `complete`.
    pub status: ReplayStatus,
    /// `duration`, `features` or `timestamps`.
    pub mode: ReplayMode,
    /// The audio track.
    pub track: u32,
    /// Sum of the clips' durations in seconds.
    pub total_duration: Seconds,
    /// Sum of the clips' scores; null in features and timestamps mode.
    pub total_score: Option<u64>,
    /// The clips, by clip start (timestamps mode: in the given order).
    pub clips: Vec<ClipDoc>,
    /// The rendering of this clip list, when the replay asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<RenderedReplayDoc>,
}

/// Where the video of a replay's clip list is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RenderStatus {
    /// Waiting for the chunks its clips need.
    Waiting,
    /// Being rendered.
    Rendering,
    /// Ready.
    Rendered,
    /// It could not be made (`error` says why).
    Failed,
}

/// The video of a replay's clip list. Paths are relative to the output directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenderedReplayDoc {
    /// The version that asked for this clip list (later versions with the same clips share
    /// its video).
    pub version: u64,
    /// `waiting` (for the chunks), `rendering`, `rendered` or `failed`.
    pub status: RenderStatus,
    /// Why it failed.
    pub error: Option<String>,
    /// Length of the video in seconds.
    pub duration: Option<Seconds>,
    /// The master playlist, when HLS was asked for.
    pub master: Option<String>,
    /// The thumbnail.
    pub thumbnail: Option<String>,
    /// One per resolution, in the order asked for.
    pub renditions: Vec<RenditionDoc>,
}

/// One resolution of a rendered replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenditionDoc {
    /// `360p`, `480p`, `720p`, `1080p`, `1:1`, `4:5` or `9:16`.
    pub resolution: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The MP4, when asked for.
    pub mp4: Option<String>,
    /// The HLS VOD playlist, when asked for.
    pub playlist: Option<String>,
}

impl SelectionDoc {
    /// The document of a replay view at a version.
    pub fn new(view: &ReplayView, version: u64) -> Self {
        SelectionDoc {
            replay_id: view.replay_id.clone(),
            event_id: view.event_id.clone(),
            version,
            status: view.status,
            mode: view.mode,
            track: view.track,
            total_duration: Seconds(view.total_duration_ms),
            total_score: view.total_score,
            clips: view.clips.iter().map(ClipDoc::from).collect(),
            rendered: None,
        }
    }
}

/// `events/<event_id>/event.json`: what is known of the event itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventDoc {
    /// The event.
    pub event_id: String,
    /// Its programme.
    pub program: Option<String>,
    /// Its profile's name.
    pub profile: String,
    /// Whether the profile is known.
    pub profile_known: bool,
    /// `scheduled`, `started` or `ended`.
    pub status: EventStatus,
    /// Frame rate, e.g. 25 or 29.97.
    pub frame_rate: Option<f64>,
    /// Audio tracks.
    pub audio_tracks: Vec<u32>,
    /// Title.
    pub title: Option<String>,
    /// Fields of the event record that reeltime does not know, as sent.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// The growing HLS playlist of rendered clips per track (keys are track numbers), relative
    /// to the output directory.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub playlists: BTreeMap<String, String>,
    /// Chunks that could not be used, by sequence number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_chunks: Vec<FailedChunkDoc>,
}

/// A chunk that could not be used, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FailedChunkDoc {
    /// Its sequence number.
    pub seq_no: u64,
    /// Where it was.
    pub uri: String,
    /// Event time of its start, in seconds.
    pub start: Seconds,
    /// Why it failed.
    pub reason: String,
}

impl From<&EventView> for EventDoc {
    fn from(e: &EventView) -> Self {
        EventDoc {
            event_id: e.event_id.clone(),
            program: e.program.clone(),
            profile: e.profile.clone(),
            profile_known: e.profile_known,
            status: e.status,
            frame_rate: e.frame_rate_milli.map(crate::time::per_second),
            audio_tracks: e.audio_tracks.clone(),
            title: e.title.clone(),
            extra: e.extra.to_json(),
            playlists: BTreeMap::new(),
            failed_chunks: Vec::new(),
        }
    }
}

/// One line of `notifications.jsonl` (and one message of `reeltime.notifications`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NotificationDoc {
    /// An input record was rejected.
    RecordRejected {
        /// The epoch it was seen in.
        epoch: u64,
        /// Its position: a 1-based line number, or `topic/partition/offset`.
        position: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An event started.
    EventStarted {
        /// The epoch.
        epoch: u64,
        /// The event.
        event_id: String,
    },
    /// An event ended.
    EventEnded {
        /// The epoch.
        epoch: u64,
        /// The event.
        event_id: String,
    },
    /// A segment became open.
    SegmentStarted {
        /// The epoch.
        epoch: u64,
        /// The event.
        event_id: String,
        /// Its start in seconds.
        start: Seconds,
    },
    /// A segment became complete (or its bounds changed while complete).
    SegmentCompleted {
        /// The epoch.
        epoch: u64,
        /// The event.
        event_id: String,
        /// Start in seconds.
        start: Seconds,
        /// End in seconds.
        end: Seconds,
    },
    /// A segment got new optimized bounds.
    SegmentOptimized {
        /// The epoch.
        epoch: u64,
        /// The event.
        event_id: String,
        /// The segment's start in seconds.
        start: Seconds,
        /// The track.
        track: u32,
        /// Optimized in-point in seconds.
        opto_start: Seconds,
        /// Optimized out-point in seconds.
        opto_end: Seconds,
    },
    /// A replay has a new version.
    ReplayUpdated {
        /// The epoch.
        epoch: u64,
        /// The replay.
        replay_id: String,
        /// Its event.
        event_id: String,
        /// The new version.
        version: u64,
        /// Its status.
        status: ReplayStatus,
        /// Whether its clip bounds changed (only then is it rendered again).
        clips_changed: bool,
        /// Number of clips.
        clip_count: usize,
        /// Total duration in seconds.
        total_duration: Seconds,
    },
    /// A replay was deleted.
    ReplayDeleted {
        /// The epoch.
        epoch: u64,
        /// The replay.
        replay_id: String,
        /// Its last version.
        version: u64,
    },
    /// A chunk could not be used: its detections and the clips that need it fail.
    ChunkFailed {
        /// The epoch.
        epoch: u64,
        /// The event.
        event_id: String,
        /// The chunk.
        chunk: FailedChunkDoc,
    },
    /// A clip of a segment was rendered.
    ClipRendered {
        /// The epoch whose views it was rendered from.
        epoch: u64,
        /// The event.
        event_id: String,
        /// The segment's start in seconds.
        start: Seconds,
        /// The track.
        track: u32,
        /// `original` or `optimized`.
        bounds: String,
        /// The clip.
        clip: RenderedClipDoc,
    },
    /// A clip of a segment could not be rendered.
    ClipFailed {
        /// The epoch whose views it was to be rendered from.
        epoch: u64,
        /// The event.
        event_id: String,
        /// The segment's start in seconds.
        start: Seconds,
        /// The track.
        track: u32,
        /// `original` or `optimized`.
        bounds: String,
        /// Why.
        reason: String,
    },
    /// A replay's clip list was rendered.
    ReplayRendered {
        /// The epoch whose views it was rendered from.
        epoch: u64,
        /// The replay.
        replay_id: String,
        /// Its event.
        event_id: String,
        /// What was rendered.
        rendered: RenderedReplayDoc,
    },
    /// A replay's clip list could not be rendered.
    ReplayRenderFailed {
        /// The epoch whose views it was to be rendered from.
        epoch: u64,
        /// The replay.
        replay_id: String,
        /// Its event.
        event_id: String,
        /// The version that asked for it.
        version: u64,
        /// Why.
        reason: String,
    },
}

impl NotificationDoc {
    /// The document of a notification of an epoch.
    pub fn new(epoch: u64, n: &Notification) -> Self {
        match n.clone() {
            Notification::RecordRejected { position, reason } => {
                NotificationDoc::RecordRejected { epoch, position, reason }
            }
            Notification::EventStarted { event_id } => {
                NotificationDoc::EventStarted { epoch, event_id }
            }
            Notification::EventEnded { event_id } => {
                NotificationDoc::EventEnded { epoch, event_id }
            }
            Notification::SegmentStarted { event_id, start_ms } => {
                NotificationDoc::SegmentStarted { epoch, event_id, start: Seconds(start_ms) }
            }
            Notification::SegmentCompleted { event_id, start_ms, end_ms } => {
                NotificationDoc::SegmentCompleted {
                    epoch,
                    event_id,
                    start: Seconds(start_ms),
                    end: Seconds(end_ms),
                }
            }
            Notification::SegmentOptimized { event_id, start_ms, track, bounds } => {
                NotificationDoc::SegmentOptimized {
                    epoch,
                    event_id,
                    start: Seconds(start_ms),
                    track,
                    opto_start: Seconds(bounds.opto_start_ms),
                    opto_end: Seconds(bounds.opto_end_ms),
                }
            }
            Notification::ReplayUpdated {
                replay_id,
                event_id,
                version,
                status,
                clips_changed,
                clip_count,
                total_duration_ms,
            } => NotificationDoc::ReplayUpdated {
                epoch,
                replay_id,
                event_id,
                version,
                status,
                clips_changed,
                clip_count,
                total_duration: Seconds(total_duration_ms),
            },
            Notification::ReplayDeleted { replay_id, version } => {
                NotificationDoc::ReplayDeleted { epoch, replay_id, version }
            }
        }
    }
}

/// Where a rejected record was: a 1-based line number of a log file, or
/// `topic/partition/offset` for Kafka.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Position {
    /// A line of a log file.
    Line(u64),
    /// A Kafka message.
    Kafka(String),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Line(line) => write!(f, "line {line}"),
            Position::Kafka(position) => f.write_str(position),
        }
    }
}

/// One line of `dead-letter.jsonl`: a rejected record, kept whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeadLetterDoc {
    /// Where it was.
    pub position: Position,
    /// Why it was rejected.
    pub reason: String,
    /// A short stable name of the reason (`not_json`, `unknown_type`, `invalid`, ...).
    pub kind: String,
    /// The record's text (invalid UTF-8 replaced by U+FFFD).
    pub record: String,
    /// When it was seen (UTC, RFC 3339).
    pub seen_at: String,
}

/// A message of the `clips` topic: one segment view of an event, keyed `<event_id>/<start>`
/// (a tombstone when the segment is removed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClipMessageDoc {
    /// The event.
    pub event_id: String,
    /// The segment.
    #[serde(flatten)]
    pub segment: SegmentDoc,
}

/// A message of the `replays` topic for a deleted replay: its last version stays on the
/// compacted topic, so that a replay created again under the same id goes on counting from
/// there (SEMANTICS §8.12).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReplayRemovedDoc {
    /// The replay.
    pub replay_id: String,
    /// Its last version.
    pub version: u64,
    /// Always true.
    pub removed: bool,
}
