//! Chunks in event time: [`ChunkIngest`] times and numbers an event's chunks, and
//! [`chunk_files`] lists a folder of chunks in play order.

use std::path::{Path, PathBuf};

use serde::Serialize;

use reeltime_schemas::time::Seconds;

use super::{probe, MediaError, MediaInfo};

/// One chunk of an event's media, in event time: the body of a `chunk` record.
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    /// The event.
    pub event_id: String,
    /// Its number within the event, from 0 in arrival order.
    pub seq_no: u64,
    /// The media file.
    pub path: PathBuf,
    /// Event time of its first frame (video, or audio for a source with sound only), in
    /// milliseconds.
    pub start_ms: u64,
    /// Its length (of its video, or its audio for a source with sound only), in milliseconds.
    pub duration_ms: u64,
    /// Presentation time of its first frame in the source, in milliseconds.
    pub pts_start_ms: u64,
    /// The source time (microseconds) that is event time 0: the first frame of the event's
    /// first chunk. Source time minus this is event time.
    pub anchor_us: i64,
}

/// The wire form of a `chunk` record.
#[derive(Serialize)]
struct ChunkWire<'a> {
    #[serde(rename = "type")]
    record_type: &'static str,
    event_id: &'a str,
    seq_no: u64,
    uri: String,
    start: Seconds,
    duration: Seconds,
    #[serde(skip_serializing_if = "Option::is_none")]
    pts_start: Option<Seconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

impl Chunk {
    /// The `chunk` record (SEMANTICS §2) as JSON.
    pub fn record(&self) -> serde_json::Value {
        self.record_with(None)
    }

    /// The `chunk` record of a chunk that could not be analysed, with the reason as `error`.
    pub fn failed_record(&self, reason: &str) -> serde_json::Value {
        self.record_with(Some(reason))
    }

    fn record_with(&self, error: Option<&str>) -> serde_json::Value {
        serde_json::to_value(ChunkWire {
            record_type: "chunk",
            event_id: &self.event_id,
            seq_no: self.seq_no,
            uri: self.path.to_string_lossy().into_owned(),
            start: Seconds(self.start_ms),
            duration: Seconds(self.duration_ms),
            pts_start: Some(Seconds(self.pts_start_ms)),
            error,
        })
        .expect("a chunk record serializes")
    }

    /// Event time of its end, in milliseconds.
    pub fn end_ms(&self) -> u64 {
        self.start_ms + self.duration_ms
    }
}

/// Times and numbers the chunks of one event as they arrive.
///
/// Event time is anchored on the first frame of the first chunk (its video's, or its audio's
/// when it has sound only: [`super::probe::timing_stream`]). A chunk whose timestamps go back
/// before the previous chunk's start (a source that restarted its clock) is placed right after
/// the previous chunk instead, so event time never goes backwards.
#[derive(Debug)]
pub struct ChunkIngest {
    event_id: String,
    next_seq_no: u64,
    anchor_us: Option<i64>,
    /// Offset added to a chunk's own start after a clock restart, in microseconds.
    shift_us: i64,
    last: Option<(u64, u64)>,
    first_media: Option<MediaInfo>,
}

impl ChunkIngest {
    /// Starts the chunks of `event_id`.
    pub fn new(event_id: impl Into<String>) -> Self {
        ChunkIngest {
            event_id: event_id.into(),
            next_seq_no: 0,
            anchor_us: None,
            shift_us: 0,
            last: None,
            first_media: None,
        }
    }

    /// Probes the next chunk and returns its record. A chunk that cannot be read still uses
    /// up its number, so numbers stay those of the source's order.
    pub fn add(&mut self, path: &Path) -> Result<Chunk, MediaError> {
        let seq_no = self.next_seq_no;
        self.next_seq_no += 1;
        let media = probe(path)?;
        let anchor_us = *self.anchor_us.get_or_insert(media.first_us);
        let mut start_us = media.first_us - anchor_us + self.shift_us;
        if let Some((last_start_ms, last_end_ms)) = self.last {
            if start_us < (last_start_ms as i64) * 1000 {
                let wanted = (last_end_ms as i64) * 1000;
                self.shift_us += wanted - start_us;
                start_us = wanted;
            }
        }
        let start_ms = (start_us.max(0) as u64 + 500) / 1000;
        let duration_ms = media.duration_ms();
        self.last = Some((start_ms, start_ms + duration_ms));
        let chunk = Chunk {
            event_id: self.event_id.clone(),
            seq_no,
            path: path.to_owned(),
            start_ms,
            duration_ms,
            pts_start_ms: (media.first_us.max(0) as u64 + 500) / 1000,
            anchor_us: anchor_us - self.shift_us,
        };
        self.first_media.get_or_insert(media);
        Ok(chunk)
    }

    /// The `chunk` record of the chunk at `path` that [`ChunkIngest::add`] could not read:
    /// its number, `error` saying why, and no length, placed where the previous chunk ended.
    pub fn unreadable_record(&self, path: &Path, reason: &str) -> serde_json::Value {
        let start_ms = self.last.map_or(0, |(_, end)| end);
        serde_json::to_value(ChunkWire {
            record_type: "chunk",
            event_id: &self.event_id,
            seq_no: self.next_seq_no.saturating_sub(1),
            uri: path.to_string_lossy().into_owned(),
            start: Seconds(start_ms),
            duration: Seconds(0),
            pts_start: None,
            error: Some(reason),
        })
        .expect("a chunk record serializes")
    }

    /// What the first readable chunk holds (frame rate, audio tracks), once there is one.
    pub fn media(&self) -> Option<&MediaInfo> {
        self.first_media.as_ref()
    }
}

/// The `.ts` and `.mp4` files of `dir` in play order: by name, with runs of digits compared
/// as numbers (`seg2.ts` before `seg10.ts`).
pub fn chunk_files(dir: &Path) -> Result<Vec<PathBuf>, MediaError> {
    let io = |source| MediaError::Io { path: dir.to_owned(), source };
    if !dir.exists() {
        return Err(MediaError::NotFound { path: dir.to_owned() });
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if path.is_file() && matches!(extension.as_deref(), Some("ts" | "mp4")) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(MediaError::NoChunks { path: dir.to_owned() });
    }
    files.sort_by_cached_key(|p| natural_key(&p.file_name().unwrap_or_default().to_string_lossy()));
    Ok(files)
}

/// A sort key that orders runs of digits by their number.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Number(u128, usize),
    Text(String),
}

fn natural_key(name: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        let digit = c.is_ascii_digit();
        let len = rest.find(|ch: char| ch.is_ascii_digit() != digit).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(len);
        parts.push(if digit {
            Part::Number(run.parse().unwrap_or(u128::MAX), run.len())
        } else {
            Part::Text(run.to_owned())
        });
        rest = tail;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_sort_as_numbers() {
        let mut names = vec!["seg10.ts", "seg2.ts", "seg1.ts", "a.ts"];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(names, ["a.ts", "seg1.ts", "seg2.ts", "seg10.ts"]);
    }
}
