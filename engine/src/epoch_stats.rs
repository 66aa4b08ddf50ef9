//! How long the live epochs of `reeltime run` took, step by step: what an operator looks at
//! to see where the time from a record's arrival to its outputs goes.
//!
//! Each live epoch has five moments, as wall-clock time: the last of its workers **closed**
//! it (stopped reading its input); the dataflow was through with it (**dataflow**); the sink
//! thread took its rows, **computed** (later than the dataflow when the sink was still busy
//! with the previous epoch); its Kafka transaction was **published** (committed); its logs and
//! the files due were **recorded**. With
//! `engine.epoch_stats_file` set, each epoch is appended to that file as one JSON line
//! ([`EpochTiming`]); the run's summary gives their medians and 99th percentiles
//! ([`TimingSummary`]) over the latest epochs ([`EpochStats`]).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Serialize;

/// How many of the latest live epochs a run's summary is taken over: a service runs for days
/// (20 epochs a second under load), and what it keeps for its summary must not grow with that.
pub const SUMMARY_WINDOW: usize = 100_000;

/// The moments of one live epoch, in microseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EpochTiming {
    /// The epoch.
    pub epoch: u64,
    /// Records it took in (accepted and rejected).
    pub records: u64,
    /// When the last worker closed it.
    pub closed_us: u64,
    /// When the dataflow was through with it.
    pub dataflow_us: u64,
    /// When the sink thread had its rows.
    pub computed_us: u64,
    /// When its transaction was committed (the same as `computed_us` when it had nothing to
    /// publish).
    pub published_us: u64,
    /// When its logs, and the files due, were written.
    pub recorded_us: u64,
}

/// Microseconds since the Unix epoch.
pub fn unix_us(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// The live epochs' timings of a run: each appended to `engine.epoch_stats_file` when one is
/// set, and the latest few kept for the run's summary.
#[derive(Debug)]
pub struct EpochStats {
    file: Option<BufWriter<File>>,
    window: usize,
    latest: VecDeque<EpochTiming>,
    epochs: usize,
}

impl EpochStats {
    /// Appends to the file at `path` (none when it is empty) and keeps the latest `window`
    /// epochs for the summary.
    pub fn open(path: &Path, window: usize) -> Result<EpochStats> {
        let file = if path.as_os_str().is_empty() {
            None
        } else {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening the epoch stats file {path:?}"))?;
            Some(BufWriter::new(file))
        };
        Ok(EpochStats { file, window, latest: VecDeque::new(), epochs: 0 })
    }

    /// Records one live epoch.
    pub fn record(&mut self, timing: EpochTiming) -> Result<()> {
        if let Some(file) = self.file.as_mut() {
            serde_json::to_writer(&mut *file, &timing)?;
            file.write_all(b"\n")?;
            file.flush()?;
        }
        if self.latest.len() == self.window {
            self.latest.pop_front();
        }
        self.latest.push_back(timing);
        self.epochs += 1;
        Ok(())
    }

    /// The summary of the latest epochs, with how many there were in all.
    pub fn summary(&mut self) -> TimingSummary {
        TimingSummary { epochs: self.epochs, ..TimingSummary::of(self.latest.make_contiguous()) }
    }
}

/// The median and 99th percentile of each step over a run's live epochs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimingSummary {
    /// Live epochs.
    pub epochs: usize,
    /// The latest epochs the percentiles are taken over.
    pub summarised: usize,
    /// Closed to through the dataflow, median and p99.
    pub dataflow: (Duration, Duration),
    /// Through the dataflow to taken by the sink: the wait for the sink, busy with the epoch
    /// before.
    pub sink_wait: (Duration, Duration),
    /// Computed to published: the Kafka transaction.
    pub publish: (Duration, Duration),
    /// Published to recorded: the logs and files.
    pub record: (Duration, Duration),
}

impl TimingSummary {
    /// The summary of some epochs.
    pub fn of(timings: &[EpochTiming]) -> TimingSummary {
        let step = |from: fn(&EpochTiming) -> u64, to: fn(&EpochTiming) -> u64| {
            let mut steps: Vec<u64> =
                timings.iter().map(|t| to(t).saturating_sub(from(t))).collect();
            steps.sort_unstable();
            (percentile(&steps, 50), percentile(&steps, 99))
        };
        TimingSummary {
            epochs: timings.len(),
            summarised: timings.len(),
            dataflow: step(|t| t.closed_us, |t| t.dataflow_us),
            sink_wait: step(|t| t.dataflow_us, |t| t.computed_us),
            publish: step(|t| t.computed_us, |t| t.published_us),
            record: step(|t| t.published_us, |t| t.recorded_us),
        }
    }
}

/// The `p`th percentile (nearest rank) of sorted microseconds.
fn percentile(sorted: &[u64], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p).div_ceil(100).clamp(1, sorted.len());
    Duration::from_micros(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(epoch: u64, compute_us: u64, publish_us: u64) -> EpochTiming {
        EpochTiming {
            epoch,
            records: 1,
            closed_us: 1_000,
            dataflow_us: 1_000 + compute_us / 2,
            computed_us: 1_000 + compute_us,
            published_us: 1_000 + compute_us + publish_us,
            recorded_us: 1_000 + compute_us + publish_us + 10,
        }
    }

    #[test]
    fn summarises_each_step_by_median_and_p99() {
        let timings: Vec<EpochTiming> = (0..100).map(|i| timing(i, i + 1, 2 * (i + 1))).collect();
        let summary = TimingSummary::of(&timings);
        assert_eq!(summary.epochs, 100);
        assert_eq!(summary.dataflow, (Duration::from_micros(25), Duration::from_micros(49)));
        assert_eq!(summary.sink_wait, (Duration::from_micros(25), Duration::from_micros(50)));
        assert_eq!(summary.publish, (Duration::from_micros(100), Duration::from_micros(198)));
        assert_eq!(summary.record, (Duration::from_micros(10), Duration::from_micros(10)));
        assert_eq!(TimingSummary::of(&[]), TimingSummary::default());
    }

    #[test]
    fn keeps_the_latest_epochs_for_the_summary_and_appends_every_one_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("epochs.jsonl");
        let mut stats = EpochStats::open(&path, 10).unwrap();
        for i in 0..100 {
            stats.record(timing(i, i + 1, 1)).unwrap();
        }
        let summary = stats.summary();
        assert_eq!((summary.epochs, summary.summarised), (100, 10));
        // The latest ten compute for 91..=100 µs.
        assert_eq!(summary.sink_wait, (Duration::from_micros(48), Duration::from_micros(50)));
        let lines = std::fs::read_to_string(&path).unwrap();
        assert_eq!(lines.lines().count(), 100);
        let last: serde_json::Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
        assert_eq!(last["epoch"], 99);

        let mut nowhere = EpochStats::open(Path::new(""), 10).unwrap();
        nowhere.record(timing(0, 1, 1)).unwrap();
        assert_eq!(nowhere.summary().epochs, 1);
    }
}
