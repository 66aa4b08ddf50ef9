//! Rendering: ranges of event time in, video files out (SEMANTICS §6, "Video").
//!
//! Every function here takes the event's chunks (`reeltime_schemas::record::Chunk`: where the
//! media is, the event time of its first frame and its length) and ranges of event time in
//! milliseconds, reads the chunks in-process with FFmpeg's libraries, and writes files. What
//! it returns says what was produced, including the bounds that were actually cut, which
//! differ from the requested ones when cutting without re-encoding.
//!
//! - [`cut`]: one clip of a range: stream copy to MP4 (in-point snapped to the keyframe at or
//!   before it) or frame-accurate re-encode, optionally also as HLS segments, and its
//!   thumbnail; outputs are named from their content so rendering again is free.
//! - [`replay`]: a replay (an ordered list of ranges) re-encoded per resolution, with fades,
//!   as MP4 and/or HLS VOD with a master playlist; a newer version can cancel an older one.
//!
//! The helpers below them: `source` reads chunks as one event-time timeline, `mux` writes
//! MP4 files and HLS segments, `encode` decodes, filters and encodes, and `thumbnail` makes
//! JPEGs.
//!
//! Contract: outputs are written under temporary names and renamed into place, so a reader
//! never sees half a file; a render that fails or is cancelled leaves no output behind.

pub mod cut;
mod encode;
pub(crate) mod fingerprint;
pub(crate) mod mux;
pub mod replay;
mod source;
mod thumbnail;

use std::fmt;
use std::path::PathBuf;
use std::sync::Once;

use thiserror::Error;

pub use cut::{render_clip, ClipOptions, CutMode, EncodeSettings, RenderedClip};
pub use replay::{
    render_replay, Cancel, Framing, RenderedRendition, RenderedReplay, ReplayOptions, Resolution,
    SOUND_ONLY,
};

/// A range of event time, `[start_ms, end_ms)`, in milliseconds from the event's first frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventRange {
    /// In-point in milliseconds.
    pub start_ms: u64,
    /// Out-point in milliseconds (exclusive).
    pub end_ms: u64,
}

impl EventRange {
    /// The range `[start_ms, end_ms)`.
    pub fn new(start_ms: u64, end_ms: u64) -> EventRange {
        EventRange { start_ms, end_ms }
    }

    /// Its length in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

impl fmt::Display for EventRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} ms, {} ms)", self.start_ms, self.end_ms)
    }
}

/// Why a render failed.
#[derive(Debug, Error)]
pub enum RenderError {
    /// A range that is empty or reversed.
    #[error("range {range} is empty: the out-point must be after the in-point")]
    EmptyRange {
        /// The range.
        range: EventRange,
    },
    /// No chunks were given.
    #[error("no chunks to render {range} from")]
    NoChunks {
        /// The range asked for.
        range: EventRange,
    },
    /// The chunks do not cover the range.
    #[error("range {range} is not covered by the chunks, which cover [{covered_start_ms} ms, {covered_end_ms} ms)")]
    NotCovered {
        /// The range asked for.
        range: EventRange,
        /// Event time of the first chunk's first frame.
        covered_start_ms: u64,
        /// Event time of the last chunk's end.
        covered_end_ms: u64,
    },
    /// Two chunks that follow each other leave a hole in event time.
    #[error("chunks {before} and {after} are not consecutive: {gap_ms} ms of event time is missing between them")]
    Gap {
        /// Sequence number of the earlier chunk.
        before: u64,
        /// Sequence number of the later chunk.
        after: u64,
        /// The hole in milliseconds.
        gap_ms: u64,
    },
    /// A chunk that is missing, unreadable, corrupt, truncated or unlike its neighbours.
    #[error("chunk {seq_no} ({uri:?}): {problem}")]
    Chunk {
        /// Its sequence number.
        seq_no: u64,
        /// Where it was read from.
        uri: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A chunk whose codec parameters differ from the first chunk's, so their packets cannot
    /// share one stream without re-encoding.
    #[error("chunk {seq_no} ({uri:?}) cannot be joined to the chunks before it: {problem}")]
    Incompatible {
        /// Its sequence number.
        seq_no: u64,
        /// Where it was read from.
        uri: String,
        /// What differs.
        problem: String,
    },
    /// The requested options cannot be used.
    #[error("invalid render options: {0}")]
    Options(String),
    /// Writing an output failed.
    #[error("cannot write {path:?}: {problem}")]
    Output {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// An encoder or filter failed.
    #[error("{stage} failed: {source}")]
    Codec {
        /// What was being done.
        stage: &'static str,
        /// FFmpeg's error.
        source: ffmpeg_next::Error,
    },
    /// A newer version superseded this render, which stopped and left nothing behind.
    #[error("render cancelled")]
    Cancelled,
}

impl RenderError {
    fn codec(stage: &'static str) -> impl FnOnce(ffmpeg_next::Error) -> RenderError {
        move |source| RenderError::Codec { stage, source }
    }

    fn output(path: &std::path::Path) -> impl FnOnce(String) -> RenderError + '_ {
        move |problem| RenderError::Output { path: path.to_owned(), problem }
    }
}

/// Initialises FFmpeg once per process, with its log quiet: problems come back as errors.
fn init_ffmpeg() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Initialisation only registers devices on FFmpeg 5; nothing useful can fail here.
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Fatal);
    });
}
