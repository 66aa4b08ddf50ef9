//! Chunk ingest: media in, `chunk` records out.
//!
//! An event's media arrives as chunks (HLS segments, or files cut from one recording). Each
//! chunk becomes a `chunk` record (SEMANTICS §2) whose event time is anchored on the first
//! frame of the event's first chunk, a video frame (or, for a source with sound only, an audio
//! frame): MPEG-TS timestamps start around 1.4 s and are absolute, so `start` is the chunk's
//! first PTS minus that anchor, and `pts_start` keeps the source's own time. Frame rate and
//! audio tracks are probed once per event for its `event` record.
//!
//! - [`chunks`]: [`ChunkIngest`], which times chunks and numbers them, and the directory
//!   source.
//! - [`convert`]: a recording whose codecs MPEG-TS chunks cannot hold, converted once to
//!   H.264/AAC with a keyframe at every chunk boundary.
//! - [`hls_reader`]: a source's HLS media playlists, read once (VOD) or followed while they
//!   grow (live).
//! - [`probe`](mod@probe): what a media file holds (streams, frame rate, first and last time).
//! - [`split`]: one recording cut into chunks at keyframes, without re-encoding.

pub mod chunks;
pub mod convert;
pub mod hls_reader;
pub mod probe;
pub mod split;

use std::path::PathBuf;

use ffmpeg_next as ffmpeg;

pub use chunks::{Chunk, ChunkIngest};
pub use probe::{probe, MediaInfo, VideoInfo};

/// Why a media file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// FFmpeg's libraries could not be initialised.
    #[error("cannot initialise FFmpeg: {0}")]
    Init(ffmpeg::Error),
    /// The file is not there.
    #[error("{path:?} does not exist")]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// FFmpeg cannot open or read it as media.
    #[error("{path:?} is not readable media: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// FFmpeg's error.
        source: ffmpeg::Error,
    },
    /// FFmpeg has no decoder for one of the streams it would use.
    #[error("{path:?} cannot be decoded: this FFmpeg has no decoder for its {stream} ({codec}); convert it with the tool that made it, or leave that stream out")]
    NoDecoder {
        /// The file.
        path: PathBuf,
        /// Which stream: `video stream`, `audio track 2`.
        stream: String,
        /// Its codec, as [`probe::codec_description`] names it.
        codec: String,
    },
    /// It has neither a video nor an audio stream.
    #[error("{path:?} has no video or audio stream")]
    NoStreams {
        /// The file.
        path: PathBuf,
    },
    /// Its timing stream (its video, or its audio when it has no video) has no packets with
    /// timestamps.
    #[error("{path:?} has no timed frames")]
    NoFrames {
        /// The file.
        path: PathBuf,
    },
    /// A folder or playlist could not be read.
    #[error("cannot read {path:?}: {source}")]
    Io {
        /// The folder or playlist.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A folder holds no `.ts` or `.mp4` chunks.
    #[error("{path:?} holds no .ts or .mp4 chunks")]
    NoChunks {
        /// The folder.
        path: PathBuf,
    },
}

/// Initialises FFmpeg, and silences its log: the analysis filters log every frame, and
/// damaged media is reported as error values that name the file instead.
pub fn init() -> Result<(), MediaError> {
    ffmpeg::init().map_err(MediaError::Init)?;
    ffmpeg::log::set_level(ffmpeg::log::Level::Fatal);
    Ok(())
}
