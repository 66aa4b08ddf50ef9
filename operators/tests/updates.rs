//! The dataflow's exact output updates, retractions included, for small literal inputs: what a
//! downstream sink (Kafka upserts, files) receives epoch by epoch.

use std::sync::Arc;

use reeltime_operators::compact::Compact;
use reeltime_operators::harness::{self, EpochInput, RunOptions};
use reeltime_operators::read_model::ReadModel;
use reeltime_operators::reference;
use reeltime_operators::views::Views;
use reeltime_schemas::record::*;
use reeltime_schemas::value::AttrValue;
use reeltime_schemas::view::{ReplayView, SegmentView};

/// What a sink receives after one epoch: each changed view's old version retracted and its new
/// one asserted.
struct EpochUpdates {
    /// How many row changes the dataflow emitted.
    rows: usize,
    segments: Vec<((String, u64), SegmentView, isize)>,
    replays: Vec<(String, ReplayView, isize)>,
    /// The views after the epoch.
    views: Views,
}

/// Runs `epochs` (records numbered in order) on one worker; returns every epoch's updates.
fn run(epochs: Vec<Vec<Record>>) -> Vec<EpochUpdates> {
    run_on(1, epochs)
}

/// Runs `epochs` on `workers` workers, each reading the records whose number modulo the
/// workers is its index.
fn run_on(workers: usize, epochs: Vec<Vec<Record>>) -> Vec<EpochUpdates> {
    let mut positioned = Vec::new();
    let mut seq = 0;
    for epoch in epochs {
        positioned.push(
            epoch
                .into_iter()
                .map(|record| {
                    seq += 1;
                    (seq, Compact::from_record(record).expect("a compact record"))
                })
                .collect::<Vec<_>>(),
        );
    }
    let positioned = Arc::new(positioned);
    let source: Arc<harness::Source<()>> = Arc::new(move |index, peers| {
        let epochs = positioned.clone();
        Box::new((0..epochs.len()).map(move |e| {
            EpochInput {
                records: epochs[e]
                    .iter()
                    .filter(|(seq, _)| *seq as usize % peers == index)
                    .cloned()
                    .collect(),
                ..EpochInput::default()
            }
        }))
    });
    let mut model = ReadModel::default();
    let mut all = Vec::new();
    harness::run(RunOptions::workers(workers), source, |rows| {
        let before = model.views();
        let row_count = rows.rows.len();
        let changes = model.apply(rows.rows);
        let after = model.views();
        let mut updates = EpochUpdates {
            rows: row_count,
            segments: Vec::new(),
            replays: Vec::new(),
            views: after.clone(),
        };
        for key in changes.segments {
            let (old, new) = (before.segments.get(&key), after.segments.get(&key));
            if old != new {
                updates.segments.extend(old.map(|view| (key.clone(), view.clone(), -1)));
                updates.segments.extend(new.map(|view| (key.clone(), view.clone(), 1)));
            }
        }
        for id in changes.replays {
            let (old, new) = (before.replays.get(&id), after.replays.get(&id));
            updates.replays.extend(old.map(|view| (id.clone(), view.clone(), -1)));
            updates.replays.extend(new.map(|view| (id.clone(), view.clone(), 1)));
        }
        all.push(updates);
    })
    .unwrap();
    all
}

fn segment(start_ms: u64, end_ms: Option<u64>, deleted: bool) -> Record {
    Record::Segment(Segment {
        event_id: "e1".into(),
        plugin: "seg".into(),
        start_ms,
        end_ms,
        attributes: Default::default(),
        deleted,
        extra: Extra::default(),
    })
}

fn detection(start_ms: u64, deleted: bool) -> Record {
    Record::Detection(Detection {
        event_id: "e1".into(),
        plugin: "p".into(),
        start_ms,
        end_ms: start_ms,
        track: None,
        label: None,
        attributes: [("Ace".to_owned(), AttrValue::Bool(true))].into(),
        deleted,
    })
}

/// `(start_ms, end_ms, complete, number of features on track 1, diff)` of segment updates.
fn segment_updates(updates: &EpochUpdates) -> Vec<(u64, Option<u64>, bool, usize, isize)> {
    let mut rows: Vec<_> = updates
        .segments
        .iter()
        .map(|(_, view, diff)| {
            (view.start_ms, view.end_ms, view.complete, view.features[&1].len(), *diff)
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn a_segment_is_inserted_replaced_and_retracted() {
    let epochs = run(vec![
        vec![segment(10_000, None, false)],
        vec![segment(10_000, Some(30_000), false)],
        vec![detection(20_000, false)],
        vec![detection(20_000, false)],
        vec![segment(10_000, None, true)],
    ]);
    assert_eq!(segment_updates(&epochs[0]), vec![(10_000, None, false, 0, 1)]);
    assert_eq!(
        segment_updates(&epochs[1]),
        vec![(10_000, None, false, 0, -1), (10_000, Some(30_000), true, 0, 1)]
    );
    assert_eq!(
        segment_updates(&epochs[2]),
        vec![(10_000, Some(30_000), true, 0, -1), (10_000, Some(30_000), true, 1, 1)]
    );
    assert_eq!(segment_updates(&epochs[3]), vec![], "a duplicate detection changes nothing");
    assert_eq!(segment_updates(&epochs[4]), vec![(10_000, Some(30_000), true, 1, -1)]);
}

#[test]
fn a_replay_view_is_replaced_when_a_late_detection_arrives_and_retracted_on_delete() {
    let profile = Record::Profile(Profile {
        name: "p".into(),
        chunk_size_ms: 10_000,
        processing_fps_milli: 5_000,
        max_segment_length_ms: 120_000,
        classifier: PluginSlot { plugin: "seg".into(), config: String::new() },
        optimizer: None,
        labeler: None,
        featurers: vec![],
        extra: Extra::default(),
    });
    let event = Record::Event(Event {
        event_id: "e1".into(),
        program: None,
        profile: "p".into(),
        status: EventStatus::Started,
        frame_rate_milli: None,
        audio_tracks: vec![1],
        title: None,
        extra: Extra::default(),
    });
    let replay = Record::Replay(Replay {
        replay_id: "r1".into(),
        event_id: "e1".into(),
        mode: ReplayMode::Duration,
        catchup: true,
        duration_ms: Some(60_000),
        tolerance_ms: 30_000,
        equal_distribution: false,
        track: 1,
        priorities: vec![Priority {
            plugin: None,
            attribute: "Ace".into(),
            value: AttrValue::Bool(true),
            weight: Some(50),
            include: true,
        }],
        include_liked: false,
        ignore_disliked: false,
        timestamps: vec![],
        render: String::new(),
        extra: Extra::default(),
    });
    let delete = Record::Delete(Delete { kind: DeleteKind::Replay, id: "r1".into() });
    let epochs = run(vec![
        vec![profile, event, replay, segment(10_000, Some(30_000), false)],
        vec![detection(12_000, false)],
        vec![delete],
    ]);
    let clips = |updates: &EpochUpdates| -> Vec<(Vec<(u64, u64)>, isize)> {
        let mut rows: Vec<_> =
            updates.replays.iter().map(|(_, view, diff)| (view.clip_bounds(), *diff)).collect();
        rows.sort();
        rows
    };
    assert_eq!(clips(&epochs[0]), vec![(vec![], 1)]);
    assert_eq!(clips(&epochs[1]), vec![(vec![], -1), (vec![(10_000, 30_000)], 1)]);
    assert_eq!(clips(&epochs[2]), vec![(vec![(10_000, 30_000)], -1)]);
}

#[test]
fn a_duplicate_or_a_delete_of_nothing_emits_no_row() {
    let epochs = run(vec![
        vec![segment(10_000, Some(30_000), false), detection(20_000, false)],
        vec![detection(20_000, false)],
        vec![detection(25_000, true)],
        vec![segment(10_000, Some(30_000), false)],
        vec![detection(20_000, true), detection(20_000, false)],
    ]);
    assert!(epochs[0].rows > 0);
    assert_eq!(epochs[1].rows, 0, "a duplicate detection is the same fact");
    assert_eq!(epochs[2].rows, 0, "deleting a detection that is not there does nothing");
    assert_eq!(epochs[3].rows, 0, "the same segment record again");
    assert_eq!(epochs[4].rows, 0, "deleted and sent again within one epoch");
}

#[test]
fn records_of_one_event_read_by_two_workers_meet_at_its_worker() {
    // Every other record is read (and its strings interned) by the other worker; the event's
    // worker sees them all, as symbols both workers agree on.
    let records = vec![
        segment(10_000, None, false),
        detection(12_000, false),
        segment(10_000, Some(30_000), false),
        detection(20_000, false),
        detection(31_000, false),
        detection(12_000, true),
    ];
    let mut log = Vec::new();
    let mut epochs = Vec::new();
    for (seq, record) in records.into_iter().enumerate() {
        log.push((seq as u64 + 1, record.clone()));
        epochs.push(vec![record]);
    }
    let updates = run_on(2, epochs);
    for (epoch, updates) in updates.iter().enumerate() {
        assert_eq!(updates.views, reference::compute(&log[..=epoch]), "epoch {epoch}");
    }
    let last = &updates.last().unwrap().views;
    assert_eq!(last.segments[&("e1".to_owned(), 10_000)].features[&1].len(), 1);
}
