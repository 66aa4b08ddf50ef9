//! `reeltime process` end to end on a 1,000,000-record log of 50 concurrent matches, against a
//! parse-only baseline and a decode-only one.
//!
//! The baseline reads the same file line by line and parses each line into a
//! `serde_json::Value`, and does nothing else: the least that any consumer of JSON Lines does.
//! `process` (the release binary, run as a subprocess so that its peak memory can be measured)
//! also validates and normalises every record, runs the dataflow in epochs (the default
//! `--epoch-records`), applies each epoch to the read model, writes the notifications and dead
//! letters, and writes every view at the end. It runs with `--workers 1` and `--workers 2`.
//! The goal is a `process` rate of at least half the parse-only rate (not done below a tenth
//! of it), and a peak RSS of at most 0.5 KiB per record (not done above 1 KiB).
//!
//! A second baseline, decode-only, reads the file the same way and decodes each line with
//! `reeltime_schemas::decode` (strict JSON, typed fields, rules, normalisation: the first thing
//! `process` does with a line), and does nothing with the records. Beside parse-only it shows
//! what decoding costs; beside `process`, how much of the gap to parse-only is decoding.
//!
//! The log: 50 synthetic 3-hour matches (`operators/benches/common/synthetic_match.rs`), which
//! start within 30 minutes of each other and are interleaved by publication time. Each has a
//! profile, an event, 4 catch-up replays, 10-second chunks, 300 segments (open, complete,
//! optimized, labelled), 10 reviewer verdicts and detections up to the record budget; one line
//! in 2,000 is invalid (broken JSON, unknown type, negative time, `end < start`, bad weight).
//!
//! ```text
//! cargo bench -p reeltime --bench process_throughput [-- --records 1000000 --matches 50 --runs 1 --seed 1]
//! cargo bench -p reeltime --bench process_throughput -- --write-log /tmp/matches.jsonl   # the log alone, to profile
//! ```
//!
//! Peak memory comes from `/usr/bin/time` (Debian package `time`); without it, it is not shown.

#[path = "../../operators/benches/common/synthetic_match.rs"]
mod synthetic_match;

use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;

use synthetic_match::{synthetic_match, MatchShape};

/// The goal: `process` at least this fraction of the parse-only rate.
const GOAL_FRACTION: f64 = 0.5;
/// Below this fraction of the parse-only rate, `process` is not done.
const DONE_FRACTION: f64 = 0.1;
/// The goal for peak RSS per record of the log, in KiB.
const GOAL_KIB_PER_RECORD: f64 = 0.5;
/// Above this peak RSS per record, in KiB, `process` is not done.
const DONE_KIB_PER_RECORD: f64 = 1.0;
const TIME: &str = "/usr/bin/time";
const REPLAYS_PER_MATCH: usize = 4;
/// One line in this many is invalid.
const INVALID_EVERY: u64 = 2_000;

struct Options {
    records: u64,
    matches: usize,
    runs: usize,
    seed: u64,
    /// Only write the log here (to profile `reeltime process` on it) and stop.
    write_log: Option<std::path::PathBuf>,
}

impl Options {
    /// Reads `--records N`, `--matches M`, `--runs R`, `--seed S`, `--write-log PATH`; cargo's
    /// `--bench` is ignored.
    fn from_args() -> Options {
        let mut options =
            Options { records: 1_000_000, matches: 50, runs: 1, seed: 1, write_log: None };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            match arg.as_str() {
                "--bench" => {}
                "--records" => options.records = value().parse().expect("--records is an integer"),
                "--matches" => options.matches = value().parse().expect("--matches is an integer"),
                "--runs" => options.runs = value().parse().expect("--runs is an integer"),
                "--seed" => options.seed = value().parse().expect("--seed is an integer"),
                "--write-log" => options.write_log = Some(value().into()),
                other => panic!(
                    "unknown argument {other:?}; use --records N, --matches M, --runs R, --seed S, \
                     --write-log PATH"
                ),
            }
        }
        assert!(options.matches > 0 && options.runs > 0, "--matches and --runs must be >= 1");
        options
    }
}

/// What the generated log holds.
struct LogStats {
    lines: u64,
    invalid: u64,
    bytes: u64,
    detections: u64,
}

/// One decode-only run: its time, and the lines it accepted and rejected.
struct DecodeRun {
    wall: Duration,
    accepted: u64,
    rejected: u64,
}

/// One `reeltime process` run.
struct ProcessRun {
    workers: usize,
    wall: Duration,
    /// User and system CPU time and peak RSS in KiB, from `/usr/bin/time`.
    usage: Option<(f64, f64, u64)>,
    summary: String,
}

fn main() {
    let options = Options::from_args();
    if let Some(path) = &options.write_log {
        let stats = write_log(path, &options);
        println!("wrote {} lines to {}", stats.lines, path.display());
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("matches.jsonl");

    let started = Instant::now();
    let stats = write_log(&log, &options);
    println!(
        "log: {} lines ({} invalid, {} detections), {} matches, {:.0} MiB, written in {:.1} s",
        stats.lines,
        stats.invalid,
        stats.detections,
        options.matches,
        stats.bytes as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64()
    );

    let parse = (0..options.runs).map(|_| parse_only(&log, &stats)).min().expect("runs >= 1");
    let decode = (0..options.runs)
        .map(|_| decode_only(&log, &stats))
        .min_by_key(|run| run.wall)
        .expect("runs >= 1");
    assert_eq!(decode.rejected, stats.invalid, "decode rejects exactly the invalid lines");
    let mut runs = Vec::new();
    for workers in [1, 2] {
        let best = (0..options.runs)
            .map(|run| process(&log, &dir.path().join(format!("out-{workers}-{run}")), workers))
            .min_by_key(|run| run.wall)
            .expect("runs >= 1");
        let rejected = best
            .summary
            .split("rejected ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|count| count.parse::<u64>().ok());
        assert_eq!(rejected, Some(stats.invalid), "process rejects exactly the invalid lines");
        runs.push(best);
    }
    report(&stats, parse, &decode, &runs, options.runs);
}

/// Writes the interleaved matches and the invalid lines, `options.records` lines in all.
fn write_log(path: &Path, options: &Options) -> LogStats {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(options.seed);
    let invalid = options.records / INVALID_EVERY;
    let shape = |index: usize, detections: usize| MatchShape {
        event_id: format!("match-{index:02}"),
        seed: options.seed * 1_000 + index as u64,
        length_ms: 3 * 3_600_000,
        segments: 300,
        detections,
        replays: REPLAYS_PER_MATCH,
        feedback: 10,
        chunk_ms: Some(10_000),
    };
    // Every record but the detections is the same in number for each match.
    let fixed = synthetic_match(&shape(0, 0)).len() as u64;
    let per_match = (options.records - invalid) / options.matches as u64;
    let detections = per_match.checked_sub(fixed).expect("enough records for the matches");
    let extra = (options.records - invalid) % options.matches as u64;

    let mut lines: Vec<(u64, String)> = Vec::new();
    for index in 0..options.matches {
        let offset_ms = rng.random_range(0..30 * 60_000);
        let count = detections + u64::from((index as u64) < extra);
        for line in synthetic_match(&shape(index, count as usize)) {
            lines.push((line.published_ms + offset_ms, line.json));
        }
    }
    lines.sort_by_key(|(published_ms, _)| *published_ms);

    // Invalid lines go before randomly chosen valid ones; a broken line is half of its neighbour.
    let mut invalid_before: Vec<usize> =
        (0..invalid).map(|_| rng.random_range(0..lines.len())).collect();
    invalid_before.sort_unstable();
    let mut invalid_before = invalid_before.into_iter().enumerate().peekable();
    let mut file = BufWriter::new(File::create(path).expect("the log file can be created"));
    let mut written = Writer { file: &mut file, lines: 0, bytes: 0 };
    for (index, (_, valid)) in lines.iter().enumerate() {
        while let Some((kind, _)) = invalid_before.next_if(|(_, before)| *before == index) {
            written.line(&invalid_line(kind, valid));
        }
        written.line(valid);
    }
    let (lines, bytes) = (written.lines, written.bytes);
    file.flush().expect("the log is written");
    LogStats { lines, invalid, bytes, detections: (detections * options.matches as u64) + extra }
}

/// Counts what it writes to the log.
struct Writer<'a> {
    file: &'a mut BufWriter<File>,
    lines: u64,
    bytes: u64,
}

impl Writer<'_> {
    fn line(&mut self, text: &str) {
        self.file.write_all(text.as_bytes()).expect("the log is written");
        self.file.write_all(b"\n").expect("the log is written");
        self.lines += 1;
        self.bytes += text.len() as u64 + 1;
    }
}

/// An invalid line of one of five kinds; the first is a valid line cut in half.
fn invalid_line(kind: usize, valid: &str) -> String {
    match kind % 5 {
        0 => valid[..valid.len() / 2].to_owned(),
        1 => r#"{"type":"scoreboard_update","event_id":"match-00","start":12}"#.to_owned(),
        2 => r#"{"type":"detection","event_id":"match-01","plugin":"crowd-noise","start":-1.5,"attributes":{"Loud":true}}"#.to_owned(),
        3 => r#"{"type":"segment","event_id":"match-02","plugin":"rally-segmenter","start":40,"end":30}"#.to_owned(),
        _ => r#"{"type":"replay","replay_id":"bad","event_id":"match-03","duration":60,"priorities":[{"attribute":"Ace","weight":0}]}"#.to_owned(),
    }
}

/// Reads the log line by line and parses every line as JSON; returns the time it took.
fn parse_only(path: &Path, stats: &LogStats) -> Duration {
    let started = Instant::now();
    let mut reader = BufReader::new(File::open(path).expect("the log opens"));
    let mut line = Vec::new();
    let (mut parsed, mut failed) = (0u64, 0u64);
    while reader.read_until(b'\n', &mut line).expect("the log reads") > 0 {
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        match serde_json::from_slice::<serde_json::Value>(text) {
            Ok(value) => {
                black_box(value);
                parsed += 1;
            }
            Err(_) => failed += 1,
        }
        line.clear();
    }
    let elapsed = started.elapsed();
    assert_eq!(parsed + failed, stats.lines, "every line is read");
    elapsed
}

/// Reads the log line by line and decodes every line; returns the time it took and the counts.
fn decode_only(path: &Path, stats: &LogStats) -> DecodeRun {
    let started = Instant::now();
    let mut reader = BufReader::new(File::open(path).expect("the log opens"));
    let mut line = Vec::new();
    let (mut accepted, mut rejected) = (0u64, 0u64);
    while reader.read_until(b'\n', &mut line).expect("the log reads") > 0 {
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        match reeltime_schemas::decode(text, DEFAULT_MAX_RECORD_BYTES) {
            Ok(record) => {
                black_box(record);
                accepted += 1;
            }
            Err(error) => {
                black_box(error);
                rejected += 1;
            }
        }
        line.clear();
    }
    let wall = started.elapsed();
    assert_eq!(accepted + rejected, stats.lines, "every line is read");
    DecodeRun { wall, accepted, rejected }
}

/// Runs the release binary's `process` on the log.
fn process(log: &Path, out: &Path, workers: usize) -> ProcessRun {
    let binary = env!("CARGO_BIN_EXE_reeltime");
    let time_file = out.with_extension("time");
    let measured = Path::new(TIME).exists();
    let mut command = if measured {
        let mut command = Command::new(TIME);
        command.arg("-o").arg(&time_file).args(["-f", "%U %S %M", binary]);
        command
    } else {
        Command::new(binary)
    };
    command.arg("process").arg("--log").arg(log).arg("--out").arg(out);
    command.args(["--workers", &workers.to_string(), "--quiet"]);

    let started = Instant::now();
    let output = command.output().expect("reeltime runs");
    let wall = started.elapsed();
    assert!(
        output.status.success(),
        "reeltime process failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let usage = measured.then(|| {
        let text = std::fs::read_to_string(&time_file).expect("time wrote its file");
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [user, system, rss] = fields[..] else { panic!("unexpected output of time: {text}") };
        (
            user.parse().expect("user time"),
            system.parse().expect("system time"),
            rss.parse().expect("peak RSS"),
        )
    });
    let summary =
        String::from_utf8_lossy(&output.stdout).lines().take(2).collect::<Vec<_>>().join("; ");
    ProcessRun { workers, wall, usage, summary }
}

fn report(
    stats: &LogStats,
    parse: Duration,
    decode: &DecodeRun,
    runs: &[ProcessRun],
    repeats: usize,
) {
    let lines = stats.lines as f64;
    let parse_rate = lines / parse.as_secs_f64();
    let decode_rate = lines / decode.wall.as_secs_f64();
    println!();
    println!("best of {repeats} run(s) each");
    println!(
        "{:<34} {:>9} {:>9} {:>12} {:>13} {:>10}",
        "", "wall s", "cpu s", "records/s", "peak RSS MiB", "vs parse"
    );
    println!(
        "{:<34} {:>9.2} {:>9} {:>12.0} {:>13} {:>10}",
        "parse-only (serde_json::Value)",
        parse.as_secs_f64(),
        "-",
        parse_rate,
        "-",
        "1.00"
    );
    println!(
        "{:<34} {:>9.2} {:>9} {:>12.0} {:>13} {:>10.3}",
        "decode-only (schemas::decode)",
        decode.wall.as_secs_f64(),
        "-",
        decode_rate,
        "-",
        decode_rate / parse_rate
    );
    for run in runs {
        let rate = lines / run.wall.as_secs_f64();
        let (cpu, rss) = match run.usage {
            Some((user, system, rss)) => {
                (format!("{:.2}", user + system), format!("{:.0}", rss as f64 / 1024.0))
            }
            None => ("n/a".into(), "n/a".into()),
        };
        println!(
            "{:<34} {:>9.2} {:>9} {:>12.0} {:>13} {:>10.3}",
            format!("reeltime process, --workers {}", run.workers),
            run.wall.as_secs_f64(),
            cpu,
            rate,
            rss,
            rate / parse_rate
        );
    }
    println!();
    println!(
        "decode-only: {} accepted, {} rejected; decode time / parse-only time: {:.2}",
        decode.accepted,
        decode.rejected,
        parse_rate / decode_rate
    );
    for run in runs {
        let fraction = (lines / run.wall.as_secs_f64()) / parse_rate;
        println!(
            "process_rate / parse_rate, --workers {}: {:.3} (goal >= {GOAL_FRACTION}, not done \
             below {DONE_FRACTION}: {})",
            run.workers,
            fraction,
            verdict(fraction >= GOAL_FRACTION, fraction >= DONE_FRACTION, GOAL_FRACTION / fraction)
        );
        if let Some((_, _, rss)) = run.usage {
            let per_record = rss as f64 / lines;
            println!(
                "  peak RSS per record: {per_record:.2} KiB (goal <= {GOAL_KIB_PER_RECORD}, not \
                 done above {DONE_KIB_PER_RECORD}: {})",
                verdict(
                    per_record <= GOAL_KIB_PER_RECORD,
                    per_record <= DONE_KIB_PER_RECORD,
                    per_record / GOAL_KIB_PER_RECORD
                )
            );
        }
        println!("  reeltime: {}", run.summary);
    }
}

/// The verdict on a measure against its goal and its not-done line, `short` times off the goal
/// when it misses.
fn verdict(goal_met: bool, done: bool, short: f64) -> String {
    match (goal_met, done) {
        (true, _) => "met".to_owned(),
        (false, true) => format!("missed by {short:.1}x, but done"),
        (false, false) => format!("missed by {short:.1}x, not done"),
    }
}
