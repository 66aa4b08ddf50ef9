//! Soak: many live events fed through Kafka at a steady rate for minutes. Does the engine keep
//! up (its lag bounded), how much memory does it hold per record, and are its final views the
//! ones `reeltime process` computes from the same records (see the bench's opening comment)?

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, Timestamp};
use rdkafka::producer::Producer;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;

use crate::common::{
    committed_offsets, create_topics, engine_command, input_end_offsets, load_now, memory_kib,
    plain_consumer, produce_all, producer, route, send_to, terminate, unique_prefix, wait_bounded,
    EpochStatsTail, Outgoing, INPUT_TOPICS, TIME,
};
use crate::synthetic_match::{synthetic_match, MatchShape};
use crate::Options;

/// One segment per 36 s of a soak event, as in the synthetic 3-hour match.
const SEGMENT_SLOT_MS: u64 = 36_000;
/// How long the engine may take over the setup (the events and their replays).
const SETUP_LIMIT: Duration = Duration::from_secs(600);
/// How long the engine may take to catch up once the stream has ended.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);
/// How long reading a topic back, or `reeltime process`, may take.
const READ_LIMIT: Duration = Duration::from_secs(1_800);
const PROCESS_LIMIT: Duration = Duration::from_secs(7_200);
/// The memory goal: RSS per retained record.
const GOAL_BYTES_PER_RECORD: f64 = 1024.0;

/// A record of the live stream: its input topic, its event (the key) and its text.
struct LiveRecord {
    topic: &'static str,
    event: u32,
    payload: Box<str>,
}

/// The soak's records: the setup (the profile, each event started and its replays), the live
/// stream in publication order, and the events' ids.
struct SoakLog {
    setup: Vec<Outgoing>,
    live: Vec<LiveRecord>,
    event_ids: Vec<String>,
}

/// Each event is a synthetic match as long as the stream, with a segment per 36 s (opened,
/// completed, optimized, labelled), a verdict per 10 segments and the rest of its share of the
/// stream as detections; the events start up to one segment slot apart, and the stream is
/// their records merged by publication time (each event's own order kept).
fn soak_log(options: &Options) -> SoakLog {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(options.seed * 1_000_000 + 700_000);
    let events = options.soak_events;
    let total = (options.soak_rate * options.soak_seconds) as usize;
    let length_ms = options.soak_seconds * 1000;
    let segments = length_ms.div_ceil(SEGMENT_SLOT_MS) as usize;
    let feedback = segments / 10;
    let mut setup = Vec::new();
    let mut lines: Vec<(u64, LiveRecord)> = Vec::with_capacity(total);
    let mut event_ids = Vec::with_capacity(events);
    for index in 0..events {
        let share = total / events + usize::from(index < total % events);
        let detections = share.checked_sub(4 * segments + feedback).unwrap_or_else(|| {
            panic!(
                "--soak-rate {} over {events} events leaves no detections beside {segments} \
                 segments per event",
                options.soak_rate
            )
        });
        let event_id = format!("soak-{index:04}");
        let shape = MatchShape {
            event_id: event_id.clone(),
            seed: options.seed * 1_000_000 + 100_000 + index as u64,
            length_ms,
            segments,
            detections,
            replays: options.soak_replays,
            feedback,
            chunk_ms: None,
        };
        let offset_ms = rng.random_range(0..SEGMENT_SLOT_MS);
        for line in synthetic_match(&shape) {
            let record: Value = serde_json::from_str(&line.json).expect("generated JSON");
            match (record["type"].as_str(), record["status"].as_str()) {
                (Some("profile"), _) if index > 0 => {}
                (Some("profile" | "replay"), _) | (Some("event"), Some("started")) => {
                    setup.push(Outgoing::routed(line.json));
                }
                // The events are live: none ends.
                (Some("event"), _) => {}
                _ => {
                    let (topic, _) = route(&line.json);
                    let payload = line.json.into_boxed_str();
                    let live = LiveRecord { topic, event: index as u32, payload };
                    lines.push((line.published_ms + offset_ms, live));
                }
            }
        }
        event_ids.push(event_id);
    }
    lines.sort_by_key(|(published_ms, _)| *published_ms);
    SoakLog { setup, live: lines.into_iter().map(|(_, record)| record).collect(), event_ids }
}

/// Sends `live` at `rate` records per second, paced by the clock, counting what it queued in
/// `produced`, until done or `stop`; returns how long it took.
fn paced_stream(
    brokers: &str,
    prefix: &str,
    log: SoakLog,
    rate: u64,
    produced: &AtomicU64,
    stop: &AtomicBool,
) -> Duration {
    let producer = producer(brokers, 5);
    let started = Instant::now();
    let mut sent = 0usize;
    while sent < log.live.len() && !stop.load(Ordering::Relaxed) {
        let due = ((started.elapsed().as_secs_f64() * rate as f64) as usize).min(log.live.len());
        for record in &log.live[sent..due] {
            let key = &log.event_ids[record.event as usize];
            send_to(&producer, prefix, record.topic, key, &record.payload);
        }
        sent = sent.max(due);
        produced.store(sent as u64, Ordering::Relaxed);
        producer.poll(Duration::ZERO);
        thread::sleep(Duration::from_millis(1));
    }
    let elapsed = started.elapsed();
    producer.flush(Duration::from_secs(60)).expect("the live stream is delivered");
    elapsed
}

/// One look at the engine while it runs.
struct Sample {
    /// Seconds since the live stream started.
    t: f64,
    /// Live records queued by the producer.
    produced: u64,
    /// Records in the input topics (setup included) and the engine's committed offsets.
    held: i64,
    committed: i64,
    /// Live epochs since the stream started.
    epochs: u64,
    rss_kib: u64,
    /// Whether the producer was still sending.
    streaming: bool,
}

impl Sample {
    fn lag(&self) -> i64 {
        self.held - self.committed
    }
}

fn total_committed(consumer: &BaseConsumer, prefix: &str) -> i64 {
    match committed_offsets(consumer, prefix) {
        Ok(offsets) => offsets.values().sum(),
        Err(error) => panic!("reading the engine's committed offsets: {error}"),
    }
}

/// Runs the soak; whether the final views equal `process`'s.
pub fn soak(options: &Options, dir: &Path) -> bool {
    let prefix = unique_prefix("soak");
    create_topics(&options.brokers, &prefix);
    let started = Instant::now();
    let log = soak_log(options);
    let bytes: usize = log.live.iter().map(|r| r.payload.len()).sum();
    println!(
        "soak: {} events with {} replays each; {} setup records and {} live records ({:.0} MiB) \
         generated in {:.1} s; the stream: {} records/s for {} s",
        options.soak_events,
        options.soak_replays,
        log.setup.len(),
        log.live.len(),
        bytes as f64 / f64::from(1 << 20),
        started.elapsed().as_secs_f64(),
        options.soak_rate,
        options.soak_seconds
    );
    produce_all(&options.brokers, &prefix, &log.setup);
    let setup_records = log.setup.len() as i64;

    let out = dir.join("soak-out");
    let stderr = dir.join("soak-engine.stderr");
    let stdout = dir.join("soak-engine.stdout");
    let stats_path = dir.join("soak-epochs.jsonl");
    let ids = format!("{prefix}engine");
    let binary = Command::new(env!("CARGO_BIN_EXE_reeltime"));
    let mut engine = engine_command(&binary, options, &prefix, &ids, &out, "0")
        .env("REELTIME__ENGINE__EPOCH_STATS_FILE", &stats_path)
        .stdout(File::create(&stdout).expect("the engine's stdout file"))
        .stderr(File::create(&stderr).expect("the engine's stderr file"))
        .spawn()
        .expect("reeltime runs");
    let pid = engine.id();
    let offsets = plain_consumer(&options.brokers, &ids);
    let engine_failed = |engine: &mut std::process::Child| {
        engine.try_wait().expect("the engine can be waited for").is_some()
    };

    let setup_started = Instant::now();
    while total_committed(&offsets, &prefix) < setup_records {
        assert!(
            setup_started.elapsed() < SETUP_LIMIT && !engine_failed(&mut engine),
            "the engine did not take in the setup within {SETUP_LIMIT:?}; stderr in {}",
            stderr.display()
        );
        thread::sleep(Duration::from_millis(200));
    }
    let (setup_rss_kib, _) = memory_kib(pid).expect("the engine's memory");
    println!(
        "soak: engine took in the setup in {:.1} s; RSS {:.0} MiB",
        setup_started.elapsed().as_secs_f64(),
        setup_rss_kib as f64 / 1024.0
    );

    let interval = Duration::from_secs(options.soak_sample_seconds);
    let mut stats = EpochStatsTail::new(&stats_path);
    let setup_epochs = stats.new_epochs().len();
    let live_records = log.live.len() as u64;
    let produced = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let stream_started = Instant::now();
    let mut stream = Some({
        let (brokers, prefix, rate) = (options.brokers.clone(), prefix.clone(), options.soak_rate);
        let (produced, stop) = (produced.clone(), stop.clone());
        thread::spawn(move || paced_stream(&brokers, &prefix, log, rate, &produced, &stop))
    });
    let join = |stream: thread::JoinHandle<Duration>| stream.join().expect("the producer ends");

    let mut epochs = 0u64;
    let mut records_in_epochs = 0u64;
    let mut samples: Vec<Sample> = vec![Sample {
        t: 0.0,
        produced: 0,
        held: setup_records,
        committed: setup_records,
        epochs: 0,
        rss_kib: setup_rss_kib,
        streaming: true,
    }];
    let mut stream_time = None;
    println!(
        "{:>7} {:>10} {:>10} {:>10} {:>9} {:>7} {:>8} {:>9} {:>10} {:>10} {:>8}",
        "t s",
        "produced",
        "in topics",
        "committed",
        "lag",
        "lag s",
        "epochs",
        "in rec/s",
        "epoch ms",
        "record ms",
        "RSS MiB"
    );
    println!(
        "  (lag: records in the input topics not yet committed by the engine; in rec/s: \
         committed per second since the last row; epoch ms: the slowest epoch since then, \
         closed to published; record ms: the slowest writing of logs and output files)"
    );
    // While the stream runs, a sample every interval; then every 250 ms until the engine has
    // caught up (a row is printed every interval and at the end).
    let drain_step = Duration::from_millis(250);
    let mut printed = (0.0, setup_records);
    // The slowest epoch and recording since the last printed row.
    let mut slowest = (0.0f64, 0.0f64);
    let caught_up = loop {
        let streaming = produced.load(Ordering::Relaxed) < live_records;
        let now = stream_started.elapsed().as_secs_f64();
        let due = if streaming {
            // The next point of the grid, at least half an interval after the last sample (a
            // point missed while the machine was busy is skipped).
            let ticks = now / interval.as_secs_f64();
            let last = samples.last().map_or(0.0, |s| s.t);
            (interval.as_secs_f64() * (ticks.floor() + 1.0))
                .max(last + interval.as_secs_f64() / 2.0)
        } else {
            now + drain_step.as_secs_f64()
        };
        thread::sleep(Duration::from_secs_f64(due).saturating_sub(stream_started.elapsed()));
        if let Some(finished) = stream.take_if(|s| s.is_finished()) {
            stream_time = Some(join(finished));
        }
        // Committed first: the end offsets read after it can only be later, so the lag >= 0.
        let t = stream_started.elapsed().as_secs_f64();
        let committed = total_committed(&offsets, &prefix);
        let produced_now = produced.load(Ordering::Relaxed);
        let held: i64 = input_end_offsets(&options.brokers, &prefix).values().sum();
        let new = stats.new_epochs();
        epochs += new.len() as u64;
        records_in_epochs += new.iter().map(|e| e.records).sum::<u64>();
        let slowest_epoch_ms =
            new.iter().map(|e| (e.published_us - e.closed_us) as f64 / 1000.0).fold(0.0, f64::max);
        let slowest_record_ms = new
            .iter()
            .map(|e| (e.recorded_us - e.published_us) as f64 / 1000.0)
            .fold(0.0, f64::max);
        slowest = (slowest.0.max(slowest_epoch_ms), slowest.1.max(slowest_record_ms));
        let Some((rss_kib, _)) = memory_kib(pid) else { break false };
        let sample = Sample {
            t,
            produced: produced_now,
            held,
            committed,
            epochs,
            rss_kib,
            streaming: produced_now < live_records,
        };
        // Caught up: every record queued, held by the broker and committed by the engine (the
        // producer thread may still be tearing down).
        let done = !sample.streaming
            && sample.held == setup_records + live_records as i64
            && sample.lag() == 0;
        if sample.streaming || done || t >= printed.0 + interval.as_secs_f64() {
            let rate_in = (sample.committed - printed.1) as f64 / (sample.t - printed.0);
            println!(
                "{:>7.1} {:>10} {:>10} {:>10} {:>9} {:>7.2} {:>8} {:>9.0} {:>10.1} {:>10.1} \
                 {:>8.0}{}",
                sample.t,
                sample.produced,
                sample.held,
                sample.committed,
                sample.lag(),
                sample.lag() as f64 / options.soak_rate as f64,
                sample.epochs,
                rate_in,
                slowest.0,
                slowest.1,
                sample.rss_kib as f64 / 1024.0,
                if sample.streaming { "" } else { "  (stream ended)" }
            );
            printed = (sample.t, sample.committed);
            slowest = (0.0, 0.0);
        }
        samples.push(sample);
        if done {
            break true;
        }
        if engine_failed(&mut engine) {
            println!("soak: the engine exited; its stderr is in {}", stderr.display());
            break false;
        }
        let draining_for = stream_time.map(|time| t - time.as_secs_f64());
        if draining_for.is_some_and(|s| s > DRAIN_LIMIT.as_secs_f64()) {
            println!(
                "soak: the engine did not catch up within {DRAIN_LIMIT:?} of the stream's end"
            );
            break false;
        }
    };
    stop.store(true, Ordering::Relaxed);
    let stream_time = stream_time.unwrap_or_else(|| join(stream.take().expect("running")));
    let (end_rss_kib, end_hwm_kib) = memory_kib(pid).unwrap_or((0, 0));
    let load_average = load_now();
    terminate(&engine);
    let stopped = wait_bounded(&mut engine, Duration::from_secs(300));
    let summary = std::fs::read_to_string(&stdout).unwrap_or_default();
    let last_epochs = stats.new_epochs();
    epochs += last_epochs.len() as u64;
    records_in_epochs += last_epochs.iter().map(|e| e.records).sum::<u64>();

    println!();
    println!(
        "soak: stream of {} records in {:.1} s ({:.0} records/s); load average {load_average}; \
         engine stopped cleanly on SIGTERM: {stopped}; {epochs} live epochs after the setup's \
         {setup_epochs} took {} records",
        produced.load(Ordering::Relaxed),
        stream_time.as_secs_f64(),
        produced.load(Ordering::Relaxed) as f64 / stream_time.as_secs_f64(),
        records_in_epochs
    );
    for line in summary.lines() {
        println!("  engine: {line}");
    }
    report_lag(&samples, options, stream_time.as_secs_f64(), caught_up);
    let retained = samples.last().map_or(0, |s| s.committed);
    report_memory(setup_rss_kib, setup_records, end_rss_kib, end_hwm_kib, retained);
    let equal = compare_with_process(options, &prefix, &ids, dir);
    caught_up && stopped && equal
}

/// Whether the lag stayed bounded: the first and the last stretch of the stream (a minute,
/// or a quarter of a shorter stream; the first without the sample at its start), the largest
/// lag, and the catch-up at the end.
fn report_lag(samples: &[Sample], options: &Options, ended_at: f64, caught_up: bool) {
    let streaming: Vec<&Sample> = samples.iter().filter(|s| s.streaming).collect();
    let (Some(first), Some(last)) = (streaming.first(), streaming.last()) else {
        println!("  lag: no sample while the stream ran");
        return;
    };
    let window = (options.soak_seconds as f64 / 4.0).min(60.0);
    let stretch = |from: f64, to: f64| -> (i64, f64) {
        let lags: Vec<i64> =
            streaming.iter().filter(|s| s.t > from && s.t <= to).map(|s| s.lag()).collect();
        let max = lags.iter().copied().max().unwrap_or(0);
        (max, lags.iter().sum::<i64>() as f64 / lags.len().max(1) as f64)
    };
    let (first_max, first_mean) = stretch(0.0, window);
    let (last_max, last_mean) = stretch(last.t - window, last.t);
    let worst = streaming.iter().max_by_key(|s| s.lag()).expect("not empty");
    let rate = options.soak_rate as f64;
    let taken = (last.committed - first.committed) as f64 / (last.t - first.t).max(1e-9);
    // At most the polling step late; never before the end (the producer's clock starts a
    // little after the bench's).
    let drain = caught_up.then(|| (samples.last().map_or(0.0, |s| s.t) - ended_at).max(0.0));
    println!(
        "  lag (records not yet committed; in seconds of input at {rate:.0}/s): largest {} \
         ({:.2} s) at {:.0} s; first {window:.0} s: max {first_max} ({:.2} s), mean {first_mean:.0}; \
         last {window:.0} s: max {last_max} ({:.2} s), mean {last_mean:.0}",
        worst.lag(),
        worst.lag() as f64 / rate,
        worst.t,
        first_max as f64 / rate,
        last_max as f64 / rate,
    );
    println!(
        "  committed while streaming: {taken:.0} records/s; caught up (lag 0, polled every 250 ms) \
         {} after the last record was queued at {ended_at:.1} s",
        match drain {
            Some(seconds) => format!("{seconds:.1} s"),
            None => "never (within the drain limit)".to_owned(),
        }
    );
    let bounded = caught_up && last_mean <= 2.0 * first_mean + rate;
    println!(
        "  keeps up (the last stretch's mean lag at most twice the first's plus 1 s of input, \
         and caught up at the end): {}",
        if bounded { "yes" } else { "no" }
    );
}

/// RSS per retained record: the engine keeps every record it has taken in (no event ends).
fn report_memory(setup_kib: u64, setup_records: i64, end_kib: u64, hwm_kib: u64, retained: i64) {
    let per_record = end_kib as f64 * 1024.0 / retained.max(1) as f64;
    let marginal =
        (end_kib as f64 - setup_kib as f64) * 1024.0 / (retained - setup_records).max(1) as f64;
    println!(
        "  memory: RSS {:.0} MiB at the end (peak {:.0} MiB, {:.0} MiB after the setup) for {} \
         retained records: {per_record:.0} bytes per record, {marginal:.0} bytes per live \
         record beyond the setup's RSS (goal <= {GOAL_BYTES_PER_RECORD:.0}: {})",
        end_kib as f64 / 1024.0,
        hwm_kib as f64 / 1024.0,
        setup_kib as f64 / 1024.0,
        retained,
        if per_record <= GOAL_BYTES_PER_RECORD { "met" } else { "missed" }
    );
}

// ---------------------------------------------------------------------------------------------
// The final views against `reeltime process`

/// A consumer that reads whole topics and says where a partition ends.
fn reader(brokers: &str, prefix: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{prefix}reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create()
        .expect("a consumer")
}

/// Reads partitions of `topic` from their beginning up to `(partition, stop)` offsets
/// (exclusive) or their end, whichever comes first, in offset order per partition.
fn read_topic(
    brokers: &str,
    prefix: &str,
    topic: &str,
    stops: &[(i32, i64)],
    mut each: impl FnMut(i32, i64, i64, Option<&[u8]>, Option<&[u8]>),
) {
    let mut open: BTreeMap<i32, i64> = stops.iter().copied().filter(|(_, s)| *s > 0).collect();
    if open.is_empty() {
        return;
    }
    let consumer = reader(brokers, prefix);
    let mut list = TopicPartitionList::new();
    for partition in open.keys() {
        list.add_partition_offset(topic, *partition, Offset::Beginning).expect("a partition");
    }
    consumer.assign(&list).expect("the reader is assigned its partitions");
    let deadline = Instant::now() + READ_LIMIT;
    while !open.is_empty() {
        assert!(Instant::now() < deadline, "reading {topic} took more than {READ_LIMIT:?}");
        match consumer.poll(Duration::from_millis(500)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                open.remove(&partition);
            }
            Some(Err(error)) => panic!("reading {topic}: {error}"),
            Some(Ok(message)) => {
                let partition = message.partition();
                let Some(stop) = open.get(&partition).copied() else { continue };
                if message.offset() >= stop {
                    open.remove(&partition);
                    continue;
                }
                let append_ms = match message.timestamp() {
                    Timestamp::LogAppendTime(ms) | Timestamp::CreateTime(ms) => ms,
                    Timestamp::NotAvailable => 0,
                };
                each(partition, message.offset(), append_ms, message.key(), message.payload());
                if message.offset() + 1 >= stop {
                    open.remove(&partition);
                }
            }
        }
    }
}

/// Where a record is in "latest" order: append time (non-decreasing per partition), topic
/// (the engine's order), rank in its partition within that millisecond; then partition and
/// offset, which only tell records of different keys apart.
type LatestOrder = (u64, usize, u32, i32, i64);

/// The input records up to the engine's committed offsets, as a JSON Lines log in the order
/// "latest" means to the engine (`connectors/src/kafka/source.rs`): the broker's append time,
/// made non-decreasing per partition, then the topic, then the message's rank among its
/// partition's messages of that millisecond. Records of one key share a partition, so this is
/// their offset order; across partitions it is the order the broker received them in.
fn write_consumed_log(brokers: &str, prefix: &str, ids: &str, path: &Path) -> usize {
    let committed = committed_offsets(&plain_consumer(brokers, ids), prefix)
        .expect("the engine's committed offsets");
    let mut records: Vec<(LatestOrder, Box<[u8]>)> = Vec::new();
    for (topic_index, (topic, _)) in INPUT_TOPICS.iter().enumerate() {
        let name = format!("{prefix}{topic}");
        let stops: Vec<(i32, i64)> = committed
            .iter()
            .filter(|((t, _), _)| *t == name)
            .map(|((_, partition), offset)| (*partition, *offset))
            .collect();
        let mut clocks: HashMap<i32, (u64, u32)> = HashMap::new();
        read_topic(brokers, prefix, &name, &stops, |partition, offset, append_ms, _, payload| {
            let clock = clocks.entry(partition).or_insert((0, 0));
            let millis = u64::try_from(append_ms).unwrap_or(0);
            if millis > clock.0 {
                *clock = (millis, 0);
            } else {
                clock.1 += 1;
            }
            let order = (clock.0, topic_index, clock.1, partition, offset);
            records.push((order, payload.unwrap_or_default().into()));
        });
    }
    records.sort_unstable_by_key(|(order, _)| *order);
    let mut file = BufWriter::new(File::create(path).expect("the log file"));
    for (_, payload) in &records {
        file.write_all(payload).expect("writing the log");
        file.write_all(b"\n").expect("writing the log");
    }
    file.flush().expect("writing the log");
    records.len()
}

/// The latest message per key of an output topic (a tombstone removes its key), and the
/// messages read.
fn latest_per_key(
    brokers: &str,
    prefix: &str,
    topic: &str,
    mut each: impl FnMut(&str, &Value),
) -> (BTreeMap<String, Value>, usize) {
    let mut latest = BTreeMap::new();
    let mut messages = 0;
    read_topic(brokers, prefix, &format!("{prefix}{topic}"), &[(0, i64::MAX)], |_, _, _, k, v| {
        messages += 1;
        let key = String::from_utf8_lossy(k.unwrap_or_default()).into_owned();
        match v {
            Some(value) => {
                let value: Value = serde_json::from_slice(value).expect("JSON views");
                each(&key, &value);
                latest.insert(key, value)
            }
            None => latest.remove(&key),
        };
    });
    (latest, messages)
}

/// Compares what is the same on both sides; prints the count of equal, differing and
/// one-sided keys and a few examples.
fn compare(
    what: &str,
    published: &BTreeMap<String, Value>,
    expected: &BTreeMap<String, Value>,
) -> bool {
    let mut differing = Vec::new();
    let mut only_published = Vec::new();
    for (key, view) in published {
        match expected.get(key) {
            Some(other) if other == view => {}
            Some(_) => differing.push(key),
            None => only_published.push(key),
        }
    }
    let only_expected: Vec<&String> =
        expected.keys().filter(|key| !published.contains_key(*key)).collect();
    let equal = differing.is_empty() && only_published.is_empty() && only_expected.is_empty();
    println!(
        "  {what}: {} published, {} from process; {} equal, {} differ, {} only published, {} \
         only in process: {}",
        published.len(),
        expected.len(),
        published.len() - differing.len() - only_published.len(),
        differing.len(),
        only_published.len(),
        only_expected.len(),
        if equal { "equal" } else { "NOT equal" }
    );
    for key in differing.iter().take(3) {
        let short = |v: &Value| v.to_string().chars().take(400).collect::<String>();
        println!("    {key}: published {}", short(&published[*key]));
        println!("    {key}: process   {}", short(&expected[*key]));
    }
    for key in only_published.iter().chain(&only_expected).take(3) {
        println!("    only on one side: {key}");
    }
    equal
}

/// Runs `reeltime process` on the records the engine took in and compares its replay and
/// segment views with the latest ones on the output topics.
fn compare_with_process(options: &Options, prefix: &str, ids: &str, dir: &Path) -> bool {
    let started = Instant::now();
    let log = dir.join("soak-consumed.jsonl");
    let lines = write_consumed_log(&options.brokers, prefix, ids, &log);
    println!(
        "soak: {lines} consumed records read back and written as a log in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let process_out = dir.join("soak-process");
    let time_file = dir.join("soak-process.time");
    let process_stderr = dir.join("soak-process.stderr");
    let mut process = Command::new(TIME)
        .arg("-o")
        .arg(&time_file)
        .args(["-f", "%e %U %S %M", env!("CARGO_BIN_EXE_reeltime"), "process", "--quiet"])
        .arg("--log")
        .arg(&log)
        .arg("--out")
        .arg(&process_out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&process_stderr).expect("process's stderr file"))
        .spawn()
        .expect("reeltime process runs");
    let succeeded = wait_bounded(&mut process, PROCESS_LIMIT);
    assert!(
        succeeded,
        "reeltime process failed or took over {PROCESS_LIMIT:?}: {}",
        std::fs::read_to_string(&process_stderr).unwrap_or_default()
    );
    let time = std::fs::read_to_string(&time_file).unwrap_or_default();
    let fields: Vec<f64> = time.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    if let [wall, user, system, rss_kib] = fields[..] {
        println!(
            "soak: reeltime process on them: {wall:.1} s, {:.1} CPU s, peak RSS {:.0} MiB \
             ({:.0} records/s)",
            user + system,
            rss_kib / 1024.0,
            lines as f64 / wall
        );
    }

    let started = Instant::now();
    // Every replay's versions must be 1, 2, 3, ... each once (exactly once across epochs).
    let mut last_versions: HashMap<String, u64> = HashMap::new();
    let mut out_of_sequence = 0usize;
    let (replays, replay_messages) =
        latest_per_key(&options.brokers, prefix, "replays", |replay_id, view| {
            let version = view["version"].as_u64().unwrap_or(0);
            let last = last_versions.entry(replay_id.to_owned()).or_insert(0);
            if version != *last + 1 {
                out_of_sequence += 1;
            }
            *last = version;
        });
    let (segments, segment_messages) = latest_per_key(&options.brokers, prefix, "clips", |_, _| {});
    println!(
        "soak: read back {replay_messages} replay versions and {segment_messages} segment views \
         in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let without = |mut view: Value, field: &str| {
        if let Some(object) = view.as_object_mut() {
            object.remove(field);
        }
        view
    };

    // Versions count epochs, which differ between the modes.
    let published_replays: BTreeMap<String, Value> =
        replays.into_iter().map(|(id, view)| (id, without(view, "version"))).collect();
    let mut expected_replays = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(process_out.join("replays")) {
        for entry in entries {
            let entry = entry.expect("a replay directory");
            let text = std::fs::read_to_string(entry.path().join("selection.json"))
                .expect("process wrote the replay's selection.json");
            let view = serde_json::from_str(&text).expect("selection.json is JSON");
            expected_replays
                .insert(entry.file_name().to_string_lossy().into_owned(), without(view, "version"));
        }
    }

    // The segment views are segments.json's entries plus the event id, keyed by
    // `<event_id>/<start seconds, 3 decimals>`.
    let published_segments: BTreeMap<String, Value> =
        segments.into_iter().map(|(key, view)| (key, without(view, "event_id"))).collect();
    let mut expected_segments = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(process_out.join("events")) {
        for entry in entries {
            let entry = entry.expect("an event directory");
            let event_id = entry.file_name().to_string_lossy().into_owned();
            let Ok(text) = std::fs::read_to_string(entry.path().join("segments.json")) else {
                continue;
            };
            let doc: Value = serde_json::from_str(&text).expect("segments.json is JSON");
            for segment in doc["segments"].as_array().into_iter().flatten() {
                let start = segment["start"].as_f64().expect("a segment's start");
                expected_segments.insert(format!("{event_id}/{start:.3}"), segment.clone());
            }
        }
    }
    println!("soak: the final views against reeltime process on the same records");
    let replays_equal = compare("replay views", &published_replays, &expected_replays);
    let segments_equal = compare("segment views", &published_segments, &expected_segments);
    println!(
        "  replay versions: {out_of_sequence} of {replay_messages} out of sequence (each replay's \
         must be 1, 2, 3, ... once each)"
    );
    replays_equal && segments_equal && out_of_sequence == 0
}
