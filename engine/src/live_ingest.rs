//! `reeltime ingest`: an event's media analysed into a running service as it arrives.
//!
//! The same pipeline as `highlights` ([`crate::media_pipeline::analyse`]) over any source it
//! takes (a live UDP/SRT stream above all, but also a file, a folder of chunks or an HLS
//! playlist), with a sink that sends each chunk's records to the service (its HTTP API, or
//! straight to the Kafka input topics) as soon as the chunk is analysed: the service's views
//! and catch-up replays grow while the stream plays, and its render sink cuts the replays
//! from the chunk files, which stay in `chunk_dir` (the service must be able to read them).
//!
//! Each chunk's record is sent as soon as the chunk is cut, and what the plugins found in it
//! once they have analysed it. Both latencies are measured from the moment the splitter hands
//! the chunk over (the stream's first packet after the chunk's end has arrived, so the chunk's
//! last byte is in) to the moment the service has the records durably.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use reeltime_connectors::ingest::convert::ConvertSettings;
use reeltime_plugins::AnalysisConfig;

use crate::highlights::id_of;
use crate::media_pipeline::{
    analyse, default_priorities, EventPlan, LogSummary, MediaSource, RecordSink,
};
use crate::serve::api::RecordWriter;

/// Settings of `reeltime ingest`.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// The stream URL, video file, folder of chunks or HLS playlist.
    pub input: PathBuf,
    /// The event's id (default from the file name; `live-stream` for a URL).
    pub event_id: Option<String>,
    /// The event's title (default its id).
    pub title: Option<String>,
    /// Where the chunk files are written; the service reads them to render.
    pub chunk_dir: PathBuf,
    /// Seconds per chunk.
    pub chunk_seconds: f64,
    /// With a live stream: seconds without data that end it.
    pub silence_seconds: Option<f64>,
    /// A catch-up replay of this many seconds to publish with the event (none without).
    pub catchup_seconds: Option<f64>,
    /// Show each chunk as it is sent.
    pub progress: bool,
}

/// What an ingest did.
#[derive(Clone, Debug)]
pub struct IngestReport {
    /// The event's id.
    pub event_id: String,
    /// The analysis.
    pub analysis: LogSummary,
    /// Records the service accepted.
    pub records: u64,
    /// Per chunk: from its hand-over by the splitter to its `chunk` record being durable.
    pub chunk_latency: Vec<Duration>,
    /// Per chunk: from its hand-over to what the plugins found in it being durable.
    pub findings_latency: Vec<Duration>,
}

impl IngestReport {
    /// The median and the 95th percentile of `of`, in milliseconds.
    pub fn percentiles(of: &[Duration]) -> Option<(f64, f64)> {
        let mut ms: Vec<f64> = of.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        if ms.is_empty() {
            return None;
        }
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
        Some((at(0.5), at(0.95)))
    }
}

/// The records of each chunk, sent to the service as they are made.
struct LiveSink<'a> {
    writer: &'a dyn RecordWriter,
    batch: Vec<Vec<u8>>,
    /// When the chunk being analysed was handed over, and whether its record was sent.
    arrived: Option<(Instant, bool)>,
    chunk_latency: Vec<Duration>,
    findings_latency: Vec<Duration>,
    progress: bool,
}

impl RecordSink for LiveSink<'_> {
    fn chunk_arrived(&mut self) {
        self.arrived = Some((Instant::now(), false));
    }

    fn write(&mut self, record: &Value) -> Result<()> {
        self.batch.push(serde_json::to_vec(record).context("encoding a record")?);
        Ok(())
    }

    fn complete(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.writer
            .write(&self.batch)
            .with_context(|| format!("sending {} records to the service", self.batch.len()))?;
        match self.arrived {
            Some((at, false)) => {
                self.chunk_latency.push(at.elapsed());
                self.arrived = Some((at, true));
            }
            Some((at, true)) => {
                self.findings_latency.push(at.elapsed());
                if self.progress {
                    eprintln!(
                        "sent what the plugins found ({} records), {:.0} ms after the chunk was cut",
                        self.batch.len(),
                        at.elapsed().as_secs_f64() * 1000.0
                    );
                }
                self.arrived = None;
            }
            // The profile before the first chunk, or the event's end.
            None => {}
        }
        self.batch.clear();
        Ok(())
    }
}

/// The event's plan: the built-in plugins, and the catch-up replay when one is asked for.
pub fn plan(options: &IngestOptions, source: &MediaSource) -> Result<EventPlan> {
    if !(options.chunk_seconds.is_finite() && (0.5..=60.0).contains(&options.chunk_seconds)) {
        bail!("--chunk-size {} is not between 0.5 and 60 seconds", options.chunk_seconds);
    }
    let event_id = match (&options.event_id, source) {
        (Some(id), _) => {
            if id.is_empty() || id_of(id) != *id {
                bail!("--event-id {id:?} may hold only letters, digits, '-' and '_'");
            }
            id.clone()
        }
        (None, MediaSource::Stream { .. }) => "live-stream".to_owned(),
        (None, _) => id_of(options.input.file_stem().and_then(|s| s.to_str()).unwrap_or("event")),
    };
    let replays = match options.catchup_seconds {
        None => Vec::new(),
        Some(seconds) if !(seconds.is_finite() && (1.0..=10_000.0).contains(&seconds)) => {
            bail!("--catchup {seconds} is not between 1 and 10000 seconds")
        }
        Some(seconds) => {
            let duration = (seconds * 1000.0).round() / 1000.0;
            vec![json!({
                "type": "replay", "replay_id": format!("{event_id}-catchup"),
                "event_id": event_id, "mode": "duration", "catchup": true,
                "duration": duration, "tolerance": (duration * 100.0).round() / 1000.0,
                "priorities": default_priorities(),
                "render": {"mp4": true, "hls": true, "resolutions": ["720p"]},
            })]
        }
    };
    let chunk_dir = std::path::absolute(options.chunk_dir.join(&event_id))
        .with_context(|| format!("the chunk folder {:?}", options.chunk_dir))?;
    Ok(EventPlan {
        title: options.title.clone().unwrap_or_else(|| event_id.clone()),
        event_id,
        profile: "reeltime-ingest".to_owned(),
        chunk_seconds: options.chunk_seconds,
        analysis: AnalysisConfig::default(),
        replays,
        chunk_dir,
        convert: ConvertSettings::default(),
    })
}

/// Runs `reeltime ingest` into `writer`.
pub fn ingest(options: &IngestOptions, writer: &dyn RecordWriter) -> Result<IngestReport> {
    let source = MediaSource::of_input(&options.input, options.silence_seconds)?;
    let plan = plan(options, &source)?;
    let mut sink = LiveSink {
        writer,
        batch: Vec::new(),
        arrived: None,
        chunk_latency: Vec::new(),
        findings_latency: Vec::new(),
        progress: options.progress,
    };
    let accepted = writer.accepted();
    let analysis = analyse(&source, &plan, &mut sink, options.progress)?;
    Ok(IngestReport {
        event_id: plan.event_id,
        analysis,
        records: writer.accepted() - accepted,
        chunk_latency: sink.chunk_latency,
        findings_latency: sink.findings_latency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> IngestOptions {
        IngestOptions {
            input: PathBuf::from("Final Set.mp4"),
            event_id: None,
            title: None,
            chunk_dir: PathBuf::from("/srv/chunks"),
            chunk_seconds: 4.0,
            silence_seconds: None,
            catchup_seconds: None,
            progress: false,
        }
    }

    #[test]
    fn the_plan_names_the_event_and_its_catchup_replay() {
        let file = MediaSource::File(PathBuf::from("Final Set.mp4"));
        let of_file = plan(&options(), &file).unwrap();
        assert_eq!(of_file.event_id, "Final-Set");
        assert_eq!(of_file.chunk_dir, PathBuf::from("/srv/chunks/Final-Set"));
        assert!(of_file.replays.is_empty());
        let stream = MediaSource::Stream { url: "udp://x".into(), silence: Duration::ZERO };
        let asked = IngestOptions { catchup_seconds: Some(90.0), ..options() };
        let of_stream = plan(&asked, &stream).unwrap();
        assert_eq!(of_stream.event_id, "live-stream");
        assert_eq!(of_stream.replays[0]["replay_id"], "live-stream-catchup");
        assert_eq!(of_stream.replays[0]["catchup"], true);
        assert_eq!(of_stream.replays[0]["duration"], 90.0);
    }

    #[test]
    fn bad_settings_are_named() {
        let file = MediaSource::File(PathBuf::from("a.mp4"));
        let bad = |o: IngestOptions| plan(&o, &file).unwrap_err().to_string();
        assert!(bad(IngestOptions { event_id: Some("a b".into()), ..options() })
            .contains("--event-id \"a b\""));
        assert!(
            bad(IngestOptions { catchup_seconds: Some(0.0), ..options() }).contains("--catchup 0")
        );
        assert!(bad(IngestOptions { chunk_seconds: 0.1, ..options() }).contains("--chunk-size"));
    }

    #[test]
    fn percentiles_of_latencies() {
        let ms = |v: u64| Duration::from_millis(v);
        let all: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(IngestReport::percentiles(&all), Some((51.0, 95.0)));
        assert_eq!(IngestReport::percentiles(&[]), None);
    }
}
