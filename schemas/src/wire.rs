//! The JSON wire form of input records, their JSON Schema, and decoding with validation.
//!
//! Each `*Record` struct is one `type` of SEMANTICS §2 as plugins and operators publish it.
//! [`decode`] turns one line or message into a [`Record`], or a [`RecordError`] that names the
//! field and the rule it broke.
//!
//! Decoding reads the text once: [`json`] reads it into a tree, checked as strict JSON, and the
//! `*Record` struct of the record's `type` is read from that tree, then validated and normalised.
//! Only a record that fails is read from the tree a second time, with its path tracked, to name
//! the field at fault; accepted records pay nothing for that.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::error::RecordError;
use crate::json::{self, Node};
use crate::record::{self, Extra, Record};
use crate::time::{Rate, Seconds};
use crate::value::{from_json_attributes, JsonAttributes, JsonValue};

/// A non-empty string (ids, names, plugins).
#[derive(Clone, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(transparent)]
pub struct Name(#[schemars(length(min = 1))] pub String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.is_empty() {
            return Err(de::Error::custom("must not be empty"));
        }
        Ok(Name(text))
    }
}

/// An audio track number, an integer of at least 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(transparent)]
pub struct Track(#[schemars(range(min = 1))] pub u32);

impl<'de> Deserialize<'de> for Track {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u32::deserialize(deserializer)? {
            0 => Err(de::Error::custom("track must be at least 1")),
            track => Ok(Track(track)),
        }
    }
}

/// A priority weight, an integer from 1 to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(transparent)]
pub struct Weight(#[schemars(range(min = 1, max = 100))] pub u32);

impl<'de> Deserialize<'de> for Weight {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u32::deserialize(deserializer)? {
            weight @ 1..=100 => Ok(Weight(weight)),
            weight => Err(de::Error::custom(format!("weight {weight} is not between 1 and 100"))),
        }
    }
}

/// Unknown fields of a record, kept for exports.
type ExtraFields = BTreeMap<String, serde_json::Value>;

/// A plugin in a profile slot.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PluginSlotRecord {
    /// The plugin's name.
    pub plugin: Name,
    /// Its configuration (any JSON object).
    #[serde(default)]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The optimizer slot of a profile.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct OptimizerSlotRecord {
    /// The plugin's name.
    pub plugin: Name,
    /// Its configuration (any JSON object).
    #[serde(default)]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
    /// How far the optimizer may move an in or out point, in seconds.
    #[serde(default)]
    pub search_window: Option<Seconds>,
}

/// Which media a featurer analyses.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaRecord {
    /// The picture, once per event.
    Video,
    /// Sound, once per audio track.
    Audio,
}

/// A featurer slot of a profile.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FeaturerSlotRecord {
    /// The plugin's name.
    pub plugin: Name,
    /// Its configuration (any JSON object).
    #[serde(default)]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
    /// Featurers that must run before this one on a chunk.
    #[serde(default)]
    pub depends_on: Option<Vec<Name>>,
    /// Run before the classifier so catch-up replays see its features (default true). A
    /// scheduling hint for plugins, not a filter: every detection counts.
    #[serde(default)]
    pub priority_for_replay: Option<bool>,
    /// The media it analyses.
    #[serde(default)]
    pub media: Option<MediaRecord>,
}

/// `type: "profile"`: a processing recipe, identified by its name.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ProfileRecord {
    /// The profile's name (its identity; the latest record for a name wins).
    pub name: Name,
    /// Chunk length the ingest produces, in seconds.
    pub chunk_size: Seconds,
    /// Frames per second the featurers sample.
    pub processing_fps: Rate,
    /// Longest segment the classifier makes, in seconds.
    pub max_segment_length: Seconds,
    /// The classifier (segmenter).
    pub classifier: PluginSlotRecord,
    /// The optimizer; with one, segments are replay candidates only once optimized.
    #[serde(default)]
    pub optimizer: Option<OptimizerSlotRecord>,
    /// The labeler.
    #[serde(default)]
    pub labeler: Option<PluginSlotRecord>,
    /// The featurers.
    #[serde(default)]
    pub featurers: Option<Vec<FeaturerSlotRecord>>,
    /// Unknown fields: kept in exports, ignored by the computation.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: ExtraFields,
}

/// Lifecycle status of an event.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventStatusRecord {
    /// Not started yet.
    Scheduled,
    /// Running.
    Started,
    /// Over; a later `started` reopens it.
    Ended,
}

/// `type: "event"`: an event (a match) and its lifecycle status.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EventRecord {
    /// The event's id.
    pub event_id: Name,
    /// The programme (e.g. a tournament).
    #[serde(default)]
    pub program: Option<String>,
    /// The name of its profile.
    pub profile: Name,
    /// Its lifecycle status.
    pub status: EventStatusRecord,
    /// Frame rate of its video, e.g. 25, 29.97 or 50.
    #[serde(default)]
    pub frame_rate: Option<Rate>,
    /// Its audio tracks (default `[1]`; `[]` for a video-only source).
    #[serde(default)]
    pub audio_tracks: Option<Vec<Track>>,
    /// A human title.
    #[serde(default)]
    pub title: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: ExtraFields,
}

/// `type: "chunk"`: a chunk of an event's video, published by ingest.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ChunkRecord {
    /// The event.
    pub event_id: Name,
    /// The chunk number.
    pub seq_no: u64,
    /// Where the chunk's media is (path or URL).
    pub uri: Name,
    /// Event time of its first frame, in seconds.
    pub start: Seconds,
    /// Its duration in seconds.
    pub duration: Seconds,
    /// Presentation time of its first frame in the source, in seconds.
    #[serde(default)]
    pub pts_start: Option<Seconds>,
    /// Why the chunk cannot be used (damaged, truncated, unreadable), when it cannot: its
    /// detections and the clips that need it fail with this reason.
    #[serde(default)]
    pub error: Option<Name>,
    /// Unknown fields.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: ExtraFields,
}

/// `type: "segment"`: a classifier result. The latest record for `(event_id, start)` wins.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SegmentRecord {
    /// The event.
    pub event_id: Name,
    /// The classifier.
    pub plugin: Name,
    /// Start in seconds (the segment's identity within the event).
    pub start: Seconds,
    /// End in seconds; absent, null or equal to `start` while the segment is open.
    #[serde(default)]
    pub end: Option<Seconds>,
    /// The classifier's attributes (booleans, numbers, strings).
    #[serde(default)]
    pub attributes: Option<JsonAttributes>,
    /// True to remove the segment.
    #[serde(default)]
    pub deleted: Option<bool>,
    /// Unknown fields.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: ExtraFields,
}

/// `type: "optimization"`: new clip bounds of the segment `(event_id, start)` on one track.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct OptimizationRecord {
    /// The event.
    pub event_id: Name,
    /// The optimizer.
    pub plugin: Name,
    /// The segment's start in seconds.
    pub start: Seconds,
    /// The audio track (default 1).
    #[serde(default)]
    pub track: Option<Track>,
    /// Optimized in-point in seconds.
    pub opto_start: Seconds,
    /// Optimized out-point in seconds; must be after `opto_start`.
    pub opto_end: Seconds,
    /// Unknown fields.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: ExtraFields,
}

/// `type: "label"`: a labeler result for the segment `(event_id, start)`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct LabelRecord {
    /// The event.
    pub event_id: Name,
    /// The labeler.
    pub plugin: Name,
    /// The segment's start in seconds.
    pub start: Seconds,
    /// The label text.
    pub label: String,
    /// The labeler's attributes.
    #[serde(default)]
    pub attributes: Option<JsonAttributes>,
    /// Unknown fields.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: ExtraFields,
}

/// `type: "detection"`: a featurer result. Identical detections are one fact; unknown fields
/// are ignored and not kept.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DetectionRecord {
    /// The event.
    pub event_id: Name,
    /// The featurer.
    pub plugin: Name,
    /// Start in seconds.
    pub start: Seconds,
    /// End in seconds (default `start`); not before `start`.
    #[serde(default)]
    pub end: Option<Seconds>,
    /// The audio track; absent for video, which applies to every track.
    #[serde(default)]
    pub track: Option<Track>,
    /// A label.
    #[serde(default)]
    pub label: Option<String>,
    /// What was detected (booleans, numbers, strings).
    pub attributes: JsonAttributes,
    /// True to remove the identical earlier detection.
    #[serde(default)]
    pub deleted: Option<bool>,
}

/// How a replay chooses its clips.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReplayModeRecord {
    /// The best segments under a duration budget (default).
    Duration,
    /// Every segment with one of the chosen features.
    Features,
    /// Clips given as time ranges.
    Timestamps,
}

/// A feature a replay looks for.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PriorityRecord {
    /// Only features of this plugin match; any plugin when absent.
    #[serde(default)]
    pub plugin: Option<Name>,
    /// The attribute name.
    pub attribute: Name,
    /// The attribute value (default `true`; null means `true`).
    #[serde(default)]
    pub value: Option<JsonValue>,
    /// Weight 1..100, required in duration mode.
    #[serde(default)]
    pub weight: Option<Weight>,
    /// Whether the entry counts in features mode (default true).
    #[serde(default)]
    pub include: Option<bool>,
}

/// A clip given by time (timestamps mode).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TimeRangeRecord {
    /// Start in seconds.
    pub start: Seconds,
    /// End in seconds, after `start`.
    pub end: Seconds,
}

/// `type: "replay"`: a replay (highlight reel) request; the latest record for a `replay_id`
/// defines it.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReplayRecord {
    /// The replay's id.
    pub replay_id: Name,
    /// The event it summarises.
    pub event_id: Name,
    /// How clips are chosen (default `duration`).
    #[serde(default)]
    pub mode: Option<ReplayModeRecord>,
    /// Maintained while the event runs (default false: computed once it has ended).
    #[serde(default)]
    pub catchup: Option<bool>,
    /// Duration budget in seconds, 1..10000 (required in duration mode).
    #[serde(default)]
    pub duration: Option<Seconds>,
    /// How far the budget may be exceeded, in seconds (default 30).
    #[serde(default)]
    pub tolerance: Option<Seconds>,
    /// Spread the selection over the event's timeline (default false).
    #[serde(default)]
    pub equal_distribution: Option<bool>,
    /// The audio track (default 1).
    #[serde(default)]
    pub track: Option<Track>,
    /// The features looked for.
    #[serde(default)]
    pub priorities: Option<Vec<PriorityRecord>>,
    /// Liked segments are always candidates, ranked first (default false).
    #[serde(default)]
    pub include_liked: Option<bool>,
    /// Disliked segments are never candidates (default false).
    #[serde(default)]
    pub ignore_disliked: Option<bool>,
    /// The clips of timestamps mode, in order (non-empty there).
    #[serde(default)]
    pub timestamps: Option<Vec<TimeRangeRecord>>,
    /// What video to make of the clip list; none without it.
    #[serde(default)]
    pub render: Option<ReplayRenderRecord>,
    /// Unknown fields.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: ExtraFields,
}

/// The `render` object of a replay: the video made of each clip list.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRenderRecord {
    // In the order of their names: the canonical JSON the render sink reads (and the names
    // of rendered files derive from) keeps keys sorted, as it did when this was a map.
    /// How a source of another aspect ratio fills a rendition: `pad` (default) or `crop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing: Option<FramingRecord>,
    /// An HLS VOD playlist per resolution and a master playlist (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hls: Option<bool>,
    /// An MP4 per resolution (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mp4: Option<bool>,
    /// The renditions: `360p`, `480p`, `720p`, `1080p`, `1:1`, `4:5`, `9:16` (default
    /// `["720p"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolutions: Option<Vec<String>>,
    /// Fades at the start and the end of each clip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<TransitionRecord>,
}

/// How a source of another aspect ratio fills a rendition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FramingRecord {
    /// Scaled to fit, with bars.
    Pad,
    /// Scaled to fill, cut at the edges.
    Crop,
}

/// Fades of a replay's clips, in milliseconds (at most 5000 each).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRecord {
    /// Fade in from black at each clip's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fade_in_ms: Option<u64>,
    /// Fade out to black at each clip's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fade_out_ms: Option<u64>,
}

/// A reviewer's verdict.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerdictRecord {
    /// Thumbs up.
    Like,
    /// Thumbs down.
    Dislike,
    /// Clears the earlier verdict.
    Reset,
}

/// `type: "feedback"`: a reviewer's verdict on the segment `(event_id, start)` on one track.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FeedbackRecord {
    /// The event.
    pub event_id: Name,
    /// The segment's start in seconds.
    pub start: Seconds,
    /// The track (default 1).
    #[serde(default)]
    pub track: Option<Track>,
    /// The verdict.
    pub verdict: VerdictRecord,
}

/// What a delete removes.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeleteKindRecord {
    /// An event, its replays and every record about it received so far.
    Event,
    /// A replay.
    Replay,
    /// A profile (its events' replays wait).
    Profile,
}

/// `type: "delete"`: a delete of an event, replay or profile. Unknown ids are ignored.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteRecord {
    /// What is deleted.
    pub kind: DeleteKindRecord,
    /// Its id (event id, replay id or profile name).
    pub id: Name,
}

/// Every input record, tagged by `type`: the document `reeltime schema` prints for inputs.
#[derive(JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
#[allow(dead_code)]
pub enum InputRecord {
    /// A processing recipe.
    Profile(ProfileRecord),
    /// An event.
    Event(EventRecord),
    /// A video chunk.
    Chunk(ChunkRecord),
    /// A segment.
    Segment(SegmentRecord),
    /// An optimization.
    Optimization(OptimizationRecord),
    /// A label.
    Label(LabelRecord),
    /// A detection.
    Detection(DetectionRecord),
    /// A replay request.
    Replay(ReplayRecord),
    /// Feedback.
    Feedback(FeedbackRecord),
    /// A delete.
    Delete(DeleteRecord),
}

/// Decodes one record (a log line without its newline, or a Kafka message).
pub fn decode(bytes: &[u8], max_record_bytes: usize) -> Result<Record, RecordError> {
    let parsed = json::parse(bytes, max_record_bytes)?;
    let root = &parsed.root;
    match parsed.record_type.as_ref() {
        "profile" => typed(root, "profile", profile),
        "event" => typed(root, "event", event),
        "chunk" => typed(root, "chunk", chunk),
        "segment" => typed(root, "segment", segment),
        "optimization" => typed(root, "optimization", optimization),
        "label" => typed(root, "label", label),
        "detection" => typed(root, "detection", detection),
        "replay" => typed(root, "replay", replay),
        "feedback" => typed(root, "feedback", feedback),
        "delete" => typed(root, "delete", delete),
        other => Err(RecordError::UnknownType(other.to_owned())),
    }
}

/// A rule broken after parsing: which field and what rule.
struct Rule(String);

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn typed<W: for<'de> Deserialize<'de>>(
    root: &Node,
    record_type: &'static str,
    validate: fn(W) -> Result<Record, Rule>,
) -> Result<Record, RecordError> {
    let wire = W::deserialize(root.deserializer())
        .map_err(|e| RecordError::Invalid { record_type, message: explain::<W>(root, e) })?;
    validate(wire).map_err(|rule| RecordError::Invalid { record_type, message: rule.0 })
}

/// Says which field of a record that cannot be read as `W` is at fault, and why.
///
/// The path costs an allocation per key, so it is tracked only now, reading the tree again: the
/// same reading fails in the same place.
#[cold]
fn explain<W: for<'de> Deserialize<'de>>(root: &Node, untracked: serde_json::Error) -> String {
    match serde_path_to_error::deserialize::<_, W>(root.deserializer()) {
        Err(e) => describe(root, e.path(), e.inner()),
        // Not reached, as reading is deterministic; the first error still says what is wrong.
        Ok(_) => untracked.to_string(),
    }
}

/// Words a serde error the way SEMANTICS speaks: a `null` in a required field is missing.
fn describe(root: &Node, path: &serde_path_to_error::Path, error: &serde_json::Error) -> String {
    let message = error.to_string();
    // An error with a position ends in " at line L column C"; the field is named instead.
    let message = match message.rfind(" at line ") {
        Some(at) if error.line() > 0 => message[..at].to_owned(),
        _ => message,
    };
    let field = path.to_string();
    if field == "." || field.is_empty() {
        return message;
    }
    // serde_json rejects a null enum (`"status": null`) with a bare "expected value".
    let null_enum = message == "expected value" && is_null_at(root, path);
    if message.starts_with("invalid type: null") || null_enum {
        return format!("missing field `{field}` (null)");
    }
    format!("field `{field}`: {message}")
}

/// Whether the value at `path` in the record is `null`.
fn is_null_at(root: &Node, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let mut value = Some(root);
    for segment in path {
        value = match segment {
            Segment::Seq { index } => value.and_then(|v| v.at(*index)),
            Segment::Map { key } => value.and_then(|v| v.get(key)),
            Segment::Enum { .. } | Segment::Unknown => None,
        };
    }
    value.is_some_and(|v| matches!(v, Node::Null))
}

fn extra(fields: ExtraFields) -> Extra {
    let fields: serde_json::Map<_, _> = fields.into_iter().filter(|(k, _)| k != "type").collect();
    if fields.is_empty() {
        Extra::default()
    } else {
        Extra(serde_json::Value::Object(fields).to_string())
    }
}

fn config(config: Option<serde_json::Map<String, serde_json::Value>>) -> String {
    config.map(|c| serde_json::Value::Object(c).to_string()).unwrap_or_default()
}

fn slot(slot: PluginSlotRecord) -> record::PluginSlot {
    record::PluginSlot { plugin: slot.plugin.0, config: config(slot.config) }
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

fn profile(r: ProfileRecord) -> Result<Record, Rule> {
    Ok(Record::Profile(record::Profile {
        name: r.name.0,
        chunk_size_ms: r.chunk_size.ms(),
        processing_fps_milli: r.processing_fps.milli(),
        max_segment_length_ms: r.max_segment_length.ms(),
        classifier: slot(r.classifier),
        optimizer: r.optimizer.map(|o| record::OptimizerSlot {
            slot: record::PluginSlot { plugin: o.plugin.0, config: config(o.config) },
            search_window_ms: o.search_window.map(Seconds::ms),
        }),
        labeler: r.labeler.map(slot),
        featurers: r
            .featurers
            .unwrap_or_default()
            .into_iter()
            .map(|f| record::FeaturerSlot {
                slot: record::PluginSlot { plugin: f.plugin.0, config: config(f.config) },
                depends_on: f.depends_on.unwrap_or_default().into_iter().map(|n| n.0).collect(),
                priority_for_replay: f.priority_for_replay.unwrap_or(true),
                media: f.media.map(|m| match m {
                    MediaRecord::Video => record::Media::Video,
                    MediaRecord::Audio => record::Media::Audio,
                }),
            })
            .collect(),
        extra: extra(r.extra),
    }))
}

fn event(r: EventRecord) -> Result<Record, Rule> {
    let audio_tracks: Vec<u32> = match r.audio_tracks {
        None => vec![1],
        Some(tracks) => tracks.into_iter().map(|t| t.0).collect(),
    };
    let mut seen = std::collections::BTreeSet::new();
    if let Some(duplicate) = audio_tracks.iter().find(|t| !seen.insert(**t)) {
        return Err(Rule(format!("field `audio_tracks`: track {duplicate} is listed twice")));
    }
    Ok(Record::Event(record::Event {
        event_id: r.event_id.0,
        program: r.program,
        profile: r.profile.0,
        status: match r.status {
            EventStatusRecord::Scheduled => record::EventStatus::Scheduled,
            EventStatusRecord::Started => record::EventStatus::Started,
            EventStatusRecord::Ended => record::EventStatus::Ended,
        },
        frame_rate_milli: r.frame_rate.map(Rate::milli),
        audio_tracks,
        title: r.title,
        extra: extra(r.extra),
    }))
}

fn chunk(r: ChunkRecord) -> Result<Record, Rule> {
    Ok(Record::Chunk(record::Chunk {
        event_id: r.event_id.0,
        seq_no: r.seq_no,
        uri: r.uri.0,
        start_ms: r.start.ms(),
        duration_ms: r.duration.ms(),
        pts_start_ms: r.pts_start.map(Seconds::ms),
        error: r.error.map(|e| e.0),
        extra: extra(r.extra),
    }))
}

fn segment(r: SegmentRecord) -> Result<Record, Rule> {
    if let Some(end) = r.end {
        if end < r.start {
            return Err(Rule(format!(
                "field `end`: {} is before `start` {}",
                seconds(end.ms()),
                seconds(r.start.ms())
            )));
        }
    }
    Ok(Record::Segment(record::Segment {
        event_id: r.event_id.0,
        plugin: r.plugin.0,
        start_ms: r.start.ms(),
        end_ms: r.end.map(Seconds::ms),
        attributes: from_json_attributes(r.attributes.unwrap_or_default()),
        deleted: r.deleted.unwrap_or(false),
        extra: extra(r.extra),
    }))
}

fn optimization(r: OptimizationRecord) -> Result<Record, Rule> {
    if r.opto_end <= r.opto_start {
        return Err(Rule(format!(
            "field `opto_end`: {} is not after `opto_start` {}",
            seconds(r.opto_end.ms()),
            seconds(r.opto_start.ms())
        )));
    }
    Ok(Record::Optimization(record::Optimization {
        event_id: r.event_id.0,
        plugin: r.plugin.0,
        start_ms: r.start.ms(),
        track: r.track.map_or(1, |t| t.0),
        opto_start_ms: r.opto_start.ms(),
        opto_end_ms: r.opto_end.ms(),
        extra: extra(r.extra),
    }))
}

fn label(r: LabelRecord) -> Result<Record, Rule> {
    Ok(Record::Label(record::Label {
        event_id: r.event_id.0,
        plugin: r.plugin.0,
        start_ms: r.start.ms(),
        label: r.label,
        attributes: from_json_attributes(r.attributes.unwrap_or_default()),
        extra: extra(r.extra),
    }))
}

fn detection(r: DetectionRecord) -> Result<Record, Rule> {
    let end = r.end.unwrap_or(r.start);
    if end < r.start {
        return Err(Rule(format!(
            "field `end`: {} is before `start` {}",
            seconds(end.ms()),
            seconds(r.start.ms())
        )));
    }
    Ok(Record::Detection(record::Detection {
        event_id: r.event_id.0,
        plugin: r.plugin.0,
        start_ms: r.start.ms(),
        end_ms: end.ms(),
        track: r.track.map(|t| t.0),
        label: r.label,
        attributes: from_json_attributes(r.attributes),
        deleted: r.deleted.unwrap_or(false),
    }))
}

fn replay(r: ReplayRecord) -> Result<Record, Rule> {
    let mode = match r.mode.unwrap_or(ReplayModeRecord::Duration) {
        ReplayModeRecord::Duration => record::ReplayMode::Duration,
        ReplayModeRecord::Features => record::ReplayMode::Features,
        ReplayModeRecord::Timestamps => record::ReplayMode::Timestamps,
    };
    let duration_ms = r.duration.map(Seconds::ms);
    if let Some(duration) = duration_ms {
        if !(1_000..=10_000_000).contains(&duration) {
            return Err(Rule(format!(
                "field `duration`: {} s is not between 1 and 10000 s",
                seconds(duration)
            )));
        }
    }
    let priorities = r.priorities.unwrap_or_default();
    let timestamps = r.timestamps.unwrap_or_default();
    match mode {
        record::ReplayMode::Duration => {
            if duration_ms.is_none() {
                return Err(Rule("missing field `duration` (required in duration mode)".into()));
            }
            if let Some(i) = priorities.iter().position(|p| p.weight.is_none()) {
                return Err(Rule(format!(
                    "missing field `priorities[{i}].weight` (required in duration mode)"
                )));
            }
        }
        record::ReplayMode::Timestamps if timestamps.is_empty() => {
            return Err(Rule(
                "field `timestamps`: must be a non-empty list in timestamps mode".into(),
            ));
        }
        _ => {}
    }
    if let Some(i) = timestamps.iter().position(|t| t.end <= t.start) {
        return Err(Rule(format!(
            "field `timestamps[{i}].end`: {} is not after `start` {}",
            seconds(timestamps[i].end.ms()),
            seconds(timestamps[i].start.ms())
        )));
    }
    Ok(Record::Replay(record::Replay {
        replay_id: r.replay_id.0,
        event_id: r.event_id.0,
        mode,
        catchup: r.catchup.unwrap_or(false),
        duration_ms,
        tolerance_ms: r.tolerance.map_or(30_000, Seconds::ms),
        equal_distribution: r.equal_distribution.unwrap_or(false),
        track: r.track.map_or(1, |t| t.0),
        priorities: priorities
            .into_iter()
            .map(|p| record::Priority {
                plugin: p.plugin.map(|n| n.0),
                attribute: p.attribute.0,
                value: p.value.map_or(crate::value::AttrValue::Bool(true), |v| v.0),
                weight: p.weight.map(|w| w.0),
                include: p.include.unwrap_or(true),
            })
            .collect(),
        include_liked: r.include_liked.unwrap_or(false),
        ignore_disliked: r.ignore_disliked.unwrap_or(false),
        timestamps: timestamps
            .into_iter()
            .map(|t| record::TimeRange { start_ms: t.start.ms(), end_ms: t.end.ms() })
            .collect(),
        // Canonical JSON of the typed object: what the render sink reads back.
        render: r
            .render
            .map(|render| serde_json::to_string(&render).expect("render settings serialize"))
            .unwrap_or_default(),
        extra: extra(r.extra),
    }))
}

fn feedback(r: FeedbackRecord) -> Result<Record, Rule> {
    Ok(Record::Feedback(record::Feedback {
        event_id: r.event_id.0,
        start_ms: r.start.ms(),
        track: r.track.map_or(1, |t| t.0),
        verdict: match r.verdict {
            VerdictRecord::Like => record::Verdict::Like,
            VerdictRecord::Dislike => record::Verdict::Dislike,
            VerdictRecord::Reset => record::Verdict::Reset,
        },
    }))
}

fn delete(r: DeleteRecord) -> Result<Record, Rule> {
    Ok(Record::Delete(record::Delete {
        kind: match r.kind {
            DeleteKindRecord::Event => record::DeleteKind::Event,
            DeleteKindRecord::Replay => record::DeleteKind::Replay,
            DeleteKindRecord::Profile => record::DeleteKind::Profile,
        },
        id: r.id.0,
    }))
}
