//! Exactly-once across crashes, against a real Kafka broker: `reeltime run` is killed with
//! SIGKILL at random points of a synthetic match of a few thousand records (many small
//! epochs), restarted each time, and finally runs until idle. The `read_committed` output must
//! hold every replay version exactly once (1, 2, 3, ... with no gap and no repeat) and end
//! with the views `reeltime process` computes from the same records.
//!
//! The kill points are epochs: the engine appends each live epoch's notifications to
//! `notifications.jsonl` after publishing it, and the test waits for a random number of lines.
//! The seed is printed; `REELTIME_CRASH_SEED` replays a run.

#[path = "../../operators/benches/common/synthetic_match.rs"]
#[allow(dead_code)]
mod synthetic_match;

mod kafka;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use serde_json::Value;

use kafka::{
    broker, consume, create_topics, engine_command, reeltime, route, unique_prefix, without_version,
};
use synthetic_match::{synthetic_match, MatchShape};

/// The epoch size (records) and worker count of each run: the engine is killed in all but the
/// last. Epoch sizes differ so that a restarted engine's epochs do not line up with the ones it
/// rebuilds (replay versions must come from the published ones, not from counting epochs
/// again); worker counts differ so that the partitions change hands across restarts.
const RUNS: [(&str, &str); 4] = [("40", "1"), ("25", "2"), ("60", "1"), ("15", "2")];

/// Publishes `lines` in order with a plain producer, routed as a publisher would.
fn publish(brokers: &str, prefix: &str, lines: &[String]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .create()
        .unwrap();
    for line in lines {
        let (topic, key) = route(line);
        let topic = format!("{prefix}{topic}");
        let mut record = BaseRecord::to(&topic).key(&key).payload(line);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, unsent)) => {
                    producer.poll(Duration::from_millis(10));
                    record = unsent;
                }
            }
        }
    }
    producer.flush(Duration::from_secs(60)).unwrap();
}

/// Lines of `path`, or 0 while it does not exist.
fn line_count(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |text| text.lines().count())
}

#[test]
fn killed_and_restarted_the_engine_publishes_every_version_once() {
    let Some(brokers) = broker() else { return };
    let seed = std::env::var("REELTIME_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        });
    eprintln!("crash test seed: {seed} (REELTIME_CRASH_SEED={seed} replays it)");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);

    let shape = MatchShape {
        event_id: "crash-match".to_owned(),
        seed: 7,
        length_ms: 45 * 60 * 1000,
        segments: 240,
        detections: 1500,
        replays: 4,
        feedback: 20,
        chunk_ms: Some(10_000),
    };
    let lines: Vec<String> = synthetic_match(&shape).into_iter().map(|l| l.json).collect();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("match.jsonl");
    fs::write(&log, lines.join("\n") + "\n").unwrap();

    let prefix = unique_prefix("crash");
    create_topics(&brokers, &prefix);
    publish(&brokers, &prefix, &lines);

    let out = dir.path().join("run");
    let notifications = out.join("notifications.jsonl");
    let ((last_epoch, last_workers), killed) = RUNS.split_last().unwrap();
    'kills: for (kill, (epoch_records, workers)) in killed.iter().enumerate() {
        let mut engine = engine_command(&brokers, &prefix, &out, "3")
            .env("REELTIME__ENGINE__MAX_EPOCH_RECORDS", epoch_records)
            .env("REELTIME__ENGINE__WORKERS", workers)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let wanted = rng.random_range(1..40);
        let deadline = Instant::now() + Duration::from_secs(120);
        // Waits for the kill point: a condition on the engine's own output, polled.
        loop {
            if line_count(&notifications) >= wanted {
                break;
            }
            if let Some(status) = engine.try_wait().unwrap() {
                // It got through the rest of the match before the kill point.
                assert!(status.success(), "the engine failed before kill {kill} ({status})");
                break 'kills;
            }
            assert!(Instant::now() < deadline, "no progress before kill {kill}");
            std::thread::sleep(Duration::from_millis(5));
        }
        engine.kill().unwrap();
        engine.wait().unwrap();
        eprintln!("killed the engine after {} notification lines", line_count(&notifications));
    }
    let output = engine_command(&brokers, &prefix, &out, "3")
        .env("REELTIME__ENGINE__MAX_EPOCH_RECORDS", last_epoch)
        .env("REELTIME__ENGINE__WORKERS", last_workers)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the last run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut latest: BTreeMap<String, Value> = BTreeMap::new();
    let mut versions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (_, _, key, value) in consume(&brokers, &format!("{prefix}replays")) {
        let value = value.expect("replay views are never tombstones");
        versions.entry(key.clone()).or_default().push(value["version"].as_u64().unwrap());
        latest.insert(key, value);
    }
    assert_eq!(versions.len(), shape.replays);
    for (replay_id, seen) in &versions {
        let expected: Vec<u64> = (1..=seen.len() as u64).collect();
        assert_eq!(seen, &expected, "versions of {replay_id} (seed {seed})");
    }

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
    for (replay_id, view) in &latest {
        let path = process_out.join("replays").join(replay_id).join("selection.json");
        let expected: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            without_version(view.clone()),
            without_version(expected),
            "replay {replay_id} (seed {seed})"
        );
    }
    // Enough versions that one counted twice or skipped after a restart shows.
    assert!(versions.values().all(|seen| seen.len() > 10), "{versions:?}");
    let file = "events/crash-match/segments.json";
    assert_eq!(
        fs::read_to_string(out.join(file)).unwrap(),
        fs::read_to_string(process_out.join(file)).unwrap(),
        "{file} (seed {seed})"
    );
}
