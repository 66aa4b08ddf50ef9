//! `reeltime run` on one machine: the embedded service over the [record log](crate::record_log)
//! in a data directory, with the HTTP API.
//!
//! Records accepted by the API are appended to the log and flushed before they are
//! acknowledged. Each worker reads the log itself and decodes its share of the lines (line
//! number modulo workers), like `reeltime process`; an epoch closes as soon as records are
//! durable (the sink's backpressure makes epochs coalesce under load), or after
//! `engine.epoch_ms` without any, so that renders finishing are served without waiting for
//! input. Each epoch then goes through the [epoch driver](crate::driver), its end is
//! recorded in `epochs.log`, and only then are its views served: a restart replays the log
//! in the same epochs, so nothing acknowledged is lost or applied twice, and every
//! replay version a client has seen is the same version after the restart.
//!
//! The run ends on SIGTERM or Ctrl-C (after the current epoch; replay renders in progress
//! are cancelled), or once the log has been idle and every render done for
//! `engine.until_idle_seconds`, and then writes every file of the output directory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

use reeltime_connectors::output_dir::OutputDir;
use reeltime_operators::harness::{self, EpochInput, RunOptions};
use reeltime_schemas::document::Position;

use crate::config::Config;
use crate::decode::decode_compact;
use crate::driver::{Closed, Driver};
use crate::output::Rejected;
use crate::record_log::{EpochLog, LogReader, RecordLog};
use crate::serve::api::RecordWriter;
use crate::serve::metrics::{EpochReport, Metrics};
use crate::serve::server::start_api;
use crate::serve::state::Served;

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceSummary {
    /// Records read again to rebuild the state of earlier runs.
    pub rebuilt: u64,
    /// Records of this run that entered the dataflow.
    pub accepted: u64,
    /// Records of this run that were dead-lettered.
    pub rejected: u64,
    /// Epochs run (rebuilt ones included).
    pub epochs: u64,
}

impl RecordWriter for RecordLog {
    fn write(&self, records: &[Vec<u8>]) -> Result<()> {
        self.append(records).map(|_| ()).context("appending to the record log")
    }

    fn accepted(&self) -> u64 {
        self.durable().records
    }
}

/// Where the workers are: the end (in records) of every epoch decided so far, the number of
/// epochs that rebuild the state, and when to stop.
///
/// Every worker must run the same epochs: the first worker to need an epoch's end decides
/// it, under the lock, and the others read it.
struct Plan {
    log: RecordLog,
    state: Mutex<PlanState>,
    rebuild_epochs: u64,
    epoch_length: Duration,
    max_epoch_records: u64,
    stop: Arc<AtomicBool>,
}

struct PlanState {
    ends: Vec<u64>,
    stop_at: Option<u64>,
}

impl Plan {
    /// The end of `epoch`, or `None` when the run stops before it.
    fn end_of(&self, epoch: u64) -> Option<u64> {
        let mut waited = false;
        loop {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(end) = state.ends.get(epoch as usize) {
                return Some(*end);
            }
            if state.stop_at.is_some_and(|stop| epoch >= stop) {
                return None;
            }
            if self.stop.load(Ordering::Relaxed) {
                state.stop_at = Some(epoch);
                return None;
            }
            let previous = state.ends.last().copied().unwrap_or(0);
            let durable = self.log.durable().records;
            // The first live epoch is decided at once: it hands the rebuilt state to the
            // render sink. After a wait, an epoch closes empty, for the renders' sake.
            if durable > previous || epoch == self.rebuild_epochs || waited {
                let end = durable.min(previous + self.max_epoch_records);
                state.ends.push(end);
                return Some(end);
            }
            drop(state);
            self.log.wait_for_more(previous, self.epoch_length);
            waited = true;
        }
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What a worker reports with each epoch besides its records.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum WorkerNote {
    Accepted(u64),
    /// A rejected record, by its number in the log.
    Rejected(u64, Rejected),
    /// The epoch's end in records (every worker sends it; they agree).
    End(u64),
}

/// One worker's epochs: its share of the log's records, epoch by epoch.
struct WorkerEpochs {
    index: usize,
    peers: usize,
    reader: LogReader,
    plan: Arc<Plan>,
    epoch: u64,
    max_record_bytes: usize,
    failure: Arc<Mutex<Option<String>>>,
}

impl Iterator for WorkerEpochs {
    type Item = EpochInput<WorkerNote>;

    fn next(&mut self) -> Option<Self::Item> {
        let end = self.plan.end_of(self.epoch)?;
        self.epoch += 1;
        let mut input = EpochInput::default();
        let mut accepted = 0;
        while self.reader.position() < end {
            let number = self.reader.position();
            let record = match self.reader.next_record() {
                Ok(record) => record,
                Err(error) => {
                    self.failure.lock().unwrap().get_or_insert(format!("{error:#}"));
                    self.plan.stop();
                    break;
                }
            };
            if number % self.peers as u64 != self.index as u64 {
                continue;
            }
            match decode_compact(record, self.max_record_bytes) {
                Ok(compact) => {
                    input.records.push((number + 1, compact));
                    accepted += 1;
                }
                Err(error) => input.side.push(WorkerNote::Rejected(
                    number,
                    Rejected {
                        position: Position::Line(number + 1),
                        error,
                        text: String::from_utf8_lossy(record).into_owned(),
                    },
                )),
            }
        }
        input.side.push(WorkerNote::Accepted(accepted));
        input.side.push(WorkerNote::End(end));
        Some(input)
    }
}

/// A flag that SIGTERM and Ctrl-C set: a service finishes its epoch, then stops. A second
/// signal, while the first is finishing the epoch, ends the process at once.
pub fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())
            .and_then(|_| signal_hook::flag::register(signal, stop.clone()))
            .context("installing the signal handlers")?;
    }
    Ok(stop)
}

/// Runs the embedded service until it is stopped or idle; `listening` is told the HTTP
/// address once the server listens.
pub fn serve(
    config: &Config,
    listening: impl FnOnce(std::net::SocketAddr),
) -> Result<ServiceSummary> {
    let data_dir = &config.service.data_dir;
    let log = RecordLog::open(data_dir)?;
    let durable = log.durable().records;
    let (mut epochs, ends) = EpochLog::open(data_dir, durable)?;
    let out = OutputDir::resume(&config.output.dir)?;
    let workers = config.engine.workers;
    eprintln!(
        "reeltime run: embedded log {:?} with {durable} records ({} epochs to rebuild), {workers} worker{}",
        data_dir.join(crate::record_log::RECORDS_FILE),
        ends.len(),
        if workers == 1 { "" } else { "s" }
    );

    let stop = stop_on_signals()?;
    let rebuild_epochs = ends.len() as u64;
    let plan = Arc::new(Plan {
        log: log.clone(),
        state: Mutex::new(PlanState { ends, stop_at: None }),
        rebuild_epochs,
        epoch_length: Duration::from_millis(config.engine.epoch_ms),
        max_epoch_records: config.engine.max_epoch_records as u64,
        stop,
    });

    let served = Arc::new(Served::default());
    let metrics = Arc::new(Metrics::default());
    let writer = Arc::new(log.clone());
    let server = start_api(config, served.clone(), writer, metrics.clone(), out.root(), listening)?;
    // Without an API nobody reads the served documents: they are not made.
    let serving = server.is_some();

    let failure: Arc<Mutex<Option<String>>> = Arc::default();
    let source: Arc<harness::Source<WorkerNote>> = {
        let plan = plan.clone();
        let log = log.clone();
        let failure = failure.clone();
        let max_record_bytes = config.engine.max_record_bytes;
        Arc::new(move |index, peers| match log.reader() {
            Ok(reader) => Box::new(WorkerEpochs {
                index,
                peers,
                reader,
                plan: plan.clone(),
                epoch: 0,
                max_record_bytes,
                failure: failure.clone(),
            }),
            Err(error) => {
                failure.lock().unwrap().get_or_insert(format!("{error:#}"));
                plan.stop();
                Box::new(std::iter::empty())
            }
        })
    };

    let mut driver = Driver::new(out, config.driver_options())?;
    let until_idle = Duration::from_secs_f64(config.engine.until_idle_seconds);
    let mut last_input = Instant::now();
    let mut recorded = plan.state.lock().unwrap().ends.last().copied().unwrap_or(0);
    let mut summary = ServiceSummary::default();
    let mut error: Option<anyhow::Error> = None;
    let options = RunOptions { workers, epochs_ahead: 1, pipelined: true, cluster: None };
    harness::run(options, source, |closed| {
        if error.is_some() {
            return;
        }
        let started = Instant::now();
        let epoch = closed.epoch;
        let (mut accepted, mut end) = (0, 0);
        let mut rejected = Vec::new();
        for note in closed.side {
            match note {
                WorkerNote::Accepted(count) => accepted += count,
                WorkerNote::Rejected(number, r) => rejected.push((number, r)),
                WorkerNote::End(at) => end = at,
            }
        }
        rejected.sort_by_key(|(number, _)| *number);
        let rejected: Vec<Rejected> = rejected.into_iter().map(|(_, r)| r).collect();
        summary.epochs += 1;
        let step = (|| -> Result<()> {
            if epoch < rebuild_epochs {
                summary.rebuilt += accepted + rejected.len() as u64;
                let changes = driver.rebuild(closed.rows)?;
                let closed = Closed { changes, ..Closed::default() };
                if serving {
                    served.update(epoch, end, driver.model(), None, &closed);
                }
                return Ok(());
            }
            summary.accepted += accepted;
            summary.rejected += rejected.len() as u64;
            let outcome = driver.close(epoch, closed.rows)?;
            if end > recorded {
                // Recorded before anything of the epoch is served (see the module
                // documentation).
                epochs.record(end)?;
                recorded = end;
                last_input = Instant::now();
            }
            driver.record(epoch, &rejected, &outcome)?;
            if serving {
                served.update(epoch, end, driver.model(), driver.media(), &outcome);
            }
            let model = driver.model();
            metrics.epoch(EpochReport {
                accepted,
                rejected: rejected.len() as u64,
                views_out: (outcome.changes.segments.len() + outcome.changes.replays.len()) as u64,
                duration: started.elapsed(),
                renders_in_flight: driver.renders_in_flight(),
                views: (model.event_count(), model.segment_count(), model.replay_count()),
            });
            Ok(())
        })();
        if let Err(e) = step {
            error = Some(e);
            plan.stop();
            return;
        }
        if !until_idle.is_zero()
            && last_input.elapsed() >= until_idle
            && driver.renders_in_flight() == 0
            && log.durable().records == recorded
        {
            plan.stop();
        }
    })
    .map_err(|e| anyhow!("the dataflow failed: {e}"))?;
    if let Some(e) = error {
        return Err(e);
    }
    if let Some(message) = failure.lock().unwrap().take() {
        return Err(anyhow!("reading the record log: {message}"));
    }
    let drained = driver.drain(true)?;
    driver.finish(&drained)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(dir: &std::path::Path, ends: Vec<u64>, max_epoch_records: u64) -> Plan {
        let log = RecordLog::open(dir).unwrap();
        Plan {
            rebuild_epochs: ends.len() as u64,
            log,
            state: Mutex::new(PlanState { ends, stop_at: None }),
            epoch_length: Duration::from_millis(5),
            max_epoch_records,
            stop: Arc::default(),
        }
    }

    #[test]
    fn epochs_replay_the_recorded_ends_then_take_what_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(dir.path(), vec![2, 5], 3);
        plan.log.append(&vec![b"{}".to_vec(); 12]).unwrap();
        // The recorded epochs, as they were.
        assert_eq!((plan.end_of(0), plan.end_of(1)), (Some(2), Some(5)));
        // The first live epoch at once, with what is durable, at most 3 records an epoch.
        assert_eq!(plan.end_of(2), Some(8));
        assert_eq!(plan.end_of(3), Some(11));
        assert_eq!(plan.end_of(4), Some(12));
        // Another worker asking for a decided epoch gets the same end.
        assert_eq!(plan.end_of(3), Some(11));
        // Nothing new: the epoch closes empty after a wait.
        assert_eq!(plan.end_of(5), Some(12));
    }

    #[test]
    fn a_stop_ends_every_worker_at_the_same_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(dir.path(), vec![], 100);
        plan.log.append(&[b"{}".to_vec()]).unwrap();
        assert_eq!(plan.end_of(0), Some(1));
        plan.stop();
        assert_eq!(plan.end_of(1), None);
        // A worker behind still runs the epochs decided before the stop, and none after.
        assert_eq!(plan.end_of(0), Some(1));
        plan.log.append(&[b"{}".to_vec()]).unwrap();
        assert_eq!(plan.end_of(1), None);
        assert_eq!(plan.end_of(2), None);
    }
}
