//! Clips cut from generated chunks, checked with ffprobe and ffmpeg: the bounds returned are
//! the bounds in the file, a stream copy starts on the keyframe before the in-point and is
//! continuous across chunk joins, a re-encode is frame-accurate, bad chunks are named in the
//! error, and rendering twice reuses the first render.

mod render_support;

use std::fs;
use std::sync::OnceLock;

use reeltime_schemas::record::Chunk;

use reeltime_connectors::render::{
    render_clip, ClipOptions, CutMode, EncodeSettings, EventRange, RenderError,
};
use render_support::{decode_errors, packets, video_duration_ms, video_size, Media, FRAME_MS};

fn media() -> &'static Media {
    static MEDIA: OnceLock<Media> = OnceLock::new();
    MEDIA.get_or_init(Media::small)
}

fn copy_options() -> ClipOptions {
    ClipOptions::default()
}

fn encode_options() -> ClipOptions {
    let settings = EncodeSettings { preset: "ultrafast".into(), threads: 1, ..Default::default() };
    ClipOptions { mode: CutMode::Reencode(settings), ..ClipOptions::default() }
}

#[test]
fn stream_copy_starts_on_the_keyframe_before_the_in_point() {
    let media = media();
    let out = media.out("copy-keyframe");
    let range = EventRange::new(2_500, 3_300);
    let clip = render_clip(&out, "match", 1, &media.chunks, range, &copy_options()).unwrap();
    assert!(!clip.reencoded);
    // Keyframes are every second: the one at or before 2.5 s is at 2 s.
    assert_eq!(clip.actual.start_ms, 2_000);
    // The out-point is kept, and at most a B-frame group later.
    assert!(
        (3_300..3_300 + 4 * FRAME_MS).contains(&clip.actual.end_ms),
        "actual end {}",
        clip.actual.end_ms
    );
    let mp4 = clip.mp4.as_ref().unwrap();
    let video = packets(mp4, "v");
    assert!(video[0].key, "the first packet is a keyframe");
    assert_eq!(video.iter().map(|p| p.pts_ms).min(), Some(0));
    assert_eq!(video_duration_ms(mp4), clip.actual.duration_ms() as i64);
    assert_eq!(video.len() as u64, clip.actual.duration_ms() / FRAME_MS);
    let audio = packets(mp4, "a");
    let audio_end = audio.iter().map(|p| p.pts_ms + p.duration_ms).max().unwrap();
    assert!(
        (audio_end - clip.actual.duration_ms() as i64).abs() <= 22,
        "audio ends at {audio_end} ms, video at {} ms",
        clip.actual.duration_ms()
    );
    assert_eq!(decode_errors(mp4, false), "");
}

#[test]
fn stream_copy_across_three_chunks_is_continuous() {
    let media = media();
    let out = media.out("copy-three");
    let range = EventRange::new(1_500, 5_500);
    let clip = render_clip(&out, "match", 1, &media.chunks, range, &copy_options()).unwrap();
    assert_eq!(clip.actual.start_ms, 1_000);
    let mp4 = clip.mp4.as_ref().unwrap();
    for stream in ["v", "a"] {
        let dts: Vec<i64> = packets(mp4, stream).iter().map(|p| p.dts_ms).collect();
        assert!(dts.windows(2).all(|w| w[0] < w[1]), "{stream} DTS not increasing: {dts:?}");
    }
    let video = packets(mp4, "v");
    let mut shown: Vec<i64> = video.iter().map(|p| p.pts_ms).collect();
    shown.sort();
    let expected: Vec<i64> = (0..shown.len() as i64).map(|i| i * FRAME_MS as i64).collect();
    assert_eq!(shown, expected, "every frame from the start keyframe, none missing or repeated");
    assert_eq!(video_duration_ms(mp4), clip.actual.duration_ms() as i64);
    assert_eq!(decode_errors(mp4, true), "");
    assert_eq!(decode_errors(mp4, false), "");
}

/// The media's chunk records with `pts_start`, as the ingest publishes them.
fn with_pts_start(media: &Media) -> Vec<Chunk> {
    // The chunks' own clock: the first chunk's first frame is at 1.4 s (FFmpeg's HLS muxer).
    let first_pts = packets(std::path::Path::new(&media.chunks[0].uri), "v")
        .iter()
        .map(|p| p.pts_ms)
        .min()
        .unwrap();
    media
        .chunks
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.pts_start_ms = Some(first_pts as u64 + c.start_ms);
            c
        })
        .collect()
}

#[test]
fn chunks_after_the_first_join_unprobed_with_the_same_result() {
    // With pts_start, the chunks after the first are opened without probing, their streams
    // checked from their first packets; the cut must be the one probing every chunk makes.
    let media = media();
    let out = media.out("copy-unprobed");
    let range = EventRange::new(1_500, 7_500);
    let probed = render_clip(&out, "match", 1, &media.chunks, range, &copy_options()).unwrap();
    let unprobed =
        render_clip(&out, "match", 1, &with_pts_start(media), range, &copy_options()).unwrap();
    assert_eq!(probed.actual, unprobed.actual);
    assert!(!unprobed.reencoded);
    let [probed, unprobed] = [probed, unprobed].map(|c| c.mp4.unwrap());
    for stream in ["v", "a"] {
        assert_eq!(packets(&probed, stream), packets(&unprobed, stream), "{stream} packets");
    }
    assert_eq!(decode_errors(&unprobed, false), "");
}

#[test]
fn a_join_where_frames_overlap_still_gives_increasing_timestamps() {
    // Chunk 2's record places it 60 ms early: its first frames land before the ends of chunk
    // 1's last ones and are moved on a tick at a time, ticks of the 90 kHz timeline that are
    // the same instant at the audio's own rate (44.1 kHz), where the MP4 needs increasing
    // timestamps.
    let media = media();
    let out = media.out("copy-overlap");
    let mut chunks = with_pts_start(media);
    chunks[2].pts_start_ms = chunks[2].pts_start_ms.map(|ms| ms + 60);
    let clip =
        render_clip(&out, "match", 1, &chunks, EventRange::new(2_500, 7_500), &copy_options())
            .unwrap();
    let mp4 = clip.mp4.unwrap();
    for stream in ["v", "a"] {
        let dts: Vec<i64> = packets(&mp4, stream).iter().map(|p| p.dts_ms).collect();
        assert!(dts.windows(2).all(|w| w[0] <= w[1]), "{stream} DTS go back: {dts:?}");
    }
    assert_eq!(decode_errors(&mp4, true), "");
}

#[test]
fn chunk_records_with_pts_start_place_the_cut_the_same() {
    let media = media();
    let out = media.out("copy-pts-start");
    let chunks = with_pts_start(media);
    let range = EventRange::new(4_200, 6_000);
    let with = render_clip(&out, "match", 1, &chunks, range, &copy_options()).unwrap();
    let without = render_clip(&out, "match", 1, &media.chunks, range, &copy_options()).unwrap();
    assert_ne!(with.name, without.name, "different chunk records, different files");
    assert_eq!(with.actual, without.actual);
    assert_eq!(with.actual.start_ms, 4_000);
}

#[test]
fn reencode_is_frame_accurate() {
    let media = media();
    let out = media.out("encode");
    let range = EventRange::new(2_520, 4_880);
    let clip = render_clip(&out, "match", 1, &media.chunks, range, &encode_options()).unwrap();
    assert_eq!(clip.actual, range);
    let mp4 = clip.mp4.as_ref().unwrap();
    let video = packets(mp4, "v");
    assert_eq!(video.len() as u64, range.duration_ms() / FRAME_MS);
    assert_eq!(video.iter().map(|p| p.pts_ms).min(), Some(0));
    assert_eq!(video_duration_ms(mp4), range.duration_ms() as i64);
    assert_eq!(video_size(mp4), (640, 360));
    assert_eq!(decode_errors(mp4, false), "");
}

#[test]
fn thumbnail_is_a_scaled_jpeg() {
    let media = media();
    let out = media.out("thumbnail");
    let options = ClipOptions { thumbnail_width: Some(320), ..copy_options() };
    let clip =
        render_clip(&out, "match", 1, &media.chunks, EventRange::new(3_000, 4_000), &options)
            .unwrap();
    let jpeg = clip.thumbnail.as_ref().unwrap();
    assert_eq!(&fs::read(jpeg).unwrap()[..2], &[0xff, 0xd8], "a JPEG starts with SOI");
    assert_eq!(video_size(jpeg), (320, 180));
}

#[test]
fn rendering_again_reuses_the_files_and_other_inputs_make_other_names() {
    let media = media();
    let out = media.out("idempotent");
    let range = EventRange::new(1_000, 2_000);
    let first = render_clip(&out, "match", 1, &media.chunks, range, &copy_options()).unwrap();
    assert!(!first.reused);
    let modified = fs::metadata(first.mp4.as_ref().unwrap()).unwrap().modified().unwrap();
    let again = render_clip(&out, "match", 1, &media.chunks, range, &copy_options()).unwrap();
    assert!(again.reused);
    assert_eq!((&again.name, again.actual, &again.mp4), (&first.name, first.actual, &first.mp4));
    let unchanged = fs::metadata(again.mp4.as_ref().unwrap()).unwrap().modified().unwrap();
    assert_eq!(modified, unchanged);
    assert!(first.name.starts_with("match-t1-1000-2000-copy-"), "{}", first.name);
    let encoded = render_clip(&out, "match", 1, &media.chunks, range, &encode_options()).unwrap();
    assert_ne!(encoded.name, first.name);
    let other = render_clip(
        &out,
        "match",
        1,
        &media.chunks,
        EventRange::new(1_000, 2_040),
        &copy_options(),
    )
    .unwrap();
    assert_ne!(other.name, first.name);
    let leftovers: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_keyframe_before_the_in_point_may_be_in_the_chunk_before() {
    let media = media();
    // Keyframes every 3 s, chunks cut every 2 s whatever the keyframes.
    // FFmpeg's playlist then gives durations that are not the frames' (2.12 s for 2 s of
    // frames), so the chunk records come from the frames, as an ingest makes them.
    let chunks = render_support::anchored_on_frames(&render_support::make_chunks_with(
        &media.out("split-by-time"),
        12,
        "640x360",
        75,
        &["-hls_flags", "split_by_time"],
    ));
    // A chunk that starts at least half a second after a keyframe and well before the next.
    let chunk = chunks
        .iter()
        .find(|c| (500..2_500).contains(&(c.start_ms % 3_000)))
        .expect("a chunk starting between keyframes");
    assert!(!packets(std::path::Path::new(&chunk.uri), "v")[0].key);
    let out = media.out("split-by-time-out");
    let range = EventRange::new(chunk.start_ms + 200, chunk.start_ms + 1_200);
    let clip = render_clip(&out, "match", 1, &chunks, range, &copy_options()).unwrap();
    assert_eq!(clip.actual.start_ms, range.start_ms / 3_000 * 3_000);
    let mp4 = clip.mp4.as_ref().unwrap();
    assert_eq!(video_duration_ms(mp4), clip.actual.duration_ms() as i64);
    assert_eq!(decode_errors(mp4, false), "");
}

#[test]
fn chunks_with_other_codec_parameters_are_joined_by_re_encoding() {
    let media = media();
    // Two chunks of a smaller picture continue the event after the media's twelve seconds.
    let smaller = render_support::make_chunks(&media.out("smaller-chunks"), 4, "320x180", 25);
    let mut chunks = media.chunks.clone();
    for (index, mut chunk) in smaller.into_iter().enumerate() {
        chunk.seq_no = 6 + index as u64;
        chunk.start_ms += 12_000;
        chunks.push(chunk);
    }
    let out = media.out("joined");
    let range = EventRange::new(11_520, 13_520);
    let clip = render_clip(&out, "match", 1, &chunks, range, &copy_options()).unwrap();
    // Re-encoded, so frame-accurate (a copy would start on the keyframe at 11 s), at the first
    // chunk's size.
    assert!(clip.reencoded);
    assert_eq!(clip.actual, range);
    let mp4 = clip.mp4.as_ref().unwrap();
    assert_eq!(video_size(mp4), (640, 360));
    assert_eq!(video_duration_ms(mp4), range.duration_ms() as i64);
    assert_eq!(decode_errors(mp4, false), "");
}

/// A copy of the media's chunks in a folder of its own, to damage.
fn chunk_copy(name: &str) -> (std::path::PathBuf, Vec<reeltime_schemas::record::Chunk>) {
    let media = media();
    let dir = media.out(name);
    let chunks = media
        .chunks
        .iter()
        .map(|c| {
            let mut copy = c.clone();
            let to = dir.join(std::path::Path::new(&c.uri).file_name().unwrap());
            fs::copy(&c.uri, &to).unwrap();
            copy.uri = to.to_string_lossy().into_owned();
            copy
        })
        .collect();
    (dir, chunks)
}

#[test]
fn bad_chunks_are_named_in_the_error() {
    let range = EventRange::new(1_000, 5_000);
    for (case, damage) in [("missing", 0usize), ("garbage", 1), ("truncated", 2)] {
        let (dir, chunks) = chunk_copy(&format!("bad-{case}"));
        let victim = &chunks[2].uri;
        match damage {
            0 => fs::remove_file(victim).unwrap(),
            1 => fs::write(victim, vec![0x5a; 100_000]).unwrap(),
            _ => {
                let bytes = fs::read(victim).unwrap();
                fs::write(victim, &bytes[..bytes.len() / 3]).unwrap();
            }
        }
        for options in [copy_options(), encode_options()] {
            let error =
                render_clip(&dir.join("out"), "match", 1, &chunks, range, &options).unwrap_err();
            let text = error.to_string();
            assert!(matches!(&error, RenderError::Chunk { seq_no: 2, .. }), "{case}: {text}");
            assert!(text.contains(victim.as_str()), "{case}: {text}");
            let out = dir.join("out");
            let left: Vec<_> = fs::read_dir(&out).map_or(Vec::new(), |d| d.collect());
            assert!(left.is_empty(), "{case}: a failed render left {left:?}");
        }
    }
}

#[test]
fn ranges_outside_the_chunks_are_refused() {
    let media = media();
    let out = media.out("outside");
    let error = render_clip(
        &out,
        "match",
        1,
        &media.chunks,
        EventRange::new(11_000, 13_000),
        &copy_options(),
    )
    .unwrap_err();
    assert!(matches!(error, RenderError::NotCovered { covered_end_ms: 12_000, .. }), "{error}");
    let error = render_clip(
        &out,
        "match",
        1,
        &media.chunks,
        EventRange::new(3_000, 3_000),
        &copy_options(),
    )
    .unwrap_err();
    assert!(matches!(error, RenderError::EmptyRange { .. }), "{error}");
}
