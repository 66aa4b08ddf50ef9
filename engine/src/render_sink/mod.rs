//! The render sink: segment clips, event playlists and replay videos, made from the views
//! as they change, on threads beside the dataflow (SEMANTICS §6, "Video").
//!
//! After every closed epoch the owner of the read model hands the sink what changed
//! ([`RenderSink::plan`]); the sink reads the views and the events' chunks from the read model
//! (it keeps no copy of the inputs, so it follows corrections and deletes as the views do),
//! decides what to render and queues it; finished renders come back through
//! [`RenderSink::poll`] (or [`RenderSink::finish`], which waits for all of them), which also
//! makes their notifications. The views' documents get what was rendered from
//! [`RenderSink::segment_clips`], [`RenderSink::replay_rendered`] and
//! [`RenderSink::event_playlists`].
//!
//! - **Clips.** Every complete segment is cut on every track of its event: its own bounds,
//!   and its optimized bounds when it has them, each an MP4 with a thumbnail and HLS segments,
//!   into `events/<event>/clips/`. A clip waits until the event's chunks reach its out-point;
//!   it fails, with the reason in the segment view and a `clip_failed` notification, when a
//!   chunk it needs is damaged or the event ended before the chunks reached it (then it is
//!   tried again if more chunks come). When the
//!   bounds change the clip is cut again; outputs are named from their content, so nothing
//!   is cut twice.
//! - **Event playlists.** Per event and track, `events/<event>/event-<track>.m3u8` grows by
//!   each segment's clip once it is settled: its optimized clip when the profile has an
//!   optimizer (its original one when the event ends without an optimization), its original
//!   one otherwise. A segment enters once, in the order clips finish; the playlist ends
//!   (`#EXT-X-ENDLIST`) when the event has ended and no clip of it is pending.
//! - **Replays.** A replay whose record has a `render` object is rendered whenever its list
//!   of clip bounds changes; a newer list cancels the render of an older one.
//! - **Chunks.** A `chunk` record with an `error` is a failed chunk: it is listed in the
//!   event view and notified (`chunk_failed`).
//!
//! What to render, wait for, fail or try again, which renders are superseded and when a
//! playlist takes a clip or ends are plain functions in `decisions`, tested on their own;
//! this module acts on them. Failures are a [`RenderFailure`], made text only where a view,
//! a notification or a warning is written. `jobs` and `pool` run the renders with
//! FFmpeg on threads; [`settings`] holds the engine's render settings and a replay's `render`
//! object.

mod decisions;
pub mod failure;
mod jobs;
mod pool;
pub mod settings;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;

use anyhow::{Context, Result};

use reeltime_connectors::hls_writer::{write_playlist, EventPlaylist, HlsSegment};
use reeltime_connectors::output_dir::path_component;
use reeltime_connectors::render::{Cancel, EventRange, RenderedClip, RenderedReplay};
use reeltime_operators::read_model::{Changes, ReadModel};
use reeltime_schemas::document::{
    FailedChunkDoc, NotificationDoc, RenderStatus, RenderedClipDoc, RenderedReplayDoc,
    RenditionDoc, TrackClipsDoc,
};
use reeltime_schemas::record::{Chunk, EventStatus};
use reeltime_schemas::time::Seconds;
use reeltime_schemas::view::{EventView, ReplayView};

use decisions::{
    clip_action, clip_render_current, clip_superseded, playlist_takes, replay_action,
    replay_failure_news, replay_replanned, replay_start, settle, ChunkIndex, ClipAction, ClipState,
    ReplayAction, ReplayStart, ReplayStatus,
};
pub use failure::RenderFailure;
use jobs::{Bounds, ClipJob, ClipKey, Outcome, RenderJob, ReplayJob, ReplayRequest};
use pool::Pool;
pub use settings::RenderConfig;

/// Where a replay's rendering is.
struct ReplayState {
    event_id: String,
    request: ReplayRequest,
    /// The version that first asked for this clip list.
    version: u64,
    status: ReplayStatus,
}

/// An event's growing playlist on one track.
struct Playlist {
    playlist: EventPlaylist,
    /// The segments (by start) whose clip is in it.
    added: BTreeSet<u64>,
    ended: bool,
}

/// How many renders ended which way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Clips cut.
    pub clips: u64,
    /// Clips that could not be cut.
    pub failed_clips: u64,
    /// Replay versions rendered.
    pub replays: u64,
    /// Replay versions that could not be rendered.
    pub failed_replays: u64,
}

/// Renders what the views ask for; see the module documentation.
pub struct RenderSink {
    root: PathBuf,
    config: RenderConfig,
    progress: bool,
    clips: BTreeMap<ClipKey, ClipState>,
    replays: BTreeMap<String, ReplayState>,
    playlists: BTreeMap<(String, u32), Playlist>,
    clip_pool: Pool<RenderJob>,
    replay_pool: Pool<RenderJob>,
    /// Behind a lock only so that the documents can be written from several threads.
    outcomes: Mutex<Receiver<Outcome>>,
    in_flight: usize,
    notifications: Vec<NotificationDoc>,
    changed_segments: BTreeSet<(String, u64)>,
    changed_replays: BTreeSet<String>,
    rendered: Rendered,
}

impl RenderSink {
    /// A sink writing under the output directory `root`.
    pub fn new(root: &Path, config: RenderConfig, progress: bool) -> Result<Self> {
        config.validate().map_err(anyhow::Error::msg)?;
        let (sender, outcomes) = channel();
        // Two pools, so that a long replay render never holds up the clips of the live edge.
        let clip_pool = Pool::new("render-clips", config.clip_workers, sender.clone())
            .context("starting the clip render threads")?;
        let replay_pool = Pool::new("render-replays", config.replay_workers, sender)
            .context("starting the replay render threads")?;
        Ok(RenderSink {
            root: root.to_owned(),
            config,
            progress,
            clips: BTreeMap::new(),
            replays: BTreeMap::new(),
            playlists: BTreeMap::new(),
            clip_pool,
            replay_pool,
            outcomes: Mutex::new(outcomes),
            in_flight: 0,
            notifications: Vec::new(),
            changed_segments: BTreeSet::new(),
            changed_replays: BTreeSet::new(),
            rendered: Rendered::default(),
        })
    }

    /// Decides what to render after epoch `epoch` changed the views of `model` by `changes`,
    /// and queues it.
    pub fn plan(&mut self, epoch: u64, model: &ReadModel, changes: &Changes) -> Result<()> {
        for chunk in &changes.failed_chunks {
            let reason = chunk.error.as_deref().unwrap_or_default();
            self.notifications.push(NotificationDoc::ChunkFailed {
                epoch,
                event_id: chunk.event_id.clone(),
                chunk: failed_chunk(chunk, reason),
            });
        }
        let fresh = &changes.chunk_events;
        let mut events = fresh.clone();
        events.extend(changes.events.iter().cloned());
        let mut touched: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
        for (event_id, start_ms) in &changes.segments {
            touched.entry(event_id).or_default().insert(*start_ms);
        }
        for event_id in &events {
            // New chunks or a changed event (its status, its tracks) concern every clip of
            // the event; otherwise only the clips of the segments that changed.
            let whole = fresh.contains(event_id) || changes.event_views.contains(event_id);
            let only = (!whole).then(|| touched.remove(event_id.as_str()).unwrap_or_default());
            self.plan_event(epoch, model, event_id, fresh.contains(event_id), only)?;
        }
        let mut replays: BTreeSet<String> = changes.replays.clone();
        replays.extend(
            self.replays
                .iter()
                .filter(|(_, r)| {
                    let touched = events.contains(&r.event_id);
                    replay_replanned(&r.status, touched, fresh.contains(&r.event_id))
                })
                .map(|(id, _)| id.clone()),
        );
        for replay_id in &replays {
            self.plan_replay(epoch, model, replay_id);
        }
        Ok(())
    }

    /// Takes in the renders that have finished, without waiting.
    pub fn poll(&mut self, model: &ReadModel) -> Result<()> {
        while let Ok(outcome) = self.receiver().try_recv() {
            self.take(model, outcome)?;
        }
        Ok(())
    }

    /// Waits for every queued render to finish and takes it in.
    pub fn finish(&mut self, model: &ReadModel) -> Result<()> {
        if self.progress && self.in_flight > 0 {
            eprintln!("waiting for {} renders to finish", self.in_flight);
        }
        while self.in_flight > 0 {
            let outcome = self.receiver().recv().context("the render threads stopped")?;
            self.take(model, outcome)?;
        }
        let ended: Vec<String> =
            model.event_ids().into_iter().filter(|id| event_ended(model, id)).collect();
        for event_id in ended {
            self.settle_event(&event_id)?;
        }
        Ok(())
    }

    fn receiver(&mut self) -> &mut Receiver<Outcome> {
        self.outcomes.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Renders queued or running.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// How many renders ended which way so far.
    pub fn rendered(&self) -> Rendered {
        self.rendered
    }

    /// The notifications made since the last call.
    pub fn take_notifications(&mut self) -> Vec<NotificationDoc> {
        std::mem::take(&mut self.notifications)
    }

    /// The segments and replays whose rendering changed since the last call.
    pub fn take_changed(&mut self) -> (BTreeSet<(String, u64)>, BTreeSet<String>) {
        (std::mem::take(&mut self.changed_segments), std::mem::take(&mut self.changed_replays))
    }

    /// Cancels every replay render in progress (the engine is stopping).
    pub fn cancel_replays(&self) {
        for state in self.replays.values() {
            if let ReplayStatus::Rendering(cancel) = &state.status {
                cancel.cancel();
            }
        }
    }

    /// The rendered clips of a segment, per track.
    pub fn segment_clips(&self, event_id: &str, start_ms: u64) -> BTreeMap<String, TrackClipsDoc> {
        let mut tracks: BTreeMap<String, TrackClipsDoc> = BTreeMap::new();
        let from =
            ClipKey { event_id: event_id.to_owned(), start_ms, track: 0, bounds: Bounds::Original };
        for (key, state) in self.clips.range(from..) {
            if key.event_id != event_id || key.start_ms != start_ms {
                break;
            }
            let doc = tracks.entry(key.track.to_string()).or_default();
            match state {
                ClipState::Done(_, clip) => {
                    let clip = Some(self.clip_doc(clip));
                    match key.bounds {
                        Bounds::Original => doc.original = clip,
                        Bounds::Optimized => doc.optimized = clip,
                    }
                }
                ClipState::Failed(_, failure) => {
                    let reason = format!("{} clip: {failure}", key.bounds.as_str());
                    doc.error = Some(match doc.error.take() {
                        Some(earlier) => format!("{earlier}; {reason}"),
                        None => reason,
                    });
                }
                ClipState::Waiting(_) | ClipState::Rendering(_) => {}
            }
        }
        tracks.retain(|_, doc| {
            doc.original.is_some() || doc.optimized.is_some() || doc.error.is_some()
        });
        tracks
    }

    /// The rendering of a replay's current clip list, when it asks for one.
    pub fn replay_rendered(&self, replay_id: &str) -> Option<RenderedReplayDoc> {
        let state = self.replays.get(replay_id)?;
        let (status, error) = match &state.status {
            ReplayStatus::Waiting => (RenderStatus::Waiting, None),
            ReplayStatus::Rendering(_) => (RenderStatus::Rendering, None),
            ReplayStatus::Failed(failure) => (RenderStatus::Failed, Some(failure.to_string())),
            ReplayStatus::Done(replay) => return Some(self.replay_doc(state.version, replay)),
        };
        Some(RenderedReplayDoc {
            version: state.version,
            status,
            error,
            duration: None,
            master: None,
            thumbnail: None,
            renditions: Vec::new(),
        })
    }

    /// An event's playlists (per track) and failed chunks.
    pub fn event_playlists(&self, event_id: &str) -> BTreeMap<String, String> {
        self.event_playlist_keys(event_id)
            .map(|(id, track)| (track.to_string(), self.relative(&self.playlist_path(id, *track))))
            .collect()
    }

    /// Plans the clips of `event_id`, or only those of the segments starting at `only`;
    /// `fresh` when chunks of it arrived since the last plan.
    fn plan_event(
        &mut self,
        epoch: u64,
        model: &ReadModel,
        event_id: &str,
        fresh: bool,
        only: Option<BTreeSet<u64>>,
    ) -> Result<()> {
        let Some(event) = model.event_view(event_id) else {
            // Unknown (or deleted): nothing to cut until the event record says which tracks; an
            // event made again under the same id starts new playlists.
            let gone: Vec<ClipKey> = self.event_clips(event_id).map(|(k, _)| k.clone()).collect();
            for key in gone {
                self.clips.remove(&key);
            }
            let tracks: Vec<u32> = self.event_playlist_keys(event_id).map(|(_, t)| *t).collect();
            for track in tracks {
                self.playlists.remove(&(event_id.to_owned(), track));
            }
            return Ok(());
        };
        let tracks = tracks_of(&event);
        let ended = event.status == EventStatus::Ended;
        let mut wanted: BTreeMap<ClipKey, EventRange> = BTreeMap::new();
        let segments = match &only {
            Some(starts) => model.segment_bounds_at(event_id, starts.iter().copied()),
            None => model.segment_bounds(event_id),
        };
        for segment in segments {
            let (start_ms, Some(end_ms)) = (segment.start_ms, segment.complete_end_ms) else {
                continue;
            };
            for &track in &tracks {
                let key =
                    |bounds| ClipKey { event_id: event_id.to_owned(), start_ms, track, bounds };
                wanted.insert(key(Bounds::Original), EventRange::new(start_ms, end_ms));
                if let Some(opto) = segment.optimizations.get(&track) {
                    wanted.insert(
                        key(Bounds::Optimized),
                        EventRange::new(opto.opto_start_ms, opto.opto_end_ms),
                    );
                }
            }
        }
        let considered = |key: &ClipKey| only.as_ref().is_none_or(|s| s.contains(&key.start_ms));
        let stale: Vec<ClipKey> = self
            .event_clips(event_id)
            .filter(|(key, state)| considered(key) && clip_superseded(state, wanted.get(*key)))
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            self.changed_segments.insert((key.event_id.clone(), key.start_ms));
            self.clips.remove(&key);
        }
        // What to do with each clip, with the chunks indexed once.
        let index = ChunkIndex::new(model.chunks(event_id));
        let actions: Vec<(ClipKey, EventRange, ClipAction)> = wanted
            .into_iter()
            .map(|(key, range)| {
                let action = clip_action(self.clips.get(&key), fresh, &index, range, ended);
                (key, range, action)
            })
            .collect();
        for (key, range, action) in actions {
            match action {
                ClipAction::Keep => {}
                ClipAction::Wait => {
                    self.clips.insert(key, ClipState::Waiting(range));
                }
                ClipAction::Fail(failure) => self.clip_failed(epoch, key, range, failure),
                ClipAction::Render(chunks) => {
                    let dir = self.root.join("events").join(path_component(event_id)).join("clips");
                    self.clips.insert(key.clone(), ClipState::Rendering(range));
                    self.clip_pool.submit(RenderJob::Clip(ClipJob {
                        key,
                        range,
                        epoch,
                        chunks,
                        dir,
                        options: self.config.clip_options(),
                    }));
                    self.in_flight += 1;
                }
            }
        }
        if ended {
            self.settle_event(event_id)?;
        }
        Ok(())
    }

    fn plan_replay(&mut self, epoch: u64, model: &ReadModel, replay_id: &str) {
        let wanted = model.replay_view(replay_id).and_then(|view| {
            let request = ReplayRequest {
                clips: view
                    .clips
                    .iter()
                    .map(|c| EventRange::new(c.clip_start_ms, c.clip_end_ms))
                    .collect(),
                track: view.track,
                render: view.render.clone(),
            };
            (!request.clips.is_empty() && !request.render.is_empty()).then_some((view, request))
        });
        let Some((view, request)) = wanted else {
            if let Some(state) = self.replays.remove(replay_id) {
                if let ReplayStatus::Rendering(cancel) = state.status {
                    cancel.cancel();
                }
                self.changed_replays.insert(replay_id.to_owned());
            }
            return;
        };
        let current = self.replays.get(replay_id);
        let ReplayAction::Start { same_request, was_late } =
            replay_action(current.map(|s| (&s.request, &s.status)), &request)
        else {
            return;
        };
        if let Some(ReplayStatus::Rendering(cancel)) = current.map(|s| &s.status) {
            cancel.cancel();
        }
        let version = match current {
            Some(state) if same_request => state.version,
            _ => model.version(replay_id).unwrap_or_default(),
        };
        self.changed_replays.insert(replay_id.to_owned());
        let status = self.start_replay(epoch, model, &view, &request);
        if let Some(failure) = replay_failure_news(&status, was_late) {
            self.rendered.failed_replays += 1;
            self.notifications.push(NotificationDoc::ReplayRenderFailed {
                epoch,
                replay_id: replay_id.to_owned(),
                event_id: view.event_id.clone(),
                version,
                reason: failure.to_string(),
            });
        }
        self.replays.insert(
            replay_id.to_owned(),
            ReplayState { event_id: view.event_id.clone(), request, version, status },
        );
    }

    /// Queues the render of `request`, or says why it waits or fails.
    fn start_replay(
        &mut self,
        epoch: u64,
        model: &ReadModel,
        view: &ReplayView,
        request: &ReplayRequest,
    ) -> ReplayStatus {
        let ended = event_ended(model, &view.event_id);
        let index = ChunkIndex::new(model.chunks(&view.event_id));
        let (chunks, options) = match replay_start(request, &index, ended) {
            ReplayStart::Render { chunks, options } => (chunks, options),
            ReplayStart::Wait => return ReplayStatus::Waiting,
            ReplayStart::Fail(failure) => return ReplayStatus::Failed(failure),
        };
        let cancel = Cancel::new();
        self.replay_pool.submit(RenderJob::Replay(ReplayJob {
            replay_id: view.replay_id.clone(),
            request: request.clone(),
            epoch,
            chunks,
            dir: self.root.join("replays").join(path_component(&view.replay_id)),
            options,
            cancel: cancel.clone(),
        }));
        self.in_flight += 1;
        ReplayStatus::Rendering(cancel)
    }

    fn take(&mut self, model: &ReadModel, outcome: Outcome) -> Result<()> {
        self.in_flight -= 1;
        match outcome {
            Outcome::Clip { key, range, epoch, result, elapsed } => {
                if !clip_render_current(self.clips.get(&key), range) {
                    return Ok(());
                }
                match result {
                    Ok(clip) => {
                        if self.progress {
                            eprintln!(
                                "rendered {} clip {} of {} on track {} in {:.2} s: {}",
                                key.bounds.as_str(),
                                range,
                                key.event_id,
                                key.track,
                                elapsed.as_secs_f64(),
                                clip.mp4.as_deref().map(|p| self.relative(p)).unwrap_or_default()
                            );
                        }
                        self.rendered.clips += 1;
                        self.notifications.push(NotificationDoc::ClipRendered {
                            epoch,
                            event_id: key.event_id.clone(),
                            start: Seconds(key.start_ms),
                            track: key.track,
                            bounds: key.bounds.as_str().to_owned(),
                            clip: self.clip_doc(&clip),
                        });
                        self.changed_segments.insert((key.event_id.clone(), key.start_ms));
                        let event_id = key.event_id.clone();
                        self.clips.insert(key.clone(), ClipState::Done(range, Box::new(clip)));
                        self.add_to_playlist(model, &key)?;
                        if event_ended(model, &event_id) {
                            self.settle_event(&event_id)?;
                        }
                    }
                    Err(failure) => self.clip_failed(epoch, key, range, failure),
                }
            }
            Outcome::Replay { replay_id, request, epoch, result, elapsed } => {
                let Some(state) = self.replays.get_mut(&replay_id).filter(|s| s.request == request)
                else {
                    return Ok(());
                };
                let Some(result) = result else { return Ok(()) };
                self.changed_replays.insert(replay_id.clone());
                match result {
                    Ok(replay) => {
                        let version = state.version;
                        let event_id = state.event_id.clone();
                        let rendered = self.replay_doc(version, &replay);
                        if let Some(state) = self.replays.get_mut(&replay_id) {
                            state.status = ReplayStatus::Done(Box::new(replay));
                        }
                        if self.progress {
                            eprintln!(
                                "rendered replay {replay_id} version {version} ({} s) in {:.1} s",
                                rendered.duration.map(|d| d.to_string()).unwrap_or_default(),
                                elapsed.as_secs_f64()
                            );
                        }
                        self.rendered.replays += 1;
                        self.notifications.push(NotificationDoc::ReplayRendered {
                            epoch,
                            replay_id,
                            event_id,
                            rendered,
                        });
                    }
                    Err(failure) => {
                        let reason = failure.to_string();
                        eprintln!("warning: replay {replay_id} version {} could not be rendered: {reason}", state.version);
                        state.status = ReplayStatus::Failed(failure);
                        self.rendered.failed_replays += 1;
                        self.notifications.push(NotificationDoc::ReplayRenderFailed {
                            epoch,
                            replay_id,
                            event_id: state.event_id.clone(),
                            version: state.version,
                            reason,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn clip_failed(&mut self, epoch: u64, key: ClipKey, range: EventRange, failure: RenderFailure) {
        let reason = failure.to_string();
        eprintln!(
            "warning: the {} clip {range} of {} on track {} could not be rendered: {reason}",
            key.bounds.as_str(),
            key.event_id,
            key.track
        );
        self.rendered.failed_clips += 1;
        self.notifications.push(NotificationDoc::ClipFailed {
            epoch,
            event_id: key.event_id.clone(),
            start: Seconds(key.start_ms),
            track: key.track,
            bounds: key.bounds.as_str().to_owned(),
            reason,
        });
        self.changed_segments.insert((key.event_id.clone(), key.start_ms));
        self.clips.insert(key, ClipState::Failed(range, failure));
    }

    /// Adds a finished clip to its event's playlist when it is the one the playlist takes.
    fn add_to_playlist(&mut self, model: &ReadModel, key: &ClipKey) -> Result<()> {
        let has_optimizer = model.event_view(&key.event_id).is_some_and(|e| e.has_optimizer);
        if playlist_takes(key.bounds, has_optimizer) {
            self.append(key)?;
        }
        Ok(())
    }

    fn append(&mut self, key: &ClipKey) -> Result<()> {
        let Some(ClipState::Done(_, clip)) = self.clips.get(key) else { return Ok(()) };
        let segments: Vec<HlsSegment> = clip
            .hls_segments
            .iter()
            .map(|s| HlsSegment { uri: format!("clips/{}", s.uri), duration_ms: s.duration_ms })
            .collect();
        let target = self.config.playlist_target_seconds;
        let playlist =
            self.playlists.entry((key.event_id.clone(), key.track)).or_insert_with(|| Playlist {
                playlist: EventPlaylist::new(target),
                added: BTreeSet::new(),
                ended: false,
            });
        if playlist.ended || playlist.added.contains(&key.start_ms) {
            return Ok(());
        }
        if let Err(error) = playlist.playlist.add_clip(segments) {
            eprintln!(
                "warning: the {} clip of {} at {} s stays out of the event playlist: {error}",
                key.bounds.as_str(),
                key.event_id,
                Seconds(key.start_ms)
            );
            return Ok(());
        }
        playlist.added.insert(key.start_ms);
        self.write_playlist(&key.event_id, key.track)
    }

    /// When an ended event has no clip pending: adds the clips that never got optimized
    /// bounds, and ends the playlists.
    fn settle_event(&mut self, event_id: &str) -> Result<()> {
        let Some(unsettled) = settle(self.event_clips(event_id)) else { return Ok(()) };
        for key in unsettled {
            self.append(&key)?;
        }
        let open: Vec<u32> = self
            .playlists
            .range_mut((event_id.to_owned(), 0)..=(event_id.to_owned(), u32::MAX))
            .filter(|(_, playlist)| !playlist.ended)
            .map(|((_, track), playlist)| {
                playlist.ended = true;
                playlist.playlist.end();
                *track
            })
            .collect();
        for track in open {
            self.write_playlist(event_id, track)?;
        }
        Ok(())
    }

    /// The clips of one event, by segment, track and bounds.
    fn event_clips<'a>(
        &'a self,
        event_id: &'a str,
    ) -> impl Iterator<Item = (&'a ClipKey, &'a ClipState)> + 'a {
        let from = ClipKey {
            event_id: event_id.to_owned(),
            start_ms: 0,
            track: 0,
            bounds: Bounds::Original,
        };
        self.clips.range(from..).take_while(move |(key, _)| key.event_id == event_id)
    }

    /// The `(event, track)` keys of one event's playlists.
    fn event_playlist_keys(&self, event_id: &str) -> impl Iterator<Item = &(String, u32)> {
        self.playlists
            .range((event_id.to_owned(), 0)..=(event_id.to_owned(), u32::MAX))
            .map(|(k, _)| k)
    }

    fn write_playlist(&self, event_id: &str, track: u32) -> Result<()> {
        let Some(playlist) = self.playlists.get(&(event_id.to_owned(), track)) else {
            return Ok(());
        };
        let path = self.playlist_path(event_id, track);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {dir:?}"))?;
        }
        write_playlist(&path, &playlist.playlist.to_m3u8())
            .with_context(|| format!("writing the event playlist {path:?}"))
    }

    fn playlist_path(&self, event_id: &str, track: u32) -> PathBuf {
        self.root.join("events").join(path_component(event_id)).join(format!("event-{track}.m3u8"))
    }

    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).to_string_lossy().into_owned()
    }

    fn clip_doc(&self, clip: &RenderedClip) -> RenderedClipDoc {
        RenderedClipDoc {
            requested_start: Seconds(clip.requested.start_ms),
            requested_end: Seconds(clip.requested.end_ms),
            start: Seconds(clip.actual.start_ms),
            end: Seconds(clip.actual.end_ms),
            mp4: clip.mp4.as_deref().map(|p| self.relative(p)).unwrap_or_default(),
            thumbnail: clip.thumbnail.as_deref().map(|p| self.relative(p)),
            reencoded: clip.reencoded,
        }
    }

    fn replay_doc(&self, version: u64, replay: &RenderedReplay) -> RenderedReplayDoc {
        RenderedReplayDoc {
            version,
            status: RenderStatus::Rendered,
            error: None,
            duration: Some(Seconds(replay.duration_ms)),
            master: replay.master.as_deref().map(|p| self.relative(p)),
            thumbnail: replay.thumbnail.as_deref().map(|p| self.relative(p)),
            renditions: replay
                .renditions
                .iter()
                .map(|r| RenditionDoc {
                    resolution: r.resolution.clone(),
                    width: r.width,
                    height: r.height,
                    mp4: r.mp4.as_deref().map(|p| self.relative(p)),
                    playlist: r.playlist.as_deref().map(|p| self.relative(p)),
                })
                .collect(),
        }
    }
}

/// The tracks clips are cut for: the event's audio tracks, or track 1 without audio.
fn tracks_of(event: &EventView) -> Vec<u32> {
    if event.audio_tracks.is_empty() {
        vec![1]
    } else {
        event.audio_tracks.clone()
    }
}

/// Whether the event has a live view that says it has ended.
fn event_ended(model: &ReadModel, event_id: &str) -> bool {
    model.event_view(event_id).is_some_and(|e| e.status == EventStatus::Ended)
}

/// A chunk that cannot be used, as the event document lists it.
pub fn failed_chunk(chunk: &Chunk, reason: &str) -> FailedChunkDoc {
    FailedChunkDoc {
        seq_no: chunk.seq_no,
        uri: chunk.uri.clone(),
        start: Seconds(chunk.start_ms),
        reason: reason.to_owned(),
    }
}
