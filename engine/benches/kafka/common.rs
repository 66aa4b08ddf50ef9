//! What the parts of the Kafka bench share: topics under a prefix of their own, producing,
//! reading outputs as they arrive, running the engine, its epoch stats, and the machine.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::{Rng, RngExt};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use reeltime_connectors::kafka::publish::{home_topic, record_key};
use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;
use serde_json::Value;

use crate::synthetic_match::{synthetic_match, MatchShape};
use crate::Options;

/// The input topics and their partitions (detections spread over 6, as a busy event would),
/// in the engine's topic order (`Topic::INPUTS`), which "latest" uses after the append time.
pub const INPUT_TOPICS: [(&str, i32); 4] =
    [("control", 1), ("chunks", 2), ("segments", 2), ("detections", 6)];
/// The output topics, one partition each, so a watcher reads partition 0.
pub const OUTPUT_TOPICS: [&str; 4] = ["clips", "replays", "notifications", "dead-letter"];
/// `/usr/bin/time`, for CPU seconds and peak RSS of a child.
pub const TIME: &str = "/usr/bin/time";

/// A record to produce: its input topic (without prefix), key and JSON text.
pub struct Outgoing {
    pub topic: &'static str,
    pub key: String,
    pub payload: String,
}

impl Outgoing {
    /// Routes a record as a publisher would: by type to its input topic, keyed by its event
    /// (a profile by name, a replay by id).
    pub fn routed(payload: String) -> Outgoing {
        let (topic, key) = route(&payload);
        Outgoing { topic, key, payload }
    }
}

/// The input topic and key of a generated record, as `reeltime publish` routes it.
pub fn route(payload: &str) -> (&'static str, String) {
    let record = reeltime_schemas::decode(payload.as_bytes(), DEFAULT_MAX_RECORD_BYTES)
        .expect("generated records are valid");
    (home_topic(&record).suffix(), record_key(&record).to_owned())
}

/// A topic prefix of its own for each part of each bench run.
pub fn unique_prefix(part: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("bench{}-{}-{part}.", std::process::id(), nanos % 1_000_000_000)
}

pub fn create_topics(brokers: &str, prefix: &str) {
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

/// Matches that start within 30 minutes of each other (an offset drawn from `rng` for each, in
/// turn), their lines interleaved by publication time, as a platform carrying them at once
/// publishes them.
pub fn interleaved(
    shapes: impl IntoIterator<Item = MatchShape>,
    rng: &mut impl Rng,
) -> Vec<String> {
    let mut lines = Vec::new();
    for shape in shapes {
        let offset_ms = rng.random_range(0..30 * 60_000);
        lines.extend(
            synthetic_match(&shape).into_iter().map(|l| (l.published_ms + offset_ms, l.json)),
        );
    }
    lines.sort_by_key(|(published_ms, _)| *published_ms);
    lines.into_iter().map(|(_, json)| json).collect()
}

/// A producer that batches: `linger_ms` trades latency for throughput.
pub fn producer(brokers: &str, linger_ms: u32) -> BaseProducer {
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
pub fn send(producer: &BaseProducer, prefix: &str, record: &Outgoing) {
    send_to(producer, prefix, record.topic, &record.key, &record.payload);
}

/// Queues `payload` under `key` to the input topic `topic` (without prefix).
pub fn send_to(producer: &BaseProducer, prefix: &str, topic: &str, key: &str, payload: &str) {
    let topic = format!("{prefix}{topic}");
    let mut message = BaseRecord::to(&topic).key(key).payload(payload);
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
pub fn produce_all(brokers: &str, prefix: &str, records: &[Outgoing]) -> Duration {
    let started = Instant::now();
    let held_before = input_end_offsets(brokers, prefix).values().sum::<i64>();
    let producer = producer(brokers, 20);
    for record in records {
        send(&producer, prefix, record);
    }
    producer.flush(Duration::from_secs(300)).expect("every record is delivered");
    let elapsed = started.elapsed();
    let held = input_end_offsets(brokers, prefix).values().sum::<i64>() - held_before;
    assert_eq!(held as usize, records.len(), "the input topics hold every produced record");
    elapsed
}

/// Every input partition under `prefix`.
pub fn input_partitions(prefix: &str) -> Vec<(String, i32)> {
    INPUT_TOPICS
        .iter()
        .flat_map(|(topic, partitions)| {
            (0..*partitions).map(move |p| (format!("{prefix}{topic}"), p))
        })
        .collect()
}

pub fn plain_consumer(brokers: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .expect("a consumer")
}

/// The offset after the last message of a partition.
pub fn end_offset(brokers: &str, topic: &str, partition: i32) -> i64 {
    plain_consumer(brokers, "reeltime-bench-watermarks")
        .fetch_watermarks(topic, partition, Duration::from_secs(30))
        .expect("the broker tells the watermarks")
        .1
}

/// The end offset of every input partition under `prefix`.
pub fn input_end_offsets(brokers: &str, prefix: &str) -> BTreeMap<(String, i32), i64> {
    let consumer = plain_consumer(brokers, "reeltime-bench-watermarks");
    input_partitions(prefix)
        .into_iter()
        .map(|(topic, partition)| {
            let (_, high) = consumer
                .fetch_watermarks(&topic, partition, Duration::from_secs(30))
                .expect("the broker tells the watermarks");
            ((topic, partition), high)
        })
        .collect()
}

/// The offsets committed for `group` on every input partition under `prefix` (0 where none).
pub fn committed_offsets(
    consumer: &BaseConsumer,
    prefix: &str,
) -> Result<BTreeMap<(String, i32), i64>, KafkaError> {
    let mut list = TopicPartitionList::new();
    for (topic, partition) in input_partitions(prefix) {
        list.add_partition(&topic, partition);
    }
    let committed = consumer.committed_offsets(list, Duration::from_secs(10))?;
    Ok(committed
        .elements()
        .iter()
        .map(|element| {
            let offset = match element.offset() {
                Offset::Offset(offset) => offset,
                _ => 0,
            };
            ((element.topic().to_owned(), element.partition()), offset)
        })
        .collect())
}

/// Microseconds since the Unix epoch, the unit of the engine's epoch stats.
pub fn unix_us(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

pub fn now_us() -> i64 {
    unix_us(SystemTime::now())
}

/// A message that reached a watcher, when it arrived (wall-clock time, as the epoch stats).
pub struct Arrival {
    pub wall_us: i64,
    pub topic: String,
    pub payload: Vec<u8>,
}

/// What a watcher has seen.
#[derive(Default)]
pub struct Seen {
    /// The kept messages, in arrival order.
    pub arrivals: Vec<Arrival>,
    /// Per topic: messages, and when the last one arrived.
    pub per_topic: BTreeMap<String, (u64, Instant)>,
}

/// Reads output topics with `read_committed` on a thread of its own, noting when each message
/// arrives; only the payloads that contain `keep` are kept.
pub struct Watcher {
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Watcher {
    /// Watches `topics` (suffixes) under `prefix` from their current ends.
    pub fn start(
        brokers: &str,
        prefix: &str,
        topics: &[&str],
        keep: Option<&'static str>,
    ) -> Watcher {
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
                    let (at, wall_us) = (Instant::now(), now_us());
                    let topic = message.topic().to_owned();
                    let mut seen = seen.lock().unwrap();
                    let entry = seen.per_topic.entry(topic.clone()).or_insert((0, at));
                    *entry = (entry.0 + 1, at);
                    let payload = message.payload().unwrap_or_default();
                    let wanted = keep.map(str::as_bytes).is_some_and(|needle| {
                        payload.windows(needle.len()).any(|window| window == needle)
                    });
                    if wanted {
                        let payload = payload.to_vec();
                        seen.arrivals.push(Arrival { wall_us, topic, payload });
                    }
                }
            })
        };
        Watcher { seen, stop, thread }
    }

    /// The kept arrivals from index `from` on, parsed by `parse`.
    pub fn parsed_since<T>(&self, from: usize, parse: impl Fn(&Arrival) -> T) -> Vec<T> {
        let seen = self.seen.lock().unwrap();
        seen.arrivals[from.min(seen.arrivals.len())..].iter().map(parse).collect()
    }

    /// Stops reading; returns what it saw.
    pub fn finish(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the watcher thread ends");
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// `reeltime run` (`binary`: the one cargo builds with this bench, perhaps under
/// `/usr/bin/time`) on the topics under `prefix`, with group and transactional id `ids`.
pub fn engine_command(
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
        .args(["--until-idle", until_idle]);
    if let Some(config) = &options.engine_config {
        command.arg("--config").arg(config);
    }
    command
        // No HTTP API: benches run engines side by side.
        .env("REELTIME__SERVICE__LISTEN", "")
        .env("REELTIME__KAFKA__TOPIC_PREFIX", prefix)
        .env("REELTIME__KAFKA__GROUP_ID", ids)
        .env("REELTIME__KAFKA__TRANSACTIONAL_ID", ids)
        .env("REELTIME__ENGINE__EPOCH_MS", options.epoch_ms.to_string())
        // The synthetic chunks name no real media; this measures the dataflow.
        .env("REELTIME__RENDER__ENABLED", "false")
        .stdin(Stdio::null());
    command
}

/// Waits for `child` up to `limit` (then kills it); whether it exited successfully.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("the engine can be waited for") {
            return status.success();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Sends SIGTERM to the engine, which finishes its current epoch and exits.
pub fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill sends SIGTERM");
    assert!(status.success(), "kill -TERM {} failed", child.id());
}

/// `VmRSS` and `VmHWM` (peak) of a process, in KiB, from `/proc/<pid>/status`.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|line| {
            line.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// User + system CPU seconds of a process so far, from `/proc/<pid>/stat` (in clock ticks of
/// 1/100 s, the value of `getconf CLK_TCK` on Linux).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) start with the state.
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// One live epoch of the engine, as it appends them to `engine.epoch_stats_file`: its moments
/// in microseconds since the Unix epoch.
#[derive(Clone, Copy, Debug)]
pub struct EpochStat {
    pub epoch: u64,
    pub records: u64,
    pub closed_us: i64,
    pub computed_us: i64,
    pub published_us: i64,
    pub recorded_us: i64,
}

impl EpochStat {
    fn parse(line: &str) -> EpochStat {
        let doc: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("an epoch stats line is JSON ({e}): {line}"));
        let field = |name: &str| {
            doc[name].as_u64().unwrap_or_else(|| panic!("epoch stats without {name:?}: {line}"))
        };
        EpochStat {
            epoch: field("epoch"),
            records: field("records"),
            closed_us: field("closed_us") as i64,
            computed_us: field("computed_us") as i64,
            published_us: field("published_us") as i64,
            recorded_us: field("recorded_us") as i64,
        }
    }
}

/// Reads the epoch stats file as the engine appends to it: whole lines only.
pub struct EpochStatsTail {
    path: std::path::PathBuf,
    read: usize,
}

impl EpochStatsTail {
    pub fn new(path: &Path) -> EpochStatsTail {
        EpochStatsTail { path: path.to_owned(), read: 0 }
    }

    /// The epochs appended since the last call.
    pub fn new_epochs(&mut self) -> Vec<EpochStat> {
        let text = std::fs::read(&self.path).unwrap_or_default();
        let Some(end) = text.iter().rposition(|b| *b == b'\n').map(|i| i + 1) else {
            return Vec::new();
        };
        if end <= self.read {
            return Vec::new();
        }
        let new = String::from_utf8_lossy(&text[self.read..end]).into_owned();
        self.read = end;
        new.lines().filter(|l| !l.trim().is_empty()).map(EpochStat::parse).collect()
    }
}

/// The `q` quantile (nearest rank) of some values, which it sorts.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_unstable_by(f64::total_cmp);
    values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1]
}

/// The machine the numbers come from: cores, memory, and its load now.
pub fn print_machine() {
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total_gib = memory
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:")?.trim().strip_suffix("kB")?.trim().parse().ok())
        .map_or(0.0, |kib: f64| kib / f64::from(1 << 20));
    println!(
        "machine: {cores} cores, {total_gib:.1} GiB; load average (1, 5, 15 min) {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
}

/// The 1-minute load average now.
pub fn load_now() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned()
}
