//! Runs the dataflow over epochs of records on a pool of worker threads and hands each closed
//! epoch's view updates, in epoch order, to the caller's thread.
//!
//! Every worker reads its own share of the input (so parsing runs in parallel) and must yield
//! the same number of epochs as the others: epoch boundaries come from the input (e.g. every N
//! log lines), not from a worker. A side payload (e.g. the records a worker rejected) travels
//! with each epoch's updates.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use differential_dataflow::input::Input;
use timely::dataflow::operators::probe::Handle as ProbeHandle;

use reeltime_schemas::record::{Record, Seq};
use reeltime_schemas::view::{EventView, ReplayView, SegmentView};

use crate::dataflow::{self, Epoch};

/// Updates of a view: `(key, view, diff)`.
pub type Updates<K, V> = Vec<(K, V, isize)>;

/// One epoch's input at one worker.
pub struct EpochInput<X> {
    /// The records of the epoch this worker reads.
    pub records: Vec<(Seq, Record)>,
    /// Anything else the caller wants back with this epoch's updates.
    pub side: Vec<X>,
}

/// The changes of one closed epoch, from all workers.
#[derive(Debug)]
pub struct EpochUpdates<X> {
    /// The epoch.
    pub epoch: Epoch,
    /// Event view updates `(key, view, diff)`.
    pub events: Updates<String, EventView>,
    /// Segment view updates.
    pub segments: Updates<(String, u64), SegmentView>,
    /// Replay view updates.
    pub replays: Updates<String, ReplayView>,
    /// The side payloads of every worker for this epoch.
    pub side: Vec<X>,
}

impl<X> EpochUpdates<X> {
    fn new(epoch: Epoch) -> Self {
        EpochUpdates { epoch, events: vec![], segments: vec![], replays: vec![], side: vec![] }
    }

    fn merge(&mut self, other: EpochUpdates<X>) {
        self.events.extend(other.events);
        self.segments.extend(other.segments);
        self.replays.extend(other.replays);
        self.side.extend(other.side);
    }
}

/// A worker's source: given `(index, peers)`, its epochs in order.
pub type Source<X> = dyn Fn(usize, usize) -> Box<dyn Iterator<Item = EpochInput<X>>> + Send + Sync;

/// Runs the dataflow on `workers` threads; calls `on_epoch` for each closed epoch in order.
///
/// Returns an error when a worker fails (timely stops them all); `on_epoch` has then seen
/// every epoch that closed before.
pub fn run<X, F>(workers: usize, source: Arc<Source<X>>, mut on_epoch: F) -> Result<(), String>
where
    X: Send + 'static,
    F: FnMut(EpochUpdates<X>),
{
    let workers = workers.max(1);
    let (sender, receiver) = mpsc::channel::<EpochUpdates<X>>();
    let sender = Mutex::new(sender);
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let sender = sender.lock().expect("no worker panics while holding the sender").clone();
        let (index, peers) = (worker.index(), worker.peers());
        let probe = ProbeHandle::new();
        let outputs = Outputs::default();
        let mut input = worker.dataflow::<Epoch, _, _>(|scope| {
            let (input, records) = scope.new_collection();
            let views = dataflow::views(records);
            let sink = outputs.clone();
            views.events.probe_with(&probe).inspect(move |((id, view), _time, diff)| {
                sink.events.borrow_mut().push((id.clone(), view.clone(), *diff));
            });
            let sink = outputs.clone();
            views.segments.probe_with(&probe).inspect(move |((key, view), _time, diff)| {
                sink.segments.borrow_mut().push((key.clone(), view.clone(), *diff));
            });
            let sink = outputs.clone();
            views.replays.probe_with(&probe).inspect(move |((id, view), _time, diff)| {
                sink.replays.borrow_mut().push((id.clone(), view.clone(), *diff));
            });
            input
        });
        for (epoch, epoch_input) in (source)(index, peers).enumerate() {
            let epoch = epoch as Epoch;
            for record in epoch_input.records {
                input.insert(record);
            }
            input.advance_to(epoch + 1);
            input.flush();
            worker.step_while(|| probe.less_than(&(epoch + 1)));
            let mut updates = outputs.drain(epoch);
            updates.side = epoch_input.side;
            // The caller hanging up only means nobody is listening any more.
            let _ = sender.send(updates);
        }
    })?;

    let mut pending: BTreeMap<Epoch, (usize, EpochUpdates<X>)> = BTreeMap::new();
    let mut next = 0;
    for updates in receiver {
        let epoch = updates.epoch;
        let entry = pending.entry(epoch).or_insert_with(|| (0, EpochUpdates::new(epoch)));
        entry.0 += 1;
        entry.1.merge(updates);
        while pending.get(&next).is_some_and(|(count, _)| *count == workers) {
            let (_, updates) = pending.remove(&next).expect("checked above");
            on_epoch(updates);
            next += 1;
        }
    }
    let failures: Vec<String> = guards.join().into_iter().filter_map(Result::err).collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// The updates a worker's output operators have seen and not yet handed on.
#[derive(Clone, Default)]
struct Outputs {
    events: Rc<RefCell<Updates<String, EventView>>>,
    segments: Rc<RefCell<Updates<(String, u64), SegmentView>>>,
    replays: Rc<RefCell<Updates<String, ReplayView>>>,
}

impl Outputs {
    fn drain<X>(&self, epoch: Epoch) -> EpochUpdates<X> {
        EpochUpdates {
            epoch,
            events: std::mem::take(&mut *self.events.borrow_mut()),
            segments: std::mem::take(&mut *self.segments.borrow_mut()),
            replays: std::mem::take(&mut *self.replays.borrow_mut()),
            side: vec![],
        }
    }
}
