//! Cutting clips from chunks: reeltime's in-process cuts against the FFmpeg command line.
//!
//! The media: `--minutes` (default 10, plus one) of 1080p25 H.264 + AAC in 2-second HLS chunks,
//! made once by the `ffmpeg` CLI from 20 s of `testsrc2` + `sine` (x264 `veryfast`, CRF 23,
//! a keyframe every 2 s) looped by stream copy, with chunk records as the ingest makes them
//! (`pts_start` included). Three measurements, each on the same ranges
//! for both sides, with a fresh output file every run (so reeltime never reuses a render):
//!
//! - **stream copy** of a 1-minute and a `--minutes` range: `render_clip` with
//!   [`CutMode::Copy`] against `ffmpeg -ss S -to E -i chunks.m3u8 -c copy` (the CLI reads the
//!   chunk playlist, seeking to the in-point as fast as it can);
//! - **re-encode** of a `--encode-seconds` range (default 20): `render_clip` with
//!   [`CutMode::Reencode`] (libx264 `veryfast`, CRF 23, AAC 128 kb/s) against the CLI with
//!   the same settings, `-c:v libx264 -preset veryfast -crf 23 -c:a aac -b:a 128k`;
//! - **peak memory** (resident set, `VmHWM`, reset before each cut through
//!   `/proc/self/clear_refs`) of the stream copies: it must not grow with the range. The CLI's
//!   peak comes from `/usr/bin/time` (Debian package `time`); without it, it is not shown.
//!
//! Both sides write an MP4 with its index first (`-movflags +faststart`). The ratios are CLI
//! time / reeltime time in the same process run (above 1: reeltime faster), for wall time and
//! for CPU time (user + system; steadier on a shared machine).
//!
//! ```text
//! cargo bench -p reeltime-connectors --bench cutting [-- --minutes 10 --encode-seconds 20 --runs 1 --media DIR]
//! ```
//!
//! `--media DIR` keeps the generated chunks in `DIR` and reuses them on the next run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reeltime_connectors::ingest::chunks::ChunkIngest;
use reeltime_connectors::ingest::hls_reader::read_playlist;
use reeltime_connectors::render::{
    render_clip, ClipOptions, CutMode, EncodeSettings, EventRange, RenderedClip,
};
use reeltime_schemas::record::Chunk;

const TIME: &str = "/usr/bin/time";

/// The command line's side of the re-encode, the settings of reeltime's side.
const ENCODE_ARGS: &str = "-c:v libx264 -preset veryfast -crf 23 -g 50 -keyint_min 50 \
                           -sc_threshold 0 -c:a aac -b:a 128k";

struct Options {
    minutes: u64,
    encode_seconds: u64,
    runs: usize,
    media: Option<PathBuf>,
}

impl Options {
    /// Reads `--minutes M`, `--encode-seconds S`, `--runs R`, `--media DIR`; cargo's `--bench`
    /// is ignored.
    fn from_args() -> Options {
        let mut options = Options { minutes: 10, encode_seconds: 20, runs: 1, media: None };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            match arg.as_str() {
                "--minutes" => options.minutes = value().parse().expect("--minutes N"),
                "--encode-seconds" => {
                    options.encode_seconds = value().parse().expect("--encode-seconds N")
                }
                "--runs" => options.runs = value().parse().expect("--runs N"),
                "--media" => options.media = Some(PathBuf::from(value())),
                "--bench" => {}
                other => panic!("unknown option {other:?}"),
            }
        }
        assert!(options.minutes >= 1 && options.runs >= 1, "--minutes and --runs start at 1");
        options
    }
}

fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes (or finds) the chunks in `dir` and returns their records.
fn media(dir: &Path, minutes: u64) -> Vec<Chunk> {
    let playlist = dir.join("chunks.m3u8");
    if !playlist.exists() {
        fs::create_dir_all(dir).unwrap();
        eprintln!("making {} minutes of 1080p chunks in {}", minutes + 1, dir.display());
        // Every argument is one word: the command lines read best as lines.
        let piece = "-v error -y -f lavfi -i testsrc2=size=1920x1080:rate=25 \
                     -f lavfi -i sine=frequency=440:sample_rate=48000 -t 20 \
                     -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p \
                     -g 50 -keyint_min 50 -sc_threshold 0 -c:a aac -b:a 128k -ac 2 piece.ts";
        run(Command::new("ffmpeg").current_dir(dir).args(piece.split_whitespace()));
        let loops = ((minutes + 1) * 3).to_string();
        let chunks = "-c copy -f hls -hls_time 2 -hls_list_size 0 \
                      -hls_segment_filename c%05d.ts chunks.m3u8";
        run(Command::new("ffmpeg")
            .current_dir(dir)
            .args(["-v", "error", "-y", "-stream_loop", &loops, "-i", "piece.ts"])
            .args(chunks.split_whitespace()));
    }
    // The chunk records the ingest publishes: event time from the first frame, and each
    // chunk's own start time (`pts_start`), which lets a stream copy open the chunks after the
    // first without probing them. The chunks continue one clock, so `pts_start` is the first
    // chunk's (probed once, by the ingest) plus the event time: probing every chunk here
    // would leave this process's memory, measured below, larger than cutting needs.
    let segments = read_playlist(&playlist).unwrap().segments;
    let first = ChunkIngest::new("bench").add(&segments[0].path).expect("the first chunk reads");
    let mut start_ms = 0;
    segments
        .into_iter()
        .enumerate()
        .map(|(seq_no, segment)| {
            let duration_ms = (segment.duration_seconds * 1000.0).round() as u64;
            let chunk = Chunk {
                event_id: "bench".into(),
                seq_no: seq_no as u64,
                uri: segment.path.to_string_lossy().into_owned(),
                start_ms,
                duration_ms,
                pts_start_ms: Some(first.pts_start_ms + start_ms),
                error: None,
                extra: Default::default(),
            };
            start_ms += duration_ms;
            chunk
        })
        .collect()
}

/// Resets the peak resident set of this process to its current size.
fn reset_peak_memory() {
    // Writing 5 to clear_refs resets VmHWM (Linux 4.0+).
    let _ = fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident set of this process since the last reset, in MiB.
fn peak_memory_mib() -> f64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

struct Measured {
    wall: Duration,
    /// User + system CPU time: on a shared machine, steadier than wall time.
    cpu: Duration,
    peak_mib: f64,
    bytes: u64,
}

/// User + system CPU time of this process so far, from `/proc/self/stat` (clock ticks of
/// 1/100 s on Linux).
fn cpu_time() -> Duration {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name (in parentheses) come state, ppid, ...: utime and stime are the
    // 12th and 13th of those (fields 14 and 15 of proc(5)).
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn ours(
    out: &Path,
    chunks: &[Chunk],
    range: EventRange,
    mode: &CutMode,
) -> (Measured, RenderedClip) {
    let _ = fs::remove_dir_all(out);
    let options = ClipOptions { mode: mode.clone(), ..ClipOptions::default() };
    reset_peak_memory();
    let (started, cpu_before) = (Instant::now(), cpu_time());
    let clip = render_clip(out, "bench", 1, chunks, range, &options).expect("reeltime cuts");
    let (wall, cpu) = (started.elapsed(), cpu_time() - cpu_before);
    let bytes = fs::metadata(clip.mp4.as_ref().unwrap()).unwrap().len();
    (Measured { wall, cpu, peak_mib: peak_memory_mib(), bytes }, clip)
}

fn cli(media: &Path, out: &Path, range: EventRange, codec_args: &[&str]) -> Measured {
    let _ = fs::remove_file(out);
    let with_time = Path::new(TIME).exists();
    let mut command = if with_time {
        let mut c = Command::new(TIME);
        c.args(["-f", "%M %U %S", "ffmpeg"]);
        c
    } else {
        Command::new("ffmpeg")
    };
    let seconds = |ms: u64| format!("{}.{:03}", ms / 1000, ms % 1000);
    command
        .args(["-nostdin", "-v", "error", "-y", "-ss", &seconds(range.start_ms)])
        .args(["-to", &seconds(range.end_ms), "-i"])
        .arg(media.join("chunks.m3u8"))
        .args(codec_args)
        .args(["-movflags", "+faststart"])
        .arg(out);
    let started = Instant::now();
    let output = command.output().expect("ffmpeg runs");
    let wall = started.elapsed();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (peak_mib, cpu) = if with_time {
        // `/usr/bin/time -f "%M %U %S"`: peak KiB, user and system seconds, on the last line.
        let text = String::from_utf8_lossy(&output.stderr);
        let fields: Vec<f64> = text
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let seconds = fields.get(1).unwrap_or(&0.0) + fields.get(2).unwrap_or(&0.0);
        (fields.first().map_or(f64::NAN, |kb| kb / 1024.0), Duration::from_secs_f64(seconds))
    } else {
        (f64::NAN, Duration::ZERO)
    };
    Measured { wall, cpu, peak_mib, bytes: fs::metadata(out).unwrap().len() }
}

fn report(label: &str, range: EventRange, ours: &Measured, clip: &RenderedClip, cli: &Measured) {
    let media_s = clip.actual.duration_ms() as f64 / 1000.0;
    println!(
        "{label:<20} wall {:>7.2} s cpu {:>7.2} s {:>5.0}x real time {:>6.1} MiB {:>6.1} MB \
         | CLI wall {:>7.2} s cpu {:>7.2} s {:>6.1} MiB {:>6.1} MB | CLI/ours wall {:>5.2} cpu {:>5.2}",
        ours.wall.as_secs_f64(),
        ours.cpu.as_secs_f64(),
        media_s / ours.wall.as_secs_f64(),
        ours.peak_mib,
        ours.bytes as f64 / 1e6,
        cli.wall.as_secs_f64(),
        cli.cpu.as_secs_f64(),
        cli.peak_mib,
        cli.bytes as f64 / 1e6,
        cli.wall.as_secs_f64() / ours.wall.as_secs_f64(),
        cli.cpu.as_secs_f64() / ours.cpu.as_secs_f64().max(0.01),
    );
    println!(
        "{:<28} requested {range}, cut [{} ms, {} ms)",
        "", clip.actual.start_ms, clip.actual.end_ms
    );
}

fn main() {
    let options = Options::from_args();
    let scratch = tempfile::tempdir().unwrap();
    let media_dir = options.media.clone().unwrap_or_else(|| scratch.path().join("media"));
    let chunks = media(&media_dir, options.minutes);
    let out = scratch.path().join("out");
    println!(
        "{} chunks, {:.1} minutes of 1080p25; {} run(s)",
        chunks.len(),
        chunks.iter().map(|c| c.duration_ms).sum::<u64>() as f64 / 60_000.0,
        options.runs
    );
    let copy_ranges = [
        ("copy 1 min", EventRange::new(60_500, 120_500)),
        ("copy long", EventRange::new(30_500, 30_500 + options.minutes * 60_000)),
    ];
    let encode = CutMode::Reencode(EncodeSettings {
        preset: "veryfast".into(),
        crf: 23,
        audio_bitrate: 128_000,
        keyframe_interval_ms: 2_000,
        threads: 0,
    });
    let encode_range = EventRange::new(100_000, 100_000 + options.encode_seconds * 1000);
    for run_index in 0..options.runs {
        println!("run {}", run_index + 1);
        let mut peaks = Vec::new();
        for (label, range) in copy_ranges {
            let (measured, clip) = ours(&out, &chunks, range, &CutMode::Copy);
            let baseline = cli(&media_dir, &scratch.path().join("cli.mp4"), range, &["-c", "copy"]);
            report(label, range, &measured, &clip, &baseline);
            peaks.push(measured.peak_mib);
        }
        println!(
            "peak memory, long range / 1-minute range: {:.2} (flat memory: about 1)",
            peaks[1] / peaks[0]
        );
        let (measured, clip) = ours(&out, &chunks, encode_range, &encode);
        let baseline = cli(
            &media_dir,
            &scratch.path().join("cli.mp4"),
            encode_range,
            &ENCODE_ARGS.split_whitespace().collect::<Vec<_>>(),
        );
        report("re-encode veryfast", encode_range, &measured, &clip, &baseline);
    }
}
