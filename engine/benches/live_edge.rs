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

use reeltime::render_sink::{RenderConfig, RenderSink};
use reeltime_operators::harness::{self, EpochInput};
use reeltime_operators::read_model::ReadModel;
use reeltime_schemas::document::NotificationDoc;
use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;
use reeltime_schemas::record::{Chunk, Seq};
use reeltime_schemas::{decode, Record};

/// How often an empty epoch closes while nothing arrives.
const IDLE_EPOCH: Duration = Duration::from_millis(10);

/// One arrival: a chunk and what the plugins found in it (the first also holds the profile,
/// event and replay records before the first chunk).
struct Arrival {
    records: Vec<(Seq, Record)>,
    chunks: Vec<(Seq, Chunk)>,
}

/// The demo log as arrivals, in log order.
fn arrivals(log: &Path) -> Vec<Arrival> {
    let text = std::fs::read_to_string(log).expect("the demo wrote its log");
    let mut arrivals: Vec<Arrival> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let seq = index as Seq + 1;
        let record =
            decode(line.as_bytes(), DEFAULT_MAX_RECORD_BYTES).expect("the demo log is valid");
        match record {
            Record::Chunk(chunk) => {
                if arrivals.is_empty() || !arrivals.last().unwrap().chunks.is_empty() {
                    arrivals.push(Arrival { records: Vec::new(), chunks: Vec::new() });
                }
                arrivals.last_mut().unwrap().chunks.push((seq, chunk));
            }
            record => {
                if arrivals.is_empty() {
                    arrivals.push(Arrival { records: Vec::new(), chunks: Vec::new() });
                }
                arrivals.last_mut().unwrap().records.push((seq, record));
            }
        }
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
    type Item = EpochInput<(Seq, Chunk)>;

    fn next(&mut self) -> Option<Self::Item> {
        let now = Instant::now();
        let input = if self.drain_until.is_none() && now >= self.due {
            match self.arrivals.next() {
                Some(arrival) => {
                    self.due += self.every;
                    EpochInput { records: arrival.records, side: arrival.chunks }
                }
                None => {
                    self.drain_until = Some(now + Duration::from_secs(3));
                    EpochInput { records: Vec::new(), side: Vec::new() }
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
            EpochInput { records: Vec::new(), side: Vec::new() }
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
    let source: Arc<harness::Source<(Seq, Chunk)>> =
        Arc::new(move |_, _| Box::new(feed.lock().unwrap().take().expect("one worker")));
    let out = dir.path().join("live");
    std::fs::create_dir_all(&out).unwrap();
    let mut sink = RenderSink::new(&out, RenderConfig::default(), false).unwrap();
    let mut model = ReadModel::default();
    // (segment start, bounds, in-point, out-point, edge in seconds)
    let mut edges: Vec<(f64, String, f64, f64, f64)> = Vec::new();
    harness::run(1, source, |updates| {
        let epoch = updates.epoch;
        for (seq, chunk) in updates.side {
            sink.observe_chunk(epoch, seq, chunk);
        }
        let changes = model.apply(updates.events, updates.segments, updates.replays);
        sink.plan(epoch, &model, &changes).unwrap();
        sink.poll(&model).unwrap();
        for notification in sink.take_notifications() {
            if let NotificationDoc::ClipRendered { epoch: asked, start, bounds, clip, .. } =
                notification
            {
                let handed_at = handed.lock().unwrap()[asked as usize];
                let edge = handed_at.elapsed().as_secs_f64();
                let seconds = |s: reeltime_schemas::time::Seconds| s.ms() as f64 / 1000.0;
                edges.push((
                    seconds(start),
                    bounds,
                    seconds(clip.requested_start),
                    seconds(clip.requested_end),
                    edge,
                ));
            }
        }
    })
    .expect("the dataflow runs");
    sink.cancel_replays();
    sink.finish(&model).unwrap();
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
