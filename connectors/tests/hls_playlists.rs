//! An event's growing HLS playlist of stream-copied clips, read by hls-parser in strict mode
//! and played through by FFmpeg (demuxing and a full decode) without an error.

mod render_support;

use std::path::Path;
use std::sync::OnceLock;

use reeltime_connectors::hls_writer::{write_playlist, EventPlaylist};
use reeltime_connectors::render::{render_clip, ClipOptions, EventRange};
use render_support::{decode_errors, hls_parser, packets, Media, FRAME_MS};

fn media() -> &'static Media {
    static MEDIA: OnceLock<Media> = OnceLock::new();
    MEDIA.get_or_init(Media::small)
}

#[test]
fn event_playlist_of_copied_clips_parses_and_plays() {
    let media = media();
    let out = media.out("event");
    let options = ClipOptions { mp4: false, hls_segment_ms: Some(2_000), ..ClipOptions::default() };
    let mut playlist = EventPlaylist::new(4);
    let path = out.join("event-1.m3u8");
    let mut total_ms = 0;
    let ranges = [(1_500, 5_500), (6_100, 9_000), (9_500, 11_990)];
    for (index, (start, end)) in ranges.into_iter().enumerate() {
        let clip =
            render_clip(&out, "match", 1, &media.chunks, EventRange::new(start, end), &options)
                .unwrap();
        assert!(clip.mp4.is_none());
        let listed: u64 = clip.hls_segments.iter().map(|s| s.duration_ms).sum();
        assert_eq!(listed, clip.actual.duration_ms(), "segments cover the clip");
        for segment in &clip.hls_segments {
            let frames = packets(&out.join(&segment.uri), "v").len() as u64;
            assert_eq!(frames * FRAME_MS, segment.duration_ms, "{}", segment.uri);
        }
        total_ms += listed;
        playlist.add_clip(clip.hls_segments).unwrap();
        write_playlist(&path, &playlist.to_m3u8()).unwrap();
        if let Some(parsed) = hls_parser(std::slice::from_ref(&path)) {
            let parsed = &parsed[0];
            assert_eq!(parsed["playlistType"], "EVENT");
            assert_eq!(parsed["endlist"], false, "the event goes on");
            let discontinuities = parsed["segments"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["discontinuity"] == true)
                .count();
            assert_eq!(discontinuities, index, "one before every clip after the first");
        }
    }
    playlist.end();
    write_playlist(&path, &playlist.to_m3u8()).unwrap();
    if let Some(parsed) = hls_parser(std::slice::from_ref(&path)) {
        assert_eq!(parsed[0]["endlist"], true);
        assert_eq!(parsed[0]["targetDuration"], 4);
    }
    assert_eq!(decode_errors(&path, true), "");
    assert_eq!(decode_errors(&path, false), "");
    let played = played_ms(&path);
    assert!((played - total_ms as i64).abs() <= 3 * FRAME_MS as i64, "{played} vs {total_ms}");
}

/// How long FFmpeg finds a playlist to be, by decoding it.
fn played_ms(path: &Path) -> i64 {
    let output = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    (text.trim().parse::<f64>().unwrap() * 1000.0).round() as i64
}

#[test]
fn a_segment_beyond_the_target_is_refused_before_it_reaches_the_playlist() {
    let media = media();
    let out = media.out("event-long");
    let options = ClipOptions { mp4: false, hls_segment_ms: Some(6_000), ..ClipOptions::default() };
    let clip =
        render_clip(&out, "match", 1, &media.chunks, EventRange::new(0, 8_000), &options).unwrap();
    let mut playlist = EventPlaylist::new(4);
    let error = playlist.add_clip(clip.hls_segments.clone()).unwrap_err();
    assert!(error.to_string().contains("more than the target duration of 4 s"), "{error}");
}
