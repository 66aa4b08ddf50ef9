//! Ingest: `reeltime run` on a pre-filled backlog against a bare rdkafka consumer that only
//! decodes the same records (see the bench's opening comment).

use std::fs::File;
use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::common::{
    create_topics, engine_command, input_partitions, plain_consumer, produce_all, unique_prefix,
    wait_bounded, Outgoing, Watcher, TIME,
};
use crate::synthetic_match::{synthetic_match, MatchShape};
use crate::Options;

/// The ingest goal: the engine at least this fraction of the bare consumer's rate.
const GOAL_FRACTION: f64 = 0.5;
/// Below this fraction the row is not done.
const NOT_DONE_FRACTION: f64 = 0.3;
/// The engine's default record size limit, so the baseline decodes under the same rule.
const MAX_RECORD_BYTES: usize = 1 << 20;
/// Idle seconds after which the ingest run ends.
const UNTIL_IDLE: &str = "2";

/// The ingest log: the matches interleaved by publication time (each starts within 30 minutes
/// of the first), `records` detections in all.
fn ingest_log(options: &Options) -> Vec<Outgoing> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(options.seed);
    let per_match = options.records / options.events;
    let extra = options.records % options.events;
    let mut lines = Vec::new();
    for index in 0..options.events {
        let shape = MatchShape {
            event_id: format!("match-{index:03}"),
            seed: options.seed * 1_000 + index as u64,
            length_ms: 3 * 3_600_000,
            segments: 300,
            detections: per_match + usize::from(index < extra),
            replays: 4,
            feedback: 10,
            chunk_ms: None,
        };
        let offset_ms = rng.random_range(0..30 * 60_000);
        lines.extend(
            synthetic_match(&shape).into_iter().map(|l| (l.published_ms + offset_ms, l.json)),
        );
    }
    lines.sort_by_key(|(published_ms, _)| *published_ms);
    lines.into_iter().map(|(_, json)| Outgoing::routed(json)).collect()
}

/// One ingest run of the engine.
struct EngineIngest {
    /// Start to the arrival of the last replay version.
    to_last_replay: Duration,
    /// Start to the last message on any watched output topic.
    to_last_output: Duration,
    /// Start to exit (includes the idle wait and the final write of the output directory).
    to_exit: Duration,
    replay_versions: u64,
    outputs: Vec<(String, u64)>,
    /// User + system CPU seconds and peak RSS in MiB, from `/usr/bin/time`.
    usage: Option<(f64, f64)>,
    summary: String,
}

pub fn ingest(options: &Options, dir: &Path) {
    let prefix = unique_prefix("ingest");
    create_topics(&options.brokers, &prefix);
    let started = Instant::now();
    let log = ingest_log(options);
    let total = log.len();
    let detections = log.iter().filter(|r| r.topic == "detections").count();
    println!(
        "ingest: {total} records ({detections} detections) of {} matches generated in {:.1} s",
        options.events,
        started.elapsed().as_secs_f64()
    );
    let produced = produce_all(&options.brokers, &prefix, &log);
    let bytes: usize = log.iter().map(|r| r.payload.len()).sum();
    println!(
        "ingest: produced to {prefix}* in {:.1} s ({:.0} records/s, {:.0} MiB)",
        produced.as_secs_f64(),
        total as f64 / produced.as_secs_f64(),
        bytes as f64 / f64::from(1 << 20)
    );
    drop(log);

    let mut bare = Vec::new();
    let mut engine = Vec::new();
    for run in 0..options.runs {
        let elapsed = bare_consume(options, &prefix, run, total);
        println!(
            "  run {}: bare consumer {:.2} s, {:.0} records/s",
            run + 1,
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64()
        );
        bare.push(elapsed);
        let result = engine_ingest(options, &prefix, dir, run, total);
        println!(
            "  run {}: engine {:.2} s to the last replay version, {:.0} records/s",
            run + 1,
            result.to_last_replay.as_secs_f64(),
            total as f64 / result.to_last_replay.as_secs_f64()
        );
        engine.push(result);
    }
    report_ingest(total, &bare, &engine);
}

/// Reads every input message with a bare consumer and decodes it; returns the time taken.
fn bare_consume(options: &Options, prefix: &str, run: usize, total: usize) -> Duration {
    let started = Instant::now();
    let consumer = plain_consumer(&options.brokers, &format!("{prefix}bare-{run}"));
    let mut list = TopicPartitionList::new();
    for (topic, partition) in input_partitions(prefix) {
        list.add_partition_offset(&topic, partition, Offset::Beginning).expect("a partition");
    }
    consumer.assign(&list).expect("the bare consumer is assigned the inputs");
    let deadline = started + Duration::from_secs(600);
    let (mut decoded, mut failed) = (0usize, 0usize);
    while decoded + failed < total {
        assert!(Instant::now() < deadline, "the bare consumer read {decoded} of {total} in 600 s");
        let Some(result) = consumer.poll(Duration::from_millis(100)) else { continue };
        let message = result.expect("the bare consumer reads");
        match reeltime_schemas::decode(message.payload().unwrap_or_default(), MAX_RECORD_BYTES) {
            Ok(record) => {
                black_box(record);
                decoded += 1;
            }
            Err(_) => failed += 1,
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(failed, 0, "every generated record decodes");
    elapsed
}

fn engine_ingest(
    options: &Options,
    prefix: &str,
    dir: &Path,
    run: usize,
    total: usize,
) -> EngineIngest {
    let out = dir.join(format!("ingest-out-{run}"));
    let time_file = dir.join(format!("ingest-time-{run}"));
    let measured = Path::new(TIME).exists();
    let binary = if measured {
        let mut command = Command::new(TIME);
        command.arg("-o").arg(&time_file).args(["-f", "%U %S %M", env!("CARGO_BIN_EXE_reeltime")]);
        command
    } else {
        Command::new(env!("CARGO_BIN_EXE_reeltime"))
    };
    let ids = format!("{prefix}engine-{run}");
    let mut command = engine_command(&binary, options, prefix, &ids, &out, UNTIL_IDLE);
    let stderr = dir.join(format!("ingest-engine-{run}.stderr"));
    command.stderr(File::create(&stderr).expect("the engine's stderr file"));
    command.stdout(Stdio::piped());

    let watcher =
        Watcher::start(&options.brokers, prefix, &["replays", "clips", "notifications"], None);
    let started = Instant::now();
    let mut child = command.spawn().expect("reeltime runs");
    let status = wait_bounded(&mut child, Duration::from_secs(3_600));
    let to_exit = started.elapsed();
    let output = child.wait_with_output().expect("the engine's output");
    assert!(
        status,
        "reeltime run failed; its stderr is in {}: {}",
        stderr.display(),
        std::fs::read_to_string(&stderr).unwrap_or_default()
    );
    // Everything the engine published was committed before it exited; this lets the watcher
    // fetch the tail.
    thread::sleep(Duration::from_secs(2));
    let seen = watcher.finish();
    let replays = format!("{prefix}replays");
    let (replay_versions, last_replay) =
        seen.per_topic.get(&replays).copied().expect("the engine published replay versions");
    let last_output = seen.per_topic.values().map(|(_, at)| *at).max().unwrap_or(last_replay);
    let outputs = seen
        .per_topic
        .iter()
        .map(|(name, (count, _))| (name.trim_start_matches(prefix).to_owned(), *count))
        .collect();
    let summary = String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or("").to_owned();
    let accepted = summary
        .split("accepted ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok());
    assert_eq!(accepted, Some(total), "the engine accepts every record: {summary}");
    let usage = measured.then(|| {
        let text = std::fs::read_to_string(&time_file).expect("time wrote its file");
        let fields: Vec<f64> =
            text.split_whitespace().filter_map(|field| field.parse().ok()).collect();
        let [user, system, rss_kib] = fields[..] else {
            panic!("unexpected output of time: {text}")
        };
        (user + system, rss_kib / 1024.0)
    });
    EngineIngest {
        to_last_replay: last_replay - started,
        to_last_output: last_output - started,
        to_exit,
        replay_versions,
        outputs,
        usage,
        summary,
    }
}

fn report_ingest(total: usize, bare: &[Duration], engine: &[EngineIngest]) {
    let rate = |elapsed: Duration| total as f64 / elapsed.as_secs_f64();
    println!();
    println!("ingest of {total} records (each side run {} times, in turn)", bare.len());
    println!(
        "{:<6} {:>10} {:>12} {:>13} {:>13} {:>10} {:>12} {:>8} {:>8} {:>9}",
        "run",
        "bare s",
        "bare rec/s",
        "engine s",
        "engine rec/s",
        "exit s",
        "last out s",
        "cpu s",
        "RSS MiB",
        "ratio"
    );
    for (run, (bare, engine)) in bare.iter().zip(engine).enumerate() {
        let (cpu, rss) = engine.usage.map_or(("n/a".to_owned(), "n/a".to_owned()), |(cpu, rss)| {
            (format!("{cpu:.1}"), format!("{rss:.0}"))
        });
        println!(
            "{:<6} {:>10.2} {:>12.0} {:>13.2} {:>13.0} {:>10.2} {:>12.2} {:>8} {:>8} {:>9.4}",
            run + 1,
            bare.as_secs_f64(),
            rate(*bare),
            engine.to_last_replay.as_secs_f64(),
            rate(engine.to_last_replay),
            engine.to_exit.as_secs_f64(),
            engine.to_last_output.as_secs_f64(),
            cpu,
            rss,
            rate(engine.to_last_replay) / rate(*bare)
        );
    }
    for (run, engine) in engine.iter().enumerate() {
        println!(
            "  engine run {}: {} replay versions; outputs {:?}; {}",
            run + 1,
            engine.replay_versions,
            engine.outputs,
            engine.summary
        );
    }
    let best_bare = bare.iter().min().expect("runs >= 1");
    let best_engine = engine.iter().map(|e| e.to_last_replay).min().expect("runs >= 1");
    let fraction = rate(best_engine) / rate(*best_bare);
    let verdict = if fraction >= GOAL_FRACTION {
        "goal met".to_owned()
    } else if fraction >= NOT_DONE_FRACTION {
        format!("goal missed ({:.1}x short), above the not-done line", GOAL_FRACTION / fraction)
    } else {
        format!("not done: {:.1}x short of the goal", GOAL_FRACTION / fraction)
    };
    println!(
        "engine rate / bare rate (best of each): {fraction:.4}x (goal >= {GOAL_FRACTION}x, not \
         done below {NOT_DONE_FRACTION}x): {verdict}"
    );
}
