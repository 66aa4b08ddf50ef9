//! `/metrics`: the service's counters in Prometheus' text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::state::Served;

/// Upper bounds of the epoch duration histogram's buckets, in seconds.
const EPOCH_BUCKETS: [f64; 11] = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// The counters, updated by the API and the sink thread.
#[derive(Default)]
pub struct Metrics {
    api_accepted: AtomicU64,
    api_rejected: AtomicU64,
    log_accepted: AtomicU64,
    log_rejected: AtomicU64,
    views_out: AtomicU64,
    epochs: AtomicU64,
    /// Counts per bucket (the last one is +Inf), and the sum in microseconds.
    epoch_buckets: [AtomicU64; EPOCH_BUCKETS.len() + 1],
    epoch_sum_us: AtomicU64,
    renders_in_flight: AtomicU64,
    events: AtomicU64,
    segments: AtomicU64,
    replays: AtomicU64,
    subscribers: Arc<AtomicU64>,
}

/// Counts a change-stream subscriber while it lives.
pub struct Subscriber(Arc<AtomicU64>);

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the sink thread reports after an epoch.
#[derive(Clone, Copy, Debug, Default)]
pub struct EpochReport {
    /// Records of the epoch that entered the dataflow.
    pub accepted: u64,
    /// Records of the epoch that were dead-lettered.
    pub rejected: u64,
    /// Segment and replay views the epoch changed (what the outputs carry).
    pub views_out: u64,
    /// From the epoch's close to its views being served.
    pub duration: Duration,
    /// Renders queued or running.
    pub renders_in_flight: usize,
    /// Live events, segments and replays.
    pub views: (usize, usize, usize),
}

impl Metrics {
    /// Counts a write's records.
    pub fn api_records(&self, accepted: u64, rejected: u64) {
        self.api_accepted.fetch_add(accepted, Ordering::Relaxed);
        self.api_rejected.fetch_add(rejected, Ordering::Relaxed);
    }

    /// Counts an epoch.
    pub fn epoch(&self, report: EpochReport) {
        self.epochs.fetch_add(1, Ordering::Relaxed);
        self.log_accepted.fetch_add(report.accepted, Ordering::Relaxed);
        self.log_rejected.fetch_add(report.rejected, Ordering::Relaxed);
        self.views_out.fetch_add(report.views_out, Ordering::Relaxed);
        let seconds = report.duration.as_secs_f64();
        let bucket =
            EPOCH_BUCKETS.iter().position(|&le| seconds <= le).unwrap_or(EPOCH_BUCKETS.len());
        self.epoch_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.epoch_sum_us.fetch_add(report.duration.as_micros() as u64, Ordering::Relaxed);
        self.renders_in_flight.store(report.renders_in_flight as u64, Ordering::Relaxed);
        let (events, segments, replays) = report.views;
        self.events.store(events as u64, Ordering::Relaxed);
        self.segments.store(segments as u64, Ordering::Relaxed);
        self.replays.store(replays as u64, Ordering::Relaxed);
    }

    /// A subscriber, counted until dropped.
    pub fn subscriber(&self) -> Subscriber {
        self.subscribers.fetch_add(1, Ordering::Relaxed);
        Subscriber(self.subscribers.clone())
    }

    /// The text of `/metrics`; `accepted` is what the writer has taken so far.
    pub fn render(&self, served: &Served, accepted: u64) -> String {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let applied = served.read().applied;
        let mut text = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(text, "{name}{labels} {value}");
            }
        };
        metric(
            "reeltime_records_in_total",
            "counter",
            "Input records accepted, by source (api: by the write routes; log: into the dataflow).",
            &[
                ("{source=\"api\"}", get(&self.api_accepted)),
                ("{source=\"log\"}", get(&self.log_accepted)),
            ],
        );
        metric(
            "reeltime_records_rejected_total",
            "counter",
            "Input records refused, by source (api: by the write routes; log: dead-lettered).",
            &[
                ("{source=\"api\"}", get(&self.api_rejected)),
                ("{source=\"log\"}", get(&self.log_rejected)),
            ],
        );
        metric(
            "reeltime_views_out_total",
            "counter",
            "Segment and replay views changed by the epochs: the documents the outputs carry.",
            &[("", get(&self.views_out))],
        );
        metric(
            "reeltime_epoch_lag_records",
            "gauge",
            "Records accepted that the served views do not reflect yet.",
            &[("", accepted.saturating_sub(applied))],
        );
        metric("reeltime_epochs_total", "counter", "Epochs closed.", &[("", get(&self.epochs))]);
        metric(
            "reeltime_views",
            "gauge",
            "Live views, by kind.",
            &[
                ("{kind=\"event\"}", get(&self.events)),
                ("{kind=\"segment\"}", get(&self.segments)),
                ("{kind=\"replay\"}", get(&self.replays)),
            ],
        );
        metric(
            "reeltime_render_queue",
            "gauge",
            "Renders queued or running.",
            &[("", get(&self.renders_in_flight))],
        );
        metric(
            "reeltime_sse_subscribers",
            "gauge",
            "Open change streams (Server-Sent Events).",
            &[("", get(&self.subscribers))],
        );
        let _ = writeln!(
            text,
            "# HELP reeltime_epoch_duration_seconds From an epoch's close to its views being served.\n# TYPE reeltime_epoch_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (index, count) in self.epoch_buckets.iter().enumerate() {
            cumulative += get(count);
            let le = EPOCH_BUCKETS.get(index).map_or("+Inf".to_owned(), |le| le.to_string());
            let _ = writeln!(
                text,
                "reeltime_epoch_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = get(&self.epoch_sum_us) as f64 / 1e6;
        let _ = writeln!(text, "reeltime_epoch_duration_seconds_sum {sum}\nreeltime_epoch_duration_seconds_count {cumulative}");
        text
    }
}
