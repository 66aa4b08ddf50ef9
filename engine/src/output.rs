//! What both modes write into the output directory (ARCHITECTURE.md, output layout): the
//! notification and dead-letter logs, appended per epoch, and the views with their exports and
//! tables, written whole.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result};

use reeltime_connectors::output_dir::{path_component, JsonLines, OutputDir};
use reeltime_connectors::tables::{write_tables, TableFormat};
use reeltime_operators::read_model::ReadModel;
use reeltime_schemas::document::{
    DeadLetterDoc, EventDoc, NotificationDoc, Position, SegmentDoc, SegmentsDoc, SelectionDoc,
};
use reeltime_schemas::view::{EventView, Notification, ReplayView, SegmentView};
use reeltime_schemas::RecordError;

use crate::export::{write_exports, Definitions, ExportOptions};
use crate::render_sink::RenderSink;

/// An input record that was rejected, with where it was.
#[derive(Debug)]
pub struct Rejected {
    /// Where it was: a line of the log, or a Kafka message.
    pub position: Position,
    /// Why.
    pub error: RecordError,
    /// Its text.
    pub text: String,
}

impl Rejected {
    /// Its dead-letter document, stamped with the time it was seen.
    pub fn dead_letter(&self, seen_at: &str) -> DeadLetterDoc {
        DeadLetterDoc {
            position: self.position.clone(),
            reason: self.error.to_string(),
            kind: self.error.kind().to_owned(),
            record: self.text.clone(),
            seen_at: seen_at.to_owned(),
        }
    }

    /// Its `record_rejected` notification.
    pub fn notification(&self) -> Notification {
        let position = match &self.position {
            Position::Line(line) => line.to_string(),
            Position::Kafka(position) => position.clone(),
        };
        Notification::RecordRejected { position, reason: self.error.to_string() }
    }
}

/// The current time as dead letters give it.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// `notifications.jsonl` and `dead-letter.jsonl`, appended epoch by epoch.
pub struct EpochLogs {
    notifications: JsonLines,
    dead_letters: JsonLines,
}

impl EpochLogs {
    /// Opens both logs of `out`.
    pub fn open(out: &OutputDir) -> Result<Self> {
        Ok(EpochLogs {
            notifications: out.json_lines("notifications.jsonl")?,
            dead_letters: out.json_lines("dead-letter.jsonl")?,
        })
    }

    /// Appends an epoch's rejected records and its notifications (a rejection's first).
    pub fn append(
        &mut self,
        epoch: u64,
        rejected: &[Rejected],
        notifications: &[Notification],
    ) -> Result<()> {
        let seen_at = now_rfc3339();
        for r in rejected {
            self.dead_letters.write(&r.dead_letter(&seen_at))?;
        }
        let rejections = rejected.iter().map(Rejected::notification);
        for notification in rejections.chain(notifications.iter().cloned()) {
            self.notifications.write(&NotificationDoc::new(epoch, &notification))?;
        }
        Ok(())
    }

    /// Appends notifications made outside the dataflow (by the render sink).
    pub fn append_notifications(&mut self, notifications: &[NotificationDoc]) -> Result<()> {
        for notification in notifications {
            self.notifications.write(notification)?;
        }
        Ok(())
    }

    /// Flushes both logs.
    pub fn flush(&mut self) -> Result<()> {
        self.notifications.flush()?;
        self.dead_letters.flush()?;
        Ok(())
    }
}

/// Writes the views, exports and tables of the read model, and removes the folders of events
/// and replays written before that are gone since.
#[derive(Debug, Default)]
pub struct LayoutWriter {
    events: BTreeSet<String>,
    replays: BTreeSet<String>,
}

impl LayoutWriter {
    /// Writes everything of `model` into `out`, with what `render` made of it.
    pub fn write(
        &mut self,
        out: &OutputDir,
        model: &ReadModel,
        render: Option<&RenderSink>,
        definitions: &Definitions,
        options: ExportOptions,
    ) -> Result<()> {
        let (events, replays) = write_views(out, model, render)
            .with_context(|| format!("writing views to {:?}", out.root()))?;
        write_exports(out, model, render, definitions, options)
            .with_context(|| format!("writing exports to {:?}", out.root()))?;
        write_tables(out, &[TableFormat::Arrow, TableFormat::Parquet])
            .with_context(|| format!("writing tables to {:?}", out.root()))?;
        for gone in self.events.difference(&events) {
            out.remove_tree(&Path::new("events").join(path_component(gone)))?;
        }
        for gone in self.replays.difference(&replays) {
            out.remove_tree(&Path::new("replays").join(path_component(gone)))?;
        }
        self.events = events;
        self.replays = replays;
        Ok(())
    }
}

/// Writes every view of the read model in the output layout, with what was rendered of it;
/// returns the events and replays written.
fn write_views(
    out: &OutputDir,
    model: &ReadModel,
    render: Option<&RenderSink>,
) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
    let views = model.views();
    let mut event_ids: BTreeSet<String> = views.events.keys().cloned().collect();
    event_ids.extend(views.segments.keys().map(|(event_id, _)| event_id.clone()));
    for event_id in &event_ids {
        let folder = Path::new("events").join(path_component(event_id));
        if let Some(event) = views.events.get(event_id) {
            out.write_json(&folder.join("event.json"), &event_doc(event, render))?;
        }
        let segments = views
            .segments
            .range((event_id.clone(), 0)..=(event_id.clone(), u64::MAX))
            .map(|(_, segment)| segment_doc(segment, render))
            .collect();
        let doc = SegmentsDoc { event_id: event_id.clone(), segments };
        out.write_json(&folder.join("segments.json"), &doc)?;
    }
    for (replay_id, view) in &views.replays {
        let version = model.version(replay_id).expect("a live replay has a version");
        let path = Path::new("replays").join(path_component(replay_id)).join("selection.json");
        out.write_json(&path, &selection_doc(view, version, render))?;
    }
    Ok((event_ids, views.replays.keys().cloned().collect()))
}

/// The document of an event view, with its playlists and failed chunks.
pub fn event_doc(event: &EventView, render: Option<&RenderSink>) -> EventDoc {
    let mut doc = EventDoc::from(event);
    if let Some(render) = render {
        (doc.playlists, doc.failed_chunks) = render.event_media(&event.event_id);
    }
    doc
}

/// The document of a segment view, with its rendered clips.
pub fn segment_doc(segment: &SegmentView, render: Option<&RenderSink>) -> SegmentDoc {
    let mut doc = SegmentDoc::from(segment);
    if let Some(render) = render {
        doc.clips = render.segment_clips(&segment.event_id, segment.start_ms);
    }
    doc
}

/// The document of a replay view at a version, with its rendering.
pub fn selection_doc(view: &ReplayView, version: u64, render: Option<&RenderSink>) -> SelectionDoc {
    let mut doc = SelectionDoc::new(view, version);
    doc.rendered = render.and_then(|r| r.replay_rendered(&view.replay_id));
    doc
}
