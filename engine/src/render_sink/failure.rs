//! Why a clip or a replay could not be rendered.
//!
//! The sink keeps failures typed; they become text only where a document or a notification
//! is written, and their messages are the ones the views, notifications and docs show.

use reeltime_connectors::render::{EventRange, RenderError};
use reeltime_schemas::time::Seconds;
use thiserror::Error;

/// Why a clip or a replay could not be rendered.
#[derive(Debug, Error)]
pub enum RenderFailure {
    /// A chunk the range needs was published with an error.
    #[error("chunk {seq_no} ({uri}) cannot be used: {reason}")]
    DamagedChunk {
        /// The chunk's number.
        seq_no: u64,
        /// Where its media is.
        uri: String,
        /// The error its record carries.
        reason: String,
    },
    /// The event ended before its chunks reached the end of the range; tried again if more
    /// chunks come.
    #[error(
        "the event ended with its chunks reaching {} s, before the clip's end at {} s",
        Seconds(*.covered_end_ms),
        Seconds(*.clip_end_ms)
    )]
    EndedBeforeChunks {
        /// Where the chunks reach in event time, in milliseconds.
        covered_end_ms: u64,
        /// The end of the range, in milliseconds.
        clip_end_ms: u64,
    },
    /// The event ended without a chunk; tried again if chunks come.
    #[error("the event ended without chunks")]
    NoChunks,
    /// One clip of a replay's list cannot be rendered.
    #[error("clip {range}: {failure}")]
    ReplayClip {
        /// The clip's range.
        range: EventRange,
        /// Why.
        failure: Box<RenderFailure>,
    },
    /// The replay's `render` object turns both outputs off.
    #[error("the replay's `render` asks for neither MP4 nor HLS")]
    NothingToRender,
    /// The replay's `render` object is invalid; the text names what is wrong.
    #[error("{0}")]
    ReplaySettings(String),
    /// FFmpeg could not render it.
    #[error(transparent)]
    Render(RenderError),
    /// The render panicked (a bug in a codec binding, say); the panic's message.
    #[error("the render failed unexpectedly: {0}")]
    Panicked(String),
}

impl RenderFailure {
    /// Whether the failure comes from the event ending before its chunks reached the range,
    /// so that more chunks can mend it.
    pub fn is_late(&self) -> bool {
        match self {
            RenderFailure::EndedBeforeChunks { .. } | RenderFailure::NoChunks => true,
            RenderFailure::ReplayClip { failure, .. } => failure.is_late(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_the_ones_the_views_and_notifications_show() {
        let damaged = RenderFailure::DamagedChunk {
            seq_no: 7,
            uri: "/media/chunk-00007.ts".into(),
            reason: "damaged media: a corrupt packet at 1.200 s".into(),
        };
        assert_eq!(
            damaged.to_string(),
            "chunk 7 (/media/chunk-00007.ts) cannot be used: damaged media: a corrupt packet at 1.200 s"
        );
        let ended = RenderFailure::EndedBeforeChunks { covered_end_ms: 8_000, clip_end_ms: 10_500 };
        assert_eq!(
            ended.to_string(),
            "the event ended with its chunks reaching 8 s, before the clip's end at 10.5 s"
        );
        assert_eq!(RenderFailure::NoChunks.to_string(), "the event ended without chunks");
        let in_replay = RenderFailure::ReplayClip {
            range: EventRange::new(4_000, 9_000),
            failure: Box::new(ended),
        };
        assert_eq!(
            in_replay.to_string(),
            "clip [4000 ms, 9000 ms): the event ended with its chunks reaching 8 s, before the clip's end at 10.5 s"
        );
        assert_eq!(
            RenderFailure::NothingToRender.to_string(),
            "the replay's `render` asks for neither MP4 nor HLS"
        );
        assert_eq!(
            RenderFailure::ReplaySettings("the replay's `render.resolutions` is empty".into())
                .to_string(),
            "the replay's `render.resolutions` is empty"
        );
        let range = EventRange::new(0, 0);
        assert_eq!(
            RenderFailure::Render(RenderError::EmptyRange { range }).to_string(),
            RenderError::EmptyRange { range }.to_string()
        );
        assert_eq!(
            RenderFailure::Panicked("index out of bounds".into()).to_string(),
            "the render failed unexpectedly: index out of bounds"
        );
    }

    #[test]
    fn only_an_event_ending_before_its_chunks_is_late() {
        let ended = || RenderFailure::EndedBeforeChunks { covered_end_ms: 1, clip_end_ms: 2 };
        assert!(ended().is_late());
        assert!(RenderFailure::NoChunks.is_late());
        let range = EventRange::new(0, 2);
        assert!(RenderFailure::ReplayClip { range, failure: Box::new(ended()) }.is_late());
        let damaged =
            RenderFailure::DamagedChunk { seq_no: 0, uri: String::new(), reason: String::new() };
        assert!(!damaged.is_late());
        assert!(!RenderFailure::ReplayClip { range, failure: Box::new(damaged) }.is_late());
        assert!(!RenderFailure::Panicked(String::new()).is_late());
    }
}
