//! `reeltime highlights`: a user's video or HLS playlist in, highlights out.
//!
//! Checks the options, makes the event's plan (ids from the file name, one `highlights`
//! replay of the asked length, priorities and resolutions), and runs the pipeline of
//! [`crate::media_pipeline`]: the media ingested and analysed by the built-in plugins into
//! `highlights-log.jsonl`, then that log processed with the render sink on, so the views,
//! exports, clips, event playlists and the highlights video are written beside it.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use reeltime_connectors::ingest::convert::ConvertSettings;
use reeltime_connectors::ingest::MediaError;
use reeltime_connectors::output_dir::OutputDir;
use reeltime_connectors::render::cut::X264_PRESETS;
use reeltime_plugins::AnalysisConfig;

use crate::media_pipeline::{
    analyse_to_log, default_priorities, process_log, EventPlan, LogSummary, MediaSource,
};
use crate::process::Summary;

/// Settings of `reeltime highlights`.
#[derive(Clone, Debug)]
pub struct HighlightsOptions {
    /// The video file, folder of chunks or HLS playlist.
    pub input: PathBuf,
    /// Length of the highlights, in seconds.
    pub duration_seconds: f64,
    /// The output directory.
    pub out: PathBuf,
    /// What the replay ranks first: `ATTRIBUTE[=VALUE][:WEIGHT]` entries.
    pub priorities: Vec<String>,
    /// Resolutions to render the highlights in (default 720p).
    pub resolutions: Vec<String>,
    /// With a live stream: seconds without data that end it.
    pub silence_seconds: Option<f64>,
    /// libx264's preset for a file that must be converted (default `veryfast`).
    pub convert_preset: Option<String>,
    /// libx264's CRF for a file that must be converted (default 20).
    pub convert_crf: Option<u8>,
    /// Show progress.
    pub progress: bool,
}

/// Resolutions a replay can be rendered in (SEMANTICS §6).
pub const RESOLUTIONS: [&str; 7] = ["360p", "480p", "720p", "1080p", "1:1", "4:5", "9:16"];

/// The replay priority of one `--priority` entry: `ATTRIBUTE[=VALUE][:WEIGHT]`, where the
/// value is JSON when it parses as JSON (`true`, `3`) and a string otherwise, and the weight
/// is 1..100 (default 50).
pub fn parse_priority(text: &str) -> Result<Value> {
    let (spec, weight) = match text.rsplit_once(':') {
        Some((spec, weight)) if !weight.contains('=') => {
            let weight: u32 =
                weight.parse().ok().filter(|w| (1..=100).contains(w)).with_context(|| {
                    format!("priority {text:?}: weight {weight:?} is not 1..100")
                })?;
            (spec, weight)
        }
        _ => (text, 50),
    };
    let (attribute, value) = match spec.split_once('=') {
        Some((attribute, value)) => {
            let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
            (attribute, value)
        }
        None => (spec, Value::Bool(true)),
    };
    if attribute.is_empty() {
        bail!("priority {text:?} names no attribute (write ATTRIBUTE[=VALUE][:WEIGHT])");
    }
    if value.is_null() || value.is_array() || value.is_object() {
        bail!("priority {text:?}: the value must be a boolean, number or string");
    }
    Ok(json!({"attribute": attribute, "value": value, "weight": weight}))
}

/// An id made of the letters, digits, `-` and `_` of `name` (others become `-`).
pub fn id_of(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    if id.trim_matches('-').is_empty() {
        "event".to_owned()
    } else {
        id
    }
}

/// What `reeltime highlights` made.
#[derive(Clone, Debug)]
pub struct HighlightsReport {
    /// The analysis.
    pub analysis: LogSummary,
    /// The dataflow run over its log.
    pub processed: Summary,
    /// The event log.
    pub log: PathBuf,
    /// The replay's selection.
    pub selection: PathBuf,
}

/// The conversion settings `--convert-preset` and `--convert-crf` ask for, checked.
fn convert_settings(options: &HighlightsOptions) -> Result<ConvertSettings> {
    let mut settings = ConvertSettings::default();
    if let Some(preset) = &options.convert_preset {
        if !X264_PRESETS.contains(&preset.as_str()) {
            bail!("--convert-preset {preset:?} is not one of {}", X264_PRESETS.join(", "));
        }
        settings.preset = preset.clone();
    }
    if let Some(crf) = options.convert_crf {
        if crf > 51 {
            bail!("--convert-crf {crf} is not between 0 and 51");
        }
        settings.crf = crf;
    }
    Ok(settings)
}

/// Why the analysis found no moment, when it found none (said with the empty replay, which is
/// still written and valid).
pub fn nothing_found(analysis: &LogSummary) -> Option<String> {
    if analysis.segments > 0 {
        return None;
    }
    Some(if analysis.audio_tracks.is_empty() {
        "no moment was found: the source has no audio track, and the motion of its picture never \
         rose far enough above its own baseline for the built-in segmenter (docs/plugins.md \
         gives its thresholds)"
            .to_owned()
    } else {
        format!(
            "no moment was found: the sound of {} never rose far enough above its own baseline \
             for the built-in segmenter (docs/plugins.md gives its thresholds)",
            match analysis.audio_tracks.len() {
                1 => "the audio track".to_owned(),
                n => format!("all {n} audio tracks"),
            }
        )
    })
}

/// Runs `reeltime highlights`.
pub fn highlights(options: &HighlightsOptions) -> Result<HighlightsReport> {
    let source = MediaSource::of_input(&options.input, options.silence_seconds)?;
    if !(options.duration_seconds.is_finite()
        && (1.0..=10_000.0).contains(&options.duration_seconds))
    {
        bail!("--duration {} is not between 1 and 10000 seconds", options.duration_seconds);
    }
    if let Some(bad) = options.resolutions.iter().find(|r| !RESOLUTIONS.contains(&r.as_str())) {
        bail!("--resolution {bad:?} is not one of {}", RESOLUTIONS.join(", "));
    }
    let priorities = if options.priorities.is_empty() {
        default_priorities()
    } else {
        options.priorities.iter().map(|p| parse_priority(p)).collect::<Result<_>>()?
    };
    let out = OutputDir::prepare(&options.out)?;
    let stem = match &source {
        // A URL names a place, not the event.
        MediaSource::Stream { .. } => "live-stream",
        _ => options.input.file_stem().and_then(|s| s.to_str()).unwrap_or("event"),
    };
    let event_id = id_of(stem);
    let resolutions = if options.resolutions.is_empty() {
        vec!["720p".to_owned()]
    } else {
        options.resolutions.clone()
    };
    let duration = (options.duration_seconds * 1000.0).round() / 1000.0;
    let replay = json!({
        "type": "replay", "replay_id": "highlights", "event_id": event_id, "mode": "duration",
        "catchup": false, "duration": duration,
        // A tenth of the budget, so the highlights stay close to the length asked for.
        "tolerance": (duration * 100.0).round() / 1000.0,
        "priorities": priorities,
        "render": {"mp4": true, "hls": true, "resolutions": resolutions},
    });
    let plan = EventPlan {
        event_id,
        title: stem.to_owned(),
        profile: "reeltime-highlights".to_owned(),
        chunk_seconds: 4.0,
        analysis: AnalysisConfig::default(),
        replays: vec![replay],
        chunk_dir: out.root().join("media").join("chunks"),
        convert: convert_settings(options)?,
    };
    let log = out.root().join("highlights-log.jsonl");
    let analysis = analyse_to_log(&source, &plan, &log, options.progress).map_err(|e| {
        match e.downcast_ref::<MediaError>() {
            Some(_) => e.context(format!("cannot make highlights of {:?}", options.input)),
            None => e,
        }
    })?;
    let processed = process_log(&log, out.root(), options.progress)?;
    Ok(HighlightsReport {
        analysis,
        processed,
        log,
        selection: out.root().join("replays").join("highlights").join("selection.json"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_settings_are_checked() {
        let options = |preset: &str, crf| HighlightsOptions {
            input: PathBuf::from("in.mov"),
            duration_seconds: 60.0,
            out: PathBuf::from("out"),
            priorities: Vec::new(),
            resolutions: Vec::new(),
            silence_seconds: None,
            convert_preset: Some(preset.to_owned()),
            convert_crf: Some(crf),
            progress: false,
        };
        let settings = convert_settings(&options("slow", 18)).unwrap();
        assert_eq!((settings.preset.as_str(), settings.crf), ("slow", 18));
        let error = convert_settings(&options("quick", 18)).unwrap_err().to_string();
        assert!(error.starts_with("--convert-preset \"quick\" is not one of ultrafast"), "{error}");
        let error = convert_settings(&options("fast", 52)).unwrap_err().to_string();
        assert_eq!(error, "--convert-crf 52 is not between 0 and 51");
    }

    #[test]
    fn an_empty_selection_says_why() {
        let mut analysis = LogSummary::default();
        assert!(nothing_found(&analysis).unwrap().contains("no audio track"));
        analysis.audio_tracks = vec![1, 2];
        assert!(nothing_found(&analysis).unwrap().contains("all 2 audio tracks never rose"));
        analysis.segments = 1;
        assert_eq!(nothing_found(&analysis), None);
    }
}
