//! The embedded service's durable log: the input records it accepted, and where its epochs
//! ended, in a data directory.
//!
//! - `records.jsonl`: every accepted record, one per line, appended in order. A batch is
//!   written and flushed to the disk (`fsync`) before [`RecordLog::append`] returns, so a
//!   record acknowledged to a client survives any crash. A crash in the middle of a write can
//!   leave a last line without its newline: it was never acknowledged, and opening the log
//!   cuts it off.
//! - `epochs.log`: the number of records at the end of each epoch that brought records, one
//!   per line, flushed before the epoch's views are served. A restart replays the log in the
//!   same epochs, so every replay gets the same versions it had (no version is served twice
//!   with different contents) and nothing is applied twice.
//!
//! The dataflow's workers read `records.jsonl` themselves ([`LogReader`]), up to what is
//! durable; [`RecordLog::wait_for_more`] wakes them when a batch lands.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// The records file's name in the data directory.
pub const RECORDS_FILE: &str = "records.jsonl";
/// The epochs file's name in the data directory.
pub const EPOCHS_FILE: &str = "epochs.log";

/// What is durable in the records file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Durable {
    /// Records (lines).
    pub records: u64,
    /// Bytes.
    pub bytes: u64,
}

struct Appender {
    file: File,
    durable: Durable,
}

struct Shared {
    records_path: PathBuf,
    appender: Mutex<Appender>,
    /// What readers may read: updated after each flush.
    durable: Mutex<Durable>,
    grown: Condvar,
}

/// The records file of a data directory, shared by the API (which appends) and the workers
/// (which read).
#[derive(Clone)]
pub struct RecordLog {
    shared: Arc<Shared>,
}

impl RecordLog {
    /// Opens (or creates) the records file in `dir`, cutting off a last line left unfinished
    /// by a crash.
    pub fn open(dir: &Path) -> Result<RecordLog> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory {dir:?}"))?;
        let records_path = dir.join(RECORDS_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&records_path)
            .with_context(|| format!("opening {records_path:?}"))?;
        // One service per data directory: two appending to one log would interleave.
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => anyhow::anyhow!(
                "{records_path:?} is in use by another reeltime service (one per data directory)"
            ),
            std::fs::TryLockError::Error(e) => {
                anyhow::Error::new(e).context(format!("locking {records_path:?}"))
            }
        })?;
        // The file's name must survive a power cut too, not only its contents.
        sync_dir(dir)?;
        let durable = scan(&mut file).with_context(|| format!("reading {records_path:?}"))?;
        let length = file.metadata().with_context(|| format!("reading {records_path:?}"))?.len();
        if length > durable.bytes {
            eprintln!(
                "reeltime run: cutting off the unfinished last line of {records_path:?} ({} bytes, never acknowledged)",
                length - durable.bytes
            );
            file.set_len(durable.bytes).with_context(|| format!("truncating {records_path:?}"))?;
            file.sync_all().with_context(|| format!("flushing {records_path:?}"))?;
        }
        Ok(RecordLog {
            shared: Arc::new(Shared {
                records_path,
                appender: Mutex::new(Appender { file, durable }),
                durable: Mutex::new(durable),
                grown: Condvar::new(),
            }),
        })
    }

    /// Appends records (each one JSON text without a line break) and flushes them to the
    /// disk; returns the number of the first one (0-based) once they are durable.
    pub fn append(&self, records: &[Vec<u8>]) -> io::Result<u64> {
        let mut appender = self.shared.appender.lock().unwrap_or_else(|e| e.into_inner());
        let first = appender.durable.records;
        if records.is_empty() {
            return Ok(first);
        }
        let mut batch = Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum());
        for record in records {
            debug_assert!(!record.contains(&b'\n'), "a record is one line");
            batch.extend_from_slice(record);
            batch.push(b'\n');
        }
        let written = appender.file.write_all(&batch).and_then(|()| appender.file.sync_data());
        if let Err(error) = written {
            // Whatever part of the batch reached the file is cut off, so that the next batch
            // starts on a line of its own and nothing unacknowledged is read.
            let durable = appender.durable.bytes;
            let _ = appender.file.set_len(durable);
            return Err(error);
        }
        appender.durable.records += records.len() as u64;
        appender.durable.bytes += batch.len() as u64;
        let durable = appender.durable;
        drop(appender);
        *self.shared.durable.lock().unwrap_or_else(|e| e.into_inner()) = durable;
        self.shared.grown.notify_all();
        Ok(first)
    }

    /// What readers may read now.
    pub fn durable(&self) -> Durable {
        *self.shared.durable.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits at most `timeout` for more than `records` records to be durable; returns what
    /// is durable then.
    pub fn wait_for_more(&self, records: u64, timeout: Duration) -> Durable {
        let durable = self.shared.durable.lock().unwrap_or_else(|e| e.into_inner());
        let (durable, _) = self
            .shared
            .grown
            .wait_timeout_while(durable, timeout, |d| d.records <= records)
            .unwrap_or_else(|e| e.into_inner());
        *durable
    }

    /// A reader from the first record.
    pub fn reader(&self) -> Result<LogReader> {
        let path = &self.shared.records_path;
        let file = File::open(path).with_context(|| format!("opening {path:?}"))?;
        Ok(LogReader { file: BufReader::with_capacity(1 << 16, file), next: 0, line: Vec::new() })
    }
}

/// Flushes a directory's entries (a file created in it).
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("flushing {dir:?}"))
}

/// Finds the end of the last complete line.
fn scan(file: &mut File) -> io::Result<Durable> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(1 << 16, &mut *file);
    let mut durable = Durable::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 || line.last() != Some(&b'\n') {
            return Ok(durable);
        }
        durable.records += 1;
        durable.bytes += read as u64;
    }
}

/// Reads the records file in order, one record at a time.
pub struct LogReader {
    file: BufReader<File>,
    next: u64,
    line: Vec<u8>,
}

impl LogReader {
    /// The number of the next record.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// The next record (without its newline). Call it only while [`Self::position`] is
    /// below the durable count: those lines are complete.
    pub fn next_record(&mut self) -> Result<&[u8]> {
        self.line.clear();
        let read = self.file.read_until(b'\n', &mut self.line).context("reading the records")?;
        if read == 0 || self.line.last() != Some(&b'\n') {
            bail!("the records file ended inside record {}", self.next);
        }
        self.line.pop();
        self.next += 1;
        Ok(&self.line)
    }
}

/// The epochs file: where each epoch that brought records ended.
pub struct EpochLog {
    file: File,
    path: PathBuf,
}

impl EpochLog {
    /// Opens (or creates) the epochs file in `dir`; returns it with the ends recorded so
    /// far. Ends beyond `durable` records (which a crash cannot leave, since an epoch is
    /// recorded after its records are durable) are refused.
    pub fn open(dir: &Path, durable: u64) -> Result<(EpochLog, Vec<u64>)> {
        let path = dir.join(EPOCHS_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .with_context(|| format!("opening {path:?}"))?;
        sync_dir(dir)?;
        let mut text = String::new();
        file.read_to_string(&mut text).with_context(|| format!("reading {path:?}"))?;
        let mut ends = Vec::new();
        let mut complete = 0;
        for (number, line) in text.split_inclusive('\n').enumerate() {
            let Some(value) = line.strip_suffix('\n') else { break };
            let end: u64 = value.parse().with_context(|| {
                format!("{path:?} line {}: {value:?} is not a record count", number + 1)
            })?;
            if end <= ends.last().copied().unwrap_or(0) || end > durable {
                bail!(
                    "{path:?} line {}: epoch end {end} is out of order or beyond the {durable} records of the log",
                    number + 1
                );
            }
            ends.push(end);
            complete += line.len();
        }
        if complete < text.len() {
            file.set_len(complete as u64).with_context(|| format!("truncating {path:?}"))?;
        }
        Ok((EpochLog { file, path }, ends))
    }

    /// Records the end of an epoch, durably.
    pub fn record(&mut self, end: u64) -> Result<()> {
        writeln!(self.file, "{end}")
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("writing {:?}", self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(log: &RecordLog) -> Vec<String> {
        let mut reader = log.reader().unwrap();
        let mut out = Vec::new();
        while reader.position() < log.durable().records {
            out.push(String::from_utf8(reader.next_record().unwrap().to_vec()).unwrap());
        }
        out
    }

    #[test]
    fn appended_records_are_read_back_in_order_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let log = RecordLog::open(dir.path()).unwrap();
        assert_eq!(log.append(&[b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]).unwrap(), 0);
        assert_eq!(log.append(&[b"{\"c\":3}".to_vec()]).unwrap(), 2);
        assert_eq!(lines(&log), ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
        drop(log);
        let log = RecordLog::open(dir.path()).unwrap();
        assert_eq!(log.durable(), Durable { records: 3, bytes: 24 });
        assert_eq!(log.append(&[b"{}".to_vec()]).unwrap(), 3);
    }

    #[test]
    fn a_data_directory_serves_one_service_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let log = RecordLog::open(dir.path()).unwrap();
        let error = RecordLog::open(dir.path()).err().unwrap().to_string();
        assert!(error.contains("in use by another reeltime service"), "{error}");
        drop(log);
        RecordLog::open(dir.path()).unwrap();
    }

    #[test]
    fn an_unfinished_last_line_is_cut_off_when_the_log_opens() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RECORDS_FILE), "{\"a\":1}\n{\"b\":").unwrap();
        let log = RecordLog::open(dir.path()).unwrap();
        assert_eq!(log.durable().records, 1);
        log.append(&[b"{\"c\":3}".to_vec()]).unwrap();
        assert_eq!(lines(&log), ["{\"a\":1}", "{\"c\":3}"]);
    }

    #[test]
    fn a_waiting_reader_wakes_when_a_batch_lands() {
        let dir = tempfile::tempdir().unwrap();
        let log = RecordLog::open(dir.path()).unwrap();
        let appender = log.clone();
        let writer = std::thread::spawn(move || appender.append(&[b"{}".to_vec()]).unwrap());
        // Generous: the wait ends as soon as the batch lands, not at the timeout.
        let durable = log.wait_for_more(0, Duration::from_secs(60));
        writer.join().unwrap();
        assert_eq!(durable.records, 1);
    }

    #[test]
    fn epoch_ends_are_kept_and_an_unfinished_one_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut epochs, ends) = EpochLog::open(dir.path(), 10).unwrap();
        assert!(ends.is_empty());
        epochs.record(3).unwrap();
        epochs.record(7).unwrap();
        drop(epochs);
        let path = dir.path().join(EPOCHS_FILE);
        std::fs::write(&path, format!("{}9", std::fs::read_to_string(&path).unwrap())).unwrap();
        let (_, ends) = EpochLog::open(dir.path(), 10).unwrap();
        assert_eq!(ends, [3, 7]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "3\n7\n");
    }

    #[test]
    fn epoch_ends_beyond_the_records_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(EPOCHS_FILE), "3\n12\n").unwrap();
        let error = EpochLog::open(dir.path(), 10).err().unwrap().to_string();
        assert!(error.contains("line 2") && error.contains("12"), "{error}");
    }
}
