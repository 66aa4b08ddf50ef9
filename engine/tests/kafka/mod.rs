//! What the tests against a real Kafka broker share: the broker's address, topics under a
//! prefix of their own, reading topics back with kcat, and running `reeltime run`.

// Each test binary that includes this module uses only some of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use serde_json::Value;

/// The broker of the tests, or `None` (with a message) when there is none.
pub fn broker() -> Option<String> {
    match std::env::var("REELTIME_KAFKA_BROKERS") {
        Ok(brokers) if !brokers.is_empty() => Some(brokers),
        _ => {
            assert!(
                std::env::var_os("REELTIME_REQUIRE_KAFKA").is_none_or(|v| v != "1"),
                "REELTIME_REQUIRE_KAFKA=1 but REELTIME_KAFKA_BROKERS is not set: start a broker \
                 with `scripts/kafka-local start`"
            );
            eprintln!(
                "skipped: no Kafka broker (set REELTIME_KAFKA_BROKERS, see scripts/kafka-local)"
            );
            None
        }
    }
}

/// A topic prefix no other test run uses.
pub fn unique_prefix(test: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("t{}-{test}-{}.", std::process::id(), nanos % 1_000_000_000)
}

/// Creates the eight topics under `prefix` with `reeltime topics create`, inputs with two
/// partitions.
pub fn create_topics(brokers: &str, prefix: &str) {
    create_topics_with(brokers, prefix, 2);
}

/// Creates the eight topics under `prefix`, inputs with `partitions` partitions.
pub fn create_topics_with(brokers: &str, prefix: &str, partitions: u32) {
    let partitions = partitions.to_string();
    let output = reeltime(
        &[
            "topics",
            "create",
            "--brokers",
            brokers,
            "--prefix",
            prefix,
            "--partitions",
            &partitions,
        ],
        &[],
    );
    assert!(output.status.success(), "topics create: {}", String::from_utf8_lossy(&output.stderr));
}

/// Every message of a topic as `(partition, offset, key, value)`, read with kcat in
/// `read_committed` isolation.
pub fn consume(brokers: &str, topic: &str) -> Vec<(i32, i64, String, Option<Value>)> {
    consume_text(brokers, topic)
        .into_iter()
        .map(|(p, o, k, v)| (p, o, k, v.map(|text| serde_json::from_str(&text).unwrap())))
        .collect()
}

/// Every message of a topic with its value as text.
pub fn consume_text(brokers: &str, topic: &str) -> Vec<(i32, i64, String, Option<String>)> {
    let output = Command::new("kcat")
        .args([
            "-C",
            "-b",
            brokers,
            "-X",
            "isolation.level=read_committed",
            "-o",
            "beginning",
            "-e",
        ])
        .args(["-Z", "-f", "%p\t%o\t%k\t%S\t%s\n", "-t", topic])
        .output()
        .expect("kcat runs");
    assert!(
        output.status.success(),
        "kcat -C {topic}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut fields = line.splitn(5, '\t');
            let partition = fields.next().unwrap().parse().unwrap();
            let offset = fields.next().unwrap().parse().unwrap();
            let key = fields.next().unwrap().to_owned();
            let size: i64 = fields.next().unwrap().parse().unwrap();
            let value = (size >= 0).then(|| fields.next().unwrap_or_default().to_owned());
            (partition, offset, key, value)
        })
        .collect()
}

pub fn reeltime(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

/// `reeltime run` on the topics under `prefix` until its inputs are idle for `until_idle`
/// seconds (0: until stopped), with a group and transactional id of the prefix's own, and
/// rendering off: the example's chunks name no real media, and these runs compare their
/// views with `reeltime process`, which renders nothing either (`kafka_render.rs` renders).
pub fn engine_command(brokers: &str, prefix: &str, out: &Path, until_idle: &str) -> Command {
    let mut command = rendering_engine_command(brokers, prefix, out, until_idle);
    command.env("REELTIME__RENDER__ENABLED", "false");
    command
}

/// [`engine_command`] with rendering on.
pub fn rendering_engine_command(
    brokers: &str,
    prefix: &str,
    out: &Path,
    until_idle: &str,
) -> Command {
    let ids = format!("{prefix}engine");
    let mut command = Command::new(env!("CARGO_BIN_EXE_reeltime"));
    command
        .args(["run", "--brokers", brokers, "--out", out.to_str().unwrap()])
        .args(["--until-idle", until_idle])
        // No HTTP API (tests run engines side by side); `--listen` turns it on.
        .env("REELTIME__SERVICE__LISTEN", "")
        .env("REELTIME__KAFKA__TOPIC_PREFIX", prefix)
        .env("REELTIME__KAFKA__GROUP_ID", &ids)
        .env("REELTIME__KAFKA__TRANSACTIONAL_ID", &ids)
        .env("REELTIME__KAFKA__TOPIC_WAIT_SECONDS", "5");
    command
}

/// Runs [`engine_command`] until its inputs are idle for 3 s.
pub fn run_engine(brokers: &str, prefix: &str, out: &Path) -> Output {
    engine_command(brokers, prefix, out, "3").output().unwrap()
}

/// The input topic and key of a log line, as a publisher would choose them; lines that are
/// not records go to the detections topic.
pub fn route(line: &str) -> (&'static str, String) {
    let Ok(record) = serde_json::from_str::<Value>(line) else {
        return ("detections", "bad".to_owned());
    };
    let field = |name: &str| record.get(name).and_then(Value::as_str).unwrap_or("bad").to_owned();
    match record.get("type").and_then(Value::as_str) {
        Some("profile") => ("control", field("name")),
        Some("replay") => ("control", field("replay_id")),
        Some("delete") => ("control", field("id")),
        Some("event" | "feedback") => ("control", field("event_id")),
        Some("chunk") => ("chunks", field("event_id")),
        Some("segment" | "optimization" | "label") => ("segments", field("event_id")),
        _ => ("detections", field("event_id")),
    }
}

/// A replay view without its version (versions count epochs, which differ between modes).
pub fn without_version(mut view: Value) -> Value {
    view.as_object_mut().unwrap().remove("version");
    view
}

/// Publishes `lines` in order with an idempotent producer, routed as [`route`] says.
pub fn publish_lines(brokers: &str, prefix: &str, lines: &[String]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .create()
        .unwrap();
    for line in lines {
        let (topic, key) = route(line);
        let topic = format!("{prefix}{topic}");
        let mut record = BaseRecord::to(&topic).key(&key).payload(line);
        // A full local queue: deliver some, then send again.
        while let Err((_, unsent)) = producer.send(record) {
            producer.poll(Duration::from_millis(10));
            record = unsent;
        }
    }
    producer.flush(Duration::from_secs(60)).unwrap();
}

/// Runs `reeltime process` on `log` into `out`.
pub fn run_process(log: &Path, out: &Path) {
    let output = reeltime(
        &["process", "--quiet", "--log", log.to_str().unwrap(), "--out", out.to_str().unwrap()],
        &[],
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Checks the `replays` topic under `prefix`, read with `read_committed`: every replay's
/// versions are 1, 2, 3, ... each once, and its latest view is the `selection.json` that
/// `reeltime process` wrote into `process_out` (but for the version, which counts epochs).
/// Returns the versions seen per replay.
pub fn check_replays(
    brokers: &str,
    prefix: &str,
    process_out: &Path,
    context: &str,
) -> BTreeMap<String, Vec<u64>> {
    let mut latest: BTreeMap<String, Value> = BTreeMap::new();
    let mut versions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (_, _, key, value) in consume(brokers, &format!("{prefix}replays")) {
        let value = value.expect("replay views are never tombstones");
        versions.entry(key.clone()).or_default().push(value["version"].as_u64().unwrap());
        latest.insert(key, value);
    }
    for (replay_id, seen) in &versions {
        let expected: Vec<u64> = (1..=seen.len() as u64).collect();
        assert_eq!(seen, &expected, "versions of {replay_id} ({context})");
    }
    let selections = fs::read_dir(process_out.join("replays")).unwrap().count();
    assert_eq!(latest.len(), selections, "replays published: {:?} ({context})", latest.keys());
    for (replay_id, view) in latest {
        let path = process_out.join("replays").join(&replay_id).join("selection.json");
        let expected: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            without_version(view),
            without_version(expected),
            "replay {replay_id} ({context})"
        );
    }
    versions
}
