//! The pipeline `reeltime demo` and `reeltime highlights` share: media analysed into an event
//! log, then the log processed.
//!
//! [`analyse`] ingests an event's media chunk by chunk ([`MediaSource`]: a folder of
//! chunks; a single file first cut into chunks at its keyframes without re-encoding (or, when
//! its codecs cannot go into MPEG-TS chunks as they are, converted once to H.264/AAC first); a
//! playlist of MPEG-TS or fragmented MP4 (CMAF) segments followed until `#EXT-X-ENDLIST`; or a
//! live MPEG-TS stream cut as it arrives), the built-in plugins analyse each chunk, and
//! everything goes to a [`RecordSink`] in publishing order: the profile, the event
//! (started, with the probed frame rate and audio tracks), the replays of the
//! [`EventPlan`], then per chunk its `chunk` record and what the plugins found, and finally
//! the event ended. The sink is an event log file ([`analyse_to_log`], for `demo` and
//! `highlights`: [`process_log`] then runs that log through `reeltime process` like any
//! other, with the render sink on, so every view and export is written beside it, with the
//! clips, event playlists and replay videos), or a running service, chunk by chunk as each is
//! done (`reeltime ingest`, [`crate::live_ingest`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use reeltime_connectors::ingest::chunks::chunk_files;
use reeltime_connectors::ingest::convert::{
    convert, needs_conversion, ConvertProgress, ConvertSettings, ConvertedKind, StreamToConvert,
};
use reeltime_connectors::ingest::hls_reader::{follow, read_playlist, standalone};
use reeltime_connectors::ingest::split::{is_stream, split_file, split_stream};
use reeltime_connectors::ingest::ChunkIngest;
use reeltime_plugins::{optimizer, segmenter, AnalysisConfig, EventAnalyzer, PluginRecord};

use crate::export::ExportOptions;
use crate::process::{process, ProcessOptions, Summary};
use crate::render_sink::RenderConfig;

/// Where an event's media comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaSource {
    /// A folder of `.ts`/`.mp4` chunks, played in name order.
    Folder(PathBuf),
    /// One recording, cut into chunks of the profile's chunk size.
    File(PathBuf),
    /// An HLS playlist, followed until it ends.
    Playlist(PathBuf),
    /// A live MPEG-TS stream (UDP, SRT), cut as it arrives; it ends when its sender closes it
    /// or after `silence` without data.
    Stream {
        /// The stream's URL, e.g. `udp://127.0.0.1:5000`.
        url: String,
        /// How long without data ends it.
        silence: Duration,
    },
}

impl MediaSource {
    /// What `path` is: a folder, a playlist (`.m3u8`) or a media file; an error when it does
    /// not exist.
    pub fn of_path(path: &Path) -> Result<Self> {
        if let Some(url) = path.to_str().filter(|text| is_stream(text)) {
            let silence = Duration::from_secs(DEFAULT_SILENCE_SECONDS);
            return Ok(MediaSource::Stream { url: url.to_owned(), silence });
        }
        if !path.exists() {
            bail!("{path:?} does not exist");
        }
        let playlist = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("m3u8"));
        Ok(if path.is_dir() {
            MediaSource::Folder(path.to_owned())
        } else if playlist {
            MediaSource::Playlist(path.to_owned())
        } else {
            MediaSource::File(path.to_owned())
        })
    }
}

impl MediaSource {
    /// What `path` is, as [`MediaSource::of_path`] says, with `--silence` (seconds without
    /// data that end a live stream) checked and applied to a stream.
    pub fn of_input(path: &Path, silence_seconds: Option<f64>) -> Result<Self> {
        Ok(match (MediaSource::of_path(path)?, silence_seconds) {
            (_, Some(seconds)) if !(seconds.is_finite() && seconds > 0.0) => {
                bail!("--silence {seconds} is not a number of seconds > 0")
            }
            (MediaSource::Stream { url, .. }, Some(seconds)) => {
                MediaSource::Stream { url, silence: Duration::from_secs_f64(seconds) }
            }
            (source, _) => source,
        })
    }
}

/// How long a live stream may go without data before its event ends, by default.
pub const DEFAULT_SILENCE_SECONDS: u64 = 10;

/// What an event log is made of besides the media: ids and plugin settings.
#[derive(Clone, Debug)]
pub struct EventPlan {
    /// The event's id.
    pub event_id: String,
    /// Its human title.
    pub title: String,
    /// The profile's name.
    pub profile: String,
    /// Chunk length when a single file is cut, in seconds.
    pub chunk_seconds: f64,
    /// Settings of the built-in plugins.
    pub analysis: AnalysisConfig,
    /// The `replay` records to publish (after the event record).
    pub replays: Vec<Value>,
    /// Where chunks cut from a single file go.
    pub chunk_dir: PathBuf,
    /// How a file whose codecs MPEG-TS chunks cannot hold is converted before it is cut.
    pub convert: ConvertSettings,
}

/// What [`analyse_to_log`] did.
#[derive(Clone, Debug, Default)]
pub struct LogSummary {
    /// Chunks analysed (failed ones included).
    pub chunks: u64,
    /// Event time covered, in milliseconds.
    pub media_ms: u64,
    /// Chunks that could not be read or analysed, each with its reason.
    pub failures: Vec<String>,
    /// Detection records written.
    pub detections: u64,
    /// Complete segments written.
    pub segments: u64,
    /// The audio tracks of the media, numbered from 1 (empty: video only).
    pub audio_tracks: Vec<u32>,
    /// Lines of the log.
    pub lines: u64,
    /// Wall-clock time of the analysis.
    pub elapsed: Duration,
}

/// The profile record of `plan`: the built-in plugins and their settings.
pub fn profile_record(plan: &EventPlan) -> Value {
    let a = &plan.analysis;
    let seconds = |ms: u64| ms as f64 / 1000.0;
    json!({
        "type": "profile",
        "name": plan.profile,
        "chunk_size": plan.chunk_seconds,
        "processing_fps": a.video.processing_fps,
        "max_segment_length": seconds(a.segmenter.max_length_ms),
        "classifier": {"plugin": segmenter::PLUGIN, "config": {
            "pre_roll": seconds(a.segmenter.pre_roll_ms),
            "post_roll": seconds(a.segmenter.post_roll_ms),
            "snap": seconds(a.segmenter.snap_ms),
        }},
        "optimizer": {"plugin": optimizer::PLUGIN, "search_window": seconds(a.search_window_ms)},
        "featurers": [
            {"plugin": reeltime_plugins::AUDIO_LOUDNESS, "media": "audio", "config": {
                "threshold_lu": a.audio.loudness.threshold_lu,
                "high_lu": a.audio.loudness.high_lu,
                "min_duration": seconds(a.audio.loudness.min_duration_ms),
            }},
            {"plugin": reeltime_plugins::SCENE_CUT, "media": "video",
             "config": {"threshold": a.video.scene_threshold}},
            {"plugin": reeltime_plugins::BLACK_FRAME, "media": "video",
             "config": {"min_duration": seconds(a.video.black_min_ms)}},
            {"plugin": reeltime_plugins::SILENCE, "media": "audio", "config": {
                "noise_db": a.audio.silence_noise_db,
                "min_duration": seconds(a.audio.silence_min_ms),
            }},
        ],
    })
}

/// Where the records of an analysis go, in publishing order.
pub trait RecordSink {
    /// A chunk has been handed over and its analysis starts.
    fn chunk_arrived(&mut self) {}
    /// Takes one record.
    fn write(&mut self, record: &Value) -> Result<()>;
    /// The records written since the last call make a whole (a chunk's record, with the
    /// event's opening records before the first; what the plugins found in a chunk; the
    /// event's end): a sink that publishes sends them now.
    fn complete(&mut self) -> Result<()>;
}

/// Writes JSON lines to a file and counts them.
struct LogWriter {
    path: PathBuf,
    writer: BufWriter<File>,
    lines: u64,
}

impl RecordSink for LogWriter {
    fn write(&mut self, record: &Value) -> Result<()> {
        serde_json::to_writer(&mut self.writer, record)
            .map_err(std::io::Error::from)
            .and_then(|()| self.writer.write_all(b"\n"))
            .with_context(|| format!("writing {:?}", self.path))?;
        self.lines += 1;
        Ok(())
    }

    fn complete(&mut self) -> Result<()> {
        // The file is read once it is whole; flushing per chunk would only cost time.
        Ok(())
    }
}

/// The analysis of one event as it runs.
struct Run<'a> {
    plan: &'a EventPlan,
    log: &'a mut dyn RecordSink,
    ingest: ChunkIngest,
    analyzer: Option<EventAnalyzer>,
    summary: LogSummary,
    progress: bool,
    started: Instant,
}

impl Run<'_> {
    /// Ingests and analyses one chunk; a chunk that fails is noted and skipped.
    fn chunk(&mut self, path: &Path, total: Option<usize>) -> Result<()> {
        self.summary.chunks += 1;
        self.log.chunk_arrived();
        let chunk = match self.ingest.add(path) {
            Ok(chunk) => chunk,
            Err(error) => return self.skip(path, &error.to_string()),
        };
        if self.analyzer.is_none() {
            let media = self.ingest.media().expect("a chunk was read");
            let mut event = json!({
                "type": "event", "event_id": self.plan.event_id, "profile": self.plan.profile,
                "status": "started", "title": self.plan.title,
                "frame_rate": media.video.map(|v| (v.frame_rate * 1000.0).round() / 1000.0),
                "audio_tracks": media.audio_tracks,
            });
            if media.audio_tracks.is_empty() {
                event["audio_tracks"] = json!([]);
            }
            self.log.write(&event)?;
            for replay in &self.plan.replays {
                self.log.write(replay)?;
            }
            self.analyzer = Some(EventAnalyzer::new(self.plan.analysis, &media.audio_tracks));
        }
        self.summary.media_ms = chunk.end_ms();
        let analyzer = self.analyzer.as_mut().expect("made above");
        // The chunk record goes out as soon as the chunk is read, before the plugins see it:
        // the media exists, and a live service learns of it at once. A chunk the plugins then
        // cannot analyse is published again with the reason (of two records of one chunk,
        // the later is the chunk).
        self.log.write(&chunk.record())?;
        self.log.complete()?;
        let records = match analyzer.analyze_chunk(&chunk) {
            Ok(records) => records,
            Err(failure) => {
                self.log.write(&chunk.failed_record(&failure.to_string()))?;
                self.fail(failure.to_string());
                failure.salvaged
            }
        };
        self.records(&records)?;
        self.log.complete()?;
        if self.progress {
            let of = total.map(|t| format!("/{t}")).unwrap_or_default();
            eprintln!(
                "analysed chunk {}{of} up to {:.1} s: {} detections, {} segments so far ({:.1} s)",
                self.summary.chunks,
                self.summary.media_ms as f64 / 1000.0,
                self.summary.detections,
                self.summary.segments,
                self.started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }

    fn records(&mut self, records: &[PluginRecord]) -> Result<()> {
        for record in records {
            match record {
                PluginRecord::Detection(_) => self.summary.detections += 1,
                PluginRecord::Segment(s) if s.end_ms.is_some() => self.summary.segments += 1,
                _ => {}
            }
            self.log.write(&record.to_json(&self.plan.event_id))?;
        }
        Ok(())
    }

    /// A chunk that cannot be read: recorded with the reason, and the event goes on.
    fn skip(&mut self, path: &Path, reason: &str) -> Result<()> {
        self.log.write(&self.ingest.unreadable_record(path, reason))?;
        self.log.complete()?;
        self.fail(format!("chunk {path:?} skipped: {reason}"));
        Ok(())
    }

    fn fail(&mut self, reason: String) {
        eprintln!("warning: {reason}");
        self.summary.failures.push(reason);
    }
}

/// What is said before a conversion: which streams cannot be copied and what each kind becomes
/// (a source with sound only gets no word of H.264).
fn conversion_notice(
    path: &Path,
    streams: &[StreamToConvert],
    settings: &ConvertSettings,
    chunk_seconds: f64,
) -> String {
    let video = streams.iter().any(|s| s.kind == ConvertedKind::Video);
    let audio = streams.iter().any(|s| matches!(s.kind, ConvertedKind::Audio(_)));
    let h264 = format!(
        "H.264 (libx264 {}, CRF {}, a keyframe every {} s)",
        settings.preset, settings.crf, chunk_seconds
    );
    let aac = format!("AAC ({} kb/s per channel)", settings.audio_bitrate_per_channel / 1000);
    let target = match (video, audio) {
        (true, true) => format!("{h264} and {aac}"),
        (true, false) => h264,
        (false, _) => aac,
    };
    let named: Vec<String> = streams.iter().map(ToString::to_string).collect();
    format!(
        "{}: {} cannot go into MPEG-TS chunks as it is; converting it once to {target}",
        path.display(),
        named.join(", ")
    )
}

/// Converts a recording whose codecs MPEG-TS chunks cannot hold into a file beside the chunks
/// whose video is H.264 and audio AAC (returned, for the split to cut), saying what and how
/// fast; `None` when it can be cut as it is.
fn convert_if_needed(path: &Path, plan: &EventPlan, progress: bool) -> Result<Option<PathBuf>> {
    let streams = needs_conversion(path)?;
    if streams.is_empty() {
        return Ok(None);
    }
    let settings = &plan.convert;
    std::fs::create_dir_all(&plan.chunk_dir)
        .with_context(|| format!("creating {:?}", plan.chunk_dir))?;
    let converted = plan.chunk_dir.join("converted-source.ts");
    eprintln!("{}", conversion_notice(path, &streams, settings, plan.chunk_seconds));
    let mut shown: Option<Instant> = None;
    let mut report = |at: ConvertProgress| {
        if progress && shown.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
            shown = Some(Instant::now());
            let total = at.total.map_or(String::new(), |t| format!(" of {:.0} s", t.as_secs_f64()));
            eprintln!(
                "converting: {:.0} s{total} at {:.1}x real time",
                at.done.as_secs_f64(),
                at.speed()
            );
        }
    };
    let done = convert(path, &converted, plan.chunk_seconds, settings, &mut report);
    let done = match done {
        Ok(done) => done,
        Err(error) => {
            let _ = std::fs::remove_file(&converted);
            return Err(error.into());
        }
    };
    eprintln!(
        "converted {:.1} s of media in {:.1} s ({:.1}x real time)",
        done.done.as_secs_f64(),
        done.elapsed.as_secs_f64(),
        done.speed()
    );
    Ok(Some(converted))
}

/// Ingests and analyses `source` and writes the event log of `plan` to `log_path`.
pub fn analyse_to_log(
    source: &MediaSource,
    plan: &EventPlan,
    log_path: &Path,
    progress: bool,
) -> Result<LogSummary> {
    let file = File::create(log_path).with_context(|| format!("creating {log_path:?}"))?;
    let mut log = LogWriter { path: log_path.to_owned(), writer: BufWriter::new(file), lines: 0 };
    let mut summary = analyse(source, plan, &mut log, progress)?;
    log.writer.flush().with_context(|| format!("writing {log_path:?}"))?;
    summary.lines = log.lines;
    Ok(summary)
}

/// Ingests and analyses `source`, handing the records of `plan`'s event to `sink`.
pub fn analyse(
    source: &MediaSource,
    plan: &EventPlan,
    sink: &mut dyn RecordSink,
    progress: bool,
) -> Result<LogSummary> {
    let mut run = Run {
        plan,
        log: sink,
        ingest: ChunkIngest::new(plan.event_id.clone()),
        analyzer: None,
        summary: LogSummary::default(),
        progress,
        started: Instant::now(),
    };
    run.log.write(&profile_record(plan))?;
    match source {
        MediaSource::Folder(dir) => {
            let files = chunk_files(dir)?;
            for path in &files {
                run.chunk(path, Some(files.len()))?;
            }
        }
        MediaSource::File(path) => {
            let converted = convert_if_needed(path, plan, progress)?;
            if progress {
                eprintln!("cutting {} into {} s chunks", path.display(), plan.chunk_seconds);
            }
            let split = split_file(
                converted.as_deref().unwrap_or(path),
                &plan.chunk_dir,
                plan.chunk_seconds,
            );
            if let Some(converted) = &converted {
                // The chunks hold all of it now.
                let _ = std::fs::remove_file(converted);
            }
            let chunks = split?;
            for chunk in &chunks {
                run.chunk(&chunk.path, Some(chunks.len()))?;
            }
        }
        MediaSource::Playlist(path) => {
            let total = read_playlist(path)?;
            let total = total.ended.then_some(total.segments.len());
            let stop = AtomicBool::new(false);
            let mut outcome = Ok(());
            follow(path, Duration::from_secs(1), &stop, |segment| {
                if outcome.is_ok() {
                    // A CMAF segment, or a byte range, becomes a chunk file of its own.
                    outcome = match standalone(segment, &plan.chunk_dir) {
                        Ok(chunk) => run.chunk(&chunk, total),
                        Err(error) => {
                            run.summary.chunks += 1;
                            run.skip(&segment.path, &error.to_string())
                        }
                    };
                }
            })?;
            outcome?;
        }
        MediaSource::Stream { url, silence } => {
            if progress {
                eprintln!(
                    "reading the live stream {url} into {} s chunks; it ends when its sender closes it or after {} s without data",
                    plan.chunk_seconds,
                    silence.as_secs_f64()
                );
            }
            split_stream(url, &plan.chunk_dir, plan.chunk_seconds, *silence, &mut |chunk| {
                run.chunk(&chunk.path, None).map_err(|e| format!("{e:#}"))
            })?;
        }
    }
    let Some(analyzer) = run.analyzer.as_mut() else {
        let path = match source {
            MediaSource::Folder(p) | MediaSource::File(p) | MediaSource::Playlist(p) => {
                format!("{p:?}")
            }
            MediaSource::Stream { url, .. } => url.clone(),
        };
        let reasons = run.summary.failures.join("; ");
        bail!("no readable media in {path}: {reasons}");
    };
    let last = analyzer.finish().map_err(|e| anyhow::anyhow!("finishing the analysis: {e}"))?;
    run.records(&last)?;
    run.log.write(&json!({
        "type": "event", "event_id": plan.event_id, "profile": plan.profile,
        "status": "ended", "title": plan.title,
        "frame_rate": run.ingest.media().and_then(|m| m.video).map(|v| (v.frame_rate * 1000.0).round() / 1000.0),
        "audio_tracks": run.ingest.media().map(|m| m.audio_tracks.clone()),
    }))?;
    run.log.complete()?;
    run.summary.audio_tracks =
        run.ingest.media().map(|m| m.audio_tracks.clone()).unwrap_or_default();
    run.summary.elapsed = run.started.elapsed();
    Ok(run.summary)
}

/// Runs the event log at `log` through the dataflow into `out`.
pub fn process_log(log: &Path, out: &Path, progress: bool) -> Result<Summary> {
    process(&ProcessOptions {
        log: log.to_owned(),
        out: out.to_owned(),
        workers: 1,
        epoch_records: 1000,
        max_record_bytes: reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES,
        progress,
        export: ExportOptions { drop_frame: false },
        render: Some(RenderConfig::default()),
    })
}

/// The default priorities: high excitement first, then medium.
pub fn default_priorities() -> Vec<Value> {
    vec![
        json!({"plugin": segmenter::PLUGIN, "attribute": "Excitement", "value": "high", "weight": 90}),
        json!({"plugin": segmenter::PLUGIN, "attribute": "Excitement", "value": "medium", "weight": 50}),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(kind: ConvertedKind, why: &str) -> StreamToConvert {
        StreamToConvert { kind, why: why.to_owned() }
    }

    #[test]
    fn a_conversion_names_what_each_kind_of_stream_becomes() {
        let settings = ConvertSettings::default();
        let path = Path::new("match.mov");
        let both =
            [stream(ConvertedKind::Video, "prores"), stream(ConvertedKind::Audio(1), "pcm_s24le")];
        assert_eq!(
            conversion_notice(path, &both, &settings, 4.0),
            "match.mov: video prores, audio 1 pcm_s24le cannot go into MPEG-TS chunks as it is; \
             converting it once to H.264 (libx264 veryfast, CRF 20, a keyframe every 4 s) and AAC (96 kb/s per channel)"
        );
        let video = [stream(ConvertedKind::Video, "vp9")];
        let said = conversion_notice(path, &video, &settings, 4.0);
        assert!(
            said.ends_with("to H.264 (libx264 veryfast, CRF 20, a keyframe every 4 s)"),
            "{said}"
        );
        // A radio commentary in WAV: its sound is converted, and nothing is said of video.
        let wav = [stream(ConvertedKind::Audio(1), "pcm_s16le")];
        let said = conversion_notice(Path::new("commentary.wav"), &wav, &settings, 4.0);
        assert_eq!(
            said,
            "commentary.wav: audio 1 pcm_s16le cannot go into MPEG-TS chunks as it is; \
             converting it once to AAC (96 kb/s per channel)"
        );
    }
}
