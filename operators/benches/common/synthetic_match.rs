//! A deterministic synthetic match for the benchmarks: the event log that a live tennis match
//! of a few hours makes, as JSON lines in the order they would be published.
//!
//! Both `operators/benches/incremental_vs_recompute.rs` and `engine/benches/process_throughput.rs`
//! include this file with `#[path]`, so they measure the same kind of log. Everything comes from
//! a seeded `Xoshiro256PlusPlus` (a documented, portable generator): one shape and seed give the
//! same lines on every machine.
//!
//! What a match holds, in publication order (SEMANTICS §2):
//! - at 0 s: the profile (with an optimizer, a labeler and 4 featurers), the event (`started`)
//!   and the catch-up replays;
//! - every segment twice: open shortly after its start, complete 1 s after its end; then its
//!   optimization on track 1 and its label;
//! - detections of 4 featurers, each published up to 2 s after it ends, some with the
//!   attributes the replays look for;
//! - chunks, when asked for, and reviewer feedback on some segments;
//! - the event `ended` last.

use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{json, Value};

/// What one synthetic match holds.
pub struct MatchShape {
    /// The event id.
    pub event_id: String,
    /// The seed of everything random in the match.
    pub seed: u64,
    /// Length of the match in milliseconds of event time.
    pub length_ms: u64,
    /// Segments, spread evenly over the match.
    pub segments: usize,
    /// Detections, at uniformly random times.
    pub detections: usize,
    /// Catch-up replays: the first in features mode, the others in duration mode.
    pub replays: usize,
    /// Reviewer verdicts on distinct segments (at most one per segment).
    pub feedback: usize,
    /// Chunk length in milliseconds, or no chunk records.
    pub chunk_ms: Option<u64>,
}

/// One record of the log.
pub struct LogLine {
    /// When it is published, in milliseconds of event time.
    pub published_ms: u64,
    /// The record as one line of JSON (no newline).
    pub json: String,
}

/// The profile every synthetic match uses.
const PROFILE: &str = "tennis-broadcast";
const CLASSIFIER: &str = "rally-segmenter";
const OPTIMIZER: &str = "silence-optimizer";
const LABELER: &str = "score-labeler";

/// Frames are 40 ms (25 fps): every time in the log is on a frame boundary.
const FRAME_MS: u64 = 40;

/// What replays look for: `(plugin, attribute, value)`; a `None` plugin matches any.
const WANTED: [(Option<&str>, &str, Wanted); 8] = [
    (Some("ace-detector"), "Ace", Wanted::Bool(true)),
    (None, "BreakPoint", Wanted::Bool(true)),
    (Some("scoreboard"), "GamePoint", Wanted::Bool(true)),
    (Some("scoreboard"), "SetPoint", Wanted::Bool(true)),
    (Some("crowd-noise"), "Loud", Wanted::Bool(true)),
    (None, "NetApproach", Wanted::Bool(true)),
    (Some("scoreboard"), "Server", Wanted::Text("A")),
    (Some("player-tracker"), "Shots", Wanted::Int(20)),
];

/// A value a replay looks for.
#[derive(Clone, Copy)]
enum Wanted {
    Bool(bool),
    Int(u32),
    Text(&'static str),
}

impl Wanted {
    fn to_json(self) -> Value {
        match self {
            Wanted::Bool(b) => json!(b),
            Wanted::Int(i) => json!(i),
            Wanted::Text(t) => json!(t),
        }
    }
}

/// The log of one match, in publication order (ties keep the order of generation).
pub fn synthetic_match(shape: &MatchShape) -> Vec<LogLine> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(shape.seed);
    let event_id = shape.event_id.as_str();
    let mut lines = Vec::new();
    let mut push = |published_ms: u64, record: Value| {
        lines.push(LogLine { published_ms, json: record.to_string() });
    };

    push(0, profile());
    push(0, event(event_id, "started"));
    for index in 0..shape.replays {
        push(0, replay(&mut rng, event_id, index));
    }

    if let Some(chunk_ms) = shape.chunk_ms {
        for (seq_no, start_ms) in (0..shape.length_ms).step_by(chunk_ms as usize).enumerate() {
            let record = json!({
                "type": "chunk", "event_id": event_id, "seq_no": seq_no,
                "uri": format!("media/{event_id}/chunk-{seq_no:05}.ts"),
                "start": seconds(start_ms), "duration": seconds(chunk_ms),
            });
            push(start_ms + chunk_ms, record);
        }
    }

    let slot_ms = shape.length_ms / shape.segments.max(1) as u64;
    let mut segment_bounds = Vec::with_capacity(shape.segments);
    for index in 0..shape.segments {
        let start_ms = frame(index as u64 * slot_ms + rng.random_range(0..=slot_ms / 5));
        let end_ms = frame(start_ms + rng.random_range(slot_ms / 4..=slot_ms * 3 / 4))
            .max(start_ms + FRAME_MS);
        segment_bounds.push((start_ms, end_ms));
        let open = json!({
            "type": "segment", "event_id": event_id, "plugin": CLASSIFIER,
            "start": seconds(start_ms),
        });
        push(start_ms + 500, open);
        let complete = json!({
            "type": "segment", "event_id": event_id, "plugin": CLASSIFIER,
            "start": seconds(start_ms), "end": seconds(end_ms),
            "attributes": {"Shots": rng.random_range(1..=30u32)},
        });
        push(end_ms + 1_000, complete);
        let optimization = json!({
            "type": "optimization", "event_id": event_id, "plugin": OPTIMIZER,
            "start": seconds(start_ms), "track": 1,
            "opto_start": seconds(frame(start_ms.saturating_sub(rng.random_range(0..1_000)))),
            "opto_end": seconds(frame(end_ms + rng.random_range(0..1_000))),
        });
        push(end_ms + 2_000, optimization);
        let game = index / 6 + 1;
        let label = json!({
            "type": "label", "event_id": event_id, "plugin": LABELER,
            "start": seconds(start_ms), "label": format!("game {game}"),
            "attributes": {"Game": game, "BreakPoint": rng.random_bool(0.1)},
        });
        push(end_ms + 2_500, label);
    }

    let liked: Vec<&(u64, u64)> = segment_bounds.sample(&mut rng, shape.feedback).collect();
    for (start_ms, end_ms) in liked {
        let verdict = if rng.random_bool(0.7) { "like" } else { "dislike" };
        let record = json!({
            "type": "feedback", "event_id": event_id, "start": seconds(*start_ms),
            "verdict": verdict,
        });
        push(end_ms + rng.random_range(30_000..300_000), record);
    }

    for _ in 0..shape.detections {
        let start_ms = frame(rng.random_range(0..shape.length_ms));
        let end_ms = frame(start_ms + rng.random_range(0..3_000));
        let (published_ms, record) = detection(&mut rng, event_id, start_ms, end_ms);
        push(published_ms, record);
    }

    let last_ms = lines.iter().map(|line| line.published_ms).max().unwrap_or(0);
    lines.push(LogLine {
        published_ms: last_ms + 1_000,
        json: event(event_id, "ended").to_string(),
    });
    lines.sort_by_key(|line| line.published_ms);
    lines
}

/// Milliseconds as JSON seconds (at most 3 decimals).
fn seconds(ms: u64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// The frame boundary at or before `ms`.
fn frame(ms: u64) -> u64 {
    ms / FRAME_MS * FRAME_MS
}

fn profile() -> Value {
    json!({
        "type": "profile", "name": PROFILE, "chunk_size": 10, "processing_fps": 5,
        "max_segment_length": 120,
        "classifier": {"plugin": CLASSIFIER, "config": {"min_rally_s": 4}},
        "optimizer": {"plugin": OPTIMIZER, "search_window": 2},
        "labeler": {"plugin": LABELER},
        "featurers": [
            {"plugin": "scoreboard", "media": "video"},
            {"plugin": "crowd-noise", "media": "audio"},
            {"plugin": "player-tracker", "media": "video"},
            {"plugin": "ace-detector", "media": "video", "depends_on": ["scoreboard"]},
        ],
    })
}

fn event(event_id: &str, status: &str) -> Value {
    json!({
        "type": "event", "event_id": event_id, "program": "Synthetic Open",
        "profile": PROFILE, "status": status, "frame_rate": 25, "audio_tracks": [1, 2],
        "title": format!("{event_id}: A v B"),
    })
}

/// Replay `index` of the match: the first in features mode, the others in duration mode with
/// 2–5 weighted entries and budgets of 60–600 s; some with equal distribution or feedback.
fn replay(rng: &mut Xoshiro256PlusPlus, event_id: &str, index: usize) -> Value {
    let replay_id = format!("{event_id}-r{index:02}");
    let render = json!({"mp4": true, "resolutions": ["720p"]});
    if index == 0 {
        return json!({
            "type": "replay", "replay_id": replay_id, "event_id": event_id, "mode": "features",
            "catchup": true,
            "priorities": [{"plugin": "ace-detector", "attribute": "Ace"}, {"attribute": "BreakPoint"}],
            "render": render,
        });
    }
    let entries = rng.random_range(2..=5);
    let priorities: Vec<Value> = WANTED
        .sample(rng, entries)
        .map(|(plugin, attribute, value)| {
            let mut entry = json!({
                "attribute": attribute, "value": value.to_json(),
                "weight": rng.random_range(10..=100u32),
            });
            if let Some(plugin) = plugin {
                entry["plugin"] = json!(plugin);
            }
            entry
        })
        .collect();
    json!({
        "type": "replay", "replay_id": replay_id, "event_id": event_id, "mode": "duration",
        "catchup": true, "duration": rng.random_range(60..=600u32),
        "tolerance": *[10, 30, 60].choose(rng).expect("not empty"),
        "equal_distribution": index % 5 == 2, "track": 1, "priorities": priorities,
        "include_liked": index % 4 == 1, "ignore_disliked": index % 6 == 3,
        "render": render,
    })
}

/// A detection of one of the 4 featurers, and when it is published.
fn detection(
    rng: &mut Xoshiro256PlusPlus,
    event_id: &str,
    start_ms: u64,
    end_ms: u64,
) -> (u64, Value) {
    let mut record = json!({
        "type": "detection", "event_id": event_id, "start": seconds(start_ms),
        "end": seconds(end_ms),
    });
    let attributes = match rng.random_range(0..100) {
        0..40 => {
            let level = rng.random_range(0..100u32);
            record["plugin"] = json!("crowd-noise");
            record["track"] = json!(rng.random_range(1..=2u32));
            json!({"Loud": level >= 75, "Level": f64::from(level) / 100.0})
        }
        40..70 => {
            record["plugin"] = json!("scoreboard");
            record["label"] = json!(["15-0", "30-15", "40-30", "deuce", "advantage"].choose(rng));
            let mut attributes = json!({"Server": if rng.random_bool(0.5) { "A" } else { "B" }});
            if rng.random_bool(0.15) {
                let point = ["GamePoint", "BreakPoint", "SetPoint"].choose(rng).expect("not empty");
                attributes[point] = json!(true);
            }
            attributes
        }
        70..95 => {
            record["plugin"] = json!("player-tracker");
            json!({"Shots": rng.random_range(1..=30u32), "NetApproach": rng.random_bool(0.15)})
        }
        _ => {
            record["plugin"] = json!("ace-detector");
            json!({"Ace": true})
        }
    };
    record["attributes"] = attributes;
    (end_ms + rng.random_range(200..2_000), record)
}
