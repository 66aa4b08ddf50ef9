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
//!    epoch's notifications and dead letters to their logs, and, when the write interval has
//!    passed, writes the files of what changed since the last write ([`LayoutWriter`]).
//! 3. [`Driver::drain`] and [`Driver::finish`] end a run: renders finish, the last changes
//!    are written, and the tables are made from the exports.
//!
//! A restarted `run` first rebuilds its state from inputs it had already published
//! ([`Driver::rebuild`]): those epochs only reach the read model. Its first live epoch then
//! hands the whole state to the render sink and marks every file, so the directory agrees
//! with the views again without anything being rendered twice.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use reeltime_connectors::output_dir::OutputDir;
use reeltime_connectors::tables::{TableFormat, TableWriter};
use reeltime_operators::dataflow::Epoch;
use reeltime_operators::read_model::{Changes, ReadModel};
use reeltime_operators::rows::RowChange;
use reeltime_schemas::document::NotificationDoc;

use crate::export::ExportOptions;
use crate::output::{EpochLogs, LayoutWriter, Rejected};
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
    /// Write the files of what changed at most this often; `None`: only when the run ends.
    pub write_every: Option<Duration>,
    /// Spend at most this long on the files after one epoch (what is left waits for the next
    /// epoch); `None`: no limit.
    pub write_budget: Option<Duration>,
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
    layout: LayoutWriter,
    render: Option<RenderSink>,
    export: ExportOptions,
    write_every: Option<Duration>,
    write_budget: Option<Duration>,
    last_write: Instant,
    /// A write of what changed is under way, spread over epochs by the write budget.
    writing: bool,
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
        Ok(Driver {
            logs: EpochLogs::open(&out)?,
            out,
            model: ReadModel::default(),
            layout: LayoutWriter::default(),
            render,
            export: options.export,
            write_every: options.write_every,
            write_budget: options.write_budget,
            last_write: Instant::now(),
            writing: false,
            rebuilt: false,
            notifications: 0,
        })
    }

    /// The views as of the last closed epoch.
    pub fn model(&self) -> &ReadModel {
        &self.model
    }

    /// The read model, to restore replay versions after a rebuild.
    pub fn model_mut(&mut self) -> &mut ReadModel {
        &mut self.model
    }

    /// The render sink, when rendering.
    pub fn render(&self) -> Option<&RenderSink> {
        self.render.as_ref()
    }

    /// Notifications written to the log so far (rejections and render outcomes included).
    pub fn notifications(&self) -> u64 {
        self.notifications
    }

    /// Applies an epoch of inputs that were published before (a restart rebuilding its
    /// state): the read model only.
    pub fn rebuild(&mut self, rows: Vec<RowChange>) {
        self.model.apply(rows);
        self.rebuilt = true;
    }

    /// Applies a live epoch and plans its renders; see the module documentation.
    pub fn close(&mut self, epoch: Epoch, rows: Vec<RowChange>) -> Result<Closed> {
        let changes = self.model.apply(rows);
        self.layout.mark(&changes);
        let everything = std::mem::take(&mut self.rebuilt).then(|| {
            self.layout.mark_all();
            everything(&self.model)
        });
        let mut closed = Closed { changes, ..Closed::default() };
        if let Some(render) = self.render.as_mut() {
            render.plan(epoch, &self.model, everything.as_ref().unwrap_or(&closed.changes))?;
            render.poll(&self.model)?;
            self.take_rendered(&mut closed);
        }
        Ok(closed)
    }

    /// Records a closed epoch in the files: its dead letters and notifications, and the
    /// views of what changed when the write interval has passed.
    pub fn record(&mut self, epoch: Epoch, rejected: &[Rejected], closed: &Closed) -> Result<()> {
        self.logs.append(epoch, rejected, &closed.changes.notifications)?;
        self.logs.append_notifications(&closed.rendered)?;
        self.logs.flush()?;
        self.notifications +=
            (rejected.len() + closed.changes.notifications.len() + closed.rendered.len()) as u64;
        if self.writing || self.write_every.is_some_and(|every| self.last_write.elapsed() >= every)
        {
            let deadline = self.write_budget.map(|budget| Instant::now() + budget);
            self.layout.flush(
                &self.out,
                &self.model,
                self.render.as_ref(),
                self.export,
                None,
                deadline,
            )?;
            self.writing = self.layout.is_marked();
            if !self.writing {
                self.last_write = Instant::now();
            }
        }
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
        // Everything once more, with the tables made from the exports as they are written.
        let mut tables =
            TableWriter::create(&self.out, &[TableFormat::Arrow, TableFormat::Parquet])
                .with_context(|| format!("writing tables to {:?}", self.out.root()))?;
        self.layout.mark_all();
        self.layout.flush(
            &self.out,
            &self.model,
            self.render.as_ref(),
            self.export,
            Some(&mut tables),
            None,
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
        self.layout.mark_rendered(&closed.rendered_segments, &closed.rendered_replays);
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
