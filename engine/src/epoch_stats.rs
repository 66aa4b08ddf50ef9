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
//! ([`TimingSummary`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

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

/// The median and 99th percentile of each step over a run's live epochs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimingSummary {
    /// Live epochs.
    pub epochs: usize,
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
}
