//! The one epoch driver: what happens after the dataflow closes an epoch, in every mode.
//!
//! `process`, `demo`, `highlights` and `run` differ only in where their epochs come from (a
//! log file, or Kafka partitions) and in what else they publish (`run`: a Kafka transaction
//! per epoch). Everything else is this driver, on the sink thread of
//! [`reeltime_operators::harness`], pipelined with the next epoch's computation:
//!
//! 1. [`Driver::close`] applies the epoch's rows to the read model, which says what changed;
//!    the render sink plans what to cut or render from that and from the chunks the read model
//!    holds (it keeps no copy of the inputs), and hands back what it finished.
//! 2. The mode publishes what it publishes (Kafka), then [`Driver::record`] appends the
//!    epoch's notifications and dead letters to their logs. The views and exports of what
//!    changed are written every write interval by the [`FileWriter`] on a thread of its own,
//!    from a copy of the read model fed the same rows, so no epoch waits for them.
//! 3. [`Driver::drain`] and [`Driver::finish`] end a run: renders finish, the last changes
//!    are written, and the tables are made from the exports.
//!
//! A restarted `run` first rebuilds its state from inputs it had already published
//! ([`Driver::rebuild`]): those epochs only reach the read model. Its first live epoch then
//! hands the whole state to the render sink and marks every file, so the directory agrees
//! with the views again without anything being rendered twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result};

use reeltime_connectors::output_dir::OutputDir;
use reeltime_connectors::tables::{TableFormat, TableWriter};
use reeltime_operators::dataflow::Epoch;
use reeltime_operators::read_model::{Changes, ReadModel};
use reeltime_operators::rows::RowChange;
use reeltime_schemas::document::NotificationDoc;

use crate::export::ExportOptions;
use crate::file_writer::{FileWriter, MediaUpdate};
use crate::output::{EpochLogs, LayoutWriter, Rejected, RenderedMedia};
use crate::render_sink::{RenderConfig, RenderSink, Rendered};

/// How a run's epochs are sunk.
#[derive(Clone, Debug)]
pub struct DriverOptions {
    /// Render clips, playlists and replays with these settings; nothing is rendered when
    /// `None`.
    pub render: Option<RenderConfig>,
    /// How the exports are written.
    pub export: ExportOptions,
    /// Show the render sink's progress on standard error.
    pub progress: bool,
    /// Write the files of what changed this often, on a thread of their own
    /// ([`FileWriter`]); `None`: only when the run ends.
    pub write_every: Option<Duration>,
}

/// What a live epoch changed, for the mode to publish.
#[derive(Debug, Default)]
pub struct Closed {
    /// What the epoch changed in the views, with its notifications.
    pub changes: Changes,
    /// The render sink's notifications since the last epoch.
    pub rendered: Vec<NotificationDoc>,
    /// Segments whose rendered clips changed.
    pub rendered_segments: BTreeSet<(String, u64)>,
    /// Replays whose rendering changed.
    pub rendered_replays: BTreeSet<String>,
}

/// The read model and the sinks after the dataflow (see the module documentation).
pub struct Driver {
    out: OutputDir,
    model: ReadModel,
    logs: EpochLogs,
    render: Option<RenderSink>,
    export: ExportOptions,
    writer: Option<FileWriter>,
    /// Epochs were rebuilt and no live epoch has closed since.
    rebuilt: bool,
    notifications: u64,
}

impl Driver {
    /// A driver writing into `out`.
    pub fn new(out: OutputDir, options: DriverOptions) -> Result<Driver> {
        let render = match options.render {
            Some(config) => Some(RenderSink::new(out.root(), config, options.progress)?),
            None => None,
        };
        let writer = match options.write_every {
            Some(every) => Some(FileWriter::start(out.clone(), options.export, every)?),
            None => None,
        };
        Ok(Driver {
            logs: EpochLogs::open(&out)?,
            out,
            model: ReadModel::default(),
            render,
            export: options.export,
            writer,
            rebuilt: false,
            notifications: 0,
        })
    }

    /// The views as of the last closed epoch.
    pub fn model(&self) -> &ReadModel {
        &self.model
    }

    /// Takes the replay versions last published (after a restart rebuilt the state): the next
    /// change of a replay gets the version after its published one.
    pub fn restore_versions(&mut self, published: BTreeMap<String, u64>) -> Result<()> {
        if let Some(writer) = &mut self.writer {
            writer.restore_versions(published.clone())?;
        }
        self.model.restore_versions(published);
        Ok(())
    }

    /// What was rendered, when rendering, for the documents.
    pub fn media(&self) -> Option<&dyn RenderedMedia> {
        self.render.as_ref().map(|render| render as &dyn RenderedMedia)
    }

    /// Notifications written to the log so far (rejections and render outcomes included).
    pub fn notifications(&self) -> u64 {
        self.notifications
    }

    /// Applies an epoch of inputs that were published before (a restart rebuilding its
    /// state): the read model only; returns what the epoch changed in it.
    pub fn rebuild(&mut self, rows: Vec<RowChange>) -> Result<Changes> {
        if let Some(writer) = &mut self.writer {
            writer.epoch(rows.clone(), MediaUpdate::default())?;
        }
        let changes = self.model.apply(rows);
        self.rebuilt = true;
        Ok(changes)
    }

    /// Applies a live epoch and plans its renders; see the module documentation.
    pub fn close(&mut self, epoch: Epoch, rows: Vec<RowChange>) -> Result<Closed> {
        let for_writer = self.writer.as_ref().map(|_| rows.clone());
        let changes = self.model.apply(rows);
        let rebuilt = std::mem::take(&mut self.rebuilt);
        if rebuilt {
            if let Some(writer) = &mut self.writer {
                writer.mark_all()?;
            }
        }
        let everything = rebuilt.then(|| everything(&self.model));
        let mut closed = Closed { changes, ..Closed::default() };
        if let Some(render) = self.render.as_mut() {
            render.plan(epoch, &self.model, everything.as_ref().unwrap_or(&closed.changes))?;
            render.poll(&self.model)?;
            self.take_rendered(&mut closed);
        }
        if let (Some(writer), Some(rows)) = (&mut self.writer, for_writer) {
            let media = match &self.render {
                Some(render) => {
                    MediaUpdate::of(render, &closed.rendered_segments, &closed.rendered_replays)
                }
                None => MediaUpdate::default(),
            };
            writer.epoch(rows, media)?;
        }
        Ok(closed)
    }

    /// Records a closed epoch in the logs: its dead letters and notifications (the views
    /// and exports are the file writer's, or the end's).
    pub fn record(&mut self, epoch: Epoch, rejected: &[Rejected], closed: &Closed) -> Result<()> {
        self.logs.append(epoch, rejected, &closed.changes.notifications)?;
        self.logs.append_notifications(&closed.rendered)?;
        self.logs.flush()?;
        self.notifications +=
            (rejected.len() + closed.changes.notifications.len() + closed.rendered.len()) as u64;
        Ok(())
    }

    /// Waits for the renders in flight (cancelling replay renders first when asked: they
    /// may take minutes) and returns what they changed, for the mode to publish.
    pub fn drain(&mut self, cancel_replays: bool) -> Result<Closed> {
        let mut closed = Closed::default();
        if let Some(render) = self.render.as_mut() {
            if cancel_replays {
                render.cancel_replays();
            }
            render.finish(&self.model)?;
            self.take_rendered(&mut closed);
        }
        Ok(closed)
    }

    /// Ends the run: records what [`Driver::drain`] returned, writes what changed, and makes
    /// the tables; returns what was rendered.
    pub fn finish(&mut self, drained: &Closed) -> Result<Rendered> {
        self.logs.append_notifications(&drained.rendered)?;
        self.notifications += drained.rendered.len() as u64;
        self.logs.flush()?;
        if let Some(writer) = self.writer.take() {
            writer.stop()?;
        }
        // Everything once more, with the tables made from the exports as they are written.
        let mut tables =
            TableWriter::create(&self.out, &[TableFormat::Arrow, TableFormat::Parquet])
                .with_context(|| format!("writing tables to {:?}", self.out.root()))?;
        let mut layout = LayoutWriter::default();
        layout.mark_all();
        layout.flush(
            &self.out,
            &self.model,
            self.render.as_ref().map(|render| render as &dyn RenderedMedia),
            self.export,
            Some(&mut tables),
        )?;
        tables.commit().with_context(|| format!("writing tables to {:?}", self.out.root()))?;
        Ok(self.render.as_ref().map(RenderSink::rendered).unwrap_or_default())
    }

    /// Renders queued or running.
    pub fn renders_in_flight(&self) -> usize {
        self.render.as_ref().map_or(0, RenderSink::in_flight)
    }

    fn take_rendered(&mut self, closed: &mut Closed) {
        let Some(render) = self.render.as_mut() else { return };
        closed.rendered = render.take_notifications();
        (closed.rendered_segments, closed.rendered_replays) = render.take_changed();
    }
}

/// Changes that name everything in the read model, for a render sink that has seen none of
/// it.
fn everything(model: &ReadModel) -> Changes {
    let events: BTreeSet<String> = model.event_ids().into_iter().collect();
    Changes {
        chunk_events: events.clone(),
        event_views: events.clone(),
        events,
        replays: model.replay_ids().into_iter().collect(),
        ..Changes::default()
    }
}
