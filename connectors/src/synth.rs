//! A synthetic match made in-process from FFmpeg's lavfi sources, with its ground truth.
//!
//! Test media is made, not downloaded: a two-minute "match" of generated scenes with hard cuts
//! (`testsrc2`, a grainy green pitch, `smptehdbars`), a stretch of black, crowd noise from `anoisesrc`
//! with fixed seeds, loud "roars" at two levels, referee whistles (`sine`) and a stretch of
//! silence. One libavfilter graph with two sinks produces the picture and the sound; libx264
//! (one thread, fixed keyframe interval, no scene-cut keyframes, bit-exact flags) and FFmpeg's
//! AAC encoder write `match.mp4`, which [`crate::ingest::split`] then cuts into HLS-like `.ts`
//! chunks at its keyframes. The same spec gives byte-identical files on every run, and
//! [`GroundTruth`] says where every cut, roar, black and silent stretch is, so detectors can be
//! checked against it.

use std::fs;
use std::path::{Path, PathBuf};

use ffmpeg::{codec, encoder, filter, format, frame, Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;

use crate::ingest::split::{split_file, SplitError};
use crate::ingest::{self, MediaError};

/// Length of the synthetic match.
pub const MATCH_MS: u64 = 120_000;

/// The picture of one scene.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Picture {
    /// FFmpeg's moving colour test pattern.
    TestPattern,
    /// A green pitch with moving film grain.
    Pitch,
    /// SMPTE HD colour bars, still.
    Bars,
    /// Black.
    Black,
}

/// Scenes: start (ms) and picture; each lasts until the next one starts.
const SCENES: &[(u64, Picture)] = &[
    (0, Picture::TestPattern),
    (14_000, Picture::Pitch),
    (27_000, Picture::Bars),
    (41_000, Picture::TestPattern),
    (55_000, Picture::Black),
    (59_000, Picture::Pitch),
    (75_000, Picture::Bars),
    (88_000, Picture::TestPattern),
    (103_000, Picture::Pitch),
];

/// The sound of one stretch.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sound {
    /// Quiet pink crowd noise.
    Crowd,
    /// A referee's whistle: a 3 kHz tone, shorter than a roar.
    Whistle,
    /// A roar: white noise of this amplitude (0..1).
    Roar(f64),
    /// Digital silence.
    Silence,
}

/// Amplitude of a big roar (about 35 LU above the crowd).
const BIG_ROAR: f64 = 0.5;
/// Amplitude of a small roar (about 15 LU above the crowd).
const SMALL_ROAR: f64 = 0.08;

/// Sound stretches: start (ms) and sound; each lasts until the next one starts.
const SOUNDS: &[(u64, Sound)] = &[
    (0, Sound::Crowd),
    (18_000, Sound::Whistle),
    (18_500, Sound::Crowd),
    (20_000, Sound::Roar(BIG_ROAR)),
    (26_000, Sound::Crowd),
    // Spans the chunk boundary at 48 s with 4 s chunks.
    (45_000, Sound::Roar(SMALL_ROAR)),
    (50_000, Sound::Crowd),
    (55_000, Sound::Silence),
    (61_000, Sound::Crowd),
    (76_000, Sound::Whistle),
    (76_500, Sound::Crowd),
    (78_000, Sound::Roar(BIG_ROAR)),
    (84_000, Sound::Crowd),
    (106_000, Sound::Roar(SMALL_ROAR)),
    (111_000, Sound::Crowd),
];

/// A stretch of event time, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Where it starts.
    pub start_ms: u64,
    /// Where it ends.
    pub end_ms: u64,
}

/// A roar of the synthetic crowd.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roar {
    /// When it sounds.
    pub span: Span,
    /// True for a big roar (about 35 LU above the crowd), false for a small one (about 15 LU).
    pub big: bool,
}

/// Where the synthetic match's known moments are, in event time.
#[derive(Clone, Debug, PartialEq)]
pub struct GroundTruth {
    /// Length of the match.
    pub duration_ms: u64,
    /// Hard cuts between scenes, including the cuts into and out of black.
    pub cuts_ms: Vec<u64>,
    /// Roars of the crowd.
    pub roars: Vec<Roar>,
    /// Referee whistles (loud, but shorter than a roar).
    pub whistles: Vec<Span>,
    /// Black pictures.
    pub black: Vec<Span>,
    /// Digital silence.
    pub silence: Vec<Span>,
}

impl GroundTruth {
    /// The ground truth of the fixed timeline.
    pub fn of_timeline() -> Self {
        let scene_spans = stretches(SCENES);
        let sound_spans = stretches(SOUNDS);
        GroundTruth {
            duration_ms: MATCH_MS,
            cuts_ms: SCENES.iter().skip(1).map(|&(start, _)| start).collect(),
            roars: sound_spans
                .iter()
                .filter_map(|&(s, e, sound)| match sound {
                    Sound::Roar(amplitude) => Some(Roar {
                        span: Span { start_ms: s, end_ms: e },
                        big: amplitude >= BIG_ROAR,
                    }),
                    _ => None,
                })
                .collect(),
            whistles: sound_spans
                .iter()
                .filter(|(_, _, sound)| *sound == Sound::Whistle)
                .map(span_of)
                .collect(),
            black: scene_spans
                .iter()
                .filter(|(_, _, p)| *p == Picture::Black)
                .map(span_of)
                .collect(),
            silence: sound_spans
                .iter()
                .filter(|(_, _, sound)| *sound == Sound::Silence)
                .map(span_of)
                .collect(),
        }
    }
}

/// The span of a `(start, end, what)` stretch.
fn span_of<T>(&(start_ms, end_ms, _): &(u64, u64, T)) -> Span {
    Span { start_ms, end_ms }
}

/// `(start, end, what)` of each stretch of a timeline that ends at [`MATCH_MS`].
fn stretches<T: Copy>(timeline: &[(u64, T)]) -> Vec<(u64, u64, T)> {
    timeline
        .iter()
        .enumerate()
        .map(|(i, &(start, what))| {
            let end = timeline.get(i + 1).map_or(MATCH_MS, |&(next, _)| next);
            (start, end, what)
        })
        .collect()
}

/// How the synthetic match is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynthSpec {
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Chunk length in seconds; also the keyframe interval, so every chunk is this long.
    pub chunk_seconds: u32,
}

impl Default for SynthSpec {
    /// 640x360 at 25 fps in 4-second chunks: made in a few seconds.
    fn default() -> Self {
        SynthSpec { width: 640, height: 360, fps: 25, chunk_seconds: 4 }
    }
}

/// What [`make_match`] wrote.
#[derive(Clone, Debug)]
pub struct SynthMatch {
    /// The whole match as one MP4 file.
    pub file: PathBuf,
    /// The chunks, in order.
    pub chunks: Vec<PathBuf>,
    /// An HLS VOD media playlist of the chunks.
    pub playlist: PathBuf,
    /// Where the known moments are.
    pub truth: GroundTruth,
}

/// Why the synthetic match could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The output folder or a file in it could not be written.
    #[error("cannot write {path:?}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An FFmpeg step failed.
    #[error("making the synthetic match failed while {step}: {source}")]
    Ffmpeg {
        /// What was being done.
        step: &'static str,
        /// FFmpeg's error.
        source: ffmpeg::Error,
    },
    /// FFmpeg lacks something the match needs (a filter or an encoder).
    #[error("FFmpeg has no {0}; install FFmpeg with libx264 and libavfilter")]
    Missing(&'static str),
    /// The match could not be cut into chunks.
    #[error(transparent)]
    Split(#[from] SplitError),
}

fn ff(step: &'static str) -> impl FnOnce(ffmpeg::Error) -> SynthError {
    move |source| SynthError::Ffmpeg { step, source }
}

/// Makes the synthetic match in `dir` (created if missing): `match.mp4`, its chunks
/// `chunks/chunk-NNNNN.ts` and their playlist `match.m3u8`.
pub fn make_match(dir: &Path, spec: &SynthSpec) -> Result<SynthMatch, SynthError> {
    ingest::init().map_err(|e| match e {
        MediaError::Init(source) => SynthError::Ffmpeg { step: "initialising FFmpeg", source },
        other => SynthError::Io {
            path: dir.to_owned(),
            source: std::io::Error::other(other.to_string()),
        },
    })?;
    fs::create_dir_all(dir).map_err(|source| SynthError::Io { path: dir.to_owned(), source })?;
    let file = dir.join("match.mp4");
    encode(&file, spec)?;
    let chunks = split_file(&file, &dir.join("chunks"), f64::from(spec.chunk_seconds))?;
    let playlist = dir.join("match.m3u8");
    write_playlist(&playlist, &chunks, spec.chunk_seconds)?;
    Ok(SynthMatch {
        file,
        chunks: chunks.into_iter().map(|c| c.path).collect(),
        playlist,
        truth: GroundTruth::of_timeline(),
    })
}

/// Writes an HLS VOD media playlist of `chunks`.
fn write_playlist(
    path: &Path,
    chunks: &[crate::ingest::split::SplitChunk],
    chunk_seconds: u32,
) -> Result<(), SynthError> {
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{chunk_seconds}\n\
         #EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n"
    );
    for chunk in chunks {
        let name = chunk.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        text.push_str(&format!(
            "#EXTINF:{:.3},\nchunks/{name}\n",
            chunk.duration_ms as f64 / 1000.0
        ));
    }
    text.push_str("#EXT-X-ENDLIST\n");
    fs::write(path, text).map_err(|source| SynthError::Io { path: path.to_owned(), source })
}

/// The libavfilter graph description of the whole match: `[vout]` and `[aout]`.
fn graph_description(spec: &SynthSpec) -> String {
    let size = format!("{}x{}", spec.width, spec.height);
    let fps = spec.fps;
    let mut description = String::new();
    let scenes = stretches(SCENES);
    for (i, &(start, end, picture)) in scenes.iter().enumerate() {
        let seconds = (end - start) as f64 / 1000.0;
        let source = match picture {
            Picture::TestPattern => format!("testsrc2=s={size}:r={fps}"),
            Picture::Pitch => {
                format!(
                    "color=c=0x2f7d32:s={size}:r={fps},noise=alls=12:allf=t:all_seed={}",
                    100 + i
                )
            }
            Picture::Bars => format!("smptehdbars=s={size}:r={fps}"),
            Picture::Black => format!("color=c=black:s={size}:r={fps}"),
        };
        description.push_str(&format!(
            "{source},trim=duration={seconds},setpts=PTS-STARTPTS,format=yuv420p,setsar=1[v{i}];"
        ));
    }
    let labels: String = (0..scenes.len()).map(|i| format!("[v{i}]")).collect();
    description.push_str(&format!("{labels}concat=n={}:v=1:a=0[vout];", scenes.len()));

    let sounds = stretches(SOUNDS);
    for (i, &(start, end, sound)) in sounds.iter().enumerate() {
        let seconds = (end - start) as f64 / 1000.0;
        let seed = 1000 + i;
        let source = match sound {
            Sound::Crowd => format!("anoisesrc=r=48000:c=pink:a=0.02:seed={seed}"),
            Sound::Whistle => "sine=f=3000:sample_rate=48000".to_owned(),
            Sound::Roar(amplitude) => {
                format!("anoisesrc=r=48000:c=white:a={amplitude}:seed={seed}")
            }
            Sound::Silence => "anullsrc=r=48000:cl=mono".to_owned(),
        };
        description.push_str(&format!(
            "{source},atrim=duration={seconds},asetpts=PTS-STARTPTS,\
             aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=mono[a{i}];"
        ));
    }
    let labels: String = (0..sounds.len()).map(|i| format!("[a{i}]")).collect();
    description.push_str(&format!("{labels}concat=n={}:v=0:a=1[aout]", sounds.len()));
    description
}

/// Encodes the match into `file` (MP4, H.264 + AAC).
fn encode(file: &Path, spec: &SynthSpec) -> Result<(), SynthError> {
    let mut graph = filter::Graph::new();
    let buffersink = filter::find("buffersink").ok_or(SynthError::Missing("buffersink filter"))?;
    let abuffersink =
        filter::find("abuffersink").ok_or(SynthError::Missing("abuffersink filter"))?;
    graph.add(&buffersink, "vout", "").map_err(ff("adding the video sink"))?;
    graph.add(&abuffersink, "aout", "").map_err(ff("adding the audio sink"))?;
    graph
        .input("vout", 0)
        .and_then(|p| p.input("aout", 0))
        .and_then(|p| p.parse(&graph_description(spec)))
        .map_err(ff("parsing the lavfi graph"))?;
    graph.validate().map_err(ff("configuring the lavfi graph"))?;

    let mut output = format::output(file).map_err(ff("opening the output file"))?;
    let global_header = output.format().flags().contains(format::Flags::GLOBAL_HEADER);
    let mut flags = codec::Flags::empty();
    if global_header {
        flags |= codec::Flags::GLOBAL_HEADER;
    }
    // Bit-exact: no encoder version strings, so output is identical from build to build.
    flags |= codec::Flags::BITEXACT;

    let x264 = encoder::find_by_name("libx264").ok_or(SynthError::Missing("libx264 encoder"))?;
    let video_time_base = Rational(1, spec.fps as i32);
    let mut video = codec::context::Context::new_with_codec(x264)
        .encoder()
        .video()
        .map_err(ff("creating the video encoder"))?;
    video.set_width(spec.width);
    video.set_height(spec.height);
    video.set_format(format::Pixel::YUV420P);
    video.set_time_base(video_time_base);
    video.set_frame_rate(Some(Rational(spec.fps as i32, 1)));
    video.set_flags(flags);
    let keyint = spec.fps * spec.chunk_seconds;
    let mut options = Dictionary::new();
    options.set("preset", "veryfast");
    options.set("crf", "26");
    options.set("threads", "1");
    options.set("x264-params", &format!("keyint={keyint}:min-keyint={keyint}:scenecut=0"));
    // Each chunk must open with an IDR frame (and so with SPS/PPS once split into MPEG-TS):
    // frames at chunk starts are marked I and x264 makes them IDR.
    options.set("forced-idr", "1");
    video.set_gop(keyint);
    let mut video = video.open_with(options).map_err(ff("opening libx264"))?;

    let aac = encoder::find(codec::Id::AAC).ok_or(SynthError::Missing("AAC encoder"))?;
    let mut audio = codec::context::Context::new_with_codec(aac)
        .encoder()
        .audio()
        .map_err(ff("creating the audio encoder"))?;
    audio.set_rate(48_000);
    audio.set_channel_layout(ffmpeg::ChannelLayout::MONO);
    audio.set_channels(1);
    audio.set_format(format::Sample::F32(format::sample::Type::Planar));
    audio.set_bit_rate(96_000);
    audio.set_time_base(Rational(1, 48_000));
    audio.set_flags(flags);
    let mut audio = audio.open().map_err(ff("opening the AAC encoder"))?;
    graph.get("aout").expect("the sink was added").sink().set_frame_size(audio.frame_size());

    {
        let mut stream = output.add_stream(x264).map_err(ff("adding the video stream"))?;
        stream.set_time_base(video_time_base);
        stream.set_parameters(&video);
    }
    {
        let mut stream = output.add_stream(aac).map_err(ff("adding the audio stream"))?;
        stream.set_time_base(Rational(1, 48_000));
        stream.set_parameters(&audio);
    }
    let mut options = Dictionary::new();
    options.set("fflags", "+bitexact");
    output.write_header_with(options).map_err(ff("writing the MP4 header"))?;
    let stream_time_bases: Vec<Rational> = output.streams().map(|s| s.time_base()).collect();

    let video_sink_tb = graph.get("vout").expect("the sink was added").sink().time_base();
    let audio_sink_tb = graph.get("aout").expect("the sink was added").sink().time_base();
    let mut video_frame = frame::Video::empty();
    let mut audio_frame = frame::Audio::empty();
    let (mut video_done, mut audio_done) = (false, false);
    let (mut video_seconds, mut audio_seconds) = (0.0f64, 0.0f64);
    let mut packet = Packet::empty();
    // Pull from whichever stream is behind, so the muxer interleaves without buffering much.
    while !(video_done && audio_done) {
        if !video_done && (audio_done || video_seconds <= audio_seconds) {
            match graph.get("vout").expect("the sink was added").sink().frame(&mut video_frame) {
                Ok(()) => {
                    let pts = video_frame.pts().unwrap_or(0);
                    let pts = pts_in(pts, video_sink_tb, video_time_base);
                    video_seconds = pts as f64 / f64::from(spec.fps);
                    video_frame.set_pts(Some(pts));
                    let chunk_start = pts % i64::from(keyint) == 0;
                    video_frame.set_kind(if chunk_start {
                        ffmpeg::picture::Type::I
                    } else {
                        ffmpeg::picture::Type::None
                    });
                    video.send_frame(&video_frame).map_err(ff("encoding video"))?;
                }
                Err(ffmpeg::Error::Eof) => {
                    video_done = true;
                    video.send_eof().map_err(ff("flushing libx264"))?;
                }
                Err(e) => return Err(ff("generating video")(e)),
            }
            while video.receive_packet(&mut packet).is_ok() {
                packet.set_stream(0);
                packet.rescale_ts(video_time_base, stream_time_bases[0]);
                packet.write_interleaved(&mut output).map_err(ff("writing video"))?;
            }
        } else {
            match graph.get("aout").expect("the sink was added").sink().frame(&mut audio_frame) {
                Ok(()) => {
                    let pts = audio_frame.pts().unwrap_or(0);
                    let pts = pts_in(pts, audio_sink_tb, Rational(1, 48_000));
                    audio_seconds = pts as f64 / 48_000.0;
                    audio_frame.set_pts(Some(pts));
                    audio.send_frame(&audio_frame).map_err(ff("encoding audio"))?;
                }
                Err(ffmpeg::Error::Eof) => {
                    audio_done = true;
                    audio.send_eof().map_err(ff("flushing the AAC encoder"))?;
                }
                Err(e) => return Err(ff("generating audio")(e)),
            }
            while audio.receive_packet(&mut packet).is_ok() {
                packet.set_stream(1);
                packet.rescale_ts(Rational(1, 48_000), stream_time_bases[1]);
                packet.write_interleaved(&mut output).map_err(ff("writing audio"))?;
            }
        }
    }
    output.write_trailer().map_err(ff("finishing the MP4 file"))?;
    Ok(())
}

/// `pts` of time base `from` in time base `to`, rounded to the nearest tick.
fn pts_in(pts: i64, from: Rational, to: Rational) -> i64 {
    use ffmpeg::Rescale;
    pts.rescale(from, to)
}
