//! What a media file holds: its streams, frame rate, and the time of its timing stream (its
//! video, or the first audio track of a file with sound only); and whether FFmpeg can decode
//! the streams ingest uses.

use std::path::{Path, PathBuf};

use ffmpeg::{codec, format, media, Rational};
use ffmpeg_next as ffmpeg;

use super::{init, MediaError};
use crate::render::mux::codec_tag;

/// What [`probe`] found in a media file.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaInfo {
    /// The file.
    pub path: PathBuf,
    /// Its video; `None` for a file with sound only (a radio commentary).
    pub video: Option<VideoInfo>,
    /// Its audio tracks, numbered from 1 in stream order (empty for a video-only file).
    pub audio_tracks: Vec<u32>,
    /// Presentation time of the first frame of its timing stream ([`timing_stream`]), in
    /// microseconds of the source's clock.
    pub first_us: i64,
    /// End of the last frame of its timing stream (its presentation time plus its duration),
    /// in microseconds of the source's clock.
    pub end_us: i64,
}

/// The video of a media file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoInfo {
    /// Frames per second.
    pub frame_rate: f64,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
}

impl MediaInfo {
    /// Length of the timing stream, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        ((self.end_us - self.first_us).max(0) as u64 + 500) / 1000
    }
}

/// The stream whose frames time a file (event time is anchored on its first frame, and chunks
/// are cut on its keyframes): the best video stream, or, in a file with sound only, the first
/// audio track; `None` when it has neither.
pub fn timing_stream(input: &format::context::Input) -> Option<format::stream::Stream<'_>> {
    input
        .streams()
        .best(media::Type::Video)
        .or_else(|| input.streams().find(|s| s.parameters().medium() == media::Type::Audio))
}

/// Opens `path` with FFmpeg, or says why it cannot be (ingest's probe and split, and the
/// built-in plugins' decoder, open media this one way).
pub fn open(path: &Path) -> Result<format::context::Input, MediaError> {
    init()?;
    if !path.exists() {
        return Err(MediaError::NotFound { path: path.to_owned() });
    }
    format::input(path).map_err(|source| MediaError::Unreadable { path: path.to_owned(), source })
}

/// How an error names a stream's codec: FFmpeg's name for it, or, for a codec FFmpeg does not
/// know, the container's tag when it has one (an AVI or MP4 FourCC, a WAV format number),
/// which is what identifies it to whoever made the file.
pub fn codec_description(id: codec::Id, tag: u32) -> String {
    if id != codec::Id::None {
        return format!("{:?}", id.name());
    }
    let bytes = tag.to_le_bytes();
    if tag == 0 {
        "an unknown codec".to_owned()
    } else if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        let fourcc: String = bytes.iter().map(|&b| char::from(b)).collect();
        format!("an unknown codec, FourCC {fourcc:?}")
    } else {
        format!("an unknown codec, tag 0x{tag:04x}")
    }
}

/// Checks that FFmpeg can decode every stream ingest uses (the best video stream and every
/// audio stream), so a file it cannot is refused by name before anything is cut or converted.
pub fn check_decodable(input: &format::context::Input, path: &Path) -> Result<(), MediaError> {
    let video = input.streams().best(media::Type::Video).map(|s| s.index());
    let mut audio_track = 0;
    for stream in input.streams() {
        let parameters = stream.parameters();
        let which = if Some(stream.index()) == video {
            "video stream".to_owned()
        } else if parameters.medium() == media::Type::Audio {
            audio_track += 1;
            format!("audio track {audio_track}")
        } else {
            continue;
        };
        let id = parameters.id();
        if id == codec::Id::None || ffmpeg::decoder::find(id).is_none() {
            return Err(MediaError::NoDecoder {
                path: path.to_owned(),
                stream: which,
                codec: codec_description(id, codec_tag(&parameters)),
            });
        }
    }
    Ok(())
}

/// Probes `path`: its streams, and the first and last time of its timing stream, from its
/// packets (demuxed, not decoded, so a chunk of a few seconds takes a few milliseconds).
pub fn probe(path: &Path) -> Result<MediaInfo, MediaError> {
    let mut input = open(path)?;
    let timing =
        timing_stream(&input).ok_or_else(|| MediaError::NoStreams { path: path.to_owned() })?;
    check_decodable(&input, path)?;
    let timing_index = timing.index();
    let time_base = timing.time_base();
    let parameters = timing.parameters();
    let video = if parameters.medium() == media::Type::Video {
        let rate = [timing.avg_frame_rate(), timing.rate()]
            .into_iter()
            .find(|r| r.numerator() > 0 && r.denominator() > 0)
            .unwrap_or(Rational(25, 1));
        let decoder = ffmpeg::codec::context::Context::from_parameters(parameters)
            .and_then(|c| c.decoder().video())
            .map_err(|source| MediaError::Unreadable { path: path.to_owned(), source })?;
        Some((
            rate,
            VideoInfo {
                frame_rate: f64::from(rate),
                width: decoder.width(),
                height: decoder.height(),
            },
        ))
    } else {
        None
    };
    let audio_tracks = (1..)
        .zip(input.streams().filter(|s| s.parameters().medium() == media::Type::Audio))
        .map(|(track, _)| track)
        .collect();
    // A video packet without a duration lasts a frame; audio packets carry theirs.
    let frame_ticks = video.map_or(0, |(rate, _)| {
        i64::from(time_base.denominator()) * i64::from(rate.denominator())
            / (i64::from(time_base.numerator()) * i64::from(rate.numerator())).max(1)
    });
    let mut first: Option<i64> = None;
    let mut end: Option<i64> = None;
    let mut packet = ffmpeg::Packet::empty();
    loop {
        match packet.read(&mut input) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            // A damaged packet: skip it, as players do; detection reports the damage.
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(source) => return Err(MediaError::Unreadable { path: path.to_owned(), source }),
        }
        if packet.stream() != timing_index {
            continue;
        }
        if let Some(pts) = packet.pts() {
            let duration = if packet.duration() > 0 { packet.duration() } else { frame_ticks };
            first = Some(first.map_or(pts, |f| f.min(pts)));
            end = Some(end.map_or(pts + duration, |e| e.max(pts + duration)));
        }
    }
    let (Some(first), Some(end)) = (first, end) else {
        return Err(MediaError::NoFrames { path: path.to_owned() });
    };
    Ok(MediaInfo {
        path: path.to_owned(),
        video: video.map(|(_, info)| info),
        audio_tracks,
        first_us: to_us(first, time_base),
        end_us: to_us(end, time_base),
    })
}

/// `ticks` of `time_base` in microseconds, rounded to the nearest.
pub fn to_us(ticks: i64, time_base: Rational) -> i64 {
    let numerator = i128::from(ticks) * i128::from(time_base.numerator()) * 1_000_000;
    let denominator = i128::from(time_base.denominator()).max(1);
    let half = denominator / 2;
    let rounded = if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        (numerator - half) / denominator
    };
    rounded as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_codec_is_named_by_ffmpeg_or_else_by_the_containers_tag() {
        assert_eq!(codec_description(codec::Id::HEVC, 0), "\"hevc\"");
        let fourcc = u32::from_le_bytes(*b"QQ9Z");
        assert_eq!(codec_description(codec::Id::None, fourcc), "an unknown codec, FourCC \"QQ9Z\"");
        assert_eq!(codec_description(codec::Id::None, 0x1234), "an unknown codec, tag 0x1234");
        assert_eq!(codec_description(codec::Id::None, 0), "an unknown codec");
    }
}
