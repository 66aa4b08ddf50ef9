//! The HTTP API under load, on loopback: reads of the main routes while records stream in,
//! against a static file server serving the same JSON, and the fan-out of one change to many
//! change-stream subscribers.
//!
//! The engine is `reeltime run --data-dir` (the release binary, rendering off) fed the example
//! match, then a steady stream of detections (`--ingest` records/s, in writes every 50 ms) for
//! the whole run. The baseline is axum with tower-http's `ServeDir` (the same HTTP stack, two
//! threads like the engine's) serving the replay's `selection.json` from a file; it runs while
//! the engine ingests too, so both see the same machine.
//!
//! - **Latency**: open loop at `--rate` requests/s for `--seconds`, over 4 keep-alive
//!   connections; p50, p99, max.
//! - **Throughput**: closed loop, 8 connections as fast as they go for `--seconds`.
//! - **Fan-out**: `--subscribers` streams of one replay's changes; one write changes the
//!   replay; the time from the write to the first and to the last subscriber receiving it.
//!
//! ```text
//! cargo bench -p reeltime --bench api_reads [-- --rate 1000 --seconds 10 --ingest 2000 --subscribers 1000]
//! ```

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use serde_json::json;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/tennis-match.jsonl");
const REPLAY: &str = "best-of-match";

struct Options {
    rate: u64,
    seconds: u64,
    ingest: u64,
    subscribers: usize,
}

fn options() -> Options {
    let mut options = Options { rate: 1000, seconds: 10, ingest: 2000, subscribers: 1000 };
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        let value = || pair[1].parse().unwrap_or_else(|_| panic!("{} takes a number", pair[0]));
        match pair[0].as_str() {
            "--rate" => options.rate = value(),
            "--seconds" => options.seconds = value(),
            "--ingest" => options.ingest = value(),
            "--subscribers" => options.subscribers = value() as usize,
            _ => {}
        }
    }
    options
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .max_idle_connections_per_host(64)
        .build()
        .into()
}

fn fetch(agent: &ureq::Agent, url: &str) -> Vec<u8> {
    let mut response = agent.get(url).call().expect("answered");
    assert_eq!(response.status().as_u16(), 200, "{url}");
    let mut body = Vec::new();
    response.body_mut().as_reader().read_to_end(&mut body).unwrap();
    body
}

fn post(agent: &ureq::Agent, url: &str, body: &[u8]) {
    let response = agent.post(url).send(body).expect("answered");
    assert_eq!(response.status().as_u16(), 200, "{url}");
}

/// The engine, killed when dropped.
struct Engine(Child);

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_engine(dir: &Path) -> (Engine, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(["run", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--out")
        .arg(dir.join("out"))
        .args(["--listen", "127.0.0.1:0"])
        .env("REELTIME__RENDER__ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("reeltime runs");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the engine says where it listens").unwrap();
        if let Some(at) = line.find("serving http://") {
            break line[at + "serving ".len()..].split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (Engine(child), base)
}

/// A static file server (axum + `ServeDir`, two threads) over `dir`.
fn start_static(dir: &Path) -> SocketAddr {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dir));
    // TCP_NODELAY as the engine sets it (ServeDir writes the headers and the file apart).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    std::thread::spawn(move || runtime.block_on(async { axum::serve(listener, app).await }));
    address
}

/// Detections written at `rate` records/s, in a write every 50 ms, until `stop`.
fn ingest(base: String, rate: u64, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let agent = agent();
        let per_write = (rate / 20).max(1);
        let started = Instant::now();
        let mut written = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let body: Vec<String> = (0..per_write)
                .map(|i| {
                    let start = ((written + i) % 700) as f64 + 0.5;
                    json!({"type": "detection", "event_id": "wimbledon-sf1", "plugin": "crowd-noise",
                           "start": start, "end": start + 0.5, "track": 1,
                           "attributes": {"Level": ((written + i) % 100) as f64 / 100.0}})
                    .to_string()
                })
                .collect();
            post(&agent, &format!("{base}/api/v1/records"), body.join("\n").as_bytes());
            written += per_write;
            let due = started + Duration::from_millis(written * 1000 / rate);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        written
    })
}

/// Open-loop reads of `url` at `rate` per second over 4 connections; latencies in µs.
fn latencies(url: &str, rate: u64, seconds: u64) -> Vec<u64> {
    let connections = 4;
    let per_connection = rate * seconds / connections;
    let interval = Duration::from_nanos(1_000_000_000 * connections / rate);
    let start = Instant::now() + Duration::from_millis(100);
    let threads: Vec<_> = (0..connections)
        .map(|c| {
            let url = url.to_owned();
            std::thread::spawn(move || {
                let agent = agent();
                let offset = interval * c as u32 / connections as u32;
                (0..per_connection)
                    .map(|i| {
                        let due = start + offset + interval * i as u32;
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                        // From when the request was due: a late start counts (no coordinated
                        // omission).
                        fetch(&agent, &url);
                        due.elapsed().as_micros() as u64
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut all: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    all.sort_unstable();
    all
}

/// Closed-loop requests per second of `url` over 8 connections.
fn throughput(url: &str, seconds: u64) -> f64 {
    let until = Instant::now() + Duration::from_secs(seconds);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let url = url.to_owned();
            std::thread::spawn(move || {
                let agent = agent();
                let mut count = 0u64;
                while Instant::now() < until {
                    fetch(&agent, &url);
                    count += 1;
                }
                count
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).sum::<u64>() as f64 / seconds as f64
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)] as f64 / 1000.0
}

/// Subscribers of the replay's changes; one write changes it; from the write to the first and
/// the last subscriber receiving the new version, in ms.
fn fan_out(base: &str, subscribers: usize) -> (f64, f64) {
    let writer = agent();
    let version = |agent: &ureq::Agent| -> u64 {
        let doc: serde_json::Value =
            serde_json::from_slice(&fetch(agent, &format!("{base}/api/v1/replays/{REPLAY}")))
                .unwrap();
        doc["version"].as_u64().unwrap()
    };
    let before = version(&writer);
    let target = format!("id: {}", before + 1);
    let ready = Arc::new(Barrier::new(subscribers + 1));
    let (received, arrivals) = mpsc::channel();
    for _ in 0..subscribers {
        let (url, target, ready, received) = (
            format!("{base}/api/v1/replays/{REPLAY}/changes"),
            target.clone(),
            ready.clone(),
            received.clone(),
        );
        std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || {
                let response = agent().get(&url).call().expect("subscribed");
                let mut lines = BufReader::new(response.into_body().into_reader()).lines();
                // The snapshot arrives first: the subscription is in place.
                for line in lines.by_ref() {
                    if line.unwrap().starts_with("id:") {
                        break;
                    }
                }
                ready.wait();
                for line in lines {
                    if line.unwrap() == target {
                        let _ = received.send(Instant::now());
                        return;
                    }
                }
            })
            .unwrap();
    }
    ready.wait();
    // Every replay of the example rates Ace: a new weight changes its score, so its view.
    let replay = json!({"event_id": "wimbledon-sf1", "mode": "duration", "catchup": true, "duration": 90,
        "tolerance": 10, "track": 1, "priorities": [{"attribute": "Ace", "value": true, "weight": 91 + before % 5}]});
    let written = Instant::now();
    let response = writer
        .put(&format!("{base}/api/v1/replays/{REPLAY}"))
        .send(replay.to_string().as_bytes())
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut times: Vec<Instant> = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        times.push(
            arrivals
                .recv_timeout(Duration::from_secs(60))
                .expect("every subscriber gets the change"),
        );
    }
    let ms = |at: &Instant| at.duration_since(written).as_secs_f64() * 1000.0;
    (ms(times.iter().min().unwrap()), ms(times.iter().max().unwrap()))
}

fn main() {
    let options = options();
    let dir = tempfile::tempdir().unwrap();
    let (_engine, base) = start_engine(dir.path());
    let agent = agent();
    post(&agent, &format!("{base}/api/v1/records"), &std::fs::read(EXAMPLE).unwrap());
    // Once the replay is served, its JSON is the static server's file.
    let replay_url = format!("{base}/api/v1/replays/{REPLAY}");
    let started = Instant::now();
    let json = loop {
        let mut response = agent.get(&replay_url).call().unwrap();
        if response.status().as_u16() == 200 {
            let mut body = Vec::new();
            response.body_mut().as_reader().read_to_end(&mut body).unwrap();
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the replay is never served");
        std::thread::sleep(Duration::from_millis(20));
    };
    let files = dir.path().join("static");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("selection.json"), &json).unwrap();
    let static_url = format!("http://{}/selection.json", start_static(&files));
    let segments_url = format!("{base}/api/v1/events/wimbledon-sf1/segments");

    let stop = Arc::new(AtomicBool::new(false));
    let ingesting = ingest(base.clone(), options.ingest, stop.clone());
    println!(
        "reads on loopback while {} detections/s are written; {} requests/s open loop for {} s (4 connections), then closed loop (8 connections)",
        options.ingest, options.rate, options.seconds
    );
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>12}",
        "route", "p50 ms", "p99 ms", "max ms", "requests/s"
    );
    let mut rows = Vec::new();
    for (name, url) in [
        ("static file (baseline)", static_url.as_str()),
        ("GET /api/v1/replays/{id}", replay_url.as_str()),
        ("GET /api/v1/events/{id}/segments", segments_url.as_str()),
    ] {
        let sorted = latencies(url, options.rate, options.seconds);
        let rps = throughput(url, options.seconds.min(5));
        println!(
            "{name:<34} {:>8.3} {:>8.3} {:>8.3} {:>12.0}",
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99),
            *sorted.last().unwrap() as f64 / 1000.0,
            rps
        );
        rows.push((percentile(&sorted, 0.99), rps));
    }
    let (base_p99, base_rps) = rows[0];
    for (name, (p99, rps)) in ["replay", "segments"].iter().zip(&rows[1..]) {
        println!(
            "{name}: throughput {:.2}x of the static file server, p99 {:.2}x",
            rps / base_rps,
            p99 / base_p99
        );
    }
    let (first, last) = fan_out(&base, options.subscribers);
    stop.store(true, Ordering::Relaxed);
    let written = ingesting.join().unwrap();
    println!(
        "fan-out of one replay change to {} subscribers: first after {first:.1} ms, last after {last:.1} ms (from the write, through the log and the dataflow); {written} detections written meanwhile",
        options.subscribers
    );
}
