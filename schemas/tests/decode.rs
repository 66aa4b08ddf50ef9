//! The input rules of SEMANTICS §1, §2, §7 and §8, held against `reeltime_schemas::decode`:
//! one valid record of every type decodes to its exact normalised value, and every rule that
//! rejects a record does so with the right reason, naming the field or the rule.

mod examples;

use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;
use reeltime_schemas::record::{
    Chunk, Delete, DeleteKind, Detection, Event, EventStatus, Extra, FeaturerSlot, Feedback, Label,
    Media, Optimization, OptimizerSlot, PluginSlot, Priority, Profile, Replay, ReplayMode, Segment,
    TimeRange, Verdict,
};
use reeltime_schemas::value::{AttrValue, Attributes};
use reeltime_schemas::{decode, Record, RecordError};
use serde_json::{json, Value};

fn decoded(text: &str) -> Record {
    decode(text.as_bytes(), DEFAULT_MAX_RECORD_BYTES)
        .unwrap_or_else(|e| panic!("{text} was rejected: {e}"))
}

fn rejected(bytes: &[u8]) -> RecordError {
    match decode(bytes, DEFAULT_MAX_RECORD_BYTES) {
        Ok(record) => panic!("{} was accepted as {record:?}", String::from_utf8_lossy(bytes)),
        Err(e) => e,
    }
}

/// Asserts that `text` is rejected as an invalid `record_type` record whose message contains
/// every one of `needles`.
#[track_caller]
fn assert_invalid(text: &str, record_type: &str, needles: &[&str]) {
    match rejected(text.as_bytes()) {
        RecordError::Invalid { record_type: actual, message } => {
            assert_eq!(actual, record_type, "{text}: {message}");
            for needle in needles {
                assert!(
                    message.contains(needle),
                    "{text}: {message:?} does not contain {needle:?}"
                );
            }
        }
        other => panic!("{text}: expected an invalid {record_type} record, got {other:?}"),
    }
}

/// Asserts that `bytes` is rejected as not JSON, with a message containing `needle`.
#[track_caller]
fn assert_not_json(bytes: &[u8], needle: &str) {
    let error = rejected(bytes);
    let message = error.to_string();
    assert_eq!(error.kind(), "not_json", "{message}");
    assert!(message.starts_with("not JSON"), "{message}");
    assert!(message.contains(needle), "{message:?} does not contain {needle:?}");
}

/// `example` with the value at the JSON pointer `pointer` set (inserted when absent).
fn with(example: &str, pointer: &str, value: Value) -> String {
    let mut record: Value = serde_json::from_str(example).unwrap();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match record.pointer_mut(parent).unwrap() {
        Value::Object(object) => {
            object.insert(key.to_owned(), value);
        }
        Value::Array(array) => array[key.parse::<usize>().unwrap()] = value,
        other => panic!("{pointer}: {other} is not a container"),
    }
    record.to_string()
}

/// `example` without the field at the JSON pointer `pointer`.
fn without(example: &str, pointer: &str) -> String {
    let mut record: Value = serde_json::from_str(example).unwrap();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let object = record.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    assert!(object.remove(key).is_some(), "{example} has no {pointer}");
    record.to_string()
}

fn attributes(pairs: &[(&str, AttrValue)]) -> Attributes {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect()
}

fn text(s: &str) -> AttrValue {
    AttrValue::String(s.to_owned())
}

fn number(n: f64) -> AttrValue {
    AttrValue::from_f64(n).unwrap()
}

fn slot(plugin: &str, config: &str) -> PluginSlot {
    PluginSlot { plugin: plugin.to_owned(), config: config.to_owned() }
}

fn extra(object: &str) -> Extra {
    Extra(object.to_owned())
}

fn replay(text: &str) -> Replay {
    match decoded(text) {
        Record::Replay(replay) => replay,
        other => panic!("not a replay: {other:?}"),
    }
}

fn segment(text: &str) -> Segment {
    match decoded(text) {
        Record::Segment(segment) => segment,
        other => panic!("not a segment: {other:?}"),
    }
}

fn detection(text: &str) -> Detection {
    match decoded(text) {
        Record::Detection(detection) => detection,
        other => panic!("not a detection: {other:?}"),
    }
}

// ---- Every type decodes to its normalised value ----

#[test]
fn every_example_decodes_to_its_own_type_and_every_type_has_one() {
    let mut types: Vec<&str> = examples::ALL.iter().map(|e| decoded(e).type_name()).collect();
    for (example, type_name) in examples::ALL.iter().zip(&types) {
        let written: Value = serde_json::from_str(example).unwrap();
        assert_eq!(written["type"], *type_name);
    }
    types.sort_unstable();
    types.dedup();
    let mut expected = examples::TYPES.to_vec();
    expected.sort_unstable();
    assert_eq!(types, expected);
}

#[test]
fn profile() {
    assert_eq!(
        decoded(examples::PROFILE),
        Record::Profile(Profile {
            name: "tennis".into(),
            chunk_size_ms: 20_000,
            processing_fps_milli: 29_970,
            max_segment_length_ms: 120_500,
            classifier: slot("seg", r#"{"min_gap":2}"#),
            optimizer: Some(OptimizerSlot { slot: slot("opt", ""), search_window_ms: Some(1_500) }),
            labeler: Some(slot("lab", "")),
            featurers: vec![
                FeaturerSlot {
                    slot: slot("scoreboard", ""),
                    depends_on: vec!["ocr".into()],
                    priority_for_replay: true,
                    media: Some(Media::Video),
                },
                FeaturerSlot {
                    slot: slot("crowd", r#"{"db":-20}"#),
                    depends_on: vec![],
                    priority_for_replay: false,
                    media: Some(Media::Audio),
                },
            ],
            extra: extra(r#"{"owner":"ops"}"#),
        })
    );
}

#[test]
fn event() {
    assert_eq!(
        decoded(examples::EVENT),
        Record::Event(Event {
            event_id: "e1".into(),
            program: Some("Open".into()),
            profile: "tennis".into(),
            status: EventStatus::Started,
            frame_rate_milli: Some(29_970),
            audio_tracks: vec![1, 2],
            title: Some("Final".into()),
            extra: extra(r#"{"venue":"Court 1"}"#),
        })
    );
}

#[test]
fn event_defaults() {
    assert_eq!(
        decoded(examples::EVENT_MINIMAL),
        Record::Event(Event {
            event_id: "e1".into(),
            program: None,
            profile: "tennis".into(),
            status: EventStatus::Scheduled,
            frame_rate_milli: None,
            audio_tracks: vec![1],
            title: None,
            extra: Extra::default(),
        })
    );
    let ended = with(examples::EVENT_MINIMAL, "/status", json!("ended"));
    assert!(matches!(decoded(&ended), Record::Event(Event { status: EventStatus::Ended, .. })));
}

#[test]
fn chunk() {
    assert_eq!(
        decoded(examples::CHUNK),
        Record::Chunk(Chunk {
            event_id: "e1".into(),
            seq_no: 3,
            uri: "s3://media/e1/3.ts".into(),
            start_ms: 40_000,
            duration_ms: 20_000,
            pts_start_ms: Some(10_001),
            error: None,
            extra: Extra::default(),
        })
    );
}

#[test]
fn segment_open() {
    assert_eq!(
        decoded(examples::SEGMENT_OPEN),
        Record::Segment(Segment {
            event_id: "e1".into(),
            plugin: "seg".into(),
            start_ms: 10_250,
            end_ms: None,
            attributes: Attributes::new(),
            deleted: false,
            extra: Extra::default(),
        })
    );
}

#[test]
fn segment_complete() {
    assert_eq!(
        decoded(examples::SEGMENT_COMPLETE),
        Record::Segment(Segment {
            event_id: "e1".into(),
            plugin: "seg".into(),
            start_ms: 10_250,
            end_ms: Some(30_500),
            attributes: attributes(&[
                ("Ace", AttrValue::Bool(true)),
                ("speed", number(201.5)),
                ("player", text("A")),
                ("points", AttrValue::Int(2)),
            ]),
            deleted: false,
            extra: extra(r#"{"confidence":0.9}"#),
        })
    );
}

#[test]
fn segment_deleted() {
    assert_eq!(
        decoded(examples::SEGMENT_DELETED),
        Record::Segment(Segment {
            event_id: "e1".into(),
            plugin: "seg".into(),
            start_ms: 10_250,
            end_ms: None,
            attributes: Attributes::new(),
            deleted: true,
            extra: Extra::default(),
        })
    );
}

#[test]
fn optimization() {
    assert_eq!(
        decoded(examples::OPTIMIZATION),
        Record::Optimization(Optimization {
            event_id: "e1".into(),
            plugin: "opt".into(),
            start_ms: 10_250,
            track: 1,
            opto_start_ms: 9_500,
            opto_end_ms: 30_200,
            extra: Extra::default(),
        })
    );
    let on_track_2 = with(examples::OPTIMIZATION, "/track", json!(2));
    assert!(matches!(decoded(&on_track_2), Record::Optimization(Optimization { track: 2, .. })));
}

#[test]
fn label() {
    assert_eq!(
        decoded(examples::LABEL),
        Record::Label(Label {
            event_id: "e1".into(),
            plugin: "lab".into(),
            start_ms: 10_250,
            label: "Ace by A".into(),
            attributes: attributes(&[("kind", text("ace"))]),
            extra: Extra::default(),
        })
    );
}

#[test]
fn detection_keeps_no_unknown_fields() {
    assert_eq!(
        decoded(examples::DETECTION),
        Record::Detection(Detection {
            event_id: "e1".into(),
            plugin: "scoreboard".into(),
            start_ms: 12_000,
            end_ms: 13_500,
            track: Some(2),
            label: Some("score".into()),
            attributes: attributes(&[("Ace", AttrValue::Bool(true)), ("set", AttrValue::Int(1))]),
            deleted: false,
        })
    );
}

#[test]
fn replay_in_duration_mode() {
    assert_eq!(
        decoded(examples::REPLAY_DURATION),
        Record::Replay(Replay {
            replay_id: "r1".into(),
            event_id: "e1".into(),
            mode: ReplayMode::Duration,
            catchup: true,
            duration_ms: Some(120_000),
            tolerance_ms: 30_000,
            equal_distribution: false,
            track: 1,
            priorities: vec![Priority {
                plugin: Some("scoreboard".into()),
                attribute: "Ace".into(),
                value: AttrValue::Bool(true),
                weight: Some(90),
                include: true,
            }],
            include_liked: false,
            ignore_disliked: false,
            timestamps: vec![],
            render: r#"{"hls":true,"mp4":true,"resolutions":["720p"],"transition":{"fade_in_ms":500,"fade_out_ms":500}}"#.into(),
            extra: Extra::default(),
        })
    );
}

#[test]
fn replay_defaults() {
    assert_eq!(
        decoded(examples::REPLAY_DEFAULTS),
        Record::Replay(Replay {
            replay_id: "r2".into(),
            event_id: "e1".into(),
            mode: ReplayMode::Duration,
            catchup: false,
            duration_ms: Some(60_000),
            tolerance_ms: 30_000,
            equal_distribution: false,
            track: 1,
            priorities: vec![Priority {
                plugin: None,
                attribute: "Ace".into(),
                value: AttrValue::Bool(true),
                weight: Some(50),
                include: true,
            }],
            include_liked: false,
            ignore_disliked: false,
            timestamps: vec![],
            render: String::new(),
            extra: Extra::default(),
        })
    );
    let no_priorities = without(examples::REPLAY_DEFAULTS, "/priorities");
    assert_eq!(replay(&no_priorities).priorities, vec![]);
}

#[test]
fn replay_in_features_mode() {
    assert_eq!(
        decoded(examples::REPLAY_FEATURES),
        Record::Replay(Replay {
            replay_id: "r3".into(),
            event_id: "e1".into(),
            mode: ReplayMode::Features,
            catchup: false,
            duration_ms: None,
            tolerance_ms: 30_000,
            equal_distribution: false,
            track: 1,
            priorities: vec![
                Priority {
                    plugin: Some("crowd".into()),
                    attribute: "loud".into(),
                    value: AttrValue::Int(2),
                    weight: None,
                    include: false,
                },
                Priority {
                    plugin: None,
                    attribute: "player".into(),
                    value: text("A"),
                    weight: None,
                    include: true,
                },
            ],
            include_liked: true,
            ignore_disliked: true,
            timestamps: vec![],
            render: String::new(),
            extra: extra(r#"{"requested_by":"ops"}"#),
        })
    );
}

#[test]
fn replay_in_timestamps_mode() {
    assert_eq!(
        decoded(examples::REPLAY_TIMESTAMPS),
        Record::Replay(Replay {
            replay_id: "r4".into(),
            event_id: "e1".into(),
            mode: ReplayMode::Timestamps,
            catchup: true,
            duration_ms: None,
            tolerance_ms: 30_000,
            equal_distribution: false,
            track: 2,
            priorities: vec![],
            include_liked: false,
            ignore_disliked: false,
            timestamps: vec![
                TimeRange { start_ms: 60_000, end_ms: 75_500 },
                TimeRange { start_ms: 10_000, end_ms: 20_000 },
            ],
            render: String::new(),
            extra: Extra::default(),
        })
    );
}

#[test]
fn feedback() {
    assert_eq!(
        decoded(examples::FEEDBACK),
        Record::Feedback(Feedback {
            event_id: "e1".into(),
            start_ms: 10_250,
            track: 1,
            verdict: Verdict::Like,
        })
    );
    for (verdict, expected) in [("dislike", Verdict::Dislike), ("reset", Verdict::Reset)] {
        let other = with(examples::FEEDBACK, "/verdict", json!(verdict));
        assert!(
            matches!(decoded(&other), Record::Feedback(Feedback { verdict, .. }) if verdict == expected)
        );
    }
}

#[test]
fn delete() {
    assert_eq!(
        decoded(examples::DELETE),
        Record::Delete(Delete { kind: DeleteKind::Replay, id: "r1".into() })
    );
    for (kind, expected) in [("event", DeleteKind::Event), ("profile", DeleteKind::Profile)] {
        let other = with(examples::DELETE, "/kind", json!(kind));
        assert_eq!(decoded(&other), Record::Delete(Delete { kind: expected, id: "r1".into() }));
    }
}

// ---- Accepted variations ----

#[test]
fn null_in_an_optional_field_means_absent() {
    let open = with(examples::SEGMENT_OPEN, "/end", Value::Null);
    assert_eq!(decoded(&open), decoded(examples::SEGMENT_OPEN));
    let no_attributes = with(examples::SEGMENT_OPEN, "/attributes", Value::Null);
    assert_eq!(decoded(&no_attributes), decoded(examples::SEGMENT_OPEN));

    let mut event = examples::EVENT_MINIMAL.to_owned();
    for field in ["program", "frame_rate", "audio_tracks", "title"] {
        event = with(&event, &format!("/{field}"), Value::Null);
    }
    assert_eq!(decoded(&event), decoded(examples::EVENT_MINIMAL));

    let mut defaults = examples::REPLAY_DEFAULTS.to_owned();
    for field in [
        "mode",
        "catchup",
        "tolerance",
        "equal_distribution",
        "track",
        "include_liked",
        "ignore_disliked",
        "timestamps",
        "render",
    ] {
        defaults = with(&defaults, &format!("/{field}"), Value::Null);
    }
    for field in ["plugin", "value", "include"] {
        defaults = with(&defaults, &format!("/priorities/0/{field}"), Value::Null);
    }
    assert_eq!(decoded(&defaults), decoded(examples::REPLAY_DEFAULTS));
}

#[test]
fn a_priority_value_of_null_means_true() {
    let null_value = with(examples::REPLAY_DEFAULTS, "/priorities/0/value", Value::Null);
    assert_eq!(replay(&null_value).priorities[0].value, AttrValue::Bool(true));
}

#[test]
fn times_keep_three_decimals_and_round_half_away_from_zero() {
    let cases = [
        (json!(1.0005), 1_001),
        (json!(1.0004999), 1_000),
        (json!(2.675), 2_675),
        (json!(0.0015), 2),
        (json!(12.3456789), 12_346),
        (json!(0), 0),
        (json!(0.0), 0),
        (json!(864000), 864_000_000),
        (json!(864000.0004), 864_000_000),
    ];
    for (seconds, ms) in cases {
        let record = with(examples::SEGMENT_OPEN, "/start", seconds.clone());
        assert_eq!(segment(&record).start_ms, ms, "start {seconds}");
    }
    // An exponent is a number like any other.
    let exponent = examples::SEGMENT_OPEN.replace("10.25", "1.0005e1");
    assert_eq!(segment(&exponent).start_ms, 10_005);
}

#[test]
fn range_checks_apply_to_the_rounded_value() {
    // Rounded to 0 ms: not negative.
    for zero in ["-0", "-0.0", "-0.0004"] {
        let record = examples::SEGMENT_OPEN.replace("10.25", zero);
        assert_eq!(segment(&record).start_ms, 0, "start {zero}");
    }
    // A duration of 0.9995 s rounds to 1 s, the shortest valid budget.
    let shortest = with(examples::REPLAY_DEFAULTS, "/duration", json!(0.9995));
    assert_eq!(replay(&shortest).duration_ms, Some(1_000));
    let longest = with(examples::REPLAY_DEFAULTS, "/duration", json!(10000.0004));
    assert_eq!(replay(&longest).duration_ms, Some(10_000_000));
}

#[test]
fn unknown_fields_are_kept_as_canonical_json() {
    // Keys sorted at every depth, numbers as written, `type` not repeated.
    let record = examples::SEGMENT_OPEN.replace(
        r#""start":10.25"#,
        r#""start":10.25,"zeta":[1,1.0,"x"],"alpha":{"b":null,"a":true}"#,
    );
    assert_eq!(
        segment(&record).extra,
        extra(r#"{"alpha":{"a":true,"b":null},"zeta":[1,1.0,"x"]}"#)
    );

    let event = with(examples::EVENT_MINIMAL, "/broadcaster", json!({"name": "TV", "id": 7}));
    match decoded(&event) {
        Record::Event(event) => {
            assert_eq!(event.extra, extra(r#"{"broadcaster":{"id":7,"name":"TV"}}"#));
        }
        other => panic!("not an event: {other:?}"),
    }

    assert_eq!(replay(examples::REPLAY_FEATURES).extra, extra(r#"{"requested_by":"ops"}"#));
    // A priority's unknown fields (MRE's `Name`) are ignored.
    let named = with(examples::REPLAY_DEFAULTS, "/priorities/0/Name", json!("Aces"));
    assert_eq!(decoded(&named), decoded(examples::REPLAY_DEFAULTS));
}

#[test]
fn deleted_on_a_label_is_an_unknown_field() {
    let label = with(examples::LABEL, "/deleted", json!(true));
    match decoded(&label) {
        Record::Label(label) => assert_eq!(label.extra, extra(r#"{"deleted":true}"#)),
        other => panic!("not a label: {other:?}"),
    }
}

#[test]
fn detection_end_defaults_to_start_and_unknown_fields_are_dropped() {
    let point = without(examples::DETECTION, "/end");
    assert_eq!(detection(&point).end_ms, 12_000);
    let null_end = with(examples::DETECTION, "/end", Value::Null);
    assert_eq!(detection(&null_end).end_ms, 12_000);
    let same = with(examples::DETECTION, "/end", json!(12));
    assert_eq!(detection(&same).end_ms, 12_000);

    let bare = without(examples::DETECTION, "/frame");
    assert_eq!(decoded(&bare), decoded(examples::DETECTION));

    let video = without(examples::DETECTION, "/track");
    assert_eq!(detection(&video).track, None);

    let removal = with(examples::DETECTION, "/deleted", json!(true));
    let removal = detection(&removal);
    assert!(removal.deleted);
    assert_eq!(removal.identity(), detection(examples::DETECTION));
}

#[test]
fn integral_attribute_values_are_equal_however_written() {
    let written = |value: &str| {
        detection(&examples::DETECTION.replace(r#""set":1.0"#, &format!(r#""set":{value}"#)))
    };
    assert_eq!(written("1"), written("1.0"));
    assert_eq!(written("1"), written("1e0"));
    assert_eq!(written("1").attributes["set"], AttrValue::Int(1));
    assert_ne!(written("true"), written("1"));
    assert_ne!(written(r#""1""#), written("1"));
    assert_ne!(written("1.5"), written("1"));

    let integral_weightless = with(examples::REPLAY_FEATURES, "/priorities/0/value", json!(2.0));
    assert_eq!(replay(&integral_weightless), replay(examples::REPLAY_FEATURES));
}

#[test]
fn audio_tracks_may_be_empty_but_not_repeat() {
    let video_only = with(examples::EVENT_MINIMAL, "/audio_tracks", json!([]));
    assert!(
        matches!(decoded(&video_only), Record::Event(Event { audio_tracks, .. }) if audio_tracks.is_empty())
    );

    let twice = with(examples::EVENT_MINIMAL, "/audio_tracks", json!([1, 2, 1]));
    assert_invalid(&twice, "event", &["`audio_tracks`", "1", "twice"]);
    assert_invalid(
        &with(examples::EVENT_MINIMAL, "/audio_tracks", json!([0])),
        "event",
        &["`audio_tracks[0]`"],
    );
    assert_invalid(
        &with(examples::EVENT_MINIMAL, "/audio_tracks", json!([1.0])),
        "event",
        &["`audio_tracks[0]`", "floating point"],
    );
}

#[test]
fn a_label_may_be_empty() {
    let empty = with(examples::LABEL, "/label", json!(""));
    assert!(matches!(decoded(&empty), Record::Label(Label { label, .. }) if label.is_empty()));
}

#[test]
fn a_record_of_exactly_the_limit_is_accepted() {
    let bytes = examples::DELETE.as_bytes();
    assert!(decode(bytes, bytes.len()).is_ok());
}

// ---- Not JSON ----

#[test]
fn rejects_what_is_not_json() {
    assert_not_json(b"{\"type\":\"delete\",", "EOF");
    assert_not_json(b"type=delete", "expected");
    assert_not_json(format!("{} {{}}", examples::DELETE).as_bytes(), "trailing characters");
    // Not even JSON when empty: blank lines are the reader's business, not a record.
    assert_not_json(b"", "EOF");
}

#[test]
fn rejects_a_byte_order_mark() {
    let with_bom = format!("\u{feff}{}", examples::DELETE);
    let error = rejected(with_bom.as_bytes());
    assert_eq!(error, RecordError::ByteOrderMark);
    assert!(error.to_string().contains("byte-order mark"), "{error}");
}

#[test]
fn rejects_invalid_utf8() {
    let mut bytes = br#"{"type":"delete","kind":"replay","id":"r"#.to_vec();
    bytes.push(0xff);
    bytes.extend_from_slice(br#""}"#);
    let error = rejected(&bytes);
    assert_eq!(error, RecordError::NotUtf8 { offset: 40 });
    assert!(error.to_string().contains("invalid UTF-8 at byte 40"), "{error}");
}

#[test]
fn rejects_duplicate_keys_at_any_depth() {
    let top = r#"{"type":"delete","kind":"replay","id":"r1","id":"r2"}"#;
    assert_not_json(top.as_bytes(), r#"duplicate key "id""#);
    let twice_typed = r#"{"type":"delete","type":"event","kind":"replay","id":"r1"}"#;
    assert_not_json(twice_typed.as_bytes(), r#"duplicate key "type""#);
    let nested = examples::SEGMENT_COMPLETE.replace(r#""points":2"#, r#""points":2,"Ace":false"#);
    assert_not_json(nested.as_bytes(), r#"duplicate key "Ace""#);
    let deep = examples::REPLAY_DURATION
        .replace(r#""fade_out_ms":500"#, r#""fade_out_ms":500,"fade_in_ms":1"#);
    assert_not_json(deep.as_bytes(), r#"duplicate key "fade_in_ms""#);
}

#[test]
fn rejects_nan_and_infinity() {
    for literal in ["NaN", "Infinity", "-Infinity"] {
        let record = examples::SEGMENT_OPEN.replace("10.25", literal);
        assert_not_json(record.as_bytes(), "");
    }
    let overflow = examples::SEGMENT_OPEN.replace("10.25", "1e400");
    assert_not_json(overflow.as_bytes(), "number out of range");
}

#[test]
fn rejects_an_unpaired_surrogate_escape() {
    for escape in [r"\ud800", r"\udc00", r"\ud800x"] {
        let record = examples::DELETE.replace("r1", escape);
        assert_not_json(record.as_bytes(), "escape");
    }
    let in_key = examples::SEGMENT_OPEN.replace(r#""start":"#, r#""\ud83c":1,"start":"#);
    assert_not_json(in_key.as_bytes(), "escape");
    // A pair is one character.
    let paired = examples::DELETE.replace("r1", r"\ud83c\udfbe");
    assert_eq!(
        decoded(&paired),
        Record::Delete(Delete { kind: DeleteKind::Replay, id: "🎾".into() })
    );
}

#[test]
fn rejects_an_oversized_record_without_parsing_it() {
    let error = decode(examples::DELETE.as_bytes(), examples::DELETE.len() - 1).unwrap_err();
    assert_eq!(
        error,
        RecordError::TooLarge { size: examples::DELETE.len(), limit: examples::DELETE.len() - 1 }
    );
    assert_eq!(error.kind(), "too_large");
    // Not parsed: oversized garbage is too large, not "not JSON".
    let garbage = vec![b'x'; DEFAULT_MAX_RECORD_BYTES + 1];
    let error = rejected(&garbage);
    assert_eq!(
        error,
        RecordError::TooLarge { size: DEFAULT_MAX_RECORD_BYTES + 1, limit: 1_048_576 }
    );
    assert!(error.to_string().contains("more than the limit of 1048576 bytes"), "{error}");
    // A valid record padded past 1 MiB is rejected too.
    let padded = with(examples::SEGMENT_OPEN, "/note", json!("x".repeat(DEFAULT_MAX_RECORD_BYTES)));
    assert!(matches!(rejected(padded.as_bytes()), RecordError::TooLarge { .. }));
}

// ---- Not a record ----

#[test]
fn rejects_what_is_not_an_object() {
    for text in ["[]", r#"[{"type":"delete"}]"#, "1", "\"delete\"", "null", "true"] {
        let error = rejected(text.as_bytes());
        assert_eq!(error, RecordError::NotObject, "{text}");
        assert_eq!(error.to_string(), "not a JSON object");
    }
}

#[test]
fn rejects_a_missing_or_non_string_type() {
    let missing = without(examples::DELETE, "/type");
    for text in [
        missing,
        with(examples::DELETE, "/type", Value::Null),
        with(examples::DELETE, "/type", json!(1)),
        with(examples::DELETE, "/type", json!(["delete"])),
        with(examples::DELETE, "/type", json!({"name": "delete"})),
    ] {
        let error = rejected(text.as_bytes());
        assert_eq!(error, RecordError::MissingType, "{text}");
        assert!(error.to_string().contains("`type`"), "{error}");
    }
}

#[test]
fn rejects_an_unknown_type_case_sensitively() {
    for unknown in ["Segment", "SEGMENT", "segments", "", "clip"] {
        let text = with(examples::SEGMENT_OPEN, "/type", json!(unknown));
        let error = rejected(text.as_bytes());
        assert_eq!(error, RecordError::UnknownType(unknown.to_owned()));
        let message = error.to_string();
        assert!(message.contains(&format!("{unknown:?}")), "{message}");
        assert!(message.contains("expected one of"), "{message}");
    }
}

// ---- Missing fields ----

#[test]
fn rejects_a_missing_required_field() {
    let required: &[(&str, &str, &[&str])] = &[
        (
            examples::PROFILE,
            "profile",
            &["name", "chunk_size", "processing_fps", "max_segment_length", "classifier"],
        ),
        (examples::EVENT, "event", &["event_id", "profile", "status"]),
        (examples::CHUNK, "chunk", &["event_id", "seq_no", "uri", "start", "duration"]),
        (examples::SEGMENT_OPEN, "segment", &["event_id", "plugin", "start"]),
        (
            examples::OPTIMIZATION,
            "optimization",
            &["event_id", "plugin", "start", "opto_start", "opto_end"],
        ),
        (examples::LABEL, "label", &["event_id", "plugin", "start", "label"]),
        (examples::DETECTION, "detection", &["event_id", "plugin", "start", "attributes"]),
        (examples::REPLAY_DEFAULTS, "replay", &["replay_id", "event_id"]),
        (examples::FEEDBACK, "feedback", &["event_id", "start", "verdict"]),
        (examples::DELETE, "delete", &["kind", "id"]),
    ];
    for (example, record_type, fields) in required {
        for field in *fields {
            let needle = format!("missing field `{field}`");
            assert_invalid(&without(example, &format!("/{field}")), record_type, &[&needle]);
            let null = with(example, &format!("/{field}"), Value::Null);
            assert_invalid(&null, record_type, &[&needle]);
        }
    }
    assert_invalid(
        &without(examples::PROFILE, "/classifier/plugin"),
        "profile",
        &["`classifier`", "missing field `plugin`"],
    );
    assert_invalid(
        &without(examples::REPLAY_DEFAULTS, "/priorities/0/attribute"),
        "replay",
        &["`priorities[0]`", "missing field `attribute`"],
    );
    assert_invalid(
        &without(examples::REPLAY_TIMESTAMPS, "/timestamps/1/end"),
        "replay",
        &["`timestamps[1]`", "missing field `end`"],
    );
}

#[test]
fn rejects_empty_ids_names_and_plugins() {
    let fields: &[(&str, &str, &str)] = &[
        (examples::PROFILE, "profile", "/name"),
        (examples::PROFILE, "profile", "/classifier/plugin"),
        (examples::PROFILE, "profile", "/featurers/0/depends_on/0"),
        (examples::EVENT, "event", "/event_id"),
        (examples::EVENT, "event", "/profile"),
        (examples::CHUNK, "chunk", "/uri"),
        (examples::SEGMENT_OPEN, "segment", "/plugin"),
        (examples::OPTIMIZATION, "optimization", "/plugin"),
        (examples::LABEL, "label", "/event_id"),
        (examples::DETECTION, "detection", "/plugin"),
        (examples::REPLAY_DURATION, "replay", "/replay_id"),
        (examples::REPLAY_DURATION, "replay", "/priorities/0/plugin"),
        (examples::REPLAY_DURATION, "replay", "/priorities/0/attribute"),
        (examples::FEEDBACK, "feedback", "/event_id"),
        (examples::DELETE, "delete", "/id"),
    ];
    for (example, record_type, pointer) in fields {
        let field = pointer[1..].replace('/', ".");
        let field = field.replace(".0", "[0]");
        assert_invalid(
            &with(example, pointer, json!("")),
            record_type,
            &[&format!("`{field}`"), "must not be empty"],
        );
    }
}

// ---- Times ----

#[test]
fn rejects_invalid_times() {
    for (value, rule) in [
        (json!(-1), "negative"),
        (json!(-0.001), "negative"),
        (json!(-0.0005), "negative"),
        (json!(864001), "10 days"),
        (json!(864000.001), "10 days"),
        (json!(864000.0005), "10 days"),
        (json!(1e300), "10 days"),
        (json!("NaN"), "invalid type: string"),
        (json!("10.25"), "invalid type: string"),
        (json!(true), "invalid type: boolean"),
    ] {
        let record = with(examples::SEGMENT_COMPLETE, "/start", value.clone());
        assert_invalid(&record, "segment", &["`start`", rule]);
    }
    for (example, record_type, pointer, field) in [
        (examples::PROFILE, "profile", "/chunk_size", "`chunk_size`"),
        (examples::PROFILE, "profile", "/optimizer/search_window", "`optimizer.search_window`"),
        (examples::CHUNK, "chunk", "/duration", "`duration`"),
        (examples::CHUNK, "chunk", "/pts_start", "`pts_start`"),
        (examples::OPTIMIZATION, "optimization", "/opto_start", "`opto_start`"),
        (examples::DETECTION, "detection", "/end", "`end`"),
        (examples::REPLAY_DEFAULTS, "replay", "/tolerance", "`tolerance`"),
        (examples::REPLAY_TIMESTAMPS, "replay", "/timestamps/0/start", "`timestamps[0].start`"),
        (examples::FEEDBACK, "feedback", "/start", "`start`"),
        (examples::LABEL, "label", "/start", "`start`"),
    ] {
        assert_invalid(&with(example, pointer, json!(-2)), record_type, &[field, "negative"]);
        assert_invalid(&with(example, pointer, json!(900000)), record_type, &[field, "10 days"]);
    }
}

#[test]
fn rejects_an_end_before_the_start() {
    let segment = with(examples::SEGMENT_COMPLETE, "/end", json!(5));
    assert_invalid(&segment, "segment", &["`end`", "5.000", "before `start` 10.250"]);
    // Rounding first: 10.2495 is 10.250, an open segment, not before its start.
    let open = with(examples::SEGMENT_COMPLETE, "/end", json!(10.2495));
    assert_eq!(segment_end(&open), Some(10_250));
    let open = with(examples::SEGMENT_COMPLETE, "/end", json!(10.2494));
    assert_invalid(&open, "segment", &["`end`", "10.249", "before `start` 10.250"]);

    let detection = with(examples::DETECTION, "/end", json!(11.999));
    assert_invalid(&detection, "detection", &["`end`", "11.999", "before `start` 12.000"]);
}

fn segment_end(text: &str) -> Option<u64> {
    segment(text).end_ms
}

#[test]
fn rejects_an_optimization_that_does_not_move_forward() {
    for opto_end in [json!(9.5), json!(9.0), json!(9.5004)] {
        let record = with(examples::OPTIMIZATION, "/opto_end", opto_end.clone());
        assert_invalid(&record, "optimization", &["`opto_end`", "not after `opto_start` 9.500"]);
    }
    let just_after = with(examples::OPTIMIZATION, "/opto_end", json!(9.5005));
    assert!(matches!(
        decoded(&just_after),
        Record::Optimization(Optimization { opto_end_ms: 9_501, .. })
    ));
}

// ---- Integers ----

#[test]
fn rejects_bad_tracks() {
    for (example, record_type) in [
        (examples::OPTIMIZATION, "optimization"),
        (examples::DETECTION, "detection"),
        (examples::REPLAY_DURATION, "replay"),
        (examples::FEEDBACK, "feedback"),
    ] {
        assert_invalid(&with(example, "/track", json!(0)), record_type, &["`track`", "at least 1"]);
        assert_invalid(
            &with(example, "/track", json!(1.0)),
            record_type,
            &["`track`", "floating point"],
        );
        assert_invalid(&with(example, "/track", json!(-1)), record_type, &["`track`"]);
        assert_invalid(&with(example, "/track", json!("1")), record_type, &["`track`", "string"]);
    }
}

#[test]
fn rejects_bad_weights() {
    for (weight, rule) in [
        (json!(0), "weight 0 is not between 1 and 100"),
        (json!(101), "weight 101 is not between 1 and 100"),
        (json!(1.5), "floating point"),
        (json!(50.0), "floating point"),
        (json!(-5), "integer `-5`"),
    ] {
        let record = with(examples::REPLAY_DURATION, "/priorities/0/weight", weight);
        assert_invalid(&record, "replay", &["`priorities[0].weight`", rule]);
    }
    for bound in [1, 100] {
        let record = with(examples::REPLAY_DURATION, "/priorities/0/weight", json!(bound));
        assert_eq!(replay(&record).priorities[0].weight, Some(bound));
    }
}

#[test]
fn rejects_a_fractional_seq_no() {
    assert_invalid(
        &with(examples::CHUNK, "/seq_no", json!(1.0)),
        "chunk",
        &["`seq_no`", "floating point"],
    );
    assert_invalid(&with(examples::CHUNK, "/seq_no", json!(-1)), "chunk", &["`seq_no`"]);
}

#[test]
fn rejects_bad_rates() {
    for (pointer, field) in
        [("/processing_fps", "`processing_fps`"), ("/frame_rate", "`frame_rate`")]
    {
        let example = if pointer == "/frame_rate" { examples::EVENT } else { examples::PROFILE };
        let record_type = if pointer == "/frame_rate" { "event" } else { "profile" };
        for rate in [json!(0), json!(-25), json!(0.0004), json!(1000.5)] {
            assert_invalid(
                &with(example, pointer, rate),
                record_type,
                &[field, "not a rate above 0"],
            );
        }
    }
}

// ---- Replays ----

#[test]
fn duration_mode_needs_a_duration_in_range() {
    assert_invalid(
        &without(examples::REPLAY_DEFAULTS, "/duration"),
        "replay",
        &["missing field `duration`", "duration mode"],
    );
    let explicit = without(examples::REPLAY_DURATION, "/duration");
    assert_invalid(&explicit, "replay", &["missing field `duration`"]);
    for (duration, shown) in [
        (json!(0.5), "0.500 s"),
        (json!(0), "0.000 s"),
        (json!(10001), "10001.000 s"),
        (json!(0.9994), "0.999 s"),
    ] {
        let record = with(examples::REPLAY_DEFAULTS, "/duration", duration);
        assert_invalid(&record, "replay", &["`duration`", shown, "not between 1 and 10000 s"]);
    }
    // The range holds in every mode that gives a duration.
    let features = with(examples::REPLAY_FEATURES, "/duration", json!(0.5));
    assert_invalid(&features, "replay", &["`duration`"]);
}

#[test]
fn duration_mode_needs_a_weight_on_every_priority() {
    let record = examples::REPLAY_DURATION
        .replace(r#""weight":90}]"#, r#""weight":90},{"attribute":"Winner"}]"#);
    assert_invalid(&record, "replay", &["missing field `priorities[1].weight`", "duration mode"]);
    // Not needed in features mode, and not needed with no priorities.
    let features = with(examples::REPLAY_FEATURES, "/priorities/0/weight", Value::Null);
    assert!(matches!(decoded(&features), Record::Replay(_)));
}

#[test]
fn timestamps_mode_needs_non_empty_forward_ranges() {
    assert_invalid(
        &with(examples::REPLAY_TIMESTAMPS, "/timestamps", json!([])),
        "replay",
        &["`timestamps`", "non-empty"],
    );
    assert_invalid(
        &without(examples::REPLAY_TIMESTAMPS, "/timestamps"),
        "replay",
        &["`timestamps`", "non-empty"],
    );
    for end in [json!(10), json!(5), json!(10.0004)] {
        let record = with(examples::REPLAY_TIMESTAMPS, "/timestamps/1/end", end);
        assert_invalid(&record, "replay", &["`timestamps[1].end`", "not after `start` 10.000"]);
    }
}

#[test]
fn rejects_non_boolean_flags() {
    for flag in ["catchup", "equal_distribution", "include_liked", "ignore_disliked"] {
        for value in [json!("true"), json!(1), json!(0)] {
            let record = with(examples::REPLAY_DURATION, &format!("/{flag}"), value);
            assert_invalid(&record, "replay", &[&format!("`{flag}`"), "expected a boolean"]);
        }
    }
    let include = with(examples::REPLAY_FEATURES, "/priorities/1/include", json!("yes"));
    assert_invalid(&include, "replay", &["`priorities[1].include`", "expected a boolean"]);
    let deleted = with(examples::SEGMENT_OPEN, "/deleted", json!(1));
    assert_invalid(&deleted, "segment", &["`deleted`", "expected a boolean"]);
    let deleted = with(examples::DETECTION, "/deleted", json!("true"));
    assert_invalid(&deleted, "detection", &["`deleted`", "expected a boolean"]);
    let hint = with(examples::PROFILE, "/featurers/0/priority_for_replay", json!("no"));
    assert_invalid(&hint, "profile", &["`featurers[0].priority_for_replay`", "expected a boolean"]);
}

#[test]
fn rejects_unknown_enum_values() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (examples::EVENT, "event", "/status", "Started"),
        (examples::EVENT, "event", "/status", "live"),
        (examples::REPLAY_DURATION, "replay", "/mode", "Duration"),
        (examples::REPLAY_DURATION, "replay", "/mode", "highlights"),
        (examples::FEEDBACK, "feedback", "/verdict", "LIKE"),
        (examples::DELETE, "delete", "/kind", "segment"),
        (examples::PROFILE, "profile", "/featurers/1/media", "sound"),
    ];
    // Not a string at all: named, and `null` is missing (it is a required field).
    let numeric = with(examples::EVENT, "/status", json!(1));
    assert_invalid(&numeric, "event", &["`status`"]);
    let null = with(examples::FEEDBACK, "/verdict", Value::Null);
    assert_invalid(&null, "feedback", &["missing field `verdict`"]);
    for (example, record_type, pointer, value) in cases {
        let field = pointer[1..].replace("/1/", "[1].");
        assert_invalid(
            &with(example, pointer, json!(value)),
            record_type,
            &[&format!("`{field}`"), &format!("unknown variant `{value}`")],
        );
    }
}

// ---- Attributes ----

#[test]
fn rejects_attribute_values_that_are_not_scalars() {
    for (example, record_type) in [
        (examples::SEGMENT_COMPLETE, "segment"),
        (examples::LABEL, "label"),
        (examples::DETECTION, "detection"),
    ] {
        for value in [Value::Null, json!([1]), json!({"a": 1})] {
            let record = with(example, "/attributes/bad", value.clone());
            let error = rejected(record.as_bytes());
            let RecordError::Invalid { record_type: actual, message } = error else {
                panic!("{record}: {error:?}");
            };
            assert_eq!(actual, record_type);
            assert!(message.contains("`attributes.bad`"), "{message}");
            assert!(message.contains("a boolean, a number or a string"), "{message}");
            assert!(!message.contains("missing"), "a null attribute is not missing: {message}");
        }
    }
    for value in [Value::Null, json!([true]), json!({})] {
        let record = with(examples::REPLAY_DURATION, "/priorities/0/value", value.clone());
        if value.is_null() {
            assert!(matches!(decoded(&record), Record::Replay(_)));
        } else {
            assert_invalid(&record, "replay", &["`priorities[0].value`"]);
        }
    }
    let not_an_object = with(examples::DETECTION, "/attributes", json!([["Ace", true]]));
    assert_invalid(&not_an_object, "detection", &["`attributes`"]);
}
