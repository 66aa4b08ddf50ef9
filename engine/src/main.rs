//! The `reeltime` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use reeltime::export::ExportOptions;
use reeltime::process::{process, ProcessOptions};
use reeltime::publish::{publish, PublishOptions};
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
    },
    /// Rebuild the tables (tables/*.arrow, tables/*.parquet) of an earlier output directory
    /// from its JSON exports (events/*/export.json, replays/*/export.json).
    Export {
        /// The output directory of an earlier `reeltime process`.
        #[arg(long)]
        from: PathBuf,
        /// The table formats to write (repeat or separate with commas).
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["arrow", "parquet"])]
        format: Vec<FormatArg>,
    },
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

/// A table format of `reeltime export`.
#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Arrow IPC files (`.arrow`).
    Arrow,
    /// Parquet files (`.parquet`).
    Parquet,
}

impl From<FormatArg> for TableFormat {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Arrow => TableFormat::Arrow,
            FormatArg::Parquet => TableFormat::Parquet,
        }
    }
}

/// Writes the tables of the output directory `from` in `formats`.
fn export(from: &Path, formats: &[FormatArg]) -> anyhow::Result<()> {
    let out = OutputDir::open(from)?;
    let formats: Vec<TableFormat> = formats.iter().map(|&f| f.into()).collect();
    let written = write_tables(&out, &formats)
        .with_context(|| format!("writing tables to {:?}", out.root()))?;
    for path in written {
        println!("wrote {}", from.join(path).display());
    }
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
        } => {
            let options = ProcessOptions {
                log,
                out,
                workers,
                epoch_records,
                max_record_bytes,
                progress: !quiet,
                export: ExportOptions { drop_frame },
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
                println!(
                    "wrote {} in {:.2} s",
                    options.out.display(),
                    summary.elapsed.as_secs_f64()
                );
            })
        }
        Command::Export { from, format } => export(&from, &format),
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
