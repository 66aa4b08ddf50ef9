//! `reeltime demo`: the whole path on a synthetic match, with nothing to download.
//!
//! Makes the synthetic match of [`reeltime_connectors::synth`] in `OUT/media/` (its chunks and
//! playlist), ingests and analyses it chunk by chunk with the built-in plugins, writes the
//! event log `OUT/demo-log.jsonl` (profile, event, a catch-up and an after-event replay,
//! chunks, detections, segments, optimizations, event ended) and runs it through the dataflow
//! and the render sink like `reeltime process --render` (the pipeline of
//! [`crate::media_pipeline`]), so every view and export, every clip, the event playlist and
//! both replay videos are written in `OUT`.
//!
//! With `--serve` ([`serve`]), the embedded service then takes the demo's log as its own
//! (`OUT/service-data/`) and serves `OUT` with the HTTP API and the console, so a newcomer's
//! first command ends in a page to open, where replays can be made and clips liked.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::json;

use reeltime_connectors::ingest::convert::ConvertSettings;
use reeltime_connectors::output_dir::OutputDir;
use reeltime_connectors::synth::{make_match, SynthSpec};
use reeltime_plugins::AnalysisConfig;

use crate::media_pipeline::{
    analyse_to_log, default_priorities, process_log, EventPlan, LogSummary, MediaSource,
};
use crate::process::Summary;
use crate::record_log::RecordLog;
use crate::service::ServiceSummary;

/// The demo event's id.
pub const EVENT_ID: &str = "synthetic-match";
/// The catch-up replay: the best 30 s, maintained while the match runs.
pub const CATCHUP_REPLAY: &str = "demo-catchup";
/// The after-event replay: the best minute, once the match has ended.
pub const AFTER_EVENT_REPLAY: &str = "demo-after-event";

/// What `reeltime demo` made.
#[derive(Clone, Debug)]
pub struct DemoReport {
    /// The synthetic match's media folder.
    pub media: PathBuf,
    /// The event log.
    pub log: PathBuf,
    /// The analysis.
    pub analysis: LogSummary,
    /// The dataflow run over the log.
    pub processed: Summary,
    /// Seconds spent making the match.
    pub synth_seconds: f64,
}

/// Runs the demo into `out`.
pub fn demo(out: &Path, progress: bool) -> Result<DemoReport> {
    let out_dir = OutputDir::prepare(out)?;
    let media = out_dir.root().join("media");
    let spec = SynthSpec::default();
    if progress {
        eprintln!(
            "making a {} s synthetic match ({}x{} at {} fps) in {}",
            reeltime_connectors::synth::MATCH_MS / 1000,
            spec.width,
            spec.height,
            spec.fps,
            media.display()
        );
    }
    let started = Instant::now();
    let made = make_match(&media, &spec).context("making the synthetic match")?;
    let synth_seconds = started.elapsed().as_secs_f64();
    let replay = |id: &str, catchup: bool, duration: u32, tolerance: u32| {
        json!({
            "type": "replay", "replay_id": id, "event_id": EVENT_ID, "mode": "duration",
            "catchup": catchup, "duration": duration, "tolerance": tolerance,
            "priorities": default_priorities(),
            "render": {"mp4": true, "hls": true, "resolutions": ["720p"]},
        })
    };
    let plan = EventPlan {
        event_id: EVENT_ID.to_owned(),
        title: "Synthetic match".to_owned(),
        profile: "reeltime-demo".to_owned(),
        chunk_seconds: f64::from(spec.chunk_seconds),
        analysis: AnalysisConfig::default(),
        replays: vec![
            replay(CATCHUP_REPLAY, true, 30, 5),
            replay(AFTER_EVENT_REPLAY, false, 60, 10),
        ],
        chunk_dir: media.join("chunks"),
        convert: ConvertSettings::default(),
    };
    let log = out_dir.root().join("demo-log.jsonl");
    let analysis =
        analyse_to_log(&MediaSource::Playlist(made.playlist.clone()), &plan, &log, progress)?;
    let processed = process_log(&log, out_dir.root(), progress)?;
    Ok(DemoReport { media, log, analysis, processed, synth_seconds })
}

/// The data directory of the service that `--serve` runs, inside the demo's output.
pub const SERVICE_DATA: &str = "service-data";

/// Runs the embedded service over the demo's log (`OUT/demo-log.jsonl`, taken into
/// `OUT/service-data/` the first time) on `listen`, serving `out`, until it is stopped;
/// `listening` is told the address.
pub fn serve(
    out: &Path,
    listen: &str,
    listening: impl FnOnce(SocketAddr),
) -> Result<ServiceSummary> {
    let data = out.join(SERVICE_DATA);
    let text = |path: &Path| toml::Value::String(path.display().to_string());
    let config = crate::config::load(
        None,
        std::env::vars(),
        vec![
            ("service.log", toml::Value::String("embedded".into())),
            ("service.data_dir", text(&data)),
            ("service.listen", toml::Value::String(listen.into())),
            ("output.dir", text(out)),
        ],
    )?;
    let records = RecordLog::open(&data)?;
    if records.durable().records == 0 {
        let log = out.join("demo-log.jsonl");
        let lines = std::fs::read_to_string(&log).with_context(|| format!("reading {log:?}"))?;
        let lines: Vec<Vec<u8>> = lines
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| line.as_bytes().to_vec())
            .collect();
        records.append(&lines).with_context(|| format!("taking {log:?} into {data:?}"))?;
    }
    drop(records);
    crate::service::serve(&config, listening)
}
