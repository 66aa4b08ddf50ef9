//! `reeltime topics create`: makes reeltime's topics on a Kafka cluster, or checks them.
//!
//! Idempotent: topics that exist are left alone and reported, with a warning for each way
//! they differ from what reeltime would create (see `reeltime_connectors::kafka::admin` for
//! the partitions and configuration of each topic).

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};

use reeltime_connectors::kafka::admin::{topic_specs, Admin, TopicOutcome};
use reeltime_connectors::kafka::{ClientSettings, TopicNames};

/// Settings of one `topics create`.
#[derive(Clone, Debug)]
pub struct CreateOptions {
    /// Where the brokers are.
    pub settings: ClientSettings,
    /// The topic name prefix.
    pub prefix: String,
    /// Partitions of the per-event inputs and the keyed outputs.
    pub partitions: i32,
    /// Replicas of each partition; `None` takes the cluster's default.
    pub replication_factor: Option<i32>,
    /// How long to wait for the brokers' answers.
    pub timeout: Duration,
}

/// What `topics create` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateSummary {
    /// Topics created.
    pub created: usize,
    /// Topics that existed.
    pub existed: usize,
    /// Warnings about existing topics that differ from the spec.
    pub warnings: usize,
}

/// Creates the topics of `options`, writing one line per topic to `out` and the warnings to
/// `warn`.
pub fn create(
    options: &CreateOptions,
    out: &mut impl Write,
    warn: &mut impl Write,
) -> Result<CreateSummary> {
    let names = TopicNames::new(options.prefix.clone());
    let specs = topic_specs(&names, options.partitions)?;
    let admin = Admin::new(&options.settings, options.timeout)?;
    let reports = admin.create_topics(&specs, options.replication_factor)?;
    let mut summary = CreateSummary::default();
    for (report, spec) in reports.iter().zip(&specs) {
        let settings: Vec<String> =
            spec.config.iter().map(|(key, value)| format!("{key}={value}")).collect();
        match &report.outcome {
            TopicOutcome::Created => {
                summary.created += 1;
                let plural = if spec.partitions == 1 { "" } else { "s" };
                writeln!(
                    out,
                    "created {}: {} partition{plural}, {}",
                    report.name,
                    spec.partitions,
                    settings.join(", ")
                )?;
            }
            TopicOutcome::Existed { warnings } => {
                summary.existed += 1;
                summary.warnings += warnings.len();
                writeln!(out, "exists  {}", report.name)?;
                for warning in warnings {
                    writeln!(warn, "warning: topic {} {warning}", report.name)?;
                }
            }
        }
    }
    out.flush().context("writing the report")?;
    warn.flush().context("writing the warnings")?;
    Ok(summary)
}
