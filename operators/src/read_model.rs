//! The read model: the views as of the last closed epoch, their replay versions, and the
//! notifications each epoch's changes make (SEMANTICS §6, docs/semantics-decisions.md).

use std::collections::{BTreeMap, BTreeSet};

use reeltime_schemas::record::EventStatus;
use reeltime_schemas::view::{EventView, Notification, ReplayView, SegmentView};

use crate::views::Views;

/// The views after each closed epoch, with the version of every replay.
#[derive(Debug, Default)]
pub struct ReadModel {
    views: Views,
    /// The last version given to each replay id; kept after a delete so versions never repeat.
    versions: BTreeMap<String, u64>,
}

/// What one epoch changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The notifications, in the documented order.
    pub notifications: Vec<Notification>,
    /// Events whose event view or segments changed.
    pub events: BTreeSet<String>,
    /// Replays whose view changed or that were removed.
    pub replays: BTreeSet<String>,
}

impl ReadModel {
    /// The views as of the last applied epoch.
    pub fn views(&self) -> &Views {
        &self.views
    }

    /// The current version of a live replay.
    pub fn version(&self, replay_id: &str) -> Option<u64> {
        self.views.replays.get(replay_id).and_then(|_| self.versions.get(replay_id).copied())
    }

    /// Takes the replay versions last published, keyed by replay id (Kafka mode, after the
    /// state was rebuilt from the inputs): the next change of a replay gets the version after
    /// its published one. A replay without a published version keeps its own.
    pub fn restore_versions(&mut self, published: BTreeMap<String, u64>) {
        self.versions.extend(published);
    }

    /// Applies one closed epoch's updates `(key, view, diff)`, returning what changed.
    pub fn apply(
        &mut self,
        events: Vec<(String, EventView, isize)>,
        segments: Vec<((String, u64), SegmentView, isize)>,
        replays: Vec<(String, ReplayView, isize)>,
    ) -> Changes {
        let mut changes = Changes::default();
        for (id, old, new) in apply_updates(&mut self.views.events, events) {
            changes.events.insert(id.clone());
            let was = old.map(|e| e.status);
            let is = new.map(|e| e.status);
            if was != is {
                match is {
                    Some(EventStatus::Started) => {
                        changes.notifications.push(Notification::EventStarted { event_id: id })
                    }
                    Some(EventStatus::Ended) => {
                        changes.notifications.push(Notification::EventEnded { event_id: id })
                    }
                    _ => {}
                }
            }
        }
        for ((event_id, start_ms), old, new) in apply_updates(&mut self.views.segments, segments) {
            changes.events.insert(event_id.clone());
            let Some(new) = new else { continue };
            let was_open = old.as_ref().is_some_and(|s| !s.complete);
            if !new.complete && !was_open {
                changes
                    .notifications
                    .push(Notification::SegmentStarted { event_id: event_id.clone(), start_ms });
            }
            if let (true, Some(end_ms)) = (new.complete, new.end_ms) {
                let old_end = old.as_ref().filter(|s| s.complete).and_then(|s| s.end_ms);
                if old_end != Some(end_ms) {
                    changes.notifications.push(Notification::SegmentCompleted {
                        event_id: event_id.clone(),
                        start_ms,
                        end_ms,
                    });
                }
            }
            for (track, bounds) in &new.optimizations {
                if old.as_ref().and_then(|s| s.optimizations.get(track)) != Some(bounds) {
                    changes.notifications.push(Notification::SegmentOptimized {
                        event_id: event_id.clone(),
                        start_ms,
                        track: *track,
                        bounds: *bounds,
                    });
                }
            }
        }
        for (replay_id, old, new) in apply_updates(&mut self.views.replays, replays) {
            changes.replays.insert(replay_id.clone());
            match new {
                Some(new) => {
                    let version = self.versions.entry(replay_id.clone()).or_insert(0);
                    *version += 1;
                    let old_bounds = old.map(|o| o.clip_bounds()).unwrap_or_default();
                    changes.notifications.push(Notification::ReplayUpdated {
                        replay_id,
                        event_id: new.event_id.clone(),
                        version: *version,
                        status: new.status,
                        clips_changed: old_bounds != new.clip_bounds(),
                        clip_count: new.clips.len(),
                        total_duration_ms: new.total_duration_ms,
                    });
                }
                None => {
                    let version = self.versions.get(&replay_id).copied().unwrap_or(0);
                    changes.notifications.push(Notification::ReplayDeleted { replay_id, version });
                }
            }
        }
        changes
    }
}

/// Applies `(key, value, diff)` updates to a map holding one value per key, and returns each
/// key whose value changed, with its old and new value.
fn apply_updates<K: Ord + Clone, V: Ord + Clone>(
    map: &mut BTreeMap<K, V>,
    updates: Vec<(K, V, isize)>,
) -> Vec<(K, Option<V>, Option<V>)> {
    let mut net: BTreeMap<(K, V), isize> = BTreeMap::new();
    for (key, value, diff) in updates {
        *net.entry((key, value)).or_insert(0) += diff;
    }
    let mut touched: BTreeMap<K, (Option<V>, Option<V>)> = BTreeMap::new();
    for ((key, value), diff) in net {
        match diff {
            0 => {}
            d if d < 0 => touched.entry(key).or_default().0 = Some(value),
            _ => touched.entry(key).or_default().1 = Some(value),
        }
    }
    let mut changed = Vec::new();
    for (key, (removed, inserted)) in touched {
        let old = map.get(&key).cloned();
        debug_assert!(removed.is_none() || removed == old, "a retraction matches the held value");
        match &inserted {
            Some(value) => {
                map.insert(key.clone(), value.clone());
            }
            None => {
                map.remove(&key);
            }
        }
        if old != inserted {
            changed.push((key, old, inserted));
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use reeltime_schemas::record::ReplayMode;
    use reeltime_schemas::view::{ClipView, ReplayStatus};

    fn replay(clips: &[(u64, u64)], status: ReplayStatus) -> ReplayView {
        ReplayView {
            replay_id: "r1".into(),
            event_id: "e1".into(),
            status,
            mode: ReplayMode::Duration,
            track: 1,
            catchup: true,
            total_duration_ms: clips.iter().map(|(s, e)| e - s).sum(),
            total_score: Some(0),
            clips: clips
                .iter()
                .map(|(s, e)| ClipView {
                    start_ms: *s,
                    end_ms: *e,
                    clip_start_ms: *s,
                    clip_end_ms: *e,
                    score: Some(0),
                    forced: false,
                    features: vec![],
                })
                .collect(),
            render: String::new(),
        }
    }

    fn updated(changes: &Changes) -> Vec<(u64, bool)> {
        changes
            .notifications
            .iter()
            .filter_map(|n| match n {
                Notification::ReplayUpdated { version, clips_changed, .. } => {
                    Some((*version, *clips_changed))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn versions_count_changes_and_survive_deletes() {
        let mut model = ReadModel::default();
        let v1 = replay(&[], ReplayStatus::InProgress);
        let c = model.apply(vec![], vec![], vec![("r1".into(), v1.clone(), 1)]);
        assert_eq!(updated(&c), vec![(1, false)]);

        let v2 = replay(&[(10_000, 20_000)], ReplayStatus::InProgress);
        let c =
            model.apply(vec![], vec![], vec![("r1".into(), v1, -1), ("r1".into(), v2.clone(), 1)]);
        assert_eq!(updated(&c), vec![(2, true)]);

        // Same clips, new status: a new version that needs no rendering.
        let v3 = replay(&[(10_000, 20_000)], ReplayStatus::Complete);
        let c =
            model.apply(vec![], vec![], vec![("r1".into(), v2, -1), ("r1".into(), v3.clone(), 1)]);
        assert_eq!(updated(&c), vec![(3, false)]);

        let c = model.apply(vec![], vec![], vec![("r1".into(), v3.clone(), -1)]);
        assert_eq!(
            c.notifications,
            vec![Notification::ReplayDeleted { replay_id: "r1".into(), version: 3 }]
        );
        assert_eq!(model.version("r1"), None);

        let c = model.apply(vec![], vec![], vec![("r1".into(), v3, 1)]);
        assert_eq!(updated(&c), vec![(4, true)]);
        assert_eq!(model.version("r1"), Some(4));
    }

    #[test]
    fn an_epoch_without_net_change_makes_no_version() {
        let mut model = ReadModel::default();
        let v1 = replay(&[], ReplayStatus::Queued);
        model.apply(vec![], vec![], vec![("r1".into(), v1.clone(), 1)]);
        let c =
            model.apply(vec![], vec![], vec![("r1".into(), v1.clone(), -1), ("r1".into(), v1, 1)]);
        assert!(c.notifications.is_empty());
        assert_eq!(model.version("r1"), Some(1));
    }
}
