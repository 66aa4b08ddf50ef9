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
use reeltime_operators::compact::DetKey;
use reeltime_operators::read_model::ReadModel;
use reeltime_schemas::document::{ClipDoc, EventDoc};
use reeltime_schemas::export::{
    DetectionExportDoc, EdlFilesDoc, EventExportDoc, ProfileSummaryDoc, ReplayExportDoc,
    ReplaySettingsDoc, SegmentExportDoc,
};
use reeltime_schemas::record::ReplayMode;
use reeltime_schemas::time::Seconds;
use reeltime_schemas::value::JsonValue;
use reeltime_schemas::view::{ReplayView, SegmentView};

use crate::output::RenderedMedia;

/// How exports are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Write drop-frame timecode in the EDLs of 29.97 and 59.94 fps events (non-drop-frame
    /// otherwise, and always at other rates).
    pub drop_frame: bool,
}

/// Whether an event has anything to export: an event view, segments or live detections.
pub fn has_export(model: &ReadModel, event_id: &str) -> bool {
    model.event_view(event_id).is_some()
        || model.has_segments(event_id)
        || model.has_detections(event_id)
}

/// Writes the EDLs and JSON export of one event of the read model, with what the render sink
/// made of its segments; returns the export.
pub fn write_event_export(
    out: &OutputDir,
    model: &ReadModel,
    render: Option<&dyn RenderedMedia>,
    event_id: &str,
    segments: &[SegmentView],
    options: ExportOptions,
) -> Result<EventExportDoc> {
    let mut doc = event_export(model, render, event_id, segments);
    write_event(out, &event_folder(event_id), options, &mut doc)
        .with_context(|| format!("exporting event {event_id:?}"))?;
    Ok(doc)
}

/// Writes the EDL and JSON export of one live replay of the read model, with its rendering,
/// and returns the export (`None` when the replay is not live); `event` is its event's
/// export, when it has one (for clip names and the frame rate).
pub fn write_replay_export(
    out: &OutputDir,
    model: &ReadModel,
    render: Option<&dyn RenderedMedia>,
    replay_id: &str,
    event: Option<&EventExportDoc>,
    options: ExportOptions,
) -> Result<Option<ReplayExportDoc>> {
    let (Some(view), Some(version), Some(replay)) =
        (model.replay_view(replay_id), model.version(replay_id), model.replay_record(replay_id))
    else {
        return Ok(None);
    };
    let mut doc = replay_export(&view, version, ReplaySettingsDoc::from(replay));
    doc.rendered = render.and_then(|r| r.replay_rendered(replay_id));
    let folder = Path::new("replays").join(path_component(replay_id));
    write_replay(out, &folder, options, &mut doc, event)
        .with_context(|| format!("exporting replay {replay_id:?}"))?;
    Ok(Some(doc))
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

/// The export of one event, given its live segments, with what the render sink made of them;
/// its `edl` object still empty.
pub fn event_export(
    model: &ReadModel,
    render: Option<&dyn RenderedMedia>,
    event_id: &str,
    segments: &[SegmentView],
) -> EventExportDoc {
    let event = model.event_view(event_id);
    let segments = segments
        .iter()
        .map(|segment| {
            let mut doc = SegmentExportDoc::from(segment);
            if let Some(render) = render {
                doc.rendered = render.segment_clips(event_id, segment.start_ms);
            }
            doc
        })
        .collect();
    let profile = event
        .as_ref()
        .filter(|e| e.profile_known)
        .and_then(|e| model.profile(&e.profile))
        .map(ProfileSummaryDoc::from);
    EventExportDoc {
        event_id: event_id.to_owned(),
        event: event.as_ref().map(EventDoc::from),
        profile,
        edl: EdlFilesDoc::default(),
        segments,
        detections: model.detections(event_id).iter().map(detection_doc).collect(),
    }
}

/// A live detection as the event export (and the API) lists it.
pub fn detection_doc(key: &DetKey) -> DetectionExportDoc {
    DetectionExportDoc {
        plugin: key.plugin.text().to_owned(),
        start: Seconds(key.start.into()),
        end: Seconds(key.end.into()),
        track: key.track.map(|track| track.get()),
        label: key.label.map(|label| label.text().to_owned()),
        attributes: key
            .attrs
            .attrs()
            .iter()
            .map(|(name, value)| (name.text().to_owned(), JsonValue(value.to_attr())))
            .collect(),
    }
}

/// The export of one replay, its `edl` object still empty.
fn replay_export(view: &ReplayView, version: u64, settings: ReplaySettingsDoc) -> ReplayExportDoc {
    ReplayExportDoc {
        replay_id: view.replay_id.clone(),
        event_id: view.event_id.clone(),
        version,
        status: view.status,
        settings,
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
