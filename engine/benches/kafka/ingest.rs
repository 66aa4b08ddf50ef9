//! Ingest: `reeltime run` on a pre-filled backlog against a bare rdkafka consumer that only
//! decodes the same records (see the bench's opening comment).

use std::fs::File;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;

use crate::common::{
    committed_offsets, cpu_seconds, create_topics, engine_command, input_partitions, interleaved,
    load_now, memory_kib, plain_consumer, produce_all, quantile, terminate, unique_prefix,
    wait_bounded, EpochStat, EpochStatsTail, Outgoing, Watcher,
};
use crate::synthetic_match::MatchShape;
use crate::Options;

/// The ingest goal: the engine at least this fraction of the bare consumer's rate.
const GOAL_FRACTION: f64 = 0.5;
/// Below this fraction the row is not done.
const NOT_DONE_FRACTION: f64 = 0.3;
/// How long one engine run may take to commit every input offset.
const INGEST_LIMIT: Duration = Duration::from_secs(3_600);

/// The ingest log: the matches interleaved by publication time (each starts within 30 minutes
/// of the first), `records` detections in all.
pub fn ingest_log(options: &Options) -> Vec<Outgoing> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(options.seed);
    let per_match = options.records / options.events;
    let extra = options.records % options.events;
    let shapes = (0..options.events).map(|index| MatchShape {
        event_id: format!("match-{index:03}"),
        seed: options.seed * 1_000 + index as u64,
        length_ms: 3 * 3_600_000,
        segments: 300,
        detections: per_match + usize::from(index < extra),
        replays: 4,
        feedback: 10,
        chunk_ms: None,
    });
    interleaved(shapes, &mut rng).into_iter().map(Outgoing::routed).collect()
}

/// One ingest run of the engine.
struct EngineIngest {
    /// Start to the moment the group's committed offsets reach the end of every input (the
    /// last epoch's transaction, with its outputs, is committed).
    to_committed: Duration,
    /// Start to the arrival of the last replay version.
    to_last_replay: Duration,
    /// Start to exit after SIGTERM (includes the final write of the output directory).
    to_exit: Duration,
    replay_versions: u64,
    outputs: Vec<(String, u64)>,
    /// User + system CPU seconds and peak RSS in MiB until caught up, from `/proc`.
    usage: Option<(f64, f64)>,
    /// Live epochs: how many, the median records of those with any, the slowest closed to
    /// recorded (ms), and the slowest recording of logs and files (ms).
    epochs: (usize, f64, f64, f64),
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
            "  run {}: engine {:.2} s to every input offset committed, {:.0} records/s (load {})",
            run + 1,
            result.to_committed.as_secs_f64(),
            total as f64 / result.to_committed.as_secs_f64(),
            load_now()
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
        match reeltime_schemas::decode(
            message.payload().unwrap_or_default(),
            DEFAULT_MAX_RECORD_BYTES,
        ) {
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
    let stats_path = dir.join(format!("ingest-epochs-{run}.jsonl"));
    let stdout = dir.join(format!("ingest-engine-{run}.stdout"));
    let stderr = dir.join(format!("ingest-engine-{run}.stderr"));
    let ids = format!("{prefix}engine-{run}");
    // Run until stopped, not `--until-idle`: the engine's idle clock runs while its workers
    // wait for a busy sink, so a long epoch would end the run before the inputs are read.
    let binary = Command::new(env!("CARGO_BIN_EXE_reeltime"));
    let mut command = engine_command(&binary, options, prefix, &ids, &out, "0");
    command
        .env("REELTIME__ENGINE__EPOCH_STATS_FILE", &stats_path)
        .stdout(File::create(&stdout).expect("the engine's stdout file"))
        .stderr(File::create(&stderr).expect("the engine's stderr file"));
    let offsets = plain_consumer(&options.brokers, &ids);

    let watcher =
        Watcher::start(&options.brokers, prefix, &["replays", "clips", "notifications"], None);
    let started = Instant::now();
    let mut child = command.spawn().expect("reeltime runs");
    let deadline = started + INGEST_LIMIT;
    let to_committed = loop {
        let committed: i64 = committed_offsets(&offsets, prefix)
            .expect("the engine's committed offsets")
            .values()
            .sum();
        if committed as usize >= total {
            break started.elapsed();
        }
        let exited = child.try_wait().expect("the engine can be waited for").is_some();
        assert!(
            !exited && Instant::now() < deadline,
            "the engine committed {committed} of {total} records {}; its stderr is in {}: {}",
            if exited { "and exited" } else { "in the time allowed" },
            stderr.display(),
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(50));
    };
    let usage = cpu_seconds(child.id())
        .zip(memory_kib(child.id()))
        .map(|(cpu, (_, peak_kib))| (cpu, peak_kib as f64 / 1024.0));
    terminate(&child);
    let status = wait_bounded(&mut child, Duration::from_secs(300));
    let to_exit = started.elapsed();
    assert!(
        status,
        "reeltime run did not stop cleanly on SIGTERM; its stderr is in {}: {}",
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
    let outputs = seen
        .per_topic
        .iter()
        .map(|(name, (count, _))| (name.trim_start_matches(prefix).to_owned(), *count))
        .collect();
    let summary = std::fs::read_to_string(&stdout).unwrap_or_default();
    let summary = summary.lines().next().unwrap_or("").to_owned();
    let accepted = summary
        .split("accepted ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok());
    assert_eq!(accepted, Some(total), "the engine accepts every record: {summary}");
    let stats = EpochStatsTail::new(&stats_path).new_epochs();
    let mut records: Vec<f64> =
        stats.iter().filter(|e| e.records > 0).map(|e| e.records as f64).collect();
    let slowest = |from: fn(&EpochStat) -> i64, to: fn(&EpochStat) -> i64| {
        stats.iter().map(|e| (to(e) - from(e)) as f64 / 1000.0).fold(0.0, f64::max)
    };
    let epochs = (
        stats.len(),
        quantile(&mut records, 0.5),
        slowest(|e| e.closed_us, |e| e.recorded_us),
        slowest(|e| e.published_us, |e| e.recorded_us),
    );
    EngineIngest {
        to_committed,
        to_last_replay: last_replay - started,
        to_exit,
        replay_versions,
        outputs,
        usage,
        epochs,
        summary,
    }
}

fn report_ingest(total: usize, bare: &[Duration], engine: &[EngineIngest]) {
    let rate = |elapsed: Duration| total as f64 / elapsed.as_secs_f64();
    println!();
    println!(
        "ingest of {total} records (each side run {} times, in turn); engine s: start to every \
         input offset committed",
        bare.len()
    );
    println!(
        "{:<6} {:>10} {:>12} {:>13} {:>13} {:>14} {:>10} {:>8} {:>9} {:>9}",
        "run",
        "bare s",
        "bare rec/s",
        "engine s",
        "engine rec/s",
        "last replay s",
        "exit s",
        "cpu s",
        "peak MiB",
        "ratio"
    );
    for (run, (bare, engine)) in bare.iter().zip(engine).enumerate() {
        let (cpu, rss) = engine.usage.map_or(("n/a".to_owned(), "n/a".to_owned()), |(cpu, rss)| {
            (format!("{cpu:.1}"), format!("{rss:.0}"))
        });
        println!(
            "{:<6} {:>10.2} {:>12.0} {:>13.2} {:>13.0} {:>14.2} {:>10.2} {:>8} {:>9} {:>9.4}",
            run + 1,
            bare.as_secs_f64(),
            rate(*bare),
            engine.to_committed.as_secs_f64(),
            rate(engine.to_committed),
            engine.to_last_replay.as_secs_f64(),
            engine.to_exit.as_secs_f64(),
            cpu,
            rss,
            rate(engine.to_committed) / rate(*bare)
        );
    }
    for (run, engine) in engine.iter().enumerate() {
        let (epochs, median_records, slowest_epoch, slowest_record) = engine.epochs;
        println!(
            "  engine run {}: {epochs} epochs, median {median_records:.0} records (of those with \
             any); slowest epoch \
             {slowest_epoch:.0} ms closed to recorded, slowest recording {slowest_record:.0} ms; \
             {} replay versions; outputs {:?}; {}",
            run + 1,
            engine.replay_versions,
            engine.outputs,
            engine.summary
        );
    }
    let best_bare = bare.iter().min().expect("runs >= 1");
    let best_engine = engine.iter().map(|e| e.to_committed).min().expect("runs >= 1");
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
