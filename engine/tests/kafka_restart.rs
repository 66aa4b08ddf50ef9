//! `reeltime run` survives its broker going away and coming back, and stops cleanly on
//! SIGTERM. The broker is the one `scripts/test` started (its state directory in
//! `REELTIME_KAFKA_DIR`), restarted with `scripts/kafka-local restart` (same port and storage)
//! between two halves of a match; this file holds one test so that no other test of the run
//! sees the broker go.

#[path = "../../operators/benches/common/synthetic_match.rs"]
#[allow(dead_code)]
mod synthetic_match;

mod kafka;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use serde_json::Value;

use kafka::{
    broker, consume, create_topics, engine_command, reeltime, route, unique_prefix, without_version,
};
use synthetic_match::{synthetic_match, MatchShape};

const KAFKA_LOCAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/kafka-local");

fn publish(brokers: &str, prefix: &str, lines: &[String]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .create()
        .unwrap();
    for line in lines {
        let (topic, key) = route(line);
        let topic = format!("{prefix}{topic}");
        producer.send(BaseRecord::to(&topic).key(&key).payload(line)).unwrap();
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(60)).unwrap();
}

/// Waits (polling, up to two minutes) until `path` contains `text`.
fn wait_for(path: &Path, text: &str, engine: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !fs::read_to_string(path).is_ok_and(|t| t.contains(text)) {
        if let Some(status) = engine.try_wait().unwrap() {
            panic!("the engine ended ({status}) before {path:?} had {text:?}");
        }
        assert!(Instant::now() < deadline, "{path:?} did not get {text:?} within 2 minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_engine_survives_a_broker_restart_and_stops_on_sigterm() {
    let Some(brokers) = broker() else { return };
    if std::env::var_os("REELTIME_KAFKA_DIR").is_none() {
        assert!(
            std::env::var_os("REELTIME_REQUIRE_KAFKA").is_none_or(|v| v != "1"),
            "REELTIME_REQUIRE_KAFKA=1 but REELTIME_KAFKA_DIR (the broker's state directory) is not set"
        );
        eprintln!("skipped: REELTIME_KAFKA_DIR does not say which broker to restart");
        return;
    }
    let shape = MatchShape {
        event_id: "restart-match".to_owned(),
        seed: 11,
        length_ms: 20 * 60 * 1000,
        segments: 80,
        detections: 400,
        replays: 2,
        feedback: 5,
        chunk_ms: None,
    };
    let lines: Vec<String> = synthetic_match(&shape).into_iter().map(|l| l.json).collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("restart");
    create_topics(&brokers, &prefix);
    publish(&brokers, &prefix, first);

    let out = dir.path().join("run");
    let notifications = out.join("notifications.jsonl");
    let mut engine = engine_command(&brokers, &prefix, &out, "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&notifications, "replay_updated", &mut engine);

    let restart = Command::new(KAFKA_LOCAL).arg("restart").output().unwrap();
    assert!(
        restart.status.success(),
        "kafka-local restart: {}",
        String::from_utf8_lossy(&restart.stderr)
    );
    publish(&brokers, &prefix, second);
    wait_for(&notifications, "event_ended", &mut engine);

    let pid = engine.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let output = engine.wait_with_output().unwrap();
    assert!(output.status.success(), "after SIGTERM: {}", String::from_utf8_lossy(&output.stderr));

    let mut latest: BTreeMap<String, Value> = BTreeMap::new();
    let mut versions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (_, _, key, value) in consume(&brokers, &format!("{prefix}replays")) {
        let value = value.unwrap();
        versions.entry(key.clone()).or_default().push(value["version"].as_u64().unwrap());
        latest.insert(key, value);
    }
    for (replay_id, seen) in &versions {
        let expected: Vec<u64> = (1..=seen.len() as u64).collect();
        assert_eq!(seen, &expected, "versions of {replay_id}");
    }
    let log = dir.path().join("match.jsonl");
    fs::write(&log, lines.join("\n") + "\n").unwrap();
    let process_out = dir.path().join("process");
    let output = reeltime(
        &[
            "process",
            "--quiet",
            "--log",
            log.to_str().unwrap(),
            "--out",
            process_out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(latest.len(), shape.replays);
    for (replay_id, view) in &latest {
        let path = process_out.join("replays").join(replay_id).join("selection.json");
        let expected: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(without_version(view.clone()), without_version(expected), "replay {replay_id}");
    }
    // SIGTERM finished the epoch and wrote the output directory.
    let file = "events/restart-match/segments.json";
    assert_eq!(
        fs::read_to_string(out.join(file)).unwrap(),
        fs::read_to_string(process_out.join(file)).unwrap()
    );
}
