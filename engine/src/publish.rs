//! `reeltime publish`: a JSON Lines file (or standard input) onto an input topic.
//!
//! Each line is checked as the engine checks a message (`reeltime_connectors::kafka::publish`),
//! and as a line of an event log: blank lines are skipped, and line numbers count every line.
//! Valid records are sent in file order; a rejected line is reported on standard error as
//! `FILE:LINE: reason` and is never sent. The run ends when the broker has acknowledged every
//! record sent, or given up on some (each reported with its line number).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use reeltime_connectors::kafka::publish::{input_topic, Publisher};
use reeltime_connectors::kafka::{ClientSettings, TopicNames};
use reeltime_connectors::log_file::LogFile;

use crate::progress::Progress;

/// Settings of one `publish`.
#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// The JSON Lines file; `-` reads standard input.
    pub input: PathBuf,
    /// The topic: a short name (`detections`) or a full one (`reeltime.detections`).
    pub topic: String,
    /// Where the brokers are.
    pub settings: ClientSettings,
    /// The topic name prefix.
    pub prefix: String,
    /// Records larger than this many bytes are rejected, as the engine rejects them.
    pub max_record_bytes: usize,
    /// How long to wait for the brokers' first answer.
    pub timeout: Duration,
    /// Show progress on standard error for runs that take more than a moment.
    pub progress: bool,
}

/// What a publish did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublishSummary {
    /// The full name of the topic.
    pub topic: String,
    /// Records the broker acknowledged.
    pub published: u64,
    /// Lines rejected before sending.
    pub rejected: u64,
    /// Records sent that the broker did not take.
    pub undelivered: u64,
}

/// Publishes the lines of `options.input` to the topic, reporting rejects and failed
/// deliveries on standard error.
pub fn publish(options: &PublishOptions) -> Result<PublishSummary> {
    let names = TopicNames::new(options.prefix.clone());
    let topic = input_topic(&names, &options.topic)?;
    let (path, shown) = if options.input == Path::new("-") {
        // The log reader takes a path; standard input has one on Linux.
        (PathBuf::from("/dev/stdin"), "stdin".to_owned())
    } else {
        (options.input.clone(), options.input.display().to_string())
    };
    let log = LogFile::open(&path)?;
    let publisher = Publisher::connect(
        &options.settings,
        &names,
        topic,
        options.max_record_bytes,
        options.timeout,
    )?;
    let mut summary =
        PublishSummary { topic: publisher.topic_name().to_owned(), ..PublishSummary::default() };
    // A pipe has size 0: progress then counts records only.
    let mut progress = Progress::new(
        format!("publishing {shown} to {}", summary.topic),
        log.size(),
        options.progress,
    );
    let mut sent = 0;
    for line in log.lines()? {
        let line = line?;
        match publisher.check(&line.bytes) {
            Ok(valid) => {
                publisher.send(line.number, &valid)?;
                sent += 1;
            }
            Err(rejection) => {
                summary.rejected += 1;
                progress.println(&format!("{shown}:{}: {rejection}", line.number));
            }
        }
        progress.update(line.offset, sent + summary.rejected);
    }
    let delivered =
        publisher.finish().with_context(|| format!("publishing {shown} to {}", summary.topic))?;
    progress.finish();
    for failure in &delivered.failures {
        progress
            .println(&format!("{shown}:{}: not delivered: {}", failure.position, failure.reason));
    }
    summary.published = delivered.acknowledged;
    summary.undelivered = delivered.failures.len() as u64;
    Ok(summary)
}
