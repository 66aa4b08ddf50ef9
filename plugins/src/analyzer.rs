//! [`EventAnalyzer`]: every built-in plugin of one event, run chunk by chunk.
//!
//! Its filter graphs live as long as the event, so a black stretch, a silence or a roar
//! across a chunk boundary is one finding, and results depend on the media, not on how it
//! was cut. A damaged chunk gives a [`ChunkFailure`] that says why, with what could still be
//! analysed; the next chunk goes on.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ffmpeg_next::frame;
use serde_json::Value;

use reeltime_connectors::ingest::Chunk;

use crate::audio::{AudioAnalysis, AudioConfig, AudioFinding};
use crate::decode::{decode_chunk, FrameSink};
use crate::loudness::{LoudnessEvent, Roar};
use crate::optimizer;
use crate::records::{seconds_value, tenths, Detection, PluginRecord, Segment};
use crate::segmenter::{Segmenter, SegmenterConfig};
use crate::video::{VideoAnalysis, VideoConfig, VideoFinding};

/// Plugin name of the roar featurer.
pub const AUDIO_LOUDNESS: &str = "AudioLoudness";
/// Plugin name of the scene cut featurer.
pub const SCENE_CUT: &str = "SceneCut";
/// Plugin name of the black picture featurer.
pub const BLACK_FRAME: &str = "BlackFrame";
/// Plugin name of the silence featurer.
pub const SILENCE: &str = "Silence";
/// Plugin name of the motion featurer (sources without sound).
pub const MOTION_ENERGY: &str = "MotionEnergy";

/// Settings of every built-in plugin of an event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnalysisConfig {
    /// Video analysis (sampling rate, cut and black thresholds).
    pub video: VideoConfig,
    /// Audio analysis (silence and roar thresholds).
    pub audio: AudioConfig,
    /// The segmenter.
    pub segmenter: SegmenterConfig,
    /// How far the optimizer may move a bound, in milliseconds.
    pub search_window_ms: u64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            video: VideoConfig::default(),
            audio: AudioConfig::default(),
            segmenter: SegmenterConfig::default(),
            search_window_ms: 2_000,
        }
    }
}

/// A chunk whose analysis failed: why, and what could still be found in it.
#[derive(Debug, thiserror::Error)]
#[error("chunk {seq_no} ({path:?}): {reason}")]
pub struct ChunkFailure {
    /// The chunk's number.
    pub seq_no: u64,
    /// The chunk's file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
    /// Records found in the part that could be analysed.
    pub salvaged: Vec<PluginRecord>,
}

/// The built-in plugins of one event, run chunk by chunk.
pub struct EventAnalyzer {
    config: AnalysisConfig,
    tracks: Vec<u32>,
    video: VideoAnalysis,
    audio: Vec<AudioAnalysis>,
    cuts: Vec<u64>,
    safe_points: Vec<u64>,
    segmenter: Segmenter,
    /// Complete segments waiting for the optimizer: (start, end).
    waiting: Vec<(u64, u64)>,
    previous_clip_end_ms: u64,
}

/// Routes decoded frames to the analyses.
struct Analyses<'a> {
    video: &'a mut VideoAnalysis,
    audio: &'a mut Vec<AudioAnalysis>,
    audio_config: AudioConfig,
}

impl FrameSink for Analyses<'_> {
    fn video(&mut self, frame: &mut frame::Video, event_us: i64) -> Result<(), String> {
        self.video.push(frame, event_us)
    }

    fn audio(
        &mut self,
        index: usize,
        frame: &mut frame::Audio,
        event_us: i64,
    ) -> Result<(), String> {
        while self.audio.len() <= index {
            self.audio.push(AudioAnalysis::new(self.audio_config));
        }
        self.audio[index].push(frame, event_us)
    }
}

impl EventAnalyzer {
    /// The plugins of an event whose audio tracks are `audio_tracks` (from its `event`
    /// record or the probe; the n-th audio stream of a chunk is the n-th track).
    pub fn new(config: AnalysisConfig, audio_tracks: &[u32]) -> Self {
        EventAnalyzer {
            config,
            tracks: audio_tracks.to_vec(),
            video: VideoAnalysis::new(config.video),
            audio: Vec::new(),
            cuts: Vec::new(),
            safe_points: Vec::new(),
            segmenter: Segmenter::new(config.segmenter),
            waiting: Vec::new(),
            previous_clip_end_ms: 0,
        }
    }

    /// Analyses the next chunk; returns the records it gives, in publishing order (an open
    /// segment before its completion).
    pub fn analyze_chunk(&mut self, chunk: &Chunk) -> Result<Vec<PluginRecord>, ChunkFailure> {
        let frame_rate_hint = self.config.video.processing_fps;
        let mut sink = Analyses {
            video: &mut self.video,
            audio: &mut self.audio,
            audio_config: self.config.audio,
        };
        // Dropping frames nothing refers to is safe when fewer frames are sampled than exist;
        // at 12 fps or more sampling keep them all.
        let skip = frame_rate_hint < 12.0;
        let decoded = decode_chunk(&chunk.path, chunk.anchor_us, skip, &mut sink);
        let records = self.collect(false);
        let failure = |reason: String, salvaged| ChunkFailure {
            seq_no: chunk.seq_no,
            path: chunk.path.clone(),
            reason,
            salvaged,
        };
        match decoded {
            Err(error) => Err(failure(error.to_string(), records)),
            Ok(damage) if damage.count > 0 => {
                let first = damage.first.unwrap_or_default();
                let more = if damage.count > 1 {
                    format!(" (and {} more problems)", damage.count - 1)
                } else {
                    String::new()
                };
                Err(failure(format!("damaged media: {first}{more}"), records))
            }
            Ok(_) => Ok(records),
        }
    }

    /// The event's media is over: flushes the graphs and completes everything still open.
    pub fn finish(&mut self) -> Result<Vec<PluginRecord>, String> {
        self.video.flush()?;
        self.video.finish();
        for audio in &mut self.audio {
            audio.flush()?;
        }
        Ok(self.collect(true))
    }

    /// Event time up to which every analysis has seen the media: those of the streams that
    /// have had frames (a source with sound only has no video analysis to wait for; audio
    /// analyses start with their first frame); 0 before any.
    fn known_ms(&self) -> u64 {
        let audio = self.audio.iter().map(AudioAnalysis::known_ms);
        self.video.known_ms().into_iter().chain(audio).min().unwrap_or(0)
    }

    /// Turns what the analyses found into records, and runs the segmenter and optimizer over
    /// the media analysed so far.
    fn collect(&mut self, finished: bool) -> Vec<PluginRecord> {
        let mut records = Vec::new();
        for finding in self.video.take_findings() {
            records.push(PluginRecord::Detection(video_detection(finding)));
            match finding {
                VideoFinding::Cut { at_ms, .. } => {
                    self.cuts.push(at_ms);
                    self.safe_points.push(at_ms);
                }
                VideoFinding::Black { .. } => {}
            }
        }
        let mut roar_news: Vec<LoudnessEvent> = Vec::new();
        for (index, audio) in self.audio.iter_mut().enumerate() {
            let track = self.tracks.get(index).copied().unwrap_or(index as u32 + 1);
            for finding in audio.take_findings() {
                match finding {
                    AudioFinding::Silence { start_ms, end_ms } => {
                        self.safe_points.extend([start_ms, end_ms]);
                        records.push(PluginRecord::Detection(silence_detection(
                            start_ms, end_ms, track,
                        )));
                    }
                    AudioFinding::Loudness(event) => {
                        if let LoudnessEvent::RoarEnded(roar) = event {
                            records.push(PluginRecord::Detection(roar_detection(&roar, track)));
                        }
                        // The segmenter follows the first track, the programme sound.
                        if index == 0 {
                            roar_news.push(event);
                        }
                    }
                }
            }
        }
        // Without sound, the segmenter follows the motion of the picture instead.
        let motion = self.video.take_motion();
        if self.tracks.is_empty() {
            for event in motion {
                if let LoudnessEvent::RoarEnded(burst) = event {
                    records.push(PluginRecord::Detection(motion_detection(&burst)));
                }
                roar_news.push(event);
            }
        }
        self.cuts.sort_unstable();
        self.cuts.dedup();
        self.safe_points.sort_unstable();
        self.safe_points.dedup();

        let known = self.known_ms();
        for event in roar_news {
            let at = match event {
                LoudnessEvent::RoarConfirmed { start_ms } => start_ms,
                LoudnessEvent::RoarEnded(roar) => roar.end_ms,
            };
            // Segments that were complete before this news come first.
            self.complete_segments(at.min(known), false, &mut records);
            match event {
                LoudnessEvent::RoarConfirmed { start_ms } => {
                    if let Some(open) = self.segmenter.roar_confirmed(start_ms, &self.cuts) {
                        records.push(PluginRecord::Segment(open));
                    }
                }
                LoudnessEvent::RoarEnded(roar) => self.segmenter.roar_ended(roar),
            }
        }
        self.complete_segments(known, finished, &mut records);
        records
    }

    /// Completes the open segment and optimizes waiting ones as far as `known_ms` allows.
    fn complete_segments(
        &mut self,
        known_ms: u64,
        finished: bool,
        records: &mut Vec<PluginRecord>,
    ) {
        if let Some(segment) = self.segmenter.advance(known_ms, &self.cuts, finished) {
            self.waiting.push((segment.start_ms, segment.end_ms.expect("a complete segment")));
            records.push(PluginRecord::Segment(segment));
        }
        let window = self.config.search_window_ms;
        while let Some(&(start_ms, end_ms)) = self.waiting.first() {
            if !finished && known_ms < end_ms + window {
                break;
            }
            self.waiting.remove(0);
            let next_start = self.segmenter.open_start_ms().filter(|&s| s > start_ms);
            let optimized = optimizer::optimize(
                start_ms,
                end_ms,
                &self.safe_points,
                window,
                self.previous_clip_end_ms,
                next_start,
                &self.tracks,
            );
            if let Some(first) = optimized.first() {
                self.previous_clip_end_ms = first.opto_end_ms;
                self.segmenter.raise_floor(first.opto_end_ms);
            }
            records.extend(optimized.into_iter().map(PluginRecord::Optimization));
        }
    }
}

fn video_detection(finding: VideoFinding) -> Detection {
    let mut attributes = BTreeMap::new();
    match finding {
        VideoFinding::Cut { at_ms, score, into_black } => {
            attributes.insert("SceneCut", Value::from(true));
            if let Some(score) = score {
                attributes.insert("score", tenths(score));
            }
            if let Some(into) = into_black {
                attributes
                    .insert(if into { "into_black" } else { "out_of_black" }, Value::from(true));
            }
            Detection {
                plugin: SCENE_CUT,
                start_ms: at_ms,
                end_ms: at_ms,
                track: None,
                label: "Scene cut",
                attributes,
            }
        }
        VideoFinding::Black { start_ms, end_ms } => {
            attributes.insert("Black", Value::from(true));
            attributes.insert("duration", seconds_value(end_ms - start_ms));
            Detection {
                plugin: BLACK_FRAME,
                start_ms,
                end_ms,
                track: None,
                label: "Black",
                attributes,
            }
        }
    }
}

fn silence_detection(start_ms: u64, end_ms: u64, track: u32) -> Detection {
    let mut attributes = BTreeMap::new();
    attributes.insert("Silence", Value::from(true));
    attributes.insert("duration", seconds_value(end_ms.saturating_sub(start_ms)));
    Detection {
        plugin: SILENCE,
        start_ms,
        end_ms,
        track: Some(track),
        label: "Silence",
        attributes,
    }
}

fn motion_detection(burst: &Roar) -> Detection {
    let mut attributes = BTreeMap::new();
    attributes.insert("Motion", Value::from(true));
    attributes.insert("Excitement", Value::from(if burst.high { "high" } else { "medium" }));
    attributes.insert("db_above_baseline", tenths(burst.excitement_lu()));
    Detection {
        plugin: MOTION_ENERGY,
        start_ms: burst.start_ms,
        end_ms: burst.end_ms,
        track: None,
        label: "Burst of motion",
        attributes,
    }
}

fn roar_detection(roar: &Roar, track: u32) -> Detection {
    let mut attributes = BTreeMap::new();
    attributes.insert("Loud", Value::from(true));
    attributes.insert("Excitement", Value::from(if roar.high { "high" } else { "medium" }));
    attributes.insert("peak_lufs", tenths(roar.peak_lufs));
    attributes.insert("baseline_lufs", tenths(roar.baseline_lufs));
    attributes.insert("lu_above_baseline", tenths(roar.excitement_lu()));
    Detection {
        plugin: AUDIO_LOUDNESS,
        start_ms: roar.start_ms,
        end_ms: roar.end_ms,
        track: Some(track),
        label: "Crowd roar",
        attributes,
    }
}

/// The segment records of `records` (open and complete), for callers that report progress.
pub fn segments(records: &[PluginRecord]) -> impl Iterator<Item = &Segment> {
    records.iter().filter_map(|r| match r {
        PluginRecord::Segment(s) => Some(s),
        _ => None,
    })
}
