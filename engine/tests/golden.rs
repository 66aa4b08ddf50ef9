//! Golden files of the exports, and independent checks of every EDL they hold.
//!
//! Each folder `tests/golden/<case>/` holds an event log `input.jsonl`, optionally `args`
//! (more `reeltime process` arguments, one a line, such as `--drop-frame`), and under
//! `expected/` every export `reeltime process` must write for it: the `*.edl` files and
//! `export.json` of each event and replay, byte for byte. `UPDATE_GOLDEN=1` rewrites them; the
//! diff is then what a reviewer reads.
//!
//! Beside the comparison, every EDL the cases produce is checked twice:
//!
//! - by our own reader here, for what OpenTimelineIO does not check: the `FCM:` line, reel
//!   names of at most 8 characters, drop-frame labels that do not exist, event numbers, the
//!   `* FROM CLIP NAME:` comments, record times back to back from `00:00:00:00`, and source
//!   frames that are the export's clip bounds at the event's frame rate;
//! - by OpenTimelineIO's CMX 3600 reader (`tests/otio_check.py`), which must find the same
//!   source and record frames. It runs in the Python environment that `scripts/test` makes
//!   (`/var/cache/reeltime/venv`, or `REELTIME_VENV`); a plain `cargo test` without it says
//!   that the check was skipped, unless `REELTIME_REQUIRE_READERS=1` (set by `scripts/test`)
//!   makes a missing environment a failure.
//!
//! The tables (`tables/*.arrow`, `tables/*.parquet`) of every case are read by pyarrow
//! (`tests/pyarrow_check.py`, same environment and rule), which checks the schema of
//! `docs/exports.md` and that their rows are those of the JSON exports.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use reeltime_connectors::edl::{
    FrameRate, Timecode, TimecodeFormat, MAX_EVENTS_PER_FILE, MAX_REEL_CHARS,
};
use serde_json::{json, Value};

const UPDATE: &str = "UPDATE_GOLDEN=1 cargo test -p reeltime --test golden";

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The case folders, by name.
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(golden_root())
        .expect("tests/golden exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("input.jsonl").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no golden cases in {}", golden_root().display());
    cases
}

fn case_name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

/// Runs `reeltime process` on a case; returns the output folder (kept while the guard lives)
/// and the exports in it by relative path.
fn run_case(case: &Path) -> (tempfile::TempDir, BTreeMap<String, String>) {
    let out = tempfile::tempdir().unwrap();
    let args = fs::read_to_string(case.join("args")).unwrap_or_default();
    let output = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(["process", "--quiet", "--log"])
        .arg(case.join("input.jsonl"))
        .arg("--out")
        .arg(out.path())
        .args(args.lines().map(str::trim).filter(|arg| !arg.is_empty()))
        .output()
        .expect("reeltime runs");
    assert!(
        output.status.success(),
        "{}: reeltime process failed: {}",
        case_name(case),
        String::from_utf8_lossy(&output.stderr)
    );
    let exports = files(out.path())
        .into_iter()
        .filter(|(path, _)| path.ends_with(".edl") || path.ends_with("/export.json"))
        .collect();
    (out, exports)
}

/// Every file under `root` with its text, by `/`-separated relative path.
fn files(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                let relative: Vec<_> =
                    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect();
                let bytes = fs::read(&path).unwrap();
                files.insert(relative.join("/"), String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    let mut found = BTreeMap::new();
    if root.is_dir() {
        walk(root, root, &mut found);
    }
    found
}

/// A line diff of `expected` and `actual`: lines only in the expected file with `-`, lines
/// only in the actual one with `+`, unchanged lines around them for context.
fn line_diff(expected: &str, actual: &str) -> String {
    let old: Vec<&str> = expected.lines().collect();
    let new: Vec<&str> = actual.lines().collect();
    // Longest common subsequence table, from the ends.
    let mut common = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            lines.push((' ', old[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < old.len() && (j == new.len() || common[i + 1][j] >= common[i][j + 1]) {
            lines.push(('-', old[i]));
            i += 1;
        } else {
            lines.push(('+', new[j]));
            j += 1;
        }
    }
    const CONTEXT: usize = 2;
    let changed: Vec<usize> = (0..lines.len()).filter(|&k| lines[k].0 != ' ').collect();
    let mut text = String::new();
    let mut last_shown: Option<usize> = None;
    for (k, (mark, line)) in lines.iter().enumerate() {
        let near = changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
        if !near {
            continue;
        }
        if last_shown.is_some_and(|last| k > last + 1) {
            text.push_str("   ...\n");
        }
        text.push_str(&format!(" {mark} {line}\n"));
        last_shown = Some(k);
    }
    text
}

#[test]
fn exports_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for case in cases() {
        let name = case_name(&case);
        let (_out, actual) = run_case(&case);
        let expected_dir = case.join("expected");
        if update {
            if expected_dir.exists() {
                fs::remove_dir_all(&expected_dir).unwrap();
            }
            for (path, text) in &actual {
                let path = expected_dir.join(path);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, text).unwrap();
            }
            continue;
        }
        let expected = files(&expected_dir);
        for path in expected.keys().filter(|path| !actual.contains_key(*path)) {
            failures.push(format!("{name}: {path} was not written"));
        }
        for path in actual.keys().filter(|path| !expected.contains_key(*path)) {
            failures.push(format!("{name}: {path} was written but is not expected"));
        }
        for (path, text) in &actual {
            if let Some(wanted) = expected.get(path).filter(|wanted| *wanted != text) {
                failures.push(format!(
                    "{name}: {path} differs (- expected, + written):\n{}",
                    line_diff(wanted, text)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nif the change is intended, rewrite the golden files with `{UPDATE}` and review \
         the diff",
        failures.join("\n\n")
    );
}

/// Runs `reeltime export --from out` with `args`; returns what it printed.
fn export(out: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(["export", "--from"])
        .arg(out)
        .args(args)
        .output()
        .expect("reeltime runs");
    assert!(
        output.status.success(),
        "reeltime export failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn export_from_an_output_directory_rewrites_the_same_exports() {
    for case in cases() {
        let name = case_name(&case);
        // Without the case's own flags: the rewrite must then leave drop-frame out too.
        let args = fs::read_to_string(case.join("args")).unwrap_or_default();
        if args.contains("--drop-frame") {
            continue;
        }
        let (out, before) = run_case(&case);
        // EDLs go; JSON exports stay only in a compact form, so that both must be written
        // again to match.
        for (path, text) in &before {
            let file = out.path().join(path);
            if path.ends_with(".edl") {
                fs::remove_file(file).unwrap();
            } else {
                let doc: Value = serde_json::from_str(text).unwrap();
                fs::write(file, serde_json::to_string(&doc).unwrap()).unwrap();
            }
        }
        let printed = export(out.path(), &[]);
        let after: BTreeMap<String, String> =
            files(out.path()).into_iter().filter(|(path, _)| before.contains_key(path)).collect();
        assert_eq!(after.len(), before.len(), "{name}: not every export was rewritten");
        for (path, text) in &before {
            assert_eq!(
                &after[path],
                text,
                "{name}: {path} differs after export --from:\n{}",
                line_diff(text, &after[path])
            );
            assert!(printed.contains(path.as_str()), "{name}: {path} not reported:\n{printed}");
        }
    }
}

#[test]
fn export_from_rewrites_the_edls_in_drop_frame_when_asked() {
    let case = golden_root().join("ntsc-29.97-drop-frame");
    let expected = files(&case.join("expected"));
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(["process", "--quiet", "--log"])
        .arg(case.join("input.jsonl"))
        .arg("--out")
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    let non_drop = files(out.path());
    let edl = expected.keys().find(|path| path.ends_with(".edl")).expect("the case has an EDL");
    assert!(non_drop[edl].contains("FCM: NON-DROP FRAME"), "{}", non_drop[edl]);

    export(out.path(), &["--format", "edl", "--drop-frame"]);
    let rewritten = files(out.path());
    for (path, text) in expected.iter().filter(|(path, _)| path.ends_with(".edl")) {
        assert_eq!(&rewritten[path], text, "{path}:\n{}", line_diff(text, &rewritten[path]));
    }
    let export_json = expected.keys().find(|p| p.starts_with("events/") && p.ends_with(".json"));
    let export_json = export_json.expect("the case has an event export");
    let doc: Value = serde_json::from_str(&rewritten[export_json]).unwrap();
    assert_eq!(doc["edl"]["drop_frame"], Value::Bool(true), "{export_json}");
}

#[test]
fn export_from_names_a_damaged_export() {
    let case = golden_root().join("pal-25fps");
    let (out, before) = run_case(&case);
    let damaged = before.keys().find(|p| p.ends_with("export.json")).unwrap();
    fs::write(out.path().join(damaged), "{\"event_id\": 7}").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(["export", "--format", "edl", "--from"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let file = Path::new(damaged).file_name().unwrap().to_string_lossy().into_owned();
    assert!(stderr.contains("is not a reeltime export") && stderr.contains(&file), "{stderr}");
}

#[test]
fn the_line_diff_shows_what_changed_with_context() {
    let diff = line_diff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\nh\n");
    assert_eq!(diff, "   b\n   c\n - d\n + D\n   e\n   f\n   g\n + h\n");
}

/// The frames of one EDL event: source in, source out, record in, record out.
type EventFrames = [u64; 4];

/// One EDL the cases wrote, with what its export says about it.
struct EdlUnderTest {
    /// `<case>/<relative path>`, for messages.
    name: String,
    path: PathBuf,
    text: String,
    format: TimecodeFormat,
    /// `V` or `B`.
    channel: &'static str,
    /// The clip bounds in milliseconds of the whole EDL, in order.
    clips_ms: Vec<(u64, u64)>,
    /// Which part of the EDL this file is (0 for the first), when it has more than 999 events.
    part: usize,
}

fn ms(seconds: &Value) -> u64 {
    (seconds.as_f64().expect("seconds") * 1000.0).round() as u64
}

/// Every EDL of every case, with the expectations its export gives.
fn edls_of_cases(
    outputs: &[(String, tempfile::TempDir, BTreeMap<String, String>)],
) -> Vec<EdlUnderTest> {
    let mut edls = Vec::new();
    for (case, out, exports) in outputs {
        for (path, text) in exports.iter().filter(|(path, _)| path.ends_with("/export.json")) {
            let export: Value = serde_json::from_str(text).unwrap();
            let folder = path.trim_end_matches("export.json");
            let edl = &export["edl"];
            let frame_rate = edl["frame_rate"].as_f64().unwrap();
            let milli = (frame_rate * 1000.0).round() as u64;
            let Ok(rate) = FrameRate::from_milli(milli) else {
                assert!(edl["error"].is_string(), "{case}/{path}: no EDL without a reason");
                assert_eq!(edl["files"], json!([]), "{case}/{path}");
                continue;
            };
            let format = TimecodeFormat::new(rate, edl["drop_frame"].as_bool().unwrap());
            assert_eq!(format.is_drop_frame(), edl["drop_frame"].as_bool().unwrap());
            // The channel is `V` when the event (the replay's event) is video-only.
            let event = match export["event_id"].as_str() {
                Some(event_id) if export.get("replay_id").is_some() => exports
                    .get(&format!("events/{event_id}/export.json"))
                    .map(|text| serde_json::from_str::<Value>(text).unwrap())
                    .unwrap_or(Value::Null),
                _ => export.clone(),
            };
            let video_only =
                event["event"]["audio_tracks"].as_array().is_some_and(|tracks| tracks.is_empty());
            let channel = if video_only { "V" } else { "B" };
            assert_eq!(edl["channel"], json!(channel), "{case}/{path}");
            for file in edl["files"].as_array().unwrap() {
                let file = file.as_str().unwrap();
                let name = file.strip_suffix(".edl").expect("an EDL file name ends with .edl");
                let (stem, part) = match name.split_once(".part") {
                    Some((stem, part)) => (stem, part.parse::<usize>().unwrap() - 1),
                    None => (name, 0),
                };
                let clips_ms = if let Some(track) = stem.strip_prefix("event-") {
                    let mut clips: Vec<(u64, u64, u64)> = export["segments"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|segment| segment["complete"] == json!(true))
                        .map(|segment| {
                            let clip = &segment["clips"][track];
                            (ms(&clip["clip_start"]), ms(&segment["start"]), ms(&clip["clip_end"]))
                        })
                        .collect();
                    clips.sort();
                    clips.into_iter().map(|(start, _, end)| (start, end)).collect()
                } else {
                    assert_eq!(stem, "replay", "{case}/{folder}: unexpected EDL name {file}");
                    export["clips"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|clip| (ms(&clip["clip_start"]), ms(&clip["clip_end"])))
                        .collect()
                };
                let relative = format!("{folder}{file}");
                edls.push(EdlUnderTest {
                    name: format!("{case}/{relative}"),
                    path: out.path().join(&relative),
                    text: exports[&relative].clone(),
                    format,
                    channel,
                    clips_ms,
                    part,
                });
            }
        }
    }
    edls
}

/// Reads an EDL strictly as CMX 3600 in `edl.format`; returns the frames of its events.
fn read_edl(edl: &EdlUnderTest) -> Result<Vec<EventFrames>, String> {
    let mut lines = edl.text.lines();
    let title = lines.next().and_then(|l| l.strip_prefix("TITLE: ")).ok_or("no TITLE: line")?;
    if title.chars().count() > 70 || title.trim() != title || title.is_empty() {
        return Err(format!("title {title:?} is empty, padded or longer than 70 characters"));
    }
    let fcm = lines.next().ok_or("no FCM: line")?;
    if fcm != edl.format.fcm_line() {
        return Err(format!("{fcm:?} where {:?} belongs", edl.format.fcm_line()));
    }
    let mut events = Vec::new();
    let mut record_at = 0;
    let mut lines = lines.filter(|line| !line.is_empty()).peekable();
    while let Some(line) = lines.next() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [number, reel, channel, transition, ref timecodes @ ..] = fields[..] else {
            return Err(format!("{line:?} is not an event line"));
        };
        if number != format!("{:03}", events.len() + 1) {
            return Err(format!("{line:?}: event {number} out of sequence"));
        }
        if reel.chars().count() > MAX_REEL_CHARS || reel != "AX" {
            return Err(format!("{line:?}: reel {reel:?} is not AX"));
        }
        if channel != edl.channel || transition != "C" || timecodes.len() != 4 {
            return Err(format!("{line:?}: want channel {}, a cut and 4 timecodes", edl.channel));
        }
        let mut frames = [0; 4];
        for (frame, text) in frames.iter_mut().zip(timecodes.iter()) {
            let timecode: Timecode = text.parse().map_err(|e| format!("{line:?}: {e}"))?;
            *frame = edl.format.frame(timecode).map_err(|e| format!("{line:?}: {e}"))?;
        }
        let [source_in, source_out, record_in, record_out] = frames;
        if record_in != record_at {
            return Err(format!("{line:?}: record in is not the last record out"));
        }
        if source_out <= source_in || record_out - record_in != source_out - source_in {
            return Err(format!("{line:?}: record length differs from source length"));
        }
        record_at = record_out;
        let comment = lines.next().unwrap_or_default();
        if !comment.starts_with("* FROM CLIP NAME: ") || comment.len() <= 18 {
            return Err(format!("{line:?} is not followed by its clip name but {comment:?}"));
        }
        events.push(frames);
    }
    Ok(events)
}

fn case_outputs() -> Vec<(String, tempfile::TempDir, BTreeMap<String, String>)> {
    cases()
        .iter()
        .map(|case| {
            let (out, exports) = run_case(case);
            (case_name(case), out, exports)
        })
        .collect()
}

/// Reads `edl` strictly and checks that its source frames are its export's clip bounds at the
/// frame rate; returns the number of events.
fn check_edl(edl: &EdlUnderTest) -> usize {
    let events = read_edl(edl).unwrap_or_else(|e| panic!("{}: {e}", edl.name));
    let rate = edl.format.rate();
    let wanted: Vec<(u64, u64)> = edl
        .clips_ms
        .iter()
        .map(|&(start, end)| (rate.frame_at(start), rate.frame_at(end)))
        .filter(|(start, end)| end > start)
        .collect::<Vec<_>>()
        .chunks(MAX_EVENTS_PER_FILE)
        .nth(edl.part)
        .unwrap_or_default()
        .to_vec();
    let written: Vec<(u64, u64)> = events.iter().map(|e| (e[0], e[1])).collect();
    assert_eq!(written, wanted, "{}: source frames are not the export's clip bounds", edl.name);
    events.len()
}

#[test]
fn every_golden_edl_is_strict_cmx_3600_with_the_export_clips() {
    let outputs = case_outputs();
    let edls = edls_of_cases(&outputs);
    assert!(edls.iter().any(|edl| edl.format.is_drop_frame()), "a drop-frame case");
    assert!(edls.iter().any(|edl| edl.channel == "V"), "a video-only case");
    for edl in &edls {
        check_edl(edl);
    }
}

#[test]
fn our_reader_rejects_what_the_writer_must_never_write() {
    let rate = FrameRate::from_milli(29_970).unwrap();
    let edl = |text: &str| EdlUnderTest {
        name: "hand-written".into(),
        path: PathBuf::new(),
        text: text.into(),
        format: TimecodeFormat::new(rate, true),
        channel: "V",
        clips_ms: Vec::new(),
        part: 0,
    };
    let good = "TITLE: t\nFCM: DROP FRAME\n\n\
                001  AX       V     C        00:00:58;28 00:01:01;00 00:00:00;00 00:00:02;00\n\
                * FROM CLIP NAME: c\n";
    assert_eq!(read_edl(&edl(good)), Ok(vec![[1768, 1828, 0, 60]]));
    for (bad, why) in [
        (good.replace("DROP FRAME", "NON-DROP FRAME"), "the FCM line"),
        (good.replace("01:01;00", "01:00;00"), "a label drop-frame skips"),
        (good.replace("AX      ", "REEL12345"), "a reel of 9 characters"),
        (good.replace("001", "002"), "event numbers from 001"),
        (good.replace("00:00:00;00 00:00:02;00", "00:00:00;01 00:00:02;01"), "record from 0"),
        (good.replace("* FROM CLIP NAME: c\n", ""), "the clip name comment"),
    ] {
        assert!(read_edl(&edl(&bad)).is_err(), "{why} went unnoticed:\n{bad}");
    }
}

#[test]
fn more_than_999_clips_are_split_into_numbered_edls() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::from(
        "{\"type\":\"profile\",\"name\":\"p\",\"chunk_size\":10,\"processing_fps\":1,\
         \"max_segment_length\":60,\"classifier\":{\"plugin\":\"seg\"},\"featurers\":[]}\n\
         {\"type\":\"event\",\"event_id\":\"long\",\"profile\":\"p\",\"status\":\"ended\",\
         \"frame_rate\":25}\n",
    );
    for i in 0..1001 {
        log.push_str(&format!(
            "{{\"type\":\"segment\",\"event_id\":\"long\",\"plugin\":\"seg\",\"start\":{},\"end\":{}}}\n",
            i * 2,
            i * 2 + 1
        ));
    }
    let case = dir.path().join("long");
    fs::create_dir(&case).unwrap();
    fs::write(case.join("input.jsonl"), log).unwrap();
    let (out, exports) = run_case(&case);
    let outputs = vec![("long".to_owned(), out, exports)];
    let edls = edls_of_cases(&outputs);
    let names: Vec<&str> = edls.iter().map(|edl| edl.name.as_str()).collect();
    assert_eq!(names, ["long/events/long/event-1.edl", "long/events/long/event-1.part2.edl"]);
    let events: Vec<usize> = edls.iter().map(check_edl).collect();
    assert_eq!(events, [999, 2]);
    assert!(edls[1].text.starts_with("TITLE: long track 1 (part 2 of 2)\n"));
}

/// The Python of the readers' environment, when there is one; `check` names what is skipped
/// without it.
fn readers_python(check: &str) -> Option<PathBuf> {
    let venv = std::env::var_os("REELTIME_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/reeltime/venv"));
    let python = venv.join("bin/python");
    if python.is_file() {
        return Some(python);
    }
    let message = format!(
        "no Python environment at {} (REELTIME_VENV): scripts/test makes it",
        venv.display()
    );
    assert!(
        std::env::var_os("REELTIME_REQUIRE_READERS").is_none_or(|v| v != "1"),
        "{message}, and REELTIME_REQUIRE_READERS=1 requires it"
    );
    eprintln!("SKIPPED: {check}: {message}");
    None
}

/// Runs the reader script `tests/<script>` with `input` on its standard input; panics with
/// its output, after `failure`, when it fails.
fn run_reader(python: &Path, script: &str, input: &Value, failure: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(script);
    let mut child = Command::new(python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{failure}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&output.stdout).trim_end());
}

#[test]
fn opentimelineio_reads_every_golden_edl_with_our_frames() {
    let Some(python) = readers_python("the OpenTimelineIO check of the golden EDLs") else {
        return;
    };
    let outputs = case_outputs();
    let edls = edls_of_cases(&outputs);
    let checks: Vec<Value> = edls
        .iter()
        .map(|edl| {
            let events = read_edl(edl).unwrap_or_else(|e| panic!("{}: {e}", edl.name));
            json!({
                "name": edl.name,
                "path": edl.path,
                "rate": edl.format.rate().per_second(),
                "tracks": if edl.channel == "V" { json!(["V"]) } else { json!(["V", "A1"]) },
                "events": events,
            })
        })
        .collect();
    run_reader(
        &python,
        "otio_check.py",
        &Value::from(checks),
        "OpenTimelineIO disagrees with our EDLs",
    );
}

#[test]
fn pyarrow_reads_every_golden_table_with_the_rows_of_the_json_exports() {
    let Some(python) = readers_python("the pyarrow check of the golden tables") else {
        return;
    };
    let outputs = case_outputs();
    let folders: Vec<Value> =
        outputs.iter().map(|(_, out, _)| json!(out.path().to_str().unwrap())).collect();
    run_reader(
        &python,
        "pyarrow_check.py",
        &Value::from(folders),
        "pyarrow disagrees with our tables",
    );
}
