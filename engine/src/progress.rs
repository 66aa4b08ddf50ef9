//! Progress of long work: a line redrawn in place on a terminal, or a log line every few
//! seconds otherwise. Nothing is shown for work that ends within a moment.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How long work runs before progress is shown.
const QUIET_FOR: Duration = Duration::from_secs(1);

/// Reports progress of work measured in bytes, on standard error.
pub struct Progress {
    what: String,
    total_bytes: u64,
    started: Instant,
    last_shown: Option<Instant>,
    terminal: bool,
    enabled: bool,
}

impl Progress {
    /// Starts reporting on `what`, which is `total_bytes` long (0: unknown, as for a pipe);
    /// `enabled: false` stays silent.
    pub fn new(what: impl Into<String>, total_bytes: u64, enabled: bool) -> Self {
        Progress {
            what: what.into(),
            total_bytes,
            started: Instant::now(),
            last_shown: None,
            terminal: std::io::stderr().is_terminal(),
            enabled,
        }
    }

    /// Notes that `done_bytes` and `records` are done; shows it if it is time to.
    pub fn update(&mut self, done_bytes: u64, records: u64) {
        if !self.enabled || self.started.elapsed() < QUIET_FOR {
            return;
        }
        let every = if self.terminal { Duration::from_millis(250) } else { Duration::from_secs(5) };
        if self.last_shown.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last_shown = Some(Instant::now());
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = records as f64 / seconds.max(1e-9);
        let line = if self.total_bytes == 0 {
            format!("{}: {records} records, {rate:.0} records/s", self.what)
        } else {
            let percent = 100.0 * done_bytes as f64 / self.total_bytes as f64;
            format!("{}: {percent:5.1}% ({records} records, {rate:.0} records/s)", self.what)
        };
        let mut stderr = std::io::stderr().lock();
        // Progress is advisory: a closed stderr must not stop the work.
        let _ = if self.terminal {
            write!(stderr, "\r\x1b[2K{line}").and_then(|()| stderr.flush())
        } else {
            writeln!(stderr, "{line}")
        };
    }

    /// Writes a line of its own to standard error (shown even when progress is not): on a
    /// terminal the progress line is cleared first and drawn again at the next update.
    pub fn println(&mut self, line: &str) {
        let mut stderr = std::io::stderr().lock();
        if self.enabled && self.terminal && self.last_shown.is_some() {
            let _ = write!(stderr, "\r\x1b[2K");
            self.last_shown = None;
        }
        let _ = writeln!(stderr, "{line}");
    }

    /// Clears the progress line, if one is on a terminal.
    pub fn finish(&mut self) {
        if self.enabled && self.terminal && self.last_shown.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
