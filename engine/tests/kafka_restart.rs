//! `reeltime run` survives its broker going away and coming back, and stops cleanly on
//! SIGTERM. The broker is the one `scripts/test` started (its state directory in
//! `REELTIME_KAFKA_DIR`), restarted with `scripts/kafka-local restart` (same port and storage)
//! between two halves of a match; this file holds one test so that no other test of the run
//! sees the broker go.

#[path = "../../operators/benches/common/synthetic_match.rs"]
#[allow(dead_code)]
mod synthetic_match;

mod kafka;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kafka::{
    broker, check_replays, create_topics, engine_command, publish_lines, run_process, unique_prefix,
};
use synthetic_match::{synthetic_match, MatchShape};

const KAFKA_LOCAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/kafka-local");

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
    publish_lines(&brokers, &prefix, first);

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
    publish_lines(&brokers, &prefix, second);
    wait_for(&notifications, "event_ended", &mut engine);

    let pid = engine.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let output = engine.wait_with_output().unwrap();
    assert!(output.status.success(), "after SIGTERM: {}", String::from_utf8_lossy(&output.stderr));

    let log = dir.path().join("match.jsonl");
    fs::write(&log, lines.join("\n") + "\n").unwrap();
    let process_out = dir.path().join("process");
    run_process(&log, &process_out);
    check_replays(&brokers, &prefix, &process_out, "after a broker restart");
    // SIGTERM finished the epoch and wrote the output directory.
    let file = "events/restart-match/segments.json";
    assert_eq!(
        fs::read_to_string(out.join(file)).unwrap(),
        fs::read_to_string(process_out.join(file)).unwrap()
    );
}
