//! The dataflow: compact records in, row changes out (SEMANTICS §3–§5).
//!
//! ```text
//! control records ──exchange by id──> Control ──profiles: a copy to every worker──────┐
//!   (profiles, replays, their deletes)        └─replays: to the worker of their event─┤
//! event records ──────────────────────────────────────────exchange by event──> Events ──> rows
//!   (events, chunks, segments, labels, optimizations, detections, feedback, event deletes)
//! ```
//!
//! Two keyed operators do all the work, and nothing else runs at each epoch but the inputs
//! and the sink that takes the rows, so the fixed cost of an epoch is small (the harness's
//! `operator_count` counts them). They hold plain state ([`Control`] and, per event,
//! [`EventState`]) and apply one closed epoch at a time: an epoch's input is held until
//! the input frontier has passed it, then applied whole, in log order, and only its net
//! changes are emitted. The state of an event lives on one worker, so the latest-wins rules,
//! the event-delete barrier, duplicates, the detection × segment range join, feature counts,
//! candidates and selections are all local updates of indexed state, not joins of
//! differential arrangements: each record is held once, compactly, and each change touches
//! only what depends on it.
//!
//! Every item carries its epoch, which may be later than the timestamp it travels at: a
//! source that reads ahead sends the many epochs of one step at the step's first timestamp,
//! so that timely tracks progress once per step instead of once per epoch. An epoch is
//! closed once the frontier has passed it, as no timestamp the inputs may still bring can
//! carry it; its rows are emitted with their epoch, at a capability no later than it.
//!
//! The output is a differential [`VecCollection`] of [`Row`]s: every change net within its
//! epoch (an event's changes come from its one worker, already consolidated), which the read
//! model applies outside the dataflow and any differential operator could consume.

use std::collections::BTreeMap;
use std::sync::Arc;

use differential_dataflow::{AsCollection, VecCollection};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use reeltime_schemas::record::{Profile, Seq};

use crate::compact::{ControlInput, EventInput, ReplayDef};
use crate::control::{Control, ReplayRoute};
use crate::event_state::{EventState, Profiles};
use crate::rows::{Row, RowChange};
use crate::symbol::Sym;

/// The timely timestamp: an ingest epoch (a batch of records), not media time.
pub type Epoch = u64;

/// What the worker of an event receives: a record about it, or the winning record of one of
/// its replays (decided by the worker of the replay's id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToEvent {
    /// A record about the event.
    Record(EventInput),
    /// A replay's winning record for this event, or `None` when it is no longer about it.
    Replay(Sym, Option<Arc<ReplayDef>>),
}

/// An event record of an epoch at its log position, keyed by its event.
pub type EventItem = (Epoch, Seq, Sym, ToEvent);

/// A control record of an epoch at its log position, keyed by its profile name or replay id.
pub type ControlItem = (Epoch, Seq, Sym, ControlInput);

/// A profile change, as every worker receives it.
type ProfileChange = (Sym, Arc<Profile>, isize);

/// What the control operator decided in an epoch, for the worker `.0` (a worker index for a
/// profile, which every worker gets; the event's hash for a replay, which goes where its
/// event's records go, since an exchange sends both to the worker their value names).
type Decided = (u64, Epoch, Decision);

/// One decision of the control operator.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Decision {
    /// A live profile came (`+1`) or went (`-1`).
    Profile(ProfileChange),
    /// A replay's winning record for its event.
    Replay(ReplayRoute),
}

/// Builds the dataflow over the streams of event and control records; returns the row
/// changes of the views.
pub fn views<'s>(
    events: StreamVec<'s, Epoch, EventItem>,
    control: StreamVec<'s, Epoch, ControlItem>,
) -> VecCollection<'s, Epoch, Row> {
    event_records(events, control_records(control)).as_collection()
}

/// One held epoch: what each input brought.
type Held<A, B> = (Vec<A>, Vec<B>);

/// Epochs of input held until the frontier passes them, and one capability, no later than
/// any of them, to emit their output at.
struct Pending<A, B> {
    epochs: BTreeMap<Epoch, Held<A, B>>,
    capability: Option<Capability<Epoch>>,
}

impl<A, B> Pending<A, B> {
    fn new() -> Self {
        Pending { epochs: BTreeMap::new(), capability: None }
    }

    /// Keeps the capability that came with input, when it is earlier than the one held
    /// (the input's epochs are no earlier than it).
    fn hold(&mut self, capability: Capability<Epoch>) {
        if self.capability.as_ref().is_none_or(|held| capability.time() < held.time()) {
            self.capability = Some(capability);
        }
    }

    fn entry(&mut self, epoch: Epoch) -> &mut Held<A, B> {
        self.epochs.entry(epoch).or_insert_with(|| (Vec::new(), Vec::new()))
    }

    /// The earliest held epoch that no input can add to any more.
    fn pop_closed(&mut self, open: impl Fn(&Epoch) -> bool) -> Option<(Epoch, Held<A, B>)> {
        let entry = self.epochs.first_entry()?;
        if open(entry.key()) {
            return None;
        }
        let epoch = *entry.key();
        Some((epoch, entry.remove()))
    }

    /// The capability to emit a held epoch's output at.
    fn capability(&self) -> &Capability<Epoch> {
        self.capability.as_ref().expect("input is held with a capability")
    }

    /// Gives up the times no held epoch needs: the capability moves on to the earliest epoch
    /// left, or goes when none is left.
    fn release(&mut self) {
        match self.epochs.keys().next() {
            Some(first) => {
                let held = self.capability.as_mut().expect("input is held with a capability");
                if held.time() < first {
                    held.downgrade(first);
                }
            }
            None => self.capability = None,
        }
    }
}

/// Latest wins per profile name and replay id ([`Control`]).
fn control_records<'s>(
    control: StreamVec<'s, Epoch, ControlItem>,
) -> StreamVec<'s, Epoch, Decided> {
    let peers = control.scope().peers() as u64;
    let by_id = Exchange::new(|(_, _, id, _): &ControlItem| id.hash64());
    control.unary_frontier::<CapacityContainerBuilder<Vec<Decided>>, _, _, _>(
        by_id,
        "Control",
        move |_capability, _info| {
            let mut pending: Pending<(Seq, Sym, ControlInput), ()> = Pending::new();
            let mut state = Control::default();
            move |(input, frontier), output| {
                input.for_each_stamp(|capability, batches| {
                    if let Some(capability) = capability.retain_least(output.output_index()) {
                        pending.hold(capability);
                        for batch in batches {
                            for (epoch, seq, id, input) in batch.drain(..) {
                                pending.entry(epoch).0.push((seq, id, input));
                            }
                        }
                    }
                });
                while let Some((epoch, (mut items, _))) =
                    pending.pop_closed(|t| frontier.less_equal(t))
                {
                    items.sort_by_key(|(seq, _, _)| *seq);
                    for (seq, id, input) in items {
                        state.apply(seq, id, input);
                    }
                    let changes = state.take_changes();
                    let mut session = output.session(pending.capability());
                    for change in changes.profiles {
                        for worker in 0..peers {
                            session.give((worker, epoch, Decision::Profile(change.clone())));
                        }
                    }
                    for route in changes.replays {
                        session.give((route.event.hash64(), epoch, Decision::Replay(route)));
                    }
                }
                pending.release();
            }
        },
    )
}

/// The events a worker owns, and the live profiles (every worker knows them all).
#[derive(Default)]
struct Events {
    states: FxHashMap<Sym, EventState>,
    profiles: Profiles,
    /// The events an epoch touched (kept to reuse its allocation: most epochs touch one).
    touched: Vec<Sym>,
}

impl Events {
    /// Applies one closed epoch and emits its changes; `first` is whether this is the first
    /// worker, which emits the profile rows (every worker learns every profile).
    fn epoch(
        &mut self,
        mut items: Vec<(Seq, Sym, ToEvent)>,
        decided: Vec<Decision>,
        first: bool,
        rows: &mut Vec<RowChange>,
    ) {
        let mut profiles = Vec::new();
        for decision in decided {
            match decision {
                Decision::Profile(change) => profiles.push(change),
                Decision::Replay(route) => {
                    items.push((route.seq, route.event, ToEvent::Replay(route.id, route.def)))
                }
            }
        }
        if first {
            rows.extend(
                profiles
                    .iter()
                    .map(|(name, profile, diff)| (Row::Profile(*name, profile.clone()), *diff)),
            );
        }
        // Retractions first, so that a profile replaced within the epoch is left replaced.
        profiles.sort_by_key(|(_, _, diff)| *diff);
        let mut changed_profiles = FxHashSet::default();
        for (name, profile, diff) in profiles {
            if diff > 0 {
                self.profiles.insert(name, profile);
            } else if self.profiles.get(&name) == Some(&profile) {
                self.profiles.remove(&name);
            }
            changed_profiles.insert(name);
        }
        items.sort_by_key(|(seq, _, _)| *seq);
        let mut touched = std::mem::take(&mut self.touched);
        for (seq, event, item) in items {
            let state = self.states.entry(event).or_insert_with(|| EventState::new(event));
            match item {
                ToEvent::Record(input) => state.apply(seq, input),
                ToEvent::Replay(id, def) => state.apply_replay(seq, id, def),
            }
            touched.push(event);
        }
        if !changed_profiles.is_empty() {
            touched.extend(
                self.states
                    .iter()
                    .filter(|(_, state)| {
                        state.profile().is_some_and(|p| changed_profiles.contains(&p))
                    })
                    .map(|(id, _)| *id),
            );
        }
        touched.sort_unstable();
        touched.dedup();
        for &id in &touched {
            let state = self.states.get_mut(&id).expect("a touched event has a state");
            state.finish(&self.profiles, rows);
        }
        touched.clear();
        self.touched = touched;
    }
}

/// Everything about each event ([`EventState`]), on the worker that owns it; emits the row
/// changes, each with its epoch.
fn event_records<'s>(
    events: StreamVec<'s, Epoch, EventItem>,
    decided: StreamVec<'s, Epoch, Decided>,
) -> StreamVec<'s, Epoch, (Row, Epoch, isize)> {
    let first = events.scope().index() == 0;
    let by_event = Exchange::new(|(_, _, event, _): &EventItem| event.hash64());
    let by_target = Exchange::new(|(target, _, _): &Decided| *target);
    events.binary_frontier::<_, CapacityContainerBuilder<Vec<(Row, Epoch, isize)>>, _, _, _, _>(
        decided,
        by_event,
        by_target,
        "Events",
        move |_capability, _info| {
            let mut pending: Pending<(Seq, Sym, ToEvent), Decision> = Pending::new();
            let mut state = Events::default();
            let mut rows = Vec::new();
            move |(events, events_frontier), (decided, decided_frontier), output| {
                events.for_each_stamp(|capability, batches| {
                    if let Some(capability) = capability.retain_least(output.output_index()) {
                        pending.hold(capability);
                        for batch in batches {
                            for (epoch, seq, event, item) in batch.drain(..) {
                                pending.entry(epoch).0.push((seq, event, item));
                            }
                        }
                    }
                });
                decided.for_each_stamp(|capability, batches| {
                    if let Some(capability) = capability.retain_least(output.output_index()) {
                        pending.hold(capability);
                        for batch in batches {
                            for (_, epoch, decision) in batch.drain(..) {
                                pending.entry(epoch).1.push(decision);
                            }
                        }
                    }
                });
                let open =
                    |t: &Epoch| events_frontier.less_equal(t) || decided_frontier.less_equal(t);
                while let Some((epoch, (items, decided))) = pending.pop_closed(open) {
                    state.epoch(items, decided, first, &mut rows);
                    output
                        .session(pending.capability())
                        .give_iterator(rows.drain(..).map(|(row, diff)| (row, epoch, diff)));
                }
                pending.release();
            }
        },
    )
}
