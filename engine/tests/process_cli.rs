//! The `reeltime` command line as a user runs it: `process` on the example log, errors for
//! bad invocations, the same output for any number of workers, the live detections of the
//! event exports, `export --from`, and `schema`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn reeltime(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reeltime")).args(args).output().expect("reeltime runs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn example() -> String {
    repo().join("examples/tennis-match.jsonl").display().to_string()
}

fn process(log: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["process", "--log", log, "--out", out.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(extra);
    reeltime(&args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every output file under `dir` with its text, `seen_at` wall-clock stamps removed.
fn tree(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let text = String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned();
                let text: String = text
                    .lines()
                    .map(|line| match line.find("\"seen_at\"") {
                        Some(at) => line[..at].to_owned(),
                        None => line.to_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                files.push((path.strip_prefix(root).unwrap().display().to_string(), text));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    files
}

#[test]
fn processes_the_example_and_keeps_the_valid_records_around_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = process(&example(), &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("accepted 221 records, rejected 5"), "{}", stdout(&output));

    for replay in ["best-of-match", "aces-only"] {
        let path = out.join("replays").join(replay).join("selection.json");
        let selection: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(selection["status"], "complete", "{replay}");
        assert!(!selection["clips"].as_array().unwrap().is_empty(), "{replay}");
    }
    let segments: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(out.join("events/wimbledon-sf1/segments.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(segments["segments"].as_array().unwrap().len(), 26);

    let dead: Vec<serde_json::Value> = fs::read_to_string(out.join("dead-letter.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let positions: Vec<u64> = dead.iter().map(|d| d["position"].as_u64().unwrap()).collect();
    assert_eq!(positions, vec![24, 76, 139, 171, 206]);
    let original = fs::read_to_string(example()).unwrap();
    let line_76 = original.lines().nth(75).unwrap();
    assert_eq!(dead[1]["record"], line_76, "a rejected record is kept whole");
    assert_eq!(dead[1]["kind"], "unknown_type");
    assert!(dead[4]["reason"].as_str().unwrap().contains("weight"), "{}", dead[4]);
}

#[test]
fn the_number_of_workers_does_not_change_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    for workers in ["1", "2", "3"] {
        let out = dir.path().join(workers);
        let output = process(&example(), &out, &["--workers", workers, "--epoch-records", "7"]);
        assert!(output.status.success(), "{}", stderr(&output));
        trees.push(tree(&out));
    }
    assert_eq!(trees[0], trees[1]);
    assert_eq!(trees[0], trees[2]);
}

#[test]
fn finer_epochs_give_more_versions_and_the_same_final_selection() {
    let dir = tempfile::tempdir().unwrap();
    let coarse = dir.path().join("coarse");
    let fine = dir.path().join("fine");
    assert!(process(&example(), &coarse, &[]).status.success());
    assert!(process(&example(), &fine, &["--epoch-records", "1"]).status.success());
    let read = |out: &Path| -> serde_json::Value {
        let text = fs::read_to_string(out.join("replays/best-of-match/selection.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let (coarse, fine) = (read(&coarse), read(&fine));
    assert_eq!(coarse["clips"], fine["clips"]);
    assert_eq!(coarse["version"], 1);
    assert!(fine["version"].as_u64().unwrap() > 5, "{}", fine["version"]);
}

#[test]
fn a_missing_log_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = process("/nonexistent/events.jsonl", &dir.path().join("out"), &[]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("cannot open log"), "{}", stderr(&output));
    assert!(stderr(&output).contains("/nonexistent/events.jsonl"), "{}", stderr(&output));

    let output = process(dir.path().to_str().unwrap(), &dir.path().join("out2"), &[]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("is a directory"), "{}", stderr(&output));
}

#[test]
fn refuses_to_write_into_a_directory_it_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("thesis.tex"), "precious").unwrap();
    let output = process(&example(), dir.path(), &[]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("refusing to write"), "{}", stderr(&output));
    assert_eq!(fs::read_to_string(dir.path().join("thesis.tex")).unwrap(), "precious");
}

#[test]
fn a_second_run_replaces_the_first_runs_views() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(process(&example(), &out, &[]).status.success());
    let log = dir.path().join("other.jsonl");
    fs::write(&log, "{\"type\":\"delete\",\"kind\":\"replay\",\"id\":\"nothing\"}\n").unwrap();
    let output = process(log.to_str().unwrap(), &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!out.join("replays").exists());
    assert!(!out.join("events").exists());
    assert_eq!(fs::read_to_string(out.join("dead-letter.jsonl")).unwrap(), "");
}

#[test]
fn rejects_a_zero_epoch_size() {
    let dir = tempfile::tempdir().unwrap();
    let output = process(&example(), &dir.path().join("out"), &["--epoch-records", "0"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("epoch-records"), "{}", stderr(&output));
}

#[test]
fn schema_prints_the_committed_snapshot() {
    let output = reeltime(&["schema"]);
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let snapshot: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(repo().join("schemas/record-schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, snapshot);
}

fn write_log(dir: &Path, records: &[serde_json::Value]) -> String {
    let path = dir.join("log.jsonl");
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn event_exports_list_the_live_detections_only() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let detection = |event_id: &str, start: u32, attribute: &str| {
        json!({"type": "detection", "event_id": event_id, "plugin": "p", "start": start,
               "attributes": {attribute: true}})
    };
    let deleted = |record: serde_json::Value| {
        let mut record = record;
        record["deleted"] = json!(true);
        record
    };
    let log = write_log(
        dir.path(),
        &[
            detection("a", 5, "Gone"),
            detection("a", 3, "Kept"),
            deleted(detection("a", 5, "Gone")),
            detection("b", 1, "BeforeDelete"),
            json!({"type": "delete", "kind": "event", "id": "b"}),
            detection("b", 2, "AfterDelete"),
            deleted(detection("c", 1, "NeverAdded")),
            detection("a", 1, "Back"),
            deleted(detection("a", 1, "Back")),
            detection("a", 1, "Back"),
        ],
    );
    for workers in ["1", "2"] {
        let out = dir.path().join(format!("out-{workers}"));
        let output = process(&log, &out, &["--workers", workers, "--epoch-records", "2"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let attributes = |event_id: &str| -> Vec<serde_json::Value> {
            let export = read_json(&out.join("events").join(event_id).join("export.json"));
            export["detections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["attributes"].clone())
                .collect()
        };
        assert_eq!(attributes("a"), [json!({"Back": true}), json!({"Kept": true})]);
        assert_eq!(attributes("b"), [json!({"AfterDelete": true})]);
        assert!(!out.join("events/c").exists(), "an event without live detections has no export");
    }
}

#[test]
fn export_rebuilds_the_tables_from_the_json_exports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(process(&example(), &out, &[]).status.success());
    let tables = out.join("tables");
    let written: Vec<(String, Vec<u8>)> = ["segments", "detections", "replays"]
        .iter()
        .flat_map(|table| ["arrow", "parquet"].map(|ext| format!("{table}.{ext}")))
        .map(|name| {
            let bytes = fs::read(tables.join(&name)).unwrap();
            (name, bytes)
        })
        .collect();
    fs::remove_dir_all(&tables).unwrap();

    let output = reeltime(&["export", "--from", out.to_str().unwrap(), "--format", "parquet"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 3, "{}", stdout(&output));
    assert!(!tables.join("segments.arrow").exists());
    let output = reeltime(&["export", "--from", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    for (name, bytes) in written {
        assert!(fs::read(tables.join(&name)).unwrap() == bytes, "{name} differs from process's");
    }
}

#[test]
fn export_refuses_a_directory_reeltime_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let output = reeltime(&["export", "--from", dir.path().to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("is not a reeltime output directory"), "{}", stderr(&output));
    let output = reeltime(&["export", "--from", dir.path().to_str().unwrap(), "--format", "xml"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("invalid value 'xml'"), "{}", stderr(&output));
}

#[test]
fn the_render_sink_forgets_the_chunks_of_a_deleted_event() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let event =
        |status: &str| json!({"type": "event", "event_id": "e1", "profile": "p", "status": status});
    let chunk = |seq_no: u32, uri: &str, error: &str| {
        json!({"type": "chunk", "event_id": "e1", "seq_no": seq_no, "uri": uri,
               "start": seq_no * 10, "duration": 10, "error": error})
    };
    let log = write_log(
        dir.path(),
        &[
            json!({"type": "profile", "name": "p", "chunk_size": 10, "processing_fps": 5,
                   "max_segment_length": 60, "classifier": {"plugin": "seg"}}),
            event("started"),
            chunk(0, "old-0.ts", "old damage"),
            chunk(1, "old-1.ts", "old damage"),
            chunk(2, "old-2.ts", "old damage"),
            json!({"type": "delete", "kind": "event", "id": "e1"}),
            event("started"),
            chunk(0, "new-0.ts", "new damage"),
            json!({"type": "segment", "event_id": "e1", "plugin": "seg", "start": 22, "end": 28}),
            event("ended"),
        ],
    );
    let out = dir.path().join("out");
    let output = process(&log, &out, &["--render", "--epoch-records", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));

    // The event made again has one chunk, which ends before the segment: the clip fails
    // because the event ended first, not because of a chunk of the deleted event.
    let segments = read_json(&out.join("events/e1/segments.json"));
    let error = segments["segments"][0]["clips"]["1"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("ended"), "{error}");
    assert!(!error.contains("old"), "{error}");
    let event = read_json(&out.join("events/e1/event.json"));
    let failed: Vec<&str> = event["failed_chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|chunk| chunk["uri"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["new-0.ts"]);
}
