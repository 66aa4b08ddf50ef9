//! Video analysis of an event: scene cuts (`scdet`) and black pictures (`blackdetect`) in one
//! long-lived FFmpeg filter graph, fed chunk after chunk so a black stretch or a cut across a
//! chunk boundary is seen whole.
//!
//! The graph samples the video at the profile's `processing_fps` first (`fps`), so cost
//! follows the analysis rate, not the source's. `scdet` scores a cut into black low (the
//! picture only darkens), so the start and end of every black stretch also count as cuts,
//! unless `scdet` found one within a sampled frame.
//!
//! `scdet` also measures, for every sampled frame, its mean absolute difference from the one
//! before: the motion energy of the picture. As a level in decibels (`20·log10`), it goes to a
//! [`LoudnessTracker`] of its own, so bursts of motion are judged against the event's own
//! baseline as roars are against its loudness: the excitement signal of a source without
//! sound.

use ffmpeg::{filter, frame};
use ffmpeg_next as ffmpeg;

use reeltime_connectors::ingest::probe::to_us;

use crate::graph::{feed, receive};
use crate::loudness::{LoudnessConfig, LoudnessEvent, LoudnessTracker};

/// Settings of the video analysis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoConfig {
    /// Frames per second analysed (the profile's `processing_fps`).
    pub processing_fps: f64,
    /// `scdet` score (0..100) from which a frame change is a cut.
    pub scene_threshold: f64,
    /// Shortest black stretch reported, in milliseconds.
    pub black_min_ms: u64,
    /// Bursts of motion: how far above the baseline of motion energy (in dB) one starts, and
    /// is `high`; how long it lasts at least; how long the baseline looks back.
    pub motion: LoudnessConfig,
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            processing_fps: 5.0,
            scene_threshold: 10.0,
            black_min_ms: 500,
            // Three times the usual frame difference starts a burst, ten times is high.
            motion: LoudnessConfig {
                threshold_lu: 10.0,
                high_lu: 20.0,
                min_duration_ms: 1_000,
                baseline_window_ms: 60_000,
            },
        }
    }
}

/// What the video analysis found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VideoFinding {
    /// A cut at `at_ms`: `scdet`'s score, or none for the edge of a black stretch.
    Cut {
        /// Event time of the first frame after the cut.
        at_ms: u64,
        /// `scdet`'s score, if `scdet` found it.
        score: Option<f64>,
        /// For the edge of a black stretch: true into black, false out of it.
        into_black: Option<bool>,
    },
    /// Black pictures from `start_ms` to `end_ms`.
    Black {
        /// Event time of the first black frame.
        start_ms: u64,
        /// Event time of the first frame after the black.
        end_ms: u64,
    },
}

/// The filter graph and the picture format it was built for.
struct Graph {
    graph: filter::Graph,
    format: (u32, u32, ffmpeg::format::Pixel),
}

/// The video analysis of one event.
pub(crate) struct VideoAnalysis {
    config: VideoConfig,
    graph: Option<Graph>,
    black_start_ms: Option<u64>,
    last_cut_ms: Option<u64>,
    /// Event time of the last analysed frame's end.
    known_ms: u64,
    findings: Vec<VideoFinding>,
    output: frame::Video,
    motion: LoudnessTracker,
    motion_news: Vec<LoudnessEvent>,
}

impl VideoAnalysis {
    pub(crate) fn new(config: VideoConfig) -> Self {
        VideoAnalysis {
            config,
            graph: None,
            black_start_ms: None,
            last_cut_ms: None,
            known_ms: 0,
            findings: Vec::new(),
            output: frame::Video::empty(),
            motion: LoudnessTracker::with_window(config.motion, 0),
            motion_news: Vec::new(),
        }
    }

    fn step_ms(&self) -> u64 {
        (1000.0 / self.config.processing_fps).round().max(1.0) as u64
    }

    /// Analyses a decoded frame at `event_us`.
    pub(crate) fn push(&mut self, frame: &mut frame::Video, event_us: i64) -> Result<(), String> {
        let format = (frame.width(), frame.height(), frame.format());
        if self.graph.as_ref().is_none_or(|g| g.format != format) {
            // A new picture format (or the first frame): a new graph; what the old one held
            // is flushed first so nothing is lost.
            self.flush()?;
            self.graph = Some(Graph { graph: build(&self.config, format)?, format });
        }
        let graph = &mut self.graph.as_mut().expect("just built").graph;
        frame.set_pts(Some(event_us));
        feed(graph, frame, "video")?;
        self.pull()
    }

    /// Takes every frame the graph has ready and reads its findings.
    fn pull(&mut self) -> Result<(), String> {
        let Some(graph) = self.graph.as_mut() else { return Ok(()) };
        let mut sink = graph.graph.get("out").expect("the graph has a sink");
        let time_base = sink.sink().time_base();
        loop {
            if !receive(&mut sink, &mut self.output, "video")? {
                return Ok(());
            }
            let Some(pts) = self.output.pts() else { continue };
            let at_ms = (to_us(pts, time_base).max(0) as u64 + 500) / 1000;
            let metadata = self.output.metadata();
            let black_start = metadata.get("lavfi.black_start").is_some();
            let black_end = metadata.get("lavfi.black_end").is_some();
            let score: Option<f64> = metadata.get("lavfi.scd.score").and_then(|s| s.parse().ok());
            let difference: Option<f64> =
                metadata.get("lavfi.scd.mafd").and_then(|s| s.parse().ok());
            let step = self.step_ms();
            if let Some(difference) = difference {
                // No difference at all is a frozen picture: below every gate, never a baseline.
                let level = if difference > 0.0 { 20.0 * difference.log10() } else { f64::MIN };
                self.motion_news.extend(self.motion.push(at_ms, at_ms + step, level));
            }
            self.known_ms = self.known_ms.max(at_ms + step);
            if black_end {
                self.end_black(at_ms);
            }
            if black_start {
                self.black_start_ms = Some(at_ms);
            }
            if let Some(score) = score.filter(|&s| s >= self.config.scene_threshold) {
                self.cut(at_ms, Some(score), None);
            }
        }
    }

    /// A black stretch ends at `end_ms`; it counts if it was long enough.
    fn end_black(&mut self, end_ms: u64) {
        let Some(start_ms) = self.black_start_ms.take() else { return };
        if end_ms.saturating_sub(start_ms) < self.config.black_min_ms {
            return;
        }
        self.findings.push(VideoFinding::Black { start_ms, end_ms });
        self.cut(start_ms, None, Some(true));
        self.cut(end_ms, None, Some(false));
    }

    /// Records a cut, unless one was found within a sampled frame of it.
    fn cut(&mut self, at_ms: u64, score: Option<f64>, into_black: Option<bool>) {
        let near = self.step_ms() * 3 / 2;
        let seen = self.findings.iter().any(|f| {
            matches!(f, VideoFinding::Cut { at_ms: other, .. } if other.abs_diff(at_ms) <= near)
        });
        if seen || self.last_cut_ms.is_some_and(|c| c.abs_diff(at_ms) <= near) {
            return;
        }
        self.last_cut_ms = Some(at_ms);
        self.findings.push(VideoFinding::Cut { at_ms, score, into_black });
    }

    /// Pushes the end of the media through the graph and closes a black stretch still open.
    pub(crate) fn flush(&mut self) -> Result<(), String> {
        if let Some(graph) = self.graph.as_mut() {
            graph
                .graph
                .get("in")
                .expect("the graph has a source")
                .source()
                .flush()
                .map_err(|e| format!("the video analysis graph failed to flush: {e}"))?;
            self.pull()?;
            self.graph = None;
        }
        let known = self.known_ms;
        self.end_black(known);
        Ok(())
    }

    /// Ends a burst of motion still going at the end of the event's media.
    pub(crate) fn finish(&mut self) {
        self.motion_news.extend(self.motion.finish());
    }

    /// Takes what the motion energy showed since the last call: bursts confirmed and ended.
    pub(crate) fn take_motion(&mut self) -> Vec<LoudnessEvent> {
        std::mem::take(&mut self.motion_news)
    }

    /// Takes what was found since the last call.
    pub(crate) fn take_findings(&mut self) -> Vec<VideoFinding> {
        std::mem::take(&mut self.findings)
    }

    /// Event time up to which the video has been analysed, in milliseconds.
    pub(crate) fn known_ms(&self) -> u64 {
        self.known_ms
    }
}

/// Builds `buffer -> fps -> blackdetect -> scdet -> buffersink` for pictures of `format`.
fn build(
    config: &VideoConfig,
    (width, height, pixel): (u32, u32, ffmpeg::format::Pixel),
) -> Result<filter::Graph, String> {
    let fail = |e: ffmpeg::Error| format!("cannot build the video analysis graph: {e}");
    let pixel_name = pixel.descriptor().map(|d| d.name()).ok_or("the video has no pixel format")?;
    let mut graph = filter::Graph::new();
    let args = format!(
        "video_size={width}x{height}:pix_fmt={pixel_name}:time_base=1/1000000:pixel_aspect=1/1"
    );
    let buffer = filter::find("buffer").ok_or("FFmpeg has no buffer filter")?;
    let buffersink = filter::find("buffersink").ok_or("FFmpeg has no buffersink filter")?;
    graph.add(&buffer, "in", &args).map_err(fail)?;
    graph.add(&buffersink, "out", "").map_err(fail)?;
    let spec = format!(
        "fps=fps={}:round=near,blackdetect=d=0,scdet=threshold={}",
        config.processing_fps, config.scene_threshold
    );
    graph
        .output("in", 0)
        .and_then(|p| p.input("out", 0))
        .and_then(|p| p.parse(&spec))
        .map_err(fail)?;
    graph.validate().map_err(fail)?;
    Ok(graph)
}
