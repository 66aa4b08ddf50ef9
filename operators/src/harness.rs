//! Runs the dataflow over epochs on a pool of worker threads and hands each closed epoch's row
//! changes, in epoch order, to the caller's thread.
//!
//! Every worker reads its own share of the input (so decoding runs in parallel) and must yield
//! the same number of epochs as the others: epoch boundaries come from the input (e.g. every N
//! log lines, or a clock every worker reads), not from one worker. A side payload (e.g. the
//! records a worker rejected, or the offsets it consumed) travels with each epoch's rows.
//!
//! The caller's thread is the sink: it applies each epoch while the workers compute the next
//! ones, at most [`RunOptions::epochs_ahead`] ahead of it. A worker waits for the sink before it
//! asks its source for another epoch, so a live source that is not asked keeps its input (a
//! Kafka consumer keeps polling into its buffer) and its next epoch takes all of it: epochs
//! coalesce while the sink is busy, instead of queueing without bound.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Instant, SystemTime};

use timely::communication::allocator::thread::Thread;
use timely::communication::Allocator;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Input, Probe};
use timely::dataflow::{InputHandleVec, ProbeHandle};
use timely::logging::{TimelyEvent, TimelyEventBuilder};
use timely::worker::Worker;

use reeltime_schemas::record::Seq;

use crate::compact::Compact;
use crate::dataflow::{self, ControlItem, Epoch, EventItem, ToEvent};
use crate::rows::RowChange;

/// One epoch's input at one worker.
pub struct EpochInput<X> {
    /// The records of the epoch this worker reads, at their log positions.
    pub records: Vec<(Seq, Compact)>,
    /// Anything else the caller wants back with this epoch's rows.
    pub side: Vec<X>,
}

impl<X> Default for EpochInput<X> {
    fn default() -> Self {
        EpochInput { records: Vec::new(), side: Vec::new() }
    }
}

/// The changes of one closed epoch, from all workers.
#[derive(Debug)]
pub struct EpochRows<X> {
    /// The epoch.
    pub epoch: Epoch,
    /// The row changes of the views.
    pub rows: Vec<RowChange>,
    /// The side payloads of every worker for this epoch.
    pub side: Vec<X>,
    /// When the last worker was through with the epoch (the dataflow's part of it done).
    pub finished: SystemTime,
}

/// A worker's source: given `(index, peers)`, its epochs in order.
pub type Source<X> = dyn Fn(usize, usize) -> Box<dyn Iterator<Item = EpochInput<X>>> + Send + Sync;

/// How the dataflow runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Worker threads.
    pub workers: usize,
    /// How many closed epochs the workers may be ahead of the sink (at least 1: the next
    /// epoch is computed while the sink applies the last one).
    pub epochs_ahead: u64,
    /// Whether the sink runs on a thread of its own, pipelined with the workers. Without, a
    /// single worker runs on the caller's thread and hands it each epoch in turn: no thread
    /// waits for another, which is cheaper when epochs are tiny and nothing is to be gained
    /// by overlapping them (several workers are always pipelined).
    pub pipelined: bool,
}

impl RunOptions {
    /// `workers` threads, a few epochs ahead of the sink.
    pub fn workers(workers: usize) -> RunOptions {
        RunOptions { workers, epochs_ahead: 4, pipelined: true }
    }

    /// One worker on the caller's thread, the sink between its epochs.
    pub fn sequential() -> RunOptions {
        RunOptions { workers: 1, epochs_ahead: 1, pipelined: false }
    }
}

/// How many epochs the sink has finished, for the workers to wait on.
#[derive(Default)]
struct Sunk {
    epochs: Mutex<u64>,
    changed: Condvar,
}

impl Sunk {
    /// Waits until epoch `next` may start: at most `ahead` epochs beyond the last one sunk.
    fn wait_to_start(&self, next: Epoch, ahead: u64) {
        let mut sunk = self.epochs.lock().unwrap_or_else(|e| e.into_inner());
        while next > *sunk + ahead {
            sunk = self.changed.wait(sunk).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn finished(&self, epochs: u64) {
        *self.epochs.lock().unwrap_or_else(|e| e.into_inner()) = epochs;
        self.changed.notify_all();
    }
}

/// How many timely operators the dataflow has (its inputs, exchanges and sinks included), as
/// timely's own log of the operators it builds counts them.
pub fn operator_count() -> usize {
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    timely::execute_directly(move |worker| {
        if let Some(mut register) = worker.log_register() {
            register.insert::<TimelyEventBuilder, _>("timely", move |_time, events| {
                let operators = events.iter().flat_map(|events| events.iter());
                let built = operators.filter(|(_, e)| matches!(e, TimelyEvent::Operates(_)));
                counted.fetch_add(built.count(), std::sync::atomic::Ordering::Relaxed);
            });
        }
        build(worker);
        if let Some(mut register) = worker.log_register() {
            register.flush();
        }
    });
    // The dataflow's own scope is one operator more, not a step of the computation.
    count.load(std::sync::atomic::Ordering::Relaxed).saturating_sub(1)
}

/// Runs the dataflow; calls `on_epoch` for each closed epoch in order, on this thread.
///
/// Returns an error when a worker fails (timely stops them all); `on_epoch` has then seen
/// every epoch that closed before.
pub fn run<X, F>(options: RunOptions, source: Arc<Source<X>>, mut on_epoch: F) -> Result<(), String>
where
    X: Send + 'static,
    F: FnMut(EpochRows<X>),
{
    let workers = options.workers.max(1);
    if workers == 1 && !options.pipelined {
        let allocator = Allocator::Thread(Thread::default());
        let mut worker =
            Worker::new(timely::WorkerConfig::default(), allocator, Some(Instant::now()));
        drive(&mut worker, &*source, on_epoch);
        while worker.has_dataflows() {
            worker.step_or_park(None);
        }
        return Ok(());
    }
    let ahead = options.epochs_ahead.max(1);
    let (sender, receiver) = mpsc::channel::<EpochRows<X>>();
    let sender = Mutex::new(sender);
    let sunk = Arc::new(Sunk::default());
    let worker_sunk = sunk.clone();
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let sender = sender.lock().expect("no worker panics while holding the sender").clone();
        drive(worker, &*source, |rows| {
            let next = rows.epoch + 1;
            // The caller hanging up only means nobody is listening any more.
            let _ = sender.send(rows);
            worker_sunk.wait_to_start(next, ahead);
        });
    })?;

    let mut pending: BTreeMap<Epoch, (usize, EpochRows<X>)> = BTreeMap::new();
    let mut next = 0;
    for rows in receiver {
        let epoch = rows.epoch;
        let entry = pending.entry(epoch).or_insert_with(|| {
            (
                0,
                EpochRows {
                    epoch,
                    rows: Vec::new(),
                    side: Vec::new(),
                    finished: SystemTime::UNIX_EPOCH,
                },
            )
        });
        entry.0 += 1;
        entry.1.rows.extend(rows.rows);
        entry.1.side.extend(rows.side);
        entry.1.finished = entry.1.finished.max(rows.finished);
        while pending.get(&next).is_some_and(|(count, _)| *count == workers) {
            let (_, rows) = pending.remove(&next).expect("checked above");
            on_epoch(rows);
            next += 1;
            sunk.finished(next);
        }
    }
    let failures: Vec<String> = guards.join().into_iter().filter_map(Result::err).collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// The dataflow as built on a worker: its inputs, the probe of its output, and the rows its
/// output captured since they were last taken.
struct Built {
    events: InputHandleVec<Epoch, EventItem>,
    control: InputHandleVec<Epoch, ControlItem>,
    probe: ProbeHandle<Epoch>,
    captured: Rc<RefCell<Vec<RowChange>>>,
}

/// Builds the dataflow on `worker`.
fn build(worker: &mut Worker) -> Built {
    let probe = ProbeHandle::new();
    let captured: Rc<RefCell<Vec<RowChange>>> = Rc::default();
    let mut events = InputHandleVec::new();
    let mut control = InputHandleVec::new();
    worker.dataflow::<Epoch, _, _>(|scope| {
        let event_stream = scope.input_from(&mut events).container::<Vec<EventItem>>();
        let control_stream = scope.input_from(&mut control).container::<Vec<ControlItem>>();
        let sink = captured.clone();
        dataflow::views(event_stream, control_stream).inner.probe_with(&probe).sink(
            Pipeline,
            "Capture",
            move |(input, _frontier)| {
                input.for_each(|_time, batch| {
                    let mut sink = sink.borrow_mut();
                    sink.extend(batch.drain(..).map(|(row, _time, diff)| (row, diff)));
                });
            },
        );
    });
    Built { events, control, probe, captured }
}

/// Builds the dataflow on `worker` and runs its source's epochs through it, handing each
/// closed epoch's rows (this worker's) to `deliver`.
fn drive<X>(worker: &mut Worker, source: &Source<X>, mut deliver: impl FnMut(EpochRows<X>)) {
    let (index, peers) = (worker.index(), worker.peers());
    let Built { mut events, mut control, probe, captured } = build(worker);
    for (epoch, epoch_input) in (source)(index, peers).enumerate() {
        let epoch = epoch as Epoch;
        for (seq, record) in epoch_input.records {
            match record {
                Compact::Event(key, input) => events.send((seq, key, ToEvent::Record(input))),
                Compact::Control(key, input) => control.send((seq, key, input)),
            }
        }
        events.advance_to(epoch + 1);
        control.advance_to(epoch + 1);
        worker.step_while(|| probe.less_than(&(epoch + 1)));
        let rows = std::mem::take(&mut *captured.borrow_mut());
        deliver(EpochRows { epoch, rows, side: epoch_input.side, finished: SystemTime::now() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_asks_for_its_next_epoch_only_as_far_ahead_of_the_sink_as_allowed() {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use std::time::Duration;

        const EPOCHS: u64 = 10;
        let ahead = 1;
        // The epochs the source was asked for, the epochs the sink has finished, and whether
        // the source was ever asked for an epoch too far ahead of the sink.
        let asked = Arc::new(AtomicU64::new(0));
        let sunk = Arc::new(AtomicU64::new(0));
        let too_far = Arc::new(AtomicBool::new(false));
        let source: Arc<Source<()>> = {
            let (asked, sunk, too_far) = (asked.clone(), sunk.clone(), too_far.clone());
            Arc::new(move |_index, _peers| {
                let (asked, sunk, too_far) = (asked.clone(), sunk.clone(), too_far.clone());
                Box::new((0..EPOCHS).map(move |epoch| {
                    asked.store(epoch + 1, Ordering::SeqCst);
                    if sunk.load(Ordering::SeqCst) + ahead < epoch {
                        too_far.store(true, Ordering::SeqCst);
                    }
                    EpochInput::default()
                }))
            })
        };
        let options = RunOptions { workers: 1, epochs_ahead: ahead, pipelined: true };
        run(options, source, |rows| {
            if rows.epoch == 0 {
                // A busy sink: a worker that did not wait for it would ask for more epochs
                // meanwhile. It cannot, so this waits the whole while.
                let until = Instant::now() + Duration::from_millis(200);
                while Instant::now() < until && asked.load(Ordering::SeqCst) <= ahead + 1 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            sunk.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        assert_eq!(sunk.load(Ordering::SeqCst), EPOCHS);
        assert!(!too_far.load(Ordering::SeqCst), "the source was asked too far ahead of the sink");
    }

    #[test]
    fn the_dataflow_has_few_operators() {
        // Two inputs, the two keyed operators, the exchanges and routing between them, and the
        // sink: each is scheduled at every epoch, so their number is the fixed cost of one.
        let count = operator_count();
        assert!((5..=20).contains(&count), "{count} operators");
    }
}
