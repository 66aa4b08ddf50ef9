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
//! **Live ingest latency.** `reeltime run --data-dir` (the binary) serves; `reeltime ingest`
//! (in process) listens on a UDP port, and the `ffmpeg` command line plays a 1080p25
//! H.264/AAC match of `--seconds` into it at real time (`-re`). Per chunk, from the splitter's
//! hand-over (the first packet after the chunk's end is in) to the service having the `chunk`
//! record durably, and to it having what the plugins found in the chunk. The baseline, in the
//! same run: a bare `POST /api/v1/records` of one chunk record to the same service, the floor
//! of any durable write. Goal: the chunk record under 100 ms.
//!
//! ```text
//! cargo bench -p reeltime --bench media_ingest [-- --seconds 60 --runs 3]
//! ```

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use reeltime::live_ingest::{ingest, IngestOptions, IngestReport};
use reeltime::playout::ApiWriter;
use reeltime::serve::api::RecordWriter;
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

/// Runs the ffmpeg command line on the media FFmpeg generates from `sources` (lavfi graphs, an
/// input each), then `args`.
fn ffmpeg_generated(sources: &[String], args: &[&str]) {
    let inputs = sources.iter().flat_map(|source| ["-f", "lavfi", "-i", source.as_str()]);
    ffmpeg(&inputs.chain(args.iter().copied()).collect::<Vec<_>>());
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
    live_ingest_latency(&options, dir.path());
}

fn converting_ingest(options: &Options, dir: &Path) {
    let source = dir.join("mezzanine.mov");
    let seconds = options.seconds.to_string();
    ffmpeg_generated(
        &[
            format!("testsrc2=s=1920x1080:r=25:d={seconds}"),
            format!("sine=f=440:r=48000:d={seconds}"),
        ],
        &[
            "-ac",
            "2",
            "-c:v",
            "prores",
            "-profile:v",
            "2",
            "-c:a",
            "pcm_s16le",
            source.to_str().expect("a UTF-8 path"),
        ],
    );
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
    ffmpeg_generated(
        &[
            format!("color=c=gray:s=1920x1080:r=25:d={seconds}"),
            format!("testsrc2=s=1920x1080:r=25:d={seconds}"),
        ],
        &[
            "-filter_complex",
            "[0][1]overlay=enable='between(mod(t,20),12,16)',noise=alls=4:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "50",
            source.to_str().expect("a UTF-8 path"),
        ],
    );
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

/// The goal: a chunk's record durable in the service this soon after the chunk is cut.
const LATENCY_GOAL_MS: f64 = 100.0;

/// A `reeltime run --data-dir` in `dir`, killed when dropped.
struct Service {
    child: std::process::Child,
    base: String,
}

impl Service {
    fn start(dir: &Path) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reeltime"))
            .args(["run", "--listen", "127.0.0.1:0"])
            .args(["--data-dir", dir.join("data").to_str().expect("a UTF-8 path")])
            .args(["--out", dir.join("out").to_str().expect("a UTF-8 path")])
            .env("REELTIME__RENDER__ENABLED", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("reeltime run starts");
        let mut lines = BufReader::new(child.stderr.take().expect("its stderr")).lines();
        let base = loop {
            let line = lines.next().expect("the service says where it listens").expect("a line");
            if let Some(at) = line.find("serving http://") {
                let address = line[at + "serving ".len()..].split_whitespace().next();
                break address.expect("an address").to_owned();
            }
        };
        // The rest of its log is not read; draining it keeps the service from blocking.
        std::thread::spawn(move || lines.for_each(drop));
        Service { child, base }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn live_ingest_latency(options: &Options, dir: &Path) {
    let source = dir.join("live.mp4");
    let seconds = options.seconds.to_string();
    ffmpeg_generated(
        &[
            format!("testsrc2=s=1920x1080:r=25:d={seconds}"),
            format!("anoisesrc=r=48000:c=pink:a=0.05:d={seconds}"),
        ],
        &[
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "25",
            "-c:a",
            "aac",
            source.to_str().expect("a UTF-8 path"),
        ],
    );
    println!("live ingest latency: {seconds} s of 1080p25 H.264/AAC played over UDP at real time, 4 s chunks");
    let service = Service::start(&dir.join("service"));
    let writer = ApiWriter::new(&service.base, None);
    let bare: Vec<Duration> = (0..20)
        .map(|n| {
            let record = format!(
                r#"{{"type":"chunk","event_id":"baseline","seq_no":{n},"uri":"/nowhere/{n}.ts","start":{},"duration":4}}"#,
                n * 4
            );
            let started = Instant::now();
            writer.write(&[record.into_bytes()]).expect("the service takes a record");
            started.elapsed()
        })
        .collect();
    let (mut chunk, mut found) = (Vec::new(), Vec::new());
    for run in 0..options.runs {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free UDP port")
            .port();
        let url = format!("udp://127.0.0.1:{port}");
        let ingest_options = IngestOptions {
            input: url.clone().into(),
            event_id: Some(format!("live-{run}")),
            title: None,
            chunk_dir: dir.join("chunks"),
            chunk_seconds: CHUNK_SECONDS,
            silence_seconds: Some(3.0),
            catchup_seconds: Some(30.0),
            progress: false,
        };
        let report = std::thread::scope(|scope| {
            let listener =
                scope.spawn(|| ingest(&ingest_options, &writer).expect("the stream is ingested"));
            while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
                std::thread::sleep(Duration::from_millis(10));
            }
            ffmpeg(&[
                "-re",
                "-i",
                source.to_str().expect("a UTF-8 path"),
                "-c",
                "copy",
                "-f",
                "mpegts",
                &format!("{url}?pkt_size=1316"),
            ]);
            listener.join().expect("the ingest thread")
        });
        let (c, f) = (
            IngestReport::percentiles(&report.chunk_latency).expect("chunks were sent"),
            IngestReport::percentiles(&report.findings_latency).expect("findings were sent"),
        );
        println!(
            "  run {}: {} chunks; chunk record median {:.1} ms (p95 {:.1}), findings median {:.1} ms (p95 {:.1})",
            run + 1,
            report.chunk_latency.len(),
            c.0,
            c.1,
            f.0,
            f.1
        );
        chunk.extend(report.chunk_latency);
        found.extend(report.findings_latency);
    }
    let (bare, chunk, found) = (
        IngestReport::percentiles(&bare).expect("baseline posts"),
        IngestReport::percentiles(&chunk).expect("chunks"),
        IngestReport::percentiles(&found).expect("findings"),
    );
    println!(
        "live ingest latency over {} runs: chunk record median {:.1} ms, p95 {:.1} ms (goal < {LATENCY_GOAL_MS} ms: {}); a bare POST of one record median {:.1} ms: {:.2}x; what the plugins found median {:.1} ms, p95 {:.1} ms",
        options.runs,
        chunk.0,
        chunk.1,
        if chunk.1 < LATENCY_GOAL_MS { "met" } else { "not met" },
        bare.0,
        chunk.0 / bare.0,
        found.0,
        found.1
    );
}
