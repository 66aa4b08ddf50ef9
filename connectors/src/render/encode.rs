//! Re-encoding: ranges of event time decoded, filtered and encoded into one timeline.
//!
//! Used by frame-accurate clips (one range, the source's size) and by replays (several ranges,
//! several renditions). The clips play back to back: clip `k` starts where clip `k-1` ended,
//! at a frame boundary. A clip holds the frames whose start lies in its range, so its bounds
//! are the requested ones to the frame. Each clip's audio is trimmed and padded to exactly
//! the length of its video (to the sample), so audio never drifts from video across clips.
//!
//! Per clip and rendition a video filter graph scales (and pads or crops) and fades; one audio
//! graph per clip trims, pads and fades, and a persistent audio graph regroups samples into
//! the AAC encoder's frame size across clip joins. Audio is encoded once and shared by every
//! rendition. Nothing is buffered beyond what the decoders and encoders hold, so memory does
//! not grow with the length of a replay.
//!
//! A source with sound only (a radio commentary) has no picture: its renditions are its audio
//! alone, and each clip holds exactly its range of samples.

use std::path::PathBuf;

use ffmpeg_next::codec::{self, Parameters};
use ffmpeg_next::util::channel_layout::ChannelLayout;
use ffmpeg_next::{decoder, encoder, filter, format, frame, Dictionary, Packet, Rational, Rescale};
use reeltime_schemas::record::Chunk;

use super::cut::{CodecNames, EncodeSettings};
use super::mux::{Cleanup, HlsSegmenter, Mp4Writer};
use super::replay::{Cancel, Framing};
use super::source::{ms_to_ticks, ticks_to_ms, Kind, Source, TIMELINE};
use super::{EventRange, RenderError};
use crate::hls_writer::HlsSegment;

/// One range to encode, with the chunks it needs (see `source::chunks_for`).
pub(crate) struct ClipInput {
    pub chunks: Vec<Chunk>,
    pub first: usize,
    pub range: EventRange,
}

/// Where one rendition goes.
pub(crate) struct Output {
    pub mp4: Option<PathBuf>,
    /// Folder, file stem and minimum segment length in milliseconds.
    pub hls: Option<(PathBuf, String, u64)>,
}

/// One rendition: a size (the source's when `None`) and how to fit the picture into it.
pub(crate) struct Rendition {
    pub size: Option<(u32, u32)>,
    pub framing: Option<Framing>,
    pub output: Output,
}

/// Fade lengths in milliseconds at the start and end of every clip.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fades {
    pub in_ms: u64,
    pub out_ms: u64,
}

/// What was encoded.
pub(crate) struct Encoded {
    /// The range each clip really holds, in event time.
    pub clips: Vec<EventRange>,
    /// Whether the renditions have video (a source with sound only gives sound only).
    pub has_video: bool,
    /// Per rendition, in the order given.
    pub renditions: Vec<EncodedRendition>,
}

/// One encoded rendition.
pub(crate) struct EncodedRendition {
    pub segments: Vec<HlsSegment>,
    pub codecs: String,
    pub width: u32,
    pub height: u32,
}

/// The encoders and files of one rendition.
struct RenditionOut {
    /// The video encoder; `None` for a source with sound only.
    encoder: Option<encoder::Video>,
    time_base: Rational,
    width: u32,
    height: u32,
    filter_spec: String,
    graph: Option<filter::Graph>,
    mp4: Option<Mp4Writer>,
    hls: Option<HlsSegmenter>,
    codecs: CodecNames,
}

/// The audio encoder and the graph that feeds it whole frames.
struct AudioOut {
    encoder: encoder::Audio,
    rate: u32,
    fifo: filter::Graph,
}

fn codec_error(stage: &'static str) -> impl FnOnce(ffmpeg_next::Error) -> RenderError {
    RenderError::codec(stage)
}

/// Encodes `clips` back to back into every rendition.
pub(crate) fn encode(
    clips: &[ClipInput],
    track: u32,
    settings: &EncodeSettings,
    fades: Option<Fades>,
    renditions: &[Rendition],
    cancel: Option<&Cancel>,
    cleanup: &mut Cleanup,
) -> Result<Encoded, RenderError> {
    let Some(first_clip) = clips.first() else {
        return Err(RenderError::Options("a render needs at least one range".into()));
    };
    let probe =
        Source::open(first_clip.chunks.clone(), first_clip.first, track, first_clip.range.end_ms)?;
    // The source's frame rate and size; `None` for a source with sound only.
    let picture = match &probe.video {
        Some(video) => {
            let frame_rate = video.frame_rate;
            if frame_rate.numerator() <= 0 || frame_rate.denominator() <= 0 {
                return Err(probe.error("its video has no frame rate"));
            }
            let source_video = codec::Context::from_parameters(video.parameters.clone())
                .and_then(|c| c.decoder().video())
                .map_err(|e| probe.error(format!("cannot read its video parameters: {e}")))?;
            Some((frame_rate, source_video.width(), source_video.height()))
        }
        None => None,
    };
    let frame_ticks =
        picture.map_or(1, |(frame_rate, ..)| 1i64.rescale(frame_rate.invert(), TIMELINE).max(1));
    let audio_rate = match &probe.audio {
        Some(audio) => Some(
            codec::Context::from_parameters(audio.parameters.clone())
                .and_then(|c| c.decoder().audio())
                .map_err(|e| probe.error(format!("cannot read its audio parameters: {e}")))?
                .rate(),
        ),
        None => None,
    };
    drop(probe);

    let mut audio = match audio_rate {
        Some(rate) => Some(open_audio(rate, settings)?),
        None => None,
    };
    let audio_parameters = audio.as_ref().map(|a| Parameters::from(&a.encoder));
    let mut outs = Vec::with_capacity(renditions.len());
    for rendition in renditions {
        let (encoder, width, height, time_base) = match picture {
            Some((frame_rate, source_width, source_height)) => {
                let (width, height) = rendition.size.unwrap_or((source_width, source_height));
                let encoder = open_video(width, height, frame_rate, settings)?;
                (Some(encoder), width, height, frame_rate.invert())
            }
            None => (None, 0, 0, TIMELINE),
        };
        let parameters = encoder.as_ref().map(Parameters::from);
        let mp4 = match &rendition.output.mp4 {
            Some(path) => Some(Mp4Writer::create(
                path,
                parameters.as_ref(),
                audio_parameters.as_ref(),
                cleanup,
            )?),
            None => None,
        };
        let hls = rendition.output.hls.as_ref().map(|(dir, stem, segment_ms)| {
            HlsSegmenter::new(
                dir,
                stem,
                *segment_ms,
                parameters.as_ref(),
                audio_parameters.as_ref(),
            )
        });
        let filter_spec = match rendition.framing {
            Some(framing) => framing.filter(width, height),
            None => format!("scale={width}:{height}"),
        };
        outs.push(RenditionOut {
            time_base,
            codecs: CodecNames::new(encoder.is_some(), audio.is_some().then_some(codec::Id::AAC)),
            encoder,
            width,
            height,
            filter_spec,
            graph: None,
            mp4,
            hls,
        });
    }

    let mut clip_ranges = Vec::with_capacity(clips.len());
    let mut offset_ticks = 0i64;
    for clip in clips {
        let source =
            Source::open(clip.chunks.clone(), clip.first, track, clip.range.end_ms)?.for_decoding();
        let mut run = ClipRun::new(source, clip.range, frame_ticks, offset_ticks, fades)?;
        let actual = run.run(&mut outs, audio.as_mut(), cancel, cleanup)?;
        offset_ticks = run.next_offset;
        clip_ranges.push(actual);
    }

    if let Some(audio) = audio.as_mut() {
        flush_graph(&mut audio.fifo, "audio filter")?;
        drain_audio(audio, &mut outs, cleanup)?;
        audio.encoder.send_eof().map_err(codec_error("audio encoder"))?;
        drain_audio_packets(audio, &mut outs, cleanup)?;
    }
    let mut encoded = Vec::with_capacity(outs.len());
    for mut out in outs {
        if let Some(encoder) = out.encoder.as_mut() {
            encoder.send_eof().map_err(codec_error("video encoder"))?;
        }
        drain_video_packets(&mut out, cleanup)?;
        let segments = match out.hls.take() {
            Some(hls) => hls.finish()?,
            None => Vec::new(),
        };
        if let Some(mp4) = out.mp4.take() {
            mp4.finish(cleanup)?;
        }
        encoded.push(EncodedRendition {
            segments,
            codecs: out.codecs.names(),
            width: out.width,
            height: out.height,
        });
    }
    Ok(Encoded { clips: clip_ranges, has_video: picture.is_some(), renditions: encoded })
}

fn open_video(
    width: u32,
    height: u32,
    frame_rate: Rational,
    settings: &EncodeSettings,
) -> Result<encoder::Video, RenderError> {
    let codec = encoder::find_by_name("libx264")
        .ok_or_else(|| RenderError::Options("FFmpeg has no libx264 encoder".into()))?;
    let mut video = codec::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(codec_error("video encoder setup"))?;
    video.set_width(width);
    video.set_height(height);
    video.set_format(format::Pixel::YUV420P);
    video.set_time_base(frame_rate.invert());
    video.set_frame_rate(Some(frame_rate));
    let gop = (settings.keyframe_interval_ms as i64)
        .rescale(Rational(1, 1000), frame_rate.invert())
        .max(1);
    let mut options = Dictionary::new();
    options.set("preset", &settings.preset);
    options.set("crf", &settings.crf.to_string());
    options.set("g", &gop.to_string());
    options.set("keyint_min", &gop.to_string());
    options.set("sc_threshold", "0");
    options.set("threads", &settings.threads.to_string());
    video.open_with(options).map_err(codec_error("opening libx264"))
}

fn open_audio(rate: u32, settings: &EncodeSettings) -> Result<AudioOut, RenderError> {
    let codec = encoder::find(codec::Id::AAC)
        .ok_or_else(|| RenderError::Options("FFmpeg has no AAC encoder".into()))?;
    let mut audio = codec::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .map_err(codec_error("audio encoder setup"))?;
    audio.set_rate(rate as i32);
    audio.set_channel_layout(ChannelLayout::STEREO);
    audio.set_channels(2);
    audio.set_format(format::Sample::F32(format::sample::Type::Planar));
    audio.set_time_base(Rational(1, rate as i32));
    audio.set_bit_rate(settings.audio_bitrate as usize);
    let encoder = audio.open_as(codec).map_err(codec_error("opening the AAC encoder"))?;
    let args = format!(
        "time_base=1/{rate}:sample_rate={rate}:sample_fmt=fltp:channel_layout=0x{:x}",
        ChannelLayout::STEREO.bits()
    );
    let mut fifo = build_graph("abuffer", &args, "abuffersink", "anull", "audio filter")?;
    if let Some(mut out) = fifo.get("out") {
        out.sink().set_frame_size(encoder.frame_size());
    }
    Ok(AudioOut { encoder, rate, fifo })
}

fn add_filter(
    graph: &mut filter::Graph,
    kind: &str,
    name: &str,
    args: &str,
) -> Result<(), RenderError> {
    let found = filter::find(kind)
        .ok_or_else(|| RenderError::Options(format!("FFmpeg has no {kind} filter")))?;
    graph.add(&found, name, args).map(|_| ()).map_err(codec_error("filter setup"))
}

/// Marks the end of a graph's input, so it hands out what it still holds.
fn flush_graph(graph: &mut filter::Graph, stage: &'static str) -> Result<(), RenderError> {
    match graph.get("in") {
        Some(mut input) => input.source().flush().map_err(codec_error(stage)),
        None => Ok(()),
    }
}

/// Feeds a frame to a graph, which takes its buffers and leaves it empty.
fn feed_graph(
    graph: &mut filter::Graph,
    frame: &frame::Frame,
    stage: &'static str,
) -> Result<(), RenderError> {
    match graph.get("in") {
        Some(mut input) => input.source().add(frame).map_err(codec_error(stage)),
        None => Ok(()),
    }
}

/// The next frame out of a graph, if it has one ready.
fn graph_frame(graph: &mut filter::Graph, frame: &mut frame::Frame) -> bool {
    graph.get("out").is_some_and(|mut output| output.sink().frame(frame).is_ok())
}

/// Moves filtered frames of one rendition into its encoder, on the output timeline.
fn drain_video(
    out: &mut RenditionOut,
    offset_ticks: i64,
    cleanup: &mut Cleanup,
) -> Result<(), RenderError> {
    let Some(mut graph) = out.graph.take() else {
        return Ok(());
    };
    let mut filtered = frame::Video::empty();
    let mut result = Ok(());
    while result.is_ok() && graph_frame(&mut graph, &mut filtered) {
        let pts = filtered.pts().unwrap_or(0) + offset_ticks;
        filtered.set_pts(Some(pts.rescale(TIMELINE, out.time_base)));
        filtered.set_kind(ffmpeg_next::picture::Type::None);
        let sent = match out.encoder.as_mut() {
            Some(encoder) => encoder.send_frame(&filtered).map_err(codec_error("video encoder")),
            None => Ok(()),
        };
        result = sent.and_then(|()| drain_video_packets(out, cleanup));
    }
    out.graph = Some(graph);
    result
}

/// Writes the packets the video encoder has ready.
fn drain_video_packets(out: &mut RenditionOut, cleanup: &mut Cleanup) -> Result<(), RenderError> {
    let mut packet = Packet::empty();
    while out.encoder.as_mut().is_some_and(|e| e.receive_packet(&mut packet).is_ok()) {
        packet.rescale_ts(out.time_base, TIMELINE);
        if packet.duration() <= 0 {
            packet.set_duration(1i64.rescale(out.time_base, TIMELINE));
        }
        out.codecs.see_video(&packet);
        write_to(out, Kind::Video, &packet, cleanup)?;
    }
    Ok(())
}

fn write_to(
    out: &mut RenditionOut,
    kind: Kind,
    packet: &Packet,
    cleanup: &mut Cleanup,
) -> Result<(), RenderError> {
    if let Some(hls) = out.hls.as_mut() {
        hls.write(kind, packet.clone(), cleanup)?;
    }
    if let Some(mp4) = out.mp4.as_mut() {
        mp4.write(kind, packet.clone())?;
    }
    Ok(())
}

/// Moves a clip's filtered audio into the encoder's frame regrouping, on the output timeline.
fn move_clip_audio(
    graph: &mut filter::Graph,
    audio: &mut AudioOut,
    offset_ticks: i64,
) -> Result<(), RenderError> {
    let offset = offset_ticks.rescale(TIMELINE, Rational(1, audio.rate as i32));
    let mut filtered = frame::Audio::empty();
    while graph_frame(graph, &mut filtered) {
        let pts = filtered.pts().unwrap_or(0) + offset;
        filtered.set_pts(Some(pts));
        feed_graph(&mut audio.fifo, &filtered, "audio filter")?;
    }
    Ok(())
}

/// Encodes the whole audio frames ready, and writes the packets to every rendition.
fn drain_audio(
    audio: &mut AudioOut,
    outs: &mut [RenditionOut],
    cleanup: &mut Cleanup,
) -> Result<(), RenderError> {
    let mut whole = frame::Audio::empty();
    while graph_frame(&mut audio.fifo, &mut whole) {
        audio.encoder.send_frame(&whole).map_err(codec_error("audio encoder"))?;
        drain_audio_packets(audio, outs, cleanup)?;
    }
    Ok(())
}

fn drain_audio_packets(
    audio: &mut AudioOut,
    outs: &mut [RenditionOut],
    cleanup: &mut Cleanup,
) -> Result<(), RenderError> {
    let mut packet = Packet::empty();
    let time_base = Rational(1, audio.rate as i32);
    while audio.encoder.receive_packet(&mut packet).is_ok() {
        packet.rescale_ts(time_base, TIMELINE);
        for out in outs.iter_mut() {
            write_to(out, Kind::Audio, &packet, cleanup)?;
        }
    }
    Ok(())
}

/// One clip being decoded.
struct ClipRun {
    source: Source,
    range: EventRange,
    frame_ticks: i64,
    offset_ticks: i64,
    fades: Option<Fades>,
    /// `None` for a source with sound only.
    video_decoder: Option<decoder::Video>,
    audio_decoder: Option<decoder::Audio>,
    /// Event time of the first frame kept, once seen.
    origin: Option<i64>,
    /// Event time where the clip ends: after the last frame that starts before the out-point.
    end: i64,
    /// Fade lengths in seconds and the clip's length in seconds.
    fade_s: Option<(f64, f64)>,
    duration_s: f64,
    frames: i64,
    video_done: bool,
    audio_done: bool,
    audio_graph: Option<filter::Graph>,
    /// Decoded audio waiting for the first kept frame.
    early_audio: Vec<frame::Audio>,
    /// Where the next clip starts on the output timeline.
    next_offset: i64,
}

impl ClipRun {
    fn new(
        source: Source,
        range: EventRange,
        frame_ticks: i64,
        offset_ticks: i64,
        fades: Option<Fades>,
    ) -> Result<ClipRun, RenderError> {
        let decode_error = |what: &str, e: ffmpeg_next::Error| {
            source.error(format!("cannot decode its {what}: {e}"))
        };
        let video_decoder = match &source.video {
            Some(video) => {
                let mut decoder = codec::Context::from_parameters(video.parameters.clone())
                    .map_err(|e| decode_error("video", e))?
                    .decoder();
                decoder.set_packet_time_base(TIMELINE);
                Some(decoder.video().map_err(|e| decode_error("video", e))?)
            }
            None => None,
        };
        let audio_decoder = match &source.audio {
            Some(audio) => {
                let mut decoder = codec::Context::from_parameters(audio.parameters.clone())
                    .map_err(|e| decode_error("audio", e))?
                    .decoder();
                decoder.set_packet_time_base(TIMELINE);
                Some(decoder.audio().map_err(|e| decode_error("audio", e))?)
            }
            None => None,
        };
        let sound_only = video_decoder.is_none();
        let mut run = ClipRun {
            source,
            range,
            frame_ticks,
            offset_ticks,
            fades,
            video_decoder,
            audio_decoder,
            origin: None,
            end: ms_to_ticks(range.end_ms),
            fade_s: None,
            duration_s: 0.0,
            frames: 0,
            video_done: sound_only,
            audio_done: false,
            audio_graph: None,
            early_audio: Vec::new(),
            next_offset: offset_ticks,
        };
        if sound_only {
            // Sound alone is cut to the sample: the clip is its range.
            run.bound(ms_to_ticks(range.start_ms), ms_to_ticks(range.end_ms));
        }
        Ok(run)
    }

    fn decode_error(&self, what: &str, e: ffmpeg_next::Error) -> RenderError {
        self.source.error(format!("cannot decode its {what}: {e}"))
    }

    /// Decodes the clip into the renditions; returns the range it holds.
    fn run(
        &mut self,
        outs: &mut [RenditionOut],
        mut audio: Option<&mut AudioOut>,
        cancel: Option<&Cancel>,
        cleanup: &mut Cleanup,
    ) -> Result<EventRange, RenderError> {
        if audio.is_none() || self.audio_decoder.is_none() {
            self.audio_done = true;
        }
        let mut seen_keyframe = false;
        while !(self.video_done && self.audio_done) {
            if cancel.is_some_and(Cancel::is_cancelled) {
                return Err(RenderError::Cancelled);
            }
            let Some(item) = self.source.next_packet()? else {
                break;
            };
            match item.kind {
                Kind::Video if !self.video_done => {
                    // Frames before the first keyframe cannot be decoded.
                    seen_keyframe |= item.packet.is_key();
                    let Some(decoder) = self.video_decoder.as_mut().filter(|_| seen_keyframe)
                    else {
                        continue;
                    };
                    if let Err(e) = decoder.send_packet(&item.packet) {
                        return Err(self.decode_error("video", e));
                    }
                    self.receive_video(outs, audio.as_deref_mut(), cleanup)?;
                }
                Kind::Audio if !self.audio_done => {
                    if let Some(decoder) = self.audio_decoder.as_mut() {
                        if let Err(e) = decoder.send_packet(&item.packet) {
                            return Err(self.decode_error("audio", e));
                        }
                    }
                    self.receive_audio(audio.as_deref_mut(), outs, cleanup)?;
                }
                _ => {}
            }
        }
        if !self.video_done {
            if let Some(Err(e)) = self.video_decoder.as_mut().map(|d| d.send_eof()) {
                return Err(self.decode_error("video", e));
            }
            self.receive_video(outs, audio.as_deref_mut(), cleanup)?;
            self.video_done = true;
        }
        let Some(origin) = self.origin else {
            return Err(self.source.error(format!("has no frames in the range {}", self.range)));
        };
        if !self.audio_done {
            if let Some(decoder) = self.audio_decoder.as_mut() {
                if let Err(e) = decoder.send_eof() {
                    return Err(self.decode_error("audio", e));
                }
            }
            self.receive_audio(audio.as_deref_mut(), outs, cleanup)?;
        }
        for out in outs.iter_mut() {
            if let Some(graph) = out.graph.as_mut() {
                flush_graph(graph, "video filter")?;
            }
            drain_video(out, self.offset_ticks, cleanup)?;
        }
        if let Some(audio) = audio {
            // A clip without any audio packets still needs its silence.
            if self.audio_graph.is_none() {
                let silence = frame::Audio::new(
                    format::Sample::F32(format::sample::Type::Planar),
                    0,
                    ChannelLayout::STEREO,
                );
                self.ensure_audio_graph(&silence, audio.rate)?;
            }
            if let Some(graph) = self.audio_graph.as_mut() {
                flush_graph(graph, "audio filter")?;
                move_clip_audio(graph, audio, self.offset_ticks)?;
            }
            drain_audio(audio, outs, cleanup)?;
        }
        let duration = match self.video_decoder {
            Some(_) => self.frames * self.frame_ticks,
            None => self.end - origin,
        };
        self.next_offset = self.offset_ticks + duration;
        Ok(EventRange::new(ticks_to_ms(origin), ticks_to_ms(origin + duration)))
    }

    fn receive_video(
        &mut self,
        outs: &mut [RenditionOut],
        mut audio: Option<&mut AudioOut>,
        cleanup: &mut Cleanup,
    ) -> Result<(), RenderError> {
        let mut decoded = frame::Video::empty();
        while self.video_decoder.as_mut().is_some_and(|d| d.receive_frame(&mut decoded).is_ok()) {
            let Some(pts) = decoded.timestamp() else { continue };
            let ms = ticks_to_ms(pts);
            if ms < self.range.start_ms || self.video_done {
                continue;
            }
            if ms >= self.range.end_ms {
                self.video_done = true;
                continue;
            }
            let origin = match self.origin {
                Some(origin) => origin,
                None => {
                    self.start(pts, &decoded, outs)?;
                    for early in std::mem::take(&mut self.early_audio) {
                        self.feed_audio(early, audio.as_deref_mut(), outs, cleanup)?;
                    }
                    pts
                }
            };
            decoded.set_pts(Some(pts - origin));
            self.frames += 1;
            for out in outs.iter_mut() {
                if let Some(graph) = out.graph.as_mut() {
                    // A graph takes the frame's buffers: each rendition gets its own reference.
                    feed_graph(graph, &decoded.clone(), "video filter")?;
                }
                drain_video(out, self.offset_ticks, cleanup)?;
            }
        }
        Ok(())
    }

    fn receive_audio(
        &mut self,
        mut audio: Option<&mut AudioOut>,
        outs: &mut [RenditionOut],
        cleanup: &mut Cleanup,
    ) -> Result<(), RenderError> {
        let Some(decoder) = self.audio_decoder.as_mut() else {
            return Ok(());
        };
        let mut ready = Vec::new();
        let mut decoded = frame::Audio::empty();
        while decoder.receive_frame(&mut decoded).is_ok() {
            ready.push(decoded.clone());
        }
        for decoded in ready {
            let Some(pts) = decoded.timestamp() else { continue };
            if self.origin.is_none() {
                // Audio from up to a second before the in-point may still reach into the clip.
                if ticks_to_ms(pts) + 1000 >= self.range.start_ms {
                    self.early_audio.push(decoded);
                }
                continue;
            }
            if pts >= self.end {
                self.audio_done = true;
                continue;
            }
            self.feed_audio(decoded, audio.as_deref_mut(), outs, cleanup)?;
        }
        Ok(())
    }

    /// Hands one decoded audio frame (event time) to the clip's audio graph.
    fn feed_audio(
        &mut self,
        mut decoded: frame::Audio,
        audio: Option<&mut AudioOut>,
        outs: &mut [RenditionOut],
        cleanup: &mut Cleanup,
    ) -> Result<(), RenderError> {
        let (Some(audio), Some(origin)) = (audio, self.origin) else {
            return Ok(());
        };
        self.ensure_audio_graph(&decoded, audio.rate)?;
        let pts = decoded.timestamp().map(|pts| pts - origin);
        decoded.set_pts(pts);
        if let Some(graph) = self.audio_graph.as_mut() {
            feed_graph(graph, &decoded, "audio filter")?;
            move_clip_audio(graph, audio, self.offset_ticks)?;
        }
        drain_audio(audio, outs, cleanup)
    }

    /// The clip holds event time from `origin` to `end`: its length and fades.
    fn bound(&mut self, origin: i64, end: i64) {
        self.origin = Some(origin);
        self.end = end;
        self.duration_s = (end - origin) as f64 / 90_000.0;
        let duration_s = self.duration_s;
        self.fade_s = self.fades.map(|f| {
            let length = |ms: u64| (ms as f64 / 1000.0).min(duration_s / 2.0);
            (length(f.in_ms), length(f.out_ms))
        });
    }

    /// At the first kept frame: its time is the clip's origin; the video graphs are made.
    fn start(
        &mut self,
        pts: i64,
        decoded: &frame::Video,
        outs: &mut [RenditionOut],
    ) -> Result<(), RenderError> {
        let frames =
            (ms_to_ticks(self.range.end_ms) - pts + self.frame_ticks - 1) / self.frame_ticks;
        self.bound(pts, pts + frames * self.frame_ticks);
        let duration_s = self.duration_s;
        let aspect = decoded.aspect_ratio();
        let aspect = if aspect.numerator() > 0 { aspect } else { Rational(1, 1) };
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base=1/90000:pixel_aspect={}/{}",
            decoded.width(),
            decoded.height(),
            decoded.format().descriptor().map_or("yuv420p", |d| d.name()),
            aspect.numerator(),
            aspect.denominator()
        );
        for out in outs.iter_mut() {
            let mut spec = out.filter_spec.clone();
            if let Some((fade_in, fade_out)) = self.fade_s {
                if fade_in > 0.0 {
                    spec.push_str(&format!(",fade=t=in:st=0:d={fade_in:.3}"));
                }
                if fade_out > 0.0 {
                    let at = duration_s - fade_out;
                    spec.push_str(&format!(",fade=t=out:st={at:.3}:d={fade_out:.3}"));
                }
            }
            spec.push_str(",format=yuv420p");
            out.graph = Some(build_graph("buffer", &args, "buffersink", &spec, "video filter")?);
        }
        Ok(())
    }

    /// Makes the clip's audio graph for frames like `decoded`: trimmed to the clip, padded
    /// with silence where audio is missing, faded, and converted for the encoder.
    fn ensure_audio_graph(&mut self, decoded: &frame::Audio, rate: u32) -> Result<(), RenderError> {
        if self.audio_graph.is_some() {
            return Ok(());
        }
        let origin = self.origin.unwrap_or(0);
        let rate_base = Rational(1, rate as i32);
        let samples = (self.offset_ticks + (self.end - origin)).rescale(TIMELINE, rate_base)
            - self.offset_ticks.rescale(TIMELINE, rate_base);
        let mut spec = format!(
            "atrim=start=0,aresample={rate}:async=1:first_pts=0,apad=whole_len={samples},atrim=end_sample={samples}"
        );
        if let Some((fade_in, fade_out)) = self.fade_s {
            if fade_in > 0.0 {
                spec.push_str(&format!(",afade=t=in:st=0:d={fade_in:.3}"));
            }
            if fade_out > 0.0 {
                let at = self.duration_s - fade_out;
                spec.push_str(&format!(",afade=t=out:st={at:.3}:d={fade_out:.3}"));
            }
        }
        spec.push_str(&format!(
            ",aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts=stereo"
        ));
        let layout = match decoded.channel_layout() {
            layout if layout.bits() != 0 => layout,
            _ => ChannelLayout::default(i32::from(decoded.channels().max(1))),
        };
        let args = format!(
            "time_base=1/90000:sample_rate={}:sample_fmt={}:channel_layout=0x{:x}",
            if decoded.rate() > 0 { decoded.rate() } else { rate },
            decoded.format().name(),
            layout.bits()
        );
        self.audio_graph =
            Some(build_graph("abuffer", &args, "abuffersink", &spec, "audio filter")?);
        Ok(())
    }
}

fn build_graph(
    source: &str,
    args: &str,
    sink: &str,
    spec: &str,
    stage: &'static str,
) -> Result<filter::Graph, RenderError> {
    let mut graph = filter::Graph::new();
    add_filter(&mut graph, source, "in", args)?;
    add_filter(&mut graph, sink, "out", "")?;
    graph
        .output("in", 0)
        .and_then(|p| p.input("out", 0))
        .and_then(|p| p.parse(spec))
        .map_err(codec_error(stage))?;
    graph.validate().map_err(codec_error(stage))?;
    Ok(graph)
}
