//! `reeltime demo` and `reeltime highlights` through the binary: the demo makes, analyses and
//! processes a synthetic match into replays with clips; highlights works on a user's file,
//! folder of chunks and HLS playlist, and names what is wrong with bad input.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn reeltime(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reeltime")).args(args).output().expect("reeltime runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn the_demo_writes_replays_with_clips_from_a_synthetic_match() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let output = reeltime(&["demo", "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("analysed 30 chunks (120.0 s of media)"), "{stdout}");
    assert!(stdout.contains("demo-after-event/selection.json"), "{stdout}");

    let after = json(&out.join("replays/demo-after-event/selection.json"));
    assert_eq!(after["status"], "complete");
    let clips = after["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 4, "all four roars fit in a minute: {after}");
    let catchup = json(&out.join("replays/demo-catchup/selection.json"));
    assert_eq!(catchup["status"], "complete");
    let picked: Vec<&Value> = catchup["clips"].as_array().unwrap().iter().collect();
    assert!(!picked.is_empty() && picked.len() < clips.len(), "{catchup}");
    assert!(picked.iter().all(|c| c["score"] == 90), "the best 30 s are the big roars: {catchup}");

    let segments = json(&out.join("events/synthetic-match/segments.json"));
    let segments = segments["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 4);
    assert!(segments.iter().all(|s| s["complete"] == true && s["optimizations"]["1"].is_object()));
    let features = segments[0]["features"]["1"].as_array().unwrap();
    let plugins: Vec<&str> = features.iter().map(|f| f["plugin"].as_str().unwrap()).collect();
    assert!(plugins.contains(&"AudioLoudness") && plugins.contains(&"SceneCut"), "{plugins:?}");

    let log = fs::read_to_string(out.join("demo-log.jsonl")).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains("\"type\":\"chunk\"")).count(), 30);
    assert!(log.lines().last().unwrap().contains("\"ended\""));
    assert_eq!(
        fs::read_to_string(out.join("dead-letter.jsonl")).unwrap(),
        "",
        "every record is valid"
    );
    assert!(out.join("events/synthetic-match/event-1.edl").exists());
    assert!(out.join("tables/segments.parquet").exists());
    assert!(out.join("media/match.m3u8").exists());
}

/// A 40 s "match" with a roar from 20 to 26 s, made with the ffmpeg command line.
fn roaring_video(path: &Path) {
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=25:d=40",
        "-f",
        "lavfi",
        "-i",
        "anoisesrc=r=48000:c=pink:a=0.02:seed=3:d=40",
        "-f",
        "lavfi",
        "-i",
        "anoisesrc=r=48000:c=white:a=0.5:seed=4:d=6",
        "-filter_complex",
        "[2:a]adelay=20000:all=1[roar];[1:a][roar]amix=inputs=2:normalize=0[a]",
        "-map",
        "0:v",
        "-map",
        "[a]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "50",
        "-c:a",
        "aac",
        "-shortest",
        path.to_str().unwrap(),
    ]);
}

#[test]
fn highlights_of_a_file_a_folder_and_a_playlist() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("final.mp4");
    roaring_video(&video);
    let out = dir.path().join("from-file");
    let output = reeltime(&[
        "highlights",
        video.to_str().unwrap(),
        "--duration",
        "20",
        "--out",
        out.to_str().unwrap(),
        "--priority",
        "Loud:60",
        "--resolution",
        "1080p,9:16",
        "--quiet",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let selection = json(&out.join("replays/highlights/selection.json"));
    let clips = selection["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 1, "{selection}");
    let (start, end) = (clips[0]["start"].as_f64().unwrap(), clips[0]["end"].as_f64().unwrap());
    assert!(start <= 20.0 && end >= 26.0, "the clip holds the roar: {selection}");
    assert_eq!(selection["clips"][0]["score"], 60);
    let export = json(&out.join("replays/highlights/export.json"));
    let export = export.to_string();
    assert!(
        export.contains("1080p") && export.contains("9:16"),
        "resolutions are recorded: {export}"
    );
    let event = json(&out.join("events/final/event.json"));
    assert_eq!(event["frame_rate"], 25.0);

    // The chunks cut from the file, as a folder and as a playlist, give the same selection.
    let chunks = out.join("media/chunks");
    let playlist = chunks.join("list.m3u8");
    let mut listing = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n".to_owned();
    let mut names: Vec<String> = fs::read_dir(&chunks)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in &names {
        listing.push_str(&format!("#EXTINF:4.0,\n{name}\n"));
    }
    listing.push_str("#EXT-X-ENDLIST\n");
    for (input, folder) in [(chunks.clone(), "from-folder"), (playlist.clone(), "from-playlist")] {
        if input == playlist {
            fs::write(&playlist, &listing).unwrap();
        }
        let out = dir.path().join(folder);
        let output = reeltime(&[
            "highlights",
            input.to_str().unwrap(),
            "--duration",
            "20",
            "--out",
            out.to_str().unwrap(),
            "--priority",
            "Loud:60",
            "--quiet",
        ]);
        assert!(output.status.success(), "{folder}: {}", text(&output.stderr));
        let again = json(&out.join("replays/highlights/selection.json"));
        assert_eq!(again["clips"], selection["clips"], "{folder}");
    }
}

#[test]
fn highlights_names_what_is_wrong_with_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let run = |input: &Path, extra: &[&str]| {
        let mut args = vec!["highlights", input.to_str().unwrap(), "--out", out, "--quiet"];
        args.extend_from_slice(extra);
        if !extra.contains(&"--duration") {
            args.extend_from_slice(&["--duration", "60"]);
        }
        let output = reeltime(&args);
        assert!(!output.status.success());
        text(&output.stderr)
    };
    let missing = dir.path().join("missing.mp4");
    assert!(run(&missing, &[]).contains("missing.mp4\" does not exist"));

    let notes = dir.path().join("notes.mp4");
    fs::write(&notes, "this is not a video").unwrap();
    let error = run(&notes, &[]);
    assert!(error.contains("notes.mp4") && error.contains("not readable media"), "{error}");

    let sound = dir.path().join("sound.m4a");
    ffmpeg(&["-f", "lavfi", "-i", "sine=d=2", sound.to_str().unwrap()]);
    let error = run(&sound, &[]);
    assert!(error.contains("sound.m4a\" has no video stream"), "{error}");

    let error = run(&sound, &["--duration", "0"]);
    assert!(error.contains("--duration 0 is not between 1 and 10000"), "{error}");
    let error = run(&sound, &["--resolution", "4k"]);
    assert!(error.contains("--resolution \"4k\" is not one of"), "{error}");
    let error = run(&sound, &["--priority", "Loud:500"]);
    assert!(error.contains("weight \"500\" is not 1..100"), "{error}");
}
