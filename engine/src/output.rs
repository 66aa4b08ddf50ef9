//! What every mode writes into the output directory (the README's "Outputs"): the
//! notification and dead-letter logs, appended per epoch; the views with their exports,
//! written for what changed; and the tables, made from the exports when a run ends.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::SystemTime;

use anyhow::{Context, Result};

use reeltime_connectors::output_dir::{path_component, JsonLines, OutputDir};
use reeltime_connectors::tables::TableWriter;
use reeltime_operators::read_model::{Changes, ReadModel};
use reeltime_schemas::document::{
    DeadLetterDoc, EventDoc, NotificationDoc, Position, SegmentDoc, SegmentsDoc, SelectionDoc,
};
use reeltime_schemas::document::{RenderedReplayDoc, TrackClipsDoc};
use reeltime_schemas::export::{EventExportDoc, ReplayExportDoc};
use reeltime_schemas::view::{EventView, Notification, ReplayView, SegmentView};
use reeltime_schemas::RecordError;

use crate::export::{
    event_export, has_export, write_event_export, write_replay_export, ExportOptions,
};
use crate::render_sink::{failed_chunk, RenderSink};

/// What was rendered of the views, as their documents show it: the render sink's own state,
/// or a copy of it on the file writer's thread ([`crate::file_writer::MediaCopy`]).
pub trait RenderedMedia: Sync {
    /// The rendered clips of a segment, per track.
    fn segment_clips(&self, event_id: &str, start_ms: u64) -> BTreeMap<String, TrackClipsDoc>;
    /// The rendering of a replay's current clip list, when it asks for one.
    fn replay_rendered(&self, replay_id: &str) -> Option<RenderedReplayDoc>;
    /// An event's playlists, by track.
    fn event_playlists(&self, event_id: &str) -> BTreeMap<String, String>;
}

impl RenderedMedia for RenderSink {
    fn segment_clips(&self, event_id: &str, start_ms: u64) -> BTreeMap<String, TrackClipsDoc> {
        RenderSink::segment_clips(self, event_id, start_ms)
    }

    fn replay_rendered(&self, replay_id: &str) -> Option<RenderedReplayDoc> {
        RenderSink::replay_rendered(self, replay_id)
    }

    fn event_playlists(&self, event_id: &str) -> BTreeMap<String, String> {
        RenderSink::event_playlists(self, event_id)
    }
}

/// An input record that was rejected, with where it was.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
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

/// Writes the views and exports of what changed, and removes the folders of events and
/// replays that are gone.
///
/// Epochs mark what they changed ([`LayoutWriter::mark`]); [`LayoutWriter::flush`] writes the
/// files of the marked events and replays only, so a long run writes each file when it
/// changed, not the whole directory again. A replay's export names its clips after its
/// event's segments, so a marked event marks its replays too.
#[derive(Debug, Default)]
pub struct LayoutWriter {
    events: BTreeSet<String>,
    replays: BTreeSet<String>,
    /// Everything is marked, including folders on disk that no view has any more.
    all: bool,
}

impl LayoutWriter {
    /// Marks what an epoch changed.
    pub fn mark(&mut self, changes: &Changes) {
        self.events.extend(changes.events.iter().cloned());
        self.events.extend(changes.detection_events.iter().cloned());
        self.events.extend(changes.segments.iter().map(|(event_id, _)| event_id.clone()));
        self.replays.extend(changes.replays.iter().cloned());
    }

    /// Marks what the render sink changed: segments with new clips, replays rendered again.
    pub fn mark_rendered(
        &mut self,
        segments: &BTreeSet<(String, u64)>,
        replays: &BTreeSet<String>,
    ) {
        self.events.extend(segments.iter().map(|(event_id, _)| event_id.clone()));
        self.replays.extend(replays.iter().cloned());
    }

    /// Marks everything: the directory is made to agree with the views whole (after a
    /// restart rebuilt them, for instance).
    pub fn mark_all(&mut self) {
        self.all = true;
    }

    /// Whether something is marked.
    pub fn is_marked(&self) -> bool {
        self.all || !self.events.is_empty() || !self.replays.is_empty()
    }

    /// Writes the views and exports of everything marked, with what `render` made of it; with
    /// `tables`, adds every export written to them (mark everything first, so that the tables
    /// are whole).
    pub fn flush(
        &mut self,
        out: &OutputDir,
        model: &ReadModel,
        render: Option<&dyn RenderedMedia>,
        options: ExportOptions,
        mut tables: Option<&mut TableWriter>,
    ) -> Result<()> {
        let mut events = std::mem::take(&mut self.events);
        let mut replays = std::mem::take(&mut self.replays);
        if std::mem::take(&mut self.all) {
            events.extend(model.event_ids());
            events.extend(model.events_with_detections());
            replays.extend(model.replay_ids());
            remove_unknown_folders(out, "events", &events)?;
            remove_unknown_folders(out, "replays", &replays)?;
        }
        for replay_id in model.replay_ids() {
            let of_marked_event =
                model.replay_event(&replay_id).is_some_and(|event_id| events.contains(event_id));
            if of_marked_event {
                replays.insert(replay_id);
            }
        }
        // The replays to write, by their event, whose export names their clips; the rest are
        // gone.
        let mut by_event: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for replay_id in replays {
            match model.replay_event(&replay_id) {
                Some(event_id) => by_event.entry(event_id.to_owned()).or_default().push(replay_id),
                None => out.remove_tree(&Path::new("replays").join(path_component(&replay_id)))?,
            }
        }
        let work: Vec<EventWork> = events
            .iter()
            .chain(by_event.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|event_id| EventWork {
                marked: events.contains(event_id),
                replays: by_event.get(event_id).cloned().unwrap_or_default(),
                event_id: event_id.clone(),
            })
            .collect();
        let context = WriteContext { out, model, render, options };
        in_parallel(
            &work,
            |item| context.write(item),
            |written: Written| {
                if let Some(tables) = tables.as_deref_mut() {
                    if let Some(export) = &written.event {
                        tables.add_event(export)?;
                    }
                    for replay in written.replays {
                        tables.add_replay(replay);
                    }
                }
                Ok(())
            },
        )
    }
}

/// One event to write (when `marked`), with the replays of it to write.
struct EventWork {
    event_id: String,
    marked: bool,
    replays: Vec<String>,
}

/// The exports one [`EventWork`] wrote.
struct Written {
    /// The event's export, when it was written.
    event: Option<EventExportDoc>,
    /// The exports of its replays.
    replays: Vec<ReplayExportDoc>,
}

/// What writing an event's files needs.
#[derive(Clone, Copy)]
struct WriteContext<'a> {
    out: &'a OutputDir,
    model: &'a ReadModel,
    render: Option<&'a dyn RenderedMedia>,
    options: ExportOptions,
}

impl WriteContext<'_> {
    /// Writes one event's files (or removes them when it is gone), then its replays'.
    fn write(&self, work: &EventWork) -> Result<Written> {
        let WriteContext { out, model, render, options } = *self;
        let event_id = &work.event_id;
        let folder = Path::new("events").join(path_component(event_id));
        let mut written = Written { event: None, replays: Vec::new() };
        let export = if !has_export(model, event_id) {
            if work.marked {
                out.remove_tree(&folder)?;
            }
            None
        } else if work.marked {
            let segments = model.segment_views(event_id);
            write_event_views(out, &folder, model, render, event_id, &segments)
                .with_context(|| format!("writing the views of event {event_id:?}"))?;
            Some(write_event_export(out, model, render, event_id, &segments, options)?)
        } else {
            // Only its replays are written; they name their clips after its segments.
            Some(event_export(model, render, event_id, &model.segment_views(event_id)))
        };
        for replay_id in &work.replays {
            let folder = Path::new("replays").join(path_component(replay_id));
            let (Some(view), Some(version)) =
                (model.replay_view(replay_id), model.version(replay_id))
            else {
                continue;
            };
            out.write_json(&folder.join("selection.json"), &selection_doc(&view, version, render))?;
            written.replays.extend(write_replay_export(
                out,
                model,
                render,
                replay_id,
                export.as_ref(),
                options,
            )?);
        }
        // Only a written export goes into the tables.
        written.event = export.filter(|_| work.marked);
        Ok(written)
    }
}

/// Runs `write` over `work` on as many threads as there are cores, and hands each result to
/// `take` on this thread in the order of `work` (the tables want their events in order).
///
/// Each thread takes the next item when it is done with one, so results come back nearly in
/// order and only a few wait to be taken; the first error stops the rest.
fn in_parallel<W: Sync, R: Send>(
    work: &[W],
    write: impl Fn(&W) -> Result<R> + Sync,
    mut take: impl FnMut(R) -> Result<()>,
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(work.len());
    if threads <= 1 {
        for item in work {
            take(write(item)?)?;
        }
        return Ok(());
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel::<(usize, Result<R>)>(threads * 2);
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, failed, write) = (&next, &failed, &write);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= work.len() || failed.load(Ordering::Relaxed) {
                    break;
                }
                let result = write(&work[index]);
                // The receiver only hangs up after an error, which stops this thread next.
                let _ = sender.send((index, result));
            });
        }
        drop(sender);
        let mut waiting = BTreeMap::new();
        let mut expected = 0;
        for (index, result) in receiver {
            waiting.insert(index, result);
            while let Some(result) = waiting.remove(&expected) {
                expected += 1;
                if let Err(error) = result.and_then(&mut take) {
                    failed.store(true, Ordering::Relaxed);
                    return Err(error);
                }
            }
        }
        Ok(())
    })
}

/// Removes the folders under `kind` that belong to none of `ids` (views gone while reeltime
/// was not running).
fn remove_unknown_folders(out: &OutputDir, kind: &str, ids: &BTreeSet<String>) -> Result<()> {
    let known: BTreeSet<String> = ids.iter().map(|id| path_component(id)).collect();
    for folder in out.folders(Path::new(kind))? {
        if !known.contains(&folder) {
            out.remove_tree(&Path::new(kind).join(folder))?;
        }
    }
    Ok(())
}

/// Writes `event.json` and `segments.json` of one event into `folder`.
fn write_event_views(
    out: &OutputDir,
    folder: &Path,
    model: &ReadModel,
    render: Option<&dyn RenderedMedia>,
    event_id: &str,
    segments: &[SegmentView],
) -> Result<()> {
    if let Some(event) = model.event_view(event_id) {
        out.write_json(&folder.join("event.json"), &event_doc(&event, model, render))?;
    } else {
        out.remove(&folder.join("event.json"))?;
    }
    let segments = segments.iter().map(|segment| segment_doc(segment, render)).collect();
    let doc = SegmentsDoc { event_id: event_id.to_owned(), segments };
    out.write_json(&folder.join("segments.json"), &doc)?;
    Ok(())
}

/// The document of an event view, with its playlists and failed chunks.
pub fn event_doc(
    event: &EventView,
    model: &ReadModel,
    render: Option<&dyn RenderedMedia>,
) -> EventDoc {
    let mut doc = EventDoc::from(event);
    if let Some(render) = render {
        doc.playlists = render.event_playlists(&event.event_id);
        doc.failed_chunks = model
            .chunks(&event.event_id)
            .into_iter()
            .filter_map(|chunk| chunk.error.as_deref().map(|reason| failed_chunk(chunk, reason)))
            .collect();
    }
    doc
}

/// The document of a segment view, with its rendered clips.
pub fn segment_doc(segment: &SegmentView, render: Option<&dyn RenderedMedia>) -> SegmentDoc {
    let mut doc = SegmentDoc::from(segment);
    if let Some(render) = render {
        doc.clips = render.segment_clips(&segment.event_id, segment.start_ms);
    }
    doc
}

/// The document of a replay view at a version, with its rendering.
pub fn selection_doc(
    view: &ReplayView,
    version: u64,
    render: Option<&dyn RenderedMedia>,
) -> SelectionDoc {
    let mut doc = SelectionDoc::new(view, version);
    doc.rendered = render.and_then(|r| r.replay_rendered(&view.replay_id));
    doc
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use reeltime_operators::compact::Compact;
    use reeltime_operators::harness::{self, EpochInput, RunOptions};
    use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;

    use super::*;

    /// The read model after one epoch of `lines` (JSON records).
    fn model_of(lines: &[&str]) -> ReadModel {
        let records: Vec<_> = lines
            .iter()
            .zip(1..)
            .map(|(line, seq)| {
                let record =
                    reeltime_schemas::decode(line.as_bytes(), DEFAULT_MAX_RECORD_BYTES).unwrap();
                (seq, Compact::from_record(record).unwrap())
            })
            .collect();
        let epochs =
            std::sync::Mutex::new(Some(vec![EpochInput { records, ..EpochInput::default() }]));
        let source: Arc<harness::Source<()>> = Arc::new(move |_index, _peers| {
            Box::new(epochs.lock().unwrap().take().unwrap_or_default().into_iter())
        });
        let mut model = ReadModel::default();
        harness::run(RunOptions::sequential(), source, |closed| {
            model.apply(closed.rows);
        })
        .unwrap();
        model
    }

    #[test]
    fn a_flush_writes_the_files_of_what_was_marked_only() {
        let model = model_of(&[
            r#"{"type":"segment","event_id":"a","plugin":"p","start":1,"end":2}"#,
            r#"{"type":"segment","event_id":"b","plugin":"p","start":1,"end":2}"#,
        ]);
        let dir = tempfile::tempdir().unwrap();
        let out = OutputDir::prepare(dir.path()).unwrap();
        let mut layout = LayoutWriter::default();
        layout.mark_all();
        layout.flush(&out, &model, None, ExportOptions::default(), None).unwrap();
        let segments = |event: &str| dir.path().join("events").join(event).join("segments.json");
        for event in ["a", "b"] {
            assert!(std::fs::read_to_string(segments(event)).unwrap().contains("\"start\""));
            std::fs::write(segments(event), "as left").unwrap();
        }

        let changes = Changes { events: ["a".to_owned()].into(), ..Changes::default() };
        layout.mark(&changes);
        assert!(layout.is_marked());
        layout.flush(&out, &model, None, ExportOptions::default(), None).unwrap();
        assert_ne!(std::fs::read_to_string(segments("a")).unwrap(), "as left", "marked: written");
        assert_eq!(std::fs::read_to_string(segments("b")).unwrap(), "as left", "not marked");
        assert!(!layout.is_marked(), "a flush takes the marks");
    }

    #[test]
    fn in_parallel_hands_the_results_over_in_the_order_of_the_work() {
        let work: Vec<u64> = (0..200).collect();
        let mut taken = Vec::new();
        in_parallel(
            &work,
            |&n| {
                // Uneven work, so that the threads finish out of order.
                let spins = if n % 7 == 0 { 20_000 } else { 10 };
                Ok((0..spins).fold(n, |acc, i| std::hint::black_box(acc ^ i) ^ i))
            },
            |n| {
                taken.push(n);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(taken, work);
    }

    #[test]
    fn in_parallel_stops_at_the_first_error_in_order() {
        let work: Vec<u64> = (0..100).collect();
        let mut taken = Vec::new();
        let error = in_parallel(
            &work,
            |&n| if n == 40 { Err(anyhow::anyhow!("item {n} failed")) } else { Ok(n) },
            |n| {
                taken.push(n);
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "item 40 failed");
        assert_eq!(
            taken,
            (0..40).collect::<Vec<_>>(),
            "everything before the error, nothing after"
        );

        let mut taken = Vec::new();
        let error = in_parallel(
            &work,
            |&n| Ok(n),
            |n| {
                if n == 10 {
                    anyhow::bail!("taking {n} failed");
                }
                taken.push(n);
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "taking 10 failed");
        assert_eq!(taken, (0..10).collect::<Vec<_>>());
    }
}
