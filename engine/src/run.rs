//! `reeltime run`: the service over Kafka.
//!
//! Each worker reads a fixed share of the input partitions ([`share`]) from their beginning
//! and closes an epoch every `epoch_ms`, sooner when it has read what its partitions hold
//! (so a record waits for no clock once the input is drained), or after `max_epoch_records`.
//! Each closed epoch goes through the [epoch driver](crate::driver) on the sink thread while
//! the workers compute the next one; when the sink is busy the workers do not close more
//! epochs, so the next one takes everything that arrived meanwhile (backpressure, not a
//! queue). The run has two phases:
//!
//! - **Rebuild.** The records up to the offsets committed with the last published epoch go
//!   through the dataflow with nothing published: they rebuild the state the outputs already
//!   show. A partition that reaches its committed offset is paused, so no epoch mixes old and
//!   new records; once every worker is through, the epochs after the latest worker's last
//!   rebuild epoch are live, and the replay versions continue from those on the `replays`
//!   topic.
//! - **Live.** Each epoch's changes (segment views, replay views, notifications, dead
//!   letters) are published with the offsets the epoch consumed, in one transaction
//!   ([`TransactionalSink`]), in epoch order: a crash at any moment loses nothing and
//!   duplicates nothing.
//!
//! With `[render] enabled`, the render sink sees every live epoch's changes (the rebuilt
//! state is planned whole at the first live epoch, and what was rendered before is found by
//! its content-derived names without rendering again). What it finishes is published with the
//! next epoch: the segment views with their clips, the replay views with their rendering (at
//! the same version), and the render notifications.
//!
//! With `service.listen` set, the HTTP API ([`crate::serve`]) answers from the views after each
//! epoch's transaction, and its writes are published to the input topics.
//!
//! The output directory gets the same layout as `reeltime process` and is resumed, not
//! cleared, on a restart: the epoch logs are appended to after each transaction, and the files
//! of what changed are written every `write_interval_seconds` and at exit. The run ends on
//! SIGTERM or Ctrl-C (after the current epoch; replay renders in progress are cancelled, clip
//! renders finish), or once every input has been idle, and every render done, for
//! `until_idle_seconds`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, Result};

use reeltime_connectors::kafka::sink::{OutputMessage, TransactionalSink};
use reeltime_connectors::kafka::source::{
    group_metadata, input_partitions, read_latest, share, InputMessage, InputPartition,
    PartitionReader,
};
use reeltime_connectors::kafka::{Topic, TopicNames};
use reeltime_connectors::output_dir::OutputDir;
use reeltime_operators::harness::{self, Agreed, EpochInput, EpochSource, RunOptions, Vote};
use reeltime_operators::read_model::ReadModel;
use reeltime_schemas::document::{ClipMessageDoc, NotificationDoc, Position, ReplayRemovedDoc};
use reeltime_schemas::view::Notification;

use crate::config::Config;
use crate::decode::decode_compact;
use crate::driver::{Closed, Driver};
use crate::epoch_stats::{unix_us, EpochStats, EpochTiming, TimingSummary, SUMMARY_WINDOW};
use crate::output::RenderedMedia;
use crate::output::{now_rfc3339, segment_doc, selection_doc, Rejected};
use crate::serve::kafka_writer::KafkaWriter;
use crate::serve::metrics::{EpochReport, Metrics};
use crate::serve::server::start_api;
use crate::serve::state::{everything, Served};
use crate::service::stop_on_signals;

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Records read to rebuild the state of earlier runs.
    pub rebuilt: u64,
    /// New records that entered the dataflow.
    pub accepted: u64,
    /// New records sent to the dead-letter topic.
    pub rejected: u64,
    /// Epochs published (one transaction each).
    pub transactions: u64,
    /// Messages published.
    pub published: u64,
    /// How long the live epochs' steps took.
    pub timings: TimingSummary,
}

/// What a worker reports with each epoch besides its view updates (it travels to the sink's
/// process in a cluster).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum WorkerNote {
    /// Records of earlier runs read again.
    Rebuilt(u64),
    /// New records accepted.
    Accepted(u64),
    /// A new record rejected, with its topic, partition and offset.
    Rejected((Topic, i32, i64), Rejected),
    /// The offset after the last record this epoch read from a partition.
    Consumed(Topic, i32, i64),
    /// When the worker closed the epoch.
    Closed(SystemTime),
    /// The epoch is live: its records are new, its changes are published.
    Live,
}

/// Runs the service until it is stopped or idle; `listening` is told the HTTP address once
/// the API listens.
///
/// In a cluster, every process runs this with its own `cluster.process_index`: process 0 as
/// described above, the others only reading their partitions and computing their events,
/// until the cluster stops.
pub fn run(config: &Config, listening: impl FnOnce(std::net::SocketAddr)) -> Result<RunSummary> {
    let cluster = crate::cluster::cluster(&config.cluster)?;
    let workers = config.engine.workers;
    let signals = stop_on_signals()?;
    let stopping = Arc::new(AtomicBool::new(false));
    let worker_failure: Arc<Mutex<Option<String>>> = Arc::default();
    let source = worker_source(config, [signals, stopping.clone()], worker_failure.clone());
    let options = RunOptions { workers, epochs_ahead: 1, pipelined: true, cluster };
    let process = options.cluster.as_ref().map_or(0, |cluster| cluster.process);
    if process > 0 {
        harness::run(options, source, |_| {}).map_err(|e| anyhow!("the cluster stopped: {e}"))?;
        if let Some(error) = worker_failure.lock().unwrap().take() {
            return Err(anyhow!(error));
        }
        return Ok(RunSummary::default());
    }
    let settings = config.client_settings();
    let names = TopicNames::new(&config.kafka.topic_prefix);
    let wait = Duration::from_secs(config.kafka.topic_wait_seconds);
    // The input topics are waited for (or named when missing) before anything else; their
    // committed offsets are read again by the workers, once the writer below is registered.
    input_partitions(&settings, &names, &config.kafka.group_id, wait)?;
    let group = group_metadata(&settings, &config.kafka.group_id)?;
    // Registering the transactional id aborts what a crashed predecessor left open, so the
    // replays topic read next holds exactly the committed versions, and the committed
    // offsets the workers read once the run (or the cluster) has formed are final.
    let mut sink =
        TransactionalSink::new(&settings, &names, &config.kafka.transactional_id, group)?;
    let published = published_versions(&read_latest(
        &settings,
        &names.name(Topic::Replays),
        Duration::from_secs(60),
    )?);
    let out = OutputDir::resume(&config.output.dir)?;

    let served = Arc::new(Served::default());
    let metrics = Arc::new(Metrics::default());
    let server = match config.service.listen.as_str() {
        "" => None,
        _ => {
            let writer = KafkaWriter::connect(
                &settings,
                &names,
                config.engine.max_record_bytes,
                wait.max(Duration::from_secs(10)),
            )?;
            let writer = Arc::new(writer);
            start_api(config, served.clone(), writer, metrics.clone(), out.root(), listening)?
        }
    };
    // Without an API nobody reads the served documents: they are not made.
    let serving = server.is_some();

    let mut driver = Driver::new(out, config.driver_options())?;
    let until_idle = Duration::from_secs_f64(config.engine.until_idle_seconds);
    let mut published = Some(published);
    let mut live_since: Option<Instant> = None;
    // When an epoch last brought a record: the input is idle after `until_idle` without one.
    // (Not when a worker last read one: a worker waiting for a busy sink reads nothing, and
    // its next epoch takes everything that arrived meanwhile.)
    let mut last_input = Instant::now();
    let mut summary = RunSummary::default();
    // Records the views reflect (rebuilt, accepted and rejected).
    let mut applied = 0;
    let mut failure: Option<anyhow::Error> = None;
    let mut last_epoch = 0;
    let mut stats = EpochStats::open(&config.engine.epoch_stats_file, SUMMARY_WINDOW)?;
    let stop = || stopping.store(true, Ordering::Relaxed);
    harness::run(options, source, |closed| {
        let computed = SystemTime::now();
        let dataflow_finished = closed.finished;
        let epoch = closed.epoch;
        last_epoch = epoch;
        // Every worker goes live at the same epoch (they agree on it), and says so.
        let live = closed.side.iter().any(|note| matches!(note, WorkerNote::Live));
        let mut rejected = Vec::new();
        let mut offsets = BTreeMap::new();
        // The latest of the workers' closing times.
        let mut closed_at = SystemTime::UNIX_EPOCH;
        let mut records = 0;
        for note in closed.side {
            match note {
                WorkerNote::Rebuilt(count) => {
                    summary.rebuilt += count;
                    applied += count;
                }
                WorkerNote::Accepted(count) => {
                    summary.accepted += count;
                    records += count;
                }
                WorkerNote::Rejected(at, r) => rejected.push((at, r)),
                WorkerNote::Consumed(topic, partition, next) => {
                    offsets.insert((topic, partition), next);
                }
                WorkerNote::Closed(at) => closed_at = closed_at.max(at),
                WorkerNote::Live => {}
            }
        }
        let rejected_count = rejected.len();
        if failure.is_some() {
            return;
        }
        applied += records + rejected_count as u64;
        if !live {
            if let Err(error) = driver.rebuild(closed.rows) {
                failure = Some(error);
                stop();
            }
            return;
        }
        if let Some(published) = published.take() {
            if let Err(error) = driver.restore_versions(published) {
                failure = Some(error);
                stop();
                return;
            }
            live_since = Some(Instant::now());
            // The rebuilt state, at the versions published, is served whole before the first
            // live epoch's changes.
            if serving {
                served.update(epoch, applied, driver.model(), None, &everything(driver.model()));
            }
            eprintln!(
                "reeltime run: rebuilt the state from {} records; live from epoch {epoch}",
                summary.rebuilt
            );
        }
        let step = (|| -> Result<()> {
            rejected.sort_by_key(|(at, _)| *at);
            let rejected: Vec<Rejected> = rejected.into_iter().map(|(_, r)| r).collect();
            summary.rejected += rejected.len() as u64;
            let outcome = driver.close(epoch, closed.rows)?;
            let messages =
                epoch_messages(driver.model(), driver.media(), epoch, &outcome, &rejected);
            if !messages.is_empty() || !offsets.is_empty() {
                sink.publish(epoch, &messages, &offsets)?;
                summary.transactions += 1;
                summary.published += messages.len() as u64;
            }
            let published = SystemTime::now();
            driver.record(epoch, &rejected, &outcome)?;
            let timing = EpochTiming {
                epoch,
                records: records + rejected.len() as u64,
                closed_us: unix_us(closed_at),
                dataflow_us: unix_us(dataflow_finished),
                computed_us: unix_us(computed),
                published_us: unix_us(published),
                recorded_us: unix_us(SystemTime::now()),
            };
            stats.record(timing)?;
            if serving {
                served.update(epoch, applied, driver.model(), driver.media(), &outcome);
            }
            let model = driver.model();
            metrics.epoch(EpochReport {
                accepted: records,
                rejected: rejected.len() as u64,
                views_out: (outcome.changes.segments.len() + outcome.changes.replays.len()) as u64,
                duration: SystemTime::now().duration_since(closed_at).unwrap_or_default(),
                renders_in_flight: driver.renders_in_flight(),
                views: (model.event_count(), model.segment_count(), model.replay_count()),
            });
            Ok(())
        })();
        if let Err(error) = step {
            failure = Some(error);
            stop();
            return;
        }
        if records > 0 || rejected_count > 0 {
            last_input = Instant::now();
        }
        if let Some(since) = live_since.filter(|_| !until_idle.is_zero()) {
            // Rendering is work too: the run is idle once its renders are done.
            if since.max(last_input).elapsed() >= until_idle && driver.renders_in_flight() == 0 {
                stop();
            }
        }
    })
    .map_err(|e| anyhow!("the dataflow failed: {e}"))?;
    if let Some(error) = worker_failure.lock().unwrap().take() {
        return Err(anyhow!(error));
    }
    if let Some(error) = failure {
        return Err(error);
    }
    // Clips are quick and finish; a replay render could take minutes, so it is cancelled and
    // made again by the next run.
    let drained = driver.drain(true)?;
    let messages = epoch_messages(driver.model(), driver.media(), last_epoch + 1, &drained, &[]);
    if !messages.is_empty() {
        sink.publish(last_epoch + 1, &messages, &BTreeMap::new())?;
        summary.transactions += 1;
        summary.published += messages.len() as u64;
    }
    driver.finish(&drained)?;
    summary.timings = stats.summary();
    Ok(summary)
}

/// The version of every replay on the `replays` topic (views and removal markers).
fn published_versions(latest: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, u64> {
    latest
        .iter()
        .filter_map(|(replay_id, payload)| {
            let doc: serde_json::Value = serde_json::from_slice(payload).ok()?;
            Some((replay_id.clone(), doc.get("version")?.as_u64()?))
        })
        .collect()
}

/// The output messages of a live epoch: a segment view (or tombstone) per changed segment, a
/// replay view (or removal marker) per changed replay, the notifications and dead letters.
fn epoch_messages(
    model: &ReadModel,
    render: Option<&dyn RenderedMedia>,
    epoch: u64,
    closed: &Closed,
    rejected: &[Rejected],
) -> Vec<OutputMessage> {
    let mut messages = Vec::new();
    let touched: BTreeSet<&(String, u64)> =
        closed.changes.segments.iter().chain(&closed.rendered_segments).collect();
    for (event_id, start_ms) in touched {
        let key = format!("{event_id}/{}.{:03}", start_ms / 1000, start_ms % 1000);
        let payload = model.segment_view(event_id, *start_ms).and_then(|segment| {
            json(&ClipMessageDoc {
                event_id: event_id.to_string(),
                segment: segment_doc(&segment, render),
            })
        });
        messages.push(OutputMessage { topic: Topic::Clips, key, payload });
    }
    let notifications = &closed.changes.notifications;
    let mut replays_published = BTreeSet::new();
    for notification in notifications {
        match notification {
            Notification::ReplayUpdated { replay_id, .. } => {
                replays_published.insert(replay_id.clone());
            }
            Notification::ReplayDeleted { replay_id, version } => {
                let doc = ReplayRemovedDoc {
                    replay_id: replay_id.clone(),
                    version: *version,
                    removed: true,
                };
                messages.push(OutputMessage {
                    topic: Topic::Replays,
                    key: replay_id.clone(),
                    payload: json(&doc),
                });
            }
            _ => {}
        }
    }
    replays_published.extend(closed.rendered_replays.iter().cloned());
    for replay_id in &replays_published {
        let (Some(view), Some(version)) = (model.replay_view(replay_id), model.version(replay_id))
        else {
            continue;
        };
        messages.push(OutputMessage {
            topic: Topic::Replays,
            key: replay_id.clone(),
            payload: json(&selection_doc(&view, version, render)),
        });
    }
    let seen_at = now_rfc3339();
    for r in rejected {
        let key = match &r.position {
            Position::Kafka(position) => position.clone(),
            Position::Line(line) => line.to_string(),
        };
        messages.push(OutputMessage {
            topic: Topic::DeadLetter,
            key,
            payload: json(&r.dead_letter(&seen_at)),
        });
    }
    let all = rejected
        .iter()
        .map(Rejected::notification)
        .chain(notifications.iter().cloned())
        .map(|n| NotificationDoc::new(epoch, &n))
        .chain(closed.rendered.iter().cloned());
    for doc in all {
        messages.push(OutputMessage {
            topic: Topic::Notifications,
            key: notification_key(&doc),
            payload: json(&doc),
        });
    }
    messages
}

/// The JSON text of a document.
fn json<T: serde::Serialize>(value: &T) -> Option<Vec<u8>> {
    Some(serde_json::to_vec(value).expect("documents serialize to JSON"))
}

/// The key of a notification: its event, or its replay, or the position of a rejected record.
fn notification_key(doc: &NotificationDoc) -> String {
    match doc {
        NotificationDoc::RecordRejected { position, .. } => position.clone(),
        NotificationDoc::ReplayDeleted { replay_id, .. } => replay_id.clone(),
        NotificationDoc::EventStarted { event_id, .. }
        | NotificationDoc::EventEnded { event_id, .. }
        | NotificationDoc::SegmentStarted { event_id, .. }
        | NotificationDoc::SegmentCompleted { event_id, .. }
        | NotificationDoc::SegmentOptimized { event_id, .. }
        | NotificationDoc::ReplayUpdated { event_id, .. }
        | NotificationDoc::ChunkFailed { event_id, .. }
        | NotificationDoc::ClipRendered { event_id, .. }
        | NotificationDoc::ClipFailed { event_id, .. }
        | NotificationDoc::ReplayRendered { event_id, .. }
        | NotificationDoc::ReplayRenderFailed { event_id, .. } => event_id.clone(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Reading records of earlier runs.
    Rebuilding,
    /// Through with them; waiting for every other worker to be.
    Waiting,
    /// Reading new records.
    Live,
}

/// A worker's epochs: what its partitions delivered in each.
struct WorkerEpochs {
    /// The worker's index in the cluster.
    index: usize,
    reader: PartitionReader,
    /// The stop flags of this process (signals, and the sink's decisions).
    stop: [Arc<AtomicBool>; 2],
    epoch_length: Duration,
    max_records: usize,
    max_record_bytes: usize,
    names: TopicNames,
    phase: Phase,
    /// New messages read while rebuilding, one per paused partition.
    held: Vec<InputMessage>,
    /// When a broker problem was last logged, to log it once in a while, not at every poll.
    warned_at: Option<Instant>,
    /// Records of earlier runs and new records accepted in the current epoch.
    counts: (u64, u64),
}

/// The workers' source: each worker reads its share of the input partitions, found once the
/// run (or the cluster) has formed. A worker that cannot start votes to stop, and the run
/// ends with its error.
fn worker_source(
    config: &Config,
    stop: [Arc<AtomicBool>; 2],
    failure: Arc<Mutex<Option<String>>>,
) -> Arc<harness::Source<WorkerNote>> {
    let settings = config.client_settings();
    let names = TopicNames::new(&config.kafka.topic_prefix);
    let group_id = config.kafka.group_id.clone();
    let wait = Duration::from_secs(config.kafka.topic_wait_seconds);
    let epoch_length = Duration::from_millis(config.engine.epoch_ms);
    let max_records = config.engine.max_epoch_records;
    let max_record_bytes = config.engine.max_record_bytes;
    let workers = config.engine.workers;
    let partitions: OnceLock<Result<Vec<InputPartition>, String>> = OnceLock::new();
    Arc::new(move |index, peers| {
        let found = partitions.get_or_init(|| {
            let found = input_partitions(&settings, &names, &group_id, wait);
            if let Ok(found) = &found {
                announce(found, &settings.brokers, index / workers, peers / workers, workers);
            }
            found.map_err(|e| e.to_string())
        });
        let reader = found.clone().and_then(|found| {
            let mine = share(&found, index, peers);
            PartitionReader::new(&settings, &names, &group_id, &mine).map_err(|e| e.to_string())
        });
        match reader {
            Ok(reader) => Box::new(WorkerEpochs {
                index,
                reader,
                stop: stop.clone(),
                epoch_length,
                max_records,
                max_record_bytes,
                names: names.clone(),
                phase: Phase::Rebuilding,
                held: Vec::new(),
                warned_at: None,
                counts: (0, 0),
            }),
            Err(error) => {
                failure.lock().unwrap().get_or_insert(error);
                let vote = Vote { ready: false, stop: true };
                Box::new(std::iter::once(EpochInput { vote, ..EpochInput::default() }))
            }
        }
    })
}

/// Says what a process reads, once it knows.
fn announce(
    partitions: &[InputPartition],
    brokers: &str,
    process: usize,
    processes: usize,
    workers: usize,
) {
    let committed = partitions.iter().filter(|p| p.committed > 0).count();
    let cluster = role(process, processes);
    eprintln!(
        "reeltime run: {} input partitions on {brokers} ({committed} with committed offsets to rebuild from), {workers} worker{}{cluster}",
        partitions.len(),
        if workers == 1 { "" } else { "s" }
    );
}

/// What a process of a cluster does, as its start message says it; nothing for one alone.
fn role(process: usize, processes: usize) -> String {
    match (process, processes) {
        (_, 0 | 1) => String::new(),
        (0, _) => format!(" in process 0 of {processes}, the writer"),
        _ => format!(
            " in process {process} of {processes} (process 0 publishes, renders and serves the API)"
        ),
    }
}

/// How long one poll waits at most, so a worker notices the end of its epoch.
const POLL_SLICE: Duration = Duration::from_millis(20);
/// How often a lasting broker problem is logged.
const WARN_EVERY: Duration = Duration::from_secs(5);

impl EpochSource<WorkerNote> for WorkerEpochs {
    fn next_epoch(&mut self, agreed: Agreed) -> Option<EpochInput<WorkerNote>> {
        let deadline = Instant::now() + self.epoch_length;
        let mut epoch_input = EpochInput::default();
        let mut consumed = BTreeMap::new();
        self.counts = (0, 0);
        // Every worker was through with its rebuild at the end of the last epoch, so every
        // worker goes live with this one.
        if self.phase == Phase::Waiting && agreed.ready {
            self.phase = Phase::Live;
            if let Err(error) = self.reader.resume_all() {
                self.warn(&format!("resuming the input partitions: {error}"));
            }
            for message in std::mem::take(&mut self.held) {
                self.take(message, &mut epoch_input, &mut consumed);
            }
        }
        match self.phase {
            Phase::Waiting => {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()))
            }
            Phase::Rebuilding | Phase::Live => {
                self.read_until(deadline, &mut epoch_input, &mut consumed)
            }
        }
        if self.phase == Phase::Rebuilding && self.reader.rebuilt() {
            self.phase = Phase::Waiting;
        }
        epoch_input.vote = Vote {
            ready: self.phase != Phase::Rebuilding,
            stop: self.stop.iter().any(|flag| flag.load(Ordering::Relaxed)),
        };
        let (rebuilt, accepted) = self.counts;
        epoch_input.side.push(WorkerNote::Closed(SystemTime::now()));
        epoch_input.side.push(WorkerNote::Rebuilt(rebuilt));
        epoch_input.side.push(WorkerNote::Accepted(accepted));
        if self.phase == Phase::Live {
            epoch_input.side.push(WorkerNote::Live);
        }
        epoch_input.side.extend(
            consumed
                .into_iter()
                .map(|((topic, partition), next)| WorkerNote::Consumed(topic, partition, next)),
        );
        Some(epoch_input)
    }
}

impl WorkerEpochs {
    fn read_until(
        &mut self,
        deadline: Instant,
        epoch_input: &mut EpochInput<WorkerNote>,
        consumed: &mut BTreeMap<(Topic, i32), i64>,
    ) {
        let mut count = 0;
        while count < self.max_records {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || (self.phase == Phase::Rebuilding && self.reader.rebuilt()) {
                break;
            }
            // Once a live epoch holds something, it closes as soon as the input is drained,
            // rather than at its deadline: a record waits for no clock.
            let drain = self.phase == Phase::Live && count > 0;
            let wait = if drain { Duration::ZERO } else { left.min(POLL_SLICE) };
            match self.reader.poll(wait) {
                Ok(None) if drain => break,
                Ok(None) => {}
                Ok(Some(message)) => {
                    count += 1;
                    if self.phase == Phase::Rebuilding && !message.rebuild {
                        if let Err(error) =
                            self.reader.pause(message.topic, message.partition, &self.names)
                        {
                            self.warn(&format!(
                                "pausing {}: {error}",
                                message.position(&self.names)
                            ));
                        }
                        self.held.push(message);
                        continue;
                    }
                    self.take(message, epoch_input, consumed);
                }
                Err(error) => self.warn(&format!("reading the inputs: {error}")),
            }
        }
    }

    /// Decodes a message into the epoch; a bad new one becomes a dead letter.
    fn take(
        &mut self,
        message: InputMessage,
        epoch_input: &mut EpochInput<WorkerNote>,
        consumed: &mut BTreeMap<(Topic, i32), i64>,
    ) {
        let rebuild = message.rebuild;
        if !rebuild {
            consumed.insert((message.topic, message.partition), message.offset + 1);
        }
        match decode_compact(&message.payload, self.max_record_bytes) {
            Ok(record) => {
                epoch_input.records.push((message.seq, record));
                if rebuild {
                    self.counts.0 += 1;
                } else {
                    self.counts.1 += 1;
                }
            }
            // A bad record of an earlier run was dead-lettered then.
            Err(_) if rebuild => self.counts.0 += 1,
            Err(error) => epoch_input.side.push(WorkerNote::Rejected(
                (message.topic, message.partition, message.offset),
                Rejected {
                    position: Position::Kafka(message.position(&self.names)),
                    error,
                    text: String::from_utf8_lossy(&message.payload).into_owned(),
                },
            )),
        }
    }

    fn warn(&mut self, message: &str) {
        if self.warned_at.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            eprintln!("warning: worker {}: {message}", self.index);
            self.warned_at = Some(Instant::now());
        }
    }
}

/// Prints the configuration (secrets masked) for `reeltime run --print-config`.
pub fn print_config(config: &Config, path: Option<&Path>) {
    if let Some(path) = path {
        println!("# effective configuration (defaults, {}, environment, flags)", path.display());
    } else {
        println!("# effective configuration (defaults, environment, flags)");
    }
    print!("{}", config.to_masked_toml());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_says_its_part_in_the_cluster() {
        assert_eq!(role(0, 1), "");
        assert_eq!(role(0, 2), " in process 0 of 2, the writer");
        assert!(role(1, 2).starts_with(" in process 1 of 2 (process 0 publishes"));
    }
}
