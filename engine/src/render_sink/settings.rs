//! What to render: the engine's rendering settings, and the `render` object of a replay
//! record (SEMANTICS §5).

use serde::{Deserialize, Serialize};

use reeltime_connectors::render::{
    ClipOptions, CutMode, EncodeSettings, Framing, ReplayOptions, Resolution,
};

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

/// The `render` object of a replay record:
/// `{"mp4", "hls", "resolutions", "framing", "transition": {"fade_in_ms", "fade_out_ms"}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayRender {
    #[serde(default = "yes")]
    mp4: bool,
    #[serde(default = "yes")]
    hls: bool,
    #[serde(default = "default_resolutions")]
    resolutions: Vec<String>,
    #[serde(default)]
    framing: FramingName,
    #[serde(default)]
    transition: Transition,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FramingName {
    #[default]
    Pad,
    Crop,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Transition {
    #[serde(default)]
    fade_in_ms: u64,
    #[serde(default)]
    fade_out_ms: u64,
}

fn yes() -> bool {
    true
}

fn default_resolutions() -> Vec<String> {
    vec!["720p".to_owned()]
}

/// The most a fade may last: longer ones would hide short clips entirely.
const MAX_FADE_MS: u64 = 5_000;

/// The render options of a replay whose record has the `render` object `text` (canonical
/// JSON; empty when the record has none): `None` when it asks for no rendering, an error
/// naming what is wrong otherwise.
pub fn replay_options(text: &str) -> Result<Option<ReplayOptions>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let render: ReplayRender = serde_json::from_str(text)
        .map_err(|e| format!("the replay's `render` settings are invalid: {e}"))?;
    if !(render.mp4 || render.hls) {
        return Ok(None);
    }
    if render.resolutions.is_empty() {
        return Err("the replay's `render.resolutions` is empty".into());
    }
    let mut resolutions = Vec::with_capacity(render.resolutions.len());
    for name in &render.resolutions {
        let resolution = Resolution::from_name(name).map_err(|e| e.to_string())?;
        if !resolutions.contains(&resolution) {
            resolutions.push(resolution);
        }
    }
    let fades = [render.transition.fade_in_ms, render.transition.fade_out_ms];
    if fades.iter().any(|&ms| ms > MAX_FADE_MS) {
        return Err(format!("the replay's fades may last at most {MAX_FADE_MS} ms"));
    }
    Ok(Some(ReplayOptions {
        resolutions,
        framing: match render.framing {
            FramingName::Pad => Framing::Pad,
            FramingName::Crop => Framing::Crop,
        },
        mp4: render.mp4,
        hls: render.hls,
        fade_in_ms: render.transition.fade_in_ms,
        fade_out_ms: render.transition.fade_out_ms,
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
