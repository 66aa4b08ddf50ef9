//! `reeltime run` against a real Kafka broker: how fast it ingests a pre-filled backlog, and how
//! soon a live detection shows in the published replay view. Both are goals of the Kafka issue.
//!
//! **Ingest.** 1,000,000 detections of 100 synthetic 3-hour matches
//! (`operators/benches/common/synthetic_match.rs`: per match a profile, the event, 4 catch-up
//! replays, 300 segments with their optimizations and labels, 10 verdicts), interleaved by
//! publication time, are produced under a fresh topic prefix before anything is timed. Then,
//! each `--runs` times and in turn:
//! - the baseline: a bare rdkafka `BaseConsumer` assigned every input partition reads every
//!   message and only decodes it (`reeltime_schemas::decode`), the least any consumer does;
//! - the engine: the release binary's `reeltime run --until-idle 2` with a fresh group,
//!   transactional id and output directory, timed from its start to the last replay version
//!   it publishes (read back with `isolation.level=read_committed`), which comes after the
//!   idle wait would start, so the wait is not counted.
//!
//! Goal: the engine's rate at least half the bare consumer's.
//!
//! **Latency.** The engine runs live (`--until-idle 0`) over 10 synthetic matches and a probe
//! match whose features-mode replay looks only for an attribute that no other record carries.
//! A background producer sends the matches' detections at a steady `--rate` (10,000 records/s,
//! paced by the clock); every 50 ms a probe detection with that attribute lands inside a
//! distinct complete segment of the probe match, so each probe adds one clip to the replay. The
//! latency of a probe is the time from just before its send to the arrival of the first replay
//! view with its clip (and of that version's `replay_updated` notification) on a
//! `read_committed` consumer. The engine stops on SIGTERM.
//!
//! Goal: p99 well under 100 ms plus the epoch length (`engine.epoch_ms`, default 100).
//!
//! ```text
//! scripts/kafka-local start    # prints the broker's address
//! cargo bench -p reeltime --bench kafka_throughput -- --brokers 127.0.0.1:PORT
//!     [--records 1000000] [--events 100] [--runs 2] [--rate 10000] [--probes 240]
//!     [--epoch-ms 100] [--only ingest|latency] [--seed 1]
//! ```
//!
//! The broker also comes from `REELTIME_KAFKA_BROKERS`; without one the bench exits with 2.
//! Everything is seeded, bounded in time (each wait has a deadline) and on the given broker
//! only. Topics are left on the broker (a scratch broker's storage is wiped at its next start).

#[path = "../../operators/benches/common/synthetic_match.rs"]
mod synthetic_match;

use std::collections::BTreeMap;
use std::fs::File;
use std::hint::black_box;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{json, Value};

use synthetic_match::{synthetic_match, MatchShape};

/// The ingest goal: the engine at least this fraction of the bare consumer's rate.
const GOAL_FRACTION: f64 = 0.5;
/// The latency goal: p99 under this plus the epoch length.
const GOAL_LATENCY: Duration = Duration::from_millis(100);
/// The input topics and their partitions (detections spread over 6, as a busy event would).
const INPUT_TOPICS: [(&str, i32); 4] =
    [("control", 1), ("chunks", 2), ("segments", 2), ("detections", 6)];
/// The output topics, one partition each, so a watcher reads partition 0.
const OUTPUT_TOPICS: [&str; 4] = ["clips", "replays", "notifications", "dead-letter"];
/// The engine's default record size limit, so the baseline decodes under the same rule.
const MAX_RECORD_BYTES: usize = 1 << 20;
/// Idle seconds after which the ingest run ends.
const UNTIL_IDLE: &str = "2";
const TIME: &str = "/usr/bin/time";

const PROBE_EVENT: &str = "probe-match";
const PROBE_REPLAY: &str = "probe-replay";
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Background matches of the latency part.
const LATENCY_MATCHES: usize = 10;
/// Background load before the first probe, so the engine is in its steady state.
const WARMUP: Duration = Duration::from_secs(3);
/// How long after the last probe its view may still arrive.
const PROBE_GRACE: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Ingest,
    Latency,
}

struct Options {
    brokers: String,
    records: usize,
    events: usize,
    runs: usize,
    rate: u64,
    probes: usize,
    epoch_ms: u64,
    only: Option<Part>,
    seed: u64,
}

impl Options {
    /// Reads the flags (cargo's `--bench` is ignored); `None` when no broker is given.
    fn from_args() -> Option<Options> {
        let mut options = Options {
            brokers: std::env::var("REELTIME_KAFKA_BROKERS").unwrap_or_default(),
            records: 1_000_000,
            events: 100,
            runs: 2,
            rate: 10_000,
            probes: 240,
            epoch_ms: 100,
            only: None,
            seed: 1,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            match arg.as_str() {
                "--bench" => {}
                "--brokers" => options.brokers = value(),
                "--records" => options.records = value().parse().expect("--records is an integer"),
                "--events" => options.events = value().parse().expect("--events is an integer"),
                "--runs" => options.runs = value().parse().expect("--runs is an integer"),
                "--rate" => options.rate = value().parse().expect("--rate is an integer"),
                "--probes" => options.probes = value().parse().expect("--probes is an integer"),
                "--epoch-ms" => {
                    options.epoch_ms = value().parse().expect("--epoch-ms is an integer")
                }
                "--seed" => options.seed = value().parse().expect("--seed is an integer"),
                "--only" => {
                    options.only = match value().as_str() {
                        "ingest" => Some(Part::Ingest),
                        "latency" => Some(Part::Latency),
                        other => panic!("--only takes ingest or latency, not {other:?}"),
                    }
                }
                other => panic!(
                    "unknown argument {other:?}; use --brokers ADDR, --records N, --events M, \
                     --runs R, --rate R, --probes P, --epoch-ms E, --only ingest|latency, --seed S"
                ),
            }
        }
        assert!(options.events > 0 && options.runs > 0, "--events and --runs must be >= 1");
        assert!(options.rate > 0 && options.probes > 0, "--rate and --probes must be >= 1");
        (!options.brokers.is_empty()).then_some(options)
    }
}

fn main() -> ExitCode {
    let Some(options) = Options::from_args() else {
        eprintln!(
            "kafka_throughput needs a Kafka broker: start one with `scripts/kafka-local start` \
             and pass its address with `-- --brokers 127.0.0.1:PORT` or REELTIME_KAFKA_BROKERS"
        );
        return ExitCode::from(2);
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!("broker {}, engine.epoch_ms {}", options.brokers, options.epoch_ms);
    if options.only != Some(Part::Latency) {
        ingest(&options, dir.path());
    }
    if options.only != Some(Part::Ingest) {
        latency(&options, dir.path());
    }
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------------
// Topics, producing, watching the outputs

/// A record to produce: its input topic (without prefix), key and JSON text.
struct Outgoing {
    topic: &'static str,
    key: String,
    payload: String,
}

impl Outgoing {
    /// Routes a record as a publisher would: by type to its input topic, keyed by its event
    /// (a profile by name, a replay by id).
    fn routed(payload: String) -> Outgoing {
        let record: Value = serde_json::from_str(&payload).expect("generated records are JSON");
        let field = |name: &str| record[name].as_str().expect("the routing field").to_owned();
        let (topic, key) = match record["type"].as_str() {
            Some("profile") => ("control", field("name")),
            Some("replay") => ("control", field("replay_id")),
            Some("event" | "feedback") => ("control", field("event_id")),
            Some("chunk") => ("chunks", field("event_id")),
            Some("segment" | "optimization" | "label") => ("segments", field("event_id")),
            _ => ("detections", field("event_id")),
        };
        Outgoing { topic, key, payload }
    }
}

/// A topic prefix of its own for each part of each bench run.
fn unique_prefix(part: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("bench{}-{}-{part}.", std::process::id(), nanos % 1_000_000_000)
}

fn create_topics(brokers: &str, prefix: &str) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", brokers).create().expect("an admin client");
    let names: Vec<(String, i32)> = INPUT_TOPICS
        .iter()
        .copied()
        .chain(OUTPUT_TOPICS.iter().map(|name| (*name, 1)))
        .map(|(suffix, partitions)| (format!("{prefix}{suffix}"), partitions))
        .collect();
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|(name, partitions)| {
            // As `reeltime topics create` makes them: "latest" is by the broker's append time.
            NewTopic::new(name, *partitions, TopicReplication::Fixed(1))
                .set("message.timestamp.type", "LogAppendTime")
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in futures_executor::block_on(admin.create_topics(&topics, &options))
        .expect("the broker creates topics")
    {
        result.unwrap_or_else(|(topic, error)| panic!("creating {topic}: {error}"));
    }
}

/// A producer that batches: `linger_ms` trades latency for throughput.
fn producer(brokers: &str, linger_ms: u32) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", linger_ms.to_string())
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .create()
        .expect("a producer")
}

/// Queues one record, serving delivery reports while the local queue is full.
fn send(producer: &BaseProducer, prefix: &str, record: &Outgoing) {
    let topic = format!("{prefix}{}", record.topic);
    let mut message = BaseRecord::to(&topic).key(&record.key).payload(&record.payload);
    loop {
        match producer.send(message) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), unsent)) => {
                producer.poll(Duration::from_millis(5));
                message = unsent;
            }
            Err((error, _)) => panic!("producing to {topic}: {error}"),
        }
    }
}

/// Produces `records` as fast as the producer batches them and checks that the broker holds
/// them all (delivery reports are not watched, the partitions' end offsets are).
fn produce_all(brokers: &str, prefix: &str, records: &[Outgoing]) -> Duration {
    let started = Instant::now();
    let producer = producer(brokers, 20);
    for record in records {
        send(&producer, prefix, record);
    }
    producer.flush(Duration::from_secs(300)).expect("every record is delivered");
    let elapsed = started.elapsed();
    let held: i64 = input_partitions(prefix)
        .iter()
        .map(|(topic, partition)| end_offset(brokers, topic, *partition))
        .sum();
    assert_eq!(held as usize, records.len(), "the input topics hold every produced record");
    elapsed
}

fn input_partitions(prefix: &str) -> Vec<(String, i32)> {
    INPUT_TOPICS
        .iter()
        .flat_map(|(topic, partitions)| {
            (0..*partitions).map(move |p| (format!("{prefix}{topic}"), p))
        })
        .collect()
}

fn plain_consumer(brokers: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .expect("a consumer")
}

/// The offset after the last message of a partition.
fn end_offset(brokers: &str, topic: &str, partition: i32) -> i64 {
    plain_consumer(brokers, "reeltime-bench-watermarks")
        .fetch_watermarks(topic, partition, Duration::from_secs(30))
        .expect("the broker tells the watermarks")
        .1
}

/// A message that reached a watcher, when it arrived.
struct Arrival {
    at: Instant,
    topic: String,
    payload: Vec<u8>,
}

/// What a watcher has seen.
#[derive(Default)]
struct Seen {
    /// The kept messages, in arrival order.
    arrivals: Vec<Arrival>,
    /// Per topic: messages, and when the last one arrived.
    per_topic: BTreeMap<String, (u64, Instant)>,
}

/// Reads output topics with `read_committed` on a thread of its own, noting when each message
/// arrives; only the payloads that contain `keep` are kept.
struct Watcher {
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Watcher {
    /// Watches `topics` (suffixes) under `prefix` from their current ends.
    fn start(brokers: &str, prefix: &str, topics: &[&str], keep: Option<&'static str>) -> Watcher {
        let consumer = plain_consumer(brokers, &format!("{prefix}watcher"));
        let mut list = TopicPartitionList::new();
        for topic in topics {
            let name = format!("{prefix}{topic}");
            let end = end_offset(brokers, &name, 0);
            list.add_partition_offset(&name, 0, Offset::Offset(end)).expect("a partition");
        }
        consumer.assign(&list).expect("the watcher is assigned its partitions");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some(result) = consumer.poll(Duration::from_millis(20)) else { continue };
                    let message = result.expect("the watcher reads the outputs");
                    let at = Instant::now();
                    let topic = message.topic().to_owned();
                    let mut seen = seen.lock().unwrap();
                    let entry = seen.per_topic.entry(topic.clone()).or_insert((0, at));
                    *entry = (entry.0 + 1, at);
                    let payload = message.payload().unwrap_or_default();
                    let wanted = keep.map(str::as_bytes).is_some_and(|needle| {
                        payload.windows(needle.len()).any(|window| window == needle)
                    });
                    if wanted {
                        seen.arrivals.push(Arrival { at, topic, payload: payload.to_vec() });
                    }
                }
            })
        };
        Watcher { seen, stop, thread }
    }

    /// The kept arrivals from index `from` on, parsed by `parse`.
    fn parsed_since<T>(&self, from: usize, parse: impl Fn(&Arrival) -> T) -> Vec<T> {
        let seen = self.seen.lock().unwrap();
        seen.arrivals[from.min(seen.arrivals.len())..].iter().map(parse).collect()
    }

    /// Stops reading; returns what it saw.
    fn finish(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the watcher thread ends");
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// `reeltime run` (the binary cargo builds with this bench) on the topics under `prefix`.
fn engine_command(
    binary: &Command,
    options: &Options,
    prefix: &str,
    ids: &str,
    out: &Path,
    until_idle: &str,
) -> Command {
    let mut command = Command::new(binary.get_program());
    command.args(binary.get_args());
    command
        .args(["run", "--brokers", &options.brokers, "--out"])
        .arg(out)
        .args(["--until-idle", until_idle])
        .env("REELTIME__KAFKA__TOPIC_PREFIX", prefix)
        .env("REELTIME__KAFKA__GROUP_ID", ids)
        .env("REELTIME__KAFKA__TRANSACTIONAL_ID", ids)
        .env("REELTIME__ENGINE__EPOCH_MS", options.epoch_ms.to_string())
        // The synthetic chunks name no real media; this measures the dataflow.
        .env("REELTIME__RENDER__ENABLED", "false")
        .stdin(Stdio::null());
    command
}

// ---------------------------------------------------------------------------------------------
// Ingest

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

fn ingest(options: &Options, dir: &Path) {
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

/// Waits for `child` up to `limit` (then kills it); whether it exited successfully.
fn wait_bounded(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("the engine can be waited for") {
            return status.success();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            return false;
        }
        thread::sleep(Duration::from_millis(20));
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
    println!(
        "engine rate / bare rate (best of each): {fraction:.4} (goal >= {GOAL_FRACTION}: {})",
        if fraction >= GOAL_FRACTION {
            "met".to_owned()
        } else {
            format!("missed, {:.0}x short", GOAL_FRACTION / fraction)
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Latency

/// Start in seconds of probe segment `index`: 10 s slots, 8 s segments, the probe at +4 s.
fn probe_segment_start(index: usize) -> u64 {
    10 + index as u64 * 10
}

/// The probe match's records before the run: the event, its replay (features mode, looking
/// only for `Probe`, which only probes carry) and one complete, optimized segment per probe.
/// The profile is the synthetic matches'.
fn probe_setup(probes: usize) -> Vec<Outgoing> {
    let mut records = vec![
        json!({
            "type": "event", "event_id": PROBE_EVENT, "program": "Synthetic Open",
            "profile": "tennis-broadcast", "status": "started", "frame_rate": 25,
            "audio_tracks": [1, 2],
        }),
        json!({
            "type": "replay", "replay_id": PROBE_REPLAY, "event_id": PROBE_EVENT,
            "mode": "features", "catchup": true,
            "priorities": [{"plugin": "scoreboard", "attribute": "Probe"}],
        }),
    ];
    for index in 0..probes {
        let start = probe_segment_start(index);
        records.push(json!({
            "type": "segment", "event_id": PROBE_EVENT, "plugin": "rally-segmenter",
            "start": start,
        }));
        records.push(json!({
            "type": "segment", "event_id": PROBE_EVENT, "plugin": "rally-segmenter",
            "start": start, "end": start + 8,
        }));
        // The profile has an optimizer: a segment is a candidate only once optimized.
        records.push(json!({
            "type": "optimization", "event_id": PROBE_EVENT, "plugin": "silence-optimizer",
            "start": start, "track": 1, "opto_start": start, "opto_end": start + 8,
        }));
    }
    records.into_iter().map(|record| Outgoing::routed(record.to_string())).collect()
}

fn probe(index: usize) -> Outgoing {
    let at = probe_segment_start(index) + 4;
    let record = json!({
        "type": "detection", "event_id": PROBE_EVENT, "plugin": "scoreboard",
        "start": at, "end": at + 1, "attributes": {"Probe": true},
    });
    Outgoing::routed(record.to_string())
}

/// The background matches: their records but detections and the end (the matches are live),
/// and their detections in publication order, `detections` in all.
fn background(options: &Options, detections: usize) -> (Vec<Outgoing>, Vec<Outgoing>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(options.seed + 1);
    let mut lines = Vec::new();
    for index in 0..LATENCY_MATCHES {
        let shape = MatchShape {
            event_id: format!("live-{index:02}"),
            seed: options.seed * 1_000 + 500 + index as u64,
            length_ms: 3 * 3_600_000,
            segments: 300,
            detections: detections.div_ceil(LATENCY_MATCHES),
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
    let (mut setup, mut load) = (Vec::new(), Vec::new());
    for (_, json) in lines {
        let record = Outgoing::routed(json);
        if record.topic == "detections" {
            load.push(record);
        } else if !record.payload.contains(r#""status":"ended""#) {
            setup.push(record);
        }
    }
    (setup, load)
}

/// A version of the probe replay, or of its notification: `(version, clips)`; clips is `None`
/// for a notification.
fn probe_version(arrival: &Arrival) -> Option<(Instant, u64, Option<usize>)> {
    let doc: Value = serde_json::from_slice(&arrival.payload).ok()?;
    if doc["replay_id"] != PROBE_REPLAY {
        return None;
    }
    let version = doc["version"].as_u64()?;
    if arrival.topic.ends_with(".replays") {
        Some((arrival.at, version, Some(doc["clips"].as_array()?.len())))
    } else if doc["type"] == "replay_updated" {
        Some((arrival.at, version, None))
    } else {
        None
    }
}

fn latency(options: &Options, dir: &Path) {
    let prefix = unique_prefix("latency");
    create_topics(&options.brokers, &prefix);
    let span = WARMUP + PROBE_INTERVAL * options.probes as u32 + PROBE_GRACE;
    let wanted = (options.rate as f64 * span.as_secs_f64()) as usize;
    let (mut setup, load) = background(options, wanted);
    setup.extend(probe_setup(options.probes));
    produce_all(&options.brokers, &prefix, &setup);
    println!(
        "latency: {} setup records ({LATENCY_MATCHES} live matches and the probe match), {} \
         background detections ready, {} probes every {} ms",
        setup.len(),
        load.len(),
        options.probes,
        PROBE_INTERVAL.as_millis()
    );

    let watcher = Watcher::start(
        &options.brokers,
        &prefix,
        &["replays", "notifications"],
        Some(PROBE_REPLAY),
    );
    let out = dir.join("latency-out");
    let stderr = dir.join("latency-engine.stderr");
    let ids = format!("{prefix}engine");
    let binary = Command::new(env!("CARGO_BIN_EXE_reeltime"));
    let mut engine = engine_command(&binary, options, &prefix, &ids, &out, "0")
        .stdout(Stdio::null())
        .stderr(File::create(&stderr).expect("the engine's stderr file"))
        .spawn()
        .expect("reeltime runs");

    // The engine is caught up with the setup once the probe replay's first version is out.
    let started = Instant::now();
    let mut versions: Vec<(Instant, u64, Option<usize>)> = Vec::new();
    let mut cursor = 0;
    let mut catch_up = |versions: &mut Vec<_>| {
        let new = watcher.parsed_since(cursor, probe_version);
        cursor += new.len();
        versions.extend(new.into_iter().flatten());
    };
    while versions.is_empty() {
        catch_up(&mut versions);
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no version of {PROBE_REPLAY} within 300 s; the engine's stderr is in {}",
            stderr.display()
        );
        assert!(
            engine.try_wait().expect("the engine can be waited for").is_none(),
            "the engine exited"
        );
        thread::sleep(Duration::from_millis(50));
    }
    println!(
        "latency: engine caught up with the setup in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let stop_load = Arc::new(AtomicBool::new(false));
    let loader = {
        let (brokers, prefix, stop, rate) =
            (options.brokers.clone(), prefix.clone(), stop_load.clone(), options.rate);
        thread::spawn(move || steady_load(&brokers, &prefix, &load, rate, &stop))
    };
    thread::sleep(WARMUP);

    let producer = producer(&options.brokers, 0);
    // The first probe should not pay for finding the partition's leader.
    producer
        .client()
        .fetch_metadata(Some(&format!("{prefix}detections")), Duration::from_secs(30))
        .expect("the detections topic's metadata");
    let first_probe = Instant::now();
    let mut sent = Vec::with_capacity(options.probes);
    for index in 0..options.probes {
        let due = first_probe + PROBE_INTERVAL * index as u32;
        thread::sleep(due.saturating_duration_since(Instant::now()));
        sent.push(Instant::now());
        send(&producer, &prefix, &probe(index));
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).expect("the probes are delivered");
    let deadline = Instant::now() + PROBE_GRACE;
    loop {
        catch_up(&mut versions);
        let all_seen =
            versions.iter().any(|(_, _, clips)| clips.is_some_and(|n| n >= options.probes));
        if all_seen || Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    stop_load.store(true, Ordering::Relaxed);
    let (loaded, load_time) = loader.join().expect("the background producer ends");

    let stopping = Instant::now();
    Command::new("kill")
        .args(["-TERM", &engine.id().to_string()])
        .status()
        .expect("kill sends SIGTERM");
    let stopped = wait_bounded(&mut engine, Duration::from_secs(60));
    let stop_time = stopping.elapsed();
    thread::sleep(Duration::from_secs(1));
    let seen = watcher.finish();
    assert!(stopped, "the engine did not stop cleanly on SIGTERM; stderr in {}", stderr.display());

    let versions: Vec<(Instant, u64, Option<usize>)> =
        seen.arrivals.iter().filter_map(probe_version).collect();
    let mut view = Vec::new();
    let mut notified = Vec::new();
    for (index, sent_at) in sent.iter().enumerate() {
        let first = versions
            .iter()
            .find(|(_, _, clips)| clips.is_some_and(|n| n > index))
            .map(|(at, version, _)| (*at, *version));
        if let Some((at, version)) = first {
            view.push(at.saturating_duration_since(*sent_at));
            let note = versions.iter().find(|(_, v, clips)| clips.is_none() && *v == version);
            if let Some((at, _, _)) = note {
                notified.push(at.saturating_duration_since(*sent_at));
            }
        }
    }
    println!();
    println!(
        "latency: background {loaded} detections in {:.1} s ({:.0} records/s, asked {}); \
         engine.epoch_ms {}; engine stopped {:.2} s after SIGTERM",
        load_time.as_secs_f64(),
        loaded as f64 / load_time.as_secs_f64(),
        options.rate,
        options.epoch_ms,
        stop_time.as_secs_f64()
    );
    report_latency("probe -> replay view", &view, options);
    report_latency("probe -> notification", &notified, options);
    let missing = options.probes - view.len();
    if missing > 0 {
        println!("  {missing} of {} probes never showed within {PROBE_GRACE:?}", options.probes);
    }
}

/// Sends `load` at `rate` records per second, paced by the clock, until `stop` (wrapping
/// around if it runs out); returns how many it sent and for how long.
fn steady_load(
    brokers: &str,
    prefix: &str,
    load: &[Outgoing],
    rate: u64,
    stop: &AtomicBool,
) -> (u64, Duration) {
    let producer = producer(brokers, 5);
    let started = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due {
            send(&producer, prefix, &load[sent as usize % load.len()]);
            sent += 1;
        }
        producer.poll(Duration::ZERO);
        thread::sleep(Duration::from_millis(1));
    }
    let elapsed = started.elapsed();
    producer.flush(Duration::from_secs(30)).expect("the background load is delivered");
    (sent, elapsed)
}

fn report_latency(what: &str, latencies: &[Duration], options: &Options) {
    if latencies.is_empty() {
        println!("  {what}: no probe arrived");
        return;
    }
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let quantile =
        |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let tenth = (latencies.len() / 10).max(1);
    let mean = |part: &[Duration]| part.iter().map(|d| ms(*d)).sum::<f64>() / part.len() as f64;
    let limit = GOAL_LATENCY + Duration::from_millis(options.epoch_ms);
    let p99 = quantile(0.99);
    println!(
        "  {what}: {} probes, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; mean of the first tenth \
         {:.1} ms, last tenth {:.1} ms (goal p99 < {} ms: {})",
        latencies.len(),
        ms(quantile(0.5)),
        ms(p99),
        ms(*sorted.last().expect("not empty")),
        mean(&latencies[..tenth]),
        mean(&latencies[latencies.len() - tenth..]),
        limit.as_millis(),
        if p99 < limit { "met" } else { "missed" }
    );
}
