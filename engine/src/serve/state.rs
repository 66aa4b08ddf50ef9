//! What the API answers from: the documents of the last closed epoch, as JSON text, and the
//! stream of their changes.
//!
//! The sink thread updates [`Served`] after each epoch, from the read model and the render
//! sink, for what the epoch changed only; the documents are serialised there, once, outside
//! the lock, which is then held just long enough to swap them in. A read takes the lock for
//! as long as it takes to clone a few reference-counted texts: it never waits for the
//! dataflow, nor for a render, nor for a write.
//!
//! Every change of a replay or of an event is also a [`Change`] on a broadcast channel, kept
//! in a short history per stream so that a subscriber that reconnects with `Last-Event-ID`
//! gets what it missed. Change ids:
//!
//! - a replay's change that the dataflow made has its version as id (`7`); one that only the
//!   render sink made (its video is ready) is `7.1`, `7.2`, ...: the version stays the
//!   replay's, as on the Kafka topic;
//! - an event's version counts the epochs that changed its view or its segments, so a
//!   restarted service, which replays the log in the same epochs, gives the same versions;
//!   render-only changes are again `v.1`, `v.2`, ...

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use axum::body::Bytes;
use serde::Serialize;
use tokio::sync::broadcast;

use reeltime_operators::compact::DetKey;
use reeltime_operators::read_model::ReadModel;
use reeltime_schemas::api::{
    EventChangeDoc, EventSummaryDoc, NotificationEntryDoc, ReplaySummaryDoc,
};
use reeltime_schemas::document::{EventDoc, FeatureDoc, NotificationDoc, SegmentDoc};
use reeltime_schemas::export::ProfileSummaryDoc;
use reeltime_schemas::time::Seconds;
use reeltime_schemas::view::Notification;

use crate::driver::Closed;
use crate::output::{event_doc, segment_doc, selection_doc, RenderedMedia};

/// Changes kept per stream for subscribers that reconnect: a reconnect misses a few versions;
/// a client away longer gets a snapshot. (Each change of a replay holds its whole document,
/// so this bounds the memory of thousands of replays.)
pub const HISTORY: usize = 64;
/// Notifications kept in memory for `GET /api/v1/notifications`.
pub const NOTIFICATIONS_KEPT: usize = 10_000;
/// Changes a slow subscriber may fall behind before it is sent a new snapshot.
const CHANNEL: usize = 4096;

/// Which stream a change belongs to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StreamKey {
    /// `GET /api/v1/events/{id}/changes`.
    Event(String),
    /// `GET /api/v1/replays/{id}/changes`.
    Replay(String),
}

/// What a change message says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// The document changed (`event: change`).
    Change,
    /// The replay was deleted (`event: removed`).
    Removed,
}

impl ChangeKind {
    /// The SSE event name.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Change => "change",
            ChangeKind::Removed => "removed",
        }
    }
}

/// One change of one stream.
#[derive(Debug)]
pub struct Change {
    /// Its place among all changes (increasing).
    pub seq: u64,
    /// Its stream.
    pub stream: StreamKey,
    /// Its id (`Last-Event-ID`).
    pub id: String,
    /// What it says.
    pub kind: ChangeKind,
    /// The message as a Server-Sent Events frame, encoded once for every subscriber.
    pub frame: Bytes,
}

/// A Server-Sent Events frame: `event`, `id` and the JSON on one `data` line (the documents'
/// JSON has no line breaks).
pub fn sse_frame(event: &str, id: &str, json: &[u8]) -> Bytes {
    debug_assert!(!json.contains(&b'\n'));
    let mut frame = Vec::with_capacity(json.len() + event.len() + id.len() + 24);
    frame.extend_from_slice(b"event: ");
    frame.extend_from_slice(event.as_bytes());
    frame.extend_from_slice(b"\nid: ");
    frame.extend_from_slice(id.as_bytes());
    frame.extend_from_slice(b"\ndata: ");
    frame.extend_from_slice(json);
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

/// A segment as served.
#[derive(Clone, Debug)]
pub struct ServedSegment {
    /// Its end, when it has one.
    pub end_ms: Option<u64>,
    /// Its features (on any track), for the event's feature counts.
    features: BTreeSet<FeatureKey>,
    /// Its `SegmentDoc`.
    pub json: Bytes,
}

/// A feature as counted: plugin, attribute, value (as JSON text, which orders and compares
/// like the value).
type FeatureKey = (String, String, String);

/// An event as served.
#[derive(Clone, Debug, Default)]
pub struct ServedEvent {
    /// Its `EventDoc`, when it has an event view.
    pub event: Option<Bytes>,
    /// Its segments by start.
    pub segments: BTreeMap<u64, ServedSegment>,
    /// How many segments have each feature.
    features: BTreeMap<FeatureKey, u64>,
    /// Its live detections, by start then plugin.
    pub detections: Arc<Vec<DetKey>>,
    /// Its version (see the module documentation).
    pub version: u64,
    /// Render-only changes since the version.
    media: u64,
    history: VecDeque<Arc<Change>>,
}

impl ServedEvent {
    /// The features with their segment counts.
    pub fn features(&self) -> impl Iterator<Item = (FeatureDoc, u64)> + '_ {
        self.features.iter().map(|((plugin, attribute, value), count)| {
            let value = serde_json::from_str(value).expect("a value served as JSON reads back");
            (FeatureDoc { plugin: plugin.clone(), attribute: attribute.clone(), value }, *count)
        })
    }

    /// The id of its latest change.
    pub fn last_id(&self) -> String {
        change_id(self.version, self.media)
    }
}

/// A replay as served.
#[derive(Clone, Debug)]
pub struct ServedReplay {
    /// Its `SelectionDoc`.
    pub json: Bytes,
    /// Its list entry.
    pub summary: ReplaySummaryDoc,
    /// Render-only changes since the version.
    media: u64,
    history: VecDeque<Arc<Change>>,
}

impl ServedReplay {
    /// The id of its latest change.
    pub fn last_id(&self) -> String {
        change_id(self.summary.version, self.media)
    }
}

/// The documents of the last closed epoch.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The last closed epoch.
    pub epoch: u64,
    /// Input records the views reflect.
    pub applied: u64,
    /// Events by id.
    pub events: BTreeMap<String, ServedEvent>,
    /// Replays by id.
    pub replays: BTreeMap<String, ServedReplay>,
    /// Profiles by name.
    pub profiles: Vec<ProfileSummaryDoc>,
    /// The latest notifications with their positions.
    pub notifications: VecDeque<(u64, Bytes)>,
    /// The position of the next notification.
    pub next_notification: u64,
    /// The last change's `seq`.
    pub seq: u64,
    /// Histories of replays that were deleted (a subscriber resuming after the delete).
    removed: BTreeMap<String, VecDeque<Arc<Change>>>,
}

impl Snapshot {
    /// The changes of a stream after the one with id `last`, when its history still has it.
    pub fn changes_after(&self, stream: &StreamKey, last: &str) -> Option<Vec<Arc<Change>>> {
        let history = match stream {
            StreamKey::Event(id) => &self.events.get(id)?.history,
            StreamKey::Replay(id) => match self.replays.get(id) {
                Some(replay) => &replay.history,
                None => self.removed.get(id)?,
            },
        };
        let at = history.iter().position(|change| change.id == last)?;
        Some(history.iter().skip(at + 1).cloned().collect())
    }

    /// The first message of an event's stream.
    pub fn event_snapshot(&self, event_id: &str) -> Option<(String, Bytes)> {
        let event = self.events.get(event_id)?;
        let mut json = Vec::with_capacity(256 + event.segments.len() * 512);
        json.extend_from_slice(b"{\"event_id\":");
        serde_json::to_writer(&mut json, event_id).expect("text serializes");
        json.extend_from_slice(format!(",\"version\":{},\"event\":", event.version).as_bytes());
        json.extend_from_slice(event.event.as_deref().unwrap_or(b"null"));
        json.extend_from_slice(b",\"segments\":");
        join_segments(&mut json, event.segments.values());
        json.push(b'}');
        Some((event.last_id(), Bytes::from(json)))
    }

    /// An event's segments that overlap `[from, to]` (milliseconds), as `segments.json`.
    pub fn segments_doc(&self, event_id: &str, from: u64, to: u64) -> Option<Bytes> {
        let event = self.events.get(event_id)?;
        let mut json = Vec::with_capacity(64 + event.segments.len() * 512);
        json.extend_from_slice(b"{\"event_id\":");
        serde_json::to_writer(&mut json, event_id).expect("text serializes");
        json.extend_from_slice(b",\"segments\":");
        // A segment overlaps when it starts at or before `to` and ends (or is open) at or
        // after `from`.
        let overlapping = event
            .segments
            .range(..=to)
            .filter(|(start, segment)| segment.end_ms.unwrap_or(**start).max(**start) >= from)
            .map(|(_, segment)| segment);
        join_segments(&mut json, overlapping);
        json.push(b'}');
        Some(Bytes::from(json))
    }

    /// The list entry of every event.
    pub fn event_summaries(&self) -> Vec<EventSummaryDoc> {
        self.events
            .iter()
            .map(|(event_id, event)| EventSummaryDoc {
                event_id: event_id.clone(),
                event: event.event.as_deref().map(|json| {
                    serde_json::from_slice(json).expect("an event served as JSON reads back")
                }),
                segments: event.segments.len() as u64,
                version: event.version,
            })
            .collect()
    }
}

fn join_segments<'a>(json: &mut Vec<u8>, segments: impl Iterator<Item = &'a ServedSegment>) {
    json.push(b'[');
    for (index, segment) in segments.enumerate() {
        if index > 0 {
            json.push(b',');
        }
        json.extend_from_slice(&segment.json);
    }
    json.push(b']');
}

fn change_id(version: u64, media: u64) -> String {
    if media == 0 {
        version.to_string()
    } else {
        format!("{version}.{media}")
    }
}

/// The served documents and the channel of their changes.
pub struct Served {
    snapshot: RwLock<Snapshot>,
    changes: broadcast::Sender<Arc<Change>>,
}

impl Default for Served {
    fn default() -> Self {
        Served { snapshot: RwLock::default(), changes: broadcast::channel(CHANNEL).0 }
    }
}

/// What an epoch changed, computed outside the lock.
#[derive(Default)]
struct Update {
    events: BTreeMap<String, EventUpdate>,
    replays: BTreeMap<String, ReplayUpdate>,
    profiles: Option<Vec<ProfileSummaryDoc>>,
    notifications: Vec<Bytes>,
}

#[derive(Default)]
struct EventUpdate {
    /// The dataflow changed it (a new version), not only the render sink.
    input: bool,
    event: Option<Option<EventDoc>>,
    segments: Vec<(u64, Option<(SegmentDoc, ServedSegment)>)>,
    detections: Option<Vec<DetKey>>,
}

enum ReplayUpdate {
    /// A new version, or (`input: false`) a new rendering of the same version.
    Changed { input: bool, json: Bytes, summary: ReplaySummaryDoc },
    /// Deleted, at this version.
    Removed(u64),
}

impl Served {
    /// Subscribes to every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    /// The documents of the last closed epoch.
    pub fn read(&self) -> RwLockReadGuard<'_, Snapshot> {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves what a closed epoch changed and streams it; `applied` is the number of input
    /// records the views now reflect.
    pub fn update(
        &self,
        epoch: u64,
        applied: u64,
        model: &ReadModel,
        media: Option<&dyn RenderedMedia>,
        closed: &Closed,
    ) {
        let update = Update::of(epoch, model, media, closed);
        let mut snapshot = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        snapshot.epoch = epoch;
        snapshot.applied = applied;
        for (event_id, update) in update.events {
            let change = apply_event(&mut snapshot, &event_id, update);
            if let Some((id, data)) = change {
                self.stream(
                    &mut snapshot,
                    StreamKey::Event(event_id),
                    id,
                    ChangeKind::Change,
                    data,
                );
            }
        }
        for (replay_id, update) in update.replays {
            match update {
                ReplayUpdate::Changed { input, json, summary } => {
                    let history = snapshot.removed.remove(&replay_id).unwrap_or_default();
                    let replay =
                        snapshot.replays.entry(replay_id.clone()).or_insert_with(|| ServedReplay {
                            json: json.clone(),
                            summary: summary.clone(),
                            media: 0,
                            history,
                        });
                    replay.media = if input { 0 } else { replay.media + 1 };
                    replay.json = json.clone();
                    replay.summary = summary;
                    let id = replay.last_id();
                    self.stream(
                        &mut snapshot,
                        StreamKey::Replay(replay_id),
                        id,
                        ChangeKind::Change,
                        json,
                    );
                }
                ReplayUpdate::Removed(version) => {
                    let Some(replay) = snapshot.replays.remove(&replay_id) else { continue };
                    snapshot.removed.insert(replay_id.clone(), replay.history);
                    let data = json(&serde_json::json!({
                        "replay_id": replay_id,
                        "version": version,
                        "removed": true,
                    }));
                    let stream = StreamKey::Replay(replay_id);
                    self.stream(
                        &mut snapshot,
                        stream,
                        version.to_string(),
                        ChangeKind::Removed,
                        data,
                    );
                }
            }
        }
        if let Some(profiles) = update.profiles {
            snapshot.profiles = profiles;
        }
        for notification in update.notifications {
            let position = snapshot.next_notification;
            snapshot.next_notification += 1;
            snapshot.notifications.push_back((position, notification));
            if snapshot.notifications.len() > NOTIFICATIONS_KEPT {
                snapshot.notifications.pop_front();
            }
        }
    }

    /// Records a change in its stream's history and sends it to the subscribers.
    fn stream(
        &self,
        snapshot: &mut Snapshot,
        stream: StreamKey,
        id: String,
        kind: ChangeKind,
        data: Bytes,
    ) {
        snapshot.seq += 1;
        let frame = sse_frame(kind.name(), &id, &data);
        let change =
            Arc::new(Change { seq: snapshot.seq, stream: stream.clone(), id, kind, frame });
        let history = match &stream {
            StreamKey::Event(id) => snapshot.events.get_mut(id).map(|e| &mut e.history),
            StreamKey::Replay(id) => match snapshot.replays.get_mut(id) {
                Some(replay) => Some(&mut replay.history),
                None => snapshot.removed.get_mut(id),
            },
        };
        if let Some(history) = history {
            history.push_back(change.clone());
            if history.len() > HISTORY {
                history.pop_front();
            }
        }
        // Nobody listening is not an error.
        let _ = self.changes.send(change);
    }
}

/// Applies an event's update; returns its change message when there is one to stream.
fn apply_event(
    snapshot: &mut Snapshot,
    event_id: &str,
    update: EventUpdate,
) -> Option<(String, Bytes)> {
    let event = snapshot.events.entry(event_id.to_owned()).or_default();
    if let Some(detections) = update.detections {
        event.detections = Arc::new(detections);
    }
    let mut change = EventChangeDoc {
        event_id: event_id.to_owned(),
        version: 0,
        event: None,
        segments: Vec::new(),
        removed: Vec::new(),
    };
    let mut changed = false;
    if let Some(doc) = update.event {
        event.event = doc.as_ref().map(json);
        change.event = doc;
        changed = true;
    }
    for (start, segment) in update.segments {
        if let Some(old) = event.segments.remove(&start) {
            add_features(&mut event.features, &old.features, -1);
        }
        match segment {
            Some((doc, served)) => {
                add_features(&mut event.features, &served.features, 1);
                event.segments.insert(start, served);
                change.segments.push(doc);
            }
            None => change.removed.push(Seconds(start)),
        }
        changed = true;
    }
    if !changed {
        return None;
    }
    if update.input {
        event.version += 1;
        event.media = 0;
    } else {
        event.media += 1;
    }
    change.version = event.version;
    Some((event.last_id(), json(&change)))
}

fn add_features(
    counts: &mut BTreeMap<FeatureKey, u64>,
    features: &BTreeSet<FeatureKey>,
    diff: i64,
) {
    for feature in features {
        let count = counts.entry(feature.clone()).or_default();
        *count = count.saturating_add_signed(diff);
        if *count == 0 {
            counts.remove(feature);
        }
    }
}

fn served_segment(doc: &SegmentDoc) -> (SegmentDoc, ServedSegment) {
    let features = doc
        .features
        .values()
        .flatten()
        .map(|f: &FeatureDoc| {
            let value = serde_json::to_string(&f.value).expect("a value serializes");
            (f.plugin.clone(), f.attribute.clone(), value)
        })
        .collect();
    let served = ServedSegment { end_ms: doc.end.map(Seconds::ms), features, json: json(doc) };
    (doc.clone(), served)
}

impl Update {
    fn of(
        epoch: u64,
        model: &ReadModel,
        media: Option<&dyn RenderedMedia>,
        closed: &Closed,
    ) -> Update {
        let changes = &closed.changes;
        let mut update = Update::default();
        let input_events = changes.events.iter().chain(&changes.detection_events);
        for event_id in input_events {
            let entry = update.events.entry(event_id.clone()).or_default();
            entry.input |= changes.events.contains(event_id);
        }
        for (event_id, _) in &closed.rendered_segments {
            update.events.entry(event_id.clone()).or_default();
        }
        for (event_id, entry) in &mut update.events {
            if changes.event_views.contains(event_id)
                || changes.chunk_events.contains(event_id)
                || !entry.input
            {
                entry.event =
                    Some(model.event_view(event_id).map(|view| event_doc(&view, model, media)));
            }
            if changes.detection_events.contains(event_id) {
                entry.detections = Some(model.detections(event_id));
            }
        }
        let segments = changes.segments.iter().chain(&closed.rendered_segments);
        let segments: BTreeSet<&(String, u64)> = segments.collect();
        for (event_id, start) in segments {
            let segment = model
                .segment_view(event_id, *start)
                .map(|view| served_segment(&segment_doc(&view, media)));
            let entry = update.events.entry(event_id.clone()).or_default();
            entry.segments.push((*start, segment));
        }
        let mut removed = BTreeMap::new();
        for notification in &changes.notifications {
            if let Notification::ReplayDeleted { replay_id, version } = notification {
                removed.insert(replay_id.clone(), *version);
            }
        }
        for replay_id in changes.replays.iter().chain(&closed.rendered_replays) {
            let input = changes.replays.contains(replay_id);
            let replay = match removed.get(replay_id) {
                Some(version) if model.replay_view(replay_id).is_none() => {
                    Some(ReplayUpdate::Removed(*version))
                }
                _ => replay_update(model, media, replay_id, input),
            };
            if let Some(replay) = replay {
                update.replays.insert(replay_id.clone(), replay);
            }
        }
        // Profiles are few, and a profile record alone may change no view: their list is
        // made again after every epoch.
        update.profiles = Some(model.profiles().into_iter().map(ProfileSummaryDoc::from).collect());
        update.notifications = changes
            .notifications
            .iter()
            .map(|n| NotificationDoc::new(epoch, n))
            .chain(closed.rendered.iter().cloned())
            .map(|doc| json(&doc))
            .collect();
        update
    }
}

fn replay_update(
    model: &ReadModel,
    media: Option<&dyn RenderedMedia>,
    replay_id: &str,
    input: bool,
) -> Option<ReplayUpdate> {
    let view = model.replay_view(replay_id)?;
    let version = model.version(replay_id)?;
    let doc = selection_doc(&view, version, media);
    let summary = ReplaySummaryDoc {
        replay_id: doc.replay_id.clone(),
        event_id: doc.event_id.clone(),
        version,
        status: doc.status,
        mode: doc.mode,
        clips: doc.clips.len() as u64,
        total_duration: doc.total_duration,
    };
    Some(ReplayUpdate::Changed { input, json: json(&doc), summary })
}

/// Changes that name everything the read model holds: served as one update, they load a
/// whole state (a Kafka service's, rebuilt in epochs other than those it published).
pub fn everything(model: &ReadModel) -> Closed {
    let events: BTreeSet<String> =
        model.event_ids().into_iter().chain(model.events_with_detections()).collect();
    let segments = events
        .iter()
        .flat_map(|event| {
            model.segment_bounds(event).into_iter().map(|b| (event.clone(), b.start_ms))
        })
        .collect();
    Closed {
        changes: reeltime_operators::read_model::Changes {
            event_views: events.clone(),
            detection_events: events.clone(),
            segments,
            replays: model.replay_ids().into_iter().collect(),
            events,
            ..Default::default()
        },
        ..Closed::default()
    }
}

/// The JSON text of a document.
pub fn json<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("documents serialize to JSON"))
}

/// A notification entry's JSON from its position and the notification's JSON.
pub fn notification_entry(position: u64, notification: &[u8]) -> Vec<u8> {
    let mut entry = format!("{{\"position\":{position},\"notification\":").into_bytes();
    entry.extend_from_slice(notification);
    entry.push(b'}');
    debug_assert!(serde_json::from_slice::<NotificationEntryDoc>(&entry).is_ok());
    entry
}
