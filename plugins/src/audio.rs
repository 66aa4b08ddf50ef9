//! Audio analysis of one audio track: momentary loudness (`ebur128`) for the roar detector
//! and silences (`silencedetect`), in one long-lived FFmpeg filter graph fed chunk after
//! chunk, so a roar or a silence across a chunk boundary is seen whole.

use ffmpeg::{filter, frame};
use ffmpeg_next as ffmpeg;

use reeltime_connectors::ingest::probe::to_us;

use crate::graph::{feed, receive};
use crate::loudness::{LoudnessConfig, LoudnessEvent, LoudnessTracker};

/// Settings of the audio analysis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AudioConfig {
    /// Samples quieter than this are silent, in dBFS.
    pub silence_noise_db: f64,
    /// Shortest silence reported, in milliseconds.
    pub silence_min_ms: u64,
    /// The roar detector.
    pub loudness: LoudnessConfig,
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig {
            silence_noise_db: -60.0,
            silence_min_ms: 1_000,
            loudness: LoudnessConfig::default(),
        }
    }
}

/// What the audio analysis found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AudioFinding {
    /// The roar detector's news.
    Loudness(LoudnessEvent),
    /// Silence from `start_ms` to `end_ms`.
    Silence {
        /// Event time where it starts.
        start_ms: u64,
        /// Event time where it ends.
        end_ms: u64,
    },
}

/// The graph and the sample format it was built for.
struct Graph {
    graph: filter::Graph,
    format: (u32, ffmpeg::format::Sample, u64, u16),
}

/// The audio analysis of one track.
pub(crate) struct AudioAnalysis {
    config: AudioConfig,
    graph: Option<Graph>,
    tracker: LoudnessTracker,
    silence_start_ms: Option<u64>,
    known_ms: u64,
    findings: Vec<AudioFinding>,
    output: frame::Audio,
}

impl AudioAnalysis {
    pub(crate) fn new(config: AudioConfig) -> Self {
        AudioAnalysis {
            config,
            graph: None,
            tracker: LoudnessTracker::new(config.loudness),
            silence_start_ms: None,
            known_ms: 0,
            findings: Vec::new(),
            output: frame::Audio::empty(),
        }
    }

    /// Analyses a decoded frame at `event_us`.
    pub(crate) fn push(&mut self, frame: &mut frame::Audio, event_us: i64) -> Result<(), String> {
        let layout = frame.channel_layout();
        let format = (frame.rate(), frame.format(), layout.bits(), frame.channels());
        if self.graph.as_ref().is_none_or(|g| g.format != format) {
            self.flush_graph()?;
            self.graph = Some(Graph { graph: build(&self.config, format)?, format });
        }
        let graph = &mut self.graph.as_mut().expect("just built").graph;
        frame.set_pts(Some(event_us));
        feed(graph, frame, "audio")?;
        self.pull()
    }

    fn pull(&mut self) -> Result<(), String> {
        let Some(graph) = self.graph.as_mut() else { return Ok(()) };
        let mut sink = graph.graph.get("out").expect("the graph has a sink");
        let time_base = sink.sink().time_base();
        loop {
            if !receive(&mut sink, &mut self.output, "audio")? {
                return Ok(());
            }
            let Some(pts) = self.output.pts() else { continue };
            let start_us = to_us(pts, time_base).max(0) as u64;
            let rate = u64::from(self.output.rate().max(1));
            let end_us = start_us + self.output.samples() as u64 * 1_000_000 / rate;
            let (start_ms, end_ms) = ((start_us + 500) / 1000, (end_us + 500) / 1000);
            self.known_ms = self.known_ms.max(end_ms);
            let metadata = self.output.metadata();
            let seconds = |key: &str| -> Option<u64> {
                let value: f64 = metadata.get(key)?.parse().ok()?;
                Some((value.max(0.0) * 1000.0).round() as u64)
            };
            let silence_start = seconds("lavfi.silence_start");
            let silence_end = seconds("lavfi.silence_end");
            let momentary: Option<f64> = metadata.get("lavfi.r128.M").and_then(|m| m.parse().ok());
            if let Some(end_ms) = silence_end {
                if let Some(start_ms) = self.silence_start_ms.take() {
                    self.findings.push(AudioFinding::Silence { start_ms, end_ms });
                }
            }
            if let Some(start) = silence_start {
                self.silence_start_ms = Some(start);
            }
            if let Some(lufs) = momentary {
                if let Some(event) = self.tracker.push(start_ms, end_ms, lufs) {
                    self.findings.push(AudioFinding::Loudness(event));
                }
            }
        }
    }

    fn flush_graph(&mut self) -> Result<(), String> {
        if let Some(graph) = self.graph.as_mut() {
            graph
                .graph
                .get("in")
                .expect("the graph has a source")
                .source()
                .flush()
                .map_err(|e| format!("the audio analysis graph failed to flush: {e}"))?;
            self.pull()?;
            self.graph = None;
        }
        Ok(())
    }

    /// Pushes the end of the media through and closes a silence or roar still going.
    pub(crate) fn flush(&mut self) -> Result<(), String> {
        self.flush_graph()?;
        if let Some(start_ms) = self.silence_start_ms.take() {
            if self.known_ms >= start_ms + self.config.silence_min_ms {
                self.findings.push(AudioFinding::Silence { start_ms, end_ms: self.known_ms });
            }
        }
        if let Some(event) = self.tracker.finish() {
            self.findings.push(AudioFinding::Loudness(event));
        }
        Ok(())
    }

    /// Takes what was found since the last call.
    pub(crate) fn take_findings(&mut self) -> Vec<AudioFinding> {
        std::mem::take(&mut self.findings)
    }

    /// Event time up to which this track has been analysed, in milliseconds.
    pub(crate) fn known_ms(&self) -> u64 {
        self.known_ms
    }
}

/// Builds `abuffer -> asetnsamples (100 ms) -> silencedetect -> ebur128 -> abuffersink`.
fn build(
    config: &AudioConfig,
    (rate, sample, layout_bits, channels): (u32, ffmpeg::format::Sample, u64, u16),
) -> Result<filter::Graph, String> {
    let fail = |e: ffmpeg::Error| format!("cannot build the audio analysis graph: {e}");
    let mut graph = filter::Graph::new();
    let layout = if layout_bits == 0 {
        format!("channels={channels}")
    } else {
        format!("channel_layout=0x{layout_bits:x}")
    };
    let args =
        format!("time_base=1/1000000:sample_rate={rate}:sample_fmt={}:{layout}", sample.name());
    let abuffer = filter::find("abuffer").ok_or("FFmpeg has no abuffer filter")?;
    let abuffersink = filter::find("abuffersink").ok_or("FFmpeg has no abuffersink filter")?;
    graph.add(&abuffer, "in", &args).map_err(fail)?;
    graph.add(&abuffersink, "out", "").map_err(fail)?;
    // 100 ms frames: ebur128 then reports the momentary loudness ten times a second.
    let spec = format!(
        "asetnsamples=n={}:p=0,silencedetect=n={}dB:d={},ebur128=metadata=1",
        (rate / 10).max(1),
        config.silence_noise_db,
        config.silence_min_ms as f64 / 1000.0
    );
    graph
        .output("in", 0)
        .and_then(|p| p.input("out", 0))
        .and_then(|p| p.parse(&spec))
        .map_err(fail)?;
    graph.validate().map_err(fail)?;
    Ok(graph)
}
