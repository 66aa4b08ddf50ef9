//! Cluster: the ingest backlog through one `reeltime run` process of one worker, and through a
//! cluster of two processes of one worker each, in turn (see the bench's opening comment).

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{
    committed_offsets, cpu_seconds, create_topics, engine_command, load_now, plain_consumer,
    produce_all, terminate, unique_prefix, wait_bounded,
};
use crate::ingest::ingest_log;
use crate::Options;

/// How long one run may take to commit every input offset.
const LIMIT: Duration = Duration::from_secs(3_600);

/// One run: start to every input offset committed, and the CPU seconds of all its processes.
struct ClusterRun {
    to_committed: Duration,
    cpu: f64,
}

pub fn cluster(options: &Options, dir: &Path) {
    let prefix = unique_prefix("cluster");
    create_topics(&options.brokers, &prefix);
    let log = ingest_log(options);
    let total = log.len();
    let produced = produce_all(&options.brokers, &prefix, &log);
    drop(log);
    println!("cluster: {total} records produced to {prefix}* in {:.1} s", produced.as_secs_f64());
    let mut runs: [Vec<ClusterRun>; 2] = [Vec::new(), Vec::new()];
    for run in 0..options.runs {
        for (side, processes) in [1usize, 2].into_iter().enumerate() {
            let result = run_cluster(options, &prefix, dir, run, processes, total);
            println!(
                "  run {}: {processes} process{} × 1 worker: {:.2} s to every input offset committed, {:.0} records/s, {:.1} s of CPU (load {})",
                run + 1,
                if processes == 1 { "" } else { "es" },
                result.to_committed.as_secs_f64(),
                total as f64 / result.to_committed.as_secs_f64(),
                result.cpu,
                load_now()
            );
            runs[side].push(result);
        }
    }
    let best = |side: &[ClusterRun]| {
        side.iter().map(|r| r.to_committed).min().expect("at least one run").as_secs_f64()
    };
    let (one, two) = (best(&runs[0]), best(&runs[1]));
    println!(
        "cluster: best of {}: 1 process {:.0} records/s, 2 processes {:.0} records/s: 2 processes at {:.2}x the rate of 1 (this machine has {} cores for both processes, the broker and the bench)",
        options.runs,
        total as f64 / one,
        total as f64 / two,
        one / two,
        thread::available_parallelism().map_or(0, usize::from)
    );
}

/// Runs `processes` processes of one worker over the backlog until the group's committed
/// offsets reach the end of every input, then stops them.
fn run_cluster(
    options: &Options,
    prefix: &str,
    dir: &Path,
    run: usize,
    processes: usize,
    total: usize,
) -> ClusterRun {
    let ids = format!("{prefix}engine-{run}-{processes}");
    let hosts = dir.join(format!("cluster-hosts-{run}-{processes}"));
    let listeners: Vec<std::net::TcpListener> = (0..processes)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port"))
        .collect();
    let addresses: Vec<String> =
        listeners.iter().map(|l| l.local_addr().expect("its address").to_string()).collect();
    drop(listeners);
    std::fs::write(&hosts, addresses.join("\n") + "\n").expect("the hosts file");
    let binary = Command::new(env!("CARGO_BIN_EXE_reeltime"));
    let offsets = plain_consumer(&options.brokers, &ids);
    let started = Instant::now();
    let mut children: Vec<(Child, std::path::PathBuf)> = (0..processes)
        .map(|index| {
            let out = dir.join(format!("cluster-out-{run}-{processes}-{index}"));
            let stderr = dir.join(format!("cluster-engine-{run}-{processes}-{index}.stderr"));
            let mut command = engine_command(&binary, options, prefix, &ids, &out, "0");
            command.args(["--workers", "1"]);
            if processes > 1 {
                command
                    .args(["--processes", &processes.to_string()])
                    .args(["--process-index", &index.to_string()])
                    .arg("--hosts")
                    .arg(&hosts);
            }
            command
                .stdout(File::create(dir.join("cluster-engine.stdout")).expect("a stdout file"))
                .stderr(File::create(&stderr).expect("a stderr file"));
            (command.spawn().expect("reeltime runs"), stderr)
        })
        .collect();
    let deadline = started + LIMIT;
    let to_committed = loop {
        let committed: i64 = committed_offsets(&offsets, prefix)
            .expect("the engine's committed offsets")
            .values()
            .sum();
        if committed as usize >= total {
            break started.elapsed();
        }
        for (child, stderr) in &mut children {
            let exited = child.try_wait().expect("the engine can be waited for").is_some();
            assert!(
                !exited && Instant::now() < deadline,
                "a process committed {committed} of {total} records {}: {}",
                if exited { "and exited" } else { "in the time allowed" },
                std::fs::read_to_string(stderr).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    let cpu = children.iter().filter_map(|(child, _)| cpu_seconds(child.id())).sum();
    for (child, _) in &children {
        terminate(child);
    }
    for (child, stderr) in &mut children {
        assert!(
            wait_bounded(child, Duration::from_secs(300)),
            "a process did not stop cleanly: {}",
            std::fs::read_to_string(stderr).unwrap_or_default()
        );
    }
    ClusterRun { to_committed, cpu }
}
