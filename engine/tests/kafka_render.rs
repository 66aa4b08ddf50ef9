//! `reeltime run` renders over Kafka: a real match's records (made by `reeltime highlights`
//! from a generated video, so the chunks are real media on this machine) are published to a
//! real broker; the engine, with rendering on, publishes segment views with their clips,
//! replay views with their video and the render notifications, and writes the files.
//!
//! Without a broker the test says so and passes, unless `REELTIME_REQUIRE_KAFKA=1`.

mod kafka;

use std::collections::BTreeMap;
use std::fs;
use std::process::Command;

use serde_json::Value;

use kafka::{
    broker, consume, create_topics, publish_lines, rendering_engine_command, unique_prefix,
};

#[test]
fn the_engine_renders_clips_and_replays_over_kafka() {
    let Some(brokers) = broker() else { return };
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("final.mp4");
    let ffmpeg = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=24"])
        .args(["-f", "lavfi", "-i", "anoisesrc=r=48000:c=pink:a=0.02:seed=3:d=24"])
        .args(["-f", "lavfi", "-i", "anoisesrc=r=48000:c=white:a=0.5:seed=4:d=6"])
        .args([
            "-filter_complex",
            "[2:a]adelay=10000:all=1[roar];[1:a][roar]amix=inputs=2:normalize=0[a]",
        ])
        .args(["-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
        .args(["-c:a", "aac", "-shortest"])
        .arg(&video)
        .output()
        .unwrap();
    assert!(ffmpeg.status.success(), "{}", String::from_utf8_lossy(&ffmpeg.stderr));
    let made = dir.path().join("made");
    let output = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(["highlights", video.to_str().unwrap(), "--duration", "20", "--quiet", "--out"])
        .arg(&made)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let log = fs::read_to_string(made.join("highlights-log.jsonl")).unwrap();
    let lines: Vec<String> = log.lines().map(str::to_owned).collect();

    let prefix = unique_prefix("render");
    create_topics(&brokers, &prefix);
    publish_lines(&brokers, &prefix, &lines);
    let out = dir.path().join("run");
    let run = rendering_engine_command(&brokers, &prefix, &out, "3").output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    // The latest view of every segment on the clips topic has its rendered clip.
    let mut segments: BTreeMap<String, Value> = BTreeMap::new();
    for (_, _, key, value) in consume(&brokers, &format!("{prefix}clips")) {
        segments.insert(key, value.expect("no segment was removed"));
    }
    assert!(!segments.is_empty());
    for (key, segment) in &segments {
        let clip = &segment["clips"]["1"]["original"];
        let mp4 = clip["mp4"].as_str().unwrap_or_else(|| panic!("{key} has no clip: {segment}"));
        assert!(out.join(mp4).is_file(), "{key}: {mp4} is not in {out:?}");
        assert_eq!(clip["requested_start"], segment["start"], "{key}");
    }

    let notifications: Vec<Value> = consume(&brokers, &format!("{prefix}notifications"))
        .into_iter()
        .filter_map(|(_, _, _, value)| value)
        .collect();
    let count = |kind: &str| notifications.iter().filter(|n| n["type"] == kind).count();
    assert_eq!(count("clip_rendered"), segments.len() * 2, "original and optimized clips");
    assert_eq!(count("replay_rendered"), 1);
    // The engine reads the topics' backlogs in no set order across partitions: when the
    // event's end is read before its chunks, a clip fails for want of them and is cut once
    // they come (the views above have every clip). Nothing may fail for another reason.
    let waiting_for_chunks = |reason: &str| {
        [
            "the event ended without chunks",
            "the event ended with its chunks reaching",
            "no chunks to render",
            "is not covered by the chunks",
            "are not consecutive",
        ]
        .iter()
        .any(|want| reason.contains(want))
    };
    let failed: Vec<&Value> = notifications
        .iter()
        .filter(|n| n["type"] == "clip_failed" || n["type"] == "replay_render_failed")
        .filter(|n| !waiting_for_chunks(n["reason"].as_str().unwrap_or_default()))
        .collect();
    assert!(failed.is_empty(), "renders failed: {failed:#?}");

    // The replay's latest view on the replays topic has its video, at the version it got.
    let replays = consume(&brokers, &format!("{prefix}replays"));
    let (_, _, _, latest) = replays.iter().rfind(|(_, _, key, _)| key == "highlights").unwrap();
    let latest = latest.as_ref().unwrap();
    let rendered = &latest["rendered"];
    assert_eq!(rendered["status"], "rendered", "{latest}");
    assert_eq!(rendered["version"], latest["version"]);
    assert!(out.join(rendered["renditions"][0]["mp4"].as_str().unwrap()).is_file());
    let playlist = fs::read_to_string(out.join("events/final/event-1.m3u8")).unwrap();
    assert!(playlist.ends_with("#EXT-X-ENDLIST\n"), "{playlist}");
}
