//! The live edge: from the arrival of the last input a segment's clip needs (the chunk that
//! holds its out-point, with the plugins' findings on it) to the clip's files being ready,
//! through the dataflow and the render sink as `reeltime run` wires them.
//!
//! The demo's synthetic match and event log (made by `reeltime demo` in a temporary folder)
//! are replayed live: the records after each `chunk` record (what the plugins found in it)
//! arrive together with it, one chunk every `--chunk-ms` (default 1000 ms, four times real
//! time for the demo's 4 s chunks); while nothing arrives an empty epoch closes every 10 ms,
//! as `reeltime run` closes one every `engine.epoch_ms`. A clip's edge is measured from the
//! moment its epoch's input was handed to the dataflow to the moment its `clip_rendered`
//! notification came back to the epoch loop (MP4, HLS segments and thumbnail written).
//! Detection time is not part of it (see the detector benchmark).
//!
//! Baseline in the same run: the `ffmpeg` command line cutting the same original ranges from
//! the chunk playlist by stream copy (`ffmpeg -ss S -to E -i match.m3u8 -c copy`), process
//! start included, as a script around the CLI would.
//!
//! ```text
//! cargo bench -p reeltime --bench live_edge [-- --chunk-ms 1000]
//! ```

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reeltime::decode::decode_compact;
use reeltime::driver::{Driver, DriverOptions};
use reeltime::render_sink::RenderConfig;
use reeltime_connectors::output_dir::OutputDir;
use reeltime_operators::compact::{Compact, EventInput};
use reeltime_operators::harness::{self, EpochInput, RunOptions};
use reeltime_schemas::document::NotificationDoc;
use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;
use reeltime_schemas::record::Seq;

/// How often an empty epoch closes while nothing arrives.
const IDLE_EPOCH: Duration = Duration::from_millis(10);

/// One arrival: a chunk and what the plugins found in it (the first also holds the profile,
/// event and replay records before the first chunk).
struct Arrival {
    records: Vec<(Seq, Compact)>,
    /// Whether it holds its chunk yet (the records after a chunk arrive with it).
    has_chunk: bool,
}

/// The demo log as arrivals, in log order.
fn arrivals(log: &Path) -> Vec<Arrival> {
    let text = std::fs::read_to_string(log).expect("the demo wrote its log");
    let mut arrivals: Vec<Arrival> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let seq = index as Seq + 1;
        let record = decode_compact(line.as_bytes(), DEFAULT_MAX_RECORD_BYTES)
            .expect("the demo log is valid");
        let is_chunk = matches!(record, Compact::Event(_, EventInput::Chunk(_)));
        if arrivals.last().is_none_or(|last| is_chunk && last.has_chunk) {
            arrivals.push(Arrival { records: Vec::new(), has_chunk: false });
        }
        let last = arrivals.last_mut().expect("pushed above");
        last.has_chunk |= is_chunk;
        last.records.push((seq, record));
    }
    arrivals
}

/// Hands the arrivals to the dataflow on their schedule, with empty epochs in between, and
/// notes when each epoch's input was handed over.
struct LiveFeed {
    arrivals: std::vec::IntoIter<Arrival>,
    every: Duration,
    due: Instant,
    /// After the last arrival, empty epochs go on until this time, for the last renders.
    drain_until: Option<Instant>,
    handed: Arc<Mutex<Vec<Instant>>>,
}

impl Iterator for LiveFeed {
    type Item = EpochInput<()>;

    fn next(&mut self) -> Option<Self::Item> {
        let now = Instant::now();
        let input = if self.drain_until.is_none() && now >= self.due {
            match self.arrivals.next() {
                Some(arrival) => {
                    self.due += self.every;
                    EpochInput { records: arrival.records, ..EpochInput::default() }
                }
                None => {
                    self.drain_until = Some(now + Duration::from_secs(3));
                    EpochInput::default()
                }
            }
        } else {
            if self.drain_until.is_some_and(|until| now >= until) {
                return None;
            }
            std::thread::sleep(
                IDLE_EPOCH
                    .min(self.due.saturating_duration_since(now))
                    .max(Duration::from_millis(1)),
            );
            EpochInput::default()
        };
        self.handed.lock().unwrap().push(Instant::now());
        Some(input)
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mut chunk_ms = 1000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--chunk-ms" {
            chunk_ms =
                args.next().and_then(|v| v.parse().ok()).expect("--chunk-ms takes milliseconds");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    eprintln!("making the demo's match and log in {}", demo.display());
    reeltime::demo::demo(&demo, false).expect("the demo runs");
    let arrivals = arrivals(&demo.join("demo-log.jsonl"));

    let handed: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let feed = Mutex::new(Some(LiveFeed {
        arrivals: arrivals.into_iter(),
        every: Duration::from_millis(chunk_ms),
        due: Instant::now(),
        drain_until: None,
        handed: handed.clone(),
    }));
    let source: Arc<harness::Source<()>> =
        Arc::new(move |_, _| Box::new(feed.lock().unwrap().take().expect("one worker")));
    let out = OutputDir::prepare(&dir.path().join("live")).unwrap();
    let mut driver = Driver::new(
        out,
        DriverOptions {
            render: Some(RenderConfig::default()),
            export: Default::default(),
            progress: false,
            write_every: Some(Duration::from_secs(5)),
        },
    )
    .unwrap();
    // (segment start, bounds, in-point, out-point, edge in seconds)
    let mut edges: Vec<(f64, String, f64, f64, f64)> = Vec::new();
    let options = RunOptions { workers: 1, epochs_ahead: 1, pipelined: true, cluster: None };
    harness::run(options, source, |closed| {
        let epoch = closed.epoch;
        let outcome = driver.close(epoch, closed.rows).unwrap();
        for notification in &outcome.rendered {
            if let NotificationDoc::ClipRendered { epoch: asked, start, bounds, clip, .. } =
                notification
            {
                let handed_at = handed.lock().unwrap()[*asked as usize];
                let edge = handed_at.elapsed().as_secs_f64();
                let seconds = |s: reeltime_schemas::time::Seconds| s.ms() as f64 / 1000.0;
                edges.push((
                    seconds(*start),
                    bounds.clone(),
                    seconds(clip.requested_start),
                    seconds(clip.requested_end),
                    edge,
                ));
            }
        }
        driver.record(epoch, &[], &outcome).unwrap();
    })
    .expect("the dataflow runs");
    let drained = driver.drain(true).unwrap();
    driver.finish(&drained).unwrap();
    assert!(!edges.is_empty(), "no clip was rendered");

    let mut cli = Vec::new();
    for (_, bounds, from, to, _) in &edges {
        if bounds != "original" {
            continue;
        }
        let target = dir.path().join(format!("cli-{from}.mp4"));
        let started = Instant::now();
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-ss", &from.to_string(), "-to", &to.to_string(), "-i"])
            .arg(demo.join("media/match.m3u8"))
            .args(["-c", "copy"])
            .arg(&target)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success());
        cli.push(started.elapsed().as_secs_f64());
    }

    println!("Live edge, one chunk every {chunk_ms} ms (demo chunks are 4 s):");
    println!("| segment | bounds | range (s) | live edge (ms) |");
    println!("|---|---|---|---|");
    for (start, bounds, from, to, edge) in &edges {
        println!("| {start} | {bounds} | {from}-{to} | {:.0} |", edge * 1000.0);
    }
    let edge_median = median(edges.iter().map(|e| e.4).collect());
    let edge_max = edges.iter().map(|e| e.4).fold(0.0, f64::max);
    let cli_median = median(cli);
    println!(
        "median live edge {:.0} ms, max {:.0} ms; ffmpeg CLI cut of the same ranges: median {:.0} ms; ratio edge/CLI {:.2}",
        edge_median * 1000.0,
        edge_max * 1000.0,
        cli_median * 1000.0,
        edge_median / cli_median
    );
}
