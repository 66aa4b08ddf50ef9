//! The synthetic match and chunk ingest: determinism, chunk timing against ffprobe, the
//! scoreboard and its `scoreboard.json`, the folder, single-file and HLS sources (VOD and
//! live), and clear errors for bad input.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use reeltime_connectors::ingest::chunks::chunk_files;
use reeltime_connectors::ingest::convert::needs_conversion;
use reeltime_connectors::ingest::hls_reader::{follow, read_playlist};
use reeltime_connectors::ingest::split::split_file;
use reeltime_connectors::ingest::{probe, ChunkIngest, MediaError};
use reeltime_connectors::synth::{make_match, Region, SynthMatch, SynthSpec};

/// The synthetic match, made once for all tests of this file.
fn synthetic() -> &'static SynthMatch {
    static MADE: OnceLock<(tempfile::TempDir, SynthMatch)> = OnceLock::new();
    let (_, made) = MADE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let made = make_match(dir.path(), &SynthSpec::default()).unwrap();
        (dir, made)
    });
    made
}

/// Duration of a media file's video stream by ffprobe (packets / frame rate), in ms.
fn ffprobe_video_ms(path: &Path) -> u64 {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_packets"])
        .args(["-show_entries", "stream=nb_read_packets,r_frame_rate", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8(output.stdout).unwrap();
    // MPEG-TS lists the stream again under its program: the first line is enough.
    let mut fields = text.lines().next().unwrap().trim().split(',');
    let rate: Vec<f64> = fields.next().unwrap().split('/').map(|n| n.parse().unwrap()).collect();
    let packets: f64 = fields.next().unwrap().parse().unwrap();
    (packets * 1000.0 * rate[1] / rate[0]).round() as u64
}

/// Runs the ffmpeg command line with `args`; panics with its messages if it fails.
fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn synthetic_match_chunks_are_timed_contiguously_from_zero() {
    let made = synthetic();
    assert_eq!(made.chunks.len(), 30, "120 s in 4 s chunks");
    let mut ingest = ChunkIngest::new("synthetic");
    let chunks: Vec<_> = made.chunks.iter().map(|p| ingest.add(p).unwrap()).collect();
    assert_eq!(chunks[0].start_ms, 0);
    assert!(
        chunks[0].pts_start_ms >= 1_000,
        "MPEG-TS time starts late: {}",
        chunks[0].pts_start_ms
    );
    for pair in chunks.windows(2) {
        assert_eq!(
            pair[0].end_ms(),
            pair[1].start_ms,
            "chunks {} and {}",
            pair[0].seq_no,
            pair[1].seq_no
        );
        assert_eq!(pair[1].seq_no, pair[0].seq_no + 1);
    }
    for chunk in &chunks {
        assert_eq!(chunk.duration_ms, 4_000);
        assert_eq!(chunk.duration_ms, ffprobe_video_ms(&chunk.path), "{:?}", chunk.path);
    }
    let media = ingest.media().unwrap();
    let video = media.video.unwrap();
    assert_eq!(video.frame_rate, 25.0);
    assert_eq!(media.audio_tracks, [1]);
    assert_eq!((video.width, video.height), (640, 360));

    let record = chunks[3].record();
    assert_eq!(record["type"], "chunk");
    assert_eq!(record["start"], 12.0);
    assert_eq!(record["duration"], 4.0);
    let line = serde_json::to_vec(&record).unwrap();
    reeltime_schemas::decode(&line, 1 << 20).expect("the chunk record is valid input");
}

#[test]
fn the_synthetic_match_is_byte_identical_from_run_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let again = make_match(dir.path(), &SynthSpec::default()).unwrap();
    let first = synthetic();
    assert_eq!(std::fs::read(&first.file).unwrap(), std::fs::read(&again.file).unwrap());
    for (a, b) in first.chunks.iter().zip(&again.chunks) {
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap(), "{a:?}");
    }
    assert_eq!(
        std::fs::read(&first.scoreboard).unwrap(),
        std::fs::read(&again.scoreboard).unwrap()
    );
}

#[test]
fn scoreboard_json_beside_the_match_holds_the_scoreboard_ground_truth() {
    let made = synthetic();
    assert_eq!(made.scoreboard, made.file.with_file_name("scoreboard.json"));
    let text = std::fs::read(&made.scoreboard).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let region = made.truth.scoreboard;
    assert_eq!(
        json["region"],
        serde_json::json!({"x": region.x, "y": region.y, "width": region.width,
                           "height": region.height})
    );
    let scores = json["scores"].as_array().unwrap();
    assert_eq!(scores.len(), made.truth.scores.len());
    assert_eq!(scores[0]["start"], 0.0);
    assert_eq!(scores.last().unwrap()["end"], 120.0);
    for (entry, stretch) in scores.iter().zip(&made.truth.scores) {
        assert_eq!(entry["start"].as_f64().unwrap() * 1000.0, stretch.span.start_ms as f64);
        assert_eq!(entry["end"].as_f64().unwrap() * 1000.0, stretch.span.end_ms as f64);
        assert_eq!(entry["text"], stretch.text.as_str());
        assert_eq!(entry["games"], serde_json::json!([stretch.games.0, stretch.games.1]));
        assert_eq!(entry["points"], serde_json::json!([stretch.points.0, stretch.points.1]));
        assert_eq!(entry["game_point"], stretch.game_point);
    }
}

/// The scoreboard's box in the frame at `seconds` of `file`, as luma bytes, row by row.
fn scoreboard_pixels(file: &Path, seconds: f64, region: Region) -> Vec<u8> {
    let crop =
        format!("crop={}:{}:{}:{},format=gray", region.width, region.height, region.x, region.y);
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &seconds.to_string(), "-i"])
        .arg(file)
        .args(["-frames:v", "1", "-vf", &crop, "-f", "rawvideo", "-"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.stdout.len(), (region.width * region.height) as usize);
    output.stdout
}

#[test]
fn the_scoreboard_is_drawn_where_the_ground_truth_says_and_changes_with_the_score() {
    let made = synthetic();
    let region = made.truth.scoreboard;
    // Ink: white text; the rest of the box black, whatever the scene behind it.
    let ink = |pixels: &[u8]| pixels.iter().map(|&p| p > 128).collect::<Vec<bool>>();
    let differing = |a: &[bool], b: &[bool]| a.iter().zip(b).filter(|(x, y)| x != y).count();
    let first = made.truth.scores.iter().find(|s| s.span.start_ms == 0).unwrap();
    let next = made.truth.scores.iter().find(|s| s.span.start_ms == first.span.end_ms).unwrap();
    let at = |ms: u64| ink(&scoreboard_pixels(&made.file, ms as f64 / 1000.0, region));
    let early = at(first.span.start_ms + 1_000);
    let late = at(first.span.end_ms - 1_000);
    let after = at(next.span.start_ms + 1_000);
    let lit = early.iter().filter(|&&p| p).count();
    assert!(lit > 1_000 && lit < early.len() / 3, "{lit} of {} pixels are ink", early.len());
    // The margin of the box has no ink.
    let width = region.width as usize;
    for (i, &p) in early.iter().enumerate() {
        let (row, column) = (i / width, i % width);
        if row < 5 || row >= region.height as usize - 5 || column < 5 || column >= width - 5 {
            assert!(!p, "ink at row {row}, column {column} of the box");
        }
    }
    assert!(differing(&early, &late) < 50, "{} changed without a score change", first.text);
    assert!(differing(&early, &after) > 200, "{} and {} look alike", first.text, next.text);
}

#[test]
fn a_folder_of_chunks_and_an_hls_playlist_give_the_same_chunks() {
    let made = synthetic();
    let folder = chunk_files(made.chunks[0].parent().unwrap()).unwrap();
    assert_eq!(folder, made.chunks);
    let playlist = read_playlist(&made.playlist).unwrap();
    assert!(playlist.ended);
    let listed: Vec<PathBuf> = playlist.segments.iter().map(|s| s.path.clone()).collect();
    assert_eq!(listed, made.chunks);
}

#[test]
fn a_live_playlist_is_followed_until_its_end_list() {
    let made = synthetic();
    let dir = tempfile::tempdir().unwrap();
    let playlist = dir.path().join("live.m3u8");
    let entry = |i: usize| format!("#EXTINF:4.000,\n{}\n", made.chunks[i].display());
    let head = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:EVENT\n";
    std::fs::write(&playlist, format!("{head}{}{}", entry(0), entry(1))).unwrap();
    let (sender, received) = mpsc::channel();
    let follower = {
        let playlist = playlist.clone();
        std::thread::spawn(move || {
            let stop = AtomicBool::new(false);
            follow(&playlist, Duration::from_millis(20), &stop, |segment| {
                sender.send(segment.path.clone()).unwrap();
            })
        })
    };
    // The first two arrive before the playlist grows.
    assert_eq!(received.recv().unwrap(), made.chunks[0]);
    assert_eq!(received.recv().unwrap(), made.chunks[1]);
    let grown = format!("{head}{}{}{}#EXT-X-ENDLIST\n", entry(0), entry(1), entry(2));
    std::fs::write(dir.path().join("next.m3u8"), grown).unwrap();
    std::fs::rename(dir.path().join("next.m3u8"), &playlist).unwrap();
    follower.join().unwrap().unwrap();
    let rest: Vec<PathBuf> = received.iter().collect();
    assert_eq!(rest, [made.chunks[2].clone()], "each segment once, in order");
}

#[test]
fn a_single_file_splits_into_chunks_whose_records_match_ffprobe() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("game.mp4");
    // 30 fps, a keyframe every 2 s, B-frames; 4 s chunks take every other keyframe.
    let file_arg = file.to_str().unwrap();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=30:d=11",
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:d=11",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-bf",
        "2",
        "-g",
        "60",
        "-keyint_min",
        "60",
        "-sc_threshold",
        "0",
        "-c:a",
        "aac",
        "-shortest",
        file_arg,
    ]);
    let chunks = split_file(&file, &dir.path().join("chunks"), 4.0).unwrap();
    assert_eq!(chunks.iter().map(|c| c.duration_ms).collect::<Vec<_>>(), [4_000, 4_000, 3_000]);
    let mut ingest = ChunkIngest::new("game");
    let mut expected_start = 0;
    for split in &chunks {
        let chunk = ingest.add(&split.path).unwrap();
        assert_eq!(chunk.start_ms, expected_start);
        assert_eq!(chunk.duration_ms, split.duration_ms);
        assert_eq!(chunk.duration_ms, ffprobe_video_ms(&split.path), "{:?}", split.path);
        expected_start += chunk.duration_ms;
    }
    assert_eq!(ingest.media().unwrap().audio_tracks, [1]);
}

/// Replaces every `from` in the file at `path` by `to` (as long), which must be there.
fn replace_bytes(path: &Path, from: &[u8], to: &[u8]) {
    let bytes = std::fs::read(path).unwrap();
    let found = bytes.windows(from.len()).filter(|w| *w == from).count();
    assert!(found > 0, "{path:?} holds {:?}", String::from_utf8_lossy(from));
    let mut patched = Vec::with_capacity(bytes.len());
    let mut rest = &bytes[..];
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        patched.extend_from_slice(&rest[..at]);
        patched.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    patched.extend_from_slice(rest);
    std::fs::write(path, patched).unwrap();
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.mp4");
    let error = probe(&missing).unwrap_err();
    assert!(matches!(error, MediaError::NotFound { .. }));
    assert!(error.to_string().contains("nothing.mp4"), "{error}");

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "not a video at all").unwrap();
    let error = probe(&text).unwrap_err();
    assert!(matches!(error, MediaError::Unreadable { .. }), "{error}");
    assert!(error.to_string().contains("notes.mp4"), "{error}");

    // Subtitles alone: neither picture nor sound.
    let captions = dir.path().join("captions.srt");
    std::fs::write(&captions, "1\n00:00:00,000 --> 00:00:01,000\nGame, set and match\n").unwrap();
    let error = probe(&captions).unwrap_err();
    assert!(matches!(error, MediaError::NoStreams { .. }), "{error}");
    assert!(error.to_string().contains("captions.srt\" has no video or audio stream"), "{error}");
    let error = split_file(&captions, dir.path(), 4.0).unwrap_err();
    assert!(error.to_string().contains("no video or audio stream"), "{error}");
    assert!(split_file(&captions, dir.path(), 0.0)
        .unwrap_err()
        .to_string()
        .contains("chunk length"));

    // Streams FFmpeg has no decoder for, as files of other tools have them: an AVI whose video
    // FourCC FFmpeg does not know, a Matroska file whose audio codec id it does not know.
    let picture = ["-f", "lavfi", "-i", "testsrc2=s=160x120:d=2"];
    let sound = ["-f", "lavfi", "-i", "sine=d=2"];
    let avi = dir.path().join("camera.avi");
    let xvid = [&picture[..], &sound, &["-c:v", "mpeg4", "-vtag", "xvid", "-c:a", "pcm_s16le"]];
    ffmpeg(&[&xvid.concat()[..], &[avi.to_str().unwrap()]].concat());
    replace_bytes(&avi, b"xvid", b"QQ9Z");
    let mkv = dir.path().join("commentary.mkv");
    let aac = [&picture[..], &sound, &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]];
    ffmpeg(&[&aac.concat()[..], &[mkv.to_str().unwrap()]].concat());
    replace_bytes(&mkv, b"A_AAC", b"A_QQQ");
    for (file, named) in [
        (&avi, "camera.avi\" cannot be decoded: this FFmpeg has no decoder for its video stream (an unknown codec, FourCC \"QQ9Z\")"),
        (&mkv, "commentary.mkv\" cannot be decoded: this FFmpeg has no decoder for its audio track 1 (an unknown codec)"),
    ] {
        let error = probe(file).unwrap_err();
        assert!(matches!(error, MediaError::NoDecoder { .. }), "{error}");
        assert!(error.to_string().contains(named), "{error}");
        let error = needs_conversion(file).unwrap_err();
        assert!(error.to_string().contains(named), "{error}");
    }

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(chunk_files(&empty).unwrap_err(), MediaError::NoChunks { .. }));
    let error = read_playlist(&dir.path().join("live.m3u8")).unwrap_err();
    assert!(error.to_string().contains("live.m3u8"), "{error}");
}

#[test]
fn a_recording_mpeg_ts_cannot_hold_is_converted_once_then_cut_at_every_chunk_boundary() {
    use reeltime_connectors::ingest::convert::{convert, ConvertSettings};
    let dir = tempfile::tempdir().unwrap();
    // ProRes at 30000/1001 fps with two PCM tracks, mono and 5.1: the mezzanine a production
    // hands over, nothing of which MPEG-TS holds.
    let file = dir.path().join("mezzanine.mov");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=30000/1001:d=10",
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:r=48000:d=10",
        "-f",
        "lavfi",
        "-i",
        "sine=f=220:r=44100:d=10,pan=5.1|FL=c0|FR=c0|FC=c0|LFE=c0|BL=c0|BR=c0",
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-map",
        "2:a",
        "-c:v",
        "prores",
        "-c:a",
        "pcm_s24le",
        file.to_str().unwrap(),
    ]);
    let named: Vec<String> =
        needs_conversion(&file).unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(named, ["video prores", "audio 1 pcm_s24le", "audio 2 pcm_s24le"]);
    let converted = dir.path().join("converted.ts");
    let mut heard = Vec::new();
    let done = convert(&file, &converted, 4.0, &ConvertSettings::default(), &mut |p| heard.push(p))
        .unwrap();
    assert!((done.done.as_secs_f64() - 10.0).abs() < 0.1, "{done:?}");
    assert!(done.speed() > 0.0 && heard.len() >= 2, "progress is told as it goes: {heard:?}");
    assert!(needs_conversion(&converted).unwrap().is_empty());

    // A keyframe at the first frame at or after every 4 s boundary: 120 frames (4.004 s), 120,
    // then what is left (60 of 300).
    let chunks = split_file(&converted, &dir.path().join("chunks"), 4.0).unwrap();
    let frames: Vec<u64> = chunks.iter().map(|c| c.duration_ms * 30_000 / 1_001_000).collect();
    assert_eq!(frames, [120, 120, 60], "{chunks:?}");
    let media = probe(&chunks[0].path).unwrap();
    assert_eq!(media.audio_tracks, [1, 2]);
    assert!((media.video.unwrap().frame_rate - 29.97).abs() < 0.01, "{media:?}");
    let streams = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name,channels", "-of", "csv=p=0"])
        .arg(&chunks[0].path)
        .output()
        .unwrap();
    let streams = String::from_utf8(streams.stdout).unwrap();
    // MPEG-TS lists its streams again under its program: the first three lines are enough.
    assert_eq!(streams.lines().take(3).collect::<Vec<_>>(), ["h264", "aac,1", "aac,6"]);

    // Not media at all: named, and nothing is left behind.
    let notes = dir.path().join("notes.mov");
    std::fs::write(&notes, "not a video").unwrap();
    let out = dir.path().join("never.ts");
    let error = convert(&notes, &out, 4.0, &ConvertSettings::default(), &mut |_| {}).unwrap_err();
    assert!(error.to_string().contains("notes.mov"), "{error}");
}

#[test]
fn a_recording_with_sound_only_is_cut_into_chunks_of_audio() {
    use reeltime_connectors::ingest::convert::{convert, ConvertSettings};
    let dir = tempfile::tempdir().unwrap();
    // A radio commentary: 10 s of AAC in M4A, which is copied, and the same as PCM in WAV,
    // which is converted to AAC first.
    let m4a = dir.path().join("commentary.m4a");
    let wav = dir.path().join("commentary.wav");
    for (file, codec) in [(&m4a, "aac"), (&wav, "pcm_s16le")] {
        let tone = "sine=f=440:r=48000:d=10";
        ffmpeg(&["-f", "lavfi", "-i", tone, "-c:a", codec, file.to_str().unwrap()]);
    }
    assert!(needs_conversion(&m4a).unwrap().is_empty());
    let named: Vec<String> =
        needs_conversion(&wav).unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(named, ["audio 1 pcm_s16le"]);
    let converted = dir.path().join("converted.ts");
    let mut heard = Vec::new();
    let done = convert(&wav, &converted, 4.0, &ConvertSettings::default(), &mut |p| heard.push(p))
        .unwrap();
    assert!((done.done.as_secs_f64() - 10.0).abs() < 0.1, "{done:?}");
    assert!(heard.len() >= 2, "progress is told from the audio: {heard:?}");

    for (source, folder) in [(&m4a, "from-m4a"), (&converted, "from-wav")] {
        let chunks = split_file(source, &dir.path().join(folder), 4.0).unwrap();
        let lengths: Vec<u64> = chunks.iter().map(|c| c.duration_ms).collect();
        // 4 s, 4 s and what is left, to an AAC frame (1024 samples, 21.3 ms); the encoder's
        // priming and padding make a converted recording up to a frame longer.
        assert_eq!(lengths.len(), 3, "{folder}: {lengths:?}");
        for (length, wanted) in lengths.iter().zip([4_000, 4_000, 2_000]) {
            assert!(length.abs_diff(wanted) <= 43, "{folder}: {lengths:?}");
        }
        let mut ingest = ChunkIngest::new("radio");
        let mut expected_start = 0;
        for split in &chunks {
            let chunk = ingest.add(&split.path).unwrap();
            assert!(chunk.start_ms.abs_diff(expected_start) <= 1, "{folder}: {chunk:?}");
            // MPEG-TS times a last AAC frame whole, where M4A trims it to the sample.
            assert!(chunk.duration_ms.abs_diff(split.duration_ms) <= 22, "{folder}: {chunk:?}");
            expected_start = chunk.end_ms();
        }
        let media = ingest.media().unwrap();
        assert_eq!((media.video, media.audio_tracks.as_slice()), (None, &[1][..]), "{folder}");
        let streams = Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", "stream=codec_type,codec_name"])
            .args(["-of", "csv=p=0"])
            .arg(&chunks[1].path)
            .output()
            .unwrap();
        let streams = String::from_utf8(streams.stdout).unwrap();
        // MPEG-TS lists its stream again under its program, after an empty line.
        let listed: Vec<&str> = streams.lines().filter(|line| !line.is_empty()).collect();
        assert!(!listed.is_empty() && listed.iter().all(|l| *l == "aac,audio"), "{streams}");
    }
}
