//! A recording whose codecs MPEG-TS chunks cannot hold (ProRes, VP9, MPEG-4 Part 2, PCM, Opus,
//! ...) converted once into an H.264/AAC MPEG-TS file with a keyframe at every chunk boundary,
//! which [`super::split`] then cuts by stream copy.
//!
//! Each stream that can be copied is copied; the others are decoded and encoded:
//!
//! - video with libx264 ([`ConvertSettings`]) at the source's size, at a constant frame rate
//!   (the source's average: a variable frame rate, as phones record, becomes constant by
//!   repeating or dropping frames; a video whose average rate differs from its nominal one by
//!   more than 1% is taken as variable and converted even when its codec could be copied), as
//!   8-bit 4:2:0, with a keyframe forced at every multiple of the chunk length from the first
//!   frame;
//! - each audio track with AAC at 48 kHz, keeping its channels (mono, stereo, 5.1).
//!
//! A recording with sound only (a radio commentary as WAV) has audio lanes only; the split then
//! cuts it on its first audio track.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ffmpeg::util::channel_layout::ChannelLayout;
use ffmpeg::{
    codec, decoder, encoder, filter, format, frame, media, Dictionary, Packet, Rational, Rescale,
};
use ffmpeg_next as ffmpeg;

use super::probe::{check_decodable, open};
use super::MediaError;
use crate::render::mux::clear_codec_tag;

/// How converted streams are encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertSettings {
    /// libx264's preset.
    pub preset: String,
    /// libx264's constant rate factor (lower is better and larger; 18–23 is usual).
    pub crf: u8,
    /// AAC bit rate per audio channel, in bits per second.
    pub audio_bitrate_per_channel: u32,
}

impl Default for ConvertSettings {
    /// `veryfast`, CRF 20, 96 kb/s per channel (192 kb/s stereo): about real time or faster
    /// for 1080p on two cores, and visually close to the source.
    fn default() -> Self {
        ConvertSettings { preset: "veryfast".into(), crf: 20, audio_bitrate_per_channel: 96_000 }
    }
}

/// The sample rate of converted audio.
const AUDIO_RATE: i32 = 48_000;

/// Why a recording could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The recording cannot be used.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// FFmpeg lacks an encoder or filter this needs.
    #[error("FFmpeg has no {0}; install FFmpeg with libx264 and libavfilter")]
    Missing(&'static str),
    /// A stream could not be decoded, filtered or encoded.
    #[error("cannot convert {path:?}: {stage}: {source}")]
    Codec {
        /// The recording.
        path: PathBuf,
        /// What was being done, e.g. "decoding its video".
        stage: String,
        /// FFmpeg's error.
        source: ffmpeg::Error,
    },
    /// The converted file could not be written.
    #[error("cannot write {path:?}: {source}")]
    Write {
        /// The converted file.
        path: PathBuf,
        /// FFmpeg's error.
        source: ffmpeg::Error,
    },
}

/// How far a conversion is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvertProgress {
    /// Media time converted, from the first frame.
    pub done: Duration,
    /// The recording's length, when its container says.
    pub total: Option<Duration>,
    /// Wall-clock time so far.
    pub elapsed: Duration,
}

impl ConvertProgress {
    /// Media time converted per second of wall-clock time (1.0: real time).
    pub fn speed(&self) -> f64 {
        self.done.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-3)
    }
}

/// Whether MPEG-TS chunks can hold a stream of this codec as it is (what HLS players and the
/// renderer read from a chunk: H.264, HEVC and MPEG-2 video; AAC, MPEG audio and AC-3).
pub fn copyable(id: codec::Id) -> bool {
    matches!(
        id,
        codec::Id::H264
            | codec::Id::HEVC
            | codec::Id::MPEG2VIDEO
            | codec::Id::MPEG1VIDEO
            | codec::Id::AAC
            | codec::Id::MP2
            | codec::Id::MP3
            | codec::Id::AC3
            | codec::Id::EAC3
    )
}

/// Why a kept stream cannot be copied into MPEG-TS chunks as it is: its codec, or a video
/// frame rate that varies (phone footage), which chunks of a constant length need constant;
/// `None` when it can be.
fn must_convert(stream: &format::stream::Stream) -> Option<String> {
    let parameters = stream.parameters();
    let codec = parameters.id().name();
    if !copyable(parameters.id()) {
        return Some(codec.to_owned());
    }
    let (average, nominal) = (stream.avg_frame_rate(), stream.rate());
    let known = |r: Rational| r.numerator() > 0 && r.denominator() > 0;
    let varies = parameters.medium() == media::Type::Video
        && known(average)
        && known(nominal)
        && (f64::from(average) - f64::from(nominal)).abs() > 0.01 * f64::from(nominal);
    varies.then(|| format!("{codec} at a variable frame rate"))
}

/// The streams a split keeps (the best video, every audio; every audio of a recording with
/// sound only), by index.
fn kept_streams(input: &format::context::Input) -> Vec<usize> {
    let video = input.streams().best(media::Type::Video).map(|s| s.index());
    input
        .streams()
        .filter(|s| Some(s.index()) == video || s.parameters().medium() == media::Type::Audio)
        .map(|s| s.index())
        .collect()
}

/// The streams of `input` that MPEG-TS chunks cannot hold as they are, shown as "video
/// prores", "audio 2 pcm_s24le" or "video h264 at a variable frame rate" (none: the recording
/// can be cut by stream copy); an error when FFmpeg cannot decode one of its streams.
pub fn needs_conversion(input: &Path) -> Result<Vec<StreamToConvert>, MediaError> {
    let source = open(input)?;
    check_decodable(&source, input)?;
    let mut audio_track = 0;
    let mut found = Vec::new();
    for index in kept_streams(&source) {
        let stream = source.stream(index).expect("a kept stream exists");
        let kind = match stream.parameters().medium() {
            media::Type::Audio => {
                audio_track += 1;
                ConvertedKind::Audio(audio_track)
            }
            _ => ConvertedKind::Video,
        };
        if let Some(why) = must_convert(&stream) {
            found.push(StreamToConvert { kind, why });
        }
    }
    Ok(found)
}

/// A kept stream that must be converted, and why (shown as "video prores",
/// "audio 2 pcm_s24le").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamToConvert {
    /// Which stream.
    pub kind: ConvertedKind,
    /// Its codec, and what else forbids copying it (a variable frame rate).
    pub why: String,
}

/// Which of the kept streams: the video, or an audio track counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertedKind {
    /// The video (the best of the source's).
    Video,
    /// The audio track of this number.
    Audio(usize),
}

impl std::fmt::Display for StreamToConvert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ConvertedKind::Video => write!(f, "video {}", self.why),
            ConvertedKind::Audio(track) => write!(f, "audio {track} {}", self.why),
        }
    }
}

/// One kept stream on its way into the converted file.
enum Lane {
    /// Packets copied as they are.
    Copy {
        out: usize,
        time_base: Rational,
    },
    Video(Box<VideoLane>),
    Audio(Box<AudioLane>),
}

struct VideoLane {
    out: usize,
    time_base: Rational,
    decoder: decoder::Video,
    graph: Option<filter::Graph>,
    encoder: encoder::Video,
    /// One frame: the encoder's time base.
    frame_rate: Rational,
    /// Frames per chunk, and the frame index of the next forced keyframe.
    chunk_frames: i64,
    next_key: i64,
    /// The first frame's index (its timestamp in frames), and the frames encoded.
    first: Option<i64>,
    encoded: i64,
    /// Where the last decoded frame ends, in the stream's time base: the end the frame-rate
    /// filter is told, so that it keeps the last frame.
    end: Option<i64>,
}

struct AudioLane {
    out: usize,
    time_base: Rational,
    decoder: decoder::Audio,
    graph: Option<filter::Graph>,
    encoder: encoder::Audio,
    layout: ChannelLayout,
    /// Samples encoded so far (at 48 kHz): how far a recording with sound only is.
    encoded: i64,
}

/// Converts `input` into the MPEG-TS file `output`, with a keyframe every `chunk_seconds`;
/// `progress` hears how far it is, every second or so of media.
pub fn convert(
    input: &Path,
    output: &Path,
    chunk_seconds: f64,
    settings: &ConvertSettings,
    progress: &mut dyn FnMut(ConvertProgress),
) -> Result<ConvertProgress, ConvertError> {
    let started = Instant::now();
    let mut source = open(input)?;
    let write = |source| ConvertError::Write { path: output.to_owned(), source };
    let total = (source.duration() > 0).then(|| Duration::from_micros(source.duration() as u64));
    let mut out = format::output_as(output, "mpegts").map_err(write)?;
    let mut lanes: Vec<Option<Lane>> = (0..source.nb_streams()).map(|_| None).collect();
    let mut audio_track = 0;
    for index in kept_streams(&source) {
        let stream = source.stream(index).expect("a kept stream exists");
        let parameters = stream.parameters();
        let time_base = stream.time_base();
        let out_index = lanes.iter().flatten().count();
        let lane = if must_convert(&stream).is_none() {
            let mut copied = parameters.clone();
            // The source container's tag (e.g. AVI's fourcc) means nothing in MPEG-TS.
            clear_codec_tag(&mut copied);
            let mut added = out.add_stream(encoder::find(codec::Id::None)).map_err(write)?;
            added.set_parameters(copied);
            Lane::Copy { out: out_index, time_base }
        } else if parameters.medium() == media::Type::Video {
            let rate = [stream.avg_frame_rate(), stream.rate()]
                .into_iter()
                .find(|r| r.numerator() > 0 && r.denominator() > 0)
                .unwrap_or(Rational(25, 1));
            let lane = video_lane(input, parameters, time_base, rate, chunk_seconds, settings)?;
            let mut added = out.add_stream(encoder::find(codec::Id::H264)).map_err(write)?;
            added.set_parameters(codec::Parameters::from(&lane.encoder));
            added.set_time_base(rate.invert());
            Lane::Video(Box::new(VideoLane { out: out_index, ..lane }))
        } else {
            audio_track += 1;
            let stage = format!("audio track {audio_track}");
            let lane = audio_lane(input, parameters, time_base, settings, stage)?;
            let mut added = out.add_stream(encoder::find(codec::Id::AAC)).map_err(write)?;
            added.set_parameters(codec::Parameters::from(&lane.encoder));
            added.set_time_base(Rational(1, AUDIO_RATE));
            Lane::Audio(Box::new(AudioLane { out: out_index, ..lane }))
        };
        lanes[index] = Some(lane);
    }
    out.write_header().map_err(write)?;
    let out_time_bases: Vec<Rational> = out.streams().map(|s| s.time_base()).collect();
    let mut muxer = Muxer { out, time_bases: out_time_bases, path: output.to_owned() };

    let has_video = lanes.iter().flatten().any(|lane| matches!(lane, Lane::Video(_)));
    let mut packet = Packet::empty();
    let mut done = Duration::ZERO;
    let mut told = Duration::ZERO;
    loop {
        match packet.read(&mut source) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            // A damaged packet: skipped, as players do.
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(source) => {
                return Err(MediaError::Unreadable { path: input.to_owned(), source }.into())
            }
        }
        let Some(lane) = lanes.get_mut(packet.stream()).and_then(Option::as_mut) else {
            continue;
        };
        match lane {
            Lane::Copy { out, time_base } => {
                let (out, time_base) = (*out, *time_base);
                muxer.write(packet.clone(), out, time_base)?;
            }
            Lane::Video(video) => {
                // A frame the decoder refuses is skipped, as players do.
                if video.decoder.send_packet(&packet).is_ok() {
                    video.frames(&mut muxer, input)?;
                }
                done = video.done();
            }
            Lane::Audio(audio) => {
                if audio.decoder.send_packet(&packet).is_ok() {
                    audio.frames(&mut muxer, input)?;
                }
                // Without video, the (first converted) audio says how far the conversion is.
                if !has_video {
                    done = done.max(audio.done());
                }
            }
        }
        if done >= told + Duration::from_secs(1) {
            told = done;
            progress(ConvertProgress { done, total, elapsed: started.elapsed() });
        }
    }
    for lane in lanes.iter_mut().flatten() {
        match lane {
            Lane::Copy { .. } => {}
            Lane::Video(video) => video.finish(&mut muxer, input)?,
            Lane::Audio(audio) => audio.finish(&mut muxer, input)?,
        }
    }
    muxer.out.write_trailer().map_err(write)?;
    let finished =
        ConvertProgress { done: total.unwrap_or(done), total, elapsed: started.elapsed() };
    progress(finished);
    Ok(finished)
}

/// The error of one stage of converting `path`.
fn failed(path: &Path, stage: impl Into<String>) -> impl FnOnce(ffmpeg::Error) -> ConvertError {
    let (path, stage) = (path.to_owned(), stage.into());
    move |source| ConvertError::Codec { path, stage, source }
}

/// The converted file being written.
struct Muxer {
    out: format::context::Output,
    time_bases: Vec<Rational>,
    path: PathBuf,
}

impl Muxer {
    fn write(
        &mut self,
        mut packet: Packet,
        out: usize,
        from: Rational,
    ) -> Result<(), ConvertError> {
        packet.rescale_ts(from, self.time_bases[out]);
        packet.set_position(-1);
        packet.set_stream(out);
        packet
            .write_interleaved(&mut self.out)
            .map_err(|source| ConvertError::Write { path: self.path.clone(), source })
    }
}

/// A video stream's decoder and libx264 encoder (its filter graph is made on the first frame,
/// when the decoded picture's format is known).
fn video_lane(
    input: &Path,
    parameters: codec::Parameters,
    time_base: Rational,
    frame_rate: Rational,
    chunk_seconds: f64,
    settings: &ConvertSettings,
) -> Result<VideoLane, ConvertError> {
    let mut context =
        codec::Context::from_parameters(parameters).map_err(failed(input, "reading its video"))?;
    context.set_threading(codec::threading::Config::kind(codec::threading::Type::Frame));
    let mut decoder = context.decoder();
    decoder.set_packet_time_base(time_base);
    let decoder = decoder.video().map_err(failed(input, "opening its video decoder"))?;
    let x264 = encoder::find_by_name("libx264").ok_or(ConvertError::Missing("libx264 encoder"))?;
    let mut video = codec::Context::new_with_codec(x264)
        .encoder()
        .video()
        .map_err(failed(input, "setting up libx264"))?;
    video.set_width(decoder.width());
    video.set_height(decoder.height());
    video.set_format(format::Pixel::YUV420P);
    video.set_time_base(frame_rate.invert());
    video.set_frame_rate(Some(frame_rate));
    let aspect = decoder.aspect_ratio();
    if aspect.numerator() > 0 {
        video.set_aspect_ratio(aspect);
    }
    let mut options = Dictionary::new();
    options.set("preset", &settings.preset);
    options.set("crf", &settings.crf.to_string());
    // The keyframes this module forces are IDR frames, where a chunk may start.
    options.set("forced-idr", "1");
    let encoder = video.open_with(options).map_err(failed(input, "opening libx264"))?;
    let chunk_frames = (chunk_seconds * f64::from(frame_rate)).round().max(1.0) as i64;
    Ok(VideoLane {
        out: 0,
        time_base,
        decoder,
        graph: None,
        encoder,
        frame_rate,
        chunk_frames,
        next_key: 0,
        first: None,
        encoded: 0,
        end: None,
    })
}

impl VideoLane {
    /// Media time encoded so far.
    fn done(&self) -> Duration {
        Duration::from_secs_f64(self.encoded as f64 / f64::from(self.frame_rate))
    }

    /// Moves what the decoder has into the graph, and what the graph has into the encoder.
    fn frames(&mut self, muxer: &mut Muxer, input: &Path) -> Result<(), ConvertError> {
        let mut decoded = frame::Video::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            let Some(pts) = decoded.timestamp() else { continue };
            decoded.set_pts(Some(pts));
            let frame = 1i64.rescale(self.frame_rate.invert(), self.time_base).max(1);
            self.end = Some(self.end.map_or(pts + frame, |end| end.max(pts + frame)));
            if self.graph.is_none() {
                self.graph = Some(self.build_graph(&decoded, input)?);
            }
            let graph = self.graph.as_mut().expect("made above");
            feed(graph, &decoded, input, "filtering its video")?;
            self.encode(muxer, input)?;
        }
        Ok(())
    }

    /// The graph for frames like `decoded`: a constant frame rate, 8-bit 4:2:0.
    fn build_graph(
        &self,
        decoded: &frame::Video,
        input: &Path,
    ) -> Result<filter::Graph, ConvertError> {
        let aspect = decoded.aspect_ratio();
        let aspect = if aspect.numerator() > 0 { aspect } else { Rational(1, 1) };
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
            decoded.width(),
            decoded.height(),
            decoded.format().descriptor().map_or("yuv420p", |d| d.name()),
            self.time_base.numerator(),
            self.time_base.denominator(),
            aspect.numerator(),
            aspect.denominator()
        );
        let rate = self.frame_rate;
        let spec = format!(
            "fps=fps={}/{}:eof_action=pass,format=yuv420p",
            rate.numerator(),
            rate.denominator()
        );
        graph("buffer", &args, "buffersink", &spec, input, "its video filter")
    }

    /// Encodes the frames the graph has ready, forcing a keyframe at each chunk boundary.
    fn encode(&mut self, muxer: &mut Muxer, input: &Path) -> Result<(), ConvertError> {
        let Some(graph) = self.graph.as_mut() else { return Ok(()) };
        let mut filtered = frame::Video::empty();
        while graph.get("out").is_some_and(|mut out| out.sink().frame(&mut filtered).is_ok()) {
            // After the fps filter a timestamp counts frames.
            let index = filtered.pts().unwrap_or(0);
            let first = *self.first.get_or_insert(index);
            let kind = if index - first >= self.next_key {
                while self.next_key <= index - first {
                    self.next_key += self.chunk_frames;
                }
                ffmpeg::picture::Type::I
            } else {
                ffmpeg::picture::Type::None
            };
            filtered.set_kind(kind);
            self.encoder.send_frame(&filtered).map_err(failed(input, "encoding its video"))?;
            self.encoded += 1;
            video_packets(&mut self.encoder, muxer, self.out, self.frame_rate)?;
        }
        Ok(())
    }

    fn finish(&mut self, muxer: &mut Muxer, input: &Path) -> Result<(), ConvertError> {
        if self.decoder.send_eof().is_ok() {
            self.frames(muxer, input)?;
        }
        if let Some(graph) = self.graph.as_mut() {
            let mut source = graph.get("in").expect("the graph has its input");
            let mut source = source.source();
            let closed = match self.end {
                Some(end) => source.close(end),
                None => source.flush(),
            };
            closed.map_err(failed(input, "filtering its video"))?;
            self.encode(muxer, input)?;
        }
        self.encoder.send_eof().map_err(failed(input, "encoding its video"))?;
        video_packets(&mut self.encoder, muxer, self.out, self.frame_rate)
    }
}

/// Writes the packets a video encoder has ready.
fn video_packets(
    encoder: &mut encoder::Video,
    muxer: &mut Muxer,
    out: usize,
    frame_rate: Rational,
) -> Result<(), ConvertError> {
    let mut packet = Packet::empty();
    while encoder.receive_packet(&mut packet).is_ok() {
        muxer.write(packet.clone(), out, frame_rate.invert())?;
    }
    Ok(())
}

/// An audio stream's decoder and AAC encoder, at its own channel layout.
fn audio_lane(
    input: &Path,
    parameters: codec::Parameters,
    time_base: Rational,
    settings: &ConvertSettings,
    stage: String,
) -> Result<AudioLane, ConvertError> {
    let mut decoder = codec::Context::from_parameters(parameters)
        .map_err(failed(input, format!("reading its {stage}")))?
        .decoder();
    decoder.set_packet_time_base(time_base);
    let decoder = decoder.audio().map_err(failed(input, format!("opening its {stage}")))?;
    let layout = match decoder.channel_layout() {
        layout if layout.bits() != 0 => layout,
        _ => ChannelLayout::default(i32::from(decoder.channels().max(1))),
    };
    let aac = encoder::find(codec::Id::AAC).ok_or(ConvertError::Missing("AAC encoder"))?;
    let mut audio = codec::Context::new_with_codec(aac)
        .encoder()
        .audio()
        .map_err(failed(input, "setting up the AAC encoder"))?;
    audio.set_rate(AUDIO_RATE);
    audio.set_channel_layout(layout);
    audio.set_channels(layout.channels());
    audio.set_format(format::Sample::F32(format::sample::Type::Planar));
    audio.set_time_base(Rational(1, AUDIO_RATE));
    let channels = layout.channels().max(1) as usize;
    audio.set_bit_rate(settings.audio_bitrate_per_channel as usize * channels);
    let encoder = audio.open_as(aac).map_err(failed(input, "opening the AAC encoder"))?;
    Ok(AudioLane { out: 0, time_base, decoder, graph: None, encoder, layout, encoded: 0 })
}

impl AudioLane {
    /// Media time encoded so far.
    fn done(&self) -> Duration {
        Duration::from_secs_f64(self.encoded as f64 / f64::from(AUDIO_RATE))
    }

    fn frames(&mut self, muxer: &mut Muxer, input: &Path) -> Result<(), ConvertError> {
        let mut decoded = frame::Audio::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            let Some(pts) = decoded.timestamp() else { continue };
            decoded.set_pts(Some(pts));
            if self.graph.is_none() {
                self.graph = Some(self.build_graph(&decoded, input)?);
            }
            let graph = self.graph.as_mut().expect("made above");
            feed(graph, &decoded, input, "filtering its audio")?;
            self.encode(muxer, input)?;
        }
        Ok(())
    }

    /// The graph for frames like `decoded`: resampled to 48 kHz, planar float, in frames of
    /// the encoder's size.
    fn build_graph(
        &self,
        decoded: &frame::Audio,
        input: &Path,
    ) -> Result<filter::Graph, ConvertError> {
        let layout = match decoded.channel_layout() {
            layout if layout.bits() != 0 => layout,
            _ => ChannelLayout::default(i32::from(decoded.channels().max(1))),
        };
        let args = format!(
            "time_base={}/{}:sample_rate={}:sample_fmt={}:channel_layout=0x{:x}",
            self.time_base.numerator(),
            self.time_base.denominator(),
            decoded.rate(),
            decoded.format().name(),
            layout.bits()
        );
        let spec = format!(
            "aresample={AUDIO_RATE}:async=1,aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=0x{:x}",
            self.layout.bits()
        );
        let mut graph = graph("abuffer", &args, "abuffersink", &spec, input, "its audio filter")?;
        if let Some(mut out) = graph.get("out") {
            out.sink().set_frame_size(self.encoder.frame_size());
        }
        Ok(graph)
    }

    fn encode(&mut self, muxer: &mut Muxer, input: &Path) -> Result<(), ConvertError> {
        let Some(graph) = self.graph.as_mut() else { return Ok(()) };
        let mut filtered = frame::Audio::empty();
        while graph.get("out").is_some_and(|mut out| out.sink().frame(&mut filtered).is_ok()) {
            self.encoder.send_frame(&filtered).map_err(failed(input, "encoding its audio"))?;
            self.encoded += filtered.samples() as i64;
            audio_packets(&mut self.encoder, muxer, self.out)?;
        }
        Ok(())
    }

    fn finish(&mut self, muxer: &mut Muxer, input: &Path) -> Result<(), ConvertError> {
        if self.decoder.send_eof().is_ok() {
            self.frames(muxer, input)?;
        }
        if let Some(graph) = self.graph.as_mut() {
            let mut source = graph.get("in").expect("the graph has its input");
            source.source().flush().map_err(failed(input, "filtering its audio"))?;
            self.encode(muxer, input)?;
        }
        self.encoder.send_eof().map_err(failed(input, "encoding its audio"))?;
        audio_packets(&mut self.encoder, muxer, self.out)
    }
}

/// Writes the packets an audio encoder has ready.
fn audio_packets(
    encoder: &mut encoder::Audio,
    muxer: &mut Muxer,
    out: usize,
) -> Result<(), ConvertError> {
    let mut packet = Packet::empty();
    while encoder.receive_packet(&mut packet).is_ok() {
        muxer.write(packet.clone(), out, Rational(1, AUDIO_RATE))?;
    }
    Ok(())
}

/// Hands a decoded frame to a graph's input.
fn feed(
    graph: &mut filter::Graph,
    frame: &frame::Frame,
    input: &Path,
    stage: &str,
) -> Result<(), ConvertError> {
    let mut source = graph.get("in").expect("the graph has its input");
    source.source().add(frame).map_err(failed(input, stage))
}

/// A filter graph from `source` (with `args`) through `spec` to `sink`.
fn graph(
    source: &str,
    args: &str,
    sink: &str,
    spec: &str,
    input: &Path,
    stage: &str,
) -> Result<filter::Graph, ConvertError> {
    let mut graph = filter::Graph::new();
    for (kind, name, args) in [(source, "in", args), (sink, "out", "")] {
        let found = filter::find(kind).ok_or(ConvertError::Missing("libavfilter's filters"))?;
        graph.add(&found, name, args).map_err(failed(input, stage))?;
    }
    graph
        .output("in", 0)
        .and_then(|p| p.input("out", 0))
        .and_then(|p| p.parse(spec))
        .map_err(failed(input, stage))?;
    graph.validate().map_err(failed(input, stage))?;
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_mpeg_ts_chunks_hold_is_copied_and_the_rest_converted() {
        for id in [codec::Id::H264, codec::Id::HEVC, codec::Id::MPEG2VIDEO, codec::Id::AAC] {
            assert!(copyable(id), "{id:?}");
        }
        for id in [codec::Id::PRORES, codec::Id::VP9, codec::Id::MPEG4, codec::Id::OPUS] {
            assert!(!copyable(id), "{id:?}");
        }
        assert!(!copyable(codec::Id::PCM_S16LE));
    }

    #[test]
    fn the_speed_is_media_time_per_wall_clock_time() {
        let progress = ConvertProgress {
            done: Duration::from_secs(30),
            total: None,
            elapsed: Duration::from_secs(10),
        };
        assert_eq!(progress.speed(), 3.0);
    }
}
