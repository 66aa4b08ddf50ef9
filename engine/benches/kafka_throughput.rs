//! `reeltime run` against a real Kafka broker: how fast it ingests a pre-filled backlog, how
//! soon a live detection shows in the published replay view and where that time goes, and
//! whether it keeps up with many live events for minutes. These are the Kafka rows of the
//! compact-dataflow issue; each part runs the bench's own release binary
//! (`CARGO_BIN_EXE_reeltime`) under a fresh topic prefix, group, transactional id and output
//! directory, with rendering off (the synthetic chunks name no real media).
//!
//! **Ingest** (`kafka/ingest.rs`). 1,000,000 detections of 100 synthetic 3-hour matches
//! (`operators/benches/common/synthetic_match.rs`: per match a profile, the event, 4 catch-up
//! replays, 300 segments with their optimizations and labels, 10 verdicts), interleaved by
//! publication time, are produced under a fresh topic prefix before anything is timed. Then,
//! each `--runs` times and in turn:
//! - the baseline: a bare rdkafka `BaseConsumer` assigned every input partition reads every
//!   message and only decodes it (`reeltime_schemas::decode`), the least any consumer does;
//! - the engine: `reeltime run`, timed from its start until its consumer group's committed
//!   offsets reach the end of every input (the last epoch's transaction, outputs included, is
//!   committed), then stopped with SIGTERM; its CPU time and peak RSS come from `/proc` at
//!   that moment. (Not `--until-idle`, so that neither the idle wait nor the engine's rule
//!   for idleness enters the measure.)
//!
//! Goal: the engine's rate at least 0.5x the bare consumer's (not done below 0.3x).
//!
//! **Cluster** (`kafka/cluster.rs`). The same backlog, under a prefix of its own, through
//! `reeltime run` as one process of one worker and as a cluster of two processes of one
//! worker each (`--processes 2`, loopback hosts file), in turn, `--runs` times each; each run
//! timed from the start until the group's committed offsets reach the end of every input, then
//! stopped with SIGTERM. Reported as the ratio of the two rates, with the honest caveat that the
//! two processes, the broker and the bench share this machine's cores.
//!
//! **Latency** (`kafka/latency.rs`). The engine runs live (`--until-idle 0`) over 10 synthetic
//! matches and a probe match whose features-mode replay looks only for an attribute that no
//! other record carries. A background producer sends the matches' detections at a steady
//! `--rate` (10,000 records/s, paced by the clock); every 50 ms a probe detection with that
//! attribute lands inside a distinct complete segment of the probe match, so each probe adds
//! one clip to the replay. The latency of a probe is the time from just before its send to the
//! arrival of the first replay view with its clip (and of that version's `replay_updated`
//! notification) on a `read_committed` consumer. The engine writes each live epoch's moments
//! (`engine.epoch_stats_file`: closed, computed, published, as wall-clock time) and the
//! notification names the epoch, so each probe's latency splits into waiting for its epoch
//! (send to closed), computing (closed to computed), committing (computed to published) and
//! reading back (published to seen). The engine stops on SIGTERM. The committing step is
//! compared with its floor: 30 bare Kafka transactions of 100 messages and an offset commit by
//! a transactional `BaseProducer`, committed right after the sends (as the engine's sink
//! does) and with the delivery reports served first.
//!
//! Goal: p99 within the epoch length (`--epoch-ms`, 50) + 20 ms (not done above + 100 ms).
//!
//! **Soak** (`kafka/soak.rs`). `--soak-events` live events (1,000), each started with
//! `--soak-replays` catch-up replays (10) drawn as the synthetic match draws them, are produced
//! first; then, for `--soak-seconds` (600), a live stream of `--soak-rate` records/s in all
//! (10,000) spread over the events, each event's records in its publication order (segments
//! opened and completed, optimizations, labels, verdicts, detections). Every
//! `--soak-sample-seconds` (5) the bench notes the records produced, the engine's committed
//! input offsets against the end offsets (the lag), its epochs and its RSS (`VmRSS`). At the
//! end it waits (bounded) until the engine has caught up, stops it, and compares the latest
//! replay and segment views on the output topics with what `reeltime process` computes from
//! the same records, read back from the input topics up to the committed offsets and written
//! as a JSON Lines log in the engine's "latest" order (append time, topic, offset).
//!
//! Goal: the lag stays bounded (the last minute's mean lag at most twice the first minute's
//! plus one second of input, and none left shortly after the stream ends), RSS per retained
//! record within 1 KiB, and the final views equal `process`'s. The bench exits with 1 when the
//! soak's engine does not catch up or stop, or its views differ.
//!
//! ```text
//! scripts/kafka-local start    # prints the broker's address
//! cargo bench -p reeltime --bench kafka_throughput -- --brokers 127.0.0.1:PORT
//!     [--only ingest|cluster|latency|soak] [--seed 1] [--epoch-ms 50] [--engine-config FILE]
//!     [--records 1000000] [--events 100] [--runs 2]                       # ingest, cluster
//!     [--rate 10000] [--probes 240]                                       # latency
//!     [--soak-events 1000] [--soak-replays 10] [--soak-rate 10000]        # soak
//!     [--soak-seconds 600] [--soak-sample-seconds 5]
//! ```
//!
//! Without `--only` the four parts run in turn; the soak alone takes `--soak-seconds` plus the
//! final check (`process` on every record). `--epoch-ms` goes to every engine run as
//! `REELTIME__ENGINE__EPOCH_MS`. `--engine-config` passes a TOML file to every engine run as
//! `--config`, to try settings (e.g. `[kafka.client]` librdkafka options); the flags and
//! variables above still win.
//! The broker also comes from `REELTIME_KAFKA_BROKERS`; without one the bench exits with 2.
//! Everything is seeded, bounded in time (each wait has a deadline) and on the given broker
//! only. Topics are left on the broker (a scratch broker's storage is wiped at its next start).

#[path = "../../operators/benches/common/synthetic_match.rs"]
mod synthetic_match;

#[path = "kafka/cluster.rs"]
mod cluster;
#[path = "kafka/common.rs"]
mod common;
#[path = "kafka/ingest.rs"]
mod ingest;
#[path = "kafka/latency.rs"]
mod latency;
#[path = "kafka/soak.rs"]
mod soak;

use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Ingest,
    Cluster,
    Latency,
    Soak,
}

struct Options {
    brokers: String,
    only: Option<Part>,
    seed: u64,
    epoch_ms: u64,
    /// A configuration file every engine run gets as `--config` (settings to try).
    engine_config: Option<std::path::PathBuf>,
    /// Ingest: detections, matches, runs of each side.
    records: usize,
    events: usize,
    runs: usize,
    /// Latency: background records per second, probes.
    rate: u64,
    probes: usize,
    /// Soak: live events, replays per event, records per second in all, seconds of live
    /// stream, seconds between samples.
    soak_events: usize,
    soak_replays: usize,
    soak_rate: u64,
    soak_seconds: u64,
    soak_sample_seconds: u64,
}

impl Options {
    /// Reads the flags (cargo's `--bench` is ignored); `None` when no broker is given.
    fn from_args() -> Option<Options> {
        let mut options = Options {
            brokers: std::env::var("REELTIME_KAFKA_BROKERS").unwrap_or_default(),
            only: None,
            seed: 1,
            epoch_ms: 50,
            engine_config: None,
            records: 1_000_000,
            events: 100,
            runs: 2,
            rate: 10_000,
            probes: 240,
            soak_events: 1_000,
            soak_replays: 10,
            soak_rate: 10_000,
            soak_seconds: 600,
            soak_sample_seconds: 5,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            fn int<T: std::str::FromStr>(flag: &str, text: String) -> T {
                text.parse().unwrap_or_else(|_| panic!("{flag} takes an integer, not {text:?}"))
            }
            match arg.as_str() {
                "--bench" => {}
                "--brokers" => options.brokers = value(),
                "--seed" => options.seed = int(&arg, value()),
                "--epoch-ms" => options.epoch_ms = int(&arg, value()),
                "--engine-config" => options.engine_config = Some(value().into()),
                "--records" => options.records = int(&arg, value()),
                "--events" => options.events = int(&arg, value()),
                "--runs" => options.runs = int(&arg, value()),
                "--rate" => options.rate = int(&arg, value()),
                "--probes" => options.probes = int(&arg, value()),
                "--soak-events" => options.soak_events = int(&arg, value()),
                "--soak-replays" => options.soak_replays = int(&arg, value()),
                "--soak-rate" => options.soak_rate = int(&arg, value()),
                "--soak-seconds" => options.soak_seconds = int(&arg, value()),
                "--soak-sample-seconds" => options.soak_sample_seconds = int(&arg, value()),
                "--only" => {
                    options.only = match value().as_str() {
                        "ingest" => Some(Part::Ingest),
                        "cluster" => Some(Part::Cluster),
                        "latency" => Some(Part::Latency),
                        "soak" => Some(Part::Soak),
                        other => panic!(
                            "--only takes ingest, cluster, latency or soak, not {other:?}"
                        ),
                    }
                }
                other => panic!(
                    "unknown argument {other:?}; use --brokers ADDR, --only ingest|cluster|latency|soak, \
                     --seed S, --epoch-ms E, --engine-config FILE, --records N, --events M, --runs R, --rate R, \
                     --probes P, --soak-events E, --soak-replays R, --soak-rate R, \
                     --soak-seconds S, --soak-sample-seconds S"
                ),
            }
        }
        assert!(options.events > 0 && options.runs > 0, "--events and --runs must be >= 1");
        assert!(options.rate > 0 && options.probes > 0, "--rate and --probes must be >= 1");
        assert!(options.epoch_ms > 0, "--epoch-ms must be >= 1");
        assert!(
            options.soak_events > 0
                && options.soak_rate > 0
                && options.soak_seconds > 0
                && options.soak_sample_seconds > 0,
            "--soak-events, --soak-rate, --soak-seconds and --soak-sample-seconds must be >= 1"
        );
        (!options.brokers.is_empty()).then_some(options)
    }

    fn runs(&self, part: Part) -> bool {
        self.only.is_none_or(|only| only == part)
    }
}

fn main() -> ExitCode {
    let Some(options) = Options::from_args() else {
        eprintln!(
            "kafka_throughput needs a Kafka broker: start one with `scripts/kafka-local start` \
             and pass its address with `-- --brokers 127.0.0.1:PORT` or REELTIME_KAFKA_BROKERS"
        );
        return ExitCode::from(2);
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!("broker {}, engine.epoch_ms {}", options.brokers, options.epoch_ms);
    common::print_machine();
    if options.runs(Part::Ingest) {
        ingest::ingest(&options, dir.path());
    }
    if options.runs(Part::Cluster) {
        cluster::cluster(&options, dir.path());
    }
    if options.runs(Part::Latency) {
        latency::latency(&options, dir.path());
    }
    if options.runs(Part::Soak) && !soak::soak(&options, dir.path()) {
        println!("soak: the engine did not keep up, did not stop, or its views differ");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
