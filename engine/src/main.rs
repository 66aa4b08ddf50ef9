//! The `reeltime` command line.

/// The engine allocates and frees many small values on several threads (decoded records on
/// the workers, rows freed on the sink thread): mimalloc's per-thread free lists serve that
/// far better than the system allocator's arenas (BENCHMARKS.md, process throughput).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use reeltime::export::{rewrite_exports, ExportOptions, Rewrite};
use reeltime::highlights::{highlights, HighlightsOptions};
use reeltime::media_pipeline::LogSummary;
use reeltime::process::{process, ProcessOptions, Summary};
use reeltime::publish::{publish, PublishOptions};
use reeltime::render_sink::RenderConfig;
use reeltime::topics::{create, CreateOptions};
use reeltime_connectors::kafka::admin::DEFAULT_PARTITIONS;
use reeltime_connectors::kafka::{ClientSettings, DEFAULT_TOPIC_PREFIX};
use reeltime_connectors::output_dir::OutputDir;
use reeltime_connectors::tables::{write_tables, TableFormat};
use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;

/// reeltime: sports clips and highlight reels, computed incrementally from an event log.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an event log (JSON Lines) through the dataflow and write every view.
    Process {
        /// The event log: one JSON record per line.
        #[arg(long)]
        log: PathBuf,
        /// The output directory (created; must be empty or an earlier reeltime output).
        #[arg(long)]
        out: PathBuf,
        /// Worker threads.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Log lines per epoch: views, versions and notifications advance once per epoch.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
        epoch_records: u64,
        /// Records larger than this are rejected without being parsed.
        #[arg(long, default_value_t = DEFAULT_MAX_RECORD_BYTES)]
        max_record_bytes: usize,
        /// Do not show progress.
        #[arg(long)]
        quiet: bool,
        /// Write drop-frame timecode (HH:MM:SS;FF) in the EDLs of 29.97 and 59.94 fps events;
        /// without it, and at every other rate, EDL timecode is non-drop-frame.
        #[arg(long)]
        drop_frame: bool,
        /// Render clips, event playlists and replays from the log's `chunk` records (their
        /// `uri` must be a local file).
        #[arg(long)]
        render: bool,
        /// With --render: cut clips frame-accurately by re-encoding instead of stream copy.
        #[arg(long, requires = "render")]
        reencode_clips: bool,
    },
    /// Rewrite the exports of an earlier output directory from its JSON exports
    /// (events/*/export.json, replays/*/export.json): EDLs, JSON, Arrow and Parquet tables.
    Export {
        /// The output directory of an earlier `reeltime process`.
        #[arg(long)]
        from: PathBuf,
        /// The formats to write (repeat or separate with commas): `edl` makes every EDL again
        /// (and updates the `edl` object of each JSON export), `json` reads and writes every
        /// JSON export again, `arrow` and `parquet` the tables.
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["edl", "json", "arrow", "parquet"])]
        format: Vec<FormatArg>,
        /// Write drop-frame timecode (HH:MM:SS;FF) in the EDLs of 29.97 and 59.94 fps events.
        #[arg(long)]
        drop_frame: bool,
    },
    /// Run the service: the embedded log in a data directory (the default) or Kafka, with the
    /// HTTP API and the console; views, notifications and dead letters exactly once, and the
    /// output directory kept up to date.
    Run {
        /// The configuration file (TOML); `--print-config` shows every key.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Keep the input records in this directory's append-only log (sets
        /// service.log = "embedded" and service.data_dir).
        #[arg(long, conflicts_with = "brokers")]
        data_dir: Option<PathBuf>,
        /// Bootstrap servers, HOST:PORT[,HOST:PORT...]: the input records are the Kafka
        /// topics (sets service.log = "kafka" and kafka.brokers).
        #[arg(long)]
        brokers: Option<String>,
        /// Address of the HTTP API and console, HOST:PORT (port 0: any free port; overrides
        /// service.listen).
        #[arg(long)]
        listen: Option<String>,
        /// The output directory (overrides output.dir).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Exit once every input has been idle this many seconds (overrides
        /// engine.until_idle_seconds; 0 runs until stopped).
        #[arg(long)]
        until_idle: Option<f64>,
        /// Worker threads (overrides engine.workers; in a cluster, in each process).
        #[arg(long)]
        workers: Option<usize>,
        /// Processes of one cluster, each started with its own --process-index (overrides
        /// cluster.processes; needs --brokers and --hosts).
        #[arg(long)]
        processes: Option<usize>,
        /// This process's index in the cluster, from 0 (overrides cluster.process_index).
        #[arg(long)]
        process_index: Option<usize>,
        /// The file of every process's HOST:PORT, one per line in process order (overrides
        /// cluster.hosts).
        #[arg(long)]
        hosts: Option<PathBuf>,
        /// Print the effective configuration (secrets masked) and exit.
        #[arg(long)]
        print_config: bool,
        /// Check the configuration (every layer, and the values) and exit.
        #[arg(long)]
        check_config: bool,
    },
    /// Make a synthetic match, analyse it with the built-in plugins and write every view.
    Demo {
        /// The output directory (created; must be empty or an earlier reeltime output).
        #[arg(long, default_value = "reeltime-demo")]
        out: PathBuf,
        /// Do not show progress.
        #[arg(long)]
        quiet: bool,
        /// Then serve the demo with the HTTP API and the console (the embedded service over
        /// the demo's log, until Ctrl-C).
        #[arg(long)]
        serve: bool,
        /// With --serve: the address, HOST:PORT (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8080", requires = "serve")]
        listen: String,
        /// Then play the demo's log live into a running service: each chunk's records when
        /// the match's clock reaches the chunk's end (to --api, or to the topics of --brokers;
        /// the token, if any, from REELTIME__SERVICE__TOKEN).
        #[arg(long, conflicts_with = "serve")]
        live: bool,
        /// With --live: times real time.
        #[arg(long, default_value_t = 1.0, requires = "live")]
        speed: f64,
        /// With --live: the service's address.
        #[arg(long, default_value = "http://127.0.0.1:8080", requires = "live")]
        api: String,
        /// With --live: publish to the Kafka input topics of these brokers instead (topic
        /// prefix from REELTIME__KAFKA__TOPIC_PREFIX, default `reeltime.`).
        #[arg(long, requires = "live")]
        brokers: Option<String>,
    },
    /// Highlights of a video file, a folder of chunks, an HLS playlist or a live stream.
    Highlights {
        /// The video file, folder of .ts/.mp4 chunks, HLS playlist (.m3u8), or live MPEG-TS
        /// stream (udp://HOST:PORT, srt://HOST:PORT?mode=listener).
        input: PathBuf,
        /// Length of the highlights, in seconds (1..10000).
        #[arg(long)]
        duration: f64,
        /// The output directory (created; must be empty or an earlier reeltime output).
        #[arg(long)]
        out: PathBuf,
        /// What to rank first, as ATTRIBUTE[=VALUE][:WEIGHT] (repeat for several), e.g.
        /// `Excitement=high:90`; by default high excitement, then medium.
        #[arg(long)]
        priority: Vec<String>,
        /// Resolutions to render: 360p, 480p, 720p, 1080p, 1:1, 4:5, 9:16 (repeat or separate
        /// with commas; default 720p).
        #[arg(long, value_delimiter = ',')]
        resolution: Vec<String>,
        /// With a live stream: seconds without data that end it (default 10).
        #[arg(long)]
        silence: Option<f64>,
        /// For a file whose codecs must be converted: libx264's preset (default veryfast).
        #[arg(long)]
        convert_preset: Option<String>,
        /// For a file whose codecs must be converted: libx264's CRF, 0..51 (default 20).
        #[arg(long)]
        convert_crf: Option<u8>,
        /// Do not show progress.
        #[arg(long)]
        quiet: bool,
    },
    /// Analyse an event's media into a running service as it arrives: a live stream
    /// (udp://HOST:PORT, srt://HOST:PORT?mode=listener), or a video file, folder of chunks or
    /// HLS playlist; each chunk's record is sent as soon as the chunk is cut and what the
    /// plugins found in it once analysed, so the service's catch-up replays grow while the
    /// stream plays.
    Ingest {
        /// The live MPEG-TS stream, video file, folder of .ts/.mp4 chunks or HLS playlist.
        input: PathBuf,
        /// The event's id (default from the file name; `live-stream` for a stream).
        #[arg(long)]
        event_id: Option<String>,
        /// The event's title (default its id).
        #[arg(long)]
        title: Option<String>,
        /// Also publish a catch-up replay of this many seconds (`EVENT-catchup`), ranked by
        /// excitement, rendered as MP4 and HLS in 720p.
        #[arg(long)]
        catchup: Option<f64>,
        /// Where the chunk files go (in a folder per event); the service renders from them,
        /// so it must be able to read this path.
        #[arg(long, default_value = "reeltime-chunks")]
        chunk_dir: PathBuf,
        /// Seconds per chunk (0.5..60).
        #[arg(long, default_value_t = 4.0)]
        chunk_size: f64,
        /// With a live stream: seconds without data that end it (default 10).
        #[arg(long)]
        silence: Option<f64>,
        /// The service's address (the token, if any, from REELTIME__SERVICE__TOKEN).
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
        /// Publish to the Kafka input topics of these brokers instead (topic prefix from
        /// REELTIME__KAFKA__TOPIC_PREFIX, default `reeltime.`).
        #[arg(long)]
        brokers: Option<String>,
        /// Do not show each chunk.
        #[arg(long)]
        quiet: bool,
    },
    /// Print the OpenAPI document of the HTTP API (`reeltime run`).
    Openapi,
    /// Print the JSON Schema of every record reeltime reads and writes.
    Schema,
    /// Manage reeltime's Kafka topics.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Publish a JSON Lines file to an input topic, after the checks the engine makes: invalid
    /// lines and records of another topic's types are reported (FILE:LINE: reason) and not
    /// published; the exit status is non-zero if any were.
    Publish {
        /// The topic: control, chunks, segments, detections, or a full name (PREFIX + short).
        #[arg(long)]
        topic: String,
        /// The records, one JSON object per line; `-` reads standard input.
        file: PathBuf,
        #[command(flatten)]
        kafka: KafkaArgs,
        /// Records larger than this are rejected, as the engine rejects them.
        #[arg(long, default_value_t = DEFAULT_MAX_RECORD_BYTES)]
        max_record_bytes: usize,
        /// Do not show progress.
        #[arg(long)]
        quiet: bool,
    },
}

/// `reeltime topics` commands.
#[derive(Subcommand)]
enum TopicsCommand {
    /// Create the topics (existing ones are kept, and reported with any difference from
    /// what reeltime would create).
    Create {
        #[command(flatten)]
        kafka: KafkaArgs,
        /// Partitions of chunks, segments, detections, clips, replays and notifications
        /// (control and dead-letter have 1).
        #[arg(long, default_value_t = DEFAULT_PARTITIONS,
              value_parser = clap::value_parser!(i32).range(1..))]
        partitions: i32,
        /// Replicas of each partition (default: the cluster's default.replication.factor).
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
        replication_factor: Option<i32>,
    },
}

/// Where the Kafka cluster is, for the commands that talk to it directly.
#[derive(Args)]
struct KafkaArgs {
    /// Bootstrap servers, HOST:PORT[,HOST:PORT...].
    #[arg(long, default_value = "127.0.0.1:9092")]
    brokers: String,
    /// Prefix of every topic name.
    #[arg(long, default_value = DEFAULT_TOPIC_PREFIX)]
    prefix: String,
    /// A librdkafka setting, KEY=VALUE (repeatable), e.g. `-X security.protocol=SASL_SSL`.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_setting)]
    setting: Vec<(String, String)>,
    /// Seconds to wait for the brokers to answer.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
}

impl KafkaArgs {
    fn settings(&self) -> ClientSettings {
        let mut settings = ClientSettings::new(self.brokers.clone());
        settings.extra.extend(self.setting.iter().cloned());
        settings
    }

    fn timeout(&self) -> anyhow::Result<Duration> {
        Duration::try_from_secs_f64(self.timeout)
            .with_context(|| format!("--timeout {}: not a number of seconds", self.timeout))
    }
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// `reeltime topics create`.
fn create_topics(
    kafka: &KafkaArgs,
    partitions: i32,
    replication: Option<i32>,
) -> anyhow::Result<()> {
    let options = CreateOptions {
        settings: kafka.settings(),
        prefix: kafka.prefix.clone(),
        partitions,
        replication_factor: replication,
        timeout: kafka.timeout()?,
    };
    let summary = create(&options, &mut std::io::stdout(), &mut std::io::stderr())?;
    println!(
        "{} topics created, {} existed{}",
        summary.created,
        summary.existed,
        match summary.warnings {
            0 => String::new(),
            n => format!(" ({n} warnings above)"),
        }
    );
    Ok(())
}

/// `reeltime publish`: fails when any line was rejected or not delivered.
fn publish_file(options: &PublishOptions) -> anyhow::Result<()> {
    let summary = publish(options)?;
    println!(
        "published {} records to {}, rejected {}{}",
        summary.published,
        summary.topic,
        summary.rejected,
        match summary.undelivered {
            0 => String::new(),
            n => format!(", {n} not delivered"),
        }
    );
    if summary.rejected > 0 || summary.undelivered > 0 {
        anyhow::bail!(
            "{} of the records of {} were not published (see the lines above)",
            summary.rejected + summary.undelivered,
            options.input.display()
        );
    }
    Ok(())
}

/// A format of `reeltime export`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// CMX 3600 EDLs (`.edl`).
    Edl,
    /// The JSON exports (`export.json`).
    Json,
    /// Arrow IPC files (`.arrow`).
    Arrow,
    /// Parquet files (`.parquet`).
    Parquet,
}

/// Rewrites the exports of the output directory `from` in `formats`: EDLs and JSON first,
/// since the tables are read from the JSON exports.
fn export(from: &Path, formats: &[FormatArg], options: ExportOptions) -> anyhow::Result<()> {
    let out = OutputDir::open(from)?;
    let rewrite = Rewrite {
        edl: formats.contains(&FormatArg::Edl),
        json: formats.contains(&FormatArg::Json),
    };
    let mut written = rewrite_exports(&out, options, rewrite)
        .with_context(|| format!("rewriting the exports of {:?}", out.root()))?;
    let tables: Vec<TableFormat> = formats
        .iter()
        .filter_map(|format| match format {
            FormatArg::Arrow => Some(TableFormat::Arrow),
            FormatArg::Parquet => Some(TableFormat::Parquet),
            FormatArg::Edl | FormatArg::Json => None,
        })
        .collect();
    if !tables.is_empty() {
        written.extend(
            write_tables(&out, &tables)
                .with_context(|| format!("writing tables to {:?}", out.root()))?,
        );
    }
    for path in written {
        println!("wrote {}", from.join(path).display());
    }
    Ok(())
}

/// `reeltime run`: loads the layered configuration, then runs (or prints it).
/// What `reeltime run` does with its configuration.
enum ConfigCheck {
    Run,
    Print,
    Check,
}

fn run_service(
    file: Option<&Path>,
    overrides: Vec<(&str, toml::Value)>,
    check: ConfigCheck,
) -> anyhow::Result<()> {
    let config = reeltime::config::load(file, std::env::vars(), overrides)?;
    match check {
        ConfigCheck::Run => {}
        ConfigCheck::Print => {
            reeltime::run::print_config(&config, file);
            return Ok(());
        }
        ConfigCheck::Check => {
            if let Some(cluster) = reeltime::cluster::cluster(&config.cluster)? {
                println!(
                    "cluster of {} processes: {}",
                    cluster.processes(),
                    cluster.addresses.join(", ")
                );
            }
            println!("the configuration is valid ({:?} log)", config.service.log);
            return Ok(());
        }
    }
    if config.service.log == reeltime::config::LogKind::Embedded {
        let summary = reeltime::service::serve(&config, print_address)?;
        println!(
            "rebuilt from {} records; accepted {} new records, rejected {}; {} epochs",
            summary.rebuilt, summary.accepted, summary.rejected, summary.epochs
        );
        println!("wrote {}", config.output.dir.display());
        return Ok(());
    }
    let summary = reeltime::run::run(&config, print_address)?;
    if config.cluster.process_index > 0 {
        println!(
            "process {} of {} stopped with the cluster; process 0 has the summary",
            config.cluster.process_index, config.cluster.processes
        );
        return Ok(());
    }
    println!(
        "rebuilt from {} records; accepted {} new records, rejected {}; published {} messages in {} transactions",
        summary.rebuilt, summary.accepted, summary.rejected, summary.published, summary.transactions
    );
    let t = &summary.timings;
    if t.epochs > 0 {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let over = if t.summarised < t.epochs {
            format!(" of the last {}", t.summarised)
        } else {
            String::new()
        };
        println!(
            "{} live epochs, median / p99 ms{over}: dataflow {:.1} / {:.1}, waiting for the sink {:.1} / {:.1}, published {:.1} / {:.1}, recorded {:.1} / {:.1}",
            t.epochs,
            ms(t.dataflow.0),
            ms(t.dataflow.1),
            ms(t.sink_wait.0),
            ms(t.sink_wait.1),
            ms(t.publish.0),
            ms(t.publish.1),
            ms(t.record.0),
            ms(t.record.1)
        );
    }
    println!("wrote {}", config.output.dir.display());
    Ok(())
}

/// Plays the demo's log in `out` live, to the service at `api` or to the topics of
/// `brokers`.
fn play_live(
    out: &Path,
    speed: f64,
    api: &str,
    brokers: Option<&str>,
    progress: bool,
) -> anyhow::Result<()> {
    let writer = service_writer(api, brokers)?;
    let summary =
        reeltime::playout::play(&out.join("demo-log.jsonl"), speed, writer.as_ref(), progress)?;
    println!(
        "played {} chunks ({} records) live in {:.1} s",
        summary.chunks,
        summary.records,
        summary.elapsed.as_secs_f64()
    );
    Ok(())
}

/// Where `demo --live` and `ingest` send records: the service at `api`, or the input topics
/// of `brokers`.
fn service_writer(
    api: &str,
    brokers: Option<&str>,
) -> anyhow::Result<Box<dyn reeltime::serve::api::RecordWriter>> {
    let token = std::env::var("REELTIME__SERVICE__TOKEN").ok().filter(|t| !t.is_empty());
    Ok(match brokers {
        Some(brokers) => {
            let settings =
                ClientSettings { brokers: brokers.to_owned(), extra: Default::default() };
            let prefix = std::env::var("REELTIME__KAFKA__TOPIC_PREFIX")
                .unwrap_or_else(|_| DEFAULT_TOPIC_PREFIX.to_owned());
            Box::new(reeltime::serve::kafka_writer::KafkaWriter::connect(
                &settings,
                &reeltime_connectors::kafka::TopicNames::new(&prefix),
                DEFAULT_MAX_RECORD_BYTES,
                Duration::from_secs(30),
            )?)
        }
        None => Box::new(reeltime::playout::ApiWriter::new(api, token)),
    })
}

/// `reeltime ingest`: the media analysed into the service, then what was sent and how soon.
fn run_ingest(
    options: &reeltime::live_ingest::IngestOptions,
    api: &str,
    brokers: Option<&str>,
) -> anyhow::Result<()> {
    use reeltime::live_ingest::{ingest, IngestReport};
    let writer = service_writer(api, brokers)?;
    let report = ingest(options, writer.as_ref())?;
    print_analysis(&report.analysis);
    println!(
        "sent {} records of event {} to {}",
        report.records,
        report.event_id,
        brokers.map_or_else(|| api.to_owned(), |b| format!("the topics at {b}"))
    );
    if let (Some(chunk), Some(found)) = (
        IngestReport::percentiles(&report.chunk_latency),
        IngestReport::percentiles(&report.findings_latency),
    ) {
        println!(
            "from a chunk's cut, median / p95 ms: its chunk record durable {:.1} / {:.1}, what the plugins found in it {:.1} / {:.1}",
            chunk.0, chunk.1, found.0, found.1
        );
    }
    Ok(())
}

/// Says where the HTTP API and the console are, once the server listens.
fn print_address(address: std::net::SocketAddr) {
    eprintln!("reeltime run: serving http://{address} (console at http://{address}/)");
}

/// Prints what the analysis of an event's media did.
fn print_analysis(analysis: &LogSummary) {
    println!(
        "analysed {} chunks ({:.1} s of media) in {:.1} s: {} detections, {} segments{}",
        analysis.chunks,
        analysis.media_ms as f64 / 1000.0,
        analysis.elapsed.as_secs_f64(),
        analysis.detections,
        analysis.segments,
        if analysis.failures.is_empty() {
            String::new()
        } else {
            format!("; {} chunks failed (see the warnings above)", analysis.failures.len())
        }
    );
}

/// Prints what the dataflow run did, and what was rendered.
fn print_processed(summary: &Summary) {
    println!(
        "processed {} records: {} events, {} segments, {} replays",
        summary.accepted, summary.events, summary.segments, summary.replays
    );
    print_rendered(summary);
}

/// Prints what was rendered.
fn print_rendered(summary: &Summary) {
    let r = &summary.rendered;
    let failed = |n: u64| {
        if n > 0 {
            format!(" ({n} failed, see the warnings above)")
        } else {
            String::new()
        }
    };
    println!(
        "rendered {} clips{} and {} replay videos{}",
        r.clips,
        failed(r.failed_clips),
        r.replays,
        failed(r.failed_replays)
    );
}

/// Runs `reeltime demo` and says what it made.
fn demo(out: &Path, progress: bool) -> anyhow::Result<()> {
    let report = reeltime::demo::demo(out, progress)?;
    println!(
        "made the synthetic match in {:.1} s: {}",
        report.synth_seconds,
        report.media.display()
    );
    print_analysis(&report.analysis);
    print_processed(&report.processed);
    println!("event log: {}", report.log.display());
    for replay in [reeltime::demo::CATCHUP_REPLAY, reeltime::demo::AFTER_EVENT_REPLAY] {
        let folder = out.join("replays").join(replay);
        println!("replay: {}", folder.join("selection.json").display());
        println!("  video: {}", folder.join("720p").join("replay.mp4").display());
        println!("  HLS:   {}", folder.join("master.m3u8").display());
    }
    let event = out.join("events").join(reeltime::demo::EVENT_ID);
    println!("segments: {}", event.join("segments.json").display());
    println!("clips: {}", event.join("clips").display());
    println!("event playlist: {}", event.join("event-1.m3u8").display());
    println!("wrote {}", out.display());
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Process {
            log,
            out,
            workers,
            epoch_records,
            max_record_bytes,
            quiet,
            drop_frame,
            render,
            reencode_clips,
        } => {
            let options = ProcessOptions {
                log,
                out,
                workers,
                epoch_records,
                max_record_bytes,
                progress: !quiet,
                export: ExportOptions { drop_frame },
                render: render.then(|| RenderConfig { reencode_clips, ..RenderConfig::default() }),
            };
            process(&options).map(|summary| {
                println!(
                    "accepted {} records, rejected {}{}",
                    summary.accepted,
                    summary.rejected,
                    if summary.rejected > 0 { " (see dead-letter.jsonl)" } else { "" }
                );
                println!(
                    "{} events, {} segments, {} replays; {} notifications in {} epochs",
                    summary.events,
                    summary.segments,
                    summary.replays,
                    summary.notifications,
                    summary.epochs
                );
                if options.render.is_some() {
                    print_rendered(&summary);
                }
                println!(
                    "wrote {} in {:.2} s",
                    options.out.display(),
                    summary.elapsed.as_secs_f64()
                );
            })
        }
        Command::Export { from, format, drop_frame } => {
            export(&from, &format, ExportOptions { drop_frame })
        }
        Command::Run {
            config,
            data_dir,
            brokers,
            listen,
            out,
            until_idle,
            workers,
            processes,
            process_index,
            hosts,
            print_config,
            check_config,
        } => {
            let text = |value: String| toml::Value::String(value);
            let mut overrides = Vec::new();
            if let Some(dir) = data_dir {
                overrides.push(("service.log", text("embedded".into())));
                overrides.push(("service.data_dir", text(dir.display().to_string())));
            }
            if let Some(brokers) = brokers {
                overrides.push(("service.log", text("kafka".into())));
                overrides.push(("kafka.brokers", text(brokers)));
            }
            if let Some(listen) = listen {
                overrides.push(("service.listen", text(listen)));
            }
            if let Some(out) = out {
                overrides.push(("output.dir", text(out.display().to_string())));
            }
            if let Some(seconds) = until_idle {
                overrides.push(("engine.until_idle_seconds", toml::Value::Float(seconds)));
            }
            if let Some(workers) = workers {
                overrides.push(("engine.workers", toml::Value::Integer(workers as i64)));
            }
            if let Some(processes) = processes {
                overrides.push(("cluster.processes", toml::Value::Integer(processes as i64)));
            }
            if let Some(index) = process_index {
                overrides.push(("cluster.process_index", toml::Value::Integer(index as i64)));
            }
            if let Some(hosts) = hosts {
                overrides.push(("cluster.hosts", text(hosts.display().to_string())));
            }
            let check = if check_config {
                ConfigCheck::Check
            } else if print_config {
                ConfigCheck::Print
            } else {
                ConfigCheck::Run
            };
            run_service(config.as_deref(), overrides, check)
        }
        Command::Demo { out, quiet, serve, listen, live, speed, api, brokers } => {
            demo(&out, !quiet).and_then(|()| {
                if live {
                    return play_live(&out, speed, &api, brokers.as_deref(), !quiet);
                }
                if !serve {
                    return Ok(());
                }
                let summary = reeltime::demo::serve(&out, &listen, print_address)?;
                println!("served {} epochs; wrote {}", summary.epochs, out.display());
                Ok(())
            })
        }
        Command::Highlights {
            input,
            duration,
            out,
            priority,
            resolution,
            silence,
            convert_preset,
            convert_crf,
            quiet,
        } => {
            let options = HighlightsOptions {
                input,
                duration_seconds: duration,
                out,
                priorities: priority,
                resolutions: resolution,
                silence_seconds: silence,
                convert_preset,
                convert_crf,
                progress: !quiet,
            };
            highlights(&options).map(|report| {
                print_analysis(&report.analysis);
                print_processed(&report.processed);
                if let Some(why) = reeltime::highlights::nothing_found(&report.analysis) {
                    println!("{why}");
                }
                println!("event log: {}", report.log.display());
                println!("highlights: {}", report.selection.display());
                println!("wrote {}", options.out.display());
            })
        }
        Command::Ingest {
            input,
            event_id,
            title,
            catchup,
            chunk_dir,
            chunk_size,
            silence,
            api,
            brokers,
            quiet,
        } => {
            let options = reeltime::live_ingest::IngestOptions {
                input,
                event_id,
                title,
                chunk_dir,
                chunk_seconds: chunk_size,
                silence_seconds: silence,
                catchup_seconds: catchup,
                progress: !quiet,
            };
            run_ingest(&options, &api, brokers.as_deref())
        }
        Command::Openapi => {
            let text = serde_json::to_string_pretty(&reeltime::serve::openapi::document())
                .expect("the OpenAPI document serializes");
            println!("{text}");
            Ok(())
        }
        Command::Schema => {
            let text = serde_json::to_string_pretty(&reeltime_schemas::schema::document())
                .expect("the schema serializes");
            println!("{text}");
            Ok(())
        }
        Command::Topics {
            command: TopicsCommand::Create { kafka, partitions, replication_factor },
        } => create_topics(&kafka, partitions, replication_factor),
        Command::Publish { topic, file, kafka, max_record_bytes, quiet } => {
            kafka.timeout().and_then(|timeout| {
                publish_file(&PublishOptions {
                    input: file,
                    topic,
                    settings: kafka.settings(),
                    prefix: kafka.prefix.clone(),
                    max_record_bytes,
                    timeout,
                    progress: !quiet,
                })
            })
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
