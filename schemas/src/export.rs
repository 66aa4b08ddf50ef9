//! The JSON exports (SEMANTICS §6): `events/<event_id>/export.json` and
//! `replays/<replay_id>/export.json`.
//!
//! An export is everything a data team or an editor's tool needs about one event or replay in
//! one file: the event (with the unknown fields its record carried) and a summary of its
//! profile, every segment with its bounds, clip bounds per track, optimizations, label,
//! features and feedback; a replay's settings and its selected clips with their matched
//! features and scores; and the EDL files written beside it. Times are seconds with at most 3
//! decimals, as in the views.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::document::{ClipDoc, EventDoc, FeatureDoc, OptoDoc, RenderedReplayDoc, TrackClipsDoc};
use crate::record::{Detection, Media, Priority, Profile, Replay, TimeRange};
use crate::time::Seconds;
use crate::value::{to_json_attributes, JsonAttributes, JsonValue};
use crate::view::{LabelView, ReplayStatus, SegmentView};

/// Unknown fields of an input record, kept for exports (SEMANTICS §2).
pub type ExtraFields = serde_json::Map<String, serde_json::Value>;

/// `events/<event_id>/export.json`: an event, its profile and every segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventExportDoc {
    /// The event.
    pub event_id: String,
    /// The event as its latest record defines it; null while no event record is live
    /// (segments can arrive first).
    pub event: Option<EventDoc>,
    /// A summary of the event's profile; null while the event or its profile is unknown.
    pub profile: Option<ProfileSummaryDoc>,
    /// The EDLs of the event, one per track, written beside this file.
    pub edl: EdlFilesDoc,
    /// Every segment of the event, by start.
    pub segments: Vec<SegmentExportDoc>,
    /// Every live detection of the event, by start, then plugin.
    pub detections: Vec<DetectionExportDoc>,
}

/// A live detection of an event export: the latest record of its identity, neither deleted
/// by its `deleted` flag nor received before a later delete of its event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DetectionExportDoc {
    /// The featurer.
    pub plugin: String,
    /// Start in seconds.
    pub start: Seconds,
    /// End in seconds (the start when the record had none).
    pub end: Seconds,
    /// The audio track it applies to; null for video, which applies to every track.
    pub track: Option<u32>,
    /// Its label, or null.
    pub label: Option<String>,
    /// What was detected.
    pub attributes: JsonAttributes,
}

impl From<&Detection> for DetectionExportDoc {
    fn from(d: &Detection) -> Self {
        DetectionExportDoc {
            plugin: d.plugin.clone(),
            start: Seconds(d.start_ms),
            end: Seconds(d.end_ms),
            track: d.track,
            label: d.label.clone(),
            attributes: to_json_attributes(&d.attributes),
        }
    }
}

/// What a profile does, without its plugins' configurations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProfileSummaryDoc {
    /// The profile's name.
    pub name: String,
    /// Chunk length the ingest produces, in seconds.
    pub chunk_size: Seconds,
    /// Frames per second the featurers sample.
    pub processing_fps: f64,
    /// Longest segment the classifier makes, in seconds.
    pub max_segment_length: Seconds,
    /// The classifier plugin.
    pub classifier: String,
    /// The optimizer plugin, or null: with one, segments are replay candidates only once
    /// optimized.
    pub optimizer: Option<String>,
    /// How far the optimizer may move an in or out point, in seconds, or null.
    pub optimizer_search_window: Option<Seconds>,
    /// The labeler plugin, or null.
    pub labeler: Option<String>,
    /// The featurers, in the profile's order.
    pub featurers: Vec<FeaturerSummaryDoc>,
}

impl From<&Profile> for ProfileSummaryDoc {
    fn from(p: &Profile) -> Self {
        ProfileSummaryDoc {
            name: p.name.clone(),
            chunk_size: Seconds(p.chunk_size_ms),
            processing_fps: crate::time::per_second(p.processing_fps_milli),
            max_segment_length: Seconds(p.max_segment_length_ms),
            classifier: p.classifier.plugin.clone(),
            optimizer: p.optimizer.as_ref().map(|o| o.slot.plugin.clone()),
            optimizer_search_window: p
                .optimizer
                .as_ref()
                .and_then(|o| o.search_window_ms)
                .map(Seconds),
            labeler: p.labeler.as_ref().map(|l| l.plugin.clone()),
            featurers: p
                .featurers
                .iter()
                .map(|f| FeaturerSummaryDoc {
                    plugin: f.slot.plugin.clone(),
                    media: f.media.map(|m| {
                        match m {
                            Media::Video => "video",
                            Media::Audio => "audio",
                        }
                        .to_owned()
                    }),
                    depends_on: f.depends_on.clone(),
                    priority_for_replay: f.priority_for_replay,
                })
                .collect(),
        }
    }
}

/// A featurer of a profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FeaturerSummaryDoc {
    /// The plugin.
    pub plugin: String,
    /// `video` or `audio`, or null when the profile does not say.
    pub media: Option<String>,
    /// Featurers that run before it on a chunk.
    pub depends_on: Vec<String>,
    /// Whether it runs before the classifier (a scheduling hint, not a filter on features).
    pub priority_for_replay: bool,
}

/// The EDL files of an export and how their timecode was made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EdlFilesDoc {
    /// Frame rate of the timecodes in frames per second: the event's, or 25 when it states
    /// none.
    pub frame_rate: f64,
    /// Whether the event states no frame rate (or is unknown) and 25 fps was assumed.
    pub frame_rate_assumed: bool,
    /// Whether the timecodes are drop-frame (29.97 and 59.94 fps with `--drop-frame`).
    pub drop_frame: bool,
    /// The channel of every event: `B` (video and audio), or `V` for a video-only event
    /// (`audio_tracks: []`).
    pub channel: String,
    /// The files, relative to the folder of this export: `event-<track>.edl` per track of an
    /// event, `replay.edl` for a replay, and `<stem>.partN.edl` after the first 999 events.
    pub files: Vec<String>,
    /// Why no EDL was written (a frame rate without timecode, a time beyond 24 hours), or
    /// null.
    pub error: Option<String>,
}

/// A segment's label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LabelDoc {
    /// The labeler.
    pub plugin: String,
    /// The label text.
    pub label: String,
    /// The labeler's attributes.
    pub attributes: JsonAttributes,
}

impl From<&LabelView> for LabelDoc {
    fn from(l: &LabelView) -> Self {
        LabelDoc {
            plugin: l.plugin.clone(),
            label: l.label.clone(),
            attributes: to_json_attributes(&l.attributes),
        }
    }
}

/// Where a segment's clip is on one track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClipBoundsDoc {
    /// In-point in seconds: the optimized one when optimized for the track, else the start.
    pub clip_start: Seconds,
    /// Out-point in seconds: the optimized one when optimized for the track, else the end.
    pub clip_end: Seconds,
}

/// One segment of an event export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentExportDoc {
    /// Start in seconds.
    pub start: Seconds,
    /// End in seconds; null while open without an end.
    pub end: Option<Seconds>,
    /// Whether the segment is complete (`end > start`).
    pub complete: bool,
    /// The classifier.
    pub plugin: String,
    /// The classifier's attributes.
    pub attributes: JsonAttributes,
    /// The label, or null.
    pub label: Option<LabelDoc>,
    /// Optimized bounds per track (keys are track numbers).
    pub optimizations: BTreeMap<String, OptoDoc>,
    /// Clip bounds per track of `features`, for a complete segment (empty while open).
    pub clips: BTreeMap<String, ClipBoundsDoc>,
    /// Features per track, sorted by plugin, attribute, value.
    pub features: BTreeMap<String, Vec<FeatureDoc>>,
    /// Feedback per track: `like` or `dislike`.
    pub feedback: BTreeMap<String, String>,
    /// Fields of the segment record that reeltime does not know, as sent.
    pub extra: ExtraFields,
    /// The rendered clip files per track, when rendering made them (as in `segments.json`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rendered: BTreeMap<String, TrackClipsDoc>,
}

impl From<&SegmentView> for SegmentExportDoc {
    fn from(s: &SegmentView) -> Self {
        let clips = match (s.complete, s.end_ms) {
            (true, Some(end_ms)) => s
                .features
                .keys()
                .map(|track| {
                    let (clip_start_ms, clip_end_ms) = s
                        .optimizations
                        .get(track)
                        .map_or((s.start_ms, end_ms), |o| (o.opto_start_ms, o.opto_end_ms));
                    let bounds = ClipBoundsDoc {
                        clip_start: Seconds(clip_start_ms),
                        clip_end: Seconds(clip_end_ms),
                    };
                    (track.to_string(), bounds)
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        SegmentExportDoc {
            start: Seconds(s.start_ms),
            end: s.end_ms.map(Seconds),
            complete: s.complete,
            plugin: s.plugin.clone(),
            attributes: to_json_attributes(&s.attributes),
            label: s.label.as_ref().map(LabelDoc::from),
            optimizations: s.optimizations.iter().map(|(t, b)| (t.to_string(), b.into())).collect(),
            clips,
            features: s
                .features
                .iter()
                .map(|(t, fs)| (t.to_string(), fs.iter().map(FeatureDoc::from).collect()))
                .collect(),
            feedback: s
                .feedback
                .iter()
                .map(|(t, v)| (t.to_string(), v.as_str().to_owned()))
                .collect(),
            extra: s.extra.to_json(),
            rendered: BTreeMap::new(),
        }
    }
}

/// `replays/<replay_id>/export.json`: a replay's settings and its latest selection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReplayExportDoc {
    /// The replay.
    pub replay_id: String,
    /// Its event.
    pub event_id: String,
    /// Its version: 1, 2, ... one per change of the view.
    pub version: u64,
    /// `waiting_for_event`, `queued`, `in_progress` or `complete`.
    pub status: ReplayStatus,
    /// The settings of the replay's latest record.
    pub settings: ReplaySettingsDoc,
    /// Sum of the clips' durations in seconds.
    pub total_duration: Seconds,
    /// Sum of the clips' scores; null in features and timestamps mode.
    pub total_score: Option<u64>,
    /// The replay's EDL, written beside this file.
    pub edl: EdlFilesDoc,
    /// The selected clips with their matched features and scores, by clip start (timestamps
    /// mode: in the given order).
    pub clips: Vec<ClipDoc>,
    /// The replay's video, when its record asks for one (as in `selection.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<RenderedReplayDoc>,
}

/// What a replay record asks for (SEMANTICS §5), with defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReplaySettingsDoc {
    /// `duration`, `features` or `timestamps`.
    pub mode: String,
    /// Maintained while the event runs (true) or computed once it has ended.
    pub catchup: bool,
    /// Duration budget in seconds (duration mode), or null.
    pub duration: Option<Seconds>,
    /// How far the budget may be exceeded, in seconds.
    pub tolerance: Seconds,
    /// Whether the selection is spread evenly over the event.
    pub equal_distribution: bool,
    /// The audio track whose clips and features count.
    pub track: u32,
    /// The features looked for.
    pub priorities: Vec<PriorityDoc>,
    /// Whether liked segments are always candidates.
    pub include_liked: bool,
    /// Whether disliked segments are never candidates.
    pub ignore_disliked: bool,
    /// The clips of timestamps mode, in order (empty in the other modes).
    pub timestamps: Vec<TimeRangeDoc>,
    /// Rendering settings as sent, or null.
    pub render: Option<ExtraFields>,
    /// Fields of the replay record that reeltime does not know, as sent.
    pub extra: ExtraFields,
}

impl From<&Replay> for ReplaySettingsDoc {
    fn from(r: &Replay) -> Self {
        ReplaySettingsDoc {
            mode: r.mode.as_str().to_owned(),
            catchup: r.catchup,
            duration: r.duration_ms.map(Seconds),
            tolerance: Seconds(r.tolerance_ms),
            equal_distribution: r.equal_distribution,
            track: r.track,
            priorities: r.priorities.iter().map(PriorityDoc::from).collect(),
            include_liked: r.include_liked,
            ignore_disliked: r.ignore_disliked,
            timestamps: r.timestamps.iter().map(TimeRangeDoc::from).collect(),
            render: (!r.render.is_empty())
                .then(|| serde_json::from_str(&r.render).unwrap_or_default()),
            extra: r.extra.to_json(),
        }
    }
}

/// A priority entry of a replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PriorityDoc {
    /// Only features of this plugin match; null: any plugin.
    pub plugin: Option<String>,
    /// The attribute name.
    pub attribute: String,
    /// The attribute value looked for.
    pub value: JsonValue,
    /// Weight 1..100 (duration mode), or null.
    pub weight: Option<u32>,
    /// Whether the entry counts in features mode.
    pub include: bool,
}

impl From<&Priority> for PriorityDoc {
    fn from(p: &Priority) -> Self {
        PriorityDoc {
            plugin: p.plugin.clone(),
            attribute: p.attribute.clone(),
            value: JsonValue(p.value.clone()),
            weight: p.weight,
            include: p.include,
        }
    }
}

/// A time range of timestamps mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimeRangeDoc {
    /// Start in seconds.
    pub start: Seconds,
    /// End in seconds.
    pub end: Seconds,
}

impl From<&TimeRange> for TimeRangeDoc {
    fn from(t: &TimeRange) -> Self {
        TimeRangeDoc { start: Seconds(t.start_ms), end: Seconds(t.end_ms) }
    }
}
