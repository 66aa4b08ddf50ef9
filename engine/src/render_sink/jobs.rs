//! The two kinds of render job and what they come back with.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reeltime_connectors::render::{
    render_clip, render_replay, Cancel, ClipOptions, EventRange, RenderError, RenderedClip,
    RenderedReplay, ReplayOptions,
};
use reeltime_schemas::record::Chunk;

use super::failure::RenderFailure;
use super::pool::Job;

/// Which bounds of a segment a clip holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bounds {
    /// The segment's own start and end.
    Original,
    /// The optimizer's bounds on the track.
    Optimized,
}

impl Bounds {
    /// `original` or `optimized`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bounds::Original => "original",
            Bounds::Optimized => "optimized",
        }
    }
}

/// One clip of one segment: `(event_id, segment start, track, bounds)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClipKey {
    /// The event.
    pub event_id: String,
    /// The segment's start in milliseconds.
    pub start_ms: u64,
    /// The audio track.
    pub track: u32,
    /// Which bounds.
    pub bounds: Bounds,
}

/// The clip list of a replay to render, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayRequest {
    /// The clips' ranges, in replay order.
    pub clips: Vec<EventRange>,
    /// The audio track.
    pub track: u32,
    /// The replay record's `render` object (canonical JSON).
    pub render: String,
}

/// A finished render.
pub enum Outcome {
    /// A clip.
    Clip {
        /// Which.
        key: ClipKey,
        /// The range it was asked for.
        range: EventRange,
        /// The epoch whose views asked for it.
        epoch: u64,
        /// The clip, or why not.
        result: Result<RenderedClip, RenderFailure>,
        /// How long it took.
        elapsed: Duration,
    },
    /// A replay.
    Replay {
        /// Which.
        replay_id: String,
        /// What was asked for.
        request: ReplayRequest,
        /// The epoch whose views asked for it.
        epoch: u64,
        /// The replay, or why not; `None` when a newer version cancelled it.
        result: Option<Result<RenderedReplay, RenderFailure>>,
        /// How long it took.
        elapsed: Duration,
    },
}

/// Renders one clip into its event's `clips` folder.
pub struct ClipJob {
    pub key: ClipKey,
    pub range: EventRange,
    pub epoch: u64,
    pub chunks: Vec<Chunk>,
    pub dir: PathBuf,
    pub options: ClipOptions,
}

/// Renders one version of a replay into its folder, unless cancelled first.
pub struct ReplayJob {
    pub replay_id: String,
    pub request: ReplayRequest,
    pub epoch: u64,
    pub chunks: Vec<Chunk>,
    pub dir: PathBuf,
    pub options: ReplayOptions,
    pub cancel: Cancel,
}

/// A clip or a replay job, so one pool type serves both.
pub enum RenderJob {
    Clip(ClipJob),
    Replay(ReplayJob),
}

impl Job for RenderJob {
    type Outcome = Outcome;

    fn run(self) -> Outcome {
        let started = Instant::now();
        match self {
            RenderJob::Clip(job) => {
                let result = render_clip(
                    &job.dir,
                    &job.key.event_id,
                    job.key.track,
                    &job.chunks,
                    job.range,
                    &job.options,
                )
                .map_err(RenderFailure::Render);
                Outcome::Clip {
                    key: job.key,
                    range: job.range,
                    epoch: job.epoch,
                    result,
                    elapsed: started.elapsed(),
                }
            }
            RenderJob::Replay(job) => {
                let result = if job.cancel.is_cancelled() {
                    None
                } else {
                    match render_replay(
                        &job.dir,
                        job.request.track,
                        &job.chunks,
                        &job.request.clips,
                        &job.options,
                        &job.cancel,
                    ) {
                        Err(RenderError::Cancelled) => None,
                        result => Some(result.map_err(RenderFailure::Render)),
                    }
                };
                Outcome::Replay {
                    replay_id: job.replay_id,
                    request: job.request,
                    epoch: job.epoch,
                    result,
                    elapsed: started.elapsed(),
                }
            }
        }
    }

    fn panicked(&self) -> Box<dyn FnOnce(String) -> Outcome + Send> {
        match self {
            RenderJob::Clip(job) => {
                let (key, range, epoch) = (job.key.clone(), job.range, job.epoch);
                Box::new(move |message| Outcome::Clip {
                    key,
                    range,
                    epoch,
                    result: Err(RenderFailure::Panicked(message)),
                    elapsed: Duration::ZERO,
                })
            }
            RenderJob::Replay(job) => {
                let (replay_id, request, epoch) =
                    (job.replay_id.clone(), job.request.clone(), job.epoch);
                Box::new(move |message| Outcome::Replay {
                    replay_id,
                    request,
                    epoch,
                    result: Some(Err(RenderFailure::Panicked(message))),
                    elapsed: Duration::ZERO,
                })
            }
        }
    }
}
