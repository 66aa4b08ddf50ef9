//! A replay (highlight reel): an ordered list of ranges re-encoded into one video per
//! resolution, as MP4 and/or an HLS VOD rendition, with a master playlist and a thumbnail.
//!
//! Layout under the replay's folder (the README's "Outputs"):
//!
//! ```text
//! <dir>/master.m3u8              one variant per resolution (when HLS is asked for)
//! <dir>/thumbnail.jpg            the first frame of the first clip
//! <dir>/replay.json              what was rendered (the manifest; written last)
//! <dir>/<resolution>/replay.mp4
//! <dir>/<resolution>/replay.m3u8, replay-<hash>-00000.ts, ...
//! ```
//!
//! A source with sound only (a radio commentary) has one rendition of sound only, whatever
//! the resolutions asked for, in the folder `audio/` (AAC in `replay.mp4` and in the HLS
//! segments), listed in the master playlist without a resolution, and no thumbnail.
//!
//! Every file is replaced atomically and segment names carry a hash of the inputs, so a player
//! in the middle of an older version keeps playing it while a newer one is written; the older
//! segments are removed once the newer playlists are in place. A render checks its [`Cancel`]
//! between packets: when a newer version of the replay supersedes it, the caller cancels it,
//! and it stops and removes what it had written, leaving the previous version whole.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reeltime_schemas::record::Chunk;
use serde::{Deserialize, Serialize};

use super::cut::EncodeSettings;
use super::encode::{self, ClipInput, Fades, Output, Rendition};
use super::mux::{temporary, Cleanup};
use super::source::{chunks_for, Source};
use super::{init_ffmpeg, thumbnail, EventRange, RenderError};
use crate::hls_writer::{self, HlsSegment, Variant};

/// A resolution of a replay rendition (SEMANTICS §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resolution {
    /// 640x360.
    P360,
    /// 854x480.
    P480,
    /// 1280x720.
    P720,
    /// 1920x1080.
    P1080,
    /// Square 1080x1080 (`1:1`).
    Square,
    /// Portrait 1080x1350 (`4:5`).
    Portrait,
    /// Vertical 1080x1920 (`9:16`).
    Vertical,
}

impl Resolution {
    /// Every resolution, smallest landscape first.
    pub const ALL: [Resolution; 7] = [
        Resolution::P360,
        Resolution::P480,
        Resolution::P720,
        Resolution::P1080,
        Resolution::Square,
        Resolution::Portrait,
        Resolution::Vertical,
    ];

    /// Its name in replay records: `360p`, `480p`, `720p`, `1080p`, `1:1`, `4:5`, `9:16`.
    pub fn name(self) -> &'static str {
        match self {
            Resolution::P360 => "360p",
            Resolution::P480 => "480p",
            Resolution::P720 => "720p",
            Resolution::P1080 => "1080p",
            Resolution::Square => "1:1",
            Resolution::Portrait => "4:5",
            Resolution::Vertical => "9:16",
        }
    }

    /// The resolution named `name` (as in [`Resolution::name`]).
    pub fn from_name(name: &str) -> Result<Resolution, RenderError> {
        Resolution::ALL.into_iter().find(|r| r.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Resolution::ALL.iter().map(|r| r.name()).collect();
            RenderError::Options(format!(
                "unknown resolution {name:?} (one of {})",
                names.join(", ")
            ))
        })
    }

    /// Its folder under the replay's: the name with `:` as `x` (`9x16`).
    pub fn folder(self) -> String {
        self.name().replace(':', "x")
    }

    /// Width and height in pixels.
    pub fn size(self) -> (u32, u32) {
        match self {
            Resolution::P360 => (640, 360),
            Resolution::P480 => (854, 480),
            Resolution::P720 => (1280, 720),
            Resolution::P1080 => (1920, 1080),
            Resolution::Square => (1080, 1080),
            Resolution::Portrait => (1080, 1350),
            Resolution::Vertical => (1080, 1920),
        }
    }
}

/// How a picture of another shape is fitted into a rendition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Framing {
    /// Scale to fit inside and pad with black bars: nothing is lost.
    #[default]
    Pad,
    /// Scale to cover and crop the centre: no bars, the sides (or top and bottom) are lost.
    Crop,
}

impl Framing {
    /// The FFmpeg filters that fit a picture into `width` x `height`.
    pub(crate) fn filter(self, width: u32, height: u32) -> String {
        match self {
            Framing::Pad => format!(
                "scale=w={width}:h={height}:force_original_aspect_ratio=decrease:force_divisible_by=2,\
                 pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1"
            ),
            Framing::Crop => format!(
                "scale=w={width}:h={height}:force_original_aspect_ratio=increase:force_divisible_by=2,\
                 crop={width}:{height},setsar=1"
            ),
        }
    }
}

/// A flag that stops a render; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks the render to stop (it returns [`RenderError::Cancelled`]).
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the render was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What to render of a replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayOptions {
    /// The resolutions, one rendition each.
    pub resolutions: Vec<Resolution>,
    /// How to fit the source picture into each resolution.
    pub framing: Framing,
    /// Write `<resolution>/replay.mp4`.
    pub mp4: bool,
    /// Write an HLS VOD rendition per resolution and `master.m3u8`.
    pub hls: bool,
    /// Minimum HLS segment length in milliseconds (segments end on keyframes).
    pub hls_segment_ms: u64,
    /// Fade in at the start of every clip, in milliseconds (0: none).
    pub fade_in_ms: u64,
    /// Fade out at the end of every clip, in milliseconds (0: none).
    pub fade_out_ms: u64,
    /// Encoder settings.
    pub settings: EncodeSettings,
    /// Width of `thumbnail.jpg` in pixels, if one is wanted.
    pub thumbnail_width: Option<u32>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            resolutions: vec![Resolution::P720],
            framing: Framing::Pad,
            mp4: true,
            hls: true,
            hls_segment_ms: 6_000,
            fade_in_ms: 0,
            fade_out_ms: 0,
            settings: EncodeSettings::default(),
            thumbnail_width: Some(640),
        }
    }
}

/// The name and folder of the one rendition of a replay of a source with sound only.
pub const SOUND_ONLY: &str = "audio";

/// One rendered resolution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedRendition {
    /// Its name, e.g. `720p` or `9:16`; [`SOUND_ONLY`] for sound only.
    pub resolution: String,
    /// Width in pixels (0 for sound only).
    pub width: u32,
    /// Height in pixels (0 for sound only).
    pub height: u32,
    /// The MP4, when asked for.
    pub mp4: Option<PathBuf>,
    /// The VOD playlist, when HLS was asked for.
    pub playlist: Option<PathBuf>,
    /// Its segments (file names beside the playlist).
    pub segments: Vec<HlsSegment>,
}

/// A rendered replay: every file it has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedReplay {
    /// The content-derived hash of the inputs, which also names the segments.
    pub hash: String,
    /// The range of event time each clip holds, in replay order (equal to the requested
    /// ranges to the frame).
    pub clips: Vec<(u64, u64)>,
    /// Length of the replay in milliseconds: the sum of the clips'.
    pub duration_ms: u64,
    /// One per resolution, in the order asked for.
    pub renditions: Vec<RenderedRendition>,
    /// The master playlist, when HLS was asked for.
    pub master: Option<PathBuf>,
    /// The thumbnail, when asked for and the source has video.
    pub thumbnail: Option<PathBuf>,
    /// True when an earlier render with the same inputs was found and nothing was written.
    #[serde(skip)]
    pub reused: bool,
}

/// Renders the ranges `clips`, in this order, of the event's `chunks` for audio track `track`
/// into the replay folder `dir`, checking `cancel` as it goes.
pub fn render_replay(
    dir: &Path,
    track: u32,
    chunks: &[Chunk],
    clips: &[EventRange],
    options: &ReplayOptions,
    cancel: &Cancel,
) -> Result<RenderedReplay, RenderError> {
    init_ffmpeg();
    options.settings.validate()?;
    if clips.is_empty() {
        return Err(RenderError::Options("a replay needs at least one clip".into()));
    }
    if options.resolutions.is_empty() || !(options.mp4 || options.hls) {
        return Err(RenderError::Options(
            "a replay needs at least one resolution and MP4 or HLS".into(),
        ));
    }
    let mut inputs = Vec::with_capacity(clips.len());
    for range in clips {
        let (chunks, first) = chunks_for(chunks, *range)?;
        inputs.push(ClipInput { chunks, first, range: *range });
    }
    let hash = replay_hash(track, &inputs, options);
    let manifest_path = dir.join("replay.json");
    if let Some(replay) = reuse(&manifest_path, &hash) {
        return Ok(replay);
    }
    let stem = format!("replay-{hash}");
    let mut cleanup = Cleanup::default();
    let first = &inputs[0];
    let has_video =
        Source::open(first.chunks.clone(), first.first, track, first.range.end_ms)?.video.is_some();
    // (name, folder, resolution) of each rendition.
    let targets: Vec<(String, String, Option<Resolution>)> = if has_video {
        options.resolutions.iter().map(|r| (r.name().to_owned(), r.folder(), Some(*r))).collect()
    } else {
        vec![(SOUND_ONLY.to_owned(), SOUND_ONLY.to_owned(), None)]
    };
    let mut renditions = Vec::with_capacity(targets.len());
    for (_, folder, resolution) in &targets {
        let folder = dir.join(folder);
        fs::create_dir_all(&folder).map_err(|e| RenderError::output(&folder)(e.to_string()))?;
        renditions.push(Rendition {
            size: resolution.map(Resolution::size),
            framing: resolution.map(|_| options.framing),
            output: Output {
                mp4: options.mp4.then(|| folder.join("replay.mp4")),
                hls: options.hls.then(|| (folder.clone(), stem.clone(), options.hls_segment_ms)),
            },
        });
    }
    let fades = (options.fade_in_ms > 0 || options.fade_out_ms > 0)
        .then_some(Fades { in_ms: options.fade_in_ms, out_ms: options.fade_out_ms });
    let encoded = encode::encode(
        &inputs,
        track,
        &options.settings,
        fades,
        &renditions,
        Some(cancel),
        &mut cleanup,
    )?;
    if cancel.is_cancelled() {
        return Err(RenderError::Cancelled);
    }

    let mut rendered = Vec::with_capacity(renditions.len());
    let mut variants = Vec::new();
    for ((name, folder_name, _), made) in targets.iter().zip(encoded.renditions) {
        let folder = dir.join(folder_name);
        let playlist = if options.hls {
            let path = folder.join("replay.m3u8");
            stage(&path, hls_writer::vod_playlist(&made.segments).as_bytes(), &mut cleanup)?;
            variants.push(variant(
                &folder,
                folder_name,
                &made.segments,
                made.width,
                made.height,
                &made.codecs,
            ));
            Some(path)
        } else {
            None
        };
        rendered.push(RenderedRendition {
            resolution: name.clone(),
            width: made.width,
            height: made.height,
            mp4: options.mp4.then(|| folder.join("replay.mp4")),
            playlist,
            segments: made.segments,
        });
    }
    let master = if options.hls {
        let path = dir.join("master.m3u8");
        stage(&path, hls_writer::master_playlist(&variants).as_bytes(), &mut cleanup)?;
        Some(path)
    } else {
        None
    };
    let thumbnail = match options.thumbnail_width {
        // Sound alone has no picture to show.
        Some(width) if has_video => {
            let path = dir.join("thumbnail.jpg");
            thumbnail::write_thumbnail(
                &first.chunks,
                first.first,
                track,
                first.range.start_ms,
                width,
                &path,
                &mut cleanup,
            )?;
            Some(path)
        }
        _ => None,
    };
    let clips: Vec<(u64, u64)> = encoded.clips.iter().map(|r| (r.start_ms, r.end_ms)).collect();
    let replay = RenderedReplay {
        hash,
        duration_ms: encoded.clips.iter().map(EventRange::duration_ms).sum(),
        clips,
        renditions: rendered,
        master,
        thumbnail,
        reused: false,
    };
    let text = serde_json::to_vec_pretty(&replay).expect("manifests serialize to JSON");
    stage(&manifest_path, &text, &mut cleanup)?;
    cleanup.commit()?;
    remove_older_segments(&replay);
    Ok(replay)
}

/// Writes `bytes` under the temporary name of `path`, to be renamed into place on commit.
fn stage(path: &Path, bytes: &[u8], cleanup: &mut Cleanup) -> Result<(), RenderError> {
    let partial = temporary(path);
    cleanup.add(partial.clone());
    fs::write(&partial, bytes).map_err(|e| RenderError::output(&partial)(e.to_string()))?;
    cleanup.rename_on_commit(partial, path.to_owned());
    Ok(())
}

/// The variant of one rendition (in `folder`, named `folder_name` in the replay's folder):
/// peak and average bit rate from its segment files.
fn variant(
    folder: &Path,
    folder_name: &str,
    segments: &[HlsSegment],
    width: u32,
    height: u32,
    codecs: &str,
) -> Variant {
    let mut peak = 0u64;
    let (mut bytes, mut duration_ms) = (0u64, 0u64);
    for segment in segments {
        let size = fs::metadata(folder.join(&segment.uri)).map_or(0, |m| m.len());
        peak = peak.max(size * 8 * 1000 / segment.duration_ms.max(1));
        bytes += size;
        duration_ms += segment.duration_ms;
    }
    Variant {
        uri: format!("{folder_name}/replay.m3u8"),
        bandwidth: peak,
        average_bandwidth: bytes * 8 * 1000 / duration_ms.max(1),
        width,
        height,
        codecs: codecs.to_owned(),
    }
}

/// Removes the segments of earlier versions from the rendition folders.
fn remove_older_segments(replay: &RenderedReplay) {
    let current = format!("replay-{}-", replay.hash);
    for rendition in &replay.renditions {
        let Some(folder) = rendition.playlist.as_deref().and_then(Path::parent) else {
            continue;
        };
        let Ok(entries) = fs::read_dir(folder) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("replay-") && name.ends_with(".ts") && !name.starts_with(&current) {
                // Best effort: a segment that cannot be removed only wastes space.
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// An earlier render with the same hash whose files are all there.
fn reuse(manifest_path: &Path, hash: &str) -> Option<RenderedReplay> {
    let mut replay: RenderedReplay = serde_json::from_slice(&fs::read(manifest_path).ok()?).ok()?;
    if replay.hash != hash {
        return None;
    }
    for rendition in &replay.renditions {
        let files = rendition.mp4.iter().chain(&rendition.playlist);
        if !files.into_iter().all(|p| p.is_file()) {
            return None;
        }
    }
    replay.reused = true;
    Some(replay)
}

fn replay_hash(track: u32, inputs: &[ClipInput], options: &ReplayOptions) -> String {
    let mut text = format!("reeltime-replay/1|{track}");
    for input in inputs {
        text.push_str(&format!("|{}-{}", input.range.start_ms, input.range.end_ms));
        for chunk in &input.chunks {
            text.push_str(&format!(
                ",{}:{}:{}:{}:{:?}",
                chunk.seq_no, chunk.uri, chunk.start_ms, chunk.duration_ms, chunk.pts_start_ms
            ));
        }
    }
    text.push_str(&format!("|{options:?}"));
    format!("{:012x}", super::cut::fnv_hash(text.as_bytes()) >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_have_names_folders_and_even_sizes() {
        for resolution in Resolution::ALL {
            assert_eq!(Resolution::from_name(resolution.name()).unwrap(), resolution);
            let (width, height) = resolution.size();
            assert_eq!((width % 2, height % 2), (0, 0), "{resolution:?}");
            assert!(!resolution.folder().contains(':'));
        }
        assert_eq!(Resolution::Vertical.folder(), "9x16");
        let error = Resolution::from_name("4k").unwrap_err();
        assert!(error.to_string().contains("unknown resolution \"4k\""), "{error}");
    }

    #[test]
    fn cancel_is_shared_by_clones() {
        let cancel = Cancel::new();
        let seen_by_render = cancel.clone();
        assert!(!seen_by_render.is_cancelled());
        cancel.cancel();
        assert!(seen_by_render.is_cancelled());
    }
}
