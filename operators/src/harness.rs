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
//! coalesce while the sink is busy, instead of queueing without bound. An input that is all
//! there already ([`ReadAhead`]: a log file) is taken several small epochs at a time, computed
//! in one timely step, and still closed and handed over one epoch at a time.
//!
//! The workers may span several processes ([`Cluster`]): one timely cluster over TCP. The rows
//! and side payloads of every worker then travel through the dataflow to the workers of the
//! first process, whose thread is the one sink of the cluster (one writer, so that what it
//! publishes and the input positions it commits stay one transaction); the other processes
//! only read and compute. Workers decide together without sharing memory: each epoch carries
//! every worker's [`Vote`] to every worker, so after an epoch all of them know whether all
//! are ready and whether any asked to stop, and take the same decision at the same epoch.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Instant, SystemTime};

use serde::{Deserialize, Serialize};
use timely::communication::allocator::thread::Thread;
use timely::communication::Allocator;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Exchange as _, Input, Probe};
use timely::dataflow::{InputHandleVec, ProbeHandle, StreamVec};
use timely::logging::{TimelyEvent, TimelyEventBuilder};
use timely::worker::Worker;
use timely::ExchangeData;

use reeltime_schemas::record::Seq;

use crate::compact::Compact;
use crate::dataflow::{self, ControlItem, Epoch, EventItem, ToEvent};
use crate::rows::{Row, RowChange};

/// One epoch's input at one worker.
pub struct EpochInput<X> {
    /// The records of the epoch this worker reads, at their log positions.
    pub records: Vec<(Seq, Compact)>,
    /// Anything else the caller wants back with this epoch's rows.
    pub side: Vec<X>,
    /// What this worker tells every worker with this epoch.
    pub vote: Vote,
}

impl<X> Default for EpochInput<X> {
    fn default() -> Self {
        EpochInput { records: Vec::new(), side: Vec::new(), vote: Vote::default() }
    }
}

/// What a worker tells every other worker with an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// Ready for what comes next (e.g. through with rebuilding its state).
    pub ready: bool,
    /// Asks every worker to stop after this epoch.
    pub stop: bool,
}

impl Default for Vote {
    /// Ready, not stopping: what a source that decides nothing with the others says.
    fn default() -> Self {
        Vote { ready: true, stop: false }
    }
}

/// What all workers' votes of an epoch decided, the same at every worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreed {
    /// Every worker voted ready (false before the first epoch).
    pub ready: bool,
    /// Some worker asked to stop: no worker begins another epoch.
    pub stop: bool,
}

impl Agreed {
    /// What the votes of one epoch decide.
    pub fn from_votes<'v>(votes: impl IntoIterator<Item = &'v Vote>) -> Agreed {
        votes.into_iter().fold(Agreed { ready: true, stop: false }, |agreed, vote| Agreed {
            ready: agreed.ready && vote.ready,
            stop: agreed.stop || vote.stop,
        })
    }
}

/// A worker's epochs: each asked for once the previous one is through the dataflow, with
/// what the workers agreed at its end.
pub trait EpochSource<X> {
    /// The next epoch's input, or `None` when this worker has no more.
    fn next_epoch(&mut self, agreed: Agreed) -> Option<EpochInput<X>>;

    /// Whether a worker may take this source's next epochs before the dataflow is through
    /// with the last one, with what the workers agreed before them ([`ReadAhead`]).
    fn reads_ahead(&self) -> bool {
        false
    }
}

/// A source that decides nothing with the other workers: its epochs in order.
impl<X, I: Iterator<Item = EpochInput<X>>> EpochSource<X> for I {
    fn next_epoch(&mut self, _agreed: Agreed) -> Option<EpochInput<X>> {
        self.next()
    }
}

/// The epochs of an input that is all there (a log file, a recorded match), which a worker
/// may take several at a time: their records go into the dataflow together and one timely
/// step computes them all, each epoch still closing on its own and in order. A step's fixed
/// cost (scheduling every operator, tracking progress) is then paid once for the lot, which
/// is most of the cost of an epoch of a few records.
///
/// Only for sources whose next epoch is ready at once and depends on nothing the workers
/// agree (a live source must not wait for more input while earlier epochs are held back),
/// and that never vote to stop before their end. A worker is then as many epochs ahead of
/// the sink as it takes at once.
pub struct ReadAhead<I>(pub I);

impl<X, I: Iterator<Item = EpochInput<X>>> EpochSource<X> for ReadAhead<I> {
    fn next_epoch(&mut self, _agreed: Agreed) -> Option<EpochInput<X>> {
        self.0.next()
    }

    fn reads_ahead(&self) -> bool {
        true
    }
}

/// The most epochs a worker takes for one step from a source that reads ahead.
const STEP_EPOCHS: usize = 64;
/// The most records a worker takes for one step, beyond its first epoch, from a source that
/// reads ahead: large epochs gain nothing from sharing a step and would only hold more memory.
const STEP_RECORDS: usize = 1024;

/// Whether a worker that has taken `epochs` epochs of `records` records in all for its next
/// step takes another from a source that reads ahead.
fn takes_another(epochs: usize, records: usize) -> bool {
    epochs < STEP_EPOCHS && records < STEP_RECORDS
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

/// A worker's source: given `(index, peers)` (its index among all workers of the cluster, and
/// their number), its epochs.
pub type Source<X> = dyn Fn(usize, usize) -> Box<dyn EpochSource<X>> + Send + Sync;

/// Several processes forming one timely cluster over TCP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// This process's index, from 0.
    pub process: usize,
    /// The `host:port` every process listens on, by process index.
    pub addresses: Vec<String>,
}

impl Cluster {
    /// The number of processes.
    pub fn processes(&self) -> usize {
        self.addresses.len()
    }
}

/// How the dataflow runs.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The processes of a cluster (`workers` threads in each), or `None` for this one alone.
    pub cluster: Option<Cluster>,
}

impl RunOptions {
    /// `workers` threads, a few epochs ahead of the sink.
    pub fn workers(workers: usize) -> RunOptions {
        RunOptions { workers, epochs_ahead: 4, pipelined: true, cluster: None }
    }

    /// One worker on the caller's thread, the sink between its epochs.
    pub fn sequential() -> RunOptions {
        RunOptions { workers: 1, epochs_ahead: 1, pipelined: false, cluster: None }
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

/// How many timely operators the dataflow of a worker alone has (its inputs, exchanges and
/// sinks included), as timely's own log of the operators it builds counts them.
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
        build::<()>(worker, 0);
        if let Some(mut register) = worker.log_register() {
            register.flush();
        }
    });
    // The dataflow's own scope is one operator more, not a step of the computation.
    count.load(std::sync::atomic::Ordering::Relaxed).saturating_sub(1)
}

/// Runs the dataflow; calls `on_epoch` for each closed epoch in order, on this thread (in a
/// cluster, only on the sink's process: the others return once the workers stop).
///
/// Returns an error when a worker fails (timely stops them all; in a cluster, a process that
/// loses its connection to another fails); `on_epoch` has then seen every epoch that closed
/// before.
pub fn run<X, F>(options: RunOptions, source: Arc<Source<X>>, mut on_epoch: F) -> Result<(), String>
where
    X: ExchangeData + Clone,
    F: FnMut(EpochRows<X>),
{
    let workers = options.workers.max(1);
    if workers == 1 && !options.pipelined && options.cluster.is_none() {
        let allocator = Allocator::Thread(Thread::default());
        let mut worker =
            Worker::new(timely::WorkerConfig::default(), allocator, Some(Instant::now()));
        drive(&mut worker, 1, &*source, on_epoch);
        while worker.has_dataflows() {
            worker.step_or_park(None);
        }
        return Ok(());
    }
    let ahead = options.epochs_ahead.max(1);
    let clustered = options.cluster.is_some();
    let config = match options.cluster {
        None => timely::Config::process(workers),
        Some(cluster) => {
            report_lost_peers_once();
            timely::Config {
                communication: timely::CommunicationConfig::Cluster {
                    threads: workers,
                    process: cluster.process,
                    addresses: cluster.addresses,
                    report: false,
                    zerocopy: false,
                },
                worker: timely::WorkerConfig::default(),
            }
        }
    };
    let (sender, receiver) = mpsc::channel::<EpochRows<X>>();
    let sender = Mutex::new(sender);
    let sunk = Arc::new(Sunk::default());
    let worker_sunk = sunk.clone();
    let guards = timely::execute(config, move |worker| {
        let sender = sender.lock().expect("no worker panics while holding the sender").clone();
        drive(worker, workers, &*source, |rows| {
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
    // Joining the guards also joins timely's network threads, which panic once more when a
    // peer is gone; that is one more sign of the same loss, not a failure of this thread.
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| guards.join()));
    let failures: Vec<String> = match joined {
        Ok(results) => results.into_iter().filter_map(Result::err).collect(),
        Err(_) => vec![format!("{LOST_PEER}: a network thread stopped")],
    };
    if failures.is_empty() {
        Ok(())
    } else if clustered && failures.iter().any(|f| is_lost_peer(f)) {
        Err("the connection to another process of the cluster was lost (it stopped, or the \
             network failed); every process of the cluster stops: start them all again and \
             they resume where the outputs were last committed"
            .to_owned())
    } else {
        Err(failures.join("; "))
    }
}

/// How timely's network threads begin the message of their panic when a peer is gone.
const LOST_PEER: &str = "timely communication error";

/// Whether a panic message is one of those a lost peer causes: the network thread's own,
/// then the workers' and the other network threads' as they find its queues poisoned.
fn is_lost_peer(message: &str) -> bool {
    message.starts_with(LOST_PEER)
        || message.starts_with("MergeQueue poisoned")
        || message.starts_with("Send thread panic")
        || message.starts_with("Recv thread panic")
}

/// Keeps the panics a lost peer causes off stderr (a dozen traces of one event, which
/// [`run`] reports once, plainly); every other panic is shown as before.
fn report_lost_peers_once() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or_default();
            if !is_lost_peer(message) {
                previous(info);
            }
        }));
    });
}

/// The dataflow as built on a worker: its inputs, the probe of its outputs, and what its
/// outputs captured since they were last taken.
struct Built<X: Clone + 'static> {
    events: InputHandleVec<Epoch, EventItem>,
    control: InputHandleVec<Epoch, ControlItem>,
    /// Side payloads, each for the worker it names, and votes, one for every worker; `None`
    /// for a worker alone, which keeps its own in `side` and `voted` without a dataflow's
    /// round trip (four operators fewer to schedule at every epoch).
    exchanged: Option<Exchanged<X>>,
    probe: ProbeHandle<Epoch>,
    rows: Captured<(Epoch, RowChange)>,
    side: Captured<(Epoch, (u64, X))>,
    voted: Captured<(Epoch, (u64, Vote))>,
}

/// The inputs of what workers tell each other beside the rows.
struct Exchanged<X: Clone + 'static> {
    sides: InputHandleVec<Epoch, (u64, X)>,
    votes: InputHandleVec<Epoch, (u64, Vote)>,
}

/// What a sink of the dataflow received since it was last taken.
type Captured<T> = Rc<RefCell<Vec<T>>>;

/// Builds the dataflow on `worker`; its row changes go to worker `sink`.
fn build<X: ExchangeData + Clone>(worker: &mut Worker, sink: u64) -> Built<X> {
    let alone = worker.peers() == 1;
    let probe = ProbeHandle::new();
    let mut events = InputHandleVec::new();
    let mut control = InputHandleVec::new();
    let mut sides = InputHandleVec::new();
    let mut votes = InputHandleVec::new();
    let (rows, side, voted) = worker.dataflow::<Epoch, _, _>(|scope| {
        let event_stream = scope.input_from(&mut events).container::<Vec<EventItem>>();
        let control_stream = scope.input_from(&mut control).container::<Vec<ControlItem>>();
        let rows = dataflow::views(event_stream, control_stream).inner;
        if alone {
            return (capture(rows, &probe, "Capture", row_by_epoch), Rc::default(), Rc::default());
        }
        let side_stream = scope.input_from(&mut sides).container::<Vec<(u64, X)>>();
        let vote_stream = scope.input_from(&mut votes).container::<Vec<(u64, Vote)>>();
        (
            capture(rows.exchange(move |_| sink), &probe, "Capture", row_by_epoch),
            capture(side_stream.exchange(|(to, _)| *to), &probe, "Side", by_stamp),
            capture(vote_stream.exchange(|(to, _)| *to), &probe, "Votes", by_stamp),
        )
    });
    let exchanged = (!alone).then_some(Exchanged { sides, votes });
    Built { events, control, exchanged, probe, rows, side, voted }
}

/// A sink that keeps what reaches it at this worker, each with its epoch, probed so that an
/// epoch is known to be all there once the probe passes it. `keep` tells an item's epoch from
/// the item and the timestamp it came at, and what to keep of it: a row carries its own epoch,
/// which may be later than its timestamp (see [`dataflow`]); a side payload or a vote travels
/// at its epoch.
fn capture<T: ExchangeData + Clone, U: 'static>(
    stream: StreamVec<'_, Epoch, T>,
    probe: &ProbeHandle<Epoch>,
    name: &str,
    keep: fn(T, Epoch) -> (Epoch, U),
) -> Captured<(Epoch, U)> {
    let captured: Captured<(Epoch, U)> = Rc::default();
    let sink = captured.clone();
    stream.probe_with(probe).sink(Pipeline, name, move |(input, _frontier)| {
        input.for_each(|capability, batch| {
            let stamp = *capability.stamp().expect_singleton();
            sink.borrow_mut().extend(batch.drain(..).map(|x| keep(x, stamp)));
        });
    });
    captured
}

/// A row change, by the epoch it carries.
fn row_by_epoch((row, epoch, diff): (Row, Epoch, isize), _stamp: Epoch) -> (Epoch, RowChange) {
    (epoch, (row, diff))
}

/// An item, by the epoch it travels at.
fn by_stamp<T>(item: T, stamp: Epoch) -> (Epoch, T) {
    (stamp, item)
}

/// What was captured for the epochs `first..first + epochs`, by epoch. What came for later
/// epochs stays captured: in a cluster, a worker of another process may be epochs ahead, and
/// its side payloads and votes (sent as its input is read) reach this one before it gets
/// there.
fn by_epoch<T>(captured: &Captured<(Epoch, T)>, first: Epoch, epochs: usize) -> Vec<Vec<T>> {
    let mut split: Vec<Vec<T>> = (0..epochs).map(|_| Vec::new()).collect();
    let mut captured = captured.borrow_mut();
    let mut later = Vec::new();
    for (epoch, x) in captured.drain(..) {
        let offset = epoch.checked_sub(first).and_then(|o| usize::try_from(o).ok());
        match offset.filter(|offset| *offset < epochs) {
            Some(offset) => split[offset].push(x),
            None => later.push((epoch, x)),
        }
    }
    *captured = later;
    split
}

/// Builds the dataflow on `worker` and runs its source's epochs through it. A worker of the
/// sink's process hands each closed epoch's rows and side payloads (its own, and those of the
/// workers of other processes with its local index) to `deliver`.
fn drive<X: ExchangeData + Clone>(
    worker: &mut Worker,
    local_workers: usize,
    source: &Source<X>,
    mut deliver: impl FnMut(EpochRows<X>),
) {
    let (index, peers) = (worker.index(), worker.peers());
    let sink = (index % local_workers) as u64;
    let on_sink_process = index < local_workers;
    let Built { mut events, mut control, mut exchanged, probe, rows, side, voted } =
        build::<X>(worker, sink);
    let mut source = (source)(index, peers);
    let mut agreed = Agreed { ready: false, stop: false };
    let mut next: Epoch = 0;
    let mut ended = false;
    while !ended {
        // One epoch, or several from a source that reads ahead, for one step.
        let first = next;
        let mut records = 0;
        while next == first
            || (source.reads_ahead() && takes_another((next - first) as usize, records))
        {
            let Some(epoch_input) = source.next_epoch(agreed) else {
                ended = true;
                break;
            };
            records += epoch_input.records.len();
            for (seq, record) in epoch_input.records {
                match record {
                    Compact::Event(key, input) => {
                        events.send((next, seq, key, ToEvent::Record(input)))
                    }
                    Compact::Control(key, input) => control.send((next, seq, key, input)),
                }
            }
            match exchanged.as_mut() {
                Some(Exchanged { sides, votes }) => {
                    for x in epoch_input.side {
                        sides.send((sink, x));
                    }
                    for peer in 0..peers as u64 {
                        votes.send((peer, epoch_input.vote));
                    }
                    sides.advance_to(next + 1);
                    votes.advance_to(next + 1);
                }
                None => {
                    side.borrow_mut()
                        .extend(epoch_input.side.into_iter().map(|x| (next, (sink, x))));
                    voted.borrow_mut().push((next, (0, epoch_input.vote)));
                }
            }
            next += 1;
        }
        if next == first {
            break;
        }
        // The step's epochs travel at its first timestamp, each record with its own epoch:
        // timely tracks progress once per step.
        events.advance_to(next);
        control.advance_to(next);
        worker.step_while(|| probe.less_than(&next));
        let taken = (next - first) as usize;
        // The step's epochs were computed together: they are through at the same moment.
        let finished = SystemTime::now();
        let rows = by_epoch(&rows, first, taken);
        let side = by_epoch(&side, first, taken);
        let voted = by_epoch(&voted, first, taken);
        for (offset, ((rows, side), voted)) in rows.into_iter().zip(side).zip(voted).enumerate() {
            agreed = Agreed::from_votes(voted.iter().map(|(_, vote)| vote));
            if on_sink_process {
                deliver(EpochRows {
                    epoch: first + offset as Epoch,
                    rows,
                    side: side.into_iter().map(|(_, x)| x).collect(),
                    finished,
                });
            }
            if agreed.stop {
                ended = true;
                break;
            }
        }
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
        let options =
            RunOptions { workers: 1, epochs_ahead: ahead, pipelined: true, cluster: None };
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
    fn what_came_for_later_epochs_waits_for_them() {
        let captured: Captured<(Epoch, char)> =
            Rc::new(RefCell::new(vec![(4, 'b'), (3, 'a'), (6, 'd'), (4, 'c'), (5, 'e')]));
        assert_eq!(by_epoch(&captured, 3, 2), [vec!['a'], vec!['b', 'c']]);
        assert_eq!(*captured.borrow(), [(6, 'd'), (5, 'e')]);
        assert_eq!(by_epoch(&captured, 5, 1), [vec!['e']]);
        assert_eq!(*captured.borrow(), [(6, 'd')]);
    }

    #[test]
    fn a_step_takes_epochs_that_are_all_there_up_to_a_limit_of_epochs_and_records() {
        assert!(takes_another(1, 0));
        assert!(takes_another(STEP_EPOCHS - 1, STEP_RECORDS - 1));
        assert!(!takes_another(STEP_EPOCHS, 0));
        assert!(!takes_another(1, STEP_RECORDS));
    }

    /// How many epochs the source had given when the sink saw each epoch, with the source
    /// read ahead or not.
    fn asked_when_sunk(read_ahead: bool, epochs: u64) -> Vec<u64> {
        use std::sync::atomic::{AtomicU64, Ordering};
        let asked = Arc::new(AtomicU64::new(0));
        let counted = asked.clone();
        let source: Arc<Source<()>> = Arc::new(move |_index, _peers| {
            let counted = counted.clone();
            let inputs = (0..epochs).map(move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
                EpochInput::default()
            });
            if read_ahead {
                Box::new(ReadAhead(inputs))
            } else {
                Box::new(inputs)
            }
        });
        let mut seen = Vec::new();
        run(RunOptions::sequential(), source, |rows| {
            assert_eq!(rows.epoch, seen.len() as u64, "epochs close in order");
            seen.push(asked.load(Ordering::SeqCst));
        })
        .unwrap();
        seen
    }

    #[test]
    fn a_source_that_reads_ahead_gives_many_epochs_to_one_step_which_close_one_by_one() {
        let epochs = STEP_EPOCHS as u64 + 10;
        let one_by_one = asked_when_sunk(false, epochs);
        assert_eq!(one_by_one, (1..=epochs).collect::<Vec<_>>());
        let ahead = asked_when_sunk(true, epochs);
        assert_eq!(ahead.len() as u64, epochs, "every epoch closes");
        let step = STEP_EPOCHS as u64;
        assert!(ahead[..STEP_EPOCHS].iter().all(|&asked| asked == step), "{ahead:?}");
        assert!(ahead[STEP_EPOCHS..].iter().all(|&asked| asked == epochs), "{ahead:?}");
    }

    #[test]
    fn the_dataflow_has_few_operators() {
        // A worker alone: two inputs, the two keyed operators, the probe and the sink. Each is
        // scheduled at every epoch, so their number is the fixed cost of one (15 when side
        // payloads and votes went through the dataflow there too).
        let count = operator_count();
        assert!((5..=8).contains(&count), "{count} operators");
    }
}
