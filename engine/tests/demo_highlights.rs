//! `reeltime demo` and `reeltime highlights` through the binary: the demo makes, analyses and
//! processes a synthetic match into replays with clips, and renders every clip, the event
//! playlist and the replays; the same log processed live (one record per epoch; chunks late,
//! even after the event's end) renders the same; highlights works on a user's file in every
//! container and codec a broadcaster hands over, a folder of chunks, MPEG-TS and CMAF HLS
//! playlists (VOD and live) and live UDP and SRT streams, on a source without sound
//! (progressive or interlaced), goes on past a damaged chunk or a missing segment, and names
//! what is wrong with bad input.

#[path = "../../connectors/tests/render_support/mod.rs"]
mod render_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use render_support::{decode_errors, hls_parser, video_duration_ms};

fn reeltime(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reeltime")).args(args).output().expect("reeltime runs")
}

/// `reeltime highlights INPUT --duration SECONDS --out OUT --quiet`, and `extra`.
fn highlights(input: &Path, seconds: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args =
        vec!["highlights", input.to_str().unwrap(), "--duration", seconds, "--quiet", "--out"];
    args.push(out.to_str().unwrap());
    args.extend_from_slice(extra);
    reeltime(&args)
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

/// The output of one `reeltime demo`, shared by the tests that read it.
fn demo_output() -> &'static Path {
    static DEMO: OnceLock<(tempfile::TempDir, Output)> = OnceLock::new();
    let (dir, output) = DEMO.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("demo");
        let output = reeltime(&["demo", "--out", out.to_str().unwrap(), "--quiet"]);
        (dir, output)
    });
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("analysed 30 chunks (120.0 s of media)"), "{stdout}");
    assert!(stdout.contains("rendered 8 clips and 2 replay videos"), "{stdout}");
    assert!(stdout.contains("demo-after-event/selection.json"), "{stdout}");
    Box::leak(Box::new(dir.path().join("demo")))
}

fn notifications(out: &Path) -> Vec<Value> {
    fs::read_to_string(out.join("notifications.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn of_type<'a>(notifications: &'a [Value], kind: &str) -> Vec<&'a Value> {
    notifications.iter().filter(|n| n["type"] == kind).collect()
}

fn seconds(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("{value} is not a number"))
}

#[test]
fn the_demo_writes_replays_with_clips_from_a_synthetic_match() {
    let out = demo_output();
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

#[test]
fn the_demo_renders_every_clip_with_its_actual_bounds() {
    let out = demo_output();
    let segments = json(&out.join("events/synthetic-match/segments.json"));
    for segment in segments["segments"].as_array().unwrap() {
        let clips = &segment["clips"]["1"];
        assert!(clips["error"].is_null(), "{segment}");
        let opto = &segment["optimizations"]["1"];
        for (bounds, (from, to)) in [
            ("original", (&segment["start"], &segment["end"])),
            ("optimized", (&opto["opto_start"], &opto["opto_end"])),
        ] {
            let clip = &clips[bounds];
            assert_eq!((&clip["requested_start"], &clip["requested_end"]), (from, to), "{clip}");
            let (start, end) = (seconds(&clip["start"]), seconds(&clip["end"]));
            // Stream copy starts at the keyframe at or before the in-point (the demo has one
            // at the start of every 4 s chunk) and ends at most a few frames after the
            // out-point.
            assert!(start <= seconds(from) && seconds(from) - start < 4.0, "{clip}");
            assert_eq!((start * 1000.0).round() as u64 % 4000, 0, "{clip}");
            assert!(end >= seconds(to) && end - seconds(to) < 0.2, "{clip}");
            let mp4 = out.join(clip["mp4"].as_str().unwrap());
            let measured = video_duration_ms(&mp4) as f64 / 1000.0;
            assert!(
                (measured - (end - start)).abs() <= 0.041,
                "{mp4:?} lasts {measured} s, its recorded bounds {}",
                end - start
            );
            assert_eq!(decode_errors(&mp4, false), "", "{mp4:?} decodes cleanly");
            assert!(out.join(clip["thumbnail"].as_str().unwrap()).exists(), "{clip}");
        }
    }
    // The event export lists the same files as the segment view.
    let export = json(&out.join("events/synthetic-match/export.json"));
    let exported: Vec<&Value> =
        export["segments"].as_array().unwrap().iter().map(|s| &s["rendered"]).collect();
    let viewed: Vec<&Value> =
        segments["segments"].as_array().unwrap().iter().map(|s| &s["clips"]).collect();
    assert_eq!(exported, viewed);
    let notifications = notifications(out);
    assert_eq!(of_type(&notifications, "clip_rendered").len(), 8);
    assert!(of_type(&notifications, "clip_failed").is_empty());
}

#[test]
fn the_demo_event_playlist_has_every_clip_and_ends() {
    let out = demo_output();
    let event = json(&out.join("events/synthetic-match/event.json"));
    assert_eq!(event["playlists"]["1"], "events/synthetic-match/event-1.m3u8");
    let playlist = out.join("events/synthetic-match/event-1.m3u8");
    let text = fs::read_to_string(&playlist).unwrap();
    assert!(text.contains("#EXT-X-PLAYLIST-TYPE:EVENT"), "{text}");
    assert_eq!(text.matches("#EXT-X-DISCONTINUITY").count(), 3, "four clips: {text}");
    assert!(text.ends_with("#EXT-X-ENDLIST\n"), "the event ended: {text}");
    if let Some(parsed) = hls_parser(std::slice::from_ref(&playlist)) {
        assert_eq!(parsed[0]["endlist"], true);
        assert_eq!(parsed[0]["playlistType"], "EVENT");
    }
    assert_eq!(decode_errors(&playlist, false), "", "the playlist decodes cleanly");
}

#[test]
fn the_demo_replays_are_rendered_within_their_limits() {
    let out = demo_output();
    for (replay, limit) in [("demo-catchup", 35.0), ("demo-after-event", 70.0)] {
        let selection = json(&out.join("replays").join(replay).join("selection.json"));
        let rendered = &selection["rendered"];
        assert_eq!(rendered["status"], "rendered", "{selection}");
        assert_eq!(rendered["version"], selection["version"]);
        let export = json(&out.join("replays").join(replay).join("export.json"));
        assert_eq!(&export["rendered"], rendered, "the replay export lists the same video");
        let mp4 = out.join(rendered["renditions"][0]["mp4"].as_str().unwrap());
        let measured = video_duration_ms(&mp4) as f64 / 1000.0;
        let total = seconds(&selection["total_duration"]);
        assert!(measured <= limit, "{replay}: {measured} s is over its {limit} s limit");
        assert!((measured - total).abs() <= 0.2, "{replay}: {measured} s, selected {total} s");
        assert_eq!(decode_errors(&mp4, false), "", "{mp4:?} decodes cleanly");
        let master = out.join(rendered["master"].as_str().unwrap());
        let variant = out.join(rendered["renditions"][0]["playlist"].as_str().unwrap());
        if let Some(parsed) = hls_parser(&[master.clone(), variant.clone()]) {
            assert_eq!(parsed[0]["master"], true);
            assert_eq!(parsed[1]["playlistType"], "VOD");
        }
        assert_eq!(decode_errors(&master, false), "", "{master:?} decodes cleanly");
    }
    assert_eq!(of_type(&notifications(out), "replay_rendered").len(), 2);
}

/// The demo's log with its chunk records moved to just before the event ends, so every clip
/// waits for its chunks, or (`after_end`) to after it, so every clip fails first and is cut
/// when the chunks come.
fn with_chunks_late(log: &Path, to: &Path, after_end: bool) -> PathBuf {
    let text = fs::read_to_string(log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (chunks, mut others): (Vec<&str>, Vec<&str>) =
        lines.iter().partition(|l| l.contains("\"type\":\"chunk\""));
    let ended = others.pop().unwrap();
    if after_end {
        others.push(ended);
        others.extend(chunks);
    } else {
        others.extend(chunks);
        others.push(ended);
    }
    let path = to.join(format!("late-chunks-{after_end}.jsonl"));
    fs::write(&path, others.join("\n") + "\n").unwrap();
    path
}

#[test]
fn processed_live_the_demo_log_renders_the_same_clips_and_the_latest_replay() {
    let demo = demo_output();
    let dir = tempfile::tempdir().unwrap();
    let clip_files = |out: &Path| -> Vec<String> {
        let segments = json(&out.join("events/synthetic-match/segments.json"));
        segments["segments"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| ["original", "optimized"].map(|b| s["clips"]["1"][b]["mp4"].to_string()))
            .collect()
    };
    let expected = clip_files(demo);
    let log = demo.join("demo-log.jsonl");
    let late = with_chunks_late(&log, dir.path(), false);
    let after_end = with_chunks_late(&log, dir.path(), true);
    for (name, log) in [("live", log), ("late-chunks", late), ("chunks-after-end", after_end)] {
        let out = dir.path().join(name);
        let output = reeltime(&[
            "process",
            "--log",
            log.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--epoch-records",
            "1",
            "--render",
            "--quiet",
        ]);
        assert!(output.status.success(), "{name}: {}", text(&output.stderr));
        assert_eq!(clip_files(&out), expected, "{name}");
        // The catch-up replay changed many times; what is rendered is its latest clip list.
        let selection = json(&out.join("replays/demo-catchup/selection.json"));
        assert!(selection["version"].as_u64().unwrap() > 1, "{name}: {selection}");
        assert_eq!(selection["rendered"]["status"], "rendered", "{name}: {selection}");
        // The replay holds the frames whose start is in each range (40 ms frames).
        let manifest = json(&out.join("replays/demo-catchup/replay.json"));
        let to_frame = |ms: u64| ms.div_ceil(40);
        let rendered: Vec<(u64, u64)> = manifest["clips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (to_frame(c[0].as_u64().unwrap()), to_frame(c[1].as_u64().unwrap())))
            .collect();
        let selected: Vec<(u64, u64)> = selection["clips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let frame = |v: &Value| to_frame((seconds(v) * 1000.0).round() as u64);
                (frame(&c["clip_start"]), frame(&c["clip_end"]))
            })
            .collect();
        assert_eq!(rendered, selected, "{name}");
        let playlist = fs::read_to_string(out.join("events/synthetic-match/event-1.m3u8")).unwrap();
        assert_eq!(playlist.matches("#EXT-X-DISCONTINUITY").count(), 3, "{name}: {playlist}");
        assert!(playlist.ends_with("#EXT-X-ENDLIST\n"), "{name}: {playlist}");
        let failed = of_type(&notifications(&out), "clip_failed").len();
        assert_eq!(failed, if name == "chunks-after-end" { 8 } else { 0 }, "{name}");
    }
}

/// A 40 s "match" with a roar from 20 to 26 s, made with the ffmpeg command line.
fn roaring_video(path: &Path) {
    let picture = ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=40"];
    let mix = "[2:a]adelay=20000:all=1[roar];[1:a][roar]amix=inputs=2:normalize=0[a]";
    let rest = [
        "-filter_complex",
        mix,
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
    ];
    ffmpeg(&[picture.as_slice(), &MURMUR_AND_ROAR, &rest].concat());
}

/// A crowd's murmur for 40 s and, to be mixed in from 20 s, its 6 s roar: two FFmpeg inputs.
const MURMUR_AND_ROAR: [&str; 8] = [
    "-f",
    "lavfi",
    "-i",
    "anoisesrc=r=48000:c=pink:a=0.02:seed=3:d=40",
    "-f",
    "lavfi",
    "-i",
    "anoisesrc=r=48000:c=white:a=0.5:seed=4:d=6",
];

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
fn highlights_go_on_past_a_damaged_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let chunks = dir.path().join("chunks");
    fs::create_dir_all(&chunks).unwrap();
    // 40 s with roars at 6-12 s and 26-32 s, in 4 s chunks; c007.ts (28-32 s) is truncated.
    ffmpeg(&[
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=40",
        "-f", "lavfi", "-i", "anoisesrc=r=48000:c=pink:a=0.02:seed=3:d=40",
        "-f", "lavfi", "-i", "anoisesrc=r=48000:c=white:a=0.5:seed=4:d=6",
        "-f", "lavfi", "-i", "anoisesrc=r=48000:c=white:a=0.5:seed=5:d=6",
        "-filter_complex",
        "[2:a]adelay=6000:all=1[r1];[3:a]adelay=26000:all=1[r2];[1:a][r1][r2]amix=inputs=3:normalize=0[a]",
        "-map", "0:v", "-map", "[a]",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-shortest",
        "-f", "hls", "-hls_time", "4", "-hls_list_size", "0",
        "-hls_segment_filename", chunks.join("c%03d.ts").to_str().unwrap(),
        dir.path().join("list.m3u8").to_str().unwrap(),
    ]);
    let damaged = chunks.join("c007.ts");
    let mut bytes = fs::read(&damaged).unwrap();
    bytes.truncate(bytes.len() * 3 / 5 + 101);
    fs::write(&damaged, bytes).unwrap();

    let out = dir.path().join("out");
    let output = reeltime(&[
        "highlights",
        chunks.to_str().unwrap(),
        "--duration",
        "30",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let event = json(&out.join("events/chunks/event.json"));
    let failed = event["failed_chunks"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{event}");
    assert_eq!(failed[0]["seq_no"], 7);
    assert!(failed[0]["reason"].as_str().unwrap().contains("damaged media"), "{event}");
    let notifications = notifications(&out);
    assert_eq!(of_type(&notifications, "chunk_failed").len(), 1);

    let segments = json(&out.join("events/chunks/segments.json"));
    let segments = segments["segments"].as_array().unwrap();
    let (hit, clean): (Vec<&Value>, Vec<&Value>) =
        segments.iter().partition(|s| seconds(&s["start"]) < 32.0 && seconds(&s["end"]) > 28.0);
    assert!(!hit.is_empty() && !clean.is_empty(), "a segment on each roar: {segments:?}");
    for segment in hit {
        let error = segment["clips"]["1"]["error"].as_str().unwrap_or_default();
        assert!(error.contains("chunk 7") && error.contains("damaged media"), "{segment}");
    }
    for segment in clean {
        let mp4 = segment["clips"]["1"]["original"]["mp4"].as_str().unwrap();
        assert_eq!(decode_errors(&out.join(mp4), false), "");
    }
    assert!(!of_type(&notifications, "clip_failed").is_empty());
    let playlist = fs::read_to_string(out.join("events/chunks/event-1.m3u8")).unwrap();
    assert!(playlist.ends_with("#EXT-X-ENDLIST\n"), "the event went on to its end: {playlist}");
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

    // Subtitles alone: neither picture nor sound.
    let captions = dir.path().join("captions.srt");
    fs::write(&captions, "1\n00:00:00,000 --> 00:00:01,000\nGame, set and match\n").unwrap();
    let error = run(&captions, &[]);
    assert!(error.contains("captions.srt\" has no video or audio stream"), "{error}");

    // An AVI whose video FourCC FFmpeg does not know (written as XviD, its tag then changed).
    let unknown = dir.path().join("camera.avi");
    let testsrc = "testsrc2=s=160x120:d=2";
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        testsrc,
        "-c:v",
        "mpeg4",
        "-vtag",
        "xvid",
        unknown.to_str().unwrap(),
    ]);
    let bytes = fs::read(&unknown).unwrap();
    let tags: Vec<usize> = (0..bytes.len() - 4).filter(|&i| &bytes[i..i + 4] == b"xvid").collect();
    assert!(!tags.is_empty(), "the AVI names its codec xvid");
    let mut patched = bytes;
    for at in tags {
        patched[at..at + 4].copy_from_slice(b"QQ9Z");
    }
    fs::write(&unknown, patched).unwrap();
    let error = run(&unknown, &[]);
    assert!(
        error.contains("camera.avi\" cannot be decoded: this FFmpeg has no decoder for its video stream (an unknown codec, FourCC \"QQ9Z\")"),
        "{error}"
    );
    // A recording cut short in its copy: MP4 keeps its index at the end, which is gone.
    let whole = dir.path().join("whole.mp4");
    roaring_video(&whole);
    let bytes = fs::read(&whole).unwrap();
    let truncated = dir.path().join("truncated.mp4");
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let error = run(&truncated, &[]);
    assert!(error.contains("truncated.mp4") && error.contains("not readable media"), "{error}");

    let silent = format!("udp://127.0.0.1:{}", free_udp_port());
    let error = run(Path::new(&silent), &["--silence", "1"]);
    assert!(error.contains(&format!("cannot open the stream {silent}")), "{error}");
    assert!(error.contains("nothing arrived within 1s"), "{error}");

    let error = run(&captions, &["--duration", "0"]);
    assert!(error.contains("--duration 0 is not between 1 and 10000"), "{error}");
    let error = run(&captions, &["--resolution", "4k"]);
    assert!(error.contains("--resolution \"4k\" is not one of"), "{error}");
    let error = run(&captions, &["--priority", "Loud:500"]);
    assert!(error.contains("weight \"500\" is not 1..100"), "{error}");
}

#[test]
fn highlights_of_every_container_and_codec_a_broadcaster_hands_over() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.mp4");
    roaring_video(&source);
    let source = source.to_str().unwrap();
    let surround = "pan=5.1|FL=c0|FR=c0|FC=c0|LFE=c0|BL=c0|BR=c0";
    // (file, ffmpeg options, whether MPEG-TS chunks cannot hold it as it is)
    // Phone footage: frames dropped unevenly and kept at their times (a variable frame rate).
    let uneven = "select='not(eq(mod(n\\,7)\\,3))*not(eq(mod(n\\,11)\\,5))'";
    let cases: [(&str, &[&str], bool); 7] = [
        (
            "phone.mp4",
            &["-vf", uneven, "-fps_mode", "vfr", "-c:v", "libx264", "-c:a", "copy"],
            true,
        ),
        ("mezzanine.mov", &["-c:v", "prores", "-c:a", "pcm_s16le"], true),
        (
            "web.webm",
            &["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"],
            true,
        ),
        ("archive.avi", &["-c:v", "mpeg4", "-vtag", "xvid", "-c:a", "ac3"], true),
        ("surround.mov", &["-c:v", "copy", "-af", surround, "-c:a", "pcm_s24le"], true),
        ("dvb.ts", &["-c:v", "mpeg2video", "-q:v", "4", "-c:a", "mp2"], false),
        (
            "hevc.mkv",
            &[
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-x265-params",
                "log-level=error",
                "-c:a",
                "copy",
            ],
            false,
        ),
    ];
    for (name, options, converted) in cases {
        let input = dir.path().join(name);
        let mut args = vec!["-i", source];
        args.extend_from_slice(options);
        args.push(input.to_str().unwrap());
        ffmpeg(&args);
        let out = dir.path().join(format!("out-{name}"));
        let output = highlights(&input, "20", &out, &["--priority", "Loud:60"]);
        let stderr = text(&output.stderr);
        assert!(output.status.success(), "{name}: {stderr}");
        assert_eq!(stderr.contains("converting it once to"), converted, "{name}: {stderr}");
        let selection = json(&out.join("replays/highlights/selection.json"));
        let clips = selection["clips"].as_array().unwrap();
        assert_eq!(clips.len(), 1, "{name}: {selection}");
        let (start, end) = (seconds(&clips[0]["start"]), seconds(&clips[0]["end"]));
        assert!(start <= 20.0 && end >= 26.0, "{name}: the clip holds the roar: {selection}");
        let rendered = &selection["rendered"];
        assert_eq!(rendered["status"], "rendered", "{name}: {selection}");
        let mp4 = out.join(rendered["renditions"][0]["mp4"].as_str().unwrap());
        let measured = video_duration_ms(&mp4) as f64 / 1000.0;
        let total = seconds(&selection["total_duration"]);
        assert!((measured - total).abs() <= 0.2, "{name}: {measured} s, selected {total} s");
        assert_eq!(decode_errors(&mp4, false), "", "{name}: {mp4:?} decodes cleanly");
    }
}

#[test]
fn highlights_of_a_source_without_a_moment_say_why_and_write_an_empty_replay() {
    let dir = tempfile::tempdir().unwrap();
    let silent = dir.path().join("silent.mp4");
    let quiet = dir.path().join("quiet.mp4");
    let tone = "sine=f=440:r=48000:d=12";
    for (path, audio) in [(&silent, None), (&quiet, Some(tone))] {
        let mut args = vec!["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=12"];
        if let Some(audio) = audio {
            args.extend_from_slice(&["-f", "lavfi", "-i", audio, "-c:a", "aac"]);
        }
        args.extend_from_slice(&["-c:v", "libx264", "-preset", "ultrafast", "-shortest"]);
        args.push(path.to_str().unwrap());
        ffmpeg(&args);
    }
    for (input, why) in [(&silent, "the source has no audio track"), (&quiet, "never rose")] {
        let out = dir.path().join("out");
        let output = highlights(input, "10", &out, &[]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(stdout.contains("no moment was found: ") && stdout.contains(why), "{stdout}");
        let selection = json(&out.join("replays/highlights/selection.json"));
        assert_eq!(selection["clips"], serde_json::json!([]), "{selection}");
        assert_eq!(selection["status"], "complete", "{selection}");
    }
}

#[test]
fn highlights_of_cmaf_hls_vod_byte_ranges_and_live_and_past_a_missing_segment() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.mp4");
    roaring_video(&source);
    let hls = |folder: &str, extra: &[&str]| {
        let folder = dir.path().join(folder);
        fs::create_dir(&folder).unwrap();
        let playlist = folder.join("list.m3u8");
        let mut args = vec!["-i", source.to_str().unwrap(), "-c", "copy", "-f", "hls"];
        args.extend_from_slice(&["-hls_segment_type", "fmp4", "-hls_time", "4"]);
        args.extend_from_slice(&["-hls_playlist_type", "vod"]);
        args.extend_from_slice(extra);
        args.push(playlist.to_str().unwrap());
        ffmpeg(&args);
        playlist
    };
    let segments = hls("segments", &[]);
    let ranges = hls("ranges", &["-hls_flags", "single_file"]);
    assert!(fs::read_to_string(&ranges).unwrap().contains("#EXT-X-BYTERANGE"));
    let run = |playlist: &Path, out: &Path| {
        let output = highlights(playlist, "20", out, &["--priority", "Loud:60"]);
        assert!(output.status.success(), "{playlist:?}: {}", text(&output.stderr));
        (json(&out.join("replays/highlights/selection.json")), text(&output.stderr))
    };
    let (selection, _) = run(&segments, &dir.path().join("out-segments"));
    let clips = selection["clips"].as_array().unwrap();
    let (start, end) = (seconds(&clips[0]["start"]), seconds(&clips[0]["end"]));
    assert!(start <= 20.0 && end >= 26.0, "the clip holds the roar: {selection}");
    assert_eq!(selection["rendered"]["status"], "rendered", "{selection}");
    let (again, _) = run(&ranges, &dir.path().join("out-ranges"));
    assert_eq!(again["clips"], selection["clips"], "byte ranges give the same selection");

    // Live: the playlist grows while highlights follows it, and ends with #EXT-X-ENDLIST.
    let full = fs::read_to_string(&segments).unwrap();
    let live = segments.with_file_name("live.m3u8");
    let header_and_three: String = {
        let lines: Vec<&str> =
            full.lines().filter(|l| !l.starts_with("#EXT-X-PLAYLIST-TYPE")).collect();
        let third = lines.iter().position(|l| *l == "list2.m4s").unwrap();
        lines[..=third].join("\n") + "\n"
    };
    fs::write(&live, &header_and_three).unwrap();
    let out = dir.path().join("out-live");
    let follower = {
        let (live, out) = (live.clone(), out.clone());
        std::thread::spawn(move || {
            let output = highlights(&live, "20", &out, &["--priority", "Loud:60"]);
            assert!(output.status.success(), "{}", text(&output.stderr));
            json(&out.join("replays/highlights/selection.json"))
        })
    };
    // Once the first chunk is in, the rest of the match arrives.
    let first = out.join("media/chunks/segment-000000.mp4");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !first.exists() {
        assert!(std::time::Instant::now() < deadline, "highlights never read the live playlist");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Replaced whole (renamed over), as a packager does, so no read sees half of it.
    let grown = live.with_file_name("live.m3u8.tmp");
    fs::write(&grown, full.replace("#EXT-X-PLAYLIST-TYPE:VOD\n", "")).unwrap();
    fs::rename(&grown, &live).unwrap();
    let live_selection = follower.join().unwrap();
    assert_eq!(live_selection["clips"], selection["clips"], "live gives the same selection");

    // A missing segment is named, skipped, and the event goes on.
    fs::remove_file(segments.with_file_name("list1.m4s")).unwrap();
    let (selection, stderr) = run(&segments, &dir.path().join("out-missing"));
    assert!(stderr.contains("segment 1: cannot read") && stderr.contains("list1.m4s"), "{stderr}");
    assert_eq!(selection["clips"].as_array().unwrap().len(), 1, "{selection}");
}

/// A UDP port on loopback that was free a moment ago.
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Highlights of a live stream: `reeltime highlights URL` listens, the ffmpeg command line
/// plays `source` (40 s with a roar from 20 to 26 s) into `push` at 4 times real time once the
/// port is taken, and the catch-up of the whole stream holds the roar; returns the streams of
/// its video.
fn highlights_of_a_live_stream(listen: &str, push: &str, port: u16, source: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let engine = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(["highlights", listen, "--duration", "20", "--priority", "Loud:60"])
        .args(["--silence", "3", "--quiet", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Listening once the port is taken: a bind of it fails.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        assert!(std::time::Instant::now() < deadline, "highlights never listened on {port}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    ffmpeg(&["-readrate", "4", "-i", source.to_str().unwrap(), "-c", "copy", "-f", "mpegts", push]);
    let output = engine.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("analysed 10 chunks"), "{stdout}");
    let selection = json(&out.join("replays/highlights/selection.json"));
    let clips = selection["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 1, "{selection}");
    let (start, end) = (seconds(&clips[0]["start"]), seconds(&clips[0]["end"]));
    assert!(start <= 20.0 && end >= 26.0, "the clip holds the roar: {selection}");
    let mp4 = out.join(selection["rendered"]["renditions"][0]["mp4"].as_str().unwrap());
    assert_eq!(decode_errors(&mp4, false), "", "{mp4:?} decodes cleanly");
    streams(&mp4)
}

#[test]
fn highlights_of_a_live_udp_stream() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.mp4");
    roaring_video(&source);
    let port = free_udp_port();
    let url = format!("udp://127.0.0.1:{port}");
    let streams = highlights_of_a_live_stream(&url, &format!("{url}?pkt_size=1316"), port, &source);
    assert_eq!(streams, ["h264,video", "aac,audio"]);
}

#[test]
fn highlights_of_a_live_srt_stream() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.mp4");
    roaring_video(&source);
    let port = free_udp_port();
    let listen = format!("srt://127.0.0.1:{port}?mode=listener");
    let push = format!("srt://127.0.0.1:{port}?mode=caller&pkt_size=1316");
    highlights_of_a_live_stream(&listen, &push, port, &source);
}

#[test]
fn highlights_of_a_live_radio_stream_are_sound_only() {
    // A radio contribution feed: MP2 sound in MPEG-TS over UDP, with no picture.
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("commentary.ts");
    roaring_commentary(&source, "mp2");
    let port = free_udp_port();
    let url = format!("udp://127.0.0.1:{port}");
    let streams = highlights_of_a_live_stream(&url, &format!("{url}?pkt_size=1316"), port, &source);
    assert_eq!(streams, ["aac,audio"], "the replay of a radio stream is sound only");
}

/// The filters of a still, grainy picture (input 0) with a moving pattern (input 1) over it
/// from 20 to 26 s, then `more`.
fn silent_burst_filters(more: &str) -> String {
    format!("[0][1]overlay=enable='between(t,20,26)',noise=alls=4:allf=t{more}")
}

/// `highlights` of `video`, a silent burst of motion from 20 to 26 s, finds the burst and
/// renders a replay around it.
fn highlights_follow_the_burst_of_motion(video: &Path, out: &Path) {
    let output = highlights(video, "20", out, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let log = fs::read_to_string(out.join("highlights-log.jsonl")).unwrap();
    let bursts: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["plugin"] == "MotionEnergy")
        .collect();
    assert_eq!(bursts.len(), 1, "{log}");
    let (start, end) = (seconds(&bursts[0]["start"]), seconds(&bursts[0]["end"]));
    // Within a sampled frame (200 ms at 5 fps) of the burst, and its half-second of fade-out.
    assert!((start - 20.0).abs() <= 0.2 && (end - 26.0).abs() <= 0.5, "{}", bursts[0]);
    let selection = json(&out.join("replays/highlights/selection.json"));
    let clips = selection["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 1, "{selection}");
    let (start, end) = (seconds(&clips[0]["start"]), seconds(&clips[0]["end"]));
    assert!(start <= 20.0 && end >= 26.0, "the clip holds the burst: {selection}");
    let mp4 = out.join(selection["rendered"]["renditions"][0]["mp4"].as_str().unwrap());
    let total = seconds(&selection["total_duration"]);
    let measured = video_duration_ms(&mp4) as f64 / 1000.0;
    assert!((measured - total).abs() <= 0.2, "{measured} s, selected {total} s");
    assert_eq!(decode_errors(&mp4, false), "", "{mp4:?} decodes cleanly");
}

#[test]
fn highlights_of_a_source_without_sound_follow_a_burst_of_motion() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("silent-burst.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:s=320x240:r=25:d=40",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=25:d=40",
        "-filter_complex",
        &silent_burst_filters(""),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        video.to_str().unwrap(),
    ]);
    highlights_follow_the_burst_of_motion(&video, &dir.path().join("out"));
}

#[test]
fn highlights_of_an_interlaced_source_without_sound_follow_a_burst_of_motion() {
    let dir = tempfile::tempdir().unwrap();
    // A DVB-style broadcast: 50 pictures a second woven into 25 interlaced frames (top field
    // first), MPEG-2 coded as fields, in MPEG-TS, which the analysis deinterlaces.
    let video = dir.path().join("interlaced-burst.ts");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:s=320x240:r=50:d=40",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=50:d=40",
        "-filter_complex",
        &silent_burst_filters(",tinterlace=mode=interleave_top,setfield=tff"),
        "-c:v",
        "mpeg2video",
        "-q:v",
        "4",
        "-flags",
        "+ilme+ildct",
        "-top",
        "1",
        video.to_str().unwrap(),
    ]);
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v", "-show_entries", "stream=field_order"])
        .args(["-of", "default=nw=1:nk=1"])
        .arg(&video)
        .output()
        .unwrap();
    let field_order = text(&probe.stdout);
    // MPEG-TS lists its stream once on its own and once in its program.
    assert!(
        field_order.lines().count() > 0 && field_order.lines().all(|order| order == "tt"),
        "the source is interlaced, top field first: {field_order:?}"
    );
    highlights_follow_the_burst_of_motion(&video, &dir.path().join("out"));
}

/// A radio commentary in `codec`: 40 s of murmur with a roar from 20 to 26 s, and no picture.
fn roaring_commentary(path: &Path, codec: &str) {
    let mix = "[1:a]adelay=20000:all=1[roar];[0:a][roar]amix=inputs=2:normalize=0[a]";
    let rest = ["-filter_complex", mix, "-map", "[a]", "-c:a", codec, path.to_str().unwrap()];
    ffmpeg(&[MURMUR_AND_ROAR.as_slice(), &rest].concat());
}

#[test]
fn highlights_of_a_source_with_sound_only_are_sound_only() {
    let dir = tempfile::tempdir().unwrap();
    // A radio commentary in the containers and codecs radio comes in (PCM is converted to AAC;
    // the others are copied).
    let cases = [
        ("commentary.m4a", "aac"),
        ("commentary.mp3", "libmp3lame"),
        ("commentary.wav", "pcm_s16le"),
        ("commentary.ts", "mp2"),
    ];
    for (name, codec) in cases {
        let input = dir.path().join(name);
        roaring_commentary(&input, codec);
        let out = dir.path().join(format!("out-{name}"));
        let output = highlights(&input, "20", &out, &[]);
        assert!(output.status.success(), "{name}: {}", text(&output.stderr));
        let log = fs::read_to_string(out.join("highlights-log.jsonl")).unwrap();
        let records: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        // Chunks of 4 s to an audio frame; only the last is shorter (AAC's priming frame can
        // leave one of 21 ms after the 40 s).
        let chunks: Vec<f64> = records
            .iter()
            .filter(|r| r["type"] == "chunk")
            .map(|r| seconds(&r["duration"]))
            .collect();
        let (last, whole) = chunks.split_last().unwrap();
        assert!(whole.len() >= 9 && *last <= 4.05, "{name}: {chunks:?}");
        assert!(whole.iter().all(|d| (d - 4.0).abs() <= 0.05), "{name}: {chunks:?}");
        let roars: Vec<&Value> =
            records.iter().filter(|r| r["plugin"] == "AudioLoudness").collect();
        assert_eq!(roars.len(), 1, "{name}: {log}");
        let (start, end) = (seconds(&roars[0]["start"]), seconds(&roars[0]["end"]));
        // Within 300 ms, the roar detector's tolerance (docs/plugins.md).
        assert!((start - 20.0).abs() <= 0.3 && (end - 26.0).abs() <= 0.3, "{name}: {}", roars[0]);
        let event = records.iter().find(|r| r["type"] == "event").unwrap();
        assert_eq!(event["frame_rate"], Value::Null, "{name}: sound has no frame rate");

        let selection = json(&out.join("replays/highlights/selection.json"));
        let clips = selection["clips"].as_array().unwrap();
        assert_eq!(clips.len(), 1, "{name}: {selection}");
        let (start, end) = (seconds(&clips[0]["start"]), seconds(&clips[0]["end"]));
        assert!(start <= 20.0 && end >= 26.0, "{name}: the clip holds the roar: {selection}");
        let rendered = &selection["rendered"];
        assert_eq!(rendered["status"], "rendered", "{name}: {selection}");
        assert_eq!(rendered["thumbnail"], Value::Null, "{name}: sound has no picture");
        let renditions = rendered["renditions"].as_array().unwrap();
        assert_eq!(renditions.len(), 1, "{name}: one rendition of sound: {selection}");
        assert_eq!(renditions[0]["resolution"], "audio", "{name}");
        let mp4 = out.join(renditions[0]["mp4"].as_str().unwrap());
        assert_eq!(streams(&mp4), ["aac,audio"], "{name}: {mp4:?} holds sound only");
        let total = seconds(&selection["total_duration"]);
        let measured = media_duration(&mp4);
        assert!((measured - total).abs() <= 0.03, "{name}: {measured} s, selected {total} s");
        assert_eq!(decode_errors(&mp4, false), "", "{name}: {mp4:?} decodes cleanly");
        let master = fs::read_to_string(out.join(rendered["master"].as_str().unwrap())).unwrap();
        assert!(
            master.contains("CODECS=\"mp4a.40.2\"\naudio/replay.m3u8")
                && !master.contains("RESOLUTION"),
            "{name}: {master}"
        );
        let playlist = out.join(renditions[0]["playlist"].as_str().unwrap());
        assert_eq!(decode_errors(&playlist, false), "", "{name}: {playlist:?} plays cleanly");

        // The clip of the segment: a stream copy of the sound, to an audio frame.
        let segments = json(&out.join("events/commentary/segments.json"));
        let clip = &segments["segments"][0]["clips"]["1"]["original"];
        assert_eq!(clip["thumbnail"], Value::Null, "{name}: {clip}");
        let clip_mp4 = out.join(clip["mp4"].as_str().unwrap());
        let listed = streams(&clip_mp4);
        assert!(listed.len() == 1 && listed[0].ends_with(",audio"), "{name}: {listed:?}");
        let (asked, held) = (
            seconds(&clip["requested_end"]) - seconds(&clip["requested_start"]),
            seconds(&clip["end"]) - seconds(&clip["start"]),
        );
        assert!((held - asked).abs() <= 0.06, "{name}: asked {asked} s, cut {held} s: {clip}");
        assert!((media_duration(&clip_mp4) - held).abs() <= 0.03, "{name}: {clip}");
        assert_eq!(decode_errors(&clip_mp4, false), "", "{name}: {clip_mp4:?} decodes cleanly");
    }
}

/// `codec,type` of every stream of a file.
fn streams(path: &Path) -> Vec<String> {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name,codec_type", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    text(&output.stdout).lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// The length of a file as its container says, in seconds.
fn media_duration(path: &Path) -> f64 {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    text(&output.stdout).trim().parse().unwrap_or_else(|e| panic!("{path:?}: {e}"))
}
