//! The JSON Schema of every record is the API of an event-sourced system: plugins in any
//! language publish against it. `record-schema.json` is its committed snapshot; this test fails
//! when the record types change it, so that every change of the wire form is a reviewed diff.

mod examples;

use std::path::PathBuf;

use reeltime_schemas::schema;
use serde_json::{json, Value};

const REGENERATE: &str = "UPDATE_SCHEMA=1 cargo test -p reeltime-schemas --test schema_snapshot";

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("record-schema.json")
}

#[test]
fn the_committed_schema_is_up_to_date() {
    let generated = serde_json::to_string_pretty(&schema::document()).unwrap() + "\n";
    let path = snapshot_path();
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(old, new)| old != new)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} does not match the record types (first difference at line {}); \
             regenerate it with `{REGENERATE}` and review the diff",
            path.display(),
            first_difference + 1,
        );
    }
}

fn input_schema() -> Value {
    schema::document()["inputs"].clone()
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&input_schema()).expect("the input schema is a valid JSON Schema")
}

#[test]
fn every_input_type_is_one_alternative_tagged_by_its_type() {
    let inputs = input_schema();
    let alternatives = inputs["oneOf"].as_array().expect("inputs are a oneOf");
    let mut tags: Vec<&str> = alternatives
        .iter()
        .map(|alternative| {
            assert!(
                alternative["required"].as_array().is_some_and(|r| r.contains(&json!("type"))),
                "{alternative}"
            );
            let reference =
                alternative["$ref"].as_str().expect("an alternative refers to its record");
            let name = reference.strip_prefix("#/$defs/").expect("a local reference");
            assert!(inputs["$defs"][name].is_object(), "{reference} is not defined");
            alternative["properties"]["type"]["const"].as_str().expect("a `type` constant")
        })
        .collect();
    tags.sort_unstable();
    let mut expected = examples::TYPES.to_vec();
    expected.sort_unstable();
    assert_eq!(tags, expected);
}

#[test]
fn every_example_record_validates_against_the_input_schema() {
    let validator = validator();
    for example in examples::ALL {
        let record: Value = serde_json::from_str(example).unwrap();
        let errors: Vec<String> = validator.iter_errors(&record).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{example}: {errors:#?}");
    }
}

#[test]
fn the_input_schema_rejects_what_decoding_rejects_by_shape() {
    let validator = validator();
    let segment: Value = serde_json::from_str(examples::SEGMENT_COMPLETE).unwrap();
    let with = |field: &str, value: Value| {
        let mut record = segment.clone();
        record[field] = value;
        record
    };
    for (why, record) in [
        ("unknown type", with("type", json!("Segment"))),
        ("fields of another type", with("type", json!("delete"))),
        ("negative time", with("start", json!(-1))),
        ("time above 10 days", with("end", json!(864001))),
        ("empty plugin", with("plugin", json!(""))),
        ("list attribute", with("attributes", json!({"Ace": [true]}))),
        ("null attribute", with("attributes", json!({"Ace": null}))),
        ("string flag", with("deleted", json!("true"))),
    ] {
        assert!(!validator.is_valid(&record), "{why}: {record} is valid");
    }
    let replay: Value = serde_json::from_str(examples::REPLAY_DURATION).unwrap();
    for weight in [json!(0), json!(101), json!(1.5)] {
        let mut record = replay.clone();
        record["priorities"][0]["weight"] = weight;
        assert!(!validator.is_valid(&record), "{record} is valid");
    }
}
