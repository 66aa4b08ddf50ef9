//! End-to-end tests of the contract (SEMANTICS §3, §4, §5, §7 and §8, with the readings of
//! `docs/semantics-decisions.md`) through the `reeltime process` binary.
//!
//! Each test writes a small event log, runs the binary on it into a temporary directory and
//! checks the written views: `selection.json`, `segments.json`, `event.json`,
//! `notifications.jsonl` and `dead-letter.jsonl`. A test that looks at a state in the middle
//! of a log runs the binary on that prefix of the log.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Map, Value};

/// The event of most tests.
const EVENT: &str = "e1";
/// The profile of most tests.
const PROFILE: &str = "prof";
/// The classifier of every segment record.
const CLASSIFIER: &str = "seg";
/// The featurer of most detections.
const FEATURER: &str = "feat";
/// The optimizer of every optimization record.
const OPTIMIZER: &str = "opt";
/// The labeler of every label record.
const LABELER: &str = "lab";

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

/// What one run of `reeltime process` wrote.
struct Output {
    dir: tempfile::TempDir,
    stdout: String,
}

impl Output {
    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn read_json(&self, path: &Path) -> Option<Value> {
        let text = std::fs::read_to_string(self.out().join(path)).ok()?;
        Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} is not JSON: {e}")))
    }

    fn read_json_lines(&self, name: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(self.out().join(name))
            .unwrap_or_else(|e| panic!("{name} was not written: {e}"));
        text.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect()
    }

    /// `replays/<id>/selection.json`, if written.
    fn try_selection(&self, replay_id: &str) -> Option<Value> {
        self.read_json(&Path::new("replays").join(replay_id).join("selection.json"))
    }

    /// `replays/<id>/selection.json`, which must have been written.
    fn selection(&self, replay_id: &str) -> Value {
        self.try_selection(replay_id)
            .unwrap_or_else(|| panic!("no selection.json for replay {replay_id:?}"))
    }

    /// `events/<id>/segments.json`, if written.
    fn try_segments_of(&self, event_id: &str) -> Option<Value> {
        self.read_json(&Path::new("events").join(event_id).join("segments.json"))
    }

    /// The segments of `event_id`, whose `segments.json` must have been written.
    fn segments_of(&self, event_id: &str) -> Vec<Value> {
        let doc = self
            .try_segments_of(event_id)
            .unwrap_or_else(|| panic!("no segments.json for event {event_id:?}"));
        assert_eq!(doc["event_id"], event_id);
        doc["segments"].as_array().expect("a list of segments").clone()
    }

    /// The segments of [`EVENT`].
    fn segments(&self) -> Vec<Value> {
        self.segments_of(EVENT)
    }

    /// The segment of [`EVENT`] that starts at `start`, which must be there.
    fn segment(&self, start: f64) -> Value {
        self.try_segment(start).unwrap_or_else(|| panic!("no segment at {start}"))
    }

    /// The segment of [`EVENT`] that starts at `start`, if there is one.
    fn try_segment(&self, start: f64) -> Option<Value> {
        self.segments().into_iter().find(|s| secs(&s["start"]) == start)
    }

    /// `events/<id>/event.json`, if written.
    fn event(&self, event_id: &str) -> Option<Value> {
        self.read_json(&Path::new("events").join(event_id).join("event.json"))
    }

    fn notifications(&self) -> Vec<Value> {
        self.read_json_lines("notifications.jsonl")
    }

    /// The notifications of one type.
    fn notifications_of(&self, kind: &str) -> Vec<Value> {
        self.notifications().into_iter().filter(|n| n["type"] == kind).collect()
    }

    /// `(version, clips_changed)` of every `replay_updated` of a replay, in order.
    fn versions(&self, replay_id: &str) -> Vec<(u64, bool)> {
        self.notifications_of("replay_updated")
            .iter()
            .filter(|n| n["replay_id"] == replay_id)
            .map(|n| (n["version"].as_u64().unwrap(), n["clips_changed"].as_bool().unwrap()))
            .collect()
    }

    fn dead_letters(&self) -> Vec<Value> {
        self.read_json_lines("dead-letter.jsonl")
    }

    /// The positions of the dead-letter entries.
    fn rejected_lines(&self) -> Vec<u64> {
        self.dead_letters().iter().map(|d| d["position"].as_u64().expect("a line number")).collect()
    }
}

/// Runs `reeltime process` on a log given as bytes, with extra arguments; the run must succeed.
fn process(log: &[u8], args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log_path = dir.path().join("log.jsonl");
    std::fs::write(&log_path, log).expect("the log is written");
    let result = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .arg("process")
        .arg("--log")
        .arg(&log_path)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--quiet")
        .args(args)
        .output()
        .expect("reeltime runs");
    let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
    assert_eq!(
        result.status.code(),
        Some(0),
        "reeltime process failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    Output { dir, stdout }
}

/// The log of these records, one line each.
fn jsonl(records: &[Value]) -> Vec<u8> {
    let mut log = Vec::new();
    for record in records {
        log.extend_from_slice(record.to_string().as_bytes());
        log.push(b'\n');
    }
    log
}

/// The log of these lines.
fn lines(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut log = Vec::new();
    for line in lines {
        log.extend_from_slice(line);
        log.push(b'\n');
    }
    log
}

/// Runs the records as one log (all in one epoch).
fn run(records: &[Value]) -> Output {
    process(&jsonl(records), &[])
}

/// Runs the records with one record per epoch, so every record that changes a view shows.
fn run_per_record(records: &[Value]) -> Output {
    process(&jsonl(records), &["--epoch-records", "1"])
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/// `record` with `fields` added or replaced.
fn with(mut record: Value, fields: Value) -> Value {
    let target = record.as_object_mut().expect("a record is an object");
    for (key, value) in fields.as_object().expect("fields are an object") {
        target.insert(key.clone(), value.clone());
    }
    record
}

/// A profile without an optimizer.
fn profile() -> Value {
    json!({"type": "profile", "name": PROFILE, "chunk_size": 10, "processing_fps": 5,
           "max_segment_length": 120, "classifier": {"plugin": CLASSIFIER},
           "labeler": {"plugin": LABELER}, "featurers": [{"plugin": FEATURER}]})
}

/// A profile with an optimizer: segments are candidates only once optimized.
fn profile_with_optimizer() -> Value {
    with(profile(), json!({"optimizer": {"plugin": OPTIMIZER, "search_window": 2}}))
}

fn event(status: &str) -> Value {
    json!({"type": "event", "event_id": EVENT, "profile": PROFILE, "status": status})
}

/// A complete segment without attributes.
fn segment(start: f64, end: f64) -> Value {
    json!({"type": "segment", "event_id": EVENT, "plugin": CLASSIFIER, "start": start, "end": end})
}

/// A complete segment with classifier attributes.
fn segment_with(start: f64, end: f64, attributes: Value) -> Value {
    with(segment(start, end), json!({ "attributes": attributes }))
}

/// An open segment (no `end`).
fn open_segment(start: f64) -> Value {
    json!({"type": "segment", "event_id": EVENT, "plugin": CLASSIFIER, "start": start})
}

fn delete_segment(start: f64) -> Value {
    json!({"type": "segment", "event_id": EVENT, "plugin": CLASSIFIER, "start": start,
           "deleted": true})
}

/// A video detection (no track) of [`FEATURER`] at one instant.
fn detection(start: f64, attributes: Value) -> Value {
    json!({"type": "detection", "event_id": EVENT, "plugin": FEATURER, "start": start,
           "attributes": attributes})
}

/// An optimization of the segment at `start` on track 1 (track absent).
fn optimization(start: f64, opto_start: f64, opto_end: f64) -> Value {
    json!({"type": "optimization", "event_id": EVENT, "plugin": OPTIMIZER, "start": start,
           "opto_start": opto_start, "opto_end": opto_end})
}

fn optimization_on(track: u32, start: f64, opto_start: f64, opto_end: f64) -> Value {
    with(optimization(start, opto_start, opto_end), json!({ "track": track }))
}

fn label(start: f64, text: &str, attributes: Value) -> Value {
    json!({"type": "label", "event_id": EVENT, "plugin": LABELER, "start": start,
           "label": text, "attributes": attributes})
}

/// Feedback on track 1 (track absent).
fn feedback(start: f64, verdict: &str) -> Value {
    json!({"type": "feedback", "event_id": EVENT, "start": start, "verdict": verdict})
}

fn delete(kind: &str, id: &str) -> Value {
    json!({"type": "delete", "kind": kind, "id": id})
}

/// A catch-up replay of [`EVENT`] with more fields.
fn replay(replay_id: &str, fields: Value) -> Value {
    with(
        json!({"type": "replay", "replay_id": replay_id, "event_id": EVENT, "catchup": true}),
        fields,
    )
}

/// A catch-up replay in duration mode.
fn duration_replay(replay_id: &str, duration: f64, tolerance: f64, priorities: Value) -> Value {
    replay(
        replay_id,
        json!({"mode": "duration", "duration": duration, "tolerance": tolerance,
               "priorities": priorities}),
    )
}

/// A catch-up replay that selects every candidate with `attribute: true` (weight 10).
fn replay_of_all(replay_id: &str, attribute: &str) -> Value {
    duration_replay(replay_id, 10_000.0, 0.0, json!([{"attribute": attribute, "weight": 10}]))
}

/// Complete segments given as `(start, end, score)`: segment `i` carries the classifier
/// attribute `S<i>: true`, and the returned priorities give `S<i>` its score as weight.
fn scored(segments: &[(f64, f64, u32)]) -> (Vec<Value>, Value) {
    let mut records = Vec::new();
    let mut priorities = Vec::new();
    for (i, &(start, end, score)) in segments.iter().enumerate() {
        let mut attributes = Map::new();
        attributes.insert(format!("S{i}"), Value::Bool(true));
        records.push(segment_with(start, end, Value::Object(attributes)));
        priorities.push(json!({"attribute": format!("S{i}"), "weight": score}));
    }
    (records, Value::Array(priorities))
}

/// The profile and a started event, then `records`.
fn started(records: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut log = vec![profile(), event("started")];
    log.extend(records);
    log
}

// ---------------------------------------------------------------------------------------------
// Reading views
// ---------------------------------------------------------------------------------------------

/// A time in seconds.
fn secs(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("{value} is not a number of seconds"))
}

/// The segment starts of a selection's clips, in listed order.
fn starts(selection: &Value) -> Vec<f64> {
    clips(selection).iter().map(|c| secs(&c["start"])).collect()
}

/// The clip bounds of a selection's clips, in listed order.
fn clip_bounds(selection: &Value) -> Vec<(f64, f64)> {
    clips(selection).iter().map(|c| (secs(&c["clip_start"]), secs(&c["clip_end"]))).collect()
}

/// The scores of a selection's clips, in listed order.
fn scores(selection: &Value) -> Vec<Option<u64>> {
    clips(selection).iter().map(|c| c["score"].as_u64()).collect()
}

fn clips(selection: &Value) -> Vec<Value> {
    selection["clips"].as_array().expect("a list of clips").clone()
}

fn feature(plugin: &str, attribute: &str, value: Value) -> Value {
    json!({"plugin": plugin, "attribute": attribute, "value": value})
}

// ---------------------------------------------------------------------------------------------
// §3 Segments
// ---------------------------------------------------------------------------------------------

#[test]
fn latest_segment_record_for_a_start_wins() {
    let out = run(&started([
        segment_with(10.0, 30.0, json!({"A": true})),
        segment_with(10.0, 40.0, json!({"A": true})),
        segment_with(50.0, 60.0, json!({"A": true})),
        json!({"type": "event", "event_id": "e2", "profile": PROFILE, "status": "started"}),
        json!({"type": "segment", "event_id": "e2", "plugin": CLASSIFIER, "start": 10,
               "end": 90, "attributes": {"A": true}}),
        replay_of_all("r1", "A"),
    ]));
    let segments = out.segments();
    assert_eq!(segments.len(), 2, "one segment per (event, start): {segments:?}");
    assert_eq!(secs(&out.segment(10.0)["end"]), 40.0);
    assert_eq!(out.segment(10.0)["complete"], true);
    assert_eq!(out.segments_of("e2").len(), 1);
    let selection = out.selection("r1");
    assert_eq!(clip_bounds(&selection), vec![(10.0, 40.0), (50.0, 60.0)]);
    assert_eq!(secs(&selection["total_duration"]), 40.0);
}

#[test]
fn a_correction_replaces_the_segment_attributes_whole() {
    let out = run(&started([
        segment_with(10.0, 30.0, json!({"A": true, "B": true})),
        segment_with(10.0, 30.0, json!({"A": true})),
        duration_replay(
            "r1",
            100.0,
            0.0,
            json!([{"attribute": "A", "weight": 10}, {"attribute": "B", "weight": 20}]),
        ),
    ]));
    let segment = out.segment(10.0);
    assert_eq!(segment["attributes"], json!({"A": true}));
    assert_eq!(segment["features"]["1"], json!([feature(CLASSIFIER, "A", json!(true))]));
    assert_eq!(scores(&out.selection("r1")), vec![Some(10)]);
}

#[test]
fn a_record_without_end_reopens_a_complete_segment() {
    let log = started([
        replay_of_all("r1", "A"),
        segment_with(10.0, 30.0, json!({"A": true})),
        json!({"type": "segment", "event_id": EVENT, "plugin": CLASSIFIER, "start": 10,
               "attributes": {"A": true}}),
    ]);
    let complete = run(&log[..4]);
    assert_eq!(starts(&complete.selection("r1")), vec![10.0]);

    let out = run_per_record(&log);
    let segment = out.segment(10.0);
    assert_eq!(segment["complete"], false);
    assert_eq!(segment["end"], Value::Null);
    assert!(clips(&out.selection("r1")).is_empty(), "an open segment is not a candidate");
    let lifecycle: Vec<&str> = out
        .notifications()
        .iter()
        .filter_map(|n| n["type"].as_str().filter(|t| t.starts_with("segment_")))
        .map(|t| match t {
            "segment_started" => "started",
            "segment_completed" => "completed",
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(lifecycle, vec!["completed", "started"]);
}

#[test]
fn an_end_equal_to_the_start_reopens_a_complete_segment() {
    let out = run(&started([
        replay_of_all("r1", "A"),
        segment_with(10.0, 30.0, json!({"A": true})),
        segment_with(10.0, 10.0, json!({"A": true})),
    ]));
    assert_eq!(out.segment(10.0)["complete"], false);
    assert!(clips(&out.selection("r1")).is_empty());
}

#[test]
fn an_end_before_the_start_is_rejected_and_changes_nothing() {
    let out = run(&started([
        replay_of_all("r1", "A"),
        segment_with(10.0, 30.0, json!({"A": true})),
        segment_with(10.0, 9.0, json!({"A": true})),
    ]));
    assert_eq!(out.rejected_lines(), vec![5]);
    assert_eq!(secs(&out.segment(10.0)["end"]), 30.0);
    assert_eq!(clip_bounds(&out.selection("r1")), vec![(10.0, 30.0)]);
}

#[test]
fn the_latest_optimization_per_start_and_track_sets_the_clip_bounds() {
    let out = run(&[
        profile_with_optimizer(),
        with(event("started"), json!({"audio_tracks": [1, 2]})),
        segment_with(10.0, 30.0, json!({"A": true})),
        optimization(10.0, 9.5, 30.2),
        optimization_on(2, 10.0, 8.0, 32.0),
        optimization_on(1, 10.0, 9.0, 31.0),
        replay_of_all("r1", "A"),
        with(replay_of_all("r2", "A"), json!({"track": 2})),
    ]);
    assert_eq!(
        out.segment(10.0)["optimizations"],
        json!({"1": {"opto_start": 9.0, "opto_end": 31.0},
               "2": {"opto_start": 8.0, "opto_end": 32.0}})
    );
    let track1 = out.selection("r1");
    assert_eq!(clip_bounds(&track1), vec![(9.0, 31.0)]);
    assert_eq!(secs(&clips(&track1)[0]["start"]), 10.0, "start and end stay the segment's");
    assert_eq!(secs(&clips(&track1)[0]["end"]), 30.0);
    assert_eq!(secs(&track1["total_duration"]), 22.0);
    assert_eq!(clip_bounds(&out.selection("r2")), vec![(8.0, 32.0)]);
}

#[test]
fn an_invalid_optimization_is_rejected_and_the_earlier_one_stays() {
    let out = run(&[
        profile_with_optimizer(),
        event("started"),
        segment_with(10.0, 30.0, json!({"A": true})),
        optimization(10.0, 9.5, 30.2),
        optimization(10.0, 12.0, 12.0),
        optimization(10.0, 12.0, 11.0),
        replay_of_all("r1", "A"),
    ]);
    assert_eq!(out.rejected_lines(), vec![5, 6]);
    assert_eq!(
        out.segment(10.0)["optimizations"],
        json!({"1": {"opto_start": 9.5, "opto_end": 30.2}})
    );
    assert_eq!(clip_bounds(&out.selection("r1")), vec![(9.5, 30.2)]);
}

#[test]
fn optimizations_labels_and_feedback_outlive_a_deleted_or_replaced_segment() {
    let log = [
        profile_with_optimizer(),
        event("started"),
        with(duration_replay("r1", 100.0, 0.0, json!([])), json!({"include_liked": true})),
        segment(10.0, 30.0),
        optimization(10.0, 9.5, 30.5),
        label(10.0, "15-0", json!({})),
        feedback(10.0, "like"),
        segment(10.0, 28.0),
        delete_segment(10.0),
        segment(10.0, 29.0),
        // An optimization that comes before its segment applies once the segment arrives.
        optimization(50.0, 49.0, 61.0),
        segment(50.0, 60.0),
        feedback(50.0, "like"),
    ];

    let replaced = run(&log[..8]);
    assert_eq!(
        replaced.segment(10.0)["optimizations"],
        json!({"1": {"opto_start": 9.5, "opto_end": 30.5}})
    );
    assert_eq!(replaced.segment(10.0)["label"], "15-0");
    assert_eq!(clip_bounds(&replaced.selection("r1")), vec![(9.5, 30.5)]);

    let deleted = run(&log[..9]);
    assert!(deleted.try_segment(10.0).is_none());
    assert!(clips(&deleted.selection("r1")).is_empty());

    let out = run(&log);
    let segment = out.segment(10.0);
    assert_eq!(secs(&segment["end"]), 29.0);
    assert_eq!(segment["optimizations"], json!({"1": {"opto_start": 9.5, "opto_end": 30.5}}));
    assert_eq!(segment["label"], "15-0");
    assert_eq!(segment["label_plugin"], LABELER);
    assert_eq!(segment["feedback"], json!({"1": "like"}));
    let selection = out.selection("r1");
    assert_eq!(clip_bounds(&selection), vec![(9.5, 30.5), (49.0, 61.0)]);
    assert!(clips(&selection).iter().all(|c| c["forced"] == true && c["score"] == 0));
}

#[test]
fn with_an_optimizer_only_segments_optimized_for_the_track_are_candidates() {
    let out = run(&[
        profile_with_optimizer(),
        with(event("started"), json!({"audio_tracks": [1, 2]})),
        segment_with(10.0, 20.0, json!({"A": true})),
        segment_with(30.0, 40.0, json!({"A": true})),
        segment_with(50.0, 60.0, json!({"A": true})),
        optimization_on(1, 10.0, 9.0, 21.0),
        optimization_on(2, 30.0, 29.0, 41.0),
        replay_of_all("r1", "A"),
        with(replay_of_all("r2", "A"), json!({"track": 2})),
    ]);
    assert_eq!(starts(&out.selection("r1")), vec![10.0]);
    assert_eq!(starts(&out.selection("r2")), vec![30.0]);
    assert_eq!(out.segments().len(), 3, "unoptimized segments are still in the segment view");
}

#[test]
fn an_optimization_sets_the_clip_bounds_even_without_an_optimizer() {
    let out = run(&started([
        segment_with(10.0, 20.0, json!({"A": true})),
        segment_with(30.0, 40.0, json!({"A": true})),
        optimization(10.0, 4.0, 21.5),
        replay_of_all("r1", "A"),
        // The optimized clip (17.5 s) does not fit in 15 s although the segment (10 s) would.
        duration_replay("r2", 15.0, 0.0, json!([{"attribute": "A", "weight": 1}])),
    ]));
    let selection = out.selection("r1");
    assert_eq!(clip_bounds(&selection), vec![(4.0, 21.5), (30.0, 40.0)]);
    assert_eq!(secs(&selection["total_duration"]), 27.5);
    assert_eq!(clip_bounds(&out.selection("r2")), vec![(30.0, 40.0)]);
}

#[test]
fn an_open_segment_is_not_a_candidate_but_has_features_at_its_start() {
    let out = run(&started([
        open_segment(10.0),
        detection(10.0, json!({"A": true})),
        detection(10.5, json!({"B": true})),
        replay_of_all("r1", "A"),
    ]));
    let segment = out.segment(10.0);
    assert_eq!(segment["complete"], false);
    assert_eq!(segment["features"]["1"], json!([feature(FEATURER, "A", json!(true))]));
    assert!(clips(&out.selection("r1")).is_empty());
}

#[test]
fn a_segment_delete_removes_it_and_everything_downstream() {
    let log = started([
        segment_with(10.0, 20.0, json!({"A": true})),
        segment_with(30.0, 40.0, json!({"A": true})),
        replay_of_all("r1", "A"),
        delete_segment(10.0),
        delete_segment(70.0),
    ]);
    let before = run(&log[..5]);
    assert_eq!(starts(&before.selection("r1")), vec![10.0, 30.0]);

    let out = run(&log);
    let segments = out.segments();
    assert_eq!(segments.len(), 1);
    assert_eq!(secs(&segments[0]["start"]), 30.0);
    let selection = out.selection("r1");
    assert_eq!(starts(&selection), vec![30.0]);
    assert_eq!(secs(&selection["total_duration"]), 10.0);
    assert_eq!(selection["total_score"], 10);
    assert!(out.dead_letters().is_empty(), "deleting an absent segment is not an error");

    let back = run(&[log, vec![segment_with(10.0, 20.0, json!({"A": true}))]].concat());
    assert_eq!(starts(&back.selection("r1")), vec![10.0, 30.0]);
}

#[test]
fn the_latest_label_wins_and_replaces_its_attributes_whole() {
    let out = run(&started([
        segment(10.0, 30.0),
        label(10.0, "15-0", json!({"X": true})),
        label(10.0, "30-0", json!({"Break": true})),
    ]));
    let segment = out.segment(10.0);
    assert_eq!(segment["label"], "30-0");
    assert_eq!(segment["label_attributes"], json!({"Break": true}));
    assert_eq!(segment["features"]["1"], json!([feature(LABELER, "Break", json!(true))]));
}

#[test]
fn deleted_on_other_types_and_unknown_fields_change_nothing() {
    let deleted = json!({"deleted": true, "note": "an unknown field"});
    let out = run(&started([
        with(segment_with(10.0, 30.0, json!({"A": true})), json!({"note": "kept for exports"})),
        with(label(10.0, "15-0", json!({})), deleted.clone()),
        with(optimization(10.0, 9.0, 31.0), deleted.clone()),
        with(feedback(10.0, "like"), deleted.clone()),
        with(
            replay(
                "r1",
                json!({"mode": "duration", "duration": 100, "include_liked": true,
                                "priorities": [{"attribute": "A", "weight": 3, "Name": "Ace"}]}),
            ),
            deleted,
        ),
    ]));
    assert!(out.dead_letters().is_empty(), "{:#?}", out.dead_letters());
    let segment = out.segment(10.0);
    assert_eq!(segment["label"], "15-0");
    assert_eq!(segment["optimizations"], json!({"1": {"opto_start": 9.0, "opto_end": 31.0}}));
    assert_eq!(segment["feedback"], json!({"1": "like"}));
    assert_eq!(segment["features"]["1"], json!([feature(CLASSIFIER, "A", json!(true))]));
    let selection = out.selection("r1");
    assert_eq!(clip_bounds(&selection), vec![(9.0, 31.0)]);
    assert_eq!(scores(&selection), vec![Some(3)]);
    assert_eq!(clips(&selection)[0]["forced"], true);
}

#[test]
fn segments_are_shown_before_their_event_arrives() {
    let out = run(&[segment_with(10.0, 20.0, json!({"A": true}))]);
    assert!(out.event(EVENT).is_none());
    let segments = out.segments();
    assert_eq!(segments.len(), 1);
    assert_eq!(segments[0]["features"], json!({"1": [feature(CLASSIFIER, "A", json!(true))]}));
}

#[test]
fn the_segment_view_has_features_for_every_track_it_names() {
    let out = run(&[
        profile(),
        event("started"),
        json!({"type": "event", "event_id": "video", "profile": PROFILE, "status": "started",
               "audio_tracks": []}),
        segment(10.0, 30.0),
        optimization_on(3, 10.0, 9.0, 31.0),
        with(feedback(10.0, "dislike"), json!({"track": 4})),
        with(detection(12.0, json!({"A": true})), json!({"track": 5})),
        with(detection(50.0, json!({"B": true})), json!({"track": 6})),
        json!({"type": "segment", "event_id": "video", "plugin": CLASSIFIER, "start": 10,
               "end": 30}),
    ]);
    assert_eq!(
        out.segment(10.0)["features"],
        json!({"1": [], "3": [], "4": [], "5": [feature(FEATURER, "A", json!(true))]})
    );
    assert_eq!(out.segments_of("video")[0]["features"], json!({"1": []}));
}

#[test]
fn lifecycle_changes_are_notified_once_each() {
    let out = run_per_record(&[
        profile_with_optimizer(),
        event("scheduled"),
        event("started"),
        open_segment(10.0),
        segment(10.0, 20.0),
        optimization(10.0, 9.0, 21.0),
        segment(10.0, 22.0),
        optimization(10.0, 9.0, 21.0),
        segment(10.0, 22.0),
        event("ended"),
        json!({"type": "event", "event_id": "e2", "profile": PROFILE, "status": "ended"}),
    ]);
    assert_eq!(
        out.notifications(),
        vec![
            json!({"type": "event_started", "epoch": 2, "event_id": EVENT}),
            json!({"type": "segment_started", "epoch": 3, "event_id": EVENT, "start": 10.0}),
            json!({"type": "segment_completed", "epoch": 4, "event_id": EVENT, "start": 10.0,
                   "end": 20.0}),
            json!({"type": "segment_optimized", "epoch": 5, "event_id": EVENT, "start": 10.0,
                   "track": 1, "opto_start": 9.0, "opto_end": 21.0}),
            json!({"type": "segment_completed", "epoch": 6, "event_id": EVENT, "start": 10.0,
                   "end": 22.0}),
            json!({"type": "event_ended", "epoch": 9, "event_id": EVENT}),
            json!({"type": "event_ended", "epoch": 10, "event_id": "e2"}),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// §4 Features
// ---------------------------------------------------------------------------------------------

#[test]
fn data_points_are_detections_starting_within_the_segment_both_ends_inclusive() {
    let out = run(&started([
        segment(10.0, 30.0),
        detection(10.0, json!({"AtStart": true})),
        detection(30.0, json!({"AtEnd": true})),
        detection(9.999, json!({"Before": true})),
        detection(30.001, json!({"After": true})),
        with(detection(9.0, json!({"Overlapping": true})), json!({"end": 12})),
        with(detection(29.0, json!({"RunningOver": true})), json!({"end": 40})),
        detection(20.0, json!({"Inside": true})),
    ]));
    let segment = out.segment(10.0);
    let names: Vec<&str> = segment["features"]["1"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["attribute"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["AtEnd", "AtStart", "Inside", "RunningOver"]);
}

#[test]
fn a_video_detection_applies_to_every_track_an_audio_one_to_its_own() {
    let out = run(&[
        profile(),
        with(event("started"), json!({"audio_tracks": [1, 2]})),
        segment(10.0, 30.0),
        detection(12.0, json!({"Video": true})),
        with(detection(14.0, json!({"Loud": true})), json!({"track": 2})),
        with(detection(16.0, json!({"Quiet": true})), json!({"track": 1})),
        replay_of_all("r1", "Loud"),
        with(replay_of_all("r2", "Loud"), json!({"track": 2})),
        replay_of_all("r3", "Video"),
        with(replay_of_all("r4", "Video"), json!({"track": 2})),
    ]);
    let features = &out.segment(10.0)["features"];
    assert_eq!(
        features["1"],
        json!([feature(FEATURER, "Quiet", json!(true)), feature(FEATURER, "Video", json!(true))])
    );
    assert_eq!(
        features["2"],
        json!([feature(FEATURER, "Loud", json!(true)), feature(FEATURER, "Video", json!(true))])
    );
    assert!(clips(&out.selection("r1")).is_empty());
    assert_eq!(starts(&out.selection("r2")), vec![10.0]);
    assert_eq!(out.selection("r2")["track"], 2);
    assert_eq!(starts(&out.selection("r3")), vec![10.0]);
    assert_eq!(starts(&out.selection("r4")), vec![10.0]);
}

#[test]
fn classifier_and_labeler_attributes_are_features_label_texts_are_not() {
    let out = run(&started([
        segment_with(10.0, 30.0, json!({"Server": "Federer"})),
        label(10.0, "Deuce", json!({"Break": true})),
        with(detection(12.0, json!({"Speed": 203})), json!({"label": "Ace"})),
        duration_replay(
            "r1",
            100.0,
            0.0,
            json!([
                {"attribute": "Ace", "weight": 1},
                {"attribute": "label", "value": "Deuce", "weight": 2},
                {"attribute": "label", "value": "Ace", "weight": 4},
                {"plugin": CLASSIFIER, "attribute": "Break", "weight": 8},
                {"plugin": LABELER, "attribute": "Break", "weight": 16},
                {"plugin": CLASSIFIER, "attribute": "Server", "value": "Federer", "weight": 32},
                {"attribute": "Speed", "value": 203.0, "weight": 64},
            ]),
        ),
    ]));
    assert_eq!(
        out.segment(10.0)["features"]["1"],
        json!([
            feature(FEATURER, "Speed", json!(203)),
            feature(LABELER, "Break", json!(true)),
            feature(CLASSIFIER, "Server", json!("Federer")),
        ])
    );
    let selection = out.selection("r1");
    assert_eq!(scores(&selection), vec![Some(16 + 32 + 64)]);
    assert_eq!(
        clips(&selection)[0]["features"],
        json!([
            feature(FEATURER, "Speed", json!(203)),
            feature(LABELER, "Break", json!(true)),
            feature(CLASSIFIER, "Server", json!("Federer")),
        ])
    );
}

#[test]
fn every_detection_counts_whatever_priority_for_replay_says() {
    let late_featurer =
        json!([{"plugin": FEATURER}, {"plugin": "ace", "priority_for_replay": false}]);
    let out = run(&[
        with(profile(), json!({ "featurers": late_featurer })),
        event("started"),
        segment(10.0, 30.0),
        json!({"type": "detection", "event_id": EVENT, "plugin": "ace", "start": 12,
               "attributes": {"Ace": true}}),
        replay_of_all("r1", "Ace"),
    ]);
    assert_eq!(starts(&out.selection("r1")), vec![10.0]);
}

#[test]
fn a_late_detection_updates_a_completed_replay() {
    let log = [
        profile(),
        event("started"),
        replay_of_all("catchup", "A"),
        with(replay_of_all("after", "A"), json!({"catchup": false})),
        segment_with(10.0, 20.0, json!({"A": true})),
        segment(30.0, 40.0),
        event("ended"),
        detection(35.0, json!({"A": true})),
    ];
    let ended = run(&log[..7]);
    assert_eq!(ended.selection("after")["status"], "complete");
    assert_eq!(starts(&ended.selection("after")), vec![10.0]);
    assert_eq!(starts(&ended.selection("catchup")), vec![10.0]);

    let out = run_per_record(&log);
    for replay_id in ["after", "catchup"] {
        let selection = out.selection(replay_id);
        assert_eq!(selection["status"], "complete");
        assert_eq!(starts(&selection), vec![10.0, 30.0], "{replay_id}");
        assert_eq!(
            out.versions(replay_id).last(),
            Some(&(selection["version"].as_u64().unwrap(), true))
        );
    }
    assert_eq!(out.segment(30.0)["features"]["1"], json!([feature(FEATURER, "A", json!(true))]));
}

#[test]
fn identical_detections_are_one_fact() {
    let original =
        with(detection(12.0, json!({"A": true, "B": 1})), json!({"end": 14, "label": "x"}));
    // The same fact: other key order, another way to write the same numbers, an unknown field.
    let duplicate: Value = serde_json::from_str(
        r#"{"attributes":{"B":1.0,"A":true},"label":"x","end":14.0,"start":12.0,"plugin":"feat",
            "event_id":"e1","type":"detection","note":"redelivered"}"#,
    )
    .unwrap();
    let log = started([
        segment(10.0, 30.0),
        replay_of_all("r1", "A"),
        original.clone(),
        duplicate,
        with(original, json!({"deleted": true})),
    ]);
    let duplicated = run_per_record(&log[..6]);
    assert_eq!(starts(&duplicated.selection("r1")), vec![10.0]);
    assert_eq!(
        duplicated.versions("r1").len(),
        2,
        "the duplicate makes no new version: {:?}",
        duplicated.versions("r1")
    );

    let out = run(&log);
    assert_eq!(out.segment(10.0)["features"]["1"], json!([]), "one delete removes the one fact");
    assert!(clips(&out.selection("r1")).is_empty());
}

#[test]
fn a_detection_delete_removes_only_the_identical_detection_and_sending_it_again_brings_it_back() {
    let fact = with(detection(12.0, json!({"A": true})), json!({"end": 14, "label": "x"}));
    let deleted = |fields: Value| with(with(fact.clone(), fields), json!({"deleted": true}));
    let mut without_label = deleted(json!({}));
    without_label.as_object_mut().unwrap().remove("label");
    let log = started([
        segment(10.0, 30.0),
        replay_of_all("r1", "A"),
        fact.clone(),
        deleted(json!({"end": 15})),
        deleted(json!({"track": 1})),
        deleted(json!({"label": "y"})),
        without_label,
        deleted(json!({"attributes": {"A": 1}})),
        deleted(json!({"plugin": "other"})),
        deleted(json!({"start": 13})),
        deleted(json!({"attributes": {"Never": true}})),
    ]);
    let kept = run(&log);
    assert!(kept.dead_letters().is_empty());
    assert_eq!(kept.segment(10.0)["features"]["1"], json!([feature(FEATURER, "A", json!(true))]));
    assert_eq!(starts(&kept.selection("r1")), vec![10.0]);

    let exact = with(deleted(json!({})), json!({"note": "unknown fields do not count"}));
    let removed = run(&[log.clone(), vec![exact.clone()]].concat());
    assert_eq!(removed.segment(10.0)["features"]["1"], json!([]));
    assert!(clips(&removed.selection("r1")).is_empty());

    let back = run(&[log, vec![exact, fact]].concat());
    assert_eq!(back.segment(10.0)["features"]["1"], json!([feature(FEATURER, "A", json!(true))]));
    assert_eq!(starts(&back.selection("r1")), vec![10.0]);
}

// ---------------------------------------------------------------------------------------------
// §5 Replays: matching and scores
// ---------------------------------------------------------------------------------------------

#[test]
fn values_compare_as_json_values() {
    let out = run(&started([
        segment_with(10.0, 30.0, json!({"N": 1, "B": true, "S": "1", "F": 1.5})),
        segment_with(40.0, 50.0, json!({"B": true})),
        duration_replay(
            "r1",
            1000.0,
            0.0,
            json!([
                {"attribute": "N", "value": 1.0, "weight": 1},
                {"attribute": "B", "value": 1, "weight": 2},
                {"attribute": "N", "value": true, "weight": 4},
                {"attribute": "S", "value": 1, "weight": 8},
                {"attribute": "S", "value": "1", "weight": 16},
                {"attribute": "F", "value": 1.5, "weight": 32},
            ]),
        ),
    ]));
    let selection = out.selection("r1");
    assert_eq!(starts(&selection), vec![10.0], "`true` never equals `1`");
    assert_eq!(scores(&selection), vec![Some(1 + 16 + 32)]);
    assert_eq!(
        clips(&selection)[0]["features"],
        json!([
            feature(CLASSIFIER, "F", json!(1.5)),
            feature(CLASSIFIER, "N", json!(1)),
            feature(CLASSIFIER, "S", json!("1")),
        ])
    );
}

#[test]
fn integral_values_are_equal_however_they_are_written() {
    let out = run(&started([
        segment_with(10.0, 30.0, json!({"N": 2.0})),
        detection(12.0, json!({"N": 2})),
        duration_replay("r1", 100.0, 0.0, json!([{"attribute": "N", "value": 2, "weight": 5}])),
    ]));
    assert_eq!(
        out.segment(10.0)["features"]["1"],
        json!([feature(FEATURER, "N", json!(2)), feature(CLASSIFIER, "N", json!(2))])
    );
    assert_eq!(scores(&out.selection("r1")), vec![Some(5)]);
}

#[test]
fn a_priority_with_a_plugin_matches_only_that_plugin() {
    let out = run(&started([
        segment(10.0, 30.0),
        json!({"type": "detection", "event_id": EVENT, "plugin": "p1", "start": 12,
               "attributes": {"A": true}}),
        json!({"type": "detection", "event_id": EVENT, "plugin": "p2", "start": 14,
               "attributes": {"B": true}}),
        duration_replay(
            "r1",
            100.0,
            0.0,
            json!([
                {"plugin": "p1", "attribute": "A", "weight": 1},
                {"plugin": "p2", "attribute": "A", "weight": 2},
                {"attribute": "A", "weight": 4},
                {"plugin": "p2", "attribute": "B", "weight": 8},
                {"plugin": "p1", "attribute": "B", "weight": 16},
            ]),
        ),
        duration_replay("r2", 100.0, 0.0, json!([{"plugin": "p2", "attribute": "A", "weight": 1}])),
    ]));
    assert_eq!(scores(&out.selection("r1")), vec![Some(1 + 4 + 8)]);
    assert!(clips(&out.selection("r2")).is_empty());
}

#[test]
fn an_entry_counts_once_per_segment_but_identical_entries_each_count() {
    let out = run(&started([
        segment_with(10.0, 30.0, json!({"A": true})),
        detection(12.0, json!({"A": true})),
        detection(20.0, json!({"A": true})),
        json!({"type": "detection", "event_id": EVENT, "plugin": "p2", "start": 14,
               "attributes": {"A": true}}),
        duration_replay("once", 100.0, 0.0, json!([{"attribute": "A", "weight": 10}])),
        duration_replay(
            "twice",
            100.0,
            0.0,
            json!([{"attribute": "A", "weight": 10}, {"attribute": "A", "weight": 10}]),
        ),
    ]));
    let once = out.selection("once");
    assert_eq!(scores(&once), vec![Some(10)]);
    assert_eq!(once["total_score"], 10);
    assert_eq!(
        clips(&once)[0]["features"],
        json!([
            feature(FEATURER, "A", json!(true)),
            feature("p2", "A", json!(true)),
            feature(CLASSIFIER, "A", json!(true)),
        ])
    );
    assert_eq!(scores(&out.selection("twice")), vec![Some(20)]);
}

#[test]
fn a_candidate_needs_a_matching_entry() {
    let out = run(&started([
        segment_with(10.0, 20.0, json!({"A": true})),
        segment_with(30.0, 40.0, json!({"B": true})),
        segment(50.0, 60.0),
        duration_replay("r1", 1000.0, 0.0, json!([{"attribute": "A", "weight": 1}])),
        duration_replay("empty", 1000.0, 0.0, json!([])),
    ]));
    assert_eq!(starts(&out.selection("r1")), vec![10.0]);
    assert!(clips(&out.selection("empty")).is_empty());
}

// ---------------------------------------------------------------------------------------------
// §5 Replays: rank order and duration mode
// ---------------------------------------------------------------------------------------------

#[test]
fn a_higher_score_ranks_first() {
    let (segments, priorities) = scored(&[(10.0, 20.0, 10), (30.0, 40.0, 20), (50.0, 60.0, 15)]);
    let out =
        run(&started(segments.into_iter().chain([duration_replay("r1", 10.0, 0.0, priorities)])));
    assert_eq!(starts(&out.selection("r1")), vec![30.0]);
}

#[test]
fn equal_scores_rank_by_clip_start_before_segment_start() {
    let (segments, priorities) = scored(&[(10.0, 20.0, 5), (30.0, 40.0, 5)]);
    let out = run(&started(segments.into_iter().chain([
        optimization(10.0, 40.0, 50.0),
        optimization(30.0, 25.0, 35.0),
        duration_replay("r1", 10.0, 0.0, priorities),
    ])));
    let selection = out.selection("r1");
    assert_eq!(starts(&selection), vec![30.0]);
    assert_eq!(clip_bounds(&selection), vec![(25.0, 35.0)]);
}

#[test]
fn equal_scores_and_clip_starts_rank_by_segment_start() {
    let (segments, priorities) = scored(&[(20.0, 30.0, 5), (10.0, 20.0, 5)]);
    let out = run(&started(segments.into_iter().chain([
        optimization(20.0, 30.0, 40.0),
        optimization(10.0, 30.0, 40.0),
        duration_replay("r1", 10.0, 0.0, priorities),
    ])));
    assert_eq!(starts(&out.selection("r1")), vec![10.0]);
}

#[test]
fn the_selection_is_listed_by_clip_start_then_segment_start() {
    let (segments, priorities) = scored(&[(10.0, 20.0, 90), (30.0, 40.0, 10), (70.0, 80.0, 50)]);
    let out = run(&started(segments.into_iter().chain([
        optimization(10.0, 50.0, 60.0),
        optimization(70.0, 30.0, 40.0),
        duration_replay("r1", 1000.0, 0.0, priorities),
    ])));
    let selection = out.selection("r1");
    assert_eq!(starts(&selection), vec![30.0, 70.0, 10.0]);
    assert_eq!(clip_bounds(&selection), vec![(30.0, 40.0), (30.0, 40.0), (50.0, 60.0)]);
    assert_eq!(scores(&selection), vec![Some(10), Some(50), Some(90)]);
}

#[test]
fn the_walk_skips_a_candidate_that_does_not_fit_and_keeps_going() {
    let (segments, priorities) = scored(&[(10.0, 30.0, 100), (40.0, 55.0, 90), (60.0, 65.0, 50)]);
    let out =
        run(&started(segments.into_iter().chain([duration_replay("r1", 30.0, 0.0, priorities)])));
    let selection = out.selection("r1");
    assert_eq!(starts(&selection), vec![10.0, 60.0]);
    assert_eq!(secs(&selection["total_duration"]), 25.0);
    assert_eq!(selection["total_score"], 150);
}

#[test]
fn a_candidate_fits_when_its_duration_equals_what_is_left() {
    let (segments, priorities) = scored(&[(10.0, 30.0, 100), (40.0, 50.0, 90), (60.0, 65.0, 50)]);
    let out =
        run(&started(segments.into_iter().chain([duration_replay("r1", 25.0, 5.0, priorities)])));
    let selection = out.selection("r1");
    assert_eq!(starts(&selection), vec![10.0, 40.0]);
    assert_eq!(secs(&selection["total_duration"]), 30.0);
}

#[test]
fn all_candidates_are_taken_when_their_total_is_within_the_limit() {
    let (segments, priorities) = scored(&[(0.0, 20.0, 1), (100.0, 130.0, 2), (3000.0, 3040.0, 3)]);
    let out = run(&started(segments.into_iter().chain([
        duration_replay("r1", 60.0, 30.0, priorities.clone()),
        with(
            duration_replay("r2", 60.0, 30.0, priorities.clone()),
            json!({"equal_distribution": true}),
        ),
        duration_replay("r3", 60.0, 29.999, priorities),
    ])));
    for replay_id in ["r1", "r2"] {
        let selection = out.selection(replay_id);
        assert_eq!(starts(&selection), vec![0.0, 100.0, 3000.0], "{replay_id}");
        assert_eq!(secs(&selection["total_duration"]), 90.0);
        assert_eq!(selection["total_score"], 6);
    }
    assert_eq!(starts(&out.selection("r3")), vec![100.0, 3000.0]);
}

/// The candidates of SEMANTICS §5.1, with features from detections and one priority entry
/// per feature: S1 [10,30] 50, S2 [40,55] 90, S3 [60,100] 10+20, S4 [120,130] 100,
/// S5 [150,175] 40.
fn worked_example(duration: f64, tolerance: f64, equal_distribution: bool) -> Output {
    let segments = [(10.0, 30.0), (40.0, 55.0), (60.0, 100.0), (120.0, 130.0), (150.0, 175.0)];
    let attributes = [
        json!({"A": true}),
        json!({"B": true}),
        json!({"C": true, "D": true}),
        json!({"E": true}),
        json!({"F": true}),
    ];
    let mut log = vec![profile(), event("started")];
    for (&(start, end), attributes) in segments.iter().zip(attributes) {
        log.push(segment(start, end));
        log.push(detection(start + 1.0, attributes));
    }
    let priorities = json!([
        {"attribute": "A", "weight": 50},
        {"attribute": "B", "weight": 90},
        {"attribute": "C", "weight": 10},
        {"attribute": "D", "weight": 20},
        {"attribute": "E", "weight": 100},
        {"attribute": "F", "weight": 40},
    ]);
    log.push(with(
        duration_replay("r1", duration, tolerance, priorities),
        json!({"equal_distribution": equal_distribution}),
    ));
    run(&log)
}

#[test]
fn worked_example_60_s_with_30_s_tolerance() {
    let selection = worked_example(60.0, 30.0, false).selection("r1");
    assert_eq!(starts(&selection), vec![10.0, 40.0, 120.0, 150.0]);
    assert_eq!(scores(&selection), vec![Some(50), Some(90), Some(100), Some(40)]);
    assert_eq!(secs(&selection["total_duration"]), 70.0);
    assert_eq!(selection["total_score"], 280);
    assert!(clips(&selection).iter().all(|c| c["forced"] == false));
}

#[test]
fn worked_example_30_s_with_1_s_tolerance() {
    let selection = worked_example(30.0, 1.0, false).selection("r1");
    assert_eq!(starts(&selection), vec![40.0, 120.0]);
    assert_eq!(secs(&selection["total_duration"]), 25.0);
    assert_eq!(selection["total_score"], 190);
}

#[test]
fn worked_example_40_s_with_5_s_tolerance_and_equal_distribution() {
    let selection = worked_example(40.0, 5.0, true).selection("r1");
    assert_eq!(starts(&selection), vec![10.0, 40.0, 120.0]);
    assert_eq!(secs(&selection["total_duration"]), 45.0);
    assert_eq!(selection["total_score"], 240);
}

#[test]
fn worked_example_200_s_takes_all_five() {
    let selection = worked_example(200.0, 30.0, false).selection("r1");
    assert_eq!(starts(&selection), vec![10.0, 40.0, 60.0, 120.0, 150.0]);
    assert_eq!(scores(&selection), vec![Some(50), Some(90), Some(30), Some(100), Some(40)]);
    assert_eq!(secs(&selection["total_duration"]), 110.0);
    assert_eq!(selection["total_score"], 310);
    assert_eq!(
        clips(&selection)[2]["features"],
        json!([feature(FEATURER, "C", json!(true)), feature(FEATURER, "D", json!(true))])
    );
}

/// Runs the scored segments under two replays of the same budget, with and without equal
/// distribution, and returns their selections' starts.
fn with_and_without_equal_distribution(
    segments: &[(f64, f64, u32)],
    duration: f64,
    tolerance: f64,
) -> (Vec<f64>, Vec<f64>) {
    let (records, priorities) = scored(segments);
    let out = run(&started(records.into_iter().chain([
        with(
            duration_replay("spread", duration, tolerance, priorities.clone()),
            json!({"equal_distribution": true}),
        ),
        duration_replay("best", duration, tolerance, priorities),
    ])));
    (starts(&out.selection("spread")), starts(&out.selection("best")))
}

#[test]
fn equal_distribution_up_to_one_hour_uses_two_groups() {
    // T = 3600 s: G = 2, groups of 1800 s.
    let (spread, best) = with_and_without_equal_distribution(
        &[(100.0, 130.0, 100), (1000.0, 1030.0, 90), (2000.0, 2030.0, 10), (3570.0, 3600.0, 5)],
        30.0,
        30.0,
    );
    assert_eq!(spread, vec![100.0, 2000.0]);
    assert_eq!(best, vec![100.0, 1000.0]);
}

#[test]
fn equal_distribution_just_over_one_hour_uses_six_groups() {
    // T = 3601 s: G = ceil(3601 / 3600) * 2 + 2 = 6, groups of about 600 s.
    let (spread, best) = with_and_without_equal_distribution(
        &[(100.0, 130.0, 100), (300.0, 330.0, 90), (700.0, 730.0, 80), (3571.0, 3601.0, 5)],
        30.0,
        30.0,
    );
    assert_eq!(spread, vec![100.0, 700.0]);
    assert_eq!(best, vec![100.0, 300.0]);
}

#[test]
fn equal_distribution_over_two_hours() {
    // T = 7200 s: G = ceil(7200 / 3600) * 2 + 2 = 6, groups of 1200 s.
    let (spread, best) = with_and_without_equal_distribution(
        &[
            (100.0, 130.0, 100),
            (200.0, 230.0, 90),
            (300.0, 330.0, 80),
            (1300.0, 1330.0, 10),
            (7170.0, 7200.0, 5),
        ],
        60.0,
        30.0,
    );
    assert_eq!(spread, vec![100.0, 1300.0, 7170.0]);
    assert_eq!(best, vec![100.0, 200.0, 300.0]);
}

#[test]
fn equal_distribution_groups_by_floor_of_clip_start() {
    // T = 100 s, G = 2: a clip starting at exactly 50 s is in the second group.
    let (spread, _) = with_and_without_equal_distribution(
        &[(0.0, 10.0, 100), (20.0, 30.0, 90), (50.0, 60.0, 10), (90.0, 100.0, 5)],
        20.0,
        0.0,
    );
    assert_eq!(spread, vec![0.0, 50.0]);
}

#[test]
fn equal_distribution_groups_by_clip_bounds() {
    // Optimized, the second segment's clip starts at 55 s, in the second group of T = 100 s.
    let (segments, priorities) =
        scored(&[(0.0, 10.0, 100), (40.0, 50.0, 90), (60.0, 70.0, 10), (90.0, 100.0, 5)]);
    let out = run(&started(segments.into_iter().chain([
        optimization(40.0, 55.0, 65.0),
        with(duration_replay("r1", 20.0, 0.0, priorities), json!({"equal_distribution": true})),
    ])));
    assert_eq!(starts(&out.selection("r1")), vec![0.0, 40.0]);
}

// ---------------------------------------------------------------------------------------------
// §5 Replays: features and timestamps modes
// ---------------------------------------------------------------------------------------------

#[test]
fn features_mode_takes_every_candidate_without_a_limit_and_include_false_neither_counts_nor_excludes(
) {
    let out = run(&started([
        segment_with(100.0, 9000.0, json!({"A": true})),
        segment_with(10.0, 20.0, json!({"A": true})),
        segment_with(30.0, 40.0, json!({"X": true})),
        segment_with(50.0, 60.0, json!({"A": true, "X": true})),
        replay(
            "r1",
            json!({"mode": "features",
                   "priorities": [{"attribute": "A"}, {"attribute": "X", "include": false}]}),
        ),
    ]));
    let selection = out.selection("r1");
    assert_eq!(selection["mode"], "features");
    assert_eq!(starts(&selection), vec![10.0, 50.0, 100.0]);
    assert_eq!(scores(&selection), vec![None, None, None]);
    assert!(clips(&selection).iter().all(|c| c["score"].is_null()));
    assert_eq!(selection["total_score"], Value::Null);
    assert_eq!(secs(&selection["total_duration"]), 8920.0);
    assert_eq!(clips(&selection)[1]["features"], json!([feature(CLASSIFIER, "A", json!(true))]));
}

#[test]
fn include_is_ignored_in_duration_mode() {
    let out = run(&started([
        segment_with(10.0, 20.0, json!({"A": true})),
        duration_replay(
            "r1",
            100.0,
            0.0,
            json!([{"attribute": "A", "weight": 7, "include": false}]),
        ),
    ]));
    assert_eq!(scores(&out.selection("r1")), vec![Some(7)]);
}

#[test]
fn timestamps_mode_clips_are_the_given_ranges_in_the_given_order() {
    let out = run(&started([
        segment_with(10.0, 20.0, json!({"A": true})),
        replay(
            "r1",
            json!({"mode": "timestamps", "priorities": [{"attribute": "A"}],
                   "timestamps": [{"start": 50, "end": 60}, {"start": 10, "end": 25.5}]}),
        ),
    ]));
    let selection = out.selection("r1");
    assert_eq!(selection["status"], "in_progress");
    assert_eq!(selection["mode"], "timestamps");
    assert_eq!(clip_bounds(&selection), vec![(50.0, 60.0), (10.0, 25.5)]);
    assert_eq!(starts(&selection), vec![50.0, 10.0]);
    for clip in clips(&selection) {
        assert_eq!(clip["start"], clip["clip_start"]);
        assert_eq!(clip["end"], clip["clip_end"]);
        assert_eq!(clip["score"], Value::Null);
        assert_eq!(clip["forced"], false);
        assert_eq!(clip["features"], json!([]));
    }
    assert_eq!(secs(&selection["total_duration"]), 25.5);
    assert_eq!(selection["total_score"], Value::Null);
}

#[test]
fn a_timestamps_replay_waits_for_its_event_and_profile_and_is_queued_until_the_event_ends() {
    let log = [
        replay(
            "r1",
            json!({"mode": "timestamps", "catchup": false,
                            "timestamps": [{"start": 5, "end": 15}]}),
        ),
        event("started"),
        profile(),
        event("ended"),
    ];
    for (prefix, status, clip_count) in [
        (1, "waiting_for_event", 0),
        (2, "waiting_for_event", 0),
        (3, "queued", 0),
        (4, "complete", 1),
    ] {
        let selection = run(&log[..prefix]).selection("r1");
        assert_eq!(selection["status"], status, "after {prefix} records");
        assert_eq!(clips(&selection).len(), clip_count, "after {prefix} records");
    }
}

// ---------------------------------------------------------------------------------------------
// §5 Replays: statuses, waiting, updates and deletes
// ---------------------------------------------------------------------------------------------

#[test]
fn catch_up_and_after_event_statuses_follow_the_event() {
    let log = [
        profile(),
        event("scheduled"),
        replay_of_all("catchup", "A"),
        with(replay_of_all("after", "A"), json!({"catchup": false})),
        segment_with(10.0, 20.0, json!({"A": true})),
        event("ended"),
        segment_with(50.0, 60.0, json!({"A": true})),
        event("started"),
    ];
    let scheduled = run(&log[..5]);
    assert_eq!(scheduled.selection("catchup")["status"], "in_progress");
    assert_eq!(starts(&scheduled.selection("catchup")), vec![10.0]);
    assert_eq!(scheduled.selection("after")["status"], "queued");
    assert!(clips(&scheduled.selection("after")).is_empty());

    let ended = run(&log[..6]);
    for replay_id in ["catchup", "after"] {
        assert_eq!(ended.selection(replay_id)["status"], "complete", "{replay_id}");
        assert_eq!(starts(&ended.selection(replay_id)), vec![10.0], "{replay_id}");
    }

    let corrected = run(&log[..7]);
    for replay_id in ["catchup", "after"] {
        assert_eq!(corrected.selection(replay_id)["status"], "complete");
        assert_eq!(starts(&corrected.selection(replay_id)), vec![10.0, 50.0], "{replay_id}");
    }

    let reopened = run(&log);
    assert_eq!(reopened.selection("catchup")["status"], "in_progress");
    assert_eq!(starts(&reopened.selection("catchup")), vec![10.0, 50.0]);
    assert_eq!(reopened.selection("after")["status"], "queued");
    assert!(clips(&reopened.selection("after")).is_empty());
    assert_eq!(reopened.event(EVENT).unwrap()["status"], "started");
}

#[test]
fn a_replay_waits_for_an_unknown_event_or_profile() {
    let log = [
        replay_of_all("r1", "A"),
        with(replay_of_all("r2", "A"), json!({"catchup": false})),
        event("ended"),
        segment_with(10.0, 20.0, json!({"A": true})),
        profile(),
        delete("profile", PROFILE),
    ];
    let unknown_event = run(&log[..2]);
    for replay_id in ["r1", "r2"] {
        let selection = unknown_event.selection(replay_id);
        assert_eq!(selection["status"], "waiting_for_event");
        assert!(clips(&selection).is_empty());
    }

    // The event has ended but its profile is unknown: waiting wins over everything.
    let unknown_profile = run(&log[..4]);
    assert_eq!(unknown_profile.event(EVENT).unwrap()["profile_known"], false);
    for replay_id in ["r1", "r2"] {
        let selection = unknown_profile.selection(replay_id);
        assert_eq!(selection["status"], "waiting_for_event");
        assert!(clips(&selection).is_empty());
    }

    let known = run(&log[..5]);
    assert_eq!(known.event(EVENT).unwrap()["profile_known"], true);
    for replay_id in ["r1", "r2"] {
        let selection = known.selection(replay_id);
        assert_eq!(selection["status"], "complete");
        assert_eq!(starts(&selection), vec![10.0]);
    }

    let profile_deleted = run(&log);
    assert_eq!(profile_deleted.event(EVENT).unwrap()["profile_known"], false);
    for replay_id in ["r1", "r2"] {
        let selection = profile_deleted.selection(replay_id);
        assert_eq!(selection["status"], "waiting_for_event");
        assert!(clips(&selection).is_empty());
    }
}

#[test]
fn the_latest_replay_record_defines_the_replay() {
    let out = run(&started([
        segment_with(10.0, 20.0, json!({"A": true})),
        segment_with(30.0, 50.0, json!({"B": true})),
        duration_replay("r1", 10.0, 0.0, json!([{"attribute": "A", "weight": 10}])),
        duration_replay("r1", 20.0, 0.0, json!([{"attribute": "B", "weight": 30}])),
    ]));
    let selection = out.selection("r1");
    assert_eq!(starts(&selection), vec![30.0]);
    assert_eq!(selection["total_score"], 30);
}

#[test]
fn the_latest_profile_of_the_latest_event_record_applies() {
    let (segments, priorities) = scored(&[(10.0, 20.0, 1), (30.0, 40.0, 1)]);
    let other_profile = with(profile_with_optimizer(), json!({"name": "other"}));
    let log = started(segments.into_iter().chain([
        optimization(10.0, 9.0, 21.0),
        duration_replay("r1", 1000.0, 0.0, priorities),
        other_profile,
        with(event("started"), json!({"profile": "other"})),
        with(event("started"), json!({"profile": "nowhere"})),
        event("started"),
        profile_with_optimizer(),
    ]));
    assert_eq!(starts(&run(&log[..6]).selection("r1")), vec![10.0, 30.0]);
    assert_eq!(starts(&run(&log[..8]).selection("r1")), vec![10.0], "profile `other` optimizes");
    let nowhere = run(&log[..9]).selection("r1");
    assert_eq!(nowhere["status"], "waiting_for_event");
    assert_eq!(starts(&run(&log[..10]).selection("r1")), vec![10.0, 30.0]);
    assert_eq!(starts(&run(&log).selection("r1")), vec![10.0], "profile `prof` now optimizes");
}

#[test]
fn an_event_delete_removes_the_event_its_views_and_its_records() {
    let log = [
        profile(),
        event("started"),
        segment(10.0, 30.0),
        detection(12.0, json!({"A": true})),
        optimization(10.0, 9.0, 31.0),
        label(10.0, "15-0", json!({"L": true})),
        feedback(10.0, "like"),
        replay_of_all("r1", "A"),
        delete("event", EVENT),
        replay_of_all("r2", "A"),
        event("started"),
        segment(10.0, 30.0),
        detection(14.0, json!({"B": true})),
        duration_replay("r3", 100.0, 0.0, json!([{"attribute": "B", "weight": 1}])),
    ];
    let alive = run(&log[..8]);
    assert_eq!(starts(&alive.selection("r1")), vec![10.0]);

    let deleted = run_per_record(&log[..9]);
    assert!(deleted.event(EVENT).is_none());
    assert!(deleted.try_segments_of(EVENT).is_none());
    assert!(deleted.try_selection("r1").is_none());
    let removals = deleted.notifications_of("replay_deleted");
    assert_eq!(removals.len(), 1);
    assert_eq!(removals[0]["replay_id"], "r1");
    assert_eq!(removals[0]["version"], deleted.versions("r1").last().unwrap().0);

    let waiting = run(&log[..10]);
    assert_eq!(waiting.selection("r2")["status"], "waiting_for_event");

    let out = run(&log);
    assert!(out.try_selection("r1").is_none(), "a deleted replay stays deleted");
    let segments = out.segments();
    assert_eq!(segments.len(), 1);
    let segment = &segments[0];
    assert_eq!(secs(&segment["end"]), 30.0);
    assert_eq!(segment["label"], Value::Null);
    assert_eq!(segment["label_attributes"], json!({}));
    assert_eq!(segment["optimizations"], json!({}));
    assert_eq!(segment["feedback"], json!({}));
    assert_eq!(segment["features"], json!({"1": [feature(FEATURER, "B", json!(true))]}));
    let r2 = out.selection("r2");
    assert_eq!(r2["status"], "in_progress");
    assert!(clips(&r2).is_empty(), "the detection from before the delete is gone");
    assert_eq!(clip_bounds(&out.selection("r3")), vec![(10.0, 30.0)]);
}

#[test]
fn a_deleted_replay_comes_back_with_later_versions() {
    let log = started([
        replay_of_all("r1", "A"),
        segment_with(10.0, 20.0, json!({"A": true})),
        delete("replay", "r1"),
        segment_with(30.0, 40.0, json!({"A": true})),
        replay_of_all("r1", "A"),
    ]);
    let deleted = run_per_record(&log[..5]);
    assert!(deleted.try_selection("r1").is_none());
    let versions = deleted.versions("r1");
    assert_eq!(versions.iter().map(|v| v.0).collect::<Vec<_>>(), vec![1, 2]);
    assert!(versions[1].1, "the segment changed the clips");
    let removals = deleted.notifications_of("replay_deleted");
    assert_eq!(removals.len(), 1);
    assert_eq!(removals[0]["version"], 2);
    assert_eq!(deleted.segments().len(), 1, "a replay delete leaves the segments alone");

    let out = run_per_record(&log);
    let selection = out.selection("r1");
    assert_eq!(selection["version"], 3);
    assert_eq!(starts(&selection), vec![10.0, 30.0]);
    assert_eq!(out.versions("r1").iter().map(|v| v.0).collect::<Vec<_>>(), vec![1, 2, 3]);
}

#[test]
fn a_replay_belongs_to_the_event_of_its_latest_record() {
    let on = |event_id: &str| with(replay_of_all("r1", "A"), json!({ "event_id": event_id }));
    let log = started([
        json!({"type": "event", "event_id": "e2", "profile": PROFILE, "status": "started"}),
        segment_with(10.0, 20.0, json!({"A": true})),
        json!({"type": "segment", "event_id": "e2", "plugin": CLASSIFIER, "start": 50,
               "end": 60, "attributes": {"A": true}}),
        on(EVENT),
        on("e2"),
        delete("event", EVENT),
        delete("event", "e2"),
    ]);
    let moved = run(&log[..8]);
    let selection = moved.selection("r1");
    assert_eq!(selection["event_id"], "e2");
    assert_eq!(starts(&selection), vec![50.0]);
    assert_eq!(starts(&run(&log[..6]).selection("r1")), vec![10.0]);
    assert!(run(&log).try_selection("r1").is_none());
}

#[test]
fn deleting_unknown_ids_does_nothing() {
    let log = started([segment_with(10.0, 20.0, json!({"A": true})), replay_of_all("r1", "A")]);
    let plain = run(&log);
    let with_deletes = run(&[
        vec![delete("event", "nope"), delete("replay", "nope"), delete("profile", "nope")],
        log,
        vec![delete("event", "e2"), delete("replay", "r2"), delete("profile", "other")],
    ]
    .concat());
    assert!(with_deletes.dead_letters().is_empty());
    assert_eq!(with_deletes.selection("r1"), plain.selection("r1"));
    assert_eq!(with_deletes.segments(), plain.segments());
    assert_eq!(with_deletes.event(EVENT), plain.event(EVENT));
    assert_eq!(with_deletes.notifications(), plain.notifications());
}

// ---------------------------------------------------------------------------------------------
// §5, §8.8 Feedback and forcing
// ---------------------------------------------------------------------------------------------

#[test]
fn include_liked_forces_liked_segments_before_all_others_even_without_a_match() {
    let liked = |replay_id: &str, duration: f64, include_liked: bool| {
        with(
            duration_replay(replay_id, duration, 0.0, json!([{"attribute": "A", "weight": 100}])),
            json!({ "include_liked": include_liked }),
        )
    };
    let out = run(&started([
        segment(10.0, 20.0),
        segment_with(30.0, 40.0, json!({"A": true})),
        segment_with(50.0, 60.0, json!({"A": true})),
        feedback(10.0, "like"),
        feedback(50.0, "like"),
        liked("two", 20.0, true),
        liked("all", 100.0, true),
        liked("off", 100.0, false),
    ]));
    let forced = |selection: &Value| -> Vec<bool> {
        clips(selection).iter().map(|c| c["forced"].as_bool().unwrap()).collect()
    };

    // Both liked segments rank before the unliked one that scores 100.
    let two = out.selection("two");
    assert_eq!(starts(&two), vec![10.0, 50.0]);
    assert_eq!(forced(&two), vec![true, true]);
    assert_eq!(scores(&two), vec![Some(0), Some(100)]);
    assert_eq!(clips(&two)[0]["features"], json!([]));

    let all = out.selection("all");
    assert_eq!(starts(&all), vec![10.0, 30.0, 50.0]);
    assert_eq!(forced(&all), vec![true, false, true]);
    assert_eq!(scores(&all), vec![Some(0), Some(100), Some(100)]);
    assert_eq!(all["total_score"], 200);

    let off = out.selection("off");
    assert_eq!(starts(&off), vec![30.0, 50.0]);
    assert_eq!(forced(&off), vec![false, false]);
}

#[test]
fn a_forced_segment_must_still_be_a_candidate_and_fit() {
    let out = run(&[
        profile_with_optimizer(),
        event("started"),
        // Liked, matching, optimized, but longer than the limit.
        segment_with(10.0, 40.0, json!({"A": true})),
        optimization(10.0, 10.0, 40.0),
        // Liked but open.
        open_segment(50.0),
        // Liked, complete, but not optimized.
        segment(70.0, 75.0),
        // Not liked, fits.
        segment_with(100.0, 110.0, json!({"A": true})),
        optimization(100.0, 100.0, 110.0),
        feedback(10.0, "like"),
        feedback(50.0, "like"),
        feedback(70.0, "like"),
        with(
            duration_replay("r1", 20.0, 0.0, json!([{"attribute": "A", "weight": 1}])),
            json!({"include_liked": true}),
        ),
    ]);
    let selection = out.selection("r1");
    assert_eq!(starts(&selection), vec![100.0]);
    assert_eq!(clips(&selection)[0]["forced"], false);
}

#[test]
fn ignore_disliked_drops_disliked_segments_and_reset_clears_the_verdict() {
    let out = run(&started([
        segment_with(10.0, 20.0, json!({"A": true})),
        segment_with(30.0, 40.0, json!({"A": true})),
        segment_with(50.0, 60.0, json!({"A": true})),
        feedback(10.0, "dislike"),
        feedback(30.0, "dislike"),
        feedback(30.0, "reset"),
        feedback(50.0, "like"),
        feedback(50.0, "dislike"),
        with(replay_of_all("ignore", "A"), json!({"ignore_disliked": true})),
        replay_of_all("keep", "A"),
    ]));
    assert_eq!(starts(&out.selection("ignore")), vec![30.0]);
    assert_eq!(starts(&out.selection("keep")), vec![10.0, 30.0, 50.0]);
    assert_eq!(out.segment(10.0)["feedback"], json!({"1": "dislike"}));
    assert_eq!(out.segment(30.0)["feedback"], json!({}));
    assert_eq!(out.segment(50.0)["feedback"], json!({"1": "dislike"}));
}

#[test]
fn feedback_is_per_track() {
    let out = run(&[
        profile(),
        with(event("started"), json!({"audio_tracks": [1, 2]})),
        segment(10.0, 20.0),
        segment_with(30.0, 40.0, json!({"A": true})),
        with(feedback(10.0, "like"), json!({"track": 2})),
        with(feedback(30.0, "dislike"), json!({"track": 2})),
        with(replay_of_all("t1", "A"), json!({"include_liked": true, "ignore_disliked": true})),
        with(
            replay_of_all("t2", "A"),
            json!({"track": 2, "include_liked": true, "ignore_disliked": true}),
        ),
    ]);
    assert_eq!(starts(&out.selection("t1")), vec![30.0]);
    assert_eq!(starts(&out.selection("t2")), vec![10.0]);
    assert_eq!(out.segment(10.0)["feedback"], json!({"2": "like"}));
    assert_eq!(out.segment(30.0)["feedback"], json!({"2": "dislike"}));
}

// ---------------------------------------------------------------------------------------------
// §5 Versions
// ---------------------------------------------------------------------------------------------

#[test]
fn every_change_of_a_replay_view_makes_a_version_and_an_unchanged_view_none() {
    let log = started([
        duration_replay(
            "r1",
            100.0,
            0.0,
            json!([{"attribute": "A", "weight": 10},
                                                 {"attribute": "B", "weight": 5}]),
        ),
        json!({"type": "chunk", "event_id": EVENT, "seq_no": 0, "uri": "c0.ts", "start": 0,
               "duration": 10}),
        segment(10.0, 20.0),
        detection(12.0, json!({"A": true})),
        detection(14.0, json!({"B": true})),
        detection(14.0, json!({"B": true})),
        segment(10.0, 20.0),
        detection(15.0, json!({"Other": true})),
        event("ended"),
        event("ended"),
    ]);
    let out = run_per_record(&log);
    let updates = out.notifications_of("replay_updated");
    let epochs: Vec<u64> = updates.iter().map(|n| n["epoch"].as_u64().unwrap()).collect();
    // Lines 3 (the replay), 6 (a match), 7 (a higher score) and 11 (the event ended).
    assert_eq!(epochs, vec![2, 5, 6, 10]);
    assert_eq!(out.versions("r1")[1..], [(2, true), (3, false), (4, false)]);
    assert_eq!(out.versions("r1")[0].0, 1);
    let statuses: Vec<&str> = updates.iter().map(|n| n["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["in_progress", "in_progress", "in_progress", "complete"]);
    let selection = out.selection("r1");
    assert_eq!(selection["version"], 4);
    assert_eq!(selection["total_score"], 15);

    let one_epoch = run(&log);
    assert_eq!(one_epoch.selection("r1")["version"], 1);
    assert_eq!(one_epoch.versions("r1"), vec![(1, true)]);
}

// ---------------------------------------------------------------------------------------------
// §7, §8.1, §8.2 Bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn a_bad_line_is_dead_lettered_with_its_line_number_and_its_neighbours_are_processed() {
    let truncated = r#"{"type":"segment","event_id":"e1","plugin":"seg","start":50"#;
    let unknown = r#"{"type":"stats","event_id":"e1","aces":3}"#;
    let log = lines(&[
        profile().to_string().into_bytes(),
        event("started").to_string().into_bytes(),
        Vec::new(),
        b" \t\r".to_vec(),
        truncated.as_bytes().to_vec(),
        segment_with(10.0, 20.0, json!({"A": true})).to_string().into_bytes(),
        Vec::new(),
        unknown.as_bytes().to_vec(),
        [replay_of_all("r1", "A").to_string().as_bytes(), b"\r"].concat(),
    ]);
    let out = process(&log, &[]);
    assert!(out.stdout.contains("accepted 4 records"), "stdout: {}", out.stdout);
    assert!(out.stdout.contains("rejected 2"), "stdout: {}", out.stdout);

    let dead = out.dead_letters();
    assert_eq!(out.rejected_lines(), vec![5, 8]);
    assert_eq!(dead[0]["record"], truncated);
    assert_eq!(dead[1]["record"], unknown);
    for entry in &dead {
        assert!(!entry["reason"].as_str().unwrap().is_empty());
        assert!(!entry["seen_at"].as_str().unwrap().is_empty());
    }
    assert_eq!(dead[1]["kind"], "unknown_type");

    let notifications = out.notifications();
    assert_eq!(notifications[0]["type"], "record_rejected");
    assert_eq!(notifications[0]["position"], "5");
    assert_eq!(notifications[1]["type"], "record_rejected");
    assert_eq!(notifications[1]["position"], "8");
    assert!(notifications[2..].iter().all(|n| n["type"] != "record_rejected"));

    assert_eq!(starts(&out.selection("r1")), vec![10.0]);
    assert_eq!(out.segments().len(), 1);
}

/// A good log around bad lines: a profile, a started event and a segment at [10, 30], then
/// each bad line followed by a good detection (`Good: true`), then a replay weighing `Bad`
/// and `Good` 1 each, so that a bad line let through shows in the views. Returns the run and
/// the line numbers of the bad lines.
fn around_bad_lines(bad: &[Vec<u8>], args: &[&str]) -> (Output, Vec<u64>) {
    let mut all = vec![
        profile().to_string().into_bytes(),
        event("started").to_string().into_bytes(),
        segment(10.0, 30.0).to_string().into_bytes(),
    ];
    let mut bad_lines = Vec::new();
    for line in bad {
        all.push(line.clone());
        bad_lines.push(all.len() as u64);
        all.push(detection(11.0, json!({"Good": true})).to_string().into_bytes());
    }
    all.push(
        duration_replay(
            "r1",
            100.0,
            0.0,
            json!([{"attribute": "Bad", "weight": 1}, {"attribute": "Good", "weight": 1}]),
        )
        .to_string()
        .into_bytes(),
    );
    (process(&lines(&all), args), bad_lines)
}

#[test]
fn what_is_not_json_is_rejected() {
    let bad = |text: &str| text.as_bytes().to_vec();
    let over_limit = {
        let head = r#"{"type":"detection","event_id":"e1","plugin":"feat","start":12,"attributes":{"Bad":true},"label":""#;
        let padding = "x".repeat(1_048_577 - head.len() - 2);
        format!("{head}{padding}\"}}")
    };
    assert_eq!(over_limit.len(), 1_048_577);
    let bad_lines = [
        b"{\"type\":\"detection\",\"event_id\":\"e1\",\"plugin\":\"feat\",\"start\":12,\"attributes\":{\"Bad\":\"\xff\"}}".to_vec(),
        [b"\xef\xbb\xbf".as_slice(), detection(12.0, json!({"Bad": true})).to_string().as_bytes()].concat(),
        bad(r#"{"type":"detection","event_id":"e1","plugin":"feat","start":12,"start":13,"attributes":{"Bad":true}}"#),
        bad(r#"{"type":"detection","event_id":"e1","plugin":"feat","start":12,"attributes":{"Bad":true,"Bad":false}}"#),
        bad(r#"{"type":"detection","event_id":"e1","plugin":"feat","start":NaN,"attributes":{"Bad":true}}"#),
        bad(r#"{"type":"detection","event_id":"e1","plugin":"feat","start":Infinity,"attributes":{"Bad":true}}"#),
        bad(r#"{"type":"detection","event_id":"e1","plugin":"feat","start":12,"label":"\ud800","attributes":{"Bad":true}}"#),
        bad(r#"{"type":"Detection","event_id":"e1","plugin":"feat","start":12,"attributes":{"Bad":true}}"#),
        bad(r#"{"event_id":"e1","plugin":"feat","start":12,"attributes":{"Bad":true}}"#),
        bad(r#"[{"type":"detection"}]"#),
        bad(r#"{"type":"detection","event_id":"e1","plugin":"feat","start":12,"attributes":{"Bad":true}} x"#),
        over_limit.into_bytes(),
    ];
    let (out, expected) = around_bad_lines(&bad_lines, &[]);
    assert_eq!(out.rejected_lines(), expected);
    assert_eq!(out.segment(10.0)["features"]["1"], json!([feature(FEATURER, "Good", json!(true))]));
    assert_eq!(scores(&out.selection("r1")), vec![Some(1)]);
    assert!(out.stdout.contains(&format!("rejected {}", expected.len())), "{}", out.stdout);
}

#[test]
fn a_record_of_exactly_the_size_limit_is_accepted_and_the_limit_is_a_setting() {
    let head = r#"{"type":"detection","event_id":"e1","plugin":"feat","start":12,"attributes":{"Big":true},"label":""#;
    let at_limit = format!("{head}{}\"}}", "x".repeat(1_048_576 - head.len() - 2));
    assert_eq!(at_limit.len(), 1_048_576);
    let log = [
        jsonl(&started([segment(10.0, 30.0)])),
        at_limit.into_bytes(),
        b"\n".to_vec(),
        jsonl(&[replay_of_all("r1", "Big")]),
    ]
    .concat();
    let out = process(&log, &[]);
    assert!(out.dead_letters().is_empty());
    assert_eq!(starts(&out.selection("r1")), vec![10.0]);

    let small = process(&log, &["--max-record-bytes", "300"]);
    assert_eq!(small.rejected_lines(), vec![4]);
    assert!(clips(&small.selection("r1")).is_empty());
}

#[test]
fn records_breaking_a_type_or_range_rule_are_rejected() {
    let bad_lines: Vec<Vec<u8>> = [
        // §8.1 integers: 1.0 is not an integer; tracks are at least 1; weights 1..100.
        json!({"type": "optimization", "event_id": "e1", "plugin": "opt", "start": 10,
               "track": 1.0, "opto_start": 9, "opto_end": 31}),
        json!({"type": "detection", "event_id": "e1", "plugin": "feat", "start": 12, "track": 0,
               "attributes": {"Bad": true}}),
        json!({"type": "feedback", "event_id": "e1", "start": 10, "track": 2.0, "verdict": "like"}),
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "duration": 10,
               "priorities": [{"attribute": "Bad", "weight": 1.0}]}),
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "duration": 10,
               "priorities": [{"attribute": "Bad", "weight": 0}]}),
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "duration": 10,
               "priorities": [{"attribute": "Bad", "weight": 101}]}),
        json!({"type": "chunk", "event_id": "e1", "seq_no": 1.0, "uri": "c.ts", "start": 0,
               "duration": 10}),
        json!({"type": "event", "event_id": "e1", "profile": "prof", "status": "started",
               "audio_tracks": [1.0]}),
        json!({"type": "event", "event_id": "e1", "profile": "prof", "status": "started",
               "audio_tracks": [1, 1]}),
        // Non-empty strings, positive rates, booleans.
        json!({"type": "segment", "event_id": "", "plugin": "seg", "start": 10, "end": 20}),
        json!({"type": "detection", "event_id": "e1", "plugin": "", "start": 12,
               "attributes": {"Bad": true}}),
        json!({"type": "profile", "name": "", "chunk_size": 10, "processing_fps": 5,
               "max_segment_length": 120, "classifier": {"plugin": "seg"}}),
        json!({"type": "profile", "name": "prof", "chunk_size": 10, "processing_fps": 0,
               "max_segment_length": 120, "classifier": {"plugin": "seg"}}),
        json!({"type": "event", "event_id": "e1", "profile": "prof", "status": "ended",
               "frame_rate": 0}),
        json!({"type": "segment", "event_id": "e1", "plugin": "seg", "start": 10,
               "deleted": "yes"}),
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "duration": 10,
               "catchup": "true"}),
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "duration": 10,
               "include_liked": 1}),
        // Null in a required field is missing; attribute values are scalars.
        json!({"type": "segment", "event_id": null, "plugin": "seg", "start": 10}),
        json!({"type": "segment", "event_id": "e1", "plugin": "seg", "end": 20}),
        json!({"type": "detection", "event_id": "e1", "plugin": "feat", "start": 12,
               "attributes": null}),
        json!({"type": "detection", "event_id": "e1", "plugin": "feat", "start": 12,
               "attributes": {"Bad": null}}),
        json!({"type": "detection", "event_id": "e1", "plugin": "feat", "start": 12,
               "attributes": {"Bad": [true]}}),
        json!({"type": "segment", "event_id": "e1", "plugin": "seg", "start": 10, "end": 30,
               "attributes": {"Bad": {"x": true}}}),
        // Times: negative (after rounding), above 10 days, end before start.
        json!({"type": "detection", "event_id": "e1", "plugin": "feat", "start": -1,
               "attributes": {"Bad": true}}),
        json!({"type": "detection", "event_id": "e1", "plugin": "feat", "start": -0.0005,
               "attributes": {"Bad": true}}),
        json!({"type": "segment", "event_id": "e1", "plugin": "seg", "start": 864000.001}),
        json!({"type": "detection", "event_id": "e1", "plugin": "feat", "start": 12, "end": 11,
               "attributes": {"Bad": true}}),
        // Replay rules.
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "duration": 0.9994}),
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "duration": 10000.001}),
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "mode": "duration"}),
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "duration": 10,
               "priorities": [{"attribute": "Bad"}]}),
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "mode": "timestamps",
               "timestamps": []}),
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "mode": "timestamps"}),
        json!({"type": "replay", "replay_id": "bad", "event_id": "e1", "mode": "timestamps",
               "timestamps": [{"start": 5, "end": 5}]}),
        // Enumerations.
        json!({"type": "feedback", "event_id": "e1", "start": 10, "verdict": "love"}),
        json!({"type": "delete", "kind": "segment", "id": "e1"}),
        json!({"type": "event", "event_id": "e1", "profile": "prof", "status": "paused"}),
    ]
    .iter()
    .map(|record| record.to_string().into_bytes())
    .collect();
    let (out, expected) = around_bad_lines(&bad_lines, &[]);
    let rejected = out.rejected_lines();
    let accepted: Vec<String> = expected
        .iter()
        .filter(|line| !rejected.contains(line))
        .map(|line| String::from_utf8_lossy(&bad_lines[(*line as usize - 4) / 2]).into_owned())
        .collect();
    assert!(accepted.is_empty(), "accepted although invalid: {accepted:#?}");
    assert_eq!(rejected, expected);
    assert!(out.try_selection("bad").is_none());
    let segment = out.segment(10.0);
    assert_eq!(segment["features"]["1"], json!([feature(FEATURER, "Good", json!(true))]));
    assert_eq!(segment["feedback"], json!({}));
    assert_eq!(segment["optimizations"], json!({}));
    assert_eq!(out.event(EVENT).unwrap()["status"], "started");
    assert_eq!(out.event(EVENT).unwrap()["audio_tracks"], json!([1]));
}

#[test]
fn null_means_absent_and_times_round_half_away_from_zero() {
    let out = run(&started([
        // -0.0004 s rounds to 0 ms: valid.
        json!({"type": "segment", "event_id": EVENT, "plugin": CLASSIFIER, "start": -0.0004,
               "end": 10, "attributes": {"A": true}}),
        // 30.0004 s rounds to 30.000 s.
        json!({"type": "segment", "event_id": EVENT, "plugin": CLASSIFIER, "start": 20,
               "end": 30.0004, "attributes": null}),
        // 19.9995 s rounds up to 20.000 s (inside), 30.0005 s to 30.001 s (outside).
        detection(19.9995, json!({"Inside": true})),
        detection(30.0005, json!({"Outside": true})),
        // Ten days exactly is valid.
        detection(864_000.0, json!({"Late": true})),
        // null in optional fields: an open segment, track 1, the default value `true`.
        json!({"type": "segment", "event_id": EVENT, "plugin": CLASSIFIER, "start": 40,
               "end": null}),
        json!({"type": "optimization", "event_id": EVENT, "plugin": OPTIMIZER, "start": 20,
               "track": null, "opto_start": 19.5, "opto_end": 30.5}),
        // 0.9995 s rounds up to 1 s: a valid duration.
        duration_replay("tiny", 0.9995, 0.0, json!([{"attribute": "A", "weight": 1}])),
        duration_replay(
            "r1",
            100.0,
            0.0,
            json!([{"attribute": "A", "value": null, "weight": 1},
                   {"attribute": "Inside", "weight": 2},
                   {"attribute": "Outside", "weight": 4}]),
        ),
    ]));
    assert!(out.dead_letters().is_empty(), "{:#?}", out.dead_letters());
    let segments = out.segments();
    assert_eq!(
        segments.iter().map(|s| secs(&s["start"])).collect::<Vec<_>>(),
        vec![0.0, 20.0, 40.0]
    );
    assert_eq!(secs(&out.segment(20.0)["end"]), 30.0);
    assert_eq!(out.segment(20.0)["attributes"], json!({}));
    assert_eq!(out.segment(40.0)["complete"], false);
    assert_eq!(
        out.segment(20.0)["features"]["1"],
        json!([feature(FEATURER, "Inside", json!(true))])
    );
    let selection = out.selection("r1");
    assert_eq!(starts(&selection), vec![0.0, 20.0]);
    assert_eq!(scores(&selection), vec![Some(1), Some(2)]);
    assert_eq!(clip_bounds(&selection)[1], (19.5, 30.5));
    assert!(clips(&out.selection("tiny")).is_empty());
}

// ---------------------------------------------------------------------------------------------
// §8.3 Defaults
// ---------------------------------------------------------------------------------------------

#[test]
fn a_minimal_replay_takes_the_defaults() {
    let (segments, _) = scored(&[(0.0, 45.0, 0), (50.0, 95.0, 0)]);
    let minimal = json!({"type": "replay", "replay_id": "r1", "event_id": EVENT, "duration": 60,
                         "priorities": [{"attribute": "S0", "weight": 2},
                                        {"attribute": "S1", "weight": 1}]});
    let log = started(segments.into_iter().chain([minimal, event("ended")]));
    let running = run(&log[..5]).selection("r1");
    assert_eq!(running["status"], "queued", "catchup defaults to false");
    assert_eq!(running["mode"], "duration");
    assert_eq!(running["track"], 1);

    let selection = run(&log).selection("r1");
    assert_eq!(selection["status"], "complete");
    assert_eq!(starts(&selection), vec![0.0, 50.0], "tolerance defaults to 30 s");
    assert!(clips(&selection).iter().all(|c| c["forced"] == false));
}
