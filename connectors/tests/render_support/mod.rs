//! Test media and independent readers for the rendering tests.
//!
//! Media is made, not downloaded: FFmpeg's `testsrc2` picture and a `sine` tone, encoded by
//! x264 with a fixed GOP and `-flags +bitexact`, cut into HLS chunks by FFmpeg's HLS muxer.
//! The readers are the `ffprobe`/`ffmpeg` command-line tools and the npm package
//! `hls-parser` (installed by `scripts/test` under `REELTIME_NPM`, default
//! `/var/cache/reeltime/npm`; without it the playlist checks say they were skipped, unless
//! `REELTIME_REQUIRE_READERS=1` makes that a failure).

#![allow(dead_code)] // each test file uses its own share of these helpers

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use reeltime_connectors::ingest::hls_reader::read_playlist;
use reeltime_schemas::record::Chunk;

/// Frames per second of the test media.
pub const FPS: u64 = 25;
/// Milliseconds per frame.
pub const FRAME_MS: u64 = 1000 / FPS;

/// Runs a command; panics with its output when it fails.
pub fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Makes `seconds` of test media as 2-second HLS chunks (`c000.ts`, ...) in `dir`, keyframes
/// every `gop` frames, and returns their chunk records (event time from the first frame).
pub fn make_chunks(dir: &Path, seconds: u32, size: &str, gop: u32) -> Vec<Chunk> {
    make_chunks_with(dir, seconds, size, gop, &[])
}

/// As [`make_chunks`], with more options for FFmpeg's HLS muxer (such as
/// `-hls_flags split_by_time`, which cuts chunks between keyframes).
pub fn make_chunks_with(
    dir: &Path,
    seconds: u32,
    size: &str,
    gop: u32,
    hls_options: &[&str],
) -> Vec<Chunk> {
    fs::create_dir_all(dir).unwrap();
    let gop = gop.to_string();
    let picture = format!("testsrc2=size={size}:rate={FPS}");
    let mut command = Command::new("ffmpeg");
    command
        .current_dir(dir)
        .args(["-v", "error", "-y"])
        .args(["-f", "lavfi", "-i", &picture])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", &gop, "-keyint_min", &gop])
        .args(["-sc_threshold", "0", "-threads", "1", "-flags", "+bitexact"])
        .args(["-c:a", "aac", "-b:a", "96k", "-ac", "2"])
        .args(["-f", "hls", "-hls_time", "2", "-hls_list_size", "0"])
        .args(hls_options)
        .args(["-hls_segment_filename", "c%03d.ts", "chunks.m3u8"]);
    run(&mut command);
    // Event time counts the playlist's durations from its first segment.
    let mut start_ms = 0;
    read_playlist(&dir.join("chunks.m3u8"))
        .unwrap()
        .segments
        .into_iter()
        .enumerate()
        .map(|(seq_no, segment)| {
            let duration_ms = (segment.duration_seconds * 1000.0).round() as u64;
            let chunk = Chunk {
                event_id: "match".into(),
                seq_no: seq_no as u64,
                uri: segment.path.to_string_lossy().into_owned(),
                start_ms,
                duration_ms,
                pts_start_ms: None,
                error: None,
                extra: Default::default(),
            };
            start_ms += duration_ms;
            chunk
        })
        .collect()
}

/// The chunk records an ingest makes from the media itself: each chunk's first frame (its
/// lowest video PTS) is its `pts_start`, and its event time counts from the first chunk's.
pub fn anchored_on_frames(chunks: &[Chunk]) -> Vec<Chunk> {
    let spans: Vec<(i64, i64)> = chunks
        .iter()
        .map(|c| {
            let video = packets(Path::new(&c.uri), "v");
            let first = video.iter().map(|p| p.pts_ms).min().unwrap();
            (first, first + video.len() as i64 * FRAME_MS as i64)
        })
        .collect();
    let origin = spans[0].0;
    chunks
        .iter()
        .zip(&spans)
        .map(|(chunk, (first, end))| Chunk {
            start_ms: (first - origin) as u64,
            duration_ms: (end - first) as u64,
            pts_start_ms: Some(*first as u64),
            error: None,
            ..chunk.clone()
        })
        .collect()
}

/// One packet as ffprobe reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbedPacket {
    pub pts_ms: i64,
    pub dts_ms: i64,
    pub duration_ms: i64,
    pub key: bool,
}

fn ms(field: &str) -> i64 {
    field.parse::<f64>().map_or(0, |s| (s * 1000.0).round() as i64)
}

/// The packets of stream `v` or `a` of a file, in file order.
pub fn packets(path: &Path, stream: &str) -> Vec<ProbedPacket> {
    let text = run(Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", stream])
        .args(["-show_entries", "packet=pts_time,dts_time,duration_time,flags"])
        .args(["-of", "csv=p=0"])
        .arg(path));
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            ProbedPacket {
                pts_ms: ms(fields[0]),
                dts_ms: ms(fields[1]),
                duration_ms: ms(fields[2]),
                key: fields[3].starts_with('K'),
            }
        })
        .collect()
}

/// Width and height of the video of a file.
pub fn video_size(path: &Path) -> (u32, u32) {
    let text = run(Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v"])
        .args(["-show_entries", "stream=width,height", "-of", "csv=p=0"])
        .arg(path));
    let fields: Vec<u32> = text.trim().split(',').map(|f| f.parse().unwrap()).collect();
    (fields[0], fields[1])
}

/// The shown length of the video of a file in milliseconds: its frames times their duration,
/// from the first shown frame.
pub fn video_duration_ms(path: &Path) -> i64 {
    let video = packets(path, "v");
    let first = video.iter().map(|p| p.pts_ms).min().unwrap();
    let end = video.iter().map(|p| p.pts_ms + FRAME_MS as i64).max().unwrap();
    end - first
}

/// What FFmpeg prints at `-v error` when it reads the whole file: with `copy`, demuxing
/// only; without, a full decode of every stream.
pub fn decode_errors(path: &Path, copy: bool) -> String {
    let mut command = Command::new("ffmpeg");
    command.args(["-nostdin", "-v", "error", "-i"]).arg(path);
    if copy {
        command.args(["-c", "copy"]);
    }
    let output = command.args(["-f", "null", "-"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Parses playlists with hls-parser in strict mode; returns one JSON summary per playlist, or
/// `None` when hls-parser is not installed (and not required).
pub fn hls_parser(playlists: &[PathBuf]) -> Option<Vec<serde_json::Value>> {
    let npm = std::env::var_os("REELTIME_NPM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/reeltime/npm"));
    let modules = npm.join("node_modules");
    if !modules.join("hls-parser").is_dir() {
        let message = format!(
            "hls-parser is not installed under {} (REELTIME_NPM): scripts/test installs it",
            npm.display()
        );
        assert!(
            std::env::var_os("REELTIME_REQUIRE_READERS").is_none_or(|v| v != "1"),
            "{message}, and REELTIME_REQUIRE_READERS=1 requires it"
        );
        eprintln!("SKIPPED: strict HLS parsing: {message}");
        return None;
    }
    // From this crate's tests or from the engine's, which include this module too.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../connectors/tests/hls_check.js");
    let output = Command::new("node")
        .env("NODE_PATH", &modules)
        .arg(script)
        .args(playlists)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "hls-parser rejected a playlist: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect(),
    )
}

/// The media of one test file, made once per test process.
pub struct Media {
    pub dir: tempfile::TempDir,
    pub chunks: Vec<Chunk>,
}

impl Media {
    /// 12 s of 640x360 video with a keyframe every second, in six 2-second chunks.
    pub fn small() -> Media {
        let dir = tempfile::tempdir().unwrap();
        let chunks = make_chunks(&dir.path().join("chunks"), 12, "640x360", FPS as u32);
        Media { dir, chunks }
    }

    /// A fresh empty folder under the media's.
    pub fn out(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::create_dir_all(&path).unwrap();
        path
    }
}
