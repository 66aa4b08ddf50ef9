//! What to render: the engine's rendering settings, and the `render` object of a replay
//! record (SEMANTICS §5).

use serde::{Deserialize, Serialize};

use reeltime_connectors::render::{
    ClipOptions, CutMode, EncodeSettings, Framing, ReplayOptions, Resolution,
};
use reeltime_schemas::wire::{FramingRecord, ReplayRenderRecord};

/// How the render sink works: how many renders at once and how clips are cut.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RenderConfig {
    /// Clips rendered at once (stream copy is cheap; one keeps the event playlist in order).
    pub clip_workers: usize,
    /// Replays rendered at once (each re-encodes, using several cores).
    pub replay_workers: usize,
    /// Re-encode clips frame-accurately instead of stream-copying from the keyframe at or
    /// before the in-point.
    pub reencode_clips: bool,
    /// Width of clip thumbnails in pixels.
    pub thumbnail_width: u32,
    /// Shortest HLS segment of a clip, in milliseconds (segments end on keyframes).
    pub hls_segment_ms: u64,
    /// `#EXT-X-TARGETDURATION` of the event playlists, in seconds: longer than a segment plus
    /// the longest keyframe interval of the source.
    pub playlist_target_seconds: u64,
}

impl Default for RenderConfig {
    fn default() -> Self {
        RenderConfig {
            clip_workers: 1,
            replay_workers: 1,
            reencode_clips: false,
            thumbnail_width: 320,
            hls_segment_ms: 4_000,
            playlist_target_seconds: 10,
        }
    }
}

impl RenderConfig {
    /// The options of every segment clip: MP4, HLS segments for the event playlist, and a
    /// thumbnail.
    pub fn clip_options(&self) -> ClipOptions {
        ClipOptions {
            mode: if self.reencode_clips {
                CutMode::Reencode(EncodeSettings::default())
            } else {
                CutMode::Copy
            },
            mp4: true,
            hls_segment_ms: Some(self.hls_segment_ms),
            thumbnail_width: Some(self.thumbnail_width),
        }
    }

    /// Checks the values; the error names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.clip_workers == 0 || self.replay_workers == 0 {
            return Err("render.clip_workers and render.replay_workers must be at least 1".into());
        }
        if self.thumbnail_width < 16 {
            return Err(format!("render.thumbnail_width {} is below 16", self.thumbnail_width));
        }
        if self.hls_segment_ms < 1_000
            || self.playlist_target_seconds * 1000 < self.hls_segment_ms + 1_000
        {
            return Err(format!(
                "render.hls_segment_ms {} must be at least 1000 and render.playlist_target_seconds {} at least a second longer",
                self.hls_segment_ms, self.playlist_target_seconds
            ));
        }
        Ok(())
    }
}

/// The most a fade may last: longer ones would hide short clips entirely.
const MAX_FADE_MS: u64 = 5_000;

/// The render options of a replay whose record has the `render` object `text` (the
/// canonical JSON of its [`ReplayRenderRecord`]; empty when the record has none): `None` when it asks for no rendering, an error
/// naming what is wrong otherwise.
pub fn replay_options(text: &str) -> Result<Option<ReplayOptions>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let render: ReplayRenderRecord = serde_json::from_str(text)
        .map_err(|e| format!("the replay's `render` settings are invalid: {e}"))?;
    let (mp4, hls) = (render.mp4.unwrap_or(true), render.hls.unwrap_or(true));
    if !(mp4 || hls) {
        return Ok(None);
    }
    let names = render.resolutions.unwrap_or_else(|| vec![Resolution::P720.name().to_owned()]);
    if names.is_empty() {
        return Err("the replay's `render.resolutions` is empty".into());
    }
    let mut resolutions = Vec::with_capacity(names.len());
    for name in &names {
        let resolution = Resolution::from_name(name).map_err(|e| e.to_string())?;
        if !resolutions.contains(&resolution) {
            resolutions.push(resolution);
        }
    }
    let transition = render.transition.unwrap_or_default();
    let (fade_in_ms, fade_out_ms) =
        (transition.fade_in_ms.unwrap_or(0), transition.fade_out_ms.unwrap_or(0));
    if fade_in_ms.max(fade_out_ms) > MAX_FADE_MS {
        return Err(format!("the replay's fades may last at most {MAX_FADE_MS} ms"));
    }
    Ok(Some(ReplayOptions {
        resolutions,
        framing: match render.framing.unwrap_or(FramingRecord::Pad) {
            FramingRecord::Pad => Framing::Pad,
            FramingRecord::Crop => Framing::Crop,
        },
        mp4,
        hls,
        fade_in_ms,
        fade_out_ms,
        ..ReplayOptions::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_render_settings_have_defaults_and_named_errors() {
        assert_eq!(replay_options("").unwrap(), None);
        let options = replay_options(r#"{"mp4":true}"#).unwrap().unwrap();
        assert_eq!(options.resolutions, vec![Resolution::P720]);
        assert!(options.hls && options.mp4 && options.fade_in_ms == 0);
        let options = replay_options(
            r#"{"resolutions":["9:16","360p"],"framing":"crop","transition":{"fade_in_ms":500,"fade_out_ms":250}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(options.resolutions, vec![Resolution::Vertical, Resolution::P360]);
        assert_eq!(
            (options.framing, options.fade_in_ms, options.fade_out_ms),
            (Framing::Crop, 500, 250)
        );
        assert_eq!(replay_options(r#"{"mp4":false,"hls":false}"#).unwrap(), None);
        let error = replay_options(r#"{"resolutions":["4k"]}"#).unwrap_err();
        assert!(error.contains("\"4k\""), "{error}");
        let error = replay_options(r#"{"resolution":["720p"]}"#).unwrap_err();
        assert!(error.contains("resolution"), "{error}");
    }
}
