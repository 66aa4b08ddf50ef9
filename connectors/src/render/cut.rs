//! One clip: a range of event time cut from the event's chunks.
//!
//! [`render_clip`] writes the range as an MP4 and/or as HLS segments (MPEG-TS), and
//! optionally a JPEG thumbnail, into a folder. Two ways to cut ([`CutMode`]):
//!
//! - **Stream copy** (the default): no re-encoding, at disk speed. The in-point is snapped back
//!   to the keyframe at or before it; the out-point ends the clip at the first place at or
//!   after it where every frame shown is decodable (after the last B-frame that references
//!   the frame before it), which is at most a few frames later. Packets are buffered only
//!   from the start keyframe to the in-point, then streamed, so memory does not grow with the
//!   range. Across chunk joins the timeline is continuous with strictly increasing DTS.
//!   Chunks whose codec parameters differ cannot share one stream, and are re-encoded with
//!   the default [`EncodeSettings`] instead.
//! - **Re-encode** (libx264 + AAC): the clip holds exactly the frames whose start is in the
//!   range, so its bounds are the requested ones to the frame.
//!
//! A source with sound only (a radio commentary) gives clips of sound only: AAC in the MP4
//! and the HLS segments, and no thumbnail. Its stream copy holds every audio frame that
//! overlaps the range (each audio frame can start a clip), so its bounds are the requested
//! ones to an audio frame (21 ms for AAC at 48 kHz); a re-encode trims them to the sample.
//!
//! Outputs are named from their content: event, track, requested range, mode and a hash of
//! the chunks used and the options, `<event>-t<track>-<start>-<end>-<mode>-<hash>`. A manifest
//! `<name>.json` is written last; when it is there, rendering again returns it without work.

use std::fs;
use std::path::{Path, PathBuf};

use ffmpeg_next::codec::Parameters;
use reeltime_schemas::record::Chunk;
use serde::{Deserialize, Serialize};

use super::encode::{self, ClipInput, Output, Rendition};
use super::mux::{temporary, Cleanup, HlsSegmenter, Mp4Writer};
use super::source::{chunks_for, ms_to_ticks, ticks_to_ms, Kind, Source, SourcePacket};
use super::{init_ffmpeg, thumbnail, EventRange, RenderError};
use crate::hls_writer::HlsSegment;
use crate::output_dir::path_component;

/// Bumped when the way outputs are made changes, so old outputs are not reused.
const RENDER_FORMAT: u32 = 1;

/// How to cut.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum CutMode {
    /// Stream copy from the keyframe at or before the in-point.
    #[default]
    Copy,
    /// Frame-accurate re-encode with these settings.
    Reencode(EncodeSettings),
}

/// Settings of the H.264 (libx264) and AAC encoders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeSettings {
    /// x264 preset (`ultrafast` .. `veryslow`).
    pub preset: String,
    /// x264 constant rate factor, 0..=51 (lower is better).
    pub crf: u8,
    /// AAC bit rate in bits per second.
    pub audio_bitrate: u32,
    /// Keyframe interval in milliseconds (HLS segments start on keyframes).
    pub keyframe_interval_ms: u64,
    /// Encoder threads; 0 lets x264 choose.
    pub threads: u32,
}

impl Default for EncodeSettings {
    fn default() -> Self {
        EncodeSettings {
            preset: "veryfast".into(),
            crf: 23,
            audio_bitrate: 128_000,
            keyframe_interval_ms: 2_000,
            threads: 0,
        }
    }
}

/// libx264's presets, fastest first: what every encoder setting of reeltime may name.
pub const X264_PRESETS: [&str; 10] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];

impl EncodeSettings {
    pub(crate) fn validate(&self) -> Result<(), RenderError> {
        if !X264_PRESETS.contains(&self.preset.as_str()) {
            return Err(RenderError::Options(format!(
                "unknown x264 preset {:?} (one of {})",
                self.preset,
                X264_PRESETS.join(", ")
            )));
        }
        if self.crf > 51 {
            return Err(RenderError::Options(format!("crf {} is above 51", self.crf)));
        }
        if self.keyframe_interval_ms == 0 || self.audio_bitrate == 0 {
            return Err(RenderError::Options(
                "keyframe_interval_ms and audio_bitrate must be positive".into(),
            ));
        }
        Ok(())
    }

    fn fingerprint(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            self.preset, self.crf, self.audio_bitrate, self.keyframe_interval_ms, self.threads
        )
    }
}

/// What to make of a clip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClipOptions {
    /// Stream copy or re-encode.
    pub mode: CutMode,
    /// Write `<name>.mp4`.
    pub mp4: bool,
    /// Write HLS segments `<name>-00000.ts`, ... of at least this many milliseconds each
    /// (cut at the first keyframe after), for an [`crate::hls_writer::EventPlaylist`].
    pub hls_segment_ms: Option<u64>,
    /// Write a JPEG `<name>.jpg` of the first frame at or after the in-point, this many pixels
    /// wide (height keeps the aspect ratio).
    pub thumbnail_width: Option<u32>,
}

impl Default for ClipOptions {
    fn default() -> Self {
        ClipOptions { mode: CutMode::Copy, mp4: true, hls_segment_ms: None, thumbnail_width: None }
    }
}

/// A rendered clip: its files and the bounds it really has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedClip {
    /// The content-derived name its files share.
    pub name: String,
    /// The range asked for.
    pub requested: EventRange,
    /// The range of event time the clip holds (from its first frame to the end of its last).
    pub actual: EventRange,
    /// The MP4, when asked for.
    pub mp4: Option<PathBuf>,
    /// The HLS segments (file names in the same folder), when asked for.
    pub hls_segments: Vec<HlsSegment>,
    /// The RFC 6381 codecs of the video and audio, for playlists.
    pub codecs: String,
    /// True when the clip was re-encoded: asked for, or a stream copy across chunks whose
    /// codec parameters differ.
    pub reencoded: bool,
    /// The thumbnail, when asked for and the source has video.
    pub thumbnail: Option<PathBuf>,
    /// The manifest describing all of the above.
    pub manifest: PathBuf,
    /// True when an earlier render with the same inputs was found and nothing was written.
    pub reused: bool,
}

/// The manifest of a clip, `<name>.json`.
#[derive(Serialize, Deserialize)]
struct Manifest {
    requested_start_ms: u64,
    requested_end_ms: u64,
    actual_start_ms: u64,
    actual_end_ms: u64,
    mp4: Option<String>,
    hls_segments: Vec<HlsSegment>,
    codecs: String,
    reencoded: bool,
    thumbnail: Option<String>,
}

/// Renders `range` of the event's `chunks` (any order; the ones the range needs must be
/// consecutive) for audio track `track` into `dir`.
pub fn render_clip(
    dir: &Path,
    event_id: &str,
    track: u32,
    chunks: &[Chunk],
    range: EventRange,
    options: &ClipOptions,
) -> Result<RenderedClip, RenderError> {
    init_ffmpeg();
    if !options.mp4 && options.hls_segment_ms.is_none() {
        return Err(RenderError::Options("neither an MP4 nor HLS segments asked for".into()));
    }
    if let CutMode::Reencode(settings) = &options.mode {
        settings.validate()?;
    }
    let (selected, first) = chunks_for(chunks, range)?;
    let name = clip_name(event_id, track, range, &selected, options);
    let manifest_path = dir.join(format!("{name}.json"));
    if let Some(clip) = reuse(dir, &name, &manifest_path, range) {
        return Ok(clip);
    }
    fs::create_dir_all(dir).map_err(|e| RenderError::output(dir)(e.to_string()))?;
    let mut cleanup = Cleanup::default();
    let mp4 = options.mp4.then(|| dir.join(format!("{name}.mp4")));
    let outputs = Outputs { dir, name: &name, mp4: mp4.as_deref(), hls: options.hls_segment_ms };
    let made = match &options.mode {
        CutMode::Copy => match copy_cut(&selected, first, track, range, &outputs, &mut cleanup) {
            Err(RenderError::Incompatible { .. }) => {
                drop(cleanup);
                cleanup = Cleanup::default();
                reencode(
                    &selected,
                    first,
                    track,
                    range,
                    &EncodeSettings::default(),
                    &outputs,
                    &mut cleanup,
                )
            }
            made => made,
        },
        CutMode::Reencode(settings) => {
            reencode(&selected, first, track, range, settings, &outputs, &mut cleanup)
        }
    }?;
    let thumbnail = match options.thumbnail_width {
        // Sound alone has no picture to show.
        Some(width) if made.has_video => {
            let path = dir.join(format!("{name}.jpg"));
            thumbnail::write_thumbnail(
                &selected,
                first,
                track,
                range.start_ms,
                width,
                &path,
                &mut cleanup,
            )?;
            Some(path)
        }
        _ => None,
    };
    let manifest = Manifest {
        requested_start_ms: range.start_ms,
        requested_end_ms: range.end_ms,
        actual_start_ms: made.actual.start_ms,
        actual_end_ms: made.actual.end_ms,
        mp4: mp4.as_ref().map(|_| format!("{name}.mp4")),
        hls_segments: made.segments.clone(),
        codecs: made.codecs.clone(),
        reencoded: made.reencoded,
        thumbnail: thumbnail.as_ref().map(|_| format!("{name}.jpg")),
    };
    let text = serde_json::to_vec_pretty(&manifest).expect("manifests serialize to JSON");
    let partial = temporary(&manifest_path);
    cleanup.add(partial.clone());
    fs::write(&partial, text).map_err(|e| RenderError::output(&partial)(e.to_string()))?;
    cleanup.rename_on_commit(partial, manifest_path.clone());
    cleanup.commit()?;
    Ok(RenderedClip {
        name,
        requested: range,
        actual: made.actual,
        mp4,
        hls_segments: made.segments,
        codecs: made.codecs,
        reencoded: made.reencoded,
        thumbnail,
        manifest: manifest_path,
        reused: false,
    })
}

/// An earlier render of the same clip, when its manifest and files are all there.
fn reuse(dir: &Path, name: &str, manifest_path: &Path, range: EventRange) -> Option<RenderedClip> {
    let manifest: Manifest = serde_json::from_slice(&fs::read(manifest_path).ok()?).ok()?;
    let mp4 = manifest.mp4.map(|f| dir.join(f));
    let thumbnail = manifest.thumbnail.map(|f| dir.join(f));
    let files = mp4.iter().chain(&thumbnail).cloned();
    let mut all = files.chain(manifest.hls_segments.iter().map(|s| dir.join(&s.uri)));
    if !all.all(|path| path.is_file()) {
        return None;
    }
    Some(RenderedClip {
        name: name.to_owned(),
        requested: range,
        actual: EventRange::new(manifest.actual_start_ms, manifest.actual_end_ms),
        mp4,
        hls_segments: manifest.hls_segments,
        codecs: manifest.codecs,
        reencoded: manifest.reencoded,
        thumbnail,
        manifest: manifest_path.to_owned(),
        reused: true,
    })
}

/// The name of a clip's files, from everything that decides their content.
fn clip_name(
    event_id: &str,
    track: u32,
    range: EventRange,
    chunks: &[Chunk],
    options: &ClipOptions,
) -> String {
    let mut text = format!("reeltime-clip/{RENDER_FORMAT}");
    for chunk in chunks {
        let pts = chunk.pts_start_ms.map_or(String::from("-"), |p| p.to_string());
        let line = format!(
            "|{}|{}|{}|{}|{}",
            chunk.seq_no, chunk.uri, chunk.start_ms, chunk.duration_ms, pts
        );
        text.push_str(&line);
    }
    let mode = match &options.mode {
        CutMode::Copy => "copy".to_owned(),
        CutMode::Reencode(settings) => format!("encode/{}", settings.fingerprint()),
    };
    let outputs = format!(
        "|{mode}|{}|{:?}|{:?}",
        options.mp4, options.hls_segment_ms, options.thumbnail_width
    );
    text.push_str(&outputs);
    let short_mode = if matches!(options.mode, CutMode::Copy) { "copy" } else { "enc" };
    format!(
        "{}-t{track}-{}-{}-{short_mode}-{:012x}",
        path_component(event_id),
        range.start_ms,
        range.end_ms,
        fnv_hash(text.as_bytes()) >> 16
    )
}

/// FNV-1a, 64 bits: a hash whose value is fixed forever, unlike the standard library's.
pub(crate) fn fnv_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Where one cut goes.
struct Outputs<'a> {
    dir: &'a Path,
    name: &'a str,
    mp4: Option<&'a Path>,
    hls: Option<u64>,
}

/// What one cut produced.
pub(crate) struct Made {
    pub actual: EventRange,
    pub segments: Vec<HlsSegment>,
    pub codecs: String,
    pub reencoded: bool,
    /// Whether it has video (a source with sound only gives clips of sound only).
    pub has_video: bool,
}

fn reencode(
    chunks: &[Chunk],
    first: usize,
    track: u32,
    range: EventRange,
    settings: &EncodeSettings,
    outputs: &Outputs<'_>,
    cleanup: &mut Cleanup,
) -> Result<Made, RenderError> {
    let clip = ClipInput { chunks: chunks.to_vec(), first, range };
    let output = Output {
        mp4: outputs.mp4.map(Path::to_owned),
        hls: outputs
            .hls
            .map(|segment_ms| (outputs.dir.to_owned(), outputs.name.to_owned(), segment_ms)),
    };
    let rendition = Rendition { size: None, framing: None, output };
    let encoded = encode::encode(&[clip], track, settings, None, &[rendition], None, cleanup)?;
    let (Some(actual), Some(rendition)) =
        (encoded.clips.first(), encoded.renditions.into_iter().next())
    else {
        return Err(RenderError::Options("the encoder produced nothing".into()));
    };
    Ok(Made {
        actual: *actual,
        has_video: encoded.has_video,
        segments: rendition.segments,
        codecs: rendition.codecs,
        reencoded: true,
    })
}

/// The sinks of a stream copy.
struct CopySinks {
    mp4: Option<Mp4Writer>,
    hls: Option<HlsSegmenter>,
    /// Event time that becomes 0 in the outputs: the start keyframe's.
    origin: i64,
    codecs: CodecNames,
}

impl CopySinks {
    fn write(
        &mut self,
        kind: Kind,
        packet: &ffmpeg_next::Packet,
        cleanup: &mut Cleanup,
    ) -> Result<(), RenderError> {
        let mut shifted = packet.clone();
        shifted.set_pts(packet.pts().map(|t| t - self.origin));
        shifted.set_dts(packet.dts().map(|t| t - self.origin));
        if kind == Kind::Video {
            self.codecs.see_video(&shifted);
        }
        if let Some(hls) = self.hls.as_mut() {
            hls.write(kind, shifted.clone(), cleanup)?;
        }
        if let Some(mp4) = self.mp4.as_mut() {
            mp4.write(kind, shifted)?;
        }
        Ok(())
    }
}

/// The RFC 6381 codec names of what was written, learnt from the first video keyframe.
pub(crate) struct CodecNames {
    video: Option<String>,
    has_video: bool,
    /// The audio's codec, when there is audio.
    audio: Option<&'static str>,
}

/// The RFC 6381 name of an audio codec as HLS playlists give it: AAC-LC (what reeltime
/// encodes), MPEG audio layers by their MPEG-4 audio object type, AC-3 and E-AC-3 by their
/// own names; other codecs never reach a chunk (ingest converts them to AAC).
pub(crate) fn audio_codec_name(id: ffmpeg_next::codec::Id) -> &'static str {
    use ffmpeg_next::codec::Id;
    match id {
        Id::MP3 => "mp4a.40.34",
        Id::MP2 => "mp4a.40.33",
        Id::MP1 => "mp4a.40.32",
        Id::AC3 => "ac-3",
        Id::EAC3 => "ec-3",
        _ => "mp4a.40.2",
    }
}

impl CodecNames {
    pub fn new(has_video: bool, audio: Option<ffmpeg_next::codec::Id>) -> CodecNames {
        CodecNames { video: None, has_video, audio: audio.map(audio_codec_name) }
    }

    pub fn see_video(&mut self, packet: &ffmpeg_next::Packet) {
        if self.video.is_none() && packet.is_key() {
            self.video = packet.data().and_then(crate::hls_writer::avc_codec);
        }
    }

    pub fn names(&self) -> String {
        // Without an SPS in band (not H.264 Annex B), High profile level 4.0 is a safe claim.
        let video = self.has_video.then(|| self.video.clone().unwrap_or("avc1.640028".into()));
        video.into_iter().chain(self.audio.map(str::to_owned)).collect::<Vec<_>>().join(",")
    }
}

/// Progress of a stream copy after its start keyframe.
struct Streaming {
    sinks: CopySinks,
    /// Presentation span and decode span of the video written so far; equal spans mean every
    /// frame between the first and the latest shown is there (constant frame rate).
    min_pts: i64,
    max_pts: i64,
    max_end: i64,
    first_dts: i64,
    last_dts: i64,
    last_duration: i64,
    /// End of the clip once the video is complete.
    video_end: Option<i64>,
    /// Audio at or after the requested out-point, until the video end is known.
    pending_audio: Vec<ffmpeg_next::Packet>,
    audio_done: bool,
}

fn copy_cut(
    chunks: &[Chunk],
    first: usize,
    track: u32,
    range: EventRange,
    outputs: &Outputs<'_>,
    cleanup: &mut Cleanup,
) -> Result<Made, RenderError> {
    let mut from = first;
    loop {
        let mut source = Source::open(chunks.to_vec(), from, track, range.end_ms)?;
        match copy_from(&mut source, range, outputs, cleanup)? {
            Some(made) => return Ok(made),
            None if from > 0 => from -= 1,
            None => {
                return Err(source
                    .error(format!("no keyframe at or before the in-point {} ms", range.start_ms)))
            }
        }
    }
}

/// Cuts from the source's first chunk; `None` when no keyframe at or before the in-point was
/// found there.
fn copy_from(
    source: &mut Source,
    range: EventRange,
    outputs: &Outputs<'_>,
    cleanup: &mut Cleanup,
) -> Result<Option<Made>, RenderError> {
    if source.video.is_none() {
        return copy_sound(source, range, outputs, cleanup).map(Some);
    }
    let end = ms_to_ticks(range.end_ms);
    let Some(mut streaming) = seek(source, range, outputs, cleanup)? else {
        return Ok(None);
    };
    while !streaming.is_done(source.audio.is_some()) {
        match source.next_packet()? {
            Some(item) => streaming.push(item, end, cleanup)?,
            None => break,
        }
    }
    streaming.finish(cleanup).map(Some)
}

/// Reads up to the first keyframe after the in-point, keeping only the packets since the
/// latest keyframe at or before it; then opens the outputs and writes those packets.
fn seek(
    source: &mut Source,
    range: EventRange,
    outputs: &Outputs<'_>,
    cleanup: &mut Cleanup,
) -> Result<Option<Streaming>, RenderError> {
    let end = ms_to_ticks(range.end_ms);
    let mut buffer: Vec<SourcePacket> = Vec::new();
    let mut keyframe = None;
    loop {
        match source.next_packet()? {
            Some(item) if !is_key_after(&item, range.start_ms) => {
                if item.kind == Kind::Video && item.packet.is_key() {
                    buffer.clear();
                    keyframe = item.packet.pts();
                }
                if keyframe.is_some() {
                    buffer.push(item);
                }
            }
            next => {
                let Some(keyframe) = keyframe else {
                    return Ok(None);
                };
                let mut streaming = start_streaming(source, keyframe, outputs, cleanup)?;
                for earlier in buffer.drain(..).chain(next) {
                    streaming.push(earlier, end, cleanup)?;
                }
                return Ok(Some(streaming));
            }
        }
    }
}

/// A video keyframe after the in-point: the one that decides the start keyframe.
fn is_key_after(item: &SourcePacket, start_ms: u64) -> bool {
    item.kind == Kind::Video
        && item.packet.is_key()
        && ticks_to_ms(item.packet.pts().unwrap_or(0)) > start_ms
}

/// The sinks of a stream copy of `source`'s streams, with `origin` as time 0.
fn copy_sinks(
    source: &Source,
    origin: i64,
    outputs: &Outputs<'_>,
    cleanup: &mut Cleanup,
) -> Result<CopySinks, RenderError> {
    let video = source.video.as_ref().map(|v| &v.parameters);
    let audio = source.audio.as_ref().map(|a| &a.parameters);
    let mp4 = match outputs.mp4 {
        Some(path) => Some(Mp4Writer::create(path, video, audio, cleanup)?),
        None => None,
    };
    let hls = outputs
        .hls
        .map(|segment_ms| HlsSegmenter::new(outputs.dir, outputs.name, segment_ms, video, audio));
    let codecs = CodecNames::new(video.is_some(), audio.map(Parameters::id));
    Ok(CopySinks { mp4, hls, origin, codecs })
}

/// A stream copy of a source with sound only: every audio frame that overlaps `range`.
fn copy_sound(
    source: &mut Source,
    range: EventRange,
    outputs: &Outputs<'_>,
    cleanup: &mut Cleanup,
) -> Result<Made, RenderError> {
    let (start, end) = (ms_to_ticks(range.start_ms), ms_to_ticks(range.end_ms));
    let mut sinks: Option<CopySinks> = None;
    let mut sound_end = start;
    while let Some(item) = source.next_packet()? {
        let pts = item.packet.pts().unwrap_or(0);
        let frame_end = pts + item.packet.duration().max(0);
        if item.kind != Kind::Audio || frame_end <= start {
            continue;
        }
        if pts >= end {
            break;
        }
        let sinks = match sinks.as_mut() {
            Some(sinks) => sinks,
            None => sinks.insert(copy_sinks(source, pts, outputs, cleanup)?),
        };
        sinks.write(Kind::Audio, &item.packet, cleanup)?;
        sound_end = sound_end.max(frame_end);
    }
    let Some(mut sinks) = sinks else {
        return Err(source.error(format!("has no sound in the range {range}")));
    };
    let segments = match sinks.hls.take() {
        Some(hls) => hls.finish()?,
        None => Vec::new(),
    };
    if let Some(mp4) = sinks.mp4.take() {
        mp4.finish(cleanup)?;
    }
    Ok(Made {
        actual: EventRange::new(ticks_to_ms(sinks.origin), ticks_to_ms(sound_end)),
        segments,
        codecs: sinks.codecs.names(),
        reencoded: false,
        has_video: false,
    })
}

fn start_streaming(
    source: &Source,
    origin: i64,
    outputs: &Outputs<'_>,
    cleanup: &mut Cleanup,
) -> Result<Streaming, RenderError> {
    let sinks = copy_sinks(source, origin, outputs, cleanup)?;
    Ok(Streaming {
        sinks,
        min_pts: origin,
        max_pts: origin,
        max_end: origin,
        first_dts: i64::MAX,
        last_dts: i64::MIN,
        last_duration: 0,
        video_end: None,
        pending_audio: Vec::new(),
        audio_done: false,
    })
}

impl Streaming {
    /// The video is complete and so is the audio (when there is audio).
    fn is_done(&self, has_audio: bool) -> bool {
        self.video_end.is_some() && (self.audio_done || !has_audio)
    }

    /// Half a frame: spans that differ by less are equal.
    fn tolerance(&self) -> i64 {
        (self.last_duration / 2).max(1)
    }

    fn push(
        &mut self,
        item: SourcePacket,
        end: i64,
        cleanup: &mut Cleanup,
    ) -> Result<(), RenderError> {
        let origin = self.sinks.origin;
        let pts = item.packet.pts().unwrap_or(0);
        match item.kind {
            Kind::Video => {
                // Leading pictures of an open GOP show before the keyframe and need the GOP
                // before it: not decodable here.
                if self.video_end.is_some() || pts < origin {
                    return Ok(());
                }
                let end_ms = ticks_to_ms(end);
                if item.packet.is_key() && pts > origin && ticks_to_ms(pts) >= end_ms {
                    self.complete_video(self.max_end, cleanup)?;
                    return Ok(());
                }
                let dts = item.packet.dts().unwrap_or(pts);
                self.first_dts = self.first_dts.min(dts);
                self.last_dts = dts;
                self.last_duration = item.packet.duration();
                self.min_pts = self.min_pts.min(pts);
                self.max_pts = self.max_pts.max(pts);
                self.max_end = self.max_end.max(pts + item.packet.duration());
                self.sinks.write(Kind::Video, &item.packet, cleanup)?;
                let clean = (self.max_pts - self.min_pts) - (self.last_dts - self.first_dts)
                    < self.tolerance();
                if clean && ticks_to_ms(self.max_end) >= end_ms {
                    self.complete_video(self.max_end, cleanup)?;
                }
            }
            Kind::Audio => {
                if pts < origin || self.audio_done {
                    return Ok(());
                }
                match self.video_end {
                    Some(video_end) if pts >= video_end => self.audio_done = true,
                    Some(_) => self.sinks.write(Kind::Audio, &item.packet, cleanup)?,
                    None if pts < end => self.sinks.write(Kind::Audio, &item.packet, cleanup)?,
                    None => self.pending_audio.push(item.packet),
                }
            }
        }
        Ok(())
    }

    fn complete_video(&mut self, video_end: i64, cleanup: &mut Cleanup) -> Result<(), RenderError> {
        self.video_end = Some(video_end);
        for packet in std::mem::take(&mut self.pending_audio) {
            if packet.pts().unwrap_or(0) < video_end {
                self.sinks.write(Kind::Audio, &packet, cleanup)?;
            } else {
                self.audio_done = true;
            }
        }
        Ok(())
    }

    fn finish(mut self, cleanup: &mut Cleanup) -> Result<Made, RenderError> {
        if self.video_end.is_none() {
            self.complete_video(self.max_end, cleanup)?;
        }
        let video_end = self.video_end.unwrap_or(self.max_end);
        let segments = match self.sinks.hls.take() {
            Some(hls) => hls.finish()?,
            None => Vec::new(),
        };
        if let Some(mp4) = self.sinks.mp4.take() {
            mp4.finish(cleanup)?;
        }
        Ok(Made {
            actual: EventRange::new(ticks_to_ms(self.sinks.origin), ticks_to_ms(video_end)),
            segments,
            codecs: self.sinks.codecs.names(),
            reencoded: false,
            has_video: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ffmpeg_next::codec::Id;

    #[test]
    fn codec_names_say_what_the_streams_are() {
        assert_eq!(CodecNames::new(true, Some(Id::AAC)).names(), "avc1.640028,mp4a.40.2");
        assert_eq!(CodecNames::new(true, None).names(), "avc1.640028");
        assert_eq!(CodecNames::new(true, Some(Id::AC3)).names(), "avc1.640028,ac-3");
        // Sound only: a radio commentary's clips, as they were copied.
        assert_eq!(CodecNames::new(false, Some(Id::MP2)).names(), "mp4a.40.33");
        assert_eq!(CodecNames::new(false, Some(Id::MP3)).names(), "mp4a.40.34");
        assert_eq!(audio_codec_name(Id::EAC3), "ec-3");
    }
}
