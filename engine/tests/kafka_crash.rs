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

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use kafka::{
    broker, check_replays, create_topics, engine_command, publish_lines, run_process, unique_prefix,
};
use synthetic_match::{synthetic_match, MatchShape};

/// The epoch size (records) and worker count of each run: the engine is killed in all but the
/// last. Epoch sizes differ so that a restarted engine's epochs do not line up with the ones it
/// rebuilds (replay versions must come from the published ones, not from counting epochs
/// again); worker counts differ so that the partitions change hands across restarts.
const RUNS: [(&str, &str); 4] = [("40", "1"), ("25", "2"), ("60", "1"), ("15", "2")];

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
    publish_lines(&brokers, &prefix, &lines);

    let out = dir.path().join("run");
    let notifications = out.join("notifications.jsonl");
    let ((last_epoch, last_workers), killed) = RUNS.split_last().unwrap();
    'kills: for (kill, (epoch_records, workers)) in killed.iter().enumerate() {
        let mut engine = engine_command(&brokers, &prefix, &out, "3")
            .env("REELTIME__ENGINE__MAX_EPOCH_RECORDS", epoch_records)
            .env("REELTIME__ENGINE__WORKERS", workers)
            .stdout(std::process::Stdio::null())
            // Read only when it fails; the engine writes a few lines, well within a pipe.
            .stderr(std::process::Stdio::piped())
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
                let mut stderr = String::new();
                engine.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
                assert!(
                    status.success(),
                    "the engine failed before kill {kill} ({status}): {stderr}"
                );
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

    let process_out = dir.path().join("process");
    run_process(&log, &process_out);
    let versions = check_replays(&brokers, &prefix, &process_out, &format!("seed {seed}"));
    // Enough versions that one counted twice or skipped after a restart shows.
    assert!(versions.values().all(|seen| seen.len() > 10), "{versions:?}");
    let file = "events/crash-match/segments.json";
    assert_eq!(
        fs::read_to_string(out.join(file)).unwrap(),
        fs::read_to_string(process_out.join(file)).unwrap(),
        "{file} (seed {seed})"
    );
}
