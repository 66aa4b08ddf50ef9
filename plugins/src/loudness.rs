//! Crowd excitement from loudness: roars above the event's own running baseline.
//!
//! Input is EBU R128 momentary loudness (400 ms window) every 100 ms, from FFmpeg's `ebur128`
//! filter. The baseline is the median momentary loudness of the last minute outside roars,
//! so a loud stadium and a quiet one are judged against themselves. A roar starts when the
//! loudness rises `threshold_lu` above the baseline and ends when it falls back below it by
//! a further 3 LU (hysteresis, so one roar is not split in two); roars shorter than
//! `min_duration_ms` (a whistle, a shout) are dropped. Times are corrected for the 400 ms
//! window, which lags the sound.
//!
//! The same tracker judges any level in decibels against its own baseline: the video
//! analysis feeds it the motion energy of the picture ([`LoudnessTracker::with_window`]), so
//! a burst of motion in a silent source is found as a roar is.

use std::collections::VecDeque;

/// Length of the momentary loudness window, in milliseconds.
const WINDOW_MS: u64 = 400;
/// Momentary values below this are silence, not crowd (EBU R128's absolute gate).
const ABSOLUTE_GATE_LUFS: f64 = -70.0;
/// How far below the start threshold the loudness must fall to end a roar, in LU.
const HYSTERESIS_LU: f64 = 3.0;
/// Baseline samples (of 100 ms) needed before roars are judged: 3 s.
const WARM_UP_SAMPLES: usize = 30;

/// Settings of the roar detector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoudnessConfig {
    /// How far above the baseline a roar starts, in LU.
    pub threshold_lu: f64,
    /// Roars of at least this many LU above the baseline are `high` excitement, others `medium`.
    pub high_lu: f64,
    /// Shortest roar, in milliseconds.
    pub min_duration_ms: u64,
    /// How much of the recent past the baseline is the median of, in milliseconds.
    pub baseline_window_ms: u64,
}

impl Default for LoudnessConfig {
    fn default() -> Self {
        LoudnessConfig {
            threshold_lu: 10.0,
            high_lu: 25.0,
            min_duration_ms: 1_000,
            baseline_window_ms: 60_000,
        }
    }
}

/// A roar of the crowd.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roar {
    /// Start in event milliseconds.
    pub start_ms: u64,
    /// End in event milliseconds.
    pub end_ms: u64,
    /// Highest momentary loudness, in LUFS.
    pub peak_lufs: f64,
    /// The baseline it was judged against, in LUFS.
    pub baseline_lufs: f64,
    /// Whether it reached `high_lu` above the baseline.
    pub high: bool,
}

impl Roar {
    /// How far its peak is above the baseline, in LU.
    pub fn excitement_lu(&self) -> f64 {
        self.peak_lufs - self.baseline_lufs
    }
}

/// What the detector found in one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LoudnessEvent {
    /// A roar has lasted `min_duration_ms`: it is real and still going.
    RoarConfirmed {
        /// Its start in event milliseconds.
        start_ms: u64,
    },
    /// A confirmed roar ended.
    RoarEnded(Roar),
}

/// A roar in progress.
#[derive(Clone, Copy, Debug)]
struct Current {
    start_ms: u64,
    peak_lufs: f64,
    baseline_lufs: f64,
    confirmed: bool,
}

/// The roar detector of one audio track, fed chunk after chunk.
#[derive(Debug)]
pub struct LoudnessTracker {
    config: LoudnessConfig,
    /// How far the measure lags what it measures, in milliseconds.
    window_ms: u64,
    /// Recent momentary values outside roars: (end ms, LUFS).
    recent: VecDeque<(u64, f64)>,
    current: Option<Current>,
    last_end_ms: u64,
}

impl LoudnessTracker {
    /// A tracker with `config`.
    pub fn new(config: LoudnessConfig) -> Self {
        Self::with_window(config, WINDOW_MS)
    }

    /// A tracker of a level (in dB) whose measure lags by `window_ms` (0 for one that does
    /// not, such as the difference between two frames).
    pub fn with_window(config: LoudnessConfig, window_ms: u64) -> Self {
        LoudnessTracker {
            config,
            window_ms,
            recent: VecDeque::new(),
            current: None,
            last_end_ms: 0,
        }
    }

    fn baseline(&self) -> Option<f64> {
        if self.recent.len() < WARM_UP_SAMPLES {
            return None;
        }
        let mut values: Vec<f64> = self.recent.iter().map(|&(_, v)| v).collect();
        values.sort_by(f64::total_cmp);
        Some(values[values.len() / 2])
    }

    /// Takes the momentary loudness `lufs` measured over the audio ending at `end_ms`.
    pub fn push(&mut self, start_ms: u64, end_ms: u64, lufs: f64) -> Option<LoudnessEvent> {
        self.last_end_ms = self.last_end_ms.max(end_ms);
        if let Some(mut current) = self.current {
            if lufs >= current.baseline_lufs + self.config.threshold_lu - HYSTERESIS_LU {
                current.peak_lufs = current.peak_lufs.max(lufs);
                let confirm = !current.confirmed
                    && end_ms.saturating_sub(self.window_ms)
                        >= current.start_ms + self.config.min_duration_ms;
                current.confirmed |= confirm;
                self.current = Some(current);
                return confirm
                    .then_some(LoudnessEvent::RoarConfirmed { start_ms: current.start_ms });
            }
            return self.end_roar(end_ms.saturating_sub(self.window_ms));
        }
        let baseline = self.baseline();
        match baseline {
            Some(baseline) if lufs >= baseline + self.config.threshold_lu => {
                self.current = Some(Current {
                    start_ms,
                    peak_lufs: lufs,
                    baseline_lufs: baseline,
                    confirmed: false,
                });
            }
            _ if lufs.is_finite() && lufs > ABSOLUTE_GATE_LUFS => {
                self.recent.push_back((end_ms, lufs));
                let horizon = end_ms.saturating_sub(self.config.baseline_window_ms);
                while self.recent.front().is_some_and(|&(t, _)| t < horizon) {
                    self.recent.pop_front();
                }
            }
            _ => {}
        }
        None
    }

    /// Ends the roar in progress at `end_ms`; reports it if it was confirmed.
    fn end_roar(&mut self, end_ms: u64) -> Option<LoudnessEvent> {
        let current = self.current.take()?;
        let end_ms = end_ms.max(current.start_ms);
        let long_enough = end_ms - current.start_ms >= self.config.min_duration_ms;
        (current.confirmed && long_enough).then_some(LoudnessEvent::RoarEnded(Roar {
            start_ms: current.start_ms,
            end_ms,
            peak_lufs: current.peak_lufs,
            baseline_lufs: current.baseline_lufs,
            high: current.peak_lufs - current.baseline_lufs >= self.config.high_lu,
        }))
    }

    /// Ends a roar still going at the end of the event's media.
    pub fn finish(&mut self) -> Option<LoudnessEvent> {
        let end = self.last_end_ms;
        self.end_roar(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `(from_ms, to_ms, lufs)` stretches in 100 ms steps; returns what was found.
    fn feed(tracker: &mut LoudnessTracker, stretches: &[(u64, u64, f64)]) -> Vec<LoudnessEvent> {
        let mut events = Vec::new();
        for &(from, to, lufs) in stretches {
            for start in (from..to).step_by(100) {
                events.extend(tracker.push(start, start + 100, lufs));
            }
        }
        events.extend(tracker.finish());
        events
    }

    #[test]
    fn a_roar_above_the_baseline_is_found_and_a_short_shout_is_not() {
        let mut tracker = LoudnessTracker::new(LoudnessConfig::default());
        let events = feed(
            &mut tracker,
            &[
                (0, 10_000, -40.0),
                (10_000, 10_500, -15.0),
                (10_500, 20_000, -40.0),
                (20_000, 26_000, -10.0),
                (26_000, 30_000, -40.0),
            ],
        );
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0], LoudnessEvent::RoarConfirmed { start_ms: 20_000 });
        let LoudnessEvent::RoarEnded(roar) = events[1] else { panic!("{events:?}") };
        assert_eq!((roar.start_ms, roar.end_ms), (20_000, 25_700));
        assert_eq!(roar.baseline_lufs, -40.0);
        assert!(roar.high);
    }

    #[test]
    fn the_baseline_follows_the_event_and_a_roar_at_the_end_is_closed() {
        let mut tracker = LoudnessTracker::new(LoudnessConfig::default());
        // A loud stadium: -20 LUFS is its normal; -12 is not a roar there, -5 is.
        let events = feed(
            &mut tracker,
            &[(0, 10_000, -20.0), (10_000, 15_000, -12.0), (15_000, 18_000, -5.0)],
        );
        assert_eq!(events.len(), 2, "{events:?}");
        let LoudnessEvent::RoarEnded(roar) = events[1] else { panic!("{events:?}") };
        assert_eq!((roar.start_ms, roar.end_ms), (15_000, 18_000));
        assert!(!roar.high);
        assert_eq!(roar.baseline_lufs, -20.0);
    }

    #[test]
    fn a_level_that_does_not_lag_ends_where_it_falls() {
        // Motion energy in dB, one value per 200 ms: no window to correct for.
        let mut tracker = LoudnessTracker::with_window(LoudnessConfig::default(), 0);
        let mut events = Vec::new();
        for (from, to, level) in
            [(0, 10_000, -20.0), (10_000, 14_000, 0.0), (14_000, 20_000, -20.0)]
        {
            for start in (from..to).step_by(200) {
                events.extend(tracker.push(start, start + 200, level));
            }
        }
        let ended: Vec<&LoudnessEvent> =
            events.iter().filter(|e| matches!(e, LoudnessEvent::RoarEnded(_))).collect();
        let [LoudnessEvent::RoarEnded(burst)] = ended[..] else { panic!("{events:?}") };
        assert_eq!((burst.start_ms, burst.end_ms), (10_000, 14_200));
    }
}
