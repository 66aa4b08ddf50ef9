//! Decoding input records (`reeltime_schemas::decode`) against a parse-only baseline.
//!
//! It isolates the decoder: every line is in memory before any timing, and nothing happens to a
//! record once decoded (no I/O, no dataflow). Decoding checks strict JSON (SEMANTICS §8.2),
//! reads the typed fields of the record's `type`, applies the rules and normalises the record.
//! It is compared to parsing the same lines into `serde_json::Value` and nothing else, the least
//! that any consumer of JSON Lines does, in the same run. The figure of merit is the ratio of the
//! two times (decode / parse-only); the goal is at most 1.3.
//!
//! The lines are those of `engine/benches/process_throughput.rs`, at a smaller scale: synthetic
//! 3-hour matches (`operators/benches/common/synthetic_match.rs`) of a profile, an event, 4
//! catch-up replays, 10-second chunks, 300 segments (open, complete, optimized, labelled), 10
//! reviewer verdicts and detections up to 20,000 records a match (about 88% detections), in
//! publication order; one line in 2,000 is invalid. The ratio is also shown for the detections
//! alone and for the other records alone.
//!
//! Each side runs `--runs` times over each set of lines, alternating with the other, and the
//! fastest run of each counts (on a shared machine, the fastest run is the least disturbed).
//!
//! ```text
//! cargo bench -p reeltime-schemas --bench decode_speed [-- --matches 10 --runs 7 --seed 1]
//! ```

#[path = "../../operators/benches/common/synthetic_match.rs"]
mod synthetic_match;

use std::hint::black_box;
use std::time::{Duration, Instant};

use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;
use synthetic_match::{synthetic_match, MatchShape};

/// The goal: decoding takes at most this many times as long as parsing.
const GOAL_RATIO: f64 = 1.3;
/// Records of one match, as in `process_throughput` (1,000,000 records over 50 matches).
const RECORDS_PER_MATCH: usize = 20_000;
/// One line in this many is invalid.
const INVALID_EVERY: usize = 2_000;

struct Options {
    matches: usize,
    runs: usize,
    seed: u64,
}

impl Options {
    /// Reads `--matches M`, `--runs R` and `--seed S`; cargo's own `--bench` is ignored.
    fn from_args() -> Options {
        let mut options = Options { matches: 10, runs: 7, seed: 1 };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            match arg.as_str() {
                "--bench" => {}
                "--matches" => options.matches = value().parse().expect("--matches is an integer"),
                "--runs" => options.runs = value().parse().expect("--runs is an integer"),
                "--seed" => options.seed = value().parse().expect("--seed is an integer"),
                other => panic!("unknown argument {other:?}; use --matches M, --runs R, --seed S"),
            }
        }
        assert!(options.matches > 0 && options.runs > 0, "--matches and --runs must be >= 1");
        options
    }
}

fn main() {
    let options = Options::from_args();
    let lines = log(&options);
    let is_detection = |line: &&String| {
        serde_json::from_str::<serde_json::Value>(line)
            .is_ok_and(|record| record["type"] == "detection")
    };
    let (detections, others): (Vec<&String>, Vec<&String>) = lines.iter().partition(is_detection);
    let (all, detections, others) =
        (Lines::new(&lines), Lines::new(detections), Lines::new(others));
    println!(
        "{} lines ({} detections, {} others), {} matches, {:.1} MiB, {} runs",
        all.len(),
        detections.len(),
        others.len(),
        options.matches,
        all.text.len() as f64 / (1 << 20) as f64,
        options.runs
    );

    let (accepted, rejected) = decode_all(&all).1;
    assert_eq!(rejected, all.len() / INVALID_EVERY, "exactly the invalid lines are rejected");
    println!("decode: {accepted} accepted, {rejected} rejected");
    println!();
    println!(
        "{:<12} {:>16} {:>16} {:>16} {:>16} {:>15}",
        "lines",
        "parse ns/line",
        "decode ns/line",
        "parse lines/s",
        "decode lines/s",
        "decode/parse"
    );
    for (name, group) in [("all", &all), ("detections", &detections), ("others", &others)] {
        let (parse, decode) = fastest(group, options.runs);
        let per_line = |time: Duration| time.as_nanos() as f64 / group.len() as f64;
        let per_second = |time: Duration| group.len() as f64 / time.as_secs_f64();
        let ratio = decode.as_secs_f64() / parse.as_secs_f64();
        println!(
            "{:<12} {:>16.0} {:>16.0} {:>16.0} {:>16.0} {:>15.2}",
            name,
            per_line(parse),
            per_line(decode),
            per_second(parse),
            per_second(decode),
            ratio
        );
        if name == "all" {
            let verdict = if ratio <= GOAL_RATIO { "met" } else { "missed" };
            println!("{:<12} decode / parse-only {ratio:.2} (goal <= {GOAL_RATIO}: {verdict})", "");
        }
    }
}

/// Lines held back to back in one buffer, as a reader of a log file has them: scattered small
/// strings would add cache misses to both sides and hide the difference between them.
struct Lines {
    text: String,
    ends: Vec<usize>,
}

impl Lines {
    fn new<'a>(lines: impl IntoIterator<Item = &'a String>) -> Lines {
        let mut all = Lines { text: String::new(), ends: Vec::new() };
        for line in lines {
            all.text.push_str(line);
            all.ends.push(all.text.len());
        }
        all
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| &self.text.as_bytes()[start..end])
    }
}

/// The lines of `options.matches` matches, interleaved by publication time, with the invalid
/// lines spread among them.
fn log(options: &Options) -> Vec<String> {
    let shape = |index: usize, detections: usize| MatchShape {
        event_id: format!("match-{index:02}"),
        seed: options.seed * 1_000 + index as u64,
        length_ms: 3 * 3_600_000,
        segments: 300,
        detections,
        replays: 4,
        feedback: 10,
        chunk_ms: Some(10_000),
    };
    let fixed = synthetic_match(&shape(0, 0)).len();
    let mut timed: Vec<(u64, String)> = (0..options.matches)
        .flat_map(|index| synthetic_match(&shape(index, RECORDS_PER_MATCH - fixed)))
        .map(|line| (line.published_ms, line.json))
        .collect();
    timed.sort_by_key(|(published_ms, _)| *published_ms);
    let mut lines: Vec<String> = timed.into_iter().map(|(_, json)| json).collect();
    // Evenly spread rather than random: the decoder's speed does not depend on where they are.
    let invalid = lines.len() / (INVALID_EVERY - 1);
    for index in 0..invalid {
        let at = index * INVALID_EVERY + INVALID_EVERY / 2;
        let line = invalid_line(index, &lines[at]);
        lines.insert(at, line);
    }
    lines
}

/// An invalid line of one of five kinds, as in `process_throughput`; the first is a valid line
/// cut in half.
fn invalid_line(kind: usize, valid: &str) -> String {
    match kind % 5 {
        0 => valid[..valid.len() / 2].to_owned(),
        1 => r#"{"type":"scoreboard_update","event_id":"match-00","start":12}"#.to_owned(),
        2 => r#"{"type":"detection","event_id":"match-01","plugin":"crowd-noise","start":-1.5,"attributes":{"Loud":true}}"#.to_owned(),
        3 => r#"{"type":"segment","event_id":"match-02","plugin":"rally-segmenter","start":40,"end":30}"#.to_owned(),
        _ => r#"{"type":"replay","replay_id":"bad","event_id":"match-03","duration":60,"priorities":[{"attribute":"Ace","weight":0}]}"#.to_owned(),
    }
}

/// The fastest parse-only and decode runs over `lines`, alternating the two.
fn fastest(lines: &Lines, runs: usize) -> (Duration, Duration) {
    let (mut parse, mut decode) = (Duration::MAX, Duration::MAX);
    for _ in 0..runs {
        parse = parse.min(parse_all(lines));
        decode = decode.min(decode_all(lines).0);
    }
    (parse, decode)
}

/// Parses every line into a `serde_json::Value`.
fn parse_all(lines: &Lines) -> Duration {
    let started = Instant::now();
    for line in lines.iter() {
        let _ = black_box(serde_json::from_slice::<serde_json::Value>(line));
    }
    started.elapsed()
}

/// Decodes every line; returns the time and the numbers of accepted and rejected lines.
fn decode_all(lines: &Lines) -> (Duration, (usize, usize)) {
    let started = Instant::now();
    let mut accepted = 0;
    for line in lines.iter() {
        let decoded = black_box(reeltime_schemas::decode(line, DEFAULT_MAX_RECORD_BYTES));
        accepted += usize::from(decoded.is_ok());
    }
    (started.elapsed(), (accepted, lines.len() - accepted))
}
