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
//!
//! Interlaced pictures (1080i50, 576i25: two fields of different instants woven into one
//! frame) are deinterlaced first (`bwdif`), because the combing of woven fields on anything
//! that moves would count as picture difference of its own: cut scores and motion energy
//! must measure the scene, not the field structure.

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

/// The pictures a graph is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pictures {
    width: u32,
    height: u32,
    pixel: ffmpeg::format::Pixel,
    /// Whether the event's video has shown an interlaced frame.
    interlaced: bool,
}

/// The filter graph and the pictures it was built for.
struct Graph {
    graph: filter::Graph,
    pictures: Pictures,
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
    /// Whether any frame so far was interlaced: it stays so, since a broadcast that mixes
    /// progressive and interlaced frames (H.264 PAFF) is interlaced, and the deinterlacer
    /// leaves its progressive frames as they are.
    interlaced: bool,
    /// Whether any frame came: an event with sound only has none.
    seen_frames: bool,
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
            interlaced: false,
            seen_frames: false,
        }
    }

    fn step_ms(&self) -> u64 {
        (1000.0 / self.config.processing_fps).round().max(1.0) as u64
    }

    /// Analyses a decoded frame at `event_us`.
    pub(crate) fn push(&mut self, frame: &mut frame::Video, event_us: i64) -> Result<(), String> {
        self.seen_frames = true;
        self.interlaced |= frame.is_interlaced();
        let pictures = Pictures {
            width: frame.width(),
            height: frame.height(),
            pixel: frame.format(),
            interlaced: self.interlaced,
        };
        if self.graph.as_ref().is_none_or(|g| g.pictures != pictures) {
            // A new picture format (or the first frame, or the first interlaced one): a new
            // graph; what the old one held is flushed first so nothing is lost.
            self.flush()?;
            self.graph = Some(Graph { graph: build(&self.config, pictures)?, pictures });
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

    /// Event time up to which the video has been analysed, in milliseconds; `None` while no
    /// frame has come (a source with sound only).
    pub(crate) fn known_ms(&self) -> Option<u64> {
        self.seen_frames.then_some(self.known_ms)
    }
}

/// The filters between the graph's source and sink: `fps -> blackdetect -> scdet`, after
/// `bwdif` when the pictures are interlaced. The deinterlacer comes before the sampling so it
/// sees neighbouring frames; it gives one frame per frame (`send_frame`), keeping the times,
/// and touches only frames flagged interlaced (`deint=interlaced`).
fn analysis_filters(config: &VideoConfig, interlaced: bool) -> String {
    let deinterlace =
        if interlaced { "bwdif=mode=send_frame:parity=auto:deint=interlaced," } else { "" };
    format!(
        "{deinterlace}fps=fps={}:round=near,blackdetect=d=0,scdet=threshold={}",
        config.processing_fps, config.scene_threshold
    )
}

/// Builds the analysis graph, `buffer -> analysis_filters -> buffersink`, for `pictures`.
fn build(config: &VideoConfig, pictures: Pictures) -> Result<filter::Graph, String> {
    let Pictures { width, height, pixel, interlaced } = pictures;
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
    let spec = analysis_filters(config, interlaced);
    graph
        .output("in", 0)
        .and_then(|p| p.input("out", 0))
        .and_then(|p| p.parse(&spec))
        .map_err(fail)?;
    graph.validate().map_err(fail)?;
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interlaced_pictures_are_deinterlaced_before_they_are_sampled() {
        let config = VideoConfig::default();
        assert_eq!(
            analysis_filters(&config, false),
            "fps=fps=5:round=near,blackdetect=d=0,scdet=threshold=10"
        );
        assert_eq!(
            analysis_filters(&config, true),
            "bwdif=mode=send_frame:parity=auto:deint=interlaced,\
             fps=fps=5:round=near,blackdetect=d=0,scdet=threshold=10"
        );
    }

    /// A black 64x48 frame that `setfield` marked `field` (`tff`: interlaced, `prog`: not), as
    /// a decoder marks what it decodes.
    fn frame_marked(field: &str) -> frame::Video {
        ffmpeg::init().unwrap();
        let mut graph = filter::Graph::new();
        let args = "video_size=64x48:pix_fmt=yuv420p:time_base=1/25:pixel_aspect=1/1";
        graph.add(&filter::find("buffer").unwrap(), "in", args).unwrap();
        graph.add(&filter::find("buffersink").unwrap(), "out", "").unwrap();
        let spec = format!("setfield={field}");
        graph.output("in", 0).unwrap().input("out", 0).unwrap().parse(&spec).unwrap();
        graph.validate().unwrap();
        let mut blank = frame::Video::new(ffmpeg::format::Pixel::YUV420P, 64, 48);
        for plane in 0..3 {
            blank.data_mut(plane).fill(0);
        }
        blank.set_pts(Some(0));
        graph.get("in").unwrap().source().add(&blank).unwrap();
        let mut marked = frame::Video::empty();
        graph.get("out").unwrap().sink().frame(&mut marked).unwrap();
        marked
    }

    #[test]
    fn the_first_interlaced_frame_brings_the_deinterlacer_and_it_stays() {
        let mut analysis = VideoAnalysis::new(VideoConfig::default());
        let interlaced =
            |analysis: &VideoAnalysis| analysis.graph.as_ref().unwrap().pictures.interlaced;
        assert!(!frame_marked("prog").is_interlaced() && frame_marked("tff").is_interlaced());
        // The graph takes the frame's pictures, so each push gets a frame of its own.
        analysis.push(&mut frame_marked("prog"), 0).unwrap();
        assert!(!interlaced(&analysis));
        analysis.push(&mut frame_marked("tff"), 40_000).unwrap();
        assert!(interlaced(&analysis));
        analysis.push(&mut frame_marked("prog"), 80_000).unwrap();
        assert!(interlaced(&analysis), "a progressive frame after it keeps the deinterlacer");
    }
}
