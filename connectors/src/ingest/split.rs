//! One recording, or a live stream as it arrives, cut into chunks at keyframes, without
//! re-encoding.
//!
//! Packets are copied into MPEG-TS chunks (`chunk-00000.ts`, ...), the container of HLS. A
//! new chunk starts at the first video keyframe at or after each multiple of the chunk
//! length (counted from the first video frame), so chunks are as long as asked when the
//! keyframe interval divides the chunk length, and longer otherwise. Audio packets go into
//! the chunk that is open when they are read, as FFmpeg's segment muxer does. A recording
//! with sound only is cut on the packets of its first audio track instead (every audio packet
//! can start a chunk), so its chunks are as long as asked, to an audio frame. Timestamps are
//! shifted so the first frame is at 1.4 s, as FFmpeg's HLS output has it, which keeps every
//! decoding timestamp of B-frame video positive; event time is anchored on the first frame
//! anyway ([`super::ChunkIngest`]).
//!
//! A live stream ([`split_stream`]: UDP or SRT carrying MPEG-TS, the ways contribution feeds
//! arrive) is cut the same way, and each chunk is handed on as soon as the next one begins;
//! the stream ends when its sender closes it or after a silence.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ffmpeg::{format, media, Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;

use super::probe::{open, timing_stream, to_us};
use super::MediaError;

/// Where the first frame of a split recording is put, in microseconds.
const FIRST_FRAME_US: i64 = 1_400_000;

/// A chunk [`split_file`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitChunk {
    /// The chunk file.
    pub path: PathBuf,
    /// Its length (of its video, or of its first audio track when it has no video), in
    /// milliseconds.
    pub duration_ms: u64,
}

/// Why a recording could not be split.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// The recording cannot be used.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The chunk length is not a positive number of seconds.
    #[error("chunk length {0} s is not a positive number of seconds")]
    ChunkLength(f64),
    /// The output folder could not be made.
    #[error("cannot create {path:?}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A chunk could not be written.
    #[error("cannot write chunk {path:?}: {source}")]
    Write {
        /// The chunk.
        path: PathBuf,
        /// FFmpeg's error.
        source: ffmpeg::Error,
    },
    /// A live stream could not be opened (nothing arrived in time, or FFmpeg cannot read it).
    #[error("cannot open the stream {url}: {reason} (nothing arrived within {waited:?}, or it is not MPEG-TS FFmpeg can read)")]
    Stream {
        /// The stream's URL.
        url: String,
        /// How long it was waited for.
        waited: Duration,
        /// FFmpeg's error (told in the message, not as a cause, so it is said once).
        reason: ffmpeg::Error,
    },
    /// What a chunk was handed to failed.
    #[error("{0}")]
    Consumer(String),
}

/// Whether `input` names a live stream [`split_stream`] reads rather than a file.
pub fn is_stream(input: &str) -> bool {
    ["udp://", "srt://", "rtp://", "tcp://"].iter().any(|scheme| input.starts_with(scheme))
}

/// A chunk being written.
struct OpenChunk {
    path: PathBuf,
    output: format::context::Output,
    time_bases: Vec<Rational>,
    /// First and end time of its timing stream's packets.
    first_us: Option<i64>,
    end_us: Option<i64>,
}

impl OpenChunk {
    fn finish(mut self) -> Result<SplitChunk, SplitError> {
        self.output
            .write_trailer()
            .map_err(|source| SplitError::Write { path: self.path.clone(), source })?;
        let duration_us = match (self.first_us, self.end_us) {
            (Some(first), Some(end)) => (end - first).max(0) as u64,
            _ => 0,
        };
        Ok(SplitChunk { path: self.path, duration_ms: (duration_us + 500) / 1000 })
    }
}

/// Cuts `input` into chunks of about `chunk_seconds` in `out_dir` (created if missing).
/// Keeps the best video stream and every audio stream (or only audio: see the module).
pub fn split_file(
    input: &Path,
    out_dir: &Path,
    chunk_seconds: f64,
) -> Result<Vec<SplitChunk>, SplitError> {
    if !(chunk_seconds.is_finite() && chunk_seconds > 0.0) {
        return Err(SplitError::ChunkLength(chunk_seconds));
    }
    let source = open(input)?;
    let mut chunks = Vec::new();
    split(source, input, out_dir, chunk_seconds, false, &mut |chunk| {
        chunks.push(chunk);
        Ok(())
    })?;
    Ok(chunks)
}

/// Reads the live stream at `url` (e.g. `udp://127.0.0.1:5000` or
/// `srt://0.0.0.0:9000?mode=listener`), cuts it into chunks as it arrives and hands each to
/// `on_chunk` once it is complete; returns when the stream ends: its sender closes it, or
/// nothing arrives for `silence` (which is also how long its start is waited for).
pub fn split_stream(
    url: &str,
    out_dir: &Path,
    chunk_seconds: f64,
    silence: Duration,
    on_chunk: &mut dyn FnMut(SplitChunk) -> Result<(), String>,
) -> Result<(), SplitError> {
    if !(chunk_seconds.is_finite() && chunk_seconds > 0.0) {
        return Err(SplitError::ChunkLength(chunk_seconds));
    }
    super::init()?;
    let mut options = Dictionary::new();
    let micros = silence.as_micros().to_string();
    // Every read gives up after the silence: the end of a stream nobody closes.
    options.set("rw_timeout", &micros);
    options.set("timeout", &micros);
    // A burst must not overrun the socket's buffer while a chunk is written.
    options.set("fifo_size", "1000000");
    options.set("overrun_nonfatal", "1");
    let source = format::input_with_dictionary(&url, options)
        .map_err(|reason| SplitError::Stream { url: url.to_owned(), waited: silence, reason })?;
    split(source, Path::new(url), out_dir, chunk_seconds, true, on_chunk)
}

/// Where the chunk begun by a cut at `since_first_us` (a frame that starts within `slack_us`
/// of a boundary counts as on it) ends: the next multiple of `chunk_us` after the boundary it
/// was cut at. Without the slack, a cut just before a boundary (at an MP2 frame of 24 ms that
/// starts at 7.992 s, of 4 s chunks) would leave that same boundary ahead, and the next frame
/// would be cut off alone.
fn next_boundary(since_first_us: i64, slack_us: i64, chunk_us: i64) -> i64 {
    ((since_first_us + slack_us) / chunk_us + 1) * chunk_us
}

/// Cuts what `source` (read from `input`) holds into chunks in `out_dir`, handing each to
/// `on_chunk` as soon as it is complete. A live source's read errors end it rather than fail
/// it: a stream that stops is over.
fn split(
    mut source: format::context::Input,
    input: &Path,
    out_dir: &Path,
    chunk_seconds: f64,
    live: bool,
    on_chunk: &mut dyn FnMut(SplitChunk) -> Result<(), String>,
) -> Result<(), SplitError> {
    let chunk_us = (chunk_seconds * 1e6).round() as i64;
    let timing =
        timing_stream(&source).ok_or_else(|| MediaError::NoStreams { path: input.to_owned() })?;
    let timing_index = timing.index();
    // Audio packets are all keyframes, whatever the demuxer flags.
    let timing_is_audio = timing.parameters().medium() == media::Type::Audio;
    // A video packet without a duration lasts a frame; audio packets carry theirs.
    let frame_us = {
        let rate = timing.avg_frame_rate();
        if timing_is_audio {
            0
        } else if rate.numerator() > 0 {
            (1e6 / f64::from(rate)).round() as i64
        } else {
            40_000
        }
    };
    // Input stream index -> (output stream index, input time base, parameters).
    let mut mapping: Vec<Option<usize>> = vec![None; source.nb_streams() as usize];
    let mut kept = Vec::new();
    for stream in source.streams() {
        let medium = stream.parameters().medium();
        if stream.index() == timing_index || medium == media::Type::Audio {
            mapping[stream.index()] = Some(kept.len());
            kept.push((stream.time_base(), stream.parameters()));
        }
    }
    let start_us = source
        .streams()
        .filter(|s| mapping[s.index()].is_some() && s.start_time() != ffmpeg::ffi::AV_NOPTS_VALUE)
        .map(|s| to_us(s.start_time(), s.time_base()))
        .min()
        .unwrap_or(0);
    let shift_us = (FIRST_FRAME_US - start_us).max(0);
    std::fs::create_dir_all(out_dir)
        .map_err(|source| SplitError::Io { path: out_dir.to_owned(), source })?;

    let open_chunk = |number: usize| -> Result<OpenChunk, SplitError> {
        let path = out_dir.join(format!("chunk-{number:05}.ts"));
        let write = |source| SplitError::Write { path: path.clone(), source };
        let mut output = format::output_as(&path, "mpegts").map_err(write)?;
        for (time_base, parameters) in &kept {
            let mut stream =
                output.add_stream(ffmpeg::encoder::find(ffmpeg::codec::Id::None)).map_err(write)?;
            stream.set_parameters(parameters.clone());
            stream.set_time_base(*time_base);
        }
        let mut options = Dictionary::new();
        options.set("fflags", "+bitexact");
        output.write_header_with(options).map_err(write)?;
        let time_bases = output.streams().map(|s| s.time_base()).collect();
        Ok(OpenChunk { path, output, time_bases, first_us: None, end_us: None })
    };

    let mut written = 0;
    let mut current = open_chunk(0)?;
    let mut first_us: Option<i64> = None;
    let mut next_boundary_us = chunk_us;
    let mut packet = Packet::empty();
    loop {
        match packet.read(&mut source) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(_) if live => break,
            Err(source) => {
                return Err(MediaError::Unreadable { path: input.to_owned(), source }.into())
            }
        }
        let Some(out_index) = mapping[packet.stream()] else { continue };
        let in_time_base = kept[out_index].0;
        if packet.stream() == timing_index {
            if let Some(pts) = packet.pts() {
                let pts_us = to_us(pts, in_time_base);
                let first = *first_us.get_or_insert(pts_us);
                let since_first = pts_us - first;
                let duration = packet.duration().max(0);
                let end_us =
                    pts_us + if duration > 0 { to_us(duration, in_time_base) } else { frame_us };
                // Half a frame of slack: timestamps rounded by the container still split.
                let slack_us = (end_us - pts_us) / 2;
                if (packet.is_key() || timing_is_audio)
                    && current.first_us.is_some()
                    && since_first + slack_us >= next_boundary_us
                {
                    on_chunk(current.finish()?).map_err(SplitError::Consumer)?;
                    written += 1;
                    current = open_chunk(written)?;
                    next_boundary_us = next_boundary(since_first, slack_us, chunk_us);
                }
                current.first_us = Some(current.first_us.map_or(pts_us, |f| f.min(pts_us)));
                current.end_us = Some(current.end_us.map_or(end_us, |e| e.max(end_us)));
            }
        }
        let out_time_base = current.time_bases[out_index];
        let shift = shift_us * i64::from(in_time_base.denominator())
            / (1_000_000 * i64::from(in_time_base.numerator())).max(1);
        packet.set_pts(packet.pts().map(|t| t + shift));
        packet.set_dts(packet.dts().map(|t| t + shift));
        packet.rescale_ts(in_time_base, out_time_base);
        packet.set_position(-1);
        packet.set_stream(out_index);
        packet
            .write_interleaved(&mut current.output)
            .map_err(|source| SplitError::Write { path: current.path.clone(), source })?;
    }
    // A stream that stopped between chunks leaves an empty one, which is not handed on.
    if !live || current.first_us.is_some() {
        on_chunk(current.finish()?).map_err(SplitError::Consumer)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_cut_at_a_boundary_ends_at_the_next_one() {
        let chunk = 4_000_000;
        // A 24 ms audio frame 8 ms before 8 s: the chunk it begins ends at 12 s, not 8 s.
        assert_eq!(next_boundary(7_992_000, 12_000, chunk), 12_000_000);
        // A video frame on the boundary, and one just after it.
        assert_eq!(next_boundary(8_000_000, 20_000, chunk), 12_000_000);
        assert_eq!(next_boundary(8_040_000, 20_000, chunk), 12_000_000);
        // A keyframe long after the boundary (a GOP longer than a chunk) still ends at the
        // boundary after it.
        assert_eq!(next_boundary(10_000_000, 20_000, chunk), 12_000_000);
        assert_eq!(next_boundary(11_990_000, 20_000, chunk), 16_000_000);
    }
}
