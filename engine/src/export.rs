//! The exports of every event and replay (SEMANTICS §6), written from the read model beside
//! the views: CMX 3600 EDLs and the JSON exports.
//!
//! - `events/<event_id>/event-<track>.edl`: per track of the event (its `audio_tracks`, or
//!   track 1 for a video-only or unknown event), every complete segment with its clip bounds
//!   on that track, by clip start (then segment start).
//! - `replays/<replay_id>/replay.edl`: the replay's selection, in its order, at its event's
//!   frame rate.
//! - `events/<event_id>/export.json` and `replays/<replay_id>/export.json`:
//!   [`EventExportDoc`] and [`ReplayExportDoc`], with what the render sink made of their
//!   segments and replays when it runs.
//!
//! Timecode runs at the event's frame rate, or at 25 fps
//! ([`DEFAULT_FRAME_RATE_MILLI`]) when the event states none or is not known yet; it is
//! drop-frame only when [`ExportOptions::drop_frame`] is set and the rate is 29.97 or 59.94.
//! An EDL that cannot be written (a rate without timecode, a time beyond 24 hours) is left
//! out, and the export says why in `edl.error`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use reeltime_connectors::edl::{
    part_file_name, Channel, Edl, EdlClip, EdlError, FrameRate, TimecodeFormat,
    DEFAULT_FRAME_RATE_MILLI,
};
use reeltime_connectors::output_dir::{path_component, OutputDir};
use reeltime_operators::read_model::ReadModel;
use reeltime_operators::views::Views;
use reeltime_schemas::document::{ClipDoc, EventDoc};
use reeltime_schemas::export::{
    DetectionExportDoc, EdlFilesDoc, EventExportDoc, ProfileSummaryDoc, ReplayExportDoc,
    ReplaySettingsDoc, SegmentExportDoc,
};
use reeltime_schemas::record::{DeleteKind, Detection, Profile, Record, Replay, ReplayMode, Seq};
use reeltime_schemas::time::Seconds;
use reeltime_schemas::view::ReplayView;

use crate::render_sink::RenderSink;

/// How exports are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Write drop-frame timecode in the EDLs of 29.97 and 59.94 fps events (non-drop-frame
    /// otherwise, and always at other rates).
    pub drop_frame: bool,
}

/// The latest `profile` and `replay` record of each name and id, which the exports summarise
/// (the views keep only what the computation needs), and the live detections of each event,
/// which the event exports list.
///
/// Fed with every accepted record it [`Definitions::wants`] and its log position, in any
/// order; the record with the highest position wins, as in the dataflow. Whether a profile or
/// replay is live is the views' business: a profile is summarised only while its event's view
/// says it is known, and a replay's settings only while the replay has a view. A detection is
/// live when the latest record of its identity ([`Detection::identity`]) is not `deleted` and
/// came after the latest `delete` of its event (SEMANTICS §2, §8.6).
#[derive(Clone, Debug, Default)]
pub struct Definitions {
    profiles: BTreeMap<String, (Seq, Profile)>,
    replays: BTreeMap<String, (Seq, Replay)>,
    /// By event, then identity: the position of the latest record and its `deleted` flag.
    detections: BTreeMap<String, BTreeMap<Detection, (Seq, bool)>>,
    /// The position of the latest `delete` of each event.
    event_deletes: BTreeMap<String, Seq>,
}

impl Definitions {
    /// Whether `record` defines something the exports summarise (a profile, a replay, a
    /// detection, or a delete of an event, which removes the detections received before it).
    pub fn wants(record: &Record) -> bool {
        match record {
            Record::Profile(_) | Record::Replay(_) | Record::Detection(_) => true,
            Record::Delete(delete) => delete.kind == DeleteKind::Event,
            _ => false,
        }
    }

    /// Takes in `record`, seen at position `seq`; other records than those
    /// [`Definitions::wants`] are ignored.
    pub fn observe(&mut self, seq: Seq, record: Record) {
        match record {
            Record::Profile(profile) => {
                keep_latest(&mut self.profiles, profile.name.clone(), seq, profile)
            }
            Record::Replay(replay) => {
                keep_latest(&mut self.replays, replay.replay_id.clone(), seq, replay)
            }
            Record::Detection(detection) => {
                let deleted = detection.deleted;
                let of_event = self.detections.entry(detection.event_id.clone()).or_default();
                let identity = detection.identity();
                if of_event.get(&identity).is_none_or(|(latest, _)| *latest < seq) {
                    of_event.insert(identity, (seq, deleted));
                }
            }
            Record::Delete(delete) if delete.kind == DeleteKind::Event => {
                let latest = self.event_deletes.entry(delete.id).or_insert(seq);
                *latest = (*latest).max(seq);
            }
            _ => {}
        }
    }

    /// The live detections of `event_id`, by start, then plugin.
    fn live_detections(&self, event_id: &str) -> Vec<&Detection> {
        let deleted_at = self.event_deletes.get(event_id);
        let mut live: Vec<&Detection> = self
            .detections
            .get(event_id)
            .into_iter()
            .flatten()
            .filter(|(_, (seq, deleted))| !deleted && deleted_at.is_none_or(|at| seq > at))
            .map(|(detection, _)| detection)
            .collect();
        live.sort_by_key(|d| d.start_ms);
        live
    }
}

fn keep_latest<T>(map: &mut BTreeMap<String, (Seq, T)>, key: String, seq: Seq, value: T) {
    if map.get(&key).is_none_or(|(latest, _)| *latest < seq) {
        map.insert(key, (seq, value));
    }
}

/// Writes the EDLs and JSON exports of every event and replay of the read model.
pub fn write_exports(
    out: &OutputDir,
    model: &ReadModel,
    render: Option<&RenderSink>,
    definitions: &Definitions,
    options: ExportOptions,
) -> Result<()> {
    let views = model.views();
    let mut event_ids: Vec<&String> = views.events.keys().collect();
    event_ids.extend(views.segments.keys().map(|(event_id, _)| event_id));
    event_ids.extend(
        definitions
            .detections
            .keys()
            .filter(|event_id| !definitions.live_detections(event_id).is_empty()),
    );
    event_ids.sort();
    event_ids.dedup();
    let mut events = BTreeMap::new();
    for event_id in event_ids {
        let mut doc = event_export(views, definitions, event_id);
        if let Some(render) = render {
            for segment in &mut doc.segments {
                segment.rendered = render.segment_clips(event_id, segment.start.ms());
            }
        }
        write_event(out, &event_folder(event_id), options, &mut doc)
            .with_context(|| format!("exporting event {event_id:?}"))?;
        events.insert(event_id.clone(), doc);
    }
    for (replay_id, view) in &views.replays {
        let version = model.version(replay_id).expect("a live replay has a version");
        let replay = &definitions
            .replays
            .get(replay_id)
            .with_context(|| format!("replay {replay_id:?} has a view but no record was seen"))?
            .1;
        let mut doc = replay_export(view, version, replay);
        doc.rendered = render.and_then(|r| r.replay_rendered(replay_id));
        let folder = Path::new("replays").join(path_component(replay_id));
        write_replay(out, &folder, options, &mut doc, events.get(&view.event_id))
            .with_context(|| format!("exporting replay {replay_id:?}"))?;
    }
    Ok(())
}

/// What [`rewrite_exports`] rewrites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rewrite {
    /// The EDLs, from the JSON exports (the `edl` object of each export follows them).
    pub edl: bool,
    /// The JSON exports, read and written again in reeltime's form.
    pub json: bool,
}

/// Rewrites the EDLs and JSON exports of an earlier output directory from its JSON exports,
/// and returns the files written (relative to `out`).
///
/// The JSON exports hold everything an EDL is made of, so the EDLs can be made again with
/// other options (drop-frame timecode) without the event log. An export whose EDLs are
/// rewritten is written again too, since its `edl` object describes them.
pub fn rewrite_exports(
    out: &OutputDir,
    options: ExportOptions,
    rewrite: Rewrite,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut events = BTreeMap::new();
    for (path, mut doc) in out.read_exports::<EventExportDoc>("events")? {
        let write =
            |folder: &Path, doc: &mut EventExportDoc| write_event(out, folder, options, doc);
        rewrite_one(out, &path, &mut doc, rewrite, |d| &d.edl, write, &mut written)?;
        events.insert(doc.event_id.clone(), doc);
    }
    for (path, mut doc) in out.read_exports::<ReplayExportDoc>("replays")? {
        let write = |folder: &Path, doc: &mut ReplayExportDoc| {
            let event = events.get(&doc.event_id);
            write_replay(out, folder, options, doc, event)
        };
        rewrite_one(out, &path, &mut doc, rewrite, |d| &d.edl, write, &mut written)?;
    }
    Ok(written)
}

/// Rewrites the export at `path`: with its EDLs, by `write` (which writes the export too), or
/// alone; adds what was written to `written`.
fn rewrite_one<D: Serialize>(
    out: &OutputDir,
    path: &Path,
    doc: &mut D,
    rewrite: Rewrite,
    edl_of: fn(&D) -> &EdlFilesDoc,
    write: impl FnOnce(&Path, &mut D) -> Result<()>,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    let folder = path.parent().expect("an export lies in its folder");
    if rewrite.edl {
        remove_edls(out, folder, edl_of(doc))?;
        write(folder, doc).with_context(|| format!("rewriting {path:?}"))?;
        written.extend(edl_of(doc).files.iter().map(|file| folder.join(file)));
    } else if rewrite.json {
        out.write_json(path, doc)?;
    }
    if rewrite.edl || rewrite.json {
        written.push(path.to_owned());
    }
    Ok(())
}

fn event_folder(event_id: &str) -> PathBuf {
    Path::new("events").join(path_component(event_id))
}

/// Removes the EDL files an export lists (the new ones may be split differently).
fn remove_edls(out: &OutputDir, folder: &Path, edl: &EdlFilesDoc) -> Result<()> {
    for file in &edl.files {
        out.remove(&folder.join(path_component(file)))?;
    }
    Ok(())
}

/// The export of one event, its `edl` object still empty.
fn event_export(views: &Views, definitions: &Definitions, event_id: &String) -> EventExportDoc {
    let event = views.events.get(event_id);
    let segments = views
        .segments
        .range((event_id.clone(), 0)..=(event_id.clone(), u64::MAX))
        .map(|(_, segment)| SegmentExportDoc::from(segment))
        .collect();
    let profile = event
        .filter(|e| e.profile_known)
        .and_then(|e| definitions.profiles.get(&e.profile))
        .map(|(_, profile)| ProfileSummaryDoc::from(profile));
    EventExportDoc {
        event_id: event_id.clone(),
        event: event.map(EventDoc::from),
        profile,
        edl: EdlFilesDoc::default(),
        segments,
        detections: definitions
            .live_detections(event_id)
            .into_iter()
            .map(DetectionExportDoc::from)
            .collect(),
    }
}

/// The export of one replay, its `edl` object still empty.
fn replay_export(view: &ReplayView, version: u64, replay: &Replay) -> ReplayExportDoc {
    ReplayExportDoc {
        replay_id: view.replay_id.clone(),
        event_id: view.event_id.clone(),
        version,
        status: view.status.as_str().to_owned(),
        settings: ReplaySettingsDoc::from(replay),
        total_duration: Seconds(view.total_duration_ms),
        total_score: view.total_score,
        edl: EdlFilesDoc::default(),
        clips: view.clips.iter().map(ClipDoc::from).collect(),
        rendered: None,
    }
}

/// Writes the EDLs of an event export into `folder`, one per track (its `audio_tracks`, or
/// track 1): every complete segment with its clip bounds on that track, by clip start (then
/// segment start); then the export itself, describing them.
fn write_event(
    out: &OutputDir,
    folder: &Path,
    options: ExportOptions,
    doc: &mut EventExportDoc,
) -> Result<()> {
    let event = doc.event.as_ref();
    let tracks = match event {
        Some(event) if !event.audio_tracks.is_empty() => event.audio_tracks.clone(),
        _ => vec![1],
    };
    let name = event.and_then(|e| e.title.as_deref()).unwrap_or(&doc.event_id);
    let edls = tracks.iter().map(|&track| {
        let mut clips: Vec<(u64, u64, EdlClip)> = doc
            .segments
            .iter()
            .filter_map(|segment| {
                let end = segment.end.filter(|_| segment.complete)?;
                let key = track.to_string();
                let (clip_start, clip_end) = match segment.clips.get(&key) {
                    Some(bounds) => (bounds.clip_start, bounds.clip_end),
                    None => segment
                        .optimizations
                        .get(&key)
                        .map_or((segment.start, end), |o| (o.opto_start, o.opto_end)),
                };
                let clip = EdlClip {
                    name: clip_name(&doc.event_id, segment, segment.start.ms(), end.ms()),
                    source_in_ms: clip_start.ms(),
                    source_out_ms: clip_end.ms(),
                };
                Some((clip_start.ms(), segment.start.ms(), clip))
            })
            .collect();
        clips.sort_by_key(|(clip_start_ms, start_ms, _)| (*clip_start_ms, *start_ms));
        let clips = clips.into_iter().map(|(_, _, clip)| clip).collect();
        (format!("event-{track}"), format!("{name} track {track}"), clips)
    });
    doc.edl = write_edls(out, folder, event, options, edls)?;
    out.write_json(&folder.join("export.json"), doc)?;
    Ok(())
}

/// Writes the EDL of a replay export into `folder` (its selection, in its order, at its
/// event's frame rate; clip names from the event's export when there is one), then the export
/// itself.
fn write_replay(
    out: &OutputDir,
    folder: &Path,
    options: ExportOptions,
    doc: &mut ReplayExportDoc,
    event: Option<&EventExportDoc>,
) -> Result<()> {
    // A clip of timestamps mode is a time range, not a segment.
    let segments = event.filter(|_| doc.settings.mode != ReplayMode::Timestamps.as_str());
    let clips = doc
        .clips
        .iter()
        .map(|clip| {
            let segment =
                segments.and_then(|event| event.segments.iter().find(|s| s.start == clip.start));
            let name = match segment {
                Some(segment) => clip_name(&doc.event_id, segment, clip.start.ms(), clip.end.ms()),
                None => {
                    format!("{} {}", doc.event_id, seconds_range(clip.start.ms(), clip.end.ms()))
                }
            };
            EdlClip { name, source_in_ms: clip.clip_start.ms(), source_out_ms: clip.clip_end.ms() }
        })
        .collect();
    let event_doc = event.and_then(|e| e.event.as_ref());
    doc.edl = write_edls(
        out,
        folder,
        event_doc,
        options,
        [("replay".to_owned(), doc.replay_id.clone(), clips)],
    )?;
    out.write_json(&folder.join("export.json"), doc)?;
    Ok(())
}

/// Writes the EDLs `(file stem, title, clips)` of one event or replay into `folder`, all or
/// none, and describes them for its export.
fn write_edls(
    out: &OutputDir,
    folder: &Path,
    event: Option<&EventDoc>,
    options: ExportOptions,
    edls: impl IntoIterator<Item = (String, String, Vec<EdlClip>)>,
) -> Result<EdlFilesDoc> {
    let stated = event.and_then(|e| e.frame_rate).map(milli_per_second);
    let milli = stated.unwrap_or(DEFAULT_FRAME_RATE_MILLI);
    let channel = match event {
        Some(event) if event.audio_tracks.is_empty() => Channel::Video,
        _ => Channel::VideoAndAudio,
    };
    let mut doc = EdlFilesDoc {
        frame_rate: milli as f64 / 1000.0,
        frame_rate_assumed: stated.is_none(),
        drop_frame: false,
        channel: channel.code().to_owned(),
        files: Vec::new(),
        error: None,
    };
    let texts = FrameRate::from_milli(milli).and_then(|rate| {
        let format = TimecodeFormat::new(rate, options.drop_frame);
        doc.drop_frame = format.is_drop_frame();
        let mut texts = Vec::new();
        for (stem, title, clips) in edls {
            let parts = Edl { title, channel, format, clips }.write()?;
            texts.extend(
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(part, text)| (part_file_name(&stem, part), text)),
            );
        }
        Ok::<_, EdlError>(texts)
    });
    match texts {
        Ok(texts) => {
            for (file, text) in texts {
                out.write_bytes(&folder.join(&file), text.as_bytes())?;
                doc.files.push(file);
            }
        }
        Err(error) => doc.error = Some(error.to_string()),
    }
    Ok(doc)
}

/// The name of a segment's clip in an EDL: `<event_id> <start>-<end>`, in seconds, then the
/// label when it has one.
fn clip_name(event_id: &str, segment: &SegmentExportDoc, start_ms: u64, end_ms: u64) -> String {
    let mut name = format!("{event_id} {}", seconds_range(start_ms, end_ms));
    if let Some(label) = segment.label.as_ref().filter(|l| !l.label.is_empty()) {
        name.push(' ');
        name.push_str(&label.label);
    }
    name
}

/// A frame rate of an export (frames per second, at most 3 decimals) in frames per 1000 s.
fn milli_per_second(rate: f64) -> u64 {
    (rate * 1000.0).round() as u64
}

fn seconds_range(start_ms: u64, end_ms: u64) -> String {
    let seconds = |ms: u64| format!("{}.{:03}", ms / 1000, ms % 1000);
    format!("{}-{}", seconds(start_ms), seconds(end_ms))
}
