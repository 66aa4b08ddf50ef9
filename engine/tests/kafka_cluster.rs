//! A cluster of two `reeltime run` processes (one worker each) over input topics of four
//! partitions, against a real Kafka broker: one process is killed with SIGKILL mid-stream, the
//! other stops by itself (fail-stop), both are started again and run until idle. The
//! `read_committed` output must hold every replay version exactly once and end with the views
//! one `reeltime process` computes from the same records. Then the cluster is started once more
//! and SIGTERM to process 1 stops both cleanly, with nothing published again.
//!
//! The match is four matches interleaved, so that the events are spread over both processes.
//! Which process is killed, and when, is random; the seed is printed, and
//! `REELTIME_CLUSTER_SEED` replays a run.

#[path = "../../operators/benches/common/synthetic_match.rs"]
#[allow(dead_code)]
mod synthetic_match;

mod kafka;

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use kafka::{
    broker, check_replays, create_topics_with, engine_command, publish_lines, run_process,
    unique_prefix,
};
use synthetic_match::{synthetic_match, MatchShape};

const EVENTS: [&str; 4] = ["cluster-a", "cluster-b", "cluster-c", "cluster-d"];

/// Lines of `path`, or 0 while it does not exist.
fn line_count(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |text| text.lines().count())
}

/// The four matches, interleaved by publishing time.
fn matches() -> Vec<String> {
    let mut lines: Vec<(u64, usize, String)> = Vec::new();
    for (index, event_id) in EVENTS.iter().enumerate() {
        let shape = MatchShape {
            event_id: (*event_id).to_owned(),
            seed: 11 + index as u64,
            length_ms: 30 * 60 * 1000,
            segments: 240,
            detections: 400,
            replays: 2,
            feedback: 5,
            chunk_ms: Some(10_000),
        };
        lines.extend(synthetic_match(&shape).into_iter().map(|l| (l.published_ms, index, l.json)));
    }
    // Stable: each match keeps its own order.
    lines.sort_by_key(|(at, index, _)| (*at, *index));
    lines.into_iter().map(|(_, _, json)| json).collect()
}

/// `count` loopback addresses that were free a moment ago.
fn free_addresses(count: usize) -> Vec<String> {
    let listeners: Vec<std::net::TcpListener> =
        (0..count).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    listeners.iter().map(|l| l.local_addr().unwrap().to_string()).collect()
}

/// Process `index` of the cluster of `hosts`, writing into `out`, until idle for 3 s (or until
/// stopped, with `until_idle` "0").
fn cluster_process(
    brokers: &str,
    prefix: &str,
    out: &Path,
    hosts: &Path,
    index: usize,
    until_idle: &str,
) -> Command {
    let mut command = engine_command(brokers, prefix, out, until_idle);
    command
        .args(["--processes", "2", "--process-index", &index.to_string()])
        .args(["--hosts", hosts.to_str().unwrap(), "--workers", "1"])
        .env("REELTIME__ENGINE__MAX_EPOCH_RECORDS", "10")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` to exit, at most `limit`; its status and what it wrote on stderr.
fn wait_for(child: &mut Child, limit: Duration) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("a process of the cluster did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (status, stderr)
}

#[test]
fn a_cluster_killed_in_one_process_and_restarted_publishes_every_version_once() {
    let Some(brokers) = broker() else { return };
    let seed = std::env::var("REELTIME_CLUSTER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        });
    eprintln!("cluster test seed: {seed} (REELTIME_CLUSTER_SEED={seed} replays it)");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);

    let lines = matches();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("matches.jsonl");
    fs::write(&log, lines.join("\n") + "\n").unwrap();
    let prefix = unique_prefix("cluster");
    create_topics_with(&brokers, &prefix, 4);
    publish_lines(&brokers, &prefix, &lines);

    let hosts = dir.path().join("hosts");
    fs::write(&hosts, free_addresses(2).join("\n") + "\n").unwrap();
    let out = [dir.path().join("run-0"), dir.path().join("run-1")];
    let notifications = out[0].join("notifications.jsonl");
    let start = |index: usize| {
        cluster_process(&brokers, &prefix, &out[index], &hosts, index, "3").spawn().unwrap()
    };

    // The first run: killed in one process once process 0 has published a few epochs.
    let mut processes = [start(0), start(1)];
    let wanted = rng.random_range(1..30);
    let victim = rng.random_range(0..2usize);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut finished = false;
    while line_count(&notifications) < wanted {
        if let Some(status) = processes[0].try_wait().unwrap() {
            let (_, stderr) = wait_for(&mut processes[0], Duration::ZERO);
            assert!(status.success(), "process 0 failed before the kill ({status}): {stderr}");
            finished = true;
            break;
        }
        assert!(Instant::now() < deadline, "no progress before the kill");
        std::thread::sleep(Duration::from_millis(5));
    }
    if finished {
        let (status, stderr) = wait_for(&mut processes[1], Duration::from_secs(60));
        assert!(status.success(), "process 1 failed ({status}): {stderr}");
    } else {
        processes[victim].kill().unwrap();
        processes[victim].wait().unwrap();
        let survivor = 1 - victim;
        // Fail-stop: the survivor notices that its peer is gone and stops, with an error.
        let (status, stderr) = wait_for(&mut processes[survivor], Duration::from_secs(60));
        assert!(!status.success(), "process {survivor} went on without process {victim}: {stderr}");
        assert!(
            stderr.contains("the connection to another process of the cluster was lost")
                && !stderr.contains("panicked"),
            "process {survivor} did not say plainly why it stopped: {stderr}"
        );
        eprintln!(
            "killed process {victim} after {} notification lines; process {survivor} stopped:\n{stderr}",
            line_count(&notifications),
        );
    }

    // Both again, until idle: they resume exactly once.
    let mut processes = [start(0), start(1)];
    for (index, process) in processes.iter_mut().enumerate() {
        let (status, stderr) = wait_for(process, Duration::from_secs(180));
        assert!(status.success(), "process {index} failed after the restart ({status}): {stderr}");
        if index == 1 {
            assert!(stderr.contains("in process 1 of 2"), "{stderr}");
        }
    }

    let process_out = dir.path().join("process");
    run_process(&log, &process_out);
    let versions = check_replays(&brokers, &prefix, &process_out, &format!("seed {seed}"));
    assert_eq!(versions.len(), EVENTS.len() * 2, "{versions:?}");
    // Every replay was published in progress and again complete, at least. (How many versions
    // each gets depends on the order in which the partitions' backlogs are read: a replay whose
    // record is read after its event's segments starts with all of them.)
    assert!(versions.values().all(|seen| seen.len() >= 2), "{versions:?}");
    for event_id in EVENTS {
        let file = format!("events/{event_id}/segments.json");
        assert_eq!(
            fs::read_to_string(out[0].join(&file)).unwrap(),
            fs::read_to_string(process_out.join(&file)).unwrap(),
            "{file} (seed {seed})"
        );
    }

    // SIGTERM to one process stops the whole cluster cleanly, and publishes nothing again.
    let mut processes = [0, 1].map(|index| {
        cluster_process(&brokers, &prefix, &out[index], &hosts, index, "0").spawn().unwrap()
    });
    let port0: u16 = fs::read_to_string(&hosts)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    // Process 1 is in the cluster (its signal handlers set) once it is connected to process 0.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !connected_to(port0) {
        assert!(Instant::now() < deadline, "the cluster never formed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status =
        Command::new("kill").args(["-TERM", &processes[1].id().to_string()]).status().unwrap();
    assert!(status.success());
    for (index, process) in processes.iter_mut().enumerate() {
        let (status, stderr) = wait_for(process, Duration::from_secs(60));
        assert!(status.success(), "process {index} did not stop cleanly ({status}): {stderr}");
    }
    let again = check_replays(&brokers, &prefix, &process_out, &format!("seed {seed}"));
    assert_eq!(again, versions, "a stopped cluster published nothing again");
}

/// Whether a TCP connection to 127.0.0.1:`port` is established on this machine.
fn connected_to(port: u16) -> bool {
    let table = fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let remote = format!("0100007F:{port:04X}");
    // Columns: sl, local address, remote address, state (01: established).
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() > 3 && fields[2] == remote && fields[3] == "01"
    })
}
