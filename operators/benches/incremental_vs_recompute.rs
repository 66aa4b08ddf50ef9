//! Incremental maintenance against from-scratch recompute, on one synthetic 3-hour match.
//!
//! It isolates the computation of the views: the records are decoded before any timing, and
//! nothing is written anywhere. The incremental side is the dataflow with the read model
//! applying each closed epoch, one thread doing all the work (`harness::run` with
//! `RunOptions::sequential`: one worker, the read model between its epochs), first with one
//! record per epoch (every view up to date after every record), then with 100 records per epoch,
//! five runs of each: the times shown are their medians, and a record's cost its median.
//! It is compared to what the Media Replay Engine does: recompute every view from scratch
//! (`reference::compute` over the log so far) after each record, measured after every record by
//! default (about an hour here); `--recompute-every K` samples every K-th record instead and
//! estimates the total as the sampled costs times K, for a quick run. Both sides are also shown
//! per tenth of the match, to show whether the cost of a record grows with the match's length.
//!
//! First, the fixed cost of an epoch: the dataflow's number of timely operators, and the time
//! of an empty epoch, sequential and pipelined (the sink on a thread of its own, as `process`
//! and `run` run it).
//!
//! The match (see `common/synthetic_match.rs`): 1 profile with an optimizer, 1 event, 20
//! catch-up replays, 300 segments (each published open, then complete, then optimized on track 1
//! and labelled), 10 reviewer verdicts, 30,000 detections of 4 featurers, and the event's end;
//! about 31,200 records in publication order.
//!
//! ```text
//! cargo bench -p reeltime-operators --bench incremental_vs_recompute [-- --scale 0.1 --recompute-every 50 --seed 1]
//! cargo bench -p reeltime-operators --bench incremental_vs_recompute -- --recompute-every 500   # quick run
//! ```
//!
//! `--scale` (or `REELTIME_BENCH_SCALE`) shrinks the match's length, segments, verdicts and
//! detections for a quick run; the 20 replays stay.
//!
//! Last, the same match against what a data engineer would write instead: `duckdb_replays.py`,
//! a Python + DuckDB job that keeps the records in tables and recomputes every catch-up replay
//! with SQL each time a segment completes (and when the event ends). The bench writes the
//! match's lines to a temporary file, runs the job, checks that its final selections (segment
//! and clip starts of every replay) equal the read model's final replay views, and prints its
//! CPU time over reeltime's with one record per epoch, the median of reeltime's runs before the
//! job and as many after it (goal >= 1,000x, not done below 100x).
//! It needs a Python with duckdb, `REELTIME_BENCH_PYTHON` or else
//! `/var/cache/reeltime/venv/bin/python`; without one it says so and skips that comparison.
//! pandas goes beside duckdb because duckdb looks it up on every parameter it binds, which is
//! slow when it is missing:
//!
//! ```text
//! python3 -m venv /var/cache/reeltime/venv
//! /var/cache/reeltime/venv/bin/python -m pip install duckdb==1.5.6 pandas==3.1.1
//! ```

#[path = "common/synthetic_match.rs"]
mod synthetic_match;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reeltime_operators::compact::Compact;
use reeltime_operators::harness::{self, EpochInput, RunOptions};
use reeltime_operators::read_model::ReadModel;
use reeltime_operators::reference;
use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;
use reeltime_schemas::record::{Record, Seq};
use reeltime_schemas::view::ReplayView;

use synthetic_match::{synthetic_match, LogLine, MatchShape};

/// The allocator the `reeltime` binary runs with, so the dataflow is measured as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Empty epochs run to measure the fixed cost of one.
const EMPTY_EPOCHS: u64 = 20_000;

/// The goal: at least this many times less total work than recompute.
const GOAL_RATIO: f64 = 2000.0;
/// Below this ratio the comparison with recompute is not done.
const DONE_RATIO: f64 = 500.0;
/// The goal for the cost per record in the last tenth of the match over the first.
const GROWTH_GOAL: f64 = 1.0;
/// Above this growth the cost per record is not done.
const GROWTH_DONE: f64 = 1.2;
const TENTHS: usize = 10;
/// Runs of each incremental case: a run of 100 records per epoch takes a few hundredths of a
/// second, so one run's tenths are at the mercy of the machine; the medians of five are not.
const INCREMENTAL_RUNS: usize = 5;

struct Options {
    scale: f64,
    recompute_every: usize,
    seed: u64,
}

impl Options {
    /// Reads `--scale F`, `--recompute-every K` and `--seed S`; cargo's own `--bench` is ignored.
    fn from_args() -> Options {
        let mut options = Options {
            scale: std::env::var("REELTIME_BENCH_SCALE")
                .ok()
                .map(|s| s.parse().expect("REELTIME_BENCH_SCALE is a number"))
                .unwrap_or(1.0),
            recompute_every: 1,
            seed: 1,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            match arg.as_str() {
                "--bench" => {}
                "--scale" => options.scale = value().parse().expect("--scale is a number"),
                "--recompute-every" => {
                    options.recompute_every =
                        value().parse().expect("--recompute-every is a positive integer")
                }
                "--seed" => options.seed = value().parse().expect("--seed is an integer"),
                other => panic!(
                    "unknown argument {other:?}; use --scale F, --recompute-every K, --seed S"
                ),
            }
        }
        assert!(options.scale > 0.0, "--scale must be above 0");
        assert!(options.recompute_every > 0, "--recompute-every must be at least 1");
        options
    }
}

/// One run of the dataflow over the whole log.
struct IncrementalRun {
    wall: Duration,
    cpu: Duration,
    /// The CPU time of each run a median was taken of (the one run itself, for one).
    run_cpus: Vec<Duration>,
    /// The cost of each record: its epoch's time divided by the epoch's records.
    per_record: Vec<Duration>,
    /// The read model's replay views after the last epoch.
    final_replays: BTreeMap<String, ReplayView>,
}

/// The sampled recompute runs.
struct RecomputeRun {
    every: usize,
    /// `(record index, time of a recompute over the log up to and including it)`.
    samples: Vec<(usize, Duration)>,
    cpu: Duration,
}

impl RecomputeRun {
    fn measured(&self) -> Duration {
        self.samples.iter().map(|(_, time)| *time).sum()
    }

    /// The estimated time of a recompute after every record.
    fn estimated_total(&self) -> Duration {
        self.measured() * self.every as u32
    }
}

fn main() {
    let options = Options::from_args();
    let scaled = |n: f64| (n * options.scale).round().max(1.0);
    let shape = MatchShape {
        event_id: "bench-match".into(),
        seed: options.seed,
        length_ms: scaled(3.0 * 3_600_000.0) as u64,
        segments: scaled(300.0) as usize,
        detections: scaled(30_000.0) as usize,
        replays: 20,
        feedback: scaled(10.0) as usize,
        chunk_ms: None,
    };
    let lines = synthetic_match(&shape);
    let last_ms = lines.last().map_or(0, |line| line.published_ms);
    let tenth_of: Vec<usize> = lines
        .iter()
        .map(|line| (line.published_ms * TENTHS as u64 / (last_ms + 1)) as usize)
        .collect();
    let log: Vec<(Seq, Record)> = lines
        .iter()
        .zip(1..)
        .map(|(line, seq)| {
            let record = reeltime_schemas::decode(line.json.as_bytes(), DEFAULT_MAX_RECORD_BYTES)
                .unwrap_or_else(|e| panic!("synthetic record {seq} is invalid: {e}"));
            (seq, record)
        })
        .collect();
    println!(
        "synthetic match: {:.2} h, {} records ({} segments, {} detections, {} replays), seed {}",
        shape.length_ms as f64 / 3_600_000.0,
        log.len(),
        shape.segments,
        shape.detections,
        shape.replays,
        options.seed
    );

    println!("the dataflow: {} timely operators", harness::operator_count());
    for (name, options) in [
        ("sequential (sink between epochs)", RunOptions::sequential()),
        ("pipelined (sink on its own thread)", RunOptions::workers(1)),
    ] {
        let (wall, cpu) = empty_epochs(options, EMPTY_EPOCHS);
        println!(
            "  an empty epoch, {name}: {:.1} µs of wall time, {:.1} µs of CPU (over \
             {EMPTY_EPOCHS} epochs, read model included)",
            wall.as_secs_f64() * 1e6 / EMPTY_EPOCHS as f64,
            cpu.as_secs_f64() * 1e6 / EMPTY_EPOCHS as f64,
        );
    }

    let per_record = median_run(&log, 1);
    let per_hundred = median_run(&log, 100);
    let recompute = recompute(&log, options.recompute_every);

    report(&log, &tenth_of, &per_record, &per_hundred, &recompute);
    python_duckdb_comparison(&lines, &log, &per_record);
}

/// The median of `times` (the upper one of an even count).
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Runs [`incremental`] [`INCREMENTAL_RUNS`] times; keeps the median wall and CPU time and
/// the median cost of each record.
fn median_run(log: &[(Seq, Record)], epoch_records: usize) -> IncrementalRun {
    let runs: Vec<IncrementalRun> =
        (0..INCREMENTAL_RUNS).map(|_| incremental(log, epoch_records)).collect();
    let per_record = (0..log.len())
        .map(|i| median(runs.iter().map(|run| run.per_record[i]).collect()))
        .collect();
    IncrementalRun {
        wall: median(runs.iter().map(|run| run.wall).collect()),
        cpu: median(runs.iter().map(|run| run.cpu).collect()),
        run_cpus: runs.iter().map(|run| run.cpu).collect(),
        per_record,
        final_replays: runs.into_iter().next().expect("at least one run").final_replays,
    }
}

/// Runs the dataflow over the log in epochs of `epoch_records`, applying every closed epoch to
/// a read model; checks the final views against the reference.
fn incremental(log: &[(Seq, Record)], epoch_records: usize) -> IncrementalRun {
    let epochs: Vec<EpochInput<()>> = log
        .chunks(epoch_records)
        .map(|records| EpochInput {
            records: records
                .iter()
                .map(|(seq, record)| {
                    (*seq, Compact::from_record(record.clone()).expect("a compact record"))
                })
                .collect(),
            ..EpochInput::default()
        })
        .collect();
    let epoch_sizes: Vec<usize> = epochs.iter().map(|epoch| epoch.records.len()).collect();
    let epochs = Mutex::new(Some(epochs));
    let source: Arc<harness::Source<()>> = Arc::new(move |_index, _peers| {
        let epochs = epochs.lock().expect("not poisoned").take();
        // The recorded match is all there, as `reeltime process` reads a log.
        Box::new(harness::ReadAhead(epochs.expect("one worker reads the epochs, once").into_iter()))
    });

    let mut model = ReadModel::default();
    let mut closed_at = Vec::with_capacity(epoch_sizes.len());
    let cpu_before = process_cpu_time();
    let started = Instant::now();
    // One thread does all the work, the read model between the epochs, as the baselines do.
    harness::run(RunOptions::sequential(), source, |updates| {
        black_box(model.apply(updates.rows));
        closed_at.push(started.elapsed());
    })
    .expect("the dataflow runs");
    let wall = started.elapsed();
    let cpu = process_cpu_time() - cpu_before;

    let views = model.views();
    assert_eq!(
        views,
        reference::compute(log),
        "the incremental views equal the from-scratch ones at the end"
    );
    let mut per_record = Vec::with_capacity(log.len());
    let mut previous = Duration::ZERO;
    for (size, closed) in epoch_sizes.into_iter().zip(closed_at) {
        per_record.extend(std::iter::repeat_n((closed - previous) / size as u32, size));
        previous = closed;
    }
    IncrementalRun { wall, cpu, run_cpus: vec![cpu], per_record, final_replays: views.replays }
}

/// Runs `epochs` empty epochs through the dataflow and the read model; returns their wall and
/// CPU time.
fn empty_epochs(options: RunOptions, epochs: u64) -> (Duration, Duration) {
    let source: Arc<harness::Source<()>> =
        Arc::new(move |_index, _peers| Box::new((0..epochs).map(|_| EpochInput::default())));
    let mut model = ReadModel::default();
    let cpu_before = process_cpu_time();
    let started = Instant::now();
    harness::run(options, source, |closed| {
        black_box(model.apply(closed.rows));
    })
    .expect("the dataflow runs");
    (started.elapsed(), process_cpu_time() - cpu_before)
}

/// Recomputes every view from scratch after every `every`-th record (and after the last).
fn recompute(log: &[(Seq, Record)], every: usize) -> RecomputeRun {
    let cpu_before = process_cpu_time();
    let mut samples = Vec::new();
    for end in (every - 1..log.len()).step_by(every) {
        let started = Instant::now();
        black_box(reference::compute(&log[..=end]));
        samples.push((end, started.elapsed()));
    }
    RecomputeRun { every, samples, cpu: process_cpu_time() - cpu_before }
}

fn report(
    log: &[(Seq, Record)],
    tenth_of: &[usize],
    per_record: &IncrementalRun,
    per_hundred: &IncrementalRun,
    recompute: &RecomputeRun,
) {
    let records = log.len() as f64;
    let estimated = recompute.estimated_total();
    let estimated_cpu = recompute.cpu * recompute.every as u32;
    println!();
    println!("{:<36} {:>10} {:>10} {:>12} {:>12}", "", "wall s", "cpu s", "records/s", "µs/record");
    for (name, run) in [
        ("incremental, 1 record per epoch", per_record),
        ("incremental, 100 records per epoch", per_hundred),
    ] {
        println!(
            "{:<36} {:>10.2} {:>10.2} {:>12.0} {:>12.1}",
            name,
            run.wall.as_secs_f64(),
            run.cpu.as_secs_f64(),
            records / run.wall.as_secs_f64(),
            run.wall.as_secs_f64() * 1e6 / records
        );
    }
    let measured = recompute.every == 1;
    println!(
        "{:<36} {:>10.1} {:>10.1} {:>12.1} {:>12.0}",
        if measured {
            "recompute after every record"
        } else {
            "recompute after every record (est.)"
        },
        estimated.as_secs_f64(),
        estimated_cpu.as_secs_f64(),
        records / estimated.as_secs_f64(),
        estimated.as_secs_f64() * 1e6 / records
    );
    if measured {
        println!("  (measured: {} recomputes)", recompute.samples.len());
    } else {
        println!(
            "  (estimated: {} recomputes, after every {}th record, took {:.1} s wall, {:.1} s \
             cpu; times {})",
            recompute.samples.len(),
            recompute.every,
            recompute.measured().as_secs_f64(),
            recompute.cpu.as_secs_f64(),
            recompute.every
        );
    }

    println!();
    let ratio = |run: &IncrementalRun| {
        (
            estimated.as_secs_f64() / run.wall.as_secs_f64(),
            estimated_cpu.as_secs_f64() / run.cpu.as_secs_f64(),
        )
    };
    for (name, run) in [("1 record per epoch", per_record), ("100 records per epoch", per_hundred)]
    {
        let (wall, cpu) = ratio(run);
        println!(
            "recompute_total / incremental_total ({name}): {wall:.0}x wall, {cpu:.0}x cpu \
             (goal >= {GOAL_RATIO:.0}x, not done below {DONE_RATIO:.0}x: {}{})",
            verdict(wall.min(cpu) >= GOAL_RATIO, wall.min(cpu) >= DONE_RATIO),
            if measured { "" } else { "; estimated, not measured" }
        );
    }

    println!();
    println!("cost per record in each tenth of the match (by publication time)");
    println!(
        "{:>6} {:>8} {:>22} {:>22} {:>22}",
        "tenth", "records", "incr. 1/epoch µs", "incr. 100/epoch µs", "recompute ms (mean)"
    );
    let mut first_last = Vec::new();
    for tenth in 0..TENTHS {
        let in_tenth: Vec<usize> = (0..log.len()).filter(|&i| tenth_of[i] == tenth).collect();
        let mean_us = |run: &IncrementalRun| {
            let total: Duration = in_tenth.iter().map(|&i| run.per_record[i]).sum();
            total.as_secs_f64() * 1e6 / in_tenth.len().max(1) as f64
        };
        let sampled: Vec<Duration> = recompute
            .samples
            .iter()
            .filter(|(i, _)| tenth_of[*i] == tenth)
            .map(|(_, time)| *time)
            .collect();
        let recompute_ms =
            sampled.iter().sum::<Duration>().as_secs_f64() * 1e3 / sampled.len().max(1) as f64;
        let row = (mean_us(per_record), mean_us(per_hundred), recompute_ms);
        println!(
            "{:>6} {:>8} {:>22.1} {:>22.1} {:>22.2}",
            tenth + 1,
            in_tenth.len(),
            row.0,
            row.1,
            row.2
        );
        if tenth == 0 || tenth == TENTHS - 1 {
            first_last.push(row);
        }
    }
    if let [first, last] = first_last[..] {
        let (one, hundred) = (last.0 / first.0, last.1 / first.1);
        let worst = one.max(hundred);
        println!(
            "last tenth / first tenth: incremental {one:.2}x (1/epoch), {hundred:.2}x \
             (100/epoch); recompute {:.2}x (incremental goal <= {GROWTH_GOAL:.1}x, not done \
             above {GROWTH_DONE:.1}x: {})",
            last.2 / first.2,
            verdict(worst <= GROWTH_GOAL, worst <= GROWTH_DONE)
        );
    }
}

/// The verdict on a measure against its goal and its not-done line.
fn verdict(goal_met: bool, done: bool) -> &'static str {
    match (goal_met, done) {
        (true, _) => "met",
        (false, true) => "missed, but done",
        (false, false) => "missed, not done",
    }
}

/// CPU time (user + system) of this process so far, all threads included, in nanoseconds, as
/// Python's `time.process_time()` gives the DuckDB job's (`/proc/self/stat` counts 10 ms ticks,
/// too coarse for a run of 0.15 s).
fn process_cpu_time() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(now.tv_sec.unsigned_abs(), now.tv_nsec.try_into().expect("nanoseconds fit"))
}

/// The goal for the Python + DuckDB job's CPU time over reeltime's (1 record per epoch).
const PYTHON_DUCKDB_GOAL_RATIO: f64 = 1000.0;
/// Below this ratio the Python + DuckDB comparison is not done.
const PYTHON_DUCKDB_DONE_RATIO: f64 = 100.0;
const DEFAULT_BENCH_PYTHON: &str = "/var/cache/reeltime/venv/bin/python";
const DUCKDB_INSTALL: &str = "-m pip install duckdb==1.5.6 pandas==3.1.1";

/// What the Python + DuckDB job reports.
struct PythonDuckdbRun {
    cpu: Duration,
    wall: Duration,
    recomputes: u64,
    /// Per replay id, the selected clips' `(segment start, clip start)` in milliseconds,
    /// sorted.
    selections: BTreeMap<String, Vec<(u64, u64)>>,
}

/// Runs `duckdb_replays.py` over the match, checks that its final selections equal the read
/// model's, and prints its CPU time over reeltime's with one record per epoch. Skipped, with
/// the reason, when the bench's Python cannot import duckdb.
///
/// Reeltime's side is the median of its runs before the job and as many again after it: the
/// job takes some 100 times longer, and this machine's speed drifts over that long, so runs on
/// both sides of it compare with the machine the job ran on rather than with its state before.
fn python_duckdb_comparison(lines: &[LogLine], log: &[(Seq, Record)], per_record: &IncrementalRun) {
    let python =
        std::env::var("REELTIME_BENCH_PYTHON").unwrap_or_else(|_| DEFAULT_BENCH_PYTHON.to_owned());
    println!();
    if let Err(reason) = python_has_duckdb(&python) {
        println!(
            "Python + DuckDB comparison skipped: {python} cannot import duckdb ({reason}); \
             install it with `{python} {DUCKDB_INSTALL}`, or set REELTIME_BENCH_PYTHON to a \
             Python that has it"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("reeltime-bench-duckdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let run = run_python_duckdb(&python, lines, &dir);
    std::fs::remove_dir_all(&dir).expect("the temporary directory is removed");

    let reeltime: BTreeMap<String, Vec<(u64, u64)>> = per_record
        .final_replays
        .iter()
        .filter(|(_, view)| view.catchup)
        .map(|(replay_id, view)| {
            let mut clips: Vec<(u64, u64)> =
                view.clips.iter().map(|clip| (clip.start_ms, clip.clip_start_ms)).collect();
            clips.sort_unstable();
            (replay_id.clone(), clips)
        })
        .collect();
    assert_eq!(
        run.selections, reeltime,
        "the Python + DuckDB job's final selections equal reeltime's final replay views"
    );
    let clips: usize = reeltime.values().map(Vec::len).sum();
    println!(
        "Python + DuckDB job ({} recomputes of every catch-up replay): {:.2} s wall, {:.2} s cpu; \
         its final selections equal reeltime's ({} replays, {clips} clips)",
        run.recomputes,
        run.wall.as_secs_f64(),
        run.cpu.as_secs_f64(),
        reeltime.len()
    );
    let after = median_run(log, 1);
    let reeltime_cpu = median(per_record.run_cpus.iter().chain(&after.run_cpus).copied().collect());
    println!(
        "reeltime at 1 record per epoch, CPU: {:.3} s, the median of {} runs ({:.3} s for the \
         {} before the job, {:.3} s for the {} after it)",
        reeltime_cpu.as_secs_f64(),
        per_record.run_cpus.len() + after.run_cpus.len(),
        per_record.cpu.as_secs_f64(),
        per_record.run_cpus.len(),
        after.cpu.as_secs_f64(),
        after.run_cpus.len()
    );
    let ratio = run.cpu.as_secs_f64() / reeltime_cpu.as_secs_f64();
    let verdict = verdict(ratio >= PYTHON_DUCKDB_GOAL_RATIO, ratio >= PYTHON_DUCKDB_DONE_RATIO);
    println!(
        "Python + DuckDB CPU time / reeltime CPU time (1 record per epoch): {ratio:.1}x \
         ({:.2} s / {:.2} s; goal >= {PYTHON_DUCKDB_GOAL_RATIO:.0}x, not done below \
         {PYTHON_DUCKDB_DONE_RATIO:.0}x: {verdict})",
        run.cpu.as_secs_f64(),
        reeltime_cpu.as_secs_f64()
    );
}

/// Whether `python` runs and imports duckdb; the reason when not.
fn python_has_duckdb(python: &str) -> Result<(), String> {
    let output = Command::new(python)
        .args(["-c", "import duckdb"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("it does not run: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(stderr.lines().last().unwrap_or("it failed").trim().to_owned())
}

/// Writes the match's lines to `dir`, runs the job over them and reads what it reports.
fn run_python_duckdb(python: &str, lines: &[LogLine], dir: &Path) -> PythonDuckdbRun {
    let log_path = dir.join("match.jsonl");
    let selections_path = dir.join("selections.json");
    let log: String = lines.iter().map(|line| format!("{}\n", line.json)).collect();
    std::fs::write(&log_path, log).expect("the match is written");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/duckdb_replays.py");
    // Its warnings go straight to the bench's error output.
    let output = Command::new(python)
        .arg(&script)
        .arg(&log_path)
        .arg(&selections_path)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("the Python + DuckDB job starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the Python + DuckDB job failed ({}): {stdout}",
        output.status
    );
    let seconds = |name: &str| {
        let value = reported(&stdout, name);
        let seconds = value.strip_suffix(" s").and_then(|number| number.parse().ok());
        Duration::from_secs_f64(seconds.unwrap_or_else(|| panic!("{name} {value:?} is seconds")))
    };
    let selections = std::fs::read_to_string(&selections_path).expect("the job writes selections");
    let selections: BTreeMap<String, Vec<serde_json::Value>> =
        serde_json::from_str(&selections).expect("the selections are JSON");
    let ms = |clip: &serde_json::Value, field: &str| {
        clip[field].as_u64().unwrap_or_else(|| panic!("a clip has {field:?}: {clip}"))
    };
    PythonDuckdbRun {
        cpu: seconds("cpu time:"),
        wall: seconds("wall time:"),
        recomputes: reported(&stdout, "recomputes:").parse().expect("a count of recomputes"),
        selections: selections
            .into_iter()
            .map(|(replay_id, clips)| {
                let clips =
                    clips.iter().map(|clip| (ms(clip, "start_ms"), ms(clip, "clip_start_ms")));
                (replay_id, clips.collect())
            })
            .collect(),
    }
}

/// The value of the job's output line that starts with `name`.
fn reported<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .map(str::trim)
        .unwrap_or_else(|| panic!("the Python + DuckDB job reports {name:?}: {stdout}"))
}
