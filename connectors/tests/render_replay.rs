//! Replays rendered from generated chunks: durations, sizes, framing, fades, playlists, and
//! a newer version cancelling and superseding an older one.

mod render_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use reeltime_connectors::render::{
    render_replay, Cancel, EncodeSettings, EventRange, Framing, RenderError, ReplayOptions,
    Resolution,
};
use render_support::{decode_errors, hls_parser, packets, video_size, Media, FRAME_MS};

fn media() -> &'static Media {
    static MEDIA: OnceLock<Media> = OnceLock::new();
    MEDIA.get_or_init(Media::small)
}

fn options(resolutions: Vec<Resolution>) -> ReplayOptions {
    ReplayOptions {
        resolutions,
        settings: EncodeSettings { preset: "ultrafast".into(), threads: 1, ..Default::default() },
        hls_segment_ms: 2_000,
        ..ReplayOptions::default()
    }
}

fn stream_duration_ms(path: &Path, stream: &str) -> i64 {
    let packets = packets(path, stream);
    let first = packets.iter().map(|p| p.pts_ms).min().unwrap();
    let end = packets.iter().map(|p| p.pts_ms + p.duration_ms).max().unwrap();
    end - first
}

#[test]
fn replay_renditions_have_the_clips_durations_sizes_and_valid_playlists() {
    let media = media();
    let dir = media.out("replay");
    let clips =
        [EventRange::new(1_000, 3_000), EventRange::new(6_020, 8_500), EventRange::new(500, 1_500)];
    let options = ReplayOptions {
        fade_in_ms: 400,
        fade_out_ms: 400,
        ..options(vec![Resolution::P360, Resolution::Vertical])
    };
    let replay = render_replay(&dir, 1, &media.chunks, &clips, &options, &Cancel::new()).unwrap();
    assert_eq!(replay.clips.len(), clips.len());
    for ((start, end), requested) in replay.clips.iter().zip(clips) {
        // Frame-accurate: the first and last frames are the ones nearest the bounds.
        assert!(start.abs_diff(requested.start_ms) < FRAME_MS, "{start} vs {requested}");
        assert!(end.abs_diff(requested.end_ms) < FRAME_MS, "{end} vs {requested}");
    }
    let sum: u64 = replay.clips.iter().map(|(start, end)| end - start).sum();
    assert_eq!(replay.duration_ms, sum);
    let requested: u64 = clips.iter().map(EventRange::duration_ms).sum();
    assert!(sum.abs_diff(requested) < FRAME_MS * clips.len() as u64, "{sum} vs {requested}");
    let mut playlists = vec![replay.master.clone().unwrap()];
    for (rendition, size) in replay.renditions.iter().zip([(640, 360), (1080, 1920)]) {
        let mp4 = rendition.mp4.as_ref().unwrap();
        assert_eq!(video_size(mp4), size, "{}", rendition.resolution);
        assert_eq!((rendition.width, rendition.height), size);
        assert_eq!(stream_duration_ms(mp4, "v"), replay.duration_ms as i64);
        let audio = stream_duration_ms(mp4, "a");
        assert!((audio - replay.duration_ms as i64).abs() <= 22, "audio {audio} ms");
        assert_eq!(decode_errors(mp4, false), "");
        let listed: u64 = rendition.segments.iter().map(|s| s.duration_ms).sum();
        assert_eq!(listed, replay.duration_ms);
        playlists.push(rendition.playlist.clone().unwrap());
    }
    let master = replay.master.as_ref().unwrap();
    assert_eq!(decode_errors(master, true), "");
    assert_eq!(decode_errors(master, false), "");
    if let Some(parsed) = hls_parser(&playlists) {
        let variants = parsed[0]["variants"].as_array().unwrap();
        let sizes: Vec<_> = variants
            .iter()
            .map(|v| (v["resolution"]["width"].as_u64(), v["resolution"]["height"].as_u64()))
            .collect();
        assert_eq!(sizes, [(Some(640), Some(360)), (Some(1080), Some(1920))]);
        for variant in variants {
            assert!(variant["bandwidth"].as_u64().unwrap() > 0);
            assert!(variant["codecs"].as_str().unwrap().starts_with("avc1."), "{variant}");
        }
        assert!(parsed[1..].iter().all(|p| p["playlistType"] == "VOD" && p["endlist"] == true));
    }
    let thumbnail = replay.thumbnail.as_ref().unwrap();
    assert_eq!(video_size(thumbnail), (640, 360));
}

/// The area `cropdetect` finds with picture in it, as `w:h`.
fn picture_area(path: &Path) -> String {
    let output = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-i"])
        .arg(path)
        .args(["-vf", "cropdetect=limit=24:round=2:reset=0", "-frames:v", "10", "-f", "null", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    let last = text.lines().filter_map(|l| l.split("crop=").nth(1)).next_back().unwrap();
    let fields: Vec<&str> = last.split(':').collect();
    format!("{}:{}", fields[0], fields[1])
}

#[test]
fn framing_pads_or_crops_into_other_shapes() {
    let media = media();
    let clips = [EventRange::new(2_000, 2_800)];
    let mut areas = Vec::new();
    for framing in [Framing::Pad, Framing::Crop] {
        let dir = media.out(&format!("framing-{framing:?}"));
        let options = ReplayOptions {
            framing,
            hls: false,
            thumbnail_width: None,
            ..options(vec![Resolution::Square])
        };
        let replay =
            render_replay(&dir, 1, &media.chunks, &clips, &options, &Cancel::new()).unwrap();
        let mp4 = replay.renditions[0].mp4.clone().unwrap();
        assert_eq!(video_size(&mp4), (1080, 1080));
        areas.push(picture_area(&mp4));
    }
    // 16:9 padded into a square keeps the whole picture between bars; cropped, it fills it.
    assert_eq!(areas, ["1080:608", "1080:1080"]);
}

fn partial_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.to_string_lossy().ends_with(".partial") {
                found.push(path);
            }
        }
    }
    found
}

fn segment_files(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".ts"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_newer_version_cancels_the_older_render_and_supersedes_the_last_complete_one() {
    let media = media();
    let dir = media.out("versions");
    let options = options(vec![Resolution::P360]);
    let version_1 = [EventRange::new(1_000, 3_000)];
    let first =
        render_replay(&dir, 1, &media.chunks, &version_1, &options, &Cancel::new()).unwrap();
    let manifest = fs::read(dir.join("replay.json")).unwrap();
    let mp4 = fs::read(first.renditions[0].mp4.as_ref().unwrap()).unwrap();

    // Version 2 starts rendering and is cancelled once it has begun writing.
    let version_2 = [EventRange::new(0, 12_000), EventRange::new(0, 12_000)];
    let cancel = Cancel::new();
    let watcher = {
        let cancel = cancel.clone();
        let partial = dir.join("360p/replay.mp4.partial");
        std::thread::spawn(move || {
            while !partial.exists() {
                std::thread::yield_now();
            }
            cancel.cancel();
        })
    };
    let error = render_replay(&dir, 1, &media.chunks, &version_2, &options, &cancel).unwrap_err();
    watcher.join().unwrap();
    assert!(matches!(error, RenderError::Cancelled), "{error}");
    assert_eq!(partial_files(&dir), Vec::<PathBuf>::new());
    assert_eq!(fs::read(dir.join("replay.json")).unwrap(), manifest, "version 1 stays whole");
    assert_eq!(fs::read(first.renditions[0].mp4.as_ref().unwrap()).unwrap(), mp4);
    let first_segments: Vec<String> =
        first.renditions[0].segments.iter().map(|s| s.uri.clone()).collect();
    assert_eq!(segment_files(&dir.join("360p")), first_segments);

    // Version 3 completes and replaces version 1, segments included.
    let version_3 = [EventRange::new(4_000, 5_000), EventRange::new(8_000, 9_000)];
    let third =
        render_replay(&dir, 1, &media.chunks, &version_3, &options, &Cancel::new()).unwrap();
    assert_ne!(third.hash, first.hash);
    assert_eq!(third.duration_ms, 2_000);
    let third_segments: Vec<String> =
        third.renditions[0].segments.iter().map(|s| s.uri.clone()).collect();
    assert_eq!(segment_files(&dir.join("360p")), third_segments);
    assert_eq!(stream_duration_ms(third.renditions[0].mp4.as_ref().unwrap(), "v"), 2_000);

    // The same version again is not rendered again.
    let again =
        render_replay(&dir, 1, &media.chunks, &version_3, &options, &Cancel::new()).unwrap();
    assert!(again.reused);
    assert_eq!(again.hash, third.hash);
}
