//! What the built-in plugins publish: `detection`, `segment` and `optimization` records, as
//! an external plugin would write them (SEMANTICS §2).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use reeltime_schemas::time::Seconds;

/// One record a built-in plugin publishes, without its event id.
#[derive(Clone, Debug, PartialEq)]
pub enum PluginRecord {
    /// A featurer's finding.
    Detection(Detection),
    /// The classifier's segment, open (no end) or complete.
    Segment(Segment),
    /// The optimizer's clip bounds of a segment on one audio track.
    Optimization(Optimization),
}

/// A featurer's finding, in event time.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// The plugin (`AudioLoudness`, `SceneCut`, `BlackFrame`, `Silence`).
    pub plugin: &'static str,
    /// Start in milliseconds.
    pub start_ms: u64,
    /// End in milliseconds (equal to the start for an instant, such as a cut).
    pub end_ms: u64,
    /// The audio track, for audio findings; none for video, which applies to every track.
    pub track: Option<u32>,
    /// A short human label.
    pub label: &'static str,
    /// What was found.
    pub attributes: BTreeMap<&'static str, Value>,
}

/// A segment of the classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// The classifier.
    pub plugin: &'static str,
    /// Start in milliseconds (the segment's identity).
    pub start_ms: u64,
    /// End in milliseconds; none while the segment is open.
    pub end_ms: Option<u64>,
    /// The classifier's attributes (features of the segment).
    pub attributes: BTreeMap<&'static str, Value>,
}

/// New clip bounds of a segment on one audio track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Optimization {
    /// The optimizer.
    pub plugin: &'static str,
    /// The segment's start in milliseconds.
    pub start_ms: u64,
    /// The audio track.
    pub track: u32,
    /// Optimized in-point in milliseconds.
    pub opto_start_ms: u64,
    /// Optimized out-point in milliseconds.
    pub opto_end_ms: u64,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Wire<'a> {
    Detection {
        event_id: &'a str,
        plugin: &'a str,
        start: Seconds,
        end: Seconds,
        #[serde(skip_serializing_if = "Option::is_none")]
        track: Option<u32>,
        label: &'a str,
        attributes: &'a BTreeMap<&'static str, Value>,
    },
    Segment {
        event_id: &'a str,
        plugin: &'a str,
        start: Seconds,
        #[serde(skip_serializing_if = "Option::is_none")]
        end: Option<Seconds>,
        attributes: &'a BTreeMap<&'static str, Value>,
    },
    Optimization {
        event_id: &'a str,
        plugin: &'a str,
        start: Seconds,
        track: u32,
        opto_start: Seconds,
        opto_end: Seconds,
    },
}

impl PluginRecord {
    /// The record as JSON, for `event_id`.
    pub fn to_json(&self, event_id: &str) -> Value {
        let wire = match self {
            PluginRecord::Detection(d) => Wire::Detection {
                event_id,
                plugin: d.plugin,
                start: Seconds(d.start_ms),
                end: Seconds(d.end_ms),
                track: d.track,
                label: d.label,
                attributes: &d.attributes,
            },
            PluginRecord::Segment(s) => Wire::Segment {
                event_id,
                plugin: s.plugin,
                start: Seconds(s.start_ms),
                end: s.end_ms.map(Seconds),
                attributes: &s.attributes,
            },
            PluginRecord::Optimization(o) => Wire::Optimization {
                event_id,
                plugin: o.plugin,
                start: Seconds(o.start_ms),
                track: o.track,
                opto_start: Seconds(o.opto_start_ms),
                opto_end: Seconds(o.opto_end_ms),
            },
        };
        serde_json::to_value(wire).expect("a plugin record serializes")
    }

    /// Event time the record is about (its start), for ordering.
    pub fn start_ms(&self) -> u64 {
        match self {
            PluginRecord::Detection(d) => d.start_ms,
            PluginRecord::Segment(s) => s.start_ms,
            PluginRecord::Optimization(o) => o.start_ms,
        }
    }
}

/// A number rounded to one decimal, as a JSON value (attributes stay readable and stable).
pub(crate) fn tenths(value: f64) -> Value {
    Value::from((value * 10.0).round() / 10.0)
}

/// Seconds with 3 decimals, as a JSON value.
pub(crate) fn seconds_value(ms: u64) -> Value {
    Value::from(ms as f64 / 1000.0)
}
