//! The output layout (the README's "Outputs") on disk.
//!
//! Contract: a view file is written to a temporary name in its folder and renamed into place,
//! so a reader sees the old file or the new one, never half of one. Ids become path components
//! through [`path_component`], so an id can never step out of its folder. The directory is
//! marked as reeltime's with a `.reeltime-output` file; reeltime refuses to write into a
//! non-empty directory without that mark, and clears only its own entries in one with it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

/// The file that marks a directory as reeltime output.
pub const MARKER: &str = ".reeltime-output";

/// The entries reeltime owns in an output directory.
const OWNED: [&str; 5] =
    ["events", "replays", "tables", "notifications.jsonl", "dead-letter.jsonl"];

/// An output directory that could not be used.
#[derive(Debug, Error)]
pub enum OutputError {
    /// A non-empty directory reeltime did not create.
    #[error("refusing to write into {path:?}: it is not empty and was not made by reeltime (no {MARKER} file); choose a new or empty directory")]
    Foreign {
        /// The directory.
        path: PathBuf,
    },
    /// A directory to read exports from that reeltime did not write.
    #[error("{path:?} is not a reeltime output directory (no {MARKER} file)")]
    NotOutput {
        /// The directory.
        path: PathBuf,
    },
    /// A file that should hold a reeltime export does not.
    #[error("{path:?} is not a reeltime export: {source}")]
    Export {
        /// The file.
        path: PathBuf,
        /// What did not parse.
        source: serde_json::Error,
    },
    /// A file system operation failed.
    #[error("cannot {action} {path:?}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
}

fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> OutputError + 'a {
    move |source| OutputError::Io { action, path: path.to_owned(), source }
}

/// A directory holding reeltime's output layout.
#[derive(Clone, Debug)]
pub struct OutputDir {
    root: PathBuf,
}

impl OutputDir {
    /// Creates `root` if needed and clears reeltime's own entries from an earlier run.
    pub fn prepare(root: &Path) -> Result<OutputDir, OutputError> {
        fs::create_dir_all(root).map_err(io_error("create directory", root))?;
        let marker = root.join(MARKER);
        if !marker.exists() {
            let mut entries = fs::read_dir(root).map_err(io_error("read directory", root))?;
            if entries.next().is_some() {
                return Err(OutputError::Foreign { path: root.to_owned() });
            }
            fs::write(&marker, "reeltime output directory\n")
                .map_err(io_error("write", &marker))?;
        }
        for owned in OWNED {
            let path = root.join(owned);
            let removed =
                if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            match removed {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_error("remove", &path)(e));
                }
                _ => {}
            }
        }
        Ok(OutputDir { root: root.to_owned() })
    }

    /// Opens an output directory to go on with a run that stopped: like
    /// [`OutputDir::prepare`], but what reeltime wrote before stays (the logs are appended
    /// to, the views rewritten as they change).
    pub fn resume(root: &Path) -> Result<OutputDir, OutputError> {
        if root.join(MARKER).is_file() {
            return Ok(OutputDir { root: root.to_owned() });
        }
        OutputDir::prepare(root)
    }

    /// The names of the folders directly under `relative` (none when it is missing).
    pub fn folders(&self, relative: &Path) -> Result<Vec<String>, OutputError> {
        let path = self.root.join(relative);
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("read directory", &path)(e)),
        };
        let mut folders = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error("read directory", &path))?;
            if entry.path().is_dir() {
                folders.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        folders.sort();
        Ok(folders)
    }

    /// Opens an earlier reeltime output `root` as it is, to add to it.
    pub fn open(root: &Path) -> Result<OutputDir, OutputError> {
        if !root.join(MARKER).is_file() {
            return Err(OutputError::NotOutput { path: root.to_owned() });
        }
        Ok(OutputDir { root: root.to_owned() })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `export.json` of every folder under `kind` (`events` or `replays`; none when the
    /// folder is missing), by folder name, with their paths relative to the root.
    pub fn read_exports<T: DeserializeOwned>(
        &self,
        kind: &str,
    ) -> Result<Vec<(PathBuf, T)>, OutputError> {
        self.export_paths(kind)?
            .into_iter()
            .map(|path| {
                let doc = self.read_export(&path)?;
                Ok((path, doc))
            })
            .collect()
    }

    /// The paths of the `export.json` of every folder under `kind`, relative to the root,
    /// sorted.
    pub fn export_paths(&self, kind: &str) -> Result<Vec<PathBuf>, OutputError> {
        let dir = self.root.join(kind);
        let mut relative = Vec::new();
        match fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.map_err(io_error("list", &dir))?;
                    let path = Path::new(kind).join(entry.file_name()).join("export.json");
                    if self.root.join(&path).is_file() {
                        relative.push(path);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("list", &dir)(e)),
        }
        relative.sort();
        Ok(relative)
    }

    /// Reads the export at `relative` (as [`OutputDir::export_paths`] gives it).
    pub fn read_export<T: DeserializeOwned>(&self, relative: &Path) -> Result<T, OutputError> {
        let full = self.root.join(relative);
        let text = fs::read(&full).map_err(io_error("read", &full))?;
        serde_json::from_slice(&text).map_err(|source| OutputError::Export { path: full, source })
    }

    /// Creates `relative` to be written bit by bit: it appears, atomically, when
    /// [`AtomicFile::commit`] is called, and not at all when the writer is dropped before.
    pub fn create(&self, relative: &Path) -> Result<AtomicFile, OutputError> {
        let path = self.root.join(relative);
        let folder = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(folder).map_err(io_error("create directory", folder))?;
        let temporary = temporary_name(&path);
        let file = File::create(&temporary).map_err(io_error("create", &temporary))?;
        Ok(AtomicFile { path, temporary, writer: Some(BufWriter::new(file)) })
    }

    /// Writes `value` as pretty JSON to `relative`, atomically.
    pub fn write_json<T: Serialize>(&self, relative: &Path, value: &T) -> Result<(), OutputError> {
        let mut text = serde_json::to_vec_pretty(value).expect("views serialize to JSON");
        text.push(b'\n');
        self.write_bytes(relative, &text)
    }

    /// Writes `bytes` to `relative`, atomically (temporary name, then rename).
    pub fn write_bytes(&self, relative: &Path, bytes: &[u8]) -> Result<(), OutputError> {
        let path = self.root.join(relative);
        let folder = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(folder).map_err(io_error("create directory", folder))?;
        let temporary = temporary_name(&path);
        fs::write(&temporary, bytes).map_err(io_error("write", &temporary))?;
        fs::rename(&temporary, &path).map_err(io_error("rename into", &path))
    }

    /// Removes `relative` if it is there.
    pub fn remove(&self, relative: &Path) -> Result<(), OutputError> {
        let path = self.root.join(relative);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", &path)(e)),
            _ => Ok(()),
        }
    }

    /// Removes the folder `relative` with everything in it, if it is there.
    pub fn remove_tree(&self, relative: &Path) -> Result<(), OutputError> {
        let path = self.root.join(relative);
        match fs::remove_dir_all(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", &path)(e)),
            _ => Ok(()),
        }
    }

    /// Opens the JSON Lines log `name` for appending.
    pub fn json_lines(&self, name: &str) -> Result<JsonLines, OutputError> {
        let path = self.root.join(name);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_error("open", &path))?;
        Ok(JsonLines { path, writer: BufWriter::new(file) })
    }
}

/// The name a file is written under before it is renamed into place.
fn temporary_name(path: &Path) -> PathBuf {
    let mut temporary = path.to_owned().into_os_string();
    temporary.push(".tmp");
    PathBuf::from(temporary)
}

/// A file being written under a temporary name ([`OutputDir::create`]).
pub struct AtomicFile {
    path: PathBuf,
    temporary: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Renames the file into place once everything is written.
    pub fn commit(mut self) -> Result<(), OutputError> {
        if let Some(writer) = self.writer.take() {
            writer
                .into_inner()
                .map_err(|e| e.into_error())
                .and_then(|file| file.sync_data())
                .map_err(io_error("write", &self.temporary))?;
        }
        fs::rename(&self.temporary, &self.path).map_err(io_error("rename into", &self.path))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().expect("written before it is committed").write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("written before it is committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            // Not committed: the half-written file must not stay behind.
            let _ = fs::remove_file(&self.temporary);
        }
    }
}

/// A JSON Lines file open for appending.
pub struct JsonLines {
    path: PathBuf,
    writer: BufWriter<File>,
}

impl JsonLines {
    /// Appends one value as one line.
    pub fn write<T: Serialize>(&mut self, value: &T) -> Result<(), OutputError> {
        serde_json::to_writer(&mut self.writer, value)
            .map_err(io::Error::from)
            .and_then(|()| self.writer.write_all(b"\n"))
            .map_err(io_error("write", &self.path))
    }

    /// Flushes what was appended to the file.
    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.writer.flush().map_err(io_error("write", &self.path))
    }
}

/// Turns an id into one safe path component: ASCII letters, digits, `-`, `_` and `.` stay,
/// every other byte becomes `%XX`, and an id of only dots is fully escaped, so ids like
/// `../x` or `a/b` stay inside their folder and distinct ids give distinct names.
pub fn path_component(id: &str) -> String {
    let only_dots = id.bytes().all(|b| b == b'.');
    let mut name = String::with_capacity(id.len());
    for byte in id.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_')
            || (byte == b'.' && !only_dots);
        if keep {
            name.push(byte as char);
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_inside_their_folder() {
        assert_eq!(path_component("wimbledon-sf1"), "wimbledon-sf1");
        assert_eq!(path_component("../etc"), "..%2Fetc");
        assert_eq!(path_component(".."), "%2E%2E");
        assert_eq!(path_component("a b/c"), "a%20b%2Fc");
        assert_eq!(path_component("%"), "%25");
        assert_eq!(path_component("é"), "%C3%A9");
    }

    #[test]
    fn refuses_a_foreign_non_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("precious.txt"), "keep me").unwrap();
        let error = OutputDir::prepare(dir.path()).unwrap_err();
        assert!(matches!(error, OutputError::Foreign { .. }), "{error}");
        assert!(dir.path().join("precious.txt").exists());
    }

    #[test]
    fn clears_only_its_own_entries_on_a_second_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutputDir::prepare(dir.path()).unwrap();
        out.write_json(Path::new("replays/r1/selection.json"), &serde_json::json!({"a": 1}))
            .unwrap();
        fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        OutputDir::prepare(dir.path()).unwrap();
        assert!(!dir.path().join("replays").exists());
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn writes_json_atomically_and_appends_lines() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutputDir::prepare(dir.path()).unwrap();
        out.write_json(Path::new("events/e1/segments.json"), &serde_json::json!({"x": [1]}))
            .unwrap();
        let text = fs::read_to_string(dir.path().join("events/e1/segments.json")).unwrap();
        assert_eq!(text, "{\n  \"x\": [\n    1\n  ]\n}\n");
        assert!(!dir.path().join("events/e1/segments.json.tmp").exists());
        let mut lines = out.json_lines("notifications.jsonl").unwrap();
        lines.write(&serde_json::json!({"n": 1})).unwrap();
        lines.write(&serde_json::json!({"n": 2})).unwrap();
        lines.flush().unwrap();
        let text = fs::read_to_string(dir.path().join("notifications.jsonl")).unwrap();
        assert_eq!(text, "{\"n\":1}\n{\"n\":2}\n");
    }
}
