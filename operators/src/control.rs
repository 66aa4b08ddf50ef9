//! Profiles and replays: latest wins per profile name and per replay id (SEMANTICS §8.4).
//!
//! These records are keyed by their own id on `reeltime.control`, not by event, so they are
//! decided on the worker that owns the id. What wins is then sent where it is needed: every
//! worker gets every live profile (events name their profile, and profiles are few), and each
//! replay's winning record goes to the worker of its event as a [`ReplayRoute`], together with
//! a withdrawal for the event it was about before when it moved or was deleted. The event's
//! worker applies the event-delete barrier to it (SEMANTICS §8.12), as to its own records.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use reeltime_schemas::record::{Profile, Seq};

use crate::compact::{ControlInput, ReplayDef};
use crate::latest::Latest;
use crate::symbol::Sym;

/// A replay's winning record for one event: its definition, or `None` when the replay is no
/// longer about that event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayRoute {
    /// The position of the winning record.
    pub seq: Seq,
    /// The event it is sent to.
    pub event: Sym,
    /// The replay.
    pub id: Sym,
    /// Its definition, or `None`.
    pub def: Option<Arc<ReplayDef>>,
}

/// What an epoch changed: live profiles `(name, profile, +1 | -1)` and replay routes.
#[derive(Debug, Default)]
pub struct ControlChanges {
    /// Profile changes.
    pub profiles: Vec<(Sym, Arc<Profile>, isize)>,
    /// Replay routes.
    pub replays: Vec<ReplayRoute>,
}

/// The winning profile and replay records of the ids a worker owns.
#[derive(Debug, Default)]
pub struct Control {
    profiles: Latest<Sym, Arc<Profile>>,
    replays: Latest<Sym, Arc<ReplayDef>>,
}

impl Control {
    /// Takes in a record about `id` at position `seq`.
    pub fn apply(&mut self, seq: Seq, id: Sym, input: ControlInput) {
        match input {
            ControlInput::Profile(profile) => {
                self.profiles.apply(id, seq, Some(profile), 0);
            }
            ControlInput::DeleteProfile => {
                self.profiles.apply(id, seq, None, 0);
            }
            ControlInput::Replay(def) => {
                self.replays.apply(id, seq, Some(def), 0);
            }
            ControlInput::DeleteReplay => {
                self.replays.apply(id, seq, None, 0);
            }
        }
    }

    /// The changes of the records taken in since the last call.
    pub fn take_changes(&mut self) -> ControlChanges {
        let mut changes = ControlChanges::default();
        for (name, old, new) in self.profiles.take_changes() {
            changes.profiles.extend(old.map(|old| (name, old, -1)));
            changes.profiles.extend(new.map(|new| (name, new, 1)));
        }
        // A replay record that repeats the winner still matters: it may come after a delete
        // of its event, which removed the earlier one.
        for (id, old, new) in self.replays.take_replaced() {
            let seq = self.replays.seq(&id).expect("a changed replay holds a record");
            let moved = match (&old, &new) {
                (Some(old), Some(new)) => old.event != new.event,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if let Some(old) = old.filter(|_| moved) {
                changes.replays.push(ReplayRoute { seq, event: old.event, id, def: None });
            }
            if let Some(new) = new {
                changes.replays.push(ReplayRoute { seq, event: new.event, id, def: Some(new) });
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use reeltime_schemas::record::{Extra, Record, Replay, ReplayMode};

    use super::*;
    use crate::compact::Compact;

    fn replay(event: &str) -> (Sym, ControlInput) {
        let record = Record::Replay(Replay {
            replay_id: "r1".into(),
            event_id: event.into(),
            mode: ReplayMode::Features,
            catchup: true,
            duration_ms: None,
            tolerance_ms: 30_000,
            equal_distribution: false,
            track: 1,
            priorities: vec![],
            include_liked: false,
            ignore_disliked: false,
            timestamps: vec![],
            render: String::new(),
            extra: Extra::default(),
        });
        match Compact::from_record(record).unwrap() {
            Compact::Control(id, input) => (id, input),
            Compact::Event(..) => unreachable!("a replay is a control record"),
        }
    }

    fn routes(changes: &ControlChanges) -> Vec<(Seq, &str, bool)> {
        changes.replays.iter().map(|r| (r.seq, r.event.text(), r.def.is_some())).collect()
    }

    #[test]
    fn a_replay_that_moves_is_withdrawn_from_its_old_event() {
        let mut control = Control::default();
        let (id, on_e1) = replay("e1");
        control.apply(1, id, on_e1.clone());
        assert_eq!(routes(&control.take_changes()), vec![(1, "e1", true)]);
        let (_, on_e2) = replay("e2");
        control.apply(2, id, on_e2);
        assert_eq!(routes(&control.take_changes()), vec![(2, "e1", false), (2, "e2", true)]);
        control.apply(3, id, ControlInput::DeleteReplay);
        assert_eq!(routes(&control.take_changes()), vec![(3, "e2", false)]);
        control.apply(4, id, ControlInput::DeleteReplay);
        assert_eq!(routes(&control.take_changes()), vec![], "deleting it again changes nothing");
        control.apply(5, id, on_e1.clone());
        assert_eq!(routes(&control.take_changes()), vec![(5, "e1", true)]);
        control.apply(6, id, on_e1);
        assert_eq!(
            routes(&control.take_changes()),
            vec![(6, "e1", true)],
            "the same replay again: its event may have been deleted in between"
        );
    }
}
