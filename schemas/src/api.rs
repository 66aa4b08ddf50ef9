//! The documents of the HTTP API that are not files of the output directory: answers to
//! writes, lists, pages and the changes streamed to subscribers. The views themselves are
//! the [`document`](crate::document) types (`selection.json`, `segments.json`), so the API,
//! the files and the Kafka topics cannot disagree.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::document::{EventDoc, FeatureDoc, NotificationDoc, SegmentDoc};
use crate::export::{DetectionExportDoc, ProfileSummaryDoc};
use crate::record::ReplayMode;
use crate::time::Seconds;
use crate::view::ReplayStatus;

/// Every error of the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDoc {
    /// What went wrong, for a person.
    pub message: String,
    /// What went wrong, for a program: `bad_request`, `not_found`, `unauthorized`,
    /// `payload_too_large`, `unsupported_media_type`, `records_rejected`, `unavailable`,
    /// `internal`.
    pub error_code: String,
    /// More about it (for `records_rejected`, the answer to the write), or null.
    pub details: serde_json::Value,
}

/// The answer to a write of input records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecordsAnswer {
    /// Records appended to the log, in the order sent.
    pub accepted: u64,
    /// Records refused (nothing of them was appended).
    pub rejected: u64,
    /// Why each refused record was refused.
    pub rejections: Vec<RejectionDoc>,
}

/// A record the API refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RejectionDoc {
    /// Its index in the request (0-based: the array element, or the line among the non-empty
    /// lines).
    pub index: u64,
    /// Why, as the engine's decoder says it.
    pub reason: String,
}

/// An event in the list of events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventSummaryDoc {
    /// The event.
    pub event_id: String,
    /// Its event record's view, or null when only segments or detections name it.
    pub event: Option<EventDoc>,
    /// Its live segments.
    pub segments: u64,
    /// The version of its stream of changes.
    pub version: u64,
}

/// `GET /api/v1/events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventListDoc {
    /// The epoch the list reflects.
    pub epoch: u64,
    /// The events, by id.
    pub events: Vec<EventSummaryDoc>,
}

/// A replay in the list of replays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReplaySummaryDoc {
    /// The replay.
    pub replay_id: String,
    /// Its event.
    pub event_id: String,
    /// Its version.
    pub version: u64,
    /// `waiting_for_event`, `queued`, `in_progress` or `complete`.
    pub status: ReplayStatus,
    /// `duration`, `features` or `timestamps`.
    pub mode: ReplayMode,
    /// Its clips.
    pub clips: u64,
    /// Sum of the clips' durations in seconds.
    pub total_duration: Seconds,
}

/// `GET /api/v1/replays`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReplayListDoc {
    /// The epoch the list reflects.
    pub epoch: u64,
    /// The replays, by id.
    pub replays: Vec<ReplaySummaryDoc>,
}

/// `GET /api/v1/profiles`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProfileListDoc {
    /// The epoch the list reflects.
    pub epoch: u64,
    /// The profiles, by name.
    pub profiles: Vec<ProfileSummaryDoc>,
}

/// `GET /api/v1/events/{id}/features`: every feature the event's segments have, so that a
/// replay's priorities can be chosen from them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FeaturesDoc {
    /// The event.
    pub event_id: String,
    /// Distinct features, by plugin, attribute and value, with how many segments have each.
    pub features: Vec<FeatureCountDoc>,
}

/// A feature and how many live segments have it (on any track).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FeatureCountDoc {
    /// The feature.
    #[serde(flatten)]
    pub feature: FeatureDoc,
    /// Segments that have it.
    pub segments: u64,
}

/// `GET /api/v1/events/{id}/detections`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DetectionsDoc {
    /// The event.
    pub event_id: String,
    /// Its live detections in the range asked for, by start, then plugin.
    pub detections: Vec<DetectionExportDoc>,
}

/// A change of an event, streamed by `GET /api/v1/events/{id}/changes`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventChangeDoc {
    /// The event.
    pub event_id: String,
    /// Its version after the change.
    pub version: u64,
    /// The event's view, when it changed.
    pub event: Option<EventDoc>,
    /// The segments that are new or changed, by start.
    pub segments: Vec<SegmentDoc>,
    /// The starts of the segments that were removed.
    pub removed: Vec<Seconds>,
}

/// The first message of `GET /api/v1/events/{id}/changes`: everything the event has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventSnapshotDoc {
    /// The event.
    pub event_id: String,
    /// Its version.
    pub version: u64,
    /// The event's view, or null.
    pub event: Option<EventDoc>,
    /// Every live segment, by start.
    pub segments: Vec<SegmentDoc>,
}

/// A notification with its position in the service's stream of notifications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationEntryDoc {
    /// Its position: 0, 1, ... since the service started.
    pub position: u64,
    /// The notification.
    pub notification: NotificationDoc,
}

/// `GET /api/v1/notifications?after=P`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationsDoc {
    /// The position to ask for next (`after=next`).
    pub next: u64,
    /// The oldest position still held (older ones were dropped from memory; the output
    /// directory's `notifications.jsonl` has them all).
    pub oldest: u64,
    /// The notifications after the position asked for, oldest first.
    pub notifications: Vec<NotificationEntryDoc>,
}

/// `GET /health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthDoc {
    /// `ok`.
    pub status: String,
    /// The last closed epoch.
    pub epoch: u64,
    /// Input records the views reflect.
    pub applied: u64,
    /// Input records accepted (durable in the log, or published to Kafka by this service).
    pub accepted: u64,
}
