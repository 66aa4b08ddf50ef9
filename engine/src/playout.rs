//! `reeltime demo --live`: the demo's event log played as a live broadcast would arrive.
//!
//! A chunk is complete only at its end, so each `chunk` record, with the records that follow
//! it in the log (what the plugins found in it), is sent when the match's clock reaches the
//! chunk's end: one chunk every chunk length, or `speed` times faster. The records before the
//! first chunk (profile, event, replays) are sent at once. Catch-up replays then grow as they
//! would during a real match.
//!
//! The records go to a running service through its API ([`ApiWriter`]), which appends them
//! to its embedded log or publishes them to its topics, or straight to the Kafka input topics
//! ([`crate::serve::kafka_writer::KafkaWriter`]).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::serve::api::RecordWriter;

/// Records sent together, when the match's clock reaches `due_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// Milliseconds of match time after which the records exist.
    pub due_ms: u64,
    /// The records, as log lines.
    pub records: Vec<String>,
}

/// The arrivals of an event log: the records before the first chunk at 0, then each chunk
/// with the records after it, at the chunk's end.
pub fn arrivals(lines: &[String]) -> Result<Vec<Arrival>> {
    let mut arrivals = vec![Arrival { due_ms: 0, records: Vec::new() }];
    for (number, line) in lines.iter().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let record: Value = serde_json::from_str(line)
            .with_context(|| format!("line {} of the log is not JSON", number + 1))?;
        if record.get("type").and_then(Value::as_str) == Some("chunk") {
            let seconds = |field: &str| record.get(field).and_then(Value::as_f64).unwrap_or(0.0);
            let end = seconds("start") + seconds("duration");
            let due_ms = (end * 1000.0).round() as u64;
            arrivals.push(Arrival { due_ms, records: Vec::new() });
        }
        arrivals.last_mut().expect("one arrival at least").records.push(line.clone());
    }
    Ok(arrivals)
}

/// What a playout sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlayoutSummary {
    /// Chunks sent.
    pub chunks: usize,
    /// Records sent.
    pub records: usize,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// Plays the log at `log` into `writer`, `speed` times real time, saying each chunk on
/// standard error when `progress`.
pub fn play(
    log: &Path,
    speed: f64,
    writer: &dyn RecordWriter,
    progress: bool,
) -> Result<PlayoutSummary> {
    if !(speed > 0.0 && speed.is_finite()) {
        bail!("--speed must be a number above 0, not {speed}");
    }
    let text = std::fs::read_to_string(log).with_context(|| format!("reading {log:?}"))?;
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let arrivals = arrivals(&lines)?;
    let started = Instant::now();
    let mut summary = PlayoutSummary::default();
    for arrival in &arrivals {
        let due = Duration::from_secs_f64(arrival.due_ms as f64 / 1000.0 / speed);
        // Pacing is the point here: the records must not exist before their chunk ends.
        std::thread::sleep(due.saturating_sub(started.elapsed()));
        let records: Vec<Vec<u8>> =
            arrival.records.iter().map(|line| line.as_bytes().to_vec()).collect();
        writer.write(&records).with_context(|| {
            format!("sending the records of match time {:.1} s", arrival.due_ms as f64 / 1000.0)
        })?;
        summary.records += records.len();
        if arrival.due_ms > 0 {
            summary.chunks += 1;
            if progress {
                eprintln!(
                    "live: {:.0} s of the match sent ({} records so far)",
                    arrival.due_ms as f64 / 1000.0,
                    summary.records
                );
            }
        }
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Records written to a service's `POST /api/v1/records`.
pub struct ApiWriter {
    url: String,
    token: Option<String>,
    agent: ureq::Agent,
    accepted: AtomicU64,
}

impl ApiWriter {
    /// A writer to the service at `base` (`http://HOST:PORT`), with its token when it needs
    /// one.
    pub fn new(base: &str, token: Option<String>) -> ApiWriter {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let url = format!("{}/api/v1/records", base.trim_end_matches('/'));
        ApiWriter { url, token, agent, accepted: AtomicU64::new(0) }
    }
}

impl RecordWriter for ApiWriter {
    fn write(&self, records: &[Vec<u8>]) -> Result<()> {
        let body = records.join(&b'\n');
        let mut request = self.agent.post(&self.url).header("Content-Type", "application/x-ndjson");
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response =
            request.send(&body[..]).with_context(|| format!("posting to {}", self.url))?;
        let status = response.status().as_u16();
        if status != 200 {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            bail!("{} answered {status}: {text}", self.url);
        }
        self.accepted.fetch_add(records.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_chunk_arrives_at_its_end_with_the_records_after_it() {
        let lines: Vec<String> = [
            r#"{"type":"profile","name":"p"}"#,
            r#"{"type":"event","event_id":"e"}"#,
            r#"{"type":"chunk","start":0,"duration":4}"#,
            r#"{"type":"chunk","start":4.0,"duration":4.5}"#,
            r#"{"type":"detection","start":5}"#,
            "",
            r#"{"type":"event","event_id":"e","status":"ended"}"#,
        ]
        .map(str::to_owned)
        .to_vec();
        let arrivals = arrivals(&lines).unwrap();
        let shape: Vec<(u64, usize)> =
            arrivals.iter().map(|a| (a.due_ms, a.records.len())).collect();
        assert_eq!(shape, [(0, 2), (4000, 1), (8500, 3)]);
        assert_eq!(arrivals[2].records[1], lines[4]);
    }

    #[test]
    fn a_line_that_is_not_json_is_named() {
        let error = arrivals(&["{}".to_owned(), "{oops".to_owned()]).unwrap_err();
        assert!(format!("{error:#}").contains("line 2"), "{error:#}");
    }
}
