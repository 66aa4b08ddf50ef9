//! Media in: converting ingest against the FFmpeg command line, and the speed of the video-only
//! analysis.
//!
//! **Converting ingest.** A 1080p25 ProRes 422 + stereo PCM MOV of `--seconds` (60) is made
//! with FFmpeg's `testsrc2` and `sine` first. Then, `--runs` times each and in turn:
//! - the baseline: `ffmpeg -i SOURCE -c:v libx264 -preset veryfast -crf 20 -force_key_frames
//!   expr:gte(t,n_forced*4) -c:a aac -b:a 192k -f segment -segment_time 4 chunk%05d.ts`, what
//!   an engineer would type to get 4 s H.264/AAC chunks;
//! - reeltime: `convert` (libx264 `veryfast`, CRF 20, AAC, a keyframe at every 4 s) into one
//!   MPEG-TS file, then `split_file` into 4 s chunks by stream copy: what `reeltime highlights`
//!   does with such a file before analysing it.
//!
//! Goal: reeltime within 1.05x of the command line's time.
//!
//! **Video-only analysis.** The built-in plugins (`EventAnalyzer`) over the chunks of a
//! 1080p25 H.264 source without sound (`--seconds` long: a grainy still picture with a moving
//! pattern over it from 12 to 16 s of every 20, so a burst of motion every 20 s), timed from
//! the first chunk to the last: media seconds per wall-clock second (the real-time factor), at
//! the default 5 analysed frames per second.
//!
//! ```text
//! cargo bench -p reeltime --bench media_ingest [-- --seconds 60 --runs 3]
//! ```

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reeltime_connectors::ingest::convert::{convert, ConvertSettings};
use reeltime_connectors::ingest::split::split_file;
use reeltime_connectors::ingest::ChunkIngest;
use reeltime_plugins::{AnalysisConfig, EventAnalyzer, PluginRecord, MOTION_ENERGY};

/// The goal: reeltime's converting ingest at most this many times the command line's time.
const GOAL_RATIO: f64 = 1.05;
const CHUNK_SECONDS: f64 = 4.0;

struct Options {
    seconds: u32,
    runs: usize,
}

impl Options {
    fn from_args() -> Options {
        let mut options = Options { seconds: 60, runs: 3 };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            match arg.as_str() {
                "--bench" => {}
                "--seconds" => options.seconds = value().parse().expect("--seconds N"),
                "--runs" => options.runs = value().parse().expect("--runs N"),
                other => panic!("unknown argument {other:?}; use --seconds N, --runs R"),
            }
        }
        assert!(options.seconds > 0 && options.runs > 0, "--seconds and --runs must be >= 1");
        options
    }
}

fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .expect("the ffmpeg command line runs");
    assert!(output.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&output.stderr));
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let options = Options::from_args();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("machine: {cores} cores; FFmpeg's libraries from Debian, the ffmpeg command line beside them");
    converting_ingest(&options, dir.path());
    video_only_analysis(&options, dir.path());
}

fn converting_ingest(options: &Options, dir: &Path) {
    let source = dir.join("mezzanine.mov");
    let seconds = options.seconds.to_string();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc2=s=1920x1080:r=25:d={seconds}"),
        "-f",
        "lavfi",
        "-i",
        &format!("sine=f=440:r=48000:d={seconds}"),
        "-ac",
        "2",
        "-c:v",
        "prores",
        "-profile:v",
        "2",
        "-c:a",
        "pcm_s16le",
        source.to_str().expect("a UTF-8 path"),
    ]);
    println!("converting ingest: {seconds} s of 1080p25 ProRes 422 + stereo PCM, 4 s chunks");
    let (mut cli, mut ours) = (Vec::new(), Vec::new());
    for run in 0..options.runs {
        let out = dir.join(format!("cli-{run}"));
        std::fs::create_dir_all(&out).expect("the output folder");
        let started = Instant::now();
        ffmpeg(&[
            "-i",
            source.to_str().expect("a UTF-8 path"),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "20",
            "-force_key_frames",
            "expr:gte(t,n_forced*4)",
            "-c:a",
            "aac",
            "-b:a",
            "192k",
            "-f",
            "segment",
            "-segment_time",
            "4",
            out.join("chunk%05d.ts").to_str().expect("a UTF-8 path"),
        ]);
        cli.push(started.elapsed());

        let out = dir.join(format!("ours-{run}"));
        let started = Instant::now();
        let converted = dir.join(format!("converted-{run}.ts"));
        convert(&source, &converted, CHUNK_SECONDS, &ConvertSettings::default(), &mut |_| {})
            .expect("reeltime converts the source");
        let chunks = split_file(&converted, &out, CHUNK_SECONDS).expect("reeltime splits it");
        std::fs::remove_file(&converted).expect("the converted file is removed");
        ours.push(started.elapsed());
        println!(
            "  run {}: command line {:.2} s; reeltime {:.2} s ({} chunks)",
            run + 1,
            cli[run].as_secs_f64(),
            ours[run].as_secs_f64(),
            chunks.len()
        );
    }
    let (cli, ours) = (median(cli), median(ours));
    let ratio = ours.as_secs_f64() / cli.as_secs_f64();
    println!(
        "converting ingest: median command line {:.2} s ({:.2}x real time), reeltime {:.2} s ({:.2}x real time): {ratio:.3}x the command line's time (goal <= {GOAL_RATIO}x: {})",
        cli.as_secs_f64(),
        f64::from(options.seconds) / cli.as_secs_f64(),
        ours.as_secs_f64(),
        f64::from(options.seconds) / ours.as_secs_f64(),
        if ratio <= GOAL_RATIO { "met" } else { "not met" }
    );
}

fn video_only_analysis(options: &Options, dir: &Path) {
    let source = dir.join("silent.mp4");
    let seconds = options.seconds.to_string();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("color=c=gray:s=1920x1080:r=25:d={seconds}"),
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc2=s=1920x1080:r=25:d={seconds}"),
        "-filter_complex",
        "[0][1]overlay=enable='between(mod(t,20),12,16)',noise=alls=4:allf=t",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-g",
        "50",
        source.to_str().expect("a UTF-8 path"),
    ]);
    let chunks = split_file(&source, &dir.join("silent-chunks"), CHUNK_SECONDS)
        .expect("the silent source splits");
    println!(
        "video-only analysis: {seconds} s of 1080p25 H.264 without sound, {} chunks",
        chunks.len()
    );
    let mut rates = Vec::new();
    for run in 0..options.runs {
        let mut ingest = ChunkIngest::new("silent");
        let mut analyzer = EventAnalyzer::new(AnalysisConfig::default(), &[]);
        let mut bursts = 0;
        let started = Instant::now();
        for split in &chunks {
            let chunk = ingest.add(&split.path).expect("a chunk");
            let records = analyzer.analyze_chunk(&chunk).expect("an analysed chunk");
            bursts += records.iter().filter(|r| is_burst(r)).count();
        }
        let last = analyzer.finish().expect("the analysis finishes");
        bursts += last.iter().filter(|r| is_burst(r)).count();
        let elapsed = started.elapsed();
        let factor = f64::from(options.seconds) / elapsed.as_secs_f64();
        println!(
            "  run {}: {:.2} s, {factor:.1}x real time, {bursts} bursts of motion",
            run + 1,
            elapsed.as_secs_f64()
        );
        rates.push(factor);
    }
    rates.sort_by(f64::total_cmp);
    println!("video-only analysis: median {:.1}x real time", rates[rates.len() / 2]);
}

/// Whether a record is a burst of motion.
fn is_burst(record: &PluginRecord) -> bool {
    matches!(record, PluginRecord::Detection(d) if d.plugin == MOTION_ENERGY)
}
