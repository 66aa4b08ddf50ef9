//! `reeltime process`: an event log through the dataflow, in the embedded mode.
//!
//! Every worker thread reads the whole log and decodes its share of the lines (line number
//! modulo workers) into compact records, so decoding runs in parallel; epochs are every
//! `epoch_records` lines, the same for all workers. Bad lines go to `dead-letter.jsonl` and are
//! notified. Each closed epoch goes through the [epoch driver](crate::driver) (read model,
//! notifications, the render sink with [`ProcessOptions::render`]); when the log is done the
//! renders are waited for and the views of the last epoch are written in the output layout of
//! the README ("Outputs"), with their exports ([`crate::export`]) and, from those, the tables
//! (`tables/*.arrow`, `tables/*.parquet`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;

use reeltime_connectors::log_file::{Line, LogFile};
use reeltime_connectors::output_dir::OutputDir;
use reeltime_operators::harness::{self, EpochInput, RunOptions};
use reeltime_schemas::document::Position;

use crate::decode::decode_compact;
use crate::driver::{Driver, DriverOptions};
use crate::export::ExportOptions;
use crate::output::Rejected;
use crate::progress::Progress;
use crate::render_sink::{RenderConfig, Rendered};

/// Settings of one `process` run.
#[derive(Clone, Debug)]
pub struct ProcessOptions {
    /// The event log (JSON Lines).
    pub log: PathBuf,
    /// The output directory.
    pub out: PathBuf,
    /// Worker threads.
    pub workers: usize,
    /// Log lines per epoch; a replay gets at most one new version per epoch.
    pub epoch_records: u64,
    /// Records larger than this many bytes are rejected unparsed.
    pub max_record_bytes: usize,
    /// Show progress on standard error for runs that take more than a moment.
    pub progress: bool,
    /// How the exports (EDLs) are written.
    pub export: ExportOptions,
    /// Render clips, event playlists and replays from the log's `chunk` records, with these
    /// settings; nothing is rendered when `None`.
    pub render: Option<RenderConfig>,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records that entered the dataflow.
    pub accepted: u64,
    /// Records that went to the dead-letter log.
    pub rejected: u64,
    /// Epochs run.
    pub epochs: u64,
    /// Live events at the end.
    pub events: usize,
    /// Live segments at the end.
    pub segments: usize,
    /// Live replays at the end.
    pub replays: usize,
    /// Notifications written.
    pub notifications: u64,
    /// What was rendered.
    pub rendered: Rendered,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

/// What a worker reports with each epoch besides its records.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum WorkerNote {
    Accepted(u64),
    /// A rejected line, by its number.
    Rejected(u64, Rejected),
}

/// Runs the log through the dataflow and writes the output layout.
pub fn process(options: &ProcessOptions) -> Result<Summary> {
    let started = Instant::now();
    let log = LogFile::open(&options.log)?;
    let out = OutputDir::prepare(&options.out)?;
    let epoch_records = options.epoch_records.max(1);
    let read_error: Arc<Mutex<Option<String>>> = Arc::default();
    let bytes_read = Arc::new(AtomicU64::new(0));

    let source: Arc<harness::Source<WorkerNote>> = {
        let log = log.clone();
        let read_error = read_error.clone();
        let bytes_read = bytes_read.clone();
        let max_record_bytes = options.max_record_bytes;
        Arc::new(move |index, peers| {
            let lines = match log.lines() {
                Ok(lines) => lines,
                Err(e) => {
                    read_error.lock().unwrap().get_or_insert(e.to_string());
                    return Box::new(std::iter::empty());
                }
            };
            let read_error = read_error.clone();
            let bytes_read = bytes_read.clone();
            let lines = lines.map_while(move |line| match line {
                Ok(line) => Some(line),
                Err(e) => {
                    read_error.lock().unwrap().get_or_insert(e.to_string());
                    None
                }
            });
            let epochs = Epochs { lines: lines.peekable(), epoch_records, next_epoch: 0 };
            // A log is all there: small epochs share a timely step.
            Box::new(harness::ReadAhead(epochs.map(move |lines| {
                if index == 0 {
                    if let Some(last) = lines.last() {
                        bytes_read.store(last.offset, Ordering::Relaxed);
                    }
                }
                decode_share(lines, index, peers, max_record_bytes)
            })))
        })
    };

    let mut driver = Driver::new(
        out,
        DriverOptions {
            render: options.render.clone(),
            export: options.export,
            progress: options.progress,
            write_every: None,
        },
    )?;
    let mut summary = Summary::default();
    let mut progress = Progress::new(
        format!("processing {}", options.log.display()),
        log.size(),
        options.progress,
    );
    let mut sink_error: Option<anyhow::Error> = None;
    harness::run(RunOptions::workers(options.workers), source, |closed| {
        let epoch = closed.epoch;
        summary.epochs = epoch + 1;
        let mut rejected = Vec::new();
        for note in closed.side {
            match note {
                WorkerNote::Accepted(count) => summary.accepted += count,
                WorkerNote::Rejected(line, r) => rejected.push((line, r)),
            }
        }
        rejected.sort_by_key(|(line, _)| *line);
        let rejected: Vec<Rejected> = rejected.into_iter().map(|(_, r)| r).collect();
        summary.rejected += rejected.len() as u64;
        if sink_error.is_some() {
            return;
        }
        let step =
            driver.close(epoch, closed.rows).and_then(|c| driver.record(epoch, &rejected, &c));
        if let Err(e) = step {
            sink_error = Some(e);
        }
        progress.update(bytes_read.load(Ordering::Relaxed), summary.accepted + summary.rejected);
    })
    .map_err(|e| anyhow::anyhow!("the dataflow failed: {e}"))?;
    progress.finish();
    if let Some(e) = sink_error {
        return Err(e);
    }
    if let Some(e) = read_error.lock().unwrap().take() {
        anyhow::bail!(e);
    }
    let drained = driver.drain(false)?;
    summary.rendered = driver.finish(&drained)?;
    summary.notifications = driver.notifications();

    let model = driver.model();
    summary.events = model.event_count();
    summary.segments = model.segment_count();
    summary.replays = model.replay_ids().len();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Groups lines into epochs of `epoch_records` line numbers; every epoch up to the last line
/// is yielded, empty or not, so that all workers see the same epochs.
struct Epochs<I: Iterator<Item = Line>> {
    lines: std::iter::Peekable<I>,
    epoch_records: u64,
    next_epoch: u64,
}

impl<I: Iterator<Item = Line>> Iterator for Epochs<I> {
    type Item = Vec<Line>;

    fn next(&mut self) -> Option<Vec<Line>> {
        let epoch_of = |line: &Line| (line.number - 1) / self.epoch_records;
        let first = self.lines.peek()?;
        let epoch = self.next_epoch;
        self.next_epoch += 1;
        if epoch_of(first) > epoch {
            return Some(Vec::new());
        }
        let mut lines = Vec::new();
        while let Some(line) = self.lines.next_if(|l| epoch_of(l) == epoch) {
            lines.push(line);
        }
        Some(lines)
    }
}

/// Decodes this worker's share of an epoch's lines.
fn decode_share(
    lines: Vec<Line>,
    index: usize,
    peers: usize,
    max_record_bytes: usize,
) -> EpochInput<WorkerNote> {
    let mut records = Vec::new();
    let mut side = Vec::new();
    for line in lines.into_iter().filter(|l| l.number % peers as u64 == index as u64) {
        match decode_compact(&line.bytes, max_record_bytes) {
            Ok(record) => records.push((line.number, record)),
            Err(error) => side.push(WorkerNote::Rejected(
                line.number,
                Rejected {
                    position: Position::Line(line.number),
                    error,
                    text: String::from_utf8_lossy(&line.bytes).into_owned(),
                },
            )),
        }
    }
    side.push(WorkerNote::Accepted(records.len() as u64));
    EpochInput { records, side, ..EpochInput::default() }
}
