//! Incremental equals from scratch: random event logs run through the dataflow one epoch at a
//! time, and after every epoch the views equal the reference computed over the log so far.
//!
//! The logs mix everything that makes incremental maintenance hard: corrections and reopened
//! segments, duplicate and deleted detections, late detections, interleaved events, feedback,
//! optimizer gating, profile/replay/event deletes and re-creations, and every replay mode.
//! They run on one worker, on two, and on a cluster of two processes over loopback TCP (two
//! timely instances in this test, each with its own threads and connections).

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use reeltime_operators::compact::Compact;
use reeltime_operators::harness::{self, Cluster, EpochInput, RunOptions};
use reeltime_operators::read_model::ReadModel;
use reeltime_operators::reference;
use reeltime_schemas::record::*;
use reeltime_schemas::value::AttrValue;

const EVENTS: [&str; 2] = ["e1", "e2"];
const PROFILES: [&str; 2] = ["p1", "p2"];
const REPLAYS: [&str; 3] = ["r1", "r2", "r3"];
const STARTS_MS: [u64; 6] = [0, 10_000, 20_000, 30_500, 40_000, 3_700_000];
const STATUSES: [EventStatus; 3] =
    [EventStatus::Scheduled, EventStatus::Started, EventStatus::Ended];
const MODES: [ReplayMode; 3] = [ReplayMode::Duration, ReplayMode::Features, ReplayMode::Timestamps];
const VERDICTS: [Verdict; 3] = [Verdict::Like, Verdict::Dislike, Verdict::Reset];

fn event_id() -> impl Strategy<Value = String> {
    prop::sample::select(&EVENTS[..]).prop_map(str::to_owned)
}

fn segment_start() -> impl Strategy<Value = u64> {
    prop::sample::select(&STARTS_MS[..])
}

fn track() -> impl Strategy<Value = u32> {
    1u32..=2
}

fn value() -> impl Strategy<Value = AttrValue> {
    prop_oneof![
        Just(AttrValue::Bool(true)),
        Just(AttrValue::Bool(false)),
        Just(AttrValue::Int(1)),
        Just(AttrValue::String("x".into())),
    ]
}

fn attributes() -> impl Strategy<Value = reeltime_schemas::value::Attributes> {
    prop::collection::btree_map(
        prop::sample::select(&["Ace", "Loud", "BreakPoint"][..]).prop_map(str::to_owned),
        value(),
        0..3,
    )
}

fn profile() -> impl Strategy<Value = Record> {
    (prop::sample::select(&PROFILES[..]), any::<bool>()).prop_map(|(name, optimizer)| {
        Record::Profile(Profile {
            name: name.to_owned(),
            chunk_size_ms: 10_000,
            processing_fps_milli: 5_000,
            max_segment_length_ms: 120_000,
            classifier: PluginSlot { plugin: "seg".into(), config: String::new() },
            optimizer: optimizer.then(|| OptimizerSlot {
                slot: PluginSlot { plugin: "opt".into(), config: String::new() },
                search_window_ms: None,
            }),
            labeler: None,
            featurers: vec![],
            extra: Extra::default(),
        })
    })
}

fn event() -> impl Strategy<Value = Record> {
    (
        event_id(),
        prop::sample::select(&PROFILES[..]),
        prop::sample::select(&STATUSES[..]),
        prop::sample::select(vec![vec![1], vec![1, 2], vec![]]),
    )
        .prop_map(|(event_id, profile, status, audio_tracks)| {
            Record::Event(Event {
                event_id,
                program: None,
                profile: profile.to_owned(),
                status,
                frame_rate_milli: Some(25_000),
                audio_tracks,
                title: None,
                extra: Extra::default(),
            })
        })
}

fn segment() -> impl Strategy<Value = Record> {
    (
        event_id(),
        segment_start(),
        prop::option::of(prop::sample::select(&[0u64, 5_000, 15_000, 30_000][..])),
        attributes(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(event_id, start_ms, length, attributes, deleted)| {
            Record::Segment(Segment {
                event_id,
                plugin: "seg".into(),
                start_ms,
                end_ms: length.map(|l| start_ms + l),
                attributes,
                deleted,
                extra: Extra::default(),
            })
        })
}

fn optimization() -> impl Strategy<Value = Record> {
    (event_id(), segment_start(), track(), 0u64..3_000, 1u64..40_000).prop_map(
        |(event_id, start_ms, track, before, length)| {
            let opto_start_ms = start_ms.saturating_sub(before);
            Record::Optimization(Optimization {
                event_id,
                plugin: "opt".into(),
                start_ms,
                track,
                opto_start_ms,
                opto_end_ms: opto_start_ms + length,
                extra: Extra::default(),
            })
        },
    )
}

fn label() -> impl Strategy<Value = Record> {
    (event_id(), segment_start(), attributes()).prop_map(|(event_id, start_ms, attributes)| {
        Record::Label(Label {
            event_id,
            plugin: "lab".into(),
            start_ms,
            label: "15-0".into(),
            attributes,
            extra: Extra::default(),
        })
    })
}

fn detection() -> impl Strategy<Value = Record> {
    (
        event_id(),
        prop::sample::select(&["a", "b"][..]),
        prop_oneof![0u64..50_000, 3_690_000u64..3_720_000],
        prop::option::of(track()),
        attributes(),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(event_id, plugin, start, track, attributes, deleted)| {
            // Round to half seconds so that separate draws collide (duplicates, deletes).
            let start_ms = start / 500 * 500;
            Record::Detection(Detection {
                event_id,
                plugin: plugin.to_owned(),
                start_ms,
                end_ms: start_ms,
                track,
                label: None,
                attributes,
                deleted,
            })
        })
}

fn priority() -> impl Strategy<Value = Priority> {
    (
        prop::option::of(prop::sample::select(&["a", "b", "seg", "lab"][..])),
        prop::sample::select(&["Ace", "Loud", "BreakPoint"][..]),
        value(),
        1u32..=100,
        any::<bool>(),
    )
        .prop_map(|(plugin, attribute, value, weight, include)| Priority {
            plugin: plugin.map(str::to_owned),
            attribute: attribute.to_owned(),
            value,
            weight: Some(weight),
            include,
        })
}

fn replay() -> impl Strategy<Value = Record> {
    (
        prop::sample::select(&REPLAYS[..]),
        event_id(),
        prop::sample::select(&MODES[..]),
        any::<bool>(),
        (1_000u64..60_000, 0u64..20_000, any::<bool>()),
        track(),
        prop::collection::vec(priority(), 0..4),
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                replay_id,
                event_id,
                mode,
                catchup,
                (duration, tolerance, equal),
                track,
                priorities,
                (liked, disliked),
            )| {
                Record::Replay(Replay {
                    replay_id: replay_id.to_owned(),
                    event_id,
                    mode,
                    catchup,
                    duration_ms: Some(duration),
                    tolerance_ms: tolerance,
                    equal_distribution: equal,
                    track,
                    priorities,
                    include_liked: liked,
                    ignore_disliked: disliked,
                    timestamps: vec![
                        TimeRange { start_ms: 5_000, end_ms: 9_000 },
                        TimeRange { start_ms: 1_000, end_ms: 2_500 },
                    ],
                    render: String::new(),
                    extra: Extra::default(),
                })
            },
        )
}

fn feedback() -> impl Strategy<Value = Record> {
    (event_id(), segment_start(), track(), prop::sample::select(&VERDICTS[..])).prop_map(
        |(event_id, start_ms, track, verdict)| {
            Record::Feedback(Feedback { event_id, start_ms, track, verdict })
        },
    )
}

fn delete() -> impl Strategy<Value = Record> {
    prop_oneof![
        event_id().prop_map(|id| Record::Delete(Delete { kind: DeleteKind::Event, id })),
        prop::sample::select(&REPLAYS[..])
            .prop_map(|id| Record::Delete(Delete { kind: DeleteKind::Replay, id: id.to_owned() })),
        prop::sample::select(&PROFILES[..])
            .prop_map(|id| Record::Delete(Delete { kind: DeleteKind::Profile, id: id.to_owned() })),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        2 => profile(),
        3 => event(),
        8 => segment(),
        3 => optimization(),
        2 => label(),
        10 => detection(),
        3 => replay(),
        3 => feedback(),
        1 => delete(),
    ]
}

/// A log (with some records repeated later, as at-least-once delivery does) cut into epochs.
fn epochs() -> impl Strategy<Value = Vec<Vec<Record>>> {
    (
        prop::collection::vec(record(), 1..60),
        prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..6),
        prop::collection::vec(1usize..6, 1..60),
    )
        .prop_map(|(mut records, duplicates, sizes)| {
            for (from, to) in duplicates {
                let copy = records[from.index(records.len())].clone();
                let at = to.index(records.len() + 1);
                records.insert(at, copy);
            }
            let mut epochs = Vec::new();
            let mut rest = records.as_slice();
            for size in sizes.into_iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (head, tail) = rest.split_at(size.min(rest.len()));
                epochs.push(head.to_vec());
                rest = tail;
            }
            epochs
        })
}

/// `count` loopback addresses that were free a moment ago.
fn free_addresses(count: usize) -> Vec<String> {
    let listeners: Vec<std::net::TcpListener> =
        (0..count).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    listeners.iter().map(|l| l.local_addr().unwrap().to_string()).collect()
}

/// How the dataflow runs in a check.
#[derive(Clone, Copy)]
struct Setup {
    /// Worker threads in each process.
    workers: usize,
    /// Processes of one cluster.
    processes: usize,
    /// Whether the workers take several epochs for one step ([`harness::ReadAhead`]).
    read_ahead: bool,
    /// Whether a single worker runs on the sink's thread ([`RunOptions::sequential`]).
    sequential: bool,
}

impl Setup {
    /// `workers` threads in each of `processes` processes, one epoch at a time.
    fn new(workers: usize, processes: usize) -> Setup {
        Setup { workers, processes, read_ahead: false, sequential: false }
    }

    fn reading_ahead(self) -> Setup {
        Setup { read_ahead: true, ..self }
    }
}

/// Runs the dataflow over `epochs` as `setup` says and checks every epoch's views.
fn check(setup: Setup, epochs: Vec<Vec<Record>>) -> Result<(), TestCaseError> {
    let Setup { workers, processes, read_ahead, sequential } = setup;
    let mut positioned = Vec::new();
    let mut seq = 0;
    for epoch in &epochs {
        let mut batch = Vec::new();
        for record in epoch {
            seq += 1;
            batch.push((seq, record.clone()));
        }
        positioned.push(batch);
    }
    let shared = Arc::new(positioned.clone());
    let source: Arc<harness::Source<()>> = Arc::new(move |index, peers| {
        let epochs = shared.clone();
        let inputs = (0..epochs.len()).map(move |e| EpochInput {
            records: epochs[e]
                .iter()
                .filter(|(seq, _)| (*seq as usize) % peers == index)
                .map(|(seq, record)| {
                    (*seq, Compact::from_record(record.clone()).expect("a compact record"))
                })
                .collect(),
            ..EpochInput::default()
        });
        if read_ahead {
            Box::new(harness::ReadAhead(inputs))
        } else {
            Box::new(inputs)
        }
    });
    let mut model = ReadModel::default();
    let mut log = Vec::new();
    let mut failure = None;
    let mut previous = reference::compute(&[]);
    // The last version of each replay id, kept across deletes as versions never repeat.
    let mut versions: BTreeMap<String, u64> = BTreeMap::new();
    let addresses = free_addresses(processes);
    let cluster =
        |process| (processes > 1).then(|| Cluster { process, addresses: addresses.clone() });
    // The other processes only compute: every epoch's rows reach this one.
    let others: Vec<_> = (1..processes)
        .map(|process| {
            let options = RunOptions { cluster: cluster(process), ..RunOptions::workers(workers) };
            let source = source.clone();
            std::thread::spawn(move || {
                harness::run(options, source, |_| panic!("only the first process sinks epochs"))
            })
        })
        .collect();
    let options = if sequential {
        RunOptions::sequential()
    } else {
        RunOptions { cluster: cluster(0), ..RunOptions::workers(workers) }
    };
    harness::run(options, source, |updates| {
        model.apply(updates.rows);
        log.extend(positioned[updates.epoch as usize].iter().cloned());
        let expected = reference::compute(&log);
        if failure.is_none() && model.views() != expected {
            failure = Some(format!(
                "epoch {} differs\nlog: {:#?}\nincremental: {:#?}\nreference: {:#?}",
                updates.epoch,
                log,
                model.views(),
                expected
            ));
        }
        // Every change of a replay's view, and only a change, gets the next version.
        for (id, view) in &expected.replays {
            let last = versions.get(id).copied().unwrap_or(0);
            let wanted = if previous.replays.get(id) == Some(view) { last } else { last + 1 };
            versions.insert(id.clone(), wanted);
            if failure.is_none() && model.version(id) != Some(wanted) {
                failure = Some(format!(
                    "epoch {}: replay {id} has version {:?}, want {wanted}\nlog: {:#?}",
                    updates.epoch,
                    model.version(id),
                    log
                ));
            }
        }
        previous = expected;
    })
    .map_err(TestCaseError::fail)?;
    for other in others {
        other.join().expect("a process of the cluster panicked").map_err(TestCaseError::fail)?;
    }
    prop_assert_eq!(log.len(), seq as usize, "every epoch closed");
    if let Some(failure) = failure {
        return Err(TestCaseError::fail(failure));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn one_worker_matches_the_reference(epochs in epochs()) {
        check(Setup::new(1, 1), epochs)?;
    }

    #[test]
    fn two_workers_match_the_reference(epochs in epochs()) {
        check(Setup::new(2, 1), epochs)?;
    }

    #[test]
    fn one_worker_on_the_sinks_thread_reading_ahead_matches_the_reference(epochs in epochs()) {
        check(Setup { sequential: true, ..Setup::new(1, 1).reading_ahead() }, epochs)?;
    }

    #[test]
    fn two_workers_reading_ahead_match_the_reference(epochs in epochs()) {
        check(Setup::new(2, 1).reading_ahead(), epochs)?;
    }
}

proptest! {
    // Each case forms a cluster over TCP, so fewer of them.
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn two_processes_match_the_reference(epochs in epochs()) {
        check(Setup::new(1, 2), epochs)?;
    }

    #[test]
    fn two_processes_of_two_workers_match_the_reference(epochs in epochs()) {
        check(Setup::new(2, 2), epochs)?;
    }

    #[test]
    fn two_processes_of_two_workers_reading_ahead_match_the_reference(epochs in epochs()) {
        check(Setup::new(2, 2).reading_ahead(), epochs)?;
    }
}
