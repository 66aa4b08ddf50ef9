//! The embedded log: one record per line of a file, positioned by 1-based line number.
//!
//! Contract: lines come in file order; blank lines (only spaces, tabs or `\r`) are skipped and
//! still count for line numbers (SEMANTICS §7). A record's bytes are handed on as read, without
//! the line's `\n`; a last line without `\n` is a record too. Reading never changes the file,
//! so reading it again yields the same lines with the same numbers.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A log file that could not be read.
#[derive(Debug, Error)]
pub enum LogError {
    /// The file could not be opened.
    #[error("cannot open log {path:?}: {source}")]
    Open {
        /// The log's path.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The path is a directory.
    #[error("log {path:?} is a directory, not a file")]
    IsDirectory {
        /// The log's path.
        path: PathBuf,
    },
    /// Reading failed part way.
    #[error("cannot read log {path:?} after line {line}: {source}")]
    Read {
        /// The log's path.
        path: PathBuf,
        /// The last line read completely.
        line: u64,
        /// What the system said.
        source: io::Error,
    },
}

/// One non-blank line of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Its 1-based line number.
    pub number: u64,
    /// Its bytes without the trailing `\n`.
    pub bytes: Vec<u8>,
    /// Bytes of the file read up to and including this line.
    pub offset: u64,
}

/// An event log on disk.
#[derive(Clone, Debug)]
pub struct LogFile {
    path: PathBuf,
    size: u64,
}

impl LogFile {
    /// Checks that `path` is a readable file.
    pub fn open(path: &Path) -> Result<LogFile, LogError> {
        let file =
            File::open(path).map_err(|source| LogError::Open { path: path.into(), source })?;
        let metadata =
            file.metadata().map_err(|source| LogError::Open { path: path.into(), source })?;
        if metadata.is_dir() {
            return Err(LogError::IsDirectory { path: path.into() });
        }
        Ok(LogFile { path: path.into(), size: metadata.len() })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its size in bytes when opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads the non-blank lines in order.
    pub fn lines(&self) -> Result<Lines, LogError> {
        let file = File::open(&self.path)
            .map_err(|source| LogError::Open { path: self.path.clone(), source })?;
        Ok(Lines {
            path: self.path.clone(),
            reader: BufReader::with_capacity(1 << 20, file),
            number: 0,
            offset: 0,
            failed: false,
        })
    }
}

/// The non-blank lines of a log, in order.
pub struct Lines {
    path: PathBuf,
    reader: BufReader<File>,
    number: u64,
    offset: u64,
    failed: bool,
}

impl Iterator for Lines {
    type Item = Result<Line, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let mut bytes = Vec::new();
            match self.reader.read_until(b'\n', &mut bytes) {
                Ok(0) => return None,
                Ok(read) => {
                    self.number += 1;
                    self.offset += read as u64;
                    if bytes.last() == Some(&b'\n') {
                        bytes.pop();
                    }
                    if is_blank(&bytes) {
                        continue;
                    }
                    return Some(Ok(Line { number: self.number, bytes, offset: self.offset }));
                }
                Err(source) => {
                    self.failed = true;
                    return Some(Err(LogError::Read {
                        path: self.path.clone(),
                        line: self.number,
                        source,
                    }));
                }
            }
        }
    }
}

/// A line of only spaces, tabs or `\r` is blank (SEMANTICS §8.2).
pub fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn log(text: &[u8]) -> (tempfile::NamedTempFile, LogFile) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text).unwrap();
        let log = LogFile::open(file.path()).unwrap();
        (file, log)
    }

    #[test]
    fn numbers_lines_from_one_and_counts_blank_ones() {
        let (_file, log) = log(b"{\"a\":1}\n\n  \t\r\n{\"b\":2}\r\n{\"c\":3}");
        let lines: Vec<(u64, Vec<u8>)> =
            log.lines().unwrap().map(|l| l.unwrap()).map(|l| (l.number, l.bytes)).collect();
        assert_eq!(
            lines,
            vec![
                (1, b"{\"a\":1}".to_vec()),
                (4, b"{\"b\":2}\r".to_vec()),
                (5, b"{\"c\":3}".to_vec()),
            ]
        );
    }

    #[test]
    fn keeps_invalid_utf8_for_the_decoder_to_reject() {
        let (_file, log) = log(b"\xff\xfe\n");
        let line = log.lines().unwrap().next().unwrap().unwrap();
        assert_eq!(line.bytes, b"\xff\xfe".to_vec());
    }

    #[test]
    fn a_missing_log_or_a_directory_is_a_clear_error() {
        let missing = LogFile::open(Path::new("/nonexistent/events.jsonl")).unwrap_err();
        assert!(missing.to_string().contains("cannot open log"), "{missing}");
        let dir = tempfile::tempdir().unwrap();
        let error = LogFile::open(dir.path()).unwrap_err();
        assert!(error.to_string().contains("is a directory"), "{error}");
    }
}
